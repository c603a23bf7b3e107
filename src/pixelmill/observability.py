"""Metrics, traces and structured logs, recorded at state changes.

All metrics live in one registry (:data:`REGISTRY`) so ``/metrics`` exposes exactly pixelmill's
series. Every area imports the metric it updates from here; names follow Prometheus style.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import ClassVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

REGISTRY = CollectorRegistry(auto_describe=True)

_LATENCY = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)

QUEUE_DEPTH = Gauge("pixelmill_queue_depth", "Queued jobs by lane.", ["lane"], registry=REGISTRY)
QUEUE_WAIT = Histogram(
    "pixelmill_queue_wait_seconds", "Time from submit to claim, by lane.", ["lane"],
    buckets=_LATENCY, registry=REGISTRY,
)
DENOISE_SECONDS = Histogram(
    "pixelmill_denoise_seconds", "Model time per job.", buckets=_LATENCY, registry=REGISTRY
)
E2E_SECONDS = Histogram(
    "pixelmill_e2e_seconds", "Submit to completion, by tier.", ["tier"], buckets=_LATENCY,
    registry=REGISTRY,
)
HTTP_REQUESTS = Counter(
    "pixelmill_http_requests_total", "HTTP requests by route and status.", ["route", "status"],
    registry=REGISTRY,
)
HTTP_LATENCY = Histogram(
    "pixelmill_http_request_seconds", "HTTP request latency by route.", ["route"],
    buckets=_LATENCY, registry=REGISTRY,
)
RATE_LIMITED = Counter(
    "pixelmill_rate_limited_total", "Requests refused by a rate limit, by scope.", ["scope"],
    registry=REGISTRY,
)
BLOCKED = Counter(
    "pixelmill_blocked_total", "Safety blocks by filter layer and category.", ["layer", "category"],
    registry=REGISTRY,
)
SAFETY_CHECKS = Counter(
    "pixelmill_safety_checks_total", "Safety screens run, by filter (pre, post).", ["filter"],
    registry=REGISTRY,
)
JOBS = Counter("pixelmill_jobs_total", "Job state transitions, by new state.", ["state"], registry=REGISTRY)
ENGINE_BATCH = Histogram(
    "pixelmill_engine_batch_size", "Samples advanced per engine iteration.",
    buckets=(1, 2, 4, 8, 16, 32, 64), registry=REGISTRY,
)
CHECKPOINTS = Counter(
    "pixelmill_checkpoints_total", "Checkpoint writes, by result (ok, refused, corrupt).", ["result"],
    registry=REGISTRY,
)
WEBHOOKS = Counter(
    "pixelmill_webhook_deliveries_total",
    "Webhook delivery attempts by result (delivered, retry, dropped after the last retry, denied by "
    "the egress policy).", ["result"], registry=REGISTRY,
)
WORKER_HEARTBEAT = Gauge(
    "pixelmill_worker_last_heartbeat_timestamp", "Unix time of a worker's last heartbeat.", ["worker"],
    registry=REGISTRY,
)


def render() -> bytes:
    """The Prometheus text exposition of :data:`REGISTRY`."""
    return generate_latest(REGISTRY)


class JsonFormatter(logging.Formatter):
    """One JSON object per log line: time, level, logger, message and any ``extra`` fields."""

    _STANDARD: ClassVar[frozenset[str]] = frozenset(vars(logging.makeLogRecord({})))

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, object] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        payload.update({k: v for k, v in vars(record).items() if k not in self._STANDARD})
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


def configure_logging(level: str = "INFO", json_lines: bool = True) -> None:
    """Route pixelmill's logs to stderr, as JSON lines by default."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter("%(levelname)s %(message)s"))
    root = logging.getLogger("pixelmill")
    root.handlers[:] = [handler]
    root.setLevel(level)


@contextmanager
def span(name: str, **attrs: object) -> Iterator[dict[str, object]]:
    """A minimal trace span: logs its name, attributes and duration when it ends.

    Yields a dict the caller may add attributes to. Spans are logged at DEBUG under
    ``pixelmill.trace`` so they cost nothing unless an operator turns them on.
    """
    record: dict[str, object] = dict(attrs)
    start = time.perf_counter()
    try:
        yield record
    finally:
        record["duration_ms"] = round((time.perf_counter() - start) * 1000, 3)
        logging.getLogger("pixelmill.trace").debug(name, extra={"span": name, **record})
