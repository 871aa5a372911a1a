"""The EAEU adapter: EEC R.036 GoodsDeclaration and Russia's ESADout_CU.

One document is one declaration. Decoding looks at the document element's
local name (namespaces change version between releases, so they are not
looked at): ``GoodsDeclaration`` is R.036, ``ESADout_CU`` the FTS format,
and an ``ED_Container`` is opened to the first of those it holds. A
declaration with goods under an ODS subheading also gives its derived
OdsShipment records.

Encoding writes ESADout_CU for a record read from ESADout_CU
(``meta.source_format`` "FTS:ESADout_CU") and R.036 for any other, so an RU
record goes back to the FTS system in its own format and a record from any
other country's adapter is written in the EAEU's cross-border one.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tamga.adapters.eaeu import _esad, _r036
from tamga.adapters.eaeu._common import Reader, Writer
from tamga.adapters.sdk import BaseAdapter, with_ods_shipments
from tamga.adapters.sdk.ods import ods_shipments_for
from tamga.adapters.sdk.xml import Element, leaves, local, parse_xml, serialize, where
from tamga.v1 import records_pb2

__all__ = ["EaeuAdapter"]

_DOCUMENTS = {"GoodsDeclaration": _r036, "ESADout_CU": _esad}
_CONTAINER = "ED_Container"


def _without_derived(records: Sequence[records_pb2.Record]) -> list[records_pb2.Record]:
    """The records minus the ODS shipments their declarations derive.

    ``sdk.without_derived`` (which ``BaseAdapter.encode`` applies) takes every
    ODS shipment for a derived one, because ``with_ods_shipments`` returns its
    input records too; an ODS shipment no declaration derives would then be
    dropped without a word. Here only the truly derived ones go.
    """
    derived = {d.SerializeToString(deterministic=True) for r in records for d in ods_shipments_for(r)}
    return [
        r for r in records if not (r.HasField("ods_shipment") and r.SerializeToString(deterministic=True) in derived)
    ]


class EaeuAdapter(BaseAdapter):
    """Reads EEC R.036 and FTS ESADout_CU declarations; writes either."""

    name = "eaeu"
    file_suffix = ".xml"
    source_format = _r036.SOURCE_FORMAT
    record_types = ("declaration_snapshot",)
    records_per_file = 1
    unmapped_fields = (*_r036.UNMAPPED, *_esad.UNMAPPED)
    samples = Path(__file__).parent / "samples"

    def encode(self, records: Sequence[records_pb2.Record]) -> bytes:
        """Write one declaration; the ODS shipments derived from it are skipped.

        Raises:
            AdapterError: not exactly one declaration, another kind of record,
                or text that XML cannot hold.
        """
        records = _without_derived(records)
        for i, rec in enumerate(records):
            kind = rec.WhichOneof("body") or "record without a body"
            if kind not in self.record_types:
                raise self.error(
                    f"an EAEU declaration document cannot carry a {kind} (it carries declaration_snapshot; an ODS"
                    " shipment is written only as the item of its declaration)",
                    record=f"records[{i}]",
                )
        return super().encode(records)

    def decode_file(self, data: bytes, *, source: str) -> list[records_pb2.Record]:
        doc = self._document(parse_xml(data, adapter=self.name, source=source), source)
        module = _DOCUMENTS[local(doc)]
        return with_ods_shipments([module.read(Reader(self, source), doc)])

    def encode_records(self, records: Sequence[records_pb2.Record]) -> bytes:
        if len(records) != 1:
            raise self.error(
                f"an EAEU document holds one declaration; {len(records)} were given", record=f"records[{len(records)}]"
            )
        rec = records[0]
        module = _esad if rec.meta.source_format == _esad.SOURCE_FORMAT else _r036
        return serialize(module.write(Writer(self, 0), rec))

    def fields(self, data: bytes) -> list[tuple[str, str]]:
        """Leaves of the declaration, paths starting at its document element
        (``GoodsDeclaration/...``, ``ESADout_CU/...``), wrapped or not; the
        leaves of an ED_Container around it keep their ``ED_Container/`` paths.

        Raises:
            AdapterError: not a document this adapter reads.
        """
        root = parse_xml(data, adapter=self.name)
        doc = self._document(root, "")
        if doc is root:
            return leaves(root)
        prefix = "/".join([*(local(a) for a in reversed(list(doc.iterancestors()))), local(doc)])
        outer = [(p, v) for p, v in leaves(root) if p != prefix and not p.startswith(prefix + "/")]
        return outer + leaves(doc)

    def _document(self, root: Element, source: str) -> Element:
        name = local(root)
        if name in _DOCUMENTS:
            return root
        if name == _CONTAINER:
            for el in root.iter():
                if local(el) in _DOCUMENTS:
                    return el
            raise self.error("the ED_Container holds no GoodsDeclaration (R.036) or ESADout_CU", **where(root, source))
        raise self.error(
            f"root element {name!r} is not an EEC R.036 GoodsDeclaration, an FTS ESADout_CU"
            " or an ED_Container holding one",
            **where(root, source),
        )
