"""API-key lookups are cached for a short time, and revocation still takes effect at once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pixelmill.gateway.auth import Authenticator
from pixelmill.gateway.errors import ApiError
from pixelmill.store import open_job_store
from pixelmill.store.jobstore import JobStore, User


class CountingStore:
    """The real SQLite store, counting key lookups."""

    def __init__(self, inner: JobStore) -> None:
        self.inner = inner
        self.lookups = 0

    def user_by_api_key(self, key: str) -> User | None:
        self.lookups += 1
        return self.inner.user_by_api_key(key)


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[JobStore]:
    s = open_job_store(f"sqlite:///{tmp_path / 'jobs.db'}")
    yield s
    s.close()


def test_key_lookups_are_cached_then_expire(store: JobStore) -> None:
    user, key = store.create_user("ada", "paid")
    counting = CountingStore(store)
    auth = Authenticator(counting, b"secret", cache_ttl_s=60)  # type: ignore[arg-type]
    assert auth.cached_user_for_key(key) is None
    assert auth.user_for_key(key).id == user.id
    assert auth.user_for_key(key).id == user.id and counting.lookups == 1
    assert auth.cached_user_for_key(key) is not None
    short = Authenticator(counting, b"secret", cache_ttl_s=0)  # type: ignore[arg-type]
    short.user_for_key(key)
    short.user_for_key(key)
    assert counting.lookups == 3  # no TTL: every call asks the store
    with pytest.raises(ApiError) as exc:
        auth.user_for_key("pm_not_a_key")
    assert exc.value.status == 401


def test_forget_revokes_a_cached_key_at_once(store: JobStore) -> None:
    user, key = store.create_user("bob", "free")
    _, other_key = store.create_user("cy", "free")
    auth = Authenticator(store, b"secret", cache_ttl_s=3600)
    auth.user_for_key(key)
    auth.user_for_key(other_key)
    store.delete_user_data(user.id)  # deletes the user's API keys
    assert auth.user_for_key(key).id == user.id  # still cached: the gateway must forget it
    auth.forget(user.id)
    assert auth.cached_user_for_key(key) is None
    with pytest.raises(ApiError) as exc:
        auth.user_for_key(key)
    assert exc.value.status == 401
    assert auth.cached_user_for_key(other_key) is not None  # other users stay cached
