"""The ASYCUDA World adapter: what a customs IT team relies on.

The shared checks (tests/adapters/test_all_adapters.py) run on every sample;
these pin down the mapping box by box, what the SAD written back looks like,
and that every refusal says which element is wrong.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree
from tamga.adapters import load_adapter
from tamga.adapters.asycuda import AsycudaAdapter
from tamga.adapters.sdk import record_id_for
from tamga.adapters.sdk.testing import SCRIPTS
from tamga.errors import AdapterError
from tamga.v1 import common_pb2, records_pb2

SAMPLES = Path(__file__).resolve().parents[2] / "adapters" / "asycuda" / "samples"
IMPORT = "tj-import-smartphones-from-cn.xml"
EXPORT = "tj-export-aluminium-to-cn.xml"
NULLS = "tj-import-refrigerant-from-uz-nulls.xml"


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def edit(data: bytes, old: str, new: str) -> bytes:
    """The sample with the first ``old`` replaced; fails if ``old`` is not there."""
    raw = old.encode()
    assert raw in data, f"{old!r} is not in the sample"
    return data.replace(raw, new.encode(), 1)


def line_of(data: bytes, needle: str) -> int:
    return data[: data.index(needle.encode())].count(b"\n") + 1


def decode(data: bytes, **options: str) -> list[records_pb2.Record]:
    return AsycudaAdapter(**options).decode(data, source="t.xml")


def refused(data: bytes, **options: str) -> AdapterError:
    with pytest.raises(AdapterError) as info:
        decode(data, **options)
    assert info.value.adapter == "asycuda"
    return info.value


def parsed(data: bytes) -> etree._Element:
    return etree.fromstring(data)


def box(root: etree._Element, path: str) -> str | None:
    """Text of a box, or None when it holds ``<null/>``."""
    el = root.find(path)
    assert el is not None, f"{path} is missing from the SAD written"
    if el.find("null") is not None:
        return None
    return el.text


# -- the mapping ---------------------------------------------------------------


def test_import_header_maps_to_the_declaration_and_its_meta() -> None:
    [rec] = decode(sample(IMPORT))
    meta, decl = rec.meta, rec.declaration_snapshot
    assert decl.declaration_no == "TJ001 2026 C 1523"
    assert meta.source_record_ref == "TJ001 2026 C 1523"
    assert meta.source_format == "ASYCUDA"
    assert meta.record_id == record_id_for("ASYCUDA", "TJ001 2026 C 1523", "declaration_snapshot")
    assert meta.sender_country == "TJ"
    assert list(meta.receiver_countries) == ["CN"]
    assert meta.sender_authority == "Customs Service of the Republic of Tajikistan"
    assert meta.created_at.ToJsonString() == "2026-03-02T00:00:00Z"
    assert meta.message_function == common_pb2.MESSAGE_FUNCTION_ORIGINAL
    assert meta.handling == common_pb2.HANDLING_RESTRICTED

    assert decl.direction == records_pb2.DIRECTION_IMPORT
    assert decl.procedure_code == "4"
    assert decl.acceptance_date == "2026-03-02"
    assert decl.lrn == "SOM-2026-0311"
    assert decl.customs_office == common_pb2.Place(customs_office_code="TJ001", name="Гумруки Душанбе", country="TJ")
    assert decl.exporter == common_pb2.Party(name="深圳华信电子有限公司 SHENZHEN HUAXIN ELECTRONICS CO LTD")
    assert decl.consignee == common_pb2.Party(id="020304567", name="ҶДММ «Рақамӣ Савдо»")
    assert decl.declarant == common_pb2.Party(id="010998877", name="ҶДММ «Брокери гумрукии Сомон»")
    assert (decl.dispatch_country, decl.destination_country, decl.trading_country) == ("CN", "TJ", "CN")
    assert (decl.transport_means_id, decl.transport_mode, decl.incoterm) == ("粤B4K721", "3", "DAP")
    assert decl.invoice_amount == common_pb2.Money(amount="122280.00", currency="USD")
    assert decl.exchange_rate == "10.95"
    assert decl.total_gross_mass == common_pb2.Quantity(value="1262.5", unit="KGM")
    assert decl.total_packages.count == 64
    assert list(decl.container_ids) == []


def test_import_items_map_tariff_units_masses_and_values() -> None:
    [rec] = decode(sample(IMPORT))
    first, second = rec.declaration_snapshot.items
    assert first.seq == 1
    assert first.commodity == common_pb2.Commodity(
        hs6="851713",
        national_code="8517130000",
        description="Телефонҳои смартфон Huaxin X12, 128 ГБ, бо пуркунандаи барқ",
        origin_country="CN",
    )
    assert first.procedure_code == "4000 000"
    assert first.packages == common_pb2.Packages(count=60, kind="CT")
    # ASYCUDA's NMB (number of items) is Rec 20 H87 (piece).
    assert first.supplementary_quantity == common_pb2.Quantity(value="1200", unit="H87")
    assert first.gross_mass == common_pb2.Quantity(value="1020.0", unit="KGM")
    assert first.net_mass == common_pb2.Quantity(value="960.0", unit="KGM")
    # CIF and statistical values are in the national currency, which the SAD does not name.
    assert first.customs_value == common_pb2.Money(amount="1306450.00", currency="TJS")
    assert first.statistical_value == common_pb2.Money(amount="1306450.00", currency="TJS")
    assert first.invoice_amount == common_pb2.Money(amount="118200.00", currency="USD")
    assert [(d.type, d.number, d.date) for d in first.documents] == [("380", "HX-INV-260211", "2026-02-11")]

    assert second.seq == 2
    assert (second.commodity.hs6, second.commodity.national_code) == ("850440", "8504403000")
    assert second.gross_mass.value == "242.5"
    assert second.customs_value.amount == "45176.00"
    assert not second.documents


def test_export_is_sent_by_the_country_of_export_to_the_destination() -> None:
    [rec] = decode(sample(EXPORT))
    decl = rec.declaration_snapshot
    assert decl.direction == records_pb2.DIRECTION_EXPORT
    assert rec.meta.sender_country == "TJ"
    assert list(rec.meta.receiver_countries) == ["CN"]
    assert (decl.dispatch_country, decl.destination_country) == ("TJ", "CN")
    assert decl.declaration_no == "TJ100 2026 E 418"
    assert decl.exporter == common_pb2.Party(id="030011122", name="ҶСК «Ширкати алюминийи тоҷик»")
    assert decl.consignee.id == "91650102MA7G4K2L3X"
    assert list(decl.container_ids) == ["TKRU4305126", "CXDU2183745"]
    assert (decl.transport_mode, decl.incoterm) == ("2", "FCA")
    # Supplementary unit boxes are all <null/>: no quantity at all.
    assert not any(item.HasField("supplementary_quantity") for item in decl.items)
    assert [i.commodity.national_code for i in decl.items] == ["7601100000", "7601202000"]


def test_null_boxes_leave_fields_empty_and_the_item_invoice_takes_the_declaration_currency() -> None:
    decl_rec, ods_rec = decode(sample(NULLS))
    decl = decl_rec.declaration_snapshot
    assert decl.exporter == common_pb2.Party(name="«Sovutish Texnika Savdo» MChJ, Toshkent")
    assert decl.declarant == common_pb2.Party(name="ҶДММ «Хунукӣ Сервис»")
    assert decl.lrn == ""
    assert decl.trading_country == ""
    assert decl.incoterm == ""
    assert decl.transport_means_id == ""
    assert decl.customs_office.name == ""
    [item] = decl.items
    assert item.procedure_code == "4000"  # National_customs_procedure is <null/>
    assert not item.HasField("supplementary_quantity")
    assert not item.HasField("statistical_value")
    assert item.invoice_amount == common_pb2.Money(amount="5440.00", currency="USD")
    assert item.customs_value == common_pb2.Money(amount="61483.20", currency="TJS")

    # HS 2903.71 is HCFC-22: the declaration yields an ODS shipment.
    ods = ods_rec.ods_shipment
    assert ods.substance.startswith("HCFC-22")
    assert ods.quantity == common_pb2.Quantity(value="1360.0", unit="KGM")
    assert ods.odp_tonnes == "0.0748"
    assert ods.linked_declaration.number == "TJ201 2026 C 2207"


def test_same_registration_number_in_another_year_is_another_record() -> None:
    data = sample(IMPORT)
    [this_year] = decode(data)
    [next_year] = decode(
        edit(data, "<Date>2026-03-02</Date>\n    </Registration>", "<Date>2027-03-02</Date></Registration>")
    )
    assert next_year.declaration_snapshot.declaration_no == "TJ001 2027 C 1523"
    assert next_year.meta.record_id != this_year.meta.record_id


def test_country_option_fills_an_empty_declaring_country() -> None:
    data = edit(
        sample(NULLS),
        "<Destination_country_code>TJ</Destination_country_code>",
        "<Destination_country_code><null/></Destination_country_code>",
    )
    err = refused(data)
    assert "declaring country is unknown" in err.message
    assert err.location["xpath"] == "/ASYCUDA/General_information/Country"
    [rec, _] = decode(data, country="TJ")
    assert rec.meta.sender_country == "TJ"
    assert rec.declaration_snapshot.destination_country == "TJ"


def test_options_come_from_the_node_config_and_are_checked() -> None:
    adapter = load_adapter("asycuda", {"country": "TJ", "national_currency": "USD"})
    [rec] = adapter.decode(sample(IMPORT))
    assert rec.declaration_snapshot.items[0].customs_value == common_pb2.Money(amount="1306450.00", currency="USD")
    with pytest.raises(AdapterError, match="option country 'Tajikistan'"):
        AsycudaAdapter(country="Tajikistan")
    with pytest.raises(AdapterError, match="option national_currency 'somoni'"):
        AsycudaAdapter(national_currency="somoni")


def test_fields_lists_boxes_with_values_and_skips_null_boxes() -> None:
    fields = AsycudaAdapter().fields(sample(NULLS))
    assert ("ASYCUDA/Item/Tarification/HScode/Commodity_code", "29037100") in fields
    assert ("ASYCUDA/Identification/Registration/Number", "2207") in fields
    assert not any(path == "ASYCUDA/Traders/Exporter/Exporter_code" for path, _ in fields)


# -- the SAD written back --------------------------------------------------------


def test_encode_writes_the_sad_asycuda_reads() -> None:
    adapter = AsycudaAdapter()
    out = adapter.encode(adapter.decode(sample(IMPORT)))
    assert out.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    root = parsed(out)
    assert root.tag == "ASYCUDA"
    assert box(root, "Property/Sad_flow") == "I"
    assert box(root, "Property/Nbers/Total_number_of_items") == "2"
    assert box(root, "Identification/Office_segment/Customs_clearance_office_code") == "TJ001"
    assert box(root, "Identification/Type/Type_of_declaration") == "IM"
    assert box(root, "Identification/Registration/Serial_number") == "C"
    assert box(root, "Identification/Registration/Number") == "1523"
    assert box(root, "Identification/Registration/Date") == "2026-03-02"
    assert box(root, "Traders/Consignee/Consignee_name") == "ҶДММ «Рақамӣ Савдо»"
    assert box(root, "Traders/Exporter/Exporter_code") is None
    assert box(root, "General_information/Country/Export/Export_country_name") == "China"
    assert box(root, "Valuation/Gs_Invoice/Amount_foreign_currency") == "122280.00"
    items = root.findall("Item")
    assert len(items) == 2
    assert box(items[0], "Tarification/HScode/Commodity_code") == "85171300"
    assert box(items[0], "Tarification/HScode/Precision_1") == "00"
    assert box(items[0], "Tarification/Extended_customs_procedure") == "4000"
    assert box(items[0], "Tarification/National_customs_procedure") == "000"
    assert box(items[0], "Tarification/Supplementary_unit/Suppplementary_unit_code") == "NMB"
    assert box(items[0], "Tarification/Supplementary_unit/Suppplementary_unit_quantity") == "1200"
    assert box(items[1], "Valuation_item/Total_CIF_itm") == "45176.00"


def test_encode_writes_null_for_empty_boxes_the_sad_always_carries() -> None:
    adapter = AsycudaAdapter()
    root = parsed(adapter.encode(adapter.decode(sample(NULLS))))
    for path in (
        "General_information/Country/Trading_country",
        "Transport/Delivery_terms/Code",
        "Transport/Means_of_transport/Border_information/Identity",
        "Declarant/Reference/Number",
        "Item/Tarification/Supplementary_unit/Suppplementary_unit_quantity",
        "Item/Valuation_item/Statistical_value",
    ):
        el = root.find(path)
        assert el is not None, path
        assert [c.tag for c in el] == ["null"] and not (el.text or "").strip(), path


def test_encode_leaves_out_the_derived_ods_shipment_refuses_others_and_two_declarations() -> None:
    adapter = AsycudaAdapter()
    records = adapter.decode(sample(NULLS))
    assert [r.WhichOneof("body") for r in records] == ["declaration_snapshot", "ods_shipment"]
    assert len(parsed(adapter.encode(records)).findall("Item")) == 1
    stray = records_pb2.Record()
    stray.CopyFrom(records[1])
    stray.ods_shipment.odp_tonnes = "7.48"  # not what the declaration derives: it would be lost
    with pytest.raises(AdapterError, match="cannot carry a ods_shipment"):
        adapter.encode([records[0], stray])
    two = adapter.decode(sample(IMPORT)) + adapter.decode(sample(EXPORT))
    with pytest.raises(AdapterError, match="holds one declaration, and 2 were given"):
        adapter.encode(two)


def _foreign_declaration() -> records_pb2.Record:
    """A Kazakh export to Tajikistan as the EAEU adapter might give it."""
    rec = records_pb2.Record()
    rec.meta.sender_country = "KZ"
    d = rec.declaration_snapshot
    d.declaration_no = "10702020/010326/0001234"
    d.direction = records_pb2.DIRECTION_EXPORT
    d.procedure_code = "10"
    d.acceptance_date = "2026-03-01"
    d.dispatch_country, d.destination_country = "KZ", "TJ"
    d.exporter.name, d.exporter.id, d.exporter.id_scheme = 'ТОО "Пример Хим"', "123456789012", "BIN"
    d.customs_office.customs_office_code = "10702020"
    d.total_gross_mass.value, d.total_gross_mass.unit = "1.18", "TNE"
    item = d.items.add()
    item.seq = 1
    item.commodity.hs6, item.commodity.national_code = "290371", "2903710000"
    item.net_mass.value, item.net_mass.unit = "1000", "KGM"
    item.gross_mass.value, item.gross_mass.unit = "1.18", "TNE"
    item.customs_value.amount, item.customs_value.currency = "4500.00", "USD"
    item.supplementary_quantity.value, item.supplementary_quantity.unit = "3", "KWH"
    return rec


def test_another_countrys_declaration_is_written_as_far_as_the_sad_holds_it() -> None:
    root = parsed(AsycudaAdapter().encode([_foreign_declaration()]))
    assert box(root, "Identification/Type/Type_of_declaration") == "EX"
    # Not an ASYCUDA registration: the whole number goes into Number.
    assert box(root, "Identification/Registration/Serial_number") is None
    assert box(root, "Identification/Registration/Number") == "10702020/010326/0001234"
    # Tonnes become kilograms, exactly.
    assert box(root, "Valuation/Weight/Gross_weight") == "1180"
    assert box(root, "Item/Valuation_item/Weight_itm/Gross_weight_itm") == "1180"
    assert box(root, "Item/Valuation_item/Weight_itm/Net_weight_itm") == "1000"
    # A USD customs value is not written where ASYCUDA expects KZT.
    assert box(root, "Item/Valuation_item/Total_CIF_itm") is None
    # A unit ASYCUDA has no code for is left out with its quantity.
    assert box(root, "Item/Tarification/Supplementary_unit/Suppplementary_unit_code") is None
    assert box(root, "Item/Tarification/Supplementary_unit/Suppplementary_unit_quantity") is None
    assert box(root, "Item/Tarification/HScode/Commodity_code") == "29037100"


def test_transit_declarations_are_written_but_not_read() -> None:
    rec = _foreign_declaration()
    rec.declaration_snapshot.direction = records_pb2.DIRECTION_TRANSIT
    out = AsycudaAdapter().encode([rec])
    assert box(parsed(out), "Identification/Type/Type_of_declaration") == "TR"
    assert box(parsed(out), "Property/Sad_flow") == "T"
    err = refused(out)
    assert "Type_of_declaration 'TR' is not read" in err.message
    assert err.location["xpath"] == "/ASYCUDA/Identification/Type/Type_of_declaration"


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_names_and_descriptions_in_every_script_survive(script: str) -> None:
    adapter = AsycudaAdapter()
    [rec] = adapter.decode(sample(IMPORT))
    decl = rec.declaration_snapshot
    text = SCRIPTS[script]
    for party in (decl.exporter, decl.consignee, decl.declarant):
        party.name = text
    decl.customs_office.name = text
    for item in decl.items:
        item.commodity.description = text
    assert adapter.decode(adapter.encode([rec])) == [rec]


# -- refusals, each saying where -------------------------------------------------


def test_truncated_file_is_refused_with_line_and_column() -> None:
    data = sample(IMPORT)
    err = refused(data[: len(data) // 2])
    assert "not well-formed XML" in err.message
    assert err.location["line"] > 1
    assert "column" in err.location


def test_windows_1251_bytes_in_a_utf8_file_are_refused_at_the_first_bad_byte() -> None:
    data = sample(NULLS)
    bad = data.decode("utf-8").encode("cp1251", errors="replace")
    err = refused(bad)
    assert "not valid utf-8" in err.message
    assert "cp1251" in err.message
    first_non_ascii = next(i for i, byte in enumerate(data) if byte > 0x7F)
    assert err.location["line"] == data[:first_non_ascii].count(b"\n") + 1 == line_of(data, "«Sovutish")


def test_unknown_supplementary_unit_is_refused_at_its_box() -> None:
    data = edit(sample(IMPORT), "<Suppplementary_unit_code>NMB<", "<Suppplementary_unit_code>BOGUS<")
    err = refused(data)
    assert "ASYCUDA unit code 'BOGUS' is unknown" in err.message
    assert err.location["xpath"] == "/ASYCUDA/Item[1]/Tarification/Supplementary_unit/Suppplementary_unit_code"
    assert err.location["line"] == line_of(data, "BOGUS")


def test_unknown_origin_country_is_refused_at_its_box() -> None:
    data = sample(IMPORT)
    second = data.index(b"<Country_of_origin_code>CN<", data.index(b"85044030"))
    data = data[:second] + data[second:].replace(b">CN<", b">QQ<", 1)
    err = refused(data)
    assert "country code 'QQ'" in err.message
    assert err.location["xpath"] == "/ASYCUDA/Item[2]/Goods_description/Country_of_origin_code"
    assert err.location["line"] == line_of(data, ">QQ<")


def test_unknown_currency_is_refused_at_its_box() -> None:
    data = edit(sample(IMPORT), "<Currency_code>USD<", "<Currency_code>DOLLAR<")
    err = refused(data)
    assert "currency code 'DOLLAR'" in err.message
    assert err.location["xpath"] == "/ASYCUDA/Valuation/Gs_Invoice/Currency_code"


def test_unknown_incoterm_and_transport_mode_are_refused() -> None:
    err = refused(edit(sample(IMPORT), "<Code>DAP<", "<Code>XYZ<"))
    assert err.location["xpath"] == "/ASYCUDA/Transport/Delivery_terms/Code"
    err = refused(edit(sample(IMPORT), "<Mode>3<", "<Mode>ROAD<"))
    assert err.location["xpath"] == "/ASYCUDA/Transport/Means_of_transport/Border_information/Mode"


def test_missing_registration_number_is_refused_at_its_parent() -> None:
    data = edit(sample(IMPORT), "<Number>1523</Number>", "")
    err = refused(data)
    assert "required element Number is missing from Registration" in err.message
    assert err.location["xpath"] == "/ASYCUDA/Identification/Registration"
    assert err.location["line"] == line_of(data, "<Registration>")


def test_null_registration_number_is_refused_at_its_box() -> None:
    data = edit(sample(IMPORT), "<Number>1523</Number>", "<Number><null/></Number>")
    err = refused(data)
    assert "Registration/Number is empty" in err.message
    assert err.location["xpath"] == "/ASYCUDA/Identification/Registration/Number"


def test_missing_commodity_code_is_refused_in_its_item() -> None:
    data = edit(sample(IMPORT), "<Commodity_code>85044030</Commodity_code>", "")
    err = refused(data)
    assert err.location["xpath"] == "/ASYCUDA/Item[2]/Tarification/HScode"


def test_missing_partner_country_is_refused() -> None:
    data = edit(
        sample(IMPORT),
        "<Export_country_code>CN</Export_country_code>",
        "<Export_country_code><null/></Export_country_code>",
    )
    err = refused(data)
    assert err.location["xpath"] == "/ASYCUDA/General_information/Country/Export/Export_country_code"


def test_a_declaration_without_items_is_refused() -> None:
    data = sample(NULLS)
    data = data[: data.index(b"<Item>")] + b"</ASYCUDA>\n"
    err = refused(data)
    assert "no Item" in err.message
    assert err.location["xpath"] == "/ASYCUDA"


@pytest.mark.parametrize(
    ("old", "new", "xpath", "words"),
    [
        (
            "<Date>2026-03-02</Date>\n    </Registration>",
            "<Date>02/03/2026</Date></Registration>",
            "/ASYCUDA/Identification/Registration/Date",
            "not a date in the form YYYY-MM-DD",
        ),
        (
            "<Gross_weight>1262.5<",
            "<Gross_weight>1 262,5<",
            "/ASYCUDA/Valuation/Weight/Gross_weight",
            "not a decimal number",
        ),
        (
            "<Net_weight_itm>960.0<",
            "<Net_weight_itm>９６０<",
            "/ASYCUDA/Item[1]/Valuation_item/Weight_itm/Net_weight_itm",
            "not a decimal number",
        ),
        (
            "<Number_of_packages>60<",
            "<Number_of_packages>sixty<",
            "/ASYCUDA/Item[1]/Packages/Number_of_packages",
            "not a whole number",
        ),
        (
            "<Commodity_code>85171300<",
            "<Commodity_code>8517<",
            "/ASYCUDA/Item[1]/Tarification/HScode/Commodity_code",
            "not an HS code",
        ),
    ],
)
def test_malformed_values_are_refused_at_their_box(old: str, new: str, xpath: str, words: str) -> None:
    err = refused(edit(sample(IMPORT), old, new))
    assert words in err.message
    assert err.location["xpath"] == xpath


def test_a_file_that_is_not_a_sad_is_refused() -> None:
    err = refused(b'<?xml version="1.0" encoding="UTF-8"?>\n<DecMessage><DecHead/></DecMessage>\n')
    assert "not an ASYCUDA SAD" in err.message
    assert err.location["xpath"] == "/DecMessage"


HOSTILE = {
    "dtd": b"<!DOCTYPE ASYCUDA [<!ELEMENT ASYCUDA ANY>]>\n",
    "external-entity": b'<!DOCTYPE ASYCUDA [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n',
    "entity-bomb": b'<!DOCTYPE ASYCUDA [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>\n',
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_a_dtd_is_refused_at_its_line_before_any_entity_is_read(kind: str) -> None:
    data = sample(IMPORT)
    prolog_end = data.index(b"\n") + 1
    hostile = data[:prolog_end] + HOSTILE[kind] + data[prolog_end:]
    ref = {"dtd": "", "external-entity": "&xxe;", "entity-bomb": "&c;"}[kind]
    hostile = hostile.replace(b"<Exporter_name>", f"<Exporter_name>{ref}".encode(), 1)
    err = refused(hostile)
    assert "document type declarations" in err.message
    assert err.location["line"] == 2
