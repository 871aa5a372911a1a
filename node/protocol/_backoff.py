"""Retry timing for one peer: exponential backoff with jitter and a low cap.

The cap is minutes, not days: a long cap effectively cuts a customs service
off for hours after it comes back. Hearing from the peer (a verified receipt)
resets the backoff at once. Pure state: callers pass the clock value in.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

__all__ = ["Backoff"]


@dataclass(slots=True)
class Backoff:
    """Backoff state of one peer.

    Args:
        initial: First delay after a failure, seconds.
        maximum: Cap on the delay, seconds.
        multiplier: Growth per consecutive failure.
        jitter: Delay is multiplied by a random factor in [1 - jitter, 1 + jitter].
    """

    initial: float = 1.0
    maximum: float = 300.0
    multiplier: float = 2.0
    jitter: float = 0.2
    rng: random.Random = field(default_factory=random.Random, repr=False)
    failures: int = 0
    retry_at: float = 0.0
    last_error: str = ""

    def ready(self, now: float) -> bool:
        """True when an attempt may be made now."""
        return now >= self.retry_at

    def delay(self, now: float) -> float:
        """Seconds until an attempt may be made (0 if now)."""
        return max(0.0, self.retry_at - now)

    def failure(self, now: float, error: str) -> float:
        """Record a failed attempt; returns the delay before the next one."""
        self.failures += 1
        self.last_error = error
        # Grow the exponent only until the cap is reached (no overflow after long outages).
        base = self.initial
        for _ in range(self.failures - 1):
            if base >= self.maximum:
                break
            base *= self.multiplier
        base = min(self.maximum, base)
        wait = min(self.maximum, base * self.rng.uniform(1 - self.jitter, 1 + self.jitter))
        self.retry_at = now + wait
        return wait

    def success(self) -> None:
        """The peer answered properly: try again at once from now on."""
        self.failures = 0
        self.retry_at = 0.0
        self.last_error = ""
