"""Helpers for the process tests: records, the ``tamga`` console script, bounded waits.

Everything here talks to 127.0.0.1 only, and every wait has a deadline.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from tamga.adapters.json_records import JsonAdapter
from tamga.tools.federation import NodeProcess
from tamga.v1 import records_pb2

FAST_DELIVERY = {"poll_interval": "50ms", "backoff_initial": "100ms", "backoff_max": "1s", "idle_close": "1s"}
FAST_CONFIG: Mapping[str, Mapping[str, Any]] = {"delivery": FAST_DELIVERY}

TAMGA = Path(sys.executable).parent / "tamga"
CLI_TIMEOUT = 60.0  # seconds: upper bound for one short-lived `tamga` command


# -- records ---------------------------------------------------------------------


def declaration(
    declaration_no: str,
    *,
    sender: str = "KZ",
    receivers: Iterable[str] = ("UZ",),
    exporter: str = "Kazakh Chemicals LLP",
    description: str = "Acyclic alcohols, halogenated",
    record_id: str | None = None,
) -> dict[str, Any]:
    """A declaration snapshot record in the canonical JSON mapping of tamga.v1.Record."""
    return {
        "meta": {
            "recordId": record_id or str(uuid.uuid4()),
            "senderCountry": sender,
            "receiverCountries": list(receivers),
            "senderAuthority": f"Customs service of {sender}",
            "createdAt": "2026-03-01T10:00:00Z",
            "sourceFormat": "EEC:R.036",
            "sourceRecordRef": declaration_no,
            "messageFunction": "MESSAGE_FUNCTION_ORIGINAL",
            "handling": "HANDLING_RESTRICTED",
        },
        "declarationSnapshot": {
            "declarationNo": declaration_no,
            "direction": "DIRECTION_EXPORT",
            "procedureCode": "10",
            "acceptanceDate": "2026-03-01",
            "exporter": {"name": exporter},
            "consignee": {"name": "Toshkent Sovutgich MChJ"},
            "dispatchCountry": sender,
            "destinationCountry": next(iter(receivers), "UZ"),
            "items": [{"seq": 1, "commodity": {"hs6": "290371", "description": description}}],
        },
    }


def records_file(records: Iterable[Mapping[str, Any]]) -> bytes:
    return json.dumps({"records": list(records)}, ensure_ascii=False).encode("utf-8")


def visible_files(folder: Path) -> list[Path]:
    """Completed files of a drop folder (the national system ignores dot-names)."""
    try:
        return sorted(Path(e.path) for e in os.scandir(folder) if not e.name.startswith(".") and e.is_file())
    except FileNotFoundError:
        return []


def count_visible(folder: Path) -> int:
    try:
        return sum(1 for e in os.scandir(folder) if not e.name.startswith("."))
    except FileNotFoundError:
        return 0


def decode_incoming(node: NodeProcess) -> list[tuple[Path, list[records_pb2.Record]]]:
    """Every file of the node's incoming folder, decoded with the JSON adapter."""
    adapter = JsonAdapter()
    return [(p, adapter.decode(p.read_bytes(), source=p.name)) for p in visible_files(node.incoming)]


# -- the console script ------------------------------------------------------------


def run_tamga(
    *args: str | Path,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = CLI_TIMEOUT,
    umask: int = -1,
) -> subprocess.CompletedProcess[str]:
    """Run ``tamga ARGS`` to completion (bounded) and capture its output as text."""
    full_env = {k: v for k, v in os.environ.items() if k != "TAMGA_HOME"}
    full_env.update(env or {})
    return subprocess.run(
        [str(TAMGA), *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=full_env,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
        check=False,
        umask=umask,
    )


def describe(result: subprocess.CompletedProcess[str]) -> str:
    command = " ".join(map(str, result.args))
    return f"$ {command}\nexit {result.returncode}\n--- stdout\n{result.stdout}--- stderr\n{result.stderr}"


def assert_one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> str:
    """The command failed with exactly one line on stderr, 'tamga: error: ...', no traceback.

    Returns the line.
    """
    info = describe(result)
    assert result.returncode != 0, info
    assert "Traceback" not in result.stderr + result.stdout, info
    lines = result.stderr.splitlines()
    assert len(lines) == 1, f"expected exactly one line on stderr\n{info}"
    line = lines[0]
    assert line.startswith("tamga: error:"), info
    for needle in needles:
        assert needle in line, f"{needle!r} not in the error line\n{info}"
    return line


def start_tamga_run(home: Path, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    """Start ``tamga run --home HOME`` with stdout and stderr into ``log``."""
    with open(log, "ab") as out:
        return subprocess.Popen(
            [str(TAMGA), "run", "--home", str(home), *extra],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env={k: v for k, v in os.environ.items() if k != "TAMGA_HOME"},
        )


def end_process(proc: subprocess.Popen[bytes], timeout: float = 15.0) -> int:
    """SIGTERM, then SIGKILL if the process has not ended within ``timeout``."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)
    return proc.returncode
