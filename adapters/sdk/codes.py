"""Mapping national code lists to the standard ones records carry.

Records speak ISO 3166-1 alpha-2, ISO 4217 alphabetic codes and UNECE
Recommendation 20 units. National systems do not: EAEU documents use the
EAEU unit classifier (list 2016, 166 = kilogram), India and ASYCUDA use
short national unit names (KGS, NOS), China's GACC tables use three-digit
unit codes and alpha-3 or legacy numeric country codes. The tables here
translate both ways, and every miss is an :class:`AdapterError` naming the
code and the list, never a silent guess.

Entries marked *(verify)* in the comments follow the public descriptions of
those lists but were not checked against the official classifier; a national
team that finds one wrong corrects it here, once, for everybody.
"""

from __future__ import annotations

from collections.abc import Mapping

import pycountry
from tamga.errors import AdapterError

__all__ = [
    "ASYCUDA_UNITS",
    "AUTHORITIES",
    "EAEU_DECLARATION_KINDS",
    "EAEU_UNITS",
    "GACC_CURRENCIES",
    "GACC_UNITS",
    "ICES_UNITS",
    "CodeTable",
    "authority_of",
    "country_alpha2",
    "country_alpha3",
    "currency_code",
    "is_country",
    "is_currency",
]


class CodeTable:
    """A two-way mapping between a national code list and a standard one.

    Several national codes may map to one standard code; ``preferred`` says
    which national code :meth:`to_national` writes back for it (the first
    listed otherwise).
    """

    def __init__(self, name: str, mapping: Mapping[str, str], *, standard: str) -> None:
        self.name = name
        self.standard = standard
        self._forward = dict(mapping)
        self._reverse: dict[str, str] = {}
        for national, std in mapping.items():
            self._reverse.setdefault(std, national)

    def to_standard(self, code: str, **location: object) -> str:
        """The standard code of a national one.

        Raises:
            AdapterError: the code is not in the table.
        """
        key = code.strip()
        try:
            return self._forward[key]
        except KeyError:
            raise AdapterError(
                f"{self.name} code {code!r} is unknown (no {self.standard} equivalent)", location=location
            ) from None

    def to_national(self, code: str, **location: object) -> str:
        """The national code written for a standard one.

        Raises:
            AdapterError: the national list has no such code.
        """
        try:
            return self._reverse[code]
        except KeyError:
            raise AdapterError(
                f"{self.standard} code {code!r} has no equivalent in {self.name}", location=location
            ) from None

    def __contains__(self, code: object) -> bool:
        return code in self._forward

    def national_codes(self) -> list[str]:
        return list(self._forward)


#: EAEU classifier of units of measure (list 2016, from OKEI) -> Rec 20.
EAEU_UNITS = CodeTable(
    "EAEU unit (list 2016)",
    {
        "166": "KGM",  # kilogram
        "168": "TNE",  # tonne
        "163": "GRM",  # gram
        "112": "LTR",  # litre
        "113": "MTQ",  # cubic metre
        "006": "MTR",  # metre
        "055": "MTK",  # square metre
        "796": "H87",  # piece
        "715": "PR",  # pair
        "839": "SET",  # set
        "778": "NPL",  # package (verify)
        "114": "R9",  # thousand cubic metres
        "245": "KWH",  # kilowatt hour (verify)
    },
    standard="UNECE Rec 20",
)

#: Unit names used by India's ICES (UQC) -> Rec 20.
ICES_UNITS = CodeTable(
    "ICES unit (UQC)",
    {
        "KGS": "KGM",
        "TON": "TNE",
        "MTS": "TNE",
        "GMS": "GRM",
        "LTR": "LTR",
        "KLR": "K6",  # kilolitre
        "CBM": "MTQ",
        "MTR": "MTR",
        "SQM": "MTK",
        "NOS": "H87",
        "PCS": "H87",
        "PRS": "PR",
        "SET": "SET",
        "DOZ": "DZN",
        "UNT": "C62",
    },
    standard="UNECE Rec 20",
)

#: Units in ASYCUDA World supplementary-unit and weight fields -> Rec 20.
#: ASYCUDA installations configure their own list; these are the common ones.
ASYCUDA_UNITS = CodeTable(
    "ASYCUDA unit",
    {
        "KGM": "KGM",
        "KGS": "KGM",
        "KG": "KGM",
        "TNE": "TNE",
        "GRM": "GRM",
        "LTR": "LTR",
        "MTQ": "MTQ",
        "MTR": "MTR",
        "MTK": "MTK",
        "NMB": "H87",
        "PCE": "H87",
        "NOS": "H87",
        "PR": "PR",
        "SET": "SET",
        "DZN": "DZN",
        "C62": "C62",
    },
    standard="UNECE Rec 20",
)

#: China GACC unit codes (JGS-20 table, verify) -> Rec 20.
GACC_UNITS = CodeTable(
    "GACC unit (JGS-20)",
    {
        "035": "KGM",  # 千克
        "036": "GRM",  # 克
        "070": "TNE",  # 吨
        "095": "LTR",  # 升
        "096": "MLT",  # 毫升
        "007": "H87",  # 个
        "011": "H87",  # 件
        "001": "SET",  # 台 (verify)
        "006": "SET",  # 套
        "030": "MTR",  # 米
        "032": "MTK",  # 平方米
        "033": "MTQ",  # 立方米
        "025": "PR",  # 双 (verify)
    },
    standard="UNECE Rec 20",
)
GACC_UNITS._reverse["H87"] = "007"
GACC_UNITS._reverse["SET"] = "006"

#: China GACC legacy numeric currency codes -> ISO 4217 (verify).
GACC_CURRENCIES = CodeTable(
    "GACC currency",
    {
        "142": "CNY",
        "502": "USD",
        "300": "EUR",
        "116": "JPY",
        "110": "HKD",
        "303": "GBP",
        "344": "RUB",
    },
    standard="ISO 4217",
)

#: EAEU declaration kind (casdo:DeclarationKindCode) -> record direction name.
EAEU_DECLARATION_KINDS = {"ИМ": "DIRECTION_IMPORT", "ЭК": "DIRECTION_EXPORT", "ТТ": "DIRECTION_TRANSIT"}

#: The customs service of each member and observer state, the default
#: ``sender_authority`` of records an adapter reads from that country's files.
AUTHORITIES = {
    "BY": "State Customs Committee of the Republic of Belarus",
    "CN": "General Administration of Customs of the People's Republic of China",
    "IN": "Central Board of Indirect Taxes and Customs, India",
    "IR": "Islamic Republic of Iran Customs Administration",
    "KG": "State Customs Service of the Kyrgyz Republic",
    "KZ": "State Revenue Committee of the Republic of Kazakhstan",
    "PK": "Pakistan Customs, Federal Board of Revenue",
    "RU": "Federal Customs Service of Russia",
    "TJ": "Customs Service of the Republic of Tajikistan",
    "UZ": "Customs Committee of the Republic of Uzbekistan",
}


def authority_of(country: str) -> str:
    """Name of a country's customs service ("Customs of XX" when not listed)."""
    return AUTHORITIES.get(country, f"Customs service of {country}")


def is_country(code: str) -> bool:
    """Whether ``code`` is an ISO 3166-1 alpha-2 code."""
    return len(code) == 2 and code.isupper() and pycountry.countries.get(alpha_2=code) is not None


def is_currency(code: str) -> bool:
    """Whether ``code`` is an ISO 4217 alphabetic code."""
    return len(code) == 3 and code.isupper() and pycountry.currencies.get(alpha_3=code) is not None


def country_alpha2(code: str, **location: object) -> str:
    """ISO 3166-1 alpha-2 from an alpha-2, alpha-3 or numeric country code.

    Raises:
        AdapterError: not a country code.
    """
    c = code.strip().upper()
    found = None
    if len(c) == 2:
        found = pycountry.countries.get(alpha_2=c)
    elif len(c) == 3 and c.isalpha():
        found = pycountry.countries.get(alpha_3=c)
    elif c.isdigit():
        found = pycountry.countries.get(numeric=c.zfill(3))
    if found is None:
        raise AdapterError(f"country code {code!r} is not an ISO 3166-1 code", location=location)
    return str(found.alpha_2)


def country_alpha3(code: str, **location: object) -> str:
    """ISO 3166-1 alpha-3 of an alpha-2 code."""
    found = pycountry.countries.get(alpha_2=code)
    if found is None:
        raise AdapterError(f"country code {code!r} is not an ISO 3166-1 alpha-2 code", location=location)
    return str(found.alpha_3)


def currency_code(code: str, **location: object) -> str:
    """ISO 4217 alphabetic code from an alphabetic or ISO numeric one.

    Raises:
        AdapterError: not a currency code.
    """
    c = code.strip().upper()
    found = None
    if len(c) == 3 and c.isalpha():
        found = pycountry.currencies.get(alpha_3=c)
    elif c.isdigit():
        found = pycountry.currencies.get(numeric=c.zfill(3))
    if found is None:
        raise AdapterError(f"currency code {code!r} is not an ISO 4217 code", location=location)
    return str(found.alpha_3)
