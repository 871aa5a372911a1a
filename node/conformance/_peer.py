"""The suite's peer in node mode: a programmable fake peer of the node under test.

Node mode plays one peer against a live node (the *target*), in both directions:

- **Sending** (the suite is a client): :class:`FakePeer` opens the pinned TLS
  channel to the target as the suite's test identity, sends batches of
  envelopes, valid or broken on purpose by :class:`Crafter`, and returns the
  receipts only after checking that the target signed them over what was sent
  (:func:`verify_receipts`). A receipt the target did not sign, or one that
  names other envelopes, fails the case; it is never read as an answer.
- **Receiving** (the suite is a server): a real gRPC server with the test
  identity's TLS certificate that trusts only the target's pinned certificate.
  It keeps every batch the target sends (:class:`Arrival`) and answers with
  the receipts the case programs (:class:`ReceiptMode`): correct, wrong
  digest, bad signature, or none at all (the stream ends without a receipt).
  An envelope the suite did not make the target send, or a call of a method
  the service does not have, is noted in :attr:`FakePeer.unexpected`; the
  cases fail on it.

The target's *local interface* (:class:`TargetNode` with ``home``) is
optional: the target's node folder on this machine, through which the suite
makes the target send (``tamga send``), reads what it did (``tamga status
--json``) and restarts it (``--restart-command``). Cases that need it declare
so and are not applicable without it.

Safety rails: test identities only. The suite signs and receives as the node
of ``--peer-home``, made by ``tamga conformance peer-init``; its node id must
start with ``TEST-`` (:data:`TEST_ID_PREFIX`). That id is what the target's
operator pins (``tamga peer add``) and what the target's national system sees
as the sender of every record the suite sends, so nobody can take the
suite's records for a real customs service's, and a production identity
(whose id never has the prefix) is refused before anything is sent.

No private key leaves its key file's process memory: nothing here logs,
prints or returns key material.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import json
import os
import shlex
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import json_format
from grpc_health.v1 import health_pb2, health_pb2_grpc
from tamga.config import Config, LimitsConfig, load_config
from tamga.crypto import CRYPTO_PROFILE_V1, SALT_SIZE, EncryptionKey, SigningKey, digest, random_bytes
from tamga.errors import ConfigError, CryptoError, KeyFileError, TamgaError
from tamga.home import export_identity, init_home, load_local_identity, parse_identity_file
from tamga.protocol import (
    ENVELOPE_PURPOSE,
    PROTOCOL_VERSION,
    RECEIPT_PURPOSE,
    LocalIdentity,
    Opened,
    Peer,
    PeerDirectory,
    Refused,
    envelope_digest,
    open_envelope,
    read_identity,
    sign_receipts,
)
from tamga.transport import (
    CHANNEL_OPTIONS,
    ServerTls,
    TlsIdentity,
    certificate_fingerprint,
    client_credentials,
    generate_tls_identity,
    presented_fingerprint,
    tls_name,
)
from tamga.v1 import envelope_pb2, exchange_pb2, exchange_pb2_grpc, records_pb2

__all__ = [
    "SAMPLE_TYPES",
    "TEST_ID_PREFIX",
    "Arrival",
    "Crafter",
    "FakePeer",
    "PeerSetupError",
    "ReceiptMode",
    "ReceiptNotTrusted",
    "Sent",
    "SuiteIdentity",
    "TargetNode",
    "batch_of",
    "challenge_file",
    "check_listen_address",
    "check_test_identity",
    "header_of",
    "init_peer_home",
    "load_target",
    "preflight",
    "sample_record",
    "verify_receipts",
]

TEST_ID_PREFIX = "TEST-"
"""Every node id the suite sends as starts with this: test identities only."""

WAIT = 20.0
"""Seconds: the longest the suite waits for one answer of the target."""

S = envelope_pb2.ReceiptStatus
R = envelope_pb2.RejectReason
Envelope = envelope_pb2.Envelope
EnvelopeHeader = envelope_pb2.EnvelopeHeader


class PeerSetupError(TamgaError):
    """Node-mode input that cannot be used (peer home, target identity, endpoint, local interface): exit 2."""


class ReceiptNotTrusted(AssertionError):
    """An answer of the target that is not a receipt the target signed for what was sent: the case fails."""


# -- the suite's test identity ---------------------------------------------------------------


def check_test_identity(node_id: str, where: str, hint: str = " (make one with 'tamga conformance peer-init')") -> None:
    """Refuse a node id that is not a test identity.

    Raises:
        PeerSetupError: ``node_id`` does not start with ``TEST-``.
    """
    if not node_id.startswith(TEST_ID_PREFIX):
        raise PeerSetupError(
            f"{where}: node id {node_id!r} is not a test identity; the conformance suite sends only as a node "
            f"whose id starts with {TEST_ID_PREFIX!r}{hint}"
        )


@dataclasses.dataclass(frozen=True, slots=True)
class SuiteIdentity:
    """The suite's test identity: a node folder made by ``tamga conformance peer-init``.

    ``listen`` is where the suite's peer server listens ([server] listen of
    that folder); ``identity_file`` is what the target's operator pins.
    """

    home: Path
    local: LocalIdentity
    listen: str
    identity_file: Path

    @property
    def node_id(self) -> str:
        return self.local.node_id

    @classmethod
    def load(cls, home: Path) -> SuiteIdentity:
        """Read the test identity of ``home``.

        Raises:
            PeerSetupError: not a node folder, unreadable keys, no TLS key, or not a test identity.
        """
        try:
            config = load_config(home)
            check_test_identity(config.node.id, f"--peer-home {home}")
            local = load_local_identity(config)
        except (ConfigError, KeyFileError, CryptoError) as exc:
            raise PeerSetupError(f"--peer-home {home}: {exc}") from exc
        if not local.tls_certificate:
            raise PeerSetupError(f"--peer-home {home}: the test identity has no TLS certificate")
        return cls(home, local, config.server.listen, _identity_file(config))


def _identity_file(config: Config) -> Path:
    return config.home / f"{config.node.id}.identity.json"


def init_peer_home(
    home: Path, *, node_id: str, country: str, listen: str, advertise: Sequence[str] | None = None
) -> tuple[Config, Path]:
    """Create the suite's test identity: a node folder and its identity file for the target to pin.

    Returns:
        The folder's configuration and the identity file written beside its keys.

    Raises:
        PeerSetupError: the node id is not a test identity.
        ConfigError: the folder already holds a node, or an argument is invalid.
    """
    check_test_identity(node_id, "--node-id", "")
    config = init_home(
        home,
        node_id=node_id,
        country=country,
        authority=f"Tamga conformance suite (test identity {node_id}; not a customs service)",
        listen=listen,
        advertise=list(advertise or ()) or [listen],
    )
    local = load_local_identity(config)
    path = _identity_file(config)
    path.write_text(export_identity(local, list(config.server.advertise)), "utf-8")
    return config, path


# -- the target ------------------------------------------------------------------------------


@dataclasses.dataclass
class TargetNode:
    """The node under test: where it listens, its pinned identity, and optionally its local interface.

    Args:
        endpoint: "host:port" of its peer port.
        identity: The target as pinned from its identity file (keys and TLS certificate).
        home: Its node folder on this machine (the local interface), or None.
        restart_command: A shell command that stops and starts the target again, or None.
    """

    endpoint: str
    identity: Peer
    home: Path | None = None
    restart_command: str | None = None

    @property
    def node_id(self) -> str:
        return self.identity.node_id

    @property
    def config(self) -> Config:
        if self.home is None:
            raise PeerSetupError("the target's local interface (--target-home) was not given")
        return load_config(self.home)

    def limits(self) -> LimitsConfig:
        """The target's [limits] when its folder is known; the protocol's defaults otherwise."""
        return self.config.limits if self.home is not None else LimitsConfig()

    def tamga(self, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        """Run ``tamga ARGS --home TARGET_HOME`` (the target's own command line), bounded."""
        if self.home is None:
            raise PeerSetupError("the target's local interface (--target-home) was not given")
        env = {k: v for k, v in os.environ.items() if k != "TAMGA_HOME"}
        return subprocess.run(
            [sys.executable, "-m", "tamga", *args, "--home", str(self.home)],
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            env=env,
            check=False,
        )

    def status(self) -> dict[str, Any]:
        """What ``tamga status --json`` says of the target.

        The command's own function runs in this process (reading the target's
        store read-only, as the command does): the same document, without
        starting a Python process for every look.

        Raises:
            AssertionError: the command failed.
        """
        import argparse
        import io

        from tamga.cli import cmd_status

        if self.home is None:
            raise PeerSetupError("the target's local interface (--target-home) was not given")
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out):
                cmd_status(argparse.Namespace(home=str(self.home), json=True))
        except TamgaError as exc:
            raise AssertionError(f"'tamga status --json' on the target failed: {exc}") from exc
        doc: dict[str, Any] = json.loads(out.getvalue())
        return doc

    def peer_counts(self, peer_id: str) -> dict[str, Any]:
        """What the target's status says of one peer (queued, delivered, received, refused, failures...)."""
        entry = self.status()["peers"].get(peer_id)
        if entry is None:
            raise AssertionError(f"the target does not list {peer_id} as a peer: pin the suite's identity first")
        # Status leaves out the counts of a peer nothing has happened with yet.
        counts: dict[str, Any] = dict.fromkeys(("queued", "delivered", "rejected", "received", "refused"), 0)
        counts.update(consecutive_failures=0, last_error=None)
        counts.update(entry)
        return counts

    def submit(self, records: Sequence[records_pb2.Record], *, to: str) -> list[str]:
        """Make the target send ``records`` to ``to`` as its national system would (``tamga send``).

        The records are written as canonical JSON and queued with the ``json``
        adapter, so any target can be made to send whatever its adapter is.

        Returns:
            The message ids the target gave the sealed envelopes.

        Raises:
            AssertionError: the target refused the records.
        """
        proc = self.submit_raw(records, to=to)
        if proc.returncode != 0:
            raise AssertionError(f"the target refused to queue the records: {proc.stderr.strip()}")
        ids = [line.split()[0] for line in proc.stdout.splitlines() if line.startswith("  ") and "->" in line]
        if len(ids) != len(records):
            raise AssertionError(f"'tamga send' queued {len(ids)} envelope(s) for {len(records)} record(s)")
        return ids

    def submit_raw(self, records: Sequence[records_pb2.Record], *, to: str) -> subprocess.CompletedProcess[str]:
        """``tamga send --adapter json --to TO`` with ``records``; the completed process, whatever it says."""
        if self.home is None:
            raise PeerSetupError("the target's local interface (--target-home) was not given")
        doc = {"records": [json_format.MessageToDict(r) for r in records]}
        folder = self.home / "run"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"conformance-{uuid.uuid4().hex}.json"
        path.write_text(json.dumps(doc, ensure_ascii=False), "utf-8")
        try:
            return self.tamga("send", str(path), "--adapter", "json", "--to", to)
        finally:
            path.unlink(missing_ok=True)

    def adapter(self) -> Any:
        """The target's adapter with its [adapter.options], as the running node loads it."""
        from tamga.adapters import load_adapter

        config = self.config
        options = {
            k: str(config.path(Path(v))) if k.endswith("_file") and isinstance(v, str) else v
            for k, v in config.adapter.options.items()
        }
        return load_adapter(config.adapter.name, options)

    def drop(self, name: str, data: bytes) -> Path:
        """Write a file into the target's outgoing folder as a national system must (whole, then renamed)."""
        from tamga.intake import write_atomically

        config = self.config
        path = config.path(config.folders.outgoing) / name
        write_atomically(path, data)
        return path

    def peers(self) -> list[Peer]:
        """The target's peers as 'tamga status' lists them (its federation's members, or its pinned peers)."""
        from tamga.cli import _federation_status

        peers, _ = _federation_status(self.config)
        return list(peers)

    def pid(self) -> int | None:
        """The running target's process id from its run folder, when its folder is known."""
        if self.home is None:
            return None
        try:
            return int((self.config.path(self.config.folders.run) / "pid").read_text().strip())
        except (OSError, ValueError):
            return None


def load_target(
    endpoint: str, identity_file: Path, *, home: Path | None = None, restart_command: str | None = None
) -> TargetNode:
    """Check the node-mode target options and return the target.

    Raises:
        PeerSetupError: a bad endpoint, an identity file that does not verify or
            has no TLS certificate, or a target folder that is not that node's.
    """
    host, _, port = endpoint.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise PeerSetupError(f"--target {endpoint!r}: expected HOST:PORT, e.g. 127.0.0.1:7400")
    try:
        text = identity_file.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PeerSetupError(f"--target-identity {identity_file}: cannot read: {exc}") from exc
    try:
        peer = parse_identity_file(text, str(identity_file)).peer
    except (ConfigError, CryptoError) as exc:
        raise PeerSetupError(f"--target-identity {exc}") from exc
    if not peer.tls_certificate:
        raise PeerSetupError(
            f"--target-identity {identity_file}: the identity has no TLS certificate (made before TLS); "
            "export it again with 'tamga identity export'"
        )
    if home is not None:
        try:
            config = load_config(home)
        except ConfigError as exc:
            raise PeerSetupError(f"--target-home {exc}") from exc
        if config.node.id != peer.node_id:
            raise PeerSetupError(
                f"--target-home {home}: that folder is node {config.node.id!r}, the target identity is {peer.node_id!r}"
            )
    if restart_command is not None and not shlex.split(restart_command):
        raise PeerSetupError("--restart-command is empty")
    return TargetNode(endpoint, peer, home, restart_command)


# -- records ----------------------------------------------------------------------------------


def sample_record(
    record_type: str, *, sender_country: str, receiver_country: str, challenge: str | None = None
) -> records_pb2.Record:
    """A valid record of ``record_type`` from ``sender_country`` to ``receiver_country``.

    ``challenge`` (default: a fresh random code) is carried in the record's
    source reference, so the suite can recognise the record wherever it arrives.

    Raises:
        ValueError: the suite has no sample of that record type.
    """
    code = challenge or f"TAMGA-CONFORMANCE-{uuid.uuid4().hex[:12].upper()}"
    meta = {
        "recordId": str(uuid.uuid4()),
        "senderCountry": sender_country,
        "receiverCountries": [receiver_country],
        "senderAuthority": "Tamga conformance suite (test record)",
        "createdAt": "2026-03-01T10:00:00Z",
        "sourceFormat": "TAMGA:CONFORMANCE",
        "sourceRecordRef": code,
        "messageFunction": "MESSAGE_FUNCTION_ORIGINAL",
    }
    if record_type == "declaration_snapshot":
        body: dict[str, Any] = {
            "meta": {**meta, "handling": "HANDLING_RESTRICTED"},
            "declarationSnapshot": {
                "declarationNo": code,
                "direction": "DIRECTION_EXPORT",
                "procedureCode": "1000",
                "acceptanceDate": "2026-03-01",
                "exporter": {"name": "Conformance Exporter LLP", "country": sender_country},
                "consignee": {"name": "Conformance Consignee LLC", "country": receiver_country},
                "dispatchCountry": sender_country,
                "destinationCountry": receiver_country,
                "invoiceAmount": {"amount": "1250.00", "currency": "USD"},
                "items": [
                    {
                        "seq": 1,
                        "commodity": {"hs6": "100199", "description": f"Wheat (test record {code})"},
                        "grossMass": {"value": "20000.5", "unit": "KGM"},
                        "customsValue": {"amount": "1250.00", "currency": "USD"},
                    }
                ],
            },
        }
    elif record_type == "contact_point_message":
        body = {
            "meta": {**meta, "handling": "HANDLING_LAW_ENFORCEMENT"},
            "contactPointMessage": {
                "kind": "CONTACT_POINT_KIND_REQUEST",
                "threadId": str(uuid.uuid4()),
                "legalBasis": "Conformance test; no legal effect",
                "requestingAuthority": "Tamga conformance suite",
                "requestedAuthority": "Node under test",
                "contactPointId": "TEST-24H-01",
                "priority": "PRIORITY_ROUTINE",
                "responseDue": "2026-03-02T10:00:00Z",
                "measureRequested": "VERIFY_DECLARATION",
                "subject": code,
                "reason": "Conformance test",
                "factsSummary": "A test record of the conformance suite",
                "language": "en",
            },
        }
    else:
        raise ValueError(f"the suite has no sample {record_type!r} record")
    record = records_pb2.Record()
    json_format.ParseDict(body, record)
    return record


SAMPLE_TYPES = ("declaration_snapshot", "contact_point_message")
"""Record types :func:`sample_record` can make."""


def _replace_text(message: Any, old: str, new: str) -> None:
    """Replace every text field (and list item) equal to ``old`` with ``new``, nested messages included."""
    for field, value in message.ListFields():
        if field.is_repeated:
            for i, item in enumerate(value):
                if isinstance(item, str) and item == old:
                    value[i] = new
                elif hasattr(item, "ListFields"):
                    _replace_text(item, old, new)
        elif isinstance(value, str) and value == old:
            setattr(message, field.name, new)
        elif hasattr(value, "ListFields"):
            _replace_text(value, old, new)


def _put_challenge(message: Any, code: str) -> int:
    """Append ``code`` to every free-text field of a message (names, descriptions, subjects...); count them."""
    from tamga.adapters.sdk.testing import TEXT_FIELDS

    count = 0
    for field, value in message.ListFields():
        items = value if field.is_repeated else [value]
        for item in items:
            if hasattr(item, "ListFields"):
                count += _put_challenge(item, code)
        if isinstance(value, str) and field.name in TEXT_FIELDS:
            setattr(message, field.name, f"{value} {code}"[-500:] if value else code)
            count += 1
    return count


def challenge_file(
    adapter: Any, *, code: str, sender_country: str, receiver_country: str, prefer: Sequence[str] = ()
) -> tuple[bytes, list[records_pb2.Record]]:
    """A file in the adapter's national format whose records all go to ``receiver_country`` and carry ``code``.

    The record comes from the suite's own samples when the adapter writes
    their type, else from the adapter's sample files: it is re-addressed to
    ``receiver_country``, the code is put into its free text, it is encoded,
    and the file is accepted only if the adapter decodes it back to records
    that go to ``receiver_country`` alone, carry the code and pass the
    record rules. So the file cannot go to any other peer of the node.

    Returns:
        The file's bytes and the records it decodes to.

    Raises:
        AssertionError: no record could be made into such a file (the message says why for each try).
    """
    from tamga.adapters.sdk.ods import without_derived
    from tamga.adapters.sdk.testing import sample_files
    from tamga.errors import AdapterError
    from tamga.validation import validate_records

    kinds = tuple(getattr(adapter, "record_types", ()) or ())
    candidates: list[tuple[str, records_pb2.Record]] = []
    for t in dict.fromkeys([*prefer, *SAMPLE_TYPES]):
        if t in SAMPLE_TYPES and (not kinds or t in kinds):
            made = sample_record(t, sender_country=sender_country, receiver_country=receiver_country, challenge=code)
            candidates.append((f"the suite's {t}", made))
    for path in sample_files(getattr(adapter, "samples", None)):
        try:
            records = without_derived(adapter.decode(path.read_bytes(), source=path.name))
        except Exception:
            continue
        candidates += [(f"{path.name} record {i}", r) for i, r in enumerate(records)]
    tried = []
    for what, original in candidates:
        rec = records_pb2.Record()
        rec.CopyFrom(original)
        for old in set(rec.meta.receiver_countries):
            _replace_text(rec, old, receiver_country)
        del rec.meta.receiver_countries[:]
        rec.meta.receiver_countries.append(receiver_country)
        if not _put_challenge(rec, code):
            tried.append(f"{what}: no free-text field")
            continue
        try:
            data = adapter.encode([rec])
            again = adapter.decode(data, source="conformance challenge")
        except AdapterError as exc:
            tried.append(f"{what}: {exc}")
            continue
        if not again or any(list(r.meta.receiver_countries) != [receiver_country] for r in again):
            tried.append(f"{what}: the national file does not keep the receiver country {receiver_country}")
        elif code.encode() not in b"".join(r.SerializeToString() for r in again):
            tried.append(f"{what}: the national file does not keep the challenge code")
        elif problems := validate_records(again):
            tried.append(f"{what}: {problems[0]}")
        else:
            return data, list(again)
    raise AssertionError(
        f"no record could be made into a {getattr(adapter, 'name', 'national')} file for {receiver_country} "
        f"carrying a challenge code: {'; '.join(tried)[:600]}"
    )


# -- envelopes -------------------------------------------------------------------------------


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def unknown_field(number: int, value: int) -> bytes:
    """A varint protobuf field no tamga.v1 message defines: what a newer minor version might add."""
    return _varint(number << 3) + _varint(value)


def _bytes_field(number: int, value: bytes) -> bytes:
    """A length-delimited protobuf field (wire type 2) of a number no message defines."""
    return _varint((number << 3) | 2) + _varint(len(value)) + value


@dataclasses.dataclass
class Crafter:
    """Builds envelopes from the suite to the target, step by step, so each step can be bent.

    :meth:`envelope` is sealing as the protocol core does it (header, salt,
    signature over header and plaintext, Box encryption), with a hook at every
    step; the named builders below bend exactly one thing each.
    """

    local: LocalIdentity
    target: Peer

    def header(self, record_type: str, *, message_id: str | None = None, created_at: float | None = None) -> Any:
        h = EnvelopeHeader(
            protocol_version=PROTOCOL_VERSION,
            crypto_profile=CRYPTO_PROFILE_V1,
            sender=self.local.node_id,
            recipient=self.target.node_id,
            message_id=message_id or str(uuid.uuid4()),
            sender_signing_key_id=self.local.signing_key.key_id,
            sender_encryption_key_id=self.local.encryption_key.key_id,
            recipient_encryption_key_id=self.target.encryption_key.key_id,
            record_type=record_type,
        )
        h.created_at.FromNanoseconds(int((time.time() if created_at is None else created_at) * 1e9))
        return h

    def envelope(
        self,
        record: records_pb2.Record | bytes,
        *,
        record_type: str | None = None,
        message_id: str | None = None,
        created_at: float | None = None,
        before_signing: Callable[[Any], None] | None = None,
        header_bytes: Callable[[bytes], bytes] | None = None,
        signer: SigningKey | None = None,
        signed_plaintext: Callable[[bytes], bytes] | None = None,
        after_signing: Callable[[bytes], bytes] | None = None,
        encrypt: Callable[[bytes], bytes] | None = None,
        body: Callable[[bytes], bytes] | None = None,
        signature: Callable[[bytes], bytes] | None = None,
    ) -> Any:
        """One envelope; every hook defaults to what an honest sender does.

        Args:
            record: The record, or raw bytes to carry as the "record".
            record_type: Header record type (default: the record's).
            before_signing: Changes the header message before it is serialized and signed.
            header_bytes: Changes the serialized header before signing (e.g. unknown fields).
            signer: Signs instead of the suite's identity key.
            signed_plaintext: Maps the plaintext sent to the plaintext signed.
            after_signing: Changes the header bytes after signing (what travels).
            encrypt: Encrypts the plaintext instead of the suite's Box to the target.
            body: Changes the encrypted body.
            signature: Changes the signature.
        """
        raw = record if isinstance(record, bytes) else record.SerializeToString()
        rtype = record_type if record_type is not None else _record_type(record)
        h = self.header(rtype, message_id=message_id, created_at=created_at)
        if before_signing is not None:
            before_signing(h)
        hb = h.SerializeToString()
        if header_bytes is not None:
            hb = header_bytes(hb)
        plaintext = random_bytes(SALT_SIZE) + raw
        signed = signed_plaintext(plaintext) if signed_plaintext is not None else plaintext
        sig = (signer or self.local.signing_key).sign(ENVELOPE_PURPOSE, hb, signed)
        sealed_body = (encrypt or self.target.channel(self.local).encrypt)(plaintext)
        return Envelope(
            header=after_signing(hb) if after_signing is not None else hb,
            body=body(sealed_body) if body is not None else sealed_body,
            signature=signature(sig) if signature is not None else sig,
        )

    # Each builder below bends one thing.

    def valid(self, record: records_pb2.Record, **kw: Any) -> Any:
        return self.envelope(record, **kw)

    def ciphertext_flipped(self, record: records_pb2.Record, position: int) -> Any:
        """A bit of the encrypted body flipped in transit (the Box's MAC catches it)."""
        return self.envelope(record, body=lambda b: _flip(b, position % len(b)))

    def record_changed_after_signing(self, record: records_pb2.Record) -> Any:
        """The record bytes differ by one bit from those signed, and are encrypted properly (only the signature
        catches it)."""
        return self.envelope(record, signed_plaintext=lambda p: _flip(p, len(p) - 1))

    def header_changed_after_signing(self, record: records_pb2.Record, change: Callable[[Any], None]) -> Any:
        def rewrite(hb: bytes) -> bytes:
            h = EnvelopeHeader.FromString(hb)
            change(h)
            return h.SerializeToString()

        return self.envelope(record, after_signing=rewrite)

    def signed_by_unbound_key(self, record: records_pb2.Record, *, key_id: str | None = None) -> Any:
        """A genuine signature by a fresh key the target never bound to the suite (header names ``key_id``)."""
        stranger = SigningKey.generate()
        if key_id is None:
            return self.envelope(record, signer=stranger)
        return self.envelope(
            record, signer=stranger, before_signing=lambda h: setattr(h, "sender_signing_key_id", key_id)
        )

    def addressed_to(self, record: records_pb2.Record, recipient: str) -> Any:
        """Addressed to another node (and sealed for a key that is not the target's)."""
        other = EncryptionKey.generate()
        return self.envelope(
            record,
            before_signing=lambda h: setattr(h, "recipient", recipient),
            encrypt=self.local.encryption_key.channel(other.public).encrypt,
        )

    def encrypted_to_another_key(self, record: records_pb2.Record, *, key_id: str | None = None) -> Any:
        """Header addressed to the target, body sealed for a key that is not the target's."""
        other = EncryptionKey.generate()
        return self.envelope(
            record,
            before_signing=(lambda h: setattr(h, "recipient_encryption_key_id", key_id)) if key_id else None,
            encrypt=self.local.encryption_key.channel(other.public).encrypt,
        )

    def sealed_at(self, record: records_pb2.Record, created_at: float, **kw: Any) -> Any:
        return self.envelope(record, created_at=created_at, **kw)

    def oversize(self, record: records_pb2.Record, size: int) -> Any:
        """A properly sealed envelope of more than ``size`` bytes (padding carried as an unknown record field)."""
        raw = record.SerializeToString() + _bytes_field(9999, bytes(size))
        return self.envelope(raw, record_type=_record_type(record))

    def with_header(self, record: records_pb2.Record, change: Callable[[Any], None]) -> Any:
        """Signed honestly over a header changed before signing (a version, a profile...)."""
        return self.envelope(record, before_signing=change)

    def with_signature(self, record: records_pb2.Record, value: bytes) -> Any:
        return self.envelope(record, signature=lambda _s: value)

    def with_unknown_fields(self, record: records_pb2.Record) -> Any:
        """Unknown fields (as a newer minor version would add) in the header and the record, signed as sent."""
        raw = record.SerializeToString() + unknown_field(4242, 7)
        return self.envelope(raw, record_type=_record_type(record), header_bytes=lambda hb: hb + unknown_field(99, 1))

    def carrying(self, plaintext_record: bytes, record_type: str) -> Any:
        """Anything as the "record": bytes that are not a tamga.v1.Record, a record of another type..."""
        return self.envelope(plaintext_record, record_type=record_type)


def _record_type(record: records_pb2.Record | bytes) -> str:
    if isinstance(record, bytes):
        return records_pb2.Record.FromString(record).WhichOneof("body") or ""
    return record.WhichOneof("body") or ""


def _flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


def batch_of(*envelopes: Any, batch_id: str | None = None) -> Any:
    return envelope_pb2.EnvelopeBatch(batch_id=batch_id or str(uuid.uuid4()), envelopes=list(envelopes))


def header_of(envelope: Any) -> Any:
    return EnvelopeHeader.FromString(envelope.header)


# -- receipts ---------------------------------------------------------------------------------


def verify_receipts(signed: Any, *, target: Peer, local_id: str, sent: Any) -> Any:
    """Check a receipt batch of the target for a batch the suite sent, and return it (a ReceiptBatch).

    The batch must be signed by the target's pinned identity key over the
    domain "tamga/v1/receipts", name the target as receiver and the sending
    node as sender, echo the batch id, and hold one receipt per envelope in
    order, each with the envelope's message id and digest as sent.

    Raises:
        ReceiptNotTrusted: any of that does not hold; the message says which.
    """
    try:
        target.verify_key.verify(RECEIPT_PURPOSE, signed.signature, signed.receipt_batch)
    except CryptoError as exc:
        raise ReceiptNotTrusted(
            f"the receipt batch is not signed by the target's pinned key {target.verify_key.key_id}: {exc}"
        ) from exc
    try:
        rb = envelope_pb2.ReceiptBatch.FromString(signed.receipt_batch)
    except Exception as exc:
        raise ReceiptNotTrusted("the signed receipt batch does not parse as a tamga.v1.ReceiptBatch") from exc
    if rb.receiver != target.node_id:
        raise ReceiptNotTrusted(f"the receipt batch names receiver {rb.receiver!r}, not the target {target.node_id!r}")
    senders = {local_id, ""}
    for env in sent.envelopes:
        with contextlib.suppress(Exception):
            senders.add(header_of(env).sender)
    if rb.sender not in senders:
        raise ReceiptNotTrusted(f"the receipt batch names sender {rb.sender!r}, not {local_id!r}")
    if rb.batch_id != sent.batch_id:
        raise ReceiptNotTrusted(f"the receipt batch answers batch {rb.batch_id!r}, not {sent.batch_id!r}")
    if rb.receiver_signing_key_id != target.verify_key.key_id:
        raise ReceiptNotTrusted(
            f"the receipt batch names signing key {rb.receiver_signing_key_id!r}, the target's pinned key is "
            f"{target.verify_key.key_id!r}"
        )
    if len(rb.receipts) != len(sent.envelopes):
        raise ReceiptNotTrusted(f"{len(rb.receipts)} receipt(s) for a batch of {len(sent.envelopes)} envelope(s)")
    for i, (receipt, env) in enumerate(zip(rb.receipts, sent.envelopes, strict=True)):
        if receipt.envelope_digest != envelope_digest(env):
            raise ReceiptNotTrusted(f"receipt {i} does not carry the digest of envelope {i} as sent")
        mid = _message_id(env)
        # A refusal before the header is read (oversize) cannot name the message; the digest still binds it.
        unread = receipt.status == S.RECEIPT_STATUS_REJECTED and not receipt.message_id
        if mid is not None and receipt.message_id != mid and not unread:
            raise ReceiptNotTrusted(f"receipt {i} names message {receipt.message_id!r}, envelope {i} is {mid!r}")
    return rb


def _message_id(env: Any) -> str | None:
    """The message id of an envelope whose header parses, else None."""
    try:
        return str(header_of(env).message_id)
    except Exception:
        return None


# -- reaching the target -------------------------------------------------------------------------


def _target_channel(target: TargetNode, tls: TlsIdentity | None, options: Sequence[tuple[str, Any]] = ()) -> Any:
    """A TLS channel to the target trusting only its pinned certificate, presenting ``tls`` (None: no certificate)."""
    merged = dict([*CHANNEL_OPTIONS, ("grpc.ssl_target_name_override", tls_name(target.node_id)), *options])
    if tls is not None:
        creds = client_credentials(tls, target.identity.tls_certificate)
    else:
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization

        pem = x509.load_der_x509_certificate(target.identity.tls_certificate).public_bytes(serialization.Encoding.PEM)
        creds = grpc.ssl_channel_credentials(root_certificates=pem)
    return grpc.secure_channel(target.endpoint, creds, options=list(merged.items()))


def check_listen_address(listen: str) -> None:
    """Fail early when the suite's peer cannot listen where the target will call it.

    Raises:
        PeerSetupError: not HOST:PORT, or something else listens there.
    """
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit():
        raise PeerSetupError(
            f"the suite's peer listen address {listen!r} ([server] listen of --peer-home) is not HOST:PORT"
        )
    host = host.strip("[]")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, int(port)))
        except OSError as exc:
            raise PeerSetupError(
                f"the suite's peer cannot listen on {listen} ([server] listen of --peer-home): {exc.strerror or exc}"
            ) from exc


def preflight(suite: SuiteIdentity, target: TargetNode, timeout: float = 10.0) -> dict[str, str]:
    """Reach the target once as the test identity and check it is the node its identity file names.

    Returns:
        Facts for the report: the TLS certificate's SHA-256, the protocol
        versions and crypto profiles the target lists.

    Raises:
        PeerSetupError: the target cannot be reached (not running, or the test
            identity is not pinned there), or it serves another identity.
    """
    tls = TlsIdentity(key_pem=suite.local.tls_key, certificate=suite.local.tls_certificate)
    with _target_channel(target, tls) as channel:
        try:
            resp = exchange_pb2_grpc.ExchangeServiceStub(channel).GetIdentity(
                exchange_pb2.GetIdentityRequest(), timeout=timeout
            )
        except grpc.RpcError as exc:
            code, details = exc.code(), exc.details()  # type: ignore[attr-defined]
            raise PeerSetupError(
                f"--target {target.endpoint}: cannot reach node {target.node_id} as the test identity "
                f"{suite.node_id} ({code.name}: {details}); is it running, and has it pinned "
                f"{suite.identity_file} ('tamga peer add', then restart the node)?"
            ) from exc
    try:
        served = read_identity(resp.identity)
    except CryptoError as exc:
        raise PeerSetupError(f"--target {target.endpoint}: its identity document does not verify: {exc}") from exc
    pinned = target.identity
    if (served.node_id, served.verify_key, served.encryption_key) != (
        pinned.node_id,
        pinned.verify_key,
        pinned.encryption_key,
    ):
        raise PeerSetupError(
            f"--target {target.endpoint} serves node {served.node_id} (fingerprint {served.fingerprint}), not the "
            f"identity of --target-identity ({pinned.node_id}, fingerprint {pinned.fingerprint})"
        )
    return {
        "tls_certificate_sha256": certificate_fingerprint(pinned.tls_certificate),
        "protocol_versions": ",".join(map(str, resp.protocol_versions)),
        "crypto_profiles": ",".join(resp.crypto_profiles),
    }


# -- the fake peer -----------------------------------------------------------------------------


class ReceiptMode(enum.StrEnum):
    """How the suite's peer answers the batches the target sends it."""

    CORRECT = "correct"
    """Signed receipts as an honest peer: ACCEPTED, DUPLICATE or REJECTED per envelope."""
    WRONG_DIGEST = "wrong-digest"
    """Signed properly, but every receipt carries another digest than the envelope's."""
    BAD_SIGNATURE = "bad-signature"
    """Right receipts, signed by a key that is not the suite's."""
    NONE = "none"
    """No receipt: the stream ends with an error instead."""


@dataclasses.dataclass
class Arrival:
    """One batch the target sent to the suite, and how the suite answered it."""

    at: float
    batch_id: str
    envelopes: list[Any]
    outcomes: list[Opened | Refused]
    answered: ReceiptMode
    client_certificate_sha256: str | None
    manifest_version: int


@dataclasses.dataclass
class Sent:
    """A batch the suite sent and the target's verified receipts for it."""

    batch: Any
    receipts: list[Any]
    receipt_batch: Any
    signed: Any

    @property
    def statuses(self) -> list[str]:
        return [S.Name(r.status) for r in self.receipts]


class _Servicer(exchange_pb2_grpc.ExchangeServiceServicer):
    """The suite's peer as the target sees it when it sends."""

    def __init__(self, peer: FakePeer) -> None:
        self.peer = peer

    def Exchange(self, request_iterator: Iterator[Any], context: grpc.ServicerContext) -> Iterator[Any]:
        fp = presented_fingerprint(context)  # type: ignore[arg-type]
        for request in request_iterator:
            signed = self.peer._answer(request, fp)
            if signed is None:
                context.abort(grpc.StatusCode.UNAVAILABLE, "the suite's peer sends no receipt for this batch (a test)")
            yield exchange_pb2.ExchangeResponse(receipts=signed)

    def GetIdentity(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.peer._note_call("GetIdentity")
        return exchange_pb2.GetIdentityResponse(
            identity=self.peer.suite.local.identity_document([self.peer.suite.listen], time.time()),
            protocol_versions=[PROTOCOL_VERSION],
            crypto_profiles=[CRYPTO_PROFILE_V1],
        )

    def GetManifest(self, request: Any, context: grpc.ServicerContext) -> Any:
        # A node with a federation manifest asks its peers for newer versions (gossip); the suite holds none.
        self.peer._note_call("GetManifest")
        return exchange_pb2.GetManifestResponse()


class _Unexpected(grpc.GenericRpcHandler):
    """Every method the exchange service does not have: noted, answered UNIMPLEMENTED."""

    def __init__(self, peer: FakePeer) -> None:
        self.peer = peer

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        method = handler_call_details.method  # type: ignore[attr-defined]
        self.peer._unexpected(f"call of {method}, which the suite's peer does not serve")
        return None


class FakePeer:
    """The suite's peer: a client to the target and a server for it, as the test identity.

    Start with :meth:`start` (binds the peer server on the test identity's
    listen address), end with :meth:`close`.
    """

    def __init__(self, suite: SuiteIdentity, target: TargetNode, *, timeout: float = WAIT) -> None:
        self.suite = suite
        self.target = target
        self.timeout = timeout
        self.craft = Crafter(suite.local, target.identity)
        self.mode = ReceiptMode.CORRECT
        self.arrivals: list[Arrival] = []
        self.calls: list[str] = []
        self.unexpected: list[str] = []
        self.expected_ids: set[str] = set()
        self._seen: dict[str, bytes] = {}
        self._lock = threading.Condition()
        self._server: grpc.Server | None = None
        self._channel: grpc.Channel | None = None
        self.tls = TlsIdentity(key_pem=suite.local.tls_key, certificate=suite.local.tls_certificate)
        self.directory = PeerDirectory([target.identity])

    # -- life cycle --

    def start(self) -> FakePeer:
        """Open the channel to the target and start the suite's peer server.

        Raises:
            PeerSetupError: the test identity's listen address cannot be bound.
        """
        self._channel = self.open_channel(self.tls)
        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="conformance-peer"),
            handlers=[_Unexpected(self)],
            options=[*CHANNEL_OPTIONS, ("grpc.so_reuseport", 0)],
        )
        exchange_pb2_grpc.add_ExchangeServiceServicer_to_server(_Servicer(self), server)
        target_cert = self.target.identity.tls_certificate
        creds = ServerTls(self.tls, lambda: [target_cert]).credentials()
        try:
            port = server.add_secure_port(self.suite.listen, creds)
        except RuntimeError as exc:
            raise PeerSetupError(f"the suite's peer cannot listen on {self.suite.listen}: {exc}") from exc
        if port == 0:
            raise PeerSetupError(
                f"the suite's peer cannot listen on {self.suite.listen} ([server] listen of --peer-home): "
                "address in use or not available"
            )
        server.start()
        self._server = server
        return self

    def close(self) -> None:
        if self._server is not None:
            self._server.stop(grace=1.0).wait(5.0)
            self._server = None
        if self._channel is not None:
            self._channel.close()
            self._channel = None

    def __enter__(self) -> FakePeer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the client side --

    def open_channel(
        self,
        tls: TlsIdentity | None,
        *,
        client_certificate: bool = True,
        options: Sequence[tuple[str, Any]] = (),
    ) -> grpc.Channel:
        """A channel to the target that trusts only its pinned certificate, presenting ``tls``'s certificate.

        With ``client_certificate=False`` (or no ``tls``) no client certificate
        is presented at all. ``options`` override the channel options.
        """
        return _target_channel(self.target, tls if client_certificate else None, options)

    @property
    def channel(self) -> grpc.Channel:
        if self._channel is None:
            raise RuntimeError("the suite's peer is not started")
        return self._channel

    @property
    def stub(self) -> exchange_pb2_grpc.ExchangeServiceStub:
        return exchange_pb2_grpc.ExchangeServiceStub(self.channel)

    def exchange(self, *batches: Any, manifest_version: int = 0) -> list[Sent]:
        """Send ``batches`` on one Exchange stream; the target's receipts for each, verified.

        Raises:
            ReceiptNotTrusted: an answer is not the target's signed receipt for that batch.
            grpc.RpcError: the target ended the stream with an error.
        """
        requests = [exchange_pb2.ExchangeRequest(batch=b, manifest_version=manifest_version) for b in batches]
        responses = list(self.stub.Exchange(iter(requests), timeout=self.timeout))
        if len(responses) != len(batches):
            raise ReceiptNotTrusted(f"{len(responses)} receipt batch(es) for {len(batches)} envelope batch(es)")
        out = []
        for b, resp in zip(batches, responses, strict=True):
            rb = verify_receipts(resp.receipts, target=self.target.identity, local_id=self.suite.node_id, sent=b)
            out.append(Sent(b, list(rb.receipts), rb, resp.receipts))
        return out

    def send(self, *envelopes: Any) -> Sent:
        """Send ``envelopes`` as one batch; the target's verified receipts."""
        [sent] = self.exchange(batch_of(*envelopes))
        return sent

    def health(self, service: str = "", *, channel: grpc.Channel | None = None, timeout: float = 5.0) -> str:
        """The target's gRPC health status for ``service`` (e.g. "SERVING")."""
        stub = health_pb2_grpc.HealthStub(channel or self.channel)
        resp = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=timeout)
        return str(health_pb2.HealthCheckResponse.ServingStatus.Name(resp.status))

    def wait_serving(self, timeout: float = 60.0) -> float:
        """Wait until the target answers its health check SERVING; seconds waited.

        Raises:
            AssertionError: not within ``timeout``.
        """
        start = time.monotonic()
        last = "no answer"
        while time.monotonic() - start < timeout:
            try:
                status = self.health(timeout=2.0)
                if status == "SERVING":
                    return time.monotonic() - start
                last = status
            except grpc.RpcError as exc:
                last = f"{exc.code().name}: {exc.details()}"  # type: ignore[attr-defined]
            time.sleep(0.1)
        raise AssertionError(f"the target did not answer SERVING within {timeout:.0f}s (last: {last})")

    def restart_target(self, timeout: float = 60.0) -> dict[str, Any]:
        """Run the restart command, then wait until the target serves again.

        Returns:
            What happened, for the transcript (seconds, process ids when known).

        Raises:
            AssertionError: the command failed or the target did not come back.
        """
        command = self.target.restart_command
        if not command:
            raise PeerSetupError("no --restart-command was given")
        before = self.target.pid()
        started = time.monotonic()
        proc = subprocess.run(
            command, shell=True, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL, check=False
        )
        if proc.returncode != 0:
            raise AssertionError(
                f"the restart command exited {proc.returncode}: {(proc.stderr or proc.stdout).strip()[-300:]}"
            )
        waited = self.wait_serving(timeout)
        after = self.target.pid()
        if before is not None and after == before:
            raise AssertionError(f"the restart command returned but the target still runs as process {before}")
        return {
            "seconds": f"{time.monotonic() - started:.1f}",
            "waited_for_serving_s": f"{waited:.1f}",
            "pid_before": str(before),
            "pid_after": str(after),
        }

    # -- the server side --

    def answer_with(self, mode: ReceiptMode) -> None:
        """How to answer the next batches the target sends."""
        with self._lock:
            self.mode = mode

    def expect(self, message_ids: Iterable[str]) -> None:
        """Message ids the suite made the target send (anything else arriving is unexpected)."""
        with self._lock:
            self.expected_ids.update(message_ids)

    def unexpected_calls(self) -> list[str]:
        """Calls the suite did not cause: unknown methods, and envelopes it did not make the target send."""
        with self._lock:
            out = list(self.unexpected)
            for a in self.arrivals:
                for env in a.envelopes:
                    mid = _message_id(env)
                    if mid not in self.expected_ids:
                        out.append(f"envelope {mid or '(no message id)'} of batch {a.batch_id}, not asked for")
            return out

    def arrivals_carrying(self, code: str) -> list[tuple[Arrival, Any, Opened]]:
        """Every arrival of an envelope that opened to a record carrying ``code`` (a challenge code)."""
        needle = code.encode("utf-8")
        with self._lock:
            return [
                (a, env, res)
                for a in self.arrivals
                for env, res in zip(a.envelopes, a.outcomes, strict=True)
                if isinstance(res, Opened) and needle in res.record.SerializeToString()
            ]

    def arrivals_of(self, message_id: str) -> list[tuple[Arrival, Any, Opened | Refused]]:
        """Every arrival of the envelope with ``message_id``: (arrival, envelope, how it opened)."""
        with self._lock:
            out = []
            for a in self.arrivals:
                for env, res in zip(a.envelopes, a.outcomes, strict=True):
                    if _message_id(env) == message_id:
                        out.append((a, env, res))
            return out

    def wait_for(self, predicate: Callable[[], bool], what: str, timeout: float | None = None) -> float:
        """Wait until ``predicate`` holds (checked on every arrival and at least every 0.2 s); seconds waited.

        Raises:
            AssertionError: not within ``timeout`` (default: the peer's timeout).
        """
        limit = self.timeout if timeout is None else timeout
        start = time.monotonic()
        with self._lock:
            while not predicate():
                left = limit - (time.monotonic() - start)
                if left <= 0:
                    raise AssertionError(f"timed out after {limit:.0f}s waiting for {what}")
                self._lock.wait(min(left, 0.2))
        return time.monotonic() - start

    def _note_call(self, method: str) -> None:
        with self._lock:
            self.calls.append(method)

    def _unexpected(self, what: str) -> None:
        with self._lock:
            self.unexpected.append(what)
            self._lock.notify_all()

    def _answer(self, request: Any, fingerprint: str | None) -> Any:
        """Open and keep one batch from the target; the signed receipts to answer with (None: no receipt)."""
        batch = request.batch
        now = time.time()
        outcomes: list[Opened | Refused] = [
            open_envelope(env, local=self.suite.local, peers=self.directory, now=now) for env in batch.envelopes
        ]
        with self._lock:
            mode = self.mode
            receipts = []
            for env, res in zip(batch.envelopes, outcomes, strict=True):
                mid = _message_id(env) or ""
                if isinstance(res, Refused):
                    status, reason, detail = S.RECEIPT_STATUS_REJECTED, res.reason, res.detail
                elif self._seen.get(mid) == res.digest and mode is ReceiptMode.CORRECT:
                    status, reason, detail = S.RECEIPT_STATUS_DUPLICATE, R.REJECT_REASON_UNSPECIFIED, ""
                else:
                    status, reason, detail = S.RECEIPT_STATUS_ACCEPTED, R.REJECT_REASON_UNSPECIFIED, ""
                    if mode is ReceiptMode.CORRECT:
                        self._seen[mid] = res.digest
                d = envelope_digest(env)
                if mode is ReceiptMode.WRONG_DIGEST:
                    d = digest(b"not the envelope the target sent", d)
                receipts.append(
                    envelope_pb2.Receipt(message_id=mid, envelope_digest=d, status=status, reason=reason, detail=detail)
                )
            self.arrivals.append(
                Arrival(
                    at=now,
                    batch_id=batch.batch_id,
                    envelopes=list(batch.envelopes),
                    outcomes=outcomes,
                    answered=mode,
                    client_certificate_sha256=fingerprint,
                    manifest_version=request.manifest_version,
                )
            )
            self._lock.notify_all()
        if mode is ReceiptMode.NONE:
            return None
        signer = self.suite.local
        if mode is ReceiptMode.BAD_SIGNATURE:
            signer = dataclasses.replace(signer, signing_key=SigningKey.generate())
        signed = sign_receipts(
            local=signer, sender=self.target.node_id, batch_id=batch.batch_id, receipts=receipts, now=now
        )
        return signed

    # -- helpers for the cases --

    def stranger_tls(self) -> TlsIdentity:
        """A TLS key and certificate for the suite's own name that the target never pinned."""
        return generate_tls_identity(self.suite.node_id, now=time.time())

    def pinned_certificate_sha256(self) -> str:
        return certificate_fingerprint(self.target.identity.tls_certificate)

    def record(self, record_type: str = "declaration_snapshot", *, challenge: str | None = None) -> Any:
        """A fresh valid record from the suite to the target."""
        return sample_record(
            record_type,
            sender_country=self.suite.local.country,
            receiver_country=self.target.identity.country,
            challenge=challenge,
        )

    def record_for_target_to_send(self, record_type: str = "declaration_snapshot", **kw: Any) -> Any:
        """A fresh valid record the target sends to the suite."""
        return sample_record(
            record_type, sender_country=self.target.identity.country, receiver_country=self.suite.local.country, **kw
        )
