"""The tamper-evident audit log: what the node did, chained and signed.

Every state change a government may later ask about is one entry, appended in
the same SQLite transaction as the change itself: a record queued for a
recipient, an envelope accepted, a duplicate, an envelope refused, a receipt
settling an envelope (delivered or rejected), an envelope handed off to the
national system. An entry names the peer, message id, record type and the
envelope digest, never record contents.

Each entry's ``hash`` is SHA-256(prev_hash || canonical entry bytes), the
first entry's prev_hash being 32 zero bytes, so changing, removing, inserting
or reordering entries breaks the chain. Now and then (every
:data:`SEAL_EVERY` entries, on ``tamga audit seal`` and when the node stops) a
``seal`` entry is appended, signed by the node's identity key (purpose
:data:`SEAL_PURPOSE`) over (node id, seq, hash) of the entry before it: a
sealed prefix cannot be rewritten even by someone who recomputes every hash,
and another authority can check an exported range with the node's public key.
Entries after the last seal are chained but not yet signed.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tamga.crypto import SigningKey, VerifyKey
from tamga.errors import CryptoError, TamgaError

__all__ = [
    "EXPORT_FORMAT",
    "GENESIS",
    "SEAL_EVERY",
    "SEAL_PURPOSE",
    "AuditEvent",
    "AuditSigner",
    "Entry",
    "Report",
    "append",
    "entry_hash",
    "export_range",
    "read_entries",
    "seal",
    "verify_entries",
    "verify_export",
]

SEAL_PURPOSE = "tamga/v1/audit-seal"
SEAL_EVERY = 1000
GENESIS = bytes(32)
EXPORT_FORMAT = "tamga-audit-export-1"
_LOOKAHEAD = 256  # rows looked ahead for the entry a reordered one follows (memory stays bounded)
_PAGE = 2000


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One state change to record (the store fills in seq, time and hashes)."""

    kind: str
    peer: str = ""
    message_id: str = ""
    record_type: str = ""
    digest: bytes = b""
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Entry:
    seq: int
    at: float
    kind: str
    peer: str
    message_id: str
    record_type: str
    digest: bytes
    detail: str
    prev_hash: bytes
    hash: bytes
    signature: bytes | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": self.at,
            "kind": self.kind,
            "peer": self.peer,
            "message_id": self.message_id,
            "record_type": self.record_type,
            "digest": self.digest.hex(),
            "detail": self.detail,
            "prev_hash": self.prev_hash.hex(),
            "hash": self.hash.hex(),
            "signature": self.signature.hex() if self.signature is not None else None,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Entry:
        sig = d.get("signature")
        return cls(
            int(d["seq"]),
            float(d["at"]),
            str(d["kind"]),
            str(d["peer"]),
            str(d["message_id"]),
            str(d["record_type"]),
            bytes.fromhex(d["digest"]),
            str(d["detail"]),
            bytes.fromhex(d["prev_hash"]),
            bytes.fromhex(d["hash"]),
            bytes.fromhex(sig) if sig else None,
        )


@dataclass(frozen=True, slots=True)
class AuditSigner:
    """The node's id and identity key, for sealing."""

    node_id: str
    key: SigningKey = field(repr=False)


def canonical(
    seq: int, at: float, kind: str, peer: str, message_id: str, record_type: str, digest: bytes, detail: str
) -> bytes:
    """The bytes an entry's hash covers: sorted-key compact JSON, UTF-8."""
    doc = {
        "seq": seq,
        "at": at,
        "kind": kind,
        "peer": peer,
        "message_id": message_id,
        "record_type": record_type,
        "digest": digest.hex(),
        "detail": detail,
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def entry_hash(prev_hash: bytes, e: Entry, *, seq: int | None = None) -> bytes:
    """SHA-256(prev_hash || canonical bytes of ``e``), optionally as if it had another seq."""
    body = canonical(
        e.seq if seq is None else seq, e.at, e.kind, e.peer, e.message_id, e.record_type, e.digest, e.detail
    )
    return hashlib.sha256(prev_hash + body).digest()


def _seal_parts(node_id: str, seq: int, hash_: bytes) -> tuple[bytes, ...]:
    return (node_id.encode("utf-8"), seq.to_bytes(8, "big"), hash_)


# -- writing (inside the store's transaction) -----------------------------------------


async def _last(conn: Any) -> tuple[int, bytes, int]:
    async with conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1") as cur:
        row = await cur.fetchone()
    async with conn.execute("SELECT MAX(seq) FROM audit WHERE kind = 'seal'") as cur:
        srow = await cur.fetchone()
    last_seal = int(srow[0]) if srow and srow[0] is not None else 0
    return (int(row[0]), bytes(row[1]), last_seal) if row else (0, GENESIS, 0)


async def _insert(conn: Any, rows: list[tuple[Any, ...]]) -> None:
    await conn.executemany(
        "INSERT INTO audit (seq, at, kind, peer, message_id, record_type, digest, detail, prev_hash, hash, signature)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )


def _seal_row(seq: int, prev: bytes, signer: AuditSigner, now: float) -> tuple[Any, ...]:
    e = Entry(seq, now, "seal", signer.node_id, "", "", b"", signer.key.key_id, prev, b"")
    h = entry_hash(prev, e)
    sig = signer.key.sign(SEAL_PURPOSE, *_seal_parts(signer.node_id, seq - 1, prev))
    return (seq, now, "seal", signer.node_id, "", "", b"", signer.key.key_id, prev, h, sig)


async def append(conn: Any, events: Sequence[AuditEvent], *, now: float, signer: AuditSigner | None = None) -> None:
    """Append ``events`` to the log on ``conn``, inside the caller's open write transaction.

    With ``signer``, a seal is appended whenever :data:`SEAL_EVERY` entries
    have passed since the last seal.
    """
    if not events:
        return
    seq, prev, last_seal = await _last(conn)
    rows: list[tuple[Any, ...]] = []
    for ev in events:
        seq += 1
        e = Entry(seq, now, ev.kind, ev.peer, ev.message_id, ev.record_type, bytes(ev.digest), ev.detail, prev, b"")
        h = entry_hash(prev, e)
        rows.append((seq, now, ev.kind, ev.peer, ev.message_id, ev.record_type, bytes(ev.digest), ev.detail, prev, h))
        rows[-1] = (*rows[-1], None)
        prev = h
        if signer is not None and seq - last_seal >= SEAL_EVERY:
            seq += 1
            rows.append(_seal_row(seq, prev, signer, now))
            prev, last_seal = rows[-1][9], seq
    await _insert(conn, rows)


async def seal(conn: Any, signer: AuditSigner, *, now: float) -> int | None:
    """Append a seal over the last entry (inside the caller's transaction); its seq, or None if nothing is new."""
    seq, prev, last_seal = await _last(conn)
    if seq == 0 or seq == last_seal:
        return None
    await _insert(conn, [_seal_row(seq + 1, prev, signer, now)])
    return seq + 1


# -- reading and verifying ----------------------------------------------------------


def _row_entry(r: Sequence[Any]) -> Entry:
    return Entry(
        int(r[0]),
        float(r[1]),
        str(r[2]),
        str(r[3]),
        str(r[4]),
        str(r[5]),
        bytes(r[6]),
        str(r[7]),
        bytes(r[8]),
        bytes(r[9]),
        None if r[10] is None else bytes(r[10]),
    )


def read_entries(path: Path, *, from_seq: int = 0, to_seq: int | None = None) -> Iterator[Entry]:
    """Entries of the store at ``path`` in seq order, read page by page, read-only.

    Raises:
        TamgaError: the store is missing or has no audit log.
    """
    if not path.exists():
        raise TamgaError(f"{path}: the node's store is missing; is --home the node directory made by 'tamga init'?")
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        try:
            conn.execute("SELECT 1 FROM audit LIMIT 1")
        except sqlite3.Error as exc:
            raise TamgaError(f"{path}: no audit log in this store ({exc}); start the node once to migrate it") from exc
        after = from_seq - 1
        end = to_seq if to_seq is not None else 2**62
        while True:
            rows = conn.execute(
                "SELECT seq, at, kind, peer, message_id, record_type, digest, detail, prev_hash, hash, signature"
                " FROM audit WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?",
                (after, end, _PAGE),
            ).fetchall()
            if not rows:
                return
            for r in rows:
                yield _row_entry(r)
            after = int(rows[-1][0])
    finally:
        conn.close()


@dataclass(slots=True)
class Report:
    """What a verification found. ``problems`` empty means intact."""

    problems: list[str] = field(default_factory=list)
    # Seals made with a key the verifier was not given (a later key than the identity file's):
    # neither good nor forged; the log is not verified until they are checked with that key.
    unverified: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    entries: int = 0
    seals: int = 0
    first_seq: int = 0
    last_seq: int = 0
    sealed_through: int = 0

    @property
    def intact(self) -> bool:
        """No tampering found (seals of unknown keys may still be unverified)."""
        return not self.problems

    @property
    def verified(self) -> bool:
        """Intact, and every seal was checked."""
        return not self.problems and not self.unverified


def _written_as(e: Entry, shifts: Iterable[int]) -> int | None:
    for d in shifts:
        if d and e.seq + d > 0 and entry_hash(e.prev_hash, e, seq=e.seq + d) == e.hash:
            return e.seq + d
    return None


def verify_entries(
    entries: Iterable[Entry],
    *,
    node_id: str,
    verify_key: VerifyKey | Sequence[VerifyKey],
    prev_hash: bytes = GENESIS,
    first_seq: int = 1,
    partial_keys: tuple[str, str] | None = None,
) -> Report:
    """Recompute the chain and check every seal; name each tampering found.

    ``verify_key`` is the node's identity key, or every identity key it has
    had (its current key and the earlier ones the federation manifest lists
    for it): a seal names the key id that made it, so seals made before a
    key rotation still verify with the key of their time.

    ``partial_keys`` says that the keys may not be all the node ever had, as
    (where they come from, how to get the others), e.g. ("this identity
    file", "verify with --manifest"): a seal naming a key id among none of
    them is then reported in ``unverified`` (not forged: a legitimate seal
    made after a key rotation looks so), instead of in ``problems``.

    Reads ``entries`` once, with a bounded look-ahead.
    """
    keys = [verify_key] if isinstance(verify_key, VerifyKey) else list(verify_key)
    rep = Report(first_seq=first_seq)
    it = iter(entries)
    ahead: deque[Entry] = deque()
    for e in it:
        ahead.append(e)
        if len(ahead) >= _LOOKAHEAD:
            break
    prev: Entry | None = None
    prev2_hash: bytes | None = None
    expected_seq = first_seq
    chain_ok = True  # no problem so far: seals vouch for what they cover
    shift = 0  # renumbering seen (entries written as seq + shift)
    renumbered = 0
    reorder_block: set[bytes] = set()  # hashes of entries moved by a reordering
    reorder_skip = 0
    while ahead:
        r = ahead.popleft()
        nxt = next(it, None)
        if nxt is not None:
            ahead.append(nxt)
        rep.entries += 1
        rep.last_seq = r.seq
        expected_prev = prev.hash if prev is not None else prev_hash
        self_ok = entry_hash(r.prev_hash, r) == r.hash
        link_ok = r.prev_hash == expected_prev
        found: list[str] = []
        explained = False
        if reorder_skip:  # inside a reordered block: named already
            reorder_skip -= 1
            explained = True
        elif reorder_block:  # the entry after the block follows one of its entries
            if r.prev_hash in reorder_block:
                link_ok, explained = True, True
            reorder_block.clear()
        if r.seq > expected_seq:
            missing = f"entry {expected_seq}" if r.seq == expected_seq + 1 else f"entries {expected_seq}-{r.seq - 1}"
            found.append(
                f"seq {expected_seq}: removed: {missing} missing (the log jumps from {expected_seq - 1} to {r.seq})"
            )
        elif r.seq < expected_seq:
            found.append(f"seq {r.seq}: out of order (after seq {expected_seq - 1}): entries reordered or inserted")
        if not link_ok and not explained:
            later = [a for a in ahead if a.hash == r.prev_hash]
            if later:
                x = later[0]
                found.append(
                    f"seq {r.seq}: reordered: this entry ({r.kind}) was chained after entry seq {x.seq} "
                    f"({x.kind}) but now comes before it"
                )
                block = [a for a in ahead if a.seq <= x.seq]
                reorder_block = {r.hash, *(a.hash for a in block)}
                reorder_skip = len(block)
                explained = True
            elif prev is not None and prev2_hash is not None and r.prev_hash == prev2_hash:
                found.append(
                    f"seq {prev.seq}: inserted: entry {prev.seq} ({prev.kind}) is not in the chain "
                    f"(entry {r.seq} was chained directly after entry {prev.seq - 1})"
                )
                shift = -1
                explained = True
            elif r.seq > expected_seq:
                explained = True  # the removal above
            else:
                orig = None if self_ok else _written_as(r, range(1, 4))
                if orig is not None:
                    n = orig - r.seq
                    found.append(
                        f"seq {r.seq}: removed: {n} entr{'y' if n == 1 else 'ies'} before this one "
                        f"(it was written as seq {orig}; the entries after the removal were renumbered)"
                    )
                    shift = n
                    explained = True
                elif prev is not None and self_ok:
                    found.append(
                        f"seq {prev.seq}: edited: entry {prev.seq} ({prev.kind}) was changed and its hash "
                        f"recomputed (entry {r.seq} still names its original hash)"
                    )
                else:
                    found.append(f"seq {r.seq}: chain broken: this entry does not follow the entry before it")
        written = r.seq
        if not self_ok:
            orig = _written_as(r, (shift, 1, -1, 2, -2))
            written = orig or r.seq
            if orig is not None and (explained or shift):
                renumbered += 1
            elif orig is not None:
                found.append(f"seq {r.seq}: moved: this entry was written as seq {orig}")
            else:
                found.append(f"seq {r.seq}: edited: the contents of this {r.kind!r} entry no longer match its hash")
        named = [k for k in keys if k.key_id == r.detail] if r.kind == "seal" else []
        if r.kind == "seal" and not named and partial_keys is not None:
            rep.seals += 1
            source, advice = partial_keys
            rep.unverified.append(f"seq {r.seq}: seal signed by key {r.detail}, not in {source}: {advice}")
        elif r.kind == "seal":
            rep.seals += 1
            candidates = named or keys
            good = False
            for key in candidates:
                try:
                    key.verify(SEAL_PURPOSE, r.signature or b"", *_seal_parts(r.peer, written - 1, r.prev_hash))
                    good = r.peer == node_id
                    break
                except CryptoError:
                    continue
            if not good:
                tried = ", ".join(f"{k.key_id} (fingerprint {k.fingerprint})" for k in candidates)
                found.append(
                    f"seq {r.seq}: forged seal: its signature does not verify with {node_id}'s identity key {tried}"
                )
            elif chain_ok and not found:
                rep.sealed_through = r.seq
        rep.problems.extend(found)
        if found:
            chain_ok = False
        prev2_hash = prev.hash if prev is not None else prev_hash
        prev = r
        expected_seq = max(expected_seq, r.seq) + 1
    if renumbered:
        rep.notes.append(f"{renumbered} entries carry another seq than the one they were written with (renumbered)")
    if rep.entries and rep.sealed_through < rep.last_seq and not rep.unverified:
        if rep.sealed_through:
            rep.notes.append(
                f"entries {rep.sealed_through + 1}-{rep.last_seq} come after the last good seal "
                f"(seq {rep.sealed_through}): chained but not signed yet"
            )
        else:
            rep.notes.append("no good seal yet: the entries are chained but not signed")
    return rep


# -- export --------------------------------------------------------------------------


def export_range(path: Path, *, node_id: str, from_seq: int, to_seq: int) -> dict[str, Any]:
    """Entries ``from_seq``..``to_seq`` and on to the first seal covering them, for another authority.

    Raises:
        TamgaError: the range is empty or not yet sealed (run 'tamga audit seal').
    """
    if from_seq < 1 or to_seq < from_seq:
        raise TamgaError(f"audit export: bad range {from_seq}..{to_seq} (seq starts at 1, --from <= --to)")
    prev_hash = GENESIS
    if from_seq > 1:
        before = list(read_entries(path, from_seq=from_seq - 1, to_seq=from_seq - 1))
        if not before:
            raise TamgaError(f"{path}: audit entry {from_seq - 1} (before the range) is missing")
        prev_hash = before[0].hash
    entries: list[dict[str, Any]] = []
    sealed = False
    for e in read_entries(path, from_seq=from_seq):
        entries.append(e.to_json())
        if e.seq >= to_seq and e.kind == "seal":
            sealed = True
            break
    if not entries or entries[0]["seq"] != from_seq:
        raise TamgaError(f"{path}: no audit entry {from_seq}")
    if not sealed:
        raise TamgaError(
            f"{path}: entries up to {to_seq} are not sealed yet; run 'tamga audit seal' (or stop the node) first"
        )
    seals = [e["seq"] for e in entries if e["kind"] == "seal"]
    return {
        "format": EXPORT_FORMAT,
        "node_id": node_id,
        "from": from_seq,
        "to": to_seq,
        "prev_hash": prev_hash.hex(),
        "seals": seals,
        "entries": entries,
    }


def verify_export(
    doc: dict[str, Any],
    *,
    node_id: str,
    verify_key: VerifyKey | Sequence[VerifyKey],
    where: str,
    partial_keys: tuple[str, str] | None = None,
) -> Report:
    """Check an exported range with the node's public key(s).

    With ``partial_keys`` (see :func:`verify_entries`), seals by keys not
    given are unverified rather than forged, and a range covered only by
    such seals is unverified rather than tampered.

    Raises:
        TamgaError: not an audit export, or one of another node.
    """
    if not isinstance(doc, dict) or doc.get("format") != EXPORT_FORMAT:
        raise TamgaError(f"{where}: not a Tamga audit export (format must be {EXPORT_FORMAT!r})")
    if doc.get("node_id") != node_id:
        raise TamgaError(f"{where}: the export is of node {doc.get('node_id')!r}, the identity file is of {node_id!r}")
    try:
        entries = [Entry.from_json(d) for d in doc["entries"]]
        prev = bytes.fromhex(doc["prev_hash"])
        from_seq, to_seq = int(doc["from"]), int(doc["to"])
    except (KeyError, TypeError, ValueError) as exc:
        raise TamgaError(f"{where}: malformed audit export: {exc}") from exc
    rep = verify_entries(
        entries, node_id=node_id, verify_key=verify_key, prev_hash=prev, first_seq=from_seq, partial_keys=partial_keys
    )
    if rep.sealed_through < to_seq:
        uncovered = (
            f"the range {from_seq}-{to_seq} is not covered by a good seal (sealed through {rep.sealed_through or '-'})"
        )
        (rep.unverified if rep.unverified and not rep.problems else rep.problems).append(uncovered)
    return rep
