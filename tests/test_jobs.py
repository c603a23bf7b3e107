"""Job model: the state machine, its single validation point, requests and serialisation."""

from __future__ import annotations

from dataclasses import fields

import pytest

from pixelmill.jobs import (
    ALLOWED,
    InvalidTransition,
    Job,
    JobRequest,
    JobState,
    StaleAttempt,
    check_fence,
    transition,
)
from pixelmill.store.sqlstore import JOB_COLUMNS


def make_job(**kw: object) -> Job:
    return Job.from_request(JobRequest("u1", "paid", "fast", "a red fox", **kw), now=100.0)  # type: ignore[arg-type]


def test_states_are_ordered_and_finished_is_a_comparison() -> None:
    assert JobState.QUEUED < JobState.RUNNING < JobState.SUCCEEDED
    assert [s for s in JobState if s.finished] == [
        JobState.SUCCEEDED, JobState.FAILED, JobState.BLOCKED, JobState.CANCELLED]
    assert JobState("running") == "running"


@pytest.mark.parametrize("old", list(JobState))
@pytest.mark.parametrize("new", list(JobState))
def test_transition_follows_the_table(old: JobState, new: JobState) -> None:
    job = make_job()
    job.state = old
    if new in ALLOWED[old]:
        transition(job, new)
        assert job.state is new
    else:
        with pytest.raises(InvalidTransition, match=f"is {old.value}; it cannot become {new.value}"):
            transition(job, new)
        assert job.state is old


def test_preempted_job_returns_to_queue_and_final_states_are_final() -> None:
    assert JobState.QUEUED in ALLOWED[JobState.RUNNING]
    assert all(not ALLOWED[s] for s in JobState if s.finished)


def test_from_request_sets_lane_and_blocked_prompts_never_queue() -> None:
    job = make_job()
    assert (job.lane, job.state, job.progress_total, job.created_at) == ("paid", JobState.QUEUED, 30, 100.0)
    assert Job.from_request(JobRequest("u", "pro", "turbo", "x"), 0).lane == "turbo"
    blocked = Job.from_request(JobRequest("u", "free", "draft", "x", block_category="violence"), 5.0)
    assert blocked.state is JobState.BLOCKED and blocked.block_category == "violence"
    assert blocked.error_code == "prompt_blocked" and blocked.finished_at == 5.0


@pytest.mark.parametrize(("kw", "message"), [
    ({"steps": 90, "step_budget": 50}, "steps must be between 1 and the step budget 50"),
    ({"kind": "explode"}, "kind 'explode' is not one of"),
    ({"kind": "upscale"}, "needs parent_job_id"),
    ({"n_images": 0}, "n_images must be at least 1"),
    ({"width": 4}, "width and height must be at least 8"),
])
def test_bad_requests_say_what_to_fix(kw: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_job(**kw)


def test_unknown_mode_is_rejected() -> None:
    with pytest.raises(ValueError, match="mode"):
        Job.from_request(JobRequest("u", "free", "warp", "x"), 0)


def test_fence_refuses_other_attempts_and_workers() -> None:
    job = make_job()
    transition(job, JobState.RUNNING)
    job.attempt, job.worker_id = 2, "w2"
    check_fence(job, 2, "w2")
    for attempt, worker in ((1, "w2"), (2, "w1"), (3, "w2")):
        with pytest.raises(StaleAttempt, match="no longer owns it"):
            check_fence(job, attempt, worker)
    transition(job, JobState.QUEUED)
    with pytest.raises(StaleAttempt):
        check_fence(job, 2, "w2")


def test_body_hash_ignores_idempotency_key_only() -> None:
    a = JobRequest("u", "paid", "fast", "x", idempotency_key="k1")
    b = JobRequest("u", "paid", "fast", "x", idempotency_key="k2")
    c = JobRequest("u", "paid", "fast", "y", idempotency_key="k1")
    assert a.body_hash() == b.body_hash() != c.body_hash()


def test_dict_round_trip_and_schema_columns_match_fields() -> None:
    job = make_job(params={"ar": "16:9"}, seed=7)
    assert Job.from_dict(job.to_dict()) == job
    assert tuple(f.name for f in fields(Job)) == JOB_COLUMNS
