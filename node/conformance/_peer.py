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
  digest, bad signature, a refusal, or none at all (the stream ends without
  a receipt).
  An envelope the suite did not make the target send, or a call of a method
  the service does not have, is an unexpected call
  (:meth:`FakePeer.unexpected_calls`); the cases fail on it.

The target, the suite's test identity and the safety rails around them are
in :mod:`tamga.conformance._target`; the envelopes and records the suite sends
in :mod:`tamga.conformance._craft`. No private key leaves its key file's
process memory: nothing here logs, prints or returns key material.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import socket
import ssl
import subprocess
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent import futures
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from tamga.config import load_config
from tamga.conformance._craft import Crafter, batch_of, header_of, sample_record
from tamga.conformance._federation import SuiteFederation
from tamga.conformance._target import PeerSetupError, SuiteIdentity, TargetNode, target_channel
from tamga.crypto import CRYPTO_PROFILE_V1, SigningKey, digest
from tamga.errors import CryptoError
from tamga.protocol import (
    PROTOCOL_VERSION,
    RECEIPT_PURPOSE,
    Opened,
    Peer,
    PeerDirectory,
    Refused,
    envelope_digest,
    open_envelope,
    sign_receipts,
)
from tamga.transport import (
    CHANNEL_OPTIONS,
    ServerTls,
    TlsIdentity,
    certificate_fingerprint,
    generate_tls_identity,
    presented_fingerprint,
)
from tamga.v1 import envelope_pb2, exchange_pb2, exchange_pb2_grpc

__all__ = [
    "OLD_TLS_VERSIONS",
    "Arrival",
    "FakePeer",
    "ReceiptMode",
    "ReceiptNotTrusted",
    "Sent",
    "verify_receipts",
]

WAIT = 20.0
"""Seconds: the longest the suite waits for one answer of the target."""

S = envelope_pb2.ReceiptStatus
R = envelope_pb2.RejectReason


class ReceiptNotTrusted(AssertionError):
    """An answer of the target that is not a receipt the target signed for what was sent: the case fails."""


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


# -- the fake peer -----------------------------------------------------------------------------


with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    OLD_TLS_VERSIONS = (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1)
    """TLS versions a node must refuse (FDX-TRN-6)."""


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
    REJECT = "reject"
    """Signed receipts refusing every envelope that opens: REJECTED, MALFORMED_RECORD."""


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
            yield exchange_pb2.ExchangeResponse(receipts=signed, manifest_version=self.peer.manifest_version)

    def GetIdentity(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.peer._note_call("GetIdentity")
        return exchange_pb2.GetIdentityResponse(
            identity=self.peer.suite.local.identity_document([self.peer.suite.listen], time.time()),
            protocol_versions=[PROTOCOL_VERSION],
            crypto_profiles=[CRYPTO_PROFILE_V1],
        )

    def GetManifest(self, request: Any, context: grpc.ServicerContext) -> Any:
        # A member of a test federation with the suite fetches newer versions and revocations from it (gossip).
        self.peer._note_call("GetManifest")
        if self.peer.federation is None:
            return exchange_pb2.GetManifestResponse()
        return self.peer.federation.answer(request.from_version)


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
        self.started_at = time.time()
        self.shared: dict[str, Any] = {}  # what cases of one run share (the target's first outbound envelope)
        self._seen: dict[str, bytes] = {}
        self._lock = threading.Condition()
        self._server: grpc.Server | None = None
        self._channel: grpc.Channel | None = None
        self.tls = TlsIdentity(key_pem=suite.local.tls_key, certificate=suite.local.tls_certificate)
        self.directory = PeerDirectory([target.identity])
        # The test federation, when the target admitted the suite by one (manifest mode); None when pinned.
        self.federation = (
            SuiteFederation.load(suite.home, suite.node_id, suite.local.signing_key)
            if target.manifest_version > 0
            else None
        )
        if self.federation is not None:
            self.craft = Crafter(self.federation.undated_identity(suite.local), target.identity)

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
        return target_channel(self.target, tls if client_certificate else None, options)

    @property
    def channel(self) -> grpc.Channel:
        if self._channel is None:
            raise RuntimeError("the suite's peer is not started")
        return self._channel

    @property
    def stub(self) -> exchange_pb2_grpc.ExchangeServiceStub:
        return exchange_pb2_grpc.ExchangeServiceStub(self.channel)

    @property
    def manifest_version(self) -> int:
        """The test federation's version the suite holds (0: pinned mode), carried as a member carries it."""
        return self.federation.version if self.federation is not None else 0

    def exchange(self, *batches: Any, manifest_version: int | None = None) -> list[Sent]:
        """Send ``batches`` on one Exchange stream; the target's receipts for each, verified.

        Each request carries ``manifest_version`` (default: the version the suite holds).

        Raises:
            ReceiptNotTrusted: an answer is not the target's signed receipt for that batch.
            grpc.RpcError: the target ended the stream with an error.
        """
        version = self.manifest_version if manifest_version is None else manifest_version
        requests = [exchange_pb2.ExchangeRequest(batch=b, manifest_version=version) for b in batches]
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
        """Calls the suite did not cause: unknown methods, and envelopes it did not make the target send.

        Envelopes sealed before this peer started are not counted (see :meth:`leftovers`).
        """
        with self._lock:
            out = list(self.unexpected)
            for a in self.arrivals:
                for env in a.envelopes:
                    mid = _message_id(env)
                    if mid not in self.expected_ids and not self._before_start(env):
                        out.append(f"envelope {mid or '(no message id)'} of batch {a.batch_id}, not asked for")
            return out

    def leftovers(self) -> list[str]:
        """Message ids of envelopes the target sealed before this peer started: queued by an earlier run."""
        with self._lock:
            return [
                _message_id(env) or "?"
                for a in self.arrivals
                for env in a.envelopes
                if _message_id(env) not in self.expected_ids and self._before_start(env)
            ]

    def _before_start(self, env: Any) -> bool:
        try:
            return bool(header_of(env).created_at.ToNanoseconds() / 1e9 < self.started_at)
        except Exception:
            return False

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
                elif mode is ReceiptMode.REJECT:
                    status, reason = S.RECEIPT_STATUS_REJECTED, R.REJECT_REASON_MALFORMED_RECORD
                    detail = "the suite's peer refuses this envelope on purpose (a conformance test)"
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

    def handshake(self, version: ssl.TLSVersion) -> str:
        """A bare TLS handshake with the target at exactly ``version``, presenting the suite's certificate.

        Returns:
            "completed" (with the ALPN protocol the target chose), "refused by the target" (it ended
            the handshake), or "not offered" when this machine's TLS library cannot speak ``version``.
        """
        config = load_config(self.suite.home)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE  # the version is checked here, not the certificate
        ctx.set_alpn_protocols(["h2"])
        ctx.load_cert_chain(config.path(config.keys.tls_certificate), config.path(config.keys.tls_key))
        try:
            with warnings.catch_warnings():  # setting TLS 1.0 or 1.1 is deprecated: that is the point here
                warnings.simplefilter("ignore", DeprecationWarning)
                ctx.minimum_version = ctx.maximum_version = version
            if version < ssl.TLSVersion.TLSv1_2:
                ctx.set_ciphers("ALL:@SECLEVEL=0")
        except (ValueError, ssl.SSLError):
            return "not offered"
        host, _, port = self.target.endpoint.rpartition(":")
        with socket.create_connection((host.strip("[]"), int(port)), timeout=10) as raw:
            try:
                with ctx.wrap_socket(raw) as tls:
                    return f"completed ({tls.version()}, ALPN {tls.selected_alpn_protocol()})"
            except ssl.SSLError as exc:
                text = str(exc).upper()
                # This side could not offer the version (an alert would be the target's refusal).
                if "NO_PROTOCOLS_AVAILABLE" in text or ("UNSUPPORTED_PROTOCOL" in text and "ALERT" not in text):
                    return "not offered"
                return "refused by the target"
            except (ConnectionError, TimeoutError):
                return "refused by the target"

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
            sender_authority=self.suite.local.authority,
        )

    def record_for_target_to_send(self, record_type: str = "declaration_snapshot", **kw: Any) -> Any:
        """A fresh valid record the target sends to the suite."""
        return sample_record(
            record_type,
            sender_country=self.target.identity.country,
            receiver_country=self.suite.local.country,
            sender_authority=self.target.identity.authority,
            **kw,
        )
