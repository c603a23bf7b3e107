"""Repeated violations within a window restrict an account; the clock is injected."""

from __future__ import annotations

import pytest

from pixelmill.safety.strikes import ViolationTracker


def test_restriction_starts_at_the_nth_violation_in_the_window() -> None:
    t = ViolationTracker(max_violations=3, window_s=60, restrict_s=600)
    assert t.record("u", 0) is None
    assert t.record("u", 10) is None
    assert not t.is_restricted("u", 11)
    assert t.record("u", 20) == 620
    assert t.is_restricted("u", 619.9)
    assert not t.is_restricted("u", 620)


def test_violations_outside_the_window_do_not_count() -> None:
    t = ViolationTracker(max_violations=3, window_s=60, restrict_s=600)
    t.record("u", 0)
    t.record("u", 30)
    assert t.record("u", 61) is None  # the one at 0 expired
    assert t.violations("u", 61) == 2
    assert t.record("u", 62) == 662


def test_users_are_independent() -> None:
    t = ViolationTracker(max_violations=1, window_s=60, restrict_s=100)
    assert t.record("a", 0) == 100
    assert not t.is_restricted("b", 1)
    assert t.restricted_until("a", 1) == 100


def test_state_round_trips_for_persistence() -> None:
    t = ViolationTracker(max_violations=2, window_s=60, restrict_s=100)
    t.record("u", 5)
    times, until = t.state("u")
    fresh = ViolationTracker(max_violations=2, window_s=60, restrict_s=100)
    fresh.load("u", times, until)
    assert fresh.record("u", 10) == 110


@pytest.mark.parametrize("kwargs", [{"max_violations": 0}, {"window_s": 0}, {"restrict_s": -1}])
def test_bad_settings_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must be"):
        ViolationTracker(**kwargs)  # type: ignore[arg-type]
