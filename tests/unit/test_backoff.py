"""Retry timing for one peer, with a seeded random source and a fake clock value."""

from __future__ import annotations

import itertools
import random

from tamga.protocol import Backoff

T0 = 1_000_000.0  # a fake clock value; nothing here reads the real clock


def make(seed: int = 1234, **kwargs) -> Backoff:
    return Backoff(rng=random.Random(seed), **kwargs)


def test_fresh_backoff_is_ready():
    b = make()
    assert b.ready(0.0)
    assert b.ready(T0)
    assert b.delay(T0) == 0.0
    assert b.failures == 0


def test_default_cap_is_minutes_not_hours():
    b = Backoff()
    assert 60.0 <= b.maximum <= 15 * 60.0
    assert b.initial <= 5.0
    assert b.multiplier > 1.0
    assert 0.0 < b.jitter < 1.0


def test_delays_grow_by_the_multiplier_within_jitter():
    b = make(initial=1.0, maximum=300.0, multiplier=2.0, jitter=0.2)
    delays = [b.failure(T0, "unavailable") for _ in range(15)]
    for n, wait in enumerate(delays, start=1):
        base = min(300.0, 1.0 * 2.0 ** (n - 1))
        assert base * 0.8 <= wait <= min(300.0, base * 1.2), (n, wait)
    # Growth: each uncapped delay is at least (2 * 0.8 / 1.2) times the previous one.
    for earlier, later in itertools.pairwise(delays[:9]):
        assert later >= earlier * 2.0 * 0.8 / 1.2
    assert b.failures == 15


def test_delays_are_exactly_the_seeded_draws():
    b = make(seed=99, initial=0.5, maximum=60.0, multiplier=3.0, jitter=0.25)
    rng = random.Random(99)
    for n in range(1, 10):
        base = min(60.0, 0.5 * 3.0 ** (n - 1))
        expected = min(60.0, base * rng.uniform(0.75, 1.25))
        assert b.failure(T0, "x") == expected


def test_without_jitter_delays_are_exact_powers_up_to_the_cap():
    b = make(initial=1.0, maximum=300.0, multiplier=2.0, jitter=0.0)
    delays = [b.failure(T0, "x") for _ in range(12)]
    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 300.0, 300.0, 300.0]


def test_same_seed_same_delays_other_seed_other_delays():
    a, b, c = make(seed=7), make(seed=7), make(seed=8)
    da = [a.failure(T0, "x") for _ in range(6)]
    db = [b.failure(T0, "x") for _ in range(6)]
    dc = [c.failure(T0, "x") for _ in range(6)]
    assert da == db
    assert da != dc


def test_delay_never_exceeds_the_maximum():
    b = make(initial=1.0, maximum=300.0, multiplier=2.0, jitter=0.5)
    delays = [b.failure(T0, "x") for _ in range(1000)]
    assert max(delays) <= 300.0
    assert all(d > 0 for d in delays)
    # Once capped, the jitter only shortens the wait; it still spreads the retries.
    tail = delays[20:]
    assert min(tail) >= 300.0 * 0.5
    assert len(set(tail)) > 1


def test_delay_with_a_huge_initial_is_capped():
    b = make(initial=10_000.0, maximum=120.0)
    assert b.failure(T0, "x") <= 120.0


def test_ready_and_delay_follow_the_clock_value():
    b = make(jitter=0.0, initial=4.0)
    wait = b.failure(T0, "connection refused")
    assert wait == 4.0
    assert b.retry_at == T0 + 4.0
    assert not b.ready(T0)
    assert not b.ready(T0 + 3.999)
    assert b.ready(T0 + 4.0)
    assert b.ready(T0 + 100.0)
    assert b.delay(T0) == 4.0
    assert b.delay(T0 + 1.5) == 2.5
    assert b.delay(T0 + 4.0) == 0.0
    assert b.delay(T0 + 10.0) == 0.0
    assert b.last_error == "connection refused"


def test_each_failure_counts_from_its_own_clock_value():
    b = make(jitter=0.0, initial=1.0)
    b.failure(T0, "a")
    second = b.failure(T0 + 50.0, "b")
    assert second == 2.0
    assert b.retry_at == T0 + 52.0
    assert b.last_error == "b"


def test_success_resets_at_once():
    b = make(initial=1.0, maximum=300.0)
    for _ in range(10):
        b.failure(T0, "down")
    assert not b.ready(T0 + 1.0)
    b.success()
    assert b.ready(T0 + 1.0)
    assert b.ready(T0)
    assert b.delay(T0) == 0.0
    assert b.failures == 0
    assert b.last_error == ""
    # The next failure starts from the initial delay again.
    assert 0.8 <= b.failure(T0, "down again") <= 1.2


def test_many_consecutive_failures_stay_capped():
    b = make(initial=1.0, maximum=300.0, multiplier=2.0)
    for _ in range(1100):
        assert b.failure(T0, "down") <= 300.0
