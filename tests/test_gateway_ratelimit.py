"""Rate limits on the in-process storage: exact moving windows, no thread started per hit."""

from __future__ import annotations

import threading

from pixelmill.gateway.ratelimit import RateLimiter, SweptMemoryStorage
from pixelmill.tiers import Policy


def test_user_limit_is_exact_and_refusal_says_when() -> None:
    policy = Policy()
    limiter = RateLimiter(policy)
    assert isinstance(limiter.storage, SweptMemoryStorage) and limiter.local
    per_min = policy.tier("free").requests_per_minute
    assert all(limiter.check_user("u1", "free") is None for _ in range(per_min))
    refusal = limiter.check_user("u1", "free")
    assert refusal is not None and refusal.scope == "user" and 1 <= refusal.retry_after_s <= 60
    assert limiter.check_user("u2", "free") is None  # per user
    limiter.reset()
    assert limiter.check_user("u1", "free") is None


def test_hits_start_no_threads() -> None:
    limiter = RateLimiter(Policy(ip_requests_per_hour=10_000))
    limiter.storage.timer.join()  # the base class's one start-up timer
    before = threading.active_count()
    for i in range(300):
        assert limiter.check_ip(f"10.0.0.{i % 7}") is None
    assert threading.active_count() == before


def test_sweep_drops_expired_entries() -> None:
    storage = SweptMemoryStorage()
    storage.acquire_entry("k", limit=5, expiry=0)
    assert storage.events["k"]
    storage._next_sweep = 0.0
    storage.acquire_entry("other", limit=5, expiry=60)  # a hit runs the due sweep inline
    assert not storage.events.get("k") and storage.events["other"]
