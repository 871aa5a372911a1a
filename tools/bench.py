"""Benchmark of a Tamga node: end to end, and the floors it stands on.

``make bench`` (``python -m tamga.tools.bench``) measures, in one run on this
machine:

e2e
    Two real node processes (KZ -> UZ, protobuf adapter, loopback, gRPC over
    TLS with pinned certificates as in production) from ``tools/federation.py``.
    N records of about ``--record-bytes`` each (distinct DeclarationSnapshots) are written at t0 into KZ's outgoing
    folder as files of 500 records (atomic writes); the run ends when every
    one of them is 'delivered' in KZ's outbox, that is, when KZ holds UZ's
    signed receipt, which UZ signs only after committing. e2e_rps = N / that
    time: durable throughput, submitted -> signed receipt held by the sender.
    The time until UZ has written all N records into its incoming folder
    (hand-off) is reported beside it. The protobuf adapter does no
    translation, so this is the node's own throughput.
e2e_json_rps
    The same run again through the json adapter, which adds decoding JSON
    at KZ and encoding it at UZ (reported in the table, not the BENCH line).
grpc_rps
    Raw batched gRPC like the node's, without TLS: a grpc.aio server in another process
    (``--serve-grpc PORT``), one bidirectional stream, pre-serialized
    ExchangeRequests of ``batch_size`` envelopes of the e2e envelope size,
    ``max_in_flight`` batches in flight, a small answer per batch.
sqlite_rps
    ``tamga.store.Store.enqueue`` (WAL, synchronous=FULL, one transaction
    and one executemany per batch of ``batch_size`` envelopes).
sign_rps, verify_rps
    Ed25519 through ``tamga.crypto`` over an envelope-sized message, one thread.
decode_<adapter>_dps
    Declarations per second each national adapter decodes from the sample
    files it ships (validation not included), one thread, in memory; beside
    it, the json adapter decoding the same declarations as canonical JSON in
    the same run, and the ratio of the two.

The last line of the output is machine-readable::

    BENCH e2e_rps=... grpc_rps=... sqlite_rps=... verify_rps=... ratio=...

where ratio = e2e_rps / min(grpc_rps, sqlite_rps, verify_rps). The exit code
is non-zero when the e2e run did not complete.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import json_format
from tamga.adapters import load_adapter
from tamga.config import DeliveryConfig
from tamga.crypto import CRYPTO_PROFILE_V1, NONCE_SIZE, SALT_SIZE, SigningKey
from tamga.protocol import ENVELOPE_PURPOSE, Sealed
from tamga.store import Store
from tamga.tools.federation import LocalFederation, NodeProcess
from tamga.transport import CHANNEL_OPTIONS
from tamga.v1 import common_pb2, envelope_pb2, exchange_pb2, records_pb2

__all__ = ["main"]

RECORDS_PER_FILE = 500
QUICK_RECORDS = 1000
WARMUP_RECORDS = 64
# The node settings the e2e run uses. Everything else is the product default
# (batch_size 256, max_in_flight 4, log level info). The default poll interval
# (500ms) would add up to half a second of idle scanning to each stage.
NODE_CONFIG: dict[str, dict[str, Any]] = {
    "delivery": {"poll_interval": "20ms"},
    "logging": {"level": "info"},
}
RAW_SERVICE = "tamga.bench.Raw"
RAW_METHOD = f"/{RAW_SERVICE}/Exchange"
RAW_REPLY = b"\x00" * 128

_WORDS = (
    "steel pipes seamless hot-rolled carbon alloy cotton yarn combed bleached polyester fabric woven "
    "dyed wheat durum grain sunflower oil refined deodorized copper cathodes unwrought zinc alloy "
    "ingots fertilizer potassium chloride ammonium nitrate tractor parts gearbox assemblies bearings "
    "ball roller valves industrial pumps centrifugal cables insulated copper conductors pallets "
    "packed cartons bags bales drums crates coils sheets bars rods profiles galvanized painted"
).split()


def log(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


class BenchError(Exception):
    """The benchmark could not complete."""


# -- records -----------------------------------------------------------------------


def _text(rng: random.Random, n_words: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(n_words))


def _party(rng: random.Random, role: str, country: str, i: int) -> common_pb2.Party:
    return common_pb2.Party(
        name=f"{_text(rng, 2).title()} {role.title()} LLP {i}",
        id=f"{rng.randrange(10**11, 10**12)}",
        id_scheme="BIN" if country == "KZ" else "TIN",
        country=country,
        address=f"{rng.randrange(1, 300)} {_text(rng, 2).title()} street, {country}",
        role=role,
    )


_HS_CHAPTERS = [c for c in range(1, 98) if c != 77]
"""HS chapters that exist (77 is reserved), so generated records pass intake validation."""


def _container(owner: str, serial: int) -> str:
    """An ISO 6346 container number with its check digit, e.g. MSCU0123450."""
    letters = dict(zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ", [v for v in range(10, 39) if v % 11], strict=True))
    body = f"{owner}{serial:06d}"
    total = sum((letters[ch] if ch.isalpha() else int(ch)) << i for i, ch in enumerate(body))
    return f"{body}{total % 11 % 10}"


def make_record(i: int, target: int, rng: random.Random) -> records_pb2.Record:
    """A distinct DeclarationSnapshot KZ -> UZ whose serialized size is about ``target`` bytes."""
    rec = records_pb2.Record()
    m = rec.meta
    m.record_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    m.sender_country = "KZ"
    m.receiver_countries.append("UZ")
    m.sender_authority = "State Revenue Committee of the Republic of Kazakhstan"
    m.created_at.FromSeconds(1_767_225_600 + i)
    m.source_format = "EEC:R.036"
    m.source_record_ref = f"KZ-DT-{i:09d}"
    m.message_function = common_pb2.MESSAGE_FUNCTION_ORIGINAL
    m.handling = common_pb2.HANDLING_RESTRICTED
    d = rec.declaration_snapshot
    day = f"{1 + i % 28:02d}{1 + i // 28 % 12:02d}26"
    d.declaration_no = f"10702020/{day}/{i % 10**7:07d}"
    d.lrn = f"LRN-{i:010d}"
    d.ucr = f"6KZ{rng.randrange(10**11, 10**12)}-{i}"
    d.direction = records_pb2.DIRECTION_EXPORT
    d.procedure_code = "1000"
    d.acceptance_date = f"2026-{1 + i // 28 % 12:02d}-{1 + i % 28:02d}"
    d.exporter.CopyFrom(_party(rng, "EXPORTER", "KZ", i))
    d.consignee.CopyFrom(_party(rng, "CONSIGNEE", "UZ", i))
    d.dispatch_country, d.destination_country, d.trading_country = "KZ", "UZ", "UZ"
    d.transport_doc_no = f"CMR-{rng.randrange(10**8):08d}"
    d.container_ids.extend(_container("MSCU", rng.randrange(10**6)) for _ in range(2))
    d.transport_means_id = f"{rng.randrange(100, 999)}ABC{rng.randrange(10, 99)}"
    d.invoice_amount.amount = f"{rng.randrange(10**4, 10**7)}.{rng.randrange(100):02d}"
    d.invoice_amount.currency = "USD"
    d.incoterm = "FCA"
    for seq in range(1, max(1, min(99, target // 420)) + 1):
        it = d.items.add()
        it.seq = seq
        it.commodity.hs6 = f"{rng.choice(_HS_CHAPTERS):02d}{rng.randrange(10**4):04d}"
        it.commodity.national_code = it.commodity.hs6 + f"{rng.randrange(10**4):04d}"
        it.commodity.description = _text(rng, 8)
        it.commodity.origin_country = "KZ"
        for q in (it.gross_mass, it.net_mass):
            q.value, q.unit = f"{rng.randrange(1, 10**5)}.{rng.randrange(10)}", "KGM"
        it.supplementary_quantity.value, it.supplementary_quantity.unit = str(rng.randrange(1, 5000)), "NAR"
        for money in (it.customs_value, it.statistical_value):
            money.amount, money.currency = f"{rng.randrange(100, 10**6)}.{rng.randrange(100):02d}", "USD"
    # Pad the last item's description to reach the target size (length prefixes may grow by a byte).
    desc = d.items[-1].commodity
    for _ in range(4):
        missing = target - rec.ByteSize()
        if missing <= 0:
            break
        pad = (" " + _text(rng, missing // 4 + 1))[:missing]
        desc.description += pad
    while rec.ByteSize() > target and len(desc.description) > 8:
        desc.description = desc.description[: -(rec.ByteSize() - target)]
    return rec


@dataclass
class Workload:
    files: list[tuple[str, bytes]]
    n: int
    record_bytes_mean: float
    json_bytes_mean: float


def make_workload(n: int, record_bytes: int, seed: int, prefix: str, adapter: str = "json") -> Workload:
    rng = random.Random(seed)
    files: list[tuple[str, bytes]] = []
    size = 0
    json_size = 0
    binary = load_adapter("protobuf")
    for start in range(0, n, RECORDS_PER_FILE):
        batch = []
        recs = []
        for i in range(start, min(n, start + RECORDS_PER_FILE)):
            rec = make_record(i, record_bytes, rng)
            size += rec.ByteSize()
            recs.append(rec)
            batch.append(json_format.MessageToDict(rec))
        text = json.dumps({"records": batch}, ensure_ascii=False).encode()
        json_size += len(text)
        if adapter == "json":
            files.append((f"{prefix}-{start // RECORDS_PER_FILE:05d}.json", text))
        else:
            files.append((f"{prefix}-{start // RECORDS_PER_FILE:05d}{binary.file_suffix}", binary.encode(recs)))
    return Workload(files, n, size / n, json_size / n)


def envelope_size(record_bytes: int) -> tuple[int, int]:
    """(size of a sealed envelope for a record of ``record_bytes``, size of its header)."""
    header = envelope_pb2.EnvelopeHeader(
        protocol_version=1,
        crypto_profile=CRYPTO_PROFILE_V1,
        sender="KZ",
        recipient="UZ",
        message_id=str(uuid.uuid4()),
        sender_signing_key_id="ed25519:1",
        sender_encryption_key_id="x25519:1",
        recipient_encryption_key_id="x25519:1",
        record_type="declaration_snapshot",
    )
    header.created_at.FromNanoseconds(time.time_ns())
    hb = header.SerializeToString()
    body = NONCE_SIZE + 16 + SALT_SIZE + record_bytes  # nonce || box(salt || record), 16-byte MAC
    env = envelope_pb2.Envelope(header=hb, body=b"\x00" * body, signature=b"\x00" * 64)
    return env.ByteSize(), len(hb)


# -- crypto --------------------------------------------------------------------------


def bench_crypto(record_bytes: int, seconds: float) -> tuple[float, float]:
    """(sign/s, verify/s) of tamga.crypto over envelope-shaped messages (header, salt || record)."""
    key = SigningKey.generate()
    public = key.public
    _, header_len = envelope_size(record_bytes)
    msgs = [(os.urandom(header_len), os.urandom(SALT_SIZE + record_bytes)) for _ in range(64)]
    sigs = [key.sign(ENVELOPE_PURPOSE, h, p) for h, p in msgs]

    def run(op: Callable[[int], None]) -> float:
        n = 0
        t0 = time.perf_counter()
        deadline = t0 + seconds
        while True:
            for j in range(64):
                op(j)
            n += 64
            t = time.perf_counter()
            if t >= deadline:
                return n / (t - t0)

    sign_rps = run(lambda j: key.sign(ENVELOPE_PURPOSE, *msgs[j]))
    verify_rps = run(lambda j: public.verify(ENVELOPE_PURPOSE, sigs[j], *msgs[j]))
    return sign_rps, verify_rps


# -- sqlite --------------------------------------------------------------------------


async def _bench_store(path: Path, n: int, env_bytes: int, batch: int) -> float:
    rows = [
        Sealed(
            message_id=str(uuid.uuid4()),
            recipient="UZ",
            record_type="declaration_snapshot",
            envelope=os.urandom(env_bytes),
            digest=os.urandom(32),
        )
        for _ in range(n)
    ]
    store = await Store.open(path)
    try:
        await store.enqueue(rows[:1], source="warmup", now=time.time())
        rows = rows[1:]
        t0 = time.perf_counter()
        for i in range(0, len(rows), batch):
            await store.enqueue(rows[i : i + batch], source="bench", now=time.time())
        elapsed = time.perf_counter() - t0
    finally:
        await store.close()
    return len(rows) / elapsed


def bench_sqlite(workdir: Path, n: int, env_bytes: int, batch: int) -> float:
    return asyncio.run(_bench_store(workdir / "sqlite-bench.db", n + 1, env_bytes, batch))


# -- raw gRPC -------------------------------------------------------------------------


async def _serve_raw(port: int) -> None:
    async def exchange(requests: Any, context: grpc.aio.ServicerContext) -> Any:
        async for _ in requests:
            yield RAW_REPLY

    server = grpc.aio.server(options=CHANNEL_OPTIONS)
    handler = grpc.method_handlers_generic_handler(
        RAW_SERVICE, {"Exchange": grpc.stream_stream_rpc_method_handler(exchange)}
    )
    server.add_generic_rpc_handlers((handler,))
    bound = server.add_insecure_port(f"127.0.0.1:{port}")
    if bound == 0:
        raise SystemExit(f"cannot listen on 127.0.0.1:{port}")
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"listening {bound}", flush=True)
    await stop.wait()
    await server.stop(1)


def serve_raw(port: int) -> int:
    asyncio.run(_serve_raw(port))
    return 0


def _raw_batches(n: int, env_bytes: int, batch: int) -> list[bytes]:
    """Serialized ExchangeRequests of ``batch`` distinct envelopes of ``env_bytes``."""
    _, header_len = envelope_size(env_bytes)
    out = []
    for start in range(0, n, batch):
        envs = []
        for _ in range(min(batch, n - start)):
            body = os.urandom(max(1, env_bytes - header_len - 64 - 8))
            envs.append(envelope_pb2.Envelope(header=os.urandom(header_len), body=body, signature=os.urandom(64)))
        req = exchange_pb2.ExchangeRequest(batch=envelope_pb2.EnvelopeBatch(batch_id=str(uuid.uuid4()), envelopes=envs))
        out.append(req.SerializeToString())
    return out


async def _raw_stream(channel: grpc.aio.Channel, batches: Sequence[bytes], in_flight: int) -> float:
    call = channel.stream_stream(RAW_METHOD)()
    slots = asyncio.Semaphore(in_flight)

    async def writer() -> None:
        for b in batches:
            await slots.acquire()
            await call.write(b)
        await call.done_writing()

    async def reader() -> None:
        for _ in batches:
            resp = await call.read()
            if resp is grpc.aio.EOF:
                raise BenchError("raw gRPC server closed the stream early")
            slots.release()

    t0 = time.perf_counter()
    await asyncio.gather(writer(), reader())
    elapsed = time.perf_counter() - t0
    code = await call.code()
    if code != grpc.StatusCode.OK:
        raise BenchError(f"raw gRPC stream ended with {code.name}: {await call.details()}")
    return elapsed


async def _bench_grpc(port: int, n: int, env_bytes: int, batch: int, in_flight: int) -> float:
    batches = _raw_batches(n, env_bytes, batch)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=CHANNEL_OPTIONS) as channel:
        await asyncio.wait_for(channel.channel_ready(), 10)
        await _raw_stream(channel, batches[:8], in_flight)  # warm-up
        elapsed = await _raw_stream(channel, batches, in_flight)
    return n / elapsed


def bench_grpc(n: int, env_bytes: int, batch: int, in_flight: int) -> float:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tamga.tools.bench", "--serve-grpc", "0"],
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode().strip()  # the server prints its port once it listens
        if not line.startswith("listening "):
            raise BenchError(f"raw gRPC server did not start (said {line!r}, exit code {proc.poll()})")
        port = int(line.split()[1])
        return asyncio.run(_bench_grpc(port, n, env_bytes, batch, in_flight))
    finally:
        _end(proc)


def _end(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


# -- memory with a long queue ------------------------------------------------------------

QUEUED_RECORDS = 1_000_000
QUICK_QUEUED_RECORDS = 20_000
QUEUED_ENVELOPE_BYTES = 512  # kept small so that a million rows fit on the bench machine's disk
QUEUED_BATCH = 10_000


@dataclass
class QueuedMemory:
    n: int
    fill_s: float
    watched_s: float
    peak_rss_mb: float  # VmHWM of the node process
    rss_mb: float  # VmRSS at the end
    attempts: int  # failed delivery attempts to the peer that is down
    open_s: float = 0.0  # Store.open of that store (integrity quick_check, migrations check)
    scan_s: float = 0.0  # baseline: one plain sqlite3 'SELECT COUNT(*), SUM(LENGTH(envelope))' over the outbox


def _proc_status_kb(pid: int, field_name: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1])
    raise BenchError(f"/proc/{pid}/status has no {field_name} (not Linux?)")


async def _fill_outbox(path: Path, peer: str, n: int) -> None:
    store = await Store.open(path)
    try:
        envelope = os.urandom(QUEUED_ENVELOPE_BYTES)
        for start in range(0, n, QUEUED_BATCH):
            rows = [
                Sealed(
                    message_id=str(uuid.uuid4()),
                    recipient=peer,
                    record_type="declaration_snapshot",
                    envelope=envelope,
                    digest=os.urandom(32),
                )
                for _ in range(min(QUEUED_BATCH, n - start))
            ]
            await store.enqueue(rows, source=f"queued-{start // QUEUED_BATCH:05d}", now=time.time())
    finally:
        await store.close()


def bench_queued_memory(workdir: Path, n: int, watch: float) -> QueuedMemory:
    """Peak RSS of a real node process with ``n`` records queued for a peer that is down.

    The outbox is filled directly through :meth:`Store.enqueue` while the node
    is stopped (sealing a million records would take the bench minutes); the
    node then runs for ``watch`` seconds, its delivery loop retrying UZ, which
    is never started.
    """
    fed = LocalFederation(workdir / "federation-queued", [("KZ", "KZ"), ("UZ", "UZ")], config=NODE_CONFIG)
    with fed:
        kz = fed["KZ"]
        t0 = time.monotonic()
        asyncio.run(_fill_outbox(kz.db_path, "UZ", n))
        fill_s = time.monotonic() - t0
        open_s, scan_s = _time_store_open(kz.db_path)
        log(f"memory: store open {open_s:.2f} s (full scan baseline {scan_s:.2f} s)")
        log(f"memory: {n:,} records queued for UZ in {fill_s:.1f} s; running KZ alone for {watch:.0f} s")
        kz.start(wait=120)
        assert kz.proc is not None
        pid = kz.proc.pid
        t1 = time.monotonic()
        rss_kb = 0
        while time.monotonic() - t1 < watch:
            if not kz.running:
                raise BenchError(f"node KZ exited during the memory run; see {kz.log_path}")
            rss_kb = _proc_status_kb(pid, "VmRSS")
            time.sleep(0.2)
        peak_kb = _proc_status_kb(pid, "VmHWM")
        watched_s = time.monotonic() - t1
        attempts = int(_scalar(kz, "SELECT COALESCE(MAX(consecutive_failures), 0) FROM peer_state") or 0)
        queued = int(_scalar(kz, "SELECT COUNT(*) FROM outbox WHERE state = 'queued'") or 0)
        if queued != n:
            raise BenchError(f"memory run: KZ has {queued} records queued, expected {n}; see {kz.log_path}")
    return QueuedMemory(n, fill_s, watched_s, peak_kb / 1024, rss_kb / 1024, attempts, open_s, scan_s)


def _time_store_open(path: Path) -> tuple[float, float]:
    """Seconds for Store.open (what every node start and CLI command pays), and for one full read of the outbox
    with plain sqlite3 as the baseline measured on the same file in the same run."""

    async def open_close() -> None:
        store = await Store.open(path, create=False)
        await store.close()

    t0 = time.monotonic()
    asyncio.run(open_close())
    open_s = time.monotonic() - t0
    conn = sqlite3.connect(path)
    try:
        t1 = time.monotonic()
        conn.execute("SELECT COUNT(*), SUM(LENGTH(envelope)) FROM outbox").fetchone()
        scan_s = time.monotonic() - t1
    finally:
        conn.close()
    return open_s, scan_s


# -- end to end ----------------------------------------------------------------------------


@dataclass
class E2E:
    n: int
    queued_s: float  # all files committed to KZ's outbox (observed by polling)
    delivered_s: float  # last receipt settled in KZ's outbox (node timestamp)
    handoff_s: float  # last record marked handed off in UZ's inbox (node timestamp)
    cpu: dict[str, tuple[float, float]]  # node -> (CPU seconds over the run, wall seconds)
    envelope_bytes: float

    @property
    def rps(self) -> float:
        return self.n / self.delivered_s


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _scalar(node: NodeProcess, sql: str, params: tuple[Any, ...] = ()) -> Any:
    try:
        return node.query(sql, params)[0][0]
    except sqlite3.OperationalError:  # the store is created by the node; busy is retried by the caller
        return None


def _check_alive(fed: LocalFederation) -> None:
    for n in fed:
        if not n.running:
            code = n.proc.returncode if n.proc is not None else None
            raise BenchError(f"node {n.node_id} exited (code {code}) during the run; see {n.log_path}")


def _failed_files(node: NodeProcess) -> list[str]:
    failed = node.home / "failed"
    return sorted(p.name for p in failed.glob("*.error.json")) if failed.exists() else []


def _drop_and_wait(
    fed: LocalFederation, files: Sequence[tuple[str, bytes]], n: int, timeout: float, what: str
) -> tuple[float, float, float, float, float]:
    """Drop files into KZ's outgoing folder and wait until all ``n`` records are delivered and handed off.

    Returns (t0 wall, t0 monotonic, all queued monotonic, all delivered monotonic, all handed off monotonic).
    """
    kz, uz = fed["KZ"], fed["UZ"]
    base_out = int(_scalar(kz, "SELECT COALESCE(MAX(seq), 0) FROM outbox") or 0)
    base_in = int(_scalar(uz, "SELECT COALESCE(MAX(seq), 0) FROM inbox") or 0)
    t0_wall = time.time()
    t0 = time.monotonic()
    for name, data in files:
        kz.drop(name, data)
    deadline = t0 + timeout
    queued_at = delivered_at = handed_at = 0.0
    while True:
        _check_alive(fed)
        now = time.monotonic()
        if not queued_at:
            top = _scalar(kz, "SELECT COALESCE(MAX(seq), 0) FROM outbox")
            if top is not None and int(top) - base_out >= n:
                queued_at = now
            elif _failed_files(kz):
                raise BenchError(f"KZ refused input files: {_failed_files(kz)}; see {kz.home / 'failed'}")
        if queued_at and not delivered_at and _scalar(kz, "SELECT COUNT(*) FROM outbox WHERE state = 'queued'") == 0:
            delivered_at = now
        if not handed_at:
            top = _scalar(uz, "SELECT COALESCE(MAX(seq), 0) FROM inbox")
            if (
                top is not None
                and int(top) - base_in >= n
                and _scalar(uz, "SELECT COUNT(*) FROM inbox WHERE handed_off_at IS NULL") == 0
            ):
                handed_at = now
        if delivered_at and handed_at:
            return t0_wall, t0, queued_at, delivered_at, handed_at
        if now > deadline:
            counts = kz.outbox_counts()
            raise BenchError(
                f"{what}: not complete within {timeout:.1f} s: KZ outbox {counts}, "
                f"UZ inbox {_scalar(uz, 'SELECT COUNT(*) FROM inbox')} received, "
                f"{_scalar(uz, 'SELECT COUNT(*) FROM inbox WHERE handed_off_at IS NULL')} not handed off; "
                f"logs: {kz.log_path}, {uz.log_path}"
            )
        time.sleep(0.05)


def bench_e2e(
    workdir: Path, n: int, record_bytes: int, timeout: float, seed: int, adapter: str
) -> tuple[E2E, Workload]:
    log(f"e2e ({adapter} adapter): preparing {n} records of ~{record_bytes} bytes in files of {RECORDS_PER_FILE}")
    work = make_workload(n, record_bytes, seed, "bench", adapter)
    warm = make_workload(WARMUP_RECORDS, record_bytes, seed + 1, "warmup", adapter)
    fed = LocalFederation(
        workdir / f"federation-{adapter}", [("KZ", "KZ"), ("UZ", "UZ")], adapter=adapter, config=NODE_CONFIG
    )
    with fed:
        fed.start()
        kz, uz = fed["KZ"], fed["UZ"]
        assert kz.proc is not None and uz.proc is not None
        log(f"e2e: nodes up (KZ pid {kz.proc.pid}, UZ pid {uz.proc.pid}); warm-up with {WARMUP_RECORDS} records")
        _drop_and_wait(fed, warm.files, WARMUP_RECORDS, 60, "warm-up")
        pids = {"KZ": kz.proc.pid, "UZ": uz.proc.pid}
        cpu0 = {k: _cpu_seconds(p) for k, p in pids.items()}
        log(f"e2e: dropping {len(work.files)} files ({n} records) into KZ's outgoing folder")
        t0_wall, t0, queued_at, delivered_at, handed_at = _drop_and_wait(fed, work.files, n, timeout, "e2e run")
        end = max(delivered_at, handed_at)
        cpu = {k: (_cpu_seconds(p) - cpu0[k], end - t0) for k, p in pids.items()}
        total = WARMUP_RECORDS + n
        rows = kz.query(
            "SELECT state, COUNT(*), MAX(settled_at), AVG(LENGTH(envelope)) FROM outbox"
            " WHERE source LIKE 'bench-%' GROUP BY state"
        )
        states = {r[0]: r for r in rows}
        delivered = states.get("delivered", (None, 0, None, 0))
        if delivered[1] != n or len(states) != 1:
            found = {s: r[1] for s, r in states.items()}
            raise BenchError(f"KZ outbox after the run: {found}, expected {n} delivered")
        last_settled = float(delivered[2])
        last_handoff = float(_scalar(uz, "SELECT MAX(handed_off_at) FROM inbox"))
        # Every record handed off, each into a file that is there (a file may hold several records).
        handed = uz.query("SELECT COUNT(*), COUNT(DISTINCT handoff_name) FROM inbox WHERE handed_off_at IS NOT NULL")
        n_records, n_names = handed[0]
        n_files = len(uz.incoming_files())
        if n_records != total or n_files != n_names:
            raise BenchError(
                f"UZ handed off {n_records} records in {n_names} files and holds {n_files} files,"
                f" expected {total} records"
            )
        result = E2E(
            n=n,
            queued_s=queued_at - t0,
            delivered_s=last_settled - t0_wall,
            handoff_s=last_handoff - t0_wall,
            cpu=cpu,
            envelope_bytes=float(delivered[3]),
        )
        log(f"e2e: done; delivered in {result.delivered_s:.2f}s, handed off in {result.handoff_s:.2f}s")
    return result, work


# -- main ------------------------------------------------------------------------------------


NATIONAL_ADAPTERS = ("eaeu", "asycuda", "icegate", "edifact", "china", "csv")


def _decode_rate(decode: Callable[[bytes], list[records_pb2.Record]], files: Sequence[bytes], seconds: float) -> float:
    """Declarations per second decoded from ``files``, round after round, for about ``seconds``."""
    per_round = sum(1 for data in files for r in decode(data) if r.HasField("declaration_snapshot"))
    if per_round == 0:
        return 0.0
    rounds = 0
    start = time.perf_counter()
    while True:
        for data in files:
            decode(data)
        rounds += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return rounds * per_round / elapsed


def bench_adapters(seconds: float) -> list[tuple[str, float, float, int]]:
    """(adapter, declarations/s, json adapter declarations/s on the same records, declarations per round)."""
    from tamga.adapters.json_records import JsonAdapter
    from tamga.adapters.sdk import testing

    json_adapter = JsonAdapter()
    out = []
    for name in NATIONAL_ADAPTERS:
        try:
            samples = testing.sample_files(load_adapter(name).samples)  # type: ignore[attr-defined]
        except Exception as exc:  # an adapter that does not load is reported, not benchmarked
            log(f"adapter {name}: not measured: {exc}")
            continue
        per_file = []
        for path in samples:
            adapter = testing.adapter_for_sample(name, path)
            data = path.read_bytes()
            decls = [r for r in adapter.decode(data, source=path.name) if r.HasField("declaration_snapshot")]
            if decls:
                per_file.append((adapter, data, json_adapter.encode(decls)))
        if not per_file:
            continue
        # Each sample with its own adapter object: csv samples may need different mappings.
        by_data = {d: a for a, d, _ in per_file}
        rate = _decode_rate(lambda d, by_data=by_data: by_data[d].decode(d), list(by_data), seconds)
        json_rate = _decode_rate(json_adapter.decode, [j for _, _, j in per_file], seconds)
        count = sum(len([r for r in a.decode(d) if r.HasField("declaration_snapshot")]) for a, d, _ in per_file)
        out.append((name, rate, json_rate, count))
    return out


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version}
    for dist in ("grpcio", "protobuf", "pynacl", "aiosqlite", "structlog"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "?"
    return out


def _machine() -> str:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} CPU(s){', ' + model if model else ''}; {platform.system()} {platform.release()}"


def run(args: argparse.Namespace) -> int:
    n = args.records if args.records is not None else (QUICK_RECORDS if args.quick else 20000)
    if n < 1 or args.record_bytes < 64:
        raise SystemExit("bench: --records must be >= 1 and --record-bytes >= 64")
    crypto_seconds = 0.5 if args.quick else 2.0
    dcfg = DeliveryConfig()
    batch, in_flight = dcfg.batch_size, dcfg.max_in_flight
    timeout = args.timeout if args.timeout is not None else 120 + n / 50
    env_bytes, _ = envelope_size(args.record_bytes)

    keep = args.keep
    workdir = Path(tempfile.mkdtemp(prefix="tamga-bench-", dir="/tmp"))
    try:
        log(f"crypto: Ed25519 sign and verify, {crypto_seconds:.1f}s each")
        sign_rps, verify_rps = bench_crypto(args.record_bytes, crypto_seconds)
        log(f"sqlite: Store.enqueue of {n} envelopes of {env_bytes} bytes, {batch} per transaction")
        sqlite_rps = bench_sqlite(workdir, n, env_bytes, batch)
        log(f"grpc: {n} envelopes of {env_bytes} bytes in batches of {batch}, {in_flight} in flight")
        grpc_rps = bench_grpc(n, env_bytes, batch, in_flight)
        adapter_seconds = 0.3 if args.quick else 2.0
        log(f"adapters: decoding each national adapter's samples, {adapter_seconds:.1f}s each")
        adapter_rates = bench_adapters(adapter_seconds)
        try:
            n_queued = QUICK_QUEUED_RECORDS if args.quick else QUEUED_RECORDS
            memory = bench_queued_memory(workdir, n_queued, 3.0 if args.quick else 15.0)
            e2e, work = bench_e2e(workdir, n, args.record_bytes, timeout, args.seed, "protobuf")
            e2e_json, _ = bench_e2e(workdir, n, args.record_bytes, timeout, args.seed, "json")
        except (BenchError, TimeoutError, RuntimeError) as exc:
            keep = True
            print(f"bench: FAILED: a node run did not complete: {exc}", file=sys.stderr)
            return 1
    finally:
        if keep:
            log(f"work directory kept for inspection (node logs and stores): {workdir}")
        else:
            import shutil

            shutil.rmtree(workdir, ignore_errors=True)

    floor = min(grpc_rps, sqlite_rps, verify_rps)
    ratio = e2e.rps / floor
    v = _versions()
    rows = [
        (
            "e2e_rps",
            f"{e2e.rps:,.0f}",
            f"submitted -> signed receipt held by KZ: {n} records in {e2e.delivered_s:.2f} s"
            " (protobuf adapter: the node alone, no translation)",
        ),
        ("  queued", f"{e2e.queued_s:.2f} s", "all files committed to KZ's outbox (polled every 50 ms)"),
        (
            "  handoff",
            f"{e2e.handoff_s:.2f} s",
            f"all records written to UZ's incoming folder ({n / e2e.handoff_s:,.0f} records/s)",
        ),
    ]
    for node, (cpu_s, wall) in e2e.cpu.items():
        rows.append(
            (
                f"  cpu {node}",
                f"{cpu_s:.1f} s",
                f"CPU time of the {node} process over {wall:.1f} s ({100 * cpu_s / wall:.0f}% of one core)",
            )
        )
    rows += [
        (
            "e2e_json_rps",
            f"{e2e_json.rps:,.0f}",
            f"the same through the json adapter (decode at KZ, encode at UZ): {n} records in "
            f"{e2e_json.delivered_s:.2f} s, ratio {e2e_json.rps / min(grpc_rps, sqlite_rps, verify_rps):.3f}",
        ),
        ("  handoff", f"{e2e_json.handoff_s:.2f} s", "all records written to UZ's incoming folder"),
    ]
    for node, (cpu_s, wall) in e2e_json.cpu.items():
        rows.append(
            (
                f"  cpu {node}",
                f"{cpu_s:.1f} s",
                f"CPU time of the {node} process over {wall:.1f} s ({100 * cpu_s / wall:.0f}% of one core)",
            )
        )
    rows += [
        (
            "grpc_rps",
            f"{grpc_rps:,.0f}",
            f"raw grpc.aio bidi stream (no TLS), {batch}/batch, {in_flight} in flight, server in another process",
        ),
        ("sqlite_rps", f"{sqlite_rps:,.0f}", f"Store.enqueue, WAL + synchronous=FULL, {batch} rows/transaction"),
        ("sign_rps", f"{sign_rps:,.0f}", "Ed25519 sign via tamga.crypto, one thread"),
        ("verify_rps", f"{verify_rps:,.0f}", "Ed25519 verify via tamga.crypto, one thread"),
        ("ratio", f"{ratio:.3f}", "e2e_rps / min(grpc_rps, sqlite_rps, verify_rps)"),
        (
            "peak_rss_1m_queued_mb",
            f"{memory.peak_rss_mb:,.0f}",
            f"VmHWM of the KZ node process over {memory.watched_s:.0f} s with {memory.n:,} records"
            f" ({QUEUED_ENVELOPE_BYTES}-byte envelopes) queued for UZ, which is down"
            f"{' (--quick: fewer than 1,000,000)' if memory.n < QUEUED_RECORDS else ''}; VmRSS at the end"
            f" {memory.rss_mb:,.0f} MB, {memory.attempts} delivery attempts; outbox filled in {memory.fill_s:.0f} s",
        ),
        (
            "store_open_s",
            f"{memory.open_s:.2f}",
            f"Store.open (quick_check) of that store with {memory.n:,} rows; ratio to one full sqlite3 scan of the"
            f" outbox ({memory.scan_s:.2f} s): {memory.open_s / max(memory.scan_s, 1e-6):.2f}",
        ),
    ]
    for name, rate, json_rate, count in adapter_rates:
        rows.append(
            (
                f"decode_{name}_dps",
                f"{rate:,.0f}",
                f"declarations/s decoded by the {name} adapter from its samples ({count} declarations);"
                f" json adapter on the same: {json_rate:,.0f}/s, ratio {rate / json_rate:.2f}",
            )
        )
    print()
    print("Tamga benchmark")
    print(f"  machine:  {_machine()}")
    print("  versions: " + ", ".join(f"{k} {val}" for k, val in v.items()))
    print(
        f"  records:  N={n}, record {work.record_bytes_mean:.0f} bytes serialized "
        f"({work.json_bytes_mean:.0f} bytes as JSON, {RECORDS_PER_FILE} per file), "
        f"envelope {e2e.envelope_bytes:.0f} bytes"
    )
    print(f"  delivery: batch_size={batch}, max_in_flight={in_flight}; nodes KZ -> UZ on 127.0.0.1")
    print(
        "  nodes:    TLS with pinned certificates, poll_interval=20ms, log level info (the product default), "
        "JSON logs to a file; other settings default"
    )
    print()
    width = max(len(r[0]) for r in rows)
    vwidth = max(len(r[1]) for r in rows)
    for name, value, note in rows:
        print(f"  {name:<{width}}  {value:>{vwidth}}  {note}")
    print()
    print(
        f"BENCH e2e_rps={e2e.rps:.0f} grpc_rps={grpc_rps:.0f} sqlite_rps={sqlite_rps:.0f} "
        f"verify_rps={verify_rps:.0f} ratio={ratio:.3f}",
        flush=True,
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tamga.tools.bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--records", type=int, default=None, help="records in the run (default 20000; 1000 with --quick)")
    p.add_argument("--record-bytes", type=int, default=2048, help="serialized size of a record (default 2048)")
    p.add_argument("--quick", action="store_true", help="a small run, for a smoke test")
    p.add_argument("--timeout", type=float, default=None, help="seconds the e2e run may take (default 120 + N/50)")
    p.add_argument("--seed", type=int, default=1, help="seed of the generated records")
    p.add_argument("--keep", action="store_true", help="keep the work directory (node logs and stores)")
    p.add_argument("--serve-grpc", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.serve_grpc is not None:
        return serve_raw(args.serve_grpc)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
