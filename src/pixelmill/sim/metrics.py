"""From a run's raw figures to the report: waits by lane, e2e by tier, utilisation, cost, SLOs.

Waits are queue waits (enqueue, or requeue after a crash, to claim), counted for claims after
the warm-up (the fleet starts empty). ``starvation.max_wait_s`` takes the larger of the longest
served wait and the age of the oldest job still queued at the end, so a lane that is never
served shows up. Utilisation is busy GPU-seconds (a GPU with at least one job in its batch)
over billed GPU-seconds, after the warm-up; ``slot_occupancy`` is the share of batch slots in use
(a busy GPU may still have room in its batch).
"""

from __future__ import annotations

import numpy as np

from pixelmill.sim.simulator import RunResult, percentiles
from pixelmill.tiers import LANES

SLO_WAIT_S: dict[str, float] = {"turbo": 2.0, "pro": 5.0, "paid": 30.0, "free": 120.0, "relax": 1800.0}
"""Queue-wait objective per lane (what SLO attainment is measured against)."""

STARVED_AFTER_S: dict[str, float] = {
    "turbo": 60.0, "pro": 120.0, "paid": 600.0, "free": 600.0, "relax": 3600.0}
"""A lane starves when a job waits longer than this."""

REPORT_LANES: tuple[str, ...] = ("pro", "paid", "free", "relax", "turbo")


def _window(t: list[float], v: list[float], start: float, end: float) -> np.ndarray:
    ta, va = np.asarray(t, dtype=float), np.asarray(v, dtype=float)
    return va[(ta >= start) & (ta < end)]


def lane_waits(r: RunResult, start: float, end: float) -> dict[str, dict[str, float]]:
    """p50/p95/p99 queue wait per lane for claims in [start, end)."""
    return {lane: percentiles(_window(r.wait_t[lane], r.wait_v[lane], start, end)) for lane in REPORT_LANES}


def utilisation(r: RunResult, start: float, end: float) -> float:
    t = np.asarray(r.tick_t)
    sel = np.nonzero((t >= start) & (t <= end + 1e-6))[0]
    if len(sel) < 2:
        return 0.0
    busy = r.tick_busy[sel[-1]] - r.tick_busy[sel[0]]
    billed = r.tick_billed[sel[-1]] - r.tick_billed[sel[0]]
    return round(busy / billed, 4) if billed > 0 else 0.0


def slot_occupancy(r: RunResult, start: float, end: float) -> float:
    """Mean share of the alive GPUs' batch slots holding a job (sampled at each tick)."""
    pairs = [(n, a) for t, n, a in zip(r.tick_t, r.tick_running, r.tick_alive, strict=True)
             if start <= t <= end and a > 0]
    return round(sum(n / (a * r.slots) for n, a in pairs) / len(pairs), 4) if pairs else 0.0


def summarise(r: RunResult, windows: dict[str, tuple[float, float]] | None = None) -> dict[str, object]:
    """The per-policy report (JSON-ready)."""
    start, end = r.warmup_s, r.duration_s
    waits_all = {lane: _window(r.wait_t[lane], r.wait_v[lane], start, end) for lane in LANES}
    e2e = {key: percentiles(_window(r.e2e_t[key], r.e2e_v[key], start, end))["p95"]
           for key in ("pro", "paid", "free", "relax") if key in r.e2e_t}
    max_wait: dict[str, float] = {}
    for lane in REPORT_LANES:
        served = float(waits_all[lane].max()) if len(waits_all[lane]) else 0.0
        max_wait[lane] = round(max(served, r.queued_oldest.get(lane, 0.0)), 2)
    slo: dict[str, float] = {}
    met = total = 0
    for lane in REPORT_LANES:
        w = waits_all[lane]
        if len(w):
            ok = int((w <= SLO_WAIT_S[lane]).sum())
            slo[lane] = round(ok / len(w), 4)
            met, total = met + ok, total + len(w)
    slo["overall"] = round(met / total, 4) if total else 1.0
    billed_gpu_s = r.tick_billed[-1] if r.tick_billed else 0.0
    cost = billed_gpu_s / 3600.0 * r.price_per_gpu_hour
    fair = {lane: r.served_by_lane[lane] for lane in ("pro", "paid", "free")}
    out: dict[str, object] = {
        "queue_wait_s": lane_waits(r, start, end),
        "e2e_p95_s": e2e,
        "utilisation": utilisation(r, start, end),
        "slot_occupancy": slot_occupancy(r, start, end),
        "jobs_completed": r.counts.get("completed", 0),
        "images_delivered": r.images,
        "jobs": r.counts,
        "served_by_lane": r.served_by_lane,
        "gpu_s_by_lane": {lane: round(v, 1) for lane, v in r.lane_gpu_s.items()},
        "fair_share_jobs": fair,
        "starvation": {
            "max_wait_s": max_wait,
            "starved_lanes": [lane for lane, w in max_wait.items() if w > STARVED_AFTER_S[lane]],
        },
        "slo_wait_s": SLO_WAIT_S,
        "slo_attainment": slo,
        "gpu_hours": round(billed_gpu_s / 3600.0, 2),
        "cost_usd": round(cost, 2),
        "cost_per_image_usd": round(cost / r.images, 6) if r.images else None,
        "wasted_gpu_s": round(r.wasted_gpu_s, 1),
        "blocked_gpu_s": round(r.blocked_gpu_s, 1),
        "checkpoint_gpu_s": round(r.checkpoint_gpu_s, 1),
        "crashed_jobs": r.crashed_jobs,
        "lost_steps_per_crashed_job": round(r.lost_steps / r.crashed_jobs, 2) if r.crashed_jobs else 0.0,
    }
    for name, (w0, w1) in (windows or {}).items():
        out[name] = {"window_s": [w0, w1], "queue_wait_s": lane_waits(r, w0, w1),
                     "utilisation": utilisation(r, w0, w1)}
    return out


def series(r: RunResult, bucket_s: float) -> dict[str, object]:
    """Per-bucket p95 wait by lane (of the jobs claimed in the bucket), utilisation per tick, and
    per tick the age of each lane's oldest queued job (which shows a lane nobody serves)."""
    edges = np.arange(0.0, r.duration_s + bucket_s, bucket_s)
    mids = (edges[:-1] + edges[1:]) / 2
    p95: dict[str, list[float]] = {}
    for lane in REPORT_LANES:
        t = np.asarray(r.wait_t[lane])
        v = np.asarray(r.wait_v[lane])
        idx = np.searchsorted(edges, t, side="right") - 1
        vals = []
        for b in range(len(mids)):
            sel = v[idx == b]
            vals.append(float(np.percentile(sel, 95)) if len(sel) else float("nan"))
        p95[lane] = vals
    tt = np.asarray(r.tick_t)
    busy = np.diff(np.asarray(r.tick_busy))
    billed = np.diff(np.asarray(r.tick_billed))
    util = np.divide(busy, billed, out=np.zeros_like(busy), where=billed > 0)
    return {"t": mids.tolist(), "p95": p95, "util_t": tt[1:].tolist(), "util": util.tolist(),
            "tick_t": tt.tolist(), "alive": list(r.tick_alive), "oldest": r.tick_oldest}
