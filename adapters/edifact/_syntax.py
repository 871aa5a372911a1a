"""UN/EDIFACT syntax: service string advice, character sets, segments, escaping.

pydifact supplies the control characters (:class:`Characters`), the
serializer Tamga writes with, and the reference behaviour of its tokenizer
and parser; this module does what it leaves to its caller and what a customs
team needs when a file is refused:

- the UNA service string advice is read here, not by pydifact, because
  pydifact looks for ``'UNA`` anywhere in the text and silently drops what
  comes before it;
- the bytes are decoded in the character set the UNB syntax identifier names
  (UNOC is Latin-1, UNOE Cyrillic ISO 8859-5, UNOW UTF-8...), so a file that
  says UNOW but was saved as Windows-1251 is refused with its line and column;
- the text is cut into segments here (honouring the release character), so
  that every error names the segment: its position in the file (UNA, when
  present, is segment 1), its tag and its line;
- each segment is split into data elements and components here too, with
  ``str.split`` (and a regex for released characters), giving exactly what
  pydifact's ``Tokenizer`` and ``Parser.convert_tokens_to_raw_segments``
  give for one segment, trailing empty components dropped as they drop them.
  This is done locally for speed: pydifact's tokenizer is pure Python, one
  method call per character, and took ~85% of decoding time. A segment the
  local split does not take (an empty segment, a released newline) is handed
  to pydifact, so its refusal and message are pydifact's own.

Every exception pydifact raises becomes an :class:`AdapterError` at this one
boundary: random bytes must never surface as IndexError or ValueError.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pydifact.control import Characters
from pydifact.parser import Parser, TokenIterator
from pydifact.serializer import Serializer
from pydifact.tokenizer import Tokenizer
from tamga.adapters.sdk.text import decode_text
from tamga.errors import AdapterError

__all__ = ["CHARSETS", "DEFAULT_UNA", "Segment", "read_interchange", "write_interchange"]

#: UNB syntax identifier (0001) -> Python codec. UNOA and UNOB are subsets of
#: ASCII; UNOC..UNOK the ISO 8859 parts; UNOW is UTF-8; UNOY (ISO 10646
#: without code extension) is read as UTF-8, its usual transfer form.
CHARSETS = {
    "UNOA": "ascii",
    "UNOB": "ascii",
    "UNOC": "iso-8859-1",
    "UNOD": "iso-8859-2",
    "UNOE": "iso-8859-5",
    "UNOF": "iso-8859-7",
    "UNOG": "iso-8859-3",
    "UNOH": "iso-8859-4",
    "UNOI": "iso-8859-6",
    "UNOJ": "iso-8859-8",
    "UNOK": "iso-8859-9",
    "UNOW": "utf-8",
    "UNOY": "utf-8",
}

#: Service string advice Tamga writes: component ``:``, data ``+``, decimal
#: ``.``, release ``?``, reserved (repetition) space, terminator ``'``.
DEFAULT_UNA = ":+.? '"

# Characters skipped between segments (what pydifact skips after a terminator).
_BETWEEN = " \r\n"
_TAG = re.compile(r"^[A-Z][A-Z0-9]{2}$")
# Most segments, and most data elements and components (separators) in all segments together, of one
# interchange: each becomes Python objects of ~100 bytes, so a file of nothing but terminators or separators
# (32 MiB of them is under the size limit) would take gigabytes. A declaration of a thousand items is ~2 MiB.
MAX_SEGMENTS = 500_000
MAX_SEPARATORS = 2_000_000
# Release "character" used when UNA says there is none (a space): a code
# point that cannot occur in decoded text, so nothing is ever released.
_NO_RELEASE = "\ufffe"


@dataclass
class Segment:
    """One segment: where it is, its tag, its data elements (each a list of components)."""

    index: int
    tag: str
    line: int
    elements: list[list[str]] = field(default_factory=list)

    def get(self, element: int, component: int = 1) -> str:
        """Component ``component`` of data element ``element`` (both 1-based, the
        tag not counted); "" when absent."""
        if element < 1 or element > len(self.elements):
            return ""
        comps = self.elements[element - 1]
        if component < 1 or component > len(comps):
            return ""
        return comps[component - 1]

    def components(self, element: int) -> list[str]:
        """Every component of data element ``element`` (1-based)."""
        if element < 1 or element > len(self.elements):
            return []
        return list(self.elements[element - 1])

    def where(self) -> dict[str, object]:
        """Location of this segment for an :class:`AdapterError`."""
        return {"segment": self.index, "tag": self.tag, "line": self.line}


@dataclass
class Interchange:
    """A whole EDIFACT file: its control characters, charset and segments."""

    characters: Characters
    decimal_mark: str
    syntax_identifier: str
    segments: list[Segment]


def _fail(adapter: str, source: str, message: str, **location: object) -> AdapterError:
    loc: dict[str, object] = {"file": source} if source else {}
    loc.update(location)
    return AdapterError(message, adapter=adapter, location=loc)


def _read_una(data: bytes, adapter: str, source: str) -> tuple[Characters | None, str, int]:
    """Control characters from the UNA, the decimal mark, and where the UNB starts."""
    if not data.startswith(b"UNA"):
        return None, ".", 0
    raw = data[3:9]
    if len(raw) < 6 or any(b > 0x7E or b < 0x20 for b in raw):
        raise _fail(
            adapter,
            source,
            "UNA service string advice must be followed by six printable ASCII control characters",
            segment=1,
            tag="UNA",
            line=1,
        )
    chars = raw.decode("ascii")
    component, data_sep, decimal, release, _reserved, terminator = chars
    used = [component, data_sep, terminator] + ([release] if release != " " else [])
    if len(set(used)) != len(used) or any(c.isalnum() or c == " " for c in (component, data_sep, terminator)):
        raise _fail(
            adapter,
            source,
            f"UNA control characters {chars!r} are unusable: the component and data separators, release"
            " character and segment terminator must be distinct and not letters, digits or space",
            segment=1,
            tag="UNA",
            line=1,
        )
    if decimal not in ".,":
        raise _fail(adapter, source, f"UNA decimal mark {decimal!r} must be '.' or ','", segment=1, tag="UNA", line=1)
    characters = Characters.from_str("UNA" + chars)
    if release == " ":
        characters.escape_character = _NO_RELEASE
    return characters, decimal, 9


def _syntax_identifier(data: bytes, start: int, chars: Characters, adapter: str, source: str, first: int) -> str:
    """The UNB syntax identifier (0001), read from the bytes before decoding them."""
    i = start
    while i < len(data) and data[i : i + 1] in (b" ", b"\r", b"\n"):
        i += 1
    line = data.count(b"\n", 0, i) + 1
    head = data[i : i + 3]
    sep = chars.data_separator.encode("ascii")
    if head != b"UNB" or data[i + 3 : i + 4] != sep:
        shown = head.decode("latin-1")
        raise _fail(
            adapter,
            source,
            f"an interchange must begin with a UNB segment (after an optional UNA), not {shown!r}",
            segment=first,
            tag=shown if _TAG.match(shown) else "?",
            line=line,
        )
    stops = {chars.component_separator.encode("ascii"), sep, chars.segment_terminator.encode("ascii")}
    j = i + 4
    while j < len(data) and j < i + 40 and data[j : j + 1] not in stops:
        j += 1
    ident = data[i + 4 : j].decode("latin-1")
    if ident not in CHARSETS:
        known = ", ".join(CHARSETS)
        raise _fail(
            adapter,
            source,
            f"UNB syntax identifier {ident!r} is not one this adapter reads ({known})",
            segment=first,
            tag="UNB",
            line=line,
            element="S001/0001",
        )
    return ident


class _TooManySegments(Exception):
    def __init__(self, start: int) -> None:
        super().__init__(start)
        self.start = start


def _split(
    text: str, offset: int, chars: Characters, limit: int | None = None
) -> tuple[list[tuple[int, str]], tuple[int, str] | None]:
    """Cut text into segments, honouring the release character.

    Returns (start offset, segment text without its terminator) for each
    terminated segment, and the start and text of an unterminated rest. A
    release character releases the character after it, whatever it is (a
    terminator, another release character); releases pair up left to right.

    Raises:
        _TooManySegments: more than ``limit`` segments; where the first one too many starts.
    """
    out: list[tuple[int, str]] = []
    release, terminator = chars.escape_character, chars.segment_terminator
    find = text.find
    i, n = offset, len(text)
    r = find(release, i)  # the next release character at or after i (-1: none left)
    while True:
        while i < n and text[i] in _BETWEEN:
            i += 1
        if i >= n:
            return out, None
        start = i
        if r != -1 and r < i:
            r = find(release, i)
        j = find(terminator, i)
        while r != -1 and (j == -1 or r < j):
            k = r + 2  # the character at r + 1 is released
            if j != -1 and j < k:
                j = find(terminator, k)
            r = find(release, k)
        if j == -1:
            return out, (start, text[start:])
        if limit is not None and len(out) >= limit:
            raise _TooManySegments(start)
        out.append((start, text[start:j]))
        i = j + 1


def _released(release: str) -> re.Pattern[str]:
    """Pattern of one release character and the character it releases."""
    pattern = _RELEASED.get(release)
    if pattern is None:
        pattern = _RELEASED[release] = re.compile(re.escape(release) + "(.)", re.DOTALL)
    return pattern


_RELEASED: dict[str, re.Pattern[str]] = {}


def _split_elements(body: str, chars: Characters) -> list[list[str]] | None:
    """One segment's data elements, tag first, each a list of its components.

    What pydifact's tokenizer and parser make of ``body`` plus a terminator:
    released characters taken literally, trailing empty components dropped
    (``A:B:`` is ``A``, ``B``; ``::`` no component at all). None when the
    segment is one pydifact refuses (empty, a released newline): the caller
    then hands it to pydifact for its error.
    """
    if not body:
        return None
    component, data, release = chars.component_separator, chars.data_separator, chars.escape_character
    if release not in body:
        elements = [e.split(component) for e in body.split(data)]
    else:
        pieces = _released(release).split(body)  # text, released char, text, ..., text
        if pieces[-1].endswith(release):  # a release character releasing nothing
            return None
        elements = []
        comps: list[str] = []
        buf: list[str] = []
        for k, piece in enumerate(pieces):
            if k % 2:
                if piece == "\n":
                    return None
                buf.append(piece)
                continue
            for d, dpart in enumerate(piece.split(data)):
                if d:
                    comps.append("".join(buf))
                    elements.append(comps)
                    comps, buf = [], []
                for c, cpart in enumerate(dpart.split(component)):
                    if c:
                        comps.append("".join(buf))
                        buf = []
                    buf.append(cpart)
        comps.append("".join(buf))
        elements.append(comps)
    for comps in elements:
        while comps and not comps[-1]:
            comps.pop()
    return elements


def _parse_segment(body: str, chars: Characters) -> list[str | list[str]]:
    """One segment's raw elements, tag first, through pydifact's tokenizer and parser."""
    tokens = TokenIterator(Tokenizer().get_tokens(body + chars.segment_terminator, chars))
    raws = list(Parser(characters=chars).convert_tokens_to_raw_segments(tokens))
    if len(raws) != 1:
        raise ValueError(f"expected one segment, found {len(raws)}")
    return raws[0]


def _where(index: int, body: str, line: int) -> dict[str, object]:
    """Location of segment ``index`` (its tag as written, "?" when not a tag) for an error."""
    tag = body[:3]
    return {"segment": index, "tag": tag if _TAG.match(tag) else "?", "line": line}


def read_interchange(data: bytes, *, adapter: str, source: str = "") -> Interchange:
    """Decode and tokenize a whole EDIFACT file.

    Raises:
        AdapterError: bad UNA, unknown or wrong character set, a segment that
            is not terminated or not well formed; with segment, tag and line.
    """
    chars, decimal, una_end = _read_una(data, adapter, source)
    first = 2 if una_end else 1
    chars = chars or Characters()
    ident = _syntax_identifier(data, una_end, chars, adapter, source, first)
    codec = CHARSETS[ident]
    try:
        text = decode_text(data, codec, adapter=adapter, source=source)
    except AdapterError as exc:
        bad = exc.location.get("byte")
        if isinstance(bad, int):
            prefix = data[:bad].decode(codec, errors="replace")
            done, rest = _split(prefix, una_end, chars)
            exc.location["segment"] = first + len(done)
            if rest is not None:
                tag = rest[1][:3]
                exc.location["tag"] = tag if _TAG.match(tag) else "?"
            exc.message = f"{exc.message} (the UNB syntax identifier {ident} says {codec})"
            raise AdapterError(exc.message, adapter=adapter, location=exc.location) from None
        raise
    try:
        pieces, rest = _split(text, una_end, chars, MAX_SEGMENTS)
    except _TooManySegments as too_many:
        index = first + MAX_SEGMENTS
        body = text[too_many.start : too_many.start + 3]
        raise _fail(
            adapter,
            source,
            f"more than {MAX_SEGMENTS:,} segments in one interchange: refused before reading them",
            **_where(index, body, text.count("\n", 0, too_many.start) + 1),
        ) from None
    segments: list[Segment] = []
    if una_end:
        segments.append(Segment(1, "UNA", 1, [[str(chars)]]))
    line, pos, separators = 1, 0, 0
    data_separator, component_separator = chars.data_separator, chars.component_separator
    for start, body in pieces:
        line += text.count("\n", pos, start)
        pos = start
        index = len(segments) + 1
        separators += body.count(data_separator) + body.count(component_separator)
        if separators > MAX_SEPARATORS:
            raise _fail(
                adapter,
                source,
                f"more than {MAX_SEPARATORS:,} data elements and components in one interchange (this segment"
                " takes the count past it): refused before reading them",
                **_where(index, body, line),
            )
        split = _split_elements(body, chars)
        if split is None:
            try:
                raw = _parse_segment(body, chars)
            except Exception as exc:  # pydifact raises EDISyntaxError, ValueError, IndexError...
                raise _fail(
                    adapter, source, f"segment is not well-formed EDIFACT: {exc}", **_where(index, body, line)
                ) from None
            split = [[e] if isinstance(e, str) else [str(c) for c in e] for e in raw]
        head = split[0]
        # pydifact gives a one-component element as a str, a composite as a list (never a tag).
        name = head[0] if len(head) == 1 else "" if not head else None
        if name is None or not _TAG.match(name):
            raise _fail(
                adapter,
                source,
                f"segment tag {body[:12]!r} is not three upper-case letters or digits",
                **_where(index, body, line),
            )
        if name == "UNA":
            raise _fail(adapter, source, "UNA may only open the file", **_where(index, body, line))
        segments.append(Segment(index, name, line, [comps or [""] for comps in split[1:]]))
    if rest is not None:
        line += text.count("\n", pos, rest[0])
        tag = rest[1][:3]
        raise _fail(
            adapter,
            source,
            f"the file ends inside a segment: no segment terminator {chars.segment_terminator!r} after"
            f" {rest[1][:40]!r} (truncated file?)",
            segment=len(segments) + 1,
            tag=tag if _TAG.match(tag) else "?",
            line=line,
        )
    return Interchange(characters=chars, decimal_mark=decimal, syntax_identifier=ident, segments=segments)


def write_interchange(segments: list[tuple[str, list[list[str]]]], *, unicode: bool) -> bytes:
    """Serialize segments (UNB to UNZ) after a UNA, one segment a line.

    Values are escaped with the release character. ``unicode`` selects UTF-8
    bytes (for UNOW); otherwise Latin-1 (UNOC).
    """
    from pydifact.segments import Segment as PydifactSegment

    chars = Characters.from_str("UNA" + DEFAULT_UNA)
    out = []
    for tag, elements in segments:
        trimmed = [list(e) for e in elements]
        while trimmed and not any(trimmed[-1]):
            trimmed.pop()
        out.append(PydifactSegment(tag, *[e[0] if len(e) == 1 else e for e in trimmed]))
    text = Serializer(chars).serialize(out, with_una_header=True, break_lines=True)
    return text.encode("utf-8" if unicode else "iso-8859-1")
