"""Self-test of the conformance suite's node mode, against real node processes on loopback.

A reference node (the real node, TLS on, its folder on this machine, a
restart command) must pass every node-mode case through ``tamga conformance
node``, with every report written. Each mutant (the real node with one
behaviour broken, tests/conformance/mutant_nodes.py) must fail exactly the
cases that check that behaviour, and pass the others run with it. Bad input
stops the command before any case, with one line and exit 2.

Every target is a process of its own, started through the mutant launcher;
the suite's peer listens on a loopback port chosen when its test identity is
made. Only the reference target is shared, by the tests that do not change it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from mutant_nodes import start, stop
from tamga.config import load_config
from tamga.conformance import cases_for
from tamga.home import export_identity, init_home, load_local_identity
from tamga.tools.federation import free_port, patch_config
from test_reports import _Dom, chromium_dom

pytestmark = pytest.mark.slow

TAMGA = Path(sys.executable).parent / "tamga"
LAUNCHER = Path(__file__).resolve().with_name("mutant_nodes.py")
FAST_DELIVERY = {"poll_interval": "50ms", "backoff_initial": "100ms", "backoff_max": "1s", "idle_close": "1s"}
RUN_TIMEOUT = 240.0  # seconds: the longest one suite run may take here (the whole node suite takes ~15 s)


def tamga(*args: str | Path, timeout: float = RUN_TIMEOUT) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TAMGA_HOME", "PYTEST_ADDOPTS")}
    return subprocess.run(
        [str(TAMGA), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        env=env,
        check=False,
    )


def describe(proc: subprocess.CompletedProcess[str]) -> str:
    command = " ".join(map(str, proc.args))
    return f"$ {command}\nexit {proc.returncode}\n--- stdout\n{proc.stdout}--- stderr\n{proc.stderr}"


@dataclass
class Target:
    """A node under test, the suite's test identity pinned in it, and its process."""

    root: Path
    mutant: str
    home: Path
    identity: Path
    peer_home: Path
    endpoint: str
    proc: subprocess.Popen[bytes] | None = None

    def node_args(self, *, local: bool = True) -> list[str]:
        args = ["--target", self.endpoint, "--target-identity", str(self.identity), "--peer-home", str(self.peer_home)]
        if local:
            restart = f"{sys.executable} {LAUNCHER} restart {self.mutant} --home {self.home}"
            args += ["--target-home", str(self.home), "--restart-command", restart]
        return args

    def run_suite(
        self, *extra: str, local: bool = True, report: str = "report"
    ) -> tuple[subprocess.CompletedProcess[str], dict]:
        out = self.root / report
        proc = tamga("conformance", "node", *self.node_args(local=local), "--report-dir", out, *extra)
        path = out / "report.json"
        assert path.is_file(), describe(proc)
        return proc, json.loads(path.read_text("utf-8"))


def make_target(root: Path, mutant: str, adapter: str = "json") -> Target:
    """A target node folder (TLS, fast delivery) and a suite identity made with 'tamga conformance peer-init'.

    The identity is pinned in the target with 'tamga peer add', as its operator would.
    """
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    home = root / "kz"
    init_home(
        home, node_id="KZ", country="KZ", authority="Customs of KZ (test)", listen=f"127.0.0.1:{port}", adapter=adapter
    )
    patch_config(home, "delivery", FAST_DELIVERY)
    patch_config(home, "server", {"grace": "1s"})
    # Received payloads may be purged right after hand-off, so RPL-005 replays an envelope whose payload is gone.
    patch_config(home, "retention", {"delivered_payloads": "0s"})
    peer_home = root / "suite"
    made = tamga(
        "conformance", "peer-init", peer_home, "--node-id", "TEST-UZ", "--country", "UZ",
        "--listen", f"127.0.0.1:{free_port()}",
    )  # fmt: skip
    assert made.returncode == 0, describe(made)
    peer_file = peer_home / "TEST-UZ.identity.json"
    assert f"tamga peer add {peer_file} --home NODE_HOME" in made.stdout, made.stdout
    added = tamga("peer", "add", peer_file, "--home", home)
    assert added.returncode == 0, describe(added)
    identity = root / "kz.identity.json"
    identity.write_text(export_identity(load_local_identity(load_config(home)), [f"127.0.0.1:{port}"]), "utf-8")
    return Target(root, mutant, home, identity, peer_home, f"127.0.0.1:{port}")


@pytest.fixture
def running() -> Iterator[list[Target]]:
    """Targets started by a test; each is stopped (by the pid in its run folder, after any restart) at the end."""
    started: list[Target] = []
    yield started
    for t in started:
        stop(t.home)
        if t.proc is not None:
            t.proc.wait(30)


def launch(target: Target, started: list[Target]) -> Target:
    target.proc = start(target.mutant, target.home, target.root / "node.log")
    started.append(target)
    return target


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """One reference node for the tests that leave it as it was."""
    target = make_target(tmp_path_factory.mktemp("reference"), "reference")
    target.proc = start("reference", target.home, target.root / "node.log")
    try:
        yield target
    finally:
        stop(target.home)
        target.proc.wait(30)


def statuses(report: dict) -> dict[str, str]:
    return {r["id"]: r["status"] for r in report["results"]}


def caps_manifest(report: dict) -> bool:
    """Whether the run took the target for a member of a test federation with the suite."""
    return bool(report["capabilities"]["statement"]["features"]["manifest"])


# -- the reference node passes ----------------------------------------------------------------


def test_the_reference_node_passes_every_case_with_every_report_written(reference: Target) -> None:
    proc, report = reference.run_suite()
    assert proc.returncode == 0, describe(proc)
    import tamga.conformance.cases.node_cases  # noqa: F401 - registers the node-mode cases

    planned = [c.id for c in cases_for("node")]
    assert report["plan"] == planned and not report["development"]
    got = statuses(report)
    # The target pinned the suite: the cases of a target in a test federation do not apply (test_manifest_suite).
    expected = {c.id: "NOT-APPLICABLE" if "feature:manifest" in c.needs else "PASS" for c in cases_for("node")}
    assert "NOT-APPLICABLE" in expected.values() and caps_manifest(report) is False
    # Its national format is JSON: the XML cases do not apply (test_an_xml_target_refuses_hostile_national_files).
    expected.update({c.id: "NOT-APPLICABLE" for c in cases_for("node") if "feature:xml" in c.needs})
    assert got == expected, {k: v for k, v in got.items() if v != expected[k]}
    assert report["verdict"] == "PASS"
    caps = report["capabilities"]
    assert caps["derived"] is True
    assert caps["statement"]["features"]["send_direction"] is True
    assert caps["statement"]["features"]["restart_command"] is True
    assert report["sut"]["node_id"] == "KZ" and report["sut"]["suite_peer"] == "TEST-UZ"
    out = reference.root / "report"
    suite = ET.parse(out / "junit.xml").getroot()
    cases = suite.findall(".//testcase")
    assert len(cases) == len(planned)
    assert not suite.findall(".//failure") and not suite.findall(".//error")
    html = (out / "report.html").read_text("utf-8")
    for case_id in planned:
        assert case_id in html
    # What a reviewer sees: the page in real headless Chromium shows every case with its status.
    dom = _Dom()
    dom.feed(chromium_dom(out / "report.html", reference.root))
    assert list(dom.cases) == [r["id"] for r in report["results"]]
    for r in report["results"]:
        assert dom.cases[r["id"]]["status"] == r["status"] == expected[r["id"]], dom.cases[r["id"]]
    assert dom.texts["verdict"] == "PASS"
    # The test identity's private keys appear in no report.
    secrets = [
        line.split("=", 1)[1].strip().strip('"')
        for key_file in (reference.peer_home / "keys").glob("*.key")
        for line in key_file.read_text("utf-8").splitlines()
        if line.startswith("private_key")
    ]
    assert len(secrets) == 2
    for report_file in out.iterdir():
        text = report_file.read_text("utf-8")
        assert "PRIVATE KEY" not in text
        for secret in secrets:
            assert secret not in text, f"a private key of the test identity leaked into {report_file.name}"
    # The records the suite sent reached the reference node's national system as test records.
    incoming = list((reference.home / "incoming").iterdir())
    assert incoming and all(b"TAMGA-CONFORMANCE-" in p.read_bytes() for p in incoming if p.is_file())


def test_without_the_local_interface_its_cases_are_not_applicable(reference: Target) -> None:
    proc, report = reference.run_suite(
        "--case", "TRN-001", "--case", "ENV-001", "--case", "RPL-004", "--case", "SCH-007", local=False, report="na"
    )
    assert proc.returncode == 0, describe(proc)
    assert report["development"] is True
    assert statuses(report) == {
        "TRN-001": "PASS",
        "RPL-001": "PASS",  # RPL-004's prerequisite comes with it
        "ENV-001": "NOT-APPLICABLE",
        "RPL-004": "NOT-APPLICABLE",
        "SCH-007": "NOT-APPLICABLE",
    }
    assert "development run" in proc.stdout


# -- each mutant fails exactly its cases --------------------------------------------------------

MUTANT_RUNS: dict[str, tuple[list[str], dict[str, str]]] = {
    # mutant: (cases run and options, the cases that must not PASS and their status); every other case must PASS
    "accepts-tampered": (
        ["ENV-003", "ENV-004", "ENV-005", "ENV-007", "ENV-008", "RCP-001"],
        {"ENV-003": "FAIL", "ENV-004": "FAIL", "ENV-005": "FAIL", "ENV-008": "FAIL", "RCP-001": "FAIL"},
    ),
    "dedup-off": (
        ["RPL-*", "IDM-002"],
        {"RPL-001": "FAIL", "RPL-003": "FAIL", "RPL-004": "BLOCKED", "RPL-005": "FAIL", "IDM-002": "FAIL"},
    ),
    "dedup-forgets-on-restart": (["RPL-*"], {"RPL-004": "FAIL"}),
    "accepts-stale": (["RPL-001", "RPL-002", "RPL-003"], {"RPL-002": "FAIL"}),
    "accepts-wrong-digest": (["ENV-002", "RCP-002"], {"RCP-002": "FAIL"}),
    "intake-dedup-off": (["IDM-*"], {"IDM-001": "FAIL"}),
    "trusts-senders-records": (["SCH-003", "SCH-007", "SCH-008", "RCP-003"], {"SCH-008": "FAIL"}),
    "trusts-claimed-origin": (["ENV-011", "ENV-014", "SCH-008"], {"ENV-014": "FAIL"}),
    "resends-rejected": (["RCP-006", "RCP-007"], {"RCP-006": "FAIL"}),
    # RCP-005 is a SHOULD: only --strict makes its failure a FAIL (without it, WARN and exit 0).
    "hides-failures": (["--strict", "RCP-005", "RCP-007"], {"RCP-005": "FAIL"}),
    "forgets-receipt-signatures": (["RCP-005", "RCP-007"], {"RCP-007": "FAIL"}),
    "no-file-limit": (["ADP-011", "IDM-004"], {"ADP-011": "FAIL"}),
    "drop-folder-follows-links": (["IDM-005", "IDM-006"], {"IDM-005": "FAIL"}),
    # IDM-006 runs last: the file this mutant cannot get past holds up everything after it.
    "drop-folder-stops-on-error": (["IDM-005", "IDM-006"], {"IDM-006": "FAIL"}),
    "refuses-near-the-limit": (["--strict", "TRN-008", "TRN-010"], {"TRN-010": "FAIL"}),
}


@pytest.mark.parametrize("mutant", list(MUTANT_RUNS))
def test_a_mutant_node_fails_exactly_the_cases_of_what_it_breaks(
    mutant: str, tmp_path: Path, running: list[Target]
) -> None:
    selection, broken = MUTANT_RUNS[mutant]
    target = launch(make_target(tmp_path, mutant), running)
    args = [a for pattern in selection for a in ((pattern,) if pattern.startswith("--") else ("--case", pattern))]
    proc, report = target.run_suite(*args)
    assert proc.returncode == 1, describe(proc)
    got = statuses(report)
    assert {k: v for k, v in got.items() if v != "PASS"} == broken, describe(proc)
    assert set(broken) < set(got), "the run must also hold cases the mutant passes"
    assert report["verdict"] == "FAIL"


@pytest.mark.parametrize(("mutant", "verdict"), [("reference", "PASS"), ("naive-xml", "FAIL")])
def test_an_xml_target_refuses_hostile_national_files(
    mutant: str, verdict: str, tmp_path: Path, running: list[Target]
) -> None:
    """A node with the eaeu adapter (XML): the DTD and entity case applies, derived from its adapter."""
    target = launch(make_target(tmp_path, mutant, adapter="eaeu"), running)
    proc, report = target.run_suite("--case", "SCH-009")
    assert proc.returncode == (0 if verdict == "PASS" else 1), describe(proc)
    assert report["capabilities"]["statement"]["features"]["xml"] is True
    assert statuses(report) == {"ENV-001": "PASS", "ADP-010": "PASS", "SCH-009": verdict}, describe(proc)


# -- bad input: one line, exit 2, before any case ------------------------------------------------


def assert_usage_error(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert proc.returncode == 2, describe(proc)
    assert "Traceback" not in proc.stdout + proc.stderr, describe(proc)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tamga: error:"), describe(proc)
    for needle in needles:
        assert needle in lines[0], describe(proc)


def test_bad_node_mode_input_stops_before_any_case_with_one_line(reference: Target, tmp_path: Path) -> None:
    base = ["conformance", "node", "--report-dir", tmp_path / "r"]
    # Nothing listens at the endpoint.
    closed = f"127.0.0.1:{free_port()}"
    args = reference.node_args(local=False)
    args[1] = closed
    assert_usage_error(tamga(*base, *args), "cannot reach node KZ", "peer add")
    # A suite identity the target never pinned.
    stranger = tmp_path / "stranger"
    made = tamga(
        "conformance", "peer-init", stranger, "--node-id", "TEST-TJ", "--country", "TJ",
        "--listen", f"127.0.0.1:{free_port()}",
    )  # fmt: skip
    assert made.returncode == 0, describe(made)
    args = reference.node_args(local=False)
    args[5] = str(stranger)
    assert_usage_error(tamga(*base, *args), "cannot reach node KZ as the test identity TEST-TJ")
    # A peer home that is not a test identity.
    real = tmp_path / "real"
    init_home(real, node_id="UZ", country="UZ", authority="Customs of UZ", listen=f"127.0.0.1:{free_port()}")
    args[5] = str(real)
    assert_usage_error(tamga(*base, *args), "'UZ' is not a test identity", "TEST-")
    # A capability statement claiming what the options do not give.
    statement = tmp_path / "caps.toml"
    statement.write_text(
        '[statement]\nprotocol_versions = [1]\nrecord_types = ["declaration_snapshot"]\n'
        "[features]\nsend_direction = true\n",
        "utf-8",
    )
    args = reference.node_args(local=False)
    assert_usage_error(tamga(*base, *args, "--capabilities", statement), "send_direction = true", "--target-home")
    # A test identity of the target's own country: its records could not go between them.
    same = tmp_path / "same"
    made = tamga("conformance", "peer-init", same, "--node-id", "TEST-KZ", "--country", "KZ")
    assert made.returncode == 0, describe(made)
    args = reference.node_args(local=False)
    args[5] = str(same)
    assert_usage_error(tamga(*base, *args), "country KZ is the target's own")
    # A target with a real peer of the test identity's country: a record dropped for that country would reach it.
    other = make_target(tmp_path / "other", "reference")  # not started: refused before the suite reaches it
    real_uz = tmp_path / "real-uz"
    init_home(real_uz, node_id="UZ", country="UZ", authority="Customs of UZ", listen="127.0.0.1:7401")
    (tmp_path / "uz.identity.json").write_text(
        export_identity(load_local_identity(load_config(real_uz)), ["127.0.0.1:7401"]), "utf-8"
    )
    added = tamga("peer", "add", tmp_path / "uz.identity.json", "--home", other.home)
    assert added.returncode == 0, describe(added)
    assert_usage_error(
        tamga(*base, *other.node_args()), "the target's peers UZ have the test identity's country UZ"
    )
    # peer-init refuses an identity that is not a test identity.
    assert_usage_error(
        tamga("conformance", "peer-init", tmp_path / "p", "--node-id", "KZ-CUSTOMS", "--country", "UZ"),
        "not a test identity",
    )
    assert not (tmp_path / "p").exists()
    assert not (tmp_path / "r").exists(), "no report for a run that could not start"
