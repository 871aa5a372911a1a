"""Signed conformance reports: a national team's node vouches for its own result.

The signed report is one JSON file::

    {"format": "tamga-conformance-signed/1",
     "report": "<canonical JSON of Run.to_json(), as a string>",
     "signer": "<node id>",
     "signing_key_id": "ed25519:<n>",
     "signature": "<base64 Ed25519 signature>"}

Rules:

1. The report travels as a string and the signature covers exactly its UTF-8
   bytes (JSON, like protobuf, has no single encoding; nobody re-encodes it
   to check it). The signature is made by the node's identity key through
   :mod:`tamga.crypto`, over the purpose "tamga/conformance-report/1", the
   signer's node id, the key id and the report bytes, so neither the signer
   nor the key id can be swapped either.
2. The verdict is inside the signed bytes, so any verdict may be signed; a
   development run may not (it is not valid for certification), and a
   signed development run is refused when verified.
3. Verification names the first thing that is wrong: not a signed report,
   a bad field, a signer or key the given identity or federation manifest
   does not know, a key revoked or outside its validity, a signature that
   does not verify, or a report that does not read as a Run (including one
   whose stored verdict does not follow from its results).
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from tamga.conformance._model import ReportError, Run
from tamga.crypto import SigningKey, VerifyKey
from tamga.errors import CryptoError

__all__ = ["SIGNED_FORMAT", "SIGNING_PURPOSE", "canonical_report", "sign_report", "verified_line", "verify_report"]

SIGNED_FORMAT = "tamga-conformance-signed/1"
SIGNING_PURPOSE = "tamga/conformance-report/1"


def canonical_report(run: Run) -> str:
    """The report as the string that is signed: the model's fixed key order, no spaces, UTF-8 text kept as is."""
    return json.dumps(run.to_json(), separators=(",", ":"), ensure_ascii=False)


def _signed_parts(signer: str, key_id: str, report: str) -> tuple[bytes, bytes, bytes]:
    return signer.encode("utf-8"), key_id.encode("utf-8"), report.encode("utf-8")


def _signing_key(home: Path) -> tuple[str, SigningKey]:
    """The node id and identity key of a node home, opening a passphrase-protected key file as the node does."""
    from tamga.config import load_config
    from tamga.crypto import is_encrypted_key_file, load_private_key_file
    from tamga.home import read_passphrase

    config = load_config(home)
    path = config.path(config.keys.signing)
    passphrase = read_passphrase(config) if is_encrypted_key_file(path) else None
    key = load_private_key_file(path, SigningKey, passphrase=passphrase)
    assert isinstance(key, SigningKey)
    return config.node.id, key


def sign_report(run: Run, home: Path, out: Path) -> Path:
    """Sign ``run`` with the identity key of the node at ``home`` and write the signed report to ``out``.

    Raises:
        ReportError: the run is a development run, or ``out`` cannot be written.
        TamgaError: the node home or its key cannot be read (missing, unsafe
            mode, wrong or missing passphrase).
    """
    if run.development:
        raise ReportError(
            "refusing to sign a development run (cases were selected with --case): it is not valid for "
            "certification; run the whole plan to get a report that can be signed"
        )
    from tamga.conformance._reports import find_secrets

    found = find_secrets(run)
    if found:
        raise ReportError("refusing to sign the conformance report: private key material at " + "; ".join(found))
    node_id, key = _signing_key(Path(home))
    report = canonical_report(run)
    signature = key.sign(SIGNING_PURPOSE, *_signed_parts(node_id, key.key_id, report))
    doc = {
        "format": SIGNED_FORMAT,
        "report": report,
        "signer": node_id,
        "signing_key_id": key.key_id,
        "signature": base64.b64encode(signature).decode("ascii"),
    }
    out = Path(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.tmp")
        tmp.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", "utf-8")
        tmp.replace(out)
    except OSError as exc:
        raise ReportError(f"{out}: cannot write the signed report: {exc.strerror or exc}") from exc
    return out


# -- verification ----------------------------------------------------------------------


def _read_signed(path: Path) -> tuple[str, str, str, bytes]:
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError as exc:
        raise ReportError(f"{path}: no such file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ReportError(f"{path}: cannot read the signed report: {exc}") from exc
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReportError(
            f"{path}: not a signed conformance report (invalid JSON at line {exc.lineno}: {exc.msg})"
        ) from exc
    if not isinstance(doc, dict) or doc.get("format") != SIGNED_FORMAT:
        raise ReportError(f"{path}: not a signed conformance report (format must be {SIGNED_FORMAT!r})")
    unknown = sorted(set(doc) - {"format", "report", "signer", "signing_key_id", "signature"})
    if unknown:
        raise ReportError(f"{path}: unknown field {unknown[0]!r} in the signed report; it was changed")
    fields = {}
    for name in ("report", "signer", "signing_key_id", "signature"):
        value = doc.get(name)
        if not isinstance(value, str) or not value:
            raise ReportError(f"{path}: field {name!r} is missing or not a string")
        fields[name] = value
    try:
        signature = base64.b64decode(fields["signature"], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ReportError(f"{path}: the signature is not valid base64; it was changed") from exc
    if len(signature) != 64:
        raise ReportError(f"{path}: the signature has {len(signature)} bytes, an Ed25519 signature has 64")
    return fields["report"], fields["signer"], fields["signing_key_id"], signature


def _key_from_identity(identity: Path, signer: str, key_id: str, where: str) -> tuple[VerifyKey, str]:
    from tamga.home import parse_identity_file

    try:
        text = identity.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ReportError(f"{identity}: cannot read the identity file: {exc}") from exc
    peer = parse_identity_file(text, str(identity)).peer
    if peer.node_id != signer:
        raise ReportError(f"{where}: signed by {signer!r}, but {identity} is the identity of {peer.node_id!r}")
    if peer.verify_key.key_id != key_id:
        raise ReportError(
            f"{where}: signed with {signer}'s key {key_id!r}, but {identity} holds its key {peer.verify_key.key_id!r}"
        )
    return peer.verify_key, f"identity file {identity}"


def _key_from_home(home: Path, signer: str, key_id: str, where: str) -> tuple[VerifyKey, str, tuple[float, ...]]:
    """The signer's key as the node at ``home`` knows it, and (valid_from, valid_until) to check the time against."""
    from tamga.config import load_config
    from tamga.federation import FederationState
    from tamga.governance import federation_folder
    from tamga.home import load_peers

    config = load_config(home)
    folder = federation_folder(config)
    if FederationState.exists(folder):
        state = FederationState.load(folder)
        manifest = state.current
        member = manifest.member(signer)
        if member is None:
            raise ReportError(
                f"{where}: signed by {signer!r}, not a member of federation manifest version {manifest.version} "
                f"held by {config.node.id}"
            )
        info = member.signing_key(key_id)
        if info is None:
            known = ", ".join(k.key_id for k in member.signing_keys) or "none"
            raise ReportError(
                f"{where}: signed with {key_id!r}, not a signing key of {signer} in federation manifest version "
                f"{manifest.version} (its keys: {known})"
            )
        revoked_at = state.revoked().get((signer, key_id))
        if revoked_at is not None:
            raise ReportError(
                f"{where}: signed with {signer}'s key {key_id}, which is revoked; a report signed with a revoked "
                "key proves nothing, ask for one signed with its current key"
            )
        window = (info.valid_from or 0.0, info.valid_until or float("inf"))
        return info.verify_key, f"federation manifest version {manifest.version} held by {config.node.id}", window
    if signer == config.node.id:
        _, key = _signing_key(home)
        verify_key, source = key.public, f"the identity key of {config.node.id}"
    else:
        peer = load_peers(config).get(signer)
        if peer is None:
            raise ReportError(f"{where}: signed by {signer!r}, which is not a peer of {config.node.id} (no manifest)")
        verify_key, source = peer.verify_key, f"{signer}'s pinned identity at {config.node.id}"
    if verify_key.key_id != key_id:
        raise ReportError(f"{where}: signed with {signer}'s key {key_id!r}, but {source} is {verify_key.key_id!r}")
    return verify_key, source, (0.0, float("inf"))


def verify_report(path: Path, *, identity: Path | None = None, home: Path | None = None) -> Run:
    """Check a signed conformance report and return the Run it vouches for.

    Args:
        path: The signed report (report.signed.json).
        identity: The signer's identity file (``tamga identity export``).
        home: A node home; the signer's key is taken from its federation
            manifest (member's signing key), else from its pinned peers or
            its own identity.

    Raises:
        ReportError: what is wrong, in one line (see the module's rule 3).
        TamgaError: the identity file or node home cannot be read.
    """
    return _verify(Path(path), identity, home)[0]


def _verify(path: Path, identity: Path | None, home: Path | None) -> tuple[Run, str]:
    if (identity is None) == (home is None):
        raise ReportError("verify a signed report against exactly one of an identity file or a node home")
    where = str(path)
    report, signer, key_id, signature = _read_signed(path)
    window = (0.0, float("inf"))
    if identity is not None:
        verify_key, source = _key_from_identity(Path(identity), signer, key_id, where)
    else:
        assert home is not None
        verify_key, source, window = _key_from_home(Path(home), signer, key_id, where)
    try:
        verify_key.verify(SIGNING_PURPOSE, signature, *_signed_parts(signer, key_id, report))
    except CryptoError as exc:
        raise ReportError(
            f"{where}: the signature does not verify with {signer}'s key {key_id} from {source}: "
            "the report, the signer or the signature was changed after signing"
        ) from exc
    try:
        data: Any = json.loads(report)
    except json.JSONDecodeError as exc:
        raise ReportError(f"{where}: the signed report is not JSON ({exc.msg})") from exc
    try:
        run = Run.from_json(data)
    except ReportError as exc:
        raise ReportError(f"{where}: {exc}") from exc
    if run.development:
        raise ReportError(f"{where}: a development run, not valid for certification")
    try:
        signed_at = datetime.fromisoformat(run.finished_at).timestamp()
    except ValueError as exc:
        raise ReportError(f"{where}: finished_at {run.finished_at!r} is not an ISO time") from exc
    if not window[0] <= signed_at <= window[1]:
        raise ReportError(
            f"{where}: the run finished at {run.finished_at}, outside the validity of {signer}'s key {key_id}"
        )
    return run, signer


def verified_line(path: Path, *, identity: Path | None = None, home: Path | None = None) -> str:
    """Verify like :func:`verify_report` and say so in the one line ``tamga conformance verify-report`` prints.

    Raises:
        ReportError, TamgaError: as :func:`verify_report`.
    """
    run, signer = _verify(Path(path), identity, home)
    return (
        f"valid: signed by {signer}, verdict {run.verdict()}, {len(run.results)} cases, "
        f"{run.mode} mode, target {run.target}, session {run.session_id}"
    )
