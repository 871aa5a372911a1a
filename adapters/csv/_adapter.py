"""The CSV adapter: spreadsheets and database exports, for teams whose national system has no richer format.

Two forms of file.

Default form (no mapping): the header row names record field paths, dotted, in proto field names
(``meta.sender_country``, ``declaration_snapshot.items.commodity.hs6``). Rows with the same ``meta.record_id`` (or,
without that column, the same ``meta.source_record_ref``) form one record; a row with values for a repeated message
field (items, goods...) adds one element to it (see ``_rows`` for the exact rule). Repeated scalars
(receiver_countries, container_ids, y_codes, nice_classes...) are values separated by ";" in one cell. Enums are
written by name, with or without their prefix (``EXPORT`` or ``DIRECTION_EXPORT``); timestamps as RFC 3339; numbers
as digits; dates as YYYY-MM-DD; amounts exactly as written. The body is implied by the paths; a file that mixes
record types adds a ``record_type`` column naming each record's body.

Mapped form: a TOML mapping file (``MAPPING.md``) maps the columns of a national spreadsheet, in any language, to
field paths, with constants, value maps (KGS -> KGM, ЭК -> EXPORT), date formats and decimal commas.

Either way the adapter fills what spreadsheets leave out as every adapter does (record id derived from the
reference, sender authority from the sender country, ORIGINAL, RESTRICTED), and encode writes the same form back:
a header row, then the records' rows, in the mapping's columns or in field paths.
"""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

from tamga.adapters.csv import _fields, _rows
from tamga.adapters.csv._fields import BODIES, RECORD_TYPE_COLUMN, FieldPath
from tamga.adapters.csv._mapping import Column, Mapping, check_delimiter, check_encoding, load_mapping
from tamga.adapters.sdk import BaseAdapter, with_ods_shipments, without_derived
from tamga.adapters.sdk.text import decode_text
from tamga.errors import AdapterError
from tamga.v1 import records_pb2

__all__ = ["CsvAdapter"]

_RECORD_ID = "meta.record_id"
_SOURCE_REF = "meta.source_record_ref"


class _Reader:
    """How one column of a file is read and written."""

    def __init__(self, header: str, path: FieldPath | None, column: Column | None, tz: datetime.tzinfo) -> None:
        self.header = header
        self.path = path  # None: the record_type column
        self.column = column  # None: default form
        self.tz = tz

    def read(self, text: str) -> Any:
        """The field value of a cell.

        Raises:
            ValueError: the text does not fit; why.
        """
        assert self.path is not None
        if self.column is None:
            return _fields.parse_value(self.path, text)
        if self.path.repeated:
            return [self._read_one(part.strip()) for part in text.split(";") if part.strip()]
        return self._read_one(text)

    def _read_one(self, text: str) -> Any:
        column = self.column
        path = self.path
        assert column is not None and path is not None
        key = text.strip()
        if column.values:
            if key in column.values:
                text = column.values[key]
            elif not (key in column.reverse or column.keep_unlisted):
                known = ", ".join(column.values)
                raise ValueError(f"{key!r} is not a value the mapping knows for this column (it knows: {known})")
        if column.decimal_comma:
            text = text.replace(",", ".")
        if column.date_format:
            try:
                moment = datetime.datetime.strptime(text.strip(), column.date_format)
            except ValueError:
                raise ValueError(f"{text.strip()!r} does not match the date format {column.date_format!r}") from None
            if path.kind == _fields.TIMESTAMP:
                if moment.tzinfo is None:
                    moment = moment.replace(tzinfo=self.tz)
                text = moment.isoformat()
            else:
                text = moment.date().isoformat()
        return _fields.parse_scalar(path, text)

    def write(self, value: Any) -> str:
        """The cell text of a field value.

        Raises:
            ValueError: the value cannot be written in one cell.
        """
        assert self.path is not None
        if self.column is None:
            return _fields.format_value(self.path, value)
        if self.path.repeated:
            parts = [self._write_one(v) for v in value]
            if any(";" in p for p in parts):
                raise ValueError(f"a value of {self.path.text} contains ';', which separates values in a cell")
            return ";".join(parts)
        return self._write_one(value)

    def _write_one(self, value: Any) -> str:
        column = self.column
        path = self.path
        assert column is not None and path is not None
        text = _fields.format_scalar(path, value)
        if column.date_format:
            try:
                if path.kind == _fields.TIMESTAMP:
                    moment = value.ToDatetime(tzinfo=datetime.UTC).astimezone(self.tz)
                else:
                    moment = datetime.datetime.fromisoformat(text)
                text = moment.strftime(column.date_format)
            except (ValueError, OverflowError):
                pass  # not a date this column can show: written as it is, and decode will say so
        if column.decimal_comma:
            text = text.replace(".", ",")
        return column.reverse.get(text, text)


class CsvAdapter(BaseAdapter):
    """Records to and from CSV files: field paths as headers, or a national spreadsheet through a mapping file.

    Args:
        mapping_file: A TOML mapping file (see ``MAPPING.md``); None for the default form.
        delimiter: Cell separator. A mapping file's ``delimiter`` overrides it.
        encoding: Text encoding of files read and written. A mapping file's ``encoding`` overrides it.

    Raises:
        AdapterError: a bad option, or a mapping file that cannot be read or maps something wrongly (with the
            mapping file's name, the line when known, and what is wrong).
    """

    name: ClassVar[str] = "csv"
    file_suffix: ClassVar[str] = ".csv"
    source_format: ClassVar[str] = "CSV"
    record_types: ClassVar[tuple[str, ...]] = BODIES
    records_per_file: ClassVar[int] = 1000
    samples: ClassVar[Path | None] = Path(__file__).parent / "samples"

    def __init__(self, mapping_file: str | None = None, delimiter: str = ",", encoding: str = "utf-8") -> None:
        self.delimiter = check_delimiter(delimiter, option="delimiter")
        self.encoding = check_encoding(encoding, option="encoding")
        self.mapping: Mapping | None = None
        if mapping_file is not None:
            if not isinstance(mapping_file, str | Path) or not str(mapping_file).strip():
                raise AdapterError(f"mapping_file must be a file path, not {mapping_file!r}", adapter=self.name)
            self.mapping = load_mapping(str(mapping_file))
            for option, given, default, mapped in (
                ("delimiter", self.delimiter, ",", self.mapping.delimiter),
                ("encoding", self.encoding, check_encoding("utf-8"), self.mapping.encoding),
            ):
                if mapped is not None and given != default and given != mapped:
                    raise AdapterError(
                        f"option {option} is {given!r} but mapping file {Path(self.mapping.file).name} says"
                        f" {mapped!r}; set it in one place",
                        adapter=self.name,
                        location={"mapping_file": self.mapping.file, "option": option},
                    )
            if self.mapping.delimiter is not None:
                self.delimiter = self.mapping.delimiter
            if self.mapping.encoding is not None:
                self.encoding = self.mapping.encoding
            # Columns the mapping ignores are read and dropped: encode cannot give them back.
            self.unmapped_fields = self.mapping.ignore  # type: ignore[misc]

    # -- reading -------------------------------------------------------------------------------------------------

    def _rows(self, data: bytes, source: str) -> Iterator[tuple[int, list[str]]]:
        """(first line, cells) of every row that is not blank."""
        text = decode_text(data, self.encoding, adapter=self.name, source=source)
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=self.delimiter, strict=True)
        line = 1
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                if str(exc) == "unexpected end of data":
                    why = "the file ends inside a quoted cell of this row (a truncated file, or a quote not closed)"
                else:
                    why = str(exc)
                raise self.error(f"not valid CSV: {why}", file=source, line=line) from None
            if any(cell.strip() for cell in row):
                yield line, row
            line = reader.line_num + 1

    def fields(self, data: bytes) -> list[tuple[str, str]]:
        """("column header", cell) for every non-empty cell, row by row.

        Raises:
            AdapterError: the file is not text in the adapter's encoding, or not CSV.
        """
        rows = self._rows(data, "")
        first = next(rows, None)
        if first is None:
            return []
        header = [h.strip() for h in first[1]]
        out = []
        for line, row in rows:
            if len(row) != len(header):
                raise self.error(f"row has {len(row)} cells but the header has {len(header)}", line=line)
            out.extend((header[i], cell) for i, cell in enumerate(row) if cell.strip())
        return out

    def _readers(self, header: list[str], source: str, line: int) -> list[_Reader | None]:
        readers: list[_Reader | None] = []
        seen: dict[str, int] = {}
        mapping = self.mapping
        for number, cell in enumerate(header, 1):
            where = {"file": source, "line": line, "column": number, "header": cell}
            if not cell:
                raise self.error(f"column {number} has no header", **where)
            if cell in seen:
                raise self.error(f"column {cell!r} appears twice (columns {seen[cell]} and {number})", **where)
            seen[cell] = number
            if mapping is not None:
                if cell in mapping.ignore:
                    readers.append(None)
                    continue
                column = mapping.columns.get(cell)
                if column is None:
                    known = ", ".join(repr(c) for c in mapping.columns)
                    raise self.error(
                        f"column {cell!r} is not in the mapping {Path(mapping.file).name} (its columns: {known})",
                        **where,
                    )
                readers.append(_Reader(cell, column.path, column, mapping.tz))
                continue
            if cell == RECORD_TYPE_COLUMN:
                readers.append(_Reader(cell, None, None, datetime.UTC))
                continue
            try:
                path = _fields.resolve(cell)
            except ValueError as exc:
                raise self.error(f"unknown column: {exc}", **where) from None
            readers.append(_Reader(cell, path, None, datetime.UTC))
        return readers

    def decode_file(self, data: bytes, *, source: str) -> list[records_pb2.Record]:
        rows = self._rows(data, source)
        first = next(rows, None)
        if first is None:
            raise self.error("file holds no header row", file=source)
        header_line, header_cells = first
        header = [h.strip() for h in header_cells]
        readers = self._readers(header, source, header_line)
        key_header, key_is_record_id = self._key(header, source, header_line)
        key_index = header.index(key_header)
        groups: dict[str, list[tuple[int, list[str]]]] = {}
        for line, row in rows:
            if len(row) != len(header):
                raise self.error(
                    f"row has {len(row)} cells but the header has {len(header)}"
                    " (a missing or extra delimiter, or an unclosed quote?)",
                    file=source,
                    line=line,
                )
            key = row[key_index].strip()
            if not key:
                raise self.error(
                    f"the key column {key_header!r} is empty; it says which record the row belongs to",
                    file=source,
                    line=line,
                    column=key_index + 1,
                    header=key_header,
                )
            groups.setdefault(key, []).append((line, row))
        if not groups:
            raise self.error("file has a header but no data rows", file=source, line=header_line)
        bodies = {r.path.body for r in readers if r is not None and r.path is not None and r.path.body}
        records = [self._record(key, group, readers, bodies, source, key_is_record_id) for key, group in groups.items()]
        return with_ods_shipments(records)

    def _key(self, header: list[str], source: str, line: int) -> tuple[str, bool]:
        if self.mapping is not None:
            key = self.mapping.key
            if key not in header:
                raise self.error(
                    f"the key column {key!r} of mapping {Path(self.mapping.file).name} is not in the file",
                    file=source,
                    line=line,
                )
            return key, self.mapping.columns[key].path.text == _RECORD_ID
        if _RECORD_ID in header:
            return _RECORD_ID, True
        if _SOURCE_REF in header:
            return _SOURCE_REF, False
        raise self.error(
            f"the header has neither {_RECORD_ID} nor {_SOURCE_REF}: one of them must say which record each row"
            " belongs to",
            file=source,
            line=line,
        )

    def _record(
        self,
        key: str,
        group: list[tuple[int, list[str]]],
        readers: list[_Reader | None],
        header_bodies: set[str],
        source: str,
        key_is_record_id: bool,
    ) -> records_pb2.Record:
        body = self.mapping.record_type if self.mapping is not None else ""
        body_at: dict[str, object] = {}
        row_cells: list[list[_rows.Cell]] = []
        for line, row in group:
            cells = []
            for number, (reader, text) in enumerate(zip(readers, row, strict=True), 1):
                if reader is None or not text.strip():
                    continue
                where: dict[str, object] = {"file": source, "line": line, "column": number, "header": reader.header}
                if reader.path is None:  # record_type
                    name = text.strip()
                    if name not in BODIES:
                        raise self.error(f"{name!r} is not a record type; allowed: {', '.join(BODIES)}", **where)
                    if body and name != body:
                        raise self.error(f"record_type {name!r} here but {body!r} for the same record", **where)
                    body = name
                    continue
                where["field"] = reader.path.text
                try:
                    value = reader.read(text)
                except ValueError as exc:
                    raise self.error(f"value does not fit {reader.path.text}: {exc}", **where) from None
                cells.append(_rows.Cell(reader.path, value, where))
                if reader.path.body:
                    body_at.setdefault(reader.path.body, where)
            row_cells.append(cells)
        body = self._body(body, body_at, header_bodies, source, group[0][0])
        record = records_pb2.Record()
        getattr(record, body).SetInParent()
        for cells in row_cells:
            _rows.apply_row(record, cells, adapter=self.name)
        if self.mapping is not None:
            for path, value in self.mapping.constants:
                cell = _rows.Cell(path, value, {"mapping_file": self.mapping.file, "constant": path.text})
                if not _has(record, path):
                    _rows.apply_row(record, [cell], adapter=self.name)
        _rows.fill_defaults(record, body, key, key_is_record_id=key_is_record_id, source_format=self.source_format)
        return record

    def _body(self, body: str, body_at: dict[str, object], header_bodies: set[str], source: str, line: int) -> str:
        for other, where in body_at.items():
            if body and other != body:
                raise self.error(
                    f"this record is a {body} but the cell fills a field of {other}; a record has one body",
                    **where,  # type: ignore[arg-type]
                )
            body = other
        if body:
            return body
        if len(header_bodies) == 1:
            return next(iter(header_bodies))
        raise self.error(
            "cannot tell this record's type: it has no value in any body column; add a record_type column",
            file=source,
            line=line,
        )

    # -- writing -------------------------------------------------------------------------------------------------

    def encode_records(self, records: Sequence[records_pb2.Record]) -> bytes:
        records = without_derived(records)
        laid = [_rows.layout(r) for r in records]
        if self.mapping is not None:
            readers = [_Reader(c.header, c.path, c, self.mapping.tz) for c in self.mapping.columns.values()]
            with_type = False
        else:
            readers, with_type = self._default_columns(records, laid)
        out = io.StringIO()
        writer = csv.writer(out, delimiter=self.delimiter, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
        header = ([RECORD_TYPE_COLUMN] if with_type else []) + [r.header for r in readers]
        writer.writerow(header)
        chunks = [self._encode_text(out.getvalue(), "header")]
        for index, (record, (own, rows)) in enumerate(zip(records, laid, strict=True)):
            out = io.StringIO()
            writer = csv.writer(out, delimiter=self.delimiter, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
            prefix = [record.WhichOneof("body") or ""] if with_type else []
            first = True
            for row in rows or [{}]:
                cells = []
                element_values = False
                for reader in readers:
                    assert reader.path is not None
                    text = reader.path.text
                    value = own.get(text) if reader.path.record_level else row.get(text)
                    if value is None:
                        cells.append("")
                        continue
                    try:
                        cells.append(reader.write(value))
                    except ValueError as exc:
                        raise self.error(str(exc), record=f"records[{index}]", field=text) from None
                    element_values = element_values or not reader.path.record_level
                if first or element_values:
                    writer.writerow(prefix + cells)
                first = False
            chunks.append(self._encode_text(out.getvalue(), f"records[{index}]"))
        return b"".join(chunks)

    def _encode_text(self, text: str, where: str) -> bytes:
        try:
            return text.encode(self.encoding)
        except UnicodeEncodeError as exc:
            raise self.error(
                f"character {text[exc.start]!r} cannot be written in {self.encoding}", record=where
            ) from None

    def _default_columns(
        self, records: Sequence[records_pb2.Record], laid: list[tuple[dict[str, Any], list[dict[str, Any]]]]
    ) -> tuple[list[_Reader], bool]:
        paths: dict[str, FieldPath] = {}
        bodies = set()
        bodiless = False
        for record, (own, rows) in zip(records, laid, strict=True):
            body = record.WhichOneof("body") or ""
            bodies.add(body)
            texts = set(own)
            for row in rows:
                texts.update(row)
            for text in texts:
                if text not in paths:
                    paths[text] = _fields.resolve(text)
            if not any(t.startswith(body + ".") for t in texts):
                bodiless = True
        ordered = sorted(paths.values(), key=lambda p: tuple(f.index for f in p.steps))
        readers = [_Reader(p.text, p, None, datetime.UTC) for p in ordered]
        return readers, len(bodies) > 1 or bodiless


def _has(record: records_pb2.Record, path: FieldPath) -> bool:
    """Whether a record-level field already has a value (so a constant does not override a column)."""
    message: Any = record
    for field in path.steps[:-1]:
        if not message.HasField(field.name):
            return False
        message = getattr(message, field.name)
    leaf = path.leaf
    if path.repeated:
        return len(getattr(message, leaf.name)) > 0
    if path.kind == _fields.TIMESTAMP:
        return bool(message.HasField(leaf.name))
    return bool(getattr(message, leaf.name) != leaf.default_value)
