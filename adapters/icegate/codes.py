"""ICES code lists this adapter translates, besides units (``sdk.codes.ICES_UNITS``).

Countries and currencies in ICES files are ISO 3166-1 alpha-2 and ISO 4217
codes already and are only checked. Entries marked *(verify)* follow public
descriptions of ICES and were not checked against the ICES code directory.
"""

from __future__ import annotations

from tamga.adapters.sdk.codes import CodeTable
from tamga.v1 import common_pb2

__all__ = ["INVOICE_TERMS", "MESSAGE_TYPES", "MESSAGE_TYPE_CODES", "TRANSPORT_MODES"]

#: BE "mode of transport" -> UNECE Recommendation 19 (verify).
TRANSPORT_MODES = CodeTable(
    "ICES mode of transport",
    {
        "S": "1",  # sea
        "R": "2",  # rail
        "L": "3",  # land (road)
        "A": "4",  # air
        "P": "5",  # post (verify)
    },
    standard="UNECE Rec 19",
)

#: Invoice terms (BE) and nature of contract (SB) -> Incoterms 2020. ICES
#: writes "C&F" for CFR; CFR is written back (verify which ICES expects).
INVOICE_TERMS = CodeTable(
    "ICES invoice terms",
    {
        "CIF": "CIF",
        "FOB": "FOB",
        "CFR": "CFR",
        "C&F": "CFR",
        "CNF": "CFR",
        "EXW": "EXW",
        "FCA": "FCA",
        "FAS": "FAS",
        "CPT": "CPT",
        "CIP": "CIP",
        "DAP": "DAP",
        "DPU": "DPU",
        "DDP": "DDP",
    },
    standard="Incoterms 2020",
)

#: Row message type -> record message function. F (fresh) is confirmed;
#: A (amendment) is (verify). ICES has no cancellation message type that
#: this adapter knows; a cancellation is refused on encode.
MESSAGE_TYPES = {
    "F": common_pb2.MESSAGE_FUNCTION_ORIGINAL,
    "A": common_pb2.MESSAGE_FUNCTION_CORRECTION,
}
MESSAGE_TYPE_CODES = {v: k for k, v in MESSAGE_TYPES.items()}
