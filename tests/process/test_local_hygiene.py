"""Who may change what the node trusts: the node folder, tamga.toml, the keys folder, the peers.

Rules under test (node/config.py check_permissions, node/app.py, node/doctor.py,
node/home.py): a configuration file, keys folder, peers folder or node folder
that group or others may write is refused by ``tamga run`` with one line naming
the path, its mode and the fix (``chmod go-w``), and reported as PROBLEM by
``tamga doctor``; whatever the umask, a fresh ``tamga init`` (and ``tamga peer
add``) leaves a node that passes the check and starts.
"""

from __future__ import annotations

import functools
import os
import stat
from pathlib import Path

import pytest
from tamga.tools.federation import NodeProcess, free_port

from .helpers import assert_one_line_error, describe, run_tamga

pytestmark = pytest.mark.slow

WAIT = 30.0  # seconds: upper bound for a node process to refuse or to start


def _init(home: Path, node_id: str, port: int, umask: int = -1) -> None:
    result = run_tamga(
        "init", home, "--id", node_id, "--country", node_id, "--listen", f"127.0.0.1:{port}", umask=umask
    )
    assert result.returncode == 0, describe(result)


@pytest.mark.parametrize(
    ("target", "mode"),
    [
        ("tamga.toml", 0o666),
        ("tamga.toml", 0o664),
        ("keys", 0o770),
        ("peers", 0o777),
        (".", 0o775),
    ],
    ids=["config-world-writable", "config-group-writable", "keys-folder", "peers-folder", "node-folder"],
)
def test_run_refuses_and_doctor_reports_what_others_may_write(tmp_path: Path, target: str, mode: int) -> None:
    home = tmp_path / "kz"
    _init(home, "KZ", 0)
    path = (home / target).resolve()
    os.chmod(path, mode)
    run = run_tamga("run", "--home", home, timeout=WAIT)
    line = assert_one_line_error(run, str(path), f"mode {mode:04o}", f"chmod go-w {path}", "refusing to start")
    assert not (home / "run" / "pid").exists(), f"the node started anyway: {line}"

    doctor = run_tamga("doctor", "--home", home)
    assert doctor.returncode == 1, describe(doctor)
    problem = [x for x in doctor.stdout.splitlines() if x.startswith("PROBLEM  permissions:")]
    assert len(problem) == 1 and str(path) in problem[0] and f"{mode:04o}" in problem[0], describe(doctor)
    assert f"chmod go-w {path}" in problem[0]

    os.chmod(path, mode & ~0o022)  # the fix the line gives
    again = run_tamga("doctor", "--home", home)
    assert any(x.startswith("OK       permissions:") for x in again.stdout.splitlines()), describe(again)


def test_several_paths_are_named_in_the_one_line(tmp_path: Path) -> None:
    home = tmp_path / "kz"
    _init(home, "KZ", 0)
    os.chmod(home / "tamga.toml", 0o666)
    os.chmod(home / "keys", 0o777)
    run = run_tamga("run", "--home", home, timeout=WAIT)
    assert_one_line_error(run, f"{home / 'tamga.toml'} (mode 0666)", f"{home / 'keys'} (mode 0777)", "chmod go-w")


@functools.cache
def _sign_flags() -> tuple[str, ...]:
    """'federation sign' may ask y/N on a terminal; scripts confirm with --yes where the command has it."""
    return ("--yes",) if "--yes" in run_tamga("federation", "sign", "--help").stdout else ()


@pytest.mark.parametrize("umask", [0o000, 0o002], ids=lambda m: f"umask-{m:03o}")
def test_a_fresh_node_made_under_a_loose_umask_passes_and_starts(tmp_path: Path, umask: int) -> None:
    home, other = tmp_path / "kz", tmp_path / "uz"
    port = free_port()
    _init(home, "KZ", port, umask=umask)
    _init(other, "UZ", 0, umask=umask)
    identity = tmp_path / "uz.identity.json"
    exported = run_tamga("identity", "export", "--home", other, "--endpoint", "127.0.0.1:1", "-o", identity)
    assert exported.returncode == 0, describe(exported)
    added = run_tamga("peer", "add", identity, "--home", home, umask=umask)
    assert added.returncode == 0, describe(added)
    # A federation of one, founded and applied under the same umask: its folders too are the owner's only.
    genesis = tmp_path / "genesis.json"
    for args in (
        ("federation", "init", "--federation", "solo", "--founder-self", "--threshold", "1", "--out", genesis),
        ("federation", "sign", genesis, *_sign_flags()),
        ("federation", "apply", genesis),
    ):
        done = run_tamga(*args, "--home", home, umask=umask)
        assert done.returncode == 0, describe(done)
    trusted = ("tamga.toml", "keys", "peers", "peers/UZ.identity.json", "federation", "federation/manifests")
    for path in (home, *(home / p for p in trusted)):
        assert not stat.S_IMODE(path.stat().st_mode) & 0o022, f"{path} is writable by group or others"
    doctor = run_tamga("doctor", "--home", home)
    assert any(x.startswith("OK       permissions:") for x in doctor.stdout.splitlines()), describe(doctor)
    node = NodeProcess("KZ", "KZ", home, port)
    try:
        node.start(wait=WAIT)
    finally:
        node.stop()
