"""Files handed to the national system appear whole, flushed, with or without syncfs."""

from __future__ import annotations

from pathlib import Path

import pytest
from tamga import intake


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
