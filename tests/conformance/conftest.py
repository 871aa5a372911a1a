"""Shared by the conformance suite's own tests: running ``tamga`` as a separate process.

The self-tests run the suite the way a national team does, through the
command line in a process of its own, so exit codes, report files and the
isolation of a run from the calling pytest session are what is checked. The
deliberately broken adapters of ``mutant_adapters.py`` are importable in that
process (this folder is put on its ``PYTHONPATH``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent

#: How long one run of the suite may take before the test gives up on it.
RUN_TIMEOUT_S = 240


def run_tamga(args: Sequence[str], *, cwd: Path, timeout: float = RUN_TIMEOUT_S) -> subprocess.CompletedProcess[str]:
    """``tamga ARGS`` in a new process, with this folder importable (for ``mutant_adapters:Class``)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(HERE), env.get("PYTHONPATH", "")) if p)
    env.pop("PYTEST_ADDOPTS", None)
    return subprocess.run(
        [sys.executable, "-m", "tamga", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(name="tamga_cli", scope="session")
def _tamga_cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run ``tamga`` as a separate process: ``tamga_cli([...], cwd=path)``."""
    return run_tamga
