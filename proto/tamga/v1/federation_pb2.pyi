import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from tamga.v1 import identity_pb2 as _identity_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ManifestRules(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MANIFEST_RULES_UNSPECIFIED: _ClassVar[ManifestRules]
    MANIFEST_RULES_MEMBER_CONSENT: _ClassVar[ManifestRules]
MANIFEST_RULES_UNSPECIFIED: ManifestRules
MANIFEST_RULES_MEMBER_CONSENT: ManifestRules

class Manifest(_message.Message):
    __slots__ = ("federation_id", "version", "previous_hash", "threshold", "members", "agreements", "issued_at", "summary", "rules")
    FEDERATION_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_HASH_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    AGREEMENTS_FIELD_NUMBER: _ClassVar[int]
    ISSUED_AT_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    RULES_FIELD_NUMBER: _ClassVar[int]
    federation_id: str
    version: int
    previous_hash: bytes
    threshold: int
    members: _containers.RepeatedCompositeFieldContainer[Member]
    agreements: _containers.RepeatedCompositeFieldContainer[Agreement]
    issued_at: _timestamp_pb2.Timestamp
    summary: str
    rules: ManifestRules
    def __init__(self, federation_id: _Optional[str] = ..., version: _Optional[int] = ..., previous_hash: _Optional[bytes] = ..., threshold: _Optional[int] = ..., members: _Optional[_Iterable[_Union[Member, _Mapping]]] = ..., agreements: _Optional[_Iterable[_Union[Agreement, _Mapping]]] = ..., issued_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., summary: _Optional[str] = ..., rules: _Optional[_Union[ManifestRules, str]] = ...) -> None: ...

class Member(_message.Message):
    __slots__ = ("node_id", "country", "authority", "endpoints", "signing_keys", "encryption_keys", "tls_certificate", "tls_certificate_sha256", "identity")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    AUTHORITY_FIELD_NUMBER: _ClassVar[int]
    ENDPOINTS_FIELD_NUMBER: _ClassVar[int]
    SIGNING_KEYS_FIELD_NUMBER: _ClassVar[int]
    ENCRYPTION_KEYS_FIELD_NUMBER: _ClassVar[int]
    TLS_CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    TLS_CERTIFICATE_SHA256_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    country: str
    authority: str
    endpoints: _containers.RepeatedScalarFieldContainer[str]
    signing_keys: _containers.RepeatedCompositeFieldContainer[MemberKey]
    encryption_keys: _containers.RepeatedCompositeFieldContainer[MemberKey]
    tls_certificate: bytes
    tls_certificate_sha256: str
    identity: _identity_pb2.SignedIdentity
    def __init__(self, node_id: _Optional[str] = ..., country: _Optional[str] = ..., authority: _Optional[str] = ..., endpoints: _Optional[_Iterable[str]] = ..., signing_keys: _Optional[_Iterable[_Union[MemberKey, _Mapping]]] = ..., encryption_keys: _Optional[_Iterable[_Union[MemberKey, _Mapping]]] = ..., tls_certificate: _Optional[bytes] = ..., tls_certificate_sha256: _Optional[str] = ..., identity: _Optional[_Union[_identity_pb2.SignedIdentity, _Mapping]] = ...) -> None: ...

class MemberKey(_message.Message):
    __slots__ = ("key_id", "public_key", "valid_from", "valid_until")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    VALID_FROM_FIELD_NUMBER: _ClassVar[int]
    VALID_UNTIL_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    public_key: bytes
    valid_from: _timestamp_pb2.Timestamp
    valid_until: _timestamp_pb2.Timestamp
    def __init__(self, key_id: _Optional[str] = ..., public_key: _Optional[bytes] = ..., valid_from: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., valid_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Agreement(_message.Message):
    __slots__ = ("sender", "receiver", "record_types")
    SENDER_FIELD_NUMBER: _ClassVar[int]
    RECEIVER_FIELD_NUMBER: _ClassVar[int]
    RECORD_TYPES_FIELD_NUMBER: _ClassVar[int]
    sender: str
    receiver: str
    record_types: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, sender: _Optional[str] = ..., receiver: _Optional[str] = ..., record_types: _Optional[_Iterable[str]] = ...) -> None: ...

class ManifestSignature(_message.Message):
    __slots__ = ("node_id", "key_id", "signature")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    key_id: str
    signature: bytes
    def __init__(self, node_id: _Optional[str] = ..., key_id: _Optional[str] = ..., signature: _Optional[bytes] = ...) -> None: ...

class SignedManifest(_message.Message):
    __slots__ = ("manifest", "signatures")
    MANIFEST_FIELD_NUMBER: _ClassVar[int]
    SIGNATURES_FIELD_NUMBER: _ClassVar[int]
    manifest: bytes
    signatures: _containers.RepeatedCompositeFieldContainer[ManifestSignature]
    def __init__(self, manifest: _Optional[bytes] = ..., signatures: _Optional[_Iterable[_Union[ManifestSignature, _Mapping]]] = ...) -> None: ...

class KeyRevocation(_message.Message):
    __slots__ = ("node_id", "key_id", "revoked_at", "reason")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    REVOKED_AT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    key_id: str
    revoked_at: _timestamp_pb2.Timestamp
    reason: str
    def __init__(self, node_id: _Optional[str] = ..., key_id: _Optional[str] = ..., revoked_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...

class SignedKeyRevocation(_message.Message):
    __slots__ = ("revocation", "signer_key_id", "signature")
    REVOCATION_FIELD_NUMBER: _ClassVar[int]
    SIGNER_KEY_ID_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    revocation: bytes
    signer_key_id: str
    signature: bytes
    def __init__(self, revocation: _Optional[bytes] = ..., signer_key_id: _Optional[str] = ..., signature: _Optional[bytes] = ...) -> None: ...
