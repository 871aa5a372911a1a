"""Record validation at submit time: each rule refuses what it should, with the field's path.

Every case starts from a valid record of its type and breaks one thing; the
validator must then report exactly that one problem, so a rule that is
missing, too loose or too eager fails its case.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format
from tamga.adapters.json_records import JsonAdapter
from tamga.errors import ValidationError
from tamga.intake import check_records
from tamga.v1 import common_pb2, records_pb2
from tamga.validation import raise_if_invalid, rec20_units, validate_record, validate_records

SAMPLES = Path(__file__).resolve().parents[2] / "adapters" / "samples"


def meta(ref: str, sender: str = "KZ", receivers: tuple[str, ...] = ("UZ",)) -> dict[str, Any]:
    return {
        "recordId": "0b6f3c9e-6a51-4c1e-9d0c-2f7a8d5e4b11",
        "senderCountry": sender,
        "receiverCountries": list(receivers),
        "senderAuthority": "State Revenue Committee of the Republic of Kazakhstan",
        "createdAt": "2026-03-01T08:15:00Z",
        "sourceFormat": "EEC:R.036",
        "sourceRecordRef": ref,
        "messageFunction": "MESSAGE_FUNCTION_ORIGINAL",
        "handling": "HANDLING_RESTRICTED",
    }


BASES: dict[str, dict[str, Any]] = {
    "declaration": {
        "meta": meta("10702020/010326/0001234"),
        "declarationSnapshot": {
            "declarationNo": "10702020/010326/0001234",
            "direction": "DIRECTION_EXPORT",
            "procedureCode": "10",
            "acceptanceDate": "2026-03-01",
            "exporter": {"name": "Shymkent Chemical Works JSC", "id": "987654321098", "country": "KZ"},
            "consignee": {"name": "Toshkent Sovutgich MChJ", "country": "UZ"},
            "dispatchCountry": "KZ",
            "destinationCountry": "UZ",
            "containerIds": ["CSQU3054383"],
            "invoiceAmount": {"amount": "12600.00", "currency": "USD"},
            "incoterm": "DAP",
            "transportMode": "3",
            "customsOffice": {"unlocode": "KZCIT", "country": "KZ"},
            "items": [
                {
                    "seq": 1,
                    "commodity": {"hs6": "290371", "nationalCode": "2903710000", "originCountry": "CN"},
                    "netMass": {"value": "1000", "unit": "KGM"},
                    "customsValue": {"amount": "12600.00", "currency": "USD"},
                    "documents": [{"type": "LICENCE", "number": "ODS-KZ-17", "date": "2026-01-15"}],
                },
                {"seq": 2, "commodity": {"hs6": "841869"}, "grossMass": {"value": "250.5", "unit": "KGM"}},
            ],
        },
    },
    "request": {
        "meta": meta("UZ-CP-2026-0042", "UZ", ("KZ",)),
        "contactPointMessage": {
            "kind": "CONTACT_POINT_KIND_REQUEST",
            "threadId": "7e3b2d18-4f6a-4c09-a1b2-c3d4e5f60733",
            "legalBasis": "SCO 2018 regulation",
            "requestingAuthority": "Customs Committee of the Republic of Uzbekistan",
            "requestedAuthority": "State Revenue Committee of the Republic of Kazakhstan",
            "contactPointId": "UZ-24H-01",
            "priority": "PRIORITY_URGENT",
            "measureRequested": "VERIFY_DECLARATION",
            "subject": "Verification of export declaration",
            "reason": "Quantity differs from the licence",
            "factsSummary": "Import declaration lists 1,260 kg gross",
            "attachments": [{"type": "LICENCE", "number": "ODS-UZ-2026-117", "issuerCountry": "UZ"}],
            "language": "ru",
        },
    },
    "seizure": {
        "meta": meta("KZ-SZ-2026-77"),
        "seizureReport": {
            "caseId": "KZ-SZ-2026-77",
            "seizureDate": "2026-02-11",
            "place": {"unlocode": "KZKHO", "name": "Khorgos"},
            "locationType": "LOCATION_TYPE_LAND_BORDER",
            "direction": "DIRECTION_IMPORT",
            "category": "SEIZURE_CATEGORY_IPR_HEALTH_SAFETY",
            "items": [
                {
                    "commodity": {"hs6": "848210", "description": "Ball bearings"},
                    "quantity": {"value": "1200", "unit": "H87"},
                    "estimatedValue": {"amount": "3000", "currency": "USD"},
                }
            ],
            "conveyance": {"mode": "3", "nationality": "CN"},
            "route": {"departureCountry": "CN", "transitCountries": ["KZ"], "destinationCountry": "UZ"},
            "offenders": [{"nationality": "KZ", "gender": "GENDER_MALE", "age": 41}],
            "photos": [{"type": "PHOTO", "uri": "https://cen.example/p/1.jpg", "sha256": "ab" * 32}],
        },
    },
    "ods": {
        "meta": meta("10702020/010326/0001234/1"),
        "odsShipment": {
            "shipmentRef": "10702020/010326/0001234/1",
            "status": "ODS_STATUS_DECLARED",
            "direction": "DIRECTION_EXPORT",
            "exporter": {"name": "Shymkent Chemical Works JSC"},
            "importer": {"name": "Toshkent Sovutgich MChJ"},
            "substance": "HCFC-22 (chlorodifluoromethane)",
            "casNo": "75-45-6",
            "annexGroup": "C/I",
            "commodity": {"hs6": "290371"},
            "state": "SUBSTANCE_STATE_VIRGIN",
            "quantity": {"value": "1000", "unit": "KGM"},
            "odp": "0.055",
            "odpTonnes": "0.055",
            "expectedDate": "2026-03-10",
        },
    },
    "waste": {
        "meta": meta("KZ-2026-000123"),
        "wasteMovement": {
            "notificationNo": "KZ-2026-000123",
            "notificationType": "NOTIFICATION_TYPE_GENERAL",
            "operation": "WASTE_OPERATION_RECOVERY",
            "consents": [
                {"country": "KZ", "decision": "CONSENT_DECISION_CONSENTED", "validFrom": "2026-01-01"},
                {"country": "UZ", "validFrom": "2026-01-01", "validTo": "2026-12-31"},
            ],
            "exporter": {"name": "Almaty Battery Collection LLP"},
            "importer": {"name": "Olmaliq Metall Qayta Ishlash"},
            "waste": {
                "baselCode": "A1160",
                "yCodes": ["Y31", "Y34"],
                "hCodes": ["H6.1", "H8"],
                "unNumber": "UN2794",
                "hsCodes": ["854810"],
                "designation": "Used lead-acid batteries",
            },
            "drCode": "R4",
            "intendedQuantity": {"value": "120", "unit": "TNE"},
            "periodFrom": "2026-02-01",
            "periodTo": "2026-12-31",
            "movements": [{"seq": 1, "total": 6, "actualDate": "2026-02-15", "containerIds": ["CSQU3054383"]}],
        },
    },
    "recordation": {
        "meta": meta("04390/05020-003/TZ-150526", "RU", ("KZ",)),
        "iprRecordation": {
            "recordationNo": "04390/05020-003/TZ-150526",
            "authority": "Federal Customs Service of Russia",
            "rightType": "RIGHT_TYPE_TRADEMARK",
            "rightNo": "123456",
            "rightValidTo": "2030-05-15",
            "rightHolder": {"name": "Podshipnik OOO", "country": "RU"},
            "markText": "ПОДШИПНИК",
            "niceClasses": [7, 12],
            "goods": [{"hs6": "848210", "description": "Bearings"}],
        },
    },
    "detention": {
        "meta": meta("KZ-IPR-2026-5"),
        "iprDetention": {
            "recordationNo": "04390/05020-003/TZ-150526",
            "detentionDate": "2026-02-12",
            "place": {"unlocode": "KZALA"},
            "direction": "DIRECTION_IMPORT",
            "goods": [{"commodity": {"description": "Bearings"}, "quantity": {"value": "500", "unit": "H87"}}],
            "action": "DETENTION_ACTION_SUSPENDED",
            "holderDeadline": "2026-02-22",
        },
    },
    "transit": {
        "meta": meta("TIR-XK12345678"),
        "transitPreArrival": {
            "regime": "TRANSIT_REGIME_TIR",
            "carnetOrGuaranteeRef": "XK12345678",
            "holderId": "KAZ/045/112",
            "officeDeparture": {"customsOfficeCode": "55201", "country": "KZ"},
            "officeDestination": {"unlocode": "UZTAS"},
            "borderCrossings": [{"unlocode": "KZZHB", "name": "Zhibek Zholy"}],
            "expectedArrival": "2026-03-03T06:00:00Z",
            "carrier": {"name": "Kazakh Trans LLP"},
            "consignor": {"name": "Altyn Dala Grain LLP"},
            "consignee": {"name": "Toshkent Don MChJ"},
            "vehicles": [{"registrationNo": "123ABC02", "nationality": "KZ", "kind": "VEHICLE_KIND_TRACTOR"}],
            "goods": [{"commodity": {"hs6": "100199"}, "grossMass": {"value": "20000", "unit": "KGM"}}],
            "timeLimit": "2026-03-10",
            "itinerary": ["KZ", "UZ"],
        },
    },
}

BODY = {
    "declaration": "declaration_snapshot",
    "request": "contact_point_message",
    "seizure": "seizure_report",
    "ods": "ods_shipment",
    "waste": "waste_movement",
    "recordation": "ipr_recordation",
    "detention": "ipr_detention",
    "transit": "transit_pre_arrival",
}


def build(name: str) -> records_pb2.Record:
    rec = records_pb2.Record()
    json_format.ParseDict(copy.deepcopy(BASES[name]), rec)
    return rec


@pytest.mark.parametrize("name", sorted(BASES))
def test_the_valid_record_of_each_type_has_no_problem(name: str) -> None:
    assert validate_record(build(name)) == []


@pytest.mark.parametrize("sample", sorted(SAMPLES.glob("*.json")), ids=lambda p: p.name)
def test_the_json_samples_validate(sample: Path) -> None:
    records = JsonAdapter().decode(sample.read_bytes(), source=sample.name)
    assert records
    assert validate_records(records) == []


Mutation = Callable[[records_pb2.Record], object]


def _set(path: str, value: object) -> Mutation:
    """Set a dotted field path (list indexes as numbers) to ``value``."""

    def mutate(rec: records_pb2.Record) -> None:
        *parents, last = path.split(".")
        obj: Any = rec
        for part in parents:
            obj = obj[int(part)] if part.isdigit() else getattr(obj, part)
        if last.isdigit():
            obj[int(last)] = value
        else:
            setattr(obj, last, value)

    return mutate


def _clear(path: str) -> Mutation:
    def mutate(rec: records_pb2.Record) -> None:
        *parents, last = path.split(".")
        obj: Any = rec
        for part in parents:
            obj = obj[int(part)] if part.isdigit() else getattr(obj, part)
        obj.ClearField(last)

    return mutate


def _append(path: str, value: object) -> Mutation:
    def mutate(rec: records_pb2.Record) -> None:
        obj: Any = rec
        for part in path.split("."):
            obj = obj[int(part)] if part.isdigit() else getattr(obj, part)
        obj.append(value)

    return mutate


D = "records[0].declaration_snapshot"
C = "records[0].contact_point_message"
S = "records[0].seizure_report"
O = "records[0].ods_shipment"  # noqa: E741
W = "records[0].waste_movement"
R = "records[0].ipr_recordation"
T = "records[0].ipr_detention"
X = "records[0].transit_pre_arrival"
M = "records[0].meta"

# (base record, one change, the one problem it must cause)
CASES: list[tuple[str, Mutation, str]] = [
    # -- meta --
    ("declaration", _set("meta.record_id", "r-1"), f"{M}.record_id: 'r-1' is not a UUID (8-4-4-4-12 hex digits)"),
    ("declaration", _set("meta.record_id", ""), f"{M}.record_id: missing; a UUID is required"),
    (
        "declaration",
        _set("meta.sender_country", "KAZ"),
        f"{M}.sender_country: 'KAZ' is not an ISO 3166-1 alpha-2 code",
    ),
    (
        "declaration",
        _set("meta.sender_country", ""),
        f"{M}.sender_country: missing; an ISO 3166-1 alpha-2 country code is required",
    ),
    (
        "declaration",
        _set("meta.receiver_countries.0", "uz"),
        f"{M}.receiver_countries[0]: 'uz' is not an ISO 3166-1 alpha-2 code",
    ),
    (
        "declaration",
        _set("meta.receiver_countries.0", "XX"),
        f"{M}.receiver_countries[0]: 'XX' is not an ISO 3166-1 alpha-2 code",
    ),
    (
        "declaration",
        _clear("meta.receiver_countries"),
        f"{M}.receiver_countries: empty; at least one receiving country is required",
    ),
    (
        "declaration",
        _append("meta.receiver_countries", "KZ"),
        f"{M}.receiver_countries[1]: 'KZ' is the sender country; a record is not sent to its own sender",
    ),
    ("declaration", _append("meta.receiver_countries", "UZ"), f"{M}.receiver_countries[1]: 'UZ' is listed twice"),
    ("declaration", _set("meta.sender_authority", " "), f"{M}.sender_authority: missing (required)"),
    ("declaration", _set("meta.source_format", ""), f"{M}.source_format: missing (required)"),
    ("declaration", _set("meta.source_record_ref", ""), f"{M}.source_record_ref: missing (required)"),
    ("declaration", _clear("meta.created_at"), f"{M}.created_at: missing (required)"),
    (
        "declaration",
        _set("meta.message_function", 0),
        f"{M}.message_function: unset (MESSAGE_FUNCTION_UNSPECIFIED); it is required",
    ),
    ("declaration", _set("meta.handling", 0), f"{M}.handling: unset (HANDLING_UNSPECIFIED); it is required"),
    ("declaration", _set("meta.handling", 9), f"{M}.handling: 9 is not a value of Handling"),
    ("declaration", lambda r: r.ClearField("declaration_snapshot"), "records[0]: no record body is set"),
    # -- declaration --
    ("declaration", _set("declaration_snapshot.declaration_no", ""), f"{D}.declaration_no: missing (required)"),
    (
        "declaration",
        _set("declaration_snapshot.direction", 0),
        f"{D}.direction: unset (DIRECTION_UNSPECIFIED); it is required",
    ),
    (
        "declaration",
        _set("declaration_snapshot.direction", records_pb2.DIRECTION_DOMESTIC),
        f"{D}.direction: DIRECTION_DOMESTIC is for seizures only; use EXPORT, IMPORT or TRANSIT",
    ),
    ("declaration", _set("declaration_snapshot.procedure_code", ""), f"{D}.procedure_code: missing (required)"),
    (
        "declaration",
        _set("declaration_snapshot.acceptance_date", ""),
        f"{D}.acceptance_date: missing; a date YYYY-MM-DD is required",
    ),
    (
        "declaration",
        _set("declaration_snapshot.acceptance_date", "01.03.2026"),
        f"{D}.acceptance_date: '01.03.2026' is not a date in the form YYYY-MM-DD",
    ),
    (
        "declaration",
        _set("declaration_snapshot.acceptance_date", "2026-02-30"),
        f"{D}.acceptance_date: '2026-02-30' is not a calendar date",
    ),
    (
        "declaration",
        _clear("declaration_snapshot.exporter"),
        f"{D}.exporter: missing; a party with a name or an id is required",
    ),
    (
        "declaration",
        _clear("declaration_snapshot.consignee"),
        f"{D}.consignee: missing; a party with a name or an id is required",
    ),
    (
        "declaration",
        _set("declaration_snapshot.consignee.name", ""),
        f"{D}.consignee: has neither name nor id",
    ),
    (
        "declaration",
        _set("declaration_snapshot.exporter.country", "Kazakhstan"),
        f"{D}.exporter.country: 'Kazakhstan' is not an ISO 3166-1 alpha-2 code",
    ),
    (
        "declaration",
        _set("declaration_snapshot.dispatch_country", ""),
        f"{D}.dispatch_country: missing; an ISO 3166-1 alpha-2 country code is required",
    ),
    (
        "declaration",
        _set("declaration_snapshot.destination_country", "UZB"),
        f"{D}.destination_country: 'UZB' is not an ISO 3166-1 alpha-2 code",
    ),
    (
        "declaration",
        _set("declaration_snapshot.trading_country", "EU"),
        f"{D}.trading_country: 'EU' is not an ISO 3166-1 alpha-2 code",
    ),
    (
        "declaration",
        _set("declaration_snapshot.container_ids.0", "CSQU3054384"),
        f"{D}.container_ids[0]: 'CSQU3054384': ISO 6346 check digit should be 3, not 4",
    ),
    (
        "declaration",
        _set("declaration_snapshot.container_ids.0", "CSQ3054383"),
        f"{D}.container_ids[0]: 'CSQ3054383' is not an ISO 6346 container number (owner code, U/J/Z, 7 digits)",
    ),
    (
        "declaration",
        _set("declaration_snapshot.invoice_amount.amount", "12,600.00"),
        f"{D}.invoice_amount.amount: '12,600.00' is not a plain decimal number (digits, optional '.' and digits)",
    ),
    (
        "declaration",
        _set("declaration_snapshot.invoice_amount.amount", "1.26E4"),
        f"{D}.invoice_amount.amount: '1.26E4' is not a plain decimal number (digits, optional '.' and digits)",
    ),
    (
        "declaration",
        _set("declaration_snapshot.invoice_amount.amount", ""),
        f"{D}.invoice_amount.amount: missing; a decimal number is required",
    ),
    (
        "declaration",
        _set("declaration_snapshot.invoice_amount.currency", "usd"),
        f"{D}.invoice_amount.currency: 'usd' is not an ISO 4217 currency code",
    ),
    (
        "declaration",
        _set("declaration_snapshot.invoice_amount.currency", ""),
        f"{D}.invoice_amount.currency: missing; an ISO 4217 currency code is required",
    ),
    (
        "declaration",
        _set("declaration_snapshot.incoterm", "DAT"),
        f"{D}.incoterm: 'DAT' is not an Incoterms 2020 code (CFR, CIF, CIP, CPT, DAP, DDP, DPU, EXW, FAS, FCA, FOB)",
    ),
    (
        "declaration",
        _set("declaration_snapshot.transport_mode", "31"),
        f"{D}.transport_mode: '31' is not a UNECE Rec 19 transport mode (one digit 0-9)",
    ),
    (
        "declaration",
        _set("declaration_snapshot.exchange_rate", "10,95"),
        f"{D}.exchange_rate: '10,95' is not a plain decimal number (digits, optional '.' and digits)",
    ),
    (
        "declaration",
        _set("declaration_snapshot.customs_office.unlocode", "KZ1LA"),
        f"{D}.customs_office.unlocode: 'KZ1LA' is not a UN/LOCODE (country + 3 letters or digits 2-9)",
    ),
    (
        "declaration",
        _set("declaration_snapshot.customs_office.unlocode", "QQALA"),
        f"{D}.customs_office.unlocode: 'QQALA': 'QQ' is not an ISO 3166-1 country",
    ),
    (
        "declaration",
        _set("declaration_snapshot.customs_office.unlocode", "UZTAS"),
        f"{D}.customs_office.unlocode: 'UZTAS' lies in UZ, not in country KZ",
    ),
    (
        "declaration",
        _clear("declaration_snapshot.items"),
        f"{D}.items: empty; at least one goods item is required",
    ),
    ("declaration", _set("declaration_snapshot.items.1.seq", 0), f"{D}.items[1].seq: missing; item numbers start at 1"),
    (
        "declaration",
        _set("declaration_snapshot.items.1.seq", 1),
        f"{D}.items[1].seq: item number 1 is used twice",
    ),
    (
        "declaration",
        _clear("declaration_snapshot.items.1.commodity"),
        f"{D}.items[1].commodity: missing; the item's HS subheading is required",
    ),
    (
        "declaration",
        _set("declaration_snapshot.items.1.commodity.hs6", ""),
        f"{D}.items[1].commodity.hs6: missing; the HS subheading (6 digits) is required",
    ),
    (
        "declaration",
        _set("declaration_snapshot.items.1.commodity.hs6", "29037"),
        f"{D}.items[1].commodity.hs6: '29037' is not an HS subheading (6 digits)",
    ),
    (
        "declaration",
        _set("declaration_snapshot.items.1.commodity.hs6", "770010"),
        f"{D}.items[1].commodity.hs6: '770010' is not an HS subheading: chapter 77 does not exist",
    ),
    (
        "declaration",
        _set("declaration_snapshot.items.1.commodity.hs6", "990010"),
        f"{D}.items[1].commodity.hs6: '990010' is not an HS subheading: chapter 99 does not exist",
    ),
    (
        "declaration",
        _set("declaration_snapshot.items.1.commodity.hs6", "000010"),
        f"{D}.items[1].commodity.hs6: '000010' is not an HS subheading: chapter 00 does not exist",
    ),
    (
        "declaration",
        _set("declaration_snapshot.items.0.commodity.national_code", "2903710"),
        f"{D}.items[0].commodity.national_code: '2903710' is not a national tariff code (8-12 digits)",
    ),
    (
        "declaration",
        _set("declaration_snapshot.items.0.commodity.national_code", "2903720000"),
        f"{D}.items[0].commodity.national_code: '2903720000' does not start with hs6 '290371'",
    ),
    (
        "declaration",
        _set("declaration_snapshot.items.0.commodity.origin_country", "CHN"),
        f"{D}.items[0].commodity.origin_country: 'CHN' is not an ISO 3166-1 alpha-2 code",
    ),
    (
        "declaration",
        _set("declaration_snapshot.items.0.net_mass.unit", "KGS"),
        f"{D}.items[0].net_mass.unit: 'KGS' is not a UNECE Rec 20 unit code (e.g. KGM, TNE, LTR, H87)",
    ),
    (
        "declaration",
        _set("declaration_snapshot.items.0.net_mass.unit", ""),
        f"{D}.items[0].net_mass.unit: missing; a UNECE Rec 20 unit code is required",
    ),
    (
        "declaration",
        _set("declaration_snapshot.items.0.net_mass.value", "1 000"),
        f"{D}.items[0].net_mass.value: '1 000' is not a plain decimal number (digits, optional '.' and digits)",
    ),
    (
        "declaration",
        _set("declaration_snapshot.items.0.customs_value.currency", "XYZ"),
        f"{D}.items[0].customs_value.currency: 'XYZ' is not an ISO 4217 currency code",
    ),
    (
        "declaration",
        _set("declaration_snapshot.items.0.documents.0.date", "2026-13-01"),
        f"{D}.items[0].documents[0].date: '2026-13-01' is not a calendar date",
    ),
    (
        "declaration",
        _set("declaration_snapshot.items.0.documents.0.uri", "https://example.org/licence.pdf"),
        f"{D}.items[0].documents[0].sha256: missing; a document given by URI needs its SHA-256 to be checked",
    ),
    (
        "declaration",
        _set("declaration_snapshot.items.0.documents.0.sha256", "AB" * 32),
        f"{D}.items[0].documents[0].sha256: '{'AB' * 32}' is not a SHA-256 (64 lowercase hex digits)",
    ),
    (
        "declaration",
        _set("declaration_snapshot.items.0.documents.0.number", ""),
        f"{D}.items[0].documents[0]: has neither a document number nor a URI",
    ),
    # -- contact point message --
    (
        "request",
        _set("contact_point_message.kind", 0),
        f"{C}.kind: unset (CONTACT_POINT_KIND_UNSPECIFIED); it is required",
    ),
    (
        "request",
        _set("contact_point_message.thread_id", "thread-1"),
        f"{C}.thread_id: 'thread-1' is not a UUID (8-4-4-4-12 hex digits)",
    ),
    ("request", _set("contact_point_message.legal_basis", ""), f"{C}.legal_basis: missing (required)"),
    (
        "request",
        _set("contact_point_message.requesting_authority", ""),
        f"{C}.requesting_authority: missing (required)",
    ),
    (
        "request",
        _set("contact_point_message.requested_authority", ""),
        f"{C}.requested_authority: missing (required)",
    ),
    ("request", _set("contact_point_message.contact_point_id", ""), f"{C}.contact_point_id: missing (required)"),
    (
        "request",
        _set("contact_point_message.priority", 0),
        f"{C}.priority: unset (PRIORITY_UNSPECIFIED); it is required",
    ),
    (
        "request",
        _set("contact_point_message.subject", ""),
        f"{C}.subject: missing; a REQUEST states its subject, reason and facts so far",
    ),
    (
        "request",
        _set("contact_point_message.reason", ""),
        f"{C}.reason: missing; a REQUEST states its subject, reason and facts so far",
    ),
    (
        "request",
        _set("contact_point_message.facts_summary", ""),
        f"{C}.facts_summary: missing; a REQUEST states its subject, reason and facts so far",
    ),
    (
        "request",
        _set("contact_point_message.measure_requested", ""),
        f"{C}.measure_requested: missing; a REQUEST names one of INQUIRY, NOTIFICATION, SURVEILLANCE, "
        "VERIFY_DECLARATION, VERIFY_DOCUMENT",
    ),
    (
        "request",
        _set("contact_point_message.measure_requested", "ARREST"),
        f"{C}.measure_requested: 'ARREST' is not a measure (INQUIRY, NOTIFICATION, SURVEILLANCE, "
        "VERIFY_DECLARATION, VERIFY_DOCUMENT)",
    ),
    (
        "request",
        _set("contact_point_message.kind", records_pb2.CONTACT_POINT_KIND_FINAL_REPLY),
        f"{C}.in_reply_to: missing; CONTACT_POINT_KIND_FINAL_REPLY must name the record it answers",
    ),
    (
        "request",
        _set("contact_point_message.in_reply_to", "42"),
        f"{C}.in_reply_to: '42' is not a UUID (8-4-4-4-12 hex digits)",
    ),
    (
        "request",
        _set("contact_point_message.language", ""),
        f"{C}.language: missing; a BCP 47 language tag (e.g. 'ru', 'zh-Hans') is required",
    ),
    (
        "request",
        _set("contact_point_message.language", "ru_RU"),
        f"{C}.language: 'ru_RU' is not a BCP 47 language tag",
    ),
    (
        "request",
        _set("contact_point_message.language", "qq-RU"),
        f"{C}.language: 'qq-RU': 'qq' is not an ISO 639 language code",
    ),
    (
        "request",
        _set("contact_point_message.attachments.0.issuer_country", "Uzbekistan"),
        f"{C}.attachments[0].issuer_country: 'Uzbekistan' is not an ISO 3166-1 alpha-2 code",
    ),
    (
        "request",
        lambda r: r.contact_point_message.companies.add(name="Ak Zhol LLP", country="KAZ"),
        f"{C}.companies[0].country: 'KAZ' is not an ISO 3166-1 alpha-2 code",
    ),
    (
        "request",
        lambda r: r.contact_point_message.conveyances.add(mode="3", nationality="Kazakhstan"),
        f"{C}.conveyances[0].nationality: 'Kazakhstan' is not an ISO 3166-1 alpha-2 code",
    ),
    # -- seizure --
    ("seizure", _set("seizure_report.case_id", ""), f"{S}.case_id: missing (required)"),
    ("seizure", _set("seizure_report.seizure_date", ""), f"{S}.seizure_date: missing; a date YYYY-MM-DD is required"),
    (
        "seizure",
        _clear("seizure_report.place"),
        f"{S}.place: missing; a place (UN/LOCODE, customs office or name) is required",
    ),
    (
        "seizure",
        _set("seizure_report.location_type", 0),
        f"{S}.location_type: unset (LOCATION_TYPE_UNSPECIFIED); it is required",
    ),
    ("seizure", _set("seizure_report.direction", 0), f"{S}.direction: unset (DIRECTION_UNSPECIFIED); it is required"),
    (
        "seizure",
        _set("seizure_report.category", 0),
        f"{S}.category: unset (SEIZURE_CATEGORY_UNSPECIFIED); it is required",
    ),
    ("seizure", _clear("seizure_report.items"), f"{S}.items: empty; at least one seized item is required"),
    (
        "seizure",
        _clear("seizure_report.items.0.commodity"),
        f"{S}.items[0].commodity: missing; what was seized is required",
    ),
    (
        "seizure",
        lambda r: r.seizure_report.items[0].commodity.Clear() or r.seizure_report.items[0].commodity.SetInParent(),
        f"{S}.items[0].commodity: has neither an HS subheading nor a description",
    ),
    (
        "seizure",
        _set("seizure_report.conveyance.mode", "road"),
        f"{S}.conveyance.mode: 'road' is not a UNECE Rec 19 transport mode (one digit 0-9)",
    ),
    (
        "seizure",
        _clear("seizure_report.route"),
        f"{S}.route: missing; the countries of departure and destination are required",
    ),
    (
        "seizure",
        _set("seizure_report.route.departure_country", ""),
        f"{S}.route.departure_country: missing; an ISO 3166-1 alpha-2 country code is required",
    ),
    (
        "seizure",
        _set("seizure_report.route.destination_country", ""),
        f"{S}.route.destination_country: missing; an ISO 3166-1 alpha-2 country code is required",
    ),
    (
        "seizure",
        _set("seizure_report.route.transit_countries.0", "kz"),
        f"{S}.route.transit_countries[0]: 'kz' is not an ISO 3166-1 alpha-2 code",
    ),
    (
        "seizure",
        _set("seizure_report.offenders.0.nationality", "KAZ"),
        f"{S}.offenders[0].nationality: 'KAZ' is not an ISO 3166-1 alpha-2 code",
    ),
    (
        "seizure",
        _set("seizure_report.photos.0.sha256", ""),
        f"{S}.photos[0].sha256: missing; a document given by URI needs its SHA-256 to be checked",
    ),
    (
        "seizure",
        _set("seizure_report.photos.0.uri", ""),
        f"{S}.photos[0].uri: missing; where the file can be fetched is required",
    ),
    (
        "seizure",
        lambda r: r.seizure_report.place.Clear() or r.seizure_report.place.SetInParent(),
        f"{S}.place: is empty; a UN/LOCODE, a customs office code or a name is required",
    ),
    # -- ODS --
    ("ods", _set("ods_shipment.shipment_ref", ""), f"{O}.shipment_ref: missing (required)"),
    ("ods", _set("ods_shipment.status", 0), f"{O}.status: unset (ODS_STATUS_UNSPECIFIED); it is required"),
    ("ods", _clear("ods_shipment.exporter"), f"{O}.exporter: missing; a party with a name or an id is required"),
    ("ods", _clear("ods_shipment.importer"), f"{O}.importer: missing; a party with a name or an id is required"),
    ("ods", _set("ods_shipment.substance", ""), f"{O}.substance: missing (required)"),
    (
        "ods",
        _set("ods_shipment.annex_group", ""),
        f"{O}.annex_group: missing; the Montreal Protocol annex group of the substance is required",
    ),
    (
        "ods",
        _set("ods_shipment.annex_group", "F/III"),
        f"{O}.annex_group: 'F/III' is not a Montreal Protocol annex group "
        "(A/I, A/II, B/I, B/II, B/III, C/I, C/II, C/III, E/I, F/I, F/II)",
    ),
    ("ods", _set("ods_shipment.cas_no", "75-45-7"), f"{O}.cas_no: '75-45-7': CAS check digit should be 6, not 7"),
    ("ods", _set("ods_shipment.cas_no", "75456"), f"{O}.cas_no: '75456' is not a CAS registry number (e.g. 75-45-6)"),
    ("ods", _clear("ods_shipment.commodity"), f"{O}.commodity: missing; the HS subheading is required"),
    (
        "ods",
        _set("ods_shipment.commodity.hs6", "2903.71"),
        f"{O}.commodity.hs6: '2903.71' is not an HS subheading (6 digits)",
    ),
    ("ods", _set("ods_shipment.state", 0), f"{O}.state: unset (SUBSTANCE_STATE_UNSPECIFIED); it is required"),
    ("ods", _clear("ods_shipment.quantity"), f"{O}.quantity: missing (required)"),
    (
        "ods",
        _set("ods_shipment.odp_tonnes", "0.55"),
        f"{O}.odp_tonnes: '0.55' is not tonnes x ODP: 1000 KGM at ODP 0.055 is 0.055",
    ),
    (
        "ods",
        _set("ods_shipment.odp_tonnes", ""),
        f"{O}.odp_tonnes: missing; 1000 KGM at ODP 0.055 is 0.055 ODP tonnes",
    ),
    (
        "ods",
        _set("ods_shipment.odp", "5.5e-2"),
        f"{O}.odp: '5.5e-2' is not a plain decimal number (digits, optional '.' and digits)",
    ),
    (
        "ods",
        _set("ods_shipment.state", records_pb2.SUBSTANCE_STATE_MIXTURE),
        f"{O}.mixture_components: empty; at least one mixture component (a MIXTURE lists what it is made of) "
        "is required",
    ),
    (
        "ods",
        lambda r: r.ods_shipment.mixture_components.add(substance="HFC-32", percent="150"),
        f"{O}.mixture_components[0].percent: '150' is not a share between 0 and 100 percent",
    ),
    (
        "ods",
        lambda r: r.ods_shipment.mixture_components.add(percent="50"),
        f"{O}.mixture_components[0].substance: missing (required)",
    ),
    (
        "ods",
        lambda r: (
            r.ods_shipment.ClearField("annex_group"),
            setattr(r.ods_shipment, "substance", "substance not identified (HS 2903.77)"),
        ),
        f"{O}.odp: must be empty when the substance is not identified; the ODP is not known",
    ),
    (
        "ods",
        _set("ods_shipment.direction", records_pb2.DIRECTION_DOMESTIC),
        f"{O}.direction: DIRECTION_DOMESTIC is for seizures only; use EXPORT, IMPORT or TRANSIT",
    ),
    (
        "ods",
        _set("ods_shipment.expected_date", "2026-3-10"),
        f"{O}.expected_date: '2026-3-10' is not a date in the form YYYY-MM-DD",
    ),
    # -- waste --
    ("waste", _set("waste_movement.notification_no", ""), f"{W}.notification_no: missing (required)"),
    (
        "waste",
        _set("waste_movement.notification_type", 0),
        f"{W}.notification_type: unset (NOTIFICATION_TYPE_UNSPECIFIED); it is required",
    ),
    (
        "waste",
        lambda r: (setattr(r.waste_movement, "operation", 0), setattr(r.waste_movement, "dr_code", "R4")),
        f"{W}.operation: unset (WASTE_OPERATION_UNSPECIFIED); it is required",
    ),
    (
        "waste",
        _clear("waste_movement.consents"),
        f"{W}.consents: empty; at least one consent of a state concerned is required",
    ),
    (
        "waste",
        _set("waste_movement.consents.1.country", ""),
        f"{W}.consents[1].country: missing; an ISO 3166-1 alpha-2 country code is required",
    ),
    (
        "waste",
        _set("waste_movement.consents.1.valid_to", "2025-12-31"),
        f"{W}.consents[1].valid_to: 2025-12-31 is before valid_from 2026-01-01",
    ),
    ("waste", _clear("waste_movement.exporter"), f"{W}.exporter: missing; a party with a name or an id is required"),
    ("waste", _clear("waste_movement.importer"), f"{W}.importer: missing; a party with a name or an id is required"),
    (
        "waste",
        _clear("waste_movement.waste"),
        f"{W}.waste: missing; the Basel identification of the waste is required",
    ),
    (
        "waste",
        _set("waste_movement.waste.basel_code", "A5010"),
        f"{W}.waste.basel_code: 'A5010' is not a Basel Annex VIII (A1010-A4160) or Annex IX (B1010-B4030) code",
    ),
    (
        "waste",
        _set("waste_movement.waste.basel_code", "B4040"),
        f"{W}.waste.basel_code: 'B4040' is not a Basel Annex VIII (A1010-A4160) or Annex IX (B1010-B4030) code",
    ),
    (
        "waste",
        lambda r: (r.waste_movement.waste.ClearField("basel_code"), r.waste_movement.waste.ClearField("y_codes")),
        f"{W}.waste.basel_code: missing; an Annex VIII/IX code is required unless the waste is given by Y-codes",
    ),
    (
        "waste",
        _set("waste_movement.waste.y_codes.0", "Y49"),
        f"{W}.waste.y_codes[0]: 'Y49' is not a Basel Annex I/II category (Y1-Y48)",
    ),
    (
        "waste",
        _set("waste_movement.waste.y_codes.1", "Y0"),
        f"{W}.waste.y_codes[1]: 'Y0' is not a Basel Annex I/II category (Y1-Y48)",
    ),
    (
        "waste",
        _set("waste_movement.waste.h_codes.0", "H7"),
        f"{W}.waste.h_codes[0]: 'H7' is not a Basel Annex III characteristic (H1, H3 ... H13)",
    ),
    (
        "waste",
        _set("waste_movement.waste.h_codes.1", "H6"),
        f"{W}.waste.h_codes[1]: 'H6' is not a Basel Annex III characteristic (H1, H3 ... H13)",
    ),
    (
        "waste",
        _set("waste_movement.waste.un_number", "2794"),
        f"{W}.waste.un_number: '2794' is not a UN number (UN and 4 digits)",
    ),
    (
        "waste",
        _set("waste_movement.waste.hs_codes.0", "8548"),
        f"{W}.waste.hs_codes[0]: '8548' is not an HS code (6 digits, or 8-12 national digits)",
    ),
    (
        "waste",
        _set("waste_movement.waste.hs_codes.0", "77001000"),
        f"{W}.waste.hs_codes[0]: '77001000' is not an HS code: chapter 77 does not exist",
    ),
    (
        "waste",
        _set("waste_movement.dr_code", ""),
        f"{W}.dr_code: missing; a Basel Annex IV operation (D1-D15 or R1-R13) is required",
    ),
    (
        "waste",
        _set("waste_movement.dr_code", "R14"),
        f"{W}.dr_code: 'R14' is not a Basel Annex IV operation (D1-D15 or R1-R13)",
    ),
    (
        "waste",
        _set("waste_movement.dr_code", "D10"),
        f"{W}.dr_code: 'D10' is a disposal operation but the operation is RECOVERY (use R1-R13)",
    ),
    (
        "waste",
        _set("waste_movement.operation", records_pb2.WASTE_OPERATION_DISPOSAL),
        f"{W}.dr_code: 'R4' is a recovery operation but the operation is DISPOSAL (use D1-D15)",
    ),
    ("waste", _clear("waste_movement.intended_quantity"), f"{W}.intended_quantity: missing (required)"),
    (
        "waste",
        _set("waste_movement.intended_quantity.unit", "KGM"),
        f"{W}.intended_quantity.unit: 'KGM': a notification states tonnes (TNE) or cubic metres (MTQ)",
    ),
    (
        "waste",
        _set("waste_movement.period_to", "2026-01-31"),
        f"{W}.period_to: 2026-01-31 is before period_from 2026-02-01",
    ),
    (
        "waste",
        _set("waste_movement.movements.0.seq", 7),
        f"{W}.movements[0].seq: shipment 7 out of 6 is past the total",
    ),
    (
        "waste",
        _set("waste_movement.movements.0.container_ids.0", "CSQU305438"),
        f"{W}.movements[0].container_ids[0]: 'CSQU305438' is not an ISO 6346 container number "
        "(owner code, U/J/Z, 7 digits)",
    ),
    # -- IPR recordation --
    ("recordation", _set("ipr_recordation.recordation_no", ""), f"{R}.recordation_no: missing (required)"),
    ("recordation", _set("ipr_recordation.authority", ""), f"{R}.authority: missing (required)"),
    (
        "recordation",
        _set("ipr_recordation.right_type", 0),
        f"{R}.right_type: unset (RIGHT_TYPE_UNSPECIFIED); it is required",
    ),
    ("recordation", _set("ipr_recordation.right_no", ""), f"{R}.right_no: missing (required)"),
    (
        "recordation",
        _clear("ipr_recordation.right_holder"),
        f"{R}.right_holder: missing; a party with a name or an id is required",
    ),
    (
        "recordation",
        _clear("ipr_recordation.goods"),
        f"{R}.goods: empty; at least one kind of protected goods is required",
    ),
    (
        "recordation",
        _set("ipr_recordation.nice_classes.1", 46),
        f"{R}.nice_classes[1]: 46 is not a Nice class (1-45)",
    ),
    (
        "recordation",
        _clear("ipr_recordation.nice_classes"),
        f"{R}.nice_classes: empty; a trademark is recorded for at least one Nice class",
    ),
    (
        "recordation",
        _set("ipr_recordation.mark_text", ""),
        f"{R}.mark_text: missing; a trademark needs its word mark or an image (mark_image)",
    ),
    (
        "recordation",
        lambda r: r.ipr_recordation.mark_image.MergeFrom(common_pb2.DocRef(uri="https://x.example/m.png")),
        f"{R}.mark_image.sha256: missing; a document given by URI needs its SHA-256 to be checked",
    ),
    (
        "recordation",
        _set("ipr_recordation.right_valid_to", "15.05.2030"),
        f"{R}.right_valid_to: '15.05.2030' is not a date in the form YYYY-MM-DD",
    ),
    # -- IPR detention --
    (
        "detention",
        _set("ipr_detention.detention_date", ""),
        f"{T}.detention_date: missing; a date YYYY-MM-DD is required",
    ),
    (
        "detention",
        _clear("ipr_detention.place"),
        f"{T}.place: missing; a place (UN/LOCODE, customs office or name) is required",
    ),
    (
        "detention",
        _set("ipr_detention.direction", 0),
        f"{T}.direction: unset (DIRECTION_UNSPECIFIED); it is required",
    ),
    ("detention", _clear("ipr_detention.goods"), f"{T}.goods: empty; at least one kind of detained goods is required"),
    (
        "detention",
        _clear("ipr_detention.goods.0.commodity"),
        f"{T}.goods[0].commodity: missing; what was detained is required",
    ),
    ("detention", _set("ipr_detention.action", 0), f"{T}.action: unset (DETENTION_ACTION_UNSPECIFIED); it is required"),
    (
        "detention",
        _set("ipr_detention.goods.0.quantity.unit", "PCS"),
        f"{T}.goods[0].quantity.unit: 'PCS' is not a UNECE Rec 20 unit code (e.g. KGM, TNE, LTR, H87)",
    ),
    # -- transit --
    (
        "transit",
        _set("transit_pre_arrival.regime", 0),
        f"{X}.regime: unset (TRANSIT_REGIME_UNSPECIFIED); it is required",
    ),
    (
        "transit",
        _set("transit_pre_arrival.carnet_or_guarantee_ref", ""),
        f"{X}.carnet_or_guarantee_ref: missing; TRANSIT_REGIME_TIR transit needs the carnet or guarantee reference",
    ),
    (
        "transit",
        lambda r: (
            setattr(r.transit_pre_arrival, "regime", records_pb2.TRANSIT_REGIME_ETIR),
            setattr(r.transit_pre_arrival, "holder_id", ""),
        ),
        f"{X}.holder_id: missing; TRANSIT_REGIME_ETIR transit needs the TIR holder id",
    ),
    (
        "transit",
        _clear("transit_pre_arrival.office_departure"),
        f"{X}.office_departure: missing; a place (UN/LOCODE, customs office or name) is required",
    ),
    (
        "transit",
        _clear("transit_pre_arrival.office_destination"),
        f"{X}.office_destination: missing; a place (UN/LOCODE, customs office or name) is required",
    ),
    (
        "transit",
        _clear("transit_pre_arrival.expected_arrival"),
        f"{X}.expected_arrival: missing (required)",
    ),
    (
        "transit",
        _clear("transit_pre_arrival.carrier"),
        f"{X}.carrier: missing; a party with a name or an id is required",
    ),
    (
        "transit",
        _clear("transit_pre_arrival.consignor"),
        f"{X}.consignor: missing; a party with a name or an id is required",
    ),
    (
        "transit",
        _clear("transit_pre_arrival.consignee"),
        f"{X}.consignee: missing; a party with a name or an id is required",
    ),
    ("transit", _clear("transit_pre_arrival.vehicles"), f"{X}.vehicles: empty; at least one vehicle is required"),
    (
        "transit",
        _set("transit_pre_arrival.vehicles.0.registration_no", ""),
        f"{X}.vehicles[0].registration_no: missing (required)",
    ),
    (
        "transit",
        _set("transit_pre_arrival.vehicles.0.nationality", ""),
        f"{X}.vehicles[0].nationality: missing; an ISO 3166-1 alpha-2 country code is required",
    ),
    ("transit", _clear("transit_pre_arrival.goods"), f"{X}.goods: empty; at least one goods item is required"),
    (
        "transit",
        _clear("transit_pre_arrival.goods.0.commodity"),
        f"{X}.goods[0].commodity: missing; the goods' HS subheading or description is required",
    ),
    (
        "transit",
        _set("transit_pre_arrival.border_crossings.0.unlocode", "KZZH1"),
        f"{X}.border_crossings[0].unlocode: 'KZZH1' is not a UN/LOCODE (country + 3 letters or digits 2-9)",
    ),
    (
        "transit",
        _set("transit_pre_arrival.itinerary.1", "UZB"),
        f"{X}.itinerary[1]: 'UZB' is not an ISO 3166-1 alpha-2 code",
    ),
    (
        "transit",
        _append("transit_pre_arrival.container_ids", "TGHU1234568"),
        f"{X}.container_ids[0]: 'TGHU1234568': ISO 6346 check digit should be 7, not 8",
    ),
]


@pytest.mark.parametrize(("base", "mutate", "problem"), CASES, ids=[c[2].split(":")[0] for c in CASES])
def test_each_rule_reports_exactly_its_problem(base: str, mutate: Mutation, problem: str) -> None:
    rec = build(base)
    mutate(rec)
    assert validate_records([rec]) == [problem]


@pytest.mark.parametrize(
    "mutate",
    [
        _set("contact_point_message.kind", records_pb2.CONTACT_POINT_KIND_ACK),
        _set("contact_point_message.kind", records_pb2.CONTACT_POINT_KIND_PARTIAL_REPLY),
        _set("contact_point_message.kind", records_pb2.CONTACT_POINT_KIND_REFUSAL),
    ],
    ids=["ack", "partial", "refusal"],
)
def test_answers_need_the_record_they_answer(mutate: Mutation) -> None:
    rec = build("request")
    mutate(rec)
    assert any(p.startswith(f"{C}.in_reply_to: missing;") for p in validate_records([rec]))


def test_a_refusal_needs_its_ground_and_a_reply_with_both_is_valid() -> None:
    rec = build("request")
    cp = rec.contact_point_message
    cp.kind = records_pb2.CONTACT_POINT_KIND_REFUSAL
    cp.in_reply_to = "2c1d7a40-93e8-4d6b-8b4f-6e0f1a2b3c22"
    assert validate_records([rec]) == [f"{C}.refusal_ground: unset; a REFUSAL states its ground"]
    cp.refusal_ground = records_pb2.REFUSAL_GROUND_SOVEREIGNTY
    assert validate_records([rec]) == []


def test_only_a_request_needs_subject_reason_facts_and_measure() -> None:
    rec = build("request")
    cp = rec.contact_point_message
    cp.kind = records_pb2.CONTACT_POINT_KIND_ALERT
    for name in ("subject", "reason", "facts_summary", "measure_requested"):
        cp.ClearField(name)
    assert validate_records([rec]) == []


def test_waste_given_by_y_codes_only_is_valid_and_disposal_takes_d_codes() -> None:
    rec = build("waste")
    w = rec.waste_movement
    w.waste.ClearField("basel_code")
    w.operation = records_pb2.WASTE_OPERATION_DISPOSAL
    w.dr_code = "D15"
    w.intended_quantity.unit = "MTQ"
    assert validate_records([rec]) == []


def test_an_unidentified_ods_substance_may_leave_annex_group_and_odp_empty() -> None:
    rec = build("ods")
    o = rec.ods_shipment
    o.substance = "substance not identified (HS 2903.77)"
    for name in ("annex_group", "odp", "odp_tonnes", "cas_no"):
        o.ClearField(name)
    assert validate_records([rec]) == []


def test_odp_tonnes_compare_as_decimals_and_tonnes_need_no_conversion() -> None:
    rec = build("ods")
    o = rec.ods_shipment
    o.odp_tonnes = "0.0550"  # same number, other scale
    assert validate_records([rec]) == []
    o.quantity.value, o.quantity.unit, o.odp_tonnes = "2.5", "TNE", "0.1375"
    assert validate_records([rec]) == []


def test_a_trademark_with_an_image_needs_no_word_mark_and_other_rights_no_nice_class() -> None:
    rec = build("recordation")
    r = rec.ipr_recordation
    r.ClearField("mark_text")
    r.mark_image.uri = "https://fcs.example/trois/04390.png"
    r.mark_image.sha256 = "0" * 64
    assert validate_records([rec]) == []
    r.right_type = records_pb2.RIGHT_TYPE_PATENT
    r.ClearField("nice_classes")
    r.ClearField("mark_image")
    assert validate_records([rec]) == []


def test_a_record_with_many_problems_lists_all_of_them_with_paths() -> None:
    rec = build("declaration")
    rec.meta.receiver_countries[0] = "uz"
    rec.meta.handling = 0
    d = rec.declaration_snapshot
    d.invoice_amount.amount = "12 600,00"
    d.items[1].commodity.hs6 = "29037"
    d.items[0].net_mass.unit = "KGS"
    d.incoterm = "C&F"
    valid = build("request")
    other = build("seizure")
    other.seizure_report.route.destination_country = ""
    problems = validate_records([rec, valid, other])
    assert problems == [
        "records[0].meta.receiver_countries[0]: 'uz' is not an ISO 3166-1 alpha-2 code",
        "records[0].meta.handling: unset (HANDLING_UNSPECIFIED); it is required",
        "records[0].declaration_snapshot.invoice_amount.amount: '12 600,00' is not a plain decimal number "
        "(digits, optional '.' and digits)",
        "records[0].declaration_snapshot.incoterm: 'C&F' is not an Incoterms 2020 code "
        "(CFR, CIF, CIP, CPT, DAP, DDP, DPU, EXW, FAS, FCA, FOB)",
        "records[0].declaration_snapshot.items[0].net_mass.unit: 'KGS' is not a UNECE Rec 20 unit code "
        "(e.g. KGM, TNE, LTR, H87)",
        "records[0].declaration_snapshot.items[1].commodity.hs6: '29037' is not an HS subheading (6 digits)",
        "records[2].seizure_report.route.destination_country: missing; an ISO 3166-1 alpha-2 country code is required",
    ]


def test_an_empty_record_lists_every_meta_problem_and_the_missing_body() -> None:
    problems = validate_record(records_pb2.Record(), at="records[3]")
    assert problems == [
        "records[3].meta: missing (required)",
        "records[3].meta.record_id: missing; a UUID is required",
        "records[3].meta.sender_country: missing; an ISO 3166-1 alpha-2 country code is required",
        "records[3].meta.receiver_countries: empty; at least one receiving country is required",
        "records[3].meta.sender_authority: missing (required)",
        "records[3].meta.source_format: missing (required)",
        "records[3].meta.source_record_ref: missing (required)",
        "records[3].meta.created_at: missing (required)",
        "records[3].meta.message_function: unset (MESSAGE_FUNCTION_UNSPECIFIED); it is required",
        "records[3].meta.handling: unset (HANDLING_UNSPECIFIED); it is required",
        "records[3]: no record body is set",
    ]


def test_raise_if_invalid_raises_validation_error_with_every_problem() -> None:
    bad = build("transit")
    bad.transit_pre_arrival.ClearField("vehicles")
    bad.transit_pre_arrival.goods[0].gross_mass.unit = "KG"
    raise_if_invalid([build("transit")])  # valid: no error
    with pytest.raises(ValidationError) as caught:
        raise_if_invalid([build("transit"), bad])
    assert caught.value.problems == [
        "records[1].transit_pre_arrival.vehicles: empty; at least one vehicle is required",
        "records[1].transit_pre_arrival.goods[0].gross_mass.unit: 'KG' is not a UNECE Rec 20 unit code "
        "(e.g. KGM, TNE, LTR, H87)",
    ]
    assert "records[1].transit_pre_arrival.vehicles" in str(caught.value)


def test_intake_refuses_through_the_validator() -> None:
    bad = build("ods")
    bad.ods_shipment.annex_group = "C"
    check_records([build("ods")])
    with pytest.raises(ValidationError) as caught:
        check_records([bad])
    assert caught.value.problems == [
        f"{O}.annex_group: 'C' is not a Montreal Protocol annex group "
        "(A/I, A/II, B/I, B/II, B/III, C/I, C/II, C/III, E/I, F/I, F/II)"
    ]


def test_ods_shipments_the_sdk_derives_from_a_declaration_validate() -> None:
    from tamga.adapters.sdk.ods import with_ods_shipments

    rec = build("declaration")
    rec.declaration_snapshot.items[0].commodity.description = "HCFC-22"
    rec.declaration_snapshot.items[1].commodity.hs6 = "290377"  # CFCs: no keyword, substance not identified
    rec.declaration_snapshot.items[1].commodity.description = "Refrigerant gas"
    out = with_ods_shipments([rec])
    assert [r.WhichOneof("body") for r in out] == ["declaration_snapshot", "ods_shipment", "ods_shipment"]
    assert out[2].ods_shipment.substance == "substance not identified (HS 2903.77)"
    assert validate_records(out) == []


def test_rec20_subset_has_the_units_the_adapter_code_tables_produce() -> None:
    from tamga.adapters.sdk import codes

    tables = [codes.EAEU_UNITS, codes.ICES_UNITS, codes.ASYCUDA_UNITS, codes.GACC_UNITS]
    produced = {t.to_standard(code) for t in tables for code in t.national_codes()}
    assert produced <= rec20_units()
    assert {"KGM", "GRM", "TNE", "LTR", "MLT", "MTQ", "MTR", "MTK", "H87", "C62", "PR", "SET", "DZN"} <= rec20_units()
    assert "KGS" not in rec20_units() and "NOS" not in rec20_units()


def test_the_kz_sample_problem_messages_name_the_record_and_field() -> None:
    doc = json.loads((SAMPLES / "kz-export-declarations.json").read_text("utf-8"))
    doc["records"][1]["declarationSnapshot"]["items"][0]["commodity"]["hs6"] = "29037"
    records = JsonAdapter().decode(json.dumps(doc).encode(), source="kz.json")
    assert validate_records(records) == [
        "records[1].declaration_snapshot.items[0].commodity.hs6: '29037' is not an HS subheading (6 digits)",
    ]
