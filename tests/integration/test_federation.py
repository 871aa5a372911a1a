"""A federation of five real nodes (in-process, TLS, loopback): membership, gossip, agreements, keys, forks.

Each node directory gets the genesis manifest in HOME/federation before its
node starts (as ``tamga federation apply`` would write it); later versions
are built with :mod:`tamga.federation`, signed by k members, and reach the
nodes either through the folder (what ``apply`` does) or by gossip.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import pytest
from tamga.app import Node
from tamga.config import load_config
from tamga.crypto import EncryptionKey, SigningKey, write_private_key_file
from tamga.errors import RoutingError
from tamga.federation import (
    Changes,
    FederationState,
    genesis_proposal,
    member_from_identity,
    sign_manifest,
    successor_proposal,
    verify_genesis,
)
from tamga.home import load_local_identity
from tamga.protocol import LocalIdentity, Peer, read_identity, seal
from tamga.tools.federation import free_port
from tamga.v1 import envelope_pb2, federation_pb2

from .nodes import (
    as_record,
    contact_message,
    db_path,
    declaration,
    make_home,
    query,
    records_file,
    stop_all,
    wait_until,
)

R = envelope_pb2.RejectReason
S = envelope_pb2.ReceiptStatus
FIVE = [("KZ", "KZ"), ("UZ", "UZ"), ("KG", "KG"), ("TJ", "TJ"), ("CN", "CN")]
FED = "sco-customs-test"


class Member:
    """A node directory of the test federation, with its keys and its manifest entry."""

    def __init__(self, root: Path, node_id: str, country: str) -> None:
        self.port = free_port()
        self.home = make_home(root, node_id, country, listen=f"127.0.0.1:{self.port}")
        self.node_id = node_id
        self.local: LocalIdentity = load_local_identity(load_config(self.home))
        self.peer: Peer = read_identity(self.local.identity_document([f"127.0.0.1:{self.port}"], time.time()))

    @property
    def folder(self) -> Path:
        return self.home / "federation"

    def entry(self) -> federation_pb2.Member:
        """The member entry with the node's own signed identity (as 'tamga federation propose --add' makes it)."""
        return member_from_identity(self.local.identity_document([f"127.0.0.1:{self.port}"], time.time()))


def members(root: Path, which: Sequence[tuple[str, str]] = FIVE) -> dict[str, Member]:
    return {nid: Member(root, nid, c) for nid, c in which}


def sign_by(signed: federation_pb2.SignedManifest, signers: Sequence[Member]) -> federation_pb2.SignedManifest:
    for m in signers:
        signed = sign_manifest(signed, m.node_id, m.local.signing_key)
    return signed


def genesis(
    ms: dict[str, Member], *, allow: Sequence[tuple[str, str, Sequence[str]]] = (("*", "*", ["*"]),)
) -> federation_pb2.SignedManifest:
    proposal = genesis_proposal(
        federation_id=FED,
        founders=[m.entry() for m in ms.values()],
        threshold=3,
        allow=[(s, r, list(t)) for s, r, t in allow],
        issued_at=time.time() - 60,
        summary="test federation",
    )
    return sign_by(proposal, list(ms.values()))


def install(ms: Sequence[Member], chain: Sequence[federation_pb2.SignedManifest]) -> None:
    """Write the chain into each node's HOME/federation (before the node starts)."""
    for m in ms:
        state = FederationState.create(m.folder, chain[0])
        offer = state.offer(list(chain[1:]), source="test")
        assert not offer.refused, offer.refused


def apply(m: Member, *versions: federation_pb2.SignedManifest) -> None:
    """What ``tamga federation apply`` does to a running node's folder."""
    state = FederationState.load(m.folder)
    offer = state.offer(list(versions), source="apply")
    assert offer.adopted and not offer.refused, offer


def inbox(home: Path, sender: str) -> list[tuple[str, str]]:
    return [
        (r[0], r[1])
        for r in query(db_path(home), "SELECT message_id, record_type FROM inbox WHERE sender = ?", (sender,))
    ]


def outbox_states(home: Path, peer: str) -> list[str]:
    return [r[0] for r in query(db_path(home), "SELECT state FROM outbox WHERE peer = ?", (peer,))]


def quiet(nodes: Sequence[Node], *, gossip: float = 3600.0) -> None:
    """Fast folder polls; periodic pulls only as asked (so tests see gossip by exchange)."""
    for n in nodes:
        n.federation.folder_poll = 0.1
        n.federation.gossip_interval = gossip


def sealed_from(sender: LocalIdentity, to: Peer, record: dict[str, object], *, now: float | None = None) -> bytes:
    rec = as_record(record)
    return seal(
        local=sender,
        peer=to,
        record_bytes=rec.SerializeToString(),
        record_type=rec.WhichOneof("body") or "",
        message_id=str(uuid.uuid4()),
        now=time.time() if now is None else now,
    ).envelope


async def receipt_for(node: Node, envelope: bytes) -> envelope_pb2.Receipt:
    """Hand one envelope to a running node's receiver, as its gRPC server would; the receipt."""
    batch = envelope_pb2.EnvelopeBatch(
        batch_id=str(uuid.uuid4()), envelopes=[envelope_pb2.Envelope.FromString(envelope)]
    )
    signed = await node.receiver.receive_batch(batch)
    (receipt,) = envelope_pb2.ReceiptBatch.FromString(signed.receipt_batch).receipts
    return receipt


async def start_nodes(homes: Sequence[Path]) -> list[Node]:
    """Open and start every node; members reach each other at the endpoints the manifest lists."""
    nodes: list[Node] = []
    try:
        for h in homes:
            nodes.append(await Node.open(load_config(h)))
        for n in nodes:
            await n.start_server()
        for n in nodes:
            await n.start_work()
    except BaseException:
        await stop_all(*nodes)
        raise
    return nodes


def by_id(nodes: Sequence[Node]) -> dict[str, Node]:
    return {n.local.node_id: n for n in nodes}


# -- membership ---------------------------------------------------------------------


def test_nodes_take_their_peers_from_the_manifest_and_exchange(tmp_path: Path) -> None:
    ms = members(tmp_path)
    install(list(ms.values()), [genesis(ms)])

    async def main() -> None:
        nodes = await start_nodes([m.home for m in ms.values()])
        try:
            n = by_id(nodes)
            assert {p.node_id for p in n["KZ"].peers} == {"UZ", "KG", "TJ", "CN"}
            assert n["KZ"].federation.version == 1
            await n["KZ"].submitter.submit(records_file([declaration("KZ", ["UZ", "CN"])]), source="a.json")
            await wait_until(
                lambda: len(inbox(ms["UZ"].home, "KZ")) == 1 and len(inbox(ms["CN"].home, "KZ")) == 1,
                "KZ's declaration at UZ and CN",
            )
        finally:
            await stop_all(*nodes)

    asyncio.run(main())


def test_sixth_member_exchanges_only_after_the_manifest_that_adds_it_reached_the_peers_by_gossip(
    tmp_path: Path,
) -> None:
    ms = members(tmp_path)
    pk = Member(tmp_path, "PK", "PK")
    v1 = genesis(ms)
    first = verify_genesis(v1)
    v2 = successor_proposal(
        first,
        Changes(add=[pk.entry()], allow=[("PK", "*", ["*"]), ("*", "PK", ["*"])]),
        issued_at=time.time() - 30,
        summary="admit Pakistan",
    )
    v2 = sign_by(v2, [ms["KZ"], ms["UZ"], ms["KG"]])  # k = 3 of the five
    install(list(ms.values()), [v1])
    install([pk], [v1, v2])

    async def main() -> None:
        nodes = await start_nodes([m.home for m in [*ms.values(), pk]])
        try:
            quiet(nodes)
            n = by_id(nodes)
            assert n["PK"].federation.version == 2 and "UZ" in n["PK"].peers
            assert "PK" not in n["UZ"].peers
            # Before the peers hold version 2, PK's records are refused: UZ answers an envelope of
            # PK's UNKNOWN_SENDER, and its TLS server does not even accept PK's connection.
            receipt = await receipt_for(n["UZ"], sealed_from(pk.local, ms["UZ"].peer, declaration("PK", ["UZ"])))
            assert receipt.status == S.RECEIPT_STATUS_REJECTED and receipt.reason == R.REJECT_REASON_UNKNOWN_SENDER
            assert "not a peer of federation manifest version 1" in receipt.detail
            await n["PK"].submitter.submit(records_file([declaration("PK", ["UZ"])]), source="pk.json")
            await asyncio.sleep(1.5)
            assert inbox(ms["UZ"].home, "PK") == []
            assert outbox_states(pk.home, "UZ") == ["queued"]

            # `tamga federation apply` of version 2 at KZ; KZ's next batch to UZ names version 2,
            # UZ fetches it from KZ, adopts it, pins PK's certificate and accepts its record.
            apply(ms["KZ"], v2)
            await wait_until(lambda: n["KZ"].federation.version == 2, "KZ reloads its federation folder")
            assert "PK" in n["KZ"].peers and "PK" in n["KZ"].queues
            await n["KZ"].submitter.submit(records_file([declaration("KZ", ["UZ"])]), source="kz.json")
            await wait_until(lambda: n["UZ"].federation.version == 2, "UZ adopts version 2 by gossip")
            assert (ms["UZ"].folder / "manifests" / "v000002.pb").read_bytes() == v2.SerializeToString()
            await wait_until(lambda: len(inbox(ms["UZ"].home, "PK")) == 1, "PK's record accepted by UZ")
            await wait_until(lambda: outbox_states(pk.home, "UZ") == ["delivered"], "PK holds UZ's receipt")
            # KG, TJ and CN hear of it by the periodic pull, and accept PK too.
            for nid in ("KG", "TJ", "CN"):
                n[nid].federation.gossip_interval = 0.2
            await wait_until(lambda: all(n[x].federation.version == 2 for x in ("KG", "TJ", "CN")), "all adopt v2")
            await n["PK"].submitter.submit(records_file([declaration("PK", ["KG", "CN"])]), source="pk2.json")
            await wait_until(
                lambda: len(inbox(ms["KG"].home, "PK")) == 1 and len(inbox(ms["CN"].home, "PK")) == 1,
                "PK's record accepted by KG and CN",
            )
        finally:
            await stop_all(*nodes)

    asyncio.run(main())


def test_a_removed_members_records_are_refused_everywhere(tmp_path: Path) -> None:
    ms = members(tmp_path)
    v1 = genesis(ms)
    v2 = sign_by(
        successor_proposal(verify_genesis(v1), Changes(remove=["CN"]), issued_at=time.time() - 30, summary="CN leaves"),
        [ms["KZ"], ms["UZ"], ms["TJ"]],
    )
    install(list(ms.values()), [v1])

    async def main() -> None:
        nodes = await start_nodes([m.home for m in ms.values()])
        try:
            quiet(nodes)
            n = by_id(nodes)
            assert "CN" in n["KZ"].queues
            for nid in ("KZ", "UZ", "KG", "TJ"):
                apply(ms[nid], v2)
            await wait_until(
                lambda: all(n[x].federation.version == 2 for x in ("KZ", "UZ", "KG", "TJ")), "the four apply v2"
            )
            await wait_until(lambda: "CN" not in n["KZ"].queues, "KZ stops delivering to CN")
            for nid in ("KZ", "UZ", "KG", "TJ"):
                assert "CN" not in n[nid].peers
                receipt = await receipt_for(n[nid], sealed_from(ms["CN"].local, ms[nid].peer, declaration("CN", [nid])))
                assert receipt.status == S.RECEIPT_STATUS_REJECTED, nid
                assert receipt.reason == R.REJECT_REASON_UNKNOWN_SENDER, nid
            # CN itself still holds version 1 (it did not sign its removal); its records reach nobody.
            await n["CN"].submitter.submit(records_file([declaration("CN", ["KZ"])]), source="cn.json")
            await asyncio.sleep(1.5)
            assert inbox(ms["KZ"].home, "CN") == []
            # And what KZ routes to CN's country now has no recipient.
            with pytest.raises(RoutingError, match="no peer for receiver country CN"):
                await n["KZ"].submitter.submit(records_file([declaration("KZ", ["CN"])]), source="to-cn.json")
        finally:
            await stop_all(*nodes)

    asyncio.run(main())


# -- agreements ---------------------------------------------------------------------


def test_agreements_are_enforced_at_submit_and_at_the_receiver(tmp_path: Path) -> None:
    ms = members(tmp_path)
    allow = [("KZ", "UZ", ["declaration_snapshot"]), ("UZ", "*", ["*"]), ("KG", "*", ["*"])]
    install(list(ms.values()), [genesis(ms, allow=allow)])

    async def main() -> None:
        nodes = await start_nodes([m.home for m in ms.values()])
        try:
            quiet(nodes)
            n = by_id(nodes)
            with pytest.raises(RoutingError) as err:
                await n["KZ"].submitter.submit(records_file([contact_message("KZ", ["UZ"])]), source="cp.json")
            assert "no agreement in federation manifest version 1 lets KZ send contact_point_message to UZ" in str(
                err.value
            )
            assert "allowed: declaration_snapshot" in str(err.value)
            assert outbox_states(ms["KZ"].home, "UZ") == []  # nothing of the file was queued
            # The allowed type goes through.
            await n["KZ"].submitter.submit(records_file([declaration("KZ", ["UZ"])]), source="d.json")
            await wait_until(lambda: len(inbox(ms["UZ"].home, "KZ")) == 1, "the allowed declaration arrives")
            # A sender that skips the check (another implementation, an older manifest) is refused by the receiver.
            receipt = await receipt_for(
                n["UZ"], sealed_from(ms["KZ"].local, ms["UZ"].peer, contact_message("KZ", ["UZ"]))
            )
            assert receipt.status == S.RECEIPT_STATUS_REJECTED
            assert receipt.reason == R.REJECT_REASON_NO_AGREEMENT
            assert "lets KZ send contact_point_message to UZ" in receipt.detail
            receipt = await receipt_for(n["TJ"], sealed_from(ms["KZ"].local, ms["TJ"].peer, declaration("KZ", ["TJ"])))
            assert receipt.reason == R.REJECT_REASON_NO_AGREEMENT
            # Nothing refused was stored.
            assert len(inbox(ms["UZ"].home, "KZ")) == 1 and inbox(ms["TJ"].home, "KZ") == []
        finally:
            await stop_all(*nodes)

    asyncio.run(main())


# -- keys ---------------------------------------------------------------------------


def test_key_rotation_loses_no_record_in_flight(tmp_path: Path) -> None:
    """Also ENV-009: the new key is accepted; the old one only until the end the manifest gives it."""
    ms = list(members(tmp_path, FIVE[:3]).values())
    kz, uz, kg = ms
    v1 = genesis({m.node_id: m for m in ms})
    install(ms, [v1])

    async def before() -> None:
        # UZ queues records for KZ, sealed to KZ's current encryption key, while KZ is down;
        # KZ queues records for UZ, signed with its current signing key, while UZ is down.
        nodes = await start_nodes([uz.home])
        (u,) = nodes
        try:
            await u.submitter.submit(records_file([declaration("UZ", ["KZ"], i) for i in range(3)]), source="u.json")
        finally:
            await stop_all(u)
        nodes = await start_nodes([kz.home])
        (k,) = nodes
        try:
            await k.submitter.submit(records_file([declaration("KZ", ["UZ"], i) for i in range(3)]), source="k.json")
        finally:
            await stop_all(k)

    asyncio.run(before())
    assert outbox_states(uz.home, "KZ") == ["queued"] * 3 and outbox_states(kz.home, "UZ") == ["queued"] * 3

    # KZ rotates: new key pair as pending files, a version listing them (old keys valid one more hour).
    keys = kz.home / "keys"
    sk2, ek2 = SigningKey.generate(version=2), EncryptionKey.generate(version=2)
    write_private_key_file(keys / "signing.pending.key", sk2)
    write_private_key_file(keys / "encryption.pending.key", ek2)
    now = time.time()
    new_sk = federation_pb2.MemberKey(key_id=sk2.key_id, public_key=sk2.public.raw)
    new_sk.valid_from.FromSeconds(int(now) - 10)
    new_ek = federation_pb2.MemberKey(key_id=ek2.key_id, public_key=ek2.public.raw)
    new_ek.valid_from.FromSeconds(int(now) - 10)
    until = now + 3600
    v2 = successor_proposal(
        verify_genesis(v1),
        Changes(
            new_keys=[("KZ", "signing", new_sk), ("KZ", "encryption", new_ek)],
            key_ends=[("KZ", kz.local.signing_key.key_id, until), ("KZ", kz.local.encryption_key.key_id, until)],
        ),
        issued_at=now - 5,
        summary="KZ rotates its keys",
    )
    v2 = sign_by(v2, ms)
    for m in ms:
        apply(m, v2)

    async def after() -> None:
        nodes = await start_nodes([m.home for m in ms])
        try:
            quiet(nodes)
            n = by_id(nodes)
            assert n["KZ"].local.signing_key.key_id == "ed25519:2"
            assert n["KZ"].local.encryption_key.key_id == "x25519:2"
            assert n["UZ"].peers.get("KZ").encryption_key.key_id == "x25519:2"  # type: ignore[union-attr]
            # Both backlogs arrive: old-key envelopes in both directions are still good.
            await wait_until(lambda: len(inbox(uz.home, "KZ")) == 3, "KZ's old-key records accepted by UZ")
            await wait_until(lambda: len(inbox(kz.home, "UZ")) == 3, "UZ's records to KZ's old key opened by KZ")
            await wait_until(lambda: outbox_states(uz.home, "KZ") == ["delivered"] * 3, "UZ holds receipts")
            await wait_until(lambda: outbox_states(kz.home, "UZ") == ["delivered"] * 3, "KZ holds receipts")
            await wait_until(lambda: len(list((kz.home / "incoming").iterdir())) == 3, "handed off at KZ")
            # New records use the new keys, both ways.
            await n["KZ"].submitter.submit(records_file([declaration("KZ", ["UZ", "KG"], 9)]), source="new.json")
            await n["UZ"].submitter.submit(records_file([declaration("UZ", ["KZ"], 9)]), source="new2.json")
            await wait_until(
                lambda: (
                    len(inbox(uz.home, "KZ")) == 4 and len(inbox(kg.home, "KZ")) == 1 and len(inbox(kz.home, "UZ")) == 4
                ),
                "records sealed with the new keys accepted",
            )
            # An envelope under KZ's old key sealed after that key ended is refused KEY_NOT_VALID.
            late = sealed_from(kz.local, uz.peer, declaration("KZ", ["UZ"]), now=until + 60)
            receipt = await receipt_for(n["UZ"], late)
            assert receipt.reason == R.REJECT_REASON_KEY_NOT_VALID
            assert "signing key ed25519:1 of KZ is not valid" in receipt.detail
        finally:
            await stop_all(*nodes)

    asyncio.run(after())
    # The pending files became the node's keys; the old ones are kept as retired.
    assert not (keys / "signing.pending.key").exists()
    assert load_local_identity(load_config(kz.home)).signing_key.key_id == "ed25519:2"
    assert sorted(p.name for p in keys.glob("*.retired.key")) == [
        "encryption.x25519-1.retired.key",
        "signing.ed25519-1.retired.key",
    ]


# -- forks --------------------------------------------------------------------------


def test_a_fork_is_detected_logged_and_shown_by_status(tmp_path: Path) -> None:
    ms = members(tmp_path)
    v1 = genesis(ms)
    first = verify_genesis(v1)
    v2a = sign_by(
        successor_proposal(first, Changes(threshold=4), issued_at=time.time() - 30, summary="raise k to 4"),
        [ms["KZ"], ms["UZ"], ms["KG"]],
    )
    v2b = sign_by(
        successor_proposal(first, Changes(threshold=2), issued_at=time.time() - 30, summary="lower k to 2"),
        [ms["KG"], ms["TJ"], ms["CN"]],
    )
    install([ms["KZ"], ms["UZ"]], [v1, v2a])
    install([ms["TJ"], ms["CN"]], [v1, v2b])
    install([ms["KG"]], [v1])

    async def main() -> None:
        nodes = await start_nodes([m.home for m in ms.values()])
        try:
            quiet(nodes)
            n = by_id(nodes)
            n["TJ"].federation.gossip_interval = 0.2
            await wait_until(lambda: n["TJ"].federation.fork is not None, "TJ sees the fork")
            fork = n["TJ"].federation.fork
            assert fork is not None and fork["version"] == 2
            # KG signed both versions 2: the alarm names it.
            assert fork["signed_both"] == ["KG"] and "KG signed both versions 2" in str(fork["message"])
            assert (ms["TJ"].folder / "fork.json").is_file()
            # TJ keeps its own version 2.
            assert n["TJ"].federation.state.current.threshold == 2  # type: ignore[union-attr]
        finally:
            await stop_all(*nodes)

    asyncio.run(main())
    out = subprocess.run(
        [sys.executable, "-m", "tamga", "status", "--home", str(ms["TJ"].home), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["federation"]["version"] == 2
    assert doc["federation"]["fork"]["version"] == 2
    text = subprocess.run(
        [sys.executable, "-m", "tamga", "status", "--home", str(ms["TJ"].home)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "FORK: two different valid manifests of version 2" in text.stdout
    assert "KG signed both versions 2 (a member must never sign two versions of one number)" in text.stdout


def test_status_warns_of_keys_ending_within_30_days(tmp_path: Path) -> None:
    ms = members(tmp_path, FIVE[:3])
    soon = time.time() + 10 * 86400
    entries = []
    for m in ms.values():
        e = m.entry()
        if m.node_id == "KZ":
            e.signing_keys[0].valid_until.FromSeconds(int(soon))
        entries.append(e)
    proposal = genesis_proposal(
        federation_id=FED, founders=entries, threshold=2, allow=[("*", "*", ["*"])], issued_at=time.time() - 60
    )
    install(list(ms.values()), [sign_by(proposal, list(ms.values()))])

    def status(home: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "tamga", "status", "--home", str(home)], capture_output=True, text=True, timeout=60
        )

    own, peer = status(ms["KZ"].home), status(ms["UZ"].home)
    assert own.returncode == 0 and peer.returncode == 0, own.stderr + peer.stderr
    assert "federation sco-customs-test: manifest version 1, 3 members" in own.stdout
    assert "warning: this node's signing key ed25519:1 ends" in own.stdout and "rotate it" in own.stdout
    assert "warning: peer KZ's signing key ed25519:1 ends" in peer.stdout
    assert "encryption key" not in own.stdout


def test_a_rotation_applied_only_at_the_sender_is_learned_before_its_envelopes_are_checked(tmp_path: Path) -> None:
    """KZ adopts the version with its new keys and signs with them at once; UZ still holds the
    version before. The batch names KZ's newer version, so UZ fetches it before opening the
    envelopes: they are accepted, not refused for a key UZ did not know yet."""
    ms = list(members(tmp_path, FIVE[:3]).values())
    kz, uz, _kg = ms
    v1 = genesis({m.node_id: m for m in ms})
    install(ms, [v1])
    keys = kz.home / "keys"
    sk2, ek2 = SigningKey.generate(version=2), EncryptionKey.generate(version=2)
    write_private_key_file(keys / "signing.pending.key", sk2)
    write_private_key_file(keys / "encryption.pending.key", ek2)
    now = time.time()
    new_sk = federation_pb2.MemberKey(key_id=sk2.key_id, public_key=sk2.public.raw)
    new_sk.valid_from.FromSeconds(int(now) - 10)
    new_ek = federation_pb2.MemberKey(key_id=ek2.key_id, public_key=ek2.public.raw)
    new_ek.valid_from.FromSeconds(int(now) - 10)
    v2 = sign_by(
        successor_proposal(
            verify_genesis(v1), Changes(new_keys=[("KZ", "signing", new_sk), ("KZ", "encryption", new_ek)]),
            issued_at=now - 5,
        ),
        ms,
    )  # fmt: skip
    apply(kz, v2)  # only KZ

    async def scenario() -> None:
        nodes = await start_nodes([m.home for m in ms])
        try:
            quiet(nodes)  # no periodic pull: only the batch itself can tell UZ
            n = by_id(nodes)
            assert n["KZ"].local.signing_key.key_id == "ed25519:2"
            assert n["UZ"].federation.version == 1  # type: ignore[union-attr]
            await n["KZ"].submitter.submit(records_file([declaration("KZ", ["UZ"], 1)]), source="k.json")
            await wait_until(lambda: outbox_states(kz.home, "UZ") == ["delivered"], "KZ holds UZ's receipt")
            assert len(inbox(uz.home, "KZ")) == 1
            assert n["UZ"].federation.version == 2  # type: ignore[union-attr]
        finally:
            await stop_all(*nodes)

    asyncio.run(scenario())


def test_status_warns_of_a_tls_certificate_ending_within_30_days(tmp_path: Path) -> None:
    from cryptography import x509
    from tamga.federation._node import key_warnings

    ms = members(tmp_path, FIVE[:3])
    install(list(ms.values()), [genesis(ms)])
    state = FederationState.load(ms["UZ"].folder)
    cert = state.current.member("KZ").tls_certificate  # type: ignore[union-attr]
    assert cert, "members carry their pinned TLS certificate"
    ends = x509.load_der_x509_certificate(cert).not_valid_after_utc.timestamp()
    assert not [w for w in key_warnings(state, "UZ", now=ends - 40 * 86400) if w.kind == "TLS certificate"]
    soon = [w for w in key_warnings(state, "UZ", now=ends - 10 * 86400) if w.kind == "TLS certificate"]
    assert {w.node_id for w in soon} == set(ms)  # the three certificates were made seconds apart
    words = next(w for w in soon if w.node_id == "KZ").words(ends - 10 * 86400)
    assert words.startswith("peer KZ's TLS certificate (sha256 ") and "(in 10 days): renew it" in words
