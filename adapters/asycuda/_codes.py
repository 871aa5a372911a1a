"""What an ASYCUDA World SAD says in its own terms, and how Tamga writes it.

ASYCUDA installations share the SAD layout but not every code list; these
are the parts the adapter relies on:

- declaration numbers, which ASYCUDA builds from the office, the year, a
  serial letter and a number that restarts every year;
- the national currency, in which ASYCUDA keeps CIF and statistical values
  without naming it;
- the shapes of decimals, dates, Incoterms and transport modes, checked on
  reading so a record never carries a value the partner cannot read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "DATE",
    "DECIMAL",
    "INCOTERMS",
    "NATIONAL_CURRENCIES",
    "TRANSPORT_MODE",
    "DeclarationNumber",
]

#: A decimal as ASYCUDA writes amounts, masses and quantities: digits, an
#: optional fraction, no sign, no thousands separator.
DECIMAL = re.compile(r"[0-9]{1,18}(\.[0-9]{1,9})?")

#: Dates in ASYCUDA World XML exports: ISO 8601 calendar dates.
DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

#: Mode of transport at the border: ASYCUDA uses the one-digit codes of UNECE
#: Recommendation 19 (1 sea, 2 rail, 3 road, 4 air, 5 post...).
TRANSPORT_MODE = re.compile(r"[0-9]")

#: Delivery terms ASYCUDA accepts: Incoterms 2020, and the 2000/2010 terms
#: older installations still carry in their tables.
INCOTERMS = frozenset(
    {"EXW", "FCA", "FAS", "FOB", "CFR", "CIF", "CPT", "CIP", "DAP", "DPU", "DDP"}
    | {"DAT", "DAF", "DES", "DEQ", "DDU", "C&F", "CNF"}
)

#: National currency of each country whose customs might run ASYCUDA or
#: exchange with one that does: the currency of ``Total_CIF_itm`` and
#: ``Statistical_value``, which the SAD does not name. The adapter option
#: ``national_currency`` overrides it.
NATIONAL_CURRENCIES = {
    "AF": "AFN",
    "AM": "AMD",
    "AZ": "AZN",
    "BY": "BYN",
    "CN": "CNY",
    "GE": "GEL",
    "IN": "INR",
    "IR": "IRR",
    "KG": "KGS",
    "KH": "KHR",
    "KZ": "KZT",
    "LK": "LKR",
    "MM": "MMK",
    "MN": "MNT",
    "NP": "NPR",
    "PK": "PKR",
    "RU": "RUB",
    "TJ": "TJS",
    "TM": "TMT",
    "TR": "TRY",
    "UZ": "UZS",
}

_NUMBER = re.compile(r"(?P<office>\S+) (?P<year>[0-9]{4}) (?:(?P<serial>\S+) )?(?P<number>\S+)")


@dataclass(frozen=True)
class DeclarationNumber:
    """An ASYCUDA registration: office, year, serial and number.

    Tamga writes it as ``"TJ001 2026 C 1523"``. ASYCUDA restarts the
    registration number every year at every office, so "C 1523 at TJ001"
    names a different declaration each year; the year keeps the number (and
    the record id derived from it) unique. A missing serial is left out:
    ``"TJ001 2026 1523"``.
    """

    office: str
    year: str
    serial: str
    number: str

    def __str__(self) -> str:
        return " ".join(p for p in (self.office, self.year, self.serial, self.number) if p)

    @classmethod
    def parse(cls, value: str) -> DeclarationNumber | None:
        """The parts of a number this adapter wrote, or None for another
        country's number (``10702020/010324/0001234``)."""
        m = _NUMBER.fullmatch(value)
        if m is None:
            return None
        return cls(m["office"], m["year"], m["serial"] or "", m["number"])
