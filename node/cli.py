"""The ``tamga`` command.

Every subcommand explains itself with ``--help``. A wrong command line, a
missing configuration or an unreadable key prints one line starting with
"tamga: error:" and exits non-zero, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

from tamga import __version__
from tamga.errors import TamgaError

__all__ = ["main"]

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


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


def cmd_init(args: argparse.Namespace) -> int:
    from tamga.home import init_home

    config = init_home(
        Path(args.dir),
        node_id=args.id,
        country=args.country,
        authority=args.authority or f"Customs service of {args.country}",
        listen=args.listen,
        advertise=args.advertise,
        adapter=args.adapter,
    )
    from tamga.home import load_local_identity

    local = load_local_identity(config)
    print(f"created node {config.node.id} in {config.home}")
    print(f"  configuration: {config.config_path}")
    print(f"  private keys:  {config.path(config.keys.signing).parent} (mode 0600; never share them)")
    print(f"  fingerprint:   {local.signing_key.public.fingerprint}")
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
    else:
        sys.stdout.write(text)
    return EXIT_OK


def cmd_peer_add(args: argparse.Namespace) -> int:
    from tamga.home import add_peer

    config = _load(args)
    peer = add_peer(config, Path(args.file), endpoint=args.endpoint, replace=args.replace)
    print(f"added peer {peer.node_id} ({peer.country}, {peer.authority}) at {', '.join(peer.endpoints)}")
    print(f"  fingerprint: {peer.fingerprint}")
    print("  compare this fingerprint with the one that authority gave you by another channel;")
    print("  a running node picks up new peers when restarted.")
    return EXIT_OK


def cmd_peer_list(args: argparse.Namespace) -> int:
    from tamga.home import load_peers

    config = _load(args)
    peers = load_peers(config)
    if not len(peers):
        print("no peers; add one with 'tamga peer add FILE'")
    for p in peers:
        print(f"{p.node_id:<12} {p.country:<3} {','.join(p.endpoints):<24} {p.fingerprint}  {p.authority}")
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
    from tamga.intake import Submitter
    from tamga.store import Store

    config = _load(args)
    path = Path(args.file)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TamgaError(f"{path}: cannot read: {exc.strerror}") from exc
    if len(data) > config.limits.max_file_bytes:
        raise TamgaError(f"{path}: {len(data)} bytes exceeds [limits] max_file_bytes ({config.limits.max_file_bytes})")
    local = load_local_identity(config)
    peers = load_peers(config)
    adapter = load_adapter(args.adapter or config.adapter.name)

    async def main() -> Any:
        store = await Store.open(config.path(config.store.path), create=False)
        try:
            sub = Submitter(local=local, peers=peers, store=store, adapter=adapter)
            return await sub.submit(data, source=path.name, to=args.to)
        finally:
            await store.close()

    submission = asyncio.run(main())
    print(f"queued {submission.records} record(s) from {path.name} as {len(submission.sealed)} envelope(s):")
    for s in submission.sealed:
        print(f"  {s.message_id}  {s.record_type:<24} -> {s.recipient}")
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


def cmd_status(args: argparse.Namespace) -> int:
    from tamga.home import load_peers
    from tamga.store import Store

    config = _load(args)
    peers = load_peers(config)

    async def main() -> tuple[dict[str, dict[str, Any]], dict[str, int], list[dict[str, Any]]]:
        store = await Store.open(config.path(config.store.path), create=False)
        try:
            return await store.peer_status(), await store.counts(), await store.recent_rejections(5)
        finally:
            await store.close()

    per_peer, counts, rejections = asyncio.run(main())
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
        }
        print(json.dumps(doc, indent=2))
        return EXIT_OK
    state = f"running (pid {pid}, listening on {listen})" if pid else "not running"
    print(f"node {config.node.id} ({config.node.country}): {state}")
    print(
        f"{'PEER':<10} {'ENDPOINT':<22} {'QUEUED':>7} {'DELIVERED':>9} {'REJECTED':>8} {'RECEIVED':>8} "
        f"{'REFUSED':>7}  {'LAST DELIVERY':<20} {'FAILURES':>8}  LAST ERROR"
    )
    for p in peers:
        st = per_peer.get(p.node_id, {})
        print(
            f"{p.node_id:<10} {','.join(p.endpoints):<22} {st.get('queued', 0):>7} {st.get('delivered', 0):>9} "
            f"{st.get('rejected', 0):>8} {st.get('received', 0):>8} {st.get('refused', 0):>7}  "
            f"{_fmt_time(st.get('last_delivery_at')):<20} {st.get('consecutive_failures', 0):>8}  "
            f"{st.get('last_error') or '-'}"
        )
    unknown = sorted(set(per_peer) - {p.node_id for p in peers})
    for name in unknown:
        st = per_peer[name]
        print(
            f"{name:<10} {'(not a peer)':<22} {st.get('queued', 0):>7} {st.get('delivered', 0):>9} "
            f"{st.get('rejected', 0):>8} {st.get('received', 0):>8} {st.get('refused', 0):>7}"
        )
    print(
        f"incoming: {counts['received']} received, {counts['pending_handoff']} waiting for hand-off; "
        f"outgoing: {counts['queued']} queued, {counts['delivered']} delivered, {counts['rejected']} rejected"
    )
    for r in rejections:
        print(f"rejected by {r['peer']}: {r['message_id']} {r['record_type']} {r['reason']} {r['detail'] or ''}")
    return EXIT_OK


def cmd_adapters_list(args: argparse.Namespace) -> int:
    from tamga.adapters import available_adapters

    for name, target in sorted(available_adapters().items()):
        print(f"{name:<12} {target}")
    return EXIT_OK


# -- parser ----------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    home_help = "node directory (default: $TAMGA_HOME, else the current directory)"
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

    adapters = sub.add_parser("adapters", help="installed adapters", description="Installed adapters.")
    asub = adapters.add_subparsers(dest="adapters_command", metavar="COMMAND", required=True)
    add("list", cmd_adapters_list, "list installed adapters", parent=asub)
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
        print("tamga: error: " + " ".join(str(exc).split()), file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
