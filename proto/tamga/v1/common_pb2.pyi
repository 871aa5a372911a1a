import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class MessageFunction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MESSAGE_FUNCTION_UNSPECIFIED: _ClassVar[MessageFunction]
    MESSAGE_FUNCTION_ORIGINAL: _ClassVar[MessageFunction]
    MESSAGE_FUNCTION_CORRECTION: _ClassVar[MessageFunction]
    MESSAGE_FUNCTION_CANCELLATION: _ClassVar[MessageFunction]

class Handling(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    HANDLING_UNSPECIFIED: _ClassVar[Handling]
    HANDLING_PUBLIC: _ClassVar[Handling]
    HANDLING_RESTRICTED: _ClassVar[Handling]
    HANDLING_LAW_ENFORCEMENT: _ClassVar[Handling]
MESSAGE_FUNCTION_UNSPECIFIED: MessageFunction
MESSAGE_FUNCTION_ORIGINAL: MessageFunction
MESSAGE_FUNCTION_CORRECTION: MessageFunction
MESSAGE_FUNCTION_CANCELLATION: MessageFunction
HANDLING_UNSPECIFIED: Handling
HANDLING_PUBLIC: Handling
HANDLING_RESTRICTED: Handling
HANDLING_LAW_ENFORCEMENT: Handling

class Party(_message.Message):
    __slots__ = ("name", "id", "id_scheme", "country", "address", "role")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    ID_SCHEME_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    name: str
    id: str
    id_scheme: str
    country: str
    address: str
    role: str
    def __init__(self, name: _Optional[str] = ..., id: _Optional[str] = ..., id_scheme: _Optional[str] = ..., country: _Optional[str] = ..., address: _Optional[str] = ..., role: _Optional[str] = ...) -> None: ...

class Money(_message.Message):
    __slots__ = ("amount", "currency")
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    amount: str
    currency: str
    def __init__(self, amount: _Optional[str] = ..., currency: _Optional[str] = ...) -> None: ...

class Quantity(_message.Message):
    __slots__ = ("value", "unit")
    VALUE_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    value: str
    unit: str
    def __init__(self, value: _Optional[str] = ..., unit: _Optional[str] = ...) -> None: ...

class Commodity(_message.Message):
    __slots__ = ("hs6", "national_code", "description", "origin_country")
    HS6_FIELD_NUMBER: _ClassVar[int]
    NATIONAL_CODE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_COUNTRY_FIELD_NUMBER: _ClassVar[int]
    hs6: str
    national_code: str
    description: str
    origin_country: str
    def __init__(self, hs6: _Optional[str] = ..., national_code: _Optional[str] = ..., description: _Optional[str] = ..., origin_country: _Optional[str] = ...) -> None: ...

class Place(_message.Message):
    __slots__ = ("unlocode", "customs_office_code", "country", "name")
    UNLOCODE_FIELD_NUMBER: _ClassVar[int]
    CUSTOMS_OFFICE_CODE_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    unlocode: str
    customs_office_code: str
    country: str
    name: str
    def __init__(self, unlocode: _Optional[str] = ..., customs_office_code: _Optional[str] = ..., country: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class DocRef(_message.Message):
    __slots__ = ("type", "number", "date", "issuer_country", "valid_until", "uri", "sha256")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    DATE_FIELD_NUMBER: _ClassVar[int]
    ISSUER_COUNTRY_FIELD_NUMBER: _ClassVar[int]
    VALID_UNTIL_FIELD_NUMBER: _ClassVar[int]
    URI_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    type: str
    number: str
    date: str
    issuer_country: str
    valid_until: str
    uri: str
    sha256: str
    def __init__(self, type: _Optional[str] = ..., number: _Optional[str] = ..., date: _Optional[str] = ..., issuer_country: _Optional[str] = ..., valid_until: _Optional[str] = ..., uri: _Optional[str] = ..., sha256: _Optional[str] = ...) -> None: ...

class Conveyance(_message.Message):
    __slots__ = ("mode", "means_id", "nationality")
    MODE_FIELD_NUMBER: _ClassVar[int]
    MEANS_ID_FIELD_NUMBER: _ClassVar[int]
    NATIONALITY_FIELD_NUMBER: _ClassVar[int]
    mode: str
    means_id: str
    nationality: str
    def __init__(self, mode: _Optional[str] = ..., means_id: _Optional[str] = ..., nationality: _Optional[str] = ...) -> None: ...

class Packages(_message.Message):
    __slots__ = ("count", "kind")
    COUNT_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    count: int
    kind: str
    def __init__(self, count: _Optional[int] = ..., kind: _Optional[str] = ...) -> None: ...

class RecordMeta(_message.Message):
    __slots__ = ("record_id", "sender_country", "receiver_countries", "sender_authority", "created_at", "source_format", "source_record_ref", "message_function", "handling")
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    SENDER_COUNTRY_FIELD_NUMBER: _ClassVar[int]
    RECEIVER_COUNTRIES_FIELD_NUMBER: _ClassVar[int]
    SENDER_AUTHORITY_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FORMAT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_RECORD_REF_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FUNCTION_FIELD_NUMBER: _ClassVar[int]
    HANDLING_FIELD_NUMBER: _ClassVar[int]
    record_id: str
    sender_country: str
    receiver_countries: _containers.RepeatedScalarFieldContainer[str]
    sender_authority: str
    created_at: _timestamp_pb2.Timestamp
    source_format: str
    source_record_ref: str
    message_function: MessageFunction
    handling: Handling
    def __init__(self, record_id: _Optional[str] = ..., sender_country: _Optional[str] = ..., receiver_countries: _Optional[_Iterable[str]] = ..., sender_authority: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., source_format: _Optional[str] = ..., source_record_ref: _Optional[str] = ..., message_function: _Optional[_Union[MessageFunction, str]] = ..., handling: _Optional[_Union[Handling, str]] = ...) -> None: ...
