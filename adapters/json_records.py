"""The built-in JSON adapter: protobuf's canonical JSON mapping of Record.

A file holds ``{"records": [ {...}, ... ]}``, or a list of records, or one
record. Field names may be lowerCamelCase (canonical) or snake_case. The
adapter writes ``{"records": [...]}`` in canonical JSON, UTF-8, compact, one
trailing newline.

Speed. ``json_format.ParseDict`` and ``json_format.MessageToDict`` walk the
descriptors anew for every field of every record, which made this adapter the
node's bottleneck. Both directions here use a converter driven by plans built
once per message type from the descriptors. The converter takes only the
plain, well-formed shapes (right JSON type for each field, known field names,
one member per oneof, timestamps as RFC 3339 strings...). On anything else it
gives up on that record and hands it whole to ``json_format``, so the result,
and every error message, is exactly what ``json_format`` gives.
"""

from __future__ import annotations

import base64
import datetime
import json
import math
import re
from collections.abc import Sequence
from typing import Any

from google.protobuf import descriptor as _descriptor
from google.protobuf import descriptor_pool, json_format
from google.protobuf.internal import type_checkers
from tamga.errors import AdapterError
from tamga.v1 import records_pb2

__all__ = ["JsonAdapter"]

_BODY_FIELDS = [f.name for f in records_pb2.Record.DESCRIPTOR.oneofs_by_name["body"].fields]


class JsonAdapter:
    """Reads and writes Tamga records as canonical JSON."""

    name = "json"
    file_suffix = ".json"

    def _error(self, message: str, **location: object) -> AdapterError:
        return AdapterError(message, adapter=self.name, location=location)

    def decode(self, data: bytes, *, source: str = "") -> list[records_pb2.Record]:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise self._error(
                f"not UTF-8: byte 0x{data[exc.start]:02x} cannot start a UTF-8 character",
                byte_offset=exc.start,
            ) from exc
        if text.startswith("\ufeff"):
            text = text[1:]
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise self._error(f"not valid JSON: {exc.msg}", line=exc.lineno, column=exc.colno) from exc
        except RecursionError:
            # The reader follows arrays and objects by recursion: a file nested deeper than Python's stack
            # allows ends here, refused like any other bad file (a record is never more than a few levels deep).
            line, column, depth = _too_deep(text)
            raise self._error(
                f"nested too deeply to read: {depth} arrays or objects inside one another here"
                " (a tamga.v1.Record is a few levels deep)",
                line=line,
                column=column,
            ) from None
        except ValueError as exc:
            # An integer literal longer than Python converts (sys.get_int_max_str_digits, 4300 digits).
            line, column, digits = _long_number(text)
            raise self._error(
                f"a number of {digits} digits is too long to read ({exc.args[0].split(':')[0]})",
                line=line,
                column=column,
            ) from None
        items: list[Any]
        prefix: str
        if isinstance(doc, dict) and "records" in doc:
            extra = sorted(set(doc) - {"records"})
            if extra:
                raise self._error(f"unexpected top-level key {extra[0]!r} beside 'records'", path="$")
            if not isinstance(doc["records"], list):
                raise self._error("'records' must be a list", path="$.records")
            items, prefix = doc["records"], "$.records"
        elif isinstance(doc, list):
            items, prefix = doc, "$"
        elif isinstance(doc, dict):
            items, prefix = [doc], ""
        else:
            raise self._error("expected an object with 'records', a list, or one record", path="$")
        if not items:
            raise self._error("the file holds no record", path=prefix or "$")
        records = []
        for i, item in enumerate(items):
            path = f"{prefix}[{i}]" if prefix else "$"
            if not isinstance(item, dict):
                raise self._error("a record must be a JSON object", path=path)
            try:
                record = _from_dict(item, records_pb2.Record)
            except json_format.ParseError as exc:
                raise self._error("not a tamga.v1.Record: " + " ".join(str(exc).split()), path=path) from exc
            except Exception as exc:
                # json_format fails in other ways on some odd input: a lone surrogate in a key, or in a string
                # given for an object, makes upb raise SystemError.
                raise self._error("not a tamga.v1.Record: " + _describe(exc), path=path) from exc
            if record.WhichOneof("body") is None:
                raise self._error("record has no body; set exactly one of " + ", ".join(_BODY_FIELDS), path=path)
            records.append(record)
        return records

    def encode(self, records: Sequence[records_pb2.Record]) -> bytes:
        doc = {"records": [_message_to_dict(r) for r in records]}
        return (json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


# -- the converter ------------------------------------------------------------------------------------------------
#
# A plan says, for one message type, how each field travels; plans are built once per message type from its
# descriptor. A decode plan maps each accepted JSON key (json_name and proto name) to
# (field name, kind, the field's other key or None, oneof name or None, extra); an encode plan maps each
# FieldDescriptor, as ListFields returns it, to (json_name, kind, extra). "extra" is the sub-message's plan, an
# integer range, or an enum's names. Fields of kinds not handled here (maps, Any, Struct, Value, Duration, FieldMask,
# wrappers, NullValue) get _UNSUPPORTED, and so do all fields of a message whose JSON names clash; meeting one sends
# the record to json_format. So do unknown keys and extensions (missing from the plan). A plan another thread is
# still filling lacks some entries: that too only sends records to json_format, never gives a wrong result.


class _Unusual(Exception):
    """The fast converter does not handle this input; json_format must."""


_STRING, _BYTES, _BOOL, _INT, _INT64, _ENUM, _DOUBLE, _FLOAT, _MESSAGE, _TIMESTAMP, _UNSUPPORTED = range(11)
#: Added to the kind of a repeated field.
_REPEATED = 16
_REPEATED_STRING = _REPEATED + _STRING
_REPEATED_MESSAGE = _REPEATED + _MESSAGE
_REPEATED_TIMESTAMP = _REPEATED + _TIMESTAMP

_INT_RANGES = {
    _descriptor.FieldDescriptor.CPPTYPE_INT32: (-(2**31), 2**31 - 1),
    _descriptor.FieldDescriptor.CPPTYPE_UINT32: (0, 2**32 - 1),
    _descriptor.FieldDescriptor.CPPTYPE_INT64: (-(2**63), 2**63 - 1),
    _descriptor.FieldDescriptor.CPPTYPE_UINT64: (0, 2**64 - 1),
}
_INT32_MIN, _INT32_MAX = _INT_RANGES[_descriptor.FieldDescriptor.CPPTYPE_INT32]
_FLOAT_MAX = type_checkers._FLOAT_MAX
_TIMESTAMP_NAME = "google.protobuf.Timestamp"
# Any surrogate code point; json_format refuses the unpaired ones, and json.loads leaves no other kind in a str.
_SURROGATE = re.compile("[\ud800-\udfff]")
_DECIMAL = re.compile("-?[0-9]+")
# The common shape of an RFC 3339 timestamp, parsed here; any other shape goes to Timestamp.FromJsonString.
_RFC3339_UTC = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?Z")
_EPOCH = datetime.datetime(1970, 1, 1)
_MAX_DEPTH = 50

_DecodeSpec = tuple[str, int, "str | None", "str | None", Any]
_EncodeSpec = tuple[str, int, Any]
_DECODE_PLANS: dict[_descriptor.Descriptor, dict[str, _DecodeSpec]] = {}
_ENCODE_PLANS: dict[_descriptor.Descriptor, dict[_descriptor.FieldDescriptor, _EncodeSpec]] = {}


def _kind(field: _descriptor.FieldDescriptor) -> int:
    cpp = field.cpp_type
    ftype = _descriptor.FieldDescriptor
    if cpp == ftype.CPPTYPE_MESSAGE:
        message_type = field.message_type
        if message_type.full_name == _TIMESTAMP_NAME:
            kind = _TIMESTAMP
        elif message_type.GetOptions().map_entry or message_type.full_name.startswith("google.protobuf."):
            return _UNSUPPORTED
        else:
            kind = _MESSAGE
    elif cpp == ftype.CPPTYPE_ENUM:
        if field.enum_type.full_name == "google.protobuf.NullValue":
            return _UNSUPPORTED
        kind = _ENUM
    elif cpp == ftype.CPPTYPE_STRING:
        kind = _BYTES if field.type == ftype.TYPE_BYTES else _STRING
    elif cpp == ftype.CPPTYPE_BOOL:
        kind = _BOOL
    elif cpp in (ftype.CPPTYPE_INT64, ftype.CPPTYPE_UINT64):
        kind = _INT64
    elif cpp in (ftype.CPPTYPE_INT32, ftype.CPPTYPE_UINT32):
        kind = _INT
    elif cpp == ftype.CPPTYPE_DOUBLE:
        kind = _DOUBLE
    elif cpp == ftype.CPPTYPE_FLOAT:
        kind = _FLOAT
    else:
        return _UNSUPPORTED
    return kind + _REPEATED if field.is_repeated else kind


def _enum_names_are_plain(enum_type: _descriptor.EnumDescriptor) -> bool:
    """False when a value carries a custom JSON name (the pb.enumvalue.json option), which json_format prints."""
    try:
        extension = descriptor_pool.Default().FindExtensionByName("pb.enumvalue.json")
    except KeyError:
        return True
    return not any(value.GetOptions().HasExtension(extension) for value in enum_type.values)


def _decode_plan(message_type: _descriptor.Descriptor) -> dict[str, _DecodeSpec]:
    plan = _DECODE_PLANS.get(message_type)
    if plan is not None:
        return plan
    plan = _DECODE_PLANS[message_type] = {}  # registered before it is filled: message types may recurse
    fields = list(message_type.fields)
    names = {f.name for f in fields}
    json_names = [f.json_name for f in fields]
    # json_format looks a key up by json_name first, then by name: a key that is one field's json_name and
    # another's name, or two fields sharing a json_name, is left to it.
    clash = len(set(json_names)) != len(json_names) or any(
        f.json_name in names and f.json_name != f.name for f in fields
    )
    for f in fields:
        kind = _UNSUPPORTED if clash else _kind(f)
        base = kind % _REPEATED
        extra: Any = None
        if base == _MESSAGE:
            extra = _decode_plan(f.message_type)
        elif base in (_INT, _INT64):
            extra = _INT_RANGES[f.cpp_type]
        elif base == _ENUM:
            enum_type = f.enum_type
            closed_numbers = frozenset(v.number for v in enum_type.values) if enum_type.is_closed else None
            extra = ({v.name: v.number for v in enum_type.values}, closed_numbers)
        # A oneof (a synthetic one too, for a proto3 optional field): two members in one object is an error.
        oneof = f.containing_oneof.name if f.containing_oneof is not None else None
        if f.json_name == f.name:
            plan[f.name] = (f.name, kind, None, oneof, extra)
        else:
            # Both spellings of one field in one object: json_format merges them; left to it.
            plan[f.json_name] = (f.name, kind, f.name, oneof, extra)
            plan[f.name] = (f.name, kind, f.json_name, oneof, extra)
    return plan


def _encode_plan(message_type: _descriptor.Descriptor) -> dict[_descriptor.FieldDescriptor, _EncodeSpec]:
    plan = _ENCODE_PLANS.get(message_type)
    if plan is not None:
        return plan
    plan = _ENCODE_PLANS[message_type] = {}  # registered before it is filled: message types may recurse
    for f in message_type.fields:
        kind = _kind(f)
        base = kind % _REPEATED
        extra: Any = None
        if base == _MESSAGE:
            extra = _encode_plan(f.message_type)
        elif base == _ENUM:
            enum_type = f.enum_type
            if not _enum_names_are_plain(enum_type):
                kind = _UNSUPPORTED
            # The name json_format prints for a number with aliases is values_by_number's (iterating that map
            # yields every alias).
            by_number = enum_type.values_by_number
            extra = ({v.number: by_number[v.number].name for v in enum_type.values}, enum_type.is_closed)
        plan[f] = (f.json_name, kind, extra)
    return plan


# -- decode ----------------------------------------------------------------------------------------------------------


def _from_dict(js: dict[str, Any], message_class: Any) -> Any:
    """``json_format.ParseDict(js, message_class())``, result and errors alike, mostly without calling it.

    Raises:
        json_format.ParseError: as ParseDict does.
    """
    message = message_class()
    try:
        _fill(message, js, _decode_plan(message.DESCRIPTOR), 0)
    except Exception:
        pass  # anything unusual: json_format decides, below
    else:
        return message
    # On a fresh message, so that the result and the error are exactly json_format's own.
    message = message_class()
    json_format.ParseDict(js, message)
    return message


#: Strings (skipped whole) and the brackets that open and close arrays and objects.
_NESTING_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')
#: Depth at which :func:`_too_deep` places a nesting error; far beyond any record, far below Python's stack.
_REPORTED_DEPTH = 500


def _line_column(text: str, offset: int) -> tuple[int, int]:
    return text.count("\n", 0, offset) + 1, offset - text.rfind("\n", 0, offset)


def _too_deep(text: str) -> tuple[int, int, int]:
    """(line, column, depth) of the first bracket nested ``_REPORTED_DEPTH`` deep, or of the deepest one."""
    depth, deepest, at = 0, 0, 0
    for m in _NESTING_TOKENS.finditer(text):
        token = m.group()
        if token in "[{":
            depth += 1
            if depth > deepest:
                deepest, at = depth, m.start()
                if depth >= _REPORTED_DEPTH:
                    break
        elif token in "]}":
            depth -= 1
    line, column = _line_column(text, at)
    return line, column, deepest


def _long_number(text: str) -> tuple[int, int, int]:
    """(line, column, digits) of the longest run of digits outside strings (0, 0, 0 if none)."""
    best, at = 0, 0
    for m in re.finditer(r'"(?:[^"\\]|\\.)*"|[0-9]+', text):
        if m.group()[0] != '"' and len(m.group()) > best:
            best, at = len(m.group()), m.start()
    if not best:
        return 0, 0, 0
    line, column = _line_column(text, at)
    return line, column, best


def _describe(exc: BaseException) -> str:
    """One line naming an unexpected exception and its direct cause."""
    text = f"{type(exc).__name__}: {exc}"
    if exc.__cause__ is not None:
        text += f" ({type(exc.__cause__).__name__}: {exc.__cause__})"
    return " ".join(text.split())


def _fill(message: Any, js: dict[str, Any], plan: dict[str, _DecodeSpec], depth: int) -> None:
    """Set the fields of ``message`` (fresh) from ``js`` as json_format.ParseDict would, or raise.

    Raises:
        Exception: _Unusual, KeyError (an unknown key), or whatever protobuf raises: json_format must decide.
    """
    if depth > _MAX_DEPTH:
        raise _Unusual("too deep")
    oneofs: set[str] | None = None
    for key, value in js.items():
        name, kind, twin, oneof, extra = plan[key]
        if twin is not None and twin in js:
            raise _Unusual("field given twice")
        if value is None:
            # Explicit null: the field stays unset (the message is fresh, and the field appears once).
            continue
        if oneof is not None:
            if oneofs is None:
                oneofs = {oneof}
            elif oneof in oneofs:
                raise _Unusual("two members of a oneof")
            else:
                oneofs.add(oneof)
        if kind == _STRING:
            if type(value) is not str or (not value.isascii() and _SURROGATE.search(value)):
                raise _Unusual("not a string")
            setattr(message, name, value)
        elif kind == _MESSAGE:
            if type(value) is not dict:
                raise _Unusual("not an object")
            sub = getattr(message, name)
            sub.SetInParent()
            _fill(sub, value, extra, depth + 1)
        elif kind == _TIMESTAMP:
            sub = getattr(message, name)
            sub.SetInParent()
            _set_timestamp(sub, value)
        elif kind < _REPEATED:
            setattr(message, name, _scalar(kind, extra, value))
        elif type(value) is not list:
            raise _Unusual("repeated field not a list")
        elif kind == _REPEATED_STRING:
            for item in value:
                if type(item) is not str or (not item.isascii() and _SURROGATE.search(item)):
                    raise _Unusual("not a string")
            getattr(message, name).extend(value)
        elif kind == _REPEATED_MESSAGE:
            container = getattr(message, name)
            for item in value:
                if type(item) is not dict:
                    raise _Unusual("element not an object")
                _fill(container.add(), item, extra, depth + 1)
        elif kind == _REPEATED_TIMESTAMP:
            container = getattr(message, name)
            for item in value:
                _set_timestamp(container.add(), item)
        else:
            kind -= _REPEATED
            getattr(message, name).extend([_scalar(kind, extra, item) for item in value])


def _scalar(kind: int, extra: Any, value: Any) -> Any:
    """The Python value json_format would set for a scalar field, or _Unusual."""
    vtype = type(value)
    if kind == _ENUM:
        by_name, closed_numbers = extra
        if vtype is str:
            number = by_name.get(value)
            if number is None:
                raise _Unusual("enum name not known")
            return number
        if vtype is int and _INT32_MIN <= value <= _INT32_MAX:
            if closed_numbers is not None and value not in closed_numbers:
                raise _Unusual("closed enum number not known")
            return value
        raise _Unusual("enum value")
    if kind == _INT or kind == _INT64:
        if vtype is int:
            number = value
        elif vtype is str and _DECIMAL.fullmatch(value):
            number = int(value)
        else:
            raise _Unusual("integer value")
        low, high = extra
        if not low <= number <= high:
            raise _Unusual("integer out of range")
        return number
    if kind == _BOOL:
        if vtype is bool:
            return value
        raise _Unusual("bool value")
    if kind == _STRING:
        if vtype is str and (value.isascii() or not _SURROGATE.search(value)):
            return value
        raise _Unusual("string value")
    if kind == _BYTES:
        if vtype is str:
            encoded = value.encode("utf-8")
            # Exactly json_format's decoding, padding included.
            return base64.urlsafe_b64decode(encoded + b"=" * (4 - len(encoded) % 4))
        raise _Unusual("bytes value")
    if kind == _DOUBLE or kind == _FLOAT:
        if vtype is float:
            number = value
        elif vtype is int:
            number = float(value)
        else:
            raise _Unusual("number value")
        if not math.isfinite(number) or (kind == _FLOAT and abs(number) > _FLOAT_MAX):
            raise _Unusual("number out of range")
        return number
    raise _Unusual("unsupported field kind")


def _set_timestamp(timestamp: Any, value: Any) -> None:
    if type(value) is not str:
        raise _Unusual("timestamp not a string")
    match = _RFC3339_UTC.fullmatch(value)
    if match is None:
        timestamp.FromJsonString(value)
        return
    year, month, day, hour, minute, second, fraction = match.groups()
    try:
        moment = datetime.datetime(int(year), int(month), int(day), int(hour), int(minute), int(second))
    except ValueError:
        timestamp.FromJsonString(value)  # raises as json_format's parser does
        return
    delta = moment - _EPOCH
    timestamp.seconds = delta.days * 86400 + delta.seconds
    # The same arithmetic as Timestamp.FromJsonString, for the same rounding.
    timestamp.nanos = round(float("0." + fraction) * 1e9) if fraction else 0


# -- encode ----------------------------------------------------------------------------------------------------------


def _message_to_dict(message: Any) -> dict[str, Any]:
    """json_format.MessageToDict(message), by the encode plans; json_format itself for anything unusual."""
    try:
        return _to_dict(message, _encode_plan(message.DESCRIPTOR), 0)
    except Exception:
        return json_format.MessageToDict(message)


def _to_dict(message: Any, plan: dict[_descriptor.FieldDescriptor, _EncodeSpec], depth: int) -> dict[str, Any]:
    if depth > _MAX_DEPTH:
        raise _Unusual("too deep")
    js: dict[str, Any] = {}
    for field, value in message.ListFields():
        json_name, kind, extra = plan[field]  # KeyError for an extension: json_format's business
        if kind == _STRING:
            js[json_name] = value
        elif kind == _MESSAGE:
            js[json_name] = _to_dict(value, extra, depth + 1)
        elif kind == _REPEATED_STRING:
            js[json_name] = list(value)
        elif kind == _REPEATED_MESSAGE:
            js[json_name] = [_to_dict(item, extra, depth + 1) for item in value]
        elif kind < _REPEATED:
            js[json_name] = _scalar_to_json(kind, extra, value)
        else:
            kind -= _REPEATED
            js[json_name] = [_scalar_to_json(kind, extra, item) for item in value]
    return js


def _scalar_to_json(kind: int, extra: Any, value: Any) -> Any:
    if kind == _ENUM:
        names, closed = extra
        name = names.get(value)
        if name is not None:
            return name
        if closed:
            raise _Unusual("closed enum number not known")
        return value
    if kind == _TIMESTAMP:
        return value.ToJsonString()
    if kind == _STRING or kind == _INT or kind == _BOOL:
        return value
    if kind == _INT64:
        return str(value)
    if kind == _BYTES:
        return base64.b64encode(value).decode("ascii")
    if kind == _DOUBLE:
        if math.isfinite(value):
            return value
        raise _Unusual("non-finite double")
    if kind == _FLOAT:
        if math.isfinite(value):
            return type_checkers.ToShortestFloat(value)
        raise _Unusual("non-finite float")
    raise _Unusual("unsupported field kind")
