"""The base class of Tamga's adapters."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar

from tamga.adapters.sdk.ods import without_derived
from tamga.errors import AdapterError
from tamga.v1 import records_pb2

__all__ = ["MAX_INPUT_BYTES", "BaseAdapter"]

#: Largest national file an adapter accepts by default (32 MiB). A customs
#: declaration with a thousand items is well under 2 MiB.
MAX_INPUT_BYTES = 32 * 1024 * 1024


class BaseAdapter:
    """What a national adapter derives from.

    A subclass sets the class attributes and implements :meth:`decode_file`
    and :meth:`encode_records`. :meth:`decode` and :meth:`encode` (what the
    node calls) add the checks every adapter needs: an input size limit, the
    record types the format can carry, the adapter's name on every error.

    Class attributes:
        name: The entry-point name (``eaeu``, ``icegate``...).
        file_suffix: Suffix of the files the adapter writes, with the dot.
        source_format: Label put in ``RecordMeta.source_format`` (``EEC:R.036``).
        record_types: Record bodies :meth:`encode` can express
            (``declaration_snapshot``, ``ods_shipment``...). The node writes
            other records to the incoming folder as canonical JSON instead.
        records_per_file: How many records the node may pass to one
            :meth:`encode` call by default.
        unmapped_fields: Fields of the national format the adapter reads but
            does not carry into records (so they are not reproduced by
            :meth:`encode`), as the paths :meth:`fields` uses. Patterns may
            end in ``*``.
        max_input_bytes: Larger inputs are refused before parsing.
        samples: Folder of the adapter's sample files, for the test suite and
            the conformance suite.
    """

    name: ClassVar[str] = ""
    file_suffix: ClassVar[str] = ""
    source_format: ClassVar[str] = ""
    record_types: ClassVar[tuple[str, ...]] = ()
    records_per_file: ClassVar[int] = 1
    unmapped_fields: ClassVar[tuple[str, ...]] = ()
    max_input_bytes: ClassVar[int] = MAX_INPUT_BYTES
    samples: ClassVar[Path | None] = None

    # -- what the node calls ------------------------------------------------

    def decode(self, data: bytes, *, source: str = "") -> list[records_pb2.Record]:
        """Translate one national file into records.

        Raises:
            AdapterError: the input is not valid; ``location`` says where.
        """
        if len(data) > self.max_input_bytes:
            raise self.error(
                f"file is {len(data)} bytes, more than this adapter's limit of {self.max_input_bytes} bytes",
                file=source or "<input>",
            )
        if not data.strip():
            raise self.error("file is empty", file=source or "<input>")
        records = self.decode_file(data, source=source)
        if not records:
            raise self.error("file holds no record", file=source or "<input>")
        return records

    def encode(self, records: Sequence[records_pb2.Record]) -> bytes:
        """Translate records into one national file.

        Raises:
            AdapterError: a record cannot be expressed in the national format.
        """
        if not records:
            raise self.error("nothing to encode: no records given")
        if "ods_shipment" not in self.record_types:
            # ODS shipments this adapter derives from the declarations it reads come
            # back with them; they are not written, decoding derives them again.
            records = without_derived(records)
        for i, rec in enumerate(records):
            kind = rec.WhichOneof("body") or ""
            if kind not in self.record_types:
                can = ", ".join(self.record_types) or "nothing"
                raise self.error(
                    f"{self.source_format or self.name} cannot carry a {kind or 'record without a body'}"
                    f" (it carries {can})",
                    record=f"records[{i}]",
                )
        return self.encode_records(records)

    def can_encode(self, record: records_pb2.Record) -> bool:
        """Whether :meth:`encode` can express this record."""
        return (record.WhichOneof("body") or "") in self.record_types

    # -- what a subclass implements -----------------------------------------

    def decode_file(self, data: bytes, *, source: str) -> list[records_pb2.Record]:
        raise NotImplementedError

    def encode_records(self, records: Sequence[records_pb2.Record]) -> bytes:
        raise NotImplementedError

    def fields(self, data: bytes) -> list[tuple[str, str]]:
        """Every non-empty leaf field of a national file, as (path, value) pairs.

        The round-trip tests use it to show that ``encode(decode(file))``
        keeps every field not listed in :attr:`unmapped_fields`. XML
        adapters return local-name paths (``GoodsDeclaration/EDocId``), flat
        files ``TABLE.column``, EDIFACT ``SEGMENT.element.component``.
        """
        raise NotImplementedError

    # -- helpers ---------------------------------------------------------------

    def error(self, message: str, **location: object) -> AdapterError:
        """An :class:`AdapterError` carrying this adapter's name and a location."""
        return AdapterError(message, adapter=self.name, location={k: v for k, v in location.items() if v != ""})

    @contextmanager
    def located(self, where: Callable[[], dict[str, object]] | None = None, /, **location: object) -> Iterator[None]:
        """Give an :class:`AdapterError` raised inside (by a code table, say) this
        adapter's name and the location of what was being read::

            with self.located(lambda: xml.where(item)):
                unit = EAEU_UNITS.to_standard(code)

        ``where`` is called only when an error is raised: building an XPath
        walks the tree, too slow to do for every value read.
        """
        try:
            yield
        except AdapterError as exc:
            if where is not None:
                location = {**where(), **location}
            if exc.adapter and exc.location.keys() >= location.keys():
                raise
            merged = {k: v for k, v in location.items() if v != ""}
            merged.update(exc.location)
            raise AdapterError(exc.message, adapter=self.name, location=merged) from None
