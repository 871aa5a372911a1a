"""Mapping files: a national team's spreadsheet columns described in TOML, so no code is needed.

The format is documented in ``adapters/csv/MAPPING.md``; in short::

    record_type = "declaration_snapshot"     # the body every row belongs to
    key = "Номер ДТ"                          # rows with the same value here form one record
    delimiter = ";"                           # optional (default: the adapter's option)
    encoding = "utf-8"                        # optional (default: the adapter's option)
    utc_offset = "+05:00"                     # optional: date-times written without an offset are in this zone
    ignore = ["Примечание"]                   # optional: columns read and dropped

    [constants]                               # values every record gets (when no column gives one)
    "meta.sender_country" = "KZ"

    [columns]                                 # column header -> field path, or an inline table
    "Номер ДТ" = "declaration_snapshot.declaration_no"
    "Дата" = { field = "declaration_snapshot.acceptance_date", date_format = "%d.%m.%Y" }
    "Ед." = { field = "declaration_snapshot.items.net_mass.unit", values = { "КГ" = "KGM" } }

Every problem in the file is an :class:`AdapterError` naming the mapping file, the line when it can be found, and
what is wrong; a mapping is checked whole when the adapter is built, not when the first file arrives.
"""

from __future__ import annotations

import codecs
import datetime
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tamga.adapters.csv import _fields
from tamga.adapters.csv._fields import BODIES, FieldPath
from tamga.errors import AdapterError

__all__ = ["Column", "Mapping", "check_delimiter", "check_encoding", "load_mapping"]

_TOP_KEYS = ("record_type", "key", "delimiter", "encoding", "utc_offset", "ignore", "constants", "columns")
_COLUMN_KEYS = ("field", "values", "date_format", "decimal_comma", "keep_unlisted")
_OFFSET = re.compile(r"([+-])([0-9]{2}):([0-9]{2})")


@dataclass
class Column:
    """One column of a mapped spreadsheet.

    Attributes:
        header: The column's header, as in the file.
        path: The field it fills.
        values: National value -> record value (an enum's full name for enum fields).
        reverse: Record value -> the national value encode writes (the first listed).
        keep_unlisted: Values not in ``values`` are taken as they are, instead of refused.
        date_format: strptime/strftime format of a date or date-time column.
        decimal_comma: Decimals are written with "," (4500,00).
    """

    header: str
    path: FieldPath
    values: dict[str, str] = field(default_factory=dict)
    reverse: dict[str, str] = field(default_factory=dict)
    keep_unlisted: bool = False
    date_format: str = ""
    decimal_comma: bool = False


@dataclass
class Mapping:
    """A loaded, checked mapping file."""

    file: str
    record_type: str
    key: str
    columns: dict[str, Column]
    constants: list[tuple[FieldPath, Any]]
    ignore: tuple[str, ...] = ()
    delimiter: str | None = None
    encoding: str | None = None
    tz: datetime.tzinfo = datetime.UTC


def check_delimiter(value: object, **location: object) -> str:
    """The delimiter option, checked.

    Raises:
        AdapterError: not one character, or a character CSV cannot use as a delimiter.
    """
    if not isinstance(value, str) or len(value) != 1 or value in '"\r\n' or value.isalnum():
        raise AdapterError(
            f"delimiter must be one character other than a letter, digit, quote or line break, not {value!r}",
            adapter="csv",
            location=location,
        )
    return value


def check_encoding(value: object, **location: object) -> str:
    """The encoding option, checked.

    Raises:
        AdapterError: not a text encoding Python knows.
    """
    try:
        if not isinstance(value, str):
            raise LookupError(value)
        codec = codecs.lookup(value)
    except LookupError:
        raise AdapterError(f"unknown text encoding {value!r}", adapter="csv", location=location) from None
    if not codec._is_text_encoding:  # type: ignore[attr-defined]
        raise AdapterError(f"{value!r} is not a text encoding", adapter="csv", location=location)
    return str(codec.name)


class _Loader:
    def __init__(self, path: str) -> None:
        self.path = path
        self.name = Path(path).name
        self.text = ""

    def error(self, message: str, *needles: str) -> AdapterError:
        location: dict[str, object] = {"mapping_file": self.path}
        line = self.line_of(*needles)
        if line:
            location["line"] = line
        return AdapterError(f"mapping file {self.name}: {message}", adapter="csv", location=location)

    def line_of(self, *needles: str) -> int:
        """The line where the setting ``needles[0]`` (a key as written in TOML, quoted or bare) is given, or 0."""
        if not needles:
            return 0
        pattern = re.compile(r"\s*\[?" + re.escape(needles[0]) + r"\s*[=\]]")
        for number, line in enumerate(self.text.splitlines(), 1):
            if pattern.match(line):
                return number
        return 0

    def quoted(self, key: str) -> str:
        """A key as the file writes it: quoted, unless it is written bare."""
        return f'"{key}"' if f'"{key}"' in self.text else key

    def load(self) -> Mapping:
        try:
            raw = Path(self.path).read_bytes()
        except OSError as exc:
            raise AdapterError(
                f"mapping file {self.name} cannot be read: {exc.strerror or exc}",
                adapter="csv",
                location={"mapping_file": self.path},
            ) from None
        try:
            self.text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = raw.count(b"\n", 0, exc.start) + 1
            raise AdapterError(
                f"mapping file {self.name} is not UTF-8 (byte 0x{raw[exc.start]:02x}); TOML files are UTF-8",
                adapter="csv",
                location={"mapping_file": self.path, "line": line},
            ) from None
        try:
            doc = tomllib.loads(self.text)
        except tomllib.TOMLDecodeError as exc:
            found = re.search(r"at line ([0-9]+), column ([0-9]+)", str(exc))
            location: dict[str, object] = {"mapping_file": self.path}
            if found:
                location.update(line=int(found.group(1)), column=int(found.group(2)))
            reason = re.sub(r"\s*\(at line [0-9]+, column [0-9]+\)", "", str(exc))
            raise AdapterError(
                f"mapping file {self.name} is not valid TOML: {reason}", adapter="csv", location=location
            ) from None
        return self.build(doc)

    def build(self, doc: dict[str, Any]) -> Mapping:
        unknown = [k for k in doc if k not in _TOP_KEYS]
        if unknown:
            raise self.error(f"unknown setting {unknown[0]!r} (settings: {', '.join(_TOP_KEYS)})", unknown[0])
        columns_doc = doc.get("columns")
        if not isinstance(columns_doc, dict) or not columns_doc:
            raise self.error("[columns] is missing or empty: it maps each column header to a field path", "columns")
        record_type = doc.get("record_type")
        if record_type is None:
            raise self.error(f"record_type is missing; it names the body of every record: {', '.join(BODIES)}")
        if record_type not in BODIES:
            raise self.error(f"record_type {record_type!r} is not one of {', '.join(BODIES)}", "record_type")
        columns: dict[str, Column] = {}
        seen: dict[str, str] = {}
        for header, spec in columns_doc.items():
            column = self.column(header, spec, record_type)
            if column.path.text in seen:
                raise self.error(
                    f"columns {seen[column.path.text]!r} and {header!r} both fill {column.path.text}",
                    self.quoted(header),
                )
            seen[column.path.text] = header
            columns[header.strip()] = column
        key = doc.get("key")
        if not isinstance(key, str) or not key.strip():
            raise self.error("key is missing: it names the column whose value groups rows into one record", "key")
        key = key.strip()
        if key not in columns:
            raise self.error(f"key {key!r} is not one of the [columns]", "key")
        if not columns[key].path.record_level:
            raise self.error(
                f"key column {key!r} fills {columns[key].path.text}, a field of each element, not of the record",
                "key",
            )
        constants = self.constants(doc.get("constants", {}), record_type, seen)
        ignore = doc.get("ignore", [])
        if not isinstance(ignore, list) or not all(isinstance(i, str) for i in ignore):
            raise self.error("ignore must be a list of column headers", "ignore")
        clash = [i for i in ignore if i.strip() in columns]
        if clash:
            raise self.error(f"column {clash[0]!r} is both mapped and ignored", "ignore")
        delimiter = doc.get("delimiter")
        if delimiter is not None:
            try:
                check_delimiter(delimiter)
            except AdapterError as exc:
                raise self.error(exc.message, "delimiter") from None
        encoding = doc.get("encoding")
        if encoding is not None:
            try:
                encoding = check_encoding(encoding)
            except AdapterError as exc:
                raise self.error(exc.message, "encoding") from None
        tz: datetime.tzinfo = datetime.UTC
        offset = doc.get("utc_offset")
        if offset is not None:
            found = _OFFSET.fullmatch(offset) if isinstance(offset, str) else None
            if not found or int(found.group(2)) > 14 or int(found.group(3)) > 59:
                raise self.error(f"utc_offset must look like +05:00 or -03:30, not {offset!r}", "utc_offset")
            minutes = int(found.group(2)) * 60 + int(found.group(3))
            tz = datetime.timezone(datetime.timedelta(minutes=-minutes if found.group(1) == "-" else minutes))
        return Mapping(
            file=self.path,
            record_type=record_type,
            key=key,
            columns=columns,
            constants=constants,
            ignore=tuple(i.strip() for i in ignore),
            delimiter=delimiter,
            encoding=encoding,
            tz=tz,
        )

    def field_path(self, text: object, record_type: str, *needles: str) -> FieldPath:
        if not isinstance(text, str):
            raise self.error(f"field path must be a string, not {text!r}", *needles)
        try:
            path = _fields.resolve(text)
        except ValueError as exc:
            raise self.error(str(exc), *needles) from None
        if path.body and path.body != record_type:
            raise self.error(f"field {text!r} is not in {record_type}, the mapping's record_type", *needles)
        return path

    def column(self, header: str, spec: object, record_type: str) -> Column:
        quoted = self.quoted(header)
        if isinstance(spec, str):
            return Column(header.strip(), self.field_path(spec, record_type, quoted))
        if not isinstance(spec, dict):
            raise self.error(f"column {header!r}: expected a field path or an inline table, not {spec!r}", quoted)
        unknown = [k for k in spec if k not in _COLUMN_KEYS]
        if unknown:
            raise self.error(
                f"column {header!r}: unknown setting {unknown[0]!r} (settings: {', '.join(_COLUMN_KEYS)})", quoted
            )
        if "field" not in spec:
            raise self.error(f"column {header!r}: 'field' is missing", quoted)
        column = Column(header.strip(), self.field_path(spec["field"], record_type, quoted))
        path = column.path
        values = spec.get("values", {})
        if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
            raise self.error(f"column {header!r}: values must be a table of national value = record value", quoted)
        for national, standard in values.items():
            try:
                parsed = _fields.parse_scalar(path, standard)
            except ValueError as exc:
                raise self.error(f"column {header!r}: value {national!r} maps to {exc}", quoted) from None
            # Enum targets are kept as numbers' canonical text, so "EXPORT" and "DIRECTION_EXPORT" are one value.
            target = _fields.format_scalar(path, parsed) if path.kind == _fields.ENUM else standard
            column.values[national] = target
            column.reverse.setdefault(target, national)
        for flag in ("keep_unlisted", "decimal_comma"):
            if not isinstance(spec.get(flag, False), bool):
                raise self.error(f"column {header!r}: {flag} must be true or false", quoted)
        column.keep_unlisted = spec.get("keep_unlisted", False)
        column.decimal_comma = spec.get("decimal_comma", False)
        if (
            column.decimal_comma
            and (path.leaf.containing_type.full_name, path.leaf.name) not in _fields._DECIMAL_FIELDS
        ):
            raise self.error(f"column {header!r}: decimal_comma applies to decimal fields, not {path.text}", quoted)
        date_format = spec.get("date_format", "")
        if not isinstance(date_format, str):
            raise self.error(f'column {header!r}: date_format must be a string such as "%d.%m.%Y"', quoted)
        if date_format:
            if not (path.is_date or path.kind == _fields.TIMESTAMP) or path.repeated:
                raise self.error(
                    f"column {header!r}: date_format applies to dates and date-times, not {path.text}", quoted
                )
            try:
                sample = datetime.datetime(2026, 3, 1, 10, 30, 15).strftime(date_format)
                datetime.datetime.strptime(sample, date_format)
            except ValueError as exc:
                raise self.error(
                    f"column {header!r}: date_format {date_format!r} does not work: {exc}", quoted
                ) from None
            column.date_format = date_format
        return column

    def constants(self, doc: object, record_type: str, mapped: dict[str, str]) -> list[tuple[FieldPath, Any]]:
        if not isinstance(doc, dict):
            raise self.error("[constants] must be a table of field path = value", "constants")
        out = []
        for text, raw in doc.items():
            quoted = f'"{text}"'
            path = self.field_path(text, record_type, quoted)
            if not path.record_level:
                raise self.error(
                    f"constant {text}: a constant fills a field of the record, not of each element", quoted
                )
            if path.text in mapped:
                raise self.error(f"constant {text} is also filled by column {mapped[path.text]!r}", quoted)
            if isinstance(raw, list) and path.repeated:
                raw = ";".join(str(v) for v in raw)
            if isinstance(raw, bool):
                raw = "true" if raw else "false"
            if not isinstance(raw, str | int):
                raise self.error(f"constant {text}: expected a string, number or list, not {raw!r}", quoted)
            try:
                value = _fields.parse_value(path, str(raw))
            except ValueError as exc:
                raise self.error(f"constant {text}: {exc}", quoted) from None
            out.append((path, value))
        return out


def load_mapping(path: str) -> Mapping:
    """Read and check a mapping file.

    Raises:
        AdapterError: the file cannot be read, is not TOML, or maps something wrongly; with the file's path and,
            when it can be found, the line.
    """
    return _Loader(path).load()
