"""Event bus behaviour on the in-memory bus and on Redis Streams (real redis-server)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from pixelmill.store.events import EventBus


def test_bus_satisfies_protocol(event_bus: Any) -> None:
    assert isinstance(event_bus, EventBus)


def test_publish_read_resume_after_id(event_bus: Any) -> None:
    ids = [event_bus.publish("job1", {"type": "progress", "step": s, "total": 3}) for s in (1, 2, 3)]
    event_bus.publish("job2", {"type": "progress", "step": 9})
    assert len(set(ids)) == 3
    events = event_bus.read("job1", None)
    assert [eid for eid, _ in events] == ids
    assert [e["step"] for _, e in events] == [1, 2, 3]
    # A client that saw the first event resumes after it (SSE Last-Event-ID).
    assert [e["step"] for _, e in event_bus.read("job1", ids[0])] == [2, 3]
    assert event_bus.read("job1", ids[-1]) == []
    assert event_bus.read("nojob", None) == []


def test_read_waits_for_the_next_event(event_bus: Any) -> None:
    last = event_bus.publish("j", {"type": "queued"})
    timer = threading.Timer(0.2, lambda: event_bus.publish("j", {"type": "completed"}))
    timer.start()
    t0 = time.monotonic()
    got = event_bus.read("j", last, timeout_s=5.0)
    timer.join()
    assert [e["type"] for _, e in got] == ["completed"]
    assert time.monotonic() - t0 < 4.0
    t0 = time.monotonic()
    assert event_bus.read("j", got[0][0], timeout_s=0.2) == []
    assert time.monotonic() - t0 >= 0.15


def test_streams_are_trimmed(event_bus: Any) -> None:
    event_bus.maxlen = 5
    for i in range(12):
        event_bus.publish("t", {"i": i})
    assert [e["i"] for _, e in event_bus.read("t", None)] == list(range(7, 12))


def test_bad_event_id_is_a_clear_error(event_bus: Any) -> None:
    with pytest.raises(ValueError, match="bad event id"):
        event_bus.read("j", "not-an-id!")


def test_redis_streams_expire_and_ids_are_stream_ids(redis_url: str) -> None:
    from pixelmill.store.redis_events import RedisEventBus

    bus = RedisEventBus(redis_url, ttl_s=60)
    event_id = bus.publish("j", {"type": "queued"})
    assert event_id.split("-")[0].isdigit()  # <ms>-<seq>: valid as an SSE id
    ttl = bus.client.ttl("pixelmill:events:j")
    assert 0 < ttl <= 60
    bus.close()


class _Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_memory_bus_expires_idle_streams_in_order_of_last_event() -> None:
    from pixelmill.store.events import MemoryEventBus

    clock = _Clock()
    bus = MemoryEventBus(ttl_s=10.0, clock=clock)
    bus.publish("old", {"i": 0})
    clock.t += 6
    bus.publish("kept", {"i": 0})
    clock.t += 3
    bus.publish("old", {"i": 1})  # a new event renews "old": now the newer of the two
    clock.t += 8  # "kept" idle 11 s (> ttl), "old" idle 8 s
    bus.publish("new", {"i": 0})
    assert bus.read("kept") == [] and [e["i"] for _, e in bus.read("old")] == [0, 1]
    clock.t += 11  # everything idle past the ttl: a read alone drops them
    assert bus.read("old") == [] and bus.read("new") == []
    assert bus.publish("old", {"i": 2}) == "1"  # an expired stream starts over


def test_memory_bus_publish_cost_does_not_grow_with_live_streams() -> None:
    from pixelmill.store.events import MemoryEventBus

    clock = _Clock()
    bus = MemoryEventBus(ttl_s=10_000.0, clock=clock)
    for i in range(5000):  # job i's last event at t = 1000 + i
        clock.t = 1000.0 + i
        bus.publish(f"job{i}", {"i": i})
    clock.t = 6000.0
    checks = bus.expiry_checks
    for i in range(100):  # 5000 live streams: each publish examines only the oldest one
        bus.publish(f"job{i * 7}", {"renewed": True})
    assert bus.expiry_checks - checks == 100
    # Now streams whose last event is before t = 3000.5 are expired: jobs 0..2000 less the 100
    # renewed ones. One publish drops them, examining each once plus the oldest live one.
    clock.t = 3000.5 + 10_000.0
    checks = bus.expiry_checks
    bus.publish("fresh", {})
    assert bus.expiry_checks - checks == 1901 + 1
    assert len(bus._streams) == 5000 - 1901 + 1
    assert bus.read("job1") == [] and bus.read("job7") != [] and bus.read("job2001") != []
    checks = bus.expiry_checks
    bus.publish("fresh", {})
    assert bus.expiry_checks - checks == 1
