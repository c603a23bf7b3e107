"""Crash test: two worker processes share a PostgreSQL store; the one running a job is killed
with SIGKILL mid-job; the other resumes it from its last checkpoint and makes the image the
uninterrupted run makes; the killed worker's late writes are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from pixelmill.engine import BlobCheckpointSink
from pixelmill.engine import StaleAttempt as EngineStaleAttempt
from pixelmill.jobs import CheckpointRef, JobRequest, JobState, JobTimings, StaleAttempt
from pixelmill.models.tiny import TINY_ID
from pixelmill.store import open_job_store
from pixelmill.store.blobs import LocalBlobStore
from pixelmill.store.events import MemoryEventBus
from pixelmill.worker import FencedCheckpointSink
from tests.test_worker import Clock, drain, make_worker
from tests.worker_procs import kill_worker, wait_finished, wait_mid_job, worker_processes

STEPS = 30


def _request(user: str) -> JobRequest:
    return JobRequest(user, "pro", "fast", "a red barn", steps=STEPS, step_budget=80, n_images=1, seed=42,
                      model_id=TINY_ID, params={"settings": {"prompt": "a red barn", "guidance_scale": 5.0}})


@pytest.mark.slow
def test_sigkilled_worker_job_resumes_on_the_other(pg_url: str, tmp_path: Path) -> None:
    # The image an uninterrupted run makes.
    ref = open_job_store(f"sqlite:///{tmp_path / 'ref.db'}")
    ref_job = ref.submit(_request(ref.create_user("r", "pro")[0].id))
    drain(make_worker(ref, LocalBlobStore(tmp_path / "ref"), MemoryEventBus(), "ref", Clock()), limit=500)
    expected = [i.sha256 for i in ref.get(ref_job.id).images]
    ref.close()

    store = open_job_store(pg_url)
    blobs = LocalBlobStore(tmp_path / "blobs")
    try:
        with worker_processes(pg_url, tmp_path / "blobs", tmp_path) as procs:
            job = store.submit(_request(store.create_user("u", "pro")[0].id))
            running = wait_mid_job(store, job.id, procs, tmp_path)
            victim = running.worker_id
            survivor = kill_worker(procs, victim)
            assert store.get(job.id).progress_step < STEPS  # killed mid-job
            done = wait_finished("the job to finish", store, job.id, procs[survivor], tmp_path)
            assert done.state is JobState.SUCCEEDED, done.error_message
            assert (done.attempt, done.worker_id, done.failures) == (2, survivor, 1)
            assert [i.sha256 for i in done.images] == expected
            assert blobs.exists(f"images/{expected[0]}.png")
            # The killed worker's late writes (its attempt 1) are refused and change nothing.
            ref_late = CheckpointRef(BlobCheckpointSink.key(job.id, 0, 38), "00" * 32, 38)
            with pytest.raises(StaleAttempt):
                store.record_checkpoint(job.id, running.attempt, victim, ref_late)
            with pytest.raises(StaleAttempt):
                store.heartbeat(job.id, running.attempt, victim, 39)
            with pytest.raises(StaleAttempt):
                store.succeed(job.id, running.attempt, victim, [], JobTimings(), 1.0)
            zombie_sink = FencedCheckpointSink(BlobCheckpointSink(blobs), store, victim)
            with pytest.raises(EngineStaleAttempt):
                zombie_sink.write(job.id, running.attempt, 0, 38, b"late")
            assert not blobs.exists(BlobCheckpointSink.key(job.id, 0, 38))
            assert store.get(job.id) == done
    finally:
        store.close()
