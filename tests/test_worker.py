"""The worker end to end on the tiny model: claim -> engine -> post-filter -> blobs -> events,
cancellation, and resume on another worker with the zombie's late writes refused."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pixelmill.engine import Engine
from pixelmill.jobs import JobRequest, JobState, StaleAttempt
from pixelmill.models.tiny import TINY_ID
from pixelmill.store import open_job_store
from pixelmill.store.blobs import LocalBlobStore
from pixelmill.store.events import MemoryEventBus
from pixelmill.worker import Worker
from tests.engine_support import tiny_model


class Clock:
    def __init__(self) -> None:
        self.t = time.time()

    def __call__(self) -> float:
        return self.t


@dataclass
class Verdict:
    allowed: bool
    category: str | None = None


def make_worker(store: Any, blobs: Any, bus: Any, name: str, clock: Clock, **kw: Any) -> Worker:
    return Worker(store, blobs, bus,
                  lambda sink: Engine(tiny_model(), max_batch=4, checkpoints=sink, checkpoint_every=2),
                  worker_id=name, max_batch=4, clock=clock, lease_s=10.0, heartbeat_every_s=0.0, **kw)


def submit(store: Any, user: str, steps: int = 6, n: int = 1, seed: int = 11) -> Any:
    return store.submit(JobRequest(user, "paid", "fast", "a lighthouse", steps=steps, step_budget=50,
                                   n_images=n, seed=seed, model_id=TINY_ID,
                                   params={"settings": {"prompt": "a lighthouse", "guidance_scale": 5.0}}))


def drain(worker: Worker, limit: int = 200) -> None:
    for _ in range(limit):
        if not worker.run_once():
            return
    raise AssertionError("worker did not go idle")


@pytest.fixture
def parts(tmp_path: Path) -> tuple[Any, LocalBlobStore, MemoryEventBus, str]:
    store = open_job_store(f"sqlite:///{tmp_path / 'jobs.db'}")
    user = store.create_user("ann", "paid")[0].id
    yield store, LocalBlobStore(tmp_path / "blobs"), MemoryEventBus(), user
    store.close()


def test_job_runs_to_images_events_and_accounting(parts: Any) -> None:
    store, blobs, bus, user = parts
    clock = Clock()
    worker = make_worker(store, blobs, bus, "w1", clock)
    job = submit(store, user, steps=6, n=2)
    drain(worker)
    done = store.get(job.id)
    assert done.state is JobState.SUCCEEDED and len(done.images) == 2
    for img in done.images:
        assert blobs.get(f"images/{img.sha256}.png").startswith(b"\x89PNG")
        assert (img.width, img.height) == (64, 64)
    assert [i.seed for i in done.images] == [11, 12]
    assert done.gpu_seconds > 0 and done.timings.denoise_s > 0 and done.timings.store_s > 0
    assert store.usage(user).by_mode["fast"] == pytest.approx(done.gpu_seconds)
    events = [e for _, e in bus.read(job.id)]
    steps = [e["step"] for e in events if e["type"] == "progress"]
    assert steps == list(range(7)) and all(e["total"] == 6 for e in events if e["type"] == "progress")
    assert events[-1]["type"] == "completed" and events[-1]["state"] == "succeeded"
    assert {i["sha256"] for i in events[-1]["images"]} == {i.sha256 for i in done.images}
    assert list(blobs.list("checkpoints/")) == []  # dropped once the result is stored
    assert list(blobs.list("workers/")) == ["workers/w1/heartbeat"]


def test_post_filter_quarantines_and_blocks(parts: Any) -> None:
    store, blobs, bus, user = parts
    worker = make_worker(store, blobs, bus, "w1", Clock(),
                         post_filter=lambda image: Verdict(False, "sexual"))
    job = submit(store, user, steps=3)
    drain(worker)
    done = store.get(job.id)
    assert done.state is JobState.BLOCKED and done.block_category == "sexual"
    assert list(blobs.list("images/")) == []
    assert list(blobs.list("quarantine/")) == [f"quarantine/{done.images[0].sha256}.png"]
    assert done.blob_keys() == [f"quarantine/{done.images[0].sha256}.png"]
    assert [e for _, e in bus.read(job.id)][-1]["images"] == []  # nothing to serve


def test_cancel_stops_a_running_job(parts: Any) -> None:
    store, blobs, bus, user = parts
    worker = make_worker(store, blobs, bus, "w1", Clock())
    job = submit(store, user, steps=30)
    for _ in range(3):
        worker.run_once()
    assert store.get(job.id).state is JobState.RUNNING
    store.cancel(job.id, user)
    drain(worker)
    done = store.get(job.id)
    assert done.state is JobState.CANCELLED and done.images == [] and not worker.active


def test_unknown_kind_fails_with_a_clear_error(parts: Any) -> None:
    store, blobs, bus, user = parts
    worker = make_worker(store, blobs, bus, "w1", Clock(), planners={})
    job = submit(store, user)
    drain(worker)
    done = store.get(job.id)
    assert done.state is JobState.FAILED and done.error_code == "unsupported_kind"
    assert "cannot run 'imagine' jobs" in (done.error_message or "")


def test_resume_on_another_worker_matches_uninterrupted_run(parts: Any, tmp_path: Path) -> None:
    store, blobs, bus, user = parts
    # Reference: the same job run without interruption in a separate store.
    ref_store = open_job_store(f"sqlite:///{tmp_path / 'ref.db'}")
    ref_user = ref_store.create_user("ref", "paid")[0].id
    ref_job = submit(ref_store, ref_user, steps=10, seed=5)
    drain(make_worker(ref_store, LocalBlobStore(tmp_path / "ref"), MemoryEventBus(), "ref", Clock()))
    expected = [i.sha256 for i in ref_store.get(ref_job.id).images]
    ref_store.close()

    clock = Clock()
    zombie = make_worker(store, blobs, bus, "zombie", clock)
    job = submit(store, user, steps=10, seed=5)
    while store.get(job.id).progress_step < 5:
        zombie.run_once()
    assert {c.step for c in store.get(job.id).checkpoints} >= {4}
    # The zombie stalls past its lease; another worker reaps the job and resumes it.
    clock.t += 60
    rescuer = make_worker(store, blobs, bus, "rescuer", clock)
    rescuer.run_once()  # reaps the expired lease: back to the queue with a 1 s backoff
    assert store.get(job.id).state is JobState.QUEUED and store.get(job.id).failures == 1
    clock.t += 1.5
    drain(rescuer)
    done = store.get(job.id)
    assert done.state is JobState.SUCCEEDED and done.attempt == 2 and done.worker_id == "rescuer"
    assert [i.sha256 for i in done.images] == expected
    resumed = [e["step"] for _, e in bus.read(job.id)
               if e["type"] == "progress" and e["attempt"] == 2 and e["step"] > 0]
    assert resumed[0] >= 5 and resumed[-1] == 10  # continued from the checkpoint, not step 0
    # The zombie wakes up: its checkpoint writes and completion are refused, nothing changes.
    with pytest.raises(StaleAttempt):
        store.succeed(job.id, 1, "zombie", [], done.timings, 1.0)
    drain(zombie)
    assert store.get(job.id) == done and not zombie.active


def test_from_settings_takes_gateway_tagged_jobs_and_screens_images(tmp_path: Path) -> None:
    from pixelmill.config import Settings
    from pixelmill.gateway.model import deployment_shape
    from tests.engine_support import tiny_path

    settings = Settings(database_url=f"sqlite:///{tmp_path / 'j.db'}", blob_url=f"file://{tmp_path / 'b'}",
                        model_path=str(tiny_path()), checkpoint_every=5)
    worker = Worker.from_settings(settings, worker_id="emb", max_batch=4, heartbeat_every_s=0.0)
    # The gateway tags jobs with the id it reads from the same folder: the worker's own id.
    gateway_id = deployment_shape(settings, create=False).model_id
    assert worker.model_ids == (TINY_ID,) == (gateway_id,)
    assert worker.post_filter is not None  # the safety post-filter is installed in this project
    user = worker.store.create_user("g", "free")[0].id
    job = worker.store.submit(JobRequest(user, "free", "draft", "a cat --ar 1:1", steps=4, n_images=1,
                                         model_id=gateway_id, params={"settings": {"prompt": "a cat"}}))
    drain(worker)
    done = worker.store.get(job.id)
    assert done.state is JobState.SUCCEEDED and worker.blobs.exists(f"images/{done.images[0].sha256}.png")
    worker.store.close()


def _metric(name: str, **labels: str) -> float:
    from pixelmill.observability import REGISTRY

    return REGISTRY.get_sample_value(name, labels) or 0.0


def _metrics(lane: str, tier: str, worker: str) -> dict[str, float]:
    return {
        "wait": _metric("pixelmill_queue_wait_seconds_count", lane=lane),
        "wait_sum": _metric("pixelmill_queue_wait_seconds_sum", lane=lane),
        "denoise": _metric("pixelmill_denoise_seconds_count"),
        "denoise_sum": _metric("pixelmill_denoise_seconds_sum"),
        "e2e": _metric("pixelmill_e2e_seconds_count", tier=tier),
        "succeeded": _metric("pixelmill_jobs_total", state="succeeded"),
        "failed": _metric("pixelmill_jobs_total", state="failed"),
        "batches": _metric("pixelmill_engine_batch_size_count"),
        "batch_rows": _metric("pixelmill_engine_batch_size_sum"),
        "ck_ok": _metric("pixelmill_checkpoints_total", result="ok"),
        "ck_refused": _metric("pixelmill_checkpoints_total", result="refused"),
        "heartbeat": _metric("pixelmill_worker_last_heartbeat_timestamp", worker=worker),
    }


def test_job_metrics_are_recorded_at_state_changes(parts: Any) -> None:
    store, blobs, bus, user = parts
    clock = Clock()
    worker = make_worker(store, blobs, bus, "w-metrics", clock)
    job = submit(store, user, steps=6, n=2)  # checkpoints every 2 steps: at 2 and 4, per image
    clock.t = job.created_at + 7.0  # claimed 7 s after submit
    before = _metrics(job.lane, "paid", "w-metrics")
    drain(worker)
    done = store.get(job.id)
    assert done.state is JobState.SUCCEEDED
    after = _metrics(job.lane, "paid", "w-metrics")
    delta = {k: after[k] - before[k] for k in before}
    assert delta["wait"] == 1 and delta["e2e"] == 1 and delta["succeeded"] == 1 and delta["failed"] == 0
    assert delta["denoise"] == 1 and delta["denoise_sum"] == pytest.approx(done.gpu_seconds)
    assert delta["batches"] == 6 and delta["batch_rows"] == 12  # 6 iterations of 2 samples
    assert delta["ck_ok"] == 4 and delta["ck_refused"] == 0
    assert after["heartbeat"] == clock.t
    wait = _metric("pixelmill_queue_wait_seconds_sum", lane=job.lane) - before["wait_sum"]
    assert wait == pytest.approx(7.0) == done.timings.queue_wait_s
    # A zombie's late checkpoint write is refused and counted as such.
    with pytest.raises(StaleAttempt):
        worker.sink.write(job.id, 0, 0, 2, b"late")
    assert _metric("pixelmill_checkpoints_total", result="refused") == before["ck_refused"] + 1

    # A job that ends FAILED counts once, with its end-to-end time, and no model time.
    failing = make_worker(store, blobs, bus, "w-metrics", clock, planners={})
    bad = submit(store, user)
    before = _metrics(bad.lane, "paid", "w-metrics")
    drain(failing)
    assert store.get(bad.id).state is JobState.FAILED
    after = _metrics(bad.lane, "paid", "w-metrics")
    assert (after["failed"] - before["failed"], after["e2e"] - before["e2e"]) == (1, 1)
    assert after["denoise"] == before["denoise"] and after["succeeded"] == before["succeeded"]


def test_run_loop_and_clean_shutdown_requeues_running_jobs(parts: Any) -> None:
    import threading

    store, blobs, bus, user = parts
    worker = make_worker(store, blobs, bus, "w1", time.time)  # type: ignore[arg-type]
    quick, slow = submit(store, user, steps=3, seed=1), submit(store, user, steps=50, seed=2)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,))
    thread.start()
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (
                store.get(quick.id).state.finished and store.get(slow.id).progress_step >= 5):
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(60)
    assert not thread.is_alive()
    assert store.get(quick.id).state is JobState.SUCCEEDED
    back = store.get(slow.id)
    assert back.state is JobState.QUEUED and back.failures == 0  # preempted, not failed
    assert back.checkpoints and max(c.step for c in back.checkpoints) >= 5  # resumable
    assert [e for _, e in bus.read(slow.id)][-1]["reason"] == "preempted"
