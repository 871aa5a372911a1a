"""The adapter commands as a national IT team uses them, through the real ``tamga`` console script.

``tamga adapter decode`` and ``encode`` translate one file without a node,
``tamga validate`` checks records as intake does, ``tamga adapters list``
shows what is installed, and ``tamga adapter new`` writes a package that
installs, is found by the node and passes its own tests. Rules under test:
refused input exits 2 with one line naming the file and the place in it,
never a traceback; output is UTF-8 with national text unescaped.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree
from tamga.adapters.json_records import JsonAdapter
from tamga.adapters.sdk.records import canonical_json

from .helpers import assert_one_line_error, declaration, describe, records_file, run_tamga

pytestmark = pytest.mark.slow

ADAPTERS = Path(__file__).resolve().parents[2] / "adapters"
JSON_SAMPLE = ADAPTERS / "samples" / "kz-export-declarations.json"
EAEU_SAMPLE = ADAPTERS / "eaeu" / "samples" / "kz-export-r036-hcfc22-wheat.xml"
PYTHON = Path(sys.executable)
# Into a folder of its own, so that the project's environment stays as it is; the node finds the adapter
# through the dist-info there when that folder is on PYTHONPATH.
PIP_INSTALL = [str(PYTHON), "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index"]
INSTALL_TIMEOUT = 240.0  # seconds: building and installing the generated package, or running its tests


def needs(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path.relative_to(ADAPTERS)} is not there")
    return path


def lines_mentioning(text: str, needle: str) -> int:
    """1-based number of the first line of ``text`` containing ``needle``."""
    return next(n for n, line in enumerate(text.splitlines(), start=1) if needle in line)


# -- decode ---------------------------------------------------------------------------------------


def test_decode_prints_indented_canonical_json(tmp_path: Path) -> None:
    source = tmp_path / "in.json"
    source.write_bytes(records_file([declaration("DEC-1", exporter="ТОО «Қазақ Химия»", description="一氯二氟甲烷")]))
    result = run_tamga("adapter", "decode", "json", source)
    assert result.returncode == 0, describe(result)
    assert result.stderr == ""
    assert "ТОО «Қазақ Химия»" in result.stdout and "一氯二氟甲烷" in result.stdout, "national text is escaped"
    assert result.stdout.startswith('{\n  "records": [\n'), "not indented"
    records = JsonAdapter().decode(source.read_bytes())
    assert json.loads(result.stdout) == json.loads(canonical_json(records))


def test_decode_of_a_national_file(tmp_path: Path) -> None:
    sample = needs(EAEU_SAMPLE)
    result = run_tamga("adapter", "decode", "eaeu", sample)
    assert result.returncode == 0, describe(result)
    doc = json.loads(result.stdout)
    kinds = [next(k for k in r if k != "meta") for r in doc["records"]]
    assert kinds[0] == "declarationSnapshot" and "odsShipment" in kinds, kinds
    first = doc["records"][0]
    assert first["meta"]["senderCountry"] == "KZ" and first["meta"]["sourceFormat"] == "EEC:R.036"
    assert first["declarationSnapshot"]["exporter"]["name"] == "ТОО «АстанаХимТрейд»"
    assert first["declarationSnapshot"]["items"][0]["netMass"] == {"value": "1000", "unit": "KGM"}


def test_decode_of_malformed_json_names_file_line_and_column(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"records": [\n  {"meta": }\n]}\n', "utf-8")
    result = run_tamga("adapter", "decode", "json", bad)
    assert result.returncode == 2, describe(result)
    line = assert_one_line_error(result, f"{bad}: json adapter: not valid JSON", "line 2", "column")
    assert result.stdout == "", line


def test_decode_of_a_windows_1251_file_declared_utf8_says_where(tmp_path: Path) -> None:
    text = needs(EAEU_SAMPLE).read_text("utf-8")
    ansi = tmp_path / "ansi.xml"
    ansi.write_bytes(text.encode("cp1251"))
    result = run_tamga("adapter", "decode", "eaeu", ansi)
    assert result.returncode == 2, describe(result)
    line = assert_one_line_error(result, f"{ansi}: eaeu adapter:", "cp1251")
    assert f"line {lines_mentioning(text, 'ЭК')}," in line, line
    assert f"file {ansi.name}" not in line, "the file is named twice"


def test_decode_of_an_unknown_unit_names_the_xpath(tmp_path: Path) -> None:
    text = needs(EAEU_SAMPLE).read_text("utf-8")
    old = 'measurementUnitCode="166" measurementUnitCodeListId="2016">1000<'
    assert old in text
    bad = tmp_path / "unit.xml"
    bad.write_text(text.replace(old, old.replace('"166"', '"999"'), 1), "utf-8")
    result = run_tamga("adapter", "decode", "eaeu", bad)
    assert result.returncode == 2, describe(result)
    line = assert_one_line_error(result, f"{bad}: eaeu adapter:", "'999'", "xpath /GoodsDeclaration/")
    assert f"line {lines_mentioning(text, old)}" in line, line


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["adapter", "decode", "no_such_adapter", "{sample}"], ["no adapter named 'no_such_adapter'", "json"]),
        (["adapter", "decode", "json", "{tmp}/missing.json"], ["missing.json: cannot read"]),
        (["adapter", "decode", "json", "{sample}", "--option", "colour=red"], ["has no option 'colour'"]),
        (["adapter", "decode", "json", "{sample}", "--option", "colour"], ["expected KEY=VALUE"]),
        (["adapter", "encode", "json", "{tmp}/missing.json"], ["missing.json: cannot read"]),
        (["validate", "{sample}", "--option", "a=1"], ["--option needs --adapter"]),
        (["validate", "{sample}", "--adapter", "no_such_adapter"], ["no adapter named 'no_such_adapter'"]),
    ],
)
def test_refused_command_lines_exit_2(tmp_path: Path, args: list[str], needles: list[str]) -> None:
    sample = needs(JSON_SAMPLE)
    result = run_tamga(*(a.format(sample=sample, tmp=tmp_path) for a in args))
    assert result.returncode == 2, describe(result)
    assert_one_line_error(result, *needles)


def test_an_adapter_option_reaches_the_adapter() -> None:
    """csv reads a national spreadsheet only with its mapping: --option mapping_file=PATH."""
    sample = needs(ADAPTERS / "csv" / "samples" / "kz-broker-export-register.csv")
    mapping = sample.with_name("kz-broker-export-register.mapping.toml")
    with_option = run_tamga("adapter", "decode", "csv", sample, "--option", f"mapping_file={mapping}")
    assert with_option.returncode == 0, describe(with_option)
    assert json.loads(with_option.stdout)["records"], describe(with_option)
    without = run_tamga("adapter", "decode", "csv", sample)
    assert without.returncode == 2, describe(without)
    assert_one_line_error(without, f"{sample}: csv adapter:", "line 1")


# -- encode ---------------------------------------------------------------------------------------


def test_encode_to_a_national_format_and_back(tmp_path: Path) -> None:
    decoded = run_tamga("adapter", "decode", "eaeu", needs(EAEU_SAMPLE))
    assert decoded.returncode == 0, describe(decoded)
    records = tmp_path / "records.json"
    records.write_text(decoded.stdout, "utf-8")

    to_stdout = subprocess.run(
        [str(PYTHON.parent / "tamga"), "adapter", "encode", "eaeu", str(records)],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert to_stdout.returncode == 0, to_stdout.stderr.decode("utf-8", "replace")
    root = etree.fromstring(to_stdout.stdout)
    assert etree.QName(root).localname == "GoodsDeclaration"
    texts = [el.text for el in root.iter() if isinstance(el.tag, str)]
    assert "ТОО «АстанаХимТрейд»" in texts, "the exporter's name is not written as text"

    out = tmp_path / "again.xml"
    result = run_tamga("adapter", "encode", "eaeu", records, "--output", out)
    assert result.returncode == 0, describe(result)
    assert result.stdout == "" and f"wrote {out}" in result.stderr
    assert out.read_bytes() == to_stdout.stdout
    again = run_tamga("adapter", "decode", "eaeu", out)
    assert json.loads(again.stdout) == json.loads(decoded.stdout), "decode(encode(records)) changed the records"


def test_encode_refusals_exit_2(tmp_path: Path) -> None:
    not_json = tmp_path / "records.json"
    not_json.write_bytes('{"records": [{"declarationSnapshot": {"declarationNo": "Ü"}}]}'.encode("latin-1"))
    result = run_tamga("adapter", "encode", "json", not_json)
    assert result.returncode == 2, describe(result)
    assert_one_line_error(result, f"{not_json}: json adapter:", "UTF-8")

    # A record type the national format does not carry.
    alert = needs(ADAPTERS / "samples" / "cn-contact-point-alert.json")
    result = run_tamga("adapter", "encode", "eaeu", alert)
    assert result.returncode == 2, describe(result)
    assert_one_line_error(result, f"{alert}: eaeu adapter:", "contact_point_message", "records[0]")


# -- validate -------------------------------------------------------------------------------------


def test_validate_counts_valid_records() -> None:
    sample = needs(JSON_SAMPLE)
    count = len(JsonAdapter().decode(sample.read_bytes()))
    result = run_tamga("validate", sample)
    assert result.returncode == 0, describe(result)
    assert result.stdout == f"{sample}: {count} records valid\n" and result.stderr == ""


def test_validate_a_national_file_with_its_adapter() -> None:
    sample = needs(EAEU_SAMPLE)
    result = run_tamga("validate", sample, "--adapter", "eaeu")
    assert result.returncode == 0, describe(result)
    assert re.fullmatch(rf"{re.escape(str(sample))}: [2-9] records valid\n", result.stdout), describe(result)


def test_validate_lists_every_problem_with_its_path(tmp_path: Path) -> None:
    good = json.loads(needs(JSON_SAMPLE).read_text("utf-8"))["records"][0]
    assert "declarationSnapshot" in good and good["declarationSnapshot"]["items"][0]["netMass"]
    bad_country, bad_unit = copy.deepcopy(good), copy.deepcopy(good)
    bad_country["meta"]["receiverCountries"] = ["uz"]
    bad_unit["declarationSnapshot"]["items"][0]["netMass"]["unit"] = "KGS"
    source = tmp_path / "three.json"
    source.write_bytes(records_file([good, bad_country, bad_unit]))
    result = run_tamga("validate", source)
    assert result.returncode == 2, describe(result)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert "Traceback" not in result.stderr
    assert lines[-1] == (
        f"tamga: error: {source}: {len(lines) - 1} problem(s) in 2 of 3 record(s); nothing in this file would be sent"
    ), describe(result)
    problems = lines[:-1]
    assert all(p.startswith(f"{source}: records[") for p in problems), describe(result)
    assert any("records[1].meta.receiver_countries" in p and "'uz'" in p for p in problems), describe(result)
    assert any("records[2].declaration_snapshot.items[0].net_mass.unit" in p and "'KGS'" in p for p in problems)
    assert not any("records[0]" in p for p in problems), "the good record was reported"


def test_validate_of_a_refused_file_is_one_located_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"records": [\n  {"meta": }\n]}\n', "utf-8")
    result = run_tamga("validate", bad)
    assert result.returncode == 2, describe(result)
    assert_one_line_error(result, f"{bad}: json adapter:", "line 2")


# -- adapters list --------------------------------------------------------------------------------


def fake_distribution(site: Path, name: str, entry_points: str) -> None:
    """A distribution that declares adapters, with no code: enough for importlib.metadata."""
    info = site / f"{name}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n", "utf-8")
    (info / "entry_points.txt").write_text(f"[tamga.adapters]\n{entry_points}\n", "utf-8")


def test_adapters_list_describes_each_adapter_and_survives_a_broken_one(tmp_path: Path) -> None:
    site = tmp_path / "site"
    fake_distribution(site, "broken_adapter", "broken = no_such_module_anywhere:Adapter")
    result = run_tamga("adapters", "list", env={"PYTHONPATH": str(site)})
    assert result.returncode == 0, describe(result)
    out = result.stdout
    assert re.search(r"^json\s+tamga\.adapters\.json_records:JsonAdapter\n\s+suffix \.json,", out, re.M), out
    assert re.search(
        r"^eaeu\s+tamga\.adapters\.eaeu:EaeuAdapter\n\s+suffix \.xml, source format EEC:R\.036, ", out, re.M
    )
    assert re.search(r"^csv\s+.*\n\s+suffix \.csv.*\n\s+options: .*mapping_file", out, re.M), out
    assert re.search(
        r"^broken\s+no_such_module_anywhere:Adapter\n\s+cannot be loaded: .*no_such_module_anywhere", out, re.M
    )
    assert "Traceback" not in out + result.stderr


# -- adapter new: the package installs, is found, and its tests pass --------------------------------


def test_adapter_new_refuses_bad_names_and_existing_folders(tmp_path: Path) -> None:
    result = run_tamga("adapter", "new", "Demo-XX", cwd=tmp_path)
    assert result.returncode == 2, describe(result)
    assert_one_line_error(result, "'Demo-XX'", "lowercase")
    result = run_tamga("adapter", "new", "json", cwd=tmp_path)
    assert_one_line_error(result, "'json' is already installed")
    (tmp_path / "taken").mkdir()
    result = run_tamga("adapter", "new", "demo_xx", "--dir", tmp_path / "taken", cwd=tmp_path)
    assert result.returncode == 2, describe(result)
    assert_one_line_error(result, "taken already exists")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"] and not any((tmp_path / "taken").iterdir())


def test_adapter_new_package_installs_is_listed_and_passes_its_tests(tmp_path: Path) -> None:
    result = run_tamga("adapter", "new", "demo_xx", cwd=tmp_path)
    assert result.returncode == 0, describe(result)
    package = tmp_path / "tamga-adapter-demo-xx"
    assert (package / "pyproject.toml").is_file(), describe(result)
    assert "tamga_adapter_demo_xx/adapter.py" in result.stdout

    site = tmp_path / "site"
    install = subprocess.run(
        [*PIP_INSTALL, "--target", str(site), str(package)],
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT,
        check=False,
        cwd=tmp_path,
    )
    assert install.returncode == 0, describe(install)
    assert (site / "tamga_adapter_demo_xx" / "samples" / "import-ods.txt").is_file(), "samples were not installed"
    env = {"PYTHONPATH": str(site)}

    listed = run_tamga("adapters", "list", env=env)
    assert listed.returncode == 0, describe(listed)
    assert re.search(
        r"^demo_xx\s+tamga_adapter_demo_xx:DemoXxAdapter\n\s+suffix \.txt, source format DEMO_XX:DECLARATION-TEXT,"
        r" records: declaration_snapshot$",
        listed.stdout,
        re.M,
    ), describe(listed)

    sample = site / "tamga_adapter_demo_xx" / "samples" / "export-declaration.txt"
    decoded = run_tamga("adapter", "decode", "demo_xx", sample, env=env)
    assert decoded.returncode == 0, describe(decoded)
    (record,) = json.loads(decoded.stdout)["records"]
    assert record["declarationSnapshot"]["declarationNo"] == "50101/140326/0001234"
    assert record["declarationSnapshot"]["exporter"]["name"] == "ТОО «Казхимпром»"
    assert run_tamga("validate", sample, "--adapter", "demo_xx", env=env).returncode == 0

    tests = subprocess.run(
        [str(PYTHON), "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT,
        check=False,
        cwd=package,
        env={**{k: v for k, v in os.environ.items() if k != "PYTHONPATH"}, **env},
    )
    assert tests.returncode == 0, describe(tests)
    summary = tests.stdout.strip().splitlines()[-1]
    assert re.search(r"\b(2[0-9]|[3-9][0-9]) passed\b", summary) and "failed" not in summary, describe(tests)
