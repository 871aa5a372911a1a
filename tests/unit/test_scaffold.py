"""``tamga adapter new``, in process: names, the rendered package, and the adapter it holds.

The installed package and its generated tests run as real processes in
tests/process/test_adapter_cli.py; here the rendering rules and the
generated adapter's behaviour are pinned down quickly.
"""

from __future__ import annotations

import importlib
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from tamga.adapters.sdk import testing
from tamga.adapters.sdk.records import canonical_json
from tamga.errors import AdapterError
from tamga.scaffold import ScaffoldError, check_adapter_name, new_adapter, placeholders, template_root
from tamga.v1 import records_pb2

EXPECTED_FILES = {
    "README.md",
    "pyproject.toml",
    "tests/test_adapter.py",
    "tamga_adapter_{name}/__init__.py",
    "tamga_adapter_{name}/adapter.py",
    "tamga_adapter_{name}/py.typed",
    "tamga_adapter_{name}/samples/export-declaration.txt",
    "tamga_adapter_{name}/samples/import-ods.txt",
}


@pytest.mark.parametrize("name", ["demo_xx", "tj", "eaeu2", "uz_uzasicom_v2"])
def test_usable_names(name: str) -> None:
    check_adapter_name(name)


@pytest.mark.parametrize(
    "name", ["", "Demo", "demo-xx", "2demo", "_demo", "demo_", "demo__xx", "démo", "demo xx", "x" * 41, "demo.xx"]
)
def test_unusable_names_are_refused(name: str) -> None:
    with pytest.raises(ScaffoldError, match="lowercase letters"):
        check_adapter_name(name)


def test_placeholders_of_a_name() -> None:
    assert placeholders("demo_xx") == {
        "name": "demo_xx",
        "package": "tamga_adapter_demo_xx",
        "dist": "tamga-adapter-demo-xx",
        "class_name": "DemoXxAdapter",
        "source_format": "DEMO_XX:DECLARATION-TEXT",
    }


def test_template_files_are_not_python_to_this_project() -> None:
    """Template files end in .tmpl: ruff and pytest of this repository must not read the unrendered code."""
    root = Path(str(template_root()))
    files = [p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    assert files, f"no template at {root}"
    assert [p for p in files if p.suffix != ".tmpl"] == []


def test_new_adapter_writes_the_whole_package(tmp_path: Path) -> None:
    target = tmp_path / "pkg"
    written = new_adapter("demo_xx", target)
    assert {str(p) for p in written} == {f.format(name="demo_xx") for f in EXPECTED_FILES}
    for rel in written:
        text = (target / rel).read_text("utf-8")
        assert "${" not in text and "$name" not in text, f"{rel} has an unrendered placeholder"
        if rel.suffix == ".py":
            compile(text, str(rel), "exec")
    project = tomllib.loads((target / "pyproject.toml").read_text("utf-8"))
    assert project["project"]["name"] == "tamga-adapter-demo-xx"
    assert project["project"]["dependencies"] == ["tamga"]
    assert project["project"]["entry-points"]["tamga.adapters"] == {"demo_xx": "tamga_adapter_demo_xx:DemoXxAdapter"}
    assert project["build-system"]["build-backend"] == "setuptools.build_meta"
    assert [p.name for p in tmp_path.iterdir()] == ["pkg"], "a staging folder was left behind"


def test_an_existing_target_is_never_written_into(tmp_path: Path) -> None:
    target = tmp_path / "mine"
    target.mkdir()
    (target / "keep.txt").write_text("mine", "utf-8")
    with pytest.raises(ScaffoldError, match="already exists"):
        new_adapter("demo_xx", target)
    assert [p.name for p in target.iterdir()] == ["keep.txt"]
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ScaffoldError, match="already exists"):
        new_adapter("demo_xx", empty)
    assert list(empty.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "mine"]


def test_a_bad_name_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(ScaffoldError):
        new_adapter("Bad-Name", tmp_path / "pkg")
    assert list(tmp_path.iterdir()) == []


def test_a_missing_parent_folder_is_created(tmp_path: Path) -> None:
    new_adapter("demo_xx", tmp_path / "a" / "b" / "pkg")
    assert (tmp_path / "a" / "b" / "pkg" / "pyproject.toml").is_file()


# -- the generated adapter, imported from the rendered folder ----------------------------------


@pytest.fixture(name="generated")
def _generated(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[ModuleType]:
    """The generated package, importable under a name unique to the test."""
    name = f"gen_{abs(hash(request.node.nodeid)) % 10**8}"
    new_adapter(name, tmp_path / "pkg")
    sys.path.insert(0, str(tmp_path / "pkg"))
    try:
        yield importlib.import_module(f"tamga_adapter_{name}")
    finally:
        sys.path.remove(str(tmp_path / "pkg"))
        for mod in [m for m in sys.modules if m.startswith(f"tamga_adapter_{name}")]:
            del sys.modules[mod]


def adapter_of(module: ModuleType) -> object:
    (cls,) = [getattr(module, n) for n in module.__all__ if n.endswith("Adapter")]
    return cls()


def test_generated_adapter_passes_the_shared_checks(generated: ModuleType) -> None:
    adapter = adapter_of(generated)
    samples = testing.sample_files(adapter.samples)  # type: ignore[attr-defined]
    assert [p.name for p in samples] == ["export-declaration.txt", "import-ods.txt"]
    for sample in samples:
        testing.check_sample(adapter, sample)  # type: ignore[arg-type]
        testing.check_round_trip(adapter, sample)  # type: ignore[arg-type]
    testing.check_random_bytes(adapter, samples, examples=100)  # type: ignore[arg-type]


def test_generated_adapter_writes_a_declaration_from_another_format(generated: ModuleType) -> None:
    """A declaration the eaeu adapter read, with fields this format lacks, is written without failing."""
    from tamga.adapters import load_adapter

    eaeu = load_adapter("eaeu")
    sample = Path(str(eaeu.samples)) / "kz-export-r036-hcfc22-wheat.xml"  # type: ignore[attr-defined]
    if not sample.exists():
        pytest.skip("the eaeu sample is not there")
    records = eaeu.decode(sample.read_bytes(), source=sample.name)
    adapter = adapter_of(generated)
    again = adapter.decode(adapter.encode(records))  # type: ignore[attr-defined]
    original = records[0].declaration_snapshot
    copy = again[0].declaration_snapshot
    assert copy.declaration_no == original.declaration_no
    assert [i.commodity.hs6 for i in copy.items] == [i.commodity.hs6 for i in original.items]
    assert [i.net_mass for i in copy.items] == [i.net_mass for i in original.items]
    assert again[0].meta.sender_country == records[0].meta.sender_country
    assert [r.WhichOneof("body") for r in again] == [r.WhichOneof("body") for r in records]


def test_generated_adapter_refuses_an_ods_shipment_on_its_own(generated: ModuleType) -> None:
    adapter = adapter_of(generated)
    sample = adapter.samples / "import-ods.txt"  # type: ignore[attr-defined]
    _, ods = adapter.decode(sample.read_bytes())  # type: ignore[attr-defined]
    assert ods.WhichOneof("body") == "ods_shipment"
    assert not adapter.can_encode(ods)  # type: ignore[attr-defined]
    with pytest.raises(AdapterError, match=r"cannot carry an? ods_shipment") as info:
        adapter.encode([ods])  # type: ignore[attr-defined]
    assert info.value.location == {"record": "records[0]"}


def test_generated_adapter_decodes_a_file_of_two_declarations(generated: ModuleType) -> None:
    adapter = adapter_of(generated)
    export = (adapter.samples / "export-declaration.txt").read_bytes()  # type: ignore[attr-defined]
    imports = (adapter.samples / "import-ods.txt").read_bytes()  # type: ignore[attr-defined]
    records = adapter.decode(export + b"\n" + imports)  # type: ignore[attr-defined]
    assert [r.WhichOneof("body") for r in records] == ["declaration_snapshot", "declaration_snapshot", "ods_shipment"]
    assert canonical_json(adapter.decode(adapter.encode(records))) == canonical_json(records)  # type: ignore[attr-defined]
    assert isinstance(records[0], records_pb2.Record)
