"""make bench runs and ends with its machine-readable line (its figures are not asserted: speed is
measured by the benchmark, not by tests)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow

BENCH_LINE = re.compile(r"BENCH e2e_rps=(\d+) grpc_rps=(\d+) sqlite_rps=(\d+) verify_rps=(\d+) ratio=(\d+\.\d{3})")


def test_quick_benchmark_prints_its_bench_line_last() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "tamga.tools.bench", "--quick"],
        capture_output=True,
        text=True,
        timeout=240,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    last = proc.stdout.strip().splitlines()[-1]
    m = BENCH_LINE.fullmatch(last)
    assert m, f"last line is not the BENCH line: {last!r}"
    e2e, grpc_rps, sqlite_rps, verify_rps = (int(x) for x in m.groups()[:4])
    ratio = float(m.group(5))
    assert min(e2e, grpc_rps, sqlite_rps, verify_rps) > 0
    assert ratio == pytest.approx(e2e / min(grpc_rps, sqlite_rps, verify_rps), abs=0.002)
