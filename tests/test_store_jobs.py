"""Job store behaviour, the same tests on SQLite (embedded) and PostgreSQL (real server)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from pixelmill.jobs import (
    CheckpointRef,
    IdempotencyConflict,
    InvalidTransition,
    JobImage,
    JobNotFound,
    JobRequest,
    JobState,
    JobTimings,
    StaleAttempt,
    UnknownUser,
)
from pixelmill.store import open_job_store
from pixelmill.store.jobstore import JobStore, hash_api_key


def req(user_id: str, tier: str = "paid", mode: str = "fast", prompt: str = "a fox", **kw: Any) -> JobRequest:
    return JobRequest(user_id, tier, mode, prompt, steps=10, **kw)


@pytest.fixture
def user(job_store: JobStore) -> str:
    return job_store.create_user("ann", "pro", now=1.0)[0].id


def test_store_satisfies_protocol(job_store: JobStore) -> None:
    assert isinstance(job_store, JobStore)


def test_users_and_hashed_api_keys(job_store: JobStore) -> None:
    user, key = job_store.create_user("bob", "free")
    _, key2 = job_store.create_user("bob", "free")
    assert key != key2 and len(key) > 30
    assert job_store.user_by_api_key(key) == user
    assert job_store.user_by_api_key(key + "x") is None
    assert job_store.get_user(user.id).tier == "free"
    assert job_store.set_tier(user.id, "paid").tier == "paid"
    with pytest.raises(ValueError):
        job_store.set_tier(user.id, "platinum")
    with pytest.raises(UnknownUser):
        job_store.get_user("nobody")
    # Only the hash is stored: the raw key appears nowhere in the database.
    rows = job_store._rows("SELECT key_hash FROM api_keys")  # type: ignore[attr-defined]
    assert {r["key_hash"] for r in rows} == {hash_api_key(key), hash_api_key(key2)}


def test_submit_get_and_idempotency(job_store: JobStore, user: str) -> None:
    job = job_store.submit(req(user, idempotency_key="k1", params={"ar": "1:1"}), now=10.0)
    got = job_store.get(job.id)
    assert got == job and got.state is JobState.QUEUED and got.params == {"ar": "1:1"}
    again = job_store.submit(req(user, idempotency_key="k1", params={"ar": "1:1"}), now=11.0)
    assert again.id == job.id
    with pytest.raises(IdempotencyConflict, match="different request"):
        job_store.submit(req(user, prompt="a wolf", idempotency_key="k1"))
    assert job_store.lane_depths()["paid"] == 1  # nothing duplicated
    with pytest.raises(UnknownUser):
        job_store.submit(req("ghost"))
    with pytest.raises(ValueError, match="steps"):
        job_store.submit(JobRequest(user, "paid", "fast", "x", steps=0))
    with pytest.raises(JobNotFound):
        job_store.get("missing")


def test_blocked_prompt_is_recorded_not_queued(job_store: JobStore, user: str) -> None:
    job = job_store.submit(req(user, block_category="sexual", block_message="blocked"))
    assert job_store.get(job.id).state is JobState.BLOCKED
    assert job_store.lane_depths()["paid"] == 0
    assert job_store.claim("w", 4, "builtin") == []


def test_list_user_jobs_pages_newest_first_and_filters(job_store: JobStore, user: str) -> None:
    other = job_store.create_user("zed", "free")[0].id
    ids = [job_store.submit(req(user, prompt=f"Cat number {i}" if i % 2 else f"dog {i}"), now=100.0 + i).id
           for i in range(7)]
    job_store.submit(req(other, tier="free", mode="draft"), now=50.0)
    page1 = job_store.list_user_jobs(user, limit=3)
    page2 = job_store.list_user_jobs(user, cursor=page1.next_cursor, limit=3)
    page3 = job_store.list_user_jobs(user, cursor=page2.next_cursor, limit=3)
    seen = [j.id for p in (page1, page2, page3) for j in p.jobs]
    assert seen == ids[::-1] and page3.next_cursor is None
    cats = job_store.list_user_jobs(user, query="CAT")
    assert [j.id for j in cats.jobs] == [ids[5], ids[3], ids[1]]
    with pytest.raises(ValueError, match="bad cursor"):
        job_store.list_user_jobs(user, cursor="garbage!")


def test_children_queue_position_and_depths(job_store: JobStore, user: str) -> None:
    parent = job_store.submit(req(user), now=1.0)
    kids = [job_store.submit(req(user, kind="upscale", parent_job_id=parent.id, parent_image_index=i),
                             now=2.0 + i) for i in range(2)]
    assert [k.id for k in job_store.children(parent.id)] == [k.id for k in kids]
    assert [job_store.queue_position(j.id) for j in (parent, *kids)] == [0, 1, 2]
    job_store.submit(req(user, mode="relax"))
    assert job_store.lane_depths() == {"turbo": 0, "pro": 0, "paid": 3, "free": 0, "relax": 1}
    claimed = job_store.claim("w", 1, "builtin", now=10.0)
    assert [c.id for c in claimed] == [parent.id]
    assert job_store.queue_position(parent.id) is None
    assert job_store.queue_position(kids[1].id) == 1


def test_claim_sets_lease_attempt_and_never_twice(job_store: JobStore, user: str) -> None:
    for i in range(3):
        job_store.submit(req(user), now=float(i))
    job_store.submit(req(user, model_id="other"), now=0.5)
    got = job_store.claim("w1", 10, "builtin", now=100.0, lease_s=30)
    assert len(got) == 3 and all(j.model_id == "builtin" for j in got)
    for job in got:
        assert (job.state, job.attempt, job.worker_id, job.lease_expires_at) == (
            JobState.RUNNING, 1, "w1", 130.0)
        assert job_store.get(job.id) == job
    assert job_store.claim("w2", 10, "builtin", now=100.0) == []
    assert len(job_store.claim("w2", 10, "other", now=100.0)) == 1


def test_claim_filters_size(job_store: JobStore, user: str) -> None:
    small = job_store.submit(req(user, width=64, height=64))
    job_store.submit(req(user, width=128, height=64))
    assert [j.id for j in job_store.claim("w", 5, "builtin", size=(64, 64))] == [small.id]


def test_fencing_refuses_stale_attempts(job_store: JobStore, user: str) -> None:
    job = job_store.submit(req(user), now=0.0)
    first = job_store.claim("w1", 1, "builtin", now=1.0, lease_s=5)[0]
    ref = CheckpointRef("checkpoints/x/0/000005.ckpt", "ab" * 32, 5)
    job_store.record_checkpoint(job.id, 1, "w1", ref)
    assert job_store.requeue_expired(now=10.0, backoff_s=0.0) == [job.id]
    second = job_store.claim("w2", 1, "builtin", now=11.0)[0]
    assert second.attempt == 2 and second.checkpoints[0].step == 5  # checkpoint kept
    # The zombie (attempt 1) is refused everywhere and changes nothing.
    with pytest.raises(StaleAttempt):
        job_store.heartbeat(job.id, first.attempt, "w1", 7, now=12.0)
    with pytest.raises(StaleAttempt):
        job_store.record_checkpoint(job.id, 1, "w1", CheckpointRef("checkpoints/x/0/9.ckpt", "cd" * 32, 9))
    with pytest.raises(StaleAttempt):
        job_store.succeed(job.id, 1, "w1", [], JobTimings(), 1.0)
    with pytest.raises(StaleAttempt):
        job_store.fail(job.id, 1, "w1", "error", "boom")
    with pytest.raises(StaleAttempt):  # right attempt, wrong worker
        job_store.heartbeat(job.id, 2, "w1", 7, now=12.0)
    assert job_store.get(job.id) == second
    assert job_store.heartbeat(job.id, 2, "w2", 7, now=12.0)
    image = JobImage("ef" * 32, 64, 64, 0, 0)
    done = job_store.succeed(job.id, 2, "w2", [image], JobTimings(denoise_s=2.0), 3.0, now=13.0)
    assert done.state is JobState.SUCCEEDED and done.images == [image] and done.gpu_seconds == 3.0
    assert done.progress_step == done.progress_total and done.finished_at == 13.0
    with pytest.raises(StaleAttempt):
        job_store.succeed(job.id, 2, "w2", [image], JobTimings(), 3.0)


def test_failures_back_off_then_stop_with_clear_error(job_store: JobStore, user: str) -> None:
    job = job_store.submit(req(user, max_attempts=3), now=0.0)
    now = 0.0
    for n in (1, 2):
        claimed = job_store.claim("w", 1, "builtin", now=now)
        assert [c.id for c in claimed] == [job.id]
        back = job_store.fail(job.id, n, "w", "error", "CUDA fell over", now=now, backoff_s=10.0)
        assert back.state is JobState.QUEUED and back.not_before == now + 10.0 * 2 ** (n - 1)
        assert job_store.claim("w", 1, "builtin", now=back.not_before - 0.1) == []  # backing off
        now = back.not_before
    job_store.claim("w", 1, "builtin", now=now)
    final = job_store.fail(job.id, 3, "w", "error", "CUDA fell over", now=now)
    assert final.state is JobState.FAILED and final.error_code == "max_attempts"
    assert "gave up after 3 failed attempts" in (final.error_message or "")


def test_non_retryable_failure_and_expiry_to_failed(job_store: JobStore, user: str) -> None:
    a = job_store.submit(req(user), now=0.0)
    b = job_store.submit(req(user, max_attempts=1), now=1.0)
    job_store.claim("w", 2, "builtin", now=2.0, lease_s=1.0)
    failed = job_store.fail(a.id, 1, "w", "non_finite", "NaN in latents", retryable=False, now=3.0)
    assert (failed.state, failed.error_code) == (JobState.FAILED, "non_finite")
    assert job_store.requeue_expired(now=5.0) == [b.id]
    expired = job_store.get(b.id)
    assert expired.state is JobState.FAILED and expired.error_code == "max_attempts"
    assert "lease_expired" in (expired.error_message or "")


def test_release_requeues_without_counting_a_failure(job_store: JobStore, user: str) -> None:
    job = job_store.submit(req(user), now=0.0)
    job_store.claim("w", 1, "builtin", now=1.0)
    back = job_store.release(job.id, 1, "w", gpu_seconds=0.5, now=2.0)
    assert (back.state, back.failures, back.gpu_seconds, back.worker_id) == (JobState.QUEUED, 0, 0.5, "w")
    assert job_store.claim("w2", 1, "builtin", now=2.0)[0].attempt == 2


def test_cancel_in_each_state(job_store: JobStore, user: str) -> None:
    queued = job_store.submit(req(user), now=0.0)
    running = job_store.submit(req(user), now=1.0)
    job_store.claim("w", 1, "builtin", now=2.0)  # takes `queued` (oldest)
    queued, running = running, queued
    other = job_store.create_user("eve", "free")[0].id
    with pytest.raises(JobNotFound):
        job_store.cancel(queued.id, user_id=other)
    assert job_store.cancel(queued.id, user_id=user).state is JobState.CANCELLED
    assert job_store.cancel(queued.id, user_id=user).state is JobState.CANCELLED  # idempotent
    assert job_store.cancel(running.id, user_id=user).state is JobState.CANCELLED
    assert job_store.heartbeat(running.id, 1, "w", 3) is False  # the worker learns to stop
    with pytest.raises(StaleAttempt):
        job_store.succeed(running.id, 1, "w", [], JobTimings(), 1.0)
    done = job_store.submit(req(user), now=3.0)
    job_store.claim("w", 1, "builtin", now=4.0)
    job_store.succeed(done.id, 1, "w", [], JobTimings(), 1.0)
    with pytest.raises(InvalidTransition, match="succeeded"):
        job_store.cancel(done.id, user_id=user)


def test_gpu_usage_per_user_and_mode(job_store: JobStore, user: str) -> None:
    for mode, seconds in (("fast", 2.0), ("relax", 5.0), ("fast", 1.5)):
        job = job_store.submit(req(user, mode=mode))
        claimed = job_store.claim("w", 1, "builtin")[0]
        assert claimed.id == job.id
        job_store.succeed(job.id, 1, "w", [], JobTimings(), seconds)
    usage = job_store.usage(user)
    assert usage.by_mode == {"fast": 3.5, "relax": 5.0} and usage.total_s == 8.5


def test_relax_goes_to_the_lighter_user_first(job_store: JobStore, user: str) -> None:
    heavy, light = user, job_store.create_user("light", "paid")[0].id
    job = job_store.submit(req(heavy, mode="relax"), now=0.0)
    job_store.claim("w", 1, "builtin", now=0.0)
    job_store.succeed(job.id, 1, "w", [], JobTimings(), 100.0)
    old_heavy = job_store.submit(req(heavy, mode="relax"), now=1.0)
    new_light = job_store.submit(req(light, mode="relax"), now=2.0)
    fast = job_store.submit(req(light), now=3.0)
    assert [j.id for j in job_store.claim("w", 1, "builtin", now=5.0)] == [fast.id]  # relax fills idle only
    assert [j.id for j in job_store.claim("w", 2, "builtin", now=5.0)] == [new_light.id, old_heavy.id]


def test_claims_split_4_2_1_through_the_store(job_store: JobStore) -> None:
    users = {t: job_store.create_user(t, t)[0].id for t in ("pro", "paid", "free")}
    for i in range(170):
        for tier, uid in users.items():
            job_store.submit(req(uid, tier=tier, mode="fast" if tier != "free" else "draft"), now=float(i))
    counts: Counter[str] = Counter()
    for _ in range(70):  # every lane stays loaded: pro needs 160 of its 170
        for job in job_store.claim("w", 4, "builtin", now=200.0):
            counts[job.lane] += 1
    assert sum(counts.values()) == 280
    for lane, share in (("pro", 4 / 7), ("paid", 2 / 7), ("free", 1 / 7)):
        assert abs(counts[lane] / 280 - share) / share <= 0.05, counts


def test_delete_user_data_returns_blob_keys(job_store: JobStore, user: str) -> None:
    keep = job_store.create_user("keep", "free")[0].id
    job = job_store.submit(req(user), now=1.0)
    running = job_store.submit(req(user), now=2.0)
    kept = job_store.submit(req(keep, tier="free", mode="draft"), now=3.0)
    assert len(job_store.claim("w", 3, "builtin", now=4.0)) == 3
    ref = CheckpointRef("checkpoints/j/0/000010.ckpt", "00" * 32, 10)
    job_store.record_checkpoint(running.id, 1, "w", ref)
    job_store.succeed(job.id, 1, "w", [JobImage("aa" * 32, 64, 64, 1, 0)], JobTimings(), 1.0)
    keys = job_store.delete_user_data(user)
    assert sorted(keys) == ["checkpoints/j/0/000010.ckpt", f"images/{'aa' * 32}.png"]
    with pytest.raises(JobNotFound):
        job_store.get(job.id)
    assert job_store.usage(user).total_s == 0 and job_store.get(kept.id).user_id == keep


def test_checkpoint_refs_keep_the_newest_per_sample(job_store: JobStore, user: str) -> None:
    job = job_store.submit(req(user))
    job_store.claim("w", 1, "builtin")
    dropped: list[str] = []
    for step in (10, 20, 30):
        for sample in (0, 1):
            ref = CheckpointRef(f"checkpoints/{job.id}/{sample}/{step:06d}.ckpt", "00" * 32, step, sample)
            dropped += job_store.record_checkpoint(job.id, 1, "w", ref, keep=2)
    assert sorted(dropped) == [f"checkpoints/{job.id}/{s}/000010.ckpt" for s in (0, 1)]
    assert sorted((c.sample, c.step) for c in job_store.get(job.id).checkpoints) == [
        (0, 20), (0, 30), (1, 20), (1, 30)]


def test_reopen_keeps_everything(job_store_url: str) -> None:
    store = open_job_store(job_store_url)
    uid = store.create_user("dur", "paid")[0].id
    ids = {store.submit(req(uid)).id for _ in range(20)}
    store.close()
    again = open_job_store(job_store_url)  # migrations are idempotent
    try:
        assert {j.id for j in again.list_user_jobs(uid, limit=100).jobs} == ids
        assert again.lane_depths()["paid"] == 20
    finally:
        again.close()


def test_image_owner_and_job_counts(job_store: JobStore, user: str) -> None:
    other = job_store.create_user("pat", "paid")[0].id
    public = job_store.submit(req(other), now=1.0)
    private = job_store.submit(req(user, private=True), now=2.0)
    job_store.claim("w", 2, "builtin", now=3.0)
    shared, secret = JobImage("11" * 32, 64, 64, 0, 0), JobImage("22" * 32, 64, 64, 1, 1)
    job_store.succeed(private.id, 1, "w", [shared, secret], JobTimings(), 1.0)
    assert job_store.image_owner(secret.sha256) == (user, True)
    assert job_store.count_user_jobs(other, ["running"]) == 1
    job_store.succeed(public.id, 1, "w", [shared], JobTimings(), 1.0)
    assert job_store.image_owner(shared.sha256) == (other, False)  # a public owner wins
    assert job_store.image_owner("33" * 32) is None
    job_store.submit(req(user), now=4.0)
    assert job_store.count_user_jobs(user, ["queued", "running"]) == 1
    assert job_store.count_user_jobs(user, ["succeeded"]) == 1
    keys = job_store.delete_user_data(user)
    assert keys == [f"images/{secret.sha256}.png"]  # the shared image stays for `other`
    assert job_store.image_owner(secret.sha256) is None
    assert job_store.image_owner(shared.sha256) == (other, False)


def test_migration_2_backfills_image_index(job_store_url: str) -> None:
    store = open_job_store(job_store_url)
    uid = store.create_user("m", "paid")[0].id
    job = store.submit(req(uid))
    store.claim("w", 1, "builtin")
    store.succeed(job.id, 1, "w", [JobImage("44" * 32, 64, 64, 0, 0)], JobTimings(), 1.0)
    with store._tx() as cur:  # type: ignore[attr-defined]  # roll the schema back to version 1
        cur.execute("DROP TABLE job_images")
        cur.execute("DELETE FROM schema_version WHERE version = 2")
    store.close()
    again = open_job_store(job_store_url)
    try:
        assert again.image_owner("44" * 32) == (uid, False)
    finally:
        again.close()
