"""``pixelmill bench engine``: scheduling policies side by side on one model, one workload.

Workload: ``n_jobs`` (default 48) jobs of 4 images, each 10 steps (short) or 30 steps (long)
at random (``short_fraction``), arriving as a Poisson process at ``load`` times the model's
raw capacity at ``max_batch`` (measured at the start of each repeat). With ``load`` > 1 a
queue builds and every policy runs saturated, so the throughputs compare what each policy can
sustain. The same jobs arrive again at ``latency_load`` < 1 for the latencies (see below).

Time is a virtual clock advanced by the measured time of each ``engine.step()`` (and jumped to
the next arrival when the engine is idle), so arrivals never wait on ``sleep`` and the run
takes about as long as the compute itself. With one torch thread the clock is this process's
CPU time (``time.process_time``), which other programs on a shared machine do not inflate;
with more threads it is wall time (``"clock"`` in the output says which).

Figures:

Everything runs ``repeats`` times (default 3) on the same jobs; each repeat measures the raw
model next to its own policy runs (and sets the arrival rates from it), so its ratios are
taken side by side, every policy of a repeat on the same arrivals.

- ``policies.<p>.images_per_s``: images / (last completion - first arrival) at ``load``;
  median of repeats.
- ``policies.<p>.p95_latency_s.short|long``: completion - arrival, 95th percentile, at
  ``latency_load`` (default 0.7 of the raw capacity: a mixed load continuous and static both
  sustain); median. ``p95_latency_saturated_s``: the same at ``load``, where it mostly
  measures how long the queue has grown by the end of the run.
- ``raw_model_images_per_s``: ``model.denoise`` alone at ``max_batch`` samples per call
  (no engine, no encode/decode), as sample-steps/s divided by the workload's mean steps per image.
- ``decode_share_of_raw``: the decoder's time per image (4 per call) as a share of
  (decode + raw denoise) per image: work the engine must do that the raw figure leaves out,
  so ``continuous_vs_raw_model`` cannot exceed ``1 - decode_share_of_raw``.
- ``checkpoint_overhead``: ``continuous`` with checkpoints every 10 steps (local blob store) vs
  off: ``images_per_s_off / images_per_s_on - 1`` within each repeat; median of repeats.
  ``checkpoint_write_fraction``: share of the checkpointed run's time spent writing checkpoints
  (serialising, hashing, storing; ``Runner.checkpoint_seconds``); median. Run-to-run noise on
  a shared machine (about 5%) exceeds the overhead, so this direct share is the stable figure.
- ``ratios``: median over repeats of each repeat's ratio; ``spread``: their [min, max].
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
from pixelmill.engine.scheduler import Policy
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
        sink = BlobCheckpointSink(LocalBlobStore(tmp)) if checkpoint_every else None
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
            out["checkpoint_write_fraction"] = round(engine.runner.checkpoint_seconds / busy, 4)
        return out


def raw_model_sample_steps_per_s(model: DiffusionModel, max_batch: int, *, calls: int = 40) -> float:
    """Sample-steps/s of ``model.denoise`` alone on ``max_batch`` samples per call (the same
    guided call the engine makes: CFG doubles the rows to ``2 * max_batch``)."""
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


def decode_seconds_per_image(model: DiffusionModel, *, images: int = 4, calls: int = 5) -> float:
    """Decoder time per image at ``images`` per call (one job of 4: what the engine mostly
    decodes at once). Not part of the raw model figure; reported to show the engine's ceiling."""
    w, h = model.info.native_size
    s = model.info.latent_scale
    x = torch.randn(images, model.info.latent_channels, h // s, w // s)
    model.decode(x)
    t0 = _clock()
    for _ in range(calls):
        model.decode(x)
    return (_clock() - t0) / (calls * images)


POLICIES_SHOWN: tuple[Policy, ...] = ("sequential", "static", "continuous")


def bench_engine(
    model: DiffusionModel,
    *,
    n_jobs: int = 48,
    max_batch: int = 16,
    short_fraction: float = 0.5,
    seed: int = 0,
    load: float = 1.5,
    latency_load: float = 0.7,
    repeats: int = 3,
) -> dict[str, Any]:
    """Run every policy on the same workloads, ``repeats`` times; return the JSON-ready figures.

    Two arrival rates of the same jobs (same steps, same seeds): ``load`` (above capacity: the
    throughputs) and ``latency_load`` (below capacity: the latencies, which under overload only
    grow with the queue, i.e. with ``n_jobs``), both relative to the raw capacity measured at
    the start of each repeat; every policy of a repeat gets the same arrivals. Each repeat
    measures the raw model (before and after its runs, averaged) and runs every policy,
    rotating their order so none always runs first. Reported: per-policy medians over repeats,
    each ratio's median and its spread (min, max) over repeats.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    mean_steps = 10 * short_fraction + 30 * (1 - short_fraction)
    runs: list[dict[str, Any]] = []
    for r in range(repeats):
        before = raw_model_sample_steps_per_s(model, max_batch) / mean_steps

        def arrivals_at(rate: float, raw: float = before) -> list[Arrival]:
            # The rate follows this repeat's raw measurement, so "0.7 of capacity" stays 0.7
            # when the shared machine is slower or faster than in the previous repeat.
            jobs_per_s = rate * raw / 4
            return workload(
                model, n_jobs=n_jobs, jobs_per_s=jobs_per_s, short_fraction=short_fraction, seed=seed
            )

        saturated, moderate = arrivals_at(load), arrivals_at(latency_load)
        # Groups of (label, arrivals, policy, checkpoint_every); the checkpointed run stays next
        # to its continuous twin so their ratio is taken seconds apart.
        groups: list[list[tuple[str, list[Arrival], Policy, int]]] = [
            [("sequential", saturated, "sequential", 0)],
            [("static", saturated, "static", 0)],
            [("continuous", saturated, "continuous", 0), ("checkpointed", saturated, "continuous", 10)],
            *([(f"{p}@latency", moderate, p, 0)] for p in POLICIES_SHOWN),
        ]
        k = r * 2 % len(groups)  # rotate so no policy always runs first
        rep: dict[str, Any] = {}
        for label, arrivals, policy, every in [run for g in groups[k:] + groups[:k] for run in g]:
            rep[label] = run_policy(
                model, arrivals, policy=policy, max_batch=max_batch, checkpoint_every=every
            )
        rep["raw"] = (before + raw_model_sample_steps_per_s(model, max_batch) / mean_steps) / 2
        runs.append(rep)
    ratios = [_ratios(rep) for rep in runs]
    raw_images = statistics.median(rep["raw"] for rep in runs)
    decode_s = decode_seconds_per_image(model)
    # Checkpoint overhead is a few percent, below one run's noise on a shared machine: the
    # paired throughput ratio is reported (median of repeats), and the time share spent writing
    # checkpoints, which is the stable figure.
    overheads = [rep["continuous"]["images_per_s"] / rep["checkpointed"]["images_per_s"] - 1 for rep in runs]
    return {
        "model": model.info.model_id,
        "max_batch": max_batch,
        "jobs": n_jobs,
        "images_per_job": 4,
        "short_fraction": short_fraction,
        "load": load,
        "latency_load": latency_load,
        "repeats": repeats,
        "torch_threads": torch.get_num_threads(),
        "clock": "cpu" if torch.get_num_threads() == 1 else "wall",
        "policies": {
            p: {
                "images_per_s": _median([rep[p]["images_per_s"] for rep in runs]),
                "p95_latency_s": _median_p95([rep[f"{p}@latency"] for rep in runs]),
                "p95_latency_saturated_s": _median_p95([rep[p] for rep in runs]),
            }
            for p in POLICIES_SHOWN
        },
        "raw_model_images_per_s": round(raw_images, 3),
        "decode_share_of_raw": round(decode_s / (decode_s + 1 / raw_images), 4),
        "checkpoint_overhead": round(statistics.median(overheads), 4),
        "checkpoint_write_fraction": statistics.median(
            rep["checkpointed"]["checkpoint_write_fraction"] for rep in runs
        ),
        "ratios": {k: _median([r[k] for r in ratios]) for k in ratios[0]},
        "spread": {k: _span([r[k] for r in ratios]) for k in ratios[0]},
    }


def _ratios(rep: dict[str, Any]) -> dict[str, float | None]:
    seq, sta, con = (rep[p]["images_per_s"] for p in POLICIES_SHOWN)

    def short_p95(label: str) -> float:
        return float(rep[label]["p95_latency_s"]["short"])

    return {
        "continuous_vs_sequential_images_per_s": _ratio(con, seq),
        "continuous_vs_static_images_per_s": _ratio(con, sta),
        "continuous_vs_raw_model": _ratio(con, rep["raw"]),
        "short_p95_continuous_vs_static": _ratio(
            short_p95("continuous@latency"), short_p95("static@latency")
        ),
        "short_p95_continuous_vs_static_saturated": _ratio(short_p95("continuous"), short_p95("static")),
    }


def _median_p95(runs: list[dict[str, Any]]) -> dict[str, float | None]:
    return {k: _median([r["p95_latency_s"][k] for r in runs]) for k in ("short", "long")}


def _median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return round(statistics.median(known), 3) if known else None


def _span(values: list[float | None]) -> list[float] | None:
    known = [v for v in values if v is not None]
    return [min(known), max(known)] if known else None


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
