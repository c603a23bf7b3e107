"""Lane policy: fair share 4:2:1, free floor, no burst, relax fills idle capacity, turbo first."""

from __future__ import annotations

from collections import Counter, deque

import pytest

from pixelmill.scheduling import LanePolicy, LaneState, QueueHead, relax_order
from pixelmill.tiers import Policy

TARGET = {"pro": 4 / 7, "paid": 2 / 7, "free": 1 / 7}


def head(lane: str, n: int, t: float = 0.0, usage: float = 0.0) -> QueueHead:
    tier = {"turbo": "pro", "relax": "free"}.get(lane, lane)
    return QueueHead(lane=lane, job_id=f"{lane}-{n}", enqueued_at=t, tier=tier, user_usage_s=usage)


def assert_split(counts: Counter[str]) -> None:
    total = sum(counts[lane] for lane in TARGET)
    for lane, share in TARGET.items():
        got = counts[lane] / total
        assert abs(got - share) / share < 0.05, (lane, got, share, counts)


def test_backlog_splits_4_2_1() -> None:
    policy = LanePolicy()
    lanes: dict[str, LaneState] = {}
    queues = {lane: deque(head(lane, i) for i in range(2000)) for lane in TARGET}
    counts: Counter[str] = Counter()
    for step in range(1400):
        got = policy.pick({lane: q[0] for lane, q in queues.items()}, lanes, now=step * 0.05)
        assert got is not None
        queues[got.lane].popleft()
        counts[got.lane] += 1
    assert_split(counts)


def test_saturation_with_arrivals_splits_4_2_1_despite_floor_and_ageing() -> None:
    """Every lane receives more than it is served for 10 simulated minutes: heads grow old and
    the free floor keeps firing, yet the long-run split stays within 5% of 4:2:1."""
    policy = LanePolicy()
    lanes: dict[str, LaneState] = {}
    queues: dict[str, deque[QueueHead]] = {lane: deque() for lane in TARGET}
    counts: Counter[str] = Counter()
    n = 0
    for tick in range(6000):  # 10 claims/s; 6.7 arrivals/s per lane (20/s in all)
        now = tick * 0.1
        if tick % 3 == 0:
            for lane, q in queues.items():
                for _ in range(2):
                    q.append(head(lane, n, now))
                    n += 1
        got = policy.pick({lane: q[0] for lane, q in queues.items() if q}, lanes, now)
        assert got is not None
        queues[got.lane].popleft()
        counts[got.lane] += 1
    assert min(now - q[0].enqueued_at for q in queues.values()) > 60  # really saturated
    assert_split(counts)


def test_free_floor_takes_old_free_job_first() -> None:
    policy = LanePolicy(Policy(free_floor_s=30.0))
    heads = {"pro": head("pro", 0, t=0.0), "free": head("free", 0, t=1.0)}
    # Younger than the floor: the older pro job wins on equal passes.
    assert policy.pick(heads, {}, now=30.5).lane == "pro"  # type: ignore[union-attr]
    # Older than the floor: the free job goes first although pro's head is older.
    assert policy.pick(heads, {}, now=31.5).lane == "free"  # type: ignore[union-attr]


def test_free_floor_is_bounded_by_credit() -> None:
    policy = LanePolicy(floor_credit=1.0)
    lanes = {"pro": LaneState("pro", 0.0, True), "free": LaneState("free", 5.0, True)}
    heads = {"pro": head("pro", 0, t=0.0), "free": head("free", 0, t=0.0)}
    assert policy.pick(heads, lanes, now=100.0).lane == "pro"  # type: ignore[union-attr]


def test_waking_lane_does_not_burst() -> None:
    policy = LanePolicy()
    lanes: dict[str, LaneState] = {}
    # Pro alone for a long time: its pass runs far ahead while paid sleeps at pass 0.
    for i in range(400):
        policy.pick({"pro": head("pro", i)}, lanes, now=0.0)
    assert lanes["pro"].pass_value == pytest.approx(100.0)
    # Paid wakes: over the next 30 claims it gets its 2:4 share, not 30 in a row.
    counts: Counter[str] = Counter()
    for i in range(30):
        got = policy.pick({"pro": head("pro", 400 + i), "paid": head("paid", i)}, lanes, now=0.0)
        counts[got.lane] += 1  # type: ignore[union-attr]
    assert counts["paid"] == 10 and counts["pro"] == 20


def test_relax_only_fills_idle_capacity() -> None:
    policy = LanePolicy()
    lanes: dict[str, LaneState] = {}
    old_relax = head("relax", 0, t=-10_000.0)
    for i in range(50):
        got = policy.pick({"relax": old_relax, "free": head("free", i)}, lanes, now=0.0)
        assert got is not None and got.lane == "free"
    assert policy.pick({"relax": old_relax}, lanes, now=0.0) == old_relax


def test_turbo_goes_before_everything() -> None:
    policy = LanePolicy()
    lanes = {"turbo": LaneState("turbo", 1000.0, True)}
    heads = {"turbo": head("turbo", 0, t=5.0), "pro": head("pro", 0), "free": head("free", 0, t=-99)}
    assert policy.pick(heads, lanes, now=10.0).lane == "turbo"  # type: ignore[union-attr]


def test_relax_order_by_usage_then_age() -> None:
    heavy_old = head("relax", 0, t=0.0, usage=500.0)
    light_new = head("relax", 1, t=9.0, usage=10.0)
    light_old = head("relax", 2, t=1.0, usage=10.0)
    assert relax_order([heavy_old, light_new, light_old]) == [light_old, light_new, heavy_old]
    picked = LanePolicy().pick_many({"relax": [heavy_old, light_new, light_old]}, {}, now=10.0, k=2)
    assert picked == [light_old, light_new]


def test_pick_many_takes_k_and_stops_when_empty() -> None:
    policy = LanePolicy()
    lanes: dict[str, LaneState] = {}
    picked = policy.pick_many({"pro": [head("pro", i) for i in range(10)],
                               "paid": [head("paid", i) for i in range(10)]}, lanes, now=0.0, k=6)
    assert Counter(h.lane for h in picked) == {"pro": 4, "paid": 2}
    assert len({h.job_id for h in picked}) == 6
    assert len(policy.pick_many({"free": [head("free", 0)]}, lanes, now=0.0, k=5)) == 1
    assert policy.pick({}, lanes, now=0.0) is None


def test_unknown_lane_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown lane"):
        LanePolicy().pick({"vip": head("pro", 0)}, {}, now=0.0)
