"""Redis Streams event bus (distributed): one stream per job, the stream id is the event id.

``publish`` is ``XADD pixelmill:events:<job_id> MAXLEN maxlen * data <json>`` followed by
``EXPIRE`` (``ttl_s``); the returned stream id (``<ms>-<seq>``) is a valid SSE id, and ``read`` is
``XREAD BLOCK`` after it, so a client that reconnects with ``Last-Event-ID`` misses nothing that
is still retained. Contract: :mod:`pixelmill.store.events`.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pixelmill.store.events import Event

_ID = re.compile(r"^\d+-\d+$")


class RedisEventBus:
    """Events in Redis Streams. ``url``: ``redis://host:port/db``."""

    def __init__(self, url: str, *, maxlen: int = 1000, ttl_s: int = 3600,
                 prefix: str = "pixelmill:events:") -> None:
        import redis

        self.client: Any = redis.Redis.from_url(url)
        self.maxlen = maxlen
        self.ttl_s = ttl_s
        self.prefix = prefix

    def _key(self, job_id: str) -> str:
        return self.prefix + job_id

    def publish(self, job_id: str, event: Event) -> str:
        key = self._key(job_id)
        with self.client.pipeline() as pipe:
            pipe.xadd(key, {"data": json.dumps(event)}, maxlen=self.maxlen, approximate=False)
            pipe.expire(key, self.ttl_s)
            event_id, _ = pipe.execute()
        return event_id.decode() if isinstance(event_id, bytes) else str(event_id)

    def read(self, job_id: str, after: str | None = None, timeout_s: float = 0.0) -> list[tuple[str, Event]]:
        if after is not None and not _ID.match(after):
            raise ValueError(f"bad event id {after!r}: use an id returned by publish/read")
        key = self._key(job_id)
        block = int(timeout_s * 1000) if timeout_s > 0 else None
        reply = self.client.xread({key: after or "0-0"}, block=block)
        out: list[tuple[str, Event]] = []
        for _stream, entries in reply or []:
            for event_id, fields in entries:
                eid = event_id.decode() if isinstance(event_id, bytes) else str(event_id)
                out.append((eid, json.loads(fields[b"data"])))
        return out

    def close(self) -> None:
        self.client.close()
