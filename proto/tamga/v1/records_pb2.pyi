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
    DIRECTION_DOMESTIC: _ClassVar[Direction]

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

class LegalInstrument(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LEGAL_INSTRUMENT_UNSPECIFIED: _ClassVar[LegalInstrument]
    LEGAL_INSTRUMENT_SCO_2018: _ClassVar[LegalInstrument]
    LEGAL_INSTRUMENT_BILATERAL_CMAA: _ClassVar[LegalInstrument]
    LEGAL_INSTRUMENT_NAIROBI: _ClassVar[LegalInstrument]
    LEGAL_INSTRUMENT_JOHANNESBURG: _ClassVar[LegalInstrument]

class RefusalGround(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REFUSAL_GROUND_UNSPECIFIED: _ClassVar[RefusalGround]
    REFUSAL_GROUND_SOVEREIGNTY: _ClassVar[RefusalGround]
    REFUSAL_GROUND_SECURITY: _ClassVar[RefusalGround]
    REFUSAL_GROUND_PUBLIC_POLICY: _ClassVar[RefusalGround]
    REFUSAL_GROUND_OTHER_NATIONAL_INTEREST: _ClassVar[RefusalGround]

class LocationType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LOCATION_TYPE_UNSPECIFIED: _ClassVar[LocationType]
    LOCATION_TYPE_AIRPORT: _ClassVar[LocationType]
    LOCATION_TYPE_SEAPORT: _ClassVar[LocationType]
    LOCATION_TYPE_LAND_BORDER: _ClassVar[LocationType]
    LOCATION_TYPE_POSTAL_EXPRESS: _ClassVar[LocationType]
    LOCATION_TYPE_INLAND: _ClassVar[LocationType]

class SeizureCategory(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SEIZURE_CATEGORY_UNSPECIFIED: _ClassVar[SeizureCategory]
    SEIZURE_CATEGORY_CULTURAL_HERITAGE: _ClassVar[SeizureCategory]
    SEIZURE_CATEGORY_DRUGS: _ClassVar[SeizureCategory]
    SEIZURE_CATEGORY_ENVIRONMENT: _ClassVar[SeizureCategory]
    SEIZURE_CATEGORY_IPR_HEALTH_SAFETY: _ClassVar[SeizureCategory]
    SEIZURE_CATEGORY_REVENUE: _ClassVar[SeizureCategory]
    SEIZURE_CATEGORY_SECURITY: _ClassVar[SeizureCategory]

class DetectionMethod(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DETECTION_METHOD_UNSPECIFIED: _ClassVar[DetectionMethod]
    DETECTION_METHOD_RISK_PROFILE: _ClassVar[DetectionMethod]
    DETECTION_METHOD_RANDOM: _ClassVar[DetectionMethod]
    DETECTION_METHOD_INTELLIGENCE: _ClassVar[DetectionMethod]
    DETECTION_METHOD_X_RAY: _ClassVar[DetectionMethod]
    DETECTION_METHOD_DOG: _ClassVar[DetectionMethod]
    DETECTION_METHOD_PHYSICAL_EXAMINATION: _ClassVar[DetectionMethod]
    DETECTION_METHOD_DOCUMENT_CHECK: _ClassVar[DetectionMethod]

class Gender(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    GENDER_UNSPECIFIED: _ClassVar[Gender]
    GENDER_MALE: _ClassVar[Gender]
    GENDER_FEMALE: _ClassVar[Gender]
    GENDER_OTHER: _ClassVar[Gender]

class OdsStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ODS_STATUS_UNSPECIFIED: _ClassVar[OdsStatus]
    ODS_STATUS_INTENDED: _ClassVar[OdsStatus]
    ODS_STATUS_LICENSED: _ClassVar[OdsStatus]
    ODS_STATUS_DECLARED: _ClassVar[OdsStatus]
    ODS_STATUS_SEIZED: _ClassVar[OdsStatus]

class SubstanceState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SUBSTANCE_STATE_UNSPECIFIED: _ClassVar[SubstanceState]
    SUBSTANCE_STATE_VIRGIN: _ClassVar[SubstanceState]
    SUBSTANCE_STATE_RECOVERED: _ClassVar[SubstanceState]
    SUBSTANCE_STATE_RECYCLED: _ClassVar[SubstanceState]
    SUBSTANCE_STATE_RECLAIMED: _ClassVar[SubstanceState]
    SUBSTANCE_STATE_MIXTURE: _ClassVar[SubstanceState]
    SUBSTANCE_STATE_IN_EQUIPMENT: _ClassVar[SubstanceState]

class IpicAnswer(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    IPIC_ANSWER_UNSPECIFIED: _ClassVar[IpicAnswer]
    IPIC_ANSWER_CONFIRMED: _ClassVar[IpicAnswer]
    IPIC_ANSWER_NOT_CONFIRMED: _ClassVar[IpicAnswer]
    IPIC_ANSWER_PENDING: _ClassVar[IpicAnswer]

class NotificationType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    NOTIFICATION_TYPE_UNSPECIFIED: _ClassVar[NotificationType]
    NOTIFICATION_TYPE_INDIVIDUAL: _ClassVar[NotificationType]
    NOTIFICATION_TYPE_GENERAL: _ClassVar[NotificationType]

class WasteOperation(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    WASTE_OPERATION_UNSPECIFIED: _ClassVar[WasteOperation]
    WASTE_OPERATION_DISPOSAL: _ClassVar[WasteOperation]
    WASTE_OPERATION_RECOVERY: _ClassVar[WasteOperation]

class ConsentDecision(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONSENT_DECISION_UNSPECIFIED: _ClassVar[ConsentDecision]
    CONSENT_DECISION_PENDING: _ClassVar[ConsentDecision]
    CONSENT_DECISION_CONSENTED: _ClassVar[ConsentDecision]
    CONSENT_DECISION_CONSENTED_WITH_CONDITIONS: _ClassVar[ConsentDecision]
    CONSENT_DECISION_OBJECTED: _ClassVar[ConsentDecision]

class RightType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RIGHT_TYPE_UNSPECIFIED: _ClassVar[RightType]
    RIGHT_TYPE_TRADEMARK: _ClassVar[RightType]
    RIGHT_TYPE_COPYRIGHT: _ClassVar[RightType]
    RIGHT_TYPE_RELATED: _ClassVar[RightType]
    RIGHT_TYPE_PATENT: _ClassVar[RightType]
    RIGHT_TYPE_DESIGN: _ClassVar[RightType]
    RIGHT_TYPE_GEOGRAPHICAL_INDICATION: _ClassVar[RightType]

class DetentionAction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DETENTION_ACTION_UNSPECIFIED: _ClassVar[DetentionAction]
    DETENTION_ACTION_SUSPENDED: _ClassVar[DetentionAction]
    DETENTION_ACTION_DETAINED: _ClassVar[DetentionAction]
    DETENTION_ACTION_RELEASED: _ClassVar[DetentionAction]
    DETENTION_ACTION_SEIZED: _ClassVar[DetentionAction]
    DETENTION_ACTION_DESTROYED: _ClassVar[DetentionAction]

class TransitRegime(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRANSIT_REGIME_UNSPECIFIED: _ClassVar[TransitRegime]
    TRANSIT_REGIME_TIR: _ClassVar[TransitRegime]
    TRANSIT_REGIME_ETIR: _ClassVar[TransitRegime]
    TRANSIT_REGIME_EAEU_TRANSIT: _ClassVar[TransitRegime]
    TRANSIT_REGIME_NATIONAL: _ClassVar[TransitRegime]
    TRANSIT_REGIME_PRE_ARRIVAL: _ClassVar[TransitRegime]

class VehicleKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VEHICLE_KIND_UNSPECIFIED: _ClassVar[VehicleKind]
    VEHICLE_KIND_TRACTOR: _ClassVar[VehicleKind]
    VEHICLE_KIND_TRAILER: _ClassVar[VehicleKind]
    VEHICLE_KIND_SEMI_TRAILER: _ClassVar[VehicleKind]
    VEHICLE_KIND_RIGID: _ClassVar[VehicleKind]
DIRECTION_UNSPECIFIED: Direction
DIRECTION_EXPORT: Direction
DIRECTION_IMPORT: Direction
DIRECTION_TRANSIT: Direction
DIRECTION_DOMESTIC: Direction
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
LEGAL_INSTRUMENT_UNSPECIFIED: LegalInstrument
LEGAL_INSTRUMENT_SCO_2018: LegalInstrument
LEGAL_INSTRUMENT_BILATERAL_CMAA: LegalInstrument
LEGAL_INSTRUMENT_NAIROBI: LegalInstrument
LEGAL_INSTRUMENT_JOHANNESBURG: LegalInstrument
REFUSAL_GROUND_UNSPECIFIED: RefusalGround
REFUSAL_GROUND_SOVEREIGNTY: RefusalGround
REFUSAL_GROUND_SECURITY: RefusalGround
REFUSAL_GROUND_PUBLIC_POLICY: RefusalGround
REFUSAL_GROUND_OTHER_NATIONAL_INTEREST: RefusalGround
LOCATION_TYPE_UNSPECIFIED: LocationType
LOCATION_TYPE_AIRPORT: LocationType
LOCATION_TYPE_SEAPORT: LocationType
LOCATION_TYPE_LAND_BORDER: LocationType
LOCATION_TYPE_POSTAL_EXPRESS: LocationType
LOCATION_TYPE_INLAND: LocationType
SEIZURE_CATEGORY_UNSPECIFIED: SeizureCategory
SEIZURE_CATEGORY_CULTURAL_HERITAGE: SeizureCategory
SEIZURE_CATEGORY_DRUGS: SeizureCategory
SEIZURE_CATEGORY_ENVIRONMENT: SeizureCategory
SEIZURE_CATEGORY_IPR_HEALTH_SAFETY: SeizureCategory
SEIZURE_CATEGORY_REVENUE: SeizureCategory
SEIZURE_CATEGORY_SECURITY: SeizureCategory
DETECTION_METHOD_UNSPECIFIED: DetectionMethod
DETECTION_METHOD_RISK_PROFILE: DetectionMethod
DETECTION_METHOD_RANDOM: DetectionMethod
DETECTION_METHOD_INTELLIGENCE: DetectionMethod
DETECTION_METHOD_X_RAY: DetectionMethod
DETECTION_METHOD_DOG: DetectionMethod
DETECTION_METHOD_PHYSICAL_EXAMINATION: DetectionMethod
DETECTION_METHOD_DOCUMENT_CHECK: DetectionMethod
GENDER_UNSPECIFIED: Gender
GENDER_MALE: Gender
GENDER_FEMALE: Gender
GENDER_OTHER: Gender
ODS_STATUS_UNSPECIFIED: OdsStatus
ODS_STATUS_INTENDED: OdsStatus
ODS_STATUS_LICENSED: OdsStatus
ODS_STATUS_DECLARED: OdsStatus
ODS_STATUS_SEIZED: OdsStatus
SUBSTANCE_STATE_UNSPECIFIED: SubstanceState
SUBSTANCE_STATE_VIRGIN: SubstanceState
SUBSTANCE_STATE_RECOVERED: SubstanceState
SUBSTANCE_STATE_RECYCLED: SubstanceState
SUBSTANCE_STATE_RECLAIMED: SubstanceState
SUBSTANCE_STATE_MIXTURE: SubstanceState
SUBSTANCE_STATE_IN_EQUIPMENT: SubstanceState
IPIC_ANSWER_UNSPECIFIED: IpicAnswer
IPIC_ANSWER_CONFIRMED: IpicAnswer
IPIC_ANSWER_NOT_CONFIRMED: IpicAnswer
IPIC_ANSWER_PENDING: IpicAnswer
NOTIFICATION_TYPE_UNSPECIFIED: NotificationType
NOTIFICATION_TYPE_INDIVIDUAL: NotificationType
NOTIFICATION_TYPE_GENERAL: NotificationType
WASTE_OPERATION_UNSPECIFIED: WasteOperation
WASTE_OPERATION_DISPOSAL: WasteOperation
WASTE_OPERATION_RECOVERY: WasteOperation
CONSENT_DECISION_UNSPECIFIED: ConsentDecision
CONSENT_DECISION_PENDING: ConsentDecision
CONSENT_DECISION_CONSENTED: ConsentDecision
CONSENT_DECISION_CONSENTED_WITH_CONDITIONS: ConsentDecision
CONSENT_DECISION_OBJECTED: ConsentDecision
RIGHT_TYPE_UNSPECIFIED: RightType
RIGHT_TYPE_TRADEMARK: RightType
RIGHT_TYPE_COPYRIGHT: RightType
RIGHT_TYPE_RELATED: RightType
RIGHT_TYPE_PATENT: RightType
RIGHT_TYPE_DESIGN: RightType
RIGHT_TYPE_GEOGRAPHICAL_INDICATION: RightType
DETENTION_ACTION_UNSPECIFIED: DetentionAction
DETENTION_ACTION_SUSPENDED: DetentionAction
DETENTION_ACTION_DETAINED: DetentionAction
DETENTION_ACTION_RELEASED: DetentionAction
DETENTION_ACTION_SEIZED: DetentionAction
DETENTION_ACTION_DESTROYED: DetentionAction
TRANSIT_REGIME_UNSPECIFIED: TransitRegime
TRANSIT_REGIME_TIR: TransitRegime
TRANSIT_REGIME_ETIR: TransitRegime
TRANSIT_REGIME_EAEU_TRANSIT: TransitRegime
TRANSIT_REGIME_NATIONAL: TransitRegime
TRANSIT_REGIME_PRE_ARRIVAL: TransitRegime
VEHICLE_KIND_UNSPECIFIED: VehicleKind
VEHICLE_KIND_TRACTOR: VehicleKind
VEHICLE_KIND_TRAILER: VehicleKind
VEHICLE_KIND_SEMI_TRAILER: VehicleKind
VEHICLE_KIND_RIGID: VehicleKind

class Record(_message.Message):
    __slots__ = ("meta", "declaration_snapshot", "contact_point_message", "seizure_report", "ods_shipment", "waste_movement", "ipr_recordation", "ipr_detention", "transit_pre_arrival")
    META_FIELD_NUMBER: _ClassVar[int]
    DECLARATION_SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    CONTACT_POINT_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    SEIZURE_REPORT_FIELD_NUMBER: _ClassVar[int]
    ODS_SHIPMENT_FIELD_NUMBER: _ClassVar[int]
    WASTE_MOVEMENT_FIELD_NUMBER: _ClassVar[int]
    IPR_RECORDATION_FIELD_NUMBER: _ClassVar[int]
    IPR_DETENTION_FIELD_NUMBER: _ClassVar[int]
    TRANSIT_PRE_ARRIVAL_FIELD_NUMBER: _ClassVar[int]
    meta: _common_pb2.RecordMeta
    declaration_snapshot: DeclarationSnapshot
    contact_point_message: ContactPointMessage
    seizure_report: SeizureReport
    ods_shipment: OdsShipment
    waste_movement: WasteMovement
    ipr_recordation: IprRecordation
    ipr_detention: IprDetention
    transit_pre_arrival: TransitPreArrival
    def __init__(self, meta: _Optional[_Union[_common_pb2.RecordMeta, _Mapping]] = ..., declaration_snapshot: _Optional[_Union[DeclarationSnapshot, _Mapping]] = ..., contact_point_message: _Optional[_Union[ContactPointMessage, _Mapping]] = ..., seizure_report: _Optional[_Union[SeizureReport, _Mapping]] = ..., ods_shipment: _Optional[_Union[OdsShipment, _Mapping]] = ..., waste_movement: _Optional[_Union[WasteMovement, _Mapping]] = ..., ipr_recordation: _Optional[_Union[IprRecordation, _Mapping]] = ..., ipr_detention: _Optional[_Union[IprDetention, _Mapping]] = ..., transit_pre_arrival: _Optional[_Union[TransitPreArrival, _Mapping]] = ...) -> None: ...

class DeclarationSnapshot(_message.Message):
    __slots__ = ("declaration_no", "lrn", "ucr", "direction", "procedure_code", "acceptance_date", "exporter", "consignee", "dispatch_country", "destination_country", "trading_country", "transport_doc_no", "container_ids", "transport_means_id", "invoice_amount", "incoterm", "items", "declarant", "customs_office", "exchange_rate", "transport_mode", "total_gross_mass", "total_packages")
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
    DECLARANT_FIELD_NUMBER: _ClassVar[int]
    CUSTOMS_OFFICE_FIELD_NUMBER: _ClassVar[int]
    EXCHANGE_RATE_FIELD_NUMBER: _ClassVar[int]
    TRANSPORT_MODE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_GROSS_MASS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_PACKAGES_FIELD_NUMBER: _ClassVar[int]
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
    declarant: _common_pb2.Party
    customs_office: _common_pb2.Place
    exchange_rate: str
    transport_mode: str
    total_gross_mass: _common_pb2.Quantity
    total_packages: _common_pb2.Packages
    def __init__(self, declaration_no: _Optional[str] = ..., lrn: _Optional[str] = ..., ucr: _Optional[str] = ..., direction: _Optional[_Union[Direction, str]] = ..., procedure_code: _Optional[str] = ..., acceptance_date: _Optional[str] = ..., exporter: _Optional[_Union[_common_pb2.Party, _Mapping]] = ..., consignee: _Optional[_Union[_common_pb2.Party, _Mapping]] = ..., dispatch_country: _Optional[str] = ..., destination_country: _Optional[str] = ..., trading_country: _Optional[str] = ..., transport_doc_no: _Optional[str] = ..., container_ids: _Optional[_Iterable[str]] = ..., transport_means_id: _Optional[str] = ..., invoice_amount: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., incoterm: _Optional[str] = ..., items: _Optional[_Iterable[_Union[DeclarationItem, _Mapping]]] = ..., declarant: _Optional[_Union[_common_pb2.Party, _Mapping]] = ..., customs_office: _Optional[_Union[_common_pb2.Place, _Mapping]] = ..., exchange_rate: _Optional[str] = ..., transport_mode: _Optional[str] = ..., total_gross_mass: _Optional[_Union[_common_pb2.Quantity, _Mapping]] = ..., total_packages: _Optional[_Union[_common_pb2.Packages, _Mapping]] = ...) -> None: ...

class DeclarationItem(_message.Message):
    __slots__ = ("seq", "commodity", "gross_mass", "net_mass", "supplementary_quantity", "customs_value", "statistical_value", "procedure_code", "packages", "documents", "invoice_amount")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    COMMODITY_FIELD_NUMBER: _ClassVar[int]
    GROSS_MASS_FIELD_NUMBER: _ClassVar[int]
    NET_MASS_FIELD_NUMBER: _ClassVar[int]
    SUPPLEMENTARY_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    CUSTOMS_VALUE_FIELD_NUMBER: _ClassVar[int]
    STATISTICAL_VALUE_FIELD_NUMBER: _ClassVar[int]
    PROCEDURE_CODE_FIELD_NUMBER: _ClassVar[int]
    PACKAGES_FIELD_NUMBER: _ClassVar[int]
    DOCUMENTS_FIELD_NUMBER: _ClassVar[int]
    INVOICE_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    seq: int
    commodity: _common_pb2.Commodity
    gross_mass: _common_pb2.Quantity
    net_mass: _common_pb2.Quantity
    supplementary_quantity: _common_pb2.Quantity
    customs_value: _common_pb2.Money
    statistical_value: _common_pb2.Money
    procedure_code: str
    packages: _common_pb2.Packages
    documents: _containers.RepeatedCompositeFieldContainer[_common_pb2.DocRef]
    invoice_amount: _common_pb2.Money
    def __init__(self, seq: _Optional[int] = ..., commodity: _Optional[_Union[_common_pb2.Commodity, _Mapping]] = ..., gross_mass: _Optional[_Union[_common_pb2.Quantity, _Mapping]] = ..., net_mass: _Optional[_Union[_common_pb2.Quantity, _Mapping]] = ..., supplementary_quantity: _Optional[_Union[_common_pb2.Quantity, _Mapping]] = ..., customs_value: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., statistical_value: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., procedure_code: _Optional[str] = ..., packages: _Optional[_Union[_common_pb2.Packages, _Mapping]] = ..., documents: _Optional[_Iterable[_Union[_common_pb2.DocRef, _Mapping]]] = ..., invoice_amount: _Optional[_Union[_common_pb2.Money, _Mapping]] = ...) -> None: ...

class ContactPointMessage(_message.Message):
    __slots__ = ("kind", "thread_id", "in_reply_to", "legal_basis", "requesting_authority", "requested_authority", "contact_point_id", "priority", "response_due", "measure_requested", "subject", "reason", "facts_summary", "companies", "attachments", "language", "cencomm_ref", "legal_instrument", "persons", "conveyances", "consignments", "refusal_ground")
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
    LEGAL_INSTRUMENT_FIELD_NUMBER: _ClassVar[int]
    PERSONS_FIELD_NUMBER: _ClassVar[int]
    CONVEYANCES_FIELD_NUMBER: _ClassVar[int]
    CONSIGNMENTS_FIELD_NUMBER: _ClassVar[int]
    REFUSAL_GROUND_FIELD_NUMBER: _ClassVar[int]
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
    legal_instrument: LegalInstrument
    persons: _containers.RepeatedCompositeFieldContainer[_common_pb2.Party]
    conveyances: _containers.RepeatedCompositeFieldContainer[_common_pb2.Conveyance]
    consignments: _containers.RepeatedCompositeFieldContainer[_common_pb2.DocRef]
    refusal_ground: RefusalGround
    def __init__(self, kind: _Optional[_Union[ContactPointKind, str]] = ..., thread_id: _Optional[str] = ..., in_reply_to: _Optional[str] = ..., legal_basis: _Optional[str] = ..., requesting_authority: _Optional[str] = ..., requested_authority: _Optional[str] = ..., contact_point_id: _Optional[str] = ..., priority: _Optional[_Union[Priority, str]] = ..., response_due: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., measure_requested: _Optional[str] = ..., subject: _Optional[str] = ..., reason: _Optional[str] = ..., facts_summary: _Optional[str] = ..., companies: _Optional[_Iterable[_Union[_common_pb2.Party, _Mapping]]] = ..., attachments: _Optional[_Iterable[_Union[_common_pb2.DocRef, _Mapping]]] = ..., language: _Optional[str] = ..., cencomm_ref: _Optional[str] = ..., legal_instrument: _Optional[_Union[LegalInstrument, str]] = ..., persons: _Optional[_Iterable[_Union[_common_pb2.Party, _Mapping]]] = ..., conveyances: _Optional[_Iterable[_Union[_common_pb2.Conveyance, _Mapping]]] = ..., consignments: _Optional[_Iterable[_Union[_common_pb2.DocRef, _Mapping]]] = ..., refusal_ground: _Optional[_Union[RefusalGround, str]] = ...) -> None: ...

class SeizureReport(_message.Message):
    __slots__ = ("case_id", "seizure_date", "place", "location_type", "direction", "category", "items", "detection_method", "concealment", "conveyance", "route", "offenders", "linked_declaration", "photos")
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    SEIZURE_DATE_FIELD_NUMBER: _ClassVar[int]
    PLACE_FIELD_NUMBER: _ClassVar[int]
    LOCATION_TYPE_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    DETECTION_METHOD_FIELD_NUMBER: _ClassVar[int]
    CONCEALMENT_FIELD_NUMBER: _ClassVar[int]
    CONVEYANCE_FIELD_NUMBER: _ClassVar[int]
    ROUTE_FIELD_NUMBER: _ClassVar[int]
    OFFENDERS_FIELD_NUMBER: _ClassVar[int]
    LINKED_DECLARATION_FIELD_NUMBER: _ClassVar[int]
    PHOTOS_FIELD_NUMBER: _ClassVar[int]
    case_id: str
    seizure_date: str
    place: _common_pb2.Place
    location_type: LocationType
    direction: Direction
    category: SeizureCategory
    items: _containers.RepeatedCompositeFieldContainer[SeizedItem]
    detection_method: DetectionMethod
    concealment: str
    conveyance: _common_pb2.Conveyance
    route: Route
    offenders: _containers.RepeatedCompositeFieldContainer[Offender]
    linked_declaration: _common_pb2.DocRef
    photos: _containers.RepeatedCompositeFieldContainer[_common_pb2.DocRef]
    def __init__(self, case_id: _Optional[str] = ..., seizure_date: _Optional[str] = ..., place: _Optional[_Union[_common_pb2.Place, _Mapping]] = ..., location_type: _Optional[_Union[LocationType, str]] = ..., direction: _Optional[_Union[Direction, str]] = ..., category: _Optional[_Union[SeizureCategory, str]] = ..., items: _Optional[_Iterable[_Union[SeizedItem, _Mapping]]] = ..., detection_method: _Optional[_Union[DetectionMethod, str]] = ..., concealment: _Optional[str] = ..., conveyance: _Optional[_Union[_common_pb2.Conveyance, _Mapping]] = ..., route: _Optional[_Union[Route, _Mapping]] = ..., offenders: _Optional[_Iterable[_Union[Offender, _Mapping]]] = ..., linked_declaration: _Optional[_Union[_common_pb2.DocRef, _Mapping]] = ..., photos: _Optional[_Iterable[_Union[_common_pb2.DocRef, _Mapping]]] = ...) -> None: ...

class SeizedItem(_message.Message):
    __slots__ = ("commodity", "quantity", "estimated_value")
    COMMODITY_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_VALUE_FIELD_NUMBER: _ClassVar[int]
    commodity: _common_pb2.Commodity
    quantity: _common_pb2.Quantity
    estimated_value: _common_pb2.Money
    def __init__(self, commodity: _Optional[_Union[_common_pb2.Commodity, _Mapping]] = ..., quantity: _Optional[_Union[_common_pb2.Quantity, _Mapping]] = ..., estimated_value: _Optional[_Union[_common_pb2.Money, _Mapping]] = ...) -> None: ...

class Route(_message.Message):
    __slots__ = ("departure_country", "transit_countries", "destination_country")
    DEPARTURE_COUNTRY_FIELD_NUMBER: _ClassVar[int]
    TRANSIT_COUNTRIES_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_COUNTRY_FIELD_NUMBER: _ClassVar[int]
    departure_country: str
    transit_countries: _containers.RepeatedScalarFieldContainer[str]
    destination_country: str
    def __init__(self, departure_country: _Optional[str] = ..., transit_countries: _Optional[_Iterable[str]] = ..., destination_country: _Optional[str] = ...) -> None: ...

class Offender(_message.Message):
    __slots__ = ("nationality", "gender", "age")
    NATIONALITY_FIELD_NUMBER: _ClassVar[int]
    GENDER_FIELD_NUMBER: _ClassVar[int]
    AGE_FIELD_NUMBER: _ClassVar[int]
    nationality: str
    gender: Gender
    age: int
    def __init__(self, nationality: _Optional[str] = ..., gender: _Optional[_Union[Gender, str]] = ..., age: _Optional[int] = ...) -> None: ...

class OdsShipment(_message.Message):
    __slots__ = ("shipment_ref", "status", "direction", "exporter", "importer", "export_licence", "import_licence", "substance", "cas_no", "annex_group", "commodity", "state", "quantity", "odp", "odp_tonnes", "mixture_components", "exit_point", "entry_point", "expected_date", "ipic_ref", "ipic_answer", "linked_declaration")
    SHIPMENT_REF_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    EXPORTER_FIELD_NUMBER: _ClassVar[int]
    IMPORTER_FIELD_NUMBER: _ClassVar[int]
    EXPORT_LICENCE_FIELD_NUMBER: _ClassVar[int]
    IMPORT_LICENCE_FIELD_NUMBER: _ClassVar[int]
    SUBSTANCE_FIELD_NUMBER: _ClassVar[int]
    CAS_NO_FIELD_NUMBER: _ClassVar[int]
    ANNEX_GROUP_FIELD_NUMBER: _ClassVar[int]
    COMMODITY_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    ODP_FIELD_NUMBER: _ClassVar[int]
    ODP_TONNES_FIELD_NUMBER: _ClassVar[int]
    MIXTURE_COMPONENTS_FIELD_NUMBER: _ClassVar[int]
    EXIT_POINT_FIELD_NUMBER: _ClassVar[int]
    ENTRY_POINT_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_DATE_FIELD_NUMBER: _ClassVar[int]
    IPIC_REF_FIELD_NUMBER: _ClassVar[int]
    IPIC_ANSWER_FIELD_NUMBER: _ClassVar[int]
    LINKED_DECLARATION_FIELD_NUMBER: _ClassVar[int]
    shipment_ref: str
    status: OdsStatus
    direction: Direction
    exporter: _common_pb2.Party
    importer: _common_pb2.Party
    export_licence: _common_pb2.DocRef
    import_licence: _common_pb2.DocRef
    substance: str
    cas_no: str
    annex_group: str
    commodity: _common_pb2.Commodity
    state: SubstanceState
    quantity: _common_pb2.Quantity
    odp: str
    odp_tonnes: str
    mixture_components: _containers.RepeatedCompositeFieldContainer[MixtureComponent]
    exit_point: _common_pb2.Place
    entry_point: _common_pb2.Place
    expected_date: str
    ipic_ref: str
    ipic_answer: IpicAnswer
    linked_declaration: _common_pb2.DocRef
    def __init__(self, shipment_ref: _Optional[str] = ..., status: _Optional[_Union[OdsStatus, str]] = ..., direction: _Optional[_Union[Direction, str]] = ..., exporter: _Optional[_Union[_common_pb2.Party, _Mapping]] = ..., importer: _Optional[_Union[_common_pb2.Party, _Mapping]] = ..., export_licence: _Optional[_Union[_common_pb2.DocRef, _Mapping]] = ..., import_licence: _Optional[_Union[_common_pb2.DocRef, _Mapping]] = ..., substance: _Optional[str] = ..., cas_no: _Optional[str] = ..., annex_group: _Optional[str] = ..., commodity: _Optional[_Union[_common_pb2.Commodity, _Mapping]] = ..., state: _Optional[_Union[SubstanceState, str]] = ..., quantity: _Optional[_Union[_common_pb2.Quantity, _Mapping]] = ..., odp: _Optional[str] = ..., odp_tonnes: _Optional[str] = ..., mixture_components: _Optional[_Iterable[_Union[MixtureComponent, _Mapping]]] = ..., exit_point: _Optional[_Union[_common_pb2.Place, _Mapping]] = ..., entry_point: _Optional[_Union[_common_pb2.Place, _Mapping]] = ..., expected_date: _Optional[str] = ..., ipic_ref: _Optional[str] = ..., ipic_answer: _Optional[_Union[IpicAnswer, str]] = ..., linked_declaration: _Optional[_Union[_common_pb2.DocRef, _Mapping]] = ...) -> None: ...

class MixtureComponent(_message.Message):
    __slots__ = ("substance", "cas_no", "percent")
    SUBSTANCE_FIELD_NUMBER: _ClassVar[int]
    CAS_NO_FIELD_NUMBER: _ClassVar[int]
    PERCENT_FIELD_NUMBER: _ClassVar[int]
    substance: str
    cas_no: str
    percent: str
    def __init__(self, substance: _Optional[str] = ..., cas_no: _Optional[str] = ..., percent: _Optional[str] = ...) -> None: ...

class WasteMovement(_message.Message):
    __slots__ = ("notification_no", "notification_type", "operation", "consents", "exporter", "importer", "generator", "facility", "carriers", "waste", "dr_code", "intended_quantity", "intended_shipments", "period_from", "period_to", "movements")
    NOTIFICATION_NO_FIELD_NUMBER: _ClassVar[int]
    NOTIFICATION_TYPE_FIELD_NUMBER: _ClassVar[int]
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    CONSENTS_FIELD_NUMBER: _ClassVar[int]
    EXPORTER_FIELD_NUMBER: _ClassVar[int]
    IMPORTER_FIELD_NUMBER: _ClassVar[int]
    GENERATOR_FIELD_NUMBER: _ClassVar[int]
    FACILITY_FIELD_NUMBER: _ClassVar[int]
    CARRIERS_FIELD_NUMBER: _ClassVar[int]
    WASTE_FIELD_NUMBER: _ClassVar[int]
    DR_CODE_FIELD_NUMBER: _ClassVar[int]
    INTENDED_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    INTENDED_SHIPMENTS_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FROM_FIELD_NUMBER: _ClassVar[int]
    PERIOD_TO_FIELD_NUMBER: _ClassVar[int]
    MOVEMENTS_FIELD_NUMBER: _ClassVar[int]
    notification_no: str
    notification_type: NotificationType
    operation: WasteOperation
    consents: _containers.RepeatedCompositeFieldContainer[Consent]
    exporter: _common_pb2.Party
    importer: _common_pb2.Party
    generator: _common_pb2.Party
    facility: _common_pb2.Party
    carriers: _containers.RepeatedCompositeFieldContainer[_common_pb2.Party]
    waste: WasteIdentification
    dr_code: str
    intended_quantity: _common_pb2.Quantity
    intended_shipments: int
    period_from: str
    period_to: str
    movements: _containers.RepeatedCompositeFieldContainer[WasteShipment]
    def __init__(self, notification_no: _Optional[str] = ..., notification_type: _Optional[_Union[NotificationType, str]] = ..., operation: _Optional[_Union[WasteOperation, str]] = ..., consents: _Optional[_Iterable[_Union[Consent, _Mapping]]] = ..., exporter: _Optional[_Union[_common_pb2.Party, _Mapping]] = ..., importer: _Optional[_Union[_common_pb2.Party, _Mapping]] = ..., generator: _Optional[_Union[_common_pb2.Party, _Mapping]] = ..., facility: _Optional[_Union[_common_pb2.Party, _Mapping]] = ..., carriers: _Optional[_Iterable[_Union[_common_pb2.Party, _Mapping]]] = ..., waste: _Optional[_Union[WasteIdentification, _Mapping]] = ..., dr_code: _Optional[str] = ..., intended_quantity: _Optional[_Union[_common_pb2.Quantity, _Mapping]] = ..., intended_shipments: _Optional[int] = ..., period_from: _Optional[str] = ..., period_to: _Optional[str] = ..., movements: _Optional[_Iterable[_Union[WasteShipment, _Mapping]]] = ...) -> None: ...

class Consent(_message.Message):
    __slots__ = ("country", "authority_code", "decision", "valid_from", "valid_to")
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    AUTHORITY_CODE_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    VALID_FROM_FIELD_NUMBER: _ClassVar[int]
    VALID_TO_FIELD_NUMBER: _ClassVar[int]
    country: str
    authority_code: str
    decision: ConsentDecision
    valid_from: str
    valid_to: str
    def __init__(self, country: _Optional[str] = ..., authority_code: _Optional[str] = ..., decision: _Optional[_Union[ConsentDecision, str]] = ..., valid_from: _Optional[str] = ..., valid_to: _Optional[str] = ...) -> None: ...

class WasteIdentification(_message.Message):
    __slots__ = ("basel_code", "y_codes", "h_codes", "oecd_code", "un_number", "un_class", "hs_codes", "designation")
    BASEL_CODE_FIELD_NUMBER: _ClassVar[int]
    Y_CODES_FIELD_NUMBER: _ClassVar[int]
    H_CODES_FIELD_NUMBER: _ClassVar[int]
    OECD_CODE_FIELD_NUMBER: _ClassVar[int]
    UN_NUMBER_FIELD_NUMBER: _ClassVar[int]
    UN_CLASS_FIELD_NUMBER: _ClassVar[int]
    HS_CODES_FIELD_NUMBER: _ClassVar[int]
    DESIGNATION_FIELD_NUMBER: _ClassVar[int]
    basel_code: str
    y_codes: _containers.RepeatedScalarFieldContainer[str]
    h_codes: _containers.RepeatedScalarFieldContainer[str]
    oecd_code: str
    un_number: str
    un_class: str
    hs_codes: _containers.RepeatedScalarFieldContainer[str]
    designation: str
    def __init__(self, basel_code: _Optional[str] = ..., y_codes: _Optional[_Iterable[str]] = ..., h_codes: _Optional[_Iterable[str]] = ..., oecd_code: _Optional[str] = ..., un_number: _Optional[str] = ..., un_class: _Optional[str] = ..., hs_codes: _Optional[_Iterable[str]] = ..., designation: _Optional[str] = ...) -> None: ...

class WasteShipment(_message.Message):
    __slots__ = ("seq", "total", "actual_quantity", "actual_date", "packaging", "conveyance", "vehicle_ids", "container_ids", "seal_ids", "exit_point", "entry_point", "customs_offices", "received_date", "disposal_certified_date")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    ACTUAL_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    ACTUAL_DATE_FIELD_NUMBER: _ClassVar[int]
    PACKAGING_FIELD_NUMBER: _ClassVar[int]
    CONVEYANCE_FIELD_NUMBER: _ClassVar[int]
    VEHICLE_IDS_FIELD_NUMBER: _ClassVar[int]
    CONTAINER_IDS_FIELD_NUMBER: _ClassVar[int]
    SEAL_IDS_FIELD_NUMBER: _ClassVar[int]
    EXIT_POINT_FIELD_NUMBER: _ClassVar[int]
    ENTRY_POINT_FIELD_NUMBER: _ClassVar[int]
    CUSTOMS_OFFICES_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_DATE_FIELD_NUMBER: _ClassVar[int]
    DISPOSAL_CERTIFIED_DATE_FIELD_NUMBER: _ClassVar[int]
    seq: int
    total: int
    actual_quantity: _common_pb2.Quantity
    actual_date: str
    packaging: _containers.RepeatedScalarFieldContainer[str]
    conveyance: _common_pb2.Conveyance
    vehicle_ids: _containers.RepeatedScalarFieldContainer[str]
    container_ids: _containers.RepeatedScalarFieldContainer[str]
    seal_ids: _containers.RepeatedScalarFieldContainer[str]
    exit_point: _common_pb2.Place
    entry_point: _common_pb2.Place
    customs_offices: _containers.RepeatedCompositeFieldContainer[_common_pb2.Place]
    received_date: str
    disposal_certified_date: str
    def __init__(self, seq: _Optional[int] = ..., total: _Optional[int] = ..., actual_quantity: _Optional[_Union[_common_pb2.Quantity, _Mapping]] = ..., actual_date: _Optional[str] = ..., packaging: _Optional[_Iterable[str]] = ..., conveyance: _Optional[_Union[_common_pb2.Conveyance, _Mapping]] = ..., vehicle_ids: _Optional[_Iterable[str]] = ..., container_ids: _Optional[_Iterable[str]] = ..., seal_ids: _Optional[_Iterable[str]] = ..., exit_point: _Optional[_Union[_common_pb2.Place, _Mapping]] = ..., entry_point: _Optional[_Union[_common_pb2.Place, _Mapping]] = ..., customs_offices: _Optional[_Iterable[_Union[_common_pb2.Place, _Mapping]]] = ..., received_date: _Optional[str] = ..., disposal_certified_date: _Optional[str] = ...) -> None: ...

class IprRecordation(_message.Message):
    __slots__ = ("recordation_no", "authority", "right_type", "right_no", "right_valid_to", "protection_valid_to", "right_holder", "representative", "licensees", "authorised_importers", "mark_text", "mark_image", "nice_classes", "goods")
    RECORDATION_NO_FIELD_NUMBER: _ClassVar[int]
    AUTHORITY_FIELD_NUMBER: _ClassVar[int]
    RIGHT_TYPE_FIELD_NUMBER: _ClassVar[int]
    RIGHT_NO_FIELD_NUMBER: _ClassVar[int]
    RIGHT_VALID_TO_FIELD_NUMBER: _ClassVar[int]
    PROTECTION_VALID_TO_FIELD_NUMBER: _ClassVar[int]
    RIGHT_HOLDER_FIELD_NUMBER: _ClassVar[int]
    REPRESENTATIVE_FIELD_NUMBER: _ClassVar[int]
    LICENSEES_FIELD_NUMBER: _ClassVar[int]
    AUTHORISED_IMPORTERS_FIELD_NUMBER: _ClassVar[int]
    MARK_TEXT_FIELD_NUMBER: _ClassVar[int]
    MARK_IMAGE_FIELD_NUMBER: _ClassVar[int]
    NICE_CLASSES_FIELD_NUMBER: _ClassVar[int]
    GOODS_FIELD_NUMBER: _ClassVar[int]
    recordation_no: str
    authority: str
    right_type: RightType
    right_no: str
    right_valid_to: str
    protection_valid_to: str
    right_holder: _common_pb2.Party
    representative: _common_pb2.Party
    licensees: _containers.RepeatedCompositeFieldContainer[_common_pb2.Party]
    authorised_importers: _containers.RepeatedCompositeFieldContainer[_common_pb2.Party]
    mark_text: str
    mark_image: _common_pb2.DocRef
    nice_classes: _containers.RepeatedScalarFieldContainer[int]
    goods: _containers.RepeatedCompositeFieldContainer[_common_pb2.Commodity]
    def __init__(self, recordation_no: _Optional[str] = ..., authority: _Optional[str] = ..., right_type: _Optional[_Union[RightType, str]] = ..., right_no: _Optional[str] = ..., right_valid_to: _Optional[str] = ..., protection_valid_to: _Optional[str] = ..., right_holder: _Optional[_Union[_common_pb2.Party, _Mapping]] = ..., representative: _Optional[_Union[_common_pb2.Party, _Mapping]] = ..., licensees: _Optional[_Iterable[_Union[_common_pb2.Party, _Mapping]]] = ..., authorised_importers: _Optional[_Iterable[_Union[_common_pb2.Party, _Mapping]]] = ..., mark_text: _Optional[str] = ..., mark_image: _Optional[_Union[_common_pb2.DocRef, _Mapping]] = ..., nice_classes: _Optional[_Iterable[int]] = ..., goods: _Optional[_Iterable[_Union[_common_pb2.Commodity, _Mapping]]] = ...) -> None: ...

class IprDetention(_message.Message):
    __slots__ = ("recordation_no", "detention_date", "place", "direction", "ex_officio", "goods", "consignor", "consignee", "declaration", "action", "holder_notified_at", "holder_deadline", "right_holder", "case_id")
    RECORDATION_NO_FIELD_NUMBER: _ClassVar[int]
    DETENTION_DATE_FIELD_NUMBER: _ClassVar[int]
    PLACE_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    EX_OFFICIO_FIELD_NUMBER: _ClassVar[int]
    GOODS_FIELD_NUMBER: _ClassVar[int]
    CONSIGNOR_FIELD_NUMBER: _ClassVar[int]
    CONSIGNEE_FIELD_NUMBER: _ClassVar[int]
    DECLARATION_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    HOLDER_NOTIFIED_AT_FIELD_NUMBER: _ClassVar[int]
    HOLDER_DEADLINE_FIELD_NUMBER: _ClassVar[int]
    RIGHT_HOLDER_FIELD_NUMBER: _ClassVar[int]
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    recordation_no: str
    detention_date: str
    place: _common_pb2.Place
    direction: Direction
    ex_officio: bool
    goods: _containers.RepeatedCompositeFieldContainer[DetainedGoods]
    consignor: _common_pb2.Party
    consignee: _common_pb2.Party
    declaration: _common_pb2.DocRef
    action: DetentionAction
    holder_notified_at: _timestamp_pb2.Timestamp
    holder_deadline: str
    right_holder: _common_pb2.Party
    case_id: str
    def __init__(self, recordation_no: _Optional[str] = ..., detention_date: _Optional[str] = ..., place: _Optional[_Union[_common_pb2.Place, _Mapping]] = ..., direction: _Optional[_Union[Direction, str]] = ..., ex_officio: _Optional[bool] = ..., goods: _Optional[_Iterable[_Union[DetainedGoods, _Mapping]]] = ..., consignor: _Optional[_Union[_common_pb2.Party, _Mapping]] = ..., consignee: _Optional[_Union[_common_pb2.Party, _Mapping]] = ..., declaration: _Optional[_Union[_common_pb2.DocRef, _Mapping]] = ..., action: _Optional[_Union[DetentionAction, str]] = ..., holder_notified_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., holder_deadline: _Optional[str] = ..., right_holder: _Optional[_Union[_common_pb2.Party, _Mapping]] = ..., case_id: _Optional[str] = ...) -> None: ...

class DetainedGoods(_message.Message):
    __slots__ = ("commodity", "quantity", "value")
    COMMODITY_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    commodity: _common_pb2.Commodity
    quantity: _common_pb2.Quantity
    value: _common_pb2.Money
    def __init__(self, commodity: _Optional[_Union[_common_pb2.Commodity, _Mapping]] = ..., quantity: _Optional[_Union[_common_pb2.Quantity, _Mapping]] = ..., value: _Optional[_Union[_common_pb2.Money, _Mapping]] = ...) -> None: ...

class TransitPreArrival(_message.Message):
    __slots__ = ("regime", "carnet_or_guarantee_ref", "holder_id", "office_departure", "offices_en_route", "office_destination", "border_crossings", "expected_arrival", "carrier", "consignor", "consignee", "vehicles", "container_ids", "seal_ids", "goods", "time_limit", "itinerary", "transit_declaration_no")
    REGIME_FIELD_NUMBER: _ClassVar[int]
    CARNET_OR_GUARANTEE_REF_FIELD_NUMBER: _ClassVar[int]
    HOLDER_ID_FIELD_NUMBER: _ClassVar[int]
    OFFICE_DEPARTURE_FIELD_NUMBER: _ClassVar[int]
    OFFICES_EN_ROUTE_FIELD_NUMBER: _ClassVar[int]
    OFFICE_DESTINATION_FIELD_NUMBER: _ClassVar[int]
    BORDER_CROSSINGS_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_ARRIVAL_FIELD_NUMBER: _ClassVar[int]
    CARRIER_FIELD_NUMBER: _ClassVar[int]
    CONSIGNOR_FIELD_NUMBER: _ClassVar[int]
    CONSIGNEE_FIELD_NUMBER: _ClassVar[int]
    VEHICLES_FIELD_NUMBER: _ClassVar[int]
    CONTAINER_IDS_FIELD_NUMBER: _ClassVar[int]
    SEAL_IDS_FIELD_NUMBER: _ClassVar[int]
    GOODS_FIELD_NUMBER: _ClassVar[int]
    TIME_LIMIT_FIELD_NUMBER: _ClassVar[int]
    ITINERARY_FIELD_NUMBER: _ClassVar[int]
    TRANSIT_DECLARATION_NO_FIELD_NUMBER: _ClassVar[int]
    regime: TransitRegime
    carnet_or_guarantee_ref: str
    holder_id: str
    office_departure: _common_pb2.Place
    offices_en_route: _containers.RepeatedCompositeFieldContainer[_common_pb2.Place]
    office_destination: _common_pb2.Place
    border_crossings: _containers.RepeatedCompositeFieldContainer[_common_pb2.Place]
    expected_arrival: _timestamp_pb2.Timestamp
    carrier: _common_pb2.Party
    consignor: _common_pb2.Party
    consignee: _common_pb2.Party
    vehicles: _containers.RepeatedCompositeFieldContainer[Vehicle]
    container_ids: _containers.RepeatedScalarFieldContainer[str]
    seal_ids: _containers.RepeatedScalarFieldContainer[str]
    goods: _containers.RepeatedCompositeFieldContainer[TransitGoods]
    time_limit: str
    itinerary: _containers.RepeatedScalarFieldContainer[str]
    transit_declaration_no: str
    def __init__(self, regime: _Optional[_Union[TransitRegime, str]] = ..., carnet_or_guarantee_ref: _Optional[str] = ..., holder_id: _Optional[str] = ..., office_departure: _Optional[_Union[_common_pb2.Place, _Mapping]] = ..., offices_en_route: _Optional[_Iterable[_Union[_common_pb2.Place, _Mapping]]] = ..., office_destination: _Optional[_Union[_common_pb2.Place, _Mapping]] = ..., border_crossings: _Optional[_Iterable[_Union[_common_pb2.Place, _Mapping]]] = ..., expected_arrival: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., carrier: _Optional[_Union[_common_pb2.Party, _Mapping]] = ..., consignor: _Optional[_Union[_common_pb2.Party, _Mapping]] = ..., consignee: _Optional[_Union[_common_pb2.Party, _Mapping]] = ..., vehicles: _Optional[_Iterable[_Union[Vehicle, _Mapping]]] = ..., container_ids: _Optional[_Iterable[str]] = ..., seal_ids: _Optional[_Iterable[str]] = ..., goods: _Optional[_Iterable[_Union[TransitGoods, _Mapping]]] = ..., time_limit: _Optional[str] = ..., itinerary: _Optional[_Iterable[str]] = ..., transit_declaration_no: _Optional[str] = ...) -> None: ...

class Vehicle(_message.Message):
    __slots__ = ("registration_no", "nationality", "kind")
    REGISTRATION_NO_FIELD_NUMBER: _ClassVar[int]
    NATIONALITY_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    registration_no: str
    nationality: str
    kind: VehicleKind
    def __init__(self, registration_no: _Optional[str] = ..., nationality: _Optional[str] = ..., kind: _Optional[_Union[VehicleKind, str]] = ...) -> None: ...

class TransitGoods(_message.Message):
    __slots__ = ("commodity", "packages", "gross_mass")
    COMMODITY_FIELD_NUMBER: _ClassVar[int]
    PACKAGES_FIELD_NUMBER: _ClassVar[int]
    GROSS_MASS_FIELD_NUMBER: _ClassVar[int]
    commodity: _common_pb2.Commodity
    packages: _common_pb2.Packages
    gross_mass: _common_pb2.Quantity
    def __init__(self, commodity: _Optional[_Union[_common_pb2.Commodity, _Mapping]] = ..., packages: _Optional[_Union[_common_pb2.Packages, _Mapping]] = ..., gross_mass: _Optional[_Union[_common_pb2.Quantity, _Mapping]] = ...) -> None: ...
