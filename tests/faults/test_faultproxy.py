"""The fault proxy itself, in front of a plain TCP echo server on 127.0.0.1: each mode does what it says."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
from tamga.tools.faultproxy import FaultProxy

pytestmark = pytest.mark.faults

TIMEOUT = 5.0  # seconds: bound of every socket operation here


@pytest.fixture
def echo() -> Iterator[str]:
    """An echo server on 127.0.0.1; yields its "host:port"."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.1)
    stop = threading.Event()

    def serve(conn: socket.socket) -> None:
        with conn:
            conn.settimeout(TIMEOUT)
            try:
                while data := conn.recv(65536):
                    conn.sendall(data)
            except OSError:
                pass

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield f"127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    t.join(TIMEOUT)
    server.close()


def connect(proxy: FaultProxy) -> socket.socket:
    return socket.create_connection(("127.0.0.1", proxy.port), timeout=TIMEOUT)


def recv_exactly(sock: socket.socket, n: int) -> bytes:
    out = b""
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        if not chunk:
            break
        out += chunk
    return out


def test_pass_forwards_both_ways(echo: str) -> None:
    with FaultProxy(echo) as proxy, connect(proxy) as s:
        s.sendall(b"declaration 1")
        assert recv_exactly(s, 13) == b"declaration 1"


def test_delay_holds_each_chunk(echo: str) -> None:
    with FaultProxy(echo) as proxy, connect(proxy) as s:
        proxy.set_mode("delay", delay=0.3)
        began = time.monotonic()
        s.sendall(b"x")
        assert recv_exactly(s, 1) == b"x"
        assert time.monotonic() - began >= 0.55  # delayed on the way there and back


def test_truncate_cuts_the_stream_after_the_limit(echo: str) -> None:
    with FaultProxy(echo) as proxy:
        proxy.set_mode("truncate", limit=10)
        with connect(proxy) as s:
            s.sendall(b"01234")
            assert recv_exactly(s, 5) == b"01234"  # under the limit: untouched
            s.sendall(b"56789abcdef")
            rest = recv_exactly(s, 11)  # only 5 more bytes may pass, then the connection ends
        assert b"56789".startswith(rest), rest
        assert proxy.faults == {"truncate": 1}


def test_reset_aborts_open_and_new_connections(echo: str) -> None:
    with FaultProxy(echo) as proxy, connect(proxy) as s:
        s.sendall(b"a")
        assert recv_exactly(s, 1) == b"a"
        proxy.set_mode("reset")
        with pytest.raises(ConnectionResetError):
            for _ in range(50):  # bounded: the RST arrives within a few ticks
                s.sendall(b"b")
                if not s.recv(1):
                    break
                time.sleep(0.05)
        with pytest.raises(ConnectionResetError):  # at connect or at the first read, as the RST races
            with connect(proxy) as again:
                again.recv(1)


def test_drop_closes_connections_and_recovers_after_duration(echo: str) -> None:
    with FaultProxy(echo) as proxy:
        proxy.set_mode("drop", duration=0.5)
        with connect(proxy) as s:
            assert s.recv(1) == b""  # closed by the proxy, cleanly
        time.sleep(0.7)
        assert proxy.mode == "pass"
        with connect(proxy) as s:
            s.sendall(b"back")
            assert recv_exactly(s, 4) == b"back"


def test_blackhole_forwards_nothing_then_resumes_without_loss(echo: str) -> None:
    with FaultProxy(echo) as proxy, connect(proxy) as s:
        proxy.set_mode("blackhole", duration=1.0)
        s.sendall(b"held")
        s.settimeout(0.5)
        with pytest.raises(TimeoutError):
            s.recv(4)
        s.settimeout(TIMEOUT)
        assert recv_exactly(s, 4) == b"held"


def test_unknown_mode_and_bad_target_are_refused(echo: str) -> None:
    with FaultProxy(echo) as proxy, pytest.raises(ValueError, match="'flood' is not one of pass, drop"):
        proxy.set_mode("flood")
    with pytest.raises(ValueError, match="'nohost' is not HOST:PORT"):
        FaultProxy("nohost")
