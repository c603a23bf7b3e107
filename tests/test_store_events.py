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
