"""Checks every adapter must pass, for its own tests and for Tamga's.

The built-in adapters' tests, the tests ``tamga adapter new`` generates and
the conformance suite call the same functions, so an adapter a national team
writes is held to exactly what the built-in ones are::

    from tamga.adapters.sdk import testing

    def test_sample(adapter, sample):
        testing.check_round_trip(adapter, sample)

Each check raises ``AssertionError`` with a message that says what differs.
"""

from __future__ import annotations

import fnmatch
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from tamga.adapters import Adapter, load_adapter
from tamga.adapters.sdk.ods import without_derived
from tamga.adapters.sdk.records import canonical_json
from tamga.errors import AdapterError
from tamga.v1 import records_pb2

__all__ = [
    "SCRIPTS",
    "adapter_for_sample",
    "check_random_bytes",
    "check_round_trip",
    "check_sample",
    "check_scripts_survive",
    "sample_files",
]

#: Text in the scripts of the member states: Kazakh and Russian Cyrillic,
#: Chinese, Hindi (Devanagari), Persian (Arabic script, right to left).
SCRIPTS = {
    "cyrillic": "Қазақстан ТОО «Пример» хлордифторметан",
    "chinese": "一氯二氟甲烷 乌鲁木齐贸易有限公司",
    "devanagari": "भारतीय सीमा शुल्क कपास",
    "persian": "گمرک جمهوری اسلامی ایران",
}

#: String fields that carry free text in records; check_scripts_survive puts
#: each script into those a format actually carries.
TEXT_FIELDS = frozenset(
    {"name", "description", "designation", "subject", "reason", "facts_summary", "concealment", "mark_text", "address"}
)


def sample_files(folder: Path | None) -> list[Path]:
    """The sample files of an adapter (mapping files and READMEs left out)."""
    if folder is None or not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and not p.name.endswith(".mapping.toml") and p.suffix not in (".md", ".py") and p.name[0] != "."
    )


def adapter_for_sample(name: str, sample: Path) -> Adapter:
    """The adapter ``name``, set up for ``sample``: a sample ``X.csv`` with a
    ``X.mapping.toml`` beside it is read with that mapping."""
    mapping = sample.with_name(sample.stem + ".mapping.toml")
    return load_adapter(name, {"mapping_file": str(mapping)} if mapping.exists() else None)


def _validate(records: Sequence[records_pb2.Record], what: str) -> None:
    from tamga.validation import validate_records

    problems = validate_records(records)
    assert not problems, f"{what}: records are not valid:\n  " + "\n  ".join(problems)


def _same(got: Sequence[records_pb2.Record], want: Sequence[records_pb2.Record], what: str) -> None:
    def wire(records: Sequence[records_pb2.Record]) -> list[bytes]:
        return [r.SerializeToString(deterministic=True) for r in records]

    if wire(got) != wire(want):
        expected, actual = canonical_json(want).decode(), canonical_json(got).decode()
        raise AssertionError(f"{what}: records differ\n--- expected\n{expected}\n--- got\n{actual}")


def check_sample(adapter: Adapter, path: Path) -> list[records_pb2.Record]:
    """The sample decodes into at least one record, and every record is valid."""
    records = adapter.decode(path.read_bytes(), source=path.name)
    assert records, f"{path.name}: decoded into no record"
    _validate(records, path.name)
    return records


def _unmapped(adapter: Adapter, path: str) -> bool:
    return any(fnmatch.fnmatchcase(path, pattern) for pattern in getattr(adapter, "unmapped_fields", ()))


def check_round_trip(adapter: Adapter, path: Path) -> None:
    """``decode(encode(records)) == records`` for what the sample decodes into,
    and ``encode(decode(sample))`` keeps every field the adapter maps."""
    data = path.read_bytes()
    records = adapter.decode(data, source=path.name)
    encoded = adapter.encode(records)
    again = adapter.decode(encoded, source=f"{path.name} (encoded again)")
    _same(again, records, f"{path.name}: decode(encode(decode(sample)))")
    fields = getattr(adapter, "fields", None)
    if fields is None:
        return
    wanted = Counter((p, v) for p, v in fields(data) if not _unmapped(adapter, p))
    got = Counter(fields(encoded))
    missing = wanted - got
    assert not missing, (
        f"{path.name}: encode(decode(sample)) lost fields the adapter maps (list them in unmapped_fields if the"
        f" adapter does not map them):\n  " + "\n  ".join(f"{p} = {v!r}" for p, v in sorted(missing))
    )


def _put_text(msg: object, text: str) -> int:
    """Put ``text`` into every non-empty free-text field of a message; count them."""
    from google.protobuf.descriptor import FieldDescriptor

    count = 0
    for field, value in msg.ListFields():  # type: ignore[attr-defined]
        repeated = field.is_repeated
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            items = value if repeated else [value]
            for item in items:
                count += _put_text(item, text)
        elif field.type == FieldDescriptor.TYPE_STRING and field.name in TEXT_FIELDS and not repeated:
            setattr(msg, field.name, text)
            count += 1
    return count


def check_scripts_survive(adapter: Adapter, path: Path) -> None:
    """Cyrillic, Chinese, Devanagari and Persian text in every free-text field
    the sample uses comes back unchanged from ``decode(encode(...))``."""
    records = without_derived(adapter.decode(path.read_bytes(), source=path.name))
    for script, text in SCRIPTS.items():
        changed = []
        put = 0
        for rec in records:
            copy = records_pb2.Record()
            copy.CopyFrom(rec)
            put += _put_text(getattr(copy, copy.WhichOneof("body") or "meta"), text)
            changed.append(copy)
        assert put, f"{path.name}: the sample has no free-text field to carry {script} text"
        again = without_derived(adapter.decode(adapter.encode(changed), source=f"{path.name} ({script})"))
        _same(again, changed, f"{path.name}: {script} text")


def check_random_bytes(adapter: Adapter, samples: Iterable[Path], *, examples: int = 150) -> None:
    """Arbitrary bytes, and samples truncated or with bytes changed, make the
    adapter return records or raise :class:`AdapterError` with a message, and
    nothing else."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    blobs = [p.read_bytes() for p in samples]

    def check(data: bytes) -> None:
        try:
            adapter.decode(data, source="fuzz")
        except AdapterError as exc:
            assert exc.message, "an AdapterError without a message"

    @st.composite
    def mutated(draw: st.DrawFn) -> bytes:
        base = draw(st.sampled_from(blobs)) if blobs else b""
        kind = draw(st.sampled_from(["truncate", "flip", "insert", "random"]))
        if kind == "random" or not base:
            return draw(st.binary(max_size=2048))
        at = draw(st.integers(min_value=0, max_value=len(base)))
        if kind == "truncate":
            return base[:at]
        if kind == "flip":
            at = min(at, len(base) - 1)
            return base[:at] + bytes([draw(st.integers(0, 255))]) + base[at + 1 :]
        return base[:at] + draw(st.binary(min_size=1, max_size=16)) + base[at:]

    run = settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))(
        given(mutated())(check)
    )
    run()
