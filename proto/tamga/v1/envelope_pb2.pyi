import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ReceiptStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RECEIPT_STATUS_UNSPECIFIED: _ClassVar[ReceiptStatus]
    RECEIPT_STATUS_ACCEPTED: _ClassVar[ReceiptStatus]
    RECEIPT_STATUS_DUPLICATE: _ClassVar[ReceiptStatus]
    RECEIPT_STATUS_REJECTED: _ClassVar[ReceiptStatus]

class RejectReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REJECT_REASON_UNSPECIFIED: _ClassVar[RejectReason]
    REJECT_REASON_MALFORMED_ENVELOPE: _ClassVar[RejectReason]
    REJECT_REASON_UNSUPPORTED_PROTOCOL_VERSION: _ClassVar[RejectReason]
    REJECT_REASON_UNKNOWN_CRYPTO_PROFILE: _ClassVar[RejectReason]
    REJECT_REASON_WRONG_RECIPIENT: _ClassVar[RejectReason]
    REJECT_REASON_UNKNOWN_SENDER: _ClassVar[RejectReason]
    REJECT_REASON_UNKNOWN_KEY: _ClassVar[RejectReason]
    REJECT_REASON_DECRYPTION_FAILED: _ClassVar[RejectReason]
    REJECT_REASON_BAD_SIGNATURE: _ClassVar[RejectReason]
    REJECT_REASON_MALFORMED_RECORD: _ClassVar[RejectReason]
    REJECT_REASON_RECORD_TYPE_MISMATCH: _ClassVar[RejectReason]
    REJECT_REASON_MESSAGE_ID_CONFLICT: _ClassVar[RejectReason]
    REJECT_REASON_OVERSIZE: _ClassVar[RejectReason]
    REJECT_REASON_STALE: _ClassVar[RejectReason]
    REJECT_REASON_NO_AGREEMENT: _ClassVar[RejectReason]
    REJECT_REASON_KEY_NOT_VALID: _ClassVar[RejectReason]
    REJECT_REASON_ORIGIN_MISMATCH: _ClassVar[RejectReason]
    REJECT_REASON_SEQUENCE_OUT_OF_RANGE: _ClassVar[RejectReason]
RECEIPT_STATUS_UNSPECIFIED: ReceiptStatus
RECEIPT_STATUS_ACCEPTED: ReceiptStatus
RECEIPT_STATUS_DUPLICATE: ReceiptStatus
RECEIPT_STATUS_REJECTED: ReceiptStatus
REJECT_REASON_UNSPECIFIED: RejectReason
REJECT_REASON_MALFORMED_ENVELOPE: RejectReason
REJECT_REASON_UNSUPPORTED_PROTOCOL_VERSION: RejectReason
REJECT_REASON_UNKNOWN_CRYPTO_PROFILE: RejectReason
REJECT_REASON_WRONG_RECIPIENT: RejectReason
REJECT_REASON_UNKNOWN_SENDER: RejectReason
REJECT_REASON_UNKNOWN_KEY: RejectReason
REJECT_REASON_DECRYPTION_FAILED: RejectReason
REJECT_REASON_BAD_SIGNATURE: RejectReason
REJECT_REASON_MALFORMED_RECORD: RejectReason
REJECT_REASON_RECORD_TYPE_MISMATCH: RejectReason
REJECT_REASON_MESSAGE_ID_CONFLICT: RejectReason
REJECT_REASON_OVERSIZE: RejectReason
REJECT_REASON_STALE: RejectReason
REJECT_REASON_NO_AGREEMENT: RejectReason
REJECT_REASON_KEY_NOT_VALID: RejectReason
REJECT_REASON_ORIGIN_MISMATCH: RejectReason
REJECT_REASON_SEQUENCE_OUT_OF_RANGE: RejectReason

class EnvelopeHeader(_message.Message):
    __slots__ = ("protocol_version", "crypto_profile", "sender", "recipient", "message_id", "created_at", "sender_signing_key_id", "sender_encryption_key_id", "recipient_encryption_key_id", "record_type", "sequence")
    PROTOCOL_VERSION_FIELD_NUMBER: _ClassVar[int]
    CRYPTO_PROFILE_FIELD_NUMBER: _ClassVar[int]
    SENDER_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    SENDER_SIGNING_KEY_ID_FIELD_NUMBER: _ClassVar[int]
    SENDER_ENCRYPTION_KEY_ID_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_ENCRYPTION_KEY_ID_FIELD_NUMBER: _ClassVar[int]
    RECORD_TYPE_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    protocol_version: int
    crypto_profile: str
    sender: str
    recipient: str
    message_id: str
    created_at: _timestamp_pb2.Timestamp
    sender_signing_key_id: str
    sender_encryption_key_id: str
    recipient_encryption_key_id: str
    record_type: str
    sequence: int
    def __init__(self, protocol_version: _Optional[int] = ..., crypto_profile: _Optional[str] = ..., sender: _Optional[str] = ..., recipient: _Optional[str] = ..., message_id: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., sender_signing_key_id: _Optional[str] = ..., sender_encryption_key_id: _Optional[str] = ..., recipient_encryption_key_id: _Optional[str] = ..., record_type: _Optional[str] = ..., sequence: _Optional[int] = ...) -> None: ...

class Envelope(_message.Message):
    __slots__ = ("header", "body", "signature")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    header: bytes
    body: bytes
    signature: bytes
    def __init__(self, header: _Optional[bytes] = ..., body: _Optional[bytes] = ..., signature: _Optional[bytes] = ...) -> None: ...

class EnvelopeBatch(_message.Message):
    __slots__ = ("batch_id", "envelopes")
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    ENVELOPES_FIELD_NUMBER: _ClassVar[int]
    batch_id: str
    envelopes: _containers.RepeatedCompositeFieldContainer[Envelope]
    def __init__(self, batch_id: _Optional[str] = ..., envelopes: _Optional[_Iterable[_Union[Envelope, _Mapping]]] = ...) -> None: ...

class Receipt(_message.Message):
    __slots__ = ("message_id", "envelope_digest", "status", "reason", "detail")
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    ENVELOPE_DIGEST_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    message_id: str
    envelope_digest: bytes
    status: ReceiptStatus
    reason: RejectReason
    detail: str
    def __init__(self, message_id: _Optional[str] = ..., envelope_digest: _Optional[bytes] = ..., status: _Optional[_Union[ReceiptStatus, str]] = ..., reason: _Optional[_Union[RejectReason, str]] = ..., detail: _Optional[str] = ...) -> None: ...

class ReceiptBatch(_message.Message):
    __slots__ = ("protocol_version", "receiver", "sender", "batch_id", "created_at", "receiver_signing_key_id", "receipts")
    PROTOCOL_VERSION_FIELD_NUMBER: _ClassVar[int]
    RECEIVER_FIELD_NUMBER: _ClassVar[int]
    SENDER_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    RECEIVER_SIGNING_KEY_ID_FIELD_NUMBER: _ClassVar[int]
    RECEIPTS_FIELD_NUMBER: _ClassVar[int]
    protocol_version: int
    receiver: str
    sender: str
    batch_id: str
    created_at: _timestamp_pb2.Timestamp
    receiver_signing_key_id: str
    receipts: _containers.RepeatedCompositeFieldContainer[Receipt]
    def __init__(self, protocol_version: _Optional[int] = ..., receiver: _Optional[str] = ..., sender: _Optional[str] = ..., batch_id: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., receiver_signing_key_id: _Optional[str] = ..., receipts: _Optional[_Iterable[_Union[Receipt, _Mapping]]] = ...) -> None: ...

class SignedReceiptBatch(_message.Message):
    __slots__ = ("receipt_batch", "signature")
    RECEIPT_BATCH_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    receipt_batch: bytes
    signature: bytes
    def __init__(self, receipt_batch: _Optional[bytes] = ..., signature: _Optional[bytes] = ...) -> None: ...
