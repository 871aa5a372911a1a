"""The ASYCUDA World adapter class: options, and the calls the node makes."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from tamga.adapters.asycuda._read import SOURCE_FORMAT, read_declaration
from tamga.adapters.asycuda._write import write_declaration
from tamga.adapters.sdk import BaseAdapter, with_ods_shipments
from tamga.adapters.sdk.codes import is_country, is_currency
from tamga.adapters.sdk.xml import leaves, parse_xml
from tamga.errors import AdapterError
from tamga.v1 import records_pb2

__all__ = ["AsycudaAdapter"]


class AsycudaAdapter(BaseAdapter):
    """ASYCUDA World SAD XML (``<ASYCUDA>``, no namespace) <-> DeclarationSnapshot.

    One SAD per file, imports (``IM``) and exports (``EX``). The package
    docstring lists the mapping box by box.

    Args:
        country: ISO 3166-1 alpha-2 code of the customs service running
            ASYCUDA. The SAD names the declaring country only as the
            destination of an import or the country of export of an export;
            some installations leave that box empty for their own country, and
            this option fills it. A country the SAD does give wins.
        national_currency: ISO 4217 code of the national currency, in which
            ASYCUDA keeps ``Total_CIF_itm`` and ``Statistical_value`` without
            naming it. Default: the currency of the declaring country.

    Raises:
        AdapterError: an option is not a valid code.
    """

    name: ClassVar[str] = "asycuda"
    file_suffix: ClassVar[str] = ".xml"
    source_format: ClassVar[str] = SOURCE_FORMAT
    record_types: ClassVar[tuple[str, ...]] = ("declaration_snapshot",)
    records_per_file: ClassVar[int] = 1
    samples: ClassVar[Path | None] = Path(__file__).parent / "samples"
    #: Boxes read and not carried into records (names, marks, national
    #: amounts the receiving system recomputes), plus the layout boxes the
    #: writer fills itself (Sad_flow, item count, country names).
    unmapped_fields: ClassVar[tuple[str, ...]] = (
        "ASYCUDA/Assessment_notice/*",
        "ASYCUDA/Global_taxes/*",
        "ASYCUDA/Property/Forms/*",
        "ASYCUDA/Property/Nbers/Number_of_loading_lists",
        "ASYCUDA/Property/Place_of_declaration",
        "ASYCUDA/Property/Date_of_declaration",
        "ASYCUDA/Property/Selected_page",
        "ASYCUDA/Identification/Manifest_reference_number",
        "ASYCUDA/Identification/Type/Type_of_transit_document",
        "ASYCUDA/Identification/Assessment/*",
        "ASYCUDA/Identification/receipt/*",
        "ASYCUDA/Traders/Financial/*",
        "ASYCUDA/Declarant/Declarant_representative",
        "ASYCUDA/General_information/Country/Country_first_destination",
        "ASYCUDA/General_information/Country/Export/Export_country_name",
        "ASYCUDA/General_information/Country/Export/Export_country_region",
        "ASYCUDA/General_information/Country/Destination/Destination_country_name",
        "ASYCUDA/General_information/Country/Destination/Destination_country_region",
        "ASYCUDA/General_information/Country/Country_of_origin_name",
        "ASYCUDA/General_information/Value_details",
        "ASYCUDA/General_information/CAP",
        "ASYCUDA/General_information/Additional_information",
        "ASYCUDA/General_information/Comments_free_text",
        "ASYCUDA/Transport/Means_of_transport/Departure_arrival_information/*",
        "ASYCUDA/Transport/Means_of_transport/Border_information/Nationality",
        "ASYCUDA/Transport/Means_of_transport/Inland_mode_of_transport",
        "ASYCUDA/Transport/Delivery_terms/Place",
        "ASYCUDA/Transport/Delivery_terms/Situation",
        "ASYCUDA/Transport/Border_office/*",
        "ASYCUDA/Transport/Place_of_loading/*",
        "ASYCUDA/Transport/Location_of_goods",
        "ASYCUDA/Financial/*",
        "ASYCUDA/Warehouse/*",
        "ASYCUDA/Transit/*",
        "ASYCUDA/Valuation/Calculation_working_mode",
        "ASYCUDA/Valuation/Gs_Invoice/Amount_national_currency",
        "ASYCUDA/Valuation/Gs_Invoice/Currency_name",
        "ASYCUDA/Valuation/Gs_external_freight/*",
        "ASYCUDA/Valuation/Gs_internal_freight/*",
        "ASYCUDA/Valuation/Gs_insurance/*",
        "ASYCUDA/Valuation/Gs_other_cost/*",
        "ASYCUDA/Valuation/Gs_deduction/*",
        "ASYCUDA/Valuation/Weight/Net_weight",
        "ASYCUDA/Valuation/Total/*",
        "ASYCUDA/Valuation/Total_cost",
        "ASYCUDA/Valuation/Total_CIF",
        "ASYCUDA/Container/Item_Number",
        "ASYCUDA/Container/Container_type",
        "ASYCUDA/Container/Empty_full_indicator",
        "ASYCUDA/Container/Gross_weight",
        "ASYCUDA/Container/Goods_description",
        "ASYCUDA/Container/Packages_type",
        "ASYCUDA/Container/Packages_number",
        "ASYCUDA/Container/Packages_weight",
        "ASYCUDA/Item/Packages/Marks1_of_packages",
        "ASYCUDA/Item/Packages/Marks2_of_packages",
        "ASYCUDA/Item/Packages/Kind_of_packages_name",
        "ASYCUDA/Item/Tarification/Tarification_data",
        "ASYCUDA/Item/Tarification/HScode/Precision_2",
        "ASYCUDA/Item/Tarification/HScode/Precision_3",
        "ASYCUDA/Item/Tarification/HScode/Precision_4",
        "ASYCUDA/Item/Tarification/Preference_code",
        "ASYCUDA/Item/Tarification/Quota_code",
        "ASYCUDA/Item/Tarification/Supplementary_unit/Suppplementary_unit_name",
        "ASYCUDA/Item/Tarification/Item_price",
        "ASYCUDA/Item/Tarification/Valuation_method_code",
        "ASYCUDA/Item/Tarification/Value_item",
        "ASYCUDA/Item/Tarification/Attached_doc_item",
        "ASYCUDA/Item/Goods_description/Country_of_origin_region",
        "ASYCUDA/Item/Goods_description/Commercial_Description",
        "ASYCUDA/Item/Attached_documents/Attached_document_name",
        "ASYCUDA/Item/Attached_documents/Attached_document_from_rule",
        "ASYCUDA/Item/Previous_doc/*",
        "ASYCUDA/Item/Licence_number",
        "ASYCUDA/Item/Free_text_1",
        "ASYCUDA/Item/Free_text_2",
        "ASYCUDA/Item/Taxation/*",
        "ASYCUDA/Item/Valuation_item/Total_cost_itm",
        "ASYCUDA/Item/Valuation_item/Rate_of_adjustement",
        "ASYCUDA/Item/Valuation_item/Alpha_coeficient_of_apportionment",
        "ASYCUDA/Item/Valuation_item/Item_Invoice/Amount_national_currency",
        "ASYCUDA/Item/Valuation_item/Item_Invoice/Currency_name",
        "ASYCUDA/Item/Valuation_item/Item_Invoice/Currency_rate",
        "ASYCUDA/Item/Valuation_item/item_external_freight/*",
        "ASYCUDA/Item/Valuation_item/item_internal_freight/*",
        "ASYCUDA/Item/Valuation_item/item_insurance/*",
        "ASYCUDA/Item/Valuation_item/item_other_cost/*",
        "ASYCUDA/Item/Valuation_item/item_deduction/*",
        "ASYCUDA/Item/Valuation_item/Market_valuer/*",
    )

    def __init__(self, country: str = "", national_currency: str = "") -> None:
        if country and not is_country(country):
            raise AdapterError(
                f'option country {country!r} is not an ISO 3166-1 alpha-2 code (e.g. "TJ")', adapter=self.name
            )
        if national_currency and not is_currency(national_currency):
            raise AdapterError(
                f'option national_currency {national_currency!r} is not an ISO 4217 code (e.g. "TJS")',
                adapter=self.name,
            )
        self.country = country
        self.national_currency = national_currency

    def decode_file(self, data: bytes, *, source: str) -> list[records_pb2.Record]:
        root = parse_xml(data, adapter=self.name, source=source)
        record = read_declaration(
            self, root, source=source, country=self.country, national_currency=self.national_currency
        )
        return with_ods_shipments([record])

    def encode_records(self, records: Sequence[records_pb2.Record]) -> bytes:
        # BaseAdapter.encode has already left out the OdsShipment records
        # decoding derives: the SAD holds their goods already.
        if len(records) != 1:
            raise self.error(
                f"an ASYCUDA SAD holds one declaration, and {len(records)} were given; encode them one per file",
                record=f"records[{1 if records else 0}]",
            )
        return write_declaration(records[0], country=self.country, national_currency=self.national_currency)

    def fields(self, data: bytes) -> list[tuple[str, str]]:
        """Every non-empty box of a SAD as (local-name path, value); ``<null/>`` boxes are empty."""
        return leaves(parse_xml(data, adapter=self.name))
