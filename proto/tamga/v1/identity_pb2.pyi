import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PublicKey(_message.Message):
    __slots__ = ("key_id", "public_key")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    public_key: bytes
    def __init__(self, key_id: _Optional[str] = ..., public_key: _Optional[bytes] = ...) -> None: ...

class NodeIdentity(_message.Message):
    __slots__ = ("node_id", "country", "authority", "endpoints", "signing_key", "encryption_key", "protocol_versions", "crypto_profiles", "issued_at", "tls_certificate")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    AUTHORITY_FIELD_NUMBER: _ClassVar[int]
    ENDPOINTS_FIELD_NUMBER: _ClassVar[int]
    SIGNING_KEY_FIELD_NUMBER: _ClassVar[int]
    ENCRYPTION_KEY_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_VERSIONS_FIELD_NUMBER: _ClassVar[int]
    CRYPTO_PROFILES_FIELD_NUMBER: _ClassVar[int]
    ISSUED_AT_FIELD_NUMBER: _ClassVar[int]
    TLS_CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    country: str
    authority: str
    endpoints: _containers.RepeatedScalarFieldContainer[str]
    signing_key: PublicKey
    encryption_key: PublicKey
    protocol_versions: _containers.RepeatedScalarFieldContainer[int]
    crypto_profiles: _containers.RepeatedScalarFieldContainer[str]
    issued_at: _timestamp_pb2.Timestamp
    tls_certificate: bytes
    def __init__(self, node_id: _Optional[str] = ..., country: _Optional[str] = ..., authority: _Optional[str] = ..., endpoints: _Optional[_Iterable[str]] = ..., signing_key: _Optional[_Union[PublicKey, _Mapping]] = ..., encryption_key: _Optional[_Union[PublicKey, _Mapping]] = ..., protocol_versions: _Optional[_Iterable[int]] = ..., crypto_profiles: _Optional[_Iterable[str]] = ..., issued_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., tls_certificate: _Optional[bytes] = ...) -> None: ...

class SignedIdentity(_message.Message):
    __slots__ = ("identity", "signature")
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    identity: bytes
    signature: bytes
    def __init__(self, identity: _Optional[bytes] = ..., signature: _Optional[bytes] = ...) -> None: ...
