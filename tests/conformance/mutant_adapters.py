"""Deliberately broken adapters: each is a real built-in adapter with one fault a national team could make.

The self-test runs the conformance suite on each (``tamga conformance adapter
mutant_adapters:Class``) and asserts that exactly the cases that check that
fault fail, and every other case passes: a suite that missed one of these
faults, or blamed a sound behaviour, would be wrong.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from tamga.adapters.csv import CsvAdapter
from tamga.adapters.eaeu import EaeuAdapter
from tamga.adapters.sdk.codes import EAEU_UNITS
from tamga.adapters.sdk.testing import TEXT_FIELDS
from tamga.errors import AdapterError
from tamga.v1 import records_pb2


def _copies(records: Sequence[records_pb2.Record]) -> list[records_pb2.Record]:
    out = []
    for rec in records:
        copy = records_pb2.Record()
        copy.CopyFrom(rec)
        out.append(copy)
    return out


def _fold(msg: object) -> None:
    from google.protobuf.descriptor import FieldDescriptor

    for fd, value in msg.ListFields():  # type: ignore[attr-defined]
        if fd.type == FieldDescriptor.TYPE_MESSAGE:
            for item in value if fd.is_repeated else [value]:
                _fold(item)
        elif fd.type == FieldDescriptor.TYPE_STRING and fd.name in TEXT_FIELDS and not fd.is_repeated:
            setattr(msg, fd.name, unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode())


class AsciiFoldingEaeu(EaeuAdapter):
    """Writes free text folded to ASCII (NFKD, then every non-ASCII character dropped):
    Cyrillic, Chinese and every diacritic are lost on the way out."""

    def encode_records(self, records: Sequence[records_pb2.Record]) -> bytes:
        records = _copies(records)
        for rec in records:
            _fold(rec)
        return super().encode_records(records)


class IdDroppingEaeu(EaeuAdapter):
    """Leaves the parties' identification numbers out of the files it writes, though it reads them."""

    def encode_records(self, records: Sequence[records_pb2.Record]) -> bytes:
        records = _copies(records)
        for rec in records:
            for party in ("exporter", "consignee", "declarant"):
                getattr(rec.declaration_snapshot, party).ClearField("id")
        return super().encode_records(records)


class RateIgnoringEaeu(EaeuAdapter):
    """Does not read the declaration's exchange rate into records, and does not say so in
    ``unmapped_fields``: the field silently disappears on the way through."""

    def decode_file(self, data: bytes, *, source: str) -> list[records_pb2.Record]:
        records = super().decode_file(data, source=source)
        for rec in records:
            if rec.WhichOneof("body") == "declaration_snapshot":
                rec.declaration_snapshot.ClearField("exchange_rate")
        return records


class SenderlessEaeu(EaeuAdapter):
    """Forgets the sender country: every record it reads is invalid, so nothing else can be judged."""

    def decode_file(self, data: bytes, *, source: str) -> list[records_pb2.Record]:
        records = super().decode_file(data, source=source)
        for rec in records:
            rec.meta.ClearField("sender_country")
        return records


_UNIT = re.compile(rb'(measurementUnitCode="|MeasureUnitQualifierCode>)([^"<]*)')


class UnitGuessingEaeu(EaeuAdapter):
    """Reads a unit code it does not know as kilograms (EAEU 166) instead of refusing the file."""

    def decode_file(self, data: bytes, *, source: str) -> list[records_pb2.Record]:
        def known(m: re.Match[bytes]) -> bytes:
            try:
                EAEU_UNITS.to_standard(m.group(2).decode("utf-8", "replace"))
            except AdapterError:
                return m.group(1) + b"166"
            return m.group(0)

        return super().decode_file(_UNIT.sub(known, data), source=source)


class PartialCsv(CsvAdapter):
    """On a bad row, returns the records of the rows before it instead of refusing the file."""

    def decode_file(self, data: bytes, *, source: str) -> list[records_pb2.Record]:
        try:
            return super().decode_file(data, source=source)
        except AdapterError as exc:
            line = exc.location.get("line")
            if not isinstance(line, int) or line <= 2:
                raise
            good = b"".join(data.splitlines(keepends=True)[: line - 1])
            return super().decode_file(good, source=source)
