"""A TCP fault proxy for the fault-injection tests: the network between two nodes, made to misbehave.

The proxy listens on 127.0.0.1 (port 0: the system picks one) and forwards
every connection to one target. Its mode says what the network does, and can
be changed at any moment from the test:

- ``pass``: forward bytes both ways untouched.
- ``drop``: close every connection (a clean FIN both ways); new ones are
  accepted and closed at once.
- ``delay``: hold every chunk ``delay`` seconds before forwarding it.
- ``truncate``: forward at most ``limit`` bytes per direction of a
  connection, then close it (a stream cut short mid-message).
- ``reset``: abort every connection with a TCP RST; new ones are reset at once.
- ``blackhole``: forward nothing and close nothing: bytes wait in the
  kernel's buffers and new connections wait in the listen backlog, as when
  packets are silently lost. When it ends, everything resumes.

``set_mode(..., duration=s)`` returns to ``pass`` by itself after ``s``
seconds. Every loop here ends when the proxy is closed; threads are daemons
and are joined (bounded) by :meth:`FaultProxy.close`.
"""

from __future__ import annotations

import select
import selectors
import socket
import struct
import threading
import time
from dataclasses import dataclass
from types import TracebackType

__all__ = ["MODES", "FaultProxy"]

MODES = ("pass", "drop", "delay", "truncate", "reset", "blackhole")
_TICK = 0.05  # seconds: how often idle loops look at the mode and the stop flag
_CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class _Mode:
    name: str
    delay: float
    limit: int
    generation: int


class FaultProxy:
    """Forwards TCP connections from ``127.0.0.1:<port>`` to ``target`` ("host:port"), with faults on demand."""

    def __init__(self, target: str, *, listen_host: str = "127.0.0.1", listen_port: int = 0) -> None:
        host, _, port = target.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"fault proxy target {target!r} is not HOST:PORT")
        self.target = (host, int(port))
        self._lock = threading.Lock()
        self._mode = _Mode("pass", 0.0, 0, 0)
        self._revert: threading.Timer | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._conns: set[_Connection] = set()
        self.connections = 0  # accepted so far
        self.faults: dict[str, int] = {}  # connections ended by each fault
        self._listener = socket.create_server((listen_host, listen_port), backlog=64)
        self._listener.settimeout(_TICK)
        self.port = int(self._listener.getsockname()[1])
        self.address = f"{listen_host}:{self.port}"
        self._spawn(self._accept_loop, "faultproxy-accept")

    # -- control -------------------------------------------------------------------

    @property
    def mode(self) -> str:
        return self._mode.name

    def set_mode(self, name: str, *, delay: float = 0.2, limit: int = 1024, duration: float | None = None) -> None:
        """Switch to ``name`` now; back to ``pass`` after ``duration`` seconds if given."""
        if name not in MODES:
            raise ValueError(f"fault proxy mode {name!r} is not one of {', '.join(MODES)}")
        if delay < 0 or limit < 0:
            raise ValueError(f"fault proxy: delay ({delay}) and limit ({limit}) must not be negative")
        with self._lock:
            if self._revert is not None:
                self._revert.cancel()
                self._revert = None
            self._mode = _Mode(name, delay, limit, self._mode.generation + 1)
            if duration is not None and not self._stop.is_set():
                self._revert = threading.Timer(duration, self._back_to_pass, args=(self._mode.generation,))
                self._revert.daemon = True
                self._revert.start()

    def _back_to_pass(self, generation: int) -> None:
        with self._lock:
            if self._mode.generation == generation:
                self._mode = _Mode("pass", 0.0, 0, generation + 1)
                self._revert = None

    def close(self) -> None:
        """Stop accepting, end every connection, join the threads (bounded)."""
        self._stop.set()
        with self._lock:
            if self._revert is not None:
                self._revert.cancel()
        self._listener.close()
        for t in list(self._threads):
            t.join(timeout=5.0)

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    # -- internals -----------------------------------------------------------------

    def _spawn(self, target: object, name: str, *args: object) -> None:
        t = threading.Thread(target=target, args=args, name=name, daemon=True)  # type: ignore[arg-type]
        self._threads.append(t)
        t.start()

    def _count(self, fault: str) -> None:
        with self._lock:
            self.faults[fault] = self.faults.get(fault, 0) + 1

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            if self._mode.name == "blackhole":  # leave new connections in the backlog
                time.sleep(_TICK)
                continue
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # listener closed
            self.connections += 1
            mode = self._mode.name
            if mode in ("drop", "reset"):
                _close(client, reset=mode == "reset")
                self._count(mode)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5.0)
            except OSError:
                _close(client, reset=True)  # the target is down: the client sees a refused peer
                continue
            conn = _Connection(client, upstream)
            self._spawn(self._pump, f"faultproxy-conn-{self.connections}", conn)

    def _pump(self, conn: _Connection) -> None:
        sel = selectors.DefaultSelector()
        try:
            for s in (conn.client, conn.upstream):
                s.setblocking(False)
                sel.register(s, selectors.EVENT_READ)
            while not self._stop.is_set():
                mode = self._mode
                if mode.name in ("drop", "reset"):
                    self._count(mode.name)
                    conn.close(reset=mode.name == "reset")
                    return
                if mode.name == "blackhole":
                    time.sleep(_TICK)
                    continue
                for key, _ in sel.select(_TICK):
                    src: socket.socket = key.fileobj  # type: ignore[assignment]
                    dst = conn.upstream if src is conn.client else conn.client
                    try:
                        data = src.recv(_CHUNK)
                    except BlockingIOError:
                        continue
                    except OSError:
                        conn.close(reset=True)
                        return
                    if not data:
                        conn.close(reset=False)
                        return
                    mode = self._mode
                    if mode.name == "delay" and mode.delay:
                        time.sleep(mode.delay)
                    if mode.name == "truncate":
                        sent = conn.sent.get(id(src), 0)
                        data = data[: max(0, mode.limit - sent)]
                    if data and not _send_all(dst, data, self._stop):
                        conn.close(reset=True)
                        return
                    conn.sent[id(src)] = conn.sent.get(id(src), 0) + len(data)
                    if mode.name == "truncate" and conn.sent[id(src)] >= mode.limit:
                        self._count("truncate")
                        conn.close(reset=False)
                        return
        finally:
            sel.close()
            conn.close(reset=False)


class _Connection:
    def __init__(self, client: socket.socket, upstream: socket.socket) -> None:
        self.client, self.upstream = client, upstream
        self.sent: dict[int, int] = {}
        self.closed = False

    def close(self, *, reset: bool) -> None:
        if not self.closed:
            self.closed = True
            _close(self.client, reset=reset)
            _close(self.upstream, reset=reset)


def _send_all(sock: socket.socket, data: bytes, stop: threading.Event) -> bool:
    """Write all of ``data`` to a non-blocking socket; False if the socket failed or the proxy closed."""
    view = memoryview(data)
    while view and not stop.is_set():
        try:
            n = sock.send(view)
        except BlockingIOError:
            select.select([], [sock], [], _TICK)
            continue
        except OSError:
            return False
        view = view[n:]
    return not view


def _close(sock: socket.socket, *, reset: bool) -> None:
    try:
        if reset:  # linger 0: close() sends RST instead of FIN
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        else:
            sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
