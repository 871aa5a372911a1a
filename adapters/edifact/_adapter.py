"""The UN/EDIFACT CUSDEC D96B adapter class."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from tamga.adapters.edifact._decode import read_messages
from tamga.adapters.edifact._encode import write_messages
from tamga.adapters.edifact._syntax import read_interchange
from tamga.adapters.sdk import BaseAdapter, with_ods_shipments, without_derived
from tamga.errors import AdapterError
from tamga.v1 import records_pb2

__all__ = ["EdifactAdapter"]

# Segments whose first component is a qualifier: fields() names their paths
# by it (``MOA.39.1.2``), so that an invoice total and a customs value are
# told apart whatever their order.
_QUALIFIED = frozenset(
    {"DTM", "LOC", "NAD", "MEA", "MOA", "FTX", "RFF", "TAX", "DOC", "TDT", "QTY", "CNT", "GEI", "CUX", "EQD"}
)


class EdifactAdapter(BaseAdapter):
    """UN/EDIFACT CUSDEC D96B customs declarations, one declaration per message.

    Reads any UNA service string advice (separators, decimal mark, release
    character) and the UNB character set (UNOA..UNOK, UNOW, UNOY); writes
    ``:+.? '`` and UNOC, or UNOW when a text needs more than Latin-1.

    Mapping (see ``_mapping.py`` for the codes):

    - BGM 1001 830/929 -> direction export/import; BGM 1004 -> declaration
      number; BGM 1225 9/5/1 -> original/correction/cancellation;
    - GIS (C529 7365) -> procedure code (illustrative, see _mapping.py);
    - DTM+137 -> created_at and acceptance date; RFF+UCN -> UCR;
    - LOC+35/28 -> dispatch/destination country; LOC+27 -> origin (a
      declaration-level LOC+27 applies to items that name none);
    - NAD+EX/CN/DT -> exporter/consignee/declarant: id and scheme (C082),
      name (C080), street (C059), country (3207);
    - MEA+WT+AAB/AAA -> gross/net mass; PAC -> packages; MOA+39 -> invoice
      total; per item MOA+38 -> invoice amount, MOA+40 -> customs value;
    - CST -> goods item number and tariff code (hs6 + national code), FTX+AAA
      -> description.

    fields() paths are ``TAG[.qualifier].element.component``, positions
    1-based; envelope values that legitimately change (syntax identifier,
    recipient, date, control references, counts) are in unmapped_fields.
    """

    name: ClassVar[str] = "edifact"
    file_suffix: ClassVar[str] = ".edi"
    source_format: ClassVar[str] = "CUSDEC:D96B"
    record_types: ClassVar[tuple[str, ...]] = ("declaration_snapshot",)
    records_per_file: ClassVar[int] = 64
    unmapped_fields: ClassVar[tuple[str, ...]] = (
        # Envelope: syntax identifier, recipient, date/time, control reference,
        # application reference, priority, acknowledgement, agreement, test flag.
        *(f"UNB.{n}.*" for n in (1, 3, 4, 5, 6, 7, 8, 9, 10, 11)),
        "UNB.2.3",  # sender's reverse routing address
        "UNH.1.*",  # message reference: numbered anew on encode
        "UNH.2.5",
        "UNH.3.*",
        "UNH.4.*",
        "UNT.*",
        "UNZ.*",
        # Parts of mapped segments that records have no field for.
        "BGM.1.2",
        "BGM.1.3",
        "BGM.1.4",
        "BGM.4.*",
        "CST.2.2",  # code list qualifier and agency: always written 108:ZZZ
        "CST.2.3",
        "CST.3.*",
        "CST.4.*",
        "CST.5.*",
        "CST.6.*",
        "CST.7.*",
        "NAD.*.2.3",  # agency of the party id
        "NAD.*.3.*",  # unstructured name and address (C058)
        "NAD.*.6.*",  # city
        "NAD.*.7.*",  # country subdivision
        "NAD.*.8.*",  # postcode
        "LOC.*.2.2",
        "LOC.*.2.3",
        "LOC.*.2.4",
        "LOC.*.3.*",
        "LOC.*.4.*",
        "LOC.*.5.*",
        "MOA.*.1.4",
        "MOA.*.1.5",
        "FTX.*.2.*",
        "FTX.*.3.*",
        "FTX.*.5.*",
        "GIS.1.2",
        "GIS.1.3",
        "GIS.1.4",
        "PAC.2.*",
        "PAC.3.2",
        "PAC.3.3",
        "PAC.3.4",
        "MEA.*.3.3",
        "MEA.*.3.4",
        # Segments of CUSDEC D96B this adapter reads past.
        *(f"{tag}.*" for tag in ("TDT", "GEI", "DOC", "TAX", "EQD", "SEL", "FII", "UNS", "CNT", "TOD", "CUX", "PCI")),
        *(f"{tag}.*" for tag in ("QTY", "ALI", "CTA", "COM", "GIR", "DMS", "ATT", "AUT", "ICD")),
    )
    samples: ClassVar[Path | None] = Path(__file__).parent / "samples"

    def decode_file(self, data: bytes, *, source: str) -> list[records_pb2.Record]:
        """Every CUSDEC message of the interchange as a declaration snapshot,
        each followed by the ODS shipments its items yield.

        Raises:
            AdapterError: with the segment (position, tag) and line.
        """
        interchange = read_interchange(data, adapter=self.name, source=source)
        records = read_messages(interchange, source_format=self.source_format, fail=self._fail(source))
        return with_ods_shipments(records)

    def encode(self, records: Sequence[records_pb2.Record]) -> bytes:
        """Translate declarations into one interchange; ODS shipments that
        decoding derives from them are accepted and skipped (decoding derives
        them again), any other record is refused by the base class.

        Raises:
            AdapterError: a record CUSDEC cannot carry, or no record at all.
        """
        kept = without_derived(records) if records else []
        return super().encode(kept or list(records))

    def encode_records(self, records: Sequence[records_pb2.Record]) -> bytes:
        """One interchange, one CUSDEC message per declaration (derived ODS
        shipments are skipped: decoding derives them again).

        Raises:
            AdapterError: nothing left to write once derived records are skipped.
        """
        declarations = [r for r in without_derived(records) if r.HasField("declaration_snapshot")]
        if not declarations:
            raise self.error("nothing to encode: no declaration among the records")
        return write_messages(declarations)

    def fields(self, data: bytes) -> list[tuple[str, str]]:
        """Every non-empty component: ``(TAG[.qualifier].element.component, value)``.

        Raises:
            AdapterError: the file cannot be read.
        """
        out: list[tuple[str, str]] = []
        for seg in read_interchange(data, adapter=self.name).segments:
            if seg.tag == "UNA":
                continue
            prefix = f"{seg.tag}.{seg.get(1)}" if seg.tag in _QUALIFIED else seg.tag
            for e, comps in enumerate(seg.elements, start=1):
                for c, value in enumerate(comps, start=1):
                    if value.strip():
                        out.append((f"{prefix}.{e}.{c}", value))
        return out

    def _fail(self, source: str):  # type: ignore[no-untyped-def]
        def fail(message: str, **location: object) -> AdapterError:
            return self.error(message, **({"file": source} if source else {}), **location)

        return fail
