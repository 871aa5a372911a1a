"""The node under test and the suite's test identity, as node mode reaches them.

:class:`SuiteIdentity` is the node folder the suite sends and receives as
(``--peer-home``); :class:`TargetNode` is the node under test: its peer port,
its pinned identity (``--target-identity``) and, optionally, its *local
interface* (``--target-home``: its node folder on this machine, through which
the suite makes it send, reads ``tamga status --json`` and drops a national
file) and a restart command. :func:`preflight` reaches it once, before any
case, so that a node that is down or has not pinned the test identity stops
the run with one line instead of failing every case.

Safety rails: test identities only. The suite's node id must start with
``TEST-`` (:data:`TEST_ID_PREFIX`). That id is what the target's operator pins
(``tamga peer add``) and what the target's national system sees as the sender
of every record the suite sends, so nobody can take the suite's records for a
customs service's, and a production identity (whose id never has the prefix)
is refused before anything is sent.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shlex
import socket
import subprocess
import sys
import uuid
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import json_format
from tamga.config import Config, LimitsConfig, load_config
from tamga.errors import ConfigError, CryptoError, KeyFileError, TamgaError
from tamga.home import export_identity, init_home, load_local_identity, parse_identity_file
from tamga.protocol import (
    LocalIdentity,
    Peer,
    read_identity,
)
from tamga.transport import (
    CHANNEL_OPTIONS,
    TlsIdentity,
    certificate_fingerprint,
    client_credentials,
    tls_name,
)
from tamga.v1 import exchange_pb2, exchange_pb2_grpc, records_pb2

__all__ = [
    "TEST_ID_PREFIX",
    "PeerSetupError",
    "SuiteIdentity",
    "TargetNode",
    "check_listen_address",
    "check_test_identity",
    "init_peer_home",
    "load_target",
    "preflight",
    "target_channel",
]

TEST_ID_PREFIX = "TEST-"
"""Every node id the suite sends as starts with this: test identities only."""


class PeerSetupError(TamgaError):
    """Node-mode input that cannot be used (peer home, target identity, endpoint, local interface): exit 2."""


# -- the suite's test identity ---------------------------------------------------------------


def check_test_identity(
    node_id: str, where: str, hint: str = " (make one with 'tamga conformance peer-init')"
) -> None:
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
    manifest_version: int = 0
    """The test federation's version the target serves to the suite (0: the suite is pinned); set before any case."""

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

    def _read_store(self, read: Callable[[Any], Awaitable[Any]]) -> Any:
        """Run ``read(store)`` on the target's store, opened as 'tamga status' opens it (never created)."""
        import asyncio

        from tamga.store import Store

        config = self.config

        async def main() -> Any:
            store = await Store.open(config.path(config.store.path), create=False)
            try:
                return await read(store)
            finally:
                await store.close()

        try:
            return asyncio.run(main())
        except TamgaError as exc:
            raise AssertionError(f"the target's store cannot be read: {exc}") from exc

    def outbox_state(self, message_id: str) -> dict[str, Any] | None:
        """The target's outbox row of one envelope it sent (state, receipt status, receipt id; no payload)."""
        rows = self._read_store(lambda store: store.outbox_states())
        found = [r for r in rows if r["message_id"] == message_id]
        return found[-1] if found else None

    def receipt_evidence(self, receipt_id: int) -> tuple[str, bytes, bytes] | None:
        """(peer, receipt batch bytes, signature) of a receipt batch the target kept, as its store hands it out."""
        found: tuple[str, bytes, bytes] | None = self._read_store(lambda store: store.receipt_evidence(receipt_id))
        return found

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


# -- reaching the target -------------------------------------------------------------------------


def target_channel(
    target: TargetNode, tls: TlsIdentity | None, options: Sequence[tuple[str, Any]] = ()
) -> grpc.Channel:
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
    with target_channel(target, tls) as channel:
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
