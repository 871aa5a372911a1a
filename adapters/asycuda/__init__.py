"""ASYCUDA World adapter: the SAD as ASYCUDA exports it in XML.

ASYCUDA World (UNCTAD) writes one declaration per file, root ``<ASYCUDA>``,
no namespace, and an empty box as ``<Box><null/></Box>``. This adapter reads
imports (``IM``) and exports (``EX``) into a ``DeclarationSnapshot`` and writes
one back, with ``<null/>`` in the boxes it has no value for, as ASYCUDA does.

Mapping (paths under ``ASYCUDA/``; record fields of ``DeclarationSnapshot``):

==================================================================  =========================================
``Identification/Office_segment/Customs_clearance_office_code``     ``customs_office.customs_office_code``
``Identification/Office_segment/Customs_Clearance_office_name``     ``customs_office.name``
``Identification/Type/Type_of_declaration`` IM / EX                 ``direction`` IMPORT / EXPORT
``Identification/Type/Declaration_gen_procedure_code``              ``procedure_code``
``Identification/Registration/{Serial_number, Number, Date}``       ``declaration_no``, ``acceptance_date``
``Traders/Exporter/{Exporter_code, Exporter_name}``                 ``exporter.{id, name}``
``Traders/Consignee/{Consignee_code, Consignee_name}``              ``consignee.{id, name}``
``Declarant/{Declarant_code, Declarant_name}``                      ``declarant.{id, name}``
``Declarant/Reference/Number``                                      ``lrn``
``General_information/Country/Export/Export_country_code``          ``dispatch_country``
``General_information/Country/Destination/Destination_country_code``  ``destination_country``
``General_information/Country/Trading_country``                     ``trading_country``
``Transport/Means_of_transport/Border_information/Identity``        ``transport_means_id``
``Transport/Means_of_transport/Border_information/Mode``            ``transport_mode`` (Rec 19)
``Transport/Delivery_terms/Code``                                   ``incoterm``
``Valuation/Gs_Invoice/{Amount_foreign_currency, Currency_code}``   ``invoice_amount``
``Valuation/Gs_Invoice/Currency_rate``                              ``exchange_rate``
``Valuation/Weight/Gross_weight``                                   ``total_gross_mass`` (KGM)
``Property/Nbers/Total_number_of_packages``                         ``total_packages.count``
``Container/Container_identity``                                    ``container_ids``
``Item`` (n-th)                                                     ``items[n]``, ``seq`` = n
``Item/Packages/{Number_of_packages, Kind_of_packages_code}``       ``packages.{count, kind}``
``Item/Tarification/HScode/Commodity_code`` + ``Precision_1``       ``commodity.national_code``; ``hs6``
``Item/Tarification/{Extended, National}_customs_procedure``        ``procedure_code`` ("4000 000")
``Item/Tarification/Supplementary_unit/Suppplementary_unit_*``      ``supplementary_quantity`` (ASYCUDA_UNITS)
``Item/Goods_description/Country_of_origin_code``                   ``commodity.origin_country``
``Item/Goods_description/Description_of_goods``                     ``commodity.description``
``Item/Attached_documents/{code, reference, date}``                 ``documents[].{type, number, date}``
``Item/Valuation_item/Weight_itm/{Gross, Net}_weight_itm``          ``gross_mass``, ``net_mass`` (KGM)
``Item/Valuation_item/Total_CIF_itm``                               ``customs_value`` (national currency)
``Item/Valuation_item/Statistical_value``                           ``statistical_value`` (national currency)
``Item/Valuation_item/Item_Invoice/{Amount_foreign_currency, ..}``  ``invoice_amount``
==================================================================  =========================================

Conventions worth knowing:

- ``declaration_no`` is ``"<office> <year> <serial> <number>"``, e.g.
  ``"TJ001 2026 C 1523"``: ASYCUDA restarts numbers every year, so the year
  keeps the number, and the record id derived from it, unique.
- The declaring country (the record's sender) is the destination of an
  import and the country of export of an export; the partner country is the
  other one, and is required. Option ``country`` fills the declaring country
  when the SAD leaves it empty.
- ``Total_CIF_itm`` and ``Statistical_value`` are in the national currency,
  which the SAD does not name: it comes from the declaring country (TJ: TJS)
  or option ``national_currency``. On writing, an amount in any other
  currency is left empty rather than converted.
- The national code is written back as an 8-digit ``Commodity_code`` and
  the rest in ``Precision_1``. Masses are kilograms; tonnes and grams from
  other countries' records are converted exactly.
- Item procedure ``"4000 000"`` is ``Extended_customs_procedure`` and
  ``National_customs_procedure`` joined by a space.
- The SAD has no correction or cancellation marker: records are ORIGINAL.
- Goods under an ODS heading (HS 2903.71 HCFC-22...) also give an
  ``OdsShipment`` record each; encoding leaves those out again.
"""

from __future__ import annotations

from tamga.adapters.asycuda._adapter import AsycudaAdapter

__all__ = ["AsycudaAdapter"]
