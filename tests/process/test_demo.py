"""make demo: five node processes, five national formats, every record across with a verified receipt."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_demo_moves_records_between_national_formats(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "tamga.tools.demo", "--dir", str(tmp_path / "fed"), "--timeout", "90"],
        capture_output=True,
        text=True,
        timeout=240,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "OK: 6 deliveries between 5 node processes" in out, out
    # Each receiver wrote the record in its own format: CN a DecMessage (.xml), TJ an ICES-read
    # declaration as ASYCUDA XML, KZ the PK and CN declarations as R.036, the ODS shipment as JSON.
    incoming = {p.parent.parent.name: p.name for p in (tmp_path / "fed").glob("*/incoming/*")}
    assert set(incoming) == {"cn", "kz", "tj"}, incoming
    names = sorted(p.name for p in (tmp_path / "fed" / "cn" / "incoming").iterdir() if not p.name.startswith("."))
    assert [Path(n).suffix for n in names].count(".json") == 1, names
    assert "verified" in out and " NO" not in out
