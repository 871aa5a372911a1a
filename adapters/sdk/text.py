"""Reading text out of national files: encodings, with located errors."""

from __future__ import annotations

import codecs

from tamga.errors import AdapterError

__all__ = ["decode_text", "encoding_hint", "line_and_column"]


def line_and_column(data: bytes, offset: int) -> tuple[int, int]:
    """1-based line and column (in bytes) of ``offset`` in ``data``."""
    line = data.count(b"\n", 0, offset) + 1
    start = data.rfind(b"\n", 0, offset) + 1
    return line, offset - start + 1


def encoding_hint(data: bytes, declared: str) -> str:
    """A guess at what a file that is not valid ``declared`` really is.

    Cyrillic text saved as Windows-1251 and Chinese saved as GB 18030 are the
    usual mislabelled files; the hint names the one whose reading turns the
    most non-ASCII bytes into letters of its script.
    """
    best, best_score = "", (0.5, 2)
    for candidate, script, low, high in (
        ("cp1251", "Cyrillic", "\u0400", "\u04ff"),
        ("gb18030", "Chinese", "\u4e00", "\u9fff"),
    ):
        if codecs.lookup(candidate).name == codecs.lookup(declared).name:
            continue
        try:
            text = data.decode(candidate)
        except UnicodeDecodeError:
            continue
        # A right guess reads the non-ASCII bytes as letters of one script,
        # a wrong one as a scatter of symbols: score by that share first.
        foreign = [ch for ch in text if ord(ch) > 127]
        count = sum(low <= ch <= high for ch in foreign)
        score = (count / len(foreign) if foreign else 0.0, count)
        if score > best_score:
            best_score = score
            best = f"; the bytes read as {script} text in {candidate}: was the file saved as {candidate}?"
    return best


def decode_text(data: bytes, encoding: str = "utf-8", *, adapter: str = "", source: str = "") -> str:
    """Decode a whole national file, or say exactly where and why it cannot be.

    A UTF-8 byte-order mark is dropped.

    Raises:
        AdapterError: with ``line``, ``column`` and ``byte`` of the first
            undecodable byte, and a hint when the file looks like another
            encoding (Windows-1251 saved as UTF-8, for example).
    """
    try:
        codec = codecs.lookup(encoding)
    except LookupError:
        codec = None
    # A name Python knows may still be a bytes-to-bytes codec ("uu", "zlib", "base64"), not a text encoding.
    if codec is None or not getattr(codec, "_is_text_encoding", True):
        shown = encoding if len(encoding) <= 40 else f"{encoding[:40]}..."
        raise AdapterError(f"unknown text encoding {shown!r}", adapter=adapter, location=_file(source)) from None
    if codec.name == "utf-8" and data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        return data.decode(codec.name)
    except UnicodeDecodeError as exc:
        line, column = line_and_column(data, exc.start)
        bad = data[exc.start : exc.start + 1].hex()
        raise AdapterError(
            f"byte 0x{bad} is not valid {codec.name} text{encoding_hint(data, codec.name)}",
            adapter=adapter,
            location={**_file(source), "line": line, "column": column, "byte": exc.start},
        ) from None


def _file(source: str) -> dict[str, object]:
    return {"file": source} if source else {}
