"""The column layout of every ICES 1.5 table this adapter reads, in one place.

ICES flat files have no field names: a row is values separated by ASCII 29
in a fixed order per table. The order below follows domain.md §3c (the BE
row, the INVOICE and ITEMS rows of its sample) and the public BE and SB
generators it cites; tables and columns not confirmed there are marked
*(inf)* and must be checked against the ICES BE/SB message formats (BE
Message Format 2.25) before production use. A correction is one edit here:
reader, writer, :meth:`fields` and ``unmapped_fields`` all follow.

Paths are ``TABLE.column`` (``ITEMS.cth``), header fields ``HREC.<name>``,
the trailer ``TREC.control_no``. Tables the adapter knows by name but has no
layout for (PERMISSION, LICENCE, DBK...) are read, checked for their row
prefix, reported by position (``LICENCE.5``) and not carried into records.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "BE",
    "HREC_FIELDS",
    "MESSAGES",
    "PREFIX",
    "SB",
    "SEP",
    "TREC_FIELDS",
    "Message",
    "unmapped_paths",
]

#: Field separator: ASCII 29, group separator.
SEP = "\x1d"

#: Header line: ``HREC`` and eleven fields.
HREC_FIELDS = (
    "record",
    "sender_qualifier",
    "sender_id",
    "receiver_qualifier",
    "custom_house",
    "version",
    "mode",
    "reserved",
    "message_id",
    "control_no",
    "date",
    "time",
)
#: HREC fields the records carry; the others are written with fixed values.
HREC_MAPPED = frozenset({"record", "custom_house", "message_id", "date", "time"})

#: Trailer line: ``TREC`` and the control number of the header.
TREC_FIELDS = ("record", "control_no")

#: Every row starts with: message type (F fresh, A amendment), custom house,
#: job number, job date.
PREFIX = ("message_type", "custom_house", "job_no", "job_date")
#: One public SB generator writes the shipping bill number and date (empty
#: until customs assigns them) after the job date; the SB layouts here do too.
SB_PREFIX = (*PREFIX, "sb_no", "sb_date")

_EXCHANGE = ("currency", "standard_currency", "unit_in_inr", "rate", "effective_date")
_CONTAINER = ("container_no", "container_size", "seal_no", "fcl_lcl")  # (inf)


@dataclass(frozen=True)
class Message:
    """One ICES message: its id, end marker, tables and their layouts.

    ``tables`` maps each table name the message may hold to its columns, or
    to None when the adapter reads the table without a layout. ``mapped`` is
    the set of ``TABLE.column`` paths the records carry.
    """

    message_id: str
    kind: str
    end: str
    main: str
    items: str
    prefix: tuple[str, ...]
    tables: dict[str, tuple[str, ...] | None]
    mapped: frozenset[str]
    aliases: dict[str, str] = field(default_factory=dict)

    def columns(self, table: str) -> tuple[str, ...] | None:
        return self.tables[table]


BE = Message(
    message_id="CACHI01",
    kind="Bill of Entry",
    end="<END-BE>",
    main="BE",
    items="ITEMS",
    prefix=PREFIX,
    tables={
        "BE": (
            *PREFIX,
            "be_type",
            "iec",
            "importer_name",
            "importer_address1",
            "importer_address2",
            "importer_city",
            "importer_state",
            "importer_pin",
            "importer_class",
            "transport_mode",
            "kachcha_be",
            "high_sea_sale",
            "port_of_origin",
            "cha_code",
            "country_of_origin",
            "country_of_consignment",
            "port_of_shipment",
            "green_channel",
            "section_48",
            "prior_be",
            "ad_code",
            "first_check",
            "payment_mode",
        ),
        "EXCHANGE": (*PREFIX, *_EXCHANGE),
        "PERMISSION": None,
        "INVOICE": (
            *PREFIX,
            "invoice_sr_no",
            "invoice_date",
            "supplier_name",
            "supplier_address",
            "supplier_city",
            "supplier_country",
            "invoice_value",
            "invoice_terms",
            "currency",
            "payment_terms",
            "valuation_method",
            "invoice_no",
            "buyer_seller_related",
        ),
        "MISC_CH": None,
        "ITEMS": (
            *PREFIX,
            "invoice_sr_no",
            "item_sr_no",
            "quantity",
            "unit",
            "cth",
            "description",
            "manufacturer",
            "end_use",
            "country_of_origin",
            "ceth",
            "tariff_preference",
        ),
        "LICENCE": None,
        "RSP": None,
        "DEPB": None,
        "BOND": None,
        "CERT": None,
        "HSS": None,
        "REIMPORT": None,
        "SBEDUTY": None,
        "IGMS": None,
        "CONTAINER": (*PREFIX, *_CONTAINER),
        "CTX": None,
        "AMEND": None,
    },
    mapped=frozenset(
        {
            *(f"{t}.{c}" for t in ("BE", "EXCHANGE", "INVOICE", "ITEMS", "CONTAINER") for c in PREFIX),
            "BE.be_type",
            "BE.iec",
            "BE.importer_name",
            "BE.importer_address1",
            "BE.importer_address2",
            "BE.importer_city",
            "BE.importer_state",
            "BE.importer_pin",
            "BE.transport_mode",
            "BE.cha_code",
            "BE.country_of_consignment",
            "EXCHANGE.currency",
            "EXCHANGE.rate",
            "INVOICE.invoice_sr_no",
            "INVOICE.invoice_date",
            "INVOICE.supplier_name",
            "INVOICE.supplier_address",
            "INVOICE.supplier_city",
            "INVOICE.supplier_country",
            "INVOICE.invoice_value",
            "INVOICE.invoice_terms",
            "INVOICE.currency",
            "INVOICE.invoice_no",
            "ITEMS.invoice_sr_no",
            "ITEMS.item_sr_no",
            "ITEMS.quantity",
            "ITEMS.unit",
            "ITEMS.cth",
            "ITEMS.description",
            "ITEMS.country_of_origin",
            "CONTAINER.container_no",
        }
    ),
)

SB = Message(
    message_id="CACHE01",
    kind="Shipping Bill",
    end="<END-SB>",
    main="SB",
    items="ITEM",
    prefix=SB_PREFIX,
    tables={
        "SB": (
            *SB_PREFIX,
            "cha_code",
            "iec",
            "branch_sr_no",
            "exporter_name",
            "exporter_address1",
            "exporter_address2",
            "exporter_city",
            "exporter_state",
            "exporter_pin",
            "exporter_type",
            "exporter_class",
            "state_of_origin",
            "ad_code",
            "epz_code",
            "consignee_name",
            "consignee_address1",
            "consignee_address2",
            "consignee_address3",
            "consignee_address4",
            "consignee_country",
            "nfei_category",
            "rbi_waiver_no",
            "rbi_waiver_date",
            "port_of_loading",
            "port_of_final_destination",
            "country_of_final_destination",
            "country_of_discharge",
            "port_of_discharge",
            "seal_type",
            "nature_of_cargo",
            "gross_weight",
            "net_weight",
            "weight_unit",
            "total_packages",
            "marks_numbers",
            "loose_packets",
            "container_count",
            "mawb_no",
            "hawb_no",
            "amendment_type",
            "amendment_no",
            "amendment_date",
        ),
        # (inf) The generator writes no invoice value; ICES needs one, so it
        # is placed after the currency here.
        "INVOICE": (
            *SB_PREFIX,
            "invoice_sr_no",
            "invoice_no",
            "invoice_date",
            "currency",
            "invoice_value",
            "nature_of_contract",
            "buyer_name",
            "buyer_address1",
            "buyer_address2",
            "buyer_address3",
            "buyer_address4",
            "freight_currency",
            "freight_amount",
            "insurance_currency",
            "insurance_amount",
            "nature_of_payment",
            "payment_period",
        ),
        "EXCHANGE": (*SB_PREFIX, *_EXCHANGE),
        # domain.md names the table ITEM; the public generator writes ITEMS.
        # Both are read; ITEM is written.
        "ITEM": (
            *SB_PREFIX,
            "invoice_sr_no",
            "item_sr_no",
            "scheme_code",
            "ritc",
            "description1",
            "description2",
            "description3",
            "unit",
            "quantity",
            "unit_price",
            "present_market_value",
            "third_party",
        ),
        "ITEMACCESS": None,
        "THIRDPARTY": None,
        "CESS": None,
        "DBK": None,
        "ITEMRAWMTRL": None,
        "DEPB": None,
        "DEPBPARENT": None,
        "LICENCE": None,
        "DFIA": None,
        "JOBWORK": None,
        "AR4": None,
        "PACKINGLIST": None,
        "ROTATION": None,
        "EOU": None,
        "STUFF": None,
        "CONTAINER": (*SB_PREFIX, *_CONTAINER),
        "CARGOBACK": None,
        "PCKGBACK": None,
        "CONTAINERBACK": None,
        "AMENDHISTORY": None,
    },
    mapped=frozenset(
        {
            *(f"{t}.{c}" for t in ("SB", "EXCHANGE", "INVOICE", "ITEM", "CONTAINER") for c in PREFIX),
            "SB.cha_code",
            "SB.iec",
            "SB.exporter_name",
            "SB.exporter_address1",
            "SB.exporter_address2",
            "SB.exporter_city",
            "SB.exporter_state",
            "SB.exporter_pin",
            "SB.consignee_name",
            "SB.consignee_address1",
            "SB.consignee_address2",
            "SB.consignee_address3",
            "SB.consignee_address4",
            "SB.consignee_country",
            "SB.country_of_final_destination",
            "SB.gross_weight",
            "SB.weight_unit",
            "SB.total_packages",
            "SB.mawb_no",
            "EXCHANGE.currency",
            "EXCHANGE.rate",
            "INVOICE.invoice_sr_no",
            "INVOICE.invoice_no",
            "INVOICE.invoice_date",
            "INVOICE.currency",
            "INVOICE.invoice_value",
            "INVOICE.nature_of_contract",
            "ITEM.invoice_sr_no",
            "ITEM.item_sr_no",
            "ITEM.scheme_code",
            "ITEM.ritc",
            "ITEM.description1",
            "ITEM.description2",
            "ITEM.description3",
            "ITEM.unit",
            "ITEM.quantity",
            "CONTAINER.container_no",
        }
    ),
    aliases={"ITEMS": "ITEM"},
)

#: The messages this adapter reads, by HREC message id.
MESSAGES = {m.message_id: m for m in (BE, SB)}


def unmapped_paths() -> tuple[str, ...]:
    """Every path :meth:`IcegateAdapter.fields` may report that records do not
    carry: unmapped columns, whole tables without a layout, the HREC fields
    written with fixed values, the trailer and a signature block.

    A path mapped in one message and not in the other (none today) would be
    listed, which only makes the round-trip check laxer, never wrong.
    """
    out: list[str] = [f"HREC.{f}" for f in HREC_FIELDS if f not in HREC_MAPPED]
    out.append("TREC.control_no")
    out.append("SIGNATURE.*")
    for msg in (BE, SB):
        for table, columns in msg.tables.items():
            if columns is None:
                out.append(f"{table}.*")
                continue
            out.extend(f"{table}.{c}" for c in columns if f"{table}.{c}" not in msg.mapped)
    return tuple(dict.fromkeys(out))
