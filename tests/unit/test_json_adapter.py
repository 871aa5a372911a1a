"""The JSON adapter gives exactly what protobuf's json_format gives, only faster.

Its converter is checked against json_format.ParseDict / MessageToDict on the
samples, on seeded random records, on a test message with every field kind,
and on randomly broken inputs, where both must agree on the error as well.
"""

from __future__ import annotations

import contextlib
import copy
import json
import random
import re
import string
import struct
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import (
    descriptor,
    descriptor_pb2,
    descriptor_pool,
    duration_pb2,
    json_format,
    message_factory,
    timestamp_pb2,
    wrappers_pb2,
)
from tamga.adapters import json_records
from tamga.adapters.json_records import JsonAdapter
from tamga.errors import AdapterError
from tamga.v1 import records_pb2

SAMPLES = sorted((Path(json_records.__file__).parent / "samples").glob("*.json"))
FD = descriptor.FieldDescriptor

# -- random messages ---------------------------------------------------------------------------------------------

TEXTS = [
    "",
    "KZ",
    "0",
    "null",
    "true",
    "Алматы, пр. Абая 10",
    "ТОО «Алтын Дала», Қазақстан",
    "乌鲁木齐西北贸易有限公司",
    "Ürümqi – Çağrı Şirketi, São Paulo, Łódź, Ærøskøbing",
    "naïve café déjà vu",
    'tab\tnew\nline "quoted" \\ back/slash',
    "emoji 🚚📦 and astral 𝔘",
    "\u00a0nbsp\u200bzero-width\u2028line-sep",
    "\x00\x01\x1f controls",
]
ALPHABET = (
    string.ascii_letters
    + string.digits
    + " -/.,'"
    + "АБВГДабвгдЁёҚқҢңӘәҰұЎўҒғ"
    + "中国海关报关单货物"
    + "éèçñüößøåłžăşţ"
)


def random_text(rng: random.Random) -> str:
    if rng.random() < 0.4:
        return rng.choice(TEXTS)
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 40)))


def random_int(rng: random.Random, low: int, high: int) -> int:
    edges = [v for v in (0, 1, -1, low, high, low + 1, high - 1, 2**53 + 1, -(2**53) - 1) if low <= v <= high]
    return rng.choice(edges) if rng.random() < 0.4 else rng.randint(low, high)


INT_RANGES = {
    FD.CPPTYPE_INT32: (-(2**31), 2**31 - 1),
    FD.CPPTYPE_UINT32: (0, 2**32 - 1),
    FD.CPPTYPE_INT64: (-(2**63), 2**63 - 1),
    FD.CPPTYPE_UINT64: (0, 2**64 - 1),
}


def random_scalar(field: descriptor.FieldDescriptor, rng: random.Random) -> Any:
    cpp = field.cpp_type
    if cpp in INT_RANGES:
        return random_int(rng, *INT_RANGES[cpp])
    if cpp == FD.CPPTYPE_ENUM:
        numbers = [v.number for v in field.enum_type.values]
        if not field.enum_type.is_closed and rng.random() < 0.1:
            return rng.choice([42, -5, 2**31 - 1])  # open enum: an unknown number survives as a number
        return rng.choice(numbers)
    if cpp == FD.CPPTYPE_BOOL:
        return rng.random() < 0.5
    if cpp == FD.CPPTYPE_DOUBLE:
        return rng.choice([0.1, -0.0, 1e308, -2.5e-308, 12345.678, float(2**60), rng.uniform(-1e6, 1e6)])
    if cpp == FD.CPPTYPE_FLOAT:
        value = rng.choice([0.1, -1.5, 3.4e38, 1e-30, rng.uniform(-1e6, 1e6)])
        return struct.unpack("<f", struct.pack("<f", value))[0]
    if field.type == FD.TYPE_BYTES:
        return bytes(rng.randrange(256) for _ in range(rng.choice([0, 1, 2, 3, 4, 31])))
    return random_text(rng)


def random_timestamp(timestamp: Any, rng: random.Random) -> None:
    timestamp.seconds = rng.choice(
        [0, -1, 1_772_352_900, -62_135_596_800, 253_402_300_799, rng.randint(-62_135_596_800, 253_402_300_799)]
    )
    timestamp.nanos = rng.choice(
        [0, 0, rng.randrange(1000) * 1_000_000, rng.randrange(10**6) * 1000, rng.randrange(10**9), 999_999_999]
    )


def is_synthetic(oneof: descriptor.OneofDescriptor) -> bool:
    """The oneof protoc makes for a proto3 ``optional`` field."""
    return len(oneof.fields) == 1 and oneof.name == "_" + oneof.fields[0].name


def fill_random(message: Any, rng: random.Random, depth: int = 0, max_depth: int = 3) -> Any:
    """Set a random selection of the fields of ``message``, of every kind, recursively."""
    desc = message.DESCRIPTOR
    real_oneofs = [o for o in desc.oneofs if not is_synthetic(o)]
    chosen_oneof_member = {o.name: rng.choice(o.fields).name for o in real_oneofs}
    for field in desc.fields:
        oneof = field.containing_oneof
        if oneof is not None and oneof.name in chosen_oneof_member and chosen_oneof_member[oneof.name] != field.name:
            continue
        if rng.random() < 0.2:
            continue
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            continue  # no maps in the test messages that are filled at random
        is_message = field.cpp_type == FD.CPPTYPE_MESSAGE
        if is_message and field.message_type.full_name != "google.protobuf.Timestamp" and depth >= max_depth:
            continue
        if field.is_repeated:
            container = getattr(message, field.name)
            for _ in range(rng.choice([0, 1, 2, 4] if depth == 0 else [0, 1, 2])):
                if field.message_type is not None and field.message_type.full_name == "google.protobuf.Timestamp":
                    random_timestamp(container.add(), rng)
                elif is_message:
                    fill_random(container.add(), rng, depth + 1, max_depth)
                else:
                    container.append(random_scalar(field, rng))
        elif is_message:
            sub = getattr(message, field.name)
            sub.SetInParent()  # an empty sub-message is set, and prints as {}
            if field.message_type.full_name == "google.protobuf.Timestamp":
                random_timestamp(sub, rng)
            else:
                fill_random(sub, rng, depth + 1, max_depth)
        else:
            setattr(message, field.name, random_scalar(field, rng))
    return message


def random_records(count: int, seed: int) -> list[records_pb2.Record]:
    rng = random.Random(seed)
    records = []
    while len(records) < count:
        record = fill_random(records_pb2.Record(), rng)
        if record.WhichOneof("body") is None:
            record.declaration_snapshot.SetInParent()
        records.append(record)
    return records


RECORDS = random_records(300, seed=20260301)


def serialized(message: Any) -> bytes:
    return message.SerializeToString(deterministic=True)


def parse_dict(js: Any, message_class: Any) -> Any:
    return json_format.ParseDict(copy.deepcopy(js), message_class())


def file_of(items: list[Any]) -> bytes:
    return json.dumps({"records": items}, ensure_ascii=False).encode("utf-8")


@contextlib.contextmanager
def json_format_refused() -> Iterator[None]:
    """Within: the adapter's converter must handle its input alone, without json_format."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("json_format was called")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(json_format, "ParseDict", refuse)
        patch.setattr(json_format, "MessageToDict", refuse)
        yield


# -- samples -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.name)
def test_sample_decodes_as_json_format_does(sample: Path) -> None:
    doc = json.loads(sample.read_text("utf-8"))
    items = doc["records"] if isinstance(doc, dict) and "records" in doc else doc if isinstance(doc, list) else [doc]
    records = JsonAdapter().decode(sample.read_bytes(), source=sample.name)
    assert len(records) == len(items)
    for record, item in zip(records, items, strict=True):
        expected = parse_dict(item, records_pb2.Record)
        assert record == expected
        assert serialized(record) == serialized(expected)


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.name)
def test_sample_encodes_as_json_format_does(sample: Path) -> None:
    adapter = JsonAdapter()
    records = adapter.decode(sample.read_bytes())
    out = adapter.encode(records)
    expected = {"records": [json_format.MessageToDict(r) for r in records]}
    assert out == (json.dumps(expected, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
    assert adapter.decode(out) == records


def test_samples_never_reach_json_format() -> None:
    adapter = JsonAdapter()
    files = [sample.read_bytes() for sample in SAMPLES]
    with json_format_refused():
        for data in files:
            adapter.encode(adapter.decode(data))


# -- random records ----------------------------------------------------------------------------------------------


def test_random_records_cover_every_field_of_record() -> None:
    """The generator reaches every field of every message type under Record, with empty and non-ASCII text."""
    seen: set[str] = set()

    def walk(message: Any) -> None:
        for field, value in message.ListFields():
            seen.add(field.full_name)
            if field.cpp_type == FD.CPPTYPE_MESSAGE:
                for sub in value if field.is_repeated else [value]:
                    walk(sub)

    for record in RECORDS:
        walk(record)

    def all_fields(desc: descriptor.Descriptor, out: set[str]) -> set[str]:
        for field in desc.fields:
            if field.full_name not in out:
                out.add(field.full_name)
                if field.message_type is not None:
                    all_fields(field.message_type, out)
        return out

    assert all_fields(records_pb2.Record.DESCRIPTOR, set()) - seen == set()
    text = JsonAdapter().encode(RECORDS).decode("utf-8")
    for pattern in (
        "[А-яҚқҰұ]",  # Cyrillic
        "[一-龥]",  # Chinese
        "[éüßłç]",  # Latin with diacritics
        r'\[""[,\]]',  # an empty string in a list
        '"CONTACT_POINT_KIND_[A-Z_]+"',  # an enum by name
        r'"(kind|priority|direction|handling|messageFunction)":(42|-5|2147483647)[,}]',  # an unknown enum number
        '"seq":4294967295[,}]',  # the largest uint32
        r'"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"',  # timestamps with no fraction
        r'"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"',  # milliseconds
        r'"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z"',  # microseconds
        r'"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z"',  # nanoseconds
        '"0001-01-01T00:00:00Z"',
        ":{}[,}]",  # an empty sub-message
    ):
        assert re.search(pattern, text), pattern


def test_random_records_encode_as_json_format_does() -> None:
    adapter = JsonAdapter()
    out = adapter.encode(RECORDS)
    expected = {"records": [json_format.MessageToDict(r) for r in RECORDS]}
    assert out == (json.dumps(expected, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
    assert json.loads(out) == expected
    assert out.endswith(b"}\n") and out.count(b"\n") == 1


def test_random_records_round_trip() -> None:
    adapter = JsonAdapter()
    decoded = adapter.decode(adapter.encode(RECORDS))
    assert len(decoded) == len(RECORDS)
    for record, original in zip(decoded, RECORDS, strict=True):
        assert record == original
        assert serialized(record) == serialized(original)
    for original in RECORDS[:50]:  # one record per file, also as a bare object and a bare list
        one = json_format.MessageToDict(original)
        assert adapter.decode(json.dumps(one).encode()) == [original]
        assert adapter.decode(json.dumps([one]).encode()) == [original]


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"preserving_proto_field_name": True},
        {"use_integers_for_enums": True},
        {"always_print_fields_with_no_presence": True},
        {"always_print_fields_with_no_presence": True, "preserving_proto_field_name": True},
    ],
    ids=["canonical", "snake_case", "enum_numbers", "with_defaults", "snake_case_with_defaults"],
)
def test_random_records_decode_as_parse_dict_does(options: dict[str, bool]) -> None:
    items = [json_format.MessageToDict(r, **options) for r in RECORDS]
    decoded = JsonAdapter().decode(file_of(items))
    for record, item, original in zip(decoded, items, RECORDS, strict=True):
        expected = parse_dict(item, records_pb2.Record)
        assert record == expected == original
        assert serialized(record) == serialized(expected)


def test_canonical_json_never_reaches_json_format() -> None:
    canonical = file_of([json_format.MessageToDict(r) for r in RECORDS])
    snake = file_of([json_format.MessageToDict(r, preserving_proto_field_name=True) for r in RECORDS])
    adapter = JsonAdapter()
    with json_format_refused():
        adapter.encode(adapter.decode(canonical))
        adapter.decode(snake)


def test_other_accepted_spellings_decode_as_parse_dict_does() -> None:
    """Spellings json_format accepts besides the canonical ones: the same record either way."""
    base = json_format.MessageToDict(RECORDS[0])
    variants: list[dict[str, Any]] = [
        {"meta": {"createdAt": "1970-01-01T00:00:00Z"}, "contactPointMessage": {}},  # present, all zero
        {"meta": {"createdAt": "2026-03-01T08:15:00.5Z"}, "contactPointMessage": {"kind": 2}},
        {"meta": {"createdAt": "2026-03-01T08:15:00.123456789Z"}, "declarationSnapshot": {"direction": "2"}},
        {"meta": {"createdAt": "2026-03-01T13:15:00+05:00"}, "declarationSnapshot": {"items": [{"seq": "7"}]}},
        {"meta": {"createdAt": "2026-03-01T08:15:00.10-00:30"}, "declarationSnapshot": {"items": [{"seq": 7.0}]}},
        {"meta": {"created_at": "0001-01-01T00:00:00Z"}, "declaration_snapshot": {"items": [{}, {"seq": "007"}]}},
        {"meta": {"createdAt": "9999-12-31T23:59:59.999999999Z"}, "declarationSnapshot": {"exporter": {}}},
        {"meta": None, "declarationSnapshot": {"items": None, "direction": None, "exporter": None}},
        {"contactPointMessage": None, "declarationSnapshot": {"containerIds": []}},
        {"declarationSnapshot": {"declarationNo": "A"}, "contactPointMessage": None},
        {"declarationSnapshot": {"declarationNo": "A", "declaration_no": "B"}},  # both spellings: the last wins
        {"declarationSnapshot": {"consignee": {"idScheme": "BIN", "id_scheme": "TIN"}}},
        {"declarationSnapshot": {"invoiceAmount": {"amount": "1"}, "invoice_amount": {"currency": "KZT"}}},
        {"declarationSnapshot": {"exporter": []}},  # json_format takes an empty list for an empty message
        {"declarationSnapshot": {"exporter": ""}},
        {"meta": {"handling": 3, "messageFunction": 99}, "declarationSnapshot": {"direction": -7}},
        {"meta": {"receiverCountries": ["UZ", "ÇN", ""]}, "contactPointMessage": {"priority": "PRIORITY_URGENT"}},
        {**base, "meta": {**base.get("meta", {}), "recordId": "😀 astral \U0001f600"}},
    ]
    adapter = JsonAdapter()
    for item in variants:
        expected = parse_dict(item, records_pb2.Record)
        [record] = adapter.decode(file_of([item]))
        assert record == expected, item
        assert serialized(record) == serialized(expected), item


# -- every field kind, on a test message ------------------------------------------------------------------------


def kinds_message_classes() -> tuple[Any, Any]:
    """A test message with every scalar kind, repeated and proto3-optional fields, a oneof, nesting, a
    Timestamp; and one with the kinds the converter leaves to json_format (map, Duration, wrapper)."""
    pool = descriptor_pool.DescriptorPool()
    for module in (timestamp_pb2, duration_pb2, wrappers_pb2):
        proto = descriptor_pb2.FileDescriptorProto()
        module.DESCRIPTOR.CopyToProto(proto)
        pool.Add(proto)
    file = descriptor_pb2.FileDescriptorProto(
        name="tamga_test/kinds.proto",
        package="tamga_test",
        syntax="proto3",
        dependency=[
            "google/protobuf/timestamp.proto",
            "google/protobuf/duration.proto",
            "google/protobuf/wrappers.proto",
        ],
    )
    color = file.enum_type.add(name="Color")
    color.options.allow_alias = True
    for number, name in enumerate(["COLOR_UNSPECIFIED", "COLOR_RED", "COLOR_GREEN", "COLOR_BLUE"]):
        color.value.add(name=name, number=number)
    color.value.add(name="COLOR_CRIMSON", number=1)  # an alias: json_format prints the first name
    P = descriptor_pb2.FieldDescriptorProto
    kinds = file.message_type.add(name="Kinds")
    scalars = [
        ("i32", P.TYPE_INT32),
        ("i64", P.TYPE_INT64),
        ("u32", P.TYPE_UINT32),
        ("u64", P.TYPE_UINT64),
        ("s32", P.TYPE_SINT32),
        ("s64", P.TYPE_SINT64),
        ("fx32", P.TYPE_FIXED32),
        ("fx64", P.TYPE_FIXED64),
        ("sfx32", P.TYPE_SFIXED32),
        ("sfx64", P.TYPE_SFIXED64),
        ("flag", P.TYPE_BOOL),
        ("text_value", P.TYPE_STRING),
        ("blob", P.TYPE_BYTES),
        ("dbl", P.TYPE_DOUBLE),
        ("flt", P.TYPE_FLOAT),
    ]
    number = 0
    for label, prefix in ((P.LABEL_OPTIONAL, ""), (P.LABEL_REPEATED, "many_")):
        for name, ftype in scalars:
            number += 1
            kinds.field.add(name=prefix + name, number=number, type=ftype, label=label)
        number += 1
        kinds.field.add(
            name=prefix + "color", number=number, type=P.TYPE_ENUM, type_name=".tamga_test.Color", label=label
        )
        number += 1
        kinds.field.add(
            name=prefix + "child", number=number, type=P.TYPE_MESSAGE, type_name=".tamga_test.Kinds", label=label
        )
        number += 1
        kinds.field.add(
            name=prefix + "at", number=number, type=P.TYPE_MESSAGE, type_name=".google.protobuf.Timestamp", label=label
        )
    kinds.oneof_decl.add(name="choice")  # synthetic oneofs come last
    kinds.field.add(name="choice_text", number=110, type=P.TYPE_STRING, label=P.LABEL_OPTIONAL, oneof_index=0)
    kinds.field.add(
        name="choice_child",
        number=111,
        type=P.TYPE_MESSAGE,
        type_name=".tamga_test.Kinds",
        label=P.LABEL_OPTIONAL,
        oneof_index=0,
    )
    for index, (name, ftype) in enumerate([("maybe_text", P.TYPE_STRING), ("maybe_i64", P.TYPE_INT64)], start=1):
        kinds.oneof_decl.add(name="_" + name)
        kinds.field.add(
            name=name, number=99 + index, type=ftype, label=P.LABEL_OPTIONAL, proto3_optional=True, oneof_index=index
        )
    other = file.message_type.add(name="Unsupported")
    entry = other.nested_type.add(name="CountsEntry")
    entry.options.map_entry = True
    entry.field.add(name="key", number=1, type=P.TYPE_STRING, label=P.LABEL_OPTIONAL)
    entry.field.add(name="value", number=2, type=P.TYPE_INT32, label=P.LABEL_OPTIONAL)
    other.field.add(
        name="counts",
        number=1,
        type=P.TYPE_MESSAGE,
        type_name=".tamga_test.Unsupported.CountsEntry",
        label=P.LABEL_REPEATED,
    )
    other.field.add(
        name="took", number=2, type=P.TYPE_MESSAGE, type_name=".google.protobuf.Duration", label=P.LABEL_OPTIONAL
    )
    other.field.add(
        name="label", number=3, type=P.TYPE_MESSAGE, type_name=".google.protobuf.StringValue", label=P.LABEL_OPTIONAL
    )
    other.field.add(name="kinds", number=4, type=P.TYPE_MESSAGE, type_name=".tamga_test.Kinds", label=P.LABEL_OPTIONAL)
    pool.Add(file)
    return (
        message_factory.GetMessageClass(pool.FindMessageTypeByName("tamga_test.Kinds")),
        message_factory.GetMessageClass(pool.FindMessageTypeByName("tamga_test.Unsupported")),
    )


Kinds, Unsupported = kinds_message_classes()
KINDS = [fill_random(Kinds(), random.Random(seed), max_depth=2) for seed in range(200)]


def test_every_kind_round_trips_as_json_format_does() -> None:
    for message in KINDS:
        js = json_format.MessageToDict(message)
        assert json_records._message_to_dict(message) == js
        for options in ({}, {"preserving_proto_field_name": True}, {"use_integers_for_enums": True}):
            item = json_format.MessageToDict(message, **options)
            parsed = json_records._from_dict(item, Kinds)
            expected = parse_dict(item, Kinds)
            assert serialized(parsed) == serialized(expected) == serialized(message)


def test_every_kind_in_canonical_form_never_reaches_json_format() -> None:
    with json_format_refused():
        for message in KINDS:
            json_records._from_dict(json_records._message_to_dict(message), Kinds)


def test_kinds_left_to_json_format_give_its_result() -> None:
    message = Unsupported(kinds=KINDS[1])
    message.counts["a"] = 1
    message.counts["b"] = -2
    message.took.FromJsonString("3.5s")
    message.label.value = "x"
    js = json_format.MessageToDict(message)
    assert json_records._message_to_dict(message) == js
    assert serialized(json_records._from_dict(js, Unsupported)) == serialized(message)


# -- broken inputs: the same result or the same error as json_format ---------------------------------------------

JUNK: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    1.0,
    1.5,
    -0.0,
    2**31,
    2**32,
    2**63,
    2**64,
    -(2**63) - 1,
    10**400,
    3.5e38,
    -1e39,
    float("nan"),
    float("inf"),
    "",
    "x",
    "123",
    "-7",
    "+7",
    " 5",
    "1e3",
    "1.5",
    "0x10",
    "NaN",
    "-Infinity",
    "true",
    "AAEC",
    "AAE=",
    "_-8=",
    "not base64!",
    "2026-03-01T08:15:00Z",
    "2026-03-01T08:15:00",
    "2026-03-01T08:15:00.5+05:00",
    "2026-02-30T08:15:00Z",
    "2026-03-01T24:00:00Z",
    "2026-03-01t08:15:00Z",
    "2026-03-01T08:15:00.1234567891Z",
    "DIRECTION_EXPORT",
    "PRIORITY_URGENT",
    "COLOR_RED",
    "COLOR_CRIMSON",
    "\ud800 lone surrogate",
    "ok \U0001f600",
    [],
    [None],
    [1, "a"],
    ["x", "y"],
    [{}],
    [{"name": "A"}],
    ["2026-03-01T08:15:00Z"],
    {},
    {"x": 1},
    {"name": "A"},
    {"seconds": 1},
]


def outcome(convert: Callable[[], Any]) -> tuple[str, Any]:
    try:
        return ("ok", serialized(convert()))
    except json_format.ParseError as exc:
        return ("ParseError", str(exc))
    except Exception as exc:
        return (type(exc).__name__, str(exc))


def dict_nodes(js: Any) -> Iterator[dict[str, Any]]:
    if isinstance(js, dict):
        yield js
        for value in js.values():
            yield from dict_nodes(value)
    elif isinstance(js, list):
        for value in js:
            yield from dict_nodes(value)


def camel_to_snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name)


def mutate(js: dict[str, Any], rng: random.Random, extra_keys: list[str]) -> dict[str, Any]:
    js = copy.deepcopy(js)
    for _ in range(rng.randint(1, 3)):
        node = rng.choice(list(dict_nodes(js)))
        keys = list(node)
        action = rng.random()
        if keys and action < 0.55:
            node[rng.choice(keys)] = copy.deepcopy(rng.choice(JUNK))
        elif keys and action < 0.7:
            key = rng.choice(keys)
            node[camel_to_snake(key)] = copy.deepcopy(rng.choice([node[key], *JUNK]))
        elif keys and action < 0.8:
            del node[rng.choice(keys)]
        else:
            node[rng.choice(extra_keys)] = copy.deepcopy(rng.choice(JUNK))
    return js


RECORD_KEYS = ["unknownField", "meta", "declarationSnapshot", "contactPointMessage", "declaration_snapshot", "seq"]
KINDS_KEYS = [
    "unknownField",
    "choiceText",
    "choiceChild",
    "maybeText",
    "maybe_i64",
    "at",
    "color",
    "blob",
    "dbl",
    "flt",
]


def test_each_field_of_each_kind_with_each_odd_value_agrees_with_parse_dict() -> None:
    for field in Kinds.DESCRIPTOR.fields:
        for key in {field.json_name, field.name}:
            for value in JUNK:
                for item in ({key: value}, {key: [value]}, {"child": {key: value}}):
                    fast = outcome(lambda item=item: json_records._from_dict(item, Kinds))
                    assert fast == outcome(lambda item=item: parse_dict(item, Kinds)), item


def test_proto2_closed_enum_defaults_and_required_agree_with_json_format() -> None:
    """Record is proto3; the converter is generic, and also right for proto2 (closed enums, presence, required)."""
    pool = descriptor_pool.DescriptorPool()
    file = descriptor_pb2.FileDescriptorProto(name="tamga_test/legacy.proto", package="tamga_legacy", syntax="proto2")
    shade = file.enum_type.add(name="Shade")
    shade.value.add(name="SHADE_DARK", number=1)
    shade.value.add(name="SHADE_LIGHT", number=5)
    P = descriptor_pb2.FieldDescriptorProto
    legacy = file.message_type.add(name="Legacy")
    legacy.field.add(name="shade", number=1, type=P.TYPE_ENUM, type_name=".tamga_legacy.Shade", label=P.LABEL_OPTIONAL)
    legacy.field.add(name="shades", number=2, type=P.TYPE_ENUM, type_name=".tamga_legacy.Shade", label=P.LABEL_REPEATED)
    legacy.field.add(name="count", number=3, type=P.TYPE_INT32, label=P.LABEL_OPTIONAL, default_value="7")
    legacy.field.add(name="name", number=4, type=P.TYPE_STRING, label=P.LABEL_REQUIRED)
    legacy.field.add(
        name="child", number=5, type=P.TYPE_MESSAGE, type_name=".tamga_legacy.Legacy", label=P.LABEL_OPTIONAL
    )
    pool.Add(file)
    Legacy = message_factory.GetMessageClass(pool.FindMessageTypeByName("tamga_legacy.Legacy"))
    for field in Legacy.DESCRIPTOR.fields:
        for value in [*JUNK, 1, 2, 5, "SHADE_LIGHT"]:
            for item in ({field.name: value}, {field.name: [value]}, {"name": "", "child": {field.name: value}}):
                fast = outcome(lambda item=item: json_records._from_dict(item, Legacy))
                assert fast == outcome(lambda item=item: parse_dict(item, Legacy)), item
    message = Legacy(name="", shade=5, shades=[1, 5], count=0, child=Legacy(name="x"))
    assert json_records._message_to_dict(message) == json_format.MessageToDict(message)


def test_broken_kinds_agree_with_parse_dict() -> None:
    rng = random.Random(7)
    for i in range(1500):
        item = mutate(json_format.MessageToDict(KINDS[i % len(KINDS)]), rng, KINDS_KEYS)
        fast = outcome(lambda item=item: json_records._from_dict(item, Kinds))
        assert fast == outcome(lambda item=item: parse_dict(item, Kinds)), item


def expected_decode(item: dict[str, Any], path: str) -> tuple[str, Any]:
    """What the adapter must give for one record: ParseDict's record, or its error worded as the adapter words it."""
    try:
        record = parse_dict(item, records_pb2.Record)
    except json_format.ParseError as exc:
        return ("AdapterError", f"json adapter: not a tamga.v1.Record: {' '.join(str(exc).split())} (at path {path})")
    except Exception as exc:  # json_format's own failures (SystemError from upb on a lone surrogate in a key)
        described = json_records._describe(exc)
        return ("AdapterError", f"json adapter: not a tamga.v1.Record: {described} (at path {path})")
    if record.WhichOneof("body") is None:
        bodies = ", ".join(f.name for f in records_pb2.Record.DESCRIPTOR.oneofs_by_name["body"].fields)
        return ("AdapterError", f"json adapter: record has no body; set exactly one of {bodies} (at path {path})")
    return ("ok", serialized(record))


def test_broken_records_agree_with_parse_dict() -> None:
    rng = random.Random(11)
    adapter = JsonAdapter()
    kinds_seen = set()
    for i in range(2000):
        item = mutate(json_format.MessageToDict(RECORDS[i % len(RECORDS)]), rng, RECORD_KEYS)
        data = json.dumps({"records": [item]}, ensure_ascii=False).encode("utf-8", "surrogatepass")
        if b"\xed" in data:  # a lone surrogate: keep the file UTF-8, as a \u escape
            data = json.dumps({"records": [item]}).encode("ascii")
        item = json.loads(data)["records"][0]
        try:
            [record] = adapter.decode(data)
            got: tuple[str, Any] = ("ok", serialized(record))
        except AdapterError as exc:
            assert "\n" not in str(exc)
            got = ("AdapterError", str(exc))
        assert got == expected_decode(item, "$.records[0]"), item
        kinds_seen.add(got[0])
    assert kinds_seen == {"ok", "AdapterError"}


# -- errors ------------------------------------------------------------------------------------------------------


def decode_error(data: bytes) -> AdapterError:
    with pytest.raises(AdapterError) as info:
        JsonAdapter().decode(data)
    error = info.value
    assert "\n" not in str(error) and "\r" not in str(error)
    assert error.adapter == "json"
    return error


def good_item(i: int = 0) -> dict[str, Any]:
    return json_format.MessageToDict(RECORDS[i])


def test_malformed_json_says_line_and_column() -> None:
    error = decode_error(b'{"records": [\n  {"meta": }\n]}\n')
    assert error.location == {"line": 2, "column": 12}
    assert error.message.startswith("not valid JSON: ")


def test_wrong_field_type_names_the_record_and_the_field() -> None:
    bad = good_item(1)
    bad.pop("contactPointMessage", None)
    bad["declarationSnapshot"] = {"exporter": "ACME"}
    error = decode_error(file_of([good_item(0), bad]))
    assert error.location == {"path": "$.records[1]"}
    assert "exporter" in error.message
    assert str(error) == expected_decode(json.loads(file_of([bad]))["records"][0], "$.records[1]")[1]


@pytest.mark.parametrize(
    ("item", "words"),
    [
        ({"declarationSnapshot": {"declarationNo": 5}}, "declarationNo"),
        ({"declarationSnapshot": {"items": [{"seq": -1}]}}, "seq"),
        ({"declarationSnapshot": {"items": [{"seq": 2**32}]}}, "seq"),
        ({"declarationSnapshot": {"items": [{"seq": "1.5"}]}}, "seq"),
        ({"declarationSnapshot": {"items": {"seq": 1}}}, "items"),
        ({"declarationSnapshot": {"items": [None]}}, "items"),
        ({"declarationSnapshot": {"direction": "EXPORT"}}, "EXPORT"),
        ({"declarationSnapshot": {"containerIds": "TGHU1234567"}}, "containerIds"),
        ({"meta": {"createdAt": "yesterday"}, "declarationSnapshot": {}}, "createdAt"),
        ({"meta": {"createdAt": 1772352900}, "declarationSnapshot": {}}, "createdAt"),
        ({"meta": {"receiverCountries": [None]}, "declarationSnapshot": {}}, "receiverCountries"),
        ({"meta": {"recordId": "\ud800"}, "declarationSnapshot": {}}, "surrogate"),
        # json_format itself fails with SystemError here (upb cannot encode the key); still an AdapterError
        ({"meta": {"\ud800": "x"}, "declarationSnapshot": {}}, "surrogate"),
        ({"declarationSnapshot": {"exporter": "\ud800"}}, "surrogate"),
        ({"declarationSnapshot": {}, "contactPointMessage": {}}, "oneof"),
        (
            {"declarationSnapshot": {"lrn": "a"}, "declaration_snapshot": {"lrn": "b"}, "contactPointMessage": {}},
            "oneof",
        ),
    ],
)
def test_wrong_values_give_json_format_message(item: dict[str, Any], words: str) -> None:
    data = json.dumps([good_item(2), item]).encode()
    error = decode_error(data)
    assert error.location == {"path": "$[1]"}
    assert words in error.message
    assert str(error) == expected_decode(json.loads(data)[1], "$[1]")[1]


def test_unknown_field_is_an_error() -> None:
    item = good_item(3)
    item.setdefault("meta", {})["colour"] = "red"
    error = decode_error(file_of([item]))
    assert error.location == {"path": "$.records[0]"}
    assert "colour" in error.message and "tamga.v1.RecordMeta" in error.message
    error = decode_error(json.dumps({**good_item(3), "extra": 1}).encode())
    assert error.location == {"path": "$"} and "extra" in error.message


def test_record_without_body_is_an_error() -> None:
    for item in ({"meta": {"recordId": "x"}}, {"meta": {}, "declarationSnapshot": None}, {}):
        error = decode_error(file_of([good_item(4), item]))
        assert error.location == {"path": "$.records[1]"}
        assert error.message == (
            "record has no body; set exactly one of declaration_snapshot, contact_point_message, seizure_report,"
            " ods_shipment, waste_movement, ipr_recordation, ipr_detention, transit_pre_arrival"
        )


def test_not_utf8_says_byte_offset() -> None:
    data = '{"records": [{"declarationSnapshot": {"declarationNo": "Ü"}}]}'.encode("latin-1")
    error = decode_error(data)
    assert error.location == {"byte_offset": data.index(b"\xdc")}
    assert "UTF-8" in error.message


def test_file_shape_errors() -> None:
    assert decode_error(b'{"records": {}}').location == {"path": "$.records"}
    assert decode_error(b'{"records": []}').location == {"path": "$.records"}
    assert decode_error(b"[]").location == {"path": "$"}
    assert decode_error(b'"text"').location == {"path": "$"}
    assert decode_error(b'{"records": [1]}').location == {"path": "$.records[0]"}
    assert decode_error(b'{"records": [], "more": 1}').location == {"path": "$"}


def test_byte_order_mark_is_accepted() -> None:
    item = good_item(5)
    assert JsonAdapter().decode(b"\xef\xbb\xbf" + file_of([item])) == [RECORDS[5]]


def test_encode_is_compact_utf8_with_one_trailing_newline() -> None:
    record = records_pb2.Record()
    record.meta.sender_authority = "Государственный комитет 海关 Łódź"
    record.contact_point_message.subject = ""
    out = JsonAdapter().encode([record])
    meta = '{"senderAuthority":"Государственный комитет 海关 Łódź"}'
    assert out == ('{"records":[{"meta":' + meta + ',"contactPointMessage":{}}]}\n').encode()
    assert JsonAdapter().encode([]) == b'{"records":[]}\n'
