"""Origin binding and bounds on what a peer controls: pure checks used by both ends (no I/O).

Rules:

1. A record's origin is bound to the sender that authenticated: its
   ``meta.sender_country`` is the sending member's country, its
   ``meta.sender_authority`` (when set) is the sending member's authority or
   the registered name of that country's customs service (the name every
   built-in adapter writes), and its ``meta.receiver_countries`` lists the
   receiver's country. The sender checks this before queueing (a located
   error, the file refused whole); the receiver checks it again after the
   signature verified and refuses ORIGIN_MISMATCH. A node never hands its
   national system a record that claims another country's origin.
2. What a refusal says names fields and codes only (countries, node ids,
   the expected authority names), never record contents, and every value a peer chose is escaped and cut
   (:func:`clip`) before it reaches a receipt, a log line or the store.
3. A sequence number is a signed 64-bit integer in the store: a header
   number above :data:`MAX_SEQUENCE` is refused SEQUENCE_OUT_OF_RANGE, and so
   is one further beyond the highest number already received from that
   sender than the receiver's window (:func:`sequence_jump_problem`); such a
   number is never recorded as a gap.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from tamga.terminal import safe
from tamga.v1 import records_pb2

__all__ = [
    "DEFAULT_MAX_SEQUENCE_JUMP",
    "MAX_FIELD_CHARS",
    "MAX_SEQUENCE",
    "OriginProblem",
    "clip",
    "origin_problem",
    "sequence_jump_problem",
]

MAX_SEQUENCE = (1 << 63) - 1
"""Highest sequence number accepted: SQLite stores signed 64-bit integers."""
DEFAULT_MAX_SEQUENCE_JUMP = 1_000_000
"""Most a sequence number may exceed the highest one received from its sender (the [limits] default)."""
MAX_FIELD_CHARS = 64
"""Most characters of a peer-chosen value (a node id, a message id, a code) quoted in a refusal."""


def clip(text: object, limit: int = MAX_FIELD_CHARS) -> str:
    """``text`` escaped (:func:`tamga.terminal.safe`) and cut to about ``limit`` characters.

    The text is cut before it is escaped, so a value of megabytes costs no
    more than its first ``limit`` characters; what was left out is counted.
    """
    raw = text if isinstance(text, str) else str(text)
    if len(raw) <= limit:
        return safe(raw, limit)
    return f"{safe(raw[:limit], limit)}... ({len(raw) - limit} more characters)"


@dataclass(frozen=True, slots=True)
class OriginProblem:
    """Why a record's origin is not the authenticated sender's (or it is not for the receiver)."""

    path: str  # the field, e.g. "meta.sender_country"
    detail: str  # expected and claimed values, escaped and bounded

    def __str__(self) -> str:
        return f"{self.path}: {self.detail}"


def origin_problem(
    record: records_pb2.Record,
    *,
    sender_id: str,
    sender_country: str,
    sender_authorities: Collection[str],
    receiver_countries: Collection[str],
) -> OriginProblem | None:
    """The first way ``record`` does not come from its authenticated sender or is not for its receiver.

    Args:
        record: The record, as decoded (sender) or decrypted and verified (receiver).
        sender_id: Node id of the sending member (for the detail only).
        sender_country: The sending member's country, from its identity file or the manifest.
        sender_authorities: Names ``meta.sender_authority`` may carry: the
            member's own authority and the registered name of its country's
            customs service. An empty ``sender_authority`` is not checked.
        receiver_countries: Countries of the receiving node(s): each must be
            listed in ``meta.receiver_countries``.

    Returns:
        None if the record's origin and receivers hold, else the problem.
    """
    meta = record.meta
    if meta.sender_country != sender_country:
        return OriginProblem(
            "meta.sender_country",
            f"the record claims {clip(meta.sender_country, 8)!s}, but it comes from {clip(sender_id)} "
            f"of country {clip(sender_country, 8)}",
        )
    if meta.sender_authority and meta.sender_authority not in sender_authorities:
        names = " or ".join(f'"{clip(a, 120)}"' for a in dict.fromkeys(sender_authorities) if a)
        # The claimed name is not quoted: it is record text, not a code.
        return OriginProblem(
            "meta.sender_authority",
            f"the record names another authority than {clip(sender_id)}'s: {names or 'none is known'}",
        )
    listed = set(meta.receiver_countries)
    for country in receiver_countries:
        if country not in listed:
            shown = ", ".join(clip(c, 8) for c in list(meta.receiver_countries)[:10])
            more = f" and {len(meta.receiver_countries) - 10} more" if len(meta.receiver_countries) > 10 else ""
            return OriginProblem(
                "meta.receiver_countries",
                f"lists {shown or 'no country'}{more}, not {clip(country, 8)}, the country of the receiving node",
            )
    return None


def sequence_jump_problem(sequence: int, *, highest: int, max_jump: int) -> str | None:
    """Why ``sequence`` is too far beyond ``highest`` (the sender's highest number received), or None.

    Args:
        sequence: The header's number (0 = not numbered: never a problem).
        highest: The highest number received from the sender so far (0: none yet).
        max_jump: Most the number may exceed ``highest``.
    """
    if sequence <= 0 or sequence - highest <= max_jump:
        return None
    return (
        f"sequence number {sequence} is {sequence - highest} beyond the highest received from this sender "
        f"({highest}); this node accepts at most {max_jump} beyond it ([limits] max_sequence_jump)"
    )
