"""The generated protobuf code: current with the .proto files, and importable as installed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from tamga.tools import gen_proto

ROOT = Path(__file__).resolve().parents[2]
V1 = Path("tamga") / "v1"


def test_committed_code_matches_a_fresh_generation() -> None:
    result = subprocess.run(
        [sys.executable, "tools/gen_proto.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"tools/gen_proto.py --check failed:\n{result.stderr}{result.stdout}"
    assert result.stderr == ""


@pytest.fixture
def proto_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of proto/ that gen_proto works on instead of the repository's."""
    root = tmp_path / "proto"
    shutil.copytree(ROOT / "proto", root, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(gen_proto, "PROTO_ROOT", root)
    monkeypatch.setattr(gen_proto, "PACKAGE_DIR", root / V1)
    return root


def test_check_reports_a_changed_generated_file_as_stale(proto_copy: Path) -> None:
    baseline = set(gen_proto.check())
    target = proto_copy / V1 / "records_pb2.py"
    target.write_text(target.read_text("utf-8") + "# edited by hand\n", "utf-8")
    problems = set(gen_proto.check())
    assert problems - baseline == {f"{V1 / 'records_pb2.py'}: stale; run 'make proto' and commit it"}
    assert baseline <= problems


def test_check_reports_missing_and_leftover_files(proto_copy: Path) -> None:
    baseline = set(gen_proto.check())
    (proto_copy / V1 / "envelope_pb2.pyi").unlink()
    (proto_copy / V1 / "retired_pb2.py").write_text("# from a .proto that was removed\n", "utf-8")
    problems = set(gen_proto.check())
    assert problems - baseline == {
        f"{V1 / 'envelope_pb2.pyi'}: missing; run 'make proto' and commit it",
        f"{V1 / 'retired_pb2.py'}: no longer generated; delete it",
    }


def test_check_reports_a_changed_proto_file(proto_copy: Path) -> None:
    proto = proto_copy / V1 / "common.proto"
    proto.write_text(proto.read_text("utf-8") + "\nmessage Added {\n  string x = 1;\n}\n", "utf-8")
    problems = gen_proto.check()
    assert f"{V1 / 'common_pb2.py'}: stale; run 'make proto' and commit it" in problems
    assert f"{V1 / 'common_pb2.pyi'}: stale; run 'make proto' and commit it" in problems


def test_generated_grpc_module_imports_in_a_fresh_interpreter(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    code = (
        "import sys, tamga.v1.exchange_pb2_grpc as m\n"
        "assert m.ExchangeServiceStub and m.ExchangeServiceServicer\n"
        "print(m.__file__)\n"
    )
    # -I: no PYTHONPATH, no user site, no script or current folder on sys.path.
    result = subprocess.run(
        [sys.executable, "-I", "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()) == ROOT / "proto" / V1 / "exchange_pb2_grpc.py"
