"""Two submitters on one store (the running node and 'tamga send'): a commit whose numbers another process
took meanwhile is refused by the store and numbered again, so the peer's stream has no hole and no repeat."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from tamga.adapters.json_records import JsonAdapter
from tamga.intake import Submitter
from tamga.protocol import open_stored
from tamga.store import Store
from tamga.v1 import envelope_pb2

from .nodes import declaration, open_node, pair, records_file


def test_a_commit_overtaken_by_another_process_is_numbered_again(tmp_path: Path) -> None:
    async def go() -> None:
        kz_home, uz_home = pair(tmp_path)
        node = await open_node(kz_home)
        uz = await open_node(uz_home)
        other_store = await Store.open(node.store.path, create=False)  # a second connection: 'tamga send'
        try:
            mine = Submitter(local=node.local, peers=node.peers, store=node.store, adapter=JsonAdapter())
            other = Submitter(local=node.local, peers=node.peers, store=other_store, adapter=JsonAdapter())
            two, three = ([declaration("KZ", ["UZ"]) for _ in range(n)] for n in (2, 3))
            first = await mine.prepare(records_file(two), source="mine.json")
            theirs = await other.prepare(records_file(three), source="theirs.json")
            enqueue = node.store.enqueue
            calls: list[int] = []

            async def overtaken(*args: Any, **kwargs: Any) -> None:
                calls.append(len(calls))
                if len(calls) == 1:  # between numbering and committing, the other process commits
                    await other.commit(theirs)
                await enqueue(*args, **kwargs)

            node.store.enqueue = overtaken  # type: ignore[method-assign]
            sub = await mine.commit(first)
            assert len(calls) == 2, "the overtaken commit was not refused and numbered again"
            assert sorted(s.sequence for s in sub.sealed) == [4, 5]  # after the other's 1, 2, 3
            rows = await node.store.outbox_states()
            assert len(rows) == 5
            # The numbers are inside the signed headers too.
            numbers = []
            for row in await node.store.queued("UZ", after_seq=0, limit=10, max_bytes=1 << 30):
                env = envelope_pb2.Envelope.FromString(row.envelope)
                numbers.append(envelope_pb2.EnvelopeHeader.FromString(env.header).sequence)
                open_stored(row.envelope, local=uz.local, peers=uz.peers)  # seals and signature still hold
            assert numbers == [1, 2, 3, 4, 5]
        finally:
            await other_store.close()
            await node.store.close()
            await uz.store.close()

    asyncio.run(go())
