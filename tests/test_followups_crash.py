"""A follow-up survives a worker crash like any job: two ``pixelmill worker`` processes share an
SQLite job store and a blob folder; the one running a vary-region follow-up is killed with SIGKILL
mid-job; the other resumes it from its last checkpoint and makes the images an uninterrupted run
makes, with every pixel outside the region equal to the parent's."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from pixelmill import followups as fu
from pixelmill.jobs import JobRequest, JobState
from pixelmill.models.tiny import TINY_ID
from pixelmill.store import open_job_store
from pixelmill.store.blobs import LocalBlobStore
from pixelmill.store.events import MemoryEventBus
from tests.test_worker import Clock, drain, make_worker
from tests.worker_procs import kill_worker, wait_finished, wait_mid_job, worker_processes

STEPS = 30
RECT = (8, 8, 40, 40)


def _parent(store: Any, blobs: LocalBlobStore, user: str) -> Any:
    job = store.submit(JobRequest(user, "pro", "fast", "a red barn", steps=6, step_budget=80, n_images=1,
                                  seed=3, model_id=TINY_ID, params={"settings": {"prompt": "a red barn"}}))
    drain(make_worker(store, blobs, MemoryEventBus(), "parent-maker", Clock()), limit=200)
    done = store.get(job.id)
    assert done.state is JobState.SUCCEEDED
    return done


def _followup(user: str, parent: Any) -> JobRequest:
    """The job the gateway queues for ``vary_region`` of image 0 (see gateway/actions.py)."""
    spec = fu.FollowUp("vary_region", rects=(RECT,))
    img = parent.images[0]
    return JobRequest(user, "pro", "fast", "a red barn, at night", kind=spec.kind, steps=STEPS,
                      step_budget=80, n_images=2, seed=42, width=img.width, height=img.height,
                      model_id=TINY_ID, parent_job_id=parent.id, parent_image_index=0,
                      params={"settings": {"prompt": "a red barn, at night", "guidance_scale": 5.0},
                              "followup": spec.to_dict(),
                              "parent_image": {"sha256": img.sha256, "width": img.width,
                                               "height": img.height}})


def _pixels(blobs: LocalBlobStore, sha: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(blobs.get(f"images/{sha}.png"))).convert("RGB"))


@pytest.mark.slow
def test_sigkilled_worker_followup_resumes_on_the_other(tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path / "blobs")
    store = open_job_store(f"sqlite:///{tmp_path / 'jobs.db'}")
    user = store.create_user("u", "pro")[0].id
    parent = _parent(store, blobs, user)

    # The images an uninterrupted run makes (another store, the same blob folder and parent).
    ref = open_job_store(f"sqlite:///{tmp_path / 'ref.db'}")
    ref_job = ref.submit(_followup(ref.create_user("r", "pro")[0].id, parent))
    drain(make_worker(ref, blobs, MemoryEventBus(), "ref", Clock()), limit=500)
    expected = [i.sha256 for i in ref.get(ref_job.id).images]
    assert ref.get(ref_job.id).state is JobState.SUCCEEDED and len(expected) == 2
    ref.close()

    try:
        with worker_processes(f"sqlite:///{tmp_path / 'jobs.db'}", tmp_path / "blobs", tmp_path) as procs:
            job = store.submit(_followup(user, parent))
            running = wait_mid_job(store, job.id, procs, tmp_path)
            survivor = kill_worker(procs, running.worker_id)
            assert store.get(job.id).state is not JobState.SUCCEEDED  # killed mid-job
            done = wait_finished("the follow-up to finish", store, job.id, procs[survivor], tmp_path)
            assert done.state is JobState.SUCCEEDED, done.error_message
            assert (done.attempt, done.worker_id) == (2, survivor)
            assert [i.sha256 for i in done.images] == expected
            original = _pixels(blobs, parent.images[0].sha256)
            mask = fu.mask_from_rects([RECT], original.shape[1], original.shape[0])
            for img in done.images:
                out = _pixels(blobs, img.sha256)
                assert np.array_equal(out[~mask], original[~mask])
                assert not np.array_equal(out[mask], original[mask])
    finally:
        store.close()
