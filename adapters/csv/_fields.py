"""Field paths: how a CSV column names a field of a record, and how a cell's text becomes that field's value.

A path is the dotted chain of proto field names from :class:`Record` down to one value:
``meta.sender_country``, ``declaration_snapshot.items.commodity.hs6``. It may pass through repeated message fields
(``items``): each row then adds to one element of them (see ``_rows``). It must end at a value: a string, number,
enum, bool, a repeated one of those, or a Timestamp.

Cells are checked here, not only later by the node's validation, because here we still know the line and the column:
an operator fixing a spreadsheet needs "line 14, column 'Страна', 'KAZ' is not an ISO 3166-1 alpha-2 code", not
"record 12: bad country". The checks are the format rules of records.proto (codes, decimals, ISO dates), never
business rules (required fields), which the node's validation owns.
"""

from __future__ import annotations

import datetime
import difflib
import re
from dataclasses import dataclass
from typing import Any

from google.protobuf import descriptor as _d
from google.protobuf import timestamp_pb2
from tamga.adapters.sdk import codes
from tamga.adapters.sdk.records import parse_instant
from tamga.v1 import records_pb2

__all__ = [
    "BODIES",
    "RECORD_TYPE_COLUMN",
    "FieldPath",
    "enum_names",
    "format_value",
    "parse_value",
    "resolve",
]

_FD = _d.FieldDescriptor
_RECORD = records_pb2.Record.DESCRIPTOR
#: The record bodies, in records.proto order.
BODIES: tuple[str, ...] = tuple(f.name for f in _RECORD.oneofs_by_name["body"].fields)
#: Optional column of the default form naming a record's body, for files that mix record types.
RECORD_TYPE_COLUMN = "record_type"
_TIMESTAMP = "google.protobuf.Timestamp"

# Format rules of records.proto, by (message, field) or by field name.
_COUNTRY_FIELDS = frozenset(
    {
        "sender_country",
        "receiver_countries",
        "dispatch_country",
        "destination_country",
        "trading_country",
        "origin_country",
        "country",
        "issuer_country",
        "nationality",
        "departure_country",
        "transit_countries",
        "itinerary",
    }
)
_DATE_FIELDS = frozenset(
    {
        "acceptance_date",
        "seizure_date",
        "expected_date",
        "date",
        "valid_until",
        "right_valid_to",
        "protection_valid_to",
        "detention_date",
        "holder_deadline",
        "time_limit",
        "period_from",
        "period_to",
        "valid_from",
        "valid_to",
        "actual_date",
        "received_date",
        "disposal_certified_date",
    }
)
_DECIMAL_FIELDS = frozenset(
    {
        ("tamga.v1.Money", "amount"),
        ("tamga.v1.Quantity", "value"),
        ("tamga.v1.DeclarationSnapshot", "exchange_rate"),
        ("tamga.v1.OdsShipment", "odp"),
        ("tamga.v1.OdsShipment", "odp_tonnes"),
        ("tamga.v1.MixtureComponent", "percent"),
    }
)
_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_UNIT = re.compile(r"[A-Z0-9]{2,3}")
_HS6 = re.compile(r"[0-9]{6}")
_DIGITS = re.compile(r"[0-9]+")
_INT_RANGES = {
    _FD.CPPTYPE_INT32: (-(2**31), 2**31 - 1),
    _FD.CPPTYPE_UINT32: (0, 2**32 - 1),
    _FD.CPPTYPE_INT64: (-(2**63), 2**63 - 1),
    _FD.CPPTYPE_UINT64: (0, 2**64 - 1),
}
_TRUE = frozenset({"true", "yes", "1", "y"})
_FALSE = frozenset({"false", "no", "0", "n"})
# Cells a spreadsheet would run as a formula. A peer's free text is data, never a formula, so encode writes such a
# value after an apostrophe (what spreadsheets themselves do) and decode drops it again.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "'")

#: What a leaf holds: how its text is read and written.
STRING, CODE, ENUM, INT, BOOL, FLOAT, TIMESTAMP = range(7)


def _is_repeated(field: _d.FieldDescriptor) -> bool:
    return bool(field.is_repeated)


@dataclass(frozen=True)
class FieldPath:
    """A resolved field path.

    Attributes:
        text: The dotted path, as written.
        steps: The fields from Record down to the value.
        body: The record body the path lies in, or "" for ``meta``.
        kind: How the leaf is read and written (STRING, CODE...).
        repeated: The leaf is a repeated scalar, written as values separated by ";".
        element_depths: Indexes in ``steps`` of the repeated message fields the path passes through.
    """

    text: str
    steps: tuple[_d.FieldDescriptor, ...]
    body: str
    kind: int
    repeated: bool
    element_depths: tuple[int, ...]

    @property
    def leaf(self) -> _d.FieldDescriptor:
        return self.steps[-1]

    @property
    def record_level(self) -> bool:
        """Whether the value belongs to the record itself, not to an element of a repeated field."""
        return not self.element_depths

    @property
    def is_date(self) -> bool:
        return self.kind == CODE and self.leaf.name in _DATE_FIELDS


def _leaf_kind(field: _d.FieldDescriptor) -> int:
    cpp = field.cpp_type
    if cpp == _FD.CPPTYPE_MESSAGE:
        return TIMESTAMP if field.message_type.full_name == _TIMESTAMP else -1
    if cpp == _FD.CPPTYPE_ENUM:
        return ENUM
    if cpp == _FD.CPPTYPE_BOOL:
        return BOOL
    if cpp in _INT_RANGES:
        return INT
    if cpp in (_FD.CPPTYPE_FLOAT, _FD.CPPTYPE_DOUBLE):
        return FLOAT
    if field.type == _FD.TYPE_BYTES:
        return -1
    owner = field.containing_type.full_name
    name = field.name
    if (
        name in _COUNTRY_FIELDS
        or name in _DATE_FIELDS
        or (owner, name) in _DECIMAL_FIELDS
        or (owner, name) in {("tamga.v1.Money", "currency"), ("tamga.v1.Quantity", "unit")}
        or (owner, name) in {("tamga.v1.Commodity", "hs6"), ("tamga.v1.Commodity", "national_code")}
    ):
        return CODE
    return STRING


def resolve(text: str) -> FieldPath:
    """Resolve a dotted field path.

    Raises:
        ValueError: the path names no field, or names a message rather than a value; the message says which part
            is wrong and what would be right.
    """
    parts = text.strip().split(".")
    message = _RECORD
    steps: list[_d.FieldDescriptor] = []
    for i, part in enumerate(parts):
        field = message.fields_by_name.get(part) if message is not None else None
        if field is None:
            if i == 0:
                raise ValueError(
                    f"{text!r} is not a field path: a path starts with meta or a record body ({', '.join(BODIES)})"
                )
            if message is None:
                raise ValueError(f"{'.'.join(parts[:i])!r} is a value; it has no field {part!r}")
            names = [f.name for f in message.fields]
            near = difflib.get_close_matches(part, names, n=1)
            hint = f"; did you mean {near[0]!r}?" if near else f" (its fields: {', '.join(names)})"
            raise ValueError(f"{message.full_name} has no field {part!r} (in {text!r}){hint}")
        steps.append(field)
        if field.cpp_type == _FD.CPPTYPE_MESSAGE and field.message_type.full_name != _TIMESTAMP:
            message = field.message_type
        else:
            message = None
            if i != len(parts) - 1:
                raise ValueError(f"{'.'.join(parts[: i + 1])!r} is a value; it has no field {parts[i + 1]!r}")
    leaf = steps[-1]
    kind = _leaf_kind(leaf)
    if kind < 0:
        if leaf.cpp_type == _FD.CPPTYPE_MESSAGE:
            first = leaf.message_type.fields[0].name
            raise ValueError(
                f"{text!r} names a message ({leaf.message_type.full_name}), not a value: name one of its fields,"
                f" e.g. {text}.{first}"
            )
        raise ValueError(f"{text!r} is a bytes field, which CSV does not carry")
    if len(steps) == 1 and steps[0].name != "meta":
        raise ValueError(f"{text!r} names a whole record body; name one of its fields")
    repeated_leaf = _is_repeated(leaf)
    if repeated_leaf and kind == TIMESTAMP:
        raise ValueError(f"{text!r} is a repeated timestamp, which CSV does not carry")
    element_depths = tuple(i for i, f in enumerate(steps[:-1]) if _is_repeated(f) and f.cpp_type == _FD.CPPTYPE_MESSAGE)
    body = "" if steps[0].name == "meta" else steps[0].name
    return FieldPath(text.strip(), tuple(steps), body, kind, repeated_leaf, element_depths)


def _enum_prefix(enum: _d.EnumDescriptor) -> str:
    prefix = re.sub(r"(?<!^)(?=[A-Z])", "_", enum.name).upper() + "_"
    return prefix if all(v.name.startswith(prefix) for v in enum.values) else ""


def enum_names(field: _d.FieldDescriptor) -> list[str]:
    """The names a cell may give an enum field, short form (``EXPORT``), without the zero value."""
    prefix = _enum_prefix(field.enum_type)
    return [v.name[len(prefix) :] for v in field.enum_type.values if v.number != 0]


def _parse_enum(field: _d.FieldDescriptor, text: str) -> int:
    enum = field.enum_type
    name = text.strip().upper().replace(" ", "_").replace("-", "_")
    prefix = _enum_prefix(enum)
    value = enum.values_by_name.get(name) or enum.values_by_name.get(prefix + name)
    if value is not None:
        return int(value.number)
    if _DIGITS.fullmatch(name) and not enum.is_closed and int(name) < 2**31:
        return int(name)  # a number encode wrote for a value this schema version does not name
    raise ValueError(f"{text!r} is not a {enum.name}; allowed: {', '.join(enum_names(field))}")


def parse_scalar(path: FieldPath, text: str) -> Any:
    """The value of one cell (one element, for a repeated field) of ``path``.

    Raises:
        ValueError: the text does not fit the field; the message says why.
    """
    kind = path.kind
    leaf = path.leaf
    if kind == STRING:
        if text.startswith("'") and text[1:2] and text[1] in _FORMULA_START:
            return text[1:]
        return text
    value = text.strip()
    if kind == CODE:
        _check_code(path, value)
        return value
    if kind == ENUM:
        return _parse_enum(leaf, value)
    if kind == INT:
        low, high = _INT_RANGES[leaf.cpp_type]
        if not re.fullmatch(r"-?[0-9]+", value):
            raise ValueError(f"{text!r} is not a whole number")
        number = int(value)
        if not low <= number <= high:
            raise ValueError(f"{text!r} is out of range ({low} to {high})")
        return number
    if kind == BOOL:
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        raise ValueError(f"{text!r} is not true or false")
    if kind == FLOAT:
        try:
            return float(value)
        except ValueError:
            raise ValueError(f"{text!r} is not a number") from None
    if kind == TIMESTAMP:
        return parse_timestamp(value)
    raise ValueError(f"{path.text!r} cannot be read from CSV")  # pragma: no cover - resolve() refuses such paths


def parse_timestamp(value: str) -> timestamp_pb2.Timestamp:
    """An RFC 3339 date-time (a date, or a date-time without offset, is taken as UTC).

    Raises:
        ValueError: not a date-time.
    """
    ts = timestamp_pb2.Timestamp()
    try:
        ts.FromJsonString(value)
        return ts
    except ValueError:
        pass
    try:
        moment = parse_instant(value)
        ts.FromDatetime(moment.replace(tzinfo=None))
    except (ValueError, OverflowError, TypeError):
        raise ValueError(f"{value!r} is not an RFC 3339 date-time, e.g. 2026-03-01T10:00:00Z") from None
    return ts


def _check_code(path: FieldPath, value: str) -> None:
    leaf = path.leaf
    name = leaf.name
    owner = leaf.containing_type.full_name
    if name in _COUNTRY_FIELDS:
        if not codes.is_country(value):
            raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code")
    elif name in _DATE_FIELDS:
        if not _DATE.fullmatch(value) or not _valid_date(value):
            raise ValueError(f"{value!r} is not a date in the form YYYY-MM-DD")
    elif (owner, name) in _DECIMAL_FIELDS:
        if not _DECIMAL.fullmatch(value):
            raise ValueError(f"{value!r} is not a decimal number written with digits and a '.' (e.g. 4500.00)")
    elif name == "currency":
        if not codes.is_currency(value):
            raise ValueError(f"{value!r} is not an ISO 4217 currency code")
    elif name == "unit":
        if not _UNIT.fullmatch(value):
            raise ValueError(f"{value!r} is not a UNECE Recommendation 20 unit code (e.g. KGM, H87, TNE)")
    elif name == "hs6":
        if not _HS6.fullmatch(value):
            raise ValueError(f"{value!r} is not an HS subheading of six digits")
    elif name == "national_code":
        if not _DIGITS.fullmatch(value):
            raise ValueError(f"{value!r} is not a tariff code of digits only")


def _valid_date(value: str) -> bool:
    try:
        datetime.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def parse_value(path: FieldPath, text: str) -> Any:
    """The value of a whole cell: a list for a repeated field (values separated by ";"), else one value.

    Raises:
        ValueError: the text does not fit the field; the message says why.
    """
    if path.repeated:
        return [parse_scalar(path, part.strip()) for part in text.split(";") if part.strip()]
    return parse_scalar(path, text)


def format_scalar(path: FieldPath, value: Any) -> str:
    """The cell text of one value of ``path`` (the inverse of :func:`parse_scalar`)."""
    kind = path.kind
    if kind == STRING:
        text = str(value)
        return "'" + text if text.startswith(_FORMULA_START) else text
    if kind == ENUM:
        enum = path.leaf.enum_type
        found = enum.values_by_number.get(value)
        if found is None:
            return str(value)
        return found.name[len(_enum_prefix(enum)) :]
    if kind == BOOL:
        return "true" if value else "false"
    if kind == TIMESTAMP:
        return str(value.ToJsonString())
    if kind == FLOAT:
        return repr(float(value))
    return str(value)


def format_value(path: FieldPath, value: Any) -> str:
    """The cell text of a field's value: values of a repeated field joined by ";".

    Raises:
        ValueError: a value of a repeated field contains ";", which would split it.
    """
    if path.repeated:
        parts = [format_scalar(path, v) for v in value]
        for part in parts:
            if ";" in part:
                raise ValueError(f"value {part!r} of {path.text} contains ';', which separates values in a cell")
        return ";".join(parts)
    return format_scalar(path, value)
