"""The ``icegate`` adapter: India's ICES 1.5 Bill of Entry and Shipping Bill flat files."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from tamga.adapters.icegate import flatfile
from tamga.adapters.icegate.decode import to_record
from tamga.adapters.icegate.encode import from_record
from tamga.adapters.icegate.layout import BE, unmapped_paths
from tamga.adapters.sdk import BaseAdapter, with_ods_shipments, without_derived
from tamga.adapters.sdk.text import decode_text
from tamga.errors import AdapterError
from tamga.v1 import records_pb2

__all__ = ["IcegateAdapter"]


class IcegateAdapter(BaseAdapter):
    """Reads and writes ICES 1.5 CACHI01 (Bill of Entry) and CACHE01 (Shipping Bill) files.

    One file is one declaration. Files are read and written as UTF-8: ICEGATE
    files are ASCII in practice, which UTF-8 reads unchanged, and UTF-8 lets
    names and descriptions in Devanagari (or any script a partner sends)
    through. ``file_suffix`` is ``.ices`` for both kinds of file: a node has
    one suffix per adapter, and writing ``.be`` for a shipping bill would
    mislead; the HREC message id says which kind a file is.
    """

    name: ClassVar[str] = "icegate"
    file_suffix: ClassVar[str] = ".ices"
    source_format: ClassVar[str] = f"ICES:{BE.message_id}"
    record_types: ClassVar[tuple[str, ...]] = ("declaration_snapshot",)
    records_per_file: ClassVar[int] = 1
    unmapped_fields: ClassVar[tuple[str, ...]] = unmapped_paths()
    samples: ClassVar[Path | None] = Path(__file__).parent / "samples"

    def encode(self, records: Sequence[records_pb2.Record]) -> bytes:
        """Translate one declaration (with the ODS shipments derived from it,
        which are skipped) into an ICES file.

        Raises:
            AdapterError: the records are not one import or export declaration.
        """
        return super().encode(without_derived(records))

    def decode_file(self, data: bytes, *, source: str) -> list[records_pb2.Record]:
        ices = self._parse(data, source)
        with self.located(**({"file": source} if source else {})):
            return with_ods_shipments([to_record(ices, self)])

    def encode_records(self, records: Sequence[records_pb2.Record]) -> bytes:
        if len(records) != 1:
            raise self.error(f"an ICES file carries one declaration; {len(records)} were given")
        return from_record(records[0], self)

    def fields(self, data: bytes) -> list[tuple[str, str]]:
        """Every non-empty field: ``HREC.<name>``, ``TABLE.column`` (``TABLE.<n>``
        for tables without a layout), ``TREC.control_no``, ``SIGNATURE.line``."""
        ices = self._parse(data, "")
        out = [(f"HREC.{k}", v) for k, v in ices.header.items() if v and k != "record"]
        for table, rows in ices.tables.items():
            out.extend((f"{table}.{col}", v) for row in rows for col, v in row.values.items() if v)
        out.extend(("TREC.control_no", v) for v in ices.trailer.values() if v and v != "TREC")
        out.extend(("SIGNATURE.line", line) for line in ices.signature)
        return out

    def _parse(self, data: bytes, source: str) -> flatfile.IcesFile:
        text = decode_text(data, "utf-8", adapter=self.name, source=source)
        where = {"file": source} if source else {}

        def fail(message: str, **location: object) -> AdapterError:
            return self.error(message, **where, **location)

        return flatfile.parse(text, fail)
