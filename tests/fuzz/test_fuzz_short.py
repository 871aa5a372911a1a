"""``make fuzz``, short, inside ``make test``: every adapter's real decode, through the harness itself.

Each adapter gets the structured hostile inputs of its format (nested
200,000 levels deep, huge fields and counts scaled down, just under and just
over a size limit, binary garbage) and a few hundred hypothesis examples
(mutated samples and arbitrary bytes). Anything but a located refusal
(:class:`AdapterError` naming the adapter) is a crash, and none may occur.
The long runs, coverage-guided, are ``make fuzz``.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from tamga.adapters import available_adapters
from tamga.tools import fuzz

#: Built-in adapters (pyproject.toml's tamga.adapters entry points).
BUILT_IN = ("asycuda", "china", "csv", "eaeu", "edifact", "icegate", "json", "protobuf")
#: Size limit the huge inputs go just under and over here (make fuzz uses the node's and the adapters' own).
LIMIT = 256 * 1024
#: Huge fields and counts at this fraction of make fuzz's (4 MiB, a million).
SCALE = 1 / 32
EXAMPLES = 300


def _report(runner: fuzz.Runner) -> str:
    return "\n\n".join(f"{c.signature} ({len(c.data)} bytes):\n{c.trace}" for c in runner.crashes.values())


def test_every_built_in_adapter_is_a_fuzz_target() -> None:
    names = fuzz.target_names()
    assert set(BUILT_IN) <= set(available_adapters())
    for name in BUILT_IN:
        assert f"{name}.decode" in names and f"{name}.drop" in names
    assert {"envelope.open", "envelope.sealed"} <= set(names)


@pytest.mark.parametrize("name", BUILT_IN)
def test_decode_refuses_hostile_and_fuzzed_inputs_with_adapter_errors_only(name: str, tmp_path: Path) -> None:
    target = fuzz.build_target(f"{name}.decode", tmp_path)
    assert target.seeds, f"{name}: no samples to seed the fuzzer with"
    runner = fuzz.Runner(target)
    labels = []
    for label, data in fuzz.hostile_inputs(target.fmt, target.sample, (LIMIT,), scale=SCALE):
        labels.append(label)
        runner.run(data)
    assert any(label.startswith("huge-") for label in labels) and any(label.startswith("binary-") for label in labels)
    fuzz.run_hypothesis(runner, examples=EXAMPLES)
    assert runner.inputs >= len(labels) + EXAMPLES
    assert not runner.crashes, f"{name}.decode crashed:\n{_report(runner)}"


def test_a_crash_is_recorded_with_its_smallest_input_and_saved(tmp_path: Path) -> None:
    """The harness itself: an exception other than the refusal is a crash, kept small, saved with its traceback."""

    def check(data: bytes) -> None:
        if b"!" in data:
            raise KeyError("bang")

    # The seed itself crashes, so nearly every mutation of it does: finding the crash is not left to chance
    # (arbitrary bytes hold a "!" in 200 examples only sometimes); keeping it small is what is checked.
    runner = fuzz.Runner(fuzz.Target(name="demo.decode", fmt="json", seeds=[b"xx!yy" * 10], check=check), tmp_path)
    fuzz.run_hypothesis(runner, examples=200)
    [crash] = runner.crashes.values()
    assert crash.signature.startswith("KeyError@")
    assert crash.data == b"!"  # shrunk by hypothesis, then cut down by delta debugging
    saved = tmp_path / "demo.decode"
    assert [p.suffix for p in sorted(saved.iterdir())] == [".bin", ".txt"]
    assert (next(saved.glob("*.bin"))).read_bytes() == b"!"
    assert fuzz.minimise(runner.run, b"xx!yy" * 50, crash.signature, seconds=5) == b"!"


def test_the_command_fuzzes_each_target_in_its_own_process_and_prints_one_line_each(tmp_path: Path) -> None:
    crashes, corpus = tmp_path / "crashes", tmp_path / "corpus"
    argv = ["--engine", "hypothesis", "--seconds", "2", "--crashes", str(crashes), "--corpus", str(corpus)]
    proc = subprocess.run(
        [sys.executable, "-m", "tamga.tools.fuzz", *argv, "--target", "json.decode", "--target", "protobuf.decode"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.startswith("FUZZ ")]
    assert [line.split()[1] for line in lines] == ["target=json.decode", "target=protobuf.decode"]
    for line in lines:
        fields = dict(part.split("=", 1) for part in line.split()[1:])
        assert fields["engine"] == "hypothesis" and fields["crashes"] == "0"
        assert int(fields["inputs"]) > 20  # the structured inputs alone are more
        assert float(fields["seconds"]) >= 2


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="peak memory is read from Linux's /proc")
def test_a_hostile_input_that_takes_far_more_memory_than_its_size_is_a_crash() -> None:
    held: list[bytes] = []

    def check(data: bytes) -> None:
        if data == b"\0" * 4096:  # the structured input binary-nul-4k
            held.append(b"x" * (fuzz.memory_allowance(len(data)) + 64 * 2**20))

    runner = fuzz.Runner(fuzz.Target(name="demo.decode", fmt="json", seeds=[b"{}"], check=check))
    runner.run_hostile(time.monotonic() + 60, scale=SCALE)
    held.clear()
    assert list(runner.crashes) == ["MemoryBlowup@binary-nul-4k"]
