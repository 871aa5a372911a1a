"""The EAEU adapter: EEC R.036 GoodsDeclaration and FTS ESADout_CU.

What a customs IT team relies on: each sample maps field by field as
documented, namespace versions do not matter, what encode writes is what the
national systems read, and every bad input says where it is bad.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import etree
from tamga.adapters import load_adapter
from tamga.adapters.eaeu import EaeuAdapter
from tamga.adapters.eaeu._common import DESCRIPTION_PIECE
from tamga.adapters.sdk import from_canonical_json, record_id_for, testing
from tamga.errors import AdapterError
from tamga.v1 import common_pb2, records_pb2

SAMPLES = Path(__file__).parents[2] / "adapters" / "eaeu" / "samples"
KZ = SAMPLES / "kz-export-r036-hcfc22-wheat.xml"
RU = SAMPLES / "ru-import-esadout-cu.xml"
KG = SAMPLES / "kg-import-r036-v1.3.xml"
SHARED = Path(__file__).parents[2] / "adapters" / "samples" / "kz-export-declarations.json"


@pytest.fixture(name="adapter")
def _adapter() -> EaeuAdapter:
    adapter = load_adapter("eaeu")
    assert isinstance(adapter, EaeuAdapter)
    return adapter


def _decode(adapter: EaeuAdapter, path: Path) -> list[records_pb2.Record]:
    return adapter.decode(path.read_bytes(), source=path.name)


def _error(adapter: EaeuAdapter, data: bytes) -> AdapterError:
    with pytest.raises(AdapterError) as info:
        adapter.decode(data, source="t.xml")
    assert info.value.adapter == "eaeu"
    return info.value


def _line_of(data: bytes, needle: bytes) -> int:
    return data[: data.index(needle)].count(b"\n") + 1


# -- mapping of the samples ------------------------------------------------------


def test_kz_r036_export_maps_header_parties_and_meta(adapter: EaeuAdapter) -> None:
    records = _decode(adapter, KZ)
    assert [r.WhichOneof("body") for r in records] == ["declaration_snapshot", "ods_shipment"]
    rec = records[0]
    meta, decl = rec.meta, rec.declaration_snapshot
    assert decl.declaration_no == "55301/020326/0004211"
    assert decl.lrn == "3f6c2a9e-5b1d-4e0a-9c71-2d8e4b6a0211"
    assert decl.acceptance_date == "2026-03-02"
    assert decl.direction == records_pb2.DIRECTION_EXPORT
    assert decl.procedure_code == "10"
    assert (decl.dispatch_country, decl.destination_country) == ("KZ", "UZ")
    assert (decl.customs_office.customs_office_code, decl.customs_office.country) == ("55301", "KZ")
    assert (decl.invoice_amount.amount, decl.invoice_amount.currency) == ("9140.00", "USD")
    assert decl.exchange_rate == "518.2500"
    assert decl.total_packages.count == 120
    assert (decl.exporter.name, decl.exporter.id, decl.exporter.id_scheme, decl.exporter.country) == (
        "ТОО «АстанаХимТрейд»",
        "190440012345",
        "BIN",
        "KZ",
    )
    assert (decl.consignee.name, decl.consignee.id, decl.consignee.country) == (
        "«Namuna Sovutish» MChJ",
        "305123456",
        "UZ",
    )
    assert decl.declarant.id == "190440012345" and decl.declarant.role == "DECLARANT"
    assert decl.exporter.address == ""  # addresses are not mapped (see unmapped_fields)

    assert meta.source_format == "EEC:R.036"
    assert meta.source_record_ref == "55301/020326/0004211"
    assert meta.record_id == record_id_for("EEC:R.036", "55301/020326/0004211", "declaration_snapshot")
    assert meta.sender_country == "KZ" and list(meta.receiver_countries) == ["UZ"]
    assert meta.sender_authority == "State Revenue Committee of the Republic of Kazakhstan"
    assert meta.created_at.ToDatetime(tzinfo=UTC) == datetime(2026, 3, 2, 9, 40, tzinfo=UTC)
    assert meta.message_function == common_pb2.MESSAGE_FUNCTION_ORIGINAL
    assert meta.handling == common_pb2.HANDLING_RESTRICTED


def test_kz_r036_items_map_codes_units_values_and_documents(adapter: EaeuAdapter) -> None:
    decl = _decode(adapter, KZ)[0].declaration_snapshot
    hcfc, wheat = decl.items
    assert hcfc.seq == 1
    assert (hcfc.commodity.national_code, hcfc.commodity.hs6, hcfc.commodity.origin_country) == (
        "2903710000",
        "290371",
        "CN",
    )
    assert hcfc.commodity.description.startswith("ХЛОРДИФТОРМЕТАН (ГХФУ-22, R-22)")
    assert (hcfc.gross_mass.value, hcfc.gross_mass.unit) == ("1180", "KGM")  # list 2016 code 166
    assert (hcfc.net_mass.value, hcfc.net_mass.unit) == ("1000", "KGM")
    assert (hcfc.customs_value.amount, hcfc.customs_value.currency) == ("2332125.00", "KZT")
    assert (hcfc.statistical_value.amount, hcfc.statistical_value.currency) == ("4500.00", "USD")
    assert hcfc.procedure_code == ""  # the same as the declaration's
    licence, invoice = hcfc.documents
    assert (licence.type, licence.number, licence.date, licence.valid_until) == (
        "LICENCE",
        "KZ-ODS-2026/0117",
        "2026-01-20",
        "2026-12-31",
    )
    assert (invoice.type, invoice.number) == ("INVOICE", "АХТ-2026-031")
    assert (wheat.seq, wheat.commodity.hs6, wheat.commodity.national_code) == (2, "100199", "1001990000")
    assert (wheat.net_mass.value, wheat.commodity.origin_country) == ("20000", "KZ")
    assert [d.type for d in wheat.documents] == ["CONTRACT", "INVOICE"]


def test_kz_hcfc22_item_yields_an_ods_shipment(adapter: EaeuAdapter) -> None:
    ods = _decode(adapter, KZ)[1].ods_shipment
    assert ods.shipment_ref == "55301/020326/0004211/1"
    assert ods.substance.startswith("HCFC-22") and ods.annex_group == "C/I"
    assert (ods.quantity.value, ods.quantity.unit, ods.odp_tonnes) == ("1000", "KGM", "0.055")
    assert ods.direction == records_pb2.DIRECTION_EXPORT
    assert ods.linked_declaration.number == "55301/020326/0004211"


def test_ru_esadout_import_maps_gtd_number_contract_terms_and_goods(adapter: EaeuAdapter) -> None:
    records = _decode(adapter, RU)
    assert len(records) == 1  # no ODS item
    meta, decl = records[0].meta, records[0].declaration_snapshot
    assert meta.source_format == "FTS:ESADout_CU"
    assert decl.declaration_no == meta.source_record_ref == "10702070/160326/3012345"
    assert decl.lrn == "8A1E4C27-93B5-4F0D-B6E2-71C05D3A9F48"
    assert decl.acceptance_date == "2026-03-16"
    assert decl.direction == records_pb2.DIRECTION_IMPORT and decl.procedure_code == "40"
    assert meta.sender_country == "RU" and list(meta.receiver_countries) == ["CN"]
    assert meta.sender_authority == "Federal Customs Service of Russia"
    assert (decl.dispatch_country, decl.destination_country, decl.trading_country) == ("CN", "RU", "CN")
    assert (decl.invoice_amount.amount, decl.invoice_amount.currency) == ("412800.00", "CNY")
    assert (decl.exchange_rate, decl.incoterm, decl.total_packages.count) == ("11.8520", "FOB", 48)
    assert decl.exporter.name.startswith("宁波海瑞制冷设备有限公司") and decl.exporter.id == ""
    assert decl.exporter.country == "CN"
    assert (decl.consignee.name, decl.consignee.id, decl.consignee.id_scheme) == (
        "ООО «Приморхолод»",
        "2540123456",
        "INN",
    )
    assert [i.seq for i in decl.items] == [1, 2, 3]
    first = decl.items[0]
    assert (first.commodity.national_code, first.commodity.hs6) == ("8414308100", "841430")
    assert (first.gross_mass.value, first.gross_mass.unit) == ("2160.500", "KGM")
    assert (first.invoice_amount.amount, first.invoice_amount.currency) == ("216000.00", "CNY")
    assert (first.customs_value.amount, first.customs_value.currency) == ("2560032.00", "RUB")
    assert (first.statistical_value.amount, first.statistical_value.currency) == ("29508.20", "USD")
    assert (first.supplementary_quantity.value, first.supplementary_quantity.unit) == ("120", "H87")
    assert [(d.type, d.number, d.date) for d in first.documents] == [
        ("INVOICE", "HR-2026-0211", "2026-02-11"),
        ("CONTRACT", "HR-RU-2025/07", "2025-11-03"),
    ]


def test_kg_r036_without_registration_number_uses_edocid(adapter: EaeuAdapter) -> None:
    rec = _decode(adapter, KG)[0]
    decl = rec.declaration_snapshot
    assert decl.declaration_no == decl.lrn == rec.meta.source_record_ref == "c41d7e02-6a3b-4f88-a9d5-0e2b7c915a44"
    assert decl.acceptance_date == "2026-04-06"  # date of EDocDateTime
    assert not decl.HasField("customs_office")
    assert decl.direction == records_pb2.DIRECTION_IMPORT
    assert rec.meta.sender_country == "KG" and list(rec.meta.receiver_countries) == ["CN"]
    assert (decl.consignee.id, decl.consignee.id_scheme) == ("02403201910123", "INN")
    assert decl.exporter.id == "" and decl.exporter.id_scheme == ""
    assert [i.customs_value.currency for i in decl.items] == ["KGS", "KGS"]


def test_namespace_versions_do_not_change_the_records(adapter: EaeuAdapter) -> None:
    data = KZ.read_bytes()
    newer = (
        data.replace(b"GoodsDeclaration:v1.1.0", b"GoodsDeclaration:v1.3.0")
        .replace(b"v0.4.10", b"v0.4.11")
        .replace(b"v1.5.1", b"v1.8.0")
    )
    assert newer != data
    assert adapter.decode(newer) == adapter.decode(data)
    ru = RU.read_bytes()
    assert adapter.decode(ru.replace(b":5.24.0", b":5.21.0")) == adapter.decode(ru)


def test_esadout_reads_the_same_bare_or_in_its_container(adapter: EaeuAdapter) -> None:
    root = etree.fromstring(RU.read_bytes())
    doc = next(el for el in root.iter() if etree.QName(el).localname == "ESADout_CU")
    bare = etree.tostring(doc, xml_declaration=True, encoding="UTF-8")
    assert adapter.decode(bare) == adapter.decode(RU.read_bytes())
    assert adapter.fields(bare) == adapter.fields(RU.read_bytes())
    assert all(p.startswith("ESADout_CU/") for p, _ in adapter.fields(RU.read_bytes()))


@pytest.mark.parametrize("path", [KZ, RU, KG], ids=lambda p: p.name)
def test_samples_round_trip(adapter: EaeuAdapter, path: Path) -> None:
    testing.check_round_trip(adapter, path)


# -- what encode writes -------------------------------------------------------------


def _local(el: etree._Element, *path: str) -> list[etree._Element]:
    found = [el]
    for name in path:
        found = [c for f in found for c in f if isinstance(c.tag, str) and etree.QName(c).localname == name]
    return found


def test_r036_encode_writes_what_the_eec_schema_expects(adapter: EaeuAdapter) -> None:
    out = adapter.encode(_decode(adapter, KZ))
    root = etree.fromstring(out)
    assert root.tag == "{urn:EEC:R:036:GoodsDeclaration:v1.1.0}GoodsDeclaration"
    assert root.prefix == "gd"
    assert root.nsmap["csdo"] == "urn:EEC:M:SimpleDataObjects:v0.4.10"
    assert root.nsmap["cacdo"] == "urn:EEC:M:CA:ComplexDataObjects:v1.5.1"
    assert [e.text for e in _local(root, "EDocCode")] == ["R.036"]
    assert [e.text for e in _local(root, "EDocDateTime")] == ["2026-03-02T09:40:00"]
    ids = _local(root, "CustomsDocumentIdDetails")[0]
    assert [c.text for c in ids] == ["55301", "2026-03-02", "0004211"]
    assert _local(root, "DeclarationKindCode")[0].text == "ЭК"
    assert _local(root, "GoodsQuantity")[0].text == "2"
    items = _local(root, "DeclarationGoodsShipmentDetails", "DeclarationGoodsItemDetails")
    assert [i[1].text for i in items] == ["2903710000", "1001990000"]
    gross = _local(items[0], "UnifiedGrossMassMeasure")[0]
    assert (gross.text, gross.get("measurementUnitCode"), gross.get("measurementUnitCodeListId")) == (
        "1180",
        "166",
        "2016",
    )
    value = _local(items[0], "CAValueAmount")[0]
    assert (value.text, value.get("currencyCode")) == ("2332125.00", "KZT")
    kinds = [e.text for e in _local(items[0], "PresentedDocDetails", "DocKindCode")]
    assert kinds == ["01011", "04021"]


def test_esadout_encode_writes_the_fts_container_and_spelling(adapter: EaeuAdapter) -> None:
    out = adapter.encode(_decode(adapter, RU))
    root = etree.fromstring(out)
    assert etree.QName(root).localname == "ED_Container"
    doc = _local(root, "ContainerDoc", "DocBody", "ESADout_CU")[0]
    assert doc.tag == "{urn:customs.ru:Information:CustomsDocuments:ESADout_CU:5.24.0}ESADout_CU"
    assert doc.get("DocumentModeID") == "1006107E"
    assert [c.text for c in _local(doc, "GTDID")[0]] == ["10702070", "2026-03-16", "3012345"]
    assert _local(doc, "CustomsProcedure")[0].text == "ИМ"
    shipment = _local(doc, "ESADout_CUGoodsShipment")[0]
    assert _local(shipment, "ESADout_CUConsigment", "DestinationCountryCode")[0].text == "RU"
    assert _local(shipment, "ESADout_CUConsignee", "RFOrganizationFeatures", "INN")[0].text == "2540123456"
    goods = _local(shipment, "ESADout_CUGoods")
    assert [g[0].text for g in goods] == ["1", "2", "3"]
    assert [e.text for e in _local(goods[0], "GoodsTNVEDCode")] == ["8414308100"]
    assert _local(goods[0], "SupplementaryGoodsQuantity", "MeasureUnitQualifierCode")[0].text == "796"


def test_encode_accepts_the_derived_ods_records_and_refuses_others(adapter: EaeuAdapter) -> None:
    records = _decode(adapter, KZ)
    assert adapter.encode(records) == adapter.encode(records[:1])
    lone = records_pb2.Record()
    lone.CopyFrom(records[1])
    lone.ods_shipment.substance = "HCFC-141b"  # not what the declaration derives
    with pytest.raises(AdapterError, match="cannot carry a ods_shipment") as info:
        adapter.encode([records[0], lone])
    assert info.value.location == {"record": "records[1]"}


def test_one_declaration_per_document(adapter: EaeuAdapter) -> None:
    kz, ru = _decode(adapter, KZ)[0], _decode(adapter, RU)[0]
    with pytest.raises(AdapterError, match="one declaration; 2 were given"):
        adapter.encode([kz, ru])


def test_another_countrys_declaration_is_written_as_r036(adapter: EaeuAdapter) -> None:
    decls = [r for r in from_canonical_json(SHARED.read_bytes()) if r.HasField("declaration_snapshot")]
    assert decls
    for rec in decls:
        rec.meta.source_format = "CUSDEC:D96B"
        rec.declaration_snapshot.items[0].gross_mass.unit = "C62"  # no list 2016 code: left out
        back = adapter.decode(adapter.encode([rec]))[0]
        assert back.meta.source_format == "EEC:R.036"
        decl, orig = back.declaration_snapshot, rec.declaration_snapshot
        assert decl.declaration_no == orig.declaration_no
        assert decl.exporter.name == orig.exporter.name
        assert not decl.items[0].HasField("gross_mass")
        # A KZ record's national code is TN VED: it is kept.
        assert [i.commodity.national_code for i in decl.items] == [i.commodity.national_code for i in orig.items]
        # Another country's national extension is not TN VED: only the HS subheading is written.
        rec.meta.sender_country = "PK"
        back = adapter.decode(adapter.encode([rec]))[0].declaration_snapshot
        assert [i.commodity.hs6 for i in back.items] == [i.commodity.hs6 for i in orig.items]
        assert [i.commodity.national_code for i in back.items] == [""] * len(orig.items)


ITEM_ELEMENTS = ("DeclarationGoodsItemDetails", "ESADout_CUGoods")


def test_descriptions_longer_than_one_element_are_cut_and_joined(adapter: EaeuAdapter) -> None:
    for path in (KZ, RU):
        rec = _decode(adapter, path)[0]
        long = "ГХФУ-22 " * 70 + "一氯二氟甲烷 भारतीय گمرک"
        rec.declaration_snapshot.items[0].commodity.description = long
        rec.declaration_snapshot.consignee.name = "گمرک جمهوری اسلامی ایران"
        out = adapter.encode([rec])
        first = next(e for e in etree.fromstring(out).iter() if etree.QName(e).localname in ITEM_ELEMENTS)
        pieces = [e.text for e in first if etree.QName(e).localname.startswith("GoodsDescription")]
        assert len(pieces) == 3 and all(len(p) <= DESCRIPTION_PIECE for p in pieces)
        back = adapter.decode(out)[0].declaration_snapshot
        assert back.items[0].commodity.description == long
        assert back.consignee.name == "گمرک جمهوری اسلامی ایران"


def test_text_xml_cannot_hold_is_a_located_encode_error(adapter: EaeuAdapter) -> None:
    rec = _decode(adapter, KZ)[0]
    rec.declaration_snapshot.items[1].commodity.description = "wheat\x00"
    with pytest.raises(AdapterError) as info:
        adapter.encode([rec])
    assert info.value.location == {"record": "records[0]", "field": "GoodsDescriptionText"}


# -- errors that say where -----------------------------------------------------------


def test_truncated_file(adapter: EaeuAdapter) -> None:
    data = KZ.read_bytes()
    cut = data[: data.index(b"<csdo:CommodityCode>1001990000")]
    err = _error(adapter, cut)
    assert "not well-formed XML" in err.message
    assert err.location["line"] >= _line_of(data, b"<csdo:CommodityCode>1001990000") - 1


def test_windows_1251_bytes_in_a_utf8_file(adapter: EaeuAdapter) -> None:
    data = KZ.read_bytes()
    bad = data.decode("utf-8").encode("cp1251")
    err = _error(adapter, bad)
    assert "not valid utf-8" in err.message and "cp1251" in err.message
    assert err.location["line"] == _line_of(data, "ЭК".encode())


def test_unknown_unit_code_names_the_code_and_list_2016(adapter: EaeuAdapter) -> None:
    data = KZ.read_bytes()
    marker = b'measurementUnitCode="166" measurementUnitCodeListId="2016">20000'
    bad = data.replace(marker, marker.replace(b"166", b"999"))
    err = _error(adapter, bad)
    assert "'999'" in err.message and "list 2016" in err.message
    assert err.location["xpath"] == (
        "/GoodsDeclaration/DeclarationGoodsShipmentDetails/DeclarationGoodsItemDetails[2]/UnifiedNetMassMeasure"
    )
    assert err.location["line"] == _line_of(data, marker)


def test_unknown_esadout_supplementary_unit(adapter: EaeuAdapter) -> None:
    data = RU.read_bytes()
    bad = data.replace(b">796<", b">999<")
    err = _error(adapter, bad)
    assert "'999'" in err.message and "list 2016" in err.message
    assert err.location["xpath"].endswith("ESADout_CUGoods[1]/SupplementaryGoodsQuantity/MeasureUnitQualifierCode")


def test_unknown_country_code(adapter: EaeuAdapter) -> None:
    data = KZ.read_bytes()
    bad = data.replace(b'"2021">UZ</casdo:CACountryCode>', b'"2021">XX</casdo:CACountryCode>')
    err = _error(adapter, bad)
    assert "'XX'" in err.message and "list 2021" in err.message
    assert err.location["xpath"] == (
        "/GoodsDeclaration/DeclarationGoodsShipmentDetails/DestinationCountryDetails/CACountryCode"
    )


def test_unknown_currency_code(adapter: EaeuAdapter) -> None:
    data = KG.read_bytes()
    bad = data.replace(b'currencyCode="KGS"', b'currencyCode="SOM"', 1)
    err = _error(adapter, bad)
    assert "'SOM'" in err.message and "ISO 4217" in err.message
    assert err.location["xpath"].endswith("DeclarationGoodsItemDetails[1]/CAValueAmount")


def test_missing_commodity_code(adapter: EaeuAdapter) -> None:
    data = KZ.read_bytes()
    bad = data.replace(b"<csdo:CommodityCode>1001990000</csdo:CommodityCode>", b"")
    err = _error(adapter, bad)
    assert "CommodityCode is missing" in err.message
    assert err.location["xpath"] == (
        "/GoodsDeclaration/DeclarationGoodsShipmentDetails/DeclarationGoodsItemDetails[2]/CommodityCode"
    )


def test_missing_esadout_destination_country(adapter: EaeuAdapter) -> None:
    data = RU.read_bytes()
    bad = data.replace(b"<catESAD_cu:DestinationCountryCode>RU</catESAD_cu:DestinationCountryCode>", b"")
    err = _error(adapter, bad)
    assert "DestinationCountryCode is missing" in err.message
    assert err.location["xpath"] == (
        "/ED_Container/ContainerDoc/DocBody/ESADout_CU/ESADout_CUGoodsShipment/ESADout_CUConsigment"
        "/DestinationCountryCode"
    )


def test_invoiced_cost_without_contract_currency(adapter: EaeuAdapter) -> None:
    data = RU.read_bytes()
    bad = data.replace(b"<catESAD_cu:ContractCurrencyCode>CNY</catESAD_cu:ContractCurrencyCode>", b"")
    err = _error(adapter, bad)
    assert "ContractCurrencyCode" in err.message
    assert err.location["xpath"].endswith("ESADout_CUMainContractTerms/TotalInvoiceAmount")


@pytest.mark.parametrize(
    ("old", "new", "words", "xpath_end"),
    [
        (">ЭК<", ">ЭКС<", "not ИМ, ЭК or ТТ", "/DeclarationKindCode"),
        (">1180<", ">1 180<", "not a decimal number", "DeclarationGoodsItemDetails[1]/UnifiedGrossMassMeasure"),
        (">2026-01-20<", ">20.01.2026<", "not a date", "PresentedDocDetails[1]/DocCreationDate"),
        (">2903710000<", ">29037A0000<", "not a TN VED code", "DeclarationGoodsItemDetails[1]/CommodityCode"),
        (">2026-03-02T09:40:00<", ">2 March<", "not a date-time", "/EDocDateTime"),
        (
            "<casdo:ConsignmentItemOrdinal>2<",
            "<casdo:ConsignmentItemOrdinal>²<",
            "whole number",
            "[2]/ConsignmentItemOrdinal",
        ),
    ],
)
def test_bad_values_are_located(adapter: EaeuAdapter, old: str, new: str, words: str, xpath_end: str) -> None:
    data = KZ.read_bytes()
    assert old.encode() in data
    err = _error(adapter, data.replace(old.encode(), new.encode(), 1))
    assert words in err.message
    assert err.location["xpath"].endswith(xpath_end)
    assert err.location["line"] == _line_of(data, old.encode())


def test_an_unknown_document_is_refused_at_its_root(adapter: EaeuAdapter) -> None:
    err = _error(
        adapter, b'<?xml version="1.0"?>\n<TransitDeclaration xmlns="urn:EEC:R:048:TransitDeclaration:v1.0.0"/>'
    )
    assert "'TransitDeclaration'" in err.message
    assert err.location == {"file": "t.xml", "line": 2, "xpath": "/TransitDeclaration"}
    err = _error(adapter, b"<ED_Container><ContainerDoc><DocBody/></ContainerDoc></ED_Container>")
    assert "holds no GoodsDeclaration" in err.message and err.location["xpath"] == "/ED_Container"


XML_ATTACKS = {
    "dtd": b"<!DOCTYPE gd [<!ELEMENT gd ANY>]>\n",
    "external-entity": b'<!DOCTYPE gd [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n',
    "entity-bomb": b'<!DOCTYPE gd [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>\n',
}


@pytest.mark.parametrize("kind", sorted(XML_ATTACKS))
def test_dtds_and_entities_are_refused(adapter: EaeuAdapter, kind: str) -> None:
    data = KZ.read_bytes()
    head, rest = data.split(b"\n", 1)
    hostile = head + b"\n" + XML_ATTACKS[kind] + rest
    if kind != "dtd":
        ref = b"&xxe;" if kind == "external-entity" else b"&c;"
        hostile = hostile.replace(b"</csdo:EDocId>", ref + b"</csdo:EDocId>")
    err = _error(adapter, hostile)
    assert "document type declarations" in err.message
    assert err.location["line"] == 2


def test_damaged_samples_raise_only_adapter_errors(adapter: EaeuAdapter) -> None:
    testing.check_random_bytes(adapter, [KZ, RU, KG], examples=300)
