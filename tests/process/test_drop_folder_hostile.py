"""Attacks on the outgoing folder of a running node (real node processes KZ -> UZ, JSON adapter).

- A JSON file nested 200,000 levels deep goes to failed/ with a report
  naming RecursionError, and the file after it is delivered; ``tamga send``
  of it fails in one line, exit 1, no traceback.
- A FIFO and a symbolic link to a records file outside the folder: neither
  is opened through, each is reported once in the log, the node keeps
  serving and stops on SIGTERM.
- The swap race: for 3 seconds a candidate name is replaced again and again
  by a FIFO and by a link to a secret records file outside the folder. The
  node stays responsive, stops on SIGTERM, and the secret is never queued
  or delivered.

The folder logic case by case, in-process: tests/integration/test_drop_folder_hostile.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from tamga.tools.federation import LocalFederation, NodeProcess, wait_for

from .helpers import FAST_CONFIG, assert_one_line_error, declaration, describe, records_file, run_tamga, visible_files

pytestmark = pytest.mark.slow

WAIT = 30.0  # seconds: the longest a dropped file may take to reach UZ
STOP_BOUND = 15.0  # seconds: the longest a node may take to stop on SIGTERM
RACE_SECONDS = 3.0
DEEP = b'{"records": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"


def log_events(node: NodeProcess, name: str) -> list[dict[str, Any]]:
    found = []
    for line in node.log_path.read_text("utf-8", "replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("event") == name:
            found.append(entry)
    return found


def delivered(uz: NodeProcess, marker: str) -> bool:
    return any(marker.encode() in p.read_bytes() for p in visible_files(uz.incoming))


def drop_and_expect_delivery(sender: NodeProcess, receiver: NodeProcess, name: str) -> None:
    marker = f"{sender.node_id}/GOOD/{uuid.uuid4().hex[:12]}"
    record = declaration(marker, sender=sender.country, receivers=(receiver.country,))
    sender.drop(name, records_file([record]))
    wait_for(lambda: delivered(receiver, marker), WAIT, what=f"{name} delivered to {receiver.node_id}")


def assert_serving(kz: NodeProcess, uz: NodeProcess) -> None:
    """KZ still works: 'tamga status' answers, and KZ's peer port takes a record from UZ."""
    result = run_tamga("status", "--json", "--home", kz.home, timeout=30)
    assert result.returncode == 0, describe(result)
    assert json.loads(result.stdout)["running"] is True, describe(result)
    drop_and_expect_delivery(uz, kz, f"to-kz-{uuid.uuid4().hex[:8]}.json")


def assert_stops_on_sigterm(kz: NodeProcess) -> None:
    assert kz.proc is not None and kz.proc.poll() is None, "the node is not running"
    kz.proc.send_signal(signal.SIGTERM)
    try:
        kz.proc.wait(STOP_BOUND)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the node did not stop within {STOP_BOUND:.0f}s of SIGTERM")
    kz.proc = None


def test_a_deeply_nested_file_is_failed_and_the_next_is_delivered(tmp_path: Path) -> None:
    with LocalFederation(tmp_path, [("KZ", "KZ"), ("UZ", "UZ")], config=FAST_CONFIG) as fed:
        kz, uz = fed["KZ"], fed["UZ"]
        fed.start()
        kz.drop("a-deep.json", DEEP)
        drop_and_expect_delivery(kz, uz, "b-good.json")
        report = kz.home / "failed" / "a-deep.json.error.json"
        assert report.is_file(), sorted(p.name for p in (kz.home / "failed").iterdir())
        error = json.loads(report.read_text("utf-8"))["error"]
        # RecursionError from Python's json module today; an AdapterError if the adapter learns to refuse it.
        assert error["adapter"] == "json" and error["kind"] in ("unexpected", "adapter"), error
        if error["kind"] == "unexpected":
            assert error["exception"] == "RecursionError", error
        assert not log_events(kz, "drop_folder_failed")
        assert [e["source"] for e in log_events(kz, "file_failed")] == ["a-deep.json"]


def test_tamga_send_of_a_deeply_nested_file_fails_in_one_line_with_exit_1(tmp_path: Path) -> None:
    source = tmp_path / "deep.json"
    source.write_bytes(DEEP)
    with LocalFederation(tmp_path, [("KZ", "KZ"), ("UZ", "UZ")], config=FAST_CONFIG) as fed:
        kz = fed["KZ"]
        result = run_tamga("send", source, "--home", kz.home)
        assert result.returncode == 1, describe(result)
        assert_one_line_error(result, "deep.json", "json adapter")
        assert kz.query("SELECT COUNT(*) FROM outbox") == [(0,)]


def test_a_fifo_and_a_link_outside_are_not_opened_through_and_the_node_serves_and_stops(tmp_path: Path) -> None:
    secret_marker = f"SECRET-{uuid.uuid4().hex}"
    secret = tmp_path / "secret.json"
    secret.write_bytes(records_file([declaration(secret_marker)]))
    with LocalFederation(tmp_path, [("KZ", "KZ"), ("UZ", "UZ")], config=FAST_CONFIG) as fed:
        kz, uz = fed["KZ"], fed["UZ"]
        fed.start()
        os.mkfifo(kz.outgoing / "pipe.json")
        (kz.outgoing / "link.json").symlink_to(secret)
        drop_and_expect_delivery(kz, uz, "after.json")
        time.sleep(0.5)  # ten more polls of the folder: still one line each
        skipped = sorted((e["source"], e["entry"]) for e in log_events(kz, "drop_folder_skipped"))
        assert skipped == [("link.json", "symbolic link"), ("pipe.json", "FIFO")]
        assert (kz.home / "failed" / "link.json").is_symlink() and (kz.home / "failed" / "pipe.json").is_fifo()
        assert (kz.home / "failed" / "link.json.error.json").is_file()
        assert not delivered(uz, secret_marker)
        digests = {bytes(d) for (d,) in kz.query("SELECT sha256 FROM intake")}
        assert hashlib.sha256(secret.read_bytes()).digest() not in digests
        assert_serving(kz, uz)
        assert_stops_on_sigterm(kz)


def _swap_into_place(folder: Path, make: Any, name: str) -> None:
    tmp = folder / f".swap-{uuid.uuid4().hex}.tmp"
    make(tmp)
    os.replace(tmp, folder / name)


def test_swapping_a_candidate_for_a_fifo_or_a_link_outside_never_hangs_the_node_or_reads_the_secret(
    tmp_path: Path,
) -> None:
    secret_marker = f"SECRET-{uuid.uuid4().hex}"
    secret = tmp_path / "secret.json"
    secret.write_bytes(records_file([declaration(secret_marker)]))
    regular = records_file([declaration("KZ/RACE/regular")])
    rng = random.Random(11)
    with LocalFederation(tmp_path, [("KZ", "KZ"), ("UZ", "UZ")], config=FAST_CONFIG) as fed:
        kz, uz = fed["KZ"], fed["UZ"]
        fed.start()
        out = kz.outgoing
        makers = [
            lambda p: p.write_bytes(regular),
            os.mkfifo,
            lambda p: p.write_bytes(regular),
            lambda p: p.symlink_to(secret),
        ]
        swaps = 0
        deadline = time.monotonic() + RACE_SECONDS
        while time.monotonic() < deadline:
            _swap_into_place(out, makers[swaps % len(makers)], "race.json")
            swaps += 1
            time.sleep(rng.uniform(0, 0.002))
        (out / "race.json").unlink(missing_ok=True)
        assert swaps > 200
        drop_and_expect_delivery(kz, uz, "after-the-race.json")
        assert_serving(kz, uz)
        assert not delivered(uz, secret_marker), "the secret behind a link was sent"
        digests = {bytes(d) for (d,) in kz.query("SELECT sha256 FROM intake")}
        assert hashlib.sha256(secret.read_bytes()).digest() not in digests, "the secret behind a link was queued"
        for folder in ("processed", "failed"):
            for p in (kz.home / folder).iterdir():
                if p.is_file() and not p.is_symlink():
                    assert secret_marker.encode() not in p.read_bytes(), f"{folder}/{p.name} holds the secret"
        assert not log_events(kz, "drop_folder_failed")
        assert_stops_on_sigterm(kz)
