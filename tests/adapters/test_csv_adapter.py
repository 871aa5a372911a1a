"""The csv adapter: default-form and mapped spreadsheets, what they decode into, what encode writes, and where errors
point."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from tamga.adapters import load_adapter
from tamga.adapters.csv import CsvAdapter
from tamga.adapters.sdk.records import record_id_for
from tamga.errors import AdapterError
from tamga.v1 import common_pb2, records_pb2

SAMPLES = Path(__file__).resolve().parents[2] / "adapters" / "csv" / "samples"
REGISTER = SAMPLES / "kz-broker-export-register.csv"
REGISTER_MAPPING = SAMPLES / "kz-broker-export-register.mapping.toml"


def _decode(name: str) -> list[records_pb2.Record]:
    return CsvAdapter().decode((SAMPLES / name).read_bytes(), source=name)


def _rows(data: bytes, delimiter: str = ",") -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline=""), delimiter=delimiter))


def _error(adapter: CsvAdapter, data: bytes) -> AdapterError:
    with pytest.raises(AdapterError) as info:
        adapter.decode(data, source="in.csv")
    assert info.value.adapter == "csv"
    return info.value


def _mapping(tmp_path: Path, text: str) -> str:
    path = tmp_path / "m.mapping.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


# -- what the samples decode into -----------------------------------------------------------------------------------


def test_default_form_declarations_map_every_column() -> None:
    records = _decode("kz-export-declarations.csv")
    assert [r.WhichOneof("body") for r in records] == ["declaration_snapshot", "ods_shipment", "declaration_snapshot"]
    first = records[0]
    meta = first.meta
    assert meta.record_id == record_id_for("CSV", "55201010/020326/0004117", "declaration_snapshot", 0)
    assert (meta.sender_country, list(meta.receiver_countries)) == ("KZ", ["UZ"])
    assert meta.sender_authority == "State Revenue Committee of the Republic of Kazakhstan"
    assert meta.created_at.ToJsonString() == "2026-03-02T09:15:00Z"
    assert meta.message_function == common_pb2.MESSAGE_FUNCTION_ORIGINAL
    assert meta.handling == common_pb2.HANDLING_RESTRICTED
    decl = first.declaration_snapshot
    assert decl.declaration_no == "55201010/020326/0004117"
    assert decl.direction == records_pb2.DIRECTION_EXPORT
    assert decl.exporter.name == 'ТОО "Шымкент ХимТорг"'
    assert decl.exporter.address == "г. Шымкент, ул. Толе би, 41"
    assert (decl.consignee.id, decl.consignee.id_scheme, decl.consignee.country) == ("305112233", "TIN", "UZ")
    assert (decl.invoice_amount.amount, decl.invoice_amount.currency) == ("18250.00", "USD")
    assert (decl.total_packages.count, decl.total_packages.kind) == (130, "CY")
    assert [i.seq for i in decl.items] == [1, 2]
    ods_item = decl.items[0]
    assert (ods_item.commodity.hs6, ods_item.commodity.national_code) == ("290371", "2903710000")
    assert ods_item.commodity.origin_country == "CN"
    assert (ods_item.net_mass.value, ods_item.net_mass.unit) == ("1000", "KGM")
    assert ods_item.customs_value.amount == "4500.00"
    # The second document sits on a row of its own that fills only document columns: it joins item 1.
    assert [d.number for d in ods_item.documents] == ["KZ-ODS-2026-0042", "SHT-26/118"]
    assert not decl.items[1].documents
    assert (decl.items[1].supplementary_quantity.value, decl.items[1].supplementary_quantity.unit) == ("56", "H87")
    ods = records[1].ods_shipment
    assert (ods.substance.split()[0], ods.odp_tonnes, ods.shipment_ref) == (
        "HCFC-22",
        "0.055",
        "55201010/020326/0004117/1",
    )
    second = records[2].declaration_snapshot
    assert list(second.container_ids) == ["TGHU8812348", "MSKU4401239"]
    assert second.consignee.name == "新疆金属进出口有限公司"
    assert list(records[2].meta.receiver_countries) == ["CN"]


def test_every_record_type_has_a_sample_and_nested_rows_land_in_the_right_element() -> None:
    bodies = set()
    for path in SAMPLES.glob("*.csv"):
        if not path.with_name(path.stem + ".mapping.toml").exists():
            bodies.update(r.WhichOneof("body") for r in _decode(path.name))
    assert bodies == set(CsvAdapter.record_types)

    waste = _decode("kz-ru-waste-movement.csv")[0].waste_movement
    assert [c.country for c in waste.consents] == ["KZ", "RU"]
    assert list(waste.waste.y_codes) == ["Y31", "Y34"]
    assert waste.intended_shipments == 24
    assert [m.seq for m in waste.movements] == [1, 2]
    assert [o.customs_office_code for o in waste.movements[0].customs_offices] == ["30400000", "10504000"]
    assert not waste.movements[1].customs_offices
    assert list(waste.movements[0].vehicle_ids) == ["345ABK09", "12ABA09"]

    ipr = _decode("ru-ipr-recordation.csv")[0].ipr_recordation
    assert list(ipr.nice_classes) == [29, 30]
    assert ipr.right_type == records_pb2.RIGHT_TYPE_TRADEMARK
    assert len(ipr.goods) == 3 and len(ipr.authorised_importers) == 2 and len(ipr.licensees) == 1

    detention = _decode("cn-ipr-detention.csv")[0].ipr_detention
    assert detention.ex_officio is True
    assert detention.holder_notified_at.ToJsonString() == "2026-03-11T07:00:00Z"
    assert [(g.quantity.value, g.quantity.unit) for g in detention.goods] == [("2400", "PR"), ("600", "H87")]

    seizures = _decode("tj-ir-seizure-reports.csv")
    tj = seizures[0].seizure_report
    assert [(o.nationality, o.age) for o in tj.offenders] == [("AF", 41), ("TJ", 29)]
    assert len(tj.items) == 2 and list(tj.route.transit_countries) == ["TJ"]
    assert seizures[1].seizure_report.concealment.startswith("سیگار")

    transit = _decode("kz-tir-transit.csv")[0].transit_pre_arrival
    assert [v.kind for v in transit.vehicles] == [
        records_pb2.VEHICLE_KIND_TRACTOR,
        records_pb2.VEHICLE_KIND_SEMI_TRAILER,
    ]
    assert list(transit.itinerary) == ["CN", "KZ", "UZ"]

    messages = _decode("cn-uz-contact-point-messages.csv")
    assert messages[1].contact_point_message.in_reply_to == messages[0].meta.record_id
    assert messages[0].contact_point_message.kind == records_pb2.CONTACT_POINT_KIND_REQUEST

    ods = _decode("in-ods-shipments.csv")
    assert [c.percent for c in ods[1].ods_shipment.mixture_components] == ["44", "52", "4"]
    assert ods[0].ods_shipment.exporter.name.startswith("शीतल")


def test_mapped_spreadsheet_maps_national_columns_codes_and_formats() -> None:
    adapter = CsvAdapter(mapping_file=str(REGISTER_MAPPING))
    records = adapter.decode(REGISTER.read_bytes(), source=REGISTER.name)
    assert [r.WhichOneof("body") for r in records] == ["declaration_snapshot", "ods_shipment", "declaration_snapshot"]
    first = records[0]
    ref = "55201010/100326/0004388"
    assert first.meta.record_id == record_id_for("CSV:KZ-BROKER-REGISTER", ref, "declaration_snapshot", 0)
    assert (first.meta.source_record_ref, first.meta.source_format) == (ref, "CSV:KZ-BROKER-REGISTER")
    assert first.meta.sender_authority == "State Revenue Committee of the Republic of Kazakhstan"
    assert first.meta.created_at.ToJsonString() == "2026-03-10T04:40:00Z"  # 09:40 at +05:00
    assert list(first.meta.receiver_countries) == ["UZ"]
    decl = first.declaration_snapshot
    assert decl.direction == records_pb2.DIRECTION_EXPORT
    assert (decl.acceptance_date, decl.dispatch_country, decl.destination_country) == ("2026-03-10", "KZ", "UZ")
    assert decl.exporter.name == 'ТОО "Шымкент ХимТорг"'
    item2 = decl.items[1]
    assert (item2.gross_mass.value, item2.gross_mass.unit) == ("654.5", "KGM")
    assert (item2.customs_value.amount, item2.customs_value.currency) == ("3270.00", "USD")
    assert item2.commodity.origin_country == "CN"
    flour = records[2].declaration_snapshot.items[0]
    assert (flour.net_mass.value, flour.net_mass.unit, flour.commodity.origin_country) == ("40", "TNE", "KZ")


# -- what encode writes ----------------------------------------------------------------------------------------------


def test_encode_of_a_mapped_spreadsheet_writes_the_national_form() -> None:
    adapter = CsvAdapter(mapping_file=str(REGISTER_MAPPING))
    out = adapter.encode(adapter.decode(REGISTER.read_bytes()))
    rows = _rows(out, ";")
    header = rows[0]
    assert header == _rows(REGISTER.read_bytes(), ";")[0][:-1]  # the ignored Примечание is not written
    assert len(rows) == 4  # header + two items + one item; the derived ODS shipment is not written
    row = dict(zip(header, rows[2], strict=True))
    assert row["Направление"] == "ЭК"
    assert row["Дата выпуска"] == "10.03.2026"
    assert row["Время подачи"] == "10.03.2026 09:40"
    assert (row["Вес брутто"], row["Ед. брутто"], row["Таможенная стоимость"]) == ("654,5", "кг", "3270,00")
    assert row["Страна назначения"] == "Узбекистан"
    assert row["Номер ДТ"] == "55201010/100326/0004388"
    assert out.count(b"\r\n") == 4


def test_default_form_encode_writes_paths_and_text_survives_csv_quoting() -> None:
    record = _decode("kz-export-declarations.csv")[0]
    decl = record.declaration_snapshot
    decl.items[0].commodity.description = 'Баллоны, "R-22";\nпартия 2 из 3'
    decl.exporter.name = '=HYPERLINK("http://evil")'
    decl.consignee.name = "'quoted"
    adapter = CsvAdapter()
    out = adapter.encode([record])
    rows = _rows(out)
    header = rows[0]
    assert header[0] == "meta.record_id"
    assert "declaration_snapshot.items.commodity.hs6" in header and "record_type" not in header
    cells = dict(zip(header, rows[1], strict=True))
    assert cells["declaration_snapshot.exporter.name"] == '\'=HYPERLINK("http://evil")'  # never a live formula
    assert cells["declaration_snapshot.items.commodity.description"] == 'Баллоны, "R-22";\nпартия 2 из 3'
    assert cells["declaration_snapshot.direction"] == "EXPORT"
    assert cells["meta.created_at"] == "2026-03-02T09:15:00Z"
    again = adapter.decode(out)[0]
    assert again == record
    assert again.declaration_snapshot.consignee.name == "'quoted"


def test_records_of_every_type_in_one_file_carry_a_record_type_column() -> None:
    records = [r for p in sorted(SAMPLES.glob("*.csv")) if "register" not in p.name for r in _decode(p.name)]
    adapter = CsvAdapter(delimiter="\t")
    out = adapter.encode(records)
    header = _rows(out, "\t")[0]
    assert header[0] == "record_type"
    assert adapter.decode(out) == records


def test_encode_with_a_mapping_writes_what_the_spreadsheet_holds_of_a_foreign_record() -> None:
    foreign = _decode("kz-export-declarations.csv")[2]
    foreign.declaration_snapshot.items[0].net_mass.unit = "LTR"  # no national code in the mapping: written as is
    adapter = CsvAdapter(mapping_file=str(REGISTER_MAPPING))
    rows = _rows(adapter.encode([foreign]), ";")
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["Номер ДТ"] == "50508010/040326/0000986"
    assert row["Страна назначения"] == "Китай"
    assert row["Ед. нетто"] == "LTR"
    assert row["Наименование товара"] == "Цинк необработанный нелегированный, 99,995 %"


def test_rows_of_one_record_need_not_be_adjacent_and_may_give_record_fields_once() -> None:
    data = (
        b"meta.source_record_ref,meta.sender_country,seizure_report.case_id,seizure_report.items.commodity.hs6\n"
        b"A-1,KZ,A-1,240220\n"
        b"B-2,UZ,B-2,130211\n"
        b"A-1,,,240311\n"
    )
    records = CsvAdapter().decode(data)
    assert [r.seizure_report.case_id for r in records] == ["A-1", "B-2"]
    assert [i.commodity.hs6 for i in records[0].seizure_report.items] == ["240220", "240311"]
    assert records[0].meta.record_id == record_id_for("CSV", "A-1", "seizure_report", 0)
    assert records[1].meta.sender_authority == "Customs Committee of the Republic of Uzbekistan"
    corrected = CsvAdapter().decode(
        b"meta.source_record_ref,meta.message_function,seizure_report.case_id\nA-1,CORRECTION,A-1\n"
    )
    assert corrected[0].meta.message_function == common_pb2.MESSAGE_FUNCTION_CORRECTION
    assert corrected[0].meta.record_id == record_id_for("CSV", "A-1", "seizure_report", "0/2")


def test_load_adapter_passes_node_options() -> None:
    adapter = load_adapter("csv", {"mapping_file": str(REGISTER_MAPPING)})
    assert isinstance(adapter, CsvAdapter)
    assert adapter.delimiter == ";"
    assert adapter.unmapped_fields == ("Примечание",)


# -- errors in data files --------------------------------------------------------------------------------------------


def test_a_row_with_a_missing_cell_names_its_line() -> None:
    data = (SAMPLES / "kz-export-declarations.csv").read_bytes()
    lines = data.split(b"\r\n")
    lines[3] = lines[3].rsplit(b",", 1)[0]
    exc = _error(CsvAdapter(), b"\r\n".join(lines))
    assert exc.location["line"] == 4
    assert "cells but the header has" in exc.message


def test_a_truncated_file_gives_a_located_error() -> None:
    data = (SAMPLES / "kz-ru-waste-movement.csv").read_bytes()
    second_row = data.index(b"\r\n") + 2
    exc = _error(CsvAdapter(), data[: second_row + 120])
    assert exc.location == {"file": "in.csv", "line": 2}
    assert "row has 6 cells but the header has" in exc.message
    inside_quotes = data.index(b'"\xd0\xa2\xd0\x9e\xd0\x9e', second_row) + 5  # inside "ТОО ..."
    exc = _error(CsvAdapter(), data[:inside_quotes])
    assert exc.location == {"file": "in.csv", "line": 2}
    assert "ends inside a quoted cell" in exc.message


def test_an_unclosed_quote_is_located_at_the_row_it_opens() -> None:
    exc = _error(CsvAdapter(), b'meta.record_id,seizure_report.case_id\nr1,"A-1\nr2,A-2\n')
    assert exc.location["line"] == 2
    assert "not valid CSV" in exc.message
    exc = _error(CsvAdapter(), b'meta.record_id,seizure_report.case_id\nr1,A-1\nr2,"A"2\n')
    assert exc.location["line"] == 3


def test_windows_1251_bytes_in_a_utf8_file_are_located_with_a_hint() -> None:
    data = (SAMPLES / "kz-export-declarations.csv").read_bytes().decode("utf-8").encode("cp1251", "replace")
    exc = _error(CsvAdapter(), data)
    assert exc.location["line"] == 2
    assert "cp1251" in exc.message
    # The same bytes read fine when the adapter is told the file's encoding.
    assert CsvAdapter(encoding="cp1251").decode(data)


def test_an_unknown_column_names_its_header_and_column_number() -> None:
    exc = _error(CsvAdapter(), b"meta.record_id,declaration_snapshot.itmes.seq\nr1,1\n")
    assert exc.location == {"file": "in.csv", "line": 1, "column": 2, "header": "declaration_snapshot.itmes.seq"}
    assert "did you mean 'items'" in exc.message


def test_a_column_naming_a_message_says_to_name_one_of_its_fields() -> None:
    exc = _error(CsvAdapter(), b"meta.record_id,declaration_snapshot.exporter\nr1,x\n")
    assert exc.location["column"] == 2
    assert "declaration_snapshot.exporter.name" in exc.message


@pytest.mark.parametrize(
    ("column", "value", "why"),
    [
        ("declaration_snapshot.dispatch_country", "KAZ", "not an ISO 3166-1 alpha-2 country code"),
        ("declaration_snapshot.invoice_amount.currency", "TNG", "not an ISO 4217 currency code"),
        ("declaration_snapshot.items.net_mass.unit", "kg", "not a UNECE Recommendation 20 unit code"),
        ("declaration_snapshot.items.customs_value.amount", "4500,00", "not a decimal number"),
        ("declaration_snapshot.acceptance_date", "02.03.2026", "not a date in the form YYYY-MM-DD"),
        ("declaration_snapshot.items.seq", "1a", "not a whole number"),
        ("declaration_snapshot.items.commodity.hs6", "2903", "not an HS subheading of six digits"),
        ("meta.created_at", "yesterday", "not an RFC 3339 date-time"),
    ],
)
def test_a_value_that_does_not_fit_its_field_is_located(column: str, value: str, why: str) -> None:
    data = f'meta.record_id,meta.sender_country,{column}\nr1,KZ,\nr1,KZ,"{value}"\n'.encode()
    exc = _error(CsvAdapter(), data)
    assert exc.location == {"file": "in.csv", "line": 3, "column": 3, "header": column, "field": column}
    assert why in exc.message


def test_a_bad_enum_name_lists_the_allowed_ones() -> None:
    exc = _error(CsvAdapter(), b"meta.record_id,declaration_snapshot.direction\nr1,EXPROT\n")
    assert (exc.location["line"], exc.location["column"]) == (2, 2)
    assert "allowed: EXPORT, IMPORT, TRANSIT, DOMESTIC" in exc.message


def test_rows_of_one_record_that_disagree_are_refused() -> None:
    data = b"meta.record_id,meta.sender_country,seizure_report.case_id\nr1,KZ,A-1\nr1,UZ,A-1\n"
    exc = _error(CsvAdapter(), data)
    assert (exc.location["line"], exc.location["header"]) == (3, "meta.sender_country")
    assert "'UZ' here but 'KZ'" in exc.message


def test_a_file_without_a_key_column_or_with_an_empty_key_is_refused() -> None:
    exc = _error(CsvAdapter(), b"meta.sender_country,seizure_report.case_id\nKZ,A-1\n")
    assert exc.location["line"] == 1
    assert "neither meta.record_id nor meta.source_record_ref" in exc.message
    exc = _error(CsvAdapter(), b"meta.record_id,seizure_report.case_id\nr1,A-1\n,A-2\n")
    assert (exc.location["line"], exc.location["column"]) == (3, 1)
    assert "key column 'meta.record_id' is empty" in exc.message


def test_a_header_without_rows_and_one_record_with_two_bodies_are_refused() -> None:
    exc = _error(CsvAdapter(), b"meta.record_id,seizure_report.case_id\n")
    assert "no data rows" in exc.message
    data = b"meta.record_id,seizure_report.case_id,ipr_detention.case_id\nr1,A-1,\nr1,,B-1\n"
    exc = _error(CsvAdapter(), data)
    assert (exc.location["line"], exc.location["column"]) == (3, 3)
    assert "a record has one body" in exc.message
    data = b"meta.record_id,meta.sender_country,seizure_report.case_id,ipr_detention.case_id\nr1,KZ,,\n"
    assert "add a record_type column" in _error(CsvAdapter(), data).message


# -- errors in mapped files and mapping files ------------------------------------------------------------------------


def test_an_unknown_national_code_in_a_mapped_column_lists_the_known_ones() -> None:
    data = REGISTER.read_bytes().decode("utf-8").replace(";654,5;кг;", ";654,5;кгс;").encode("utf-8")
    exc = _error(CsvAdapter(mapping_file=str(REGISTER_MAPPING)), data)
    assert (exc.location["line"], exc.location["column"], exc.location["header"]) == (3, 17, "Ед. брутто")
    assert "'кгс' is not a value the mapping knows" in exc.message and "кг, т" in exc.message


def test_a_mapped_file_with_a_column_the_mapping_lacks_or_without_its_key_column_is_refused() -> None:
    data = REGISTER.read_bytes().decode("utf-8").replace("Валюта;", "Валюта платежа;", 1).encode("utf-8")
    exc = _error(CsvAdapter(mapping_file=str(REGISTER_MAPPING)), data)
    assert (exc.location["line"], exc.location["column"], exc.location["header"]) == (1, 21, "Валюта платежа")
    data = REGISTER.read_bytes().decode("utf-8").replace("Номер ДТ;", "Номер;", 1).encode("utf-8")
    exc = _error(CsvAdapter(mapping_file=str(REGISTER_MAPPING)), data)
    assert "is not in the mapping" in exc.message and exc.location["column"] == 1
    data = b"\xd0\x94\xd0\xb0\xd1\x82\xd0\xb0 \xd0\xb2\xd1\x8b\xd0\xbf\xd1\x83\xd1\x81\xd0\xba\xd0\xb0\n10.03.2026\n"
    exc = _error(CsvAdapter(mapping_file=str(REGISTER_MAPPING)), data)
    assert "key column 'Номер ДТ'" in exc.message and exc.location["line"] == 1


def test_a_date_that_does_not_match_the_mapping_format_is_located() -> None:
    data = REGISTER.read_bytes().decode("utf-8").replace(";12.03.2026;", ";2026-03-12;").encode("utf-8")
    exc = _error(CsvAdapter(mapping_file=str(REGISTER_MAPPING)), data)
    assert (exc.location["line"], exc.location["header"]) == (4, "Дата выпуска")
    assert "does not match the date format '%d.%m.%Y'" in exc.message


MINIMAL = 'record_type = "seizure_report"\nkey = "Дело"\n[columns]\n"Дело" = "seizure_report.case_id"\n'


@pytest.mark.parametrize(
    ("text", "line", "why"),
    [
        ('record_type = "seizure_report"\nkey = "Дело\n', 2, "not valid TOML"),
        (MINIMAL.replace("seizure_report.case_id", "seizure_report.case"), 4, "did you mean 'case_id'"),
        (MINIMAL.replace('record_type = "seizure_report"', 'record_type = "seizure"'), 1, "is not one of"),
        (MINIMAL + '"Дата" = { field = "seizure_report.seizure_date", date_format = 5 }\n', 5, "date_format"),
        (MINIMAL + '"Вид" = { field = "seizure_report.direction", values = { "ИМ" = "IMPRT" } }\n', 5, "allowed"),
        (MINIMAL + '"Код" = "ipr_detention.case_id"\n', 5, "not in seizure_report"),
        (MINIMAL + '"Д2" = "seizure_report.case_id"\n', 5, "both fill seizure_report.case_id"),
        (MINIMAL.replace('key = "Дело"', 'key = "Номер"'), 2, "is not one of the [columns]"),
        (MINIMAL + '"Товар" = "seizure_report.items.commodity.hs6"\n' + "", 0, ""),
        ('colour = "red"\n' + MINIMAL, 1, "unknown setting 'colour'"),
    ],
)
def test_a_broken_mapping_file_names_the_file_the_line_and_the_problem(
    tmp_path: Path, text: str, line: int, why: str
) -> None:
    path = _mapping(tmp_path, text)
    if not why:
        assert CsvAdapter(mapping_file=path).mapping is not None  # the control: this one is fine
        return
    with pytest.raises(AdapterError) as info:
        CsvAdapter(mapping_file=path)
    assert info.value.location["mapping_file"] == path
    assert info.value.location.get("line") == line
    assert "m.mapping.toml" in info.value.message
    assert why in info.value.message


def test_a_key_inside_items_and_a_missing_mapping_file_are_refused(tmp_path: Path) -> None:
    text = MINIMAL.replace('key = "Дело"', 'key = "Товар"') + '"Товар" = "seizure_report.items.commodity.hs6"\n'
    with pytest.raises(AdapterError, match="a field of each element, not of the record"):
        CsvAdapter(mapping_file=_mapping(tmp_path, text))
    with pytest.raises(AdapterError, match="cannot be read") as info:
        CsvAdapter(mapping_file=str(tmp_path / "absent.toml"))
    assert info.value.location == {"mapping_file": str(tmp_path / "absent.toml")}


def test_bad_options_are_refused() -> None:
    with pytest.raises(AdapterError, match="delimiter must be one character"):
        CsvAdapter(delimiter=";;")
    with pytest.raises(AdapterError, match="unknown text encoding 'utf-9'"):
        CsvAdapter(encoding="utf-9")
    with pytest.raises(AdapterError, match="option delimiter is '\\|' but mapping file") as info:
        CsvAdapter(mapping_file=str(REGISTER_MAPPING), delimiter="|")
    assert info.value.location["option"] == "delimiter"
