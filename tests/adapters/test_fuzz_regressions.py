"""Inputs the fuzzer (``make fuzz``) found crashing an adapter's decode, kept as regression tests.

Each was minimised from what the fuzzer saved; each must now be refused with
an :class:`AdapterError` that names the adapter and says where, like any
other bad file, instead of an exception the node does not expect.
"""

from __future__ import annotations

import pytest
from tamga.adapters import load_adapter
from tamga.errors import AdapterError

DEEP = 200_000


def _refused(name: str, data: bytes) -> AdapterError:
    with pytest.raises(AdapterError) as info:
        load_adapter(name).decode(data, source="fuzz.json")
    assert info.value.adapter == name
    return info.value


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"[" * DEEP + b"]" * DEEP, id="arrays-200000-deep"),
        pytest.param(b'{"a":' * DEEP + b"1" + b"}" * DEEP, id="objects-200000-deep"),
        pytest.param(b'{"records":[{"meta":' + b'{"a":' * DEEP + b"{}" + b"}" * DEEP + b"}]}", id="inside-a-record"),
        pytest.param(b"[" * DEEP, id="unclosed-200000-deep"),
        pytest.param(b"[" * 1000 + b"]" * 1000, id="arrays-1000-deep"),
    ],
)
def test_json_nested_deeper_than_the_reader_follows_is_refused_with_its_place(data: bytes) -> None:
    # Was: RecursionError out of json.loads, which stopped the drop folder for good.
    exc = _refused("json", data)
    assert "nested too deeply" in exc.message
    assert exc.location["line"] == 1
    assert 1 <= int(exc.location["column"]) <= len(data)


def test_json_nesting_error_points_at_the_line_where_it_gets_too_deep() -> None:
    data = b'{\n  "records": [\n    "[[[ inside a string is no nesting",\n' + b"[" * 5000 + b"]" * 5000 + b"\n  ]\n}\n"
    exc = _refused("json", data)
    assert exc.location["line"] == 4


def test_json_integer_longer_than_python_converts_is_refused_with_its_place() -> None:
    # Was: ValueError ("Exceeds the limit (4300 digits) for integer string conversion") out of json.loads.
    data = b'{"records": [\n  {"meta": {"createdAt": ' + b"9" * 100_000 + b"}}\n]}"
    exc = _refused("json", data)
    assert "100000 digits" in exc.message
    assert exc.location == {"line": 2, "column": 26}  # where the digits start
