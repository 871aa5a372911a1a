from tamga.v1 import envelope_pb2 as _envelope_pb2
from tamga.v1 import federation_pb2 as _federation_pb2
from tamga.v1 import identity_pb2 as _identity_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ExchangeRequest(_message.Message):
    __slots__ = ("batch", "manifest_version")
    BATCH_FIELD_NUMBER: _ClassVar[int]
    MANIFEST_VERSION_FIELD_NUMBER: _ClassVar[int]
    batch: _envelope_pb2.EnvelopeBatch
    manifest_version: int
    def __init__(self, batch: _Optional[_Union[_envelope_pb2.EnvelopeBatch, _Mapping]] = ..., manifest_version: _Optional[int] = ...) -> None: ...

class ExchangeResponse(_message.Message):
    __slots__ = ("receipts", "manifest_version")
    RECEIPTS_FIELD_NUMBER: _ClassVar[int]
    MANIFEST_VERSION_FIELD_NUMBER: _ClassVar[int]
    receipts: _envelope_pb2.SignedReceiptBatch
    manifest_version: int
    def __init__(self, receipts: _Optional[_Union[_envelope_pb2.SignedReceiptBatch, _Mapping]] = ..., manifest_version: _Optional[int] = ...) -> None: ...

class GetIdentityRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetIdentityResponse(_message.Message):
    __slots__ = ("identity", "protocol_versions", "crypto_profiles")
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_VERSIONS_FIELD_NUMBER: _ClassVar[int]
    CRYPTO_PROFILES_FIELD_NUMBER: _ClassVar[int]
    identity: _identity_pb2.SignedIdentity
    protocol_versions: _containers.RepeatedScalarFieldContainer[int]
    crypto_profiles: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, identity: _Optional[_Union[_identity_pb2.SignedIdentity, _Mapping]] = ..., protocol_versions: _Optional[_Iterable[int]] = ..., crypto_profiles: _Optional[_Iterable[str]] = ...) -> None: ...

class GetManifestRequest(_message.Message):
    __slots__ = ("from_version",)
    FROM_VERSION_FIELD_NUMBER: _ClassVar[int]
    from_version: int
    def __init__(self, from_version: _Optional[int] = ...) -> None: ...

class GetManifestResponse(_message.Message):
    __slots__ = ("manifests", "revocations")
    MANIFESTS_FIELD_NUMBER: _ClassVar[int]
    REVOCATIONS_FIELD_NUMBER: _ClassVar[int]
    manifests: _containers.RepeatedCompositeFieldContainer[_federation_pb2.SignedManifest]
    revocations: _containers.RepeatedCompositeFieldContainer[_federation_pb2.SignedKeyRevocation]
    def __init__(self, manifests: _Optional[_Iterable[_Union[_federation_pb2.SignedManifest, _Mapping]]] = ..., revocations: _Optional[_Iterable[_Union[_federation_pb2.SignedKeyRevocation, _Mapping]]] = ...) -> None: ...
