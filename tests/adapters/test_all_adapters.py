"""What every built-in national adapter must do, checked on every sample it ships.

- every sample decodes, and every record it gives passes validation;
- ``decode(encode(records)) == records``, and ``encode(decode(sample))``
  keeps every field the adapter maps (``unmapped_fields`` lists the rest);
- Cyrillic, Chinese, Devanagari and Persian text survives the round trip;
- arbitrary bytes and damaged samples raise only ``AdapterError``;
- a truncated sample, a mislabelled encoding and, for XML, a DTD, an
  external entity or an entity bomb each give an error that says where.

The checks are those of :mod:`tamga.adapters.sdk.testing`, which the tests
``tamga adapter new`` generates for a national team's own adapter also call.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tamga.adapters import load_adapter
from tamga.adapters.sdk import BaseAdapter, testing
from tamga.errors import AdapterError

NATIONAL = ("eaeu", "asycuda", "icegate", "edifact", "china", "csv")
XML = ("eaeu", "asycuda", "china")


def _samples(name: str) -> list[Path]:
    try:
        adapter = load_adapter(name)
    except AdapterError:
        return []
    return testing.sample_files(getattr(adapter, "samples", None))


CASES = [pytest.param(name, path, id=f"{name}-{path.name}") for name in NATIONAL for path in _samples(name)]


@pytest.mark.parametrize("name", NATIONAL)
def test_adapter_loads_and_ships_samples(name: str) -> None:
    adapter = load_adapter(name)
    assert isinstance(adapter, BaseAdapter)
    assert adapter.name == name
    assert adapter.file_suffix.startswith(".")
    assert adapter.source_format
    assert adapter.record_types
    assert len(_samples(name)) >= 2, f"{name} ships fewer than two samples"


@pytest.mark.parametrize(("name", "path"), CASES)
def test_sample_decodes_into_valid_records(name: str, path: Path) -> None:
    records = testing.check_sample(testing.adapter_for_sample(name, path), path)
    for rec in records:
        assert rec.meta.record_id
        assert rec.meta.source_record_ref


@pytest.mark.parametrize(("name", "path"), CASES)
def test_sample_round_trips(name: str, path: Path) -> None:
    testing.check_round_trip(testing.adapter_for_sample(name, path), path)


@pytest.mark.parametrize(("name", "path"), CASES)
def test_four_scripts_survive_the_round_trip(name: str, path: Path) -> None:
    testing.check_scripts_survive(testing.adapter_for_sample(name, path), path)


@pytest.mark.parametrize("name", NATIONAL)
def test_arbitrary_and_damaged_bytes_raise_only_adapter_errors(name: str) -> None:
    samples = _samples(name)
    testing.check_random_bytes(testing.adapter_for_sample(name, samples[0]), samples, examples=200)


def _located(exc: AdapterError) -> None:
    assert exc.adapter, f"error names no adapter: {exc}"
    assert {"line", "xpath", "segment", "byte", "row"} & exc.location.keys(), f"error says not where: {exc}"


TRUNCATABLE = [c for c in CASES if c.values[0] != "csv"]


@pytest.mark.parametrize(("name", "path"), TRUNCATABLE)
def test_a_truncated_file_gives_a_located_error(name: str, path: Path) -> None:
    data = path.read_bytes()
    adapter = testing.adapter_for_sample(name, path)
    for cut in (len(data) // 3, len(data) * 2 // 3, len(data) - 12):
        with pytest.raises(AdapterError) as info:
            adapter.decode(data[:cut], source=path.name)
        _located(info.value)


def _mislabelled(name: str, path: Path) -> tuple[bytes, str] | None:
    """The sample saved in a legacy encoding while it still claims UTF-8, or None
    when the sample is plain ASCII (or its format declares a one-byte charset)."""
    data = path.read_bytes()
    if name == "edifact" and b"UNOW" not in data[:200]:
        return None
    text = data.decode("utf-8")
    for legacy in ("cp1251", "gb18030"):
        try:
            bad = text.encode(legacy)
        except UnicodeEncodeError:
            continue
        if bad != data:
            return bad, legacy
    return None


MISLABELLED = [c for c in CASES if _mislabelled(*c.values) is not None]


@pytest.mark.parametrize(("name", "path"), MISLABELLED)
def test_a_file_in_another_encoding_than_it_declares_gives_a_located_error(name: str, path: Path) -> None:
    found = _mislabelled(name, path)
    assert found is not None
    bad, _legacy = found
    with pytest.raises(AdapterError) as info:
        testing.adapter_for_sample(name, path).decode(bad, source=path.name)
    _located(info.value)
    assert "line" in info.value.location
    assert "not valid utf-8" in info.value.message


HOSTILE_PROLOGS = {
    "dtd": b"<!DOCTYPE r [<!ELEMENT r ANY>]>\n",
    "external-entity": b'<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n',
    "entity-bomb": b'<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>\n',
}


@pytest.mark.parametrize("name", XML)
@pytest.mark.parametrize("kind", sorted(HOSTILE_PROLOGS))
def test_xml_with_a_dtd_is_refused_before_anything_is_read(name: str, kind: str) -> None:
    path = _samples(name)[0]
    data = path.read_bytes()
    start = data.index(b"<", data.index(b"?>") + 2) if data.startswith(b"<?xml") else 0
    hostile = data[:start] + HOSTILE_PROLOGS[kind] + data[start:]
    if kind != "dtd":
        # Use the entity, so that a parser resolving it would put it into a record.
        ref = b"&xxe;" if kind == "external-entity" else b"&d;"
        hostile = hostile.replace(b"</", ref + b"</", 1)
    with pytest.raises(AdapterError) as info:
        load_adapter(name).decode(hostile, source=path.name)
    assert "document type declarations" in info.value.message
    assert info.value.location["line"] == data[:start].count(b"\n") + 1


@pytest.mark.parametrize("name", NATIONAL)
def test_a_file_over_the_size_limit_is_refused_before_parsing(name: str) -> None:
    path = _samples(name)[0]
    adapter = testing.adapter_for_sample(name, path)
    data = path.read_bytes()
    adapter.max_input_bytes = len(data) - 1  # type: ignore[misc]
    with pytest.raises(AdapterError) as info:
        adapter.decode(data, source=path.name)
    assert f"more than this adapter's limit of {len(data) - 1} bytes" in info.value.message
    assert info.value.location == {"file": path.name}
    adapter.max_input_bytes = len(data)  # type: ignore[misc]
    assert adapter.decode(data, source=path.name)
