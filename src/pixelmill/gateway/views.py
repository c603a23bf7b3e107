"""How a job looks over HTTP (``GET /v1/jobs/{id}``, lists, SSE snapshots, webhooks, export).

Contract of :func:`job_view` (the JSON every route returns for a job):

``id, status (queued|running|succeeded|failed|blocked|cancelled), kind, prompt, params, mode,
tier, lane, steps, step_budget, seed, width, height, n_images, private, created_at,
started_at, finished_at, queue_position and queue_estimate_s (while queued, else null),
progress {step, total}, timings {queue_wait_s, denoise_s, post_filter_s, store_s, total_s},
images [{url, width, height, seed, index}] (succeeded only: a blocked job's images are never
shown), error {code, message} | null, blocked {category, message} | null,
parent {id, index} | null, children [{id, kind, status}]``.
"""

from __future__ import annotations

import threading
from typing import Any

from pixelmill.jobs import Job, JobState

IMAGE_URL = "/v1/images/{sha256}.png"


class QueueEstimator:
    """Seconds a queued job waits, estimated from the run times of jobs seen finishing.

    An exponentially weighted mean of ``finished_at - started`` (``alpha``), times the jobs ahead
    plus one. Deliberately simple: an estimate shown to people, not a scheduling input.
    """

    def __init__(self, initial_s: float = 5.0, alpha: float = 0.2) -> None:
        self.mean_s = initial_s
        self.alpha = alpha
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def observe(self, job: Job) -> None:
        if job.state is not JobState.SUCCEEDED or job.claimed_at is None or job.finished_at is None:
            return
        with self._lock:
            if job.id in self._seen:
                return
            if len(self._seen) > 10_000:
                self._seen.clear()
            self._seen.add(job.id)
            run = max(0.0, job.finished_at - job.claimed_at)
            self.mean_s += self.alpha * (run - self.mean_s)

    def estimate(self, position: int) -> float:
        return round((position + 1) * self.mean_s, 1)


def image_url(sha256: str) -> str:
    return IMAGE_URL.format(sha256=sha256)


def job_view(job: Job, *, position: int | None = None, estimate_s: float | None = None,
             children: list[Job] | None = None) -> dict[str, Any]:
    """The public JSON of ``job`` (see the module docstring). Internal fields (lease, worker,
    checkpoints, attempts, idempotency key, webhook URL) are never shown."""
    state = job.state
    timings = {
        "queue_wait_s": round(job.timings.queue_wait_s, 4),
        "denoise_s": round(job.timings.denoise_s, 4),
        "post_filter_s": round(job.timings.post_filter_s, 4),
        "store_s": round(job.timings.store_s, 4),
        "total_s": round(job.finished_at - job.created_at, 4) if job.finished_at else None,
    }
    error = None
    blocked = None
    if state is JobState.BLOCKED:
        blocked = {"category": job.block_category, "message": job.error_message}
        error = {"code": job.error_code or "blocked", "message": job.error_message or "blocked"}
    elif state.finished and (job.error_code or state is JobState.FAILED):
        error = {"code": job.error_code or "failed", "message": job.error_message or "the job failed"}
    images = []
    if state is JobState.SUCCEEDED:
        images = [
            {"url": image_url(img.sha256), "width": img.width, "height": img.height, "seed": img.seed,
             "index": img.index}
            for img in sorted(job.images, key=lambda i: i.index)
        ]
    parent = None
    if job.parent_job_id is not None:
        parent = {"id": job.parent_job_id, "index": job.parent_image_index}
    return {
        "id": job.id,
        "status": state.value,
        "kind": job.kind,
        "prompt": job.prompt,
        "params": job.params.get("display", job.params),
        "mode": job.mode,
        "tier": job.tier,
        "lane": job.lane,
        "steps": job.steps,
        "step_budget": job.step_budget,
        "seed": job.seed,
        "width": job.width,
        "height": job.height,
        "n_images": job.n_images,
        "private": job.private,
        "created_at": job.created_at,
        "started_at": job.claimed_at,
        "finished_at": job.finished_at,
        "queue_position": position if state is JobState.QUEUED else None,
        "queue_estimate_s": estimate_s if state is JobState.QUEUED else None,
        "progress": {"step": job.progress_step, "total": job.progress_total},
        "timings": timings,
        "images": images,
        "error": error,
        "blocked": blocked,
        "parent": parent,
        "children": [{"id": c.id, "kind": c.kind, "status": c.state.value} for c in (children or [])],
    }
