"""Rows and records: how the rows of one record fill it, and how a record is laid out in rows again.

A record is a tree (a declaration has items, an item has documents); a CSV file is flat. The rule that joins them:

- Every row of a record carries the record's own fields (meta, declaration number, exporter...), either repeated on
  each row or given once; where given more than once they must agree.
- A row that has a value for a field of a repeated message (``items.seq``, ``items.commodity.hs6``) adds one
  element to it. A row whose values for it lie only in a repeated field nested inside (``items.documents.number``)
  adds to the last element instead: a second document of the same item is a row with only document columns.
- Repeated fields side by side (a seizure's ``items`` and ``offenders``) are independent: row 1 may hold item 1 and
  offender 1, row 2 item 2 alone.

Encode lays records out by the same rule, so ``decode(encode(records)) == records``. What the rule cannot express:
an element without any value of its own (it would join the element before it), and an element with no value at all.
Neither occurs in a valid record.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from itertools import zip_longest
from typing import Any

from google.protobuf import descriptor as _d
from google.protobuf.message import Message
from tamga.adapters.csv import _fields
from tamga.adapters.csv._fields import FieldPath
from tamga.adapters.sdk import codes
from tamga.adapters.sdk.records import record_id_for
from tamga.errors import AdapterError
from tamga.v1 import common_pb2, records_pb2

__all__ = ["Cell", "apply_row", "fill_defaults", "layout"]

_FD = _d.FieldDescriptor
#: The date a record's body is about, the record's creation time when no column gives one (at 00:00 UTC).
_MAIN_DATE = {
    "declaration_snapshot": "acceptance_date",
    "seizure_report": "seizure_date",
    "ipr_detention": "detention_date",
}


@dataclass(frozen=True)
class Cell:
    """One non-empty cell, read.

    Attributes:
        path: The field it fills.
        value: The value (a list for a repeated field, a Timestamp for a timestamp).
        location: line, column, header and field, for errors.
    """

    path: FieldPath
    value: Any
    location: dict[str, object]


def apply_row(record: records_pb2.Record, cells: list[Cell], *, adapter: str) -> None:
    """Fill ``record`` with the cells of one of its rows.

    Raises:
        AdapterError: a cell contradicts an earlier row of the same record.
    """
    _apply(record, cells, 0, adapter)


def _apply(message: Message, cells: list[Cell], depth: int, adapter: str) -> None:
    groups: dict[str, list[Cell]] = {}
    for cell in cells:
        groups.setdefault(cell.path.steps[depth].name, []).append(cell)
    for group in groups.values():
        field = group[0].path.steps[depth]
        if depth == len(group[0].path.steps) - 1:
            for cell in group:
                _set(message, field, cell, adapter)
        elif field.is_repeated:
            container = getattr(message, field.name)
            own = any(all(d <= depth for d in cell.path.element_depths) for cell in group)
            element = container.add() if own or not len(container) else container[-1]
            _apply(element, group, depth + 1, adapter)
        else:
            sub = getattr(message, field.name)
            sub.SetInParent()
            _apply(sub, group, depth + 1, adapter)


def _set(message: Message, field: _d.FieldDescriptor, cell: Cell, adapter: str) -> None:
    name = field.name
    value = cell.value
    if cell.path.kind == _fields.TIMESTAMP:
        if message.HasField(name):
            old = getattr(message, name)
            if old != value:
                raise _conflict(cell, old.ToJsonString(), value.ToJsonString(), adapter)
            return
        getattr(message, name).CopyFrom(value)
    elif cell.path.repeated:
        container = getattr(message, name)
        if len(container):
            if list(container) != list(value):
                raise _conflict(cell, list(container), value, adapter)
            return
        container.extend(value)
    else:
        old = getattr(message, name)
        if old != field.default_value and old != value:
            raise _conflict(cell, old, value, adapter)
        setattr(message, name, value)


def _conflict(cell: Cell, old: object, new: object, adapter: str) -> AdapterError:
    return AdapterError(
        f"{cell.path.text} is {new!r} here but {old!r} in an earlier row of the same record;"
        " the rows of one record must agree on its fields",
        adapter=adapter,
        location=cell.location,
    )


def fill_defaults(
    record: records_pb2.Record, body: str, key: str, *, key_is_record_id: bool, source_format: str
) -> None:
    """Fill what a spreadsheet usually leaves out, the same way every adapter does.

    source_format "CSV"; source_record_ref the key; sender_authority the sender country's customs service;
    message_function ORIGINAL; handling RESTRICTED; created_at the body's date at 00:00 UTC; for a declaration the
    receivers are the other side (the destination of an export, the dispatch country of an import); record_id
    derived from source format and reference, so the same spreadsheet row always gives the same id.
    """
    meta = record.meta
    if not meta.source_format:
        meta.source_format = source_format
    if not meta.source_record_ref and not key_is_record_id:
        meta.source_record_ref = key
    if not meta.sender_authority and meta.sender_country:
        meta.sender_authority = codes.authority_of(meta.sender_country)
    if not meta.message_function:
        meta.message_function = common_pb2.MESSAGE_FUNCTION_ORIGINAL
    if not meta.handling:
        meta.handling = common_pb2.HANDLING_RESTRICTED
    body_message = getattr(record, body)
    if not meta.HasField("created_at") and body in _MAIN_DATE:
        try:
            day = datetime.date.fromisoformat(getattr(body_message, _MAIN_DATE[body]))
        except ValueError:
            pass
        else:
            meta.created_at.FromDatetime(datetime.datetime(day.year, day.month, day.day))
    if not meta.receiver_countries and body == "declaration_snapshot":
        decl = record.declaration_snapshot
        other = {
            records_pb2.DIRECTION_EXPORT: decl.destination_country,
            records_pb2.DIRECTION_IMPORT: decl.dispatch_country,
        }
        country = other.get(decl.direction, "")
        if country and country != meta.sender_country:
            meta.receiver_countries.append(country)
    if not meta.record_id:
        # As sdk.records.new_record: a correction or cancellation gets an id of its own.
        original = meta.message_function == common_pb2.MESSAGE_FUNCTION_ORIGINAL
        index: int | str = 0 if original else f"0/{meta.message_function}"
        meta.record_id = record_id_for(meta.source_format, meta.source_record_ref, body, index)


def layout(record: records_pb2.Record) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The record's values by field path: its own (for every row), and the rows of its repeated fields.

    Returns:
        (own, rows): ``own`` maps the paths of the record's own fields to their values; ``rows`` holds, per row,
        the values of elements of repeated fields (empty when the record has none).
    """
    return _block(record, "")


def _block(message: Message, prefix: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    own: dict[str, Any] = {}
    columns: list[list[dict[str, Any]]] = []
    for field, value in message.ListFields():
        path = prefix + field.name
        is_message = field.cpp_type == _FD.CPPTYPE_MESSAGE and field.message_type.full_name != _fields._TIMESTAMP
        if not is_message:
            own[path] = list(value) if field.is_repeated else value
        elif field.is_repeated:
            rows: list[dict[str, Any]] = []
            for element in value:
                element_own, element_rows = _block(element, path + ".")
                if element_rows:
                    rows.append({**element_own, **element_rows[0]})
                    rows.extend(element_rows[1:])
                elif element_own:
                    rows.append(element_own)
            columns.append(rows)
        else:
            sub_own, sub_rows = _block(value, path + ".")
            own.update(sub_own)
            if sub_rows:
                columns.append(sub_rows)
    rows = []
    for parts in zip_longest(*columns, fillvalue={}):
        merged: dict[str, Any] = {}
        for part in parts:
            merged.update(part)
        rows.append(merged)
    return own, rows
