"""The per-command limiter: never more than the limit in any window, and no wait it can avoid."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liveguard.tencent.ratelimit import (
    CommandRateLimiter,
    RateLimitWaitTooLong,
    SlidingWindowLimiter,
)

from .conftest import FakeClock

# Binary fractions of a second keep the fake clock's arithmetic exact.
GAPS = st.integers(min_value=0, max_value=512).map(lambda n: n / 1024)


def most_in_any_window(starts: list[float], window: float) -> int:
    """The largest number of starts inside any half-open window (t - window, t]."""
    ordered = sorted(starts)
    best, left = 0, 0
    for right, t in enumerate(ordered):
        while ordered[left] <= t - window:
            left += 1
        best = max(best, right - left + 1)
    return best


def run(limiter: SlidingWindowLimiter, clock: FakeClock, gaps: list[float]) -> list[float]:
    """Callers arrive after each gap (a sequential caller: the clock moves on while it waits)."""
    starts = []
    for gap in gaps:
        clock.now += gap
        limiter.acquire()
        starts.append(clock.now)
    return starts


def test_a_burst_over_the_limit_waits_for_the_window_to_free():
    # Given 5 calls per second
    clock = FakeClock(now=0.0)
    limiter = SlidingWindowLimiter(5, 1.0, clock=clock, sleep=clock.sleep)
    # When 12 calls come at once
    starts = run(limiter, clock, [0.0] * 12)
    # Then they go in three waves, one window apart
    assert starts == [0.0] * 5 + [1.0] * 5 + [2.0] * 2


@settings(max_examples=200, deadline=None)
@given(
    limit=st.integers(min_value=1, max_value=30),
    gaps=st.lists(GAPS, min_size=1, max_size=200),
)
def test_no_window_ever_holds_more_than_the_limit(limit, gaps):
    clock = FakeClock(now=0.0)
    limiter = SlidingWindowLimiter(limit, 1.0, clock=clock, sleep=clock.sleep)
    starts = run(limiter, clock, gaps)
    assert most_in_any_window(starts, 1.0) <= limit


@settings(max_examples=200, deadline=None)
@given(
    limit=st.integers(min_value=1, max_value=30),
    gaps=st.lists(GAPS, min_size=1, max_size=200),
)
def test_a_call_waits_only_when_the_window_is_full(limit, gaps):
    # The limiter costs nothing below the limit: a call is delayed only if `limit` calls
    # already started within the window before its arrival.
    clock = FakeClock(now=0.0)
    limiter = SlidingWindowLimiter(limit, 1.0, clock=clock, sleep=clock.sleep)
    starts: list[float] = []
    for gap in gaps:
        clock.now += gap
        arrived = clock.now
        waited = limiter.acquire()
        recent = [s for s in starts if s > arrived - 1.0]
        if waited > 0:
            assert len(recent) >= limit
        starts.append(clock.now)


def test_threads_sharing_a_limiter_respect_it_together():
    # Given one limiter and 8 threads hammering it (real clock, short window)
    limiter = SlidingWindowLimiter(20, 0.25)
    starts: list[float] = []
    lock = threading.Lock()

    def caller() -> None:
        for _ in range(10):
            limiter.acquire()
            with lock:
                starts.append(limiter._clock())

    threads = [threading.Thread(target=caller) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then every call went through, 20 per window: the 80 calls needed three more windows
    assert len(starts) == 80
    assert max(starts) - min(starts) >= 3 * 0.25 - 0.01


def test_a_wait_past_the_deadline_is_refused_and_frees_its_slot():
    clock = FakeClock(now=0.0)
    limiter = SlidingWindowLimiter(2, 1.0, clock=clock, sleep=clock.sleep)
    run(limiter, clock, [0.0, 0.0])
    with pytest.raises(RateLimitWaitTooLong) as raised:
        limiter.acquire("destroy_room", deadline=0.5)
    assert raised.value.wait == pytest.approx(1.0)
    # the refused caller did not keep a reservation: the next one waits no longer than a window
    assert limiter.acquire() == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("command", "rate"),
    [("destroy_room", 200), ("get_room_list", 10), ("add_robot", 100), ("get_room_stats", 100)],
)
def test_documented_rates_apply_per_command(command, rate):
    assert CommandRateLimiter().rate(command) == rate


def test_the_rate_is_divided_among_processes_sharing_the_quota():
    limiter = CommandRateLimiter(concurrency=4)
    assert limiter.rate("destroy_room") == 50
    assert limiter.rate("get_room_list") == 2
    assert CommandRateLimiter(concurrency=50).rate("get_room_list") == 1


def test_rates_can_be_overridden():
    limiter = CommandRateLimiter({"destroy_room": 20, "get_room_list": 5}, concurrency=2)
    assert limiter.rate("destroy_room") == 10
    assert limiter.rate("get_room_list") == 2


def test_each_command_has_its_own_window():
    clock = FakeClock(now=0.0)
    limiter = CommandRateLimiter({"a": 1, "b": 1}, window=1.0, clock=clock, sleep=clock.sleep)
    assert limiter.acquire("a") == 0
    assert limiter.acquire("b") == 0
    assert limiter.acquire("a") == pytest.approx(1.0)


@pytest.mark.parametrize(("limit", "window"), [(0, 1.0), (1, 0.0)])
def test_a_limiter_that_could_never_admit_a_call_is_refused(limit, window):
    with pytest.raises(ValueError, match="must be"):
        SlidingWindowLimiter(limit, window)
