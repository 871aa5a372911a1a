"""The protocol core: envelopes, receipts, identities and retry decisions.

No I/O here (no sockets, files, database or event loop): functions take
bytes, messages and a clock value and return messages and decisions. The
gRPC, SQLite and filesystem layers of the node are thin shells that drive it,
and its tests need neither sockets nor sleeping.
"""

from tamga.protocol._backoff import Backoff
from tamga.protocol._envelope import (
    DEFAULT_MAX_CLOCK_SKEW,
    DEFAULT_MAX_ENVELOPE_AGE,
    DEFAULT_MAX_ENVELOPE_BYTES,
    ENVELOPE_PURPOSE,
    MAX_DETAIL_CHARS,
    RECORD_TYPES,
    Opened,
    Refused,
    Sealed,
    envelope_digest,
    freshness_problem,
    open_envelope,
    open_stored,
    record_type_of,
    seal,
)
from tamga.protocol._identity import (
    PROTOCOL_VERSION,
    SUPPORTED_CRYPTO_PROFILES,
    SUPPORTED_PROTOCOL_VERSIONS,
    LocalIdentity,
    Peer,
    PeerDirectory,
    check_node_id,
    read_identity,
)
from tamga.protocol._origin import (
    DEFAULT_MAX_SEQUENCE_JUMP,
    MAX_FIELD_CHARS,
    MAX_SEQUENCE,
    OriginProblem,
    clip,
    origin_problem,
    sequence_jump_problem,
)
from tamga.protocol._policy import LivePeerDirectory, MemberKey, Policy
from tamga.protocol._receipts import (
    RECEIPT_PURPOSE,
    ReceiptError,
    ReceiptOutcome,
    check_receipts,
    reason_name,
    sign_receipts,
)

__all__ = [
    "DEFAULT_MAX_CLOCK_SKEW",
    "DEFAULT_MAX_ENVELOPE_AGE",
    "DEFAULT_MAX_ENVELOPE_BYTES",
    "DEFAULT_MAX_SEQUENCE_JUMP",
    "ENVELOPE_PURPOSE",
    "MAX_DETAIL_CHARS",
    "MAX_FIELD_CHARS",
    "MAX_SEQUENCE",
    "PROTOCOL_VERSION",
    "RECEIPT_PURPOSE",
    "RECORD_TYPES",
    "SUPPORTED_CRYPTO_PROFILES",
    "SUPPORTED_PROTOCOL_VERSIONS",
    "Backoff",
    "LivePeerDirectory",
    "LocalIdentity",
    "MemberKey",
    "Opened",
    "OriginProblem",
    "Peer",
    "PeerDirectory",
    "Policy",
    "ReceiptError",
    "ReceiptOutcome",
    "Refused",
    "Sealed",
    "check_node_id",
    "check_receipts",
    "clip",
    "envelope_digest",
    "freshness_problem",
    "open_envelope",
    "open_stored",
    "origin_problem",
    "read_identity",
    "reason_name",
    "record_type_of",
    "seal",
    "sequence_jump_problem",
    "sign_receipts",
]
