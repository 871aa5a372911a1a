"""The CUSDEC D96B adapter: what a customs IT team relies on.

Mapping of the shipped samples field by field, the interchange it writes
(envelope, counts, escaping, character set), custom UNA characters, the
ISO 8859-5 (UNOE) character set, and errors that name the segment.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tamga.adapters import load_adapter
from tamga.adapters.edifact import EdifactAdapter
from tamga.adapters.edifact._syntax import read_interchange
from tamga.adapters.sdk import testing
from tamga.adapters.sdk.records import from_canonical_json
from tamga.errors import AdapterError
from tamga.v1 import common_pb2, records_pb2

SAMPLES = Path(EdifactAdapter.samples or ".")
PK = SAMPLES / "pk-export-cotton-fabric-to-kz.edi"
TWO = SAMPLES / "pk-two-declarations.edi"
KZ = SAMPLES / "kz-export-flour-cyrillic-unow.edi"


@pytest.fixture(name="adapter")
def _adapter() -> EdifactAdapter:
    return EdifactAdapter()


def _decls(records: list[records_pb2.Record]) -> list[records_pb2.Record]:
    return [r for r in records if r.HasField("declaration_snapshot")]


def _error(adapter: EdifactAdapter, data: bytes) -> AdapterError:
    with pytest.raises(AdapterError) as info:
        adapter.decode(data, source="t.edi")
    assert info.value.adapter == "edifact"
    return info.value


# -- mapping ----------------------------------------------------------------------


def test_entry_point_loads_the_adapter() -> None:
    adapter = load_adapter("edifact")
    assert isinstance(adapter, EdifactAdapter)
    assert adapter.source_format == "CUSDEC:D96B"
    assert adapter.file_suffix == ".edi"


def test_pakistan_export_of_cotton_fabric_maps_field_by_field(adapter: EdifactAdapter) -> None:
    (rec,) = adapter.decode(PK.read_bytes(), source=PK.name)
    m, d = rec.meta, rec.declaration_snapshot
    assert m.source_format == "CUSDEC:D96B"
    assert m.source_record_ref == d.declaration_no == "PK-EX-2026-000987"
    assert m.sender_country == "PK" and list(m.receiver_countries) == ["KZ"]
    assert m.sender_authority == "Pakistan Customs, Federal Board of Revenue"
    assert m.created_at.ToJsonString() == "2026-03-02T14:15:00Z"
    assert m.message_function == common_pb2.MESSAGE_FUNCTION_ORIGINAL
    assert m.handling == common_pb2.HANDLING_RESTRICTED
    assert d.direction == records_pb2.DIRECTION_EXPORT
    assert d.acceptance_date == "2026-03-02"
    assert d.ucr == "6PK0512345678-2026-0987"
    assert d.procedure_code == "10"
    assert (d.dispatch_country, d.destination_country) == ("PK", "KZ")
    assert (d.exporter.name, d.exporter.id, d.exporter.id_scheme, d.exporter.country) == (
        "AL-KARAM TEXTILE MILLS (PVT.) LTD",
        "4210512345678",
        "NTN",
        "PK",
    )
    assert d.exporter.address == "PLOT 23, SECTOR 7-A, KORANGI"
    assert (d.consignee.name, d.consignee.id, d.consignee.country) == ("KAZ TRADE LLP", "180140012345", "KZ")
    # Release characters: "O?'CONNOR ?+ KHAN" is O'CONNOR + KHAN.
    assert d.declarant.name == "O'CONNOR + KHAN CUSTOMS AGENTS"
    assert (d.invoice_amount.amount, d.invoice_amount.currency) == ("18400.00", "USD")
    assert (d.total_gross_mass.value, d.total_gross_mass.unit) == ("5200", "KGM")
    assert (d.total_packages.count, d.total_packages.kind) == (52, "BL")
    (item,) = d.items
    assert item.seq == 1
    assert (item.commodity.hs6, item.commodity.national_code) == ("520812", "5208120000")
    assert item.commodity.description == "COTTON WOVEN FABRIC, PLAIN WEAVE, UNBLEACHED, 98 G/M2, 160 CM"
    assert item.commodity.origin_country == "PK"
    assert (item.gross_mass.value, item.gross_mass.unit) == ("5200", "KGM")
    assert (item.net_mass.value, item.net_mass.unit) == ("5050.5", "KGM")
    assert (item.invoice_amount.amount, item.customs_value.amount, item.customs_value.currency) == (
        "18400.00",
        "18400.00",
        "USD",
    )


def test_an_interchange_of_two_messages_gives_two_declarations(adapter: EdifactAdapter) -> None:
    records = adapter.decode(TWO.read_bytes(), source=TWO.name)
    imp, exp = _decls(records)
    assert imp.declaration_snapshot.direction == records_pb2.DIRECTION_IMPORT
    # An import is declared by the country of destination, to the country of export.
    assert imp.meta.sender_country == "PK" and list(imp.meta.receiver_countries) == ["CN"]
    assert imp.meta.created_at.ToJsonString() == "2026-03-05T00:00:00Z"
    assert imp.declaration_snapshot.items[0].customs_value.amount == "12950.00"
    # HCFC-22 (HS 2903.71) yields an ODS shipment right after its declaration.
    ods = records[1].ods_shipment
    assert ods.commodity.hs6 == "290371" and ods.quantity.value == "1000"
    assert exp.meta.message_function == common_pb2.MESSAGE_FUNCTION_CORRECTION
    assert exp.meta.sender_country == "PK" and list(exp.meta.receiver_countries) == ["UZ"]
    assert [i.seq for i in exp.declaration_snapshot.items] == [1, 2]
    assert exp.declaration_snapshot.items[1].packages.count == 1000
    assert len({r.meta.record_id for r in records}) == 3


def test_a_correction_has_another_record_id_than_the_original(adapter: EdifactAdapter) -> None:
    data = PK.read_bytes()
    (original,) = adapter.decode(data)
    (correction,) = adapter.decode(data.replace(b"BGM+830+PK-EX-2026-000987+9'", b"BGM+830+PK-EX-2026-000987+5'"))
    (cancel,) = adapter.decode(data.replace(b"BGM+830+PK-EX-2026-000987+9'", b"BGM+830+PK-EX-2026-000987+1'"))
    assert correction.meta.message_function == common_pb2.MESSAGE_FUNCTION_CORRECTION
    assert cancel.meta.message_function == common_pb2.MESSAGE_FUNCTION_CANCELLATION
    assert len({original.meta.record_id, correction.meta.record_id, cancel.meta.record_id}) == 3
    assert adapter.decode(data)[0].meta.record_id == original.meta.record_id


def test_cyrillic_in_unow_is_read_as_utf8(adapter: EdifactAdapter) -> None:
    (rec,) = adapter.decode(KZ.read_bytes(), source=KZ.name)
    d = rec.declaration_snapshot
    assert d.exporter.name == "ТОО «Костанай Мука»"
    assert d.exporter.address == "ул. Байтурсынова, 45"
    assert d.items[0].commodity.description == "Мука пшеничная высшего сорта, мешки по 50 кг"
    assert rec.meta.sender_country == "KZ" and rec.meta.sender_authority.startswith("State Revenue Committee")


def test_unoe_is_read_as_iso_8859_5(adapter: EdifactAdapter) -> None:
    # ISO 8859-5 has no guillemets: the name is written with plain quotes.
    text = KZ.read_text("utf-8").replace("UNOW:4", "UNOE:3").replace("«", '"').replace("»", '"')
    (rec,) = adapter.decode(text.encode("iso-8859-5"))
    assert rec.declaration_snapshot.exporter.name == 'ТОО "Костанай Мука"'
    assert rec.declaration_snapshot.items[0].commodity.description.startswith("Мука пшеничная")


def test_custom_una_characters_and_decimal_comma(adapter: EdifactAdapter) -> None:
    text = PK.read_text("latin-1")
    # Swap the control characters: component ":"->"|", data "+"->"*", release "?"->"#",
    # terminator "'"->"!", decimal mark ",".
    swapped = text.replace("?+", "\x01").replace("?'", "\x02")
    swapped = swapped.replace(":", "|").replace("+", "*").replace("'", "!")
    swapped = swapped.replace("\x01", "+").replace("\x02", "'")
    swapped = swapped.replace("UNA|*.? !", "UNA|*,# !").replace("5050.5", "5050,5")
    swapped = swapped.replace("O'CONNOR + KHAN", "O'CONNOR #* KHAN #! #|##")
    (rec,) = adapter.decode(swapped.encode("latin-1"))
    d = rec.declaration_snapshot
    assert d.declarant.name == "O'CONNOR * KHAN ! |# CUSTOMS AGENTS"
    assert d.items[0].net_mass.value == "5050.5"
    assert d.invoice_amount.amount == "18400.00"


# -- what encode writes ------------------------------------------------------------


def test_encode_writes_a_whole_unoc_interchange(adapter: EdifactAdapter) -> None:
    records = adapter.decode(TWO.read_bytes())
    out = adapter.encode(records)
    assert out.startswith(b"UNA:+.? '\nUNB+UNOC:3+PKCUSTOMS:ZZZ+SCOHUB:ZZZ+260305:1610+")
    segs = read_interchange(out, adapter="edifact").segments
    tags = [s.tag for s in segs]
    assert tags.count("UNH") == 2 and tags[-1] == "UNZ"
    unh = [i for i, t in enumerate(tags) if t == "UNH"]
    unt = [i for i, t in enumerate(tags) if t == "UNT"]
    for start, end in zip(unh, unt, strict=True):
        assert segs[end].get(1) == str(end - start + 1)
        assert segs[end].get(2) == segs[start].get(1)
        assert segs[start].components(2) == ["CUSDEC", "D", "96B", "UN"]
    assert segs[-1].get(1) == "2" and segs[-1].get(2) == segs[1].get(5)
    assert b"BGM+929+PK-IM-2026-004512+9'" in out
    assert b"BGM+830+PK-EX-2026-001033+5'" in out
    assert b"CST+1+2903710000:108:ZZZ'" in out
    assert b"MOA+40:12950.00:USD'" in out
    assert b"DTM+137:20260305:102'" in out


def test_encode_escapes_release_characters(adapter: EdifactAdapter) -> None:
    out = adapter.encode(adapter.decode(PK.read_bytes()))
    assert b"NAD+DT+4230987654321:NTN++O?'CONNOR ?+ KHAN CUSTOMS AGENTS+" in out


def test_encode_switches_to_unow_for_text_beyond_latin1(adapter: EdifactAdapter) -> None:
    (rec,) = adapter.decode(PK.read_bytes())
    rec.declaration_snapshot.consignee.name = "Қазақстан ТОО «Пример»"
    out = adapter.encode([rec])
    assert out.startswith(b"UNA:+.? '\nUNB+UNOW:4+PKCUSTOMS:ZZZ+KZCUSTOMS:ZZZ+20260302:1415+")
    assert "Қазақстан ТОО «Пример»".encode() in out
    assert adapter.decode(out)[0] == rec


def test_long_texts_are_split_into_components_and_read_back_whole(adapter: EdifactAdapter) -> None:
    (rec,) = adapter.decode(PK.read_bytes())
    rec.declaration_snapshot.items[0].commodity.description = "X" * 69 + " " + "Y" * 400
    rec.declaration_snapshot.exporter.name = "N" * 36
    out = adapter.encode([rec])
    assert b"NAD+EX+4210512345678:NTN++" + b"N" * 35 + b":N+" in out
    assert adapter.decode(out)[0] == rec


@pytest.mark.parametrize("script", sorted(testing.SCRIPTS))
@pytest.mark.parametrize("path", [PK, TWO, KZ], ids=lambda p: p.name)
def test_four_scripts_survive_in_names_addresses_and_descriptions(
    adapter: EdifactAdapter, path: Path, script: str
) -> None:
    text = testing.SCRIPTS[script]
    decls = _decls(adapter.decode(path.read_bytes()))
    for rec in decls:
        d = rec.declaration_snapshot
        for party in (d.exporter, d.consignee, d.declarant):
            if party.name:
                party.name, party.address = text, text
        for item in d.items:
            item.commodity.description = text
    assert _decls(adapter.decode(adapter.encode(decls))) == decls


def test_a_declaration_from_another_format_is_written_with_what_cusdec_holds(adapter: EdifactAdapter) -> None:
    path = Path(__file__).parents[2] / "adapters" / "samples" / "kz-export-declarations.json"
    foreign = [r for r in from_canonical_json(path.read_bytes()) if r.HasField("declaration_snapshot")]
    back = adapter.decode(adapter.encode(foreign))
    first = _decls(back)[0].declaration_snapshot
    assert first.declaration_no == "10702020/010326/0001234"
    assert first.exporter.name == "Altyn Dala Grain LLP"
    assert first.items[0].customs_value.amount == "184500.00"
    assert first.ucr == "6KZ123456789-20260301"


# -- errors that say where --------------------------------------------------------


def test_a_truncated_file_names_the_unterminated_segment(adapter: EdifactAdapter) -> None:
    data = PK.read_bytes()
    cut = data.index(b"MOA+38") + 8
    err = _error(adapter, data[:cut])
    assert err.location["tag"] == "MOA"
    assert err.location["line"] == 22 and err.location["segment"] == 22
    assert "truncated" in err.message


def test_a_file_cut_at_a_segment_end_lacks_its_unz(adapter: EdifactAdapter) -> None:
    data = PK.read_bytes()
    err = _error(adapter, data[: data.index(b"UNZ+")])
    assert err.location["tag"] == "UNT" and "UNZ" in err.message


def test_windows_1251_bytes_in_a_unow_file_are_located(adapter: EdifactAdapter) -> None:
    bad = KZ.read_text("utf-8").encode("cp1251")
    err = _error(adapter, bad)
    assert "not valid utf-8" in err.message and "cp1251" in err.message
    assert err.location["line"] == 10
    assert err.location["segment"] == 10 and err.location["tag"] == "NAD"


def test_non_ascii_bytes_in_a_unoa_file_are_located(adapter: EdifactAdapter) -> None:
    data = PK.read_bytes().replace(b"UNOC:3", b"UNOA:3").replace(b"KAZ TRADE", "KAZ TRADÉ".encode("latin-1"))
    err = _error(adapter, data)
    assert err.location["tag"] == "NAD" and err.location["line"] == 14


@pytest.mark.parametrize(
    ("old", "new", "tag", "line", "words"),
    [
        (b"MEA+WT+AAA+KGM:5050.5", b"MEA+WT+AAA+KGS:5050.5", "MEA", 20, "unit 'KGS'"),
        (b"LOC+28+KZ", b"LOC+28+KAZ", "LOC", 9, "'KAZ' is not an ISO 3166-1 alpha-2"),
        (b"MOA+40:18400.00:USD", b"MOA+40:18400.00:USX", "MOA", 23, "currency 'USX'"),
        (b"MOA+38:18400.00:USD", b"MOA+38:18,400.00:USD", "MOA", 22, "not a decimal number"),
        (b"CST+1+5208120000", b"CST+1+52081", "CST", 16, "6 to 12 digits"),
        (b"BGM+830+", b"BGM+831+", "BGM", 4, "neither 830"),
        (b"+PK-EX-2026-000987+9'", b"+PK-EX-2026-000987+7'", "BGM", 4, "message function '7'"),
        (b"DTM+137:202603021415:203", b"DTM+137:202613021415:203", "DTM", 5, "not a date"),
        (b"UNT+22+1", b"UNT+21+1", "UNT", 24, "has 22"),
        (b"UNT+22+1", b"UNT+22+2", "UNT", 24, "message reference"),
        (b"UNZ+1+", b"UNZ+2+", "UNZ", 25, "holds 1"),
        (b"UNB+UNOC:3", b"UNB+UNOQ:3", "UNB", 2, "syntax identifier 'UNOQ'"),
        (b"CUSDEC:D:96B", b"CUSDEC:D:98A", "UNH", 3, "CUSDEC:D:96B"),
    ],
)
def test_bad_codes_and_counts_name_their_segment(
    adapter: EdifactAdapter, old: bytes, new: bytes, tag: str, line: int, words: str
) -> None:
    data = PK.read_bytes()
    assert old in data
    err = _error(adapter, data.replace(old, new, 1))
    assert err.location["tag"] == tag, err
    assert err.location["line"] == line and err.location["segment"] == line, err
    assert err.location["file"] == "t.edi"
    assert words in err.message, err


def _drop(data: bytes, prefix: bytes, count_fix: bool = True) -> bytes:
    lines = [ln for ln in data.split(b"\n") if not ln.startswith(prefix)]
    out = b"\n".join(lines)
    return out.replace(b"UNT+22+1", b"UNT+21+1") if count_fix else out


@pytest.mark.parametrize(
    ("prefix", "words"),
    [(b"DTM+137", "no DTM+137"), (b"BGM+", "no BGM")],
)
def test_a_missing_required_segment_is_reported_at_the_message(
    adapter: EdifactAdapter, prefix: bytes, words: str
) -> None:
    data = _drop(PK.read_bytes(), prefix)
    err = _error(adapter, data)
    assert words in err.message
    assert (err.location["tag"], err.location["segment"], err.location["line"]) == ("UNH", 3, 3)


def test_a_message_without_goods_items_is_refused(adapter: EdifactAdapter) -> None:
    data = PK.read_bytes()
    data = data[: data.index(b"CST+")] + data[data.index(b"UNT+") :]
    err = _error(adapter, data.replace(b"UNT+22+1", b"UNT+14+1"))
    assert "no goods item" in err.message
    assert (err.location["tag"], err.location["segment"]) == ("UNH", 3)


def test_no_declaring_country_is_an_error_not_a_guess(adapter: EdifactAdapter) -> None:
    data = _drop(PK.read_bytes(), b"LOC+35").replace(b"UNB+UNOC:3+PKCUSTOMS", b"UNB+UNOC:3+PKGATEWAY")
    data = data.replace(b"74900+PK'", b"74900'")
    err = _error(adapter, data)
    assert "declaring country" in err.message and err.location["tag"] == "UNH"


def test_a_missing_country_of_exportation_falls_back_to_the_exporter(adapter: EdifactAdapter) -> None:
    (rec,) = adapter.decode(_drop(PK.read_bytes(), b"LOC+35"))
    assert rec.declaration_snapshot.dispatch_country == "PK" and rec.meta.sender_country == "PK"


def test_a_bad_una_is_refused_at_segment_one(adapter: EdifactAdapter) -> None:
    err = _error(adapter, PK.read_bytes().replace(b"UNA:+.? '", b"UNA::.? '", 1))
    assert (err.location["segment"], err.location["tag"]) == (1, "UNA")


def test_a_malformed_segment_tag_is_located(adapter: EdifactAdapter) -> None:
    err = _error(adapter, PK.read_bytes().replace(b"RFF+UCN", b"rf+UCN"))
    assert (err.location["segment"], err.location["line"]) == (7, 7)


def test_random_and_damaged_bytes_raise_only_adapter_errors(adapter: EdifactAdapter) -> None:
    testing.check_random_bytes(adapter, [PK, TWO, KZ], examples=300)


def test_fields_names_segments_by_qualifier(adapter: EdifactAdapter) -> None:
    fields = adapter.fields(PK.read_bytes())
    assert ("MOA.39.1.2", "18400.00") in fields
    assert ("NAD.DT.4.1", "O'CONNOR + KHAN CUSTOMS AGENTS") in fields
    assert ("CST.2.1", "5208120000") in fields
    assert not [p for p, _ in fields if p.startswith("UNA")]
