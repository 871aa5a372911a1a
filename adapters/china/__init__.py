"""The china adapter: GACC single-window customs declarations (DecMessage XML) <-> Tamga records.

China's customs declarations travel through the single window
(``www.chinaport.gov.cn``) as ``<DecMessage version="3.1"
xmlns="http://www.chinaport.gov.cn/dec">``: a ``DecHead``, the goods items
(``DecLists/DecList``), containers, licences and permits, free text and the
declarant's signature. One file holds one declaration, so one file gives one
DeclarationSnapshot (and an OdsShipment for each item under an ozone-depleting
substance heading) and encode writes one declaration per file.

Elements are matched by local name, so another namespace or version of the
message reads the same. Where each field goes is told in
:mod:`~tamga.adapters.china._read`; the code lists of GACC's own (transport
modes, terms, packages, licences) are in :mod:`~tamga.adapters.china._codes`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tamga.adapters.china._read import SOURCE_FORMAT, read_declaration
from tamga.adapters.china._write import write_declaration
from tamga.adapters.sdk import BaseAdapter, with_ods_shipments
from tamga.adapters.sdk.xml import leaves, parse_xml
from tamga.v1 import records_pb2

__all__ = ["ChinaAdapter"]

_HEAD = "DecMessage/DecHead/"
_ITEM = "DecMessage/DecLists/DecList/"


class ChinaAdapter(BaseAdapter):
    """Reads and writes GACC DecMessage customs declarations."""

    name = "china"
    file_suffix = ".xml"
    source_format = SOURCE_FORMAT
    record_types = ("declaration_snapshot",)
    records_per_file = 1
    samples = Path(__file__).parent / "samples"
    #: Read (and checked) but not carried into records; see ``_read``.
    unmapped_fields = (
        "DecMessage/@version",  # encode writes 3.1
        # Port of entry or exit: the record keeps the office of declaration (CustomMaster).
        _HEAD + "IEPort",
        # With a unified social credit code there, the 10-character customs code is not carried.
        _HEAD + "TradeCode",
        _HEAD + "AgentCode",
        # The producer or user of the goods (生产销售/消费使用单位): records have no such party.
        _HEAD + "Owner*",
        # A Chinese name beside the English one of the foreign consignor: one name is kept.
        _HEAD + "OverseasConsignorCname",
        _HEAD + "DomesticConsigneeEname",
        _HEAD + "NetWt",
        _HEAD + "DistinatePort",
        _HEAD + "Fee*",
        _HEAD + "Insur*",
        _HEAD + "Other*",
        _HEAD + "LicenseNo",
        _HEAD + "ContrNo",
        _HEAD + "ManualNo",
        _HEAD + "CutMode",
        _HEAD + "EntryType",
        _HEAD + "DeclTrnRel",
        _HEAD + "EdiId",
        _HEAD + "Type",
        _HEAD + "PromiseItmes",
        _HEAD + "DespPortCode",
        _HEAD + "EntyPortCode",
        _HEAD + "GoodsPlace",
        _HEAD + "MarkNo",
        _HEAD + "NoteS",
        _HEAD + "CopCode*",
        _HEAD + "CopName",
        _HEAD + "InputerName",
        _HEAD + "DeclareName",
        _HEAD + "TypistNo",
        _HEAD + "DespDate",
        # Item: specification (申报要素), unit price (derived from the total), duty mode,
        # final destination (the record has one destination), statutory quantities other
        # than a net mass in kilograms.
        _ITEM + "GModel",
        _ITEM + "DeclPrice",
        _ITEM + "DutyMode",
        _ITEM + "DestinationCountry",
        _ITEM + "FirstQty",
        _ITEM + "FirstUnit",
        _ITEM + "SecondQty",
        _ITEM + "SecondUnit",
        _ITEM + "ClassMark",
        _ITEM + "ContrItem",
        _ITEM + "CiqCode",
        _ITEM + "DeclGoodsEname",
        _ITEM + "OrigPlaceCode",
        _ITEM + "DistrictCode",
        _ITEM + "DestCode",
        _ITEM + "Purpose",
        _ITEM + "UseTo",
        _ITEM + "ExgNo",
        _ITEM + "ExgVersion",
        _ITEM + "Factor",
        _ITEM + "WorkUsd",
        "DecMessage/DecContainers/Container/ContainerMd",
        "DecMessage/DecContainers/Container/GoodsNo",
        "DecMessage/DecContainers/Container/LclFlag",
        "DecMessage/DecContainers/Container/GoodsContaWt",
        "DecMessage/DecContainers/Container/ContainerWt",
        "DecMessage/DecFreeTxt/*",
        # The signature block, but for SignDate (created_at).
        "DecMessage/DecSign/OperType",
        "DecMessage/DecSign/ICCode",
        "DecMessage/DecSign/CopCode",
        "DecMessage/DecSign/OperName",
        "DecMessage/DecSign/ClientSeqNo",
        "DecMessage/DecSign/Sign",
        "DecMessage/DecSign/Certificate",
        "DecMessage/DecSign/HostId",
        "DecMessage/DecSign/BillSeqNo",
        "DecMessage/DecSign/DomainId",
        "DecMessage/DecSign/Note",
    )

    def decode_file(self, data: bytes, *, source: str) -> list[records_pb2.Record]:
        """The declaration of a DecMessage, followed by the ODS shipments it yields.

        Raises:
            AdapterError: with the XPath (and line) of what is wrong.
        """
        return with_ods_shipments([read_declaration(self, data, source)])

    def encode_records(self, records: Sequence[records_pb2.Record]) -> bytes:
        if not records:
            # BaseAdapter.encode leaves out ODS shipments; nothing else was given.
            raise self.error(
                "a DecMessage carries a declaration; only ODS shipments were given, and they are written"
                " with the declaration they come from",
                record="records[0]",
            )
        if len(records) != 1:
            raise self.error(
                f"a DecMessage holds one declaration, {len(records)} were given (records_per_file is 1)",
                record="records[1]",
            )
        return write_declaration(records[0])

    def fields(self, data: bytes) -> list[tuple[str, str]]:
        """Every non-empty element and attribute, as (local-name path, value)."""
        return leaves(parse_xml(data, adapter=self.name))
