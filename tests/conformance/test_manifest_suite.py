"""Self-test of node mode against a target in a test federation with the suite's test identity.

The target (a real node process) and the suite's ``TEST-UZ`` identity found a
two-member federation exactly as README's "Checking a live node" tells a
national team: ``tamga federation init --founder-self`` on the target with the
test identity's file as the other founder, threshold 1, the suite allowed to
send only the sample record types; each signs, each applies. Then:

- every node case (the pinned-mode ones too) passes through ``tamga
  conformance node``, the manifest cases included, and the suite's copy of the
  chain is the target's (the versions it signed during the run reached it);
- a node that ignores key revocations fails ENV-010 and only it; one that
  ignores agreements fails ENV-013 and only it; one that adopts a version
  changing its own keys without its signature fails FED-001 and only it.

One reference process serves the module; the mutant runs once in its own.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from mutant_nodes import start, stop
from tamga.config import load_config
from tamga.conformance import cases_for
from tamga.federation import FederationState
from tamga.home import export_identity, init_home, load_local_identity
from tamga.tools.federation import free_port, patch_config
from test_node_suite import FAST_DELIVERY, Target, assert_usage_error, describe, statuses, tamga

pytestmark = pytest.mark.slow

MANIFEST_LAUNCHER = Path(__file__).resolve().with_name("manifest_mutants.py")
SUITE_TYPES = "declaration_snapshot,contact_point_message"
MANIFEST_CASES = {"ENV-009", "ENV-010", "ENV-013", "FED-001", "HLT-004"}


def make_federated_target(root: Path, mutant: str) -> Target:
    """A target node folder and a suite identity founding a test federation with the README's commands."""
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    home = root / "kz"
    init_home(home, node_id="KZ", country="KZ", authority="Customs of KZ (test)", listen=f"127.0.0.1:{port}")
    patch_config(home, "delivery", FAST_DELIVERY)
    patch_config(home, "server", {"grace": "1s"})
    peer_home = root / "suite"
    made = tamga(
        "conformance", "peer-init", peer_home, "--node-id", "TEST-UZ", "--country", "UZ",
        "--listen", f"127.0.0.1:{free_port()}",
    )  # fmt: skip
    assert made.returncode == 0, describe(made)
    genesis = root / "test-federation.proposal"
    steps = [
        (
            "federation", "init", "--federation", "kz-conformance-test", "--founder-self",
            "--founder", peer_home / "TEST-UZ.identity.json", "--threshold", "1", "--force-threshold",
            "--allow", "KZ:TEST-UZ:*", "--allow", f"TEST-UZ:KZ:{SUITE_TYPES}",
            "--summary", "KZ's test node and the conformance suite", "--out", genesis, "--home", home,
        ),
        ("federation", "sign", genesis, "--yes", "--home", home),
        ("federation", "sign", genesis, "--yes", "--home", peer_home),
        ("federation", "apply", genesis, "--home", home),
        ("federation", "apply", genesis, "--home", peer_home),
    ]  # fmt: skip
    for step in steps:
        proc = tamga(*step)
        assert proc.returncode == 0, describe(proc)
    identity = root / "kz.identity.json"
    identity.write_text(export_identity(load_local_identity(load_config(home)), [f"127.0.0.1:{port}"]), "utf-8")
    return Target(root, mutant, home, identity, peer_home, f"127.0.0.1:{port}")


@pytest.fixture(scope="module")
def federated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """One reference node in a test federation with the suite's identity."""
    target = make_federated_target(tmp_path_factory.mktemp("federated"), "reference")
    target.proc = start("reference", target.home, target.root / "node.log")
    try:
        yield target
    finally:
        stop(target.home)
        target.proc.wait(30)


def test_the_reference_node_in_a_test_federation_passes_every_case(federated: Target) -> None:
    before = FederationState.load(federated.peer_home / "federation").version
    proc, report = federated.run_suite()
    assert proc.returncode == 0, describe(proc)
    import tamga.conformance.cases.node_cases  # noqa: F401 - registers the node-mode cases

    planned = [c.id for c in cases_for("node")]
    assert MANIFEST_CASES <= set(planned)
    assert report["plan"] == planned and not report["development"]
    got = statuses(report)
    features = report["capabilities"]["statement"]["features"]
    assert features["manifest"] is True
    # Every case passes but those needing a feature this node lacks (an XML national format, say).
    expected = {
        c.id: "PASS" if all(features.get(n.removeprefix("feature:"), True) for n in c.needs) else "NOT-APPLICABLE"
        for c in cases_for("node")
    }
    assert all(expected[c] == "PASS" for c in MANIFEST_CASES)
    assert got == expected, {k: v for k, v in got.items() if v != expected[k]}
    # The suite signed versions of its own (a spare key, its revocation); the target adopted every one.
    suite_chain = FederationState.load(federated.peer_home / "federation")
    target_chain = FederationState.load(federated.home / "federation")
    assert suite_chain.version > before
    deadline = time.monotonic() + 10
    while target_chain.version < suite_chain.version and time.monotonic() < deadline:
        time.sleep(0.1)
        target_chain = FederationState.load(federated.home / "federation")
    assert [v.hash for v in target_chain.chain] == [v.hash for v in suite_chain.chain]
    revoked = {kid for (nid, kid) in target_chain.revoked() if nid == "TEST-UZ"}
    assert revoked and load_local_identity(load_config(federated.peer_home)).signing_key.key_id not in revoked
    # No private key of the test identity in any report.
    secrets = [
        line.split("=", 1)[1].strip().strip('"')
        for key_file in (federated.peer_home / "keys").glob("*.key")
        for line in key_file.read_text("utf-8").splitlines()
        if line.startswith("private_key")
    ]
    assert secrets
    for report_file in (federated.root / "report").iterdir():
        text = report_file.read_text("utf-8")
        assert all(secret not in text for secret in secrets), report_file.name


def test_a_second_run_passes_the_manifest_cases_again(federated: Target) -> None:
    """The chain grows with each run; nothing a run leaves behind stops the next one."""
    args = [a for c in sorted(MANIFEST_CASES) for a in ("--case", c)]
    proc, report = federated.run_suite(*args, report="again")
    assert proc.returncode == 0, describe(proc)
    got = statuses(report)
    assert {k: got[k] for k in MANIFEST_CASES} == dict.fromkeys(MANIFEST_CASES, "PASS"), got


#: mutant of manifest_mutants.py -> (the case it must fail, what its failure names)
MUTANT_CASES = {
    "ignores-revocations": ("ENV-010", "KEY_NOT_VALID"),
    "ignores-agreements": ("ENV-013", "NO_AGREEMENT"),
    "adopts-unconsented": ("FED-001", "without its signature"),
}


@pytest.mark.parametrize("mutant", list(MUTANT_CASES))
def test_a_mutant_fails_exactly_its_manifest_case(mutant: str, tmp_path: Path) -> None:
    broken, reason = MUTANT_CASES[mutant]
    target = make_federated_target(tmp_path, mutant)
    log = tmp_path / "node.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, str(MANIFEST_LAUNCHER), "run", mutant, "--home", str(target.home)],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 30
        while not (target.home / "run" / "listen").is_file():
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text("utf-8")
            time.sleep(0.05)
        args = [a for c in sorted(MANIFEST_CASES) for a in ("--case", c)]
        run, report = target.run_suite(*args, local=False)
        assert run.returncode == 1, describe(run)
        got = statuses(report)
        assert {k: v for k, v in got.items() if v != "PASS"} == {broken: "FAIL"}, describe(run)
        failure = next(r for r in report["results"] if r["id"] == broken)
        assert reason in json.dumps(failure), failure
    finally:
        stop(target.home)
        proc.wait(30)


def test_a_suite_identity_without_the_chain_stops_before_any_case(federated: Target, tmp_path: Path) -> None:
    """The target serves a chain, the suite's copy of its identity holds none: one line, exit 2, no report."""
    bare = tmp_path / "suite-without-chain"
    shutil.copytree(federated.peer_home, bare, ignore=shutil.ignore_patterns("federation"))
    args = federated.node_args(local=False)
    args[args.index(str(federated.peer_home))] = str(bare)
    proc = tamga("conformance", "node", *args, "--report-dir", tmp_path / "r")
    assert_usage_error(proc, "serves a federation manifest", "holds none", "tamga federation apply")
    assert not (tmp_path / "r").exists()


def test_a_statement_claiming_a_manifest_for_a_pinned_target_is_refused(tmp_path: Path) -> None:
    """A pinned target (no chain) and a statement saying manifest = true: one line, exit 2."""
    from test_node_suite import make_target

    target = make_target(tmp_path / "pinned", "reference")
    target.proc = start("reference", target.home, target.root / "node.log")
    try:
        statement = tmp_path / "caps.toml"
        statement.write_text(
            '[statement]\nprotocol_versions = [1]\nrecord_types = ["declaration_snapshot"]\n'
            "[features]\nmanifest = true\n",
            "utf-8",
        )
        args = target.node_args(local=False)
        proc = tamga("conformance", "node", *args, "--capabilities", statement, "--report-dir", tmp_path / "r")
        assert_usage_error(proc, "manifest = true", "serves no federation manifest")
    finally:
        stop(target.home)
        target.proc.wait(30)
