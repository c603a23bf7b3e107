"""Request rate limits, with the ``limits`` library.

Storage follows the deployment (DESIGN.md decision 2): ``memory://`` in embedded mode (one
process), ``redis://host:port/db`` in distributed mode (every gateway shares the counters).

Scopes (each refusal is a 429 with ``Retry-After`` and counts in ``pixelmill_rate_limited_total``):

- ``user``: submits per user per minute, by tier (:attr:`TierPolicy.requests_per_minute`).
- ``ip``: requests per client IP per hour (:attr:`Policy.ip_requests_per_hour`), on every
  authenticated API route so a key-less flood is also bounded.
- ``queued``: a user's queued jobs may not exceed the tier's ``max_queued`` (checked by the
  routes against the job store, since the store is the truth about what is queued).

The moving-window strategy is exact (no burst of 2x the limit at a window edge).

``memory://`` uses :class:`SweptMemoryStorage`: the ``limits`` memory storage, except that its
housekeeping sweep (dropping expired entries) runs inline at most once a second instead of on a
fresh ``threading.Timer`` thread 10 ms after each hit, which under load started a thread every
few requests (profiled: the largest single cost of a submit). Limits are still exact: every hit
checks its window itself; the sweep only frees memory.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

from limits import RateLimitItemPerHour, RateLimitItemPerMinute, storage, strategies
from limits.storage import MemoryStorage

from pixelmill.gateway.errors import ApiError
from pixelmill.observability import RATE_LIMITED
from pixelmill.tiers import Policy


@dataclass(frozen=True)
class Refusal:
    """Why a request was refused and how long until it may succeed."""

    scope: str
    limit: str
    retry_after_s: int


class SweptMemoryStorage(MemoryStorage):
    """``memory://`` without a timer thread per hit (see the module docstring).

    Overrides the base class's private ``__schedule_expiry`` hook (name-mangled, so spelled
    ``_MemoryStorage__schedule_expiry``); if a ``limits`` upgrade renames it, the base behaviour
    (a timer thread) simply comes back, still correct.
    """

    SWEEP_EVERY_S = 1.0

    def __init__(self, uri: str | None = None, **options: object) -> None:
        super().__init__(uri, **options)
        self._next_sweep = 0.0
        self._sweep_lock = threading.Lock()

    def _MemoryStorage__schedule_expiry(self) -> None:
        now = time.monotonic()
        if now < self._next_sweep or not self._sweep_lock.acquire(blocking=False):
            return
        try:
            self._next_sweep = now + self.SWEEP_EVERY_S
            self._MemoryStorage__expire_events()  # type: ignore[attr-defined]
        finally:
            self._sweep_lock.release()


def _open_storage(url: str) -> storage.Storage:
    if url == "memory://":
        return SweptMemoryStorage()
    return storage.storage_from_string(url)


class RateLimiter:
    """Per-user (by tier) and per-IP limits on one ``limits`` storage.

    Thread-safe (the ``limits`` storages are). ``storage_url``: ``memory://`` or ``redis://...``.
    """

    def __init__(self, policy: Policy, storage_url: str = "memory://") -> None:
        self.policy = policy
        self.storage = _open_storage(storage_url)
        self.local = isinstance(self.storage, MemoryStorage)
        """Counters live in this process (no I/O per check: callers may check on the event loop)."""
        self.strategy = strategies.MovingWindowRateLimiter(self.storage)
        self._user_items = {
            name: RateLimitItemPerMinute(max(1, tp.requests_per_minute), namespace="pm-user")
            for name, tp in policy.tiers.items()
        }
        self._ip_item = RateLimitItemPerHour(max(1, policy.ip_requests_per_hour), namespace="pm-ip")

    def _retry_after(self, item: RateLimitItemPerMinute | RateLimitItemPerHour, key: str) -> int:
        stats = self.strategy.get_window_stats(item, key)
        return max(1, math.ceil(stats.reset_time - time.time()))

    def check_ip(self, ip: str) -> Refusal | None:
        """Count one request from ``ip``; a :class:`Refusal` when over the hourly limit."""
        if self.strategy.hit(self._ip_item, ip):
            return None
        return Refusal("ip", f"{self.policy.ip_requests_per_hour} requests per hour per address",
                       self._retry_after(self._ip_item, ip))

    def check_user(self, user_id: str, tier: str) -> Refusal | None:
        """Count one submit by ``user_id``; a :class:`Refusal` when over the tier's per-minute limit."""
        item = self._user_items[tier]
        if self.strategy.hit(item, user_id):
            return None
        per_min = self.policy.tier(tier).requests_per_minute
        return Refusal("user", f"{per_min} submits per minute on the {tier} tier",
                       self._retry_after(item, user_id))

    def reset(self) -> None:
        """Forget every counter (tests and operators)."""
        self.storage.reset()


def refuse(refusal: Refusal) -> ApiError:
    """The 429 for a refusal; also counts it in the metrics."""
    RATE_LIMITED.labels(scope=refusal.scope).inc()
    return ApiError(
        429,
        "rate_limited",
        f"rate limit reached ({refusal.limit}); retry after {refusal.retry_after_s} s",
        headers={"Retry-After": str(refusal.retry_after_s)},
        scope=refusal.scope,
        retry_after_s=refusal.retry_after_s,
    )
