"""Real ``tamga run`` processes: passphrase-encrypted keys at start, and replays across a restart.

Keys: a node whose key files are encrypted starts only with the right
passphrase (TAMGA_KEY_PASSPHRASE or [keys] passphrase_file), refuses with one
error line naming the file otherwise, and never shows the passphrase.

RPL-004: a fake peer (in this test process, over TLS on loopback) sends an
envelope to a real node process, the process is killed (SIGKILL, no graceful
stop) and started again, and the same envelope sent again is a DUPLICATE,
handed to the national system once.
"""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from pathlib import Path

import grpc
import pytest
from google.protobuf import json_format
from tamga.config import load_config
from tamga.crypto import EncryptionKey, SigningKey
from tamga.home import add_peer, encrypt_key_files, export_identity, load_local_identity
from tamga.protocol import LocalIdentity, check_receipts, envelope_digest, read_identity, seal
from tamga.tools.federation import patch_config
from tamga.transport import TlsIdentity, generate_tls_identity, open_channel
from tamga.v1 import envelope_pb2, exchange_pb2, exchange_pb2_grpc, records_pb2

from .helpers import assert_one_line_error, declaration, end_process, run_tamga, start_tamga_run, visible_files
from .test_cli import WAIT, InitNode, init_node, wait_listening

pytestmark = pytest.mark.slow

PASSPHRASE = "Tamga key passphrase \u2014 \u049b\u0430\u0437\u0430\u049b"
S = envelope_pb2.ReceiptStatus


@pytest.fixture(autouse=True)
def _no_passphrase_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TAMGA_KEY_PASSPHRASE", raising=False)


def encrypted_node(tmp_path: Path) -> InitNode:
    node = init_node(tmp_path, "KZ")
    assert len(encrypt_key_files(load_config(node.home), PASSPHRASE)) == 3  # signing, encryption, TLS
    return node


def test_an_encrypted_key_needs_its_passphrase_to_start(tmp_path: Path) -> None:
    node = encrypted_node(tmp_path)
    signing = node.home / "keys" / "signing.key"
    missing = run_tamga("run", "--home", node.home, timeout=WAIT)  # TAMGA_KEY_PASSPHRASE unset (fixture)
    assert_one_line_error(missing, str(signing), "encrypted with a passphrase", "TAMGA_KEY_PASSPHRASE")
    wrong = run_tamga("run", "--home", node.home, env={"TAMGA_KEY_PASSPHRASE": "Tr0ub4dor&3"}, timeout=WAIT)
    line = assert_one_line_error(wrong, str(signing), "wrong passphrase")
    assert "Tr0ub4dor" not in line
    assert not (node.home / "run" / "pid").exists(), "the node started anyway"


def test_the_node_refuses_a_readable_encrypted_key_file_even_with_the_passphrase(tmp_path: Path) -> None:
    node = encrypted_node(tmp_path)
    key = node.home / "keys" / "encryption.key"
    key.chmod(0o640)
    result = run_tamga("run", "--home", node.home, env={"TAMGA_KEY_PASSPHRASE": PASSPHRASE}, timeout=WAIT)
    assert_one_line_error(result, str(key), "chmod 600", "0640")
    assert not (node.home / "run" / "pid").exists()


def test_a_passphrase_file_must_be_owner_only(tmp_path: Path) -> None:
    node = encrypted_node(tmp_path)
    secret = node.home / "keys" / "passphrase"
    secret.write_text(PASSPHRASE + "\n", "utf-8")
    secret.chmod(0o644)
    patch_config(node.home, "keys", {"passphrase_file": "keys/passphrase"})
    result = run_tamga("run", "--home", node.home, timeout=WAIT)
    assert_one_line_error(result, str(secret), "passphrase_file", "chmod 600")


@pytest.mark.parametrize("source", ["environment", "passphrase_file"])
def test_the_node_starts_with_the_passphrase_and_never_shows_it(
    tmp_path: Path, source: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    node = encrypted_node(tmp_path)
    env = {}
    if source == "environment":
        env = {"TAMGA_KEY_PASSPHRASE": PASSPHRASE}
    else:
        secret = node.home / "keys" / "passphrase"
        secret.write_text(PASSPHRASE + "\n", "utf-8")
        secret.chmod(0o600)
        patch_config(node.home, "keys", {"passphrase_file": "keys/passphrase"})
    exported = run_tamga("identity", "export", "--home", node.home, env=env, timeout=WAIT)
    assert exported.returncode == 0, exported.stderr
    assert PASSPHRASE not in exported.stdout + exported.stderr
    log = tmp_path / "run.log"
    for k, v in env.items():
        monkeypatch.setenv(k, v)  # start_tamga_run passes the test process's environment
    proc = start_tamga_run(node.home, log)
    try:
        wait_listening(proc, node, log)
    finally:
        code = end_process(proc)
    text = log.read_text("utf-8", "replace")
    assert code == 0, text
    assert PASSPHRASE not in text and PASSPHRASE.encode("utf-8").hex() not in text


# -- RPL-004 across a process restart -------------------------------------------------------


def test_rpl_004_replay_after_the_node_process_is_killed_and_restarted_is_duplicate(tmp_path: Path) -> None:
    """RPL-004: replay still detected after the node process restarts (killed with SIGKILL)."""
    uz = init_node(tmp_path, "UZ")
    tls = generate_tls_identity("KZ", now=time.time())
    kz = LocalIdentity(
        "KZ",
        "KZ",
        "Customs service of KZ",
        SigningKey.generate(),
        EncryptionKey.generate(),
        tls_key=tls.key_pem,
        tls_certificate=tls.certificate,
    )
    ident = tmp_path / "KZ.identity.json"
    ident.write_text(export_identity(kz, ["127.0.0.1:1"]), "utf-8")
    add_peer(load_config(uz.home), ident)
    uz_peer = read_identity(load_local_identity(load_config(uz.home)).identity_document([], time.time()))
    item = declaration("10702020/010326/0000042", sender="KZ", receivers=["UZ"])
    record = json_format.ParseDict(item, records_pb2.Record())
    sealed = seal(
        local=kz,
        peer=uz_peer,
        record_bytes=record.SerializeToString(),
        record_type=record.WhichOneof("body"),
        message_id=str(uuid.uuid4()),
        now=time.time(),
    )
    env = envelope_pb2.Envelope.FromString(sealed.envelope)

    async def send() -> int:
        batch = envelope_pb2.EnvelopeBatch(batch_id=str(uuid.uuid4()), envelopes=[env])
        creds = TlsIdentity(key_pem=kz.tls_key, certificate=kz.tls_certificate)
        async with open_channel(f"127.0.0.1:{uz.port}", peer=uz_peer, tls=creds) as channel:
            call = exchange_pb2_grpc.ExchangeServiceStub(channel).Exchange(timeout=WAIT)
            await call.write(exchange_pb2.ExchangeRequest(batch=batch))
            resp = await asyncio.wait_for(call.read(), WAIT)
            assert resp is not grpc.aio.EOF
            await call.done_writing()
        [o] = check_receipts(
            resp.receipts, local=kz, peer=uz_peer, batch_id=batch.batch_id, sent={sealed.message_id: sealed.digest}
        )
        return o.status

    def incoming_wait(n: int) -> None:
        deadline = time.monotonic() + WAIT
        while len(visible_files(uz.home / "incoming")) < n:
            assert time.monotonic() < deadline, "the record was not handed off"
            time.sleep(0.05)

    log = tmp_path / "uz.log"
    proc = start_tamga_run(uz.home, log)
    try:
        wait_listening(proc, uz, log)
        assert asyncio.run(send()) == S.RECEIPT_STATUS_ACCEPTED
        incoming_wait(1)
        proc.send_signal(signal.SIGKILL)
        proc.wait(WAIT)
    finally:
        end_process(proc)
    assert envelope_digest(env) == sealed.digest
    proc = start_tamga_run(uz.home, log)
    try:
        wait_listening(proc, uz, log)
        assert asyncio.run(send()) == S.RECEIPT_STATUS_DUPLICATE
        time.sleep(0.5)
        files = visible_files(uz.home / "incoming")
        assert len(files) == 1, files
        assert sealed.message_id in files[0].name
    finally:
        assert end_process(proc) == 0, log.read_text("utf-8", "replace")
