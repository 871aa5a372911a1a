"""The china adapter: what a customs IT team relies on when it plugs in GACC DecMessage files.

The generic checks (round trips, four scripts, arbitrary bytes) are in
``test_all_adapters.py``; here are the exact mappings of the samples, the
DecMessage that encode writes, and an error with the right XPath for each
kind of bad input.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import etree
from tamga.adapters import load_adapter
from tamga.adapters.china import ChinaAdapter
from tamga.adapters.sdk import from_canonical_json
from tamga.adapters.sdk.codes import GACC_UNITS
from tamga.errors import AdapterError
from tamga.v1 import common_pb2, records_pb2

SAMPLES = Path(ChinaAdapter.samples or "")
EXPORT = SAMPLES / "cn-export-hcfc22-kz.xml"
IMPORT = SAMPLES / "cn-import-pk-cotton.xml"
CONTAINERS = SAMPLES / "cn-import-ru-timber-containers.xml"
NS = {"d": "http://www.chinaport.gov.cn/dec"}


@pytest.fixture(name="adapter")
def _adapter() -> ChinaAdapter:
    adapter = load_adapter("china")
    assert isinstance(adapter, ChinaAdapter)
    return adapter


def _decl(adapter: ChinaAdapter, path: Path) -> records_pb2.Record:
    records = adapter.decode(path.read_bytes(), source=path.name)
    assert records[0].HasField("declaration_snapshot")
    return records[0]


def _changed(path: Path, old: str, new: str) -> bytes:
    text = path.read_text("utf-8")
    assert old in text, f"{old!r} is not in {path.name}"
    return text.replace(old, new, 1).encode("utf-8")


def _error(adapter: ChinaAdapter, data: bytes) -> AdapterError:
    with pytest.raises(AdapterError) as info:
        adapter.decode(data, source="test.xml")
    assert info.value.adapter == "china"
    return info.value


# -- what the samples map to ------------------------------------------------------


def test_export_of_hcfc22_to_kazakhstan_maps_every_field(adapter: ChinaAdapter) -> None:
    records = adapter.decode(EXPORT.read_bytes(), source=EXPORT.name)
    assert [r.WhichOneof("body") for r in records] == ["declaration_snapshot", "ods_shipment"]
    rec = records[0]
    meta, decl = rec.meta, rec.declaration_snapshot

    assert meta.source_format == "GACC:DecMessage"
    assert meta.source_record_ref == "940020261000004521"
    assert meta.sender_country == "CN"
    assert list(meta.receiver_countries) == ["KZ"]
    assert meta.sender_authority == "General Administration of Customs of the People's Republic of China"
    # SignDate 2026-03-12 10:15:00 China Standard Time.
    assert meta.created_at.ToDatetime(tzinfo=UTC) == datetime(2026, 3, 12, 2, 15, tzinfo=UTC)
    assert meta.handling == common_pb2.HANDLING_RESTRICTED
    assert meta.message_function == common_pb2.MESSAGE_FUNCTION_ORIGINAL

    assert decl.declaration_no == "940020261000004521"
    assert decl.lrn == "940020260812345601"
    assert decl.direction == records_pb2.DIRECTION_EXPORT
    assert decl.procedure_code == "0110"
    assert decl.acceptance_date == "2026-03-12"
    assert (decl.dispatch_country, decl.destination_country, decl.trading_country) == ("CN", "KZ", "KZ")
    assert decl.customs_office.customs_office_code == "9400"
    assert decl.transport_mode == "2"  # GACC 3 railway -> Rec 19 2 rail
    assert decl.transport_means_id == "X9013"
    assert decl.transport_doc_no == "SMGS26031200451"
    assert decl.incoterm == "FOB"
    assert (decl.total_gross_mass.value, decl.total_gross_mass.unit) == ("1180", "KGM")
    assert (decl.total_packages.count, decl.total_packages.kind) == (100, "CY")

    assert decl.exporter.name == "华东示例氟化工有限公司"
    assert (decl.exporter.id, decl.exporter.id_scheme, decl.exporter.country) == ("91330800MA28K3L71W", "USCC", "CN")
    assert decl.consignee.name == "KHLADAGENT PRIMER LLP"
    assert decl.consignee.id == ""  # OverseasConsigneeCode "NO": no AEO number
    assert decl.declarant.name == "乌鲁木齐示例报关有限公司"
    assert decl.declarant.id == "91650100MA77Q4RT2B"

    (item,) = decl.items
    assert item.seq == 1
    assert item.commodity.hs6 == "290371"
    assert item.commodity.national_code == "2903710000"
    assert item.commodity.description == "一氯二氟甲烷"
    assert item.commodity.origin_country == "CN"
    assert (item.supplementary_quantity.value, item.supplementary_quantity.unit) == ("1000", "KGM")
    assert (item.net_mass.value, item.net_mass.unit) == ("1000", "KGM")
    assert (item.invoice_amount.amount, item.invoice_amount.currency) == ("4500.00", "USD")
    assert [(d.type, d.number, d.issuer_country) for d in item.documents] == [("EXPORT_LICENCE", "26-AA-0412873", "CN")]

    ods = records[1].ods_shipment
    assert ods.substance.startswith("HCFC-22")
    assert (ods.quantity.value, ods.odp_tonnes) == ("1000", "0.055")
    assert ods.linked_declaration.number == "940020261000004521"


def test_import_from_pakistan_puts_the_foreign_consignor_as_exporter(adapter: ChinaAdapter) -> None:
    rec = _decl(adapter, IMPORT)
    meta, decl = rec.meta, rec.declaration_snapshot
    assert decl.direction == records_pb2.DIRECTION_IMPORT
    assert (meta.sender_country, list(meta.receiver_countries)) == ("CN", ["PK"])
    assert (decl.dispatch_country, decl.destination_country) == ("PK", "CN")
    # No SignDate: created_at is the acceptance date at midnight UTC.
    assert meta.created_at.ToDatetime(tzinfo=UTC) == datetime(2026, 4, 7, tzinfo=UTC)
    assert decl.exporter.name == "LAHORE TEXTILE MILLS (PVT) LTD"
    assert decl.exporter.address == "42-B Industrial Estate, Kot Lakhpat, Lahore"
    assert decl.consignee.name == "新疆示例纺织品进出口有限公司"
    # No unified social credit code: the 10-character customs code is the id.
    assert (decl.consignee.id, decl.consignee.id_scheme) == ("6531960077", "GACC")
    assert decl.transport_mode == "3"  # road
    assert decl.incoterm == "CFR"  # GACC 2 "C&F"
    assert (decl.total_gross_mass.value, decl.total_packages.kind) == ("24350.5", "BG")

    yarn, fabric = decl.items
    assert (yarn.commodity.hs6, yarn.commodity.origin_country) == ("520512", "PK")
    assert (yarn.net_mass.value, yarn.invoice_amount.amount) == ("18000", "51300.00")
    # Fabric is declared in metres (030): a supplementary quantity; its statutory
    # quantities are metres then kilograms, so no net mass is claimed.
    assert (fabric.supplementary_quantity.value, fabric.supplementary_quantity.unit) == ("36000", "MTR")
    assert not fabric.HasField("net_mass")
    assert (fabric.invoice_amount.amount, fabric.invoice_amount.currency) == ("33120.00", "USD")
    assert not any(item.documents for item in decl.items)


def test_containers_and_licences_of_an_import_from_russia(adapter: ChinaAdapter) -> None:
    decl = _decl(adapter, CONTAINERS).declaration_snapshot
    assert list(decl.container_ids) == ["CBHU8045127", "TGHU6123078", "FESU2208717"]
    # CustomMaster (where lodged), not IEPort 0601.
    assert decl.customs_office.customs_office_code == "0600"
    assert decl.incoterm == "EXW"
    assert (decl.total_packages.count, decl.total_packages.kind) == (3, "ZZ")
    # The English name is kept, the Chinese one (OverseasConsignorCname) is not.
    assert decl.exporter.name == "SIBIRSKY PRIMER LES LLC"
    assert decl.exporter.address == "ул. Ленина, 12, Иркутск, 664003"
    timber, oil = decl.items
    assert (timber.supplementary_quantity.value, timber.supplementary_quantity.unit) == ("85.320", "MTQ")
    assert (oil.net_mass.value, oil.net_mass.unit) == ("18000", "KGM")
    for item in (timber, oil):
        assert [(d.type, d.number) for d in item.documents] == [
            ("AUTOMATIC_IMPORT_LICENCE", "26-AE-2304418"),
            ("GACC:A", "060100226000318870001"),
        ]


def test_unit_035_is_the_kilogram(adapter: ChinaAdapter) -> None:
    assert GACC_UNITS.to_standard("035") == "KGM"
    data = _changed(IMPORT, "<GUnit>030</GUnit>", "<GUnit>035</GUnit>")
    fabric = adapter.decode(data)[0].declaration_snapshot.items[1]
    assert fabric.supplementary_quantity.unit == "KGM"


def test_legacy_numeric_currency_is_read_through_the_gacc_table(adapter: ChinaAdapter) -> None:
    data = _changed(IMPORT, "<TradeCurr>USD</TradeCurr>", "<TradeCurr>502</TradeCurr>")
    assert adapter.decode(data)[0].declaration_snapshot.items[0].invoice_amount.currency == "USD"


def test_gacc_codes_without_a_standard_equivalent_leave_the_field_empty(adapter: ChinaAdapter) -> None:
    data = _changed(EXPORT, "<TransMode>3</TransMode>", "<TransMode>4</TransMode>")  # C&I
    data = data.replace(b"<TrafMode>3</TrafMode>", b"<TrafMode>Y</TrafMode>")  # bonded port zone
    decl = adapter.decode(data)[0].declaration_snapshot
    assert decl.incoterm == ""
    assert decl.transport_mode == ""


# -- what encode writes -------------------------------------------------------------


def test_encode_writes_a_decmessage_the_single_window_reads(adapter: ChinaAdapter) -> None:
    records = adapter.decode(EXPORT.read_bytes())
    out = adapter.encode(records)  # the derived ODS shipment is accepted and skipped
    assert out.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    root = etree.fromstring(out)
    assert root.tag == "{http://www.chinaport.gov.cn/dec}DecMessage"
    assert root.get("version") == "3.1"

    def one(path: str) -> str:
        found = root.xpath(path, namespaces=NS)
        assert len(found) == 1, path
        return str(found[0].text)

    assert one("d:DecHead/d:EntryId") == "940020261000004521"
    assert one("d:DecHead/d:IEFlag") == "E"
    assert one("d:DecHead/d:IEDate") == "20260312"
    assert one("d:DecHead/d:CustomMaster") == "9400"
    assert one("d:DecHead/d:TradeCountry") == "KAZ"
    assert one("d:DecHead/d:TradeCodeScc") == "91330800MA28K3L71W"
    assert one("d:DecHead/d:OverseasConsigneeCode") == "NO"
    assert one("d:DecHead/d:TrafMode") == "3"
    assert one("d:DecHead/d:TransMode") == "3"
    assert one("d:DecHead/d:WrapType") == "04"
    assert one("d:DecLists/d:DecList/d:CodeTS") == "2903710000"
    assert one("d:DecLists/d:DecList/d:GName") == "一氯二氟甲烷"
    assert one("d:DecLists/d:DecList/d:GUnit") == "035"
    assert one("d:DecLists/d:DecList/d:FirstUnit") == "035"
    assert one("d:DecLists/d:DecList/d:DeclPrice") == "4.5000"
    assert one("d:DecLists/d:DecList/d:DeclTotal") == "4500.00"
    assert one("d:DecLists/d:DecList/d:OriginCountry") == "CHN"
    assert one("d:DecLists/d:DecList/d:DestinationCountry") == "KAZ"
    assert one("d:DecLicenseDocus/d:LicenseDocu/d:DocuCode") == "4"
    assert one("d:DecSign/d:SignDate") == "20260312101500"


def test_encode_writes_licences_once_and_chinese_consignor_names_in_cname(adapter: ChinaAdapter) -> None:
    rec = _decl(adapter, CONTAINERS)
    rec.declaration_snapshot.exporter.name = "西伯利亚示例森林有限责任公司"
    root = etree.fromstring(adapter.encode([rec]))
    assert root.xpath("d:DecLicenseDocus/d:LicenseDocu/d:DocuCode/text()", namespaces=NS) == ["7", "A"]
    assert root.xpath("d:DecHead/d:OverseasConsignorCname/text()", namespaces=NS) == ["西伯利亚示例森林有限责任公司"]
    assert root.xpath("d:DecHead/d:OverseasConsignorEname", namespaces=NS) == []
    assert len(root.xpath("d:DecContainers/d:Container/d:ContainerId", namespaces=NS)) == 3


def test_encode_writes_what_a_kazakh_declaration_holds(adapter: ChinaAdapter) -> None:
    path = Path(__file__).parents[2] / "adapters" / "samples" / "kz-export-declarations.json"
    records = [r for r in from_canonical_json(path.read_bytes()) if r.HasField("declaration_snapshot")]
    root = etree.fromstring(adapter.encode(records[:1]))
    head = "d:DecHead/d:"
    assert root.xpath(f"{head}IEFlag/text()", namespaces=NS) == ["E"]
    assert root.xpath(f"{head}EntryId/text()", namespaces=NS) == ["10702020/010326/0001234"]
    assert root.xpath(f"{head}TradeCountry/text()", namespaces=NS) == ["CHN"]
    assert root.xpath(f"{head}TransMode/text()", namespaces=NS) == ["3"]  # FCA is declared as FOB
    # A Kazakh BIN is no Chinese code: the exporter goes in by name only.
    assert root.xpath(f"{head}TradeName/text()", namespaces=NS) == ["Altyn Dala Grain LLP"]
    assert root.xpath(f"{head}TradeCode", namespaces=NS) == []
    assert root.xpath(f"{head}TradeCodeScc", namespaces=NS) == []
    assert root.xpath("d:DecLists/d:DecList/d:FirstQty/text()", namespaces=NS) == ["600000"]
    assert root.xpath("d:DecLists/d:DecList/d:OriginCountry/text()", namespaces=NS) == ["KAZ"]


def test_a_transit_declaration_is_written_without_an_import_export_flag(adapter: ChinaAdapter) -> None:
    rec = _decl(adapter, IMPORT)
    rec.declaration_snapshot.direction = records_pb2.DIRECTION_TRANSIT
    out = adapter.encode([rec])
    assert etree.fromstring(out).xpath("d:DecHead/d:IEFlag", namespaces=NS) == []
    err = _error(adapter, out)
    assert err.location["xpath"] == "/DecMessage/DecHead/IEFlag"


def test_encode_refuses_two_declarations_and_a_lone_ods_shipment(adapter: ChinaAdapter) -> None:
    export, ods = adapter.decode(EXPORT.read_bytes())
    imported = _decl(adapter, IMPORT)
    with pytest.raises(AdapterError, match="one declaration, 2 were given"):
        adapter.encode([export, imported])
    with pytest.raises(AdapterError, match="cannot carry a ods_shipment"):
        adapter.encode([ods])


# -- located errors ---------------------------------------------------------------


def test_unknown_unit_names_the_gunit_element(adapter: ChinaAdapter) -> None:
    err = _error(adapter, _changed(IMPORT, "<GUnit>030</GUnit>", "<GUnit>999</GUnit>"))
    assert "'999'" in err.message and "GACC unit" in err.message
    assert err.location["xpath"] == "/DecMessage/DecLists/DecList[2]/GUnit"
    assert err.location["line"] == 56


def test_unknown_country_and_legacy_numeric_country(adapter: ChinaAdapter) -> None:
    err = _error(adapter, _changed(EXPORT, "<OriginCountry>CHN</OriginCountry>", "<OriginCountry>XYZ</OriginCountry>"))
    assert "'XYZ'" in err.message
    assert err.location["xpath"] == "/DecMessage/DecLists/DecList/OriginCountry"
    err = _error(adapter, _changed(EXPORT, "<TradeCountry>KAZ</TradeCountry>", "<TradeCountry>398</TradeCountry>"))
    assert "alpha-3" in err.message
    assert err.location["xpath"] == "/DecMessage/DecHead/TradeCountry"


def test_unknown_currency(adapter: ChinaAdapter) -> None:
    err = _error(adapter, _changed(EXPORT, "<TradeCurr>USD</TradeCurr>", "<TradeCurr>999</TradeCurr>"))
    assert "'999'" in err.message and "GACC currency" in err.message
    assert err.location["xpath"] == "/DecMessage/DecLists/DecList/TradeCurr"


def test_unknown_gacc_codes_are_refused(adapter: ChinaAdapter) -> None:
    cases = {
        ("<TrafMode>3</TrafMode>", "<TrafMode>Q</TrafMode>"): "/DecMessage/DecHead/TrafMode",
        ("<TransMode>3</TransMode>", "<TransMode>8</TransMode>"): "/DecMessage/DecHead/TransMode",
        ("<WrapType>04</WrapType>", "<WrapType>77</WrapType>"): "/DecMessage/DecHead/WrapType",
        ("<DocuCode>4</DocuCode>", "<DocuCode>44</DocuCode>"): "/DecMessage/DecLicenseDocus/LicenseDocu/DocuCode",
        ("<IEFlag>E</IEFlag>", "<IEFlag>X</IEFlag>"): "/DecMessage/DecHead/IEFlag",
    }
    for (old, new), xpath in cases.items():
        err = _error(adapter, _changed(EXPORT, old, new))
        assert err.location["xpath"] == xpath, new


def test_missing_required_elements(adapter: ChinaAdapter) -> None:
    err = _error(adapter, _changed(EXPORT, "<EntryId>940020261000004521</EntryId>", ""))
    assert "EntryId" in err.message
    assert err.location["xpath"] == "/DecMessage/DecHead/EntryId"
    err = _error(adapter, _changed(EXPORT, "<CodeTS>2903710000</CodeTS>", ""))
    assert err.location["xpath"] == "/DecMessage/DecLists/DecList/CodeTS"
    text = EXPORT.read_text("utf-8")
    start, end = text.index("<DecList>"), text.index("</DecList>") + len("</DecList>")
    err = _error(adapter, (text[:start] + text[end:]).encode())
    assert err.location["xpath"] == "/DecMessage/DecLists/DecList"


def test_malformed_values_are_refused_where_they_stand(adapter: ChinaAdapter) -> None:
    cases = {
        ("<DeclTotal>4500.00</DeclTotal>", "<DeclTotal>4,500.00</DeclTotal>"): "DeclTotal",
        ("<IEDate>20260312</IEDate>", "<IEDate>20260231</IEDate>"): "IEDate",
        ("<CodeTS>2903710000</CodeTS>", "<CodeTS>29037100</CodeTS>"): "CodeTS",
        ("<EntryId>940020261000004521</EntryId>", "<EntryId>9400-2026-1</EntryId>"): "EntryId",
        ("<SignDate>20260312101500</SignDate>", "<SignDate>2026-03-12</SignDate>"): "SignDate",
        ("<SignDate>20260312101500</SignDate>", "<SignDate>00010101000000</SignDate>"): "SignDate",
        ("<GQty>1000</GQty>", "<GQty>١٠٠٠</GQty>"): "GQty",  # Arabic-Indic digits
        ("<PackNo>100</PackNo>", "<PackNo>٣</PackNo>"): "PackNo",
    }
    for (old, new), name in cases.items():
        err = _error(adapter, _changed(EXPORT, old, new))
        assert err.location["xpath"].endswith(f"/{name}"), new
        assert "line" in err.location


def test_truncated_file(adapter: ChinaAdapter) -> None:
    data = EXPORT.read_bytes()
    err = _error(adapter, data[: data.index(b"<DecLists>") + 20])
    assert "not well-formed" in err.message
    assert err.location["line"] > 30


def test_windows_1251_bytes_in_a_file_declared_utf8(adapter: ChinaAdapter) -> None:
    data = CONTAINERS.read_text("utf-8").encode("cp1251", errors="replace")
    err = _error(adapter, data)
    assert "not valid utf-8" in err.message and "cp1251" in err.message
    # The first Cyrillic byte is in OverseasConsignorAddr (line 20), the Chinese text turned into '?'.
    assert err.location["line"] == 20


def test_gb18030_bytes_in_a_file_declared_utf8(adapter: ChinaAdapter) -> None:
    err = _error(adapter, EXPORT.read_text("utf-8").encode("gb18030"))
    assert "not valid utf-8" in err.message
    assert (err.location["line"], err.location["column"]) == (9, 16)  # AgentName, the first Chinese text


@pytest.mark.parametrize(
    "prolog",
    [
        b"<!DOCTYPE DecMessage [<!ELEMENT DecMessage ANY>]>\n",
        b'<!DOCTYPE DecMessage [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n',
        b'<!DOCTYPE DecMessage [<!ENTITY a "aaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>\n',
    ],
    ids=["dtd", "external-entity", "entity-bomb"],
)
def test_dtds_and_entities_are_refused(adapter: ChinaAdapter, prolog: bytes) -> None:
    data = EXPORT.read_bytes()
    at = data.index(b"<DecMessage")
    hostile = data[:at] + prolog + data[at:].replace(b"<GName>", b"<GName>&xxe;&b;", 1)
    err = _error(adapter, hostile)
    assert "document type declarations" in err.message
    assert err.location["line"] == 3


def test_another_document_is_not_read_as_a_declaration(adapter: ChinaAdapter) -> None:
    reply = b'<?xml version="1.0"?>\n<DecImportResponse><ResponseCode>0</ResponseCode></DecImportResponse>'
    err = _error(adapter, reply)
    assert "DecImportResponse" in err.message
    assert err.location["xpath"] == "/DecImportResponse"


def test_fields_lists_every_leaf_with_its_local_name_path(adapter: ChinaAdapter) -> None:
    fields = adapter.fields(EXPORT.read_bytes())
    assert ("DecMessage/@version", "3.1") in fields
    assert ("DecMessage/DecLists/DecList/GName", "一氯二氟甲烷") in fields
    assert ("DecMessage/DecLicenseDocus/LicenseDocu/CertCode", "26-AA-0412873") in fields
    assert all(value for _, value in fields)
