"""Reading CUSDEC messages into declaration snapshots.

An interchange is ``[UNA] UNB (UNH ... UNT)+ UNZ``; each CUSDEC message is
one declaration. Segments before the first CST belong to the declaration,
segments after a CST to that goods item, until the next CST. The control
counts are checked (UNT segment count and reference, UNZ message count and
reference): a count that does not match means segments were lost or added
in transit, and the file is refused rather than half read.

Segments and qualifiers this adapter does not map are read past: national
MIGs carry many (TDT, GIS, DOC, TAX...) that records have no field for.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

from tamga.adapters.edifact import _mapping as m
from tamga.adapters.edifact._syntax import Interchange, Segment
from tamga.adapters.sdk import codes
from tamga.adapters.sdk.records import new_record
from tamga.errors import AdapterError
from tamga.v1 import common_pb2, records_pb2

__all__ = ["read_messages"]

_NUMBER = re.compile(r"^-?\d+([.,]\d+)?$")
_DIGITS = re.compile(r"^\d+$")
_SENDER = re.compile(r"^([A-Z]{2})CUSTOMS$")

Fail = Callable[..., AdapterError]


def read_messages(ic: Interchange, *, source_format: str, fail: Fail) -> list[records_pb2.Record]:
    """Every CUSDEC message of an interchange, as a record.

    ``fail(message, **location)`` builds the adapter's located error.
    """
    segs = ic.segments
    pos = 1 if segs and segs[0].tag == "UNA" else 0
    if pos >= len(segs) or segs[pos].tag != "UNB":
        found = segs[pos] if pos < len(segs) else segs[-1]
        raise fail("an interchange must begin with a UNB segment", **found.where())
    unb = segs[pos]
    control_ref = unb.get(5)
    if not control_ref:
        raise fail("UNB has no interchange control reference (0020)", **unb.where())
    sender_match = _SENDER.match(unb.get(2))
    unb_country = sender_match.group(1) if sender_match and codes.is_country(sender_match.group(1)) else ""
    records: list[records_pb2.Record] = []
    i = pos + 1
    while i < len(segs):
        seg = segs[i]
        if seg.tag == "UNH":
            end = next((j for j in range(i + 1, len(segs)) if segs[j].tag in ("UNT", "UNH", "UNZ")), None)
            if end is None or segs[end].tag != "UNT":
                at = segs[end] if end is not None else segs[-1]
                raise fail(f"message {seg.get(1)!r} opened by UNH is not closed by a UNT", **at.where())
            records.append(_Message(segs[i : end + 1], unb_country, source_format, fail, ic.decimal_mark).read())
            i = end + 1
            continue
        if seg.tag == "UNZ":
            _check_unz(seg, len(records), control_ref, fail)
            if i + 1 < len(segs):
                raise fail("segments after UNZ: the interchange has ended", **segs[i + 1].where())
            if not records:
                raise fail("the interchange holds no message", **seg.where())
            return records
        if seg.tag in ("UNG", "UNE"):
            raise fail(
                "functional groups (UNG/UNE) are not supported; send messages directly in the UNB", **seg.where()
            )
        raise fail(f"segment {seg.tag} outside a message (between UNT and UNH)", **seg.where())
    raise fail("the interchange is not closed by a UNZ segment (truncated file?)", **segs[-1].where())


def _check_unz(unz: Segment, messages: int, control_ref: str, fail: Fail) -> None:
    if unz.get(1) != str(messages):
        raise fail(f"UNZ says {unz.get(1)!r} messages but the interchange holds {messages}", **unz.where())
    if unz.get(2) != control_ref:
        raise fail(
            f"UNZ control reference {unz.get(2)!r} differs from the UNB's {control_ref!r}",
            **unz.where(),
        )


class _Message:
    """One CUSDEC message, UNH to UNT inclusive."""

    def __init__(self, segs: list[Segment], unb_country: str, source_format: str, fail: Fail, decimal: str) -> None:
        self.segs = segs
        self.unb_country = unb_country
        self.source_format = source_format
        self.fail = fail
        self.decimal = decimal
        self.seen: set[tuple[int, str]] = set()

    # -- helpers ------------------------------------------------------------

    def once(self, seg: Segment, scope: int, key: str) -> None:
        """Refuse a second segment of the same meaning in one declaration or item."""
        if (scope, key) in self.seen:
            where = "goods item" if scope else "declaration"
            raise self.fail(f"{key} appears twice in one {where}", **seg.where())
        self.seen.add((scope, key))

    def number(self, seg: Segment, value: str, what: str) -> str:
        if not _NUMBER.match(value):
            raise self.fail(f"{what} {value!r} is not a decimal number", **seg.where())
        return value.replace(",", ".")

    def country(self, seg: Segment, code: str, what: str) -> str:
        if not codes.is_country(code):
            raise self.fail(f"{what} {code!r} is not an ISO 3166-1 alpha-2 country code", **seg.where())
        return code

    def money(self, seg: Segment, target: common_pb2.Money) -> None:
        amount, currency = seg.get(1, 2), seg.get(1, 3)
        if not amount or not currency:
            raise self.fail(f"MOA+{seg.get(1)} needs an amount and a currency (C516 5004 and 6345)", **seg.where())
        if not codes.is_currency(currency):
            raise self.fail(f"currency {currency!r} is not an ISO 4217 code", **seg.where())
        target.amount = self.number(seg, amount, f"MOA+{seg.get(1)} amount")
        target.currency = currency

    def quantity(self, seg: Segment, target: common_pb2.Quantity) -> None:
        unit, value = seg.get(3, 1), seg.get(3, 2)
        if not unit or not value:
            raise self.fail("MEA needs a unit and a value (C174 6411 and 6314)", **seg.where())
        if unit not in m.REC20_UNITS:
            raise self.fail(f"unit {unit!r} is not a UNECE Recommendation 20 code this adapter knows", **seg.where())
        target.value = self.number(seg, value, "MEA value")
        target.unit = unit

    # -- reading ------------------------------------------------------------

    def read(self) -> records_pb2.Record:
        unh, unt = self.segs[0], self.segs[-1]
        ref = unh.get(1)
        if not ref:
            raise self.fail("UNH has no message reference number (0062)", **unh.where())
        ident = unh.components(2)
        if ident[:3] != ["CUSDEC", "D", "96B"]:
            raise self.fail(
                f"message {':'.join(ident)!r} is not CUSDEC:D:96B, the only message this adapter reads",
                **unh.where(),
            )
        if unt.get(1) != str(len(self.segs)):
            raise self.fail(
                f"UNT says the message has {unt.get(1)!r} segments but it has {len(self.segs)} (UNH to UNT)",
                **unt.where(),
            )
        if unt.get(2) != ref:
            raise self.fail(f"UNT message reference {unt.get(2)!r} differs from the UNH's {ref!r}", **unt.where())

        decl = records_pb2.DeclarationSnapshot()
        function = common_pb2.MESSAGE_FUNCTION_ORIGINAL
        created: datetime | None = None
        bgm_seen = False
        item: records_pb2.DeclarationItem | None = None
        origin_default = ""
        for seg in self.segs[1:-1]:
            scope = item.seq if item is not None else 0
            if seg.tag == "BGM":
                if item is not None or bgm_seen:
                    raise self.fail("BGM must come once, at the start of the message", **seg.where())
                bgm_seen = True
                function = self.bgm(seg, decl)
            elif seg.tag == "DTM" and seg.get(1) == "137" and item is None:
                self.once(seg, 0, "DTM+137")
                created = self.dtm(seg, decl)
            elif seg.tag == "GIS" and item is None:
                self.once(seg, 0, "GIS")
                decl.procedure_code = seg.get(1)
            elif seg.tag == "RFF" and seg.get(1) == m.RFF_UCR and item is None:
                self.once(seg, 0, "RFF+UCN")
                decl.ucr = seg.get(1, 2)
            elif seg.tag == "NAD" and seg.get(1) in m.PARTIES and item is None:
                self.once(seg, 0, f"NAD+{seg.get(1)}")
                self.nad(seg, getattr(decl, m.PARTIES[seg.get(1)]))
            elif seg.tag == "LOC":
                origin_default = self.loc(seg, decl, item, origin_default)
            elif seg.tag == "CST":
                item = self.cst(seg, decl)
            elif seg.tag == "FTX" and seg.get(1) == m.FTX_GOODS and item is not None:
                text = "".join(seg.components(4))
                item.commodity.description += text
            elif seg.tag == "MEA" and seg.get(1) == m.MEA_WEIGHT and seg.get(2) in (m.MEA_GROSS, m.MEA_NET):
                self.once(seg, scope, f"MEA+WT+{seg.get(2)}")
                if item is None:
                    if seg.get(2) != m.MEA_GROSS:
                        continue  # net mass of the whole declaration: records carry none
                    self.quantity(seg, decl.total_gross_mass)
                else:
                    self.quantity(seg, item.gross_mass if seg.get(2) == m.MEA_GROSS else item.net_mass)
            elif seg.tag == "PAC" and seg.get(1):
                self.once(seg, scope, "PAC")
                self.pac(seg, decl.total_packages if item is None else item.packages)
            elif seg.tag == "MOA":
                self.moa(seg, decl, item, scope)
        if not bgm_seen:
            raise self.fail("the message has no BGM segment (document code and number)", **unh.where())
        if created is None:
            raise self.fail("the message has no DTM+137 (document date/time)", **unh.where())
        if not decl.items:
            raise self.fail("the message has no goods item (CST segment)", **unh.where())
        for it in decl.items:
            if not it.commodity.origin_country and origin_default:
                it.commodity.origin_country = origin_default
        return self.record(decl, function, created, unh)

    def bgm(self, seg: Segment, decl: records_pb2.DeclarationSnapshot) -> int:
        code, number, function = seg.get(1), seg.get(2), seg.get(3)
        if code not in m.DOCUMENT_CODES:
            raise self.fail(
                f"BGM document code {code!r} is neither 830 (export declaration) nor 929 (import declaration)",
                **seg.where(),
            )
        if not number:
            raise self.fail("BGM has no document number (1004), the declaration number", **seg.where())
        if function and function not in m.FUNCTIONS:
            raise self.fail(
                f"BGM message function {function!r} is not 9 (original), 5 (replacement) or 1 (cancellation)",
                **seg.where(),
            )
        decl.direction = m.DOCUMENT_CODES[code]
        decl.declaration_no = number
        return m.FUNCTIONS[function or "9"]

    def dtm(self, seg: Segment, decl: records_pb2.DeclarationSnapshot) -> datetime:
        value, fmt = seg.get(1, 2), seg.get(1, 3)
        if not fmt:
            fmt = next((f for f, n in m.DATE_FORMATS.items() if n == len(value)), "")
        if fmt not in m.DATE_FORMATS:
            raise self.fail(f"DTM format {fmt!r} is not 102, 203 or 204", **seg.where())
        pattern = {"102": "%Y%m%d", "203": "%Y%m%d%H%M", "204": "%Y%m%d%H%M%S"}[fmt]
        try:
            if len(value) != m.DATE_FORMATS[fmt] or not _DIGITS.match(value):
                raise ValueError(value)
            moment = datetime.strptime(value, pattern).replace(tzinfo=UTC)
        except ValueError:
            raise self.fail(f"DTM+137 value {value!r} is not a date of format {fmt}", **seg.where()) from None
        decl.acceptance_date = moment.date().isoformat()
        return moment

    def nad(self, seg: Segment, party: common_pb2.Party) -> None:
        party.SetInParent()
        party.id = seg.get(2, 1)
        party.id_scheme = seg.get(2, 2) if party.id else ""
        party.name = "".join(seg.components(4))
        party.address = "".join(seg.components(5))
        country = seg.get(9)
        if country:
            party.country = self.country(seg, country, "NAD country")

    def loc(
        self, seg: Segment, decl: records_pb2.DeclarationSnapshot, item: records_pb2.DeclarationItem | None, dflt: str
    ) -> str:
        qualifier, code = seg.get(1), seg.get(2)
        if qualifier not in (m.LOC_ORIGIN, m.LOC_DESTINATION, m.LOC_EXPORTATION):
            return dflt
        if not code:
            raise self.fail(f"LOC+{qualifier} has no country (C517 3225)", **seg.where())
        country = self.country(seg, code, f"LOC+{qualifier} country")
        scope = item.seq if item is not None else 0
        self.once(seg, scope, f"LOC+{qualifier}")
        if qualifier == m.LOC_ORIGIN:
            if item is None:
                return country  # origin for the whole declaration: each item that names none
            item.commodity.origin_country = country
        elif item is None and qualifier == m.LOC_DESTINATION:
            decl.destination_country = country
        elif item is None:
            decl.dispatch_country = country
        return dflt

    def cst(self, seg: Segment, decl: records_pb2.DeclarationSnapshot) -> records_pb2.DeclarationItem:
        seq, code = seg.get(1), seg.get(2)
        if not _DIGITS.match(seq) or not 0 < int(seq) < 2**31:
            raise self.fail(f"CST goods item number {seq!r} is not a positive whole number", **seg.where())
        if any(it.seq == int(seq) for it in decl.items):
            raise self.fail(f"goods item {seq} appears twice", **seg.where())
        if not _DIGITS.match(code) or not 6 <= len(code) <= 12:
            raise self.fail(f"CST tariff code {code!r} is not 6 to 12 digits (C246 7361)", **seg.where())
        item = decl.items.add()
        item.seq = int(seq)
        item.commodity.hs6 = code[:6]
        if len(code) > 6:
            item.commodity.national_code = code
        return item

    def pac(self, seg: Segment, target: common_pb2.Packages) -> None:
        count = seg.get(1)
        if not _DIGITS.match(count) or int(count) >= 2**32:
            raise self.fail(f"PAC number of packages {count!r} is not a whole number", **seg.where())
        target.count = int(count)
        target.kind = seg.get(3)

    def moa(
        self, seg: Segment, decl: records_pb2.DeclarationSnapshot, item: records_pb2.DeclarationItem | None, scope: int
    ) -> None:
        qualifier = seg.get(1)
        if item is None:
            if qualifier == m.MOA_INVOICE_TOTAL:
                self.once(seg, 0, "MOA+39")
                self.money(seg, decl.invoice_amount)
            return
        if qualifier in (m.MOA_INVOICE_ITEM, m.MOA_INVOICE_TOTAL):
            # An item's MOA+39 (as in some MIG examples) is read as its invoice amount.
            self.once(seg, scope, "MOA+38/39")
            self.money(seg, item.invoice_amount)
        elif qualifier == m.MOA_CUSTOMS_VALUE:
            self.once(seg, scope, "MOA+40")
            self.money(seg, item.customs_value)

    def record(
        self, decl: records_pb2.DeclarationSnapshot, function: int, created: datetime, unh: Segment
    ) -> records_pb2.Record:
        export = decl.direction == records_pb2.DIRECTION_EXPORT
        own = "dispatch_country" if export else "destination_country"
        if not getattr(decl, own):
            party = decl.exporter if export else decl.consignee
            fallback = party.country or self.unb_country
            if not fallback:
                which = "LOC+35 (country of exportation)" if export else "LOC+28 (country of destination)"
                raise self.fail(
                    f"cannot tell the declaring country: the message has no {which}, no country in NAD+"
                    f"{'EX' if export else 'CN'} and the UNB sender is not of the form <country>CUSTOMS",
                    **unh.where(),
                )
            setattr(decl, own, fallback)
        sender = getattr(decl, own)
        other = decl.destination_country if export else decl.dispatch_country
        rec = new_record(
            source_format=self.source_format,
            source_record_ref=decl.declaration_no,
            record_type="declaration_snapshot",
            sender_country=sender,
            receiver_countries=[other] if other else [],
            sender_authority=codes.authority_of(sender),
            created_at=created,
            # A correction or cancellation is a record of its own, not a
            # duplicate of the original: it gets its own (stable) id.
            index=0 if function == common_pb2.MESSAGE_FUNCTION_ORIGINAL else int(function),
            message_function=function,
        )
        rec.declaration_snapshot.CopyFrom(decl)
        return rec
