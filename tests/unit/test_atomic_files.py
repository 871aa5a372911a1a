"""Files handed to the national system appear whole, flushed, with or without syncfs."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
from tamga import intake
from tamga.intake import write_files_atomically


@pytest.mark.parametrize("flush", ["syncfs", "no-syncfs", "syncfs-fails"])
def test_every_file_is_in_place_and_no_temporary_name_is_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flush: str
) -> None:
    calls: list[int] = []
    if flush == "no-syncfs":
        monkeypatch.setattr(intake, "_syncfs", None)
    elif flush == "syncfs-fails":

        def failing(fd: int) -> int:
            calls.append(fd)
            return -1

        monkeypatch.setattr(intake, "_syncfs", failing)
    files = [(f"KZ-{i:012d}.json", f'{{"n": {i}}}\n'.encode() * (i + 1)) for i in range(20)]
    intake.write_files_atomically(tmp_path, files)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(name for name, _ in files)
    for name, data in files:
        assert (tmp_path / name).read_bytes() == data
    if flush == "syncfs-fails":
        assert calls, "syncfs was tried before falling back to fsync per file"


def test_writing_again_replaces_the_file_instead_of_adding_one(tmp_path: Path) -> None:
    intake.write_files_atomically(tmp_path, [("KZ-1.json", b"first")])
    intake.write_files_atomically(tmp_path, [("KZ-1.json", b"second")])
    assert [p.name for p in tmp_path.iterdir()] == ["KZ-1.json"]
    assert (tmp_path / "KZ-1.json").read_bytes() == b"second"


def test_a_write_that_fails_leaves_no_partial_file_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The disk fills in the middle of a file: the error comes out, and neither the partial temporary file
    nor a file under the final name is left in the folder."""
    real_write = os.write
    calls = {"n": 0}

    def failing_write(fd: int, data: object) -> int:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, bytes(data)[:10])  # type: ignore[arg-type]

    monkeypatch.setattr(os, "write", failing_write)
    with pytest.raises(OSError, match="No space left"):
        write_files_atomically(tmp_path, [("KZ-000000000001.json", b"x" * 100)])
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []
