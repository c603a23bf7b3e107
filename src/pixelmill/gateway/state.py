"""The gateway's parts, built once per app: stores, auth, limits, submitter, webhooks, worker.

:class:`Gateway` is plain wiring; routes reach it as ``request.app.state.gateway``. Building it
opens the stores; :meth:`Gateway.start` starts the background threads (webhooks, the embedded
worker) and :meth:`Gateway.close` stops them and closes the stores.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pixelmill.gateway.auth import Authenticator, SigninTokens
from pixelmill.gateway.ratelimit import RateLimiter
from pixelmill.gateway.screening import BatchScreener
from pixelmill.gateway.submit import ModelShape, Submitter
from pixelmill.gateway.views import QueueEstimator, job_view
from pixelmill.gateway.webhooks import JobWatcher, WebhookSender, user_secret
from pixelmill.safety.strikes import ViolationTracker
from pixelmill.store.blobs import BlobStore
from pixelmill.store.events import EventBus
from pixelmill.store.jobstore import JobStore
from pixelmill.tiers import Policy

log = logging.getLogger("pixelmill.gateway")


class EmbeddedWorker:
    """A :class:`pixelmill.worker.Worker` run on a background thread of the server process.

    ``factory`` builds the worker (so its model loads on the thread, not at import);
    ``heartbeat_at`` is refreshed by :meth:`beat` from the thread's loop for ``/readyz``.
    """

    def __init__(self, factory: Callable[[], Any]) -> None:
        self.factory = factory
        self.stop_event = threading.Event()
        self.error: str | None = None
        self.started_at: float | None = None
        self.worker: Any = None
        self._thread = threading.Thread(target=self._run, name="pixelmill-embedded-worker", daemon=True)

    def start(self) -> None:
        self.started_at = time.time()
        self._thread.start()

    def _run(self) -> None:
        try:
            self.worker = self.factory()
            self.worker.run(self.stop_event)
        except Exception as exc:
            self.error = f"{type(exc).__name__}: {exc}"
            log.exception("embedded worker stopped")

    def alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout_s: float = 10.0) -> None:
        self.stop_event.set()
        if self._thread.is_alive():
            self._thread.join(timeout=timeout_s)


@dataclass
class Gateway:
    policy: Policy
    store: JobStore
    blobs: BlobStore
    bus: EventBus
    secret: bytes
    auth: Authenticator
    limiter: RateLimiter
    submitter: Submitter
    signin: SigninTokens
    webhooks: WebhookSender
    watcher: JobWatcher
    estimator: QueueEstimator = field(default_factory=QueueEstimator)
    worker: EmbeddedWorker | None = None
    heartbeat_max_age_s: float = 60.0

    @classmethod
    def build(cls, *, policy: Policy, store: JobStore, blobs: BlobStore, bus: EventBus, secret: bytes,
              prefilter: Any, signin: SigninTokens, ratelimit_url: str, shape: ModelShape,
              webhook_base_s: float = 1.0, webhook_allow_private: bool = False) -> Gateway:
        auth = Authenticator(store, secret)
        limiter = RateLimiter(policy, ratelimit_url)
        submitter = Submitter(store, policy, limiter, BatchScreener(prefilter), ViolationTracker(), shape,
                              blobs=blobs)
        sender = WebhookSender(base_s=webhook_base_s, allow_private=webhook_allow_private)
        estimator = QueueEstimator()

        watcher = JobWatcher(store.get, job_view, lambda uid: user_secret(secret, uid), sender)
        return cls(policy, store, blobs, bus, secret, auth, limiter, submitter, signin, sender,
                   watcher, estimator)

    def webhook_secret(self, user_id: str) -> str:
        return user_secret(self.secret, user_id)

    def readiness(self) -> dict[str, dict[str, Any]]:
        """Each check: ``{"ok": bool, "detail": str}`` (store, blobs, worker)."""
        checks: dict[str, dict[str, Any]] = {}
        try:
            depths = self.store.lane_depths()
            checks["store"] = {"ok": True, "detail": f"{sum(depths.values())} queued"}
        except Exception as exc:
            checks["store"] = {"ok": False, "detail": type(exc).__name__}
        try:
            self.blobs.put("health/probe", str(time.time()).encode())
            self.blobs.get("health/probe")
            checks["blobs"] = {"ok": True, "detail": "read/write ok"}
        except Exception as exc:
            checks["blobs"] = {"ok": False, "detail": type(exc).__name__}
        checks["worker"] = self._worker_check()
        return checks

    def _worker_check(self) -> dict[str, Any]:
        if self.worker is not None:
            if not self.worker.alive():
                return {"ok": False, "detail": f"embedded worker stopped: {self.worker.error or 'exited'}"}
            return {"ok": True, "detail": "embedded worker running"}
        # Distributed mode: workers publish their heartbeat in the blob store (see worker.py);
        # none fresh means no worker will pick up jobs.
        newest = latest_worker_heartbeat(self.blobs)
        if newest is None:
            return {"ok": False, "detail": "no worker heartbeat seen"}
        age = time.time() - newest
        return {"ok": age <= self.heartbeat_max_age_s, "detail": f"newest worker heartbeat {age:.0f} s ago"}

    def start(self) -> None:
        if self.worker is not None:
            self.worker.start()

    def close(self) -> None:
        if self.worker is not None:
            self.worker.stop()
        self.watcher.close()
        self.webhooks.close()
        screener = self.submitter.prefilter
        if isinstance(screener, BatchScreener):
            screener.close()
        self.bus.close()
        self.store.close()


def latest_worker_heartbeat(blobs: BlobStore) -> float | None:
    """Unix time of the freshest ``workers/<id>/heartbeat`` blob, if any worker writes one."""
    newest: float | None = None
    for key in blobs.list("workers/"):
        if not key.endswith("/heartbeat"):
            continue
        try:
            ts = float(blobs.get(key).decode())
        except (KeyError, ValueError):
            continue
        newest = ts if newest is None else max(newest, ts)
    return newest
