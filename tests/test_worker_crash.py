"""Crash test: two worker processes share a PostgreSQL store; the one running a job is killed
with SIGKILL mid-job; the other resumes it from its last checkpoint and makes the image the
uninterrupted run makes; the killed worker's late writes are refused."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from pixelmill.engine import BlobCheckpointSink
from pixelmill.engine import StaleAttempt as EngineStaleAttempt
from pixelmill.jobs import CheckpointRef, JobRequest, JobState, JobTimings, StaleAttempt
from pixelmill.models.tiny import TINY_ID
from pixelmill.store import open_job_store
from pixelmill.store.blobs import LocalBlobStore
from pixelmill.store.events import MemoryEventBus
from pixelmill.worker import FencedCheckpointSink
from tests.engine_support import tiny_path
from tests.test_worker import Clock, drain, make_worker

STEPS = 30


def _request(user: str) -> JobRequest:
    return JobRequest(user, "pro", "fast", "a red barn", steps=STEPS, step_budget=80, n_images=1, seed=42,
                      model_id=TINY_ID, params={"settings": {"prompt": "a red barn", "guidance_scale": 5.0}})


def _wait(what: str, check: Any, timeout_s: float, procs: list[subprocess.Popen[bytes]], logs: Path) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        for p in procs:
            if p.poll() is not None:
                tails = {f.name: f.read_text()[-1500:] for f in logs.glob("*.log")}
                raise AssertionError(f"worker exited early ({p.returncode}): {tails}")
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


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
    env = {**os.environ, "PIXELMILL_DATABASE_URL": pg_url,
           "PIXELMILL_BLOB_URL": f"file://{tmp_path / 'blobs'}",
           "PIXELMILL_MODEL": str(tiny_path()), "PIXELMILL_CHECKPOINT_EVERY": "2",
           "PIXELMILL_TORCH_THREADS": "1"}
    procs = {name: subprocess.Popen(
        [sys.executable, "-m", "pixelmill.cli", "worker", "--worker-id", name, "--max-batch", "4",
         "--lease-s", "2", "--heartbeat-s", "0.2", "--no-post-filter"],
        env=env, stdout=subprocess.DEVNULL, stderr=(tmp_path / f"{name}.log").open("wb"))
        for name in ("wa", "wb")}
    try:
        _wait("both workers up", lambda: all(blobs.exists(f"workers/{n}/heartbeat") for n in procs), 180,
              list(procs.values()), tmp_path)
        job = store.submit(_request(store.create_user("u", "pro")[0].id))
        running = _wait("a checkpoint mid-job", lambda: (lambda j: j if j.state is JobState.RUNNING
                        and any(c.step >= 4 for c in j.checkpoints) else None)(store.get(job.id)), 120,
                        list(procs.values()), tmp_path)
        victim = running.worker_id
        procs[victim].send_signal(signal.SIGKILL)
        procs[victim].wait(10)
        assert store.get(job.id).progress_step < STEPS  # killed mid-job
        survivor = next(n for n in procs if n != victim)
        done = _wait("the job to finish",
                     lambda: (lambda j: j if j.state.finished else None)(store.get(job.id)),
                     180, [procs[survivor]], tmp_path)
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
        for p in procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs.values():
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        store.close()
