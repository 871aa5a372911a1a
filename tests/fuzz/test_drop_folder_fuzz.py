"""Hostile files through the real drop folder of a real node, for every adapter: the folder keeps moving.

A node of each adapter (keys, SQLite store, peers for its sample's receivers,
in ``tmp_path``) runs its drop folder (``DropFolder.run``, as the node runs
it). Into its outgoing folder go, one after the other, the structured hostile
inputs of the adapter's format (nested 200,000 levels deep, just under and
just over ``[limits] max_file_bytes``, huge fields and counts, binary
garbage) and mutated samples, each followed by a good file (a sample of the
adapter). For each pair:

- the hostile file leaves the outgoing folder, to processed/ (it was
  accepted) or to failed/ beside its report;
- the good file after it is queued (committed to the outbox with the intake
  record) and moved to processed/.

A hostile file left in the outgoing folder holds up every file after it
(the node retries it first, for ever), so each case that fails is named.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import time
from pathlib import Path

import pytest
from tamga.tools import fuzz

from .test_fuzz_short import BUILT_IN

#: [limits] max_file_bytes of the nodes here; the huge inputs go just under and just over it.
LIMIT = 2 * 1024 * 1024  # above the deep inputs (200,000 levels of JSON objects are 1.2 MB)
SCALE = 1 / 32
MUTATED = 12
WAIT = 8.0  # seconds for one hostile file and the good file after it


def _mutations(seeds: list[bytes], count: int) -> list[tuple[str, bytes]]:
    rng = random.Random(11)
    out = []
    for i in range(count):
        base = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 16)):
            at = rng.randrange(len(base))
            kind = rng.randrange(3)
            if kind == 0:
                base[at] = rng.randrange(256)
            elif kind == 1:
                del base[at : at + rng.randint(1, 64)]
            else:
                base[at:at] = base[at : at + rng.randint(1, 64)] * rng.randint(2, 50)
        out.append((f"mutated-{i}", bytes(base)))
    return out


async def _wait(predicate, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await predicate():
            return True
        await asyncio.sleep(0.02)
    return bool(await predicate())


@pytest.mark.parametrize("name", BUILT_IN)
def test_hostile_files_never_stop_the_drop_folder(name: str, tmp_path: Path) -> None:
    node = fuzz.DropFolderNode(name, tmp_path, max_file_bytes=LIMIT, poll_interval="20ms")
    folder = node.folder
    fmt = fuzz.build_target(f"{name}.decode", tmp_path / "unused").fmt
    cases = list(fuzz.hostile_inputs(fmt, node.good, (LIMIT,), scale=SCALE))
    cases += _mutations([b for _, b in fuzz.seed_inputs(name)], MUTATED)
    labels = [label for label, _ in cases]
    assert any(label.startswith("huge-") for label in labels) and any(label.startswith("binary-") for label in labels)
    good_sha = hashlib.sha256(node.good).digest()
    stuck: list[str] = []
    unreported: list[str] = []

    async def scenario() -> None:
        task = asyncio.create_task(folder.run())
        try:
            for label, data in cases:
                hostile = node.drop(data, "hostile")
                good = node.drop(node.good, "good")

                async def moved(hostile: Path = hostile, good: Path = good) -> bool:
                    return (
                        not hostile.exists()
                        and not good.exists()
                        and await node.node.store.intake_seen(good.name, good_sha)
                    )

                if not await _wait(moved, WAIT):
                    stuck.append(label)
                    hostile.unlink(missing_ok=True)  # so the cases after it are tried on their own
                    good.unlink(missing_ok=True)
                    continue
                failed = folder.failed / hostile.name
                if failed.exists():
                    report = json.loads(failed.with_name(failed.name + ".error.json").read_text("utf-8"))
                    assert report["file"] == hostile.name and report["error"]["message"], label
                elif not (folder.processed / hostile.name).exists():
                    unreported.append(label)
                assert (folder.processed / good.name).exists(), f"{label}: the good file after it"
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    try:
        node.loop.run_until_complete(scenario())
        queued_from_good = node.queued_from("good-")
    finally:
        node.close()
    assert not stuck, f"{name}: the drop folder stopped at {len(stuck)} of {len(cases)} hostile files: {stuck}"
    assert not unreported, f"{name}: hostile files neither processed nor failed: {unreported}"
    assert queued_from_good >= 1  # the first good file's records went into the outbox
