"""``make fuzz``, short, inside ``make test``: every adapter's real decode, through the harness itself.

Each adapter gets the structured hostile inputs of its format (nested
200,000 levels deep, huge fields and counts scaled down, just under and just
over a size limit, binary garbage) and a few hundred hypothesis examples
(mutated samples and arbitrary bytes). Anything but a located refusal
(:class:`AdapterError` naming the adapter) is a crash, and none may occur.
The long runs, coverage-guided, are ``make fuzz``.
"""

from __future__ import annotations

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

    runner = fuzz.Runner(fuzz.Target(name="demo.decode", fmt="json", seeds=[b"abc"], check=check), tmp_path)
    fuzz.run_hypothesis(runner, examples=200)
    [crash] = runner.crashes.values()
    assert crash.signature.startswith("KeyError@")
    assert crash.data == b"!"  # shrunk by hypothesis
    saved = tmp_path / "demo.decode"
    assert [p.suffix for p in sorted(saved.iterdir())] == [".bin", ".txt"]
    assert (next(saved.glob("*.bin"))).read_bytes() == b"!"
    assert fuzz.minimise(runner.run, b"xx!yy" * 50, crash.signature, seconds=5) == b"!"
