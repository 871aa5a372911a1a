"""Records leave one national format and arrive in another, between real nodes;
a malformed national file is refused whole, with a located report, and queues nothing."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from tamga.adapters import load_adapter
from tamga.intake import write_atomically
from tamga.tools.demo import DECLARATIONS, build
from tamga.tools.federation import patch_config

from .nodes import files_in, make_home, open_node, peer_up, start_pair, stop_all, wait_until


def _national_pair(root: Path) -> tuple[Path, Path]:
    kz = make_home(root, "KZ", "KZ")
    cn = make_home(root, "CN", "CN")
    patch_config(kz, "adapter", {"name": "eaeu"})
    patch_config(cn, "adapter", {"name": "china"})
    peer_up([kz, cn], root)
    return kz, cn


def _kz_declaration() -> tuple[bytes, object]:
    """KZ's export of HCFC-22 and wheat to CN, as the EAEU system writes it (R.036 XML)."""
    decl = next(d for d in DECLARATIONS if d.sender == "KZ" and d.receiver == "CN")
    eaeu = load_adapter("eaeu")
    record = build(decl, eaeu.source_format)  # type: ignore[attr-defined]
    return eaeu.encode([record]), record


def test_an_eaeu_declaration_arrives_as_a_gacc_decmessage_and_its_ods_shipment_as_json(tmp_path: Path) -> None:
    kz_home, cn_home = _national_pair(tmp_path)
    data, original = _kz_declaration()
    sent = load_adapter("eaeu").decode(data, source="kz.xml")
    assert [r.WhichOneof("body") for r in sent] == ["declaration_snapshot", "ods_shipment"]

    async def scenario() -> None:
        kz, cn = await start_pair(kz_home, cn_home)
        try:
            write_atomically(kz_home / "outgoing" / "kz-export.xml", data)
            await wait_until(lambda: len(files_in(cn_home / "incoming")) == 2, "both records written at CN")
        finally:
            await stop_all(kz, cn)

    asyncio.run(scenario())

    incoming = files_in(cn_home / "incoming")
    xml = [p for p in incoming if p.suffix == ".xml"]
    js = [p for p in incoming if p.suffix == ".json"]
    assert len(xml) == 1 and len(js) == 1, incoming
    # The declaration is written in China's own format...
    assert b"http://www.chinaport.gov.cn/dec" in xml[0].read_bytes()
    [got] = load_adapter("china").decode(xml[0].read_bytes(), source=xml[0].name)[:1]
    want = sent[0].declaration_snapshot
    d = got.declaration_snapshot
    assert d.direction == want.direction
    assert [(i.commodity.hs6, i.commodity.national_code, i.commodity.description) for i in d.items] == [
        (i.commodity.hs6, i.commodity.national_code, i.commodity.description) for i in want.items
    ]
    assert [(i.net_mass.value, i.net_mass.unit) for i in d.items] == [("1000", "KGM"), ("60000", "KGM")]
    assert d.items[0].commodity.description == "ХЛОРДИФТОРМЕТАН (ГХФУ-22), 100 БАЛЛОНОВ"
    assert d.exporter.name == "ТОО «Шымкент Хим»"
    assert d.consignee.name == "乌鲁木齐制冷设备有限公司"
    # ...and the ODS shipment, which no declaration format carries, as canonical JSON.
    [ods] = load_adapter("json").decode(js[0].read_bytes(), source=js[0].name)
    assert ods.meta.record_id == sent[1].meta.record_id
    assert ods.ods_shipment.substance.startswith("HCFC-22")
    assert ods.ods_shipment.odp_tonnes == "0.055"
    assert original.declaration_snapshot.items[0].commodity.national_code == "2903710000"


def _malformed(data: bytes) -> dict[str, bytes]:
    text = data.decode("utf-8")
    start = data.index(b"<", data.index(b"?>") + 2) if data.startswith(b"<?xml") else 0
    return {
        "truncated.xml": data[: len(data) // 2],
        "cp1251.xml": text.encode("cp1251", errors="replace"),  # the Chinese consignee becomes "?"
        "dtd.xml": data[:start] + b'<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n' + data[start:],
        "bomb.xml": data[:start]
        + b'<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>\n'
        + data[start:].replace(b"</", b"&b;</", 1),
        "unknown-unit.xml": data.replace(b'measurementUnitCode="166"', b'measurementUnitCode="999"', 1),
    }


def test_malformed_national_files_are_refused_whole_with_a_located_report_and_queue_nothing(tmp_path: Path) -> None:
    kz_home, _ = _national_pair(tmp_path)
    data, _ = _kz_declaration()
    bad = _malformed(data)
    assert b'measurementUnitCode="999"' in bad["unknown-unit.xml"]

    async def scenario() -> None:
        kz = await open_node(kz_home)  # CN stays down: nothing here may reach it
        try:
            await kz.start_server()
            await kz.start_work()
            for name, blob in bad.items():
                write_atomically(kz_home / "outgoing" / name, blob)
            failed = kz_home / "failed"
            await wait_until(
                lambda: all((failed / f"{n}.error.json").exists() for n in bad), "every malformed file reported"
            )
            assert await kz.store.outbox_states() == []
        finally:
            await kz.stop()

    asyncio.run(scenario())
    for name in bad:
        report = json.loads((kz_home / "failed" / f"{name}.error.json").read_text("utf-8"))
        error = report["error"]
        assert error["kind"] == "adapter", (name, error)
        assert error["adapter"] == "eaeu", (name, error)
        assert "line" in error["location"] or "xpath" in error["location"], (name, error)
    reports = {
        n: json.loads((kz_home / "failed" / f"{n}.error.json").read_text("utf-8"))["error"]["message"] for n in bad
    }
    assert "utf-8" in reports["cp1251.xml"] and "cp1251" in reports["cp1251.xml"]
    assert "document type declarations" in reports["dtd.xml"]
    assert "document type declarations" in reports["bomb.xml"]
    assert "999" in reports["unknown-unit.xml"]
    assert files_in(kz_home / "outgoing") == []
