"""What the suite sends: sample records, national files with a challenge code, and envelopes bent on purpose.

:class:`Crafter` seals an envelope the way the protocol core does (header
bytes, salt, signature over header and plaintext, Box encryption), with a hook
at every step; each named builder bends exactly one step (a bit flipped after
signing, a header changed after signing, a key the target never bound to the
suite, another recipient, a stale clock, an unknown version or profile...).
Every record the suite makes carries a random challenge code
(``TAMGA-CONFORMANCE-...``) so it can be recognised wherever it arrives.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from google.protobuf import json_format
from tamga.adapters.sdk.codes import authority_of
from tamga.crypto import CRYPTO_PROFILE_V1, SALT_SIZE, EncryptionKey, SigningKey, random_bytes
from tamga.protocol import (
    ENVELOPE_PURPOSE,
    PROTOCOL_VERSION,
    LocalIdentity,
    Peer,
)
from tamga.v1 import envelope_pb2, records_pb2

__all__ = [
    "SAMPLE_TYPES",
    "Crafter",
    "batch_of",
    "challenge_file",
    "header_of",
    "hostile_national_files",
    "sample_record",
    "unknown_field",
]

Envelope = envelope_pb2.Envelope
EnvelopeHeader = envelope_pb2.EnvelopeHeader


# -- records ----------------------------------------------------------------------------------


def sample_record(
    record_type: str,
    *,
    sender_country: str,
    receiver_country: str,
    challenge: str | None = None,
    sender_authority: str | None = None,
) -> records_pb2.Record:
    """A valid record of ``record_type`` from ``sender_country`` to ``receiver_country``.

    ``challenge`` (default: a fresh random code) is carried in the record's
    source reference, so the suite can recognise the record wherever it arrives.
    ``sender_authority`` is the sending node's authority (its origin is
    bound: FDX-ENV-14); by default the registered name of the country's
    customs service, as the built-in adapters write it.

    Raises:
        ValueError: the suite has no sample of that record type.
    """
    code = challenge or f"TAMGA-CONFORMANCE-{uuid.uuid4().hex[:12].upper()}"
    meta = {
        "recordId": str(uuid.uuid4()),
        "senderCountry": sender_country,
        "receiverCountries": [receiver_country],
        "senderAuthority": sender_authority or authority_of(sender_country),
        "createdAt": "2026-03-01T10:00:00Z",
        "sourceFormat": "TAMGA:CONFORMANCE",
        "sourceRecordRef": code,
        "messageFunction": "MESSAGE_FUNCTION_ORIGINAL",
    }
    if record_type == "declaration_snapshot":
        body: dict[str, Any] = {
            "meta": {**meta, "handling": "HANDLING_RESTRICTED"},
            "declarationSnapshot": {
                "declarationNo": code,
                "direction": "DIRECTION_EXPORT",
                "procedureCode": "1000",
                "acceptanceDate": "2026-03-01",
                "exporter": {"name": "Conformance Exporter LLP", "country": sender_country},
                "consignee": {"name": "Conformance Consignee LLC", "country": receiver_country},
                "dispatchCountry": sender_country,
                "destinationCountry": receiver_country,
                "invoiceAmount": {"amount": "1250.00", "currency": "USD"},
                "items": [
                    {
                        "seq": 1,
                        "commodity": {"hs6": "100199", "description": f"Wheat (test record {code})"},
                        "grossMass": {"value": "20000.5", "unit": "KGM"},
                        "customsValue": {"amount": "1250.00", "currency": "USD"},
                    }
                ],
            },
        }
    elif record_type == "contact_point_message":
        body = {
            "meta": {**meta, "handling": "HANDLING_LAW_ENFORCEMENT"},
            "contactPointMessage": {
                "kind": "CONTACT_POINT_KIND_REQUEST",
                "threadId": str(uuid.uuid4()),
                "legalBasis": "Conformance test; no legal effect",
                "requestingAuthority": "Tamga conformance suite",
                "requestedAuthority": "Node under test",
                "contactPointId": "TEST-24H-01",
                "priority": "PRIORITY_ROUTINE",
                "responseDue": "2026-03-02T10:00:00Z",
                "measureRequested": "VERIFY_DECLARATION",
                "subject": code,
                "reason": "Conformance test",
                "factsSummary": "A test record of the conformance suite",
                "language": "en",
            },
        }
    else:
        raise ValueError(f"the suite has no sample {record_type!r} record")
    record = records_pb2.Record()
    json_format.ParseDict(body, record)
    return record


SAMPLE_TYPES = ("declaration_snapshot", "contact_point_message")
"""Record types :func:`sample_record` can make."""


def _replace_text(message: Any, old: str, new: str) -> None:
    """Replace every text field (and list item) equal to ``old`` with ``new``, nested messages included."""
    for field, value in message.ListFields():
        if field.is_repeated:
            for i, item in enumerate(value):
                if isinstance(item, str) and item == old:
                    value[i] = new
                elif hasattr(item, "ListFields"):
                    _replace_text(item, old, new)
        elif isinstance(value, str) and value == old:
            setattr(message, field.name, new)
        elif hasattr(value, "ListFields"):
            _replace_text(value, old, new)


def _put_challenge(message: Any, code: str) -> int:
    """Append ``code`` to every free-text field of a message (names, descriptions, subjects...); count them."""
    from tamga.adapters.sdk.testing import TEXT_FIELDS

    count = 0
    for field, value in message.ListFields():
        items = value if field.is_repeated else [value]
        for item in items:
            if hasattr(item, "ListFields"):
                count += _put_challenge(item, code)
        if isinstance(value, str) and field.name in TEXT_FIELDS:
            setattr(message, field.name, f"{value} {code}"[-500:] if value else code)
            count += 1
    return count


def challenge_file(
    adapter: Any, *, code: str, sender_country: str, receiver_country: str, prefer: Sequence[str] = ()
) -> tuple[bytes, list[records_pb2.Record]]:
    """A file in the adapter's national format whose records all go to ``receiver_country`` and carry ``code``.

    The record comes from the suite's own samples when the adapter writes
    their type, else from the adapter's sample files: it is re-addressed to
    ``receiver_country``, the code is put into its free text, it is encoded,
    and the file is accepted only if the adapter decodes it back to records
    that go to ``receiver_country`` alone, carry the code and pass the
    record rules. So the file cannot go to any other peer of the node.

    Returns:
        The file's bytes and the records it decodes to.

    Raises:
        AssertionError: no record could be made into such a file (the message says why for each try).
    """
    from tamga.adapters.sdk.ods import without_derived
    from tamga.adapters.sdk.testing import sample_files
    from tamga.errors import AdapterError
    from tamga.validation import validate_records

    kinds = tuple(getattr(adapter, "record_types", ()) or ())
    candidates: list[tuple[str, records_pb2.Record]] = []
    for t in dict.fromkeys([*prefer, *SAMPLE_TYPES]):
        if t in SAMPLE_TYPES and (not kinds or t in kinds):
            made = sample_record(t, sender_country=sender_country, receiver_country=receiver_country, challenge=code)
            candidates.append((f"the suite's {t}", made))
    for path in sample_files(getattr(adapter, "samples", None)):
        try:
            records = without_derived(adapter.decode(path.read_bytes(), source=path.name))
        except Exception:
            continue
        candidates += [(f"{path.name} record {i}", r) for i, r in enumerate(records)]
    tried = []
    for what, original in candidates:
        rec = records_pb2.Record()
        rec.CopyFrom(original)
        for old in set(rec.meta.receiver_countries):
            _replace_text(rec, old, receiver_country)
        del rec.meta.receiver_countries[:]
        rec.meta.receiver_countries.append(receiver_country)
        if not _put_challenge(rec, code):
            tried.append(f"{what}: no free-text field")
            continue
        try:
            data = adapter.encode([rec])
            again = adapter.decode(data, source="conformance challenge")
        except AdapterError as exc:
            tried.append(f"{what}: {exc}")
            continue
        if not again or any(list(r.meta.receiver_countries) != [receiver_country] for r in again):
            tried.append(f"{what}: the national file does not keep the receiver country {receiver_country}")
        elif any(r.meta.sender_country != sender_country for r in again):
            tried.append(f"{what}: the national file's records do not come from {sender_country}")
        elif code.encode() not in b"".join(r.SerializeToString() for r in again):
            tried.append(f"{what}: the national file does not keep the challenge code")
        elif problems := validate_records(again):
            tried.append(f"{what}: {problems[0]}")
        else:
            return data, list(again)
    raise AssertionError(
        f"no record could be made into a {getattr(adapter, 'name', 'national')} file for {receiver_country} "
        f"carrying a challenge code: {'; '.join(tried)[:600]}"
    )


NESTING_DEPTH = 200_000
"""Levels of the deeply nested national files: far past any parser's recursion limit."""


def hostile_national_files(*, seed: int = 0) -> dict[str, bytes]:
    """Files no adapter can take, each made to break a naive one in its own way, by what they are.

    - ``nested-json``: a JSON document nested :data:`NESTING_DEPTH` levels
      deep (a recursive parser runs out of stack: ``RecursionError``);
    - ``nested-xml``: an XML document nested as deep;
    - ``binary``: 64 KiB of random bytes with NULs and invalid UTF-8.

    None of them holds a record; a target must refuse each whole and go on.
    """
    import random

    rng = random.Random(seed)
    depth = NESTING_DEPTH
    return {
        "nested-json": b'{"records": ' + b"[" * depth + b"]" * depth + b"}",
        "nested-xml": b'<?xml version="1.0" encoding="UTF-8"?>\n' + b"<a>" * depth + b"</a>" * depth,
        "binary": b"\x00\xff\xfe" + bytes(rng.getrandbits(8) for _ in range(64 * 1024)),
    }


# -- envelopes -------------------------------------------------------------------------------


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def unknown_field(number: int, value: int) -> bytes:
    """A varint protobuf field no tamga.v1 message defines: what a newer minor version might add."""
    return _varint(number << 3) + _varint(value)


def _bytes_field(number: int, value: bytes) -> bytes:
    """A length-delimited protobuf field (wire type 2) of a number no message defines."""
    return _varint((number << 3) | 2) + _varint(len(value)) + value


@dataclasses.dataclass
class Crafter:
    """Builds envelopes from the suite to the target, step by step, so each step can be bent.

    :meth:`envelope` is sealing as the protocol core does it (header, salt,
    signature over header and plaintext, Box encryption), with a hook at every
    step; the named builders below bend exactly one thing each.
    """

    local: LocalIdentity
    target: Peer

    def header(self, record_type: str, *, message_id: str | None = None, created_at: float | None = None) -> Any:
        h = EnvelopeHeader(
            protocol_version=PROTOCOL_VERSION,
            crypto_profile=CRYPTO_PROFILE_V1,
            sender=self.local.node_id,
            recipient=self.target.node_id,
            message_id=message_id or str(uuid.uuid4()),
            sender_signing_key_id=self.local.signing_key.key_id,
            sender_encryption_key_id=self.local.encryption_key.key_id,
            recipient_encryption_key_id=self.target.encryption_key.key_id,
            record_type=record_type,
        )
        h.created_at.FromNanoseconds(int((time.time() if created_at is None else created_at) * 1e9))
        return h

    def envelope(
        self,
        record: records_pb2.Record | bytes,
        *,
        record_type: str | None = None,
        message_id: str | None = None,
        created_at: float | None = None,
        before_signing: Callable[[Any], None] | None = None,
        header_bytes: Callable[[bytes], bytes] | None = None,
        signer: SigningKey | None = None,
        signed_plaintext: Callable[[bytes], bytes] | None = None,
        after_signing: Callable[[bytes], bytes] | None = None,
        encrypt: Callable[[bytes], bytes] | None = None,
        body: Callable[[bytes], bytes] | None = None,
        signature: Callable[[bytes], bytes] | None = None,
    ) -> Any:
        """One envelope; every hook defaults to what an honest sender does.

        Args:
            record: The record, or raw bytes to carry as the "record".
            record_type: Header record type (default: the record's).
            before_signing: Changes the header message before it is serialized and signed.
            header_bytes: Changes the serialized header before signing (e.g. unknown fields).
            signer: Signs instead of the suite's identity key.
            signed_plaintext: Maps the plaintext sent to the plaintext signed.
            after_signing: Changes the header bytes after signing (what travels).
            encrypt: Encrypts the plaintext instead of the suite's Box to the target.
            body: Changes the encrypted body.
            signature: Changes the signature.
        """
        raw = record if isinstance(record, bytes) else record.SerializeToString()
        rtype = record_type if record_type is not None else _record_type(record)
        h = self.header(rtype, message_id=message_id, created_at=created_at)
        if before_signing is not None:
            before_signing(h)
        hb = h.SerializeToString()
        if header_bytes is not None:
            hb = header_bytes(hb)
        plaintext = random_bytes(SALT_SIZE) + raw
        signed = signed_plaintext(plaintext) if signed_plaintext is not None else plaintext
        sig = (signer or self.local.signing_key).sign(ENVELOPE_PURPOSE, hb, signed)
        sealed_body = (encrypt or self.target.channel(self.local).encrypt)(plaintext)
        return Envelope(
            header=after_signing(hb) if after_signing is not None else hb,
            body=body(sealed_body) if body is not None else sealed_body,
            signature=signature(sig) if signature is not None else sig,
        )

    # Each builder below bends one thing.

    def valid(self, record: records_pb2.Record, **kw: Any) -> Any:
        return self.envelope(record, **kw)

    def ciphertext_flipped(self, record: records_pb2.Record, position: int) -> Any:
        """A bit of the encrypted body flipped in transit (the Box's MAC catches it)."""
        return self.envelope(record, body=lambda b: _flip(b, position % len(b)))

    def record_changed_after_signing(self, record: records_pb2.Record) -> Any:
        """The record bytes differ by one bit from those signed, and are encrypted properly (only the signature
        catches it)."""
        return self.envelope(record, signed_plaintext=lambda p: _flip(p, len(p) - 1))

    def header_changed_after_signing(self, record: records_pb2.Record, change: Callable[[Any], None]) -> Any:
        def rewrite(hb: bytes) -> bytes:
            h = EnvelopeHeader.FromString(hb)
            change(h)
            return h.SerializeToString()

        return self.envelope(record, after_signing=rewrite)

    def signed_by_unbound_key(self, record: records_pb2.Record, *, key_id: str | None = None) -> Any:
        """A genuine signature by a fresh key the target never bound to the suite (header names ``key_id``)."""
        stranger = SigningKey.generate()
        if key_id is None:
            return self.envelope(record, signer=stranger)
        return self.envelope(
            record, signer=stranger, before_signing=lambda h: setattr(h, "sender_signing_key_id", key_id)
        )

    def addressed_to(self, record: records_pb2.Record, recipient: str) -> Any:
        """Addressed to another node (and sealed for a key that is not the target's)."""
        other = EncryptionKey.generate()
        return self.envelope(
            record,
            before_signing=lambda h: setattr(h, "recipient", recipient),
            encrypt=self.local.encryption_key.channel(other.public).encrypt,
        )

    def encrypted_to_another_key(self, record: records_pb2.Record, *, key_id: str | None = None) -> Any:
        """Header addressed to the target, body sealed for a key that is not the target's."""
        other = EncryptionKey.generate()
        return self.envelope(
            record,
            before_signing=(lambda h: setattr(h, "recipient_encryption_key_id", key_id)) if key_id else None,
            encrypt=self.local.encryption_key.channel(other.public).encrypt,
        )

    def sealed_at(self, record: records_pb2.Record, created_at: float, **kw: Any) -> Any:
        return self.envelope(record, created_at=created_at, **kw)

    def oversize(self, record: records_pb2.Record, size: int) -> Any:
        """A properly sealed envelope of more than ``size`` bytes (padding carried as an unknown record field)."""
        raw = record.SerializeToString() + _bytes_field(9999, bytes(size))
        return self.envelope(raw, record_type=_record_type(record))

    def with_header(self, record: records_pb2.Record, change: Callable[[Any], None]) -> Any:
        """Signed honestly over a header changed before signing (a version, a profile...)."""
        return self.envelope(record, before_signing=change)

    def with_signature(self, record: records_pb2.Record, value: bytes) -> Any:
        return self.envelope(record, signature=lambda _s: value)

    def with_unknown_fields(self, record: records_pb2.Record) -> Any:
        """Unknown fields (as a newer minor version would add) in the header and the record, signed as sent."""
        raw = record.SerializeToString() + unknown_field(4242, 7)
        return self.envelope(raw, record_type=_record_type(record), header_bytes=lambda hb: hb + unknown_field(99, 1))

    def carrying(self, plaintext_record: bytes, record_type: str) -> Any:
        """Anything as the "record": bytes that are not a tamga.v1.Record, a record of another type..."""
        return self.envelope(plaintext_record, record_type=record_type)


def _record_type(record: records_pb2.Record | bytes) -> str:
    if isinstance(record, bytes):
        return records_pb2.Record.FromString(record).WhichOneof("body") or ""
    return record.WhichOneof("body") or ""


def _flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


def batch_of(*envelopes: Any, batch_id: str | None = None) -> Any:
    return envelope_pb2.EnvelopeBatch(batch_id=batch_id or str(uuid.uuid4()), envelopes=list(envelopes))


def header_of(envelope: Any) -> Any:
    return EnvelopeHeader.FromString(envelope.header)
