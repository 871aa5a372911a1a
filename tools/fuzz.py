"""Fuzzing at scale: every adapter's decode, the drop folder, and envelope opening.

``make fuzz`` (``python -m tamga.tools.fuzz [--seconds N] [--target NAME]``)
fuzzes each target for a bounded time (``--seconds``, or the environment's
``TAMGA_FUZZ_SECONDS``, default 60 s per target) and prints one line per target::

    FUZZ target=eaeu.decode engine=atheris inputs=123456 seconds=60.0 rate=2057/s crashes=0

Targets (``--list`` shows them; ``--target`` takes a name, an adapter name or
a kind, and may be repeated):

``<adapter>.decode``
    The adapter's ``decode`` (every adapter of the ``tamga.adapters`` entry
    points). :class:`AdapterError` with a message is its documented refusal.
``<adapter>.drop``
    A file dropped into the outgoing folder of a real node (keys, store and
    peers in a temporary folder, the adapter configured as a node operator
    would): the drop folder's scan takes it through decode, validation,
    routing and the queue. After each scan the outgoing folder must be empty
    (the file moved to processed/, or to failed/ beside its report), and a
    good file (a sample), dropped after each structured input and after every
    200 fuzzed ones, must be queued: the folder keeps moving. Any exception
    out of the scan is a crash.
``envelope.open``
    Mutated bytes of a real sealed envelope (keys generated for the run),
    parsed and opened by :func:`tamga.protocol.open_envelope`; a protobuf
    ``DecodeError`` (bytes that are no envelope) and a ``Refused`` are the
    documented outcomes.
``envelope.sealed``
    Fuzzed header and record bytes, signed and encrypted with the real keys
    and then opened: the checks after the signature (freshness, record
    parsing, type binding), which mutated ciphertext never reaches.

Inputs: the adapters' samples (``adapters/*/samples``, ``adapters/samples``;
for protobuf, the JSON samples' records in protobuf form) seed the corpus.
Before fuzzing, every target is also given structured hostile inputs built
for its format (:func:`hostile_inputs`): JSON nested 200,000 levels, XML
nested as deep, EDIFACT and flat files with huge segments, lines and fields,
files just under and just over the size limits (the node's ``[limits]
max_file_bytes``, the adapters' own), and binary garbage.

Engines: atheris (coverage-guided, libFuzzer) when it imports (``pip install
'.[fuzz]'``; ``make fuzz`` installs it), otherwise hypothesis with a large
example budget. Each target runs in its own process with a time limit, so a
hang or a crash of the interpreter is reported, not waited for.

Crashes: any exception other than the documented refusals (for decode: an
:class:`AdapterError` with a message, naming the adapter, saying where), and
a structured input that makes the process grow by more than 256 MiB plus 40
times its size (``MemoryBlowup``: a file under the size limits must not take
gigabytes; measured on Linux, where the peak can be reset). Each distinct one
(type and place) is saved as ``fuzz-crashes/<target>/<signature>.bin`` with
its traceback in ``.txt`` (a target's folder is emptied when it starts),
then minimised: hypothesis shrinks its own; what atheris found is cut down
here (``.min`` beside it), by delta debugging that keeps the same exception
at the same place (libFuzzer's ``-minimize_crash`` would need a crash that
ends the process, and the fuzzing goes on after one). libFuzzer's own
artifacts (a timeout, running out of memory, a signal) land in the same
folder. A crash found becomes a regression test
(``tests/adapters/test_fuzz_regressions.py``, ``tests/fuzz/``). The exit
code is 1 when any target crashed.

The corpus libFuzzer grows is kept in ``fuzz-corpus/<target>`` for the next run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "Crash",
    "DropFolderNode",
    "FolderStuck",
    "Runner",
    "Target",
    "build_target",
    "hostile_inputs",
    "main",
    "memory_allowance",
    "minimise",
    "run_hypothesis",
    "seed_inputs",
    "signature",
    "target_names",
]

DEFAULT_SECONDS = 60.0
SECONDS_ENV = "TAMGA_FUZZ_SECONDS"
#: Nesting depth of the deep structured inputs (the depth that stopped the drop folder).
DEEP = 200_000
#: Largest input libFuzzer builds by mutation; the structured inputs go beyond it.
MAX_LEN = 64 * 1024
#: A good file is dropped after this many fuzzed files (and after each structured one).
GOOD_EVERY = 200


# -- the targets ---------------------------------------------------------------------------------------------


class FolderStuck(Exception):
    """The drop folder did not move a file on (left it in outgoing/, or refused a good file)."""


@dataclass
class Target:
    """One thing to fuzz: ``check(data)`` returns, or raises what counts as a crash."""

    name: str
    fmt: str
    seeds: list[bytes]
    check: Callable[[bytes], None]
    close: Callable[[], None] = lambda: None
    #: Sizes the structured inputs go just under and just over.
    limits: tuple[int, ...] = ()
    #: A sample of the format, for the structured inputs.
    sample: bytes = b""
    #: Called after each structured input (the drop folder checks that a good file still goes through).
    after_hostile: Callable[[], None] = lambda: None


def _adapter_fmt(name: str, suffix: str) -> str:
    if name == "protobuf":
        return "protobuf"
    if name == "json" or suffix == ".json":
        return "json"
    if suffix == ".xml":
        return "xml"
    if name == "edifact" or suffix in (".edi", ".edifact"):
        return "edifact"
    if suffix == ".csv":
        return "csv"
    return "flat"


def _samples_of(name: str) -> list[Path]:
    """The adapter's own sample files (the JSON samples for json)."""
    from tamga.adapters import load_adapter
    from tamga.adapters.sdk import testing

    if name == "json":
        import tamga.adapters

        return testing.sample_files(Path(tamga.adapters.__file__).parent / "samples")
    adapter = load_adapter(name)
    return testing.sample_files(getattr(adapter, "samples", None))


def _json_sample_records() -> list[Any]:
    from tamga.adapters.json_records import JsonAdapter

    records = []
    for path in _samples_of("json"):
        records.append(JsonAdapter().decode(path.read_bytes(), source=path.name))
    return records


def seed_inputs(name: str) -> list[tuple[Path | None, bytes]]:
    """Seeds of adapter ``name``: (sample path or None, bytes). Protobuf's are the JSON samples re-encoded."""
    if name == "protobuf":
        from tamga.adapters.protobuf_records import ProtobufAdapter

        return [(None, ProtobufAdapter().encode(recs)) for recs in _json_sample_records()]
    return [(p, p.read_bytes()) for p in _samples_of(name)]


def _adapter_for(name: str, sample: Path | None) -> Any:
    from tamga.adapters import load_adapter
    from tamga.adapters.sdk import testing

    return testing.adapter_for_sample(name, sample) if sample is not None else load_adapter(name)


def _decode_target(name: str) -> Target:
    from tamga.errors import AdapterError

    seeds = seed_inputs(name)
    plain = [(p, b) for p, b in seeds if p is None or not p.with_name(p.stem + ".mapping.toml").exists()]
    adapter = _adapter_for(name, None)
    suffix = str(getattr(adapter, "file_suffix", ""))

    def check(data: bytes) -> None:
        try:
            adapter.decode(data, source="fuzz")
        except AdapterError as exc:
            if not exc.message:
                raise AssertionError("an AdapterError without a message") from exc
            if exc.adapter != adapter.name:
                raise AssertionError(f"an AdapterError naming adapter {exc.adapter!r}, not {adapter.name!r}") from exc
            if not exc.location:
                raise AssertionError(f"an AdapterError that does not say where: {exc.message}") from exc

    limits = tuple(sorted({int(getattr(adapter, "max_input_bytes", 0)) or 0} - {0}))
    return Target(
        name=f"{name}.decode",
        fmt=_adapter_fmt(name, suffix),
        seeds=[b for _, b in seeds],
        check=check,
        limits=limits,
        sample=(plain or seeds)[0][1] if seeds else b"",
    )


def _good_sample(name: str) -> tuple[Path | None, bytes, list[Any]]:
    """A sample of ``name`` whose records all come from one sender (the node dropping it)."""
    for path, data in seed_inputs(name):
        if path is not None and path.with_name(path.stem + ".mapping.toml").exists():
            continue
        records = _adapter_for(name, path).decode(data, source="sample")
        if len({(r.meta.sender_country, r.meta.sender_authority) for r in records}) == 1:
            return path, data, records
    raise RuntimeError(f"adapter {name!r} has no sample whose records all come from one sender")


class DropFolderNode:
    """A real node of adapter ``name`` (keys, store, peers) in ``root``, opened but not serving."""

    def __init__(
        self, name: str, root: Path, *, max_file_bytes: int | None = None, poll_interval: str | None = None
    ) -> None:
        from tamga.app import Node
        from tamga.config import load_config
        from tamga.home import add_peer, export_identity, init_home, load_local_identity
        from tamga.logging import configure_logging
        from tamga.tools.federation import patch_config

        _path, self.good, records = _good_sample(name)
        sender = records[0].meta.sender_country
        authority = records[0].meta.sender_authority or f"Customs service of {sender}"
        receivers = sorted({c for r in records for c in r.meta.receiver_countries} - {sender})
        self.root = root
        self.home = root / sender.lower()
        init_home(self.home, node_id=sender, country=sender, authority=authority, listen="127.0.0.1:0", adapter=name)
        if max_file_bytes is not None:
            patch_config(self.home, "limits", {"max_file_bytes": max_file_bytes})
        if poll_interval is not None:
            patch_config(self.home, "delivery", {"poll_interval": poll_interval})
        for country in receivers:
            peer_home = root / country.lower()
            cfg = init_home(
                peer_home, node_id=country, country=country, authority=f"Customs service of {country}",
                listen="127.0.0.1:0",
            )  # fmt: skip
            identity = root / f"{country}.identity.json"
            identity.write_text(export_identity(load_local_identity(cfg), ["127.0.0.1:1"]), "utf-8")
            add_peer(load_config(self.home), identity)
        self._log = (root / "node.log").open("a", encoding="utf-8")
        configure_logging(level="warning", fmt="json", stream=self._log)
        self.loop = asyncio.new_event_loop()
        self.node = self.loop.run_until_complete(Node.open(load_config(self.home)))
        self.folder = self.node.drop_folder
        self.suffix = str(getattr(self.node.adapter, "file_suffix", "")) or ".dat"
        self.max_file_bytes = self.folder.max_file_bytes
        self.count = 0
        self.good_queued = 0

    def _scan(self) -> None:
        self.loop.run_until_complete(self.folder.scan_once())

    def _clear(self, folder: Path) -> None:
        for entry in os.scandir(folder):
            with contextlib.suppress(OSError):
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path)
                else:
                    os.unlink(entry.path)

    def drop(self, data: bytes, stem: str) -> Path:
        """Drop ``data`` as the national system does (temporary name, then rename); return its name in outgoing/."""
        self.count += 1
        name = f"{stem}-{self.count:08d}{self.suffix}"
        tmp = self.folder.outgoing / f".{name}.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, self.folder.outgoing / name)
        return self.folder.outgoing / name

    def take(self, data: bytes) -> None:
        """Drop one file and scan; the folder must have moved it on (processed/, or failed/ with a report).

        Raises:
            FolderStuck: the file is still in outgoing/ or was moved without a report.
            Exception: whatever escaped the scan (a crash of the drop folder).
        """
        path = self.drop(data, "fuzz")
        try:
            self._scan()
            if path.exists():
                raise FolderStuck(f"{path.name} is still in outgoing/ after a scan of the drop folder")
            failed = self.folder.failed / path.name
            if failed.exists() and not failed.with_name(failed.name + ".error.json").exists():
                raise FolderStuck(f"{path.name} was moved to failed/ without its report")
            if not failed.exists() and not (self.folder.processed / path.name).exists():
                raise FolderStuck(f"{path.name} left outgoing/ for neither processed/ nor failed/")
        finally:
            self._clear(self.folder.outgoing)
            self._clear(self.folder.processed)
            self._clear(self.folder.failed)

    def take_good(self) -> None:
        """Drop a sample: it must be queued (committed with the queue, moved to processed/).

        Raises:
            FolderStuck: it was not.
        """
        path = self.drop(self.good, "good")
        sha = hashlib.sha256(self.good).digest()
        try:
            self._scan()
            report = self.folder.failed / (path.name + ".error.json")
            if report.exists():
                error = json.loads(report.read_text("utf-8")).get("error", {})
                raise FolderStuck(f"a good file was refused after hostile ones: {error.get('kind')}")
            if path.exists():
                raise FolderStuck("a good file dropped after hostile ones is still in outgoing/")
            if not self.loop.run_until_complete(self.node.store.intake_seen(path.name, sha)):
                raise FolderStuck("a good file dropped after hostile ones was not queued")
            self.good_queued += 1
        finally:
            self._clear(self.folder.outgoing)
            self._clear(self.folder.processed)
            self._clear(self.folder.failed)

    def queued_from(self, source_prefix: str) -> int:
        """Envelopes in the outbox from files whose name starts with ``source_prefix``."""
        rows = self.loop.run_until_complete(self.node.store.outbox_states())
        return sum(1 for r in rows if str(r["source"]).startswith(source_prefix))

    def close(self) -> None:
        from tamga.logging import reset_logging

        with contextlib.suppress(Exception):
            self.loop.run_until_complete(self.node.store.close())
        self.loop.close()
        reset_logging()
        self._log.close()


def _drop_target(name: str, root: Path, *, max_file_bytes: int | None = None) -> Target:
    node = DropFolderNode(name, root, max_file_bytes=max_file_bytes)
    adapter = node.node.adapter
    seeds = seed_inputs(name)

    def check(data: bytes) -> None:
        node.take(data)
        if node.count % GOOD_EVERY == 0:
            node.take_good()

    node.take_good()  # the folder works before the first hostile file
    limits = {node.max_file_bytes}
    limits.add(int(getattr(adapter, "max_input_bytes", 0)) or node.max_file_bytes)
    target = Target(
        name=f"{name}.drop",
        fmt=_adapter_fmt(name, node.suffix),
        seeds=[b for _, b in seeds],
        check=check,
        close=node.close,
        limits=tuple(sorted(limits)),
        sample=node.good,
        after_hostile=node.take_good,
    )
    target.node = node  # type: ignore[attr-defined]
    return target


def _envelope_keys() -> tuple[Any, Any, Any, Any]:
    """Sender KZ and receiver UZ with fresh keys, and the receiver's view of the sender."""
    from tamga.crypto import EncryptionKey, SigningKey
    from tamga.protocol import LocalIdentity, PeerDirectory, read_identity

    now = time.time()
    kz = LocalIdentity("KZ", "KZ", "State Revenue Committee", SigningKey.generate(), EncryptionKey.generate())
    uz = LocalIdentity("UZ", "UZ", "Customs Committee", SigningKey.generate(), EncryptionKey.generate())
    kz_at_uz = read_identity(kz.identity_document(["kz.example:7443"], now))
    uz_at_kz = read_identity(uz.identity_document(["uz.example:7443"], now))
    return kz, uz, PeerDirectory([kz_at_uz]), uz_at_kz


def _sealed_envelopes(now: float) -> tuple[Any, Any, Any, Any, list[Any]]:
    """(sender KZ, receiver UZ, UZ's peers, KZ's view of UZ, envelopes KZ sealed to UZ from the JSON samples)."""
    from tamga.protocol import record_type_of, seal

    kz, uz, uz_peers, uz_at_kz = _envelope_keys()
    sealed = []
    for records in _json_sample_records():
        for i, rec in enumerate(records):
            sealed.append(
                seal(
                    local=kz,
                    peer=uz_at_kz,
                    record_bytes=rec.SerializeToString(),
                    record_type=record_type_of(rec),
                    message_id=str(uuid.uuid4()),
                    now=now,
                    sequence=i + 1,
                )
            )
    return kz, uz, uz_peers, uz_at_kz, sealed


def _check_opened(result: Any) -> None:
    from tamga.protocol import Opened, Refused

    if isinstance(result, Refused):
        if not result.detail:
            raise AssertionError("a Refused without a detail")
        return
    if not isinstance(result, Opened):
        raise AssertionError(f"open_envelope returned {type(result).__name__}")


def _envelope_open_target() -> Target:
    from google.protobuf.message import DecodeError
    from tamga.protocol import open_envelope
    from tamga.v1 import envelope_pb2

    now = time.time()
    _kz, uz, peers, _uz_at_kz, sealed = _sealed_envelopes(now)

    def check(data: bytes) -> None:
        try:
            env = envelope_pb2.Envelope.FromString(data)
        except DecodeError:
            return  # not an envelope: refused as undecodable before anything is read
        _check_opened(open_envelope(env, local=uz, peers=peers, now=now))

    return Target(name="envelope.open", fmt="protobuf", seeds=[s.envelope for s in sealed], check=check)


def _split(data: bytes) -> tuple[bytes, bytes]:
    """Header and record bytes of an ``envelope.sealed`` input: a 2-byte header length, then both."""
    n = int.from_bytes(data[:2], "big") if len(data) >= 2 else 0
    return data[2 : 2 + n], data[2 + n :]


def _envelope_sealed_target() -> Target:
    from tamga.crypto import SALT_SIZE, random_bytes
    from tamga.protocol import ENVELOPE_PURPOSE, open_envelope
    from tamga.v1 import envelope_pb2

    now = time.time()
    kz, uz, peers, uz_at_kz, sealed = _sealed_envelopes(now)
    to_uz = uz_at_kz.channel(kz)
    from_kz = peers.get("KZ").channel(uz)
    seeds = []
    for s in sealed:
        env = envelope_pb2.Envelope.FromString(s.envelope)
        record = from_kz.decrypt(env.body)[SALT_SIZE:]
        seeds.append(len(env.header).to_bytes(2, "big") + env.header + record)

    def check(data: bytes) -> None:
        header, record = _split(data)
        plaintext = random_bytes(SALT_SIZE) + record
        env = envelope_pb2.Envelope(
            header=header,
            body=to_uz.encrypt(plaintext),
            signature=kz.signing_key.sign(ENVELOPE_PURPOSE, header, plaintext),
        )
        _check_opened(open_envelope(env, local=uz, peers=peers, now=now))

    sample = seeds[0] if seeds else b""
    return Target(name="envelope.sealed", fmt="envelope", seeds=seeds, check=check, sample=sample)


def target_names() -> list[str]:
    """Every target, adapters in entry-point name order."""
    from tamga.adapters import available_adapters

    names = sorted(available_adapters())
    return [f"{n}.decode" for n in names] + [f"{n}.drop" for n in names] + ["envelope.open", "envelope.sealed"]


def build_target(name: str, work: Path, *, max_file_bytes: int | None = None) -> Target:
    """Set up target ``name``; ``work`` is a fresh folder the drop folder's node lives in.

    Raises:
        ValueError: no such target.
    """
    adapter, _, kind = name.rpartition(".")
    if name == "envelope.open":
        return _envelope_open_target()
    if name == "envelope.sealed":
        return _envelope_sealed_target()
    if kind == "decode":
        return _decode_target(adapter)
    if kind == "drop":
        return _drop_target(adapter, work, max_file_bytes=max_file_bytes)
    raise ValueError(f"no fuzz target {name!r} (targets: {', '.join(target_names())})")


# -- structured hostile inputs ----------------------------------------------------------------------------------


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _xml_frame(sample: bytes) -> tuple[bytes, bytes]:
    """The sample's prolog and root start tag, and its root end tag (to wrap hostile content in)."""
    m = re.search(
        rb"<([A-Za-z_][\w.:-]*)[^>]*>", sample[sample.find(b"?>") + 2 if sample.startswith(b"<?xml") else 0 :]
    )
    if m is None:
        return b"<?xml version='1.0' encoding='UTF-8'?><r>", b"</r>"
    start = sample.index(m.group(0)) + len(m.group(0))
    return sample[:start], b"</" + m.group(1) + b">"


def _pad_to(data: bytes, size: int, filler: bytes) -> bytes:
    if len(data) >= size:
        return data[:size]
    return data + (filler * ((size - len(data)) // len(filler) + 1))[: size - len(data)]


def hostile_inputs(
    fmt: str, sample: bytes, limits: Sequence[int] = (), *, scale: float = 1.0
) -> Iterator[tuple[str, bytes]]:
    """Structured hostile inputs for a format: (label, bytes), built one at a time.

    Deeply nested (200,000 levels, whatever the scale), huge (just under and
    just over each of ``limits``; huge fields, segments, lines, counts of a
    million times ``scale`` or 4 MiB times ``scale``), and binary garbage.
    """
    rng = random.Random(0x7A36A)
    many = max(1000, int(1_000_000 * scale))  # elements, columns, lines...
    big = max(4096, int(4 * 1024 * 1024 * scale))  # bytes of one field, comment, segment...
    # binary garbage, for every format
    yield "binary-random-64k", rng.randbytes(64 * 1024)
    yield "binary-nul-4k", b"\0" * 4096
    yield "binary-ff-4k", b"\xff" * 4096
    if sample:
        half = len(sample) // 2
        yield "sample-with-nul-bytes", sample.replace(b"\n", b"\n\0")
        yield "sample-invalid-utf8", sample[:half] + b"\xc3\x28\xa0\xa1\xe2\x28\xa1\xf0\x28\x8c\xbc" + sample[half:]
        yield "sample-utf16", b"\xff\xfe" + sample.decode("utf-8", "replace").encode("utf-16-le")
        yield "sample-bom-only", b"\xef\xbb\xbf"
        yield "sample-lone-surrogates", sample.replace(b"a", b"\xed\xa0\x80", 3)
        changed = bytearray(sample)
        for _ in range(max(1, len(changed) // 50)):
            changed[rng.randrange(len(changed))] = rng.randrange(256)
        yield "sample-2pc-bytes-changed", bytes(changed)
    # deeply nested, and huge in the format's own ways
    if fmt == "json":
        yield "json-arrays-200000-deep", b"[" * DEEP + b"]" * DEEP
        yield "json-objects-200000-deep", b'{"a":' * DEEP + b"1" + b"}" * DEEP
        yield "json-record-200000-deep", b'{"records":[{"meta":' + b'{"a":' * DEEP + b"{}" + b"}" * DEEP + b"}]}"
        yield "json-arrays-200000-deep-unclosed", b"[" * DEEP
        for depth in (990, 1000, 5000):
            yield f"json-arrays-{depth}-deep", b"[" * depth + b"]" * depth
        yield "json-number-100000-digits", b'{"records":[{"meta":{"createdAt":' + b"9" * 100_000 + b"}}]}"
        yield f"json-{many // 5}-keys", b"{" + b",".join(b'"k%d":1' % i for i in range(many // 5)) + b"}"
    elif fmt == "xml":
        head, tail = _xml_frame(sample or b"<r></r>")
        yield "xml-200000-deep", head + b"<a>" * DEEP + b"</a>" * DEEP + tail
        yield "xml-200000-deep-unclosed", head + b"<a>" * DEEP
        yield "xml-5000-deep", head + b"<a>" * 5000 + b"</a>" * 5000 + tail
        attributes = b" ".join(b'a%d="1"' % i for i in range(many // 10))
        yield f"xml-{many // 10}-attributes", head[:-1] + b" " + attributes + b">" + tail
        yield f"xml-comment-{big}-bytes", head + b"<!--" + b"x" * big + b"-->" + tail
        yield f"xml-text-{big}-bytes", head + b"<a>" + b"x" * big + b"</a>" + tail
        yield f"xml-{many // 2}-elements", head + b"<a/>" * (many // 2) + tail
    elif fmt == "edifact":
        una = sample[: sample.find(b"'") + 1] if sample.startswith(b"UNA") else b"UNA:+.? '"
        unb = b"UNB+UNOC:3+A:ZZZ+B:ZZZ+260302:1420+R1'UNH+1+CUSDEC:D:96B:UN'"
        end = b"'UNT+3+1'UNZ+1+R1'"
        yield f"edifact-segment-{many}-elements", una + unb + b"BGM" + b"+" * many + end
        yield f"edifact-segment-{many}-components", una + unb + b"BGM+" + b":" * many + end
        yield f"edifact-element-{big}-bytes", una + unb + b"FTX+AAA+++" + b"X" * big + end
        yield f"edifact-{many}-release-chars", una + unb + b"FTX+AAA+++" + b"?" * many + end
        yield f"edifact-{many // 2}-segments", una + unb + b"FTX+AAA'" * (many // 2) + end[1:]
        yield f"edifact-{many // 5}-open-groups", una + unb + b"UNG+X'" * (many // 5) + b"UNE+1'" * (many // 5)
        if sample:
            yield "edifact-sample-huge-segments", sample.replace(b"'", b"+" + b"Z" * (big // 2) + b"'", 3)
    elif fmt == "csv":
        header, _, rest = (sample or b"a,b\n1,2\n").partition(b"\n")
        row = rest.split(b"\n")[0]
        yield f"csv-{many}-columns", header + b"\n" + b"," * many + b"\n"
        yield f"csv-field-{big}-bytes", header + b'\n"' + b"x" * big + b'"\n'
        yield "csv-unterminated-quote", header + b'\n"' + b"x," * (many // 2)
        yield f"csv-{many}-quotes", header + b"\n" + b'"' * (many + 1) + b"\n"
        yield f"csv-{many // 50}-rows", header + b"\n" + (row + b"\n") * (many // 50)
        yield f"csv-{many}-empty-lines", header + b"\n" * many
        yield f"csv-header-{many // 5}-columns", b",".join([b"h%d" % i for i in range(many // 5)]) + b"\n"
    elif fmt == "protobuf":
        groups = b"\x0b" * DEEP  # field 1, start group, 200,000 deep
        yield "protobuf-200000-nested-groups", _varint(len(groups)) + groups
        nested = b""
        for _ in range(20_000):
            nested = b"\x0a" + _varint(len(nested)) + nested  # field 1 (meta), nested in itself
        yield "protobuf-20000-nested-messages", _varint(len(nested)) + nested
        yield "protobuf-length-2gb", _varint(2**31 + 5) + b"\0" * 64
        yield "protobuf-length-2^64", b"\xff" * 9 + b"\x01"
        yield f"protobuf-{many}-empty-records", b"\x00" * many
    elif fmt == "envelope":
        header = b"\x0a" * 65535
        yield "envelope-header-65535-nested", len(header).to_bytes(2, "big") + header
        yield "envelope-record-200000-groups", b"\0\0" + b"\x0b" * DEEP
    else:  # flat files (ICEGATE)
        lines = (sample or b"A\nB\n").split(b"\n")
        yield f"flat-line-{big}-bytes", lines[0] + b"\n" + b"X" * big + b"\n" + b"\n".join(lines[1:])
        yield f"flat-{many // 2}-tables", b"\n".join(lines[:2]) + b"\n" + b"<TABLE>X\n" * (many // 2)
        yield f"flat-{many}-separators", lines[0] + b"\n" + b"\x1d" * many + b"\n"
        yield f"flat-{many // 5}-empty-tables", b"\n".join(lines[:1]) + b"\n" + b"<TABLE>\n" * (many // 5)
    # huge: just under and just over each limit
    for limit in limits:
        filler = b"\n" if fmt in ("json", "xml", "csv", "flat", "edifact") else b"\0"
        base = sample or b"x"
        yield f"huge-{limit - 1}-bytes", _pad_to(base, limit - 1, filler)
        yield f"huge-{limit + 1}-bytes", _pad_to(base, limit + 1, filler)
    if sample and fmt in ("json", "xml", "csv", "flat", "edifact"):
        spot = max(sample.find(b"a"), 0)  # a value, most likely
        yield f"sample-with-{2 * big}-byte-value", sample[:spot] + b"a" * (2 * big) + sample[spot:]


# -- running ----------------------------------------------------------------------------------------------------


_TAMGA = re.compile(r"[/\\](node|adapters|tools|proto)[/\\]")


def signature(exc: BaseException) -> str:
    """What identifies a crash: the exception type and the innermost frame of Tamga's own code (else the last)."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if _TAMGA.search(f.filename) and not f.filename.endswith("fuzz.py")]
    frame = (ours or frames or [None])[-1]
    where = f"{Path(frame.filename).name}:{frame.lineno}" if frame is not None else "?"
    return f"{type(exc).__name__}@{where}"


def _slug(sig: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", sig)[:80] + "-" + hashlib.sha256(sig.encode()).hexdigest()[:8]


@dataclass
class Crash:
    """A distinct crash: its signature and the smallest input seen for it."""

    target: str
    signature: str
    data: bytes
    trace: str
    path: Path | None = None
    minimised: bytes | None = None


@dataclass
class Runner:
    """Feeds inputs to a target, counting them and keeping the smallest input of each distinct crash."""

    target: Target
    crashes_dir: Path | None = None
    inputs: int = 0
    crashes: dict[str, Crash] = field(default_factory=dict)

    def run(self, data: bytes) -> str | None:
        """One input; the crash's signature, or None."""
        self.inputs += 1
        try:
            self.target.check(data)
        except Exception as exc:
            sig = signature(exc)
            self.record(sig, data, exc)
            return sig
        return None

    def record(self, sig: str, data: bytes, exc: BaseException) -> None:
        known = self.crashes.get(sig)
        if known is not None and len(known.data) <= len(data):
            return
        trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__, limit=-12))
        crash = Crash(self.target.name, sig, data, trace)
        self.crashes[sig] = crash
        if self.crashes_dir is not None:
            folder = self.crashes_dir / self.target.name
            folder.mkdir(parents=True, exist_ok=True)
            crash.path = folder / (_slug(sig) + ".bin")
            crash.path.write_bytes(data)
            crash.path.with_suffix(".txt").write_text(
                f"target: {self.target.name}\nsignature: {sig}\nbytes: {len(data)}\n\n{trace}", "utf-8"
            )

    def run_hostile(self, deadline: float, *, scale: float = 1.0) -> int:
        """The structured inputs (and, for the drop folder, a good file after each); how many were run.

        Where the peak memory of the process can be read and reset (Linux), an
        input that made it grow by more than :func:`memory_allowance` is a
        crash too (``MemoryBlowup``): a file under the size limits must not
        take gigabytes.
        """
        n = 0
        for label, data in hostile_inputs(self.target.fmt, self.target.sample, self.target.limits, scale=scale):
            if time.monotonic() > deadline:
                break
            before = _reset_peak_memory()
            self.run(data)
            grown = _peak_memory() - before if before is not None else 0
            if grown > memory_allowance(len(data)):
                blowup = MemoryError(f"{label}: {len(data):,} bytes took {grown // 2**20:,} MiB more memory")
                self.record(f"MemoryBlowup@{label}", data, blowup)
            n += 1
            try:
                self.target.after_hostile()
            except Exception as exc:
                self.record(signature(exc), data, exc)
        return n


def memory_allowance(size: int) -> int:
    """Bytes of memory an input of ``size`` bytes may add at its peak: 256 MiB, plus 40 times its size."""
    return 256 * 2**20 + 40 * size


def _peak_memory() -> int:
    """Peak resident memory of this process since the last reset, in bytes (0 where it cannot be read)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _reset_peak_memory() -> int | None:
    """Reset the peak to the current resident memory (Linux); that memory in bytes, or None when unsupported."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
    except OSError:
        return None
    return _peak_memory() or None


def _mutated_strategy(seeds: Sequence[bytes], max_size: int) -> Any:
    from hypothesis import strategies as st

    @st.composite
    def mutated(draw: Any) -> bytes:
        base = draw(st.sampled_from(list(seeds))) if seeds else b""
        kind = draw(st.sampled_from(["truncate", "flip", "insert", "repeat", "splice", "random"]))
        if kind == "random" or not base:
            return bytes(draw(st.binary(max_size=max_size)))
        at = draw(st.integers(min_value=0, max_value=len(base)))
        if kind == "truncate":
            return base[:at]
        if kind == "flip":
            out = bytearray(base)
            for _ in range(draw(st.integers(1, 8))):
                out[draw(st.integers(0, len(out) - 1))] = draw(st.integers(0, 255))
            return bytes(out)
        if kind == "insert":
            return base[:at] + bytes(draw(st.binary(min_size=1, max_size=64))) + base[at:]
        if kind == "repeat":
            end = draw(st.integers(min_value=at, max_value=min(len(base), at + 64)))
            return base[:at] + base[at:end] * draw(st.integers(2, 2000)) + base[end:]
        other = draw(st.sampled_from(list(seeds)))
        cut = draw(st.integers(min_value=0, max_value=len(other)))
        return base[:at] + other[cut:]

    return mutated()


class _Found(Exception):
    def __init__(self, sig: str) -> None:
        super().__init__(sig)
        self.sig = sig


def run_hypothesis(runner: Runner, *, deadline: float | None = None, examples: int | None = None) -> None:
    """Hypothesis: mutated seeds and arbitrary bytes until ``deadline`` (or ``examples`` inputs).

    A new crash is shrunk by hypothesis, then cut further by delta debugging
    (:func:`minimise`: hypothesis's shrinking of a mutated seed may stop short);
    the smallest input is the one kept. Then the search goes on for others.
    """
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    strategy = st.one_of(_mutated_strategy(runner.target.seeds, 4096), st.binary(max_size=4096))
    known: set[str] = set(runner.crashes)

    def test(data: bytes) -> None:
        sig = runner.run(data)
        if sig is not None and sig not in known:
            raise _Found(sig)

    chunk = 200 if examples is None else examples
    while True:
        if deadline is not None and time.monotonic() >= deadline:
            return
        run = settings(
            max_examples=chunk, deadline=None, database=None, suppress_health_check=list(HealthCheck), print_blob=False
        )(given(strategy)(test))
        try:
            run()
        except _Found as found:
            known.add(found.sig)
            _minimise_kept(runner, [found.sig])
        except Exception as exc:  # hypothesis reports several distinct failures at once
            sigs = [s for s in (getattr(e, "sig", None) for e in getattr(exc, "exceptions", [])) if s]
            known.update(sigs)
            _minimise_kept(runner, sigs)
        if examples is not None:
            return


def _minimise_kept(runner: Runner, sigs: list[str], seconds: float = 5.0) -> None:
    """Cut the kept input of each crash in ``sigs`` down (the runner keeps the smallest one that still crashes)."""
    for sig in sigs:
        crash = runner.crashes.get(sig)
        if crash is not None and len(crash.data) > 1:
            minimise(runner.run, crash.data, sig, seconds=seconds)


def minimise(check: Callable[[bytes], str | None], data: bytes, sig: str, *, seconds: float) -> bytes:
    """Delta debugging: the smallest part of ``data`` still crashing with ``sig`` found in ``seconds``."""
    deadline = time.monotonic() + seconds
    best = data
    chunk = max(1, len(best) // 2)
    while chunk >= 1 and time.monotonic() < deadline:
        i, shrunk = 0, False
        while i < len(best) and time.monotonic() < deadline:
            candidate = best[:i] + best[i + chunk :]
            if candidate != best and check(candidate) == sig:
                best, shrunk = candidate, True
            else:
                i += chunk
        if not shrunk:
            chunk //= 2
    return best


# -- one target in its own process ---------------------------------------------------------------------------


def _atheris_available() -> bool:
    try:
        import atheris  # noqa: F401
    except ImportError:
        return False
    return True


#: Modules whose Python code atheris instruments for coverage (all of it would take a minute at each start).
INSTRUMENTED = ("tamga", "pydifact", "google.protobuf.json_format", "csv", "json")


def _instrument(atheris: Any) -> None:
    """Coverage instrumentation of the functions of :data:`INSTRUMENTED` already imported."""
    import gc
    import types

    for obj in gc.get_objects():
        if not isinstance(obj, types.FunctionType):
            continue
        module = getattr(obj, "__module__", None) or ""
        if module.split(".")[0] in INSTRUMENTED or module.startswith(INSTRUMENTED):
            with contextlib.suppress(Exception):
                atheris.instrument_func(obj)


def _worker(args: argparse.Namespace) -> int:
    """Run one target (in a child process): structured inputs, then the engine, then write the stats."""
    start = time.monotonic()
    deadline = start + args.seconds
    crashes_dir, stats_path, work = Path(args.crashes), Path(args.stats), Path(args.work)
    target = build_target(args.worker, work / "node", max_file_bytes=args.max_file_bytes)
    runner = Runner(target, crashes_dir)
    hostile = 0 if args.no_hostile else runner.run_hostile(deadline)

    def save(fuzzed: int) -> None:
        stats = {"inputs": runner.inputs, "hostile": hostile, "fuzzed": fuzzed, "crashes": sorted(runner.crashes)}
        tmp = stats_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(stats), "utf-8")
        os.replace(tmp, stats_path)

    save(0)
    if args.engine == "hypothesis":
        run_hypothesis(runner, deadline=deadline)
        save(runner.inputs - hostile)
        target.close()
        return 0
    import atheris

    corpus = Path(args.corpus) / target.name if args.corpus else work / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    for seed in target.seeds:
        if len(seed) <= MAX_LEN:
            (corpus / hashlib.sha1(seed).hexdigest()).write_bytes(seed)
    last = [time.monotonic()]

    def one(data: bytes) -> None:
        runner.run(data)
        if time.monotonic() - last[0] > 1.0:
            last[0] = time.monotonic()
            save(runner.inputs - hostile)

    _instrument(atheris)
    remaining = max(1, int(deadline - time.monotonic()))
    argv = [
        sys.argv[0],
        f"-max_total_time={remaining}",
        f"-max_len={MAX_LEN}",
        "-timeout=30",
        "-rss_limit_mb=4096",
        "-print_final_stats=1",
        f"-artifact_prefix={crashes_dir / target.name}/",
        str(corpus),
    ]
    (crashes_dir / target.name).mkdir(parents=True, exist_ok=True)
    atheris.Setup(argv, one)
    atheris.Fuzz()  # libFuzzer exits the process at the end of max_total_time
    return 0


def _minimise_worker(args: argparse.Namespace) -> int:
    """Minimise one saved crash (in a child process) and write it beside it as ``.min``."""
    path = Path(args.minimise)
    target = build_target(args.worker, Path(args.work) / "node", max_file_bytes=args.max_file_bytes)
    runner = Runner(target)
    data = path.read_bytes()
    sig = runner.run(data)
    if sig is None:
        print(f"not reproduced: {path}", file=sys.stderr)
        target.close()
        return 1
    best = minimise(runner.run, data, sig, seconds=args.seconds)
    path.with_suffix(".min").write_bytes(best)
    target.close()
    return 0


@dataclass
class Result:
    target: str
    engine: str
    inputs: int
    seconds: float
    crashes: list[Crash]
    note: str = ""


def _child(argv: list[str], timeout: float, log: Path) -> int | None:
    """Run ``python -m tamga.tools.fuzz ARGV`` under nice; its return code, or None when it had to be killed."""
    cmd = [sys.executable, "-m", "tamga.tools.fuzz", *argv]
    with log.open("ab") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()
            return None


def _libfuzzer_units(log: Path) -> int | None:
    text = log.read_text("utf-8", "replace") if log.exists() else ""
    found = re.findall(r"stat::number_of_executed_units:\s*(\d+)", text)
    return sum(int(n) for n in found) if found else None


def run_target(
    name: str,
    *,
    seconds: float,
    engine: str,
    crashes_dir: Path,
    minimise_seconds: float,
    max_file_bytes: int | None = None,
    corpus: Path | None = None,
) -> Result:
    """Fuzz one target in child processes for ``seconds``; minimise what crashed."""
    crashes_dir.mkdir(parents=True, exist_ok=True)
    # The target's folder holds this run's crashes only (the ones that matter are regression tests by now).
    shutil.rmtree(crashes_dir / name, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix=f"tamga-fuzz-{name}-", dir=_scratch()) as tmp:
        work = Path(tmp)
        log = crashes_dir / f".{name}.log"
        log.unlink(missing_ok=True)
        start = time.monotonic()
        inputs, runs, note = 0, 0, ""
        extra = ["--max-file-bytes", str(max_file_bytes)] if max_file_bytes else []
        if corpus is not None:
            extra += ["--corpus", str(corpus.resolve())]
        while True:
            remaining = seconds - (time.monotonic() - start)
            if remaining < 1 or runs >= 5:
                break
            stats = work / f"stats-{runs}.json"
            node_dir = work / f"run-{runs}"
            node_dir.mkdir()
            argv = [
                "--worker", name, "--engine", engine, "--seconds", f"{remaining:.1f}",
                "--crashes", str(crashes_dir), "--stats", str(stats), "--work", str(node_dir), *extra,
            ]  # fmt: skip
            if runs:
                argv.append("--no-hostile")
            code = _child(argv, remaining + 300, log)
            runs += 1
            counted = json.loads(stats.read_text("utf-8")) if stats.exists() else {}
            inputs += int(counted.get("inputs", 0))
            if code == 0:
                break
            # libFuzzer stopped early (a timeout, out of memory, a signal) or the run had to be killed: note it,
            # keep what libFuzzer saved, and go on for the time left.
            note = f"run {runs} ended with {'a kill (no answer)' if code is None else f'exit code {code}'}"
            crash = Crash(
                name, f"process-{'hang' if code is None else code}", b"", log.read_text("utf-8", "replace")[-4000:]
            )
            saved = crashes_dir / name / (_slug(crash.signature) + ".txt")
            saved.parent.mkdir(parents=True, exist_ok=True)
            saved.write_text(crash.trace, "utf-8")
        elapsed = time.monotonic() - start
        units = _libfuzzer_units(log) if engine == "atheris" else None
        if units is not None:
            inputs = max(inputs, units)
        crashes = _collect(name, crashes_dir)
        for crash in crashes:
            if crash.path is None or crash.path.suffix != ".bin" or engine != "atheris" or not crash.data:
                continue
            _child(
                ["--worker", name, "--minimise", str(crash.path), "--seconds", str(minimise_seconds),
                 "--work", str(work / f"min-{crash.path.stem}"), *extra],
                minimise_seconds + 300, log,
            )  # fmt: skip
            small = crash.path.with_suffix(".min")
            if small.exists():
                crash.minimised = small.read_bytes()
        return Result(name, engine, inputs, elapsed, crashes, note)


def _collect(name: str, crashes_dir: Path) -> list[Crash]:
    folder = crashes_dir / name
    out = []
    if not folder.is_dir():
        return out
    for txt in sorted(folder.glob("*.txt")):
        head = txt.read_text("utf-8", "replace")
        m = re.search(r"^signature: (.*)$", head, re.M)
        sig = m.group(1) if m else txt.stem
        data = txt.with_suffix(".bin").read_bytes() if txt.with_suffix(".bin").exists() else b""
        out.append(Crash(name, sig, data, head, txt.with_suffix(".bin") if data else txt))
    for art in sorted(folder.iterdir()):
        if art.name.startswith(("crash-", "timeout-", "oom-", "slow-unit-")):
            out.append(Crash(name, art.name.split("-")[0], art.read_bytes(), "", art))
    return out


def _scratch() -> str | None:
    """A memory-backed folder for the drop folder's nodes when there is one (their fsyncs cost nothing there)."""
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


def _select(wanted: Sequence[str]) -> list[str]:
    names = target_names()
    if not wanted:
        return names
    chosen: list[str] = []
    for w in wanted:
        hits = [n for n in names if n == w or w in n.split(".")]
        if not hits:
            raise SystemExit(f"no fuzz target {w!r}; targets: {', '.join(names)}")
        chosen += [h for h in hits if h not in chosen]
    return chosen


def main(argv: Sequence[str] | None = None) -> int:
    from tamga.terminal import safe

    p = argparse.ArgumentParser(prog="python -m tamga.tools.fuzz", description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=None, help=f"per target (default ${SECONDS_ENV} or 60)")
    p.add_argument("--target", action="append", default=[], help="a target, an adapter or a kind; repeatable")
    p.add_argument("--engine", choices=["auto", "atheris", "hypothesis"], default="auto")
    p.add_argument("--crashes", default="fuzz-crashes", help="where crashes are saved (default fuzz-crashes/)")
    p.add_argument("--corpus", default="fuzz-corpus", help="inputs kept between runs (default fuzz-corpus/)")
    p.add_argument("--minimise-seconds", type=float, default=30.0, help="per crash found by atheris")
    p.add_argument("--max-file-bytes", type=int, default=None, help="the drop folder's limit (default: the node's)")
    p.add_argument("--list", action="store_true", help="list the targets and exit")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--minimise", help=argparse.SUPPRESS)
    p.add_argument("--stats", help=argparse.SUPPRESS)
    p.add_argument("--work", help=argparse.SUPPRESS)
    p.add_argument("--no-hostile", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.list:
        print("\n".join(target_names()))
        return 0
    if args.worker and args.minimise:
        return _minimise_worker(args)
    if args.worker:
        return _worker(args)
    seconds = args.seconds if args.seconds is not None else float(os.environ.get(SECONDS_ENV) or DEFAULT_SECONDS)
    engine = args.engine
    if engine == "auto":
        engine = "atheris" if _atheris_available() else "hypothesis"
        if engine == "hypothesis":
            print("fuzz: atheris is not installed; using hypothesis (pip install '.[fuzz]' for coverage guidance)")
    crashes_dir = Path(args.crashes)
    total = 0
    for name in _select(args.target):
        result = run_target(
            name,
            seconds=seconds,
            engine=engine,
            crashes_dir=crashes_dir,
            minimise_seconds=args.minimise_seconds,
            max_file_bytes=args.max_file_bytes,
            corpus=Path(args.corpus) if args.corpus else None,
        )
        rate = result.inputs / result.seconds if result.seconds else 0.0
        print(
            f"FUZZ target={name} engine={engine} inputs={result.inputs} seconds={result.seconds:.1f}"
            f" rate={rate:.0f}/s crashes={len(result.crashes)}"
            + (f" note={safe(result.note)!r}" if result.note else ""),
            flush=True,
        )
        for crash in result.crashes:
            size = len(crash.data)
            small = f" minimised={len(crash.minimised)}" if crash.minimised is not None else ""
            print(
                f"CRASH target={name} signature={safe(crash.signature)} bytes={size}{small} saved={crash.path}",
                flush=True,
            )
        total += len(result.crashes)
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
