"""Inputs the fuzzer (``make fuzz``) found crashing an adapter's decode, kept as regression tests.

Each was minimised from what the fuzzer saved; each must now be refused with
an :class:`AdapterError` that names the adapter and says where, like any
other bad file, instead of an exception the node does not expect.
"""

from __future__ import annotations

import subprocess
import sys

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


# -- memory: files under the size limits that took gigabytes ------------------------------------------------------
#
# Each runs in a child process whose address space is capped (RLIMIT_AS): before the fix the decode died there
# with MemoryError (in the node: the national file never refused, or the node killed for want of memory).

MEMORY_CAP = 512 * 1024 * 1024

_CAPPED = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, ({cap}, {cap}))
from tamga.adapters import load_adapter
from tamga.errors import AdapterError
adapter = load_adapter({name!r})
sample = open({sample!r}, "rb").read()
data = {build}
try:
    records = adapter.decode(data, source="big")
except AdapterError as exc:
    print("refused", exc.location)
else:
    print("decoded", len(records))
"""


def _decode_capped(name: str, build: str) -> str:
    from tamga.tools import fuzz

    sample = next(p for p, _ in fuzz.seed_inputs(name) if p is not None)
    code = _CAPPED.format(cap=MEMORY_CAP, name=name, sample=str(sample), build=build)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout.strip()


def test_icegate_file_with_millions_of_blank_lines_is_read_in_bounded_memory() -> None:
    # Was: a list of (number, line) for every line, blank ones too: ~115 MB of memory per MiB of blank lines.
    out = _decode_capped("icegate", 'sample + b"\\r\\n" * (12 * 1024 * 1024)')
    assert out == "decoded 1"


#: What opens an EDIFACT interchange: the service string advice, UNB and UNH.
EDIFACT_HEAD = b"UNA:+.? 'UNB+UNOC:3+A:ZZZ+B:ZZZ+260302:1420+R1'UNH+1+CUSDEC:D:96B:UN'"
SEGMENT = b"FTX+AAA'"
TERMINATOR = b"'"


def test_edifact_interchange_of_millions_of_segments_is_refused_with_its_place() -> None:
    # Was: every segment split into lists first, ~660 bytes each: 20 MiB of "FTX+AAA'" took 1.7 GB.
    out = _decode_capped("edifact", f"{EDIFACT_HEAD!r} + {SEGMENT!r} * 2_600_000")
    assert out.startswith("refused") and "'segment': 500002" in out and "'tag': 'FTX'" in out


def test_edifact_segment_of_millions_of_data_elements_is_refused_with_its_place() -> None:
    # Was: 20 MiB of data element separators in one segment became 20 million lists (~3.5 GB).
    out = _decode_capped("edifact", f"{EDIFACT_HEAD!r} + b'BGM' + b'+' * (20 * 1024 * 1024) + {TERMINATOR!r}")
    assert out.startswith("refused") and "'segment': 4" in out and "'tag': 'BGM'" in out


@pytest.mark.parametrize("adapter", ["eaeu", "asycuda", "china"])
@pytest.mark.parametrize("encoding", ["UU", "zlib", "base64", "rot13", "hex"])
def test_an_xml_declaration_naming_a_codec_that_is_not_a_text_encoding_is_refused(adapter: str, encoding: str) -> None:
    # Found by make fuzz (eaeu.decode): Python knows these names, but they turn bytes into bytes, and
    # bytes.decode raised a bare LookupError instead of the adapter's error.
    data = f'<?xml version="1.0" encoding="{encoding}"?>\n<a/>\n'.encode("ascii")
    with pytest.raises(AdapterError) as err:
        load_adapter(adapter).decode(data, source="declared.xml")
    assert "unknown text encoding" in str(err.value), err.value
