"""The protobuf adapter: length-delimited binary records, with located errors."""

from __future__ import annotations

import random
from importlib import resources

import pytest
from tamga.adapters import load_adapter
from tamga.adapters.json_records import JsonAdapter
from tamga.adapters.protobuf_records import ProtobufAdapter
from tamga.errors import AdapterError
from tamga.v1 import records_pb2


def sample_records() -> list[records_pb2.Record]:
    samples = resources.files("tamga.adapters") / "samples"
    out: list[records_pb2.Record] = []
    for entry in sorted(samples.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            out.extend(JsonAdapter().decode(entry.read_bytes(), source=entry.name))
    return out


def test_it_is_registered_like_any_adapter() -> None:
    adapter = load_adapter("protobuf")
    assert adapter.name == "protobuf" and adapter.file_suffix == ".pb"


def test_round_trip_keeps_every_record_exactly() -> None:
    records = sample_records()
    adapter = ProtobufAdapter()
    data = adapter.encode(records)
    assert adapter.decode(data) == records
    assert adapter.encode(adapter.decode(data)) == data


def test_the_format_is_protobufs_delimited_form() -> None:
    # A varint byte count, then the serialized record: what writeDelimitedTo writes.
    record = sample_records()[0]
    body = record.SerializeToString()
    assert len(body) > 127  # a two-byte varint
    expected = bytes([(len(body) & 0x7F) | 0x80, len(body) >> 7]) + body
    assert ProtobufAdapter().encode([record]) == expected


@pytest.mark.parametrize(
    ("data", "message", "offset"),
    [
        (b"", "holds no record", 0),
        (b"\x80", "ends inside a record's length prefix", 0),
        (b"\xff" * 11, "not a valid varint", 0),
        (b"\x05abc", "runs past the end of the file", 0),
        (b"\x00", "has no body", 1),
    ],
)
def test_bad_files_give_a_located_error(data: bytes, message: str, offset: int) -> None:
    with pytest.raises(AdapterError, match=message) as info:
        ProtobufAdapter().decode(data)
    assert info.value.location["byte_offset"] == offset


def test_an_error_in_a_later_record_names_that_record() -> None:
    good = ProtobufAdapter().encode(sample_records()[:2])
    with pytest.raises(AdapterError) as info:
        ProtobufAdapter().decode(good + b"\x03\xff\xff\xff")
    assert info.value.location["record"] == 2
    assert info.value.location["byte_offset"] == len(good) + 1


def test_arbitrary_bytes_raise_only_the_adapter_error() -> None:
    rng = random.Random(20261128)
    good = ProtobufAdapter().encode(sample_records())
    for _ in range(2000):
        if rng.random() < 0.5:
            data = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 64)))
        else:
            data = bytearray(good)
            for _ in range(rng.randrange(1, 6)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            data = bytes(data[: rng.randrange(len(data) + 1)])
        try:
            records = ProtobufAdapter().decode(data)
        except AdapterError:
            continue
        assert records and all(r.WhichOneof("body") for r in records)
