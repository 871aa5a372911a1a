"""A federation of real node processes on loopback, for the demo, the
benchmark and the tests.

Each node is a separate ``python -m tamga run`` process with its own node
directory, fresh keys and a loopback port. Nodes know each other through the
same files a national team exchanges: either pinned identity files (two-node
mode, ``membership="pinned"``) or a federation manifest made with the real
``tamga federation init / sign / apply`` commands (``membership="manifest"``).
The context manager guarantees that no process outlives it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from tamga.config import load_config
from tamga.home import add_peer, export_identity, init_home, load_local_identity
from tamga.intake import write_atomically

__all__ = ["LocalFederation", "NodeProcess", "free_port", "patch_config", "wait_for"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(predicate: Callable[[], bool], timeout: float, interval: float = 0.05, what: str = "condition") -> None:
    """Poll ``predicate`` until it is true; TimeoutError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    if predicate():
        return
    raise TimeoutError(f"{what} not reached within {timeout:.0f}s")


def patch_config(home: Path, section: str, values: Mapping[str, Any]) -> None:
    """Set keys of one section of a node's tamga.toml (as TOML literals)."""
    path = home / "tamga.toml"
    text = path.read_text("utf-8")
    for key, value in values.items():
        literal = json.dumps(value) if not isinstance(value, bool) else str(value).lower()
        block = re.search(rf"(?ms)^\[{re.escape(section)}\]\n(.*?)(?=^\[|\Z)", text)
        if block is None:
            text += f"\n[{section}]\n{key} = {literal}\n"
            continue
        body = block.group(1)
        if re.search(rf"(?m)^{re.escape(key)}\s*=", body):
            body = re.sub(rf"(?m)^{re.escape(key)}\s*=.*$", f"{key} = {literal}", body)
        else:
            body = f"{key} = {literal}\n" + body
        text = text[: block.start(1)] + body + text[block.end(1) :]
    path.write_text(text, "utf-8")
    load_config(home)  # fail here, not in the child process


@dataclass
class NodeProcess:
    """One node directory and the process running it."""

    node_id: str
    country: str
    home: Path
    port: int
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0
    env: dict[str, str] = field(default_factory=dict)

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def outgoing(self) -> Path:
        return self.home / "outgoing"

    @property
    def incoming(self) -> Path:
        return self.home / "incoming"

    @property
    def db_path(self) -> Path:
        return self.home / "state" / "tamga.db"

    @property
    def log_path(self) -> Path:
        return self.home / "node.log"

    def start(self, wait: float = 30.0) -> None:
        """Start ``tamga run`` for this node and wait until it listens."""
        if self.running:
            return
        log = open(self.log_path, "ab")  # handed to the child, closed below
        self.starts += 1
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tamga", "run", "--home", str(self.home), "--log-format", "json"],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env={**os.environ, **self.env},
        )
        log.close()
        pid = self.proc.pid
        listen = self.home / "run" / "listen"
        pidfile = self.home / "run" / "pid"

        def ready() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"node {self.node_id} exited with {self.proc.returncode}; see {self.log_path}")
            try:
                return int(pidfile.read_text()) == pid and listen.read_text().strip() == self.endpoint
            except (OSError, ValueError):
                return False

        wait_for(ready, wait, what=f"node {self.node_id} listening")

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM, wait for a graceful stop; SIGKILL if it does not come."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        code = self.proc.returncode
        self.proc = None
        return code

    def kill(self) -> None:
        """SIGKILL: the process dies at once, mid-whatever it was doing."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self.proc = None

    def drop(self, name: str, data: bytes) -> Path:
        """Write a file into the outgoing folder the way a national system must."""
        path = self.outgoing / name
        write_atomically(path, data)
        return path

    def incoming_files(self) -> list[Path]:
        try:
            return sorted(p for p in self.incoming.iterdir() if not p.name.startswith("."))
        except FileNotFoundError:
            return []

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Read the node's store (read-only; safe while the node runs)."""
        conn = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=10)
        try:
            return list(conn.execute(sql, params))
        finally:
            conn.close()

    def outbox_counts(self) -> dict[str, int]:
        return {state: n for state, n in self.query("SELECT state, COUNT(*) FROM outbox GROUP BY state")}


class LocalFederation:
    """Nodes created in ``root``, peered with each other, run as processes.

    Args:
        root: Folder for the node directories.
        nodes: (node id, country) of each node.
        adapter: Adapter name for every node, or a mapping node id -> adapter.
        config: Extra settings for every node: {section: {key: value}}.
        membership: "pinned" (identity files in each node's peers folder) or
            "manifest" (a genesis signed by every node, applied on each).
        threshold: Signatures needed for later manifest versions.
    """

    def __init__(
        self,
        root: Path,
        nodes: list[tuple[str, str]],
        *,
        adapter: str | Mapping[str, str] = "json",
        config: Mapping[str, Mapping[str, Any]] | None = None,
        membership: str = "pinned",
        threshold: int = 2,
    ) -> None:
        self.root = root
        self.nodes: dict[str, NodeProcess] = {}
        root.mkdir(parents=True, exist_ok=True)
        for node_id, country in nodes:
            port = free_port()
            home = root / node_id.lower()
            name = adapter if isinstance(adapter, str) else adapter.get(node_id, "json")
            init_home(
                home,
                node_id=node_id,
                country=country,
                authority=f"Customs service of {country}",
                listen=f"127.0.0.1:{port}",
                adapter=name,
            )
            for section, values in (config or {}).items():
                patch_config(home, section, values)
            self.nodes[node_id] = NodeProcess(node_id, country, home, port)
        identities = {}
        for node_id, n in self.nodes.items():
            cfg = load_config(n.home)
            path = root / f"{node_id}.identity.json"
            path.write_text(export_identity(load_local_identity(cfg), [n.endpoint]), "utf-8")
            identities[node_id] = path
        self.manifest_log: list[str] = []
        if membership == "manifest":
            self._make_manifest(identities, threshold)
            return
        for node_id, n in self.nodes.items():
            cfg = load_config(n.home)
            for other, path in identities.items():
                if other != node_id:
                    add_peer(cfg, path)

    def _tamga(self, *args: str | Path) -> str:
        """Run the real ``tamga`` command; its output, or RuntimeError with it."""
        exe = Path(sys.executable).parent / "tamga"
        proc = subprocess.run(
            [str(exe), *map(str, args)], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
        )
        if proc.returncode != 0:
            raise RuntimeError(f"tamga {' '.join(map(str, args))}: {proc.stderr.strip() or proc.stdout.strip()}")
        return proc.stdout

    def _make_manifest(self, identities: Mapping[str, Path], threshold: int) -> None:
        """The genesis, as founders make it: one writes it, every one signs it, every one applies it."""
        first = next(iter(self.nodes.values()))
        proposal = self.root / "genesis.proposal"
        founders = [arg for path in identities.values() for arg in ("--founder", path)]
        self.manifest_log.append(
            self._tamga(
                "federation", "init", "--federation", "demo-sco", *founders, "--threshold", threshold,
                "--allow", "*:*:*", "--summary", "demo federation on this machine", "--out", proposal,
                "--home", first.home,
            )
        )  # fmt: skip
        for n in self.nodes.values():
            self._tamga("federation", "sign", proposal, "--yes", "--home", n.home)
        for n in self.nodes.values():
            self.manifest_log.append(self._tamga("federation", "apply", proposal, "--home", n.home))

    def __getitem__(self, node_id: str) -> NodeProcess:
        return self.nodes[node_id]

    def __iter__(self) -> Iterator[NodeProcess]:
        return iter(self.nodes.values())

    def start(self) -> None:
        for n in self.nodes.values():
            n.start()

    def stop(self) -> None:
        for n in self.nodes.values():
            n.stop()

    def kill_all(self) -> None:
        for n in self.nodes.values():
            n.kill()

    def __enter__(self) -> LocalFederation:
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        try:
            self.stop()
        finally:
            self.kill_all()
