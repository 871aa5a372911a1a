"""The built-in JSON adapter: protobuf's canonical JSON mapping of Record.

A file holds ``{"records": [ {...}, ... ]}``, or a list of records, or one
record. Field names may be lowerCamelCase (canonical) or snake_case. The
adapter writes ``{"records": [...]}`` in canonical JSON, UTF-8, indented.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from google.protobuf import json_format
from tamga.errors import AdapterError
from tamga.v1 import records_pb2

__all__ = ["JsonAdapter"]

_BODY_FIELDS = [f.name for f in records_pb2.Record.DESCRIPTOR.oneofs_by_name["body"].fields]


class JsonAdapter:
    """Reads and writes Tamga records as canonical JSON."""

    name = "json"
    file_suffix = ".json"

    def _error(self, message: str, **location: object) -> AdapterError:
        return AdapterError(message, adapter=self.name, location=location)

    def decode(self, data: bytes, *, source: str = "") -> list[records_pb2.Record]:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise self._error(
                f"not UTF-8: byte 0x{data[exc.start]:02x} cannot start a UTF-8 character",
                byte_offset=exc.start,
            ) from exc
        if text.startswith("\ufeff"):
            text = text[1:]
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise self._error(f"not valid JSON: {exc.msg}", line=exc.lineno, column=exc.colno) from exc
        items: list[Any]
        prefix: str
        if isinstance(doc, dict) and "records" in doc:
            extra = sorted(set(doc) - {"records"})
            if extra:
                raise self._error(f"unexpected top-level key {extra[0]!r} beside 'records'", path="$")
            if not isinstance(doc["records"], list):
                raise self._error("'records' must be a list", path="$.records")
            items, prefix = doc["records"], "$.records"
        elif isinstance(doc, list):
            items, prefix = doc, "$"
        elif isinstance(doc, dict):
            items, prefix = [doc], ""
        else:
            raise self._error("expected an object with 'records', a list, or one record", path="$")
        if not items:
            raise self._error("the file holds no record", path=prefix or "$")
        records = []
        for i, item in enumerate(items):
            path = f"{prefix}[{i}]" if prefix else "$"
            if not isinstance(item, dict):
                raise self._error("a record must be a JSON object", path=path)
            record = records_pb2.Record()
            try:
                json_format.ParseDict(item, record)
            except json_format.ParseError as exc:
                raise self._error("not a tamga.v1.Record: " + " ".join(str(exc).split()), path=path) from exc
            if record.WhichOneof("body") is None:
                raise self._error("record has no body; set exactly one of " + ", ".join(_BODY_FIELDS), path=path)
            records.append(record)
        return records

    def encode(self, records: Sequence[records_pb2.Record]) -> bytes:
        doc = {"records": [json_format.MessageToDict(r) for r in records]}
        return (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
