"""Node-mode cases: the suite plays a peer against a live node, in both directions.

``tamga conformance node --target HOST:PORT --target-identity FILE --peer-home DIR
[--target-home DIR] [--restart-command CMD]`` runs them; under plain pytest::

    pytest -p tamga.conformance.plugin --pyargs tamga.conformance.cases.node_cases --tamga-mode node \\
        --tamga-target 127.0.0.1:7400 --tamga-target-identity KZ.identity.json --tamga-peer-home suite-peer

The suite's peer (:mod:`tamga.conformance._peer`) sends as the test identity
of ``--peer-home``, which the target must have pinned (``tamga peer add``, then
a restart of the target). Cases where the suite *sends* need only the
target's peer port. Cases where the target *sends* to the suite (ENV-001,
ENV-002, RCP-002, RCP-005..007, SCH-007, ADP-010, IDM-001, IDM-004), where it
is given national files (ADP-011, IDM-005, IDM-006, and SCH-009 for an XML format: capability
``xml``, derived from its adapter) or where its configuration is read (RPL-005)
need the local interface (``--target-home``: the target's node folder on the
same machine; capability ``send_direction``); the restart case (RPL-004) needs
``--restart-command`` (capability ``restart_command``). Without them those cases are
NOT-APPLICABLE; with the local interface the sending cases also check, in
``tamga status``, that nothing refused was stored, and RPL-001 that a replay
was not handed to the national system again.

Every case uses fresh message ids and fresh records (each carries a random
challenge code), so no case depends on another's state in the target beyond
its declared prerequisites.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shlex
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
import tamga
from google.protobuf import json_format
from tamga.conformance._capability import FEATURES, Capabilities, load_capabilities
from tamga.conformance._catalogue import case
from tamga.conformance._craft import SAMPLE_TYPES, batch_of, challenge_file, header_of, hostile_national_files
from tamga.conformance._peer import OLD_TLS_VERSIONS, FakePeer, ReceiptMode, Sent
from tamga.conformance._target import (
    PeerSetupError,
    SuiteIdentity,
    TargetNode,
    check_listen_address,
    load_target,
    preflight,
    target_channel,
)
from tamga.conformance.plugin import ModeSetup
from tamga.crypto import CRYPTO_PROFILE_V1, SALT_SIZE, EncryptionKey
from tamga.errors import CryptoError
from tamga.home import parse_identity_file
from tamga.protocol import (
    ENVELOPE_PURPOSE,
    RECEIPT_PURPOSE,
    SUPPORTED_CRYPTO_PROFILES,
    Opened,
    envelope_digest,
    read_identity,
)
from tamga.v1 import envelope_pb2, exchange_pb2, records_pb2

S = envelope_pb2.ReceiptStatus
R = envelope_pb2.RejectReason
EXCHANGE_SERVICE = exchange_pb2.DESCRIPTOR.services_by_name["ExchangeService"].full_name
GRPC_MESSAGE_LIMIT = 32 * 1024 * 1024
"""The gRPC message size Tamga nodes accept; a batch above it ends the stream RESOURCE_EXHAUSTED."""
UNDER_LIMIT = 16
"""Bytes: how far under the receiver's size limit TRN-010's envelope is."""
PURGE_WAIT = 10.0
"""Seconds: a target keeping received payloads at most this long after hand-off has one purged in RPL-005."""

_NODE = pytest.StashKey[dict[str, Any]]()


# -- options and setup (looked up by tamga.conformance.plugin) ------------------------------


def add_options(group: Any) -> None:
    """The node-mode options of the pytest plugin."""
    group.addoption("--tamga-target", metavar="HOST:PORT", help="node mode: the peer port of the node under test")
    group.addoption(
        "--tamga-target-identity",
        metavar="FILE",
        help="node mode: the target's identity file ('tamga identity export'); pins its keys and TLS certificate",
    )
    group.addoption(
        "--tamga-peer-home",
        metavar="DIR",
        help="node mode: the suite's test identity, made by 'tamga conformance peer-init' and pinned in the target",
    )
    group.addoption(
        "--tamga-target-home",
        metavar="DIR",
        help="node mode: the target's node folder on this machine (lets the suite make it send and see what it did)",
    )
    group.addoption(
        "--tamga-restart-command",
        metavar="CMD",
        help="node mode: a shell command that stops and starts the target again (the replay-after-restart case)",
    )


@dataclass(frozen=True)
class NodeSetup:
    """The checked node-mode input: the target, the suite's test identity, and what the target told."""

    target: TargetNode
    suite: SuiteIdentity
    facts: dict[str, str]


def prepare(
    *,
    target: str | None,
    target_identity: str | Path | None,
    peer_home: str | Path | None,
    target_home: str | Path | None = None,
    restart_command: str | None = None,
    capabilities: str | Path | None = None,
) -> NodeSetup:
    """Check the node-mode input and reach the target once, before any case runs.

    Used by the plugin (:func:`configure`) and by ``tamga conformance node``,
    which reports a failure as one line and exit status 2.

    Raises:
        PeerSetupError: an option is missing or wrong, the suite's peer cannot
            listen, the target cannot be reached as the test identity, or it is
            not the node its identity file names; a capability statement
            claiming a feature the options do not provide.
        CapabilityError: the capability statement is not valid.
    """
    given = {"target": target, "target-identity": target_identity, "peer-home": peer_home}
    missing = [f"--{name}" for name, value in given.items() if not value]
    if missing:
        raise PeerSetupError(f"node mode needs {', '.join(missing)}")
    found = load_target(
        str(target),
        Path(str(target_identity)),
        home=Path(target_home) if target_home else None,
        restart_command=restart_command or None,
    )
    suite = SuiteIdentity.load(Path(str(peer_home)))
    if suite.node_id == found.node_id:
        raise PeerSetupError(f"--peer-home {peer_home}: the suite's identity is the target itself ({suite.node_id})")
    if capabilities:
        caps = load_capabilities(capabilities, defaults=_feature_defaults(found))
        if caps.features.get("send_direction") and found.home is None:
            raise PeerSetupError(
                f"{capabilities}: [features] send_direction = true, but no --target-home was given: the suite makes "
                "the target send through its node folder"
            )
        if caps.features.get("restart_command") and found.restart_command is None:
            raise PeerSetupError(
                f"{capabilities}: [features] restart_command = true, but no --restart-command was given"
            )
    if suite.local.country == found.identity.country:
        raise PeerSetupError(
            f"--peer-home {peer_home}: the test identity's country {suite.local.country} is the target's own; "
            "records between them would be refused (a record goes to another country): make one with another country"
        )
    if found.home is not None:
        # The drop-folder case routes by country, as the target always does: a real peer of the
        # test identity's country would receive the suite's record too.
        sharing = [p.node_id for p in found.peers() if p.country == suite.local.country and p.node_id != suite.node_id]
        if sharing:
            raise PeerSetupError(
                f"--peer-home {peer_home}: the target's peers {', '.join(sharing)} have the test identity's country "
                f"{suite.local.country}, so a record the suite drops into the target's outgoing folder would go to "
                "them too; make the test identity with a country none of the target's peers has"
            )
    check_listen_address(suite.listen)
    facts = preflight(suite, found)
    found.manifest_version = _federation_of(suite, found)
    facts["manifest_version"] = str(found.manifest_version)
    if capabilities and not found.manifest_version:
        stated = load_capabilities(capabilities, defaults=_feature_defaults(found))
        if stated.features.get("manifest"):
            raise PeerSetupError(
                f"{capabilities}: [features] manifest = true, but node {found.node_id} serves no federation manifest "
                "to the suite (it pinned the test identity)"
            )
    return NodeSetup(found, suite, facts)


def _federation_of(suite: SuiteIdentity, target: TargetNode) -> int:
    """The test federation's version the target serves (0: pinned); the suite's copy is brought up to it."""
    from tamga.conformance._federation import fetch_chain, join_target
    from tamga.errors import ManifestError
    from tamga.transport import TlsIdentity

    tls = TlsIdentity(key_pem=suite.local.tls_key, certificate=suite.local.tls_certificate)
    with target_channel(target, tls) as channel:
        try:
            response = fetch_chain(channel)
        except grpc.RpcError as exc:
            if exc.code() == grpc.StatusCode.UNIMPLEMENTED:  # type: ignore[attr-defined]
                return 0  # a node without manifests: the suite is pinned there
            raise PeerSetupError(
                f"--target {target.endpoint}: GetManifest failed ({exc.code().name}: {exc.details()})"  # type: ignore[attr-defined]
            ) from exc
    try:
        return join_target(suite.home, suite.local, response, target.node_id)
    except ManifestError as exc:
        raise PeerSetupError(f"--peer-home {suite.home}: {exc}") from exc


def _feature_defaults(target: TargetNode) -> dict[str, bool]:
    """What the options tell of the features a statement leaves unsaid."""
    return {
        "send_direction": target.home is not None,
        "restart_command": target.restart_command is not None,
        "manifest": target.manifest_version > 0,
    }


def configure(config: pytest.Config) -> ModeSetup:
    """The plugin's node-mode setup: :func:`prepare` from the pytest options.

    Raises:
        PeerSetupError, CapabilityError: see :func:`prepare`.
    """
    setup = prepare(
        target=config.getoption("--tamga-target"),
        target_identity=config.getoption("--tamga-target-identity"),
        peer_home=config.getoption("--tamga-peer-home"),
        target_home=config.getoption("--tamga-target-home"),
        restart_command=config.getoption("--tamga-restart-command"),
        capabilities=config.getoption("--tamga-capabilities"),
    )
    target, suite, facts = setup.target, setup.suite, setup.facts
    config.stash[_NODE] = {"target": target, "suite": suite}
    sut = {
        "node_id": target.node_id,
        "country": target.identity.country,
        "endpoint": target.endpoint,
        "fingerprint": target.identity.fingerprint,
        "tls_certificate_sha256": facts["tls_certificate_sha256"],
        "protocol_versions": facts["protocol_versions"],
        "crypto_profiles": facts["crypto_profiles"],
        "suite_peer": suite.node_id,
        "suite_tamga_version": tamga.__version__,
        "local_interface": str(target.home) if target.home else "not given",
        "restart_command": "given" if target.restart_command else "not given",
    }
    return ModeSetup(
        target=target.endpoint,
        sut=sut,
        derive=lambda: derive_for_node(target, facts),
        feature_defaults=_feature_defaults(target),
    )


def node_arguments(
    *,
    target: str,
    target_identity: str | Path,
    peer_home: str | Path,
    target_home: str | Path | None = None,
    restart_command: str | None = None,
) -> list[str]:
    """The pytest options of node mode, for :func:`tamga.conformance.run`'s ``extra_args``."""
    args = ["--tamga-target", target, "--tamga-target-identity", str(target_identity)]
    args += ["--tamga-peer-home", str(peer_home)]
    if target_home:
        args += ["--tamga-target-home", str(target_home)]
    if restart_command:
        args += ["--tamga-restart-command", restart_command]
    return args


def derive_for_node(target: TargetNode, facts: dict[str, str]) -> Capabilities:
    """A default statement for a node, marked as derived: what its identity and the options tell."""
    import hashlib
    from dataclasses import replace

    from tamga.conformance._capability import RECORD_TYPES

    versions = tuple(sorted(int(v) for v in facts["protocol_versions"].split(",") if v.strip().isdigit())) or (1,)
    features = {name: default for name, (default, _) in FEATURES.items()}
    features.update(_feature_defaults(target))
    adapter = ""
    if target.home is not None:
        from tamga.conformance._capability import adapter_features

        adapter = target.config.adapter.name
        features.update(adapter_features(target.adapter()))  # an XML national format: the DTD case applies
    caps = Capabilities(
        node_id=target.node_id,
        country=target.identity.country,
        adapter=adapter,
        protocol_versions=versions,
        record_types=tuple(t for t in RECORD_TYPES if t in SAMPLE_TYPES),
        formats=(adapter,) if adapter else (),
        features=features,
        derived=True,
        source=f"derived from node {target.node_id} at {target.endpoint}",
    )
    return replace(caps, sha256=hashlib.sha256(caps.to_toml().encode("utf-8")).hexdigest())


# -- fixtures ---------------------------------------------------------------------------------


def _setup(request: pytest.FixtureRequest) -> dict[str, Any]:
    found = request.config.stash.get(_NODE, None)
    if found is None:
        raise pytest.UsageError("node-mode cases run only with --tamga-mode node and its options")
    return found


@pytest.fixture(scope="session")
def target(request: pytest.FixtureRequest) -> TargetNode:
    """The node under test: endpoint, pinned identity, local interface (if given)."""
    found: TargetNode = _setup(request)["target"]
    return found


@pytest.fixture(scope="session")
def peer(request: pytest.FixtureRequest, target: TargetNode) -> Iterator[FakePeer]:
    """The suite's peer, as the test identity: a client to the target and a server for it."""
    suite: SuiteIdentity = _setup(request)["suite"]
    with FakePeer(suite, target) as p:
        yield p


@pytest.fixture(scope="session")
def record_type(capabilities: Capabilities) -> str:
    """The record type the suite sends and has the target send: one the statement names, if the suite has it."""
    for t in capabilities.record_types:
        if t in SAMPLE_TYPES:
            return t
    return SAMPLE_TYPES[0]


# -- helpers ------------------------------------------------------------------------------------


def _name(reason: int) -> str:
    return str(R.Name(reason)).removeprefix("REJECT_REASON_")


def _log(transcript: Any, what: str, sent: Sent) -> None:
    for env, r in zip(sent.batch.envelopes, sent.receipts, strict=True):
        transcript.step(
            what,
            batch_id=sent.batch.batch_id,
            message_id=r.message_id or "(not read)",
            envelope_bytes=len(env.header) + len(env.body) + len(env.signature),
            status=S.Name(r.status).removeprefix("RECEIPT_STATUS_"),
            reason=_name(r.reason) if r.status == S.RECEIPT_STATUS_REJECTED else "-",
            detail=r.detail or "-",
        )


def _envelope_bytes(env: Any) -> int:
    """An envelope's size as a receiver measures it against max_envelope_bytes: header, body and signature."""
    return len(env.header) + len(env.body) + len(env.signature)


def _rejected(receipt: Any, allowed: Collection[int], what: str) -> None:
    """The receipt is REJECTED with one of the ``allowed`` reasons."""
    names = " or ".join(_name(a) for a in allowed)
    if receipt.status != S.RECEIPT_STATUS_REJECTED:
        raise AssertionError(f"{what}: expected REJECTED ({names}), the target answered {S.Name(receipt.status)}")
    assert receipt.reason in allowed, f"{what}: expected {names}, the target refused with {_name(receipt.reason)}"
    assert receipt.detail and "\n" not in receipt.detail, f"{what}: the refusal's detail is not one line of text"


def _accepted(receipt: Any, what: str) -> None:
    assert receipt.status == S.RECEIPT_STATUS_ACCEPTED, (
        f"{what}: expected ACCEPTED, the target answered {S.Name(receipt.status)}"
        + (f" {_name(receipt.reason)}: {receipt.detail}" if receipt.status == S.RECEIPT_STATUS_REJECTED else "")
    )


def _counts(target: TargetNode, peer: FakePeer) -> dict[str, Any] | None:
    """What the target's status says of the suite's peer, or None without the local interface."""
    return target.peer_counts(peer.suite.node_id) if target.home is not None else None


def _nothing_kept(
    transcript: Any, target: TargetNode, peer: FakePeer, before: dict[str, Any] | None, n: int, *, accepted: int = 0
) -> None:
    """With the local interface: the target stored none of ``n`` refused envelopes and logged each as refused.

    ``accepted`` envelopes of the same sending were valid: exactly those are stored.
    """
    if before is None:
        transcript.step("no local interface (--target-home): only the signed receipts were checked")
        return
    after = _counts(target, peer)
    assert after is not None
    transcript.step("target status of the suite's peer", received=after["received"], refused=after["refused"])
    assert after["received"] == before["received"] + accepted, (
        f"the target stored {after['received'] - before['received'] - accepted} of the envelopes it refused "
        f"('tamga status': received {before['received']} -> {after['received']}, {accepted} accepted)"
    )
    assert after["refused"] >= before["refused"] + n, (
        f"the target logged {after['refused'] - before['refused']} refusal(s) for {n} refused envelope(s)"
    )


def _incoming_with(target: TargetNode, code: str, since: float) -> list[Path]:
    """Files of the target's incoming folder, written since ``since``, that carry ``code``."""
    config = target.config
    folder = config.path(config.folders.incoming)
    out = []
    needle = code.encode("utf-8")
    for p in sorted(folder.iterdir()) if folder.is_dir() else []:
        if p.name.startswith(".") or not p.is_file():
            continue
        try:
            if p.stat().st_mtime >= since - 1 and needle in p.read_bytes():
                out.append(p)
        except OSError:
            continue
    return out


def _challenge(record: records_pb2.Record) -> str:
    return str(record.meta.source_record_ref)


def _outbound(peer: FakePeer, target: TargetNode, record_type: str, transcript: Any) -> dict[str, Any]:
    """Make the target send one record to the suite (once per run) and return what arrived."""
    cached: dict[str, Any] | None = peer.shared.get("outbound")
    if cached is not None:
        transcript.step("the target's envelope sent earlier in this run is checked", message_id=cached["mid"])
        return cached
    peer.answer_with(ReceiptMode.CORRECT)
    record = peer.record_for_target_to_send(record_type)
    [mid] = target.submit([record], to=peer.suite.node_id)
    peer.expect([mid])
    transcript.step("made the target send a record to the suite ('tamga send')", message_id=mid, record=record)
    waited = peer.wait_for(lambda: bool(peer.arrivals_of(mid)), f"the target's envelope {mid} at the suite's peer")
    arrival, env, outcome = peer.arrivals_of(mid)[0]
    transcript.step(
        "the envelope arrived",
        seconds=f"{waited:.2f}",
        batch_id=arrival.batch_id,
        client_certificate_sha256=arrival.client_certificate_sha256 or "none",
    )
    found = {"mid": mid, "record": record, "arrival": arrival, "env": env, "outcome": outcome}
    peer.shared["outbound"] = found
    return found


def _no_unexpected_calls(peer: FakePeer, transcript: Any) -> None:
    """The target called the suite only as the suite asked it to."""
    leftovers = peer.leftovers()
    if leftovers:
        transcript.step("envelopes sealed before this run (an earlier run's) were answered", count=len(leftovers))
    unexpected = peer.unexpected_calls()
    transcript.step("calls of the target the suite did not cause", count=len(unexpected))
    assert not unexpected, (
        f"the target made {len(unexpected)} call(s) the suite did not cause, first: {unexpected[0]}"
    )


# -- TRN: transport -----------------------------------------------------------------------------


@case(
    "TRN-001",
    "A valid envelope from the pinned test peer is accepted on an Exchange stream, one signed receipt batch per batch",
    requirements=("FDX-TRN-1",),
    mode="node",
)
def test_trn_001_valid_envelopes_are_accepted_and_receipted(
    peer: FakePeer, target: TargetNode, record_type: str, transcript: Any
) -> None:
    before = _counts(target, peer)
    first = batch_of(peer.craft.valid(peer.record(record_type)))
    second = batch_of(peer.craft.valid(peer.record(record_type)), peer.craft.valid(peer.record(record_type)))
    sent = peer.exchange(first, second)  # one stream, two batches
    for s in sent:
        _log(transcript, "sent a batch on one Exchange stream", s)
    assert [len(s.receipts) for s in sent] == [1, 2]
    for s in sent:
        for r in s.receipts:
            _accepted(r, "a valid envelope")
    if before is not None:
        after = _counts(target, peer)
        assert after is not None
        assert after["received"] == before["received"] + 3, (
            f"'tamga status' shows {after['received'] - before['received']} more received, expected 3"
        )
        transcript.step("target status of the suite's peer", received=after["received"])


@case(
    "TRN-002",
    "A TLS client whose certificate is not pinned is refused before any envelope is read",
    requirements=("FDX-TRN-2",),
    mode="node",
    negative=True,
    after=("TRN-001",),
)
def test_trn_002_unpinned_client_certificate_is_refused(
    peer: FakePeer, target: TargetNode, record_type: str, transcript: Any
) -> None:
    from tamga.v1 import exchange_pb2_grpc

    before = _counts(target, peer)
    stranger = peer.stranger_tls()
    attempts = {
        "a certificate the target never pinned (same node name)": peer.open_channel(stranger),
        "no client certificate at all": peer.open_channel(None, client_certificate=False),
    }
    for what, channel in attempts.items():
        with channel:
            stub = exchange_pb2_grpc.ExchangeServiceStub(channel)
            try:
                stub.GetIdentity(exchange_pb2.GetIdentityRequest(), timeout=10)
            except grpc.RpcError as exc:
                code = exc.code()  # type: ignore[attr-defined]
                transcript.step(f"GetIdentity with {what}", refused=code.name)
            else:
                raise AssertionError(f"the target answered GetIdentity to a TLS client with {what}")
            env = peer.craft.valid(peer.record(record_type))
            try:
                list(stub.Exchange(iter([exchange_pb2.ExchangeRequest(batch=batch_of(env))]), timeout=10))
            except grpc.RpcError as exc:
                code = exc.code()  # type: ignore[attr-defined]
                transcript.step(f"Exchange with {what}", refused=code.name)
            else:
                raise AssertionError(f"the target answered an Exchange stream from a TLS client with {what}")
    if before is not None:
        after = _counts(target, peer)
        assert after is not None and after["received"] == before["received"], (
            "the target stored an envelope sent over a connection it should have refused"
        )


@case(
    "TRN-006",
    "Plaintext gRPC and TLS below version 1.2 are refused on the peer port",
    requirements=("FDX-TRN-6",),
    mode="node",
    negative=True,
    after=("TRN-001",),
)
def test_trn_006_plaintext_and_old_tls_are_refused(peer: FakePeer, transcript: Any) -> None:
    from tamga.v1 import exchange_pb2_grpc

    with grpc.insecure_channel(peer.target.endpoint) as channel:
        try:
            exchange_pb2_grpc.ExchangeServiceStub(channel).GetIdentity(exchange_pb2.GetIdentityRequest(), timeout=10)
        except grpc.RpcError as exc:
            code = exc.code()  # type: ignore[attr-defined]
            transcript.step("GetIdentity over plaintext gRPC", refused=code.name)
        else:
            raise AssertionError("the target answered GetIdentity over plaintext gRPC")
    results = {v.name: peer.handshake(v) for v in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3)}
    for old in OLD_TLS_VERSIONS:
        results[old.name] = peer.handshake(old)
    for version, outcome in results.items():
        transcript.step(f"TLS handshake at exactly {version} with the suite's certificate", outcome=outcome)
    assert any(results[v].startswith("completed") for v in ("TLSv1_2", "TLSv1_3")), (
        "no TLS 1.2 or 1.3 handshake with the suite's pinned certificate completed (the control of this case)"
    )
    for version in ("TLSv1", "TLSv1_1"):
        assert not results[version].startswith("completed"), f"the target completed a {version} handshake"


@case(
    "TRN-008",
    "An envelope over the size limit is refused (OVERSIZE, or RESOURCE_EXHAUSTED above the transport limit) "
    "and the node keeps serving",
    requirements=("FDX-TRN-9", "FDX-HLT-5"),
    mode="node",
    negative=True,
    after=("TRN-001",),
)
def test_trn_008_oversize_is_refused_and_the_node_keeps_serving(
    peer: FakePeer, target: TargetNode, record_type: str, transcript: Any
) -> None:
    limit = target.limits().max_envelope_bytes
    transcript.step(
        "envelope size limit", max_envelope_bytes=limit, source="target's [limits]" if target.home else "default"
    )
    sent = peer.send(peer.craft.oversize(peer.record(record_type), limit + 1))
    _log(transcript, "sent an envelope one byte over the limit (properly sealed)", sent)
    _rejected(sent.receipts[0], [R.REJECT_REASON_OVERSIZE], "an envelope over max_envelope_bytes")
    # Above the transport limit: a channel that lets the suite send it; the target must end the stream.
    huge = envelope_pb2.Envelope(header=b"\x08\x01", body=bytes(GRPC_MESSAGE_LIMIT + 1024), signature=bytes(64))
    from tamga.v1 import exchange_pb2_grpc

    options = [("grpc.max_send_message_length", -1)]
    with peer.open_channel(peer.tls, options=options) as channel:
        stub = exchange_pb2_grpc.ExchangeServiceStub(channel)
        try:
            responses = list(stub.Exchange(iter([exchange_pb2.ExchangeRequest(batch=batch_of(huge))]), timeout=30))
        except grpc.RpcError as exc:
            code = exc.code()  # type: ignore[attr-defined]
            transcript.step("sent a batch above the 32 MiB transport limit", stream_ended=code.name)
            assert code == grpc.StatusCode.RESOURCE_EXHAUSTED, (
                f"a batch above the transport limit ended the stream with {code.name}, not RESOURCE_EXHAUSTED"
            )
        else:
            assert len(responses) == 1 and responses[0].receipts.receipt_batch, "no receipt for the huge batch"
            rb = envelope_pb2.ReceiptBatch.FromString(responses[0].receipts.receipt_batch)
            transcript.step("sent a batch above the 32 MiB transport limit", answered=S.Name(rb.receipts[0].status))
            _rejected(rb.receipts[0], [R.REJECT_REASON_OVERSIZE], "an envelope above the transport limit")
    assert peer.health() == "SERVING", "the target stopped serving after oversized input"
    after = peer.send(peer.craft.valid(peer.record(record_type)))
    _log(transcript, "then a valid envelope", after)
    _accepted(after.receipts[0], "a valid envelope after oversized input")


@case(
    "TRN-010",
    "An envelope just under the size limit is accepted and its record handed to the national system intact",
    requirements=("FDX-TRN-10",),
    mode="node",
    severity="SHOULD",
    after=("TRN-001",),
)
def test_trn_010_an_envelope_just_under_the_limit_is_accepted(
    peer: FakePeer, target: TargetNode, record_type: str, transcript: Any
) -> None:
    limit = target.limits().max_envelope_bytes
    # A batch of one travels in one gRPC message: stay below that limit too, whatever [limits] says.
    size = min(limit, GRPC_MESSAGE_LIMIT - 64 * 1024) - UNDER_LIMIT
    transcript.step(
        "envelope size limit",
        max_envelope_bytes=limit,
        source="target's [limits]" if target.home else "the documented default ([limits] max_envelope_bytes)",
        aiming_at=size,
    )
    started = time.time()
    record = peer.record(record_type)
    code = _challenge(record)
    n = 0
    for _ in range(4):  # the text's length prefix may grow by a byte: converge on the size exactly
        pad = ("TAMGA-PAD-" * (n // 10 + 1))[:n]
        record.meta.source_record_ref = f"{code}-{pad}"
        env = peer.craft.valid(record)
        missing = size - _envelope_bytes(env)
        if missing == 0:
            break
        n += missing
    assert _envelope_bytes(env) <= limit, "the suite could not make an envelope under the limit"
    sent = peer.send(env)
    _log(transcript, f"sent an envelope {limit - _envelope_bytes(env)} bytes under the limit", sent)
    _accepted(sent.receipts[0], "an envelope just under the size limit")
    if target.home is None:
        transcript.step("no local interface (--target-home): the hand-off was not checked")
        return
    peer.wait_for(lambda: bool(_incoming_with(target, code, started)), "the record in the target's incoming folder")
    [handed] = _incoming_with(target, code, started)
    data = handed.read_bytes()
    transcript.step("the record was handed to the national system", file=handed.name, file_bytes=len(data))
    assert f"{code}-{pad}".encode() in data, (
        f"the hand-off file {handed.name} does not hold the record's {len(pad)}-character text intact"
    )
    assert peer.health() == "SERVING", "the target stopped serving after an envelope near the limit"


# -- ENV: what the target sends ------------------------------------------------------------------


@case(
    "ENV-001",
    "The target's outbound envelope is signed by the key its identity publishes, over the header and plaintext "
    "as sent, with an accepted crypto profile, on a TLS connection with its pinned certificate",
    requirements=("FDX-ENV-1", "FDX-TRN-7"),
    mode="node",
    needs=("feature:send_direction",),
)
def test_env_001_outbound_signature_verifies_against_the_published_key(
    peer: FakePeer, target: TargetNode, record_type: str, transcript: Any
) -> None:
    out = _outbound(peer, target, record_type, transcript)
    env, outcome, arrival = out["env"], out["outcome"], out["arrival"]
    assert arrival.client_certificate_sha256 == peer.pinned_certificate_sha256(), (
        "the target called the suite with another TLS certificate than the one its identity pins"
    )
    assert isinstance(outcome, Opened), (
        f"the target's envelope does not open for the suite: {outcome.reason_name}: {outcome.detail}"  # type: ignore[union-attr]
    )
    h = header_of(env)
    key = target.identity.verify_key
    transcript.step(
        "header", crypto_profile=h.crypto_profile, sender_signing_key_id=h.sender_signing_key_id, published=key.key_id
    )
    assert h.crypto_profile in SUPPORTED_CRYPTO_PROFILES, f"crypto profile {h.crypto_profile!r} is not accepted"
    assert h.sender_signing_key_id == key.key_id, (
        f"signed with key {h.sender_signing_key_id!r}; the target's identity publishes {key.key_id!r}"
    )
    plaintext = peer.suite.local.encryption_key.channel(target.identity.encryption_key).decrypt(env.body)
    key.verify(ENVELOPE_PURPOSE, env.signature, env.header, plaintext)
    transcript.step("signature verifies with the published key over the header and plaintext as sent")
    changed = env.header[:-1] + bytes([env.header[-1] ^ 1])
    try:
        key.verify(ENVELOPE_PURPOSE, env.signature, changed, plaintext)
    except CryptoError:
        transcript.step("the same signature does not verify over a header changed by one bit")
    else:
        raise AssertionError("the signature also verifies over another header: it does not cover the header bytes")
    _no_unexpected_calls(peer, transcript)


@case(
    "ENV-002",
    "The target's outbound body is encrypted to the suite's key and decrypts to the record sent, under a header "
    "naming the right parties",
    requirements=("FDX-ENV-2",),
    mode="node",
    needs=("feature:send_direction",),
)
def test_env_002_outbound_payload_is_encrypted_to_the_recipient(
    peer: FakePeer, target: TargetNode, record_type: str, transcript: Any
) -> None:
    out = _outbound(peer, target, record_type, transcript)
    env, record = out["env"], out["record"]
    h = header_of(env)
    local = peer.suite.local
    transcript.step(
        "header",
        sender=h.sender,
        recipient=h.recipient,
        protocol_version=h.protocol_version,
        recipient_encryption_key_id=h.recipient_encryption_key_id,
        record_type=h.record_type,
    )
    assert (h.sender, h.recipient) == (target.node_id, local.node_id), f"header names {h.sender} -> {h.recipient}"
    assert h.recipient_encryption_key_id == local.encryption_key.key_id, (
        f"encrypted to {h.recipient_encryption_key_id!r}, the suite's key is {local.encryption_key.key_id!r}"
    )
    assert h.sender_encryption_key_id == target.identity.encryption_key.key_id
    assert h.protocol_version in (1,), f"protocol version {h.protocol_version}"
    assert h.message_id == out["mid"] and str(uuid.UUID(h.message_id)) == h.message_id, "message id is not a UUID"
    sealed_at = h.created_at.ToNanoseconds() / 1e9
    assert abs(out["arrival"].at - sealed_at) < 600, f"created_at is {out['arrival'].at - sealed_at:.0f}s off"
    assert _challenge(record).encode() not in env.SerializeToString(), "the record travels in the clear"
    plaintext = local.encryption_key.channel(target.identity.encryption_key).decrypt(env.body)
    got = records_pb2.Record.FromString(plaintext[SALT_SIZE:])
    transcript.step("decrypted", record=got, salt_bytes=SALT_SIZE)
    assert got.WhichOneof("body") == h.record_type, f"header says {h.record_type}, record is {got.WhichOneof('body')}"
    assert json_format.MessageToDict(got) == json_format.MessageToDict(record), (
        "the decrypted record differs from the record the target was given"
    )
    try:
        EncryptionKey.generate().channel(target.identity.encryption_key).decrypt(env.body)
    except CryptoError:
        transcript.step("another key cannot decrypt the body")
    else:
        raise AssertionError("the body decrypts with a key that is not the suite's")
    _no_unexpected_calls(peer, transcript)


# -- ENV: what the target refuses ------------------------------------------------------------------

_SIG_OR_DECRYPT = (R.REJECT_REASON_DECRYPTION_FAILED, R.REJECT_REASON_BAD_SIGNATURE)


@case(
    "ENV-003",
    "A body changed after signing is refused and nothing of it reaches the national system",
    requirements=("FDX-ENV-3",),
    mode="node",
    negative=True,
    after=("TRN-001",),
)
def test_env_003_body_changed_after_signing_is_refused(
    peer: FakePeer, target: TargetNode, record_type: str, transcript: Any
) -> None:
    before = _counts(target, peer)
    record = peer.record(record_type)
    envs = [peer.craft.ciphertext_flipped(record, p) for p in (0, 40, 10_000)]
    envs.append(peer.craft.record_changed_after_signing(record))
    sent = peer.send(*envs)
    _log(transcript, "sent bodies changed after signing (three ciphertext bits, one record bit)", sent)
    for i, r in enumerate(sent.receipts[:3]):
        _rejected(r, _SIG_OR_DECRYPT, f"ciphertext flipped (envelope {i})")
    _rejected(sent.receipts[3], [R.REJECT_REASON_BAD_SIGNATURE], "record bytes changed after signing, then sealed")
    _nothing_kept(transcript, target, peer, before, len(envs))


HEADER_CHANGES: dict[str, tuple[Any, tuple[int, ...]]] = {
    "message_id": (lambda h: setattr(h, "message_id", str(uuid.uuid4())), (R.REJECT_REASON_BAD_SIGNATURE,)),
    "created_at": (lambda h: h.created_at.FromSeconds(h.created_at.seconds - 60), (R.REJECT_REASON_BAD_SIGNATURE,)),
    "record_type": (
        lambda h: setattr(
            h, "record_type", "contact_point_message" if h.record_type != "contact_point_message" else "seizure_report"
        ),
        (R.REJECT_REASON_BAD_SIGNATURE, R.REJECT_REASON_NO_AGREEMENT),
    ),
    "recipient": (lambda h: setattr(h, "recipient", "TEST-ELSEWHERE"), (R.REJECT_REASON_WRONG_RECIPIENT,)),
    "sender_signing_key_id": (
        lambda h: setattr(h, "sender_signing_key_id", "ed25519:77"),
        (R.REJECT_REASON_UNKNOWN_KEY, R.REJECT_REASON_KEY_NOT_VALID),
    ),
    "recipient_encryption_key_id": (
        lambda h: setattr(h, "recipient_encryption_key_id", "x25519:77"),
        (R.REJECT_REASON_UNKNOWN_KEY, R.REJECT_REASON_KEY_NOT_VALID),
    ),
}


@case(
    "ENV-004",
    "A header changed after signing (message id, created_at, record type, recipient, key ids) is refused",
    requirements=("FDX-ENV-4",),
    mode="node",
    negative=True,
    after=("TRN-001",),
)
def test_env_004_header_changed_after_signing_is_refused(
    peer: FakePeer, target: TargetNode, record_type: str, transcript: Any
) -> None:
    before = _counts(target, peer)
    envs = [
        peer.craft.header_changed_after_signing(peer.record(record_type), change)
        for change, _ in HEADER_CHANGES.values()
    ]
    sent = peer.send(*envs)
    _log(transcript, "sent envelopes whose header was changed after signing", sent)
    for (field, (_, allowed)), r in zip(HEADER_CHANGES.items(), sent.receipts, strict=True):
        _rejected(r, allowed, f"header field {field} changed after signing")
    _nothing_kept(transcript, target, peer, before, len(envs))


@case(
    "ENV-005",
    "A valid signature by a key not bound to the claimed sender is refused",
    requirements=("FDX-ENV-5",),
    mode="node",
    negative=True,
    after=("TRN-001",),
)
def test_env_005_signature_by_an_unbound_key_is_refused(
    peer: FakePeer, target: TargetNode, record_type: str, transcript: Any
) -> None:
    before = _counts(target, peer)
    pinned_id = peer.suite.local.signing_key.key_id
    sent = peer.send(
        peer.craft.signed_by_unbound_key(peer.record(record_type)),
        peer.craft.signed_by_unbound_key(peer.record(record_type), key_id="ed25519:99"),
    )
    _log(transcript, "sent envelopes signed by a fresh key the target never bound to the suite", sent)
    _rejected(
        sent.receipts[0],
        [R.REJECT_REASON_BAD_SIGNATURE, R.REJECT_REASON_UNKNOWN_KEY],
        f"a genuine signature by another key, header naming the suite's key {pinned_id}",
    )
    _rejected(
        sent.receipts[1],
        [R.REJECT_REASON_UNKNOWN_KEY, R.REJECT_REASON_KEY_NOT_VALID, R.REJECT_REASON_BAD_SIGNATURE],
        "a genuine signature by a key id the target does not know (ed25519:99)",
    )
    _nothing_kept(transcript, target, peer, before, 2)


@case(
    "ENV-006",
    "A crypto profile the node does not accept is refused, never opened with another profile",
    requirements=("FDX-ENV-6", "FDX-VER-4"),
    mode="node",
    negative=True,
    after=("TRN-001",),
)
def test_env_006_unknown_crypto_profile_is_refused(
    peer: FakePeer, target: TargetNode, record_type: str, transcript: Any
) -> None:
    before = _counts(target, peer)
    profiles = ["tamga-ed25519-x25519-xsalsa20poly1305-0", "tamga-rsa1024-pkcs1v15-sha1-1", ""]
    sent = peer.send(
        *[
            peer.craft.with_header(peer.record(record_type), lambda h, p=p: setattr(h, "crypto_profile", p))
            for p in profiles
        ]
    )
    _log(transcript, "sent envelopes signed honestly under unknown crypto profiles", sent)
    for p, r in zip(profiles, sent.receipts, strict=True):
        _rejected(r, [R.REJECT_REASON_UNKNOWN_CRYPTO_PROFILE], f"crypto profile {p!r}")
    _nothing_kept(transcript, target, peer, before, len(profiles))


@case(
    "ENV-007",
    "An envelope addressed or encrypted to another node is refused, and no refusal reveals its plaintext",
    requirements=("FDX-ENV-7", "FDX-RCP-4"),
    mode="node",
    negative=True,
    after=("TRN-001",),
)
def test_env_007_envelope_for_another_recipient_is_refused(
    peer: FakePeer, target: TargetNode, record_type: str, transcript: Any
) -> None:
    before = _counts(target, peer)
    record = peer.record(record_type)
    canary = _challenge(record)
    sent = peer.send(
        peer.craft.addressed_to(record, "TEST-ELSEWHERE"),
        peer.craft.encrypted_to_another_key(record),
        peer.craft.encrypted_to_another_key(record, key_id="x25519:99"),
    )
    _log(transcript, "sent envelopes for another node, or sealed for another key", sent)
    _rejected(sent.receipts[0], [R.REJECT_REASON_WRONG_RECIPIENT], "addressed to another node")
    _rejected(
        sent.receipts[1],
        [R.REJECT_REASON_DECRYPTION_FAILED, R.REJECT_REASON_UNKNOWN_KEY],
        "addressed to the target, sealed for another key",
    )
    _rejected(
        sent.receipts[2],
        [R.REJECT_REASON_UNKNOWN_KEY, R.REJECT_REASON_KEY_NOT_VALID, R.REJECT_REASON_DECRYPTION_FAILED],
        "sealed for a key id the target does not hold",
    )
    for r in sent.receipts:
        assert canary not in r.detail, "a refusal's detail reveals the record's contents"
    assert canary.encode() not in sent.signed.SerializeToString(), "the receipt batch reveals the record's contents"
    _nothing_kept(transcript, target, peer, before, 3)


@case(
    "ENV-008",
    "An envelope with an empty or malformed signature is refused",
    requirements=("FDX-ENV-8",),
    mode="node",
    negative=True,
    after=("TRN-001",),
)
def test_env_008_unsigned_envelope_is_refused(
    peer: FakePeer, target: TargetNode, record_type: str, transcript: Any
) -> None:
    before = _counts(target, peer)
    signatures = {"empty": b"", "64 zero bytes": bytes(64), "63 bytes": b"\x01" * 63}
    sent = peer.send(*[peer.craft.with_signature(peer.record(record_type), s) for s in signatures.values()])
    _log(transcript, "sent envelopes without a valid signature", sent)
    for what, r in zip(signatures, sent.receipts, strict=True):
        _rejected(r, [R.REJECT_REASON_BAD_SIGNATURE], f"signature {what}")
    _nothing_kept(transcript, target, peer, before, len(signatures))


@case(
    "ENV-011",
    "An envelope from a sender that is not a peer of the node is refused UNKNOWN_SENDER",
    requirements=("FDX-ENV-11",),
    mode="node",
    negative=True,
    after=("TRN-001",),
)
def test_env_011_envelope_from_a_stranger_is_refused(
    peer: FakePeer, target: TargetNode, record_type: str, transcript: Any
) -> None:
    before = _counts(target, peer)
    stranger = f"TEST-STRANGER-{uuid.uuid4().hex[:8].upper()}"
    sent = peer.send(
        peer.craft.with_header(peer.record(record_type), lambda h: setattr(h, "sender", stranger)),
    )
    _log(transcript, f"sent an envelope in the name of {stranger}, a node the target does not know", sent)
    _rejected(sent.receipts[0], [R.REJECT_REASON_UNKNOWN_SENDER], f"sender {stranger}")
    _nothing_kept(transcript, target, peer, before, 0)


@case(
    "ENV-014",
    "A record claiming another country's origin, or not listing the node's country among its receivers, is "
    "refused ORIGIN_MISMATCH and nothing of it is handed off",
    requirements=("FDX-ENV-14",),
    mode="node",
    negative=True,
    after=("TRN-001",),
)
def test_env_014_origin_is_bound_to_the_authenticated_sender(
    peer: FakePeer, target: TargetNode, record_type: str, transcript: Any
) -> None:
    before = _counts(target, peer)
    own, theirs = peer.suite.local.country, target.identity.country
    others = [c for c in ("CN", "IN", "RU", "PK", "KG", "BY", "IR") if c not in (own, theirs)]
    claimed, elsewhere = others[0], others[1]
    claims = peer.record(record_type)
    claims.meta.sender_country = claimed
    misaddressed = peer.record(record_type)
    del misaddressed.meta.receiver_countries[:]
    misaddressed.meta.receiver_countries.append(elsewhere)
    sent = peer.send(peer.craft.valid(claims), peer.craft.valid(misaddressed))
    _log(
        transcript,
        f"sent, properly signed by the suite ({own}), a record claiming {claimed} as its sender country and one "
        f"for {elsewhere} only",
        sent,
    )
    _rejected(sent.receipts[0], [R.REJECT_REASON_ORIGIN_MISMATCH], f"a record claiming {claimed}'s origin")
    _rejected(sent.receipts[1], [R.REJECT_REASON_ORIGIN_MISMATCH], f"a record for {elsewhere}, not {theirs}")
    transcript.step("refusal details", details=[r.detail for r in sent.receipts])
    for r, record in zip(sent.receipts, (claims, misaddressed), strict=True):
        assert _challenge(record) not in r.detail, "the refusal's detail quotes the record's contents"
    _nothing_kept(transcript, target, peer, before, 2)


@case(
    "ENV-015",
    "Envelopes whose signed sequence number or creation time is out of range are refused with a receipt each "
    "(SEQUENCE_OUT_OF_RANGE, MALFORMED_ENVELOPE), and the valid envelope of the same batch is accepted",
    requirements=("FDX-ENV-15",),
    mode="node",
    negative=True,
    after=("TRN-001",),
)
def test_env_015_out_of_range_numbers_are_refused_envelope_by_envelope(
    peer: FakePeer, target: TargetNode, record_type: str, transcript: Any
) -> None:
    before = _counts(target, peer)

    def huge_sequence(h: Any) -> None:
        h.sequence = 2**64 - 1

    def far_future(h: Any) -> None:
        h.created_at.seconds = 10**13  # beyond any Timestamp (year 9999 ends at 253,402,300,799)

    sent = peer.send(
        peer.craft.with_header(peer.record(record_type), huge_sequence),
        peer.craft.with_header(peer.record(record_type), far_future),
        peer.craft.valid(peer.record(record_type)),
    )
    _log(
        transcript,
        "sent one batch, properly signed: sequence 2^64-1, created_at 10^13 s, and a valid envelope",
        sent,
    )
    assert len(sent.receipts) == 3, f"expected a receipt for each of the 3 envelopes, got {len(sent.receipts)}"
    _rejected(sent.receipts[0], [R.REJECT_REASON_SEQUENCE_OUT_OF_RANGE], "sequence 2^64-1")
    _rejected(sent.receipts[1], [R.REJECT_REASON_MALFORMED_ENVELOPE, R.REJECT_REASON_STALE], "created_at 10^13 s")
    _accepted(sent.receipts[2], "the valid envelope of the same batch")
    _nothing_kept(transcript, target, peer, before, 2, accepted=1)


# -- RPL: replay --------------------------------------------------------------------------------------


@case(
    "RPL-001",
    "An exact replay is answered DUPLICATE and not handed to the national system again",
    requirements=("FDX-RPL-1",),
    mode="node",
    negative=True,
    after=("TRN-001",),
)
def test_rpl_001_exact_replay_is_duplicate(
    peer: FakePeer, target: TargetNode, record_type: str, transcript: Any
) -> None:
    started = time.time()
    before = _counts(target, peer)
    record = peer.record(record_type)
    env = peer.craft.valid(record)
    first = peer.send(env)
    _log(transcript, "sent an envelope", first)
    _accepted(first.receipts[0], "the first copy")
    if target.home is not None:
        code = _challenge(record)
        peer.wait_for(lambda: bool(_incoming_with(target, code, started)), "the record in the target's incoming folder")
        files = _incoming_with(target, code, started)
        transcript.step("the record was handed to the national system", files=len(files))
    for n in (1, 2):
        again = peer.send(env)
        _log(transcript, f"sent the same envelope again (replay {n}, new stream)", again)
        assert again.receipts[0].status == S.RECEIPT_STATUS_DUPLICATE, (
            f"replay {n}: expected DUPLICATE, the target answered {S.Name(again.receipts[0].status)}"
        )
    if target.home is not None and before is not None:
        after = _counts(target, peer)
        assert after is not None and after["received"] == before["received"] + 1, (
            f"'tamga status' shows {after['received'] - before['received']} more received for one record"  # type: ignore[index]
        )
        code = _challenge(record)
        deadline = time.monotonic() + 1.5  # the hand-off polls; give a second copy time to appear
        while time.monotonic() < deadline:
            time.sleep(0.25)
        files = _incoming_with(target, code, started)
        transcript.step("files in the incoming folder carrying the record", files=len(files))
        assert len(files) == 1, f"the record was handed to the national system {len(files)} times"


@case(
    "RPL-002",
    "An envelope sealed outside the freshness window is refused STALE; one inside it is accepted",
    requirements=("FDX-RPL-2",),
    mode="node",
    negative=True,
    after=("TRN-001",),
)
def test_rpl_002_outside_the_freshness_window_is_stale(
    peer: FakePeer, target: TargetNode, record_type: str, transcript: Any
) -> None:
    limits = target.limits()
    now = time.time()
    transcript.step(
        "freshness window",
        max_envelope_age_s=int(limits.max_envelope_age),
        max_clock_skew_s=int(limits.max_clock_skew),
        source="target's [limits]" if target.home else "default",
    )
    sent = peer.send(
        peer.craft.sealed_at(peer.record(record_type), now - limits.max_envelope_age - 3600),
        peer.craft.sealed_at(peer.record(record_type), now + limits.max_clock_skew + 600),
        peer.craft.sealed_at(peer.record(record_type), now - 60),
    )
    _log(transcript, "sent envelopes sealed an hour before the window, 10 minutes beyond the skew, a minute ago", sent)
    _rejected(sent.receipts[0], [R.REJECT_REASON_STALE], "sealed longer ago than max_envelope_age")
    _rejected(sent.receipts[1], [R.REJECT_REASON_STALE], "sealed further ahead than max_clock_skew")
    _accepted(sent.receipts[2], "sealed a minute ago")


@case(
    "RPL-003",
    "A message id reused for different content is refused MESSAGE_ID_CONFLICT; the first record stays",
    requirements=("FDX-RPL-3",),
    mode="node",
    negative=True,
    after=("TRN-001",),
)
def test_rpl_003_message_id_reuse_is_a_conflict(
    peer: FakePeer, target: TargetNode, record_type: str, transcript: Any
) -> None:
    mid = str(uuid.uuid4())
    first = peer.craft.valid(peer.record(record_type), message_id=mid)
    sent = peer.send(first)
    _log(transcript, "sent an envelope", sent)
    _accepted(sent.receipts[0], "the first envelope")
    other = peer.send(peer.craft.valid(peer.record(record_type), message_id=mid))
    _log(transcript, "sent another record under the same message id", other)
    _rejected(other.receipts[0], [R.REJECT_REASON_MESSAGE_ID_CONFLICT], "the same message id, other content")
    again = peer.send(first)
    _log(transcript, "sent the first envelope again", again)
    assert again.receipts[0].status == S.RECEIPT_STATUS_DUPLICATE, (
        f"the first envelope, sent again after the conflict: expected DUPLICATE, got {S.Name(again.receipts[0].status)}"
    )


@case(
    "RPL-004",
    "Replays and reused message ids are still detected after the node restarts",
    requirements=("FDX-RPL-4",),
    mode="node",
    negative=True,
    needs=("feature:restart_command",),
    after=("RPL-001",),
)
def test_rpl_004_replay_after_restart_is_detected(
    peer: FakePeer, target: TargetNode, record_type: str, transcript: Any
) -> None:
    env = peer.craft.valid(peer.record(record_type))
    sent = peer.send(env)
    _log(transcript, "sent an envelope", sent)
    _accepted(sent.receipts[0], "the envelope before the restart")
    transcript.step("restarting the target (--restart-command)", command=shlex.split(target.restart_command or "")[0])
    facts = peer.restart_target()
    transcript.step("the target serves again", **facts)
    again = peer.send(env)
    _log(transcript, "sent the same envelope after the restart", again)
    assert again.receipts[0].status == S.RECEIPT_STATUS_DUPLICATE, (
        f"after a restart the replay got {S.Name(again.receipts[0].status)}, not DUPLICATE"
    )
    other = peer.send(peer.craft.valid(peer.record(record_type), message_id=header_of(env).message_id))
    _log(transcript, "sent other content under the same message id after the restart", other)
    _rejected(other.receipts[0], [R.REJECT_REASON_MESSAGE_ID_CONFLICT], "a reused message id after the restart")


@case(
    "RPL-005",
    "The target remembers received message ids longer than its freshness window, and a replay after its payloads "
    "were purged is still DUPLICATE",
    requirements=("FDX-RPL-5",),
    mode="node",
    negative=True,
    needs=("feature:send_direction",),
    after=("TRN-001",),
)
def test_rpl_005_the_dedup_record_outlives_the_freshness_window(
    peer: FakePeer, target: TargetNode, record_type: str, transcript: Any
) -> None:
    config = target.config
    limits, retention = config.limits, config.retention
    window = limits.max_envelope_age + limits.max_clock_skew
    transcript.step(
        "the target's [retention] and [limits] (its tamga.toml)",
        dedup_horizon_s=int(retention.dedup_horizon),
        freshness_window_s=int(window),
        delivered_payloads_s=int(retention.delivered_payloads),
    )
    assert retention.dedup_horizon > window, (
        f"[retention] dedup_horizon ({retention.dedup_horizon:.0f}s) is not longer than the freshness window "
        f"max_envelope_age + max_clock_skew ({window:.0f}s): a replay inside the window could be taken as new"
    )
    started = time.time()
    record = peer.record(record_type)
    env = peer.craft.valid(record)
    first = peer.send(env)
    _log(transcript, "sent an envelope", first)
    _accepted(first.receipts[0], "the envelope")
    code = _challenge(record)
    peer.wait_for(lambda: bool(_incoming_with(target, code, started)), "the record in the target's incoming folder")
    if retention.delivered_payloads <= PURGE_WAIT:
        # The payload may go as soon as it was handed off: purge it, as the node's own purge run would.
        time.sleep(retention.delivered_payloads + 0.1)
        proc = target.tamga("purge")
        line = (proc.stdout or proc.stderr).strip().splitlines()[-1:] or ["(no output)"]
        transcript.step("'tamga purge' on the target", exit=proc.returncode, output=line[0])
        assert proc.returncode == 0, f"'tamga purge' failed on the target: {line[0]}"
        purged = re.search(r"(\d+) incoming payload", proc.stdout)
        assert purged and int(purged.group(1)) >= 1, f"'tamga purge' purged no incoming payload: {line[0]}"
    else:
        transcript.step(
            "the target keeps payloads longer than the suite waits: the replay comes before any purge",
            delivered_payloads_s=int(retention.delivered_payloads),
        )
    again = peer.send(env)
    _log(transcript, "sent the same envelope again", again)
    assert again.receipts[0].status == S.RECEIPT_STATUS_DUPLICATE, (
        f"a replay after the purge: expected DUPLICATE, the target answered {S.Name(again.receipts[0].status)}"
    )


@case(
    "IDM-002",
    "The same envelope sent on several concurrent streams and batches is accepted once, every other copy "
    "DUPLICATE, and handed to the national system once",
    requirements=("FDX-IDM-2",),
    mode="node",
    negative=True,
    after=("TRN-001",),
)
def test_idm_002_concurrent_copies_are_accepted_once(
    peer: FakePeer, target: TargetNode, record_type: str, transcript: Any
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from tamga.conformance._peer import verify_receipts
    from tamga.v1 import exchange_pb2_grpc

    started = time.time()
    before = _counts(target, peer)
    record = peer.record(record_type)
    env = peer.craft.valid(record)
    streams, per_stream = 4, 2
    gate = threading.Barrier(streams)
    version = getattr(peer, "manifest_version", 0)

    def one_stream(n: int) -> list[Any]:
        with peer.open_channel(peer.tls) as channel:
            grpc.channel_ready_future(channel).result(timeout=peer.timeout)
            batches = [batch_of(env) for _ in range(per_stream)]
            requests = [exchange_pb2.ExchangeRequest(batch=b, manifest_version=version) for b in batches]
            gate.wait(timeout=peer.timeout)  # every stream's connection is up: send at once
            stub = exchange_pb2_grpc.ExchangeServiceStub(channel)
            responses = list(stub.Exchange(iter(requests), timeout=peer.timeout))
        assert len(responses) == len(batches), f"stream {n}: {len(responses)} answers for {len(batches)} batches"
        return [
            verify_receipts(r.receipts, target=target.identity, local_id=peer.suite.node_id, sent=b).receipts[0]
            for r, b in zip(responses, batches, strict=True)
        ]

    with ThreadPoolExecutor(max_workers=streams) as pool:
        answers = [r for rs in pool.map(one_stream, range(streams)) for r in rs]
    names = [S.Name(r.status).removeprefix("RECEIPT_STATUS_") for r in answers]
    transcript.step(
        f"sent one envelope {streams * per_stream} times: {streams} connections at once, {per_stream} batches each",
        message_id=header_of(env).message_id,
        answers=", ".join(f"{names.count(n)} {n}" for n in sorted(set(names))),
    )
    assert names.count("ACCEPTED") == 1, f"{names.count('ACCEPTED')} copies of one envelope were ACCEPTED"
    assert names.count("DUPLICATE") == len(names) - 1, f"the other copies were answered {names}"
    if before is not None:
        after = _counts(target, peer)
        assert after is not None and after["received"] == before["received"] + 1, (
            f"'tamga status' shows {after['received'] - before['received']} more received for one envelope"  # type: ignore[index]
        )
        code = _challenge(record)
        peer.wait_for(lambda: bool(_incoming_with(target, code, started)), "the record in the target's incoming folder")
        deadline = time.monotonic() + 1.5  # the hand-off polls; give a second copy time to appear
        while time.monotonic() < deadline:
            time.sleep(0.25)
        files = _incoming_with(target, code, started)
        transcript.step("files in the incoming folder carrying the record", files=len(files))
        assert len(files) == 1, f"the record was handed to the national system {len(files)} times"


# -- RCP: receipts -------------------------------------------------------------------------------------


@case(
    "RCP-001",
    "A batch gets one receipt batch signed by the node, echoing the batch id, one receipt per envelope in order "
    "with its message id and digest",
    requirements=("FDX-RCP-1", "FDX-ENV-12"),
    mode="node",
    after=("TRN-001",),
)
def test_rcp_001_signed_receipts_reference_message_ids_and_digests(
    peer: FakePeer, target: TargetNode, record_type: str, transcript: Any
) -> None:
    envs = [
        peer.craft.valid(peer.record(record_type)),
        peer.craft.with_signature(peer.record(record_type), bytes(64)),
        peer.craft.valid(peer.record(record_type), message_id="not-a-uuid"),
        peer.craft.valid(peer.record(record_type)),
    ]
    sent = peer.send(*envs)  # verify_receipts checked signature, parties, batch id, order, ids and digests
    _log(transcript, "sent a batch of four (valid, unsigned, a message id that is not a UUID, valid)", sent)
    rb = sent.receipt_batch
    transcript.step(
        "receipt batch",
        receiver=rb.receiver,
        sender=rb.sender,
        batch_id=rb.batch_id,
        receiver_signing_key_id=rb.receiver_signing_key_id,
        protocol_version=rb.protocol_version,
        signature_bytes=len(sent.signed.signature),
    )
    assert rb.protocol_version == 1, f"receipt batch protocol version {rb.protocol_version}"
    assert rb.sender == peer.suite.node_id, f"the receipt batch names sender {rb.sender!r}"
    assert rb.HasField("created_at"), "the receipt batch has no created_at"
    _accepted(sent.receipts[0], "envelope 1 (valid)")
    _rejected(sent.receipts[1], [R.REJECT_REASON_BAD_SIGNATURE], "envelope 2 (signature of zero bytes)")
    _rejected(sent.receipts[2], [R.REJECT_REASON_MALFORMED_ENVELOPE], "envelope 3 (message id not a UUID)")
    _accepted(sent.receipts[3], "envelope 4 (valid)")


@case(
    "RCP-002",
    "The node does not count a record as delivered on a receipt with a wrong digest or a bad signature",
    requirements=("FDX-RCP-3",),
    mode="node",
    negative=True,
    needs=("feature:send_direction",),
    after=("ENV-001",),
)
def test_rcp_002_bad_receipts_do_not_settle_delivery(
    peer: FakePeer, target: TargetNode, record_type: str, transcript: Any
) -> None:
    me = peer.suite.node_id
    before = target.peer_counts(me)
    peer.answer_with(ReceiptMode.WRONG_DIGEST)
    try:
        record = peer.record_for_target_to_send(record_type)
        [mid] = target.submit([record], to=me)
        peer.expect([mid])
        transcript.step("made the target send a record; the suite answers with a wrong digest", message_id=mid)
        seen = 0
        for phase, mode in enumerate((ReceiptMode.WRONG_DIGEST, ReceiptMode.BAD_SIGNATURE), start=1):
            peer.answer_with(mode)

            def answered(mode: ReceiptMode = mode, seen: int = seen) -> bool:
                return any(a.answered is mode for a, _, _ in peer.arrivals_of(mid)[seen:])

            waited = peer.wait_for(answered, f"the target to send {mid} (to be answered: {mode})")
            peer.answer_with(ReceiptMode.WRONG_DIGEST)  # keep answering badly while the suite looks
            seen = len(peer.arrivals_of(mid))
            transcript.step("the target sent the envelope", attempts=seen, seconds=f"{waited:.2f}", answered=mode)
            # The target must note a failed delivery for each bad receipt, and never a delivery.
            deadline = time.monotonic() + peer.timeout
            while True:
                now = target.peer_counts(me)
                assert now["delivered"] == before["delivered"], (
                    f"the target counted the record as delivered on a receipt with {mode}"
                )
                if now["consecutive_failures"] >= before["consecutive_failures"] + phase:
                    break
                assert time.monotonic() < deadline, f"the target noted no failed delivery after a receipt with {mode}"
                time.sleep(0.1)
        # Every answer so far was untrustworthy: the record must still be queued, not delivered.
        now = target.peer_counts(me)
        transcript.step(
            "target status after the bad receipts",
            queued=now["queued"],
            delivered=now["delivered"],
            consecutive_failures=now["consecutive_failures"],
            last_error=now["last_error"] or "-",
        )
        assert now["delivered"] == before["delivered"], "the target counted the record as delivered on a bad receipt"
        assert now["queued"] >= before["queued"] + 1, "the target no longer holds the record queued"
        assert now["last_error"], "'tamga status' shows no error for the peer that sent bad receipts"
        digests = {env.SerializeToString() for _, env, _ in peer.arrivals_of(mid)}
        assert len(digests) == 1, "the target sent the record again as a different envelope instead of the same one"
        peer.answer_with(ReceiptMode.CORRECT)
        deadline = time.monotonic() + peer.timeout
        while True:
            now = target.peer_counts(me)
            if now["delivered"] == before["delivered"] + 1:
                break
            assert time.monotonic() < deadline, "after a correct receipt the target did not count the record delivered"
            time.sleep(0.2)
        transcript.step("after a correct receipt", queued=now["queued"], delivered=now["delivered"])
        assert now["queued"] == before["queued"], "the record stays queued after a correct receipt"
        _no_unexpected_calls(peer, transcript)
    finally:
        peer.answer_with(ReceiptMode.CORRECT)


@case(
    "RCP-003",
    "A decrypted body that is not a valid record is refused with a machine-readable reason and a one-line detail "
    "without record contents",
    requirements=("FDX-RCP-4", "FDX-SCH-4"),
    mode="node",
    negative=True,
    after=("TRN-001",),
)
def test_rcp_003_invalid_record_gets_a_machine_readable_refusal(
    peer: FakePeer, target: TargetNode, record_type: str, transcript: Any
) -> None:
    before = _counts(target, peer)
    canary = f"TAMGA-CANARY-{uuid.uuid4().hex}"
    garbage = b"\xff\xfe" + canary.encode() + b"\x00" * 7
    record = peer.record(record_type)
    truncated = record.SerializeToString()[:-3]
    sent = peer.send(peer.craft.carrying(garbage, record_type), peer.craft.carrying(truncated, record_type))
    _log(transcript, "sent properly sealed bodies that are not a tamga.v1.Record (garbage, a truncated record)", sent)
    _rejected(sent.receipts[0], [R.REJECT_REASON_MALFORMED_RECORD], "a body that does not parse as a record")
    _rejected(
        sent.receipts[1],
        [R.REJECT_REASON_MALFORMED_RECORD, R.REJECT_REASON_RECORD_TYPE_MISMATCH],
        "a truncated record",
    )
    for r in sent.receipts:
        assert canary not in r.detail and _challenge(record) not in r.detail, "the detail reveals record contents"
    _nothing_kept(transcript, target, peer, before, 2)


def _delivery_watch(target: TargetNode) -> float:
    """Seconds in which a node would have sent an envelope again: a session's idle close, two delivery
    polls and its first backoff, from the target's [delivery] (at most 15 s)."""
    d = target.config.delivery
    return min(15.0, d.idle_close + 2 * d.poll_interval + d.backoff_initial + 1.0)


def _wait_counts(target: TargetNode, me: str, what: str, done: Any, timeout: float) -> dict[str, Any]:
    """Poll the target's status of the suite's peer until ``done(counts)``; the counts then."""
    deadline = time.monotonic() + timeout
    while True:
        now = target.peer_counts(me)
        if done(now):
            return now
        assert time.monotonic() < deadline, f"'tamga status' did not show {what} within {timeout:.0f}s: {now}"
        time.sleep(0.1)


@case(
    "RCP-005",
    "Without a receipt for its batch the target sends the same envelope again (same message id and digest), "
    "and 'tamga status' shows the peer failing meanwhile",
    requirements=("FDX-RCP-5",),
    mode="node",
    severity="SHOULD",
    needs=("feature:send_direction",),
    after=("ENV-001",),
)
def test_rcp_005_no_receipt_means_the_same_envelope_again(
    peer: FakePeer, target: TargetNode, record_type: str, transcript: Any
) -> None:
    me = peer.suite.node_id
    before = target.peer_counts(me)
    peer.answer_with(ReceiptMode.NONE)
    try:
        record = peer.record_for_target_to_send(record_type)
        [mid] = target.submit([record], to=me)
        peer.expect([mid])
        transcript.step("made the target send a record; the suite answers with no receipt", message_id=mid)
        waited = peer.wait_for(lambda: len(peer.arrivals_of(mid)) >= 2, f"the target to send {mid} a second time")
        failing = target.peer_counts(me)
        transcript.step(
            "target status while no receipt comes",
            attempts=len(peer.arrivals_of(mid)),
            seconds=f"{waited:.2f}",
            consecutive_failures=failing["consecutive_failures"],
            last_error=failing["last_error"] or "-",
        )
        assert failing["consecutive_failures"] > before["consecutive_failures"], (
            "'tamga status' does not count a failed delivery to the peer that gave no receipt"
        )
        assert failing["last_error"], "'tamga status' shows no error for the peer that gave no receipt"
        assert failing["delivered"] == before["delivered"], "the target counted a record delivered without a receipt"
    finally:
        peer.answer_with(ReceiptMode.CORRECT)
    after = _wait_counts(target, me, "the record delivered", lambda c: c["delivered"] >= before["delivered"] + 1, 30)
    attempts = peer.arrivals_of(mid)
    times = [a.at for a, _, _ in attempts]
    transcript.step(
        "after a correct receipt",
        attempts=len(attempts),
        gaps_s=",".join(f"{b - a:.2f}" for a, b in itertools.pairwise(times)) or "-",
        delivered=after["delivered"],
        consecutive_failures=after["consecutive_failures"],
    )
    copies = {env.SerializeToString() for _, env, _ in attempts}
    digests = {envelope_digest(env) for _, env, _ in attempts}
    assert len(copies) == 1 and len(digests) == 1, (
        f"the target sent {len(copies)} different envelopes for message {mid}: it must send the same one again"
    )
    assert after["consecutive_failures"] == 0, "'tamga status' still shows the peer failing after a delivery"
    _no_unexpected_calls(peer, transcript)


@case(
    "RCP-006",
    "An envelope the suite's peer refuses is not sent again; the target keeps it as rejected and shows it in "
    "'tamga status'",
    requirements=("FDX-RCP-6",),
    mode="node",
    negative=True,
    needs=("feature:send_direction",),
    after=("ENV-001",),
)
def test_rcp_006_a_refused_envelope_is_not_sent_again(
    peer: FakePeer, target: TargetNode, record_type: str, transcript: Any
) -> None:
    me = peer.suite.node_id
    before = target.peer_counts(me)
    peer.answer_with(ReceiptMode.REJECT)
    try:
        record = peer.record_for_target_to_send(record_type)
        [mid] = target.submit([record], to=me)
        peer.expect([mid])
        waited = peer.wait_for(lambda: bool(peer.arrivals_of(mid)), f"the target's envelope {mid}")
    finally:
        peer.answer_with(ReceiptMode.CORRECT)
    started = time.monotonic()
    transcript.step(
        "the suite answered the target's envelope REJECTED MALFORMED_RECORD", message_id=mid, seconds=f"{waited:.2f}"
    )
    watch = _delivery_watch(target)
    # The target delivers in order: a record queued now arrives after any resend of the refused one.
    _sentinel(peer, target, record_type, transcript)
    while time.monotonic() - started < watch:
        time.sleep(0.1)
    copies = len(peer.arrivals_of(mid))
    transcript.step("watched for a resend", seconds=f"{watch:.1f}", arrivals_of_the_refused_envelope=copies)
    assert copies == 1, f"the target sent the envelope the peer refused {copies - 1} more time(s)"
    counts = _wait_counts(target, me, "the envelope rejected", lambda c: c["rejected"] >= before["rejected"] + 1, 5)
    row = target.outbox_state(mid)
    doc = target.status()
    listed = [r for r in doc.get("recent_rejections", []) if r.get("message_id") == mid]
    transcript.step(
        "target status",
        rejected=counts["rejected"],
        outbox_state=(row or {}).get("state", "none"),
        receipt_status=(row or {}).get("receipt_status") or "-",
        listed_as_rejected=bool(listed),
    )
    assert row is not None and row["state"] == "rejected", f"the target keeps the refused envelope as {row}"
    assert listed and "MALFORMED_RECORD" in str(listed[0].get("reason")), (
        "'tamga status' does not list the refused envelope with its reason among the recent rejections"
    )
    _no_unexpected_calls(peer, transcript)


@case(
    "RCP-007",
    "The target keeps the suite's signed receipt for a delivered record, checkable against the suite's identity",
    requirements=("FDX-RCP-7",),
    mode="node",
    needs=("feature:send_direction",),
    after=("ENV-001",),
)
def test_rcp_007_the_receipt_is_kept_as_evidence(
    peer: FakePeer, target: TargetNode, record_type: str, transcript: Any
) -> None:
    out = _outbound(peer, target, record_type, transcript)
    mid, env = out["mid"], out["env"]
    deadline = time.monotonic() + peer.timeout
    while (row := target.outbox_state(mid)) is None or row["state"] == "queued":
        assert time.monotonic() < deadline, f"the target did not settle {mid} after the suite's receipt"
        time.sleep(0.1)
    transcript.step("the target's outbox row (its store's API)", state=row["state"], receipt_id=row["receipt_id"])
    assert row["state"] == "delivered", f"the target holds the delivered envelope as {row['state']}"
    assert row["receipt_id"] is not None, "the target keeps no receipt for the delivered envelope"
    evidence = target.receipt_evidence(int(row["receipt_id"]))
    assert evidence is not None, f"the target's receipt {row['receipt_id']} is gone"
    holder, receipt_batch, signature = evidence
    identity = parse_identity_file(peer.suite.identity_file.read_text("utf-8"), str(peer.suite.identity_file)).peer
    transcript.step(
        "the kept receipt batch",
        peer=holder,
        receipt_batch_bytes=len(receipt_batch),
        signature_bytes=len(signature),
        checked_with=f"{identity.node_id} key {identity.verify_key.key_id} (the suite's identity file)",
    )
    assert holder == peer.suite.node_id, f"the receipt is kept as {holder!r}'s, not the suite's"
    try:
        identity.verify_key.verify(RECEIPT_PURPOSE, signature, receipt_batch)
    except CryptoError as exc:
        raise AssertionError(f"the kept receipt batch does not verify against the suite's identity: {exc}") from exc
    rb = envelope_pb2.ReceiptBatch.FromString(receipt_batch)
    mine = [r for r in rb.receipts if r.message_id == mid]
    assert (rb.receiver, rb.sender) == (peer.suite.node_id, target.node_id), f"receipt of {rb.receiver} to {rb.sender}"
    assert mine and mine[0].envelope_digest == envelope_digest(env), "the kept receipt does not name the envelope sent"
    assert mine[0].status == S.RECEIPT_STATUS_ACCEPTED, f"the kept receipt says {S.Name(mine[0].status)}"
    forged = bytes([signature[0] ^ 1]) + signature[1:]
    try:
        identity.verify_key.verify(RECEIPT_PURPOSE, forged, receipt_batch)
    except CryptoError:
        transcript.step("the receipt verifies; with one bit of its signature changed it does not")
    else:
        raise AssertionError("a changed signature also verifies: the check proves nothing")


# -- SCH: records ---------------------------------------------------------------------------------------


@case(
    "SCH-003",
    "A record type that is not a tamga.v1 type, or that differs from the record inside, is refused",
    requirements=("FDX-SCH-3",),
    mode="node",
    negative=True,
    after=("TRN-001",),
)
def test_sch_003_unknown_or_mismatched_record_type_is_refused(
    peer: FakePeer, target: TargetNode, record_type: str, transcript: Any
) -> None:
    before = _counts(target, peer)
    other = "contact_point_message" if record_type != "contact_point_message" else "declaration_snapshot"
    sent = peer.send(
        peer.craft.carrying(peer.record(record_type).SerializeToString(), "customs_unicorn"),
        peer.craft.carrying(peer.record(record_type).SerializeToString(), other),
    )
    _log(transcript, f"sent a {record_type} labelled 'customs_unicorn', and one labelled {other}", sent)
    _rejected(sent.receipts[0], [R.REJECT_REASON_MALFORMED_ENVELOPE], "record type 'customs_unicorn'")
    _rejected(
        sent.receipts[1],
        [R.REJECT_REASON_RECORD_TYPE_MISMATCH, R.REJECT_REASON_NO_AGREEMENT],
        f"header record type {other}, record {record_type}",
    )
    _nothing_kept(transcript, target, peer, before, 2)


@case(
    "SCH-008",
    "A received record that breaks the record rules or code lists is refused MALFORMED_RECORD, naming paths, "
    "while the valid record beside it is accepted",
    requirements=("FDX-SCH-7", "FDX-SCH-6", "FDX-RCP-4"),
    mode="node",
    negative=True,
    after=("TRN-001",),
)
def test_sch_008_a_received_record_is_checked_again(
    peer: FakePeer, target: TargetNode, record_type: str, transcript: Any
) -> None:
    before = _counts(target, peer)
    bad = peer.record(record_type)
    bad.meta.receiver_countries.append("QZ")  # not an ISO 3166-1 country
    bad.meta.sender_authority = ""  # mandatory
    good = peer.record(record_type)
    sent = peer.send(peer.craft.carrying(bad.SerializeToString(), record_type), peer.craft.valid(good))
    _log(transcript, "sent, properly sealed, a record with receiver country QZ and no authority, and a valid one", sent)
    refused, accepted = sent.receipts
    _rejected(refused, [R.REJECT_REASON_MALFORMED_RECORD], "a record breaking the record rules")
    transcript.step("refusal detail", detail=refused.detail)
    assert "receiver_countries" in refused.detail and "sender_authority" in refused.detail, (
        f"the refusal does not name the paths of both problems: {refused.detail!r}"
    )
    assert "QZ" not in refused.detail and _challenge(bad) not in refused.detail, "the detail quotes record values"
    _accepted(accepted, "the valid record of the same batch")
    if before is not None:
        after = _counts(target, peer)
        assert after is not None
        transcript.step("target status of the suite's peer", received=after["received"], refused=after["refused"])
        assert after["received"] == before["received"] + 1, "the target stored the refused record, or not the valid one"
    _no_unexpected_calls(peer, transcript)


@case(
    "SCH-007",
    "The target refuses to queue a record with a code outside its code list, naming the value, and sends nothing",
    requirements=("FDX-SCH-6", "FDX-IDM-4"),
    mode="node",
    negative=True,
    needs=("feature:send_direction",),
)
def test_sch_007_unknown_code_is_refused_at_the_targets_intake(
    peer: FakePeer, target: TargetNode, transcript: Any
) -> None:
    me = peer.suite.node_id
    before = target.peer_counts(me)
    good = peer.record_for_target_to_send("declaration_snapshot")
    bad = peer.record_for_target_to_send("declaration_snapshot")
    bad.declaration_snapshot.destination_country = "QZ"
    bad.declaration_snapshot.invoice_amount.currency = "XQX"
    arrivals = len(peer.arrivals)
    proc = target.submit_raw([good, bad], to=me)
    error = proc.stderr.strip()
    transcript.step("'tamga send' of a valid record and one with country QZ and currency XQX", exit=proc.returncode)
    assert proc.returncode != 0, "the target queued a record with codes outside their code lists"
    assert "QZ" in error and "XQX" in error, f"the error does not name the unknown codes: {error[:300]}"
    assert "destination_country" in error, "the error does not name where the unknown country is"
    deadline = time.monotonic() + 1.0  # a wrongly queued record would leave within the delivery poll
    while time.monotonic() < deadline:
        time.sleep(0.2)
    after = target.peer_counts(me)
    transcript.step("target status", queued=after["queued"], delivered=after["delivered"])
    assert (after["queued"], after["delivered"]) == (before["queued"], before["delivered"]), (
        "the target queued part of a file it refused"
    )
    assert len(peer.arrivals) == arrivals, "the target sent something of a file it refused"
    _no_unexpected_calls(peer, transcript)


# -- ADP: the national system's side of the target --------------------------------------------------


@case(
    "ADP-010",
    "A record the national system drops into the target's outgoing folder reaches the suite's peer, with a "
    "challenge code put into it unchanged",
    requirements=("FDX-ADP-10",),
    mode="node",
    needs=("feature:send_direction",),
    after=("ENV-001",),
)
def test_adp_010_a_challenge_code_crosses_the_national_pipeline(
    peer: FakePeer, target: TargetNode, record_type: str, transcript: Any
) -> None:
    adapter = target.adapter()
    code = f"TAMGA-CONFORMANCE-{uuid.uuid4().hex[:12].upper()}"
    data, records = challenge_file(
        adapter,
        code=code,
        sender_country=target.identity.country,
        receiver_country=peer.suite.local.country,
        prefer=(record_type,),
    )
    path = target.drop(f"conformance-{code.lower()}{adapter.file_suffix}", data)
    transcript.step(
        "dropped a national file into the target's outgoing folder",
        adapter=adapter.name,
        file=path,
        file_bytes=len(data),
        records=records,
        challenge=code,
    )
    rtype = records[0].WhichOneof("body")
    waited = peer.wait_for(lambda: bool(peer.arrivals_carrying(code)), f"a record carrying the challenge {code}")
    arrival, _, opened = peer.arrivals_carrying(code)[0]
    peer.expect(o.message_id for _, _, o in peer.arrivals_carrying(code))
    transcript.step("the record arrived", seconds=f"{waited:.2f}", message_id=opened.message_id)
    assert opened.record_type == rtype, f"a {rtype} was dropped, a {opened.record_type} arrived"
    fields = [path for path, text in _text_fields(opened.record) if code in text]
    transcript.step("fields carrying the challenge code", fields=", ".join(fields) or "none", batch_id=arrival.batch_id)
    assert fields, "the challenge code did not arrive as text in any field of the record"
    copies = {env.SerializeToString() for _, env, _ in peer.arrivals_carrying(code)}
    assert len(copies) <= len(records), f"{len(records)} record(s) dropped arrived as {len(copies)} envelopes"
    _no_unexpected_calls(peer, transcript)


def _drop_challenge(
    peer: FakePeer, target: TargetNode, record_type: str, transcript: Any, *, name: str | None = None
) -> tuple[str, bytes, Path]:
    """Drop a national file carrying a fresh challenge code into the target's outgoing folder."""
    adapter = target.adapter()
    code, data, records = _challenge_file(peer, target, record_type)
    path = target.drop(name or f"conformance-{code.lower()}{adapter.file_suffix}", data)
    transcript.step("dropped a national file", file=path, file_bytes=len(data), records=records, challenge=code)
    return code, data, path


def _challenge_file(peer: FakePeer, target: TargetNode, record_type: str) -> tuple[str, bytes, Any]:
    """A national file in the target's format from the target to the suite, carrying a fresh challenge code."""
    code = f"TAMGA-CONFORMANCE-{uuid.uuid4().hex[:12].upper()}"
    data, records = challenge_file(
        target.adapter(),
        code=code,
        sender_country=target.identity.country,
        receiver_country=peer.suite.local.country,
        prefer=(record_type,),
    )
    return code, data, records


def _taken(target: TargetNode, path: Path, transcript: Any, timeout: float = 30.0) -> str:
    """Wait until the target took ``path`` from its outgoing folder; "processed" or "failed"."""
    config = target.config
    deadline = time.monotonic() + timeout
    while path.exists():
        if time.monotonic() > deadline:
            raise AssertionError(f"the target did not take {path.name} from its outgoing folder in {timeout:.0f}s")
        time.sleep(0.05)
    for where in ("failed", "processed"):
        if (config.path(getattr(config.folders, where)) / path.name).exists():
            transcript.step("the target took the file", file=path.name, moved_to=where)
            return where
    raise AssertionError(f"{path.name} left the outgoing folder but is neither in processed/ nor in failed/")


def _sentinel(peer: FakePeer, target: TargetNode, record_type: str, transcript: Any) -> None:
    """Drop one more file and wait until it arrives. The target delivers to a peer in the order it queued,
    so whatever it queued from the files before has arrived by then too."""
    code, _, _ = _drop_challenge(peer, target, record_type, transcript)
    waited = peer.wait_for(lambda: bool(peer.arrivals_carrying(code)), f"the sentinel record carrying {code}")
    peer.expect(o.message_id for _, _, o in peer.arrivals_carrying(code))
    transcript.step("the sentinel file dropped after it arrived", seconds=f"{waited:.2f}")


@case(
    "IDM-001",
    "A national file handed over twice (same records, another name) reaches the peer once",
    requirements=("FDX-IDM-5", "FDX-IDM-1"),
    mode="node",
    needs=("feature:send_direction",),
    after=("ADP-010",),
)
def test_idm_001_the_same_records_handed_over_twice_are_sent_once(
    peer: FakePeer, target: TargetNode, record_type: str, transcript: Any
) -> None:
    code, data, first = _drop_challenge(peer, target, record_type, transcript)
    peer.wait_for(lambda: bool(peer.arrivals_carrying(code)), f"the records carrying {code}")
    sent = {o.message_id for _, _, o in peer.arrivals_carrying(code)}
    peer.expect(sent)
    transcript.step("the first file's records arrived", envelopes=len(sent))
    again = target.drop(f"again-{first.name}", data)
    transcript.step("dropped the same file again under another name", file=again.name)
    assert _taken(target, again, transcript) == "processed", f"the target refused {again.name}"
    _sentinel(peer, target, record_type, transcript)
    later = {o.message_id for _, _, o in peer.arrivals_carrying(code)} - sent
    peer.expect(later)
    transcript.step("envelopes of the same records sent again", count=len(later))
    assert not later, f"the records of a file handed over twice were sent again ({len(later)} more envelope(s))"
    _no_unexpected_calls(peer, transcript)


@case(
    "IDM-004",
    "A national file the adapter cannot read is moved to failed/ with its report, and nothing of it is sent",
    requirements=("FDX-IDM-4", "FDX-ADP-3"),
    mode="node",
    needs=("feature:send_direction",),
    after=("ADP-010",),
)
def test_idm_004_a_broken_national_file_is_refused_whole(
    peer: FakePeer, target: TargetNode, record_type: str, transcript: Any
) -> None:
    adapter = target.adapter()
    code, data, _ = _challenge_file(peer, target, record_type)
    cut = data[: len(data) * 2 // 3]
    path = target.drop(f"conformance-broken-{code.lower()}{adapter.file_suffix}", cut)
    transcript.step("dropped a national file cut at two thirds", file=path, file_bytes=len(cut), challenge=code)
    assert _taken(target, path, transcript) == "failed", f"the target accepted a truncated {adapter.name} file"
    report = target.config.path(target.config.folders.failed) / (path.name + ".error.json")
    assert report.exists(), f"no error report {report.name} beside the refused file"
    error = json.loads(report.read_text("utf-8")).get("error", {})
    transcript.step("the error report", kind=error.get("kind"), location=str(error.get("location") or "-"))
    assert error.get("message"), "the error report gives no reason"
    _sentinel(peer, target, record_type, transcript)
    sent = peer.arrivals_carrying(code)
    assert not sent, f"{len(sent)} record(s) of the refused file reached the peer"
    _no_unexpected_calls(peer, transcript)


@case(
    "ADP-011",
    "A national file larger than [limits] max_file_bytes is refused whole with a report naming its size and the "
    "limit, and nothing of it is sent",
    requirements=("FDX-ADP-6",),
    mode="node",
    negative=True,
    needs=("feature:send_direction",),
    after=("ADP-010",),
)
def test_adp_011_a_file_over_the_size_limit_is_refused_whole(
    peer: FakePeer, target: TargetNode, record_type: str, transcript: Any
) -> None:
    config = target.config
    limit = config.limits.max_file_bytes
    adapter = target.adapter()
    code = f"TAMGA-CONFORMANCE-{uuid.uuid4().hex[:12].upper()}"
    data, _ = challenge_file(
        adapter,
        code=code,
        sender_country=target.identity.country,
        receiver_country=peer.suite.local.country,
        prefer=(record_type,),
    )
    size = limit + 1
    name = f"conformance-oversize-{code.lower()}{adapter.file_suffix}"
    folder = config.path(config.folders.outgoing)
    # A valid national file, then zeros up to one byte over the limit: written sparse, so even a large
    # limit costs no disk space and no time; renamed into place whole, as a national system must.
    tmp = folder / f".{name}.conformance.tmp"
    tmp.write_bytes(data)
    os.truncate(tmp, size)
    path = folder / name
    os.replace(tmp, path)
    transcript.step(
        "dropped a national file one byte over the limit",
        file=name,
        file_bytes=size,
        max_file_bytes=limit,
        valid_part_bytes=len(data),
        challenge=code,
    )
    assert _taken(target, path, transcript) == "failed", "the target took a file over max_file_bytes"
    failed = config.path(config.folders.failed)
    report = failed / (name + ".error.json")
    assert report.exists(), f"no error report {report.name} beside the refused file"
    error = json.loads(report.read_text("utf-8")).get("error", {})
    message = str(error.get("message", ""))
    transcript.step("the error report", kind=error.get("kind"), message=message)
    assert str(size) in message and str(limit) in message, (
        f"the error report does not name the file's size {size} and the limit {limit}: {message!r}"
    )
    (failed / name).unlink(missing_ok=True)  # the suite's own test file: no operator needs it
    _sentinel(peer, target, record_type, transcript)
    sent = peer.arrivals_carrying(code)
    assert not sent, f"{len(sent)} record(s) of the refused file reached the peer"
    _no_unexpected_calls(peer, transcript)


def _left_outgoing(target: TargetNode, path: Path, timeout: float = 30.0) -> bool:
    """Whether the entry ``path`` (a link or a FIFO, never followed or opened here) left the outgoing folder."""
    deadline = time.monotonic() + timeout
    while os.path.lexists(path):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@case(
    "IDM-005",
    "A symbolic link to a national file outside the outgoing folder, and a FIFO, are not opened through: "
    "nothing behind them is sent, and the files after them are delivered",
    requirements=("FDX-IDM-6",),
    mode="node",
    negative=True,
    needs=("feature:send_direction",),
    after=("ADP-010",),
)
def test_idm_005_links_and_fifos_in_the_outgoing_folder_are_not_followed(
    peer: FakePeer, target: TargetNode, record_type: str, transcript: Any
) -> None:
    config = target.config
    adapter = target.adapter()
    outgoing, failed = config.path(config.folders.outgoing), config.path(config.folders.failed)
    # A valid national file outside the outgoing folder (in the target's run folder, which the target can read):
    # a node that follows the link reads it and sends its record, carrying this challenge code.
    code, data, _ = _challenge_file(peer, target, record_type)
    outside_dir = config.path(config.folders.run)
    outside_dir.mkdir(parents=True, exist_ok=True)
    outside = outside_dir / f"conformance-outside-{code.lower()}{adapter.file_suffix}"
    outside.write_bytes(data)
    link = outgoing / f"conformance-link-{code.lower()}{adapter.file_suffix}"
    fifo = outgoing / f"conformance-fifo-{code.lower()}{adapter.file_suffix}"
    try:
        tmp = outgoing / f".{link.name}.conformance.tmp"
        tmp.symlink_to(outside)
        os.replace(tmp, link)
        tmp = outgoing / f".{fifo.name}.conformance.tmp"
        os.mkfifo(tmp)
        os.replace(tmp, fifo)
        transcript.step(
            "put a symbolic link to a valid national file outside the outgoing folder, and a FIFO, into it",
            link=link.name,
            points_to=str(outside),
            fifo=fifo.name,
            challenge=code,
        )
        _sentinel(peer, target, record_type, transcript)
        sent = peer.arrivals_carrying(code)
        peer.expect(o.message_id for _, _, o in sent)  # caused by this case, even if it fails
        assert not sent, f"the target followed the link: {len(sent)} record(s) of the file behind it reached the peer"
        assert outside.read_bytes() == data, "the file the link points to was changed or moved"
        for what, entry in (("link", link), ("FIFO", fifo)):
            left = _left_outgoing(target, entry, timeout=2.0)
            where = failed / entry.name
            if left and os.path.lexists(where):
                report = failed / (entry.name + ".error.json")
                assert report.exists(), f"the {what} was moved to failed/ without its report {report.name}"
                error = json.loads(report.read_text("utf-8")).get("error", {})
                transcript.step(f"the {what} was set aside", moved_to="failed", message=error.get("message"))
                assert error.get("message"), f"the report of the {what} gives no reason"
            else:
                transcript.step(f"the {what}", left_in_outgoing=not left)
    finally:
        for entry in (link, fifo, failed / link.name, failed / fifo.name):
            if os.path.lexists(entry):
                entry.unlink()  # the suite's own test entries: no operator needs them
        outside.unlink(missing_ok=True)
    _no_unexpected_calls(peer, transcript)


@case(
    "IDM-006",
    "National files nested 200,000 levels deep, or binary, are each moved to failed/ with a report, and the file "
    "after them is delivered: no file holds up the others",
    requirements=("FDX-IDM-7", "FDX-IDM-4"),
    mode="node",
    negative=True,
    needs=("feature:send_direction",),
    after=("ADP-010",),
)
def test_idm_006_one_bad_file_never_holds_up_the_others(
    peer: FakePeer, target: TargetNode, record_type: str, transcript: Any
) -> None:
    adapter = target.adapter()
    failed = target.config.path(target.config.folders.failed)
    tag = uuid.uuid4().hex[:12]
    dropped = []
    for kind, data in hostile_national_files().items():
        path = target.drop(f"conformance-{kind}-{tag}{adapter.file_suffix}", data)
        transcript.step(f"dropped a {kind.replace('-', ' ')} file", file=path.name, file_bytes=len(data))
        dropped.append((kind, path))
    for kind, path in dropped:
        assert _taken(target, path, transcript) == "failed", f"the target accepted the {kind} file"
        report = failed / (path.name + ".error.json")
        assert report.exists(), f"no error report {report.name} beside the {kind} file"
        error = json.loads(report.read_text("utf-8")).get("error", {})
        transcript.step("the error report", file=report.name, kind=error.get("kind"), message=error.get("message"))
        assert error.get("message"), f"the error report of the {kind} file gives no reason"
        path_in_failed = failed / path.name
        path_in_failed.unlink(missing_ok=True)  # the suite's own test file: no operator needs it
    _sentinel(peer, target, record_type, transcript)
    _no_unexpected_calls(peer, transcript)


@case(
    "SCH-009",
    "A national XML file with a DTD, an external entity or an entity bomb is moved to failed/ with a report; "
    "nothing is fetched or sent and the node stays healthy",
    requirements=("FDX-SCH-5",),
    mode="node",
    negative=True,
    needs=("feature:xml", "feature:send_direction"),
    after=("ADP-010",),
)
def test_sch_009_hostile_xml_in_the_outgoing_folder_is_refused(
    peer: FakePeer, target: TargetNode, record_type: str, transcript: Any
) -> None:
    from tamga.adapters.sdk.testing import HOSTILE_XML_PROLOGS

    adapter = target.adapter()
    code = f"TAMGA-CONFORMANCE-{uuid.uuid4().hex[:12].upper()}"
    data, _ = challenge_file(
        adapter,
        code=code,
        sender_country=target.identity.country,
        receiver_country=peer.suite.local.country,
        prefer=(record_type,),
    )
    start = data.index(b"<", data.index(b"?>") + 2) if data.startswith(b"<?xml") else 0
    failed = target.config.path(target.config.folders.failed)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as trap:
        # The external entity names a URL on a port the suite listens on: a node that fetches it is seen.
        trap.bind(("127.0.0.1", 0))
        trap.listen(8)
        trap.setblocking(False)
        url = f"http://127.0.0.1:{trap.getsockname()[1]}/tamga-conformance-{code.lower()}"
        prologs = {**HOSTILE_XML_PROLOGS, "external-entity": f'<!DOCTYPE r [<!ENTITY xxe SYSTEM "{url}">]>\n'.encode()}
        dropped = []
        for kind, prolog in prologs.items():
            hostile = data[:start] + prolog + data[start:]
            if kind != "dtd":  # use the entity, so a parser resolving it would put it into a record
                hostile = hostile.replace(b"</", (b"&xxe;" if kind == "external-entity" else b"&d;") + b"</", 1)
            path = target.drop(f"conformance-{kind}-{code.lower()}{adapter.file_suffix}", hostile)
            transcript.step(f"dropped the {adapter.name} file with {kind.replace('-', ' ')}", file=path.name)
            dropped.append((kind, path))
        for kind, path in dropped:
            assert _taken(target, path, transcript) == "failed", f"the target took the file with {kind}"
            report = failed / (path.name + ".error.json")
            assert report.exists(), f"no error report {report.name} beside the file with {kind}"
            error = json.loads(report.read_text("utf-8")).get("error", {})
            transcript.step("the error report", file=report.name, kind=error.get("kind"), message=error.get("message"))
            assert error.get("message"), f"the error report of the file with {kind} gives no reason"
        _sentinel(peer, target, record_type, transcript)
        try:
            conn, _ = trap.accept()
        except BlockingIOError:
            fetched = False
        else:
            conn.close()
            fetched = True
    transcript.step("the external entity's URL was fetched", fetched=fetched, url=url)
    assert not fetched, f"the target fetched the external entity {url}"
    sent = peer.arrivals_carrying(code)
    assert not sent, f"{len(sent)} record(s) of the refused XML files reached the peer"
    for service in ("", EXCHANGE_SERVICE):
        status = peer.health(service)
        transcript.step("health after the hostile files", service=service or "(server)", status=status)
        assert status == "SERVING", f"after the hostile XML files the health of {service or 'the server'} is {status}"
    _no_unexpected_calls(peer, transcript)


def _text_fields(message: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    """(path, text) of every text field of a protobuf message, nested ones included."""
    for field, value in message.ListFields():
        path = f"{prefix}{field.name}"
        values = value if field.is_repeated else [value]
        for v in values:
            if isinstance(v, str):
                yield path, v
            elif hasattr(v, "ListFields"):
                yield from _text_fields(v, path + ".")


# -- HLT: health and metadata ----------------------------------------------------------------------------


@case(
    "HLT-001",
    "The node serves gRPC health checking and answers SERVING for the server and the exchange service",
    requirements=("FDX-HLT-1",),
    mode="node",
)
def test_hlt_001_health_is_serving(peer: FakePeer, transcript: Any) -> None:
    for service in ("", EXCHANGE_SERVICE):
        status = peer.health(service)
        transcript.step("grpc.health.v1.Health/Check", service=service or "(server)", status=status)
        assert status == "SERVING", f"health of {service or 'the server'!r} is {status}"
    try:
        status = peer.health("tamga.v1.NoSuchService")
    except grpc.RpcError as exc:
        code = exc.code()  # type: ignore[attr-defined]
        transcript.step("health of a service the node does not have", answer=code.name)
        assert code == grpc.StatusCode.NOT_FOUND, f"an unknown service's health check ended {code.name}"
    else:
        raise AssertionError(f"the health of a service the node does not have is {status}, not NOT_FOUND")


@case(
    "HLT-003",
    "GetIdentity returns a signed identity matching the pinned one, with the versions and profiles it speaks",
    requirements=("FDX-HLT-3", "FDX-VER-1"),
    mode="node",
    after=("TRN-001",),
)
def test_hlt_003_get_identity_matches_the_pinned_identity(peer: FakePeer, target: TargetNode, transcript: Any) -> None:
    resp = peer.stub.GetIdentity(exchange_pb2.GetIdentityRequest(), timeout=peer.timeout)
    served = read_identity(resp.identity)  # raises if the document's signature does not verify
    pinned = target.identity
    transcript.step(
        "GetIdentity",
        node_id=served.node_id,
        fingerprint=served.fingerprint,
        protocol_versions=",".join(map(str, resp.protocol_versions)),
        crypto_profiles=",".join(resp.crypto_profiles),
    )
    assert served.node_id == pinned.node_id, f"GetIdentity says {served.node_id}, pinned {pinned.node_id}"
    assert served.verify_key == pinned.verify_key, "GetIdentity names another signing key than the pinned one"
    assert served.encryption_key == pinned.encryption_key, "GetIdentity names another encryption key"
    assert served.tls_certificate == pinned.tls_certificate, "GetIdentity names another TLS certificate"
    versions = list(resp.protocol_versions)
    assert versions and versions == sorted(versions, reverse=True), f"protocol versions {versions}, not highest first"
    assert 1 in versions, "the node does not list protocol version 1"
    assert CRYPTO_PROFILE_V1 in resp.crypto_profiles, f"crypto profiles {list(resp.crypto_profiles)}"


# -- VER: versions ------------------------------------------------------------------------------------------


@case(
    "VER-002",
    "An envelope of a protocol version the node does not speak is refused, listing the versions it speaks",
    requirements=("FDX-VER-2",),
    mode="node",
    negative=True,
    after=("TRN-001",),
)
def test_ver_002_unsupported_protocol_version_is_refused(
    peer: FakePeer, target: TargetNode, record_type: str, transcript: Any
) -> None:
    spoken = list(peer.stub.GetIdentity(exchange_pb2.GetIdentityRequest(), timeout=peer.timeout).protocol_versions)
    unspoken = [v for v in (0, max(spoken, default=1) + 1, 4096) if v not in spoken]
    before = _counts(target, peer)
    sent = peer.send(
        *[
            peer.craft.with_header(peer.record(record_type), lambda h, v=v: setattr(h, "protocol_version", v))
            for v in unspoken
        ]
    )
    _log(transcript, f"sent envelopes of protocol versions {unspoken} (the node speaks {spoken})", sent)
    for v, r in zip(unspoken, sent.receipts, strict=True):
        _rejected(r, [R.REJECT_REASON_UNSUPPORTED_PROTOCOL_VERSION], f"protocol version {v}")
        for s in spoken:
            assert str(s) in r.detail, f"the refusal of version {v} does not list version {s}: {r.detail!r}"
    _nothing_kept(transcript, target, peer, before, len(unspoken))


@case(
    "VER-003",
    "Unknown fields of a newer minor version in the header and the record are ignored; the signature still verifies",
    requirements=("FDX-VER-3",),
    mode="node",
    after=("TRN-001",),
)
def test_ver_003_unknown_fields_are_ignored(
    peer: FakePeer, target: TargetNode, record_type: str, transcript: Any
) -> None:
    before = _counts(target, peer)
    sent = peer.send(peer.craft.with_unknown_fields(peer.record(record_type)))
    _log(transcript, "sent an envelope with an unknown header field (99) and an unknown record field (4242)", sent)
    _accepted(sent.receipts[0], "an envelope with unknown fields")
    if before is not None:
        after = _counts(target, peer)
        assert after is not None and after["received"] == before["received"] + 1, "the target did not store it"


__all__ = ["NodeSetup", "add_options", "configure", "derive_for_node", "node_arguments", "prepare"]

# The cases of a target in a test federation with the suite (manifest mode), collected with these.
from tamga.conformance.cases.manifest_cases import *  # noqa: E402, F403
