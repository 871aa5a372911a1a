"""GACC code lists a DecMessage uses that Tamga records express otherwise.

Units, currencies and countries are shared code tables
(:mod:`tamga.adapters.sdk.codes`); the lists here belong to China's customs
declaration alone: transport modes, terms of transaction, kinds of package
and the codes of licences and permits ("监管证件"). They follow the public
descriptions of GACC's parameter tables (the JGS-20 code set); entries marked
*(verify)* were not checked against the official table, and a national team
that finds one wrong corrects it here.

Some GACC codes have no standard equivalent. They are listed in ``NO_REC19``
and ``NO_INCOTERM`` so the adapter can tell a code it knows to be inexpressible
(left out of the record, said so here) from a code it has never seen (refused
with an error).
"""

from __future__ import annotations

import re

from tamga.adapters.sdk.codes import CodeTable

__all__ = [
    "DECIMAL",
    "DOCUMENT_TYPES",
    "INCOTERMS",
    "INCOTERM_GROUPS",
    "NO_INCOTERM",
    "NO_REC19",
    "PACKAGES",
    "TRANSPORT_MODES",
    "document_code",
    "document_type",
]

#: Amounts, masses and quantities as a DecMessage writes them: digits, an
#: optional fraction, no sign, no exponent, no thousands separator.
DECIMAL = re.compile(r"[0-9]{1,18}(\.[0-9]{1,9})?")

#: 运输方式 (TrafMode) -> UNECE Recommendation 19.
TRANSPORT_MODES = CodeTable(
    "GACC transport mode (TrafMode)",
    {
        "2": "1",  # 水路运输, waterway: sea and inland water
        "3": "2",  # 铁路运输, rail
        "4": "3",  # 公路运输, road
        "5": "4",  # 航空运输, air
        "6": "5",  # 邮件运输, post
        "G": "7",  # 固定设施运输, pipelines and power lines (verify)
        "9": "9",  # 其他运输, other: own propulsion, carried by hand (verify)
    },
    standard="UNECE Rec 19",
)
# Rec 19 "8" (inland water) is also 水路运输 in GACC's list.
TRANSPORT_MODES._reverse["8"] = "2"

#: GACC transport modes for movements that do not cross the border (into and
#: out of bonded zones, warehouses and logistics parks). Rec 19 has no code for
#: them: a record read from such a declaration has no transport mode.
NO_REC19 = frozenset({"0", "1", "7", "8", "H", "W", "X", "Y", "Z", "L"})

#: 成交方式 (TransMode) -> Incoterms 2020 (verify).
INCOTERMS = CodeTable(
    "GACC terms of transaction (TransMode)",
    {"1": "CIF", "2": "CFR", "3": "FOB", "7": "EXW"},  # 2 is written "C&F" in GACC's table
    standard="Incoterms 2020",
)

#: GACC terms with no Incoterm: 4 C&I (cost and insurance), 5 市场价 (market
#: price), 6 垫仓 (verify). A record read from such a declaration has no incoterm.
NO_INCOTERM = frozenset({"4", "5", "6"})

#: Writing an Incoterm GACC's list lacks: the declaration rules
#: ("报关单填制规范") group the Incoterms under the four GACC terms by where
#: costs and risk pass (verify): E -> EXW; FCA, FAS, FOB -> FOB; CFR, CPT ->
#: C&F; CIF, CIP and the D terms -> CIF.
INCOTERM_GROUPS = {
    "EXW": "7",
    "FCA": "3",
    "FAS": "3",
    "FOB": "3",
    "CFR": "2",
    "CPT": "2",
    "CIF": "1",
    "CIP": "1",
    "DAP": "1",
    "DPU": "1",
    "DDP": "1",
}

#: 包装种类 (WrapType, two digits since 2018) -> UNECE Recommendation 21.
PACKAGES = CodeTable(
    "GACC kind of package (WrapType)",
    {
        "00": "VY",  # 散装, bulk (verify)
        "01": "NE",  # 裸装, unpacked
        "04": "CY",  # 球状罐类, gas cylinders and spherical cans (verify)
        "06": "BG",  # 包/袋, bag
        "22": "CT",  # 纸制或纤维板制盒/箱, carton
        "23": "CS",  # 木制或竹藤等植物性材料制盒/箱, wooden case
        "29": "BX",  # 其他材料制盒/箱, box of other material
        "32": "1G",  # 纸制或纤维板制桶, fibre drum
        "33": "1W",  # 木制或竹藤等植物性材料制桶, wooden drum
        "39": "DR",  # 其他材料制桶, drum of other material
        "93": "PX",  # 天然木托, natural-wood pallet
        "92": "PX",  # 再生木托, recycled-wood pallet
        "99": "ZZ",  # 其他包装, other
    },
    standard="UNECE Rec 21",
)

#: 监管证件代码 (LicenseDocu/DocuCode) -> DocRef.type, for the licences a
#: partner service acts on. Other codes travel as ``GACC:<code>``.
DOCUMENT_TYPES = {
    "1": "IMPORT_LICENCE",  # 进口许可证
    "2": "DUAL_USE_IMPORT_LICENCE",  # 两用物项和技术进口许可证
    "3": "DUAL_USE_EXPORT_LICENCE",  # 两用物项和技术出口许可证
    "4": "EXPORT_LICENCE",  # 出口许可证 (ODS exports among others)
    "7": "AUTOMATIC_IMPORT_LICENCE",  # 自动进口许可证
    "E": "CITES_EXPORT_PERMIT",  # 濒危物种允许出口证明书
    "F": "CITES_IMPORT_PERMIT",  # 濒危物种允许进口证明书
    "P": "WASTE_IMPORT_LICENCE",  # 固体废物进口许可证
}
_DOCUMENT_CODES = {v: k for k, v in DOCUMENT_TYPES.items()}
_DOCU_CODE = re.compile(r"[0-9A-Za-z]")


def document_type(code: str) -> str | None:
    """DocRef.type of a GACC licence code; None when ``code`` is not one character."""
    if not _DOCU_CODE.fullmatch(code):
        return None
    return DOCUMENT_TYPES.get(code, f"GACC:{code}")


def document_code(doc_type: str) -> str | None:
    """GACC licence code of a DocRef.type; None for documents a DecMessage does not list."""
    if doc_type in _DOCUMENT_CODES:
        return _DOCUMENT_CODES[doc_type]
    code = doc_type.removeprefix("GACC:")
    if code != doc_type and _DOCU_CODE.fullmatch(code):
        return code
    return None
