"""The CUSDEC D96B codes the adapter reads and writes, in one place.

The qualifiers follow the UN/EDIFACT D.96B code lists as customs MIGs use
them (the SARS CUSDEC MIG for MOA+40). BGM 1001 830/929 for export/import are
*illustrative*: national MIGs differ, and a national team that uses other
codes changes them here.
"""

from __future__ import annotations

from tamga.adapters.sdk import codes
from tamga.v1 import common_pb2, records_pb2

#: BGM 1001 document name code -> direction, and back.
DOCUMENT_CODES = {"830": records_pb2.DIRECTION_EXPORT, "929": records_pb2.DIRECTION_IMPORT}
DOCUMENT_FOR = {v: k for k, v in DOCUMENT_CODES.items()}

#: BGM 1225 message function code -> record message function, and back.
#: 9 original, 5 replacement, 1 cancellation.
FUNCTIONS = {
    "9": common_pb2.MESSAGE_FUNCTION_ORIGINAL,
    "5": common_pb2.MESSAGE_FUNCTION_CORRECTION,
    "1": common_pb2.MESSAGE_FUNCTION_CANCELLATION,
}
FUNCTION_FOR = {v: k for k, v in FUNCTIONS.items()}

#: DTM 2379 date/time format: 102 CCYYMMDD, 203 CCYYMMDDHHMM, 204 CCYYMMDDHHMMSS.
DATE_FORMATS = {"102": 8, "203": 12, "204": 14}

#: LOC 3227 place qualifiers.
LOC_ORIGIN = "27"
LOC_DESTINATION = "28"
LOC_EXPORTATION = "35"

#: NAD 3035 party qualifiers -> DeclarationSnapshot field.
PARTIES = {"EX": "exporter", "CN": "consignee", "DT": "declarant"}

#: MEA 6311 / 6313: weight, gross and net.
MEA_WEIGHT = "WT"
MEA_GROSS = "AAB"
MEA_NET = "AAA"

#: MOA 5025 amount type qualifiers.
MOA_INVOICE_ITEM = "38"
MOA_INVOICE_TOTAL = "39"
MOA_CUSTOMS_VALUE = "40"

#: FTX 4451 text subject: goods description.
FTX_GOODS = "AAA"

#: The customs procedure code (EAEU list 2002 style: 10 export, 40 release
#: for home use) is carried as the declaration-level GIS processing indicator
#: (C529 7365). *Illustrative*: MIGs differ on where the procedure goes.

#: RFF 1153: unique consignment reference.
RFF_UCR = "UCN"

#: CST C246 code list qualifier and agency written after the tariff code
#: (the form ``CST+1+520812:108:ZZZ`` of the MIGs).
TARIFF_LIST = "108"
TARIFF_AGENCY = "ZZZ"

#: UNB interchange recipient written when the records go to several countries.
HUB = "SCOHUB"

#: UNECE Recommendation 20 units accepted in MEA: those the national tables
#: map to, plus a few common in customs declarations.
REC20_UNITS = frozenset(
    {
        *(
            std
            for table in (codes.EAEU_UNITS, codes.ICES_UNITS, codes.ASYCUDA_UNITS, codes.GACC_UNITS)
            for std in table._forward.values()
        ),
        "NAR",  # number of articles
        "NPR",  # number of pairs
        "MGM",  # milligram
        "HLT",  # hectolitre
        "CMT",  # centimetre
        "KMT",  # kilometre
        "MWH",  # megawatt hour
        "GFI",  # gram of fissile isotopes
        "CTM",  # metric carat
    }
)

#: Text chunk lengths of D96B: party name and street lines an..35 (five and
#: four of them), free text an..70 (five).
NAME_CHUNK, NAME_CHUNKS = 35, 5
STREET_CHUNK, STREET_CHUNKS = 35, 4
TEXT_CHUNK, TEXT_CHUNKS = 70, 5


def chunks(text: str, size: int, most: int) -> list[str]:
    """Cut text into ``most`` components of ``size`` characters; the last one
    takes whatever is left, so nothing is ever cut off."""
    parts = [text[i : i + size] for i in range(0, len(text), size)] or [""]
    if len(parts) > most:
        parts = [*parts[: most - 1], "".join(parts[most - 1 :])]
    return parts
