"""The ``tamga`` console script as an operator meets it, run as a real subprocess.

Rules under test (node/cli.py): every subcommand explains itself with
--help; a wrong command line, a missing configuration or an unreadable key
prints one line starting with "tamga: error:" and exits non-zero, never a
traceback; private keys are written 0600 in a 0700 folder and never appear
in any output or log; ``tamga run`` stops gracefully on SIGTERM.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import re
import shutil
import signal
import socket
import sqlite3
import stat
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
from tamga.crypto import EncryptionKey
from tamga.tools.federation import free_port, wait_for
from tamga.v1 import identity_pb2

from .helpers import (
    TAMGA,
    assert_one_line_error,
    declaration,
    describe,
    end_process,
    records_file,
    run_tamga,
    start_tamga_run,
)

pytestmark = pytest.mark.slow

WAIT = 30.0  # seconds: upper bound of every wait for a node process in this file
UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
FINGERPRINT = re.compile(r"fingerprint:\s+((?:[0-9a-f]{4} ){9}[0-9a-f]{4})\s*$", re.M)


@dataclass
class InitNode:
    home: Path
    node_id: str
    port: int
    fingerprint: str
    init_output: str

    @property
    def signing_key(self) -> Path:
        return self.home / "keys" / "signing.key"

    @property
    def encryption_key(self) -> Path:
        return self.home / "keys" / "encryption.key"


def init_node(root: Path, node_id: str, country: str | None = None) -> InitNode:
    """``tamga init`` a node directory listening on a free loopback port."""
    port = free_port()
    home = root / node_id.lower()
    result = run_tamga("init", home, "--id", node_id, "--country", country or node_id, "--listen", f"127.0.0.1:{port}")
    assert result.returncode == 0, describe(result)
    m = FINGERPRINT.search(result.stdout)
    assert m, f"init prints the fingerprint\n{describe(result)}"
    return InitNode(home, node_id, port, m.group(1), result.stdout)


def export_identity_file(node: InitNode, out: Path) -> Path:
    result = run_tamga("identity", "export", "--home", node.home, "-o", out)
    assert result.returncode == 0, describe(result)
    return out


def clone(template: InitNode, root: Path) -> InitNode:
    """A copy of a node directory made by ``tamga init`` (modes kept; same keys and port)."""
    home = root / template.home.name
    shutil.copytree(template.home, home)
    return dataclasses.replace(template, home=home)


@dataclass
class Templates:
    """Node directories made once per module with the real commands; tests work on clones."""

    bare: InitNode  # KZ, just initialised
    peered: InitNode  # KZ with peer UZ added by 'tamga peer add', run once (its store exists)
    uz: InitNode
    uz_identity: Path


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Templates:
    root = tmp_path_factory.mktemp("templates")
    bare = init_node(root / "bare", "KZ")
    uz = init_node(root, "UZ")
    ident = export_identity_file(uz, root / "UZ.identity.json")
    peered = init_node(root / "peered", "KZ")
    result = run_tamga("peer", "add", ident, "--home", peered.home)
    assert result.returncode == 0, describe(result)
    # A node's first run creates its store (see test_status_and_send_right_after_init).
    run_briefly(peered, root / "kz-first-run.log")
    return Templates(bare, peered, uz, ident)


def wait_listening(proc: subprocess.Popen[bytes], node: InitNode, log: Path) -> None:
    """Until the node's run files name this process and its address, and the port accepts."""
    run = node.home / "run"

    def ready() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"tamga run exited with {proc.returncode}:\n{log.read_text('utf-8', 'replace')}")
        try:
            if int((run / "pid").read_text()) != proc.pid:
                return False
            if (run / "listen").read_text().strip() != f"127.0.0.1:{node.port}":
                return False
        except (OSError, ValueError):
            return False
        with socket.socket() as s:
            s.settimeout(1)
            return s.connect_ex(("127.0.0.1", node.port)) == 0

    wait_for(ready, WAIT, what=f"tamga run of {node.node_id} listening")


def run_briefly(node: InitNode, log: Path) -> None:
    """Start ``tamga run``, wait until it listens, SIGTERM it; it must exit 0."""
    proc = start_tamga_run(node.home, log)
    try:
        wait_listening(proc, node, log)
    finally:
        code = end_process(proc)
    assert code == 0, log.read_text("utf-8", "replace")


def private_key_texts(node: InitNode) -> list[str]:
    """The private key material of a node in the forms it could leak as: base64 and hex."""
    out = []
    for path in (node.signing_key, node.encryption_key):
        b64 = tomllib.loads(path.read_text("utf-8"))["private_key"]
        raw = base64.b64decode(b64)
        assert len(raw) == 32
        out += [b64, raw.hex(), base64.urlsafe_b64encode(raw).decode().rstrip("=")]
    return out


# -- help ---------------------------------------------------------------------------

HELP = [
    ([], "customs"),
    (["init"], "keys"),
    (["identity"], "identity"),
    (["identity", "export"], "public keys"),
    (["peer"], "peer"),
    (["peer", "add"], "fingerprint"),
    (["peer", "list"], "fingerprints"),
    (["run"], "SIGTERM"),
    (["send"], "queue"),
    (["status"], "queued"),
    (["adapters"], "adapters"),
    (["adapters", "list"], "adapters"),
]


@pytest.mark.parametrize(("command", "word"), HELP, ids=[" ".join(c) or "tamga" for c, _ in HELP])
def test_help_describes_every_command(command: list[str], word: str) -> None:
    result = run_tamga(*command, "--help")
    assert result.returncode == 0, describe(result)
    assert result.stderr == "", describe(result)
    assert result.stdout.startswith("usage: tamga"), describe(result)
    assert word in result.stdout, describe(result)
    if command:
        # The usage line names the command: each --help is its own, not the top-level one.
        assert f"tamga {' '.join(command)}" in result.stdout.splitlines()[0], describe(result)


def test_version_and_installed_adapters() -> None:
    assert TAMGA.exists()
    result = run_tamga("--version")
    assert result.returncode == 0 and re.fullmatch(r"tamga \d+\.\d+\.\d+\S*\n", result.stdout), describe(result)
    result = run_tamga("adapters", "list")
    assert result.returncode == 0, describe(result)
    assert re.search(r"^json\s+tamga\.adapters\.json_records:JsonAdapter$", result.stdout, re.M), describe(result)


# -- wrong command lines --------------------------------------------------------------

USAGE_ERRORS = [
    (["frobnicate"], "frobnicate"),
    ([], "COMMAND"),
    (["send"], "file"),
    (["init", "somewhere", "--country", "KZ"], "--id"),
    (["init", "somewhere", "--id", "KZ"], "--country"),
    (["peer"], "COMMAND"),
    (["peer", "remove", "x"], "remove"),
    (["identity", "export", "--bogus"], "--bogus"),
    (["status", "--json", "extra"], "extra"),
    (["run", "--log-format", "xml"], "xml"),
]


@pytest.mark.parametrize(("argv", "needle"), USAGE_ERRORS, ids=[" ".join(a) or "no-args" for a, _ in USAGE_ERRORS])
def test_wrong_command_line_is_one_error_line(tmp_path: Path, argv: list[str], needle: str) -> None:
    result = run_tamga(*argv, cwd=tmp_path)
    assert_one_line_error(result, needle)
    assert result.stdout == ""
    assert not (tmp_path / "somewhere").exists(), "a refused command created something"


def test_init_refuses_an_invalid_node_or_an_existing_one(tmp_path: Path) -> None:
    assert_one_line_error(run_tamga("init", tmp_path / "a", "--id", "KZ", "--country", "kz"), "country")
    assert_one_line_error(run_tamga("init", tmp_path / "b", "--id", "no spaces", "--country", "KZ"), "node id")
    node = init_node(tmp_path, "KZ")
    before = node.signing_key.read_bytes()
    result = run_tamga("init", node.home, "--id", "KZ", "--country", "KZ")
    assert_one_line_error(result, "already")
    assert node.signing_key.read_bytes() == before, "init overwrote an existing node's key"


# -- missing configuration ----------------------------------------------------------------

MISSING_CONFIG = [
    ["status"],
    ["status", "--json"],
    ["run"],
    ["send", "records.json", "--to", "UZ"],
    ["peer", "list"],
    ["peer", "add", "peer.identity.json"],
    ["identity", "export"],
]


@pytest.mark.parametrize("argv", MISSING_CONFIG, ids=" ".join)
def test_missing_configuration_is_one_line_pointing_to_init(tmp_path: Path, argv: list[str]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (tmp_path / "records.json").write_bytes(records_file([declaration("DEC-1")]))
    result = run_tamga(*argv, "--home", empty, cwd=tmp_path)
    assert_one_line_error(result, "tamga init", "tamga.toml")
    assert sorted(empty.iterdir()) == [], "a command against a missing node created files"


def test_missing_configuration_via_tamga_home_and_current_directory(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert_one_line_error(run_tamga("status", env={"TAMGA_HOME": str(empty)}, cwd=tmp_path), "tamga init")
    assert_one_line_error(run_tamga("run", cwd=empty), "tamga init")


# -- keys ------------------------------------------------------------------------------------


@pytest.mark.parametrize("umask", [0o022, 0o000], ids=lambda m: f"umask-{m:03o}")
def test_init_writes_private_keys_0600_in_a_0700_folder(tmp_path: Path, umask: int) -> None:
    home = tmp_path / "kz"
    result = run_tamga("init", home, "--id", "KZ", "--country", "KZ", "--listen", "127.0.0.1:7400", umask=umask)
    assert result.returncode == 0, describe(result)
    assert stat.S_IMODE((home / "keys").stat().st_mode) == 0o700
    keys = sorted((home / "keys").iterdir())
    assert [k.name for k in keys] == ["encryption.key", "signing.key", "tls.crt", "tls.key"]
    for key in keys:
        # tls.crt is the public certificate peers pin; every private key is 0600.
        assert stat.S_IMODE(key.stat().st_mode) == (0o644 if key.name == "tls.crt" else 0o600), key
    assert "0600" in result.stdout
    node = InitNode(home, "KZ", 7400, "", result.stdout)
    for secret in private_key_texts(node):
        assert secret not in result.stdout + result.stderr


@pytest.mark.parametrize("which", ["signing", "encryption", "tls"])
def test_run_refuses_a_key_file_others_can_read(templates: Templates, tmp_path: Path, which: str) -> None:
    node = clone(templates.bare, tmp_path)
    key = node.home / "keys" / f"{which}.key"
    key.chmod(0o644)
    result = run_tamga("run", "--home", node.home, timeout=WAIT)
    line = assert_one_line_error(result, "chmod 600", str(key))
    assert "0644" in line
    assert not (node.home / "run" / "pid").exists(), "the node started anyway"


@pytest.mark.parametrize("command", [["run"], ["identity", "export"]], ids=" ".join)
def test_a_missing_key_file_is_named(templates: Templates, tmp_path: Path, command: list[str]) -> None:
    node = clone(templates.bare, tmp_path)
    node.signing_key.unlink()
    result = run_tamga(*command, "--home", node.home, timeout=WAIT)
    assert_one_line_error(result, str(node.signing_key), "not found")


CORRUPTIONS = {
    "garbage-text": lambda text: "this is not a key\n",
    "binary": lambda text: bytes(range(256)) * 4,
    "empty": lambda text: "",
    "bad-base64": lambda text: re.sub(r'private_key = "(.{10})', r'private_key = "\1!!', text),
    "short-key": lambda text: re.sub(r'private_key = ".*"', 'private_key = "AAAA"', text),
    "wrong-kind": lambda text: text.replace('"ed25519:1"', '"x25519:1"'),
    "bad-version": lambda text: text.replace('"ed25519:1"', '"ed25519:zero"'),
    "unterminated": lambda text: text[: len(text) // 2 + 40],
}


@pytest.mark.parametrize("kind", list(CORRUPTIONS))
def test_a_corrupt_key_file_is_one_error_line_without_the_key(templates: Templates, tmp_path: Path, kind: str) -> None:
    node = clone(templates.bare, tmp_path)
    secrets = private_key_texts(node)
    original = node.signing_key.read_text("utf-8")
    damaged = CORRUPTIONS[kind](original)
    if isinstance(damaged, bytes):
        node.signing_key.write_bytes(damaged)
    else:
        assert damaged != original
        node.signing_key.write_text(damaged, "utf-8")
    node.signing_key.chmod(0o600)
    result = run_tamga("run", "--home", node.home, timeout=WAIT)
    assert_one_line_error(result, str(node.signing_key))
    for secret in secrets:
        assert secret[:12] not in result.stderr + result.stdout, "the error shows private key material"


def test_private_keys_appear_neither_in_the_identity_file_nor_in_the_log(tmp_path: Path) -> None:
    node = init_node(tmp_path, "KZ")
    secrets = private_key_texts(node)
    result = run_tamga("identity", "export", "--home", node.home)
    assert result.returncode == 0, describe(result)
    doc = json.loads(result.stdout)
    assert doc["fingerprint"] == node.fingerprint
    assert doc["endpoints"] == [f"127.0.0.1:{node.port}"]
    log = tmp_path / "run.log"
    run_briefly(node, log)
    text = log.read_text("utf-8")
    assert "node_started" in text and "node_stopped" in text, text
    for secret in secrets:
        assert secret not in result.stdout + result.stderr, "private key in the identity export"
        assert secret not in text, "private key in the node log"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=lambda s: s.name)
def test_run_stops_gracefully_on_a_signal(tmp_path: Path, sig: signal.Signals) -> None:
    node = init_node(tmp_path, "KZ")
    log = tmp_path / "run.log"
    proc = start_tamga_run(node.home, log, "--log-format", "json")
    try:
        wait_listening(proc, node, log)
        proc.send_signal(sig)
        code = proc.wait(WAIT)
    finally:
        end_process(proc)
    text = log.read_text("utf-8")
    assert code == 0, text
    assert "Traceback" not in text, text
    events = [json.loads(line)["event"] for line in text.splitlines() if line.startswith("{")]
    assert events[-2:] == ["node_stopping", "node_stopped"], events
    assert not (node.home / "run" / "pid").exists(), "run/pid left behind after a graceful stop"
    assert not (node.home / "run" / "listen").exists()
    assert run_tamga("status", "--home", node.home).stdout.startswith("node KZ (KZ): not running")


# -- broken configuration ----------------------------------------------------------------------

BROKEN_CONFIG = {
    "invalid-toml": (lambda t: t.replace("[delivery]", "[delivery"), ["not valid TOML", "line"]),
    "unknown-key": (lambda t: t.replace("batch_size = 256", "batch_size = 256\nfrobnicate = 1"), ["frobnicate"]),
    "unknown-section": (lambda t: t + "\n[frobnicate]\nx = 1\n", ["[frobnicate]"]),
    "bad-duration": (lambda t: t.replace('poll_interval = "500ms"', 'poll_interval = "fast"'), ["poll_interval"]),
    "duration-number": (lambda t: t.replace('grace = "5s"', "grace = 5"), ["grace"]),
    "bad-integer": (lambda t: t.replace("batch_size = 256", 'batch_size = "many"'), ["batch_size"]),
    "negative-integer": (lambda t: t.replace("max_in_flight = 4", "max_in_flight = -1"), ["max_in_flight"]),
    "bad-listen": (lambda t: re.sub(r'listen = ".*"', 'listen = "nowhere"', t), ["listen"]),
    "bad-level": (lambda t: t.replace('level = "info"', 'level = "loud"'), ["level"]),
    "bad-country": (lambda t: t.replace('country = "KZ"', 'country = "Kazakhstan"'), ["country"]),
    "backoff-order": (lambda t: t.replace('backoff_initial = "1s"', 'backoff_initial = "1h"'), ["backoff_initial"]),
}


@pytest.mark.parametrize("kind", list(BROKEN_CONFIG))
@pytest.mark.parametrize("command", [["run"], ["status"]], ids=" ".join)
def test_broken_configuration_is_one_line_naming_the_key(
    templates: Templates, tmp_path: Path, kind: str, command: list[str]
) -> None:
    node = clone(templates.bare, tmp_path)
    config = node.home / "tamga.toml"
    edit, needles = BROKEN_CONFIG[kind]
    text = config.read_text("utf-8")
    broken = edit(text)
    assert broken != text, "the edit did not apply; tamga.toml changed shape"
    config.write_text(broken, "utf-8")
    result = run_tamga(*command, "--home", node.home, timeout=WAIT)
    assert_one_line_error(result, "tamga.toml", *needles)


# -- peers, sending and status ------------------------------------------------------------------


@pytest.fixture
def kz_with_peer_uz(templates: Templates, tmp_path: Path) -> tuple[InitNode, InitNode]:
    """KZ (a clone of the module's) with peer UZ, its store created; and UZ."""
    return clone(templates.peered, tmp_path), templates.uz


def status_json(node: InitNode) -> dict[str, object]:
    result = run_tamga("status", "--json", "--home", node.home)
    assert result.returncode == 0, describe(result)
    doc = json.loads(result.stdout)
    assert isinstance(doc, dict)
    return doc


def queued_for(node: InitNode, peer: str) -> int:
    """The QUEUED column of ``tamga status`` for ``peer``."""
    result = run_tamga("status", "--home", node.home)
    assert result.returncode == 0, describe(result)
    lines = result.stdout.splitlines()
    header = lines[1].split()
    assert header[:3] == ["PEER", "ENDPOINT", "QUEUED"], result.stdout
    rows = [line.split() for line in lines[2:] if line.split()[:1] == [peer]]
    assert len(rows) == 1, result.stdout
    return int(rows[0][2])


def test_peer_add_prints_the_fingerprint_init_printed(tmp_path: Path) -> None:
    kz = init_node(tmp_path, "KZ")
    uz = init_node(tmp_path, "UZ")
    ident = export_identity_file(uz, tmp_path / "UZ.identity.json")
    result = run_tamga("peer", "add", ident, "--home", kz.home)
    assert result.returncode == 0, describe(result)
    m = FINGERPRINT.search(result.stdout)
    assert m and m.group(1) == uz.fingerprint, describe(result)
    assert f"127.0.0.1:{uz.port}" in result.stdout
    tls_sha = json.loads(ident.read_text("utf-8"))["tls_certificate_sha256"]
    grouped = " ".join(tls_sha[i : i + 4] for i in range(0, len(tls_sha), 4))
    assert len(tls_sha) == 64 and f"TLS certificate SHA-256 {grouped}" in result.stdout, describe(result)
    # One format everywhere: the three lines UZ's init printed (what its authority reads out) are the ones
    # peer add shows, word for word.
    read_out = [
        line.strip()
        for line in uz.init_output.splitlines()
        if line.strip().startswith(("signing key ", "encryption key ", "TLS certificate "))
    ]
    assert len(read_out) == 3, uz.init_output
    for line in read_out:
        assert f"  {line}\n" in result.stdout, describe(result)
    listed = run_tamga("peer", "list", "--home", kz.home)
    assert listed.returncode == 0, describe(listed)
    assert uz.fingerprint in listed.stdout and "UZ" in listed.stdout
    assert kz.fingerprint not in listed.stdout


def _tamper(doc: dict[str, object], how: str) -> None:
    signed = identity_pb2.SignedIdentity.FromString(base64.b64decode(str(doc["signed_identity"])))
    ident = identity_pb2.NodeIdentity.FromString(signed.identity)
    if how == "authority":
        ident.authority = "Someone else entirely"
    elif how == "endpoint":
        del ident.endpoints[:]
        ident.endpoints.append("127.0.0.1:9")
    elif how == "encryption-key":
        ident.encryption_key.public_key = EncryptionKey.generate().public.raw
    if how in ("authority", "endpoint", "encryption-key"):
        signed.identity = ident.SerializeToString()
    elif how == "signature":
        sig = bytearray(signed.signature)
        sig[10] ^= 0x01
        signed.signature = bytes(sig)
    raw = signed.SerializeToString()
    if how == "truncated":
        raw = raw[: len(raw) // 2]
    doc["signed_identity"] = base64.b64encode(raw).decode()
    if how == "not-base64":
        doc["signed_identity"] = "%%% not base64 %%%"


@pytest.mark.parametrize("how", ["authority", "endpoint", "encryption-key", "signature", "truncated", "not-base64"])
def test_peer_add_refuses_a_tampered_identity_file(templates: Templates, tmp_path: Path, how: str) -> None:
    kz = clone(templates.bare, tmp_path)
    ident = tmp_path / "UZ.identity.json"
    shutil.copy(templates.uz_identity, ident)
    doc = json.loads(ident.read_text("utf-8"))
    _tamper(doc, how)
    ident.write_text(json.dumps(doc, indent=2), "utf-8")
    result = run_tamga("peer", "add", ident, "--home", kz.home)
    assert_one_line_error(result, str(ident))
    assert result.stdout == ""
    assert list((kz.home / "peers").iterdir()) == [], "the tampered peer was added"
    assert "no peers" in run_tamga("peer", "list", "--home", kz.home).stdout


def test_peer_add_shows_the_endpoint_it_will_use(templates: Templates, tmp_path: Path) -> None:
    """An unsigned 'local' section in a received identity file must not show one endpoint and store another."""
    kz = clone(templates.bare, tmp_path)
    ident = tmp_path / "UZ.identity.json"
    shutil.copy(templates.uz_identity, ident)
    doc = json.loads(ident.read_text("utf-8"))
    doc["local"] = {"endpoints": ["127.0.0.1:9"]}
    ident.write_text(json.dumps(doc, indent=2), "utf-8")
    result = run_tamga("peer", "add", ident, "--home", kz.home)
    listed = run_tamga("peer", "list", "--home", kz.home)
    if result.returncode != 0:  # refusing such a file is fine too
        assert_one_line_error(result, str(ident))
        return
    shown = re.search(r" at (\S+)$", result.stdout.splitlines()[0])
    assert shown, describe(result)
    used = listed.stdout.split()[2]
    assert shown.group(1) == used, (
        f"peer add said the peer is reached at {shown.group(1)}, the node will use {used}\n"
        f"{describe(result)}\n{describe(listed)}"
    )


def test_send_queues_records_and_status_shows_them(kz_with_peer_uz: tuple[InitNode, InitNode], tmp_path: Path) -> None:
    kz, uz = kz_with_peer_uz
    assert queued_for(kz, "UZ") == 0
    source = tmp_path / "one.json"
    source.write_bytes(records_file([declaration("DEC-SEND-1")]))
    result = run_tamga("send", source, "--to", "UZ", "--home", kz.home)
    assert result.returncode == 0, describe(result)
    assert "queued 1 record(s) from one.json" in result.stdout, describe(result)
    listed = [line for line in result.stdout.splitlines() if UUID.search(line) and line.rstrip().endswith("-> UZ")]
    assert len(listed) == 1, describe(result)
    message_id = UUID.search(listed[0]).group(0)  # type: ignore[union-attr]

    assert queued_for(kz, "UZ") == 1
    doc = status_json(kz)
    assert doc["node"] == "KZ" and doc["running"] is False
    peers = doc["peers"]
    assert isinstance(peers, dict)
    assert peers["UZ"]["queued"] == 1
    assert peers["UZ"]["fingerprint"] == uz.fingerprint
    assert doc["totals"] == {
        "queued": 1,
        "delivered": 0,
        "rejected": 0,
        "received": 0,
        "pending_handoff": 0,
        "refused": 0,
    }

    conn = sqlite3.connect(f"file:{kz.home / 'state' / 'tamga.db'}?mode=ro", uri=True)
    try:
        rows = list(conn.execute("SELECT message_id, peer, state FROM outbox"))
    finally:
        conn.close()
    assert rows == [(message_id, "UZ", "queued")]


def test_send_without_to_routes_by_receiver_country(kz_with_peer_uz: tuple[InitNode, InitNode], tmp_path: Path) -> None:
    kz, _ = kz_with_peer_uz
    source = tmp_path / "two.json"
    source.write_bytes(records_file([declaration("DEC-A"), declaration("DEC-B")]))
    result = run_tamga("send", source, "--home", kz.home)
    assert result.returncode == 0, describe(result)
    assert len(set(UUID.findall(result.stdout))) == 2, describe(result)
    assert queued_for(kz, "UZ") == 2


def test_send_refusals_are_one_line_and_queue_nothing(
    kz_with_peer_uz: tuple[InitNode, InitNode], tmp_path: Path
) -> None:
    kz, _ = kz_with_peer_uz
    good = tmp_path / "good.json"
    good.write_bytes(records_file([declaration("DEC-1")]))
    assert_one_line_error(run_tamga("send", good, "--to", "TM", "--home", kz.home), "'TM'", "UZ")

    malformed = tmp_path / "malformed.json"
    malformed.write_text('{"records": [\n  {"meta": }\n]}\n', "utf-8")
    line = assert_one_line_error(run_tamga("send", malformed, "--home", kz.home))
    assert "line 2" in line and "column" in line, line

    nowhere = tmp_path / "nowhere.json"
    nowhere.write_bytes(records_file([declaration("DEC-2", receivers=["TM"])]))
    assert_one_line_error(run_tamga("send", nowhere, "--home", kz.home), "TM")

    assert_one_line_error(run_tamga("send", tmp_path / "missing.json", "--home", kz.home), "missing.json")

    not_utf8 = tmp_path / "latin1.json"
    not_utf8.write_bytes('{"records": [{"declarationSnapshot": {"declarationNo": "Ü"}}]}'.encode("latin-1"))
    assert_one_line_error(run_tamga("send", not_utf8, "--home", kz.home), "UTF-8")

    # Half good, half bad: the file is accepted whole or not at all.
    half = tmp_path / "half.json"
    half.write_bytes(records_file([declaration("DEC-3"), declaration("DEC-4", receivers=["xx"])]))
    assert_one_line_error(run_tamga("send", half, "--home", kz.home), "records[1]")

    assert queued_for(kz, "UZ") == 0
    assert status_json(kz)["totals"]["queued"] == 0  # type: ignore[index]


def test_send_of_a_wrongly_shaped_record_is_one_line(
    kz_with_peer_uz: tuple[InitNode, InitNode], tmp_path: Path
) -> None:
    """A string where the schema wants an object: the protobuf parser's message has a line break."""
    kz, _ = kz_with_peer_uz
    source = tmp_path / "shape.json"
    record = declaration("DEC-1")
    record["declarationSnapshot"]["exporter"] = "ACME"  # type: ignore[index]
    source.write_bytes(records_file([record]))
    assert_one_line_error(run_tamga("send", source, "--home", kz.home), "exporter")


def test_status_and_send_right_after_init(tmp_path: Path) -> None:
    """init, peer add, send: the documented first steps, before the node ever ran."""
    kz = init_node(tmp_path, "KZ")
    uz = init_node(tmp_path, "UZ")
    ident = export_identity_file(uz, tmp_path / "UZ.identity.json")
    assert run_tamga("peer", "add", ident, "--home", kz.home).returncode == 0
    status = run_tamga("status", "--home", kz.home)
    assert status.returncode == 0, describe(status)
    source = tmp_path / "one.json"
    source.write_bytes(records_file([declaration("DEC-1")]))
    result = run_tamga("send", source, "--to", "UZ", "--home", kz.home)
    assert result.returncode == 0, describe(result)
    assert queued_for(kz, "UZ") == 1


# -- one node per directory, one node per port -----------------------------------------------------


def refused_or_started(proc: subprocess.Popen[bytes], home: Path) -> bool:
    """Wait until ``proc`` has exited (True) or runs as the node of ``home`` (False)."""

    def decided() -> bool:
        if proc.poll() is not None:
            return True
        try:
            return int((home / "run" / "pid").read_text()) == proc.pid
        except (OSError, ValueError):
            return False

    wait_for(decided, WAIT, what="the second node to exit or start")
    return proc.poll() is not None


def test_a_second_run_of_the_same_node_is_refused(tmp_path: Path) -> None:
    node = init_node(tmp_path, "KZ")
    first = start_tamga_run(node.home, tmp_path / "first.log")
    try:
        wait_listening(first, node, tmp_path / "first.log")
        second_log = tmp_path / "second.log"
        second = start_tamga_run(node.home, second_log)
        try:
            refused = refused_or_started(second, node.home)
        finally:
            end_process(second)
        text = second_log.read_text("utf-8", "replace")
        assert refused, (
            "a second 'tamga run' on the same node directory started beside the first: both listen on "
            f"127.0.0.1:{node.port} and share one store, and run/pid names only the second\n{text}"
        )
        assert second.returncode != 0 and "Traceback" not in text, text
        assert text.splitlines()[-1].startswith("tamga: error:"), text
        assert first.poll() is None, "the first node died"
        assert int((node.home / "run" / "pid").read_text()) == first.pid, "run/pid no longer names the running node"
    finally:
        assert end_process(first) == 0


def test_a_port_taken_by_another_node_is_refused(templates: Templates, tmp_path: Path) -> None:
    kz = init_node(tmp_path, "KZ")
    first = start_tamga_run(kz.home, tmp_path / "kz.log")
    try:
        wait_listening(first, kz, tmp_path / "kz.log")
        uz = clone(templates.uz, tmp_path)
        config = uz.home / "tamga.toml"
        config.write_text(config.read_text("utf-8").replace(f":{uz.port}", f":{kz.port}"), "utf-8")
        uz_log = tmp_path / "uz.log"
        second = start_tamga_run(uz.home, uz_log)
        try:
            refused = refused_or_started(second, uz.home)
        finally:
            end_process(second)
        text = uz_log.read_text("utf-8", "replace")
        assert refused, f"UZ started on 127.0.0.1:{kz.port}, where KZ already listens\n{text}"
        assert second.returncode != 0, text
        assert text.splitlines()[-1].startswith(f"tamga: error: cannot listen on 127.0.0.1:{kz.port}"), text
        assert first.poll() is None, "the first node died"
    finally:
        assert end_process(first) == 0


def test_a_port_in_use_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    node = init_node(tmp_path, "KZ")
    with socket.create_server(("127.0.0.1", node.port)):
        result = run_tamga("run", "--home", node.home, timeout=WAIT)
    assert result.returncode != 0, describe(result)
    assert "Traceback" not in result.stderr + result.stdout, describe(result)
    last = result.stderr.splitlines()[-1]
    assert last.startswith(f"tamga: error: cannot listen on 127.0.0.1:{node.port}"), describe(result)
    assert not (node.home / "run" / "pid").exists()


def test_status_of_a_running_node(tmp_path: Path) -> None:
    node = init_node(tmp_path, "KZ")
    log = tmp_path / "run.log"
    proc = start_tamga_run(node.home, log)
    try:
        wait_listening(proc, node, log)
        doc = status_json(node)
        assert doc["running"] is True and doc["pid"] == proc.pid, doc
        assert doc["listen"] == f"127.0.0.1:{node.port}"
        text = run_tamga("status", "--home", node.home).stdout
        assert f"running (pid {proc.pid}, listening on 127.0.0.1:{node.port})" in text, text
    finally:
        assert end_process(proc) == 0
