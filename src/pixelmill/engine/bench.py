"""``pixelmill bench engine``: scheduling policies side by side on one model, one workload.

Workload: ``n_jobs`` jobs of 4 images, each 10 steps (short) or 30 steps (long) at random
(``short_fraction``), arriving as a Poisson process at ``load`` times the model's raw capacity
at ``max_batch`` (measured first). With ``load`` > 1 a queue builds and every policy runs
saturated, so the throughputs compare what each policy can sustain.

Time is a virtual clock advanced by the measured time of each ``engine.step()`` (and jumped to
the next arrival when the engine is idle), so arrivals never wait on ``sleep`` and the run
takes about as long as the compute itself. With one torch thread the clock is this process's
CPU time (``time.process_time``), which other programs on a shared machine do not inflate;
with more threads it is wall time (``"clock"`` in the output says which).

Figures:

- ``policies.<p>.images_per_s``: images / (last completion - first arrival).
- ``policies.<p>.p95_latency_s.short|long``: completion - arrival, 95th percentile.
- ``raw_model_images_per_s``: ``model.denoise`` alone at ``max_batch`` samples per call
  (no engine, no encode/decode), as sample-steps/s divided by the workload's mean steps per image.
- ``checkpoint_overhead``: ``continuous`` with checkpoints every 10 steps (local blob store) vs
  off: ``images_per_s_off / images_per_s_on - 1``, best of two runs each way.
  ``checkpoint_write_fraction``: share of the checkpointed run's time spent inside checkpoint
  writes (less noisy on a shared machine).
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from dataclasses import dataclass
from typing import Any

import torch

from pixelmill.engine.checkpoint import BlobCheckpointSink
from pixelmill.engine.core import Engine
from pixelmill.engine.request import Completed, Failed, GenerationRequest
from pixelmill.engine.scheduler import POLICIES, Policy
from pixelmill.models.base import DiffusionModel
from pixelmill.store.blobs import LocalBlobStore


@dataclass(frozen=True)
class Arrival:
    at: float
    request: GenerationRequest

    @property
    def short(self) -> bool:
        return self.request.steps <= 10


def workload(
    model: DiffusionModel, *, n_jobs: int, jobs_per_s: float, short_fraction: float, seed: int
) -> list[Arrival]:
    rng = random.Random(seed)
    w, h = model.info.native_size
    t = 0.0
    out = []
    for i in range(n_jobs):
        steps = 10 if rng.random() < short_fraction else 30
        req = GenerationRequest(
            job_id=f"bench-{i}",
            prompt=f"bench prompt {i}",
            width=w,
            height=h,
            steps=steps,
            step_budget=30,
            seeds=[rng.randrange(2**32) for _ in range(4)],
            guidance_scale=7.5,
        )
        out.append(Arrival(t, req))
        t += rng.expovariate(jobs_per_s)
    return out


class _TimedSink(BlobCheckpointSink):
    """A blob sink that adds up the time spent writing."""

    seconds = 0.0

    def write(self, job_id: str, attempt: int, sample_index: int, step: int, payload: bytes) -> None:
        t0 = _clock()
        super().write(job_id, attempt, sample_index, step, payload)
        self.seconds += _clock() - t0


def run_policy(
    model: DiffusionModel,
    arrivals: list[Arrival],
    *,
    policy: Policy,
    max_batch: int,
    checkpoint_every: int = 0,
) -> dict[str, Any]:
    """Replay ``arrivals`` through an engine with ``policy``; return its figures."""
    with tempfile.TemporaryDirectory(prefix="pixelmill-bench-") as tmp:
        sink = _TimedSink(LocalBlobStore(tmp)) if checkpoint_every else None
        engine = Engine(
            model, max_batch=max_batch, checkpoints=sink, checkpoint_every=checkpoint_every, policy=policy
        )
        pending = list(arrivals)
        by_id = {a.request.job_id: a for a in arrivals}
        clock = 0.0
        latencies: dict[str, list[float]] = {"short": [], "long": []}
        images = 0
        busy = 0.0
        while pending or engine.has_work:
            t0 = _clock()
            while pending and pending[0].at <= clock:
                engine.submit(pending.pop(0).request)  # counted: a resume lookup is real work
            clock += _clock() - t0
            if not engine.has_work:
                clock = pending[0].at
                continue
            t0 = _clock()
            events = engine.step()
            dt = _clock() - t0
            clock += dt
            busy += dt
            for ev in events:
                if isinstance(ev, Completed):
                    arrival = by_id[ev.job_id]
                    latencies["short" if arrival.short else "long"].append(clock - arrival.at)
                    images += len(ev.images)
                elif isinstance(ev, Failed):
                    raise RuntimeError(f"bench job failed: {ev.message}")
        span = clock - arrivals[0].at
        out: dict[str, Any] = {
            "images_per_s": round(images / span, 3),
            "p95_latency_s": {k: round(_p95(v), 3) for k, v in latencies.items()},
            "seconds": round(span, 3),
        }
        if sink is not None:
            out["checkpoint_write_fraction"] = round(sink.seconds / busy, 4)
        return out


def raw_model_sample_steps_per_s(model: DiffusionModel, max_batch: int, *, calls: int = 20) -> float:
    """Sample-steps/s of ``model.denoise`` alone on ``max_batch`` samples per call."""
    w, h = model.info.native_size
    s = model.info.latent_scale
    cond = model.encode_prompts([("bench", 1.0)], "")
    x = torch.randn(max_batch, model.info.latent_channels, h // s, w // s)
    t = torch.linspace(900, 100, max_batch)
    c, u = cond.cond.expand(max_batch, -1, -1), cond.uncond.expand(max_batch, -1, -1)
    g = torch.full((max_batch,), 7.5)
    model.denoise(x, t, c, u, g)  # warm-up
    t0 = _clock()
    for _ in range(calls):
        model.denoise(x, t, c, u, g)
    return calls * max_batch / (_clock() - t0)


def bench_engine(
    model: DiffusionModel,
    *,
    n_jobs: int = 24,
    max_batch: int = 16,
    short_fraction: float = 0.5,
    seed: int = 0,
    load: float = 1.5,
) -> dict[str, Any]:
    """Run every policy on the same workload; return the JSON-ready figures (module docstring)."""
    raw_steps = raw_model_sample_steps_per_s(model, max_batch)
    mean_steps = 10 * short_fraction + 30 * (1 - short_fraction)
    raw_images = raw_steps / mean_steps
    arrivals = workload(
        model, n_jobs=n_jobs, jobs_per_s=load * raw_images / 4, short_fraction=short_fraction, seed=seed
    )
    policies = {p: run_policy(model, arrivals, policy=p, max_batch=max_batch) for p in POLICIES}
    # Checkpoint overhead is a few percent, below one run's noise on a shared machine: compare the
    # best of two runs each way (the first "off" run is the continuous run above).
    off = [policies["continuous"], run_policy(model, arrivals, policy="continuous", max_batch=max_batch)]
    on = [
        run_policy(model, arrivals, policy="continuous", max_batch=max_batch, checkpoint_every=10)
        for _ in range(2)
    ]
    best_off = max(r["images_per_s"] for r in off)
    with_ckpt = max(on, key=lambda r: r["images_per_s"])
    seq, sta, con = (policies[p]["images_per_s"] for p in ("sequential", "static", "continuous"))
    return {
        "model": model.info.model_id,
        "max_batch": max_batch,
        "jobs": n_jobs,
        "images_per_job": 4,
        "short_fraction": short_fraction,
        "load": load,
        "torch_threads": torch.get_num_threads(),
        "clock": "cpu" if torch.get_num_threads() == 1 else "wall",
        "policies": {p: policies[p] for p in ("sequential", "static", "continuous")},
        "raw_model_images_per_s": round(raw_images, 3),
        "checkpoint_overhead": round(best_off / with_ckpt["images_per_s"] - 1, 4),
        "checkpoint_write_fraction": with_ckpt["checkpoint_write_fraction"],
        "ratios": {
            "continuous_vs_sequential_images_per_s": _ratio(con, seq),
            "continuous_vs_static_images_per_s": _ratio(con, sta),
            "continuous_vs_raw_model": _ratio(con, raw_images),
            "short_p95_continuous_vs_static": _ratio(
                policies["continuous"]["p95_latency_s"]["short"], policies["static"]["p95_latency_s"]["short"]
            ),
        },
    }


def _ratio(a: float, b: float) -> float | None:
    """``a / b`` rounded, or None when ``b`` is 0 (e.g. no short job in a small run)."""
    return round(a / b, 3) if b else None


def _clock() -> float:
    return time.process_time() if torch.get_num_threads() == 1 else time.perf_counter()


def _p95(values: list[float]) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=20, method="inclusive")[18]
