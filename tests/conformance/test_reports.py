"""Conformance results: the model's fail-closed verdict, the requirements file, every report format, signed
reports against real node homes (clear and passphrase-encrypted keys, identity files, a federation manifest,
pinned peers), and report.html as real headless Chromium renders it."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from tamga.conformance._model import (
    REPORT_SCHEMA,
    CaseResult,
    ReportError,
    Run,
    Severity,
    Status,
    TranscriptStep,
)
from tamga.conformance._reports import console_summary, find_secrets, html_report, junit_xml, write_reports
from tamga.conformance._requirements import load_requirements, parse_requirements
from tamga.conformance._signing import sign_report, verified_line, verify_report
from tamga.errors import TamgaError

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
PASSPHRASE = "correct horse battery staple"
REQS = load_requirements()
NOW = time.time()


# -- building runs by hand -----------------------------------------------------------------


def result(
    case_id: str,
    status: Status,
    *,
    severity: Severity = Severity.MUST,
    requirements: tuple[str, ...] = ("FDX-ENV-3",),
    message: str = "",
    title: str = "",
    transcript: list[TranscriptStep] | None = None,
) -> CaseResult:
    return CaseResult(
        id=case_id,
        title=title or f"case {case_id}",
        requirements=requirements,
        severity=severity,
        negative=case_id.endswith("3"),
        mode="node",
        protocol=(1, None),
        status=status,
        message=message,
        duration_s=0.125,
        transcript=transcript or [],
    )


def make_run(
    results: list[CaseResult],
    *,
    plan: list[str] | None = None,
    strict: bool = False,
    development: bool = False,
) -> Run:
    return Run(
        mode="node",
        target="127.0.0.1:7400",
        sut={"node_id": "KZ", "tamga_version": "0.1.0"},
        capabilities={"statement": {"node_id": "KZ", "record_types": ["declaration_snapshot"]}, "features": {}},
        capabilities_sha256="ab" * 32,
        capabilities_derived=False,
        strict=strict,
        development=development,
        plan=[r.id for r in results] if plan is None else plan,
        results=results,
        requirements=REQS,
        started_at=datetime.fromtimestamp(NOW - 90, UTC).isoformat(),
        finished_at=datetime.fromtimestamp(NOW, UTC).isoformat(),
        session_id="6f1c4c9e-9a43-4a59-9a5e-3c1d0b7f2a10",
        suite_version="1.0.0",
    )


def every_status_run(**kw: object) -> Run:
    """One case in each status, with transcripts, national scripts and characters HTML and XML must escape."""
    steps = [
        TranscriptStep(0.001, "sent batch <b1> & waited", {"message_id": "0f8e…", "bytes": "1824"}),
        TranscriptStep(
            0.25, "receipt", {"status": "REJECTED", "reason": 'BAD_SIGNATURE "8"', "note": "Қазақстан 中国"}
        ),
    ]
    results = [
        result("TRN-001", Status.PASS, requirements=("FDX-TRN-1",), transcript=steps),
        result("ENV-003", Status.FAIL, message="envelope with a flipped body byte was ACCEPTED\nsecond line"),
        result("ENV-006", Status.WARN, severity=Severity.SHOULD, requirements=("FDX-ENV-6",), message="late"),
        result("RPL-004", Status.SKIPPED, requirements=("FDX-RPL-4",)),
        result("ADP-010", Status.NOT_APPLICABLE, requirements=("FDX-ADP-10",), message="send_direction = false"),
        result("RCP-001", Status.BLOCKED, requirements=("FDX-RCP-1",), message="TRN-001 did not pass"),
        result("HLT-001", Status.ERROR, requirements=("FDX-HLT-1",), message="fixture 'peer' failed: <boom>"),
    ]
    return make_run(results, **kw)  # type: ignore[arg-type]


# -- the model -----------------------------------------------------------------------------


def test_json_round_trip_keeps_every_field_and_status() -> None:
    run = every_status_run(development=True)
    data = json.loads(json.dumps(run.to_json()))
    assert data["schema"] == REPORT_SCHEMA
    assert list(data)[:4] == ["schema", "suite_version", "session_id", "mode"]
    assert {r["status"] for r in data["results"]} == {str(s) for s in Status}
    assert Run.from_json(data) == run


def test_a_report_is_refused_with_another_schema_a_missing_field_or_an_edited_verdict() -> None:
    data = every_status_run().to_json()
    with pytest.raises(ReportError, match=r"unknown report schema 'tamga-conformance-report/9'"):
        Run.from_json({**data, "schema": "tamga-conformance-report/9"})
    with pytest.raises(ReportError, match=r"field 'plan' is missing"):
        Run.from_json({k: v for k, v in data.items() if k != "plan"})
    assert data["verdict"] == "FAIL"
    with pytest.raises(ReportError, match=r"stored verdict 'PASS' does not follow from its results.*edited"):
        Run.from_json({**data, "verdict": "PASS"})
    bad_summary = {**data["summary"], "FAIL": 0}
    with pytest.raises(ReportError, match=r"stored summary"):
        Run.from_json({**data, "summary": bad_summary})
    with pytest.raises(ReportError, match=r"wrong form"):
        Run.from_json({**data, "results": [{**data["results"][0], "status": "GREAT"}]})


PASSING = [result("TRN-001", Status.PASS, requirements=("FDX-TRN-1",)), result("ENV-003", Status.PASS)]


@pytest.mark.parametrize(
    ("results", "kw", "verdict", "reason"),
    [
        (PASSING, {}, "PASS", None),
        ([*PASSING, result("ENV-004", Status.FAIL, message="accepted")], {}, "FAIL", "ENV-004: MUST case failed: acc"),
        ([*PASSING, result("ENV-006", Status.WARN, severity=Severity.SHOULD)], {}, "PASS", None),
        (
            [*PASSING, result("ENV-006", Status.WARN, severity=Severity.SHOULD, message="slow")],
            {"strict": True},
            "FAIL",
            "ENV-006: SHOULD case failed and the run is strict: slow",
        ),
        ([*PASSING, result("HLT-002", Status.ERROR, severity=Severity.SHOULD)], {}, "FAIL", "HLT-002: the suite broke"),
        ([*PASSING, result("RCP-001", Status.BLOCKED)], {}, "FAIL", "RCP-001: MUST case not checked"),
        ([*PASSING, result("HLT-002", Status.BLOCKED, severity=Severity.SHOULD)], {}, "PASS", None),
        ([*PASSING, result("RPL-004", Status.SKIPPED)], {}, "FAIL", "RPL-004: skipped in a certification run"),
        ([*PASSING, result("RPL-004", Status.SKIPPED)], {"development": True}, "PASS", None),
        ([result("ADP-010", Status.NOT_APPLICABLE)], {}, "FAIL", "no case ran"),
        ([], {}, "FAIL", "no case ran"),
        (PASSING, {"plan": ["TRN-001", "ENV-003", "ENV-004"]}, "FAIL", "planned cases with no result: ENV-004"),
        (PASSING, {"plan": ["TRN-001"]}, "FAIL", "results for cases not in the plan: ENV-003"),
        ([*PASSING, PASSING[0]], {}, "FAIL", "cases reported more than once: TRN-001"),
    ],
    ids=[
        "all-pass",
        "must-fail",
        "should-warn",
        "should-warn-strict",
        "error",
        "must-blocked",
        "should-blocked",
        "skipped-certification",
        "skipped-development",
        "nothing-ran",
        "empty",
        "plan-not-run",
        "unplanned-result",
        "duplicate-result",
    ],
)
def test_the_verdict_fails_closed(results: list[CaseResult], kw: dict, verdict: str, reason: str | None) -> None:
    run = make_run(results, **kw)
    assert run.verdict() == verdict
    reasons = run.verdict_reasons()
    if reason is None:
        assert reasons == []
    else:
        assert any(r.startswith(reason) for r in reasons), reasons
    assert run.to_json()["verdict"] == verdict


def test_coverage_lists_the_cases_of_each_requirement_and_the_uncovered_ones() -> None:
    run = make_run(
        [
            result("ENV-003", Status.PASS, requirements=("FDX-ENV-3", "FDX-ENV-4")),
            result("ENV-004", Status.FAIL, requirements=("FDX-ENV-4",)),
            result("XYZ-001", Status.PASS, requirements=("FDX-XYZ-1",)),
        ]
    )
    cover = run.coverage()
    assert list(cover)[: len(REQS)] == list(REQS)
    assert cover["FDX-ENV-3"] == ["ENV-003"] and cover["FDX-ENV-4"] == ["ENV-003", "ENV-004"]
    assert list(cover)[-1] == "FDX-XYZ-1"  # named by a case, not in the requirements: shown, never hidden
    uncovered = run.uncovered()
    assert "FDX-ENV-3" not in uncovered and "FDX-TRN-1" in uncovered and len(uncovered) == len(REQS) - 2
    summary = run.summary()
    assert summary["PASS"] == 2 and summary["FAIL"] == 1 and summary["total"] == 3
    assert set(summary) == {str(s) for s in Status} | {"total"}


# -- the requirements file -----------------------------------------------------------------


def test_the_shipped_requirements_are_docs_requirements_md_with_every_area() -> None:
    assert REQS == parse_requirements((REPO / "docs" / "requirements.md").read_text("utf-8"), "docs")
    assert {r.area for r in REQS.values()} == {"TRN", "ENV", "RPL", "RCP", "IDM", "SCH", "ADP", "HLT", "VER", "FED"}
    env3 = REQS["FDX-ENV-3"]
    assert env3.level == Severity.MUST and env3.area == "ENV" and "changed after signing" in env3.text
    assert {r.level for r in REQS.values()} == {Severity.MUST, Severity.SHOULD}
    assert all(r.id == f"FDX-{r.area}-{r.id.rsplit('-', 1)[1]}" and r.text for r in REQS.values())


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("# R\n- **FDX-ENV-1** MUST: a\n- **FDX-ENV-1** SHOULD: b\n", "req.md:3: FDX-ENV-1 is listed twice"),
        ("- **FDX-ENV-1** MUST a\n", "req.md:1: not a requirement line"),
        ("- **FDX-ENV-1** MAY: a\n", "req.md:1: not a requirement line"),
        ("- **FDX-ENV-2** MUST: a\n- **FDX-ENV-2** retired: was b\n", "FDX-ENV-2 is both retired and a requirement"),
        ("# nothing here\n", "req.md: no requirement lines"),
    ],
)
def test_a_malformed_requirements_file_is_refused_naming_the_line(text: str, needle: str) -> None:
    with pytest.raises(ReportError) as err:
        parse_requirements(text, "req.md")
    assert needle in str(err.value)


def test_retired_ids_are_kept_out_and_a_missing_file_is_named(tmp_path: Path) -> None:
    reqs = parse_requirements("- **FDX-ENV-1** retired: see FDX-ENV-2\n- **FDX-ENV-2** SHOULD: b\n", "r.md")
    assert list(reqs) == ["FDX-ENV-2"] and reqs["FDX-ENV-2"].level == Severity.SHOULD
    with pytest.raises(ReportError, match=rf"{tmp_path / 'none.md'}: cannot read the requirements file"):
        load_requirements(tmp_path / "none.md")


# -- console, JUnit, JSON ------------------------------------------------------------------


def test_console_summary_counts_by_area_names_what_failed_and_says_why_the_verdict() -> None:
    text = console_summary(every_status_run())
    assert "node mode, target 127.0.0.1:7400" in text and "certification run" in text
    areas = [line.split()[0] for line in text.splitlines() if line[:6] in ("  TRN ", "  ENV ", "  HLT ")]
    assert areas == ["TRN", "ENV", "HLT"]  # in the requirements file's order
    rows = {line.split()[0]: line.split()[1:] for line in text.splitlines() if line.startswith("  ENV ")}
    # columns: PASS FAIL WARN SKIPPED NOT-APPLICABLE BLOCKED ERROR
    assert rows["ENV"] == ["0", "1", "1", "0", "0", "0", "0"]
    total = next(line for line in text.splitlines() if line.startswith("  total"))
    assert total.split()[1:] == ["1", "1", "1", "1", "1", "1", "1"]
    assert "ENV-003 FAIL (MUST)" in text and "envelope with a flipped body byte was ACCEPTED second line" in text
    assert "RCP-001 BLOCKED (MUST)" in text and "HLT-001 ERROR (MUST)" in text
    assert "PASS" not in text.split("Cases that need attention:")[1].split("Requirements")[0].replace("(MUST)", "")
    assert f"Requirements no case of this run checks: {len(REQS) - 7} of {len(REQS)}" in text
    assert "FDX-TRN-2" in text.split("Requirements no case")[1]
    assert "Verdict: FAIL" in text and "  - ENV-003: MUST case failed: envelope with a flipped" in text
    dev = console_summary(make_run(PASSING, development=True))
    assert "Verdict: PASS (development run, not valid for certification)" in dev


def test_junit_xml_has_one_testcase_per_case_with_the_right_outcome_and_requirements() -> None:
    run = every_status_run()
    run.results[1].message += " \x00\x1b bad bytes"
    root = ET.fromstring(junit_xml(run))
    suite = root.find("testsuite")
    assert suite is not None
    counts = tuple(suite.get(k) for k in ("tests", "failures", "errors", "skipped"))
    assert counts == ("7", "1", "1", "3")
    props = {p.get("name"): p.get("value") for p in suite.find("properties")}  # type: ignore[union-attr]
    assert props["session_id"] == run.session_id and props["verdict"] == "FAIL" and props["suite_version"] == "1.0.0"
    cases = {tc.get("name", "").split()[0]: tc for tc in suite.findall("testcase")}
    assert list(cases) == [r.id for r in run.results]
    assert cases["ENV-003"].find("failure").get("message").startswith("FAIL: envelope")  # type: ignore[union-attr]
    assert "\\x00\\x1b bad bytes" in cases["ENV-003"].find("failure").text  # type: ignore[union-attr]
    assert cases["HLT-001"].find("error") is not None
    for cid, status in (("RPL-004", "SKIPPED"), ("ADP-010", "NOT-APPLICABLE"), ("RCP-001", "BLOCKED")):
        assert cases[cid].find("skipped").get("message").startswith(status)  # type: ignore[union-attr]
    assert cases["ENV-006"].find("failure") is None and cases["TRN-001"].find("failure") is None
    reqs = [p.get("value") for p in cases["TRN-001"].iter("property") if p.get("name") == "requirement"]
    assert reqs == ["FDX-TRN-1"]
    assert "sent batch <b1> & waited" in cases["TRN-001"].find("system-out").text  # type: ignore[union-attr]
    strict = ET.fromstring(junit_xml(every_status_run(strict=True))).find("testsuite")
    assert strict.get("failures") == "2"  # type: ignore[union-attr]


def test_write_reports_writes_json_junit_html_and_the_json_reads_back(tmp_path: Path) -> None:
    run = every_status_run()
    paths = write_reports(run, tmp_path / "out")
    assert {k: p.name for k, p in paths.items()} == {"json": "report.json", "junit": "junit.xml", "html": "report.html"}
    assert Run.from_json(json.loads(paths["json"].read_text("utf-8"))) == run
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["junit.xml", "report.html", "report.json"]


SEED_HEX = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
PUBLIC_HEX = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"


@pytest.mark.parametrize(
    ("details", "refused"),
    [
        ({"key": "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI\n-----END PRIVATE KEY-----"}, True),
        ({"file": 'key_id = "ed25519:1"\nprivate_key = "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A="\n'}, True),
        ({"seed": SEED_HEX}, True),
        ({"signing_key": "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A="}, True),
        ({"private": f"0x{SEED_HEX}"}, True),
        ({"verify_key": PUBLIC_HEX, "public_key": PUBLIC_HEX, "signing_key_id": "ed25519:1"}, False),
        ({"envelope_digest": SEED_HEX, "seed": "<redacted>"}, False),
    ],
    ids=["pem", "key-file", "hex-seed", "base64-signing-key", "private-hex", "public-keys", "digest-redacted"],
)
def test_reports_holding_private_key_material_are_refused(tmp_path: Path, details: dict, refused: bool) -> None:
    run = make_run([result("TRN-001", Status.PASS, transcript=[TranscriptStep(0.0, "identity", details)])])
    if not refused:
        assert find_secrets(run) == []
        write_reports(run, tmp_path)
        return
    with pytest.raises(ReportError) as err:
        write_reports(run, tmp_path)
    message = str(err.value)
    assert "refusing to write the conformance report" in message and "results[0].transcript[0].details" in message
    assert SEED_HEX not in message and "nWGxne" not in message and "MC4CAQ" not in message
    assert list(tmp_path.iterdir()) == []


# -- report.html in a real browser ---------------------------------------------------------


class _Dom(HTMLParser):
    """Collects what a reader sees of each case section, the verdict and the coverage rows from a DOM dump."""

    def __init__(self) -> None:
        super().__init__()
        self.cases: dict[str, dict[str, str]] = {}
        self.uncovered: list[str] = []
        self.ids: set[str] = set()
        self.texts: dict[str, str] = {}
        self._stack: list[tuple[str, str]] = []  # (tag, capture key)
        self._case = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        cls = (a.get("class") or "").split()
        if a.get("id"):
            self.ids.add(a["id"] or "")
        key = ""
        if tag == "section" and "case" in cls:
            self._case = a.get("data-case") or ""
            self.cases[self._case] = {"data-status": a.get("data-status") or "", "status": "", "id": "", "title": ""}
        elif tag == "span" and "status" in cls and self._case:
            key = f"case:{self._case}:status"
        elif tag == "span" and "case-id" in cls and self._case:
            key = f"case:{self._case}:id"
        elif tag == "h3" and self._case:
            key = f"case:{self._case}:title"
        elif a.get("id") in ("verdict", "development"):
            key = f"id:{a['id']}"
        elif tag == "tr" and "uncovered" in cls:
            self.uncovered.append(a.get("data-requirement") or "")
        self._stack.append((tag, key))

    def handle_endtag(self, tag: str) -> None:
        while self._stack:
            t, _ = self._stack.pop()
            if t == tag:
                break
        if tag == "section":
            self._case = ""

    def handle_data(self, data: str) -> None:
        for _, key in self._stack:
            if not key:
                continue
            if key.startswith("case:"):
                _, cid, field = key.split(":")
                self.cases[cid][field] += data
            else:
                self.texts[key[3:]] = self.texts.get(key[3:], "") + data


class _Tags(HTMLParser):
    """Every start tag of a page with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.seen.append((tag, attrs))


def chromium_dom(page: Path, tmp_path: Path) -> str:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: the HTML report is checked in real Chromium; run `make browser`")
    profile = tmp_path / "chromium-profile"
    cmd = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--dump-dom",
        page.as_uri(),
    ]
    env = {**os.environ, "HOME": str(tmp_path)}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env, check=False)
    assert proc.returncode == 0 and "<html" in proc.stdout, f"chromium: exit {proc.returncode}: {proc.stderr[-2000:]}"
    return proc.stdout


def test_report_html_shows_every_case_and_status_in_headless_chromium(tmp_path: Path) -> None:
    run = every_status_run(development=True)
    hostile = '<script>document.title="owned"</script><img src=x onerror=alert(1)>'
    run.results[0].title = "Accepted from a pinned peer " + hostile
    run.results[0].transcript[0].details["note"] = hostile
    page = write_reports(run, tmp_path / "out")["html"]
    # Self-contained and inert: no script, no external resource, no handler; links only inside the page.
    tags = _Tags()
    tags.feed(page.read_text("utf-8"))
    assert not {"script", "img", "link", "iframe", "object", "embed"} & {t for t, _ in tags.seen}
    attrs = [(n, v or "") for _, a in tags.seen for n, v in a]
    assert not [n for n, _ in attrs if n == "src" or n.startswith("on")]
    assert all(v.startswith("#") for n, v in attrs if n == "href") and "url(" not in page.read_text("utf-8")
    dom = _Dom()
    dom.feed(chromium_dom(page, tmp_path))
    assert list(dom.cases) == [r.id for r in run.results]
    for res in run.results:
        seen = dom.cases[res.id]
        assert seen["id"] == res.id and seen["status"] == str(res.status) and seen["data-status"] == str(res.status)
    assert hostile in dom.cases["TRN-001"]["title"]  # shown as text, not run
    assert dom.texts["verdict"] == "FAIL"
    assert "Development run, not valid for certification." in dom.texts["development"]
    assert dom.uncovered == run.uncovered() and "FDX-TRN-2" in dom.uncovered
    assert {"provenance", "summary", "coverage", "cases", "verdict-reasons"} <= dom.ids
    assert f"case-{run.results[0].id}" in dom.ids


def test_report_html_header_carries_the_provenance() -> None:
    run = every_status_run()
    text = html_report(run)
    for value in (run.suite_version, run.session_id, run.capabilities_sha256, "127.0.0.1:7400", "certification run"):
        assert value in text
    assert "Қазақстан 中国" in text and "<code>REJECT_REASON_OVERSIZE</code>" in text
    assert '<tr data-area="ENV"><th>ENV</th><td>0</td><td>1</td><td>1</td>' in text


# -- signed reports against real node homes ------------------------------------------------


def _home(root: Path, node_id: str, passphrase: str | None = None) -> Path:
    from tamga.home import init_home

    home = root / node_id.lower()
    init_home(
        home,
        node_id=node_id,
        country=node_id,
        authority=f"Customs service of {node_id}",
        listen="127.0.0.1:0",
        advertise=[f"{node_id.lower()}.customs.example:7400"],
        passphrase=passphrase,
    )
    return home


def _identity_file(home: Path, out: Path, passphrase: str | None = None) -> Path:
    from tamga.config import load_config
    from tamga.home import export_identity, load_local_identity

    config = load_config(home)
    local = load_local_identity(config, passphrase=passphrase)
    out.write_text(export_identity(local, [f"{config.node.id.lower()}.customs.example:7400"]), "utf-8")
    return out


@pytest.fixture(name="homes", scope="module")
def _homes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """KZ and CN (clear keys) in one federation manifest, held by CN; TJ with passphrase-encrypted keys; identity
    files of each; UZ, a node without manifest that pinned KZ as a peer."""
    from tamga.config import load_config
    from tamga.federation import FederationState, genesis_proposal, member_from_peer, sign_manifest
    from tamga.governance import federation_folder
    from tamga.home import add_peer, load_local_identity
    from tamga.protocol._identity import read_identity

    root = tmp_path_factory.mktemp("homes")
    homes = {n: _home(root, n) for n in ("KZ", "CN", "UZ")}
    homes["TJ"] = _home(root, "TJ", PASSPHRASE)
    for n, h in list(homes.items()):
        homes[f"{n}.identity"] = _identity_file(h, root / f"{n}.identity.json", PASSPHRASE if n == "TJ" else None)
    t0 = time.time() - 3600
    locals_ = [load_local_identity(load_config(homes[n])) for n in ("KZ", "CN")]
    founders = [member_from_peer(read_identity(loc.identity_document(["x:1"], t0)), valid_from=t0) for loc in locals_]
    genesis = genesis_proposal(
        federation_id="sco-customs",
        founders=founders,
        threshold=2,
        allow=[("*", "*", ["declaration_snapshot"])],
        issued_at=t0,
    )
    for loc in locals_:
        genesis = sign_manifest(genesis, loc.node_id, loc.signing_key)
    FederationState.create(federation_folder(load_config(homes["CN"])), genesis)
    add_peer(load_config(homes["UZ"]), homes["KZ.identity"])
    return homes


@pytest.fixture(name="signed")
def _signed(homes: dict[str, Path], tmp_path: Path) -> tuple[Run, Path]:
    run = every_status_run()
    return run, sign_report(run, homes["KZ"], tmp_path / "report.signed.json")


def test_a_signed_report_verifies_with_the_signers_identity_file(signed: tuple[Run, Path], homes: dict) -> None:
    run, path = signed
    doc = json.loads(path.read_text("utf-8"))
    assert list(doc) == ["format", "report", "signer", "signing_key_id", "signature"]
    assert doc["format"] == "tamga-conformance-signed/1"
    assert doc["signer"] == "KZ" and doc["signing_key_id"] == "ed25519:1"
    assert json.loads(doc["report"])["verdict"] == "FAIL"  # any verdict can be signed; it is inside the signed bytes
    assert verify_report(path, identity=homes["KZ.identity"]) == run
    assert verified_line(path, identity=homes["KZ.identity"]) == (
        f"valid: signed by KZ, verdict FAIL, 7 cases, node mode, target 127.0.0.1:7400, session {run.session_id}"
    )
    key_text = (homes["KZ"] / "keys" / "signing.key").read_text()
    seed_b64 = key_text.split('private_key = "')[1].split('"')[0]
    assert seed_b64 not in path.read_text("utf-8")


def test_a_signed_report_verifies_against_a_federation_manifest_and_pinned_peers(signed, homes: dict) -> None:
    run, path = signed
    assert verify_report(path, home=homes["CN"]) == run  # KZ's key from CN's manifest
    assert verify_report(path, home=homes["UZ"]) == run  # KZ pinned as a static peer of UZ
    assert verify_report(path, home=homes["KZ"]) == run  # KZ's own home
    with pytest.raises(ReportError, match=r"signed by 'KZ', which is not a peer of TJ \(no manifest\)"):
        verify_report(path, home=homes["TJ"])
    early = every_status_run()
    early.finished_at = datetime.fromtimestamp(NOW - 7200, UTC).isoformat()  # before KZ's key was in the manifest
    early_path = sign_report(early, homes["KZ"], path.with_name("early.json"))
    assert verify_report(early_path, identity=homes["KZ.identity"]) == early
    with pytest.raises(ReportError, match=r"finished at .*, outside the validity of KZ's key ed25519:1"):
        verify_report(early_path, home=homes["CN"])


def test_a_report_signed_with_a_revoked_key_is_refused(signed, homes: dict, tmp_path: Path) -> None:
    from tamga.config import load_config
    from tamga.federation import FederationState, make_revocation
    from tamga.governance import federation_folder
    from tamga.home import load_local_identity

    _, path = signed
    cn = tmp_path / "cn"
    shutil.copytree(homes["CN"], cn)
    kz_key = load_local_identity(load_config(homes["KZ"])).signing_key
    state = FederationState.load(federation_folder(load_config(cn)))
    state.add_revocations([make_revocation("KZ", kz_key, "ed25519:1", time.time() - 60, "key file copied")])
    with pytest.raises(ReportError, match=r"signed with KZ's key ed25519:1, which is revoked"):
        verify_report(path, home=cn)


def test_a_passphrase_encrypted_identity_key_signs(homes: dict, tmp_path: Path, monkeypatch) -> None:
    run = every_status_run()
    monkeypatch.delenv("TAMGA_KEY_PASSPHRASE", raising=False)
    with pytest.raises(TamgaError, match=r"signing.key: key file is encrypted with a passphrase and none was given"):
        sign_report(run, homes["TJ"], tmp_path / "a.json")
    monkeypatch.setenv("TAMGA_KEY_PASSPHRASE", "not the passphrase")
    with pytest.raises(TamgaError, match=r"wrong passphrase"):
        sign_report(run, homes["TJ"], tmp_path / "a.json")
    monkeypatch.setenv("TAMGA_KEY_PASSPHRASE", PASSPHRASE)
    out = sign_report(run, homes["TJ"], tmp_path / "a.json")
    assert verify_report(out, identity=homes["TJ.identity"]) == run
    assert not (tmp_path / "a.json.tmp").exists()


def test_a_development_run_is_never_signed(homes: dict, tmp_path: Path) -> None:
    with pytest.raises(ReportError, match=r"refusing to sign a development run"):
        sign_report(every_status_run(development=True), homes["KZ"], tmp_path / "d.json")
    assert not (tmp_path / "d.json").exists()


def _edit(path: Path, change) -> Path:
    doc = json.loads(path.read_text("utf-8"))
    change(doc)
    path.write_text(json.dumps(doc), "utf-8")
    return path


def _flip_b64(value: str) -> str:
    raw = bytearray(base64.b64decode(value))
    raw[10] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (lambda d: d.update(report=d["report"].replace('"FAIL"', '"PASS"', 1)), "the signature does not verify"),
        (lambda d: d.update(report=d["report"].replace("127.0.0.1:7400", "127.0.0.1:7401")), "does not verify"),
        (lambda d: d.update(signature=_flip_b64(d["signature"])), "the signature does not verify with KZ's key"),
        (lambda d: d.update(signature=d["signature"][:-4]), "the signature has 63 bytes, an Ed25519 signature has 64"),
        (lambda d: d.update(signature="!!" + d["signature"][2:]), "the signature is not valid base64"),
        (lambda d: d.update(signer="CN"), "signed by 'CN', but"),
        (lambda d: d.update(signing_key_id="ed25519:2"), "signed with KZ's key 'ed25519:2', but"),
        (lambda d: d.update(format="tamga-conformance-signed/2"), "not a signed conformance report"),
        (lambda d: d.update(verdict="PASS"), "unknown field 'verdict'"),
        (lambda d: d.pop("signature"), "field 'signature' is missing"),
    ],
    ids=[
        "verdict",
        "target",
        "signature-bit",
        "signature-short",
        "signature-b64",
        "signer",
        "key-id",
        "format",
        "extra-field",
        "no-signature",
    ],
)
def test_each_tampering_is_caught_with_a_clear_reason(signed, homes: dict, change, needle: str) -> None:
    _, path = signed
    _edit(path, change)
    with pytest.raises(ReportError) as err:
        verify_report(path, identity=homes["KZ.identity"])
    assert str(err.value).startswith(f"{path}: ") and needle in str(err.value)


def test_any_changed_character_of_the_report_or_bit_of_the_signature_is_caught(signed, homes: dict) -> None:
    from tamga.conformance._signing import SIGNING_PURPOSE
    from tamga.home import parse_identity_file

    _, path = signed
    doc = json.loads(path.read_text("utf-8"))
    key = parse_identity_file(homes["KZ.identity"].read_text(), "kz").peer.verify_key
    report, sig = doc["report"], base64.b64decode(doc["signature"])
    parts = (b"KZ", b"ed25519:1")
    key.verify(SIGNING_PURPOSE, sig, *parts, report.encode())
    for i in range(0, len(report), max(1, len(report) // 400)):
        changed = report[:i] + chr(ord(report[i]) ^ 0x01) + report[i + 1 :]
        with pytest.raises(TamgaError):
            key.verify(SIGNING_PURPOSE, sig, *parts, changed.encode())
    for bit in range(0, 512, 7):
        bad = bytearray(sig)
        bad[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(TamgaError):
            key.verify(SIGNING_PURPOSE, bytes(bad), *parts, report.encode())


def test_a_signed_development_or_edited_report_is_refused_after_the_signature(homes: dict, tmp_path: Path) -> None:
    """A report signed by someone's own code with development=true, or a verdict not following from its results,
    is refused even with a good signature."""
    from tamga.config import load_config
    from tamga.conformance._signing import SIGNED_FORMAT, SIGNING_PURPOSE, canonical_report
    from tamga.home import load_local_identity

    key = load_local_identity(load_config(homes["KZ"])).signing_key
    for data, needle in (
        (json.loads(canonical_report(every_status_run(development=True))), "a development run, not valid"),
        ({**every_status_run().to_json(), "verdict": "PASS"}, "stored verdict 'PASS' does not follow"),
    ):
        report = json.dumps(data, sort_keys=True, separators=(",", ":"))
        sig = key.sign(SIGNING_PURPOSE, b"KZ", key.key_id.encode(), report.encode())
        doc = {"format": SIGNED_FORMAT, "report": report, "signer": "KZ", "signing_key_id": key.key_id}
        path = tmp_path / "r.json"
        path.write_text(json.dumps({**doc, "signature": base64.b64encode(sig).decode()}))
        with pytest.raises(ReportError, match=needle):
            verify_report(path, identity=homes["KZ.identity"])


def test_verifying_needs_exactly_one_trust_source_and_the_right_identity(signed, homes: dict) -> None:
    _, path = signed
    with pytest.raises(ReportError, match="exactly one of an identity file or a node home"):
        verify_report(path)
    with pytest.raises(ReportError, match="exactly one"):
        verify_report(path, identity=homes["KZ.identity"], home=homes["CN"])
    with pytest.raises(ReportError, match=r"signed by 'KZ', but .*CN.identity.json is the identity of 'CN'"):
        verify_report(path, identity=homes["CN.identity"])


# -- the command line ----------------------------------------------------------------------


def test_cli_verify_report_prints_one_valid_line_or_the_reason(signed, homes: dict, monkeypatch, capsys) -> None:
    from tamga.cli import main

    run, path = signed
    assert main(["conformance", "verify-report", str(path), "--identity", str(homes["KZ.identity"])]) == 0
    out = capsys.readouterr().out
    want = f"valid: signed by KZ, verdict FAIL, 7 cases, node mode, target 127.0.0.1:7400, session {run.session_id}\n"
    assert out == want
    monkeypatch.setenv("TAMGA_HOME", str(homes["CN"]))  # the default home: the signer's key from CN's manifest
    assert main(["conformance", "verify-report", str(path)]) == 0
    assert capsys.readouterr().out.startswith("valid: signed by KZ")
    _edit(path, lambda d: d.update(report=d["report"].replace('"strict":false', '"strict":true')))
    assert main(["conformance", "verify-report", str(path), "--home", str(homes["KZ"])]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"tamga: error: {path}: the signature does not verify with KZ's key ed25519:1")
    assert err.count("\n") == 1
    with pytest.raises(SystemExit) as usage:
        main(["conformance", "verify-report", str(path), "--home", "a", "--identity", "b"])
    assert usage.value.code == 2


def test_cli_requirements_lists_each_requirement_with_the_registered_cases(capsys) -> None:
    from tamga.cli import main
    from tamga.conformance._catalogue import registry

    assert main(["conformance", "requirements", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in data["requirements"]][: len(REQS)] == list(REQS)
    want: dict[str, set[str]] = {}
    for spec in registry().values():
        for rid in spec.requirements:
            want.setdefault(rid, set()).add(spec.id)
    assert {r["id"]: set(r["cases"]) for r in data["requirements"] if r["cases"]} == want
    assert data["uncovered"] == [rid for rid in REQS if rid not in want]
    assert main(["conformance", "requirements", "--mode", "adapter"]) == 0
    text = capsys.readouterr().out
    assert "\nENV\n" in text and text.strip().splitlines()[-1].startswith(f"{len(REQS)} requirements, ")


def test_the_requirements_table_marks_uncovered_requirements() -> None:
    from tamga.conformance._requirements import format_coverage

    cover = {rid: [] for rid in REQS} | {"FDX-ENV-3": ["ENV-003"], "FDX-ENV-4": ["ENV-003", "ENV-004"]}
    lines = format_coverage(REQS, cover, as_json=False).splitlines()
    row = {line.split()[0]: line.split(None, 3) for line in lines if line.startswith("  FDX-")}
    assert row["FDX-ENV-3"][1:3] == ["MUST", "ENV-003"] and row["FDX-ENV-4"][2] == "ENV-003,"
    assert row["FDX-TRN-1"][2] == "UNCOVERED" and row["FDX-TRN-10"][1] == "SHOULD"
    assert lines[-1].startswith(f"{len(REQS)} requirements, 2 covered by a case, {len(REQS) - 2} uncovered: FDX-TRN-1,")
