"""Clock values in the protocol: seconds since the epoch, as floats."""

from __future__ import annotations

import math

__all__ = ["to_nanos"]


def to_nanos(now: float) -> int:
    """Nanoseconds since the epoch for a clock value, rounded to the nearest.

    Splitting whole seconds first keeps exactly representable fractions exact
    (``int(now * 1e9)`` turns 1700000000.25 into ...249999872 ns), so other
    implementations can reproduce the header bytes from the same clock value.
    """
    seconds = math.floor(now)
    nanos = round((now - seconds) * 1_000_000_000)
    return seconds * 1_000_000_000 + nanos
