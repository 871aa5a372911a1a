"""Record validation at submit time: every problem of every record, each with its field path.

Why the node checks at all: a record that leaves is read by another customs
service's system, which cannot ask back what ``"4,500.00"`` or ``"KGS"`` or
a country ``"uz"`` meant. What the partner could not use is refused at intake,
before anything is sealed or queued, and the national IT team gets one list
of everything wrong, not the first problem only, so one correction fixes the
file.

Rules (schema v1, domain reference section 1):

- meta: ``record_id`` a UUID; sender and receiver countries ISO 3166-1
  alpha-2, at least one receiver, none the sender; authority, source format
  and source reference not empty; ``created_at`` set; message function and
  handling set; exactly one body.
- each body: its required (R) fields, and its conditional (C) ones when the
  condition holds (a REFUSAL needs its ground, a TIR transit its carnet...).
- everywhere: countries alpha-2; money an ISO 4217 currency and a plain
  decimal amount (no exponent, no thousands separator); quantities a plain
  decimal in a UNECE Rec 20 unit; HS subheadings six digits of a real chapter;
  national codes 8-12 digits extending the subheading; UN/LOCODEs of a real
  country; dates real ``YYYY-MM-DD`` days; SHA-256 in lowercase hex; Rec 19
  transport modes; ISO 6346 container numbers with their check digit;
  Incoterms 2020.

Code lists come from ``pycountry`` (ISO 3166-1, ISO 4217, ISO 639) and from
``codelists/rec20_subset.csv`` beside this module (a subset of Rec 20: a real
unit missing there is added to the file, never waved through).

Each problem reads ``PATH: what is wrong``, the path in the protobuf field
names, e.g. ``records[0].declaration_snapshot.items[1].commodity.hs6: '29037'
is not an HS subheading (6 digits)``.

Speed: every submitted record passes through here before it is queued, on a
sender that is CPU-bound, so a valid record must cost little. Each check tests
the happy case first (frozensets, pre-bound regexes, no string building) and
only when that fails runs the detailed rules that word the problem. Paths
travel as ``(at, key)`` pieces, ``key`` a field name, a dotted suffix or a list
index, and :func:`_path` joins them only for a problem.
"""

from __future__ import annotations

import csv
import functools
import io
import re
from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal
from importlib import resources

import pycountry
from google.protobuf.message import Message
from tamga.errors import ValidationError
from tamga.v1 import common_pb2, records_pb2

__all__ = ["raise_if_invalid", "validate_record", "validate_records"]

# -- code lists ------------------------------------------------------------------


@functools.cache
def _countries() -> frozenset[str]:
    return frozenset(c.alpha_2 for c in pycountry.countries)


@functools.cache
def _currencies() -> frozenset[str]:
    return frozenset(c.alpha_3 for c in pycountry.currencies)


@functools.cache
def _languages() -> frozenset[str]:
    codes = set()
    for lang in pycountry.languages:
        codes.add(lang.alpha_3)
        if hasattr(lang, "alpha_2"):
            codes.add(lang.alpha_2)
    return frozenset(codes)


@functools.cache
def rec20_units() -> frozenset[str]:
    """The UNECE Rec 20 unit codes the node accepts (a subset, see the CSV)."""
    text = resources.files("tamga").joinpath("codelists/rec20_subset.csv").read_text("utf-8")
    rows = csv.DictReader(io.StringIO("\n".join(line for line in text.splitlines() if not line.startswith("#"))))
    return frozenset(r["code"] for r in rows)


#: Incoterms 2020.
INCOTERMS_2020 = frozenset({"EXW", "FCA", "CPT", "CIP", "DAP", "DPU", "DDP", "FAS", "FOB", "CFR", "CIF"})
#: Montreal Protocol annexes and groups (Annex D lists products, not substances).
MONTREAL_GROUPS = frozenset({"A/I", "A/II", "B/I", "B/II", "B/III", "C/I", "C/II", "C/III", "E/I", "F/I", "F/II"})
#: Basel Convention Annex III hazardous characteristics.
BASEL_H_CODES = frozenset(
    {"H1", "H3", "H4.1", "H4.2", "H4.3", "H5.1", "H5.2", "H6.1", "H6.2", "H8", "H10", "H11", "H12", "H13"}
)
#: Measures a contact-point request may ask for.
MEASURES = frozenset({"VERIFY_DECLARATION", "VERIFY_DOCUMENT", "SURVEILLANCE", "INQUIRY", "NOTIFICATION"})

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_DECIMAL = re.compile(r"^[0-9]+(\.[0-9]+)?$")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_HS6 = re.compile(r"^[0-9]{6}$")
_NATIONAL = re.compile(r"^[0-9]{8,12}$")
_UNLOCODE = re.compile(r"^[A-Z]{2}[A-Z2-9]{3}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_REC19 = re.compile(r"^[0-9]$")
_CONTAINER = re.compile(r"^[A-Z]{3}[UJZ][0-9]{7}$")
_CAS = re.compile(r"^[0-9]{2,7}-[0-9]{2}-[0-9]$")
_BASEL = re.compile(r"^([AB])([1-4][0-9]{3})$")
_Y_CODE = re.compile(r"^Y([1-9][0-9]?)$")
_DR_CODE = re.compile(r"^([DR])([1-9][0-9]?)$")
_UN_NUMBER = re.compile(r"^UN[0-9]{4}$")
_UNIDENTIFIED = re.compile(r"^substance not identified \(HS [0-9]{4}\.[0-9]{2}\)$")
# RFC 5646 language tag: language(-extlang)(-script)(-region)(-variant)*(-extension)*(-privateuse);
# the primary language subtag must then be an ISO 639 code.
_BCP47 = re.compile(
    r"^(?P<lang>[A-Za-z]{2,3})(?:-[A-Za-z]{3}){0,3}"
    r"(?:-[A-Za-z]{4})?"
    r"(?:-(?:[A-Za-z]{2}|[0-9]{3}))?"
    r"(?:-(?:[A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3}))*"
    r"(?:-[0-9A-WY-Za-wy-z](?:-[A-Za-z0-9]{2,8})+)*"
    r"(?:-[xX](?:-[A-Za-z0-9]{1,8})+)?$"
)
# ISO 6346 letter values: A=10 upwards, skipping multiples of 11.
_ISO6346_LETTERS = dict(zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ", [v for v in range(10, 39) if v % 11], strict=True))
# The ISO 6346 weighted sum (character value << position) of a well-formed number's serial digits, by three-digit
# block (positions 4-6 and 7-9), so a valid number's check costs two look-ups, not a loop over ten characters.
_ISO6346_SERIAL = tuple(
    {f"{n:03d}": sum(int(ch) << (start + i) for i, ch in enumerate(f"{n:03d}")) for n in range(1000)}
    for start in (4, 7)
)


@functools.cache
def _iso6346_owner(prefix: str) -> int:
    """The weighted sum of a container number's owner code and category letter (cached: at most 26³ x 3 exist)."""
    return sum(_ISO6346_LETTERS[ch] << i for i, ch in enumerate(prefix))


#: The two leading digits of an HS code whose chapter exists (01-97 without the reserved 77).
_HS_CHAPTERS = frozenset(f"{n:02d}" for n in range(1, 98) if n != 77)

# The regexes' ``match`` bound once: the happy path calls them for nearly every field.
_decimal = _DECIMAL.match
_date_form = _DATE.match
_hs6_form = _HS6.match
_national_form = _NATIONAL.match
_container_form = _CONTAINER.match

Key = str | int


def _path(at: str, key: Key) -> str:
    """The field path of a problem: ``at.key`` for a field (or dotted suffix), ``at[key]`` for a list element."""
    return f"{at}[{key}]" if isinstance(key, int) else f"{at}.{key}"


@functools.cache
def _enum_of(cls: type[Message], name: str) -> tuple[frozenset[int], str, str]:
    """Numbers, type name and zero-value name of the enum field ``name`` of message class ``cls``."""
    enum_type = cls.DESCRIPTOR.fields_by_name[name].enum_type
    zero = enum_type.values_by_number.get(0)
    return frozenset(enum_type.values_by_number), enum_type.name, zero.name if zero else ""


# -- happy paths -----------------------------------------------------------------
#
# Each answers "does this value pass every rule?" with plain reads and set
# look-ups. True must imply that the matching :class:`_Checker` method would
# report nothing; on False the method runs its rules in order to word the
# problems, so these never decide wording, only whether that work is needed.
# A message field unset reads as its empty default, which fails them all (none
# passes an empty amount, code or name): a caller may test the value first and
# ask ``HasField`` only when it fails.


def _container_ok(value: str) -> bool:
    return _container_form(value) is not None and _iso6346_total(value) % 11 % 10 == int(value[10])


def _iso6346_total(value: str) -> int:
    """The ISO 6346 weighted sum of the first ten characters of a well-formed container number."""
    return _iso6346_owner(value[:4]) + _ISO6346_SERIAL[0][value[4:7]] + _ISO6346_SERIAL[1][value[7:10]]


def _date_ok(value: str) -> bool:
    """Empty or a real ``YYYY-MM-DD`` day (an optional date)."""
    if not value:
        return True
    if _date_form(value) is None:
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _docref_ok(d: common_pb2.DocRef) -> bool:
    """A document reference where no file is required (``need_file`` False)."""
    uri, sha256, issuer = d.uri, d.sha256, d.issuer_country
    return (
        bool(d.number.strip() or uri.strip())
        and _date_ok(d.date)
        and _date_ok(d.valid_until)
        and (not issuer or issuer in _countries())
        and (_SHA256.match(sha256) is not None if sha256 else not uri)
    )


def _place_ok(p: common_pb2.Place) -> bool:
    unlocode, country = p.unlocode, p.country
    return (not country or country in _countries()) and bool(
        (unlocode and _UNLOCODE.match(unlocode) and unlocode[:2] in _countries() and country in ("", unlocode[:2]))
        or (not unlocode and (p.customs_office_code.strip() or p.name.strip()))
    )


def _party_ok(p: common_pb2.Party) -> bool:
    country = p.country
    return bool(p.name.strip() or p.id.strip()) and (not country or country in _countries())


def _money_ok(m: common_pb2.Money) -> bool:
    return m.currency in _currencies() and _decimal(m.amount) is not None


def _quantity_ok(q: common_pb2.Quantity) -> bool:
    return q.unit in rec20_units() and _decimal(q.value) is not None


def _commodity_ok(c: common_pb2.Commodity) -> bool:
    """An HS subheading (so also fine where one is required), a national code extending it, a real origin."""
    hs6, national, origin = c.hs6, c.national_code, c.origin_country
    return (
        _hs6_form(hs6) is not None
        and hs6[:2] in _HS_CHAPTERS
        and (not national or (_national_form(national) is not None and national.startswith(hs6)))
        and (not origin or origin in _countries())
    )


# -- the checker -----------------------------------------------------------------


class _Checker:
    """Collects problems; every check goes on after a failure so all are listed."""

    __slots__ = ("problems",)

    def __init__(self) -> None:
        self.problems: list[str] = []

    def add(self, path: str, what: str) -> None:
        self.problems.append(f"{path}: {what}")

    # Presence ---------------------------------------------------------------

    def text(self, at: str, msg: Message, name: str, *, why: str = "") -> bool:
        """A required string field; True when it is there."""
        if str(getattr(msg, name)).strip():
            return True
        self.add(f"{at}.{name}", f"missing{'; ' + why if why else ' (required)'}")
        return False

    def enum(self, at: str, msg: Message, name: str, *, required: bool = True) -> int:
        value: int = getattr(msg, name)
        numbers, type_name, zero_name = _enum_of(type(msg), name)
        if value not in numbers:
            self.add(f"{at}.{name}", f"{value} is not a value of {type_name}")
        elif value == 0 and required:
            self.add(f"{at}.{name}", f"unset ({zero_name}); it is required")
        return value

    def present(self, at: str, msg: Message, name: str, *, why: str = "") -> bool:
        """A required message field; True when it is set."""
        if msg.HasField(name):
            return True
        self.add(f"{at}.{name}", f"missing{'; ' + why if why else ' (required)'}")
        return False

    def at_least_one(self, at: str, msg: Message, name: str, what: str) -> bool:
        if len(getattr(msg, name)):
            return True
        self.add(f"{at}.{name}", f"empty; at least one {what} is required")
        return False

    # Codes ------------------------------------------------------------------

    def country(self, at: str, key: Key, code: str, *, required: bool = False) -> None:
        if code in _countries():
            return
        if not code:
            if required:
                self.add(_path(at, key), "missing; an ISO 3166-1 alpha-2 country code is required")
        else:
            self.add(_path(at, key), f"{code!r} is not an ISO 3166-1 alpha-2 code")

    def countries(self, at: str, name: str, values: Sequence[str]) -> None:
        if _countries().issuperset(values):
            return
        path = f"{at}.{name}"
        for i, code in enumerate(values):
            self.country(path, i, code, required=True)

    def decimal(self, at: str, key: Key, value: str, *, required: bool = False) -> bool:
        if _decimal(value):
            return True
        if not value:
            if required:
                self.add(_path(at, key), "missing; a decimal number is required")
            return False
        self.add(_path(at, key), f"{value!r} is not a plain decimal number (digits, optional '.' and digits)")
        return False

    def date(self, at: str, key: Key, value: str, *, required: bool = False) -> date | None:
        if not value:
            if required:
                self.add(_path(at, key), "missing; a date YYYY-MM-DD is required")
            return None
        if _date_form(value):
            try:
                return date.fromisoformat(value)
            except ValueError:
                self.add(_path(at, key), f"{value!r} is not a calendar date")
                return None
        self.add(_path(at, key), f"{value!r} is not a date in the form YYYY-MM-DD")
        return None

    def uuid(self, at: str, key: Key, value: str, *, required: bool = True) -> None:
        if not value:
            if required:
                self.add(_path(at, key), "missing; a UUID is required")
        elif not _UUID.match(value):
            self.add(_path(at, key), f"{value!r} is not a UUID (8-4-4-4-12 hex digits)")

    def hs6(self, at: str, key: Key, value: str) -> bool:
        if _hs6_form(value) and value[:2] in _HS_CHAPTERS:
            return True
        if not _hs6_form(value):
            self.add(_path(at, key), f"{value!r} is not an HS subheading (6 digits)")
        else:
            self.add(_path(at, key), f"{value!r} is not an HS subheading: chapter {value[:2]} does not exist")
        return False

    def rec19(self, at: str, key: Key, value: str) -> None:
        if value and not _REC19.match(value):
            self.add(_path(at, key), f"{value!r} is not a UNECE Rec 19 transport mode (one digit 0-9)")

    def container(self, at: str, key: Key, value: str) -> None:
        if _container_ok(value):
            return
        if not _container_form(value):
            self.add(_path(at, key), f"{value!r} is not an ISO 6346 container number (owner code, U/J/Z, 7 digits)")
            return
        total = _iso6346_total(value)
        if total % 11 % 10 != int(value[10]):
            self.add(_path(at, key), f"{value!r}: ISO 6346 check digit should be {total % 11 % 10}, not {value[10]}")

    def containers(self, at: str, name: str, values: Sequence[str]) -> None:
        if all(map(_container_ok, values[:])):  # the slice: see _declaration
            return
        path = f"{at}.{name}"
        for i, v in enumerate(values):
            self.container(path, i, v)

    def language(self, at: str, key: Key, value: str) -> None:
        if not value:
            self.add(_path(at, key), "missing; a BCP 47 language tag (e.g. 'ru', 'zh-Hans') is required")
            return
        m = _BCP47.match(value)
        if m is None:
            self.add(_path(at, key), f"{value!r} is not a BCP 47 language tag")
        elif m["lang"].lower() not in _languages():
            self.add(_path(at, key), f"{value!r}: {m['lang']!r} is not an ISO 639 language code")

    # Common types -----------------------------------------------------------
    #
    # Each tests the whole value on its happy path and, when that fails, works
    # through its rules in order to word every problem.

    def party(self, at: str, msg: Message, name: str, *, required: bool = True) -> None:
        if _party_ok(getattr(msg, name)):  # a name or an id: so the field is set
            return
        if not msg.HasField(name):
            if required:
                self.add(f"{at}.{name}", "missing; a party with a name or an id is required")
            return
        self.party_value(at, name, getattr(msg, name))

    def party_value(self, at: str, key: Key, p: common_pb2.Party) -> None:
        if _party_ok(p):
            return
        country = p.country
        path = _path(at, key)
        if not (p.name.strip() or p.id.strip()):
            self.add(path, "has neither name nor id")
        self.country(path, "country", country)

    def parties(self, at: str, name: str, values: Sequence[common_pb2.Party]) -> None:
        path = f"{at}.{name}"
        for i, p in enumerate(values):
            self.party_value(path, i, p)

    def money(self, at: str, key: Key, m: common_pb2.Money) -> None:
        if _money_ok(m):
            return
        amount, currency = m.amount, m.currency
        path = _path(at, key)
        self.decimal(path, "amount", amount, required=True)
        if not currency:
            self.add(f"{path}.currency", "missing; an ISO 4217 currency code is required")
        elif currency not in _currencies():
            self.add(f"{path}.currency", f"{currency!r} is not an ISO 4217 currency code")

    def quantity(self, at: str, key: Key, q: common_pb2.Quantity) -> None:
        if _quantity_ok(q):
            return
        value, unit = q.value, q.unit
        path = _path(at, key)
        self.decimal(path, "value", value, required=True)
        if not unit:
            self.add(f"{path}.unit", "missing; a UNECE Rec 20 unit code is required")
        elif unit not in rec20_units():
            self.add(f"{path}.unit", f"{unit!r} is not a UNECE Rec 20 unit code (e.g. KGM, TNE, LTR, H87)")

    def commodity(self, at: str, key: Key, c: common_pb2.Commodity, *, need_hs6: bool) -> None:
        if _commodity_ok(c):
            return
        hs6, national, origin = c.hs6, c.national_code, c.origin_country
        path = _path(at, key)
        ok = False
        if hs6:
            ok = self.hs6(path, "hs6", hs6)
        elif need_hs6:
            self.add(f"{path}.hs6", "missing; the HS subheading (6 digits) is required")
        elif not c.description.strip():
            self.add(path, "has neither an HS subheading nor a description")
        if national:
            if not _national_form(national):
                self.add(f"{path}.national_code", f"{national!r} is not a national tariff code (8-12 digits)")
            elif ok and not national.startswith(hs6):
                self.add(f"{path}.national_code", f"{national!r} does not start with hs6 {hs6!r}")
        self.country(path, "origin_country", origin)

    def place(self, at: str, key: Key, p: common_pb2.Place) -> None:
        if _place_ok(p):
            return
        unlocode, country = p.unlocode, p.country
        path = _path(at, key)
        if not (unlocode or p.customs_office_code.strip() or p.name.strip()):
            self.add(path, "is empty; a UN/LOCODE, a customs office code or a name is required")
        self.country(path, "country", country)
        if unlocode:
            if not _UNLOCODE.match(unlocode):
                self.add(f"{path}.unlocode", f"{unlocode!r} is not a UN/LOCODE (country + 3 letters or digits 2-9)")
            elif unlocode[:2] not in _countries():
                self.add(f"{path}.unlocode", f"{unlocode!r}: {unlocode[:2]!r} is not an ISO 3166-1 country")
            elif country and country != unlocode[:2]:
                self.add(f"{path}.unlocode", f"{unlocode!r} lies in {unlocode[:2]}, not in country {country}")

    def place_field(self, at: str, msg: Message, name: str, *, required: bool) -> None:
        if msg.HasField(name):
            self.place(at, name, getattr(msg, name))
        elif required:
            self.add(f"{at}.{name}", "missing; a place (UN/LOCODE, customs office or name) is required")

    def places(self, at: str, name: str, values: Sequence[common_pb2.Place]) -> None:
        path = f"{at}.{name}"
        for i, p in enumerate(values):
            self.place(path, i, p)

    def docref(self, at: str, key: Key, d: common_pb2.DocRef, *, need_file: bool = False) -> None:
        if not need_file and _docref_ok(d):
            return
        path = _path(at, key)
        if not (d.number.strip() or d.uri.strip() or need_file):
            self.add(path, "has neither a document number nor a URI")
        self.date(path, "date", d.date)
        self.date(path, "valid_until", d.valid_until)
        self.country(path, "issuer_country", d.issuer_country)
        if need_file and not d.uri:
            self.add(f"{path}.uri", "missing; where the file can be fetched is required")
        if d.sha256:
            if not _SHA256.match(d.sha256):
                self.add(f"{path}.sha256", f"{d.sha256!r} is not a SHA-256 (64 lowercase hex digits)")
        elif d.uri or need_file:
            self.add(f"{path}.sha256", "missing; a document given by URI needs its SHA-256 to be checked")

    def docrefs(self, at: str, name: str, values: Sequence[common_pb2.DocRef], *, need_file: bool = False) -> None:
        path = f"{at}.{name}"
        for i, d in enumerate(values):
            self.docref(path, i, d, need_file=need_file)

    def conveyance(self, at: str, key: Key, c: common_pb2.Conveyance) -> None:
        mode, nationality = c.mode, c.nationality
        if (not mode or _REC19.match(mode)) and (not nationality or nationality in _countries()):
            return
        path = _path(at, key)
        self.rec19(path, "mode", mode)
        self.country(path, "nationality", nationality)

    def optional(self, at: str, msg: Message, name: str) -> None:
        """Check a message field of a common type when it is set."""
        if msg.HasField(name):
            value = getattr(msg, name)
            _COMMON_CHECKS[type(value)](self, at, name, value)

    def border_direction(self, at: str, msg: Message) -> None:
        """Direction set, and not DOMESTIC, which only seizures found inland use."""
        if self.enum(at, msg, "direction") == records_pb2.DIRECTION_DOMESTIC:
            self.add(f"{at}.direction", "DIRECTION_DOMESTIC is for seizures only; use EXPORT, IMPORT or TRANSIT")


#: The check of each common type, by message class (for :meth:`_Checker.optional`).
_COMMON_CHECKS: dict[type[Message], Callable[[_Checker, str, Key, Message], None]] = {
    common_pb2.Money: _Checker.money,
    common_pb2.Quantity: _Checker.quantity,
    common_pb2.Place: _Checker.place,
    common_pb2.DocRef: _Checker.docref,
    common_pb2.Conveyance: _Checker.conveyance,
    common_pb2.Party: _Checker.party_value,
}


# -- meta ------------------------------------------------------------------------


def _meta(c: _Checker, at: str, rec: records_pb2.Record) -> None:
    if not rec.HasField("meta"):
        c.add(f"{at}.meta", "missing (required)")
    m = rec.meta
    at = f"{at}.meta"
    c.uuid(at, "record_id", m.record_id)
    sender = m.sender_country
    c.country(at, "sender_country", sender, required=True)
    receivers = m.receiver_countries
    if not receivers:
        c.add(f"{at}.receiver_countries", "empty; at least one receiving country is required")
    elif len(receivers) == 1 and receivers[0] != sender and receivers[0] in _countries():
        pass  # the usual single receiver, valid: skip the per-receiver loop and its paths
    else:
        seen: set[str] = set()
        for j, code in enumerate(receivers):
            path = f"{at}.receiver_countries[{j}]"
            c.country(at, f"receiver_countries[{j}]", code, required=True)
            if code and code == sender:
                c.add(path, f"{code!r} is the sender country; a record is not sent to its own sender")
            elif code in seen:
                c.add(path, f"{code!r} is listed twice")
            seen.add(code)
    c.text(at, m, "sender_authority")
    c.text(at, m, "source_format")
    c.text(at, m, "source_record_ref")
    c.present(at, m, "created_at")
    c.enum(at, m, "message_function")
    c.enum(at, m, "handling")


# -- bodies ----------------------------------------------------------------------

#: The quantities and the amounts of a declaration item, each checked when set.
_ITEM_QUANTITIES = ("gross_mass", "net_mass", "supplementary_quantity")
_ITEM_AMOUNTS = ("customs_value", "statistical_value", "invoice_amount")


def _declaration(c: _Checker, at: str, d: records_pb2.DeclarationSnapshot) -> None:
    c.text(at, d, "declaration_no")
    c.border_direction(at, d)
    c.text(at, d, "procedure_code")
    c.date(at, "acceptance_date", d.acceptance_date, required=True)
    c.party(at, d, "exporter")
    c.party(at, d, "consignee")
    c.party(at, d, "declarant", required=False)
    c.country(at, "dispatch_country", d.dispatch_country, required=True)
    c.country(at, "destination_country", d.destination_country, required=True)
    c.country(at, "trading_country", d.trading_country)
    c.containers(at, "container_ids", d.container_ids)
    c.optional(at, d, "invoice_amount")
    c.optional(at, d, "customs_office")
    c.optional(at, d, "total_gross_mass")
    incoterm = d.incoterm
    if incoterm and incoterm not in INCOTERMS_2020:
        c.add(f"{at}.incoterm", f"{incoterm!r} is not an Incoterms 2020 code ({', '.join(sorted(INCOTERMS_2020))})")
    c.decimal(at, "exchange_rate", d.exchange_rate)
    c.rec19(at, "transport_mode", d.transport_mode)
    c.at_least_one(at, d, "items", "goods item")
    seqs: set[int] = set()
    units, currencies = rec20_units(), _currencies()
    for i, item in enumerate(d.items[:]):  # a slice is a list at once; iterating the container is slower
        seq = item.seq
        if seq and seq not in seqs and _item_ok(item, units, currencies):
            seqs.add(seq)  # the usual item, valid as a whole
        else:
            _declaration_item(c, f"{at}.items[{i}]", item, seqs)


def _item_ok(item: records_pb2.DeclarationItem, units: frozenset[str], currencies: frozenset[str]) -> bool:
    """A declaration item's commodity, quantities, amounts and documents pass every rule (its seq aside).

    The hottest code of a declaration (a record has up to 99 items), so
    :func:`_quantity_ok` and :func:`_money_ok` are written out with the code
    lists bound once by the caller.
    """
    if not _commodity_ok(item.commodity):
        return False
    for name in _ITEM_QUANTITIES:
        q = getattr(item, name)
        if not (q.unit in units and _decimal(q.value)) and item.HasField(name):
            return False
    for name in _ITEM_AMOUNTS:
        m = getattr(item, name)
        if not (m.currency in currencies and _decimal(m.amount)) and item.HasField(name):
            return False
    documents = item.documents
    return not documents or all(map(_docref_ok, documents[:]))


def _declaration_item(c: _Checker, path: str, item: records_pb2.DeclarationItem, seqs: set[int]) -> None:
    """An item the happy path did not pass, rule by rule."""
    seq = item.seq
    if seq == 0:
        c.add(f"{path}.seq", "missing; item numbers start at 1")
    elif seq in seqs:
        c.add(f"{path}.seq", f"item number {seq} is used twice")
    seqs.add(seq)
    if c.present(path, item, "commodity", why="the item's HS subheading is required"):
        c.commodity(path, "commodity", item.commodity, need_hs6=True)
    for name in _ITEM_QUANTITIES + _ITEM_AMOUNTS:
        c.optional(path, item, name)
    c.docrefs(path, "documents", item.documents)


_REPLIES = {
    records_pb2.CONTACT_POINT_KIND_ACK,
    records_pb2.CONTACT_POINT_KIND_PARTIAL_REPLY,
    records_pb2.CONTACT_POINT_KIND_FINAL_REPLY,
    records_pb2.CONTACT_POINT_KIND_REFUSAL,
}


def _contact_point(c: _Checker, at: str, m: records_pb2.ContactPointMessage) -> None:
    kind = c.enum(at, m, "kind")
    kind_name = records_pb2.ContactPointKind.Name(kind) if kind in records_pb2.ContactPointKind.values() else ""
    c.uuid(at, "thread_id", m.thread_id)
    if kind in _REPLIES:
        if not m.in_reply_to:
            c.add(f"{at}.in_reply_to", f"missing; {kind_name} must name the record it answers")
    c.uuid(at, "in_reply_to", m.in_reply_to, required=False)
    for name in ("legal_basis", "requesting_authority", "requested_authority", "contact_point_id"):
        c.text(at, m, name)
    c.enum(at, m, "priority")
    c.enum(at, m, "legal_instrument", required=False)
    if kind == records_pb2.CONTACT_POINT_KIND_REQUEST:
        for name in ("subject", "reason", "facts_summary"):
            c.text(at, m, name, why="a REQUEST states its subject, reason and facts so far")
        if not m.measure_requested:
            c.add(f"{at}.measure_requested", f"missing; a REQUEST names one of {', '.join(sorted(MEASURES))}")
    if m.measure_requested and m.measure_requested not in MEASURES:
        c.add(
            f"{at}.measure_requested",
            f"{m.measure_requested!r} is not a measure ({', '.join(sorted(MEASURES))})",
        )
    ground = c.enum(at, m, "refusal_ground", required=False)
    if kind == records_pb2.CONTACT_POINT_KIND_REFUSAL and ground == 0:
        c.add(f"{at}.refusal_ground", "unset; a REFUSAL states its ground")
    c.language(at, "language", m.language)
    c.parties(at, "companies", m.companies)
    c.parties(at, "persons", m.persons)
    c.docrefs(at, "attachments", m.attachments)
    c.docrefs(at, "consignments", m.consignments)
    for i, conv in enumerate(m.conveyances):
        c.conveyance(at, f"conveyances[{i}]", conv)


def _seizure(c: _Checker, at: str, s: records_pb2.SeizureReport) -> None:
    c.text(at, s, "case_id")
    c.date(at, "seizure_date", s.seizure_date, required=True)
    c.place_field(at, s, "place", required=True)
    c.enum(at, s, "location_type")
    c.enum(at, s, "direction")
    c.enum(at, s, "category")
    c.enum(at, s, "detection_method", required=False)
    c.at_least_one(at, s, "items", "seized item")
    for i, item in enumerate(s.items):
        path = f"{at}.items[{i}]"
        if c.present(path, item, "commodity", why="what was seized is required"):
            c.commodity(path, "commodity", item.commodity, need_hs6=False)
        c.optional(path, item, "quantity")
        c.optional(path, item, "estimated_value")
    c.optional(at, s, "conveyance")
    if c.present(at, s, "route", why="the countries of departure and destination are required"):
        r = s.route
        c.country(at, "route.departure_country", r.departure_country, required=True)
        c.countries(at, "route.transit_countries", r.transit_countries)
        c.country(at, "route.destination_country", r.destination_country, required=True)
    for i, o in enumerate(s.offenders):
        c.country(at, f"offenders[{i}].nationality", o.nationality)
        c.enum(f"{at}.offenders[{i}]", o, "gender", required=False)
    c.optional(at, s, "linked_declaration")
    c.docrefs(at, "photos", s.photos, need_file=True)


def _ods(c: _Checker, at: str, o: records_pb2.OdsShipment) -> None:
    c.text(at, o, "shipment_ref")
    c.enum(at, o, "status")
    if o.direction:
        c.border_direction(at, o)
    c.party(at, o, "exporter")
    c.party(at, o, "importer")
    c.optional(at, o, "export_licence")
    c.optional(at, o, "import_licence")
    unidentified = bool(_UNIDENTIFIED.match(o.substance))
    c.text(at, o, "substance")
    if o.cas_no:
        _cas(c, at, "cas_no", o.cas_no)
    if o.annex_group:
        if o.annex_group not in MONTREAL_GROUPS:
            c.add(
                f"{at}.annex_group",
                f"{o.annex_group!r} is not a Montreal Protocol annex group ({', '.join(sorted(MONTREAL_GROUPS))})",
            )
    elif not unidentified:
        c.add(f"{at}.annex_group", "missing; the Montreal Protocol annex group of the substance is required")
    if c.present(at, o, "commodity", why="the HS subheading is required"):
        c.commodity(at, "commodity", o.commodity, need_hs6=True)
    state = c.enum(at, o, "state")
    if c.present(at, o, "quantity"):
        c.quantity(at, "quantity", o.quantity)
    odp_ok = c.decimal(at, "odp", o.odp)
    if unidentified and o.odp:
        c.add(f"{at}.odp", "must be empty when the substance is not identified; the ODP is not known")
    tonnes_ok = c.decimal(at, "odp_tonnes", o.odp_tonnes)
    q = o.quantity
    if odp_ok and _DECIMAL.match(q.value) and q.unit in ("KGM", "TNE"):
        tonnes = Decimal(q.value) / 1000 if q.unit == "KGM" else Decimal(q.value)
        expected = tonnes * Decimal(o.odp)
        shown = format(expected.normalize(), "f")
        if not o.odp_tonnes:
            c.add(f"{at}.odp_tonnes", f"missing; {q.value} {q.unit} at ODP {o.odp} is {shown} ODP tonnes")
        elif tonnes_ok and Decimal(o.odp_tonnes) != expected:
            c.add(
                f"{at}.odp_tonnes",
                f"{o.odp_tonnes!r} is not tonnes x ODP: {q.value} {q.unit} at ODP {o.odp} is {shown}",
            )
    if state == records_pb2.SUBSTANCE_STATE_MIXTURE:
        c.at_least_one(at, o, "mixture_components", "mixture component (a MIXTURE lists what it is made of)")
    for i, comp in enumerate(o.mixture_components):
        path = f"{at}.mixture_components[{i}]"
        c.text(path, comp, "substance")
        if comp.cas_no:
            _cas(c, path, "cas_no", comp.cas_no)
        if c.decimal(path, "percent", comp.percent) and not 0 < Decimal(comp.percent) <= 100:
            c.add(f"{path}.percent", f"{comp.percent!r} is not a share between 0 and 100 percent")
    c.optional(at, o, "exit_point")
    c.optional(at, o, "entry_point")
    c.date(at, "expected_date", o.expected_date)
    c.enum(at, o, "ipic_answer", required=False)
    c.optional(at, o, "linked_declaration")


def _cas(c: _Checker, at: str, key: Key, value: str) -> None:
    if not _CAS.match(value):
        c.add(_path(at, key), f"{value!r} is not a CAS registry number (e.g. 75-45-6)")
        return
    digits = value.replace("-", "")
    body, check = digits[:-1], int(digits[-1])
    total = sum(int(d) * (i + 1) for i, d in enumerate(reversed(body)))
    if total % 10 != check:
        c.add(_path(at, key), f"{value!r}: CAS check digit should be {total % 10}, not {check}")


def _waste(c: _Checker, at: str, w: records_pb2.WasteMovement) -> None:
    c.text(at, w, "notification_no")
    c.enum(at, w, "notification_type")
    operation = c.enum(at, w, "operation")
    if c.at_least_one(at, w, "consents", "consent of a state concerned"):
        for i, con in enumerate(w.consents):
            path = f"{at}.consents[{i}]"
            c.country(path, "country", con.country, required=True)
            c.enum(path, con, "decision", required=False)
            start = c.date(path, "valid_from", con.valid_from)
            end = c.date(path, "valid_to", con.valid_to)
            if start and end and end < start:
                c.add(f"{path}.valid_to", f"{con.valid_to} is before valid_from {con.valid_from}")
    c.party(at, w, "exporter")
    c.party(at, w, "importer")
    c.party(at, w, "generator", required=False)
    c.party(at, w, "facility", required=False)
    c.parties(at, "carriers", w.carriers)
    if c.present(at, w, "waste", why="the Basel identification of the waste is required"):
        _waste_id(c, f"{at}.waste", w.waste)
    _dr_code(c, f"{at}.dr_code", w.dr_code, operation)
    if c.present(at, w, "intended_quantity"):
        c.quantity(at, "intended_quantity", w.intended_quantity)
        unit = w.intended_quantity.unit
        if unit and unit not in ("TNE", "MTQ"):
            c.add(f"{at}.intended_quantity.unit", f"{unit!r}: a notification states tonnes (TNE) or cubic metres (MTQ)")
    start = c.date(at, "period_from", w.period_from)
    end = c.date(at, "period_to", w.period_to)
    if start and end and end < start:
        c.add(f"{at}.period_to", f"{w.period_to} is before period_from {w.period_from}")
    for i, mv in enumerate(w.movements):
        path = f"{at}.movements[{i}]"
        if mv.seq == 0:
            c.add(f"{path}.seq", "missing; shipments are numbered from 1")
        elif mv.total and mv.seq > mv.total:
            c.add(f"{path}.seq", f"shipment {mv.seq} out of {mv.total} is past the total")
        for name in ("actual_quantity", "conveyance", "exit_point", "entry_point"):
            c.optional(path, mv, name)
        for name in ("actual_date", "received_date", "disposal_certified_date"):
            c.date(path, name, getattr(mv, name))
        c.containers(path, "container_ids", mv.container_ids)
        c.places(path, "customs_offices", mv.customs_offices)


def _waste_id(c: _Checker, at: str, w: records_pb2.WasteIdentification) -> None:
    if w.basel_code:
        m = _BASEL.match(w.basel_code)
        number = int(m[2]) if m else 0
        top = 4160 if m and m[1] == "A" else 4030
        if not m or not 1010 <= number <= top:
            c.add(
                f"{at}.basel_code",
                f"{w.basel_code!r} is not a Basel Annex VIII (A1010-A4160) or Annex IX (B1010-B4030) code",
            )
    elif not w.y_codes:
        c.add(f"{at}.basel_code", "missing; an Annex VIII/IX code is required unless the waste is given by Y-codes")
    for i, y in enumerate(w.y_codes):
        m = _Y_CODE.match(y)
        if not m or not 1 <= int(m[1]) <= 48:
            c.add(f"{at}.y_codes[{i}]", f"{y!r} is not a Basel Annex I/II category (Y1-Y48)")
    for i, h in enumerate(w.h_codes):
        if h not in BASEL_H_CODES:
            c.add(f"{at}.h_codes[{i}]", f"{h!r} is not a Basel Annex III characteristic (H1, H3 ... H13)")
    if w.un_number and not _UN_NUMBER.match(w.un_number):
        c.add(f"{at}.un_number", f"{w.un_number!r} is not a UN number (UN and 4 digits)")
    for i, hs in enumerate(w.hs_codes):
        path = f"{at}.hs_codes[{i}]"
        if len(hs) == 6:
            c.hs6(f"{at}.hs_codes", i, hs)
        elif not _NATIONAL.match(hs):
            c.add(path, f"{hs!r} is not an HS code (6 digits, or 8-12 national digits)")
        elif not 1 <= int(hs[:2]) <= 97 or hs[:2] == "77":
            c.add(path, f"{hs!r} is not an HS code: chapter {hs[:2]} does not exist")


def _dr_code(c: _Checker, path: str, code: str, operation: int) -> None:
    if not code:
        c.add(path, "missing; a Basel Annex IV operation (D1-D15 or R1-R13) is required")
        return
    m = _DR_CODE.match(code)
    if not m or not 1 <= int(m[2]) <= (15 if m[1] == "D" else 13):
        c.add(path, f"{code!r} is not a Basel Annex IV operation (D1-D15 or R1-R13)")
        return
    if operation == records_pb2.WASTE_OPERATION_DISPOSAL and m[1] != "D":
        c.add(path, f"{code!r} is a recovery operation but the operation is DISPOSAL (use D1-D15)")
    elif operation == records_pb2.WASTE_OPERATION_RECOVERY and m[1] != "R":
        c.add(path, f"{code!r} is a disposal operation but the operation is RECOVERY (use R1-R13)")


def _ipr_recordation(c: _Checker, at: str, r: records_pb2.IprRecordation) -> None:
    for name in ("recordation_no", "authority"):
        c.text(at, r, name)
    right = c.enum(at, r, "right_type")
    c.text(at, r, "right_no")
    c.date(at, "right_valid_to", r.right_valid_to)
    c.date(at, "protection_valid_to", r.protection_valid_to)
    c.party(at, r, "right_holder")
    c.party(at, r, "representative", required=False)
    c.parties(at, "licensees", r.licensees)
    c.parties(at, "authorised_importers", r.authorised_importers)
    if r.HasField("mark_image"):
        c.docref(at, "mark_image", r.mark_image, need_file=True)
    if right == records_pb2.RIGHT_TYPE_TRADEMARK:
        if not (r.mark_text.strip() or r.HasField("mark_image")):
            c.add(f"{at}.mark_text", "missing; a trademark needs its word mark or an image (mark_image)")
        if not r.nice_classes:
            c.add(f"{at}.nice_classes", "empty; a trademark is recorded for at least one Nice class")
    for i, n in enumerate(r.nice_classes):
        if not 1 <= n <= 45:
            c.add(f"{at}.nice_classes[{i}]", f"{n} is not a Nice class (1-45)")
    if c.at_least_one(at, r, "goods", "kind of protected goods"):
        for i, g in enumerate(r.goods):
            c.commodity(at, f"goods[{i}]", g, need_hs6=False)


def _ipr_detention(c: _Checker, at: str, d: records_pb2.IprDetention) -> None:
    c.date(at, "detention_date", d.detention_date, required=True)
    c.place_field(at, d, "place", required=True)
    c.border_direction(at, d)
    if c.at_least_one(at, d, "goods", "kind of detained goods"):
        for i, g in enumerate(d.goods):
            path = f"{at}.goods[{i}]"
            if c.present(path, g, "commodity", why="what was detained is required"):
                c.commodity(path, "commodity", g.commodity, need_hs6=False)
            c.optional(path, g, "quantity")
            c.optional(path, g, "value")
    c.party(at, d, "consignor", required=False)
    c.party(at, d, "consignee", required=False)
    c.party(at, d, "right_holder", required=False)
    c.optional(at, d, "declaration")
    c.enum(at, d, "action")
    c.date(at, "holder_deadline", d.holder_deadline)


def _transit(c: _Checker, at: str, t: records_pb2.TransitPreArrival) -> None:
    regime = c.enum(at, t, "regime")
    if regime in (records_pb2.TRANSIT_REGIME_TIR, records_pb2.TRANSIT_REGIME_ETIR):
        name = records_pb2.TransitRegime.Name(regime)
        c.text(at, t, "carnet_or_guarantee_ref", why=f"{name} transit needs the carnet or guarantee reference")
        c.text(at, t, "holder_id", why=f"{name} transit needs the TIR holder id")
    c.place_field(at, t, "office_departure", required=True)
    c.places(at, "offices_en_route", t.offices_en_route)
    c.place_field(at, t, "office_destination", required=True)
    c.places(at, "border_crossings", t.border_crossings)
    c.present(at, t, "expected_arrival")
    c.party(at, t, "carrier")
    c.party(at, t, "consignor")
    c.party(at, t, "consignee")
    if c.at_least_one(at, t, "vehicles", "vehicle"):
        for i, v in enumerate(t.vehicles):
            path = f"{at}.vehicles[{i}]"
            c.text(path, v, "registration_no")
            c.country(path, "nationality", v.nationality, required=True)
            c.enum(path, v, "kind", required=False)
    c.containers(at, "container_ids", t.container_ids)
    if c.at_least_one(at, t, "goods", "goods item"):
        for i, g in enumerate(t.goods):
            path = f"{at}.goods[{i}]"
            if c.present(path, g, "commodity", why="the goods' HS subheading or description is required"):
                c.commodity(path, "commodity", g.commodity, need_hs6=False)
            c.optional(path, g, "gross_mass")
    c.date(at, "time_limit", t.time_limit)
    c.countries(at, "itinerary", t.itinerary)


_BODIES = {
    "declaration_snapshot": _declaration,
    "contact_point_message": _contact_point,
    "seizure_report": _seizure,
    "ods_shipment": _ods,
    "waste_movement": _waste,
    "ipr_recordation": _ipr_recordation,
    "ipr_detention": _ipr_detention,
    "transit_pre_arrival": _transit,
}


# -- public API ------------------------------------------------------------------


def validate_record(record: records_pb2.Record, *, at: str = "records[0]") -> list[str]:
    """Every problem of one record, each as ``"PATH: what is wrong"``; empty when valid.

    Args:
        record: The record to check.
        at: Path of the record itself, prefixed to every problem's path.
    """
    c = _Checker()
    _meta(c, at, record)
    body = record.WhichOneof("body")
    if body is None:
        c.add(at, "no record body is set")
    else:
        _BODIES[body](c, f"{at}.{body}", getattr(record, body))
    return c.problems


def validate_records(records: Sequence[records_pb2.Record]) -> list[str]:
    """Every problem of every record, paths starting ``records[i]``; empty when all are valid."""
    problems: list[str] = []
    for i, rec in enumerate(records):
        problems.extend(validate_record(rec, at=f"records[{i}]"))
    return problems


def raise_if_invalid(records: Sequence[records_pb2.Record]) -> None:
    """Refuse records that are not fit to send.

    Raises:
        ValidationError: listing every problem of every record with its field path.
    """
    problems = validate_records(records)
    if problems:
        raise ValidationError(problems)
