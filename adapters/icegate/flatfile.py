"""Reading and writing the ICES 1.5 flat-file structure, without meaning.

A file is::

    HREC␝ZZ␝<sender>␝ZZ␝<custom house>␝ICES1_5␝P␝␝<message id>␝<control no>␝<YYYYMMDD>␝<HHMM>
    <TABLE>NAME
    F␝<custom house>␝<job no>␝<job date>␝...      one row per line
    ...
    <END-BE>                                      or <END-SB>
    TREC␝<control no>
    <START-SIGNATURE>...                          optional, ignored

(␝ is ASCII 29.) Lines end in CRLF; a bare LF is accepted, blank lines are
skipped. This module checks the structure (header first, known message and
tables, rows inside a table, field counts, the end marker, the trailer and
its control number, the row prefix naming the same custom house and job as
the main row) and gives the rows as ``{column: value}``. What the values
mean is :mod:`.decode`'s business.

Every error names the line, and the table and field where there is one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from tamga.adapters.icegate.layout import HREC_FIELDS, MESSAGES, SEP, TREC_FIELDS, Message
from tamga.errors import AdapterError

__all__ = ["IcesFile", "Row", "parse", "write"]

Fail = Callable[..., AdapterError]

_SIGNATURE_START = "<START-SIGNATURE>"
_SIGNATURE_END = "<END-SIGNATURE>"


@dataclass
class Row:
    """One row: its line number, table and values by column name (by
    1-based position, as strings, for tables without a layout)."""

    line: int
    table: str
    values: dict[str, str]

    def get(self, column: str) -> str:
        return self.values.get(column, "")

    def where(self, column: str = "") -> dict[str, object]:
        """Location of this row, or of one of its fields, for an error."""
        loc: dict[str, object] = {"line": self.line, "table": self.table}
        if column:
            loc["field"] = column
        return loc


@dataclass
class IcesFile:
    """A parsed file: header, rows per table, trailer, signature lines."""

    message: Message
    header: dict[str, str]
    tables: dict[str, list[Row]] = field(default_factory=dict)
    table_lines: dict[str, int] = field(default_factory=dict)
    trailer: dict[str, str] = field(default_factory=dict)
    signature: list[str] = field(default_factory=list)
    header_line: int = 1
    end_line: int = 0

    def rows(self, table: str) -> list[Row]:
        return self.tables.get(table, [])


def _split(line: str, expected: int) -> list[str]:
    """Values of a line, trimmed; one trailing empty field (a separator at
    the end of the line, which some generators write) is dropped."""
    values = [v.strip() for v in line.split(SEP)]
    if len(values) == expected + 1 and values[-1] == "":
        values.pop()
    return values


#: A line that is not blank (whitespace, the separator included, does not count), from its start to its end.
_CONTENT_LINE = re.compile(r"^[^\S\n]*+\S[^\n]*", re.MULTILINE)


def _content_lines(text: str) -> Iterator[tuple[int, str]]:
    """(line number, line) of each line that is not blank, without the CR of a CRLF, one at a time.

    Lazily, and blank lines cost no object each: a file of millions of empty
    lines (a few MiB) must not take gigabytes before its first error.
    """
    n, at = 1, 0
    for m in _CONTENT_LINE.finditer(text):
        n += text.count("\n", at, m.start())
        at = m.start()
        line = m.group()
        yield n, line[:-1] if line.endswith("\r") else line


def parse(text: str, fail: Fail) -> IcesFile:
    """The structure of an ICES flat file.

    Args:
        text: The whole file, decoded.
        fail: Makes the :class:`AdapterError` to raise from a message and a
            location (the adapter's ``error``).

    Raises:
        AdapterError: the structure is wrong; the location says where.
    """
    last_line = text.count("\n") + 1
    lines = _content_lines(text)
    first = next(lines, None)
    if first is None:
        raise fail("file holds no line", line=1)
    ices = _header(first, fail)
    msg = ices.message
    table: str | None = None
    ended = False
    for n, line in lines:
        if line.startswith(_SIGNATURE_START):
            _signature((n, line), lines, ices, fail)
            continue
        if ices.trailer:
            raise fail(f"unexpected content after the TREC trailer: {line[:40]!r}", line=n)
        if line.startswith("TREC"):
            if not ended:
                raise fail(f"TREC trailer before the {msg.end} end marker", line=n)
            _trailer(n, line, ices, fail)
            continue
        if ended:
            raise fail(f"unexpected content after {msg.end}: {line[:40]!r}", line=n)
        if line.strip() == msg.end:
            ended = True
            ices.end_line = n
            continue
        if line.startswith("<END-"):
            raise fail(f"end marker {line.strip()!r} in a {msg.kind} ({msg.message_id}); expected {msg.end}", line=n)
        if line.startswith("<TABLE>"):
            table = _table(n, line, ices, fail)
            continue
        if line.startswith("HREC"):
            raise fail("a second HREC header: one message per file", line=n)
        if table is None:
            raise fail(f"row outside any table (no <TABLE> line before it): {line[:40]!r}", line=n)
        ices.tables[table].append(_row(n, line, table, msg, fail))
    if not ended:
        raise fail(f"file ends without the {msg.end} end marker: truncated?", line=last_line)
    if not ices.trailer:
        raise fail("file ends without the TREC trailer: truncated?", line=last_line)
    _check_prefixes(ices, fail)
    return ices


def _header(first: tuple[int, str], fail: Fail) -> IcesFile:
    n, line = first
    if not line.startswith("HREC"):
        raise fail(f"missing HREC header: the file starts with {line[:20]!r}", line=n)
    values = _split(line, len(HREC_FIELDS))
    if values[0] != "HREC" or len(values) != len(HREC_FIELDS):
        raise fail(
            f"HREC header has {len(values)} fields, expected {len(HREC_FIELDS)} ({', '.join(HREC_FIELDS)})",
            line=n,
            table="HREC",
        )
    header = dict(zip(HREC_FIELDS, values, strict=True))
    if header["version"] != "ICES1_5":
        raise fail(
            f"ICES version {header['version']!r} is not supported (this adapter reads ICES1_5)",
            line=n,
            table="HREC",
            field="version",
        )
    msg = MESSAGES.get(header["message_id"])
    if msg is None:
        known = ", ".join(f"{m.message_id} ({m.kind})" for m in MESSAGES.values())
        raise fail(
            f"unknown message id {header['message_id']!r} (this adapter reads {known})",
            line=n,
            table="HREC",
            field="message_id",
        )
    if not header["control_no"]:
        raise fail("HREC header has no control number", line=n, table="HREC", field="control_no")
    return IcesFile(message=msg, header=header, header_line=n)


def _table(n: int, line: str, ices: IcesFile, fail: Fail) -> str:
    msg = ices.message
    name = line[len("<TABLE>") :].strip()
    name = msg.aliases.get(name, name)
    if name not in msg.tables:
        raise fail(f"unknown table {name!r} in a {msg.kind} ({msg.message_id})", line=n, table=name)
    if name in ices.tables:
        raise fail(f"table {name} appears twice (first at line {ices.table_lines[name]})", line=n, table=name)
    ices.tables[name] = []
    ices.table_lines[name] = n
    return name


def _row(n: int, line: str, table: str, msg: Message, fail: Fail) -> Row:
    columns = msg.columns(table)
    if columns is None:
        values = _split(line, -1)
        if len(values) < len(msg.prefix):
            raise fail(
                f"row of table {table} has {len(values)} fields, expected at least {len(msg.prefix)}"
                f" ({', '.join(msg.prefix)})",
                line=n,
                table=table,
            )
        named = dict(zip(msg.prefix, values, strict=False))
        named.update({str(k): v for k, v in enumerate(values, 1) if k > len(msg.prefix)})
        return Row(n, table, named)
    values = _split(line, len(columns))
    if len(values) != len(columns):
        raise fail(
            f"row of table {table} has {len(values)} fields, expected {len(columns)}",
            line=n,
            table=table,
            expected=len(columns),
            found=len(values),
        )
    return Row(n, table, dict(zip(columns, values, strict=True)))


def _trailer(n: int, line: str, ices: IcesFile, fail: Fail) -> None:
    values = _split(line, len(TREC_FIELDS))
    if values[0] != "TREC" or len(values) != len(TREC_FIELDS):
        raise fail(f"TREC trailer has {len(values)} fields, expected 2 (TREC, control number)", line=n, table="TREC")
    trailer = dict(zip(TREC_FIELDS, values, strict=True))
    if trailer["control_no"] != ices.header["control_no"]:
        raise fail(
            f"TREC control number {trailer['control_no']!r} does not match the HREC control number"
            f" {ices.header['control_no']!r}: the file is incomplete or two files were joined",
            line=n,
            table="TREC",
            field="control_no",
        )
    ices.trailer = trailer


def _signature(first: tuple[int, str], lines: Iterator[tuple[int, str]], ices: IcesFile, fail: Fail) -> None:
    """Skip a signature block that starts with line ``first``, taking its lines from ``lines``.

    The block runs to the line that ends in ``<END-SIGNATURE>``; a block
    without one is a truncated file, not a signature to ignore.
    """
    n, line = first
    while True:
        ices.signature.append(line)
        if line.strip().endswith(_SIGNATURE_END):
            return
        following = next(lines, None)
        if following is None:
            raise fail(f"signature block has no {_SIGNATURE_END}: truncated?", line=n, table="SIGNATURE")
        n, line = following


def _check_prefixes(ices: IcesFile, fail: Fail) -> None:
    """Every row names the custom house of the header and the job of the
    main row: rows of another job would be read into the wrong declaration."""
    msg = ices.message
    main = ices.rows(msg.main)
    if not main:
        line = ices.table_lines.get(msg.main, ices.end_line)
        raise fail(f"a {msg.kind} needs exactly one row in table {msg.main}; it has none", line=line, table=msg.main)
    if len(main) > 1:
        raise fail(
            f"a {msg.kind} needs exactly one row in table {msg.main}; it has {len(main)}: one declaration per file",
            line=main[1].line,
            table=msg.main,
        )
    first = main[0]
    custom_house = ices.header["custom_house"]
    for rows in ices.tables.values():
        for row in rows:
            if row.get("custom_house") != custom_house:
                raise fail(
                    f"custom house {row.get('custom_house')!r} differs from the HREC header's {custom_house!r}",
                    **row.where("custom_house"),
                )
            for col in ("job_no", "job_date"):
                if row.get(col) != first.get(col):
                    raise fail(
                        f"{col} {row.get(col)!r} differs from the {msg.main} row's {first.get(col)!r}"
                        f" (line {first.line}): rows of another job",
                        **row.where(col),
                    )


def write(message: Message, header: dict[str, str], tables: Iterable[tuple[str, Sequence[dict[str, str]]]]) -> bytes:
    """An ICES flat file, CRLF line ends, UTF-8.

    Values are written as given, with the separator and line breaks (which
    would break the structure) turned into spaces.
    """
    out = [_line(header.get(f, "") for f in HREC_FIELDS)]
    for name, rows in tables:
        columns = message.columns(name)
        assert columns is not None, f"no layout for table {name}"
        out.append(f"<TABLE>{name}")
        out.extend(_line(row.get(c, "") for c in columns) for row in rows)
    out.append(message.end)
    out.append(_line(("TREC", header.get("control_no", ""))))
    return ("\r\n".join(out) + "\r\n").encode("utf-8")


def _line(values: Iterable[str]) -> str:
    return SEP.join(_clean(v) for v in values)


def _clean(value: str) -> str:
    return " ".join(value.replace(SEP, " ").replace("\r", " ").split("\n")).strip()
