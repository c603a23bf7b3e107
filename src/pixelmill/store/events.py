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
from collections import deque
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
    """In-process event bus: a bounded deque per job; ids are ``"<n>"`` counting from 1."""

    def __init__(self, maxlen: int = 1000, ttl_s: float = 3600.0) -> None:
        self.maxlen = maxlen
        self.ttl_s = ttl_s
        self._streams: dict[str, tuple[deque[tuple[int, Event]], list[float]]] = {}
        self._counter: dict[str, int] = {}
        self._cond = threading.Condition()

    def _expire(self, now: float) -> None:
        for job_id in [j for j, (_, last) in self._streams.items() if now - last[0] > self.ttl_s]:
            del self._streams[job_id]
            self._counter.pop(job_id, None)

    def publish(self, job_id: str, event: Event) -> str:
        with self._cond:
            now = time.monotonic()
            self._expire(now)
            stream, last = self._streams.setdefault(job_id, (deque(maxlen=self.maxlen), [now]))
            last[0] = now
            n = self._counter.get(job_id, 0) + 1
            self._counter[job_id] = n
            stream.append((n, dict(event)))
            self._cond.notify_all()
            return str(n)

    def read(self, job_id: str, after: str | None = None, timeout_s: float = 0.0) -> list[tuple[str, Event]]:
        try:
            floor = int(after) if after else 0
        except ValueError:
            raise ValueError(f"bad event id {after!r}: use an id returned by publish/read") from None
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while True:
                stream = self._streams.get(job_id, (deque(), [0.0]))[0]
                found = [(str(n), dict(e)) for n, e in stream if n > floor]
                remaining = deadline - time.monotonic()
                if found or remaining <= 0:
                    return found
                self._cond.wait(remaining)

    def close(self) -> None:
        with self._cond:
            self._streams.clear()
