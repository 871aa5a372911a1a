"""The ``tamga`` command.

Every subcommand explains itself with ``--help``. A wrong command line, a
missing configuration or an unreadable key prints one line starting with
"tamga: error:" and exits non-zero, never a traceback.

Besides running a node, the command is the national IT team's workbench for
its adapter: ``tamga adapter new`` writes an installable adapter package,
``tamga adapter decode`` and ``encode`` translate one file either way without
a node, ``tamga validate`` checks records as the node checks them at intake,
and ``tamga adapters list`` shows what is installed. These commands exit 2
when the input (a file, an adapter option, an adapter name) is refused, and
name the file and the place in it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

from tamga import __version__
from tamga.errors import AdapterError, TamgaError
from tamga.terminal import safe

__all__ = ["main"]

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


class _BadInput(TamgaError):
    """Input the adapter commands refuse (a file, an adapter, an option): exit 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"tamga: error: {message} (see '{self.prog} --help')\n")


def _home(args: argparse.Namespace) -> Path:
    return Path(args.home or os.environ.get("TAMGA_HOME") or ".")


def _load(args: argparse.Namespace) -> Any:
    from tamga.config import load_config

    return load_config(_home(args))


def _fmt_time(ts: float | None) -> str:
    if not ts:
        return "-"
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


# -- commands --------------------------------------------------------------------


def _new_passphrase() -> str:
    """A passphrase for encrypting key files: TAMGA_KEY_PASSPHRASE, else asked twice on a terminal."""
    value = os.environ.get("TAMGA_KEY_PASSPHRASE")
    if value is None:
        if not sys.stdin.isatty():
            raise TamgaError("no passphrase: set TAMGA_KEY_PASSPHRASE or run on a terminal to be asked for one")
        import getpass

        value = getpass.getpass("passphrase for the private key files: ")
        if getpass.getpass("the same passphrase again: ") != value:
            raise TamgaError("the two passphrases differ; nothing was written")
    if len(value) < 12:
        raise TamgaError("the passphrase must be at least 12 characters")
    return value


def cmd_init(args: argparse.Namespace) -> int:
    from tamga.home import init_home

    passphrase = _new_passphrase() if args.encrypt_keys else None
    config = init_home(
        Path(args.dir),
        node_id=args.id,
        country=args.country,
        authority=args.authority or f"Customs service of {args.country}",
        listen=args.listen,
        advertise=args.advertise,
        adapter=args.adapter,
        passphrase=passphrase,
    )
    from tamga.home import load_local_identity

    local = load_local_identity(config)
    print(f"created node {config.node.id} in {config.home}")
    print(f"  configuration: {config.config_path}")
    how = "mode 0600, encrypted with the passphrase" if passphrase is not None else "mode 0600"
    print(f"  private keys:  {config.path(config.keys.signing).parent} ({how}; never share them)")
    print(f"  fingerprint:   {local.signing_key.public.fingerprint}")
    # What the node's authority reads out to its peers and members (they see the same in 'peer add' and
    # 'federation sign').
    from tamga.federation import identity_fingerprints

    for line in identity_fingerprints(local.signing_key.public, local.encryption_key.public, local.tls_certificate):
        print(f"  {line}")
    print("next: 'tamga identity export' and give the file to your peers; 'tamga peer add FILE' for theirs;")
    print("      then 'tamga run'.")
    return EXIT_OK


def cmd_identity_export(args: argparse.Namespace) -> int:
    from tamga.home import export_identity, load_local_identity

    config = _load(args)
    local = load_local_identity(config)
    endpoints = list(args.endpoint or config.server.advertise)
    if not endpoints:
        raise TamgaError("no endpoint to publish: set [server] advertise in tamga.toml or pass --endpoint HOST:PORT")
    text = export_identity(local, endpoints)
    if args.output and args.output != "-":
        Path(args.output).write_text(text, "utf-8")
        print(
            f"wrote {args.output} (public keys only); fingerprint {local.signing_key.public.fingerprint}",
            file=sys.stderr,
        )
        # What a joining node reads out to the members, who see the same in 'tamga federation sign'.
        from tamga.federation import identity_fingerprints

        for line in identity_fingerprints(local.signing_key.public, local.encryption_key.public, local.tls_certificate):
            print(f"  {line}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return EXIT_OK


def cmd_peer_add(args: argparse.Namespace) -> int:
    from tamga.home import add_peer

    config = _load(args)
    peer = add_peer(config, Path(args.file), endpoint=args.endpoint, replace=args.replace)
    # The file's text was checked for control characters; escaped anyway, so nothing in it can move the cursor.
    print(
        f"added peer {peer.node_id} ({safe(peer.country)}, {safe(peer.authority, 200)}) at "
        f"{safe(', '.join(peer.endpoints), 200)}"
    )
    print(f"  fingerprint: {peer.fingerprint}")
    # The same three lines, in the same format, that 'tamga identity export' prints for the peer to read
    # out and that 'tamga federation sign' shows: one format everywhere, every hash in full, grouped.
    from tamga.federation import identity_fingerprints

    for line in identity_fingerprints(peer.verify_key, peer.encryption_key, peer.tls_certificate):
        print(f"  {line}")
    print("  compare these with what that authority gave you by another channel;")
    print("  a running node picks up new peers when restarted.")
    return EXIT_OK


def cmd_peer_list(args: argparse.Namespace) -> int:
    from tamga.home import load_peers

    config = _load(args)
    peers = load_peers(config)
    if not len(peers):
        print("no peers; add one with 'tamga peer add FILE'")
    for p in peers:
        print(
            f"{p.node_id:<12} {safe(p.country):<3} {safe(','.join(p.endpoints), 200):<24} {p.fingerprint}  "
            f"{safe(p.authority, 200)}"
        )
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    from tamga.app import Node
    from tamga.logging import configure_logging

    config = _load(args)
    configure_logging(config.logging.level, args.log_format or config.logging.format)

    async def main() -> None:
        node = await Node.open(config)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        try:
            await node.start()
        except BaseException:
            await node.stop()
            raise
        try:
            await stop.wait()
        finally:
            await node.stop()

    try:
        asyncio.run(main())
    except OSError as exc:
        raise TamgaError(str(exc)) from exc
    return EXIT_OK


def cmd_send(args: argparse.Namespace) -> int:
    from tamga.adapters import load_adapter
    from tamga.home import load_local_identity, load_peers
    from tamga.intake import Submitter, unexpected_error
    from tamga.store import Store
    from tamga.terminal import safe

    config = _load(args)
    path = Path(args.file)
    limit = config.limits.max_file_bytes
    try:
        with path.open("rb") as f:  # never more than one byte over the limit in memory
            size = os.fstat(f.fileno()).st_size
            data = f.read(limit + 1) if size <= limit else b""
    except OSError as exc:
        raise TamgaError(f"{safe(path)}: cannot read: {exc.strerror}") from exc
    if size > limit or len(data) > limit:
        size = max(size, len(data))
        raise TamgaError(f"{safe(path)}: {size} bytes exceeds [limits] max_file_bytes ({limit})")
    from tamga.federation._node import Federation

    # The peers and own keys the running node uses: the federation manifest's members when the
    # node holds one (with its agreements), else the pinned peers folder.
    federation = Federation(
        folder=config.path(Path("federation")), local=load_local_identity(config), pinned=load_peers(config)
    )
    if federation.removed_reason is not None:
        raise TamgaError(f"{federation.removed_reason}: it sends to no one; nothing of {path.name} was queued")
    local, peers = federation.local, federation.peers
    if args.adapter:
        adapter = load_adapter(args.adapter)
    else:
        # The configured adapter with its [adapter.options], as the running node loads it.
        options = {
            k: str(config.path(Path(v))) if k.endswith("_file") and isinstance(v, str) else v
            for k, v in config.adapter.options.items()
        }
        adapter = load_adapter(config.adapter.name, options)

    async def main() -> Any:
        store = await Store.open(config.path(config.store.path), create=False)
        try:
            sub = Submitter(local=local, peers=peers, store=store, adapter=adapter, max_queued=config.limits.max_queued)
            stage = "decoding and checking"
            try:
                prepared = await sub.prepare(data, source=path.name, to=args.to)
                stage = "sealing and queueing"
                return await sub.commit(prepared)
            except TamgaError as exc:  # the file's own fault (adapter, validation, routing): say which file
                where = f"{safe(path.name)}: "
                if str(exc).startswith(where):
                    raise
                raise (_BadInput if isinstance(exc, _BadInput) else TamgaError)(f"{where}{exc}") from exc
            except (KeyboardInterrupt, SystemExit, asyncio.CancelledError):
                raise
            except BaseException as exc:  # RecursionError, MemoryError, an adapter's bug: one line, no traceback
                error = unexpected_error(exc, adapter=str(getattr(adapter, "name", "?")), stage=stage)
                after = (
                    "nothing of it was queued"
                    if stage.startswith("decoding")
                    else "'tamga status' shows whether anything was queued"
                )
                raise TamgaError(
                    f"{safe(path.name)}: {error['adapter']} adapter: {stage} failed with {error['exception']}:"
                    f" {safe(error['message'], 200)}; {after}"
                ) from None
        finally:
            await store.close()

    submission = asyncio.run(main())
    print(f"queued {submission.records} record(s) from {path.name} as {len(submission.sealed)} envelope(s):")
    for s in submission.sealed:
        print(f"  {s.message_id}  {s.record_type:<24} -> {s.recipient}")
    for record_id, peer in submission.skipped:
        print(f"not queued again (already queued or delivered unchanged): record {record_id} for {peer}")
    print("the running node delivers them; 'tamga status' shows progress.")
    return EXIT_OK


def _running(config: Any) -> tuple[int | None, str | None]:
    run = config.path(config.folders.run)
    try:
        pid = int((run / "pid").read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None, None
    try:
        listen = (run / "listen").read_text().strip()
    except OSError:
        listen = None
    return pid, listen


def _federation_status(config: Any) -> tuple[Any, dict[str, Any] | None]:
    """(peers, federation facts) for status: the manifest's members when the node holds one, else the peers folder."""
    import time

    from tamga.errors import ManifestError
    from tamga.federation import FederationState, peers_from_manifest
    from tamga.federation._node import key_warnings, removal, removal_words
    from tamga.home import load_peers
    from tamga.protocol import PeerDirectory

    folder = config.path(Path("federation"))
    if not FederationState.exists(folder):
        return load_peers(config), None
    try:
        state = FederationState.load(folder)
    except ManifestError as exc:
        return load_peers(config), {"error": str(exc)}
    now = time.time()
    current = state.current
    removed_in = removal(state, config.node.id)
    peers = (
        PeerDirectory()  # a removed node has no peers: what it had queued shows as "(not a peer)"
        if removed_in is not None
        else peers_from_manifest(current, config.node.id, revoked=state.revoked(), now=now)
    )
    return peers, {
        "federation_id": current.federation_id,
        "removed_in": removed_in,
        "removed": removal_words(current.federation_id, removed_in) if removed_in is not None else None,
        "version": current.version,
        "threshold": current.threshold,
        "members": sorted(current.members),
        "member": config.node.id in current.members,
        "fork": state.fork,
        "key_warnings": [w.words(now) for w in key_warnings(state, config.node.id, now)],
        "revoked_keys": sorted(f"{n}:{k}" for n, k in state.revoked()),
    }


def cmd_status(args: argparse.Namespace) -> int:
    from tamga.store import Store

    config = _load(args)
    peers, federation = _federation_status(config)

    async def main() -> tuple[
        dict[str, dict[str, Any]], dict[str, int], list[dict[str, Any]], dict[str, Any], dict[str, dict[str, Any]]
    ]:
        store = await Store.open(config.path(config.store.path), create=False)
        try:
            return (
                await store.peer_status(),
                await store.counts(),
                await store.recent_rejections(5),
                await store.retention_status(),
                await store.sequence_gaps(),
            )
        finally:
            await store.close()

    per_peer, counts, rejections, purged, sequences = asyncio.run(main())
    retention = _retention_status(config, purged)
    pid, listen = _running(config)
    if args.json:
        doc = {
            "node": config.node.id,
            "running": pid is not None,
            "pid": pid,
            "listen": listen,
            "totals": counts,
            "peers": {
                p.node_id: {"endpoints": list(p.endpoints), "fingerprint": p.fingerprint, **per_peer.get(p.node_id, {})}
                for p in peers
            },
            "recent_rejections": rejections,
            "federation": federation,
            "retention": retention,
            "incoming_sequences": sequences,
        }
        # ensure_ascii (json.dumps' default) writes every control character, C1 (U+009B) and bidi
        # override (U+202E) as a \u escape: a peer's text cannot reach a terminal raw through --json.
        print(json.dumps(doc, indent=2, ensure_ascii=True))
        return EXIT_OK
    # Below, every name, error and detail a peer, a receipt or a file controls is escaped (and bounded):
    # a sender id from the refused log, a gRPC status message, a receipt's detail.
    state = f"running (pid {pid}, listening on {safe(listen, 80)})" if pid else "not running"
    if federation is not None and federation.get("removed"):
        print(
            f"REMOVED: {safe(federation['removed'], 300)}; it exchanges with no one, and the records it had queued "
            "were rejected. The members must admit it in a new version for it to take part again"
        )
    print(f"node {config.node.id} ({config.node.country}): {state}")
    print(
        f"{'PEER':<10} {'ENDPOINT':<22} {'QUEUED':>7} {'DELIVERED':>9} {'REJECTED':>8} {'RECEIVED':>8} "
        f"{'REFUSED':>7}  {'LAST DELIVERY':<20} {'FAILURES':>8}  LAST ERROR"
    )
    for p in peers:
        st = per_peer.get(p.node_id, {})
        print(
            f"{safe(p.node_id, 64):<10} {safe(','.join(p.endpoints), 120):<22} {st.get('queued', 0):>7} "
            f"{st.get('delivered', 0):>9} "
            f"{st.get('rejected', 0):>8} {st.get('received', 0):>8} {st.get('refused', 0):>7}  "
            f"{_fmt_time(st.get('last_delivery_at')):<20} {st.get('consecutive_failures', 0):>8}  "
            f"{safe(st.get('last_error') or '-', 300)}"
        )
    unknown = sorted(set(per_peer) - {p.node_id for p in peers})
    for name in unknown:
        st = per_peer[name]
        print(
            f"{safe(name, 64):<10} {'(not a peer)':<22} {st.get('queued', 0):>7} {st.get('delivered', 0):>9} "
            f"{st.get('rejected', 0):>8} {st.get('received', 0):>8} {st.get('refused', 0):>7}"
        )
    print(
        f"incoming: {counts['received']} received, {counts['pending_handoff']} waiting for hand-off; "
        f"outgoing: {counts['queued']} queued, {counts['delivered']} delivered, {counts['rejected']} rejected"
    )
    for r in rejections:
        print(
            f"rejected by {safe(r['peer'], 64)}: {safe(r['message_id'], 80)} {safe(r['record_type'], 64)} "
            f"{safe(r['reason'], 64)} {safe(r['detail'] or '', 300)}"
        )
    for sender, seq in sequences.items():
        line = f"from {safe(sender, 64)}: sequence numbers 1-{seq['highest']}"
        if seq["gaps"]:
            ranges = ", ".join(
                (f"{g['first']}" if g["first"] == g["last"] else f"{g['first']}-{g['last']}")
                + f" (since {_fmt_time(g['noticed_at'])})"
                for g in seq["gaps"][:5]
            )
            more = f" and {len(seq['gaps']) - 5} more ranges" if len(seq["gaps"]) > 5 else ""
            line += f"; GAP: {seq['missing']} never received: {ranges}{more}"
        else:
            line += ", none missing"
        if seq["reused"]:
            line += f"; {seq['reused']} envelope(s) reused a number already received"
        print(line)
    print(
        f"retention: payloads kept {retention['delivered_payloads']} after delivery or hand-off, dedup record "
        f"{retention['dedup_horizon']} (retry horizon {retention['retry_horizon']}), purge every "
        f"{retention['purge_interval']}"
    )
    last = retention["last_purge"]
    done = retention["purged_payloads"]
    print(
        f"payloads purged: {done['outbox']} outgoing, {done['inbox']} incoming; "
        + (
            f"last purge {_fmt_time(last['at'])}: {last['outbox_payloads']} outgoing and {last['inbox_payloads']} "
            f"incoming payloads, {last['inbox_deleted']} dedup rows deleted"
            if last
            else "no purge yet"
        )
    )
    # Pinned mode (no manifest) prints nothing more: the peers are those of the peers folder.
    if federation is not None and "error" in federation:
        print(f"federation: ERROR {safe(federation['error'], 500)}")
    elif federation is not None:
        print(
            f"federation {safe(federation['federation_id'], 64)}: manifest version {federation['version']}, "
            f"{len(federation['members'])} members, {federation['threshold']} signatures per change"
            + ("" if federation["member"] else "; THIS NODE IS NOT A MEMBER")
        )
        if federation["fork"]:
            fork = federation["fork"]
            print(safe(fork.get("message") or f"FORK at version {fork.get('version')}", 1000))
        for line in federation["key_warnings"]:
            print(f"warning: {safe(line, 500)}")
    return EXIT_OK


def _retention_status(config: Any, purged: dict[str, Any]) -> dict[str, Any]:
    """The [retention] settings as written in tamga.toml (and in seconds), with what the store says was purged."""
    from tamga.config import format_duration

    r, limits = config.retention, config.limits
    seconds = {
        "delivered_payloads": r.delivered_payloads,
        "dedup_horizon": r.dedup_horizon,
        "purge_interval": r.purge_interval,
        "retry_horizon": limits.max_envelope_age + limits.max_clock_skew,
    }
    return {**{k: format_duration(v) for k, v in seconds.items()}, "seconds": seconds, **purged}


def cmd_purge(args: argparse.Namespace) -> int:
    import time

    from tamga.store import Store

    config = _load(args)
    r = config.retention

    async def main() -> Any:
        store = await Store.open(config.path(config.store.path), create=False)
        try:
            return await store.purge(
                now=time.time(),
                delivered_payloads=r.delivered_payloads,
                dedup_horizon=r.dedup_horizon,
                refused_log=r.refused_log,
                dry_run=args.dry_run,
            )
        finally:
            await store.close()

    res = asyncio.run(main())
    counts = (
        f"{res.outbox_payloads} outgoing payload(s) settled and {res.inbox_payloads} incoming payload(s) handed off "
        f"on or before {_fmt_time(res.payload_cutoff)}, {res.inbox_deleted} dedup row(s) received on or before "
        f"{_fmt_time(res.dedup_cutoff)}, {res.refused_deleted} refused-log row(s)"
    )
    if args.dry_run:
        print(f"would purge {counts}; nothing changed")
    else:
        print(f"purged {counts}, in {res.transactions} transaction(s), each with a 'purge' entry in the audit log")
    return EXIT_OK


def cmd_doctor(args: argparse.Namespace) -> int:
    from tamga.doctor import report

    return report(_home(args))


def cmd_adapters_list(args: argparse.Namespace) -> int:
    from importlib.metadata import entry_points

    from tamga.adapters import ENTRY_POINT_GROUP

    found = sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name)
    if not found:
        print("no adapter is installed")
    for ep in found:
        print(f"{ep.name:<12} {ep.value}")
        try:
            facts = _adapter_facts(ep.name, ep.load())
        except Exception as exc:  # a broken third-party package must not hide the others
            facts = [f"cannot be loaded: {' '.join(str(exc).split()) or type(exc).__name__}"]
        for line in facts:
            print(f"{'':<14}{line}")
    return EXIT_OK


def _adapter_facts(name: str, factory: Any) -> list[str]:
    """Suffix, source format, record types and options of an adapter, from its class where it is a
    BaseAdapter (no instance needed, so an adapter that requires options is still described)."""
    import inspect

    from tamga.adapters import load_adapter
    from tamga.adapters.sdk import BaseAdapter

    if isinstance(factory, type) and issubclass(factory, BaseAdapter):
        adapter: Any = factory
    else:
        adapter = load_adapter(name)
    kinds = getattr(adapter, "record_types", None)
    lines = [
        f"suffix {getattr(adapter, 'file_suffix', '') or '-'}, source format "
        f"{getattr(adapter, 'source_format', '') or '-'}, records: {', '.join(kinds) if kinds else 'all types'}"
    ]
    try:
        params = [p for p in inspect.signature(factory).parameters if p not in ("self", "args", "kwargs")]
    except (TypeError, ValueError):
        params = []
    if params:
        lines.append(f"options: {', '.join(params)}")
    return lines


def _options(pairs: list[str] | None) -> dict[str, Any]:
    """``--option KEY=VALUE`` pairs as the adapter's constructor arguments, typed as [adapter.options] in
    tamga.toml would be: a TOML number, true/false or quoted string where VALUE reads as one, else the text."""
    options: dict[str, Any] = {}
    for pair in pairs or []:
        key, eq, text = pair.partition("=")
        key = key.strip()
        if not eq or not key.isidentifier():
            raise _BadInput(f"--option {pair!r}: expected KEY=VALUE, KEY a name such as mapping_file")
        if key in options:
            raise _BadInput(f"--option {key} is given twice")
        try:
            value = tomllib.loads(f"v = {text}")["v"]
        except tomllib.TOMLDecodeError:
            value = text
        options[key] = value if isinstance(value, str | int | float | bool) else text
    return options


def _adapter(name: str, pairs: list[str] | None) -> Any:
    from tamga.adapters import load_adapter

    try:
        return load_adapter(name, _options(pairs))
    except AdapterError as exc:
        raise _BadInput(str(exc)) from exc


def _read_input(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise _BadInput(f"{path}: cannot read: {exc.strerror}") from exc


def _refusal(path: Path, exc: AdapterError) -> _BadInput:
    """The adapter's error, led by the file's path (and without repeating it in the location)."""
    location = {k: v for k, v in exc.location.items() if not (k == "file" and str(v) in (path.name, str(path)))}
    return _BadInput(f"{path}: {AdapterError(exc.message, adapter=exc.adapter, location=location)}")


def _decode(adapter: Any, data: bytes, path: Path) -> list[Any]:
    try:
        return list(adapter.decode(data, source=path.name))
    except AdapterError as exc:
        raise _refusal(path, exc) from exc
    except Exception as exc:  # a bug in the adapter; said plainly, without a traceback
        raise _BadInput(
            f"{path}: {adapter.name} adapter failed with {type(exc).__name__}: {exc} (a bug in the adapter:"
            " bad input must raise AdapterError)"
        ) from exc


def _decode_canonical_json(data: bytes, path: Path) -> list[Any]:
    from tamga.adapters.sdk.records import from_canonical_json

    try:
        return from_canonical_json(data, source=path.name)
    except AdapterError as exc:
        raise _refusal(path, exc) from exc


def cmd_adapter_decode(args: argparse.Namespace) -> int:
    from tamga.adapters.sdk.records import canonical_json

    adapter = _adapter(args.name, args.option)
    path = Path(args.file)
    records = _decode(adapter, _read_input(path), path)
    doc = json.loads(canonical_json(records))
    sys.stdout.buffer.write((json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
    sys.stdout.buffer.flush()
    return EXIT_OK


def cmd_adapter_encode(args: argparse.Namespace) -> int:
    adapter = _adapter(args.name, args.option)
    path = Path(args.file)
    records = _decode_canonical_json(_read_input(path), path)
    try:
        data = adapter.encode(records)
    except AdapterError as exc:
        raise _refusal(path, exc) from exc
    except Exception as exc:
        raise _BadInput(
            f"{path}: {adapter.name} adapter failed with {type(exc).__name__}: {exc} (a bug in the adapter:"
            " records it cannot write must raise AdapterError)"
        ) from exc
    if args.output and args.output != "-":
        out = Path(args.output)
        try:
            out.write_bytes(data)
        except OSError as exc:
            raise _BadInput(f"{out}: cannot write: {exc.strerror}") from exc
        print(f"wrote {out}: {len(records)} record(s) as {len(data)} bytes", file=sys.stderr)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    path = Path(args.file)
    data = _read_input(path)
    if args.adapter:
        records = _decode(_adapter(args.adapter, args.option), data, path)
    else:
        if args.option:
            raise _BadInput("--option needs --adapter: the options are the adapter's")
        records = _decode_canonical_json(data, path)
    try:
        from tamga.validation import validate_records
    except ImportError as exc:
        raise TamgaError(f"record validation is missing from this installation: {exc}") from exc
    problems = validate_records(records)
    if problems:
        for problem in problems:
            print(f"{path}: {' '.join(problem.split())}", file=sys.stderr)
        bad = len({p.split(".", 1)[0].split(":", 1)[0] for p in problems})
        print(
            f"tamga: error: {path}: {len(problems)} problem(s) in {bad} of {len(records)} record(s);"
            " nothing in this file would be sent",
            file=sys.stderr,
        )
        return EXIT_USAGE
    print(f"{path}: {len(records)} records valid")
    return EXIT_OK


def cmd_adapter_new(args: argparse.Namespace) -> int:
    from tamga.adapters import available_adapters
    from tamga.scaffold import ScaffoldError, check_adapter_name, new_adapter, placeholders

    name = args.name
    try:
        check_adapter_name(name)
    except ScaffoldError as exc:
        raise _BadInput(str(exc)) from exc
    installed = available_adapters()
    if name in installed:
        raise _BadInput(f"an adapter named {name!r} is already installed ({installed[name]}); choose another name")
    values = placeholders(name)
    target = Path(args.dir) if args.dir else Path(values["dist"])
    try:
        files = new_adapter(name, target)
    except ScaffoldError as exc:
        raise _BadInput(str(exc)) from exc
    except OSError as exc:
        raise TamgaError(f"{target}: cannot write the adapter package: {exc.strerror or exc}") from exc
    print(f"created adapter {name} ({values['package']}.{values['class_name']}) in {target}:")
    for f in files:
        print(f"  {f}")
    print(f"next: 'pip install -e {target}' into this node's Python environment, then 'pytest {target}';")
    print(f"      'tamga adapters list' shows {name}; {target / 'README.md'} says what to change.")
    return EXIT_OK


# -- federation governance (node/governance.py holds the logic) --------------------


def _governance_input(func: Any) -> Any:
    """Run a federation command; a refused proposal, identity file or option exits 2."""
    import functools

    @functools.wraps(func)
    def wrapper(args: argparse.Namespace) -> int:
        from tamga.governance import BadProposal

        try:
            return int(func(args))
        except (BadProposal, _IdentityFileRefused) as exc:
            raise _BadInput(str(exc)) from exc

    return wrapper


class _IdentityFileRefused(TamgaError):
    """An identity file given to --founder or --add is refused."""


def _identity_file(path_text: str, option: str) -> tuple[Any, Any]:
    """(peer, signed identity) of an identity file given to --founder or --add, checked.

    Raises:
        _IdentityFileRefused: unreadable, not an identity file, or its signature does not verify.
    """
    import base64

    from tamga.errors import ConfigError, CryptoError
    from tamga.home import parse_identity_file
    from tamga.v1 import identity_pb2

    path = Path(path_text)
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _IdentityFileRefused(f"{option} {path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from exc
    try:
        checked = parse_identity_file(text, str(path))
    except (ConfigError, CryptoError) as exc:
        raise _IdentityFileRefused(f"{option} {exc}") from exc
    # parse_identity_file decoded and verified these very bytes.
    signed = identity_pb2.SignedIdentity.FromString(base64.b64decode(checked.document["signed_identity"]))
    return checked.peer, signed


def _identity_entry(path_text: str, option: str, now: float) -> Any:
    """The member entry of an identity file, carrying the node's own signed identity."""
    from tamga.federation import member_from_identity

    _, signed = _identity_file(path_text, option)
    return member_from_identity(signed, valid_from=now)


def _print_changes(lines: list[str]) -> None:
    from tamga.terminal import safe

    print("changes (check each line before signing):")
    for line in lines:
        print(f"  {safe(line)}")


def _proposal_out(path_text: str, signed: Any, previous: Any, *, replace: bool = False) -> None:
    from tamga.governance import format_proposal, write_new_file

    write_new_file(Path(path_text), format_proposal(signed, previous), replace=replace)


def _check_threshold(threshold: int, members: int, force: bool, option: str) -> None:
    """Refuse a threshold that is not a strict majority, unless forced (then say what it allows).

    Raises:
        BadProposal: k <= n/2 without --force-threshold.
    """
    from tamga.federation import is_majority
    from tamga.governance import BadProposal

    if is_majority(threshold, members):
        return
    risk = (
        f"{threshold} of {members} signatures is not a majority: two groups of members could each sign a"
        " different next version (a fork)"
    )
    if not force:
        raise BadProposal(
            f"{option}: {risk}; give --threshold {members // 2 + 1} or more, or --force-threshold"
            " if that is what the members want (a test federation of two, say)"
        )
    print(f"warning: {risk} (--force-threshold)")


@_governance_input
def cmd_federation_init(args: argparse.Namespace) -> int:
    import time

    from tamga.errors import ManifestError
    from tamga.federation import describe_changes, genesis_proposal, member_from_identity, parse_manifest
    from tamga.governance import BadProposal, parse_allow

    if Path(args.out).exists():
        raise BadProposal(f"{args.out}: already exists; choose another --out or remove it first")
    now = time.time()
    entries = [_identity_entry(f, "--founder", now) for f in args.founder or []]
    if args.founder_self:
        from tamga.home import load_local_identity

        config = _load(args)
        endpoints = list(config.server.advertise)
        if not endpoints:
            raise BadProposal("--founder-self: this node publishes no endpoint; set [server] advertise in tamga.toml")
        entries.append(
            member_from_identity(load_local_identity(config).identity_document(endpoints, now), valid_from=now)
        )
    if not entries:
        raise BadProposal("no founder: give --founder FILE.identity.json (repeatable) and/or --founder-self")
    seen: dict[str, str] = {}
    for e in entries:
        if e.node_id in seen:
            raise BadProposal(f"founder {e.node_id} is given twice")
        seen[e.node_id] = e.node_id
    if not 1 <= args.threshold <= len(entries):
        raise BadProposal(f"--threshold {args.threshold}: must be between 1 and the {len(entries)} founders")
    _check_threshold(args.threshold, len(entries), args.force_threshold, f"--threshold {args.threshold}")
    allow = [parse_allow(a, seen) for a in args.allow or []]
    try:
        signed = genesis_proposal(
            federation_id=args.federation,
            founders=entries,
            threshold=args.threshold,
            allow=allow,
            issued_at=now,
            summary=args.summary or "",
        )
    except ManifestError as exc:
        raise BadProposal(str(exc)) from exc
    _proposal_out(args.out, signed, None)
    _print_changes(describe_changes(None, parse_manifest(signed)))
    print(f"wrote {args.out}: genesis of federation {args.federation!r}, unsigned")
    print(f"next: every founder ({', '.join(sorted(seen))}) signs it with 'tamga federation sign {args.out}',")
    print(f"      then each applies it with 'tamga federation apply {args.out}'.")
    return EXIT_OK


@_governance_input
def cmd_federation_propose(args: argparse.Namespace) -> int:
    import time

    from tamga.errors import ManifestError
    from tamga.federation import Changes, consent_needed, describe_changes, parse_manifest, successor_proposal
    from tamga.governance import (
        DEFAULT_OVERLAP,
        BadProposal,
        load_state,
        parse_allow,
        parse_endpoint_change,
        parse_overlap,
        prepare_rotation,
    )
    from tamga.home import load_local_identity

    config = _load(args)
    state = load_state(config)
    cur = state.current
    if Path(args.out).exists():
        raise BadProposal(f"{args.out}: already exists; choose another --out or remove it first")
    now = time.time()
    changes = Changes()
    for f in args.add or []:
        changes.add.append(_identity_entry(f, "--add", now))
    changes.remove = list(args.remove or [])
    changes.threshold = args.threshold
    members = set(cur.members) - set(changes.remove) | {m.node_id for m in changes.add}
    changes.allow = [parse_allow(a, members) for a in args.allow or []]
    changes.disallow = [parse_allow(a, members, "--disallow") for a in args.disallow or []]
    for text in args.endpoint or []:
        node, endpoint = parse_endpoint_change(text)
        changes.endpoints.setdefault(node, []).append(endpoint)
    if args.overlap is not None and not args.rotate_keys:
        raise BadProposal("--overlap needs --rotate-keys")
    rotation = None
    if args.rotate_keys:
        overlap = parse_overlap(args.overlap) if args.overlap is not None else DEFAULT_OVERLAP
        local = load_local_identity(config)
        rotation = prepare_rotation(config, local, cur, now=now, overlap=overlap)
        changes.new_keys, changes.key_ends = rotation.new_keys, rotation.key_ends
    if not (
        changes.add
        or changes.remove
        or changes.threshold is not None
        or changes.allow
        or changes.disallow
        or changes.endpoints
        or changes.new_keys
    ):
        raise BadProposal(
            "nothing to propose: give --add, --remove, --threshold, --allow, --disallow, --endpoint or --rotate-keys"
        )
    try:
        signed = successor_proposal(cur, changes, issued_at=now, summary=args.summary or "")
    except ManifestError as exc:
        raise BadProposal(str(exc)) from exc
    manifest = parse_manifest(signed)
    if manifest.threshold != cur.threshold or len(manifest.members) != len(cur.members):
        where = f"version {manifest.version} would have threshold {manifest.threshold}"
        _check_threshold(manifest.threshold, len(manifest.members), args.force_threshold, where)
    _proposal_out(args.out, signed, cur)
    _print_changes(describe_changes(cur, manifest))
    if rotation is not None:
        how = "reused the pending keys" if rotation.reused else "wrote new keys"
        where = ", ".join(str(p) for p in rotation.written) or "keys/*.pending.key"
        print(f"{how} {rotation.signing_key_id} and {rotation.encryption_key_id} ({where}, mode 0600);")
        print("  the node starts using them once a version listing them is adopted.")
    print(f"wrote {args.out}: version {cur.version + 1} of federation {cur.federation_id!r}, unsigned;")
    print(f"next: {cur.threshold} members of version {cur.version} sign it with 'tamga federation sign {args.out}',")
    own = consent_needed(cur, manifest) if max(manifest.rules, cur.rules) else {}
    if own:
        print(f"      {', '.join(own)} among them: a member's own keys or endpoints change only with its signature,")
    print(f"      then any member applies it with 'tamga federation apply {args.out}'.")
    return EXIT_OK


def _state_or_none(config: Any) -> Any:
    from tamga.federation import FederationState
    from tamga.governance import federation_folder

    folder = federation_folder(config)
    return FederationState.load(folder) if FederationState.exists(folder) else None


def _ask(question: str) -> bool:
    """Ask on the terminal; True only for y or yes."""
    try:
        answer = input(f"{question} [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


@_governance_input
def cmd_federation_sign(args: argparse.Namespace) -> int:
    from tamga.governance import BadProposal, check_against_node, own_entry_problems, read_proposal_file, sign_standing
    from tamga.home import load_local_identity
    from tamga.terminal import safe

    config = _load(args)
    proposal = read_proposal_file(Path(args.proposal))
    standing = check_against_node(proposal, _state_or_none(config))
    what = "genesis" if standing.previous is None else f"version {proposal.version}"
    print(f"proposal {safe(args.proposal)}: {what} of federation {safe(proposal.federation_id)!r}")
    _print_changes(standing.changes)
    print(f"signatures so far: {safe(standing.report())}")
    local = load_local_identity(config)
    problems = own_entry_problems(config, local, standing)
    if args.dry_run:
        for p in problems:
            print(f"this node would refuse to sign it: {safe(p)}")
        print("dry run: nothing signed, nothing written")
        return EXIT_OK
    if problems:
        raise BadProposal(f"{args.proposal}: not signed: {'; '.join(problems)}")
    if not args.yes:
        if not sys.stdin.isatty():
            raise _BadInput(
                f"{args.proposal}: not signed: no terminal to ask on; read the changes above (or"
                " 'tamga federation sign --dry-run') and pass --yes to sign without being asked"
            )
        if not _ask(f"sign {what} of federation {safe(proposal.federation_id)!r} as {local.node_id}?"):
            print("not signed; nothing written")
            return EXIT_ERROR
    signed = sign_standing(standing, local)
    out = args.out or args.proposal
    _proposal_out(out, signed, standing.previous, replace=out == args.proposal)
    after = check_against_node(
        type(proposal)(signed, proposal.manifest, {**proposal.document, "changes": standing.changes}, out),
        _state_or_none(config),
    )
    print(f"signed as {local.node_id} with {local.signing_key.key_id}; wrote {out}")
    print(f"now {safe(after.report())}")
    if after.complete:
        print(f"enough signatures: apply it with 'tamga federation apply {out}'")
    return EXIT_OK


def _grouped_hash(digest: bytes) -> str:
    """A hash in full, in groups of four hex digits (as every fingerprint is shown)."""
    from tamga.federation import grouped

    return grouped(digest.hex())


def _apply_chain(config: Any, folder: Path) -> int:
    """Install or catch up on a chain copied from a member's federation folder."""
    from tamga.federation import FederationState
    from tamga.governance import BadProposal, federation_folder, verify_manifest_files
    from tamga.terminal import safe

    chain = verify_manifest_files(folder)
    last = chain[-1]
    state = _state_or_none(config)
    if state is None:
        if config.node.id not in last.members:
            raise BadProposal(f"{folder}: version {last.version} does not list this node ({config.node.id})")
        print(
            f"genesis of federation {safe(last.federation_id)!r}: hash {_grouped_hash(chain[0].hash)}"
            " (compare it with the one a member gave you by another channel)"
        )
        state = FederationState.create(federation_folder(config), chain[0].signed)
    elif state.chain[0].hash != chain[0].hash:
        raise BadProposal(f"{folder}: another genesis than this node's (federation {last.federation_id!r})")
    offer = state.offer([v.signed for v in chain[1:]], source=str(folder))
    if offer.fork:
        raise TamgaError(str(offer.fork.get("message")))
    if offer.refused:
        raise TamgaError(f"{folder}: {offer.refused}")
    print(f"applied: federation {safe(state.current.federation_id)!r} is at version {state.version}")
    _activate(config, state)
    return EXIT_OK


def _activate(config: Any, state: Any) -> None:
    from tamga.governance import activate_pending_keys

    activated = activate_pending_keys(config, state.current)
    if activated:
        print(f"this node now uses its new keys {' and '.join(activated)} (the old ones are kept as *.retired.key)")


@_governance_input
def cmd_federation_apply(args: argparse.Namespace) -> int:
    from tamga.federation import FederationState
    from tamga.governance import (
        AlreadyApplied,
        check_against_node,
        federation_folder,
        read_proposal_file,
    )
    from tamga.terminal import safe

    config = _load(args)
    if Path(args.proposal).is_dir():
        return _apply_chain(config, Path(args.proposal))
    proposal = read_proposal_file(Path(args.proposal))
    state = _state_or_none(config)
    try:
        standing = check_against_node(proposal, state)
    except AlreadyApplied as exc:
        print(f"nothing to do: {exc}")
        _activate(config, state)
        return EXIT_OK
    _print_changes(standing.changes)
    if not standing.complete:
        more = standing.needed - len(standing.signers)
        raise TamgaError(
            f"{args.proposal}: not applied: {safe(standing.report())}"
            + (f"; {more} more signature(s) needed" if more > 0 else "")
        )
    if standing.previous is None:
        if config.node.id not in standing.eligible:
            raise _BadInput(f"{args.proposal}: this node ({config.node.id}) is not among the founders of this genesis")
        state = FederationState.create(federation_folder(config), proposal.signed)
        print(
            f"applied: this node is now in federation {safe(state.current.federation_id)!r} at version 1"
            f" ({len(state.current.members)} members; signed by {', '.join(standing.signers)})"
        )
        print(f"genesis hash {_grouped_hash(state.chain[0].hash)} (the same on every founder's node)")
        return EXIT_OK
    offer = state.offer([proposal.signed], source=f"proposal {args.proposal}")
    if offer.fork:
        raise TamgaError(str(offer.fork.get("message")))
    if not offer.adopted:
        raise TamgaError(f"{args.proposal}: not applied: {offer.refused or 'the version does not follow'}")
    print(
        f"applied: federation {safe(state.current.federation_id)!r} is now at version {state.version}"
        f" (signed by {', '.join(standing.signers)}; {standing.needed} needed)"
    )
    if config.node.id not in state.current.members:
        print(f"note: this version removes this node ({config.node.id}) from the federation")
    _activate(config, state)
    print("a running node picks up the new version from the federation folder.")
    return EXIT_OK


def cmd_federation_show(args: argparse.Namespace) -> int:
    import time

    from tamga.federation import grouped
    from tamga.governance import load_state, show_document
    from tamga.terminal import safe

    config = _load(args)
    doc = show_document(load_state(config), now=time.time())
    if args.json:
        # ensure_ascii: a member's text (written by whoever proposed it) reaches a terminal with every
        # control character, C1 code and bidi override as a \u escape, as in 'tamga status --json'.
        print(json.dumps(doc, indent=2, ensure_ascii=True))
        return EXIT_OK
    if doc["fork"]:
        print(f"ALARM: {safe(doc['fork'].get('message'))}")
    print(f"federation {safe(doc['federation_id'])!r} version {doc['version']} (issued {doc['issued_at']})")
    print(f"  hash {doc['hash']}")
    print(f"  genesis hash {grouped(doc['genesis_hash'])}")
    print(f"  a change needs {doc['threshold']} of {len(doc['members'])} members' signatures")
    if doc["member_consent"]:
        print("  and a change of a member's keys, TLS certificate or endpoints also that member's own")
    for w in doc["warnings"]:
        print(f"WARNING: {w}")
    print("members:")
    for m in doc["members"]:
        mark = " (this node)" if m["node_id"] == config.node.id else ""
        endpoints = ", ".join(safe(e) for e in m["endpoints"]) or "-"
        print(f"  {m['node_id']}{mark}: {safe(m['authority'], 200)} ({safe(m['country'])}), endpoints {endpoints}")
        for kind in ("signing", "encryption"):
            for k in m[f"{kind}_keys"]:
                state = "valid now" if k["valid_now"] else "NOT valid now"
                if k["revoked_at"]:
                    state = f"REVOKED {k['revoked_at']}"
                print(
                    f"    {kind} key {k['key_id']} fingerprint {k['fingerprint']}, from {k['valid_from'] or '-'}"
                    f" until {k['valid_until'] or 'no end'}: {state}"
                )
        print(f"    TLS certificate SHA-256 {m['tls_fingerprint'] or '- (none pinned)'}")
    print("agreements:" if doc["agreements"] else "agreements: none (nothing may be sent)")
    for a in doc["agreements"]:
        print(f"  {a['sender']} -> {a['receiver']}: {', '.join(a['record_types'])}")
    print("revocations:" if doc["revocations"] else "revocations: none")
    for r in doc["revocations"]:
        print(f"  {r['node_id']} {safe(r['key_id'])} at {r['revoked_at']}: {safe(r['reason'], 300)}")
    return EXIT_OK


@_governance_input
def cmd_federation_verify(args: argparse.Namespace) -> int:
    from tamga.federation import grouped
    from tamga.governance import (
        BadProposal,
        check_against_node,
        federation_folder,
        read_proposal_file,
        verify_manifest_files,
    )
    from tamga.terminal import safe

    if args.path:
        path = Path(args.path)
        if path.is_dir():
            chain = verify_manifest_files(path)
            for v in chain:
                print(f"version {v.version}: valid (hash {grouped(v.hash.hex())})")
            last = chain[-1]
            print(f"{path}: the chain of federation {safe(last.federation_id)!r} is valid up to version {last.version}")
            return EXIT_OK
        config = _load(args)
        proposal = read_proposal_file(path)
        standing = check_against_node(proposal, _state_or_none(config))
        _print_changes(standing.changes)
        if not standing.complete:
            raise BadProposal(f"{path}: not yet valid: {safe(standing.report())}")
        print(f"{path}: valid: {safe(standing.report())}; it can be applied")
        return EXIT_OK
    config = _load(args)
    chain = verify_manifest_files(federation_folder(config))
    from tamga.governance import load_state

    state = load_state(config)  # also checks the revocations
    for v in chain:
        print(
            f"version {v.version}: valid (hash {grouped(v.hash.hex())}, {len(v.members)} members,"
            f" threshold {v.threshold})"
        )
    print(
        f"this node's chain of federation {safe(state.current.federation_id)!r} is valid up to version {state.version}"
    )
    if state.revocations:
        print(f"{len(state.revocations)} key revocation(s), each valid")
    if state.fork:
        print(f"ALARM: {safe(state.fork.get('message'))}")
    return EXIT_OK


@_governance_input
def cmd_federation_revoke_key(args: argparse.Namespace) -> int:
    import time

    from tamga.governance import load_state, revoke_own_key

    config = _load(args)
    state = load_state(config)
    _, signer = revoke_own_key(config, state, args.key_id, args.reason, now=time.time())
    print(f"revoked {args.key_id} of {config.node.id} now, signed with {signer}: {args.reason.strip()}")
    print("every member refuses it from now on once it has the revocation (peers get it by gossip).")
    return EXIT_OK


def cmd_keys_list(args: argparse.Namespace) -> int:
    import time

    from tamga.governance import own_keys

    config = _load(args)
    keys = own_keys(config, _state_or_none(config), now=time.time())
    if args.json:
        print(json.dumps(keys, indent=2))
        return EXIT_OK
    for k in keys:
        if k["revoked_at"]:
            manifest = f"REVOKED {k['revoked_at']}"
        elif k["listed"]:
            until = k["valid_until"] or "no end"
            manifest = f"listed, valid {k['valid_from'] or '-'} to {until}" + ("" if k["valid_now"] else " (NOT now)")
        else:
            manifest = "not in the manifest"
        print(
            f"{safe(k['key_id'], 40):<11} {k['role']:<8} fingerprint {k['fingerprint']}  {safe(manifest, 200)}  "
            f"{safe(k['file'], 300)}"
        )
    return EXIT_OK


def cmd_keys_encrypt(args: argparse.Namespace) -> int:
    from tamga.home import encrypt_key_files

    config = _load(args)
    done = encrypt_key_files(config, _new_passphrase())
    for path in done:
        print(f"encrypted {path}")
    if not done:
        print("the key files were already encrypted; nothing changed")
    print("start the node with TAMGA_KEY_PASSPHRASE set, or set [keys] passphrase_file to a 0600 file holding it")
    return EXIT_OK


def _print_audit_report(rep: Any, what: str) -> int:
    # An export comes from another node: its entries' kinds, peers and details are escaped before printing.
    what = safe(what, 300)
    for line in rep.problems:
        print(f"TAMPERED: {safe(line, 1000)}")
    for line in rep.unverified:
        print(f"UNVERIFIED: {safe(line, 1000)}")
    for line in rep.notes:
        print(f"note: {safe(line, 1000)}")
    span = f"entries {rep.first_seq}-{rep.last_seq}" if rep.entries else "no entries"
    if rep.problems:
        print(f"{what}: NOT intact: {len(rep.problems)} problem(s) in {span} ({rep.seals} seals)")
        return EXIT_USAGE
    if rep.unverified:
        # Not a pass: a seal that could not be checked is not a good seal.
        print(
            f"{what}: NOT verified: no tampering found in {span}, but {len(rep.unverified)} seal(s) or range(s) "
            "could not be checked with the keys given"
        )
        return EXIT_ERROR
    sealed = f"sealed through {rep.sealed_through}" if rep.sealed_through else "not sealed yet"
    print(f"{what}: intact: {span}, {rep.seals} seals, {sealed}")
    return EXIT_OK


def _earlier_signing_keys(config: Any) -> list[Any]:
    """This node's signing keys as every version of its federation manifest lists them (seals made
    before a key rotation verify with the key of their time); none without a manifest."""
    from tamga.errors import ManifestError
    from tamga.federation import FederationState

    folder = config.path(Path("federation"))
    if not FederationState.exists(folder):
        return []
    try:
        state = FederationState.load(folder)
    except ManifestError:
        return []
    found: dict[tuple[str, bytes], Any] = {}
    for manifest in state.chain:
        member = manifest.member(config.node.id)
        for k in member.signing_keys if member else ():
            found.setdefault((k.key_id, k.public), k.verify_key)
    return list(found.values())


def _manifest_signing_keys(path: Path, node_id: str) -> tuple[list[Any], str]:
    """Every signing key the verified manifest chain at ``path`` lists for ``node_id`` over its versions,
    and words naming the chain.

    ``path`` is a federation folder, its manifests folder, or one manifest
    file vNNNNNN.pb of such a folder (the chain is then verified from the
    genesis up to that version).

    Raises:
        _BadInput: no chain there, a version that does not verify, or no key for the node.
    """
    from tamga.governance import BadProposal, verify_manifest_files

    folder, last = path, None
    if path.is_file():
        if not (path.name.startswith("v") and path.name.endswith(".pb") and path.name[1:-3].isdigit()):
            raise _BadInput(f"--manifest {path}: not a manifest file vNNNNNN.pb nor a federation folder")
        folder, last = path.parent, int(path.name[1:-3])
    elif not path.is_dir():
        raise _BadInput(f"--manifest {path}: no such federation folder or manifest file")
    try:
        chain = verify_manifest_files(folder)
    except BadProposal as exc:
        raise _BadInput(f"--manifest {exc}") from exc
    if last is not None:
        chain = [v for v in chain if v.version <= last]
    found: dict[tuple[str, bytes], Any] = {}
    for manifest in chain:
        member = manifest.member(node_id)
        for k in member.signing_keys if member else ():
            found.setdefault((k.key_id, k.public), k.verify_key)
    words = (
        f"the manifest chain of federation {safe(chain[-1].federation_id, 64)!r} up to version {chain[-1].version} "
        f"(genesis hash {chain[0].hash.hex()})"
    )
    if not found:
        raise _BadInput(f"--manifest {path}: {words} lists no signing key for node {node_id}")
    return list(found.values()), words


def cmd_audit_verify(args: argparse.Namespace) -> int:
    from tamga import audit

    if args.export:
        from tamga.home import parse_identity_file

        if not args.identity and not args.manifest:
            raise _BadInput(
                "--export needs --identity NODE.identity.json (the node's identity file) and/or --manifest PATH "
                "(a federation folder holding the node, for seals made after a key rotation)"
            )
        try:
            doc_text = Path(args.export).read_text("utf-8")
            text = Path(args.identity).read_text("utf-8") if args.identity else None
        except (OSError, UnicodeDecodeError) as exc:
            raise _BadInput(f"cannot read: {exc}") from exc
        try:
            doc = json.loads(doc_text)
        except json.JSONDecodeError as exc:
            raise _BadInput(f"{args.export}: not JSON (line {exc.lineno}: {exc.msg})") from exc
        except RecursionError as exc:
            raise _BadInput(f"{args.export}: not an audit export (JSON nested too deeply)") from exc
        peer = parse_identity_file(text, args.identity).peer if text is not None else None
        node_id = peer.node_id if peer is not None else str(doc.get("node_id", "")) if isinstance(doc, dict) else ""
        if peer is None:
            from tamga.protocol import check_node_id

            try:
                check_node_id(node_id)
            except ValueError as exc:
                raise _BadInput(f"{args.export}: not an audit export of a node ({exc})") from exc
        partial: tuple[str, str] | None
        if args.manifest:
            keys, words = _manifest_signing_keys(Path(args.manifest), node_id)
            if peer is not None and peer.verify_key not in keys:
                raise _BadInput(
                    f"--identity {args.identity}: its signing key {peer.verify_key.key_id} (fingerprint "
                    f"{peer.fingerprint}) is not one {words} lists for {node_id}: the identity file and the "
                    "manifest are of different nodes or federations"
                )
            print(f"keys of {node_id}: {', '.join(safe(k.key_id, 40) for k in keys)}, from {words}")
            partial = (words, "verify with a later version of the manifest (--manifest FOLDER)")
        else:
            assert peer is not None
            keys = [peer.verify_key]
            partial = (
                "this identity file",
                "verify with --manifest (a federation folder holding the node; the identity file is of one key, "
                "the manifest lists every key the node has had)",
            )
        rep = audit.verify_export(doc, node_id=node_id, verify_key=keys, where=args.export, partial_keys=partial)
        return _print_audit_report(rep, f"{args.export} (audit log of {node_id})")
    if args.manifest:
        raise _BadInput(
            "--manifest is for checking an export (with --export FILE); this node's own check uses "
            "its own federation folder"
        )
    from tamga.home import load_local_identity

    config = _load(args)
    keys = [load_local_identity(config).signing_key.public, *_earlier_signing_keys(config)]
    path = config.path(config.store.path)
    rep = audit.verify_entries(audit.read_entries(path), node_id=config.node.id, verify_key=keys)
    return _print_audit_report(rep, f"{path} (audit log of {config.node.id})")


def cmd_audit_export(args: argparse.Namespace) -> int:
    from tamga import audit

    config = _load(args)
    doc = audit.export_range(
        config.path(config.store.path), node_id=config.node.id, from_seq=args.from_seq, to_seq=args.to_seq
    )
    text = json.dumps(doc, indent=1) + "\n"
    if args.output:
        Path(args.output).write_text(text, "utf-8")
        last = doc["entries"][-1]["seq"]
        print(f"wrote {args.output}: audit entries {args.from_seq}-{last}, seals {doc['seals']}")
    else:
        sys.stdout.write(text)
    return EXIT_OK


def cmd_audit_seal(args: argparse.Namespace) -> int:
    import time

    from tamga.audit import AuditSigner
    from tamga.home import load_local_identity
    from tamga.store import Store

    config = _load(args)
    local = load_local_identity(config)

    async def main() -> int | None:
        store = await Store.open(config.path(config.store.path), create=False)
        try:
            return await store.seal_audit(AuditSigner(local.node_id, local.signing_key), now=time.time())
        finally:
            await store.close()

    seq = asyncio.run(main())
    print(f"sealed the audit log at seq {seq}" if seq else "nothing new to seal: the last entry is a seal")
    return EXIT_OK


def _add_audit_parser(sub: Any, add: Any, home_help: str) -> None:
    aud = sub.add_parser(
        "audit",
        help="the tamper-evident audit log",
        description="The node's audit log: every record queued, accepted, duplicate, refused, settled and handed "
        "off, chained by SHA-256 and sealed with the node's identity key. Digests only, never record contents.",
    )
    asub = aud.add_subparsers(dest="audit_command", metavar="COMMAND", required=True)
    sp = add(
        "verify",
        cmd_audit_verify,
        "check the audit log's chain and seals (exit 0 intact, 2 tampered)",
        "Recompute the hash chain and check every seal. Names each edited, removed, inserted or reordered "
        "entry and each forged seal; exits 2 if any. With --export, checks an exported range with the node's "
        "public keys instead: those its federation manifest lists over time (--manifest, a federation folder "
        "holding the node: seals made before and after a key rotation verify), or the one key of its identity "
        "file (--identity; a seal made with a later key is then UNVERIFIED, not forged). Exits 0 when every "
        "seal verified, 1 when a seal could not be checked with the keys given, 2 when tampering was found.",
        parent=asub,
    )
    sp.add_argument("--home", help=home_help)
    sp.add_argument("--export", metavar="FILE", help="an export made by 'tamga audit export'")
    sp.add_argument("--identity", metavar="FILE", help="the exporting node's identity file (with --export)")
    sp.add_argument(
        "--manifest",
        metavar="PATH",
        help="with --export: a federation folder (yours: it holds the exporting node), its manifests folder or a "
        "manifest file vNNNNNN.pb; every signing key the verified chain lists for the node is used",
    )
    sp = add(
        "export",
        cmd_audit_export,
        "write a range of the audit log for another authority",
        "Write entries --from..--to (and on to the seal covering them) as JSON, with the hash before the range, "
        "for 'tamga audit verify --export FILE --manifest FEDERATION-FOLDER' (or --identity NODE.identity.json "
        "when the node has never rotated its keys).",
        parent=asub,
    )
    sp.add_argument("--home", help=home_help)
    sp.add_argument("--from", dest="from_seq", type=int, required=True, metavar="SEQ", help="first entry")
    sp.add_argument("--to", dest="to_seq", type=int, required=True, metavar="SEQ", help="last entry")
    sp.add_argument("-o", "--output", help="file to write (default: standard output)")
    sp = add(
        "seal",
        cmd_audit_seal,
        "sign the audit log now with the node's identity key",
        "Append a seal signed with the node's identity key over the last entry (the node also seals every "
        "1000 entries and when it stops).",
        parent=asub,
    )
    sp.add_argument("--home", help=home_help)


def _add_federation_parser(sub: Any, add: Any, home_help: str) -> None:
    keys = sub.add_parser(
        "keys",
        help="this node's private key files (public facts only)",
        description="This node's private key files: in use, pending (a rotation waiting for its manifest version) "
        "and retired, with key ids, fingerprints and what the federation manifest says of each. Never prints keys.",
    )
    ksub = keys.add_subparsers(dest="keys_command", metavar="COMMAND", required=True)
    sp = add(
        "list",
        cmd_keys_list,
        "list this node's keys with their state in the manifest",
        "List this node's signing and encryption key files (in use, pending, retired) with key id, fingerprint, "
        "and whether the current manifest lists each, its validity and any revocation. Public facts only.",
        parent=ksub,
    )
    sp.add_argument("--json", action="store_true", help="machine-readable output")
    sp.add_argument("--home", help=home_help)
    sp = add(
        "encrypt",
        cmd_keys_encrypt,
        "encrypt this node's private key files with a passphrase",
        "Encrypt this node's clear private key files with a passphrase: the signing and encryption keys with "
        "Argon2id and SecretBox, the TLS key as an encrypted PKCS#8 PEM (scrypt, AES-256-CBC; openssl opens it "
        "with the passphrase too). The passphrase comes from TAMGA_KEY_PASSPHRASE or is asked twice on a "
        "terminal; files already encrypted must open with it (one passphrase for all). Each file is replaced "
        "only after its encrypted copy was read back. The node then needs the passphrase at every start: [keys] "
        "passphrase_file (a 0600 file) or TAMGA_KEY_PASSPHRASE.",
        parent=ksub,
    )
    sp.add_argument("--home", help=home_help)

    fed = sub.add_parser(
        "federation",
        help="the co-signed federation manifest: propose, sign, apply, show",
        description="The federation manifest lists the members, their keys and endpoints, and the agreements. "
        "Every change is a proposal file that members sign (all founders for the genesis, then the threshold "
        "of members of the current version) and then apply. Each command shows the changes in words.",
    )
    fsub = fed.add_subparsers(dest="federation_command", metavar="COMMAND", required=True)
    allow_help = (
        "SENDER:RECEIVER:TYPES, an agreement: SENDER may send TYPES (comma-separated record types) to RECEIVER; "
        "'*' for every member or every type (repeatable)"
    )
    force_help = (
        "accept a threshold that is not a strict majority of the members (2 of 4, 1 of 2): two groups could then "
        "each sign a different next version; refused without this"
    )
    sp = add(
        "init",
        cmd_federation_init,
        "write a genesis proposal from the founders' identity files",
        "Write the genesis (version 1) of a new federation from the founders' identity files ('tamga identity "
        "export'). Every founder must sign it. No agreement is made unless --allow is given ('*:*:*': every "
        "member sends every record type to every other).",
        parent=fsub,
    )
    sp.add_argument("--federation", required=True, metavar="ID", help="federation id, e.g. sco-customs")
    sp.add_argument("--founder", action="append", metavar="FILE", help="a founder's identity file (repeatable)")
    sp.add_argument("--founder-self", action="store_true", help="add this node (from --home) as a founder")
    sp.add_argument("--threshold", required=True, type=int, metavar="K", help="signatures needed for later changes")
    sp.add_argument("--force-threshold", action="store_true", help=force_help)
    sp.add_argument("--allow", action="append", metavar="S:R:TYPES", help=allow_help)
    sp.add_argument("--summary", help="a sentence for the signers: what and why")
    sp.add_argument("--out", required=True, metavar="PROPOSAL", help="proposal file to write (must not exist)")
    sp.add_argument("--home", help=home_help)

    sp = add(
        "propose",
        cmd_federation_propose,
        "write the next version of this node's manifest as a proposal",
        "Write a proposal for the version after this node's current one. Options combine and repeat. "
        "--rotate-keys writes this node's next keys (mode 0600) as keys/signing.pending.key and "
        "keys/encryption.pending.key, lists them valid from now, and ends the current keys after --overlap.",
        parent=fsub,
    )
    sp.add_argument("--add", action="append", metavar="FILE", help="add a member from its identity file")
    sp.add_argument("--remove", action="append", metavar="NODE", help="remove a member")
    sp.add_argument("--threshold", type=int, metavar="K", help="change the signatures needed for a change")
    sp.add_argument("--force-threshold", action="store_true", help=force_help)
    sp.add_argument("--allow", action="append", metavar="S:R:TYPES", help=allow_help)
    sp.add_argument("--disallow", action="append", metavar="S:R:TYPES", help="end an agreement (same form)")
    sp.add_argument("--endpoint", action="append", metavar="NODE=HOST:PORT", help="set a member's endpoints")
    sp.add_argument("--rotate-keys", action="store_true", help="new signing and encryption keys for this node")
    sp.add_argument("--overlap", metavar="DURATION", help="how long the old keys stay valid (default 7d)")
    sp.add_argument("--summary", help="a sentence for the signers: what and why")
    sp.add_argument("--out", required=True, metavar="PROPOSAL", help="proposal file to write (must not exist)")
    sp.add_argument("--home", help=home_help)

    sp = add(
        "sign",
        cmd_federation_sign,
        "show a proposal's changes and signatures, and add this node's signature",
        "Check a proposal, show what it changes (with the full fingerprints of every key and certificate it "
        "adds) and who has signed, ask y/N, then add this node's signature with its identity key. A proposal "
        "with a signature that does not verify, whose readable changes differ from the signed manifest, or "
        "that lists for this node a key it does not hold, is refused. --dry-run only shows it (exit 0).",
        parent=fsub,
    )
    sp.add_argument("proposal", help="proposal file")
    sp.add_argument("--yes", action="store_true", help="sign without asking (scripts); needed without a terminal")
    sp.add_argument("--dry-run", action="store_true", help="show the proposal and who signed it; sign nothing")
    sp.add_argument("--out", metavar="FILE", help="write the signed proposal here (default: in place)")
    sp.add_argument("--home", help=home_help)

    sp = add(
        "apply",
        cmd_federation_apply,
        "install a genesis or adopt a version once enough members signed it",
        "Install a genesis signed by every founder, or adopt the next version signed by enough members of the "
        "current one. Otherwise says who signed and how many signatures are missing, and changes nothing. "
        "A new member installs the chain from a copy of a member's federation folder.",
        parent=fsub,
    )
    sp.add_argument(
        "proposal",
        metavar="PROPOSAL|CHAIN-FOLDER",
        help="proposal file, or a copy of a member's federation folder (a new member installs the chain so)",
    )
    sp.add_argument("--home", help=home_help)

    sp = add(
        "show",
        cmd_federation_show,
        "the current version: members, keys, agreements, revocations",
        "Show the federation id, version, threshold, members (country, authority, endpoints, keys with validity "
        "and fingerprints, pinned TLS certificate), agreements, key revocations and any fork alarm.",
        parent=fsub,
    )
    sp.add_argument("--json", action="store_true", help="machine-readable output")
    sp.add_argument("--home", help=home_help)

    sp = add(
        "verify",
        cmd_federation_verify,
        "verify this node's chain, a proposal, or a folder of manifests",
        "Without PATH, verify this node's chain from its genesis and its key revocations. PATH may be a proposal "
        "file (checked against this node's chain) or a folder of manifests v000001.pb... (verified from its "
        "genesis). Says which version is valid and what is wrong with the first that is not.",
        parent=fsub,
    )
    sp.add_argument("path", nargs="?", metavar="PROPOSAL|CHAIN-FOLDER", help="what to verify")
    sp.add_argument("--home", help=home_help)

    sp = add(
        "revoke-key",
        cmd_federation_revoke_key,
        "revoke one of this node's keys now (no vote needed)",
        "Revoke one of this node's keys at once, signed with another valid key of this node if it has one, else "
        "with the key itself. Members refuse the key as soon as they have the revocation (gossip).",
        parent=fsub,
    )
    sp.add_argument("key_id", metavar="KEY_ID", help="e.g. ed25519:1 or x25519:1")
    sp.add_argument("--reason", required=True, help="why (shown to every member)")
    sp.add_argument("--home", help=home_help)


# -- parser ----------------------------------------------------------------------


def cmd_conformance_adapter(args: argparse.Namespace) -> int:
    from tamga.conformance._runner import run

    try:
        outcome = run(
            "adapter",
            adapter=args.name,
            samples=Path(args.samples) if args.samples else None,
            capabilities=Path(args.capabilities) if args.capabilities else None,
            report_dir=Path(args.report_dir),
            strict=args.strict,
            cases=args.case or (),
            sign_with=Path(args.sign_with) if args.sign_with else None,
            examples=args.examples,
            verbose=args.verbose,
        )
    except TamgaError as exc:
        raise _BadInput(str(exc)) from exc
    return outcome.exit_code


def cmd_conformance_verify_report(args: argparse.Namespace) -> int:
    from tamga.conformance._signing import verified_line

    identity = Path(args.identity) if args.identity else None
    # The report, and the names in it, come from whoever sent it: escaped before printing.
    print(safe(verified_line(Path(args.file), identity=identity, home=None if identity else _home(args)), 2000))
    return EXIT_OK


def cmd_conformance_requirements(args: argparse.Namespace) -> int:
    from tamga.conformance._requirements import catalogue_coverage, format_coverage, load_requirements
    from tamga.conformance.plugin import CASE_MODULES

    requirements = load_requirements()
    cover, found = catalogue_coverage(requirements, args.mode)
    for mode in [args.mode] if args.mode else list(CASE_MODULES):
        if mode not in found:
            print(f"note: the {mode} mode's cases are not installed ({CASE_MODULES[mode]})", file=sys.stderr)
    sys.stdout.write(format_coverage(requirements, cover, args.json))
    return EXIT_OK


def _add_conformance_results_parsers(csub: Any, add: Any) -> None:
    """``tamga conformance verify-report`` and ``requirements``."""
    sp = add(
        "verify-report",
        cmd_conformance_verify_report,
        "check a signed conformance report (report.signed.json)",
        "Check that a signed conformance report was signed by the node it names and not changed since: against "
        "that node's identity file (--identity, from 'tamga identity export'), or against the node home --home "
        "(default $TAMGA_HOME or .): the signer's key in its federation manifest, else its pinned peers or its own "
        "identity. Prints 'valid: signed by ..., verdict ...' and exits 0, or names what is wrong and exits 1.",
        parent=csub,
    )
    sp.add_argument("file", help="the signed report (report.signed.json)")
    trust = sp.add_mutually_exclusive_group()
    trust.add_argument("--identity", metavar="FILE", help="the signer's identity file")
    trust.add_argument("--home", help="a node home whose federation manifest or peers know the signer")
    sp = add(
        "requirements",
        cmd_conformance_requirements,
        "list the requirements (FDX ids) and the cases that check each",
        "List every requirement of docs/requirements.md with its level and the conformance cases that check "
        "it; requirements no case checks are marked UNCOVERED.",
        parent=csub,
    )
    sp.add_argument("--mode", choices=["adapter", "node"], help="only the cases of this mode")
    sp.add_argument("--json", action="store_true", help="JSON instead of a table")


def cmd_conformance_node(args: argparse.Namespace) -> int:
    from tamga.conformance._runner import run
    from tamga.conformance.cases.node_cases import node_arguments, prepare

    given = {
        "target": args.target,
        "target_identity": args.target_identity,
        "peer_home": args.peer_home,
        "target_home": args.target_home,
        "restart_command": args.restart_command,
    }
    try:
        prepare(**given, capabilities=args.capabilities)  # bad input: one line, exit 2, before any case runs
        outcome = run(
            "node",
            capabilities=Path(args.capabilities) if args.capabilities else None,
            report_dir=Path(args.report_dir),
            strict=args.strict,
            cases=args.case or (),
            sign_with=Path(args.sign_with) if args.sign_with else None,
            extra_args=node_arguments(**given),
            verbose=args.verbose,
        )
    except TamgaError as exc:
        raise _BadInput(str(exc)) from exc
    return outcome.exit_code


def cmd_conformance_peer_init(args: argparse.Namespace) -> int:
    from tamga.conformance._target import init_peer_home
    from tamga.home import load_local_identity

    try:
        config, identity = init_peer_home(
            Path(args.dir), node_id=args.node_id, country=args.country, listen=args.listen, advertise=args.advertise
        )
    except TamgaError as exc:
        raise _BadInput(str(exc)) from exc
    local = load_local_identity(config)
    where = ", ".join(config.server.advertise)
    print(f"created the conformance suite's test identity {config.node.id} in {config.home}")
    print(f"  identity file: {identity} (public keys only)")
    print(f"  fingerprint:   {local.signing_key.public.fingerprint}")
    print(f"  the suite's peer listens on {config.server.listen}; the node under test reaches it at {where}")
    print("on the node under test (its operator; a test identity, so records from it are test records):")
    print(f"  tamga peer add {identity} --home NODE_HOME")
    print("  then restart the node (a running node picks up new peers when restarted)")
    print("  tamga identity export --home NODE_HOME -o target.identity.json")
    print("then run the suite:")
    print(
        f"  tamga conformance node --target HOST:PORT --target-identity target.identity.json --peer-home {config.home}"
        " [--target-home NODE_HOME] [--restart-command CMD]"
    )
    return EXIT_OK


def _add_conformance_node_parsers(csub: Any, add: Any) -> None:
    """``tamga conformance node`` and ``peer-init``."""
    sp = add(
        "node",
        cmd_conformance_node,
        "check a live node: the suite plays a peer against it, both directions",
        "The suite plays a peer (the test identity of --peer-home, pinned by the node under test) against the "
        "node at --target: it sends valid and deliberately broken envelopes (tampered, replayed, stale, oversized, "
        "for other recipients, of unknown versions) and checks the node's signed receipts; with --target-home (the "
        "node's folder on this machine) it also makes the node send to the suite, answers with bad receipts and "
        "checks what the node handed to its national system; with --restart-command it checks replays across a "
        "restart. Without --capabilities a statement is derived from the options.",
        parent=csub,
    )
    sp.add_argument("--target", required=True, metavar="HOST:PORT", help="the peer port of the node under test")
    sp.add_argument(
        "--target-identity",
        required=True,
        metavar="FILE",
        help="the node's identity file ('tamga identity export'); pins its keys and TLS certificate",
    )
    sp.add_argument(
        "--peer-home",
        required=True,
        metavar="DIR",
        help="the suite's test identity ('tamga conformance peer-init'), pinned in the node under test",
    )
    sp.add_argument(
        "--target-home",
        metavar="DIR",
        help="the node's folder on this machine: the suite makes it send ('tamga send') and reads 'tamga status'",
    )
    sp.add_argument(
        "--restart-command",
        metavar="CMD",
        help="shell command that stops the node and starts it again, returning once it was started",
    )
    sp.add_argument("--capabilities", metavar="FILE", help="capability statement (TOML)")
    sp.add_argument("--report-dir", default="conformance-report", metavar="DIR", help="default ./conformance-report")
    sp.add_argument("--strict", action="store_true", help="a failed SHOULD case fails the run")
    sp.add_argument(
        "--case",
        action="append",
        metavar="ID",
        help="development run: only this case (id or glob such as 'ENV-*', repeatable) and its prerequisites; "
        "the report says it is not valid for certification",
    )
    sp.add_argument("--sign-with", metavar="HOME", help="also write report.signed.json signed by the node in HOME")
    sp.add_argument("-v", "--verbose", action="store_true", help="one line per case and long tracebacks")
    sp = add(
        "peer-init",
        cmd_conformance_peer_init,
        "create the suite's test identity for node mode",
        "Create a node folder holding the conformance suite's test identity (keys, TLS certificate) and its "
        "identity file, for the operator of the node under test to pin with 'tamga peer add'. The node id must "
        "start with 'TEST-': the suite sends only as a test identity, so nobody takes its records for a customs "
        "service's. Prints the commands to run next.",
        parent=csub,
    )
    sp.add_argument("dir", help="folder to create")
    sp.add_argument("--node-id", required=True, help="the test identity's node id, starting with TEST- (e.g. TEST-UZ)")
    sp.add_argument(
        "--country", required=True, help="ISO 3166-1 alpha-2 the suite's records come from (not the node's own)"
    )
    sp.add_argument(
        "--listen",
        default="127.0.0.1:7499",
        metavar="HOST:PORT",
        help="where the suite's peer listens (default "
        "127.0.0.1:7499; 0.0.0.0:PORT when the node under test runs on another machine)",
    )
    sp.add_argument(
        "--advertise",
        action="append",
        metavar="HOST:PORT",
        help="where the node under test reaches the suite's peer (repeatable; default: --listen)",
    )


def _add_conformance_parser(sub: Any, add: Any) -> Any:
    """``tamga conformance``: its subparsers, for each mode's command to be added to."""
    conf = sub.add_parser(
        "conformance",
        help="the conformance suite a national system passes before it joins",
        description="Run the conformance suite against an adapter or a live node. Each case checks requirements "
        "of docs/requirements.md (FDX ids); the reports (report.json, junit.xml, report.html) go to --report-dir. "
        "Exit 0 when the verdict is PASS, 1 when any MUST case failed or broke, nothing ran or a planned case has "
        "no result (or a SHOULD case failed with --strict), 2 for bad options or input.",
    )
    csub = conf.add_subparsers(dest="conformance_command", metavar="COMMAND", required=True)
    sp = add(
        "adapter",
        cmd_conformance_adapter,
        "check an adapter: round trip, mapping, scripts, boundaries, refusals",
        "The suite plays the node around adapter NAME (an installed adapter, or module:Class for one not "
        "installed yet) and checks it on its sample files: decoding and validation, round trip without loss, "
        "mapping coverage, national scripts, boundary values, and refusal of malformed, truncated, mis-encoded "
        "and hostile input with a located error. Without --capabilities a statement is derived from the adapter.",
        parent=csub,
    )
    sp.add_argument("name", help="adapter name as 'tamga adapters list' shows it, or module:Class")
    sp.add_argument("--samples", metavar="DIR", help="folder of sample national files (default: the adapter's own)")
    sp.add_argument("--capabilities", metavar="FILE", help="capability statement (TOML)")
    sp.add_argument("--report-dir", default="conformance-report", metavar="DIR", help="default ./conformance-report")
    sp.add_argument("--strict", action="store_true", help="a failed SHOULD case fails the run")
    sp.add_argument(
        "--case",
        action="append",
        metavar="ID",
        help="development run: only this case (id or glob such as 'ADP-*', repeatable) and its prerequisites; "
        "the report says it is not valid for certification",
    )
    sp.add_argument("--sign-with", metavar="HOME", help="also write report.signed.json signed by the node in HOME")
    sp.add_argument("--examples", type=int, metavar="N", help="examples the fuzzing case tries (default 60)")
    sp.add_argument("-v", "--verbose", action="store_true", help="one line per case and long tracebacks")
    return csub


def build_parser() -> argparse.ArgumentParser:
    home_help = "node directory (default: $TAMGA_HOME, else the current directory)"
    option_help = (
        "an adapter option (repeatable), as in [adapter.options] of tamga.toml: numbers and true/false are "
        "typed, anything else is text"
    )
    p = _Parser(
        prog="tamga",
        description="Tamga node: exchange sealed, signed customs records directly with peer customs services.",
        epilog="Start with 'tamga init DIR --id KZ --country KZ'. Each command has its own --help.",
    )
    p.add_argument("--version", action="version", version=f"tamga {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(
        name: str, func: Any, help_: str, description: str | None = None, parent: Any = sub
    ) -> argparse.ArgumentParser:
        sp = parent.add_parser(name, help=help_, description=description or help_)
        sp.set_defaults(func=func)
        return sp

    sp = add(
        "init",
        cmd_init,
        "create a node directory with fresh keys",
        "Create a node directory: configuration (tamga.toml), private keys written 0600, "
        "and the drop folders the national system uses.",
    )
    sp.add_argument("dir", help="directory to create the node in")
    sp.add_argument("--id", required=True, help="node id, unique in the federation (e.g. KZ)")
    sp.add_argument("--country", required=True, help="ISO 3166-1 alpha-2 code of your customs service (e.g. KZ)")
    sp.add_argument("--authority", help="name of your customs authority")
    sp.add_argument("--listen", default="0.0.0.0:7400", help="address peers connect to (default 0.0.0.0:7400)")
    sp.add_argument(
        "--advertise",
        action="append",
        metavar="HOST:PORT",
        help="endpoint published in your identity file (repeatable; default: --listen)",
    )
    sp.add_argument("--adapter", default="json", help="adapter for your national system's files (default json)")
    sp.add_argument(
        "--encrypt-keys",
        action="store_true",
        help="encrypt the private key files (signing, encryption and TLS keys) with a passphrase (from "
        "TAMGA_KEY_PASSPHRASE, or asked twice on a terminal); the node then needs it at every start ([keys] "
        "passphrase_file or TAMGA_KEY_PASSPHRASE)",
    )

    ident = sub.add_parser(
        "identity",
        help="this node's public identity",
        description="This node's public identity (public keys and endpoints).",
    )
    isub = ident.add_subparsers(dest="identity_command", metavar="COMMAND", required=True)
    sp = add(
        "export",
        cmd_identity_export,
        "write this node's identity file for peers (public keys only)",
        "Write this node's signed identity file. Give it to each peer authority; they add it with "
        "'tamga peer add'. It holds public keys only.",
        parent=isub,
    )
    sp.add_argument("--home", help=home_help)
    sp.add_argument("-o", "--output", help="file to write (default: standard output)")
    sp.add_argument(
        "--endpoint", action="append", metavar="HOST:PORT", help="endpoint to publish instead of [server] advertise"
    )

    peer = sub.add_parser(
        "peer",
        help="the peers this node exchanges with",
        description="Add and list the peer nodes this node exchanges with.",
    )
    psub = peer.add_subparsers(dest="peer_command", metavar="COMMAND", required=True)
    sp = add(
        "add",
        cmd_peer_add,
        "add a peer from its identity file and show its fingerprint",
        "Check a peer's identity file (its signature binds its keys) and add it. Compare the "
        "fingerprint shown with the one the peer authority gave you by another channel.",
        parent=psub,
    )
    sp.add_argument("file", help="the peer's identity file (from 'tamga identity export')")
    sp.add_argument("--home", help=home_help)
    sp.add_argument("--endpoint", metavar="HOST:PORT", help="reach the peer here instead of the endpoint in its file")
    sp.add_argument(
        "--replace", action="store_true", help="replace a known peer's keys (after checking the new fingerprint)"
    )
    sp = add("list", cmd_peer_list, "list peers with their fingerprints", parent=psub)
    sp.add_argument("--home", help=home_help)

    sp = add(
        "run",
        cmd_run,
        "run the node until SIGTERM or Ctrl-C",
        "Run the node: serve peers, deliver queued records, watch the outgoing folder, write "
        "arriving records to the incoming folder. Stops gracefully on SIGTERM or Ctrl-C.",
    )
    sp.add_argument("--home", help=home_help)
    sp.add_argument("--log-format", choices=["auto", "json", "console"], help="override [logging] format")

    sp = add(
        "send",
        cmd_send,
        "queue the records of a file for sending",
        "Decode FILE with the adapter, check and seal each record for its recipients and queue it. "
        "Recipients are the peers named by --to, else those of each record's receiver countries. "
        "The file is accepted whole or not at all.",
    )
    sp.add_argument("file", help="a file in the adapter's format")
    sp.add_argument("--home", help=home_help)
    sp.add_argument("--to", action="append", metavar="PEER", help="peer node id to send to (repeatable)")
    sp.add_argument("--adapter", help="adapter to decode FILE with (default: [adapter] name)")

    sp = add(
        "status",
        cmd_status,
        "peers, queue depth, last delivery, failures",
        "Show, per peer, what is queued, delivered, rejected and received, the last delivery and the current failures.",
    )
    sp.add_argument("--home", help=home_help)
    sp.add_argument("--json", action="store_true", help="machine-readable output")

    sp = add(
        "purge",
        cmd_purge,
        "purge delivered payloads and old dedup rows now ([retention])",
        "Do now what the running node does every [retention] purge_interval: empty the encrypted envelope of "
        "records settled or handed off longer ago than delivered_payloads (digest, state, times and receipts "
        "stay), and delete received rows older than dedup_horizon that were handed off. Queued and pending "
        "records are never touched. With --dry-run, only count.",
    )
    sp.add_argument("--home", help=home_help)
    sp.add_argument("--dry-run", action="store_true", help="count what would go; change nothing")

    sp = add(
        "doctor",
        cmd_doctor,
        "check the node directory and explain how to recover",
        "Check the node directory, one line OK or PROBLEM each: configuration, the store (integrity, a -wal file, "
        "how many outbox and inbox rows can still be read, and the recovery steps when it is damaged), keys "
        "(permissions, passphrase), the federation chain, writable folders and free disk space. Changes nothing. "
        "Exits 0 when all is OK, 1 otherwise.",
    )
    sp.add_argument("--home", help=home_help)

    sp = add(
        "validate",
        cmd_validate,
        "check records as the node does before sending them",
        "Check every record of FILE as the node checks records at intake: required fields, ISO country and "
        "currency codes, Rec 20 units, HS codes, dates, decimal amounts. FILE is canonical JSON (what 'tamga "
        "adapter decode' prints), or a national file when --adapter is given. Prints 'FILE: N records valid', "
        "or every problem on its own line on standard error and exits 2.",
    )
    sp.add_argument("file", help="canonical JSON records, or a national file with --adapter")
    sp.add_argument("--adapter", metavar="NAME", help="decode FILE with this adapter first")
    sp.add_argument("--option", action="append", metavar="KEY=VALUE", help=option_help)

    adapters = sub.add_parser("adapters", help="installed adapters", description="Installed adapters.")
    asub = adapters.add_subparsers(dest="adapters_command", metavar="COMMAND", required=True)
    add(
        "list",
        cmd_adapters_list,
        "list installed adapters",
        "List the installed adapters (entry points of the group tamga.adapters): file suffix, source format, "
        "record types they write, constructor options, and where each comes from. An adapter that cannot be "
        "loaded is listed with the reason.",
        parent=asub,
    )

    adapter = sub.add_parser(
        "adapter",
        help="develop and try an adapter without a node",
        description="Write a new adapter package, and translate single files with an installed adapter. "
        "No node directory is needed. Refused input exits 2 with the file and the place in it.",
    )
    adsub = adapter.add_subparsers(dest="adapter_command", metavar="COMMAND", required=True)
    sp = add(
        "decode",
        cmd_adapter_decode,
        "print the records of a national file as canonical JSON",
        "Decode FILE with adapter NAME and print its records as canonical JSON (indented, UTF-8), the form "
        "'tamga adapter encode' and 'tamga validate' read.",
        parent=adsub,
    )
    sp.add_argument("name", help="adapter name, as 'tamga adapters list' shows it")
    sp.add_argument("file", help="a file in the adapter's national format")
    sp.add_argument("--option", action="append", metavar="KEY=VALUE", help=option_help)
    sp = add(
        "encode",
        cmd_adapter_encode,
        "write canonical JSON records in a national format",
        "Read records from FILE (canonical JSON, as 'tamga adapter decode' prints) and write them in adapter "
        "NAME's national format, to standard output or --output.",
        parent=adsub,
    )
    sp.add_argument("name", help="adapter name, as 'tamga adapters list' shows it")
    sp.add_argument("file", help="canonical JSON records")
    sp.add_argument("--option", action="append", metavar="KEY=VALUE", help=option_help)
    sp.add_argument("-o", "--output", help="file to write (default: standard output)")
    sp = add(
        "new",
        cmd_adapter_new,
        "write an installable adapter package to start from",
        "Write a new adapter package NAME: pyproject.toml with the tamga.adapters entry point, a working "
        "adapter for a simple 'key: value' declaration format, samples, a README and tests that pass as "
        "written. Replace the format with your national system's. An existing folder is never written into.",
        parent=adsub,
    )
    sp.add_argument("name", help="adapter name: lowercase letters, digits, underscores (e.g. demo_xx)")
    sp.add_argument("--dir", help="folder to create (default: ./tamga-adapter-NAME, underscores as hyphens)")
    _add_federation_parser(sub, add, home_help)
    _add_audit_parser(sub, add, home_help)
    conformance = _add_conformance_parser(sub, add)
    _add_conformance_results_parsers(conformance, add)
    _add_conformance_node_parsers(conformance, add)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.func is not cmd_run:
        # One-shot commands print their own results; only warnings and errors are logged (to stderr).
        from tamga.logging import configure_logging

        configure_logging("warning", "auto")
    try:
        return int(args.func(args))
    except TamgaError as exc:
        # Errors often quote what a file or a peer wrote: escaped, so the one line stays one line.
        print("tamga: error: " + safe(" ".join(str(exc).split())), file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, _BadInput) else EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into a reader that stopped (head): not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
