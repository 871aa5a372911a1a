"""The adapter-mode conformance suite, checked the way a national team uses it.

What a team relies on, and what these tests show:

- every built-in national adapter (and the JSON adapter on the shared
  samples) passes every case through ``tamga conformance adapter``, exit 0,
  with report.json, junit.xml and report.html written, and a signed report
  that ``tamga conformance verify-report`` accepts;
- each deliberately broken adapter (``mutant_adapters.py``) fails exactly the
  cases that check its fault and passes the others; a prerequisite that fails
  leaves the cases after it BLOCKED, not failed;
- the verdict fails closed: a SHOULD failure warns, and fails the run with
  ``--strict``; a statement under which no case applies fails the run; a
  statement without XML makes the XML case NOT-APPLICABLE; ``--case``
  narrows the plan to a development run that says so;
- bad input stops before any case with one line and exit 2;
- the catalogue, the capability statement and the transcript refuse what
  they must, by name.

The suite runs are separate processes (as a team runs them); they are started
together once for the module and share two cores.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import tamga.conformance.cases.adapter_cases  # noqa: F401 - registers the adapter cases
from tamga.cli import main
from tamga.conformance import CapabilityError, CatalogueError, case, cases_for
from tamga.conformance._capability import derive_for_adapter, load_capabilities, parse_capabilities
from tamga.conformance._catalogue import order_cases, registry, select
from tamga.conformance.plugin import Transcript, load_adapter_under_test
from tamga.errors import AdapterError
from tamga.v1 import records_pb2

ROOT = Path(__file__).resolve().parents[2]
NATIONAL = ("eaeu", "asycuda", "icegate", "edifact", "china", "csv")
XML = ("eaeu", "asycuda", "china")
ADAPTER_CASES = [s.id for s in cases_for("adapter")]

EAEU_STATEMENT = """\
[statement]
node_id = "KZ-CUSTOMS"
country = "KZ"
adapter = "eaeu"
protocol_versions = [{versions}]
record_types = ["declaration_snapshot", "ods_shipment"]
formats = ["eaeu"]

[features]
xml = {xml}
"""

#: Each broken adapter: the status of every case that must not PASS (all others must).
MUTANTS: dict[str, dict[str, str]] = {
    # Folding text to ASCII loses the samples' Cyrillic and Chinese (round trip), changes the
    # national fields written (mapping), and loses every script the suite puts in.
    "AsciiFoldingEaeu": {"ADP-001": "FAIL", "ADP-002": "WARN", "ADP-004": "FAIL"},
    # Leaving party ids out of the files loses them in the round trip and in the national fields.
    "IdDroppingEaeu": {"ADP-001": "FAIL", "ADP-002": "WARN"},
    # Not reading the exchange rate (undeclared) is a mapping gap only: the round trip is consistent.
    "RateIgnoringEaeu": {"ADP-002": "WARN"},
    # Mapping unknown unit codes to kilograms accepts what must be refused.
    "UnitGuessingEaeu": {"SCH-006": "FAIL"},
    # Returning the rows before a bad one: truncated files, and a file whose last row holds an
    # unknown currency, give records instead of a refusal. CSV is not XML.
    "PartialCsv": {"ADP-003": "FAIL", "SCH-006": "FAIL", "SCH-005": "NOT-APPLICABLE"},
    # Records without a sender country are invalid (SCH-001), so every case after it is BLOCKED.
    "SenderlessEaeu": {"SCH-001": "FAIL"} | {i: "BLOCKED" for i in ADAPTER_CASES if i != "SCH-001"},
}


@dataclass
class Ran:
    """One finished run of ``tamga conformance adapter``."""

    rc: int
    out: str
    err: str
    dir: Path

    @property
    def report(self) -> dict[str, Any]:
        return json.loads((self.dir / "report.json").read_text("utf-8"))

    def statuses(self) -> dict[str, str]:
        return {r["id"]: r["status"] for r in self.report["results"]}

    def not_passed(self) -> dict[str, str]:
        return {i: s for i, s in self.statuses().items() if s != "PASS"}


Cli = Callable[..., subprocess.CompletedProcess[str]]


def _runs(root: Path, run_tamga: Cli) -> dict[str, list[str]]:
    """Every suite run the module checks, by name: the command line after ``tamga``."""
    statements = root / "statements"
    statements.mkdir()
    (statements / "no-xml.toml").write_text(EAEU_STATEMENT.format(versions="1", xml="false"), "utf-8")
    (statements / "protocol-2.toml").write_text(EAEU_STATEMENT.format(versions="2", xml="true"), "utf-8")
    home = root / "signer"
    init = run_tamga(["init", str(home), "--id", "KZ", "--country", "KZ"], cwd=root)
    assert init.returncode == 0, init.stderr

    def suite(name: str, target: str, *extra: str) -> list[str]:
        return ["conformance", "adapter", target, "--report-dir", str(root / name), *extra]

    runs = {name: suite(name, name) for name in NATIONAL if name != "eaeu"}
    runs["eaeu"] = suite("eaeu", "eaeu", "--sign-with", str(home))
    runs["json"] = suite("json", "json", "--samples", str(ROOT / "adapters" / "samples"))
    # Fewer fuzzing examples where the built-in adapters are not being certified: these runs
    # check what a fault or an option does to the verdict.
    few = ("--examples", "20")
    runs |= {m: suite(m, f"mutant_adapters:{m}", *few) for m in MUTANTS}
    runs["strict"] = suite("strict", "mutant_adapters:RateIgnoringEaeu", "--strict", *few)
    runs["no-xml"] = suite("no-xml", "eaeu", "--capabilities", str(statements / "no-xml.toml"), *few)
    runs["protocol-2"] = suite("protocol-2", "eaeu", "--capabilities", str(statements / "protocol-2.toml"))
    runs["development"] = suite("development", "eaeu", "--case", "adp-004")
    return runs


@pytest.fixture(name="ran", scope="module")
def _ran(tmp_path_factory: pytest.TempPathFactory, tamga_cli: Cli) -> dict[str, Ran]:
    root = tmp_path_factory.mktemp("conformance-adapter")
    runs = _runs(root, tamga_cli)

    def go(item: tuple[str, list[str]]) -> tuple[str, Ran]:
        name, args = item
        done = tamga_cli(args, cwd=root)
        return name, Ran(done.returncode, done.stdout, done.stderr, root / name)

    with ThreadPoolExecutor(max_workers=3) as pool:
        return dict(pool.map(go, runs.items()))


def _junit_cases(run: Ran) -> dict[str, str]:
    """JUnit testcases by case id: 'failure', 'error', 'skipped' or 'passed'."""
    out = {}
    for tc in ET.parse(run.dir / "junit.xml").getroot().iter("testcase"):
        kind = next((c.tag for c in tc if c.tag in ("failure", "error", "skipped")), "passed")
        out[tc.get("name", "").split(" ")[0]] = kind
    return out


# -- every built-in adapter passes ---------------------------------------------------------


@pytest.mark.parametrize("name", [*NATIONAL, "json"])
def test_a_builtin_adapter_passes_every_case_with_every_report_written(ran: dict[str, Ran], name: str) -> None:
    run = ran[name]
    assert run.rc == 0, f"{name}: exit {run.rc}\n{run.out[-3000:]}\n{run.err[-2000:]}"
    report = run.report
    assert report["verdict"] == "PASS" and report["verdict_reasons"] == []
    assert report["plan"] == ADAPTER_CASES
    assert not report["development"] and report["capabilities"]["derived"]
    assert report["mode"] == "adapter" and report["sut"]["adapter"] == name
    expected = {"SCH-005": "NOT-APPLICABLE"} if name not in XML else {}
    assert run.not_passed() == expected
    assert (run.dir / "report.html").read_text("utf-8").count("ADP-001") >= 1
    junit = _junit_cases(run)
    assert len(junit) == len(ADAPTER_CASES)
    assert "failure" not in junit.values() and "error" not in junit.values()
    assert "Verdict: PASS" in run.out
    for result in report["results"]:
        if result["status"] == "PASS":
            assert result["transcript"], f"{result['id']} recorded nothing of what it did"


def test_a_certification_run_is_signed_and_the_signature_verifies(ran: dict[str, Ran], tamga_cli: Cli) -> None:
    run = ran["eaeu"]
    signed = run.dir / "report.signed.json"
    assert signed.is_file(), run.out[-2000:]
    check = tamga_cli(
        ["conformance", "verify-report", str(signed), "--home", str(run.dir.parent / "signer")], cwd=run.dir
    )
    assert check.returncode == 0, check.stderr
    assert "valid: signed by KZ, verdict PASS" in check.stdout


def test_the_eaeu_report_opens_in_headless_chromium_with_every_case_and_status(
    ran: dict[str, Ran], tmp_path: Path
) -> None:
    from test_reports import _Dom, chromium_dom

    run = ran["eaeu"]
    dom = _Dom()
    dom.feed(chromium_dom(run.dir / "report.html", tmp_path))
    results = run.report["results"]
    assert list(dom.cases) == [r["id"] for r in results] == ADAPTER_CASES
    for r in results:
        assert dom.cases[r["id"]]["status"] == r["status"], (r["id"], dom.cases[r["id"]])
    assert dom.texts["verdict"] == "PASS"


def test_transcripts_hold_names_sizes_and_digests_never_sample_contents(ran: dict[str, Ran]) -> None:
    run = ran["eaeu"]
    text = (run.dir / "report.json").read_text("utf-8")
    sample = ROOT / "adapters" / "eaeu" / "samples" / "kz-export-r036-hcfc22-wheat.xml"
    assert hashlib.sha256(sample.read_bytes()).hexdigest() in text
    for secret in ("АстанаХимТрейд", "190440012345", "3f6c2a9e-5b1d-4e0a-9c71-2d8e4b6a0211"):
        assert secret in sample.read_text("utf-8")
        assert secret not in text, f"{secret!r} from a sample is in the report"


# -- broken adapters fail exactly what they break --------------------------------------------


@pytest.mark.parametrize("mutant", sorted(MUTANTS))
def test_a_broken_adapter_fails_exactly_the_cases_of_its_fault(ran: dict[str, Ran], mutant: str) -> None:
    run = ran[mutant]
    expected = MUTANTS[mutant]
    assert run.not_passed() == expected, run.out[-3000:]
    failed = any(s in ("FAIL", "ERROR", "BLOCKED") for s in expected.values())
    assert run.rc == (1 if failed else 0)
    assert run.report["verdict"] == ("FAIL" if failed else "PASS")
    junit = _junit_cases(run)
    assert {i for i, k in junit.items() if k == "failure"} == {i for i, s in expected.items() if s == "FAIL"}
    for result in run.report["results"]:
        if result["status"] in ("FAIL", "WARN"):
            assert result["message"] and "\n" not in result["message"]
        if result["status"] == "BLOCKED":
            assert result["message"] == "prerequisite SCH-001 did not pass (FAIL)"
            assert result["transcript"] == []


def test_strict_turns_a_should_failure_into_a_failed_run(ran: dict[str, Ran]) -> None:
    relaxed, strict = ran["RateIgnoringEaeu"], ran["strict"]
    assert relaxed.rc == 0 and relaxed.not_passed() == {"ADP-002": "WARN"}
    assert strict.rc == 1 and strict.not_passed() == {"ADP-002": "FAIL"}
    assert strict.report["strict"] and strict.report["verdict"] == "FAIL"


# -- the capability statement decides what applies -------------------------------------------


def test_a_statement_without_xml_makes_the_xml_case_not_applicable(ran: dict[str, Ran]) -> None:
    run = ran["no-xml"]
    assert run.rc == 0, run.out[-2000:]
    assert run.not_passed() == {"SCH-005": "NOT-APPLICABLE"}
    result = next(r for r in run.report["results"] if r["id"] == "SCH-005")
    assert result["message"] == "the capability statement does not have feature:xml"
    caps = run.report["capabilities"]
    statement = run.dir.parent / "statements" / "no-xml.toml"
    assert not caps["derived"] and caps["sha256"] == hashlib.sha256(statement.read_bytes()).hexdigest()


def test_a_statement_under_which_no_case_applies_fails_the_run(ran: dict[str, Ran]) -> None:
    run = ran["protocol-2"]
    assert run.rc == 1
    assert set(run.statuses().values()) == {"NOT-APPLICABLE"}
    assert len(run.statuses()) == len(ADAPTER_CASES)
    assert "no case ran" in run.report["verdict_reasons"]


def test_case_narrows_the_plan_to_a_development_run_with_its_prerequisites(ran: dict[str, Ran]) -> None:
    run = ran["development"]
    assert run.rc == 0, run.out[-2000:]
    assert run.report["development"]
    assert run.report["plan"] == ["SCH-001", "ADP-004"]
    assert run.statuses() == {"SCH-001": "PASS", "ADP-004": "PASS"}
    assert "development run, not valid for certification" in run.out
    assert not (run.dir / "report.signed.json").exists()


# -- input that cannot make a run: one line, exit 2 --------------------------------------------


def _usage(tmp_path: Path) -> list[tuple[list[str], str]]:
    bad_key = tmp_path / "bad-key.toml"
    bad_key.write_text(EAEU_STATEMENT.format(versions="1", xml="true") + "tls_version = 3\n", "utf-8")
    wrong_type = tmp_path / "wrong-type.toml"
    wrong_type.write_text(EAEU_STATEMENT.format(versions="1", xml="true").replace('"ods_shipment"', '"ods"'), "utf-8")
    home = tmp_path / "home"
    home.mkdir()
    return [
        (["nosuch"], "no adapter named 'nosuch' is installed"),
        (["mutant_adapters:Nothing"], "module 'mutant_adapters' has no adapter class 'Nothing'"),
        (["eaeu", "--samples", str(tmp_path / "missing")], "missing: no such folder"),
        (["eaeu", "--capabilities", str(bad_key)], "unknown key [features] tls_version"),
        (["eaeu", "--capabilities", str(wrong_type)], "record_types: 'ods' is not a record type"),
        (["eaeu", "--capabilities", str(tmp_path / "none.toml")], "cannot read the capability statement"),
        (["eaeu", "--case", "ADP-001", "--sign-with", str(home)], "a development run (--case)"),
        (["eaeu", "--case", "XYZ-*"], "--case 'XYZ-*' matches no case"),
    ]


def test_bad_input_stops_before_any_case_with_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    monkeypatch.chdir(tmp_path)
    for args, needle in _usage(tmp_path):
        code = main(["conformance", "adapter", *args, "--report-dir", str(tmp_path / "out")])
        err = capsys.readouterr().err
        assert code == 2, (args, err)
        assert err.startswith("tamga: error: ") and err.count("\n") == 1, err
        assert needle in err, (args, err)
    assert not (tmp_path / "out").exists()


# -- the catalogue, the statement and the transcript -------------------------------------------


def _declare(case_id: str, **kw: Any) -> Callable[..., Any]:
    args: dict[str, Any] = {"requirements": ("FDX-ADP-1",), "mode": "adapter"} | kw
    return case(case_id, "a title", **args)


@pytest.mark.parametrize(
    ("case_id", "kw", "needle"),
    [
        ("ADP-1", {}, "three digits"),
        ("ADP-901", {"mode": "browser"}, "mode 'browser'"),
        ("ADP-901", {"severity": "MAY"}, "severity 'MAY'"),
        ("ADP-901", {"requirements": ()}, "non-empty tuple"),
        ("ADP-901", {"requirements": ("ADP-1",)}, "requirement 'ADP-1'"),
        ("ADP-901", {"needs": ("feature",)}, "need 'feature'"),
        ("ADP-901", {"needs": ("colour:red",)}, "need 'colour:red'"),
        ("ADP-901", {"protocol": (2, 1)}, "protocol (2, 1)"),
        ("ADP-901", {"after": ("ADP-901",)}, "its own prerequisite"),
    ],
)
def test_a_malformed_case_declaration_is_refused_by_name(case_id: str, kw: dict[str, Any], needle: str) -> None:
    with pytest.raises(CatalogueError) as info:
        _declare(case_id, **kw)
    assert needle in str(info.value) and repr(case_id) in str(info.value)
    assert "ADP-901" not in registry()


def test_an_id_already_taken_is_refused_naming_both_functions() -> None:
    with pytest.raises(CatalogueError) as info:

        @_declare("ADP-001")
        def test_other() -> None: ...

    assert "adapter_cases:test_adp_001" in str(info.value) and "test_other" in str(info.value)
    assert registry()["ADP-001"].func.endswith("adapter_cases:test_adp_001")


def test_prerequisites_come_first_and_a_selection_brings_them() -> None:
    specs = cases_for("adapter")
    order = [s.id for s in specs]
    for spec in specs:
        for pre in spec.after:
            assert order.index(pre) < order.index(spec.id)
    assert [s.id for s in select(specs, ["ADP-00[45]"])] == ["SCH-001", "ADP-004", "ADP-005"]
    first = registry()["SCH-001"]
    cyclic = [first.__class__(**{**first.__dict__, "after": ("ADP-001",)}), registry()["ADP-001"]]
    with pytest.raises(CatalogueError, match=r"cycle: .*SCH-001"):
        order_cases(cyclic)


@pytest.mark.parametrize(
    ("toml", "needle"),
    [
        ("[statement]\nprotocol_versions = [1]\n", "[statement] record_types is missing"),
        ('[statement]\nprotocol_versions = [1]\nrecord_types = ["x"]\nnode = "KZ"\n', "unknown key [statement] node"),
        ('[statement]\nprotocol_versions = []\nrecord_types = ["ods_shipment"]\n', "protocol_versions must be"),
        ('[statement]\nprotocol_versions = [1]\nrecord_types = ["ods_shipment"]\ncountry = "kz"\n', "'kz' is not"),
        (
            '[statement]\nprotocol_versions = [1]\nrecord_types = ["ods_shipment"]\n[features]\nxml = "yes"\n',
            "[features] xml must be true or false",
        ),
        ('[statement]\nprotocol_versions = [1]\nrecord_types = ["ods_shipment"]\n[extra]\n', "unknown table"),
        ("[statement\n", "not valid TOML"),
    ],
)
def test_a_bad_capability_statement_is_refused_naming_file_and_key(tmp_path: Path, toml: str, needle: str) -> None:
    path = tmp_path / "caps.toml"
    path.write_text(toml, "utf-8")
    with pytest.raises(CapabilityError) as info:
        load_capabilities(path)
    assert str(info.value).startswith(f"{path}: ") and needle in str(info.value)


def test_a_statement_meets_needs_and_a_derived_one_says_so() -> None:
    caps = parse_capabilities(
        {"statement": {"protocol_versions": [1], "record_types": ["seizure_report"]}, "features": {"tls": False}},
        "caps.toml",
        defaults={"xml": True},
    )
    assert caps.has("record_type:seizure_report") and not caps.has("record_type:ods_shipment")
    assert caps.has("feature:xml") and not caps.has("feature:tls") and caps.has("direction:send")
    assert caps.unmet(("feature:xml", "feature:restart_command")) == ["feature:restart_command"]
    aut = load_adapter_under_test("icegate")
    derived = derive_for_adapter(aut.adapter)
    assert derived.derived and derived.adapter == "icegate" and not derived.features["xml"]
    assert derived.sha256 == hashlib.sha256(derived.to_toml().encode()).hexdigest()
    again = parse_capabilities(__import__("tomllib").loads(derived.to_toml()), "derived.toml")
    assert again.as_dict() == derived.as_dict()


def test_an_adapter_class_that_is_not_an_adapter_is_refused() -> None:
    with pytest.raises(AdapterError, match="lacks name, file_suffix, decode, encode"):
        load_adapter_under_test("tamga.conformance._capability:CapabilityError")


def test_the_transcript_keeps_keys_and_record_contents_out() -> None:
    record = records_pb2.Record()
    record.declaration_snapshot.exporter.name = "ТОО «АстанаХимТрейд»"
    t = Transcript()
    t.step(
        "did things",
        signing_key=b"\x01" * 32,
        private_seed="00" * 32,
        record=record,
        records=[record, record],
        body="ТОО «АстанаХимТрейд»",
        message_id=b"\x02" * 16,
        blob=b"\x03" * 100,
        sample=Path("/secret/place/kz.xml"),
    )
    d = t.steps[0].details
    assert d["signing_key"] == "<redacted>" and d["private_seed"] == "<redacted>"
    assert d["record"].startswith("<record: declaration_snapshot, ") and "sha256" in d["record"]
    assert d["records"].startswith("<2 records: declaration_snapshot, ")
    assert d["body"].startswith("<text, ") and d["blob"].startswith("<100 bytes, sha256 ")
    assert d["message_id"] == "02" * 16 and d["sample"] == "kz.xml"
    assert "АстанаХимТрейд" not in json.dumps(d, ensure_ascii=False)
    assert t.steps[0].at >= 0


# Loaded before the plan is made, so its case is in the catalogue of that run.
BROKEN_SUITE_CONFTEST = """
import pytest
from tamga.conformance import case


@pytest.fixture
def samples():
    raise RuntimeError("the samples folder went away")


@case("ADP-990", "A case that skips itself", requirements=("FDX-ADP-1",), mode="adapter")
def test_adp_990(transcript):
    pytest.skip("not today")
"""

BROKEN_SUITE_CASES = """
from conftest import test_adp_990
from tamga.conformance.cases.adapter_cases import test_sch_001
"""


def test_a_broken_fixture_or_a_case_skipping_itself_is_an_error_and_fails_the_run(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(BROKEN_SUITE_CONFTEST, "utf-8")
    (tmp_path / "test_broken.py").write_text(BROKEN_SUITE_CASES, "utf-8")
    args = ["-c", "/dev/null", "-p", "no:cacheprovider", "-p", "tamga.conformance.plugin", "test_broken.py"]
    args += ["--tamga-adapter", "eaeu", "--tamga-case", "SCH-001", "--tamga-case", "ADP-990"]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", *args, "--tamga-report-dir", "out"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stdout[-3000:]
    report = json.loads((tmp_path / "out" / "report.json").read_text("utf-8"))
    got = {r["id"]: (r["status"], r["message"]) for r in report["results"]}
    assert got == {
        "SCH-001": ("ERROR", "setup failed: RuntimeError: the samples folder went away"),
        "ADP-990": ("ERROR", "the case skipped itself (declare needs= instead): not today"),
    }
    assert report["verdict"] == "FAIL" and report["development"]


def test_under_plain_pytest_a_planned_case_left_out_fails_the_run(tmp_path: Path) -> None:
    args = ["-c", "/dev/null", "-p", "no:cacheprovider", "-p", "tamga.conformance.plugin"]
    args += ["--pyargs", "tamga.conformance.cases.adapter_cases", "--tamga-adapter", "icegate"]
    args += ["--tamga-examples", "10", "--tamga-report-dir", "out", "-k", "not adp_004"]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", *args], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 1, done.stdout[-3000:]
    report = json.loads((tmp_path / "out" / "report.json").read_text("utf-8"))
    assert not report["development"] and "ADP-004" in report["plan"]
    assert "ADP-004" not in {r["id"] for r in report["results"]}
    assert "planned cases with no result: ADP-004" in report["verdict_reasons"]
    assert all(r["status"] in ("PASS", "NOT-APPLICABLE") for r in report["results"])
