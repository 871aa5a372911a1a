"""Reading a GACC DecMessage into a DeclarationSnapshot record.

What goes where (DecHead fields unless said otherwise):

- ``EntryId`` (18-digit entry number, 海关编号) -> ``declaration_no`` and the
  record's ``source_record_ref``; ``SeqNo`` (报关单统一编号, the single
  window's number before acceptance) -> ``lrn``.
- ``IEFlag`` I/E -> direction. China is the declaring country: it is the
  dispatch country of an export and the destination of an import, and
  ``TradeCountry`` (启运国/运抵国) is the other side, the record's receiver.
  ``TradeAreaCode`` (贸易国) -> ``trading_country``. Countries are ISO alpha-3.
- ``IEDate`` (YYYYMMDD) -> ``acceptance_date``; ``DecSign/SignDate``
  (YYYYMMDDhhmmss, China Standard Time) -> ``created_at``, else the
  acceptance date at 00:00 UTC.
- ``CustomMaster`` (申报地海关, where the declaration was lodged; ``IEPort``
  when absent) -> ``customs_office``. ``TradeMode`` (监管方式) ->
  ``procedure_code``. ``TrafMode`` -> Rec 19 ``transport_mode``, ``TrafName``
  -> ``transport_means_id``, ``BillNo`` -> ``transport_doc_no``,
  ``TransMode`` -> ``incoterm``, ``GrossWet`` (kg) -> ``total_gross_mass``,
  ``PackNo`` + ``WrapType`` -> ``total_packages``.
- Parties. ``Trade*`` (境内收发货人) is the exporter of an export and the
  consignee of an import; ``Agent*`` (申报单位) the declarant; the
  ``OverseasConsignor*`` of an import is its exporter, the
  ``OverseasConsignee*`` of an export its consignee. The id of a Chinese
  party is its unified social credit code (``*CodeScc``, scheme USCC), else
  its 10-character customs code (``*Code``, scheme GACC); a foreign party's
  code is its AEO number ("NO" when it has none).
- ``DecList``: ``GNo`` -> ``seq``, ``CodeTS`` -> ``national_code`` (its first
  six digits ``hs6``), ``GName`` -> description, ``GQty``/``GUnit`` (the
  quantity declared, in JGS-20 units) -> ``supplementary_quantity``,
  ``FirstQty`` when ``FirstUnit`` is the kilogram -> ``net_mass`` (the
  declaration rules make a statutory quantity in kilograms the net weight),
  ``DeclTotal``/``TradeCurr`` -> ``invoice_amount``, ``OriginCountry`` ->
  ``origin_country``.
- ``DecContainers/Container/ContainerId`` -> ``container_ids``;
  ``DecLicenseDocus/LicenseDocu`` (licences and permits of the whole
  declaration) -> the ``documents`` of every item.

Read and checked but not carried (``ChinaAdapter.unmapped_fields``):
``IEPort`` when ``CustomMaster`` is there, ``Owner*`` (生产销售/消费使用单位,
no such party in a record), ``NetWt``, ``DistinatePort`` (a GACC port code,
not a UN/LOCODE), freight, insurance and other costs, ``GModel`` (申报要素),
``DeclPrice``, ``DutyMode``, the second statutory quantity, ``DecFreeTxt``
and the signature block.

Numbers stay as written ("4500.00" stays "4500.00"). Every code goes through
a table; a code the table lacks is an error naming it and its XPath, never a
guess.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone

from tamga.adapters.china import _codes
from tamga.adapters.sdk import BaseAdapter, new_record
from tamga.adapters.sdk.codes import GACC_CURRENCIES, GACC_UNITS, authority_of, country_alpha2, currency_code
from tamga.adapters.sdk.xml import Element, find, find_all, local, parse_xml, text, where
from tamga.errors import AdapterError
from tamga.v1 import common_pb2, records_pb2

__all__ = ["CHINA_TIME", "SOURCE_FORMAT", "read_declaration"]

SOURCE_FORMAT = "GACC:DecMessage"

#: China Standard Time, the clock of DecSign/SignDate (China keeps no summer time).
CHINA_TIME = timezone(timedelta(hours=8), "CST")

# An 18-digit GACC entry number; or, in a file written for a declaration of
# another service, that service's own number (e.g. EAEU "10702020/020326/0004711"),
# which holds a letter or a slash (digits and dashes alone are a mistyped entry number).
_ENTRY_ID = re.compile(r"[0-9]{18}|(?=[0-9A-Za-z/ .-]*[A-Za-z/])[0-9A-Za-z/.-][0-9A-Za-z/ .-]{0,39}")
_DISTRICT = re.compile(r"[0-9]{4}")
_TRADE_MODE = re.compile(r"[0-9]{4}")
_CODE_TS = re.compile(r"[0-9]{10}")
_G_NO = re.compile(r"[1-9][0-9]{0,3}")
_PACK_NO = re.compile(r"[0-9]{1,9}")
_USCC = re.compile(r"[0-9A-Z]{18}")
_CUSTOMS_CODE = re.compile(r"[0-9A-Z]{10}")
_CONTAINER = re.compile(r"[A-Z]{4}[0-9]{7}")
_DATE = re.compile(r"([0-9]{4})-?([0-9]{2})-?([0-9]{2})")
_SIGN_DATE = re.compile(r"([0-9]{14})([0-9]{1,6})?")


class _Reader:
    """One DecMessage being read; every error carries the XPath of what was read."""

    def __init__(self, adapter: BaseAdapter, source: str) -> None:
        self.adapter = adapter
        self.source = source

    # -- located values --------------------------------------------------------

    def where(self, el: Element) -> dict[str, object]:
        return where(el, self.source)

    def missing(self, parent: Element, name: str, why: str) -> AdapterError:
        loc = self.where(parent)
        loc["xpath"] = f"{loc['xpath']}/{name}"
        return self.adapter.error(f"{local(parent)} has no {name}: {why}", **loc)

    def value(self, parent: Element, name: str) -> tuple[str, Element | None]:
        el = find(parent, name)
        return (text(el), el) if el is not None else ("", None)

    def required(self, parent: Element, name: str, why: str) -> tuple[str, Element]:
        value, el = self.value(parent, name)
        if not value or el is None:
            raise self.missing(parent, name, why)
        return value, el

    def shaped(self, value: str, el: Element, pattern: re.Pattern[str], what: str) -> str:
        if not pattern.fullmatch(value):
            raise self.adapter.error(f"{local(el)} {value!r} is not {what}", **self.where(el))
        return value

    def decimal(self, value: str, el: Element) -> str:
        return self.shaped(value, el, _codes.DECIMAL, "a decimal number (digits, optional '.' and digits)")

    def country(self, value: str, el: Element) -> str:
        if len(value) != 3 or not value.isalpha():
            raise self.adapter.error(
                f"{local(el)} {value!r} is not an ISO 3166-1 alpha-3 country code (DecMessage 3.1 writes CHN, KAZ;"
                " GACC's legacy numeric country codes are not read, they differ from ISO numeric ones)",
                **self.where(el),
            )
        with self.adapter.located(lambda: self.where(el)):
            return country_alpha2(value)

    def currency(self, value: str, el: Element) -> str:
        with self.adapter.located(lambda: self.where(el)):
            if value.isdigit():
                return GACC_CURRENCIES.to_standard(value)
            if len(value) != 3 or not value.isalpha():
                raise AdapterError(f"{local(el)} {value!r} is not an ISO 4217 or GACC currency code")
            return currency_code(value)

    def unit(self, value: str, el: Element) -> str:
        with self.adapter.located(lambda: self.where(el)):
            return GACC_UNITS.to_standard(value)

    def date(self, value: str, el: Element) -> str:
        m = _DATE.fullmatch(value)
        try:
            if m is None:
                raise ValueError
            return date(int(m[1]), int(m[2]), int(m[3])).isoformat()
        except ValueError:
            raise self.adapter.error(f"{local(el)} {value!r} is not a date YYYYMMDD", **self.where(el)) from None

    def instant(self, value: str, el: Element) -> datetime:
        m = _SIGN_DATE.fullmatch(value)
        try:
            if m is None:
                raise ValueError
            moment = datetime.strptime(m[1], "%Y%m%d%H%M%S").replace(tzinfo=CHINA_TIME)
            if m[2]:
                moment = moment.replace(microsecond=int(m[2].ljust(6, "0")))
            return moment.astimezone(UTC)
        except (ValueError, OverflowError):
            raise self.adapter.error(
                f"{local(el)} {value!r} is not a time YYYYMMDDhhmmss (China Standard Time)", **self.where(el)
            ) from None

    # -- the document ----------------------------------------------------------

    def read(self, data: bytes) -> records_pb2.Record:
        root = parse_xml(data, adapter=self.adapter.name, source=self.source)
        if local(root) != "DecMessage":
            raise self.adapter.error(f"root element is <{local(root)}>, not a GACC <DecMessage>", **self.where(root))
        head = find(root, "DecHead")
        if head is None:
            raise self.missing(root, "DecHead", "a declaration needs its head")

        entry_id, el = self.required(head, "EntryId", "the 18-digit entry number of an accepted declaration")
        self.shaped(entry_id, el, _ENTRY_ID, "an 18-digit entry number (or another service's declaration number)")
        flag, el = self.required(head, "IEFlag", "I (import) or E (export)")
        if flag not in ("I", "E"):
            raise self.adapter.error(f"IEFlag {flag!r} is neither I (import) nor E (export)", **self.where(el))
        export = flag == "E"
        ie_date, el = self.required(head, "IEDate", "the date of import or export")
        accepted = self.date(ie_date, el)
        other_code, el = self.required(head, "TradeCountry", "the country of dispatch or destination")
        other = self.country(other_code, el)

        created = datetime.fromisoformat(accepted).replace(tzinfo=UTC)
        sign = find(root, "DecSign")
        sign_date, el = self.value(sign, "SignDate") if sign is not None else ("", None)
        if sign_date and el is not None:
            created = self.instant(sign_date, el)

        rec = new_record(
            source_format=SOURCE_FORMAT,
            source_record_ref=entry_id,
            record_type="declaration_snapshot",
            sender_country="CN",
            receiver_countries=[other],
            sender_authority=authority_of("CN"),
            created_at=created,
        )
        decl = rec.declaration_snapshot
        decl.declaration_no = entry_id
        decl.direction = records_pb2.DIRECTION_EXPORT if export else records_pb2.DIRECTION_IMPORT
        decl.acceptance_date = accepted
        decl.dispatch_country, decl.destination_country = ("CN", other) if export else (other, "CN")
        self.head(head, decl, export)
        documents = self.documents(root)
        self.items(root, decl, documents)
        for container in find_all(root, "DecContainers", "Container"):
            number, el = self.required(container, "ContainerId", "the container number")
            decl.container_ids.append(self.shaped(number, el, _CONTAINER, "an ISO 6346 container number"))
        return rec

    def head(self, head: Element, decl: records_pb2.DeclarationSnapshot, export: bool) -> None:
        seq_no, _ = self.value(head, "SeqNo")
        decl.lrn = seq_no
        # TradeMode is absent from declarations of other services written in
        # this format (their procedure codes are not GACC supervision modes).
        mode, el = self.value(head, "TradeMode")
        if el is not None:
            decl.procedure_code = self.shaped(mode, el, _TRADE_MODE, "a 4-digit supervision mode")
        office = ""
        for name in ("IEPort", "CustomMaster"):
            code, el = self.value(head, name)
            if code and el is not None:
                office = self.shaped(code, el, _DISTRICT, "a 4-digit customs district code")
        if office:
            decl.customs_office.customs_office_code = office
            decl.customs_office.country = "CN"
        area, el = self.value(head, "TradeAreaCode")
        if area and el is not None:
            decl.trading_country = self.country(area, el)
        traf, el = self.value(head, "TrafMode")
        if traf and el is not None and traf not in _codes.NO_REC19:
            with self.adapter.located(lambda: self.where(el)):
                decl.transport_mode = _codes.TRANSPORT_MODES.to_standard(traf)
        decl.transport_means_id, _ = self.value(head, "TrafName")
        decl.transport_doc_no, _ = self.value(head, "BillNo")
        terms, el = self.value(head, "TransMode")
        if terms and el is not None and terms not in _codes.NO_INCOTERM:
            with self.adapter.located(lambda: self.where(el)):
                decl.incoterm = _codes.INCOTERMS.to_standard(terms)
        gross, el = self.value(head, "GrossWet")
        if gross and el is not None:
            decl.total_gross_mass.value = self.decimal(gross, el)
            decl.total_gross_mass.unit = "KGM"
        count, el = self.value(head, "PackNo")
        if count and el is not None:
            decl.total_packages.count = int(self.shaped(count, el, _PACK_NO, "a number of packages"))
        wrap, el = self.value(head, "WrapType")
        if wrap and el is not None:
            with self.adapter.located(lambda: self.where(el)):
                decl.total_packages.kind = _codes.PACKAGES.to_standard(wrap)
        for name in ("NetWt",):
            weight, el = self.value(head, name)
            if weight and el is not None:
                self.decimal(weight, el)

        trader = self.chinese_party(head, "Trade", "EXPORTER" if export else "CONSIGNEE")
        if trader is None:
            raise self.missing(head, "TradeName", "the Chinese consignor or consignee (境内收发货人)")
        (decl.exporter if export else decl.consignee).CopyFrom(trader)
        agent = self.chinese_party(head, "Agent", "DECLARANT")
        if agent is not None:
            decl.declarant.CopyFrom(agent)
        foreign = self.foreign_party(head, "OverseasConsignee" if export else "OverseasConsignor", export)
        if foreign is not None:
            (decl.consignee if export else decl.exporter).CopyFrom(foreign)

    def chinese_party(self, head: Element, prefix: str, role: str) -> common_pb2.Party | None:
        name, _ = self.value(head, f"{prefix}Name")
        scc, scc_el = self.value(head, f"{prefix}CodeScc")
        code, code_el = self.value(head, f"{prefix}Code")
        if not (name or scc or code):
            return None
        party = common_pb2.Party(name=name, country="CN", role=role)
        if scc and scc_el is not None:
            party.id = self.shaped(scc, scc_el, _USCC, "an 18-character unified social credit code")
            party.id_scheme = "USCC"
        elif code and code_el is not None:
            party.id = self.shaped(code, code_el, _CUSTOMS_CODE, "a 10-character customs registration code")
            party.id_scheme = "GACC"
        return party

    def foreign_party(self, head: Element, prefix: str, export: bool) -> common_pb2.Party | None:
        english, _ = self.value(head, f"{prefix}Ename")
        chinese, _ = self.value(head, f"{prefix}Cname")
        code, _ = self.value(head, f"{prefix}Code")
        address, _ = self.value(head, f"{prefix}Addr")
        code = "" if code.upper() == "NO" else code
        if not (english or chinese or code or address):
            return None
        party = common_pb2.Party(name=english or chinese, address=address, role="CONSIGNEE" if export else "EXPORTER")
        if code:
            party.id = code
            party.id_scheme = "AEO"
        return party

    def documents(self, root: Element) -> list[common_pb2.DocRef]:
        docs = []
        for licence in find_all(root, "DecLicenseDocus", "LicenseDocu"):
            code, el = self.required(licence, "DocuCode", "the GACC code of the licence or permit")
            doc_type = _codes.document_type(code)
            if doc_type is None:
                raise self.adapter.error(f"DocuCode {code!r} is not a GACC licence code", **self.where(el))
            number, _ = self.required(licence, "CertCode", "the number of the licence or permit")
            docs.append(common_pb2.DocRef(type=doc_type, number=number, issuer_country="CN"))
        return docs

    def items(self, root: Element, decl: records_pb2.DeclarationSnapshot, docs: list[common_pb2.DocRef]) -> None:
        goods = find_all(root, "DecLists", "DecList")
        if not goods:
            lists = find(root, "DecLists")
            raise self.missing(root if lists is None else lists, "DecList", "a declaration needs at least one item")
        seen: set[int] = set()
        for el in goods:
            item = decl.items.add()
            number, num_el = self.required(el, "GNo", "the item number")
            item.seq = int(self.shaped(number, num_el, _G_NO, "an item number (1-9999)"))
            if item.seq in seen:
                raise self.adapter.error(f"GNo {item.seq} is used by two items", **self.where(num_el))
            seen.add(item.seq)
            code, code_el = self.required(el, "CodeTS", "the 10-digit commodity code")
            self.shaped(code, code_el, _CODE_TS, "a 10-digit commodity code")
            item.commodity.hs6 = code[:6]
            item.commodity.national_code = code
            item.commodity.description, _ = self.value(el, "GName")
            origin, origin_el = self.value(el, "OriginCountry")
            if origin and origin_el is not None:
                item.commodity.origin_country = self.country(origin, origin_el)
            destination, dest_el = self.value(el, "DestinationCountry")
            if destination and dest_el is not None:
                self.country(destination, dest_el)
            self.quantities(el, item)
            total, total_el = self.value(el, "DeclTotal")
            if total and total_el is not None:
                item.invoice_amount.amount = self.decimal(total, total_el)
                curr, curr_el = self.required(el, "TradeCurr", "the currency of DeclTotal")
                item.invoice_amount.currency = self.currency(curr, curr_el)
            price, price_el = self.value(el, "DeclPrice")
            if price and price_el is not None:
                self.decimal(price, price_el)
            item.documents.extend(docs)

    def quantities(self, el: Element, item: records_pb2.DeclarationItem) -> None:
        units: dict[str, str] = {}
        for kind in ("G", "First", "Second"):
            unit, unit_el = self.value(el, f"{kind}Unit")
            qty, qty_el = self.value(el, f"{kind}Qty" if kind != "G" else "GQty")
            if unit and unit_el is not None:
                units[kind] = self.unit(unit, unit_el)
            if qty and qty_el is not None:
                self.decimal(qty, qty_el)
                if kind not in units:
                    raise self.missing(el, f"{kind}Unit", f"the unit of {kind}Qty")
        g_qty, _ = self.value(el, "GQty")
        if g_qty:
            item.supplementary_quantity.value = g_qty
            item.supplementary_quantity.unit = units["G"]
        first, _ = self.value(el, "FirstQty")
        if first and units.get("First") == "KGM":
            item.net_mass.value = first
            item.net_mass.unit = "KGM"


def read_declaration(adapter: BaseAdapter, data: bytes, source: str) -> records_pb2.Record:
    """The declaration of one DecMessage.

    Raises:
        AdapterError: not a well-formed DecMessage, a required element
            missing, or a code no table knows; the location gives the XPath.
    """
    return _Reader(adapter, source).read(data)
