"""Text a peer, an identity file or a receipt controls never reaches the operator's terminal raw.

Rules under test (node/terminal.py, node/protocol/_identity.py, node/cli.py):
an identity file whose text holds control characters (an escape sequence in
the authority, which ``tamga peer add`` prints right where the fingerprint is
compared) is refused, naming the field and the characters as escapes; and
``tamga status``, text and ``--json``, shows what a hostile peer managed to
get into the store (a sender id in the refused log, a gRPC status message as
the last error, a receipt's detail) with every control character escaped.

The rows a hostile peer would cause are written into the node's real store
through the store's own methods (what the receiver and the delivery loop
call), so the test does not depend on how much of such text the node keeps.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from pathlib import Path

import pytest
from tamga.config import load_config
from tamga.crypto import EncryptionKey, SigningKey
from tamga.home import export_identity
from tamga.protocol import LocalIdentity, ReceiptOutcome
from tamga.store import Store
from tamga.terminal import safe
from tamga.v1 import envelope_pb2

from .helpers import assert_one_line_error, describe, run_tamga

pytestmark = pytest.mark.slow

CLEAR_SCREEN = "\x1b[2J\x1b[H"
RAW = ("\x1b", "\x9b", "\u202e", "\x07", "\r")  # ESC, CSI (C1), right-to-left override, bell, carriage return


def _no_raw_control(text: str) -> None:
    for ch in RAW:
        assert ch not in text, f"raw {ch!r} reached the terminal:\n{text!r}"


def _init(home: Path, node_id: str) -> None:
    result = run_tamga("init", home, "--id", node_id, "--country", node_id, "--listen", "127.0.0.1:0")
    assert result.returncode == 0, describe(result)


def _identity_file(path: Path, *, authority: str, endpoints: tuple[str, ...] = ("127.0.0.1:7411",)) -> Path:
    """A validly signed identity file of node UZ whose signed text is ``authority`` and ``endpoints``."""
    uz = LocalIdentity("UZ", "UZ", authority, SigningKey.generate(), EncryptionKey.generate())
    path.write_text(export_identity(uz, list(endpoints)), "utf-8")
    return path


@pytest.mark.parametrize(
    ("field", "authority", "endpoints", "shown"),
    [
        ("authority", f"{CLEAR_SCREEN}Customs of UZ\r\n  fingerprint: 0000 0000", ("127.0.0.1:7411",), "\\x1b"),
        ("authority", "Customs of UZ \u202eevil", ("127.0.0.1:7411",), "\\u202e"),
        ("endpoints[0]", "Customs of UZ", ("127.0.0.1:7411\x9b2J",), "\\x9b"),
    ],
    ids=["escape-in-authority", "bidi-override-in-authority", "csi-in-endpoint"],
)
def test_peer_add_refuses_an_identity_file_with_control_characters(
    tmp_path: Path, field: str, authority: str, endpoints: tuple[str, ...], shown: str
) -> None:
    home = tmp_path / "kz"
    _init(home, "KZ")
    identity = _identity_file(tmp_path / "uz.identity.json", authority=authority, endpoints=endpoints)
    result = run_tamga("peer", "add", identity, "--home", home)
    line = assert_one_line_error(result, str(identity), repr(field), shown, "control characters")
    _no_raw_control(result.stdout + result.stderr)
    assert "added peer" not in result.stdout, line
    assert not (home / "peers" / "UZ.identity.json").exists(), "the refused peer was added"


def test_peer_add_refuses_control_characters_in_the_readable_fields_too(tmp_path: Path) -> None:
    home = tmp_path / "kz"
    _init(home, "KZ")
    identity = _identity_file(tmp_path / "uz.identity.json", authority="Customs of UZ")
    doc = json.loads(identity.read_text("utf-8"))
    doc["authority"] = f"{CLEAR_SCREEN}Customs of UZ"  # not signed, but shown by anyone reading the file
    identity.write_text(json.dumps(doc), "utf-8")
    result = run_tamga("peer", "add", identity, "--home", home)
    assert_one_line_error(result, "'authority'", "\\x1b")
    _no_raw_control(result.stdout + result.stderr)
    assert not (home / "peers" / "UZ.identity.json").exists()


def test_a_clean_identity_file_is_added_with_its_fingerprint(tmp_path: Path) -> None:
    home = tmp_path / "kz"
    _init(home, "KZ")
    identity = _identity_file(tmp_path / "uz.identity.json", authority="Ўзбекистон божхона қўмитаси")
    result = run_tamga("peer", "add", identity, "--home", home)
    assert result.returncode == 0, describe(result)
    assert "Ўзбекистон божхона қўмитаси" in result.stdout  # other scripts pass unchanged
    listed = run_tamga("peer", "list", "--home", home)
    assert listed.returncode == 0 and "Ўзбекистон божхона қўмитаси" in listed.stdout, describe(listed)


HOSTILE_SENDER = f"EVIL{CLEAR_SCREEN}"
HOSTILE_ERROR = f"StatusCode.UNAVAILABLE: {CLEAR_SCREEN}\x9b31mall peers OK\u202e\r"
HOSTILE_DETAIL = f"\x1b]0;pwned\x07{CLEAR_SCREEN}\u202erecord accepted"


async def _hostile_rows(db: Path) -> None:
    """What a hostile UZ (and a client naming itself EVIL...) left in KZ's store."""
    now = time.time()
    # An outbox row for UZ, then the receipt that rejects it with a hostile detail.
    with sqlite3.connect(db) as conn:
        conn.execute(
            "INSERT INTO outbox (peer, message_id, record_type, envelope, digest, source, submitted_at)"
            " VALUES ('UZ', 'm-1', 'declaration_snapshot', x'00', x'00', 'batch.json', ?)",
            (now,),
        )
    store = await Store.open(db, create=False)
    try:
        reason = envelope_pb2.REJECT_REASON_MALFORMED_RECORD
        rejected = ReceiptOutcome("m-1", envelope_pb2.RECEIPT_STATUS_REJECTED, reason, HOSTILE_DETAIL)
        await store.settle("UZ", batch_id="b-1", signed=envelope_pb2.SignedReceiptBatch(), outcomes=[rejected], now=now)
        # The delivery loop keeps the gRPC status message of the peer's answer as the last error.
        await store.record_failure("UZ", error=HOSTILE_ERROR, now=now, retry_at=now + 60)
        # The receiver logs an envelope refused from a sender id a client claimed, with its sequence number.
        await store.accept(
            [],
            [(HOSTILE_SENDER, f"m{CLEAR_SCREEN}", "REJECT_REASON_UNKNOWN_SENDER", HOSTILE_DETAIL, b"\0" * 32, 7)],
            now=now,
        )
    finally:
        await store.close()


def test_status_escapes_what_peers_wrote_into_the_store(tmp_path: Path) -> None:
    home = tmp_path / "kz"
    _init(home, "KZ")
    identity = _identity_file(tmp_path / "uz.identity.json", authority="Customs of UZ")
    assert run_tamga("peer", "add", identity, "--home", home).returncode == 0
    config = load_config(home)
    asyncio.run(_hostile_rows(config.path(config.store.path)))

    text = run_tamga("status", "--home", home)
    assert text.returncode == 0, describe(text)
    _no_raw_control(text.stdout + text.stderr)
    # Escaped, not dropped: the operator sees that a peer sent something odd.
    assert "EVIL\\x1b[2J\\x1b[H" in text.stdout  # the refused sender, and its sequence line
    assert "\\x9b31mall peers OK\\u202e\\x0d" in text.stdout  # the last error
    assert "\\x1b]0;pwned\\x07" in text.stdout  # the receipt's detail

    machine = run_tamga("status", "--json", "--home", home)
    assert machine.returncode == 0, describe(machine)
    _no_raw_control(machine.stdout)
    doc = json.loads(machine.stdout)
    # What a peer wrote (a gRPC status message, a receipt's detail) is escaped before it is stored, so the
    # JSON carries the escaped text; a sender id it named is kept as it came and escaped by JSON itself.
    assert doc["peers"]["UZ"]["last_error"] == safe(HOSTILE_ERROR)
    assert doc["recent_rejections"][0]["detail"] == safe(HOSTILE_DETAIL)
    assert HOSTILE_SENDER in doc["incoming_sequences"]


def test_doctor_and_the_error_line_escape_a_hostile_file_name(tmp_path: Path) -> None:
    """A file dropped into the peers folder under a name with an escape sequence: named, escaped."""
    home = tmp_path / "kz"
    _init(home, "KZ")
    (home / "peers" / f"UZ{CLEAR_SCREEN}.identity.json").write_text("not an identity file", "utf-8")
    doctor = run_tamga("doctor", "--home", home)
    assert doctor.returncode == 1, describe(doctor)
    _no_raw_control(doctor.stdout + doctor.stderr)
    assert any(x.startswith("PROBLEM  federation:") and "UZ\\x1b[2J\\x1b[H.identity.json" in x
               for x in doctor.stdout.splitlines()), describe(doctor)  # fmt: skip
    listed = run_tamga("peer", "list", "--home", home)
    assert_one_line_error(listed, "UZ\\x1b[2J\\x1b[H.identity.json", "not an identity file")
    _no_raw_control(listed.stdout + listed.stderr)
