"""The built-in protobuf adapter: tamga.v1.Record in protobuf's own binary form.

For national systems that can produce the shared schema directly (generated
code exists for every common language): no translation at all. A file is a
sequence of length-delimited records, each a varint byte count followed by a
serialized ``tamga.v1.Record``, which is what protobuf's
``writeDelimitedTo`` / ``parseDelimitedFrom`` (Java, C++) and
``google.protobuf.util.delimited`` (Go) read and write.
"""

from __future__ import annotations

from collections.abc import Sequence

from google.protobuf.message import DecodeError
from tamga.errors import AdapterError
from tamga.v1 import records_pb2

__all__ = ["ProtobufAdapter"]

_MAX_VARINT_BYTES = 10


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


class ProtobufAdapter:
    """Reads and writes length-delimited binary tamga.v1.Record messages."""

    name = "protobuf"
    file_suffix = ".pb"
    #: Files are a stream of records: hand-off puts up to this many in one file.
    records_per_file = 256

    def _error(self, message: str, **location: object) -> AdapterError:
        return AdapterError(message, adapter=self.name, location=location)

    def decode(self, data: bytes, *, source: str = "") -> list[records_pb2.Record]:
        records: list[records_pb2.Record] = []
        pos, end = 0, len(data)
        view = memoryview(data)
        while pos < end:
            start = pos
            size, shift = 0, 0
            while True:
                if pos >= end:
                    raise self._error(
                        "file ends inside a record's length prefix", byte_offset=start, record=len(records)
                    )
                byte = data[pos]
                pos += 1
                size |= (byte & 0x7F) << shift
                if not byte & 0x80:
                    break
                shift += 7
                if pos - start >= _MAX_VARINT_BYTES:
                    raise self._error(
                        "record length prefix is not a valid varint", byte_offset=start, record=len(records)
                    )
            if size > end - pos:
                raise self._error(
                    f"record of {size} bytes runs past the end of the file ({end - pos} bytes left)",
                    byte_offset=start,
                    record=len(records),
                )
            record = records_pb2.Record()
            try:
                record.ParseFromString(view[pos : pos + size])
            except DecodeError as exc:
                raise self._error(f"not a tamga.v1.Record: {exc}", byte_offset=pos, record=len(records)) from exc
            if record.WhichOneof("body") is None:
                raise self._error("record has no body", byte_offset=pos, record=len(records))
            records.append(record)
            pos += size
        if not records:
            raise self._error("the file holds no record", byte_offset=0)
        return records

    def encode(self, records: Sequence[records_pb2.Record]) -> bytes:
        parts = []
        for record in records:
            body = record.SerializeToString()
            parts.append(_varint(len(body)))
            parts.append(body)
        return b"".join(parts)
