"""Server-Sent Events for one job: ``GET /v1/jobs/{id}/events``.

Contract:

- Each event is ``id: <event id>`` (the event bus id), ``event: <type>`` (``queued``,
  ``progress``, ``requeued``, ``completed``) and ``data: <JSON>`` with ``job_id``, ``type``,
  ``status`` (the job state) and, by type, ``step``/``total``/``attempt``, ``error_code``/
  ``error_message`` or ``reason``. Image lists are not sent: fetch ``GET /v1/jobs/{id}``.
- A fresh connection (no ``Last-Event-ID``) starts with ``event: snapshot`` (no id) whose data
  is the job as ``GET /v1/jobs/{id}`` shows it, then every retained event.
- ``Last-Event-ID`` (header, or the ``last_event_id`` query parameter for clients that cannot set
  headers) resumes after that id: nothing is sent twice and nothing retained is skipped.
- The stream ends after the ``completed`` event. When the job is already final but the bus no
  longer holds its completion (expired, or the gateway restarted), a ``completed`` event without
  an id is synthesised from the store, so a client never waits forever.
- While nothing happens a ``: keepalive`` comment is sent every ``poll_s`` seconds.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
from fastapi import Request
from fastapi.responses import StreamingResponse

from pixelmill.gateway.errors import ApiError
from pixelmill.jobs import Job
from pixelmill.store.events import EventBus

_EVENT_ID = re.compile(r"^[0-9]{1,20}(-[0-9]{1,20})?$")  # memory bus "n", Redis stream "ms-seq"
_FIELDS = ("type", "step", "total", "attempt", "error_code", "error_message", "reason")


def format_event(data: dict[str, Any], *, event: str, event_id: str | None = None) -> str:
    lines = []
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.append(f"event: {event}")
    lines.append("data: " + json.dumps(data, separators=(",", ":"), default=str))
    return "\n".join(lines) + "\n\n"


def public_event(job_id: str, event: dict[str, Any]) -> dict[str, Any]:
    """The fields of a bus event a client sees (no images, no worker ids)."""
    out = {k: event[k] for k in _FIELDS if k in event}
    out["job_id"] = job_id
    out["status"] = event.get("state")
    return out


def check_event_id(last_event_id: str | None) -> str | None:
    if last_event_id is None or last_event_id == "":
        return None
    if not _EVENT_ID.match(last_event_id):
        raise ApiError(400, "bad_last_event_id",
                       "Last-Event-ID must be an event id this stream sent (N or N-M, digits)")
    return last_event_id


def job_events(
    request: Request,
    bus: EventBus,
    job: Job,
    last_event_id: str | None,
    *,
    load_job: Callable[[str], Job],
    snapshot: Callable[[Job], dict[str, Any]],
    poll_s: float = 5.0,
) -> StreamingResponse:
    """The SSE response for ``job`` (already authorised)."""
    after = check_event_id(last_event_id)
    try:  # an id this bus cannot parse is the client's error: refuse before streaming
        first = bus.read(job.id, after, 0.0)
    except ValueError as exc:
        raise ApiError(400, "bad_last_event_id", str(exc)) from None

    async def stream() -> AsyncIterator[str]:
        cursor = after
        pending = first
        current = job
        if after is None:
            yield format_event(snapshot(job), event="snapshot")
        while True:
            for event_id, event in pending:
                cursor = event_id
                kind = str(event.get("type", "message"))
                yield format_event(public_event(job.id, event), event=kind, event_id=event_id)
                if kind == "completed":
                    return
            if pending:
                pending = []
                continue
            current = await anyio.to_thread.run_sync(load_job, job.id)
            if current.state.finished:
                # The bus may hold the completion after all (a race with the worker): look once
                # more without waiting, else synthesise it from the store.
                pending = await anyio.to_thread.run_sync(bus.read, job.id, cursor, 0.0)
                if any(e.get("type") == "completed" for _, e in pending):
                    continue
                data = public_event(job.id, {"type": "completed", "state": current.state.value,
                                             "error_code": current.error_code,
                                             "error_message": current.error_message})
                yield format_event(data, event="completed")
                return
            if await request.is_disconnected():
                return
            pending = await anyio.to_thread.run_sync(bus.read, job.id, cursor, poll_s)
            if not pending:
                yield ": keepalive\n\n"

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
