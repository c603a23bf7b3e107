"""Job events: progress and completion, pushed to clients (SSE, webhooks).

Contract of every :class:`EventBus`:

- ``publish(job_id, event)`` appends a JSON-serialisable dict to the job's stream and returns its
  event id: a string usable as an SSE ``id`` (a client resumes with ``Last-Event-ID``).
- ``read(job_id, after, timeout_s)`` returns the events after ``after`` (all retained ones when
  ``after`` is None), oldest first, as ``(event_id, event)`` pairs; when there are none it waits
  up to ``timeout_s`` for one, then returns ``[]``. Ids are ordered per job.
- Each job keeps at most ``maxlen`` events (older ones are trimmed) and expires ``ttl_s`` after
  its last event.

Events the worker publishes (``type`` key):

- ``{"type": "queued", "state": "queued"}``
- ``{"type": "progress", "state": "running", "step": s, "total": t, "attempt": a}``
- ``{"type": "completed", "state": <final state>, "images": [...], "error_code": ...,
  "error_message": ...}``: the job's last event.
- ``{"type": "requeued", "state": "queued", "reason": ...}``

Implementations: :class:`MemoryEventBus` (embedded, one process) and
:class:`pixelmill.store.redis_events.RedisEventBus` (Redis Streams, a stream per job).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

Event = dict[str, Any]


@runtime_checkable
class EventBus(Protocol):
    def publish(self, job_id: str, event: Event) -> str:
        """Append ``event`` to the job's stream; return its id."""
        ...

    def read(self, job_id: str, after: str | None = None, timeout_s: float = 0.0) -> list[tuple[str, Event]]:
        """Events after ``after``, waiting up to ``timeout_s`` when there are none."""
        ...

    def close(self) -> None: ...


class MemoryEventBus:
    """In-process event bus: a bounded deque per job; ids are ``"<n>"`` counting from 1.

    Expiry is amortised O(1): streams are kept in an ``OrderedDict`` in order of their last
    event (a publish moves its stream to the new end), so expired streams are popped from the
    old end and a publish or read looks at no live stream but the oldest one, however many
    jobs are live. ``expiry_checks`` counts the streams examined for expiry (for tests).
    ``clock``: a monotonic clock in seconds (injectable for tests).
    """

    def __init__(self, maxlen: int = 1000, ttl_s: float = 3600.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.maxlen = maxlen
        self.ttl_s = ttl_s
        self.clock = clock
        self.expiry_checks = 0
        self._streams: OrderedDict[str, _Stream] = OrderedDict()
        self._cond = threading.Condition()

    def _expire(self, now: float) -> None:
        while self._streams:
            self.expiry_checks += 1
            oldest = next(iter(self._streams.values()))
            if now - oldest.last <= self.ttl_s:
                return
            self._streams.popitem(last=False)

    def publish(self, job_id: str, event: Event) -> str:
        with self._cond:
            now = self.clock()
            self._expire(now)
            stream = self._streams.get(job_id)
            if stream is None:
                stream = self._streams[job_id] = _Stream(deque(maxlen=self.maxlen))
            else:
                self._streams.move_to_end(job_id)
            stream.last = now
            stream.counter += 1
            stream.events.append((stream.counter, dict(event)))
            self._cond.notify_all()
            return str(stream.counter)

    def read(self, job_id: str, after: str | None = None, timeout_s: float = 0.0) -> list[tuple[str, Event]]:
        try:
            floor = int(after) if after else 0
        except ValueError:
            raise ValueError(f"bad event id {after!r}: use an id returned by publish/read") from None
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while True:
                self._expire(self.clock())
                stream = self._streams.get(job_id)
                found = [(str(n), dict(e)) for n, e in stream.events if n > floor] if stream else []
                remaining = deadline - time.monotonic()
                if found or remaining <= 0:
                    return found
                self._cond.wait(remaining)

    def close(self) -> None:
        with self._cond:
            self._streams.clear()


@dataclass
class _Stream:
    """One job's retained events, its last event's time and its last event id."""

    events: deque[tuple[int, Event]]
    last: float = 0.0
    counter: int = 0
