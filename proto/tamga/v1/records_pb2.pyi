import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from tamga.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Direction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DIRECTION_UNSPECIFIED: _ClassVar[Direction]
    DIRECTION_EXPORT: _ClassVar[Direction]
    DIRECTION_IMPORT: _ClassVar[Direction]
    DIRECTION_TRANSIT: _ClassVar[Direction]

class ContactPointKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONTACT_POINT_KIND_UNSPECIFIED: _ClassVar[ContactPointKind]
    CONTACT_POINT_KIND_REQUEST: _ClassVar[ContactPointKind]
    CONTACT_POINT_KIND_ALERT: _ClassVar[ContactPointKind]
    CONTACT_POINT_KIND_SPONTANEOUS_INFO: _ClassVar[ContactPointKind]
    CONTACT_POINT_KIND_ACK: _ClassVar[ContactPointKind]
    CONTACT_POINT_KIND_PARTIAL_REPLY: _ClassVar[ContactPointKind]
    CONTACT_POINT_KIND_FINAL_REPLY: _ClassVar[ContactPointKind]
    CONTACT_POINT_KIND_REFUSAL: _ClassVar[ContactPointKind]

class Priority(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PRIORITY_UNSPECIFIED: _ClassVar[Priority]
    PRIORITY_URGENT: _ClassVar[Priority]
    PRIORITY_HIGH: _ClassVar[Priority]
    PRIORITY_ROUTINE: _ClassVar[Priority]
DIRECTION_UNSPECIFIED: Direction
DIRECTION_EXPORT: Direction
DIRECTION_IMPORT: Direction
DIRECTION_TRANSIT: Direction
CONTACT_POINT_KIND_UNSPECIFIED: ContactPointKind
CONTACT_POINT_KIND_REQUEST: ContactPointKind
CONTACT_POINT_KIND_ALERT: ContactPointKind
CONTACT_POINT_KIND_SPONTANEOUS_INFO: ContactPointKind
CONTACT_POINT_KIND_ACK: ContactPointKind
CONTACT_POINT_KIND_PARTIAL_REPLY: ContactPointKind
CONTACT_POINT_KIND_FINAL_REPLY: ContactPointKind
CONTACT_POINT_KIND_REFUSAL: ContactPointKind
PRIORITY_UNSPECIFIED: Priority
PRIORITY_URGENT: Priority
PRIORITY_HIGH: Priority
PRIORITY_ROUTINE: Priority

class Record(_message.Message):
    __slots__ = ("meta", "declaration_snapshot", "contact_point_message")
    META_FIELD_NUMBER: _ClassVar[int]
    DECLARATION_SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    CONTACT_POINT_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    meta: _common_pb2.RecordMeta
    declaration_snapshot: DeclarationSnapshot
    contact_point_message: ContactPointMessage
    def __init__(self, meta: _Optional[_Union[_common_pb2.RecordMeta, _Mapping]] = ..., declaration_snapshot: _Optional[_Union[DeclarationSnapshot, _Mapping]] = ..., contact_point_message: _Optional[_Union[ContactPointMessage, _Mapping]] = ...) -> None: ...

class DeclarationSnapshot(_message.Message):
    __slots__ = ("declaration_no", "lrn", "ucr", "direction", "procedure_code", "acceptance_date", "exporter", "consignee", "dispatch_country", "destination_country", "trading_country", "transport_doc_no", "container_ids", "transport_means_id", "invoice_amount", "incoterm", "items")
    DECLARATION_NO_FIELD_NUMBER: _ClassVar[int]
    LRN_FIELD_NUMBER: _ClassVar[int]
    UCR_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    PROCEDURE_CODE_FIELD_NUMBER: _ClassVar[int]
    ACCEPTANCE_DATE_FIELD_NUMBER: _ClassVar[int]
    EXPORTER_FIELD_NUMBER: _ClassVar[int]
    CONSIGNEE_FIELD_NUMBER: _ClassVar[int]
    DISPATCH_COUNTRY_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_COUNTRY_FIELD_NUMBER: _ClassVar[int]
    TRADING_COUNTRY_FIELD_NUMBER: _ClassVar[int]
    TRANSPORT_DOC_NO_FIELD_NUMBER: _ClassVar[int]
    CONTAINER_IDS_FIELD_NUMBER: _ClassVar[int]
    TRANSPORT_MEANS_ID_FIELD_NUMBER: _ClassVar[int]
    INVOICE_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    INCOTERM_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    declaration_no: str
    lrn: str
    ucr: str
    direction: Direction
    procedure_code: str
    acceptance_date: str
    exporter: _common_pb2.Party
    consignee: _common_pb2.Party
    dispatch_country: str
    destination_country: str
    trading_country: str
    transport_doc_no: str
    container_ids: _containers.RepeatedScalarFieldContainer[str]
    transport_means_id: str
    invoice_amount: _common_pb2.Money
    incoterm: str
    items: _containers.RepeatedCompositeFieldContainer[DeclarationItem]
    def __init__(self, declaration_no: _Optional[str] = ..., lrn: _Optional[str] = ..., ucr: _Optional[str] = ..., direction: _Optional[_Union[Direction, str]] = ..., procedure_code: _Optional[str] = ..., acceptance_date: _Optional[str] = ..., exporter: _Optional[_Union[_common_pb2.Party, _Mapping]] = ..., consignee: _Optional[_Union[_common_pb2.Party, _Mapping]] = ..., dispatch_country: _Optional[str] = ..., destination_country: _Optional[str] = ..., trading_country: _Optional[str] = ..., transport_doc_no: _Optional[str] = ..., container_ids: _Optional[_Iterable[str]] = ..., transport_means_id: _Optional[str] = ..., invoice_amount: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., incoterm: _Optional[str] = ..., items: _Optional[_Iterable[_Union[DeclarationItem, _Mapping]]] = ...) -> None: ...

class DeclarationItem(_message.Message):
    __slots__ = ("seq", "commodity", "gross_mass", "net_mass", "supplementary_quantity", "customs_value", "statistical_value")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    COMMODITY_FIELD_NUMBER: _ClassVar[int]
    GROSS_MASS_FIELD_NUMBER: _ClassVar[int]
    NET_MASS_FIELD_NUMBER: _ClassVar[int]
    SUPPLEMENTARY_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    CUSTOMS_VALUE_FIELD_NUMBER: _ClassVar[int]
    STATISTICAL_VALUE_FIELD_NUMBER: _ClassVar[int]
    seq: int
    commodity: _common_pb2.Commodity
    gross_mass: _common_pb2.Quantity
    net_mass: _common_pb2.Quantity
    supplementary_quantity: _common_pb2.Quantity
    customs_value: _common_pb2.Money
    statistical_value: _common_pb2.Money
    def __init__(self, seq: _Optional[int] = ..., commodity: _Optional[_Union[_common_pb2.Commodity, _Mapping]] = ..., gross_mass: _Optional[_Union[_common_pb2.Quantity, _Mapping]] = ..., net_mass: _Optional[_Union[_common_pb2.Quantity, _Mapping]] = ..., supplementary_quantity: _Optional[_Union[_common_pb2.Quantity, _Mapping]] = ..., customs_value: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., statistical_value: _Optional[_Union[_common_pb2.Money, _Mapping]] = ...) -> None: ...

class ContactPointMessage(_message.Message):
    __slots__ = ("kind", "thread_id", "in_reply_to", "legal_basis", "requesting_authority", "requested_authority", "contact_point_id", "priority", "response_due", "measure_requested", "subject", "reason", "facts_summary", "companies", "attachments", "language", "cencomm_ref")
    KIND_FIELD_NUMBER: _ClassVar[int]
    THREAD_ID_FIELD_NUMBER: _ClassVar[int]
    IN_REPLY_TO_FIELD_NUMBER: _ClassVar[int]
    LEGAL_BASIS_FIELD_NUMBER: _ClassVar[int]
    REQUESTING_AUTHORITY_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_AUTHORITY_FIELD_NUMBER: _ClassVar[int]
    CONTACT_POINT_ID_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_DUE_FIELD_NUMBER: _ClassVar[int]
    MEASURE_REQUESTED_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    FACTS_SUMMARY_FIELD_NUMBER: _ClassVar[int]
    COMPANIES_FIELD_NUMBER: _ClassVar[int]
    ATTACHMENTS_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    CENCOMM_REF_FIELD_NUMBER: _ClassVar[int]
    kind: ContactPointKind
    thread_id: str
    in_reply_to: str
    legal_basis: str
    requesting_authority: str
    requested_authority: str
    contact_point_id: str
    priority: Priority
    response_due: _timestamp_pb2.Timestamp
    measure_requested: str
    subject: str
    reason: str
    facts_summary: str
    companies: _containers.RepeatedCompositeFieldContainer[_common_pb2.Party]
    attachments: _containers.RepeatedCompositeFieldContainer[_common_pb2.DocRef]
    language: str
    cencomm_ref: str
    def __init__(self, kind: _Optional[_Union[ContactPointKind, str]] = ..., thread_id: _Optional[str] = ..., in_reply_to: _Optional[str] = ..., legal_basis: _Optional[str] = ..., requesting_authority: _Optional[str] = ..., requested_authority: _Optional[str] = ..., contact_point_id: _Optional[str] = ..., priority: _Optional[_Union[Priority, str]] = ..., response_due: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., measure_requested: _Optional[str] = ..., subject: _Optional[str] = ..., reason: _Optional[str] = ..., facts_summary: _Optional[str] = ..., companies: _Optional[_Iterable[_Union[_common_pb2.Party, _Mapping]]] = ..., attachments: _Optional[_Iterable[_Union[_common_pb2.DocRef, _Mapping]]] = ..., language: _Optional[str] = ..., cencomm_ref: _Optional[str] = ...) -> None: ...
