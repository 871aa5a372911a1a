"""What the two EAEU formats share: reading values with located errors, party
id schemes, presented-document kinds, long texts cut into pieces.

Every reader here takes the element it reads, so that an error says the line
and the XPath of the offending element, and never a bare ``ValueError``.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal

from lxml import etree
from tamga.adapters.sdk import BaseAdapter
from tamga.adapters.sdk.codes import EAEU_UNITS, authority_of, is_country, is_currency
from tamga.adapters.sdk.records import new_record
from tamga.adapters.sdk.xml import Element, children, find, local, text, where, xpath_of
from tamga.errors import AdapterError
from tamga.v1 import common_pb2, records_pb2

__all__ = [
    "DESCRIPTION_PIECE",
    "DOC_KINDS",
    "EAEU_MEMBERS",
    "Reader",
    "Writer",
    "attr",
    "direction_of",
    "doc_kind_code",
    "doc_kind_type",
    "id_scheme",
    "kilograms",
    "kind_of",
    "national_code",
    "pieces",
    "registration_number",
    "registration_parts",
    "sender_and_receivers",
    "tn_ved",
]

#: Members of the EAEU, which share one tariff nomenclature (TN VED).
EAEU_MEMBERS = frozenset({"AM", "BY", "KG", "KZ", "RU"})

#: Both formats cut a goods description into elements of at most 250
#: characters; the pieces are joined as they are (a piece may end mid-word).
DESCRIPTION_PIECE = 250

_DECIMAL = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")
_DIGITS = re.compile(r"^[0-9]+$")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")

#: The id a party's TaxpayerId is, by the party's country: Kazakhstan's
#: business identification number, Russia's and Kyrgyzstan's taxpayer number
#: (INN), Belarus's payer number (UNN/UNP). Other countries: TIN.
_SCHEMES = {"KZ": "BIN", "RU": "INN", "KG": "INN", "BY": "UNN"}

#: Kinds of presented documents (EAEU list 2009) with a Tamga DocRef type.
#: Others travel as ``EAEU-2009:<code>`` so that nothing is lost. (verify)
DOC_KINDS = {"01011": "LICENCE", "02015": "CMR", "03011": "CONTRACT", "04021": "INVOICE"}
_DOC_TYPES = {v: k for k, v in DOC_KINDS.items()}
_DOC_PREFIX = "EAEU-2009:"
#: "Other documents" in list 2009, for a DocRef type the list has no code for. (verify)
_OTHER_DOC = "09999"

_KINDS = {"ИМ": records_pb2.DIRECTION_IMPORT, "ЭК": records_pb2.DIRECTION_EXPORT, "ТТ": records_pb2.DIRECTION_TRANSIT}
_KIND_OF = {v: k for k, v in _KINDS.items()}


def id_scheme(country: str) -> str:
    """Scheme of a TaxpayerId issued in ``country``."""
    return _SCHEMES.get(country, "TIN")


def doc_kind_type(code: str) -> str:
    """DocRef type of a list 2009 document kind."""
    return DOC_KINDS.get(code, _DOC_PREFIX + code)


def doc_kind_code(doc_type: str) -> str:
    """List 2009 document kind of a DocRef type (09999, other, when there is none)."""
    if doc_type in _DOC_TYPES:
        return _DOC_TYPES[doc_type]
    if doc_type.startswith(_DOC_PREFIX) and doc_type[len(_DOC_PREFIX) :]:
        return doc_type[len(_DOC_PREFIX) :]
    return _OTHER_DOC


def direction_of(kind: str) -> int | None:
    """Record direction of a declaration kind (ИМ, ЭК, ТТ), None when unknown."""
    return _KINDS.get(kind)


def kind_of(direction: int) -> str:
    """Declaration kind written for a record direction (ИМ when unset)."""
    return _KIND_OF.get(direction, "ИМ")


def sender_and_receivers(direction: int, dispatch: str, destination: str) -> tuple[str, list[str]]:
    """The declaring country and the other side: an import is declared in the
    country of destination, an export (and a transit) in the country of dispatch."""
    if direction == records_pb2.DIRECTION_IMPORT:
        return destination, [dispatch]
    return dispatch, [destination]


def registration_number(office: str, accepted: str, serial: str) -> str:
    """The printed form of a registration number: ``office/DDMMYY/serial``."""
    return f"{office}/{accepted[8:10]}{accepted[5:7]}{accepted[2:4]}/{serial}"


def registration_parts(number: str, accepted: str) -> tuple[str, str, str] | None:
    """(office, date, serial) of a number ``office/DDMMYY/serial``; None for any
    other number (another country's, or a document id). The date is the
    acceptance date when it agrees with DDMMYY, else 20YY-MM-DD."""
    parts = number.split("/")
    if len(parts) != 3 or not all(parts) or not (parts[1].isascii() and parts[1].isdigit() and len(parts[1]) == 6):
        return None
    dd, mm, yy = parts[1][:2], parts[1][2:4], parts[1][4:]
    day = accepted if accepted[2:4] == yy and accepted[5:7] == mm and accepted[8:10] == dd else f"20{yy}-{mm}-{dd}"
    return parts[0], day, parts[2]


def tn_ved(commodity: common_pb2.Commodity, sender_country: str) -> str:
    """The commodity code written: the national code of a record from an EAEU
    member (a TN VED code, 10 digits), else the HS subheading alone (another
    country's national extension is not a TN VED code)."""
    code = commodity.national_code
    if sender_country in EAEU_MEMBERS and len(code) == 10 and code.isdigit() and code.startswith(commodity.hs6):
        return code
    return commodity.hs6


def national_code(code: str) -> str:
    """The national code a read commodity code gives: a code of 8 digits or
    more; a 6-digit code is the HS subheading only."""
    return code if len(code) >= 8 else ""


def pieces(value: str) -> list[str]:
    """A long text cut into the pieces the formats hold."""
    return [value[i : i + DESCRIPTION_PIECE] for i in range(0, len(value), DESCRIPTION_PIECE)] or [""]


def kilograms(quantity: common_pb2.Quantity) -> str:
    """A mass in kilograms, as the ESADout_CU weight fields want it; "" when
    the unit is not a mass unit."""
    factor = {"KGM": Decimal(1), "TNE": Decimal(1000), "GRM": Decimal("0.001")}.get(quantity.unit)
    if factor is None or not _DECIMAL.match(quantity.value):
        return ""
    if factor == 1:
        return quantity.value
    return format(Decimal(quantity.value) * factor, "f")


class Reader:
    """Reads values out of one document, with errors located in it."""

    def __init__(self, adapter: BaseAdapter, source: str) -> None:
        self.adapter = adapter
        self.source = source

    def error(self, message: str, el: Element) -> AdapterError:
        return self.adapter.error(message, **where(el, self.source))

    def required(self, parent: Element, *path: str) -> Element:
        """The element down ``path``; an error naming the first missing one."""
        el = parent
        for name in path:
            found = find(el, name)
            if found is None:
                loc = where(el, self.source)
                loc["xpath"] = f"{xpath_of(el)}/{name}"
                raise self.adapter.error(f"required element {name} is missing", **loc)
            el = found
        return el

    def value(self, el: Element) -> str:
        """Text of an element that must not be empty."""
        value = text(el)
        if not value:
            raise self.error(f"{local(el)} is empty", el)
        return value

    def decimal(self, el: Element) -> str:
        """A decimal number, kept as written."""
        value = self.value(el)
        if not _DECIMAL.match(value):
            raise self.error(f"{local(el)} {value!r} is not a decimal number", el)
        return value

    def count(self, el: Element, *, at_most: int = 999_999) -> int:
        value = self.value(el)
        if not _DIGITS.match(value) or int(value) > at_most:
            raise self.error(f"{local(el)} {value!r} is not a whole number up to {at_most}", el)
        return int(value)

    def country(self, el: Element) -> str:
        """An ISO 3166-1 alpha-2 code (EAEU list 2021 is alpha-2)."""
        value = self.value(el)
        if not is_country(value):
            raise self.error(f"country code {value!r} is not in EAEU list 2021 (ISO 3166-1 alpha-2)", el)
        return value

    def currency(self, value: str, el: Element) -> str:
        if not is_currency(value):
            raise self.error(f"currency code {value!r} is not in EAEU list 2022 (ISO 4217)", el)
        return value

    def unit(self, value: str, el: Element) -> str:
        """The Rec 20 unit of an EAEU list 2016 unit code."""
        try:
            return EAEU_UNITS.to_standard(value)
        except AdapterError as exc:  # where() only on failure: it walks the tree
            raise self.error(exc.message, el) from None

    def date(self, el: Element) -> str:
        """An ISO 8601 date (YYYY-MM-DD), checked."""
        value = self.value(el)
        try:
            if not _DATE.match(value):
                raise ValueError
            date.fromisoformat(value)
        except ValueError:
            raise self.error(f"{local(el)} {value!r} is not a date (YYYY-MM-DD)", el) from None
        return value

    def instant(self, el: Element) -> datetime:
        """An xs:dateTime; without an offset it is taken as UTC."""
        value = self.value(el)
        try:
            dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
            if dt.tzinfo is None:
                dt = dt.replace(tzinfo=UTC)
            dt = dt.astimezone(UTC)
            if not 1970 <= dt.year <= 9999:
                raise ValueError
        except (ValueError, OverflowError):
            raise self.error(f"{local(el)} {value!r} is not a date-time (YYYY-MM-DDThh:mm:ss)", el) from None
        return dt

    def long_text(self, parent: Element, name: str) -> str:
        """A text cut into repeated elements, joined back."""
        return "".join(el.text or "" for el in children(parent, name)).strip()


def attr(el: Element, name: str) -> str:
    """An attribute by local name, stripped ("" when absent)."""
    for key, value in el.attrib.items():
        if etree.QName(key).localname == name:
            return str(value).strip()
    return ""


class Writer:
    """Builds a document; text lxml cannot put in XML becomes an AdapterError."""

    def __init__(self, adapter: BaseAdapter, index: int) -> None:
        self.adapter = adapter
        self.index = index

    def sub(self, parent: Element, tag: str, value: str | None = None, /, **attrib: str) -> Element:
        try:
            el = etree.SubElement(parent, tag, {k: v for k, v in attrib.items() if v})
            if value is not None:
                el.text = value
        except ValueError as exc:
            raise self.adapter.error(
                f"{etree.QName(tag).localname} cannot be written as XML: {exc}",
                record=f"records[{self.index}]",
                field=etree.QName(tag).localname,
            ) from None
        return el

    def opt(self, parent: Element, tag: str, value: str, /, **attrib: str) -> Element | None:
        """A child only when ``value`` is not empty."""
        return self.sub(parent, tag, value, **attrib) if value else None


def declaration_record(
    *,
    source_format: str,
    number: str,
    lrn: str,
    direction: int,
    procedure: str,
    accepted: str,
    created: datetime,
    sender: str,
    receivers: list[str],
    dispatch: str,
    destination: str,
    office: str,
) -> records_pb2.Record:
    """A DeclarationSnapshot record with the header both EAEU formats carry filled in."""
    rec = new_record(
        source_format=source_format,
        source_record_ref=number,
        record_type="declaration_snapshot",
        sender_country=sender,
        receiver_countries=receivers,
        sender_authority=authority_of(sender),
        created_at=created,
    )
    decl = rec.declaration_snapshot
    decl.declaration_no = number
    decl.lrn = lrn
    decl.direction = direction  # type: ignore[assignment]
    decl.procedure_code = procedure
    decl.acceptance_date = accepted
    decl.dispatch_country = dispatch
    decl.destination_country = destination
    if office:
        decl.customs_office.customs_office_code = office
        decl.customs_office.country = sender
    return rec
