"""The icegate adapter: what an Indian customs IT team relies on.

Exact mapping of the shipped Bill of Entry and Shipping Bill, the files the
adapter writes as ICES reads them, and an error that says where for each
way a file can be wrong.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from google.protobuf.descriptor import FieldDescriptor
from tamga.adapters import load_adapter
from tamga.adapters.icegate.flatfile import parse
from tamga.adapters.sdk import testing
from tamga.adapters.sdk.records import from_canonical_json
from tamga.errors import AdapterError
from tamga.v1 import common_pb2, records_pb2

SAMPLES = Path(__file__).resolve().parents[2] / "adapters" / "icegate" / "samples"
BE_FILE = SAMPLES / "hcfc22-import-from-cn.be"
SB_FILE = SAMPLES / "basmati-rice-export-to-uz.sb"
SIGNED_FILE = SAMPLES / "raw-cotton-export-to-kz-signed.sb"
GS = b"\x1d"


@pytest.fixture(name="adapter")
def _adapter() -> object:
    return load_adapter("icegate")


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().split(b"\r\n")


def _join(lines: list[bytes]) -> bytes:
    return b"\r\n".join(lines)


def _replace_field(path: Path, line_no: int, index: int, value: bytes) -> bytes:
    """The sample with field ``index`` (0-based) of line ``line_no`` (1-based) replaced."""
    lines = _lines(path)
    fields = lines[line_no - 1].split(GS)
    fields[index] = value
    lines[line_no - 1] = GS.join(fields)
    return _join(lines)


def _error(adapter: object, data: bytes) -> AdapterError:
    with pytest.raises(AdapterError) as info:
        adapter.decode(data, source="test.be")  # type: ignore[attr-defined]
    assert info.value.adapter == "icegate"
    return info.value


# -- mapping -------------------------------------------------------------------


def test_bill_of_entry_maps_every_field_a_partner_reads(adapter: object) -> None:
    records = adapter.decode(BE_FILE.read_bytes(), source=BE_FILE.name)  # type: ignore[attr-defined]
    assert [r.WhichOneof("body") for r in records] == ["declaration_snapshot", "ods_shipment"]
    rec = records[0]
    m = rec.meta
    assert m.source_format == "ICES:CACHI01"
    assert m.source_record_ref == "INNSA1/4711/20260302"
    assert (m.sender_country, list(m.receiver_countries)) == ("IN", ["CN"])
    assert m.sender_authority == "Central Board of Indirect Taxes and Customs, India"
    # HREC 20260302 1030 is Indian Standard Time, 05:00 UTC.
    assert m.created_at.ToJsonString() == "2026-03-02T05:00:00Z"
    assert m.message_function == common_pb2.MESSAGE_FUNCTION_ORIGINAL
    assert m.handling == common_pb2.HANDLING_RESTRICTED

    d = rec.declaration_snapshot
    assert d.declaration_no == "INNSA1/4711/20260302"
    assert d.direction == records_pb2.DIRECTION_IMPORT
    assert d.procedure_code == "H"
    assert d.acceptance_date == "2026-03-02"
    assert (d.customs_office.unlocode, d.customs_office.customs_office_code, d.customs_office.country) == (
        "INNSA",
        "INNSA1",
        "IN",
    )
    assert (d.consignee.name, d.consignee.id, d.consignee.id_scheme, d.consignee.country) == (
        "ACME COOLING SYSTEMS PVT LTD",
        "0512345678",
        "IEC",
        "IN",
    )
    assert d.consignee.address == "PLOT 12, MIDC TTC INDUSTRIAL AREA\nTHANE BELAPUR ROAD\nNAVI MUMBAI\nMH\n400705"
    assert (d.exporter.name, d.exporter.country, d.exporter.address) == (
        "SHANGHAI REFRIGERANT TRADING CO LTD",
        "CN",
        "88 PUDONG AVENUE\nSHANGHAI",
    )
    assert (d.declarant.id, d.declarant.id_scheme) == ("ABCDE1234FCH001", "CHA")
    assert (d.dispatch_country, d.destination_country) == ("CN", "IN")
    assert d.transport_mode == "1"  # S, sea
    assert (d.invoice_amount.amount, d.invoice_amount.currency, d.incoterm) == ("14650.00", "USD", "CIF")
    assert d.exchange_rate == "83.45"
    assert list(d.container_ids) == ["MSKU4471236"]

    hcfc, compressors = d.items
    assert hcfc.seq == 1
    assert (hcfc.commodity.hs6, hcfc.commodity.national_code, hcfc.commodity.origin_country) == (
        "290371",
        "29037100",
        "CN",
    )
    assert hcfc.commodity.description.startswith("CHLORODIFLUOROMETHANE (HCFC-22")
    assert (hcfc.net_mass.value, hcfc.net_mass.unit) == ("1000", "KGM")  # KGS -> KGM, a mass
    assert not hcfc.HasField("supplementary_quantity")
    assert [(doc.type, doc.number, doc.date) for doc in hcfc.documents] == [("INVOICE", "SRT-2026-0088", "2026-02-15")]
    assert compressors.seq == 2
    assert (compressors.supplementary_quantity.value, compressors.supplementary_quantity.unit) == ("40", "H87")

    ods = records[1].ods_shipment
    assert (ods.substance, ods.odp_tonnes, ods.quantity.value) == ("HCFC-22 (chlorodifluoromethane)", "0.055", "1000")
    assert ods.linked_declaration.number == "INNSA1/4711/20260302"


def test_shipping_bill_maps_exporter_consignee_destination_and_devanagari(adapter: object) -> None:
    (rec,) = adapter.decode(SB_FILE.read_bytes(), source=SB_FILE.name)  # type: ignore[attr-defined]
    assert rec.meta.source_format == "ICES:CACHE01"
    assert (rec.meta.sender_country, list(rec.meta.receiver_countries)) == ("IN", ["UZ"])
    d = rec.declaration_snapshot
    assert d.declaration_no == "INMUN1/5208/20260310"
    assert d.direction == records_pb2.DIRECTION_EXPORT
    assert d.procedure_code == "00"
    assert (d.exporter.name, d.exporter.id, d.exporter.id_scheme, d.exporter.country) == (
        "SHREE GANESH AGRO EXPORTS PVT LTD",
        "0306012345",
        "IEC",
        "IN",
    )
    assert (d.consignee.name, d.consignee.country) == ("NAMUNA OZIQ-OVQAT MChJ", "UZ")
    assert (d.dispatch_country, d.destination_country) == ("IN", "UZ")
    assert (d.total_gross_mass.value, d.total_gross_mass.unit) == ("25350", "KGM")
    assert d.total_packages.count == 500
    assert d.transport_doc_no == "MSKU2026031001"
    assert (d.invoice_amount.amount, d.invoice_amount.currency, d.incoterm) == ("27500.00", "USD", "FOB")
    (rice,) = d.items
    assert (rice.commodity.hs6, rice.commodity.national_code) == ("100630", "10063020")
    assert rice.commodity.description == "BASMATI RICE 1121 STEAM, 50 KG PP BAGS\nबासमती चावल (भाप से पका)"
    assert (rice.net_mass.value, rice.net_mass.unit) == ("25000", "KGM")


def test_signed_file_with_lf_line_ends_reads_and_the_signature_is_ignored(adapter: object) -> None:
    data = SIGNED_FILE.read_bytes()
    assert b"\r\n" not in data and b"<START-SIGNATURE>" in data
    (rec,) = adapter.decode(data, source=SIGNED_FILE.name)  # type: ignore[attr-defined]
    assert rec.declaration_snapshot.destination_country == "KZ"
    assert rec.declaration_snapshot.incoterm == "CPT"
    # The exporter has no second address line: the empty field keeps its place.
    assert rec.declaration_snapshot.exporter.address == "B-14, OKHLA INDUSTRIAL AREA PHASE II\n\nNEW DELHI\nDL\n110020"
    assert ("SIGNATURE.line", "<END-SIGNATURE>") in adapter.fields(data)  # type: ignore[attr-defined]
    assert adapter.encode([rec]).count(b"SIGNATURE") == 0  # type: ignore[attr-defined]


@pytest.mark.parametrize("path", [BE_FILE, SB_FILE, SIGNED_FILE], ids=lambda p: p.name)
def test_round_trip_keeps_records_and_mapped_fields(adapter: object, path: Path) -> None:
    testing.check_round_trip(adapter, path)  # type: ignore[arg-type]


def _put_text(msg: object, text: str) -> int:
    count = 0
    for field, value in msg.ListFields():  # type: ignore[attr-defined]
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            for item in value if field.is_repeated else [value]:
                count += _put_text(item, text)
        elif field.type == FieldDescriptor.TYPE_STRING and field.name in testing.TEXT_FIELDS and not field.is_repeated:
            setattr(msg, field.name, text)
            count += 1
    return count


@pytest.mark.parametrize("script", sorted(testing.SCRIPTS))
@pytest.mark.parametrize("path", [BE_FILE, SB_FILE], ids=lambda p: p.name)
def test_names_descriptions_addresses_in_four_scripts_survive(adapter: object, path: Path, script: str) -> None:
    (rec, *_) = adapter.decode(path.read_bytes())  # type: ignore[attr-defined]
    assert _put_text(rec.declaration_snapshot, testing.SCRIPTS[script]) >= 4
    (again, *_) = adapter.decode(adapter.encode([rec]))  # type: ignore[attr-defined]
    assert again == rec


# -- what the adapter writes -----------------------------------------------------


def test_encoded_bill_of_entry_is_what_ices_reads(adapter: object) -> None:
    records = adapter.decode(BE_FILE.read_bytes())  # type: ignore[attr-defined]
    out = adapter.encode(records)  # type: ignore[attr-defined]  # the derived ODS record is skipped
    lines = out.split(b"\r\n")
    assert out.endswith(b"\r\n")
    assert lines[0].split(GS) == [
        b"HREC", b"ZZ", b"TAMGA", b"ZZ", b"INNSA1", b"ICES1_5", b"P", b"", b"CACHI01", b"4711", b"20260302", b"1030"
    ]  # fmt: skip
    assert [line for line in lines if line.startswith(b"<")] == [
        b"<TABLE>BE", b"<TABLE>EXCHANGE", b"<TABLE>INVOICE", b"<TABLE>ITEMS", b"<TABLE>CONTAINER", b"<END-BE>"
    ]  # fmt: skip
    assert lines[-2] == b"TREC" + GS + b"4711"
    items = lines[lines.index(b"<TABLE>ITEMS") + 1].split(GS)
    assert items[:10] == [
        b"F", b"INNSA1", b"4711", b"20260302", b"1", b"1", b"1000", b"KGS", b"29037100",
        b"CHLORODIFLUOROMETHANE (HCFC-22, R-22) IN 100 CYLINDERS OF 10 KG",
    ]  # fmt: skip
    assert items[12] == b"CN"
    be = lines[2].split(GS)
    assert len(be) == 27 and be[5] == b"0512345678" and be[13] == b"S" and be[19] == b"CN"


def test_export_becomes_a_shipping_bill_with_the_consignee_abroad(adapter: object) -> None:
    (rec,) = adapter.decode(SB_FILE.read_bytes())  # type: ignore[attr-defined]
    out = adapter.encode([rec]).decode("utf-8")  # type: ignore[attr-defined]
    ices = parse(out, lambda msg, **loc: AdapterError(msg, location=loc))
    assert ices.message.message_id == "CACHE01"
    sb = ices.rows("SB")[0]
    assert (sb.get("iec"), sb.get("consignee_name"), sb.get("country_of_final_destination")) == (
        "0306012345",
        "NAMUNA OZIQ-OVQAT MChJ",
        "UZ",
    )
    item = ices.rows("ITEM")[0]
    assert (item.get("ritc"), item.get("unit"), item.get("quantity"), item.get("description2")) == (
        "10063020",
        "KGS",
        "25000",
        "बासमती चावल (भाप से पका)",
    )


def test_a_declaration_from_another_country_is_written_as_far_as_ices_holds_it(adapter: object) -> None:
    data = (Path(__file__).resolve().parents[2] / "adapters" / "samples" / "kz-export-declarations.json").read_bytes()
    decl = next(r for r in from_canonical_json(data) if r.HasField("declaration_snapshot"))
    out = adapter.encode([decl])  # type: ignore[attr-defined]
    ices = parse(out.decode("utf-8"), lambda msg, **loc: AdapterError(msg, location=loc))
    assert ices.message.message_id == "CACHE01"  # an export
    item = ices.rows("ITEM")[0]
    d = decl.declaration_snapshot
    # Another tariff's national subdivision means nothing in India's: HS6 and 00.
    assert item.get("ritc") == d.items[0].commodity.hs6 + "00"
    assert ices.rows("SB")[0].get("job_no") == d.declaration_no


def test_a_cancellation_and_a_transit_are_refused_on_encode(adapter: object) -> None:
    (rec,) = adapter.decode(SB_FILE.read_bytes())  # type: ignore[attr-defined]
    rec.meta.message_function = common_pb2.MESSAGE_FUNCTION_CANCELLATION
    with pytest.raises(AdapterError, match="MESSAGE_FUNCTION_CANCELLATION"):
        adapter.encode([rec])  # type: ignore[attr-defined]
    rec.meta.message_function = common_pb2.MESSAGE_FUNCTION_ORIGINAL
    rec.declaration_snapshot.direction = records_pb2.DIRECTION_TRANSIT
    with pytest.raises(AdapterError, match="DIRECTION_TRANSIT"):
        adapter.encode([rec])  # type: ignore[attr-defined]


def test_an_amendment_row_reads_as_a_correction_and_is_written_back(adapter: object) -> None:
    data = BE_FILE.read_bytes().replace(b"\r\nF" + GS, b"\r\nA" + GS)
    (rec, _ods) = adapter.decode(data)  # type: ignore[attr-defined]
    assert rec.meta.message_function == common_pb2.MESSAGE_FUNCTION_CORRECTION
    assert b"\r\nA" + GS + b"INNSA1" in adapter.encode([rec])  # type: ignore[attr-defined]


# -- errors that say where -------------------------------------------------------


def test_missing_hrec(adapter: object) -> None:
    err = _error(adapter, _join(_lines(BE_FILE)[1:]))
    assert "missing HREC" in err.message
    assert err.location["line"] == 1


def test_unknown_message_id(adapter: object) -> None:
    err = _error(adapter, _replace_field(BE_FILE, 1, 8, b"CMCHI01"))
    assert "unknown message id 'CMCHI01'" in err.message
    assert err.location == {"file": "test.be", "line": 1, "table": "HREC", "field": "message_id"}


def test_wrong_field_count_names_table_line_expected_and_found(adapter: object) -> None:
    lines = _lines(BE_FILE)
    lines[8] = lines[8] + GS + b"EXTRA" + GS + b"MORE"  # the first ITEMS row, line 9
    err = _error(adapter, _join(lines))
    assert "table ITEMS has 17 fields, expected 15" in err.message
    assert err.location == {"file": "test.be", "line": 9, "table": "ITEMS", "expected": 15, "found": 17}


def test_unknown_unit_code(adapter: object) -> None:
    err = _error(adapter, _replace_field(BE_FILE, 9, 7, b"KGX"))
    assert "ICES unit (UQC) code 'KGX' is unknown" in err.message
    assert (err.location["line"], err.location["table"], err.location["field"]) == (9, "ITEMS", "unit")


def test_unknown_country_and_currency(adapter: object) -> None:
    err = _error(adapter, _replace_field(BE_FILE, 3, 19, b"XX"))
    assert "country_of_consignment 'XX' is not an ISO 3166-1 alpha-2" in err.message
    assert (err.location["line"], err.location["field"]) == (3, "country_of_consignment")
    err = _error(adapter, _replace_field(BE_FILE, 7, 12, b"USX"))
    assert "currency 'USX'" in err.message
    assert (err.location["line"], err.location["table"], err.location["field"]) == (7, "INVOICE", "currency")


def test_bad_date(adapter: object) -> None:
    err = _error(adapter, _replace_field(BE_FILE, 7, 5, b"20260231"))
    assert "invoice_date '20260231' is not a date in the form YYYYMMDD" in err.message
    assert (err.location["line"], err.location["field"]) == (7, "invoice_date")
    err = _error(adapter, _replace_field(BE_FILE, 1, 10, b"2026-03-02"))
    assert (err.location["line"], err.location["table"]) == (1, "HREC")


def test_trec_control_number_mismatch(adapter: object) -> None:
    lines = _lines(BE_FILE)
    assert lines[-2] == b"TREC" + GS + b"4711"
    lines[-2] = b"TREC" + GS + b"4712"
    err = _error(adapter, _join(lines))
    assert "TREC control number '4712' does not match the HREC control number '4711'" in err.message
    assert (err.location["line"], err.location["table"]) == (len(lines) - 1, "TREC")


def test_truncated_file(adapter: object) -> None:
    data = BE_FILE.read_bytes()
    err = _error(adapter, data[: data.index(b"<END-BE>")])
    assert "without the <END-BE> end marker" in err.message
    assert err.location["line"] == 13  # the line after the last one read
    signed = SIGNED_FILE.read_bytes()
    err = _error(adapter, signed[: signed.index(b"<END-SIGNATURE>")])
    assert "signature block has no <END-SIGNATURE>" in err.message


def test_windows_1251_bytes_in_a_utf8_file(adapter: object) -> None:
    data = _replace_field(BE_FILE, 7, 6, "ООО Шанхай Холод".encode("cp1251"))
    err = _error(adapter, data)
    assert "not valid utf-8" in err.message and "cp1251" in err.message
    assert err.location["line"] == 7


def test_missing_required_element(adapter: object) -> None:
    lines = [line for line in _lines(BE_FILE) if not line.startswith(b"<TABLE>ITEMS") and b"KGS" + GS not in line]
    lines = [line for line in lines if b"NOS" + GS not in line]
    err = _error(adapter, _join(lines))
    assert "needs at least one row in table ITEMS" in err.message
    assert "line" in err.location
    err = _error(adapter, _replace_field(BE_FILE, 3, 19, b""))
    assert "country_of_consignment" in err.message and err.location["line"] == 3


def test_rows_of_another_job_or_custom_house_are_refused(adapter: object) -> None:
    err = _error(adapter, _replace_field(BE_FILE, 9, 2, b"4712"))
    assert "job_no '4712' differs from the BE row's '4711'" in err.message
    assert (err.location["line"], err.location["field"]) == (9, "job_no")
    err = _error(adapter, _replace_field(BE_FILE, 9, 1, b"INMAA1"))
    assert "custom house 'INMAA1' differs" in err.message


def test_tariff_heading_must_have_eight_digits(adapter: object) -> None:
    err = _error(adapter, _replace_field(BE_FILE, 9, 8, b"290371"))
    assert "not an 8-digit ICES tariff heading" in err.message
    assert (err.location["line"], err.location["field"]) == (9, "cth")


def test_unknown_table_and_shipping_bill_end_marker_in_a_bill_of_entry(adapter: object) -> None:
    lines = _lines(BE_FILE)
    lines[3] = b"<TABLE>SHIPMENT"
    err = _error(adapter, _join(lines))
    assert "unknown table 'SHIPMENT'" in err.message and err.location["line"] == 4
    err = _error(adapter, BE_FILE.read_bytes().replace(b"<END-BE>", b"<END-SB>"))
    assert "expected <END-BE>" in err.message and err.location["line"] == 13
