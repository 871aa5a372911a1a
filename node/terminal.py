"""Text that others control, made safe to print on an operator's terminal (no I/O).

Rules:

1. Every string that comes from a peer, an identity file, a proposal, a
   manifest or a receipt is passed through :func:`safe` before it is printed
   or written to a report a person reads. Escape sequences (``ESC [2J``),
   carriage returns, backspaces and the Unicode controls that reorder text
   (bidi overrides such as U+202E) would otherwise clear the screen, forge
   lines of ``tamga status`` or make a fingerprint read differently.
2. Nothing is dropped silently: a control character becomes its visible
   escape (``\\x1b``, ``\\u202e``), so the operator sees that the text was
   odd. Ordinary letters of every script (Cyrillic, Chinese, Devanagari,
   Persian) pass unchanged.
3. Peer-controlled text is also bounded: ``limit`` cuts it and says how
   much was left out, so one field cannot push everything else off screen.

:func:`control_characters` finds the characters :func:`safe` would escape,
for refusing a document (an identity file) rather than printing it escaped.
"""

from __future__ import annotations

import unicodedata

__all__ = ["control_characters", "safe"]

# Format characters that are harmless and common in real names (zero-width joiners in
# Persian and Devanagari text). Every other Cf character (bidi overrides and isolates,
# the byte order mark inside text, invisible separators) is escaped.
_ALLOWED_FORMAT = frozenset("\u200c\u200d")


def _unsafe(ch: str) -> bool:
    category = unicodedata.category(ch)
    if category == "Cc":  # C0, DEL, C1: ESC, CR, BS, NEL, CSI...
        return True
    if category == "Cf":
        return ch not in _ALLOWED_FORMAT
    # Line and paragraph separators, unassigned code points and surrogates.
    return category in ("Zl", "Zp", "Cn", "Cs")


def _escape(ch: str) -> str:
    code = ord(ch)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def safe(text: object, limit: int | None = None, *, newlines: bool = False) -> str:
    """``text`` as a string with every control character shown as its escape.

    Args:
        text: Anything; it is converted with ``str`` first.
        limit: If given, at most this many characters of the (escaped) text
            are kept, followed by ``... (N more characters)``.
        newlines: Keep ``\\n`` as a line break (a multi-line detail written
            by this node); off by default, so a peer cannot start a line.

    Returns:
        Text that cannot move the cursor, clear the screen or reorder what
        follows it.
    """
    raw = text if isinstance(text, str) else str(text)
    if raw.isascii() and raw.isprintable() and (limit is None or len(raw) <= limit):
        return raw  # the common case, and fast
    out: list[str] = []
    for ch in raw:
        if newlines and ch == "\n":
            out.append(ch)
        elif _unsafe(ch) or ch == "\x7f":
            out.append(_escape(ch))
        else:
            out.append(ch)
    shown = "".join(out)
    if limit is not None and len(shown) > limit:
        return f"{shown[:limit]}... ({len(shown) - limit} more characters)"
    return shown


def control_characters(text: str) -> list[str]:
    """The distinct characters of ``text`` that :func:`safe` would escape, as escapes (in order of appearance)."""
    found: dict[str, None] = {}
    for ch in text:
        if _unsafe(ch) or ch == "\x7f":
            found[_escape(ch)] = None
    return list(found)
