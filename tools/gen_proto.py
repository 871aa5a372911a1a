"""Generate the Python code for proto/tamga/v1 (``make proto``).

The .proto tree mirrors the import path: ``proto/tamga/v1/records.proto``
becomes ``tamga.v1.records_pb2`` next to it, so the absolute imports that
protoc writes (``from tamga.v1 import common_pb2``) resolve without any
patching. ``--check`` regenerates into a scratch folder and exits 1 if the
committed files differ (the tests call it).
"""

from __future__ import annotations

import argparse
import filecmp
import re
import sys
import tempfile
from importlib import resources
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "proto"
PACKAGE_DIR = PROTO_ROOT / "tamga" / "v1"
GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")


def generate(out_dir: Path) -> list[Path]:
    """Run protoc over every .proto of tamga.v1, writing below ``out_dir``.

    Returns:
        The generated files, relative to ``out_dir``.

    Raises:
        RuntimeError: protoc failed.
    """
    from grpc_tools import protoc

    well_known = resources.files("grpc_tools") / "_proto"
    sources = sorted(p.relative_to(PROTO_ROOT).as_posix() for p in PACKAGE_DIR.glob("*.proto"))
    args = [
        "grpc_tools.protoc",
        f"-I{PROTO_ROOT}",
        f"-I{well_known}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *sources,
    ]
    if protoc.main(args) != 0:
        raise RuntimeError("protoc failed on " + " ".join(sources))
    # The gRPC plugin writes a stub for every file; keep it only where a service is declared.
    for source in sources:
        if not re.search(r"(?m)^service\s", (PROTO_ROOT / source).read_text("utf-8")):
            (out_dir / source.replace(".proto", "_pb2_grpc.py")).unlink(missing_ok=True)
    return sorted(
        p.relative_to(out_dir) for p in (out_dir / "tamga" / "v1").iterdir() if p.name.endswith(GENERATED_SUFFIXES)
    )


def committed() -> list[Path]:
    return sorted(p.relative_to(PROTO_ROOT) for p in PACKAGE_DIR.iterdir() if p.name.endswith(GENERATED_SUFFIXES))


def check() -> list[str]:
    """Problems between the committed generated files and a fresh generation."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh = generate(Path(tmp))
        problems = []
        have = committed()
        for rel in sorted(set(fresh) | set(have)):
            if rel not in have:
                problems.append(f"{rel}: missing; run 'make proto' and commit it")
            elif rel not in fresh:
                problems.append(f"{rel}: no longer generated; delete it")
            elif not filecmp.cmp(Path(tmp) / rel, PROTO_ROOT / rel, shallow=False):
                problems.append(f"{rel}: stale; run 'make proto' and commit it")
        return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if committed code is stale")
    args = parser.parse_args(argv)
    if args.check:
        problems = check()
        for line in problems:
            print(line, file=sys.stderr)
        return 1 if problems else 0
    for stale in committed():
        (PROTO_ROOT / stale).unlink()
    for rel in generate(PROTO_ROOT):
        print(f"generated proto/{rel}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
