"""Checkpoints: sealed with SHA-256, corrupt ones detected and skipped, and a job interrupted
at step k and resumed ends with the image of the uninterrupted run."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from pixelmill.engine import BlobCheckpointSink, Completed, Engine, Failed, StaleAttempt
from pixelmill.engine.checkpoint import CorruptCheckpoint, SampleCheckpoint, find_resume, seal, unseal
from pixelmill.store.blobs import LocalBlobStore
from tests.engine_support import pixels, request, tiny_model


def run(engine: Engine, max_iterations: int | None = None) -> dict[str, Completed]:
    events = engine.run_until_idle(max_iterations)
    return {e.job_id: e for e in events if isinstance(e, Completed)}


@pytest.fixture
def sink(tmp_path) -> BlobCheckpointSink:
    return BlobCheckpointSink(LocalBlobStore(tmp_path / "blobs"))


@pytest.fixture(scope="module")
def uninterrupted() -> np.ndarray:
    engine = Engine(tiny_model(), max_batch=8)
    engine.submit(request("job", steps=12, sampler="dpmpp_2m"))
    return pixels(run(engine)["job"].images)


def crash_after(sink: BlobCheckpointSink, steps: int) -> None:
    """Run the job for ``steps`` iterations with checkpoints every 5, then drop the engine."""
    engine = Engine(tiny_model(), max_batch=8, checkpoints=sink, checkpoint_every=5)
    engine.submit(request("job", steps=12, sampler="dpmpp_2m"))
    assert run(engine, steps) == {}


def resume(sink: BlobCheckpointSink) -> tuple[np.ndarray, list[int]]:
    engine = Engine(tiny_model(), max_batch=8, checkpoints=sink, checkpoint_every=5)
    engine.submit(request("job", steps=12, sampler="dpmpp_2m", attempt=2))
    events = engine.run_until_idle()
    done = next(e for e in events if isinstance(e, Completed))
    firsts = [e.step for e in events if getattr(e, "job_id", None) == "job" and hasattr(e, "total")]
    return pixels(done.images), firsts


def test_seal_detects_flipped_and_truncated_bytes() -> None:
    payload = seal(b"some state")
    assert unseal(payload) == b"some state"
    flipped = bytearray(payload)
    flipped[-3] ^= 0xFF
    with pytest.raises(CorruptCheckpoint, match="SHA-256 mismatch"):
        unseal(bytes(flipped))
    with pytest.raises(CorruptCheckpoint, match="SHA-256 mismatch"):
        unseal(payload[:-2])
    with pytest.raises(CorruptCheckpoint, match="bad header"):
        unseal(payload[:20])


def test_interrupted_at_step_k_and_resumed_equals_uninterrupted(sink, uninterrupted) -> None:
    crash_after(sink, 7)  # checkpoint at 5; steps 6-7 are lost
    assert [k.rsplit("/", 1)[1] for k in sink.blobs.list("checkpoints/job/0/")] == ["000005.ckpt"]
    images, steps = resume(sink)
    assert steps[0] == 6  # resumed after step 5
    assert np.array_equal(images, uninterrupted)


@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_corrupt_newest_checkpoint_falls_back(sink, uninterrupted, damage, caplog) -> None:
    crash_after(sink, 11)  # checkpoints at 5 and 10
    key = BlobCheckpointSink.key("job", 1, 10)
    data = sink.blobs.get(key)
    if damage == "flip":
        broken = bytearray(data)
        broken[len(broken) // 2] ^= 0x55
        sink.blobs.put(key, bytes(broken))
    else:
        sink.blobs.put(key, data[: len(data) // 3])
    with caplog.at_level(logging.WARNING, logger="pixelmill.engine.checkpoint"):
        images, steps = resume(sink)
    assert any("corrupt checkpoint" in r.message and "000010" in r.message for r in caplog.records)
    assert steps[0] == 6  # sample 1 only had a valid step 5, so the whole job resumed there
    assert np.array_equal(images, uninterrupted)


def test_every_checkpoint_corrupt_restarts_from_step_zero(sink, uninterrupted) -> None:
    crash_after(sink, 7)
    for key in list(sink.blobs.list("checkpoints/job/")):
        sink.blobs.put(key, b"garbage")
    images, steps = resume(sink)
    assert steps[0] == 1
    assert np.array_equal(images, uninterrupted)


def test_payload_holds_the_documented_fields(sink) -> None:
    crash_after(sink, 5)
    ck = SampleCheckpoint.from_bytes(sink.latest("job", 0))
    fields = (ck.job_id, ck.attempt, ck.model_id, ck.sample_index, ck.step)
    assert fields == ("job", 1, "tiny-random-sd", 0, 5)
    assert ck.latents.shape == (1, 4, 8, 8) and ck.x0 is not None
    assert ck.sampler["name"] == "dpmpp_2m" and ck.sampler["step_index"] == 5
    assert ck.sampler["prev_x0"].shape == (1, 4, 8, 8)
    assert ck.rng.dtype.is_floating_point is False


def test_sink_keeps_a_few_and_deletes(sink) -> None:
    for step in (5, 10, 15, 20):
        sink.write("j", 1, 0, step, seal(b"x"))
    assert [k.rsplit("/", 1)[1] for k in sink.blobs.list("checkpoints/j/")] == [
        "000010.ckpt", "000015.ckpt", "000020.ckpt"
    ]
    assert sink.latest("j", 0, max_step=12) == seal(b"x")
    assert sink.latest("j", 1) is None
    sink.delete("j")
    assert list(sink.blobs.list("checkpoints/j/")) == []
    assert find_resume(sink, "j", 1, "m") is None


def test_stale_attempt_fails_only_that_job(sink) -> None:
    from pixelmill import jobs

    assert StaleAttempt is jobs.StaleAttempt  # one class: the store's refusal is the engine's

    class Fenced(BlobCheckpointSink):
        def write(self, job_id: str, attempt: int, sample_index: int, step: int, payload: bytes) -> None:
            if job_id == "zombie":  # as the job store refuses a zombie's write, untranslated
                raise jobs.StaleAttempt(f"attempt {attempt} is older than 2")
            super().write(job_id, attempt, sample_index, step, payload)

    engine = Engine(tiny_model(), max_batch=8, checkpoints=Fenced(sink.blobs), checkpoint_every=2)
    engine.submit(request("zombie", steps=4))
    engine.submit(request("live", steps=4))
    events = engine.run_until_idle()
    failed = [e for e in events if isinstance(e, Failed)]
    assert [(f.job_id, f.reason) for f in failed] == [("zombie", "stale_attempt")]
    assert [e.job_id for e in events if isinstance(e, Completed)] == ["live"]


class CountingStore(LocalBlobStore):
    """A local blob store that counts listings (each may walk the whole store)."""

    listings = 0

    def list(self, prefix: str = ""):  # type: ignore[no-untyped-def]
        self.listings += 1
        return super().list(prefix)


def test_a_job_is_listed_once_for_its_resume_lookup_and_writes(tmp_path) -> None:
    store = CountingStore(tmp_path / "blobs")
    engine = Engine(tiny_model(), max_batch=8, checkpoints=BlobCheckpointSink(store), checkpoint_every=2)
    engine.submit(request("job", steps=10, seeds=[1, 2, 3]))  # resume lookup: one listing
    assert store.listings == 1
    run(engine)  # 3 samples x 4 checkpoints (steps 2..8), pruned to the newest 3: no listing
    assert store.listings == 1
    kept = sorted(k.split("/", 2)[2] for k in store.list("checkpoints/job/"))
    assert kept == [f"{i}/{s:06d}.ckpt" for i in range(3) for s in (4, 6, 8)]
    # A fresh sink (another process) still finds them, and resumes from the newest.
    resumed = find_resume(BlobCheckpointSink(store), "job", 3, tiny_model().info.model_id)
    assert resumed is not None and resumed.step == 8
