"""The worker: glue from the job store to the engine and back (claim -> engine -> post-filter ->
blob store -> events), with leases, heartbeats and fenced checkpoints.

One loop iteration (:meth:`Worker.run_once`) at a step boundary:

1. reap: every ``reap_every_s``, jobs whose lease expired (a crashed worker) go back to the queue;
2. claim: up to the engine's free batch slots, jobs of this worker's model; each is turned into a
   :class:`~pixelmill.engine.GenerationRequest` carrying its attempt and submitted (the engine
   resumes it from the newest valid checkpoint, written by whichever worker ran it before);
3. step: one engine iteration; its events become store writes and bus events;
4. heartbeat: each job's lease is extended every ``heartbeat_every_s`` (a heartbeat that finds
   the job cancelled, or owned by a newer attempt, stops it in the engine).

Fencing: every checkpoint write first records itself in the job store under the job's attempt
(:class:`FencedCheckpointSink`); a zombie's write raises ``StaleAttempt``, the engine fails that
job with reason ``stale_attempt`` and the worker drops it without touching the store. The same
holds for completions: a stale ``succeed`` is refused by the store.

Metrics (:mod:`pixelmill.observability`), recorded here at the state changes the worker makes:
``QUEUE_WAIT{lane}`` at each claim (since submit, or since a retry's backoff ended); at a final state
``JOBS{state}``, ``E2E_SECONDS{tier}`` (submit -> finish) and, for a completed run,
``DENOISE_SECONDS`` (model time); ``CHECKPOINTS{result}`` per fenced checkpoint write;
``WORKER_HEARTBEAT{worker}`` with each liveness beacon.

Images are stored as PNG under their SHA-256 (``images/<sha256>.png``); an image the post-filter
blocks goes to ``quarantine/<sha256>.png`` and the job ends BLOCKED. Each worker also writes
``workers/<worker_id>/heartbeat`` (unix time) so a gateway can tell whether any worker is alive.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from PIL import Image

from pixelmill.jobs import CheckpointRef, Job, JobImage, JobTimings, StaleAttempt
from pixelmill.observability import (
    CHECKPOINTS,
    DENOISE_SECONDS,
    E2E_SECONDS,
    JOBS,
    QUEUE_WAIT,
    WORKER_HEARTBEAT,
)
from pixelmill.store.blobs import BlobStore
from pixelmill.store.events import EventBus
from pixelmill.store.jobstore import JobStore

if TYPE_CHECKING:
    from pixelmill.config import Settings
    from pixelmill.engine import CheckpointSink, Engine, GenerationRequest

log = logging.getLogger(__name__)

NON_RETRYABLE = frozenset({"non_finite", "model_mismatch", "invalid_request", "unsupported_kind"})
"""Engine failure reasons that would fail again on any worker: the job ends FAILED at once."""


class Verdict(Protocol):
    """What a post-filter returns (``pixelmill.safety.verdict.Verdict`` fits)."""

    allowed: bool
    category: str | None


PostFilter = Callable[[Image.Image], Verdict]


@dataclass
class WorkPlan:
    """How the worker runs one job: an engine request, and what to do with its images.

    - ``request``: the engine request (its ``attempt`` must be the job's attempt).
    - ``finish``: post-processing of the engine's images (e.g. a follow-up's composite).
    """

    request: GenerationRequest
    finish: Callable[[list[Image.Image]], list[Image.Image]] = field(default=lambda images: images)


Planner = Callable[[Job], WorkPlan]
"""Turns a claimed job into a :class:`WorkPlan`; raise ValueError for a job it cannot run."""


def plan_generation(job: Job) -> WorkPlan:
    """The plan of an ``imagine`` / ``reroll`` / ``remix`` job.

    ``job.params["settings"]`` holds the parsed prompt's ``GenerationSettings`` as a dict (what
    the gateway stores); without it ``job.prompt`` is the text and the defaults apply. Size,
    steps, budget and seeds (``job.seed + i``) come from the job's own fields.
    """
    from pixelmill.engine import GenerationRequest
    from pixelmill.engine.request import MAX_SEED

    settings: dict[str, Any] = dict(job.params.get("settings") or {})
    parts = [(str(t), float(w)) for t, w in settings.get("parts") or ()]
    request = GenerationRequest(
        job_id=job.id,
        attempt=job.attempt,
        prompt=str(settings.get("prompt", job.prompt)),
        prompt_weights=parts if len(parts) > 1 else None,
        negative_prompt=str(settings.get("negative_prompt") or ""),
        width=job.width,
        height=job.height,
        steps=job.steps,
        step_budget=job.step_budget,
        guidance_scale=float(settings.get("guidance_scale", 7.5)),
        seeds=[(job.seed + i) % (MAX_SEED + 1) for i in range(job.n_images)],
        chaos=float(settings.get("chaos", 0.0)),
        tile=bool(settings.get("tile", False)),
        stop_fraction=float(settings.get("stop_fraction", 1.0)),
        model_id="",
    )
    return WorkPlan(request)


DEFAULT_PLANNERS: dict[str, Planner] = {"imagine": plan_generation, "reroll": plan_generation,
                                        "remix": plan_generation}


def png_bytes(image: Image.Image) -> bytes:
    """Deterministic PNG encoding (no timestamps), so equal pixels give an equal SHA-256."""
    buf = io.BytesIO()
    image.convert("RGB").save(buf, format="PNG", optimize=False)
    return buf.getvalue()


class FencedCheckpointSink:
    """Wraps the engine's checkpoint sink: each write is first recorded in the job store under
    (job, attempt, worker); a stale attempt raises ``StaleAttempt`` (one class, shared by the
    store and the engine) and writes nothing. Counts ``CHECKPOINTS{result=ok|refused}``."""

    def __init__(self, inner: CheckpointSink, store: JobStore, worker_id: str, keep: int = 3) -> None:
        self.inner = inner
        self.store = store
        self.worker_id = worker_id
        self.keep = keep

    def write(self, job_id: str, attempt: int, sample_index: int, step: int, payload: bytes) -> None:
        from pixelmill.engine import BlobCheckpointSink

        ref = CheckpointRef(BlobCheckpointSink.key(job_id, sample_index, step),
                            hashlib.sha256(payload).hexdigest(), step, sample_index, attempt)
        try:
            self.store.record_checkpoint(job_id, attempt, self.worker_id, ref, keep=self.keep)
        except StaleAttempt:
            CHECKPOINTS.labels(result="refused").inc()
            raise
        self.inner.write(job_id, attempt, sample_index, step, payload)
        CHECKPOINTS.labels(result="ok").inc()

    def latest(self, job_id: str, sample_index: int, max_step: int | None = None) -> bytes | None:
        return self.inner.latest(job_id, sample_index, max_step)

    def delete(self, job_id: str) -> None:
        self.inner.delete(job_id)


@dataclass
class _Active:
    job: Job
    plan: WorkPlan
    started: float
    last_heartbeat: float
    step: int = 0
    total: int = 0


def default_worker_id() -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "-", f"{socket.gethostname()}-{os.getpid()}")


class Worker:
    """Runs jobs from ``store`` on an engine built by ``engine_factory(checkpoint_sink)``.

    - ``store`` / ``blobs`` / ``events``: the job store, blob store and event bus.
    - ``engine_factory``: builds the engine around the (fenced) checkpoint sink it is given.
    - ``worker_id``: lease owner name (``[A-Za-z0-9._-]``); default ``<host>-<pid>``.
    - ``max_batch``: samples the engine runs at once (claims stop when the batch is full).
    - ``post_filter``: ``image -> verdict`` (``.allowed``, ``.category``); None: no image check.
    - ``clock``: wall clock for leases and timestamps (injectable for tests).
    - ``lease_s`` / ``heartbeat_every_s``: lease length and how often it is renewed.
    - ``reap_every_s``: how often this worker returns expired leases to the queue.
    - ``size``: claim only jobs of this (width, height) (None: any size the model accepts).
    - ``planners``: ``kind -> Planner`` (defaults cover imagine/reroll/remix).
    - ``model_ids``: job ``model_id`` values this worker takes besides its model's own id (the
      gateway tags jobs with the configured model's id, read by the same
      :func:`pixelmill.models.index.read_model_index` as the model's, so none are needed for
      gateway jobs; an alias helps, e.g., drain jobs queued under a renamed model's old id).
    """

    def __init__(
        self,
        store: JobStore,
        blobs: BlobStore,
        events: EventBus,
        engine_factory: Callable[[CheckpointSink], Engine],
        *,
        worker_id: str | None = None,
        max_batch: int = 8,
        post_filter: PostFilter | None = None,
        clock: Callable[[], float] = time.time,
        lease_s: float = 30.0,
        heartbeat_every_s: float = 5.0,
        reap_every_s: float = 5.0,
        poll_s: float = 0.2,
        size: tuple[int, int] | None = None,
        planners: Mapping[str, Planner] | None = None,
        checkpoint_keep: int = 3,
        model_ids: tuple[str, ...] = (),
    ) -> None:
        from pixelmill.engine import BlobCheckpointSink

        self.store = store
        self.blobs = blobs
        self.events = events
        self.worker_id = worker_id or default_worker_id()
        if not re.fullmatch(r"[A-Za-z0-9._-]+", self.worker_id):
            raise ValueError(f"worker_id {self.worker_id!r}: use letters, digits, '.', '_' or '-'")
        self.max_batch = max_batch
        self.post_filter = post_filter
        self.clock = clock
        self.lease_s = lease_s
        self.heartbeat_every_s = heartbeat_every_s
        self.reap_every_s = reap_every_s
        self.poll_s = poll_s
        self.size = size
        self.planners = dict(DEFAULT_PLANNERS if planners is None else planners)
        if planners is None:  # --- follow-ups (issue 8): upscale / vary / zoom / pan planners
            from pixelmill.followups import worker_planners

            self.planners.update(worker_planners(blobs))
        self.sink = FencedCheckpointSink(BlobCheckpointSink(blobs, keep=checkpoint_keep), store,
                                         self.worker_id, keep=checkpoint_keep)
        self.engine = engine_factory(self.sink)
        self.model_id = self.engine.model.info.model_id
        self.model_ids = tuple(dict.fromkeys((*model_ids, self.model_id)))
        self.active: dict[str, _Active] = {}
        self._last_reap = float("-inf")
        self._last_beacon = float("-inf")
        self._next_claim_at = float("-inf")

    @classmethod
    def from_settings(cls, settings: Settings, *, store: JobStore | None = None,
                      blobs: BlobStore | None = None, bus: EventBus | None = None,
                      **kw: Any) -> Worker:
        """A worker for the configured stores and model (built-in model when none is set);
        uses the safety post-filter when it is installed."""
        from pixelmill.engine import Engine
        from pixelmill.models import configure_threads, load_model
        from pixelmill.store import open_blob_store, open_event_bus, open_job_store

        configure_threads()
        model = load_model(settings.model_path or None)
        max_batch = int(kw.pop("max_batch", 8))
        if "post_filter" not in kw:
            kw["post_filter"] = _default_post_filter()
        return cls(
            store or open_job_store(settings.database_url),
            blobs or open_blob_store(settings.blob_url, settings.s3_endpoint),
            bus or open_event_bus(settings.events_url),
            lambda sink: Engine(model, max_batch=max_batch, checkpoints=sink,
                                checkpoint_every=settings.checkpoint_every),
            max_batch=max_batch,
            **kw,
        )

    # --- the loop --------------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        """Work until ``stop`` is set; then hand running jobs back to the queue (checkpointed).

        A failing iteration (the database restarting, a full disk) is logged and retried with
        backoff (up to 30 s); the jobs it held come back through their leases if it lasts."""
        log.info("worker %s running model %s", self.worker_id, self.model_id)
        backoff = self.poll_s
        while not stop.is_set():
            try:
                busy = self.run_once()
                backoff = self.poll_s
            except Exception:
                log.exception("worker %s: iteration failed; retrying in %.1f s", self.worker_id, backoff)
                stop.wait(backoff)
                backoff = min(30.0, backoff * 2)
                continue
            if not busy:
                stop.wait(self.poll_s)
        self.shutdown()

    def run_once(self) -> bool:
        """One iteration (reap, claim, step, heartbeat). Returns False when there was nothing to do."""
        now = self.clock()
        self._beacon(now)
        if now - self._last_reap >= self.reap_every_s:
            self._last_reap = now
            for job_id in self.store.requeue_expired(now):
                log.warning("job %s: lease expired, returned to the queue", job_id)
        self._claim(now)
        if not self.engine.has_work:
            return bool(self.active)
        for event in self.engine.step():
            self._handle(event)
        self._heartbeat(self.clock())
        return True

    def shutdown(self, max_iterations: int = 1000) -> None:
        """Preempt every running job (each is checkpointed and requeued without a failure)."""
        for job_id in list(self.active):
            self.engine.preempt(job_id)
        n = 0
        while self.engine.has_work and n < max_iterations:
            for event in self.engine.step():
                self._handle(event)
            n += 1
        for job_id, act in list(self.active.items()):  # never admitted: hand back directly
            self._release(job_id, act)

    # --- claims ------------------------------------------------------------------------------------
    def _slots_in_use(self) -> int:
        return sum(a.job.n_images for a in self.active.values())

    def _claim(self, now: float) -> None:
        """Fill free batch slots. After a claim that found nothing, the queue is asked again
        only ``poll_s`` later (so a busy engine with spare slots does not query every step)."""
        free = self.max_batch - self._slots_in_use()
        if free <= 0 or (self.engine.has_work and now < self._next_claim_at):
            return
        for model_id in self.model_ids:
            while free > 0:
                jobs = self.store.claim(self.worker_id, max(1, free // 4), model_id, now,
                                        lease_s=self.lease_s, size=self.size)
                if not jobs:
                    break
                for job in jobs:
                    free -= job.n_images
                    # This claim's wait, as the store counts it: since submit, or a retry's backoff.
                    QUEUE_WAIT.labels(lane=job.lane).observe(
                        max(0.0, (job.claimed_at or now) - max(job.created_at, job.not_before)))
                    self._start(job, now)
        if free > 0:
            self._next_claim_at = now + self.poll_s

    def _start(self, job: Job, now: float) -> None:
        from pixelmill.engine import RequestError

        planner = self.planners.get(job.kind)
        try:
            if planner is None:
                raise ValueError(f"this worker cannot run {job.kind!r} jobs (it runs "
                                 f"{', '.join(sorted(self.planners))})")
            plan = planner(job)
            if getattr(plan, "images", None):  # --- follow-ups: upscale_subtle needs no engine
                self._complete(_Active(job, plan, time.monotonic(), now), plan.images, plan.model_seconds)
                return
            plan.request.attempt = job.attempt
            self.engine.submit(plan.request)
        except (ValueError, RequestError) as exc:
            code = "unsupported_kind" if planner is None else "invalid_request"
            self._fail(job, code, str(exc), retryable=False)
            return
        self.active[job.id] = _Active(job, plan, started=time.monotonic(), last_heartbeat=now,
                                      total=job.steps)
        self.events.publish(job.id, {"type": "progress", "state": "running", "step": 0,
                                     "total": job.steps, "attempt": job.attempt})

    # --- engine events -------------------------------------------------------------------------------
    def _handle(self, event: Any) -> None:
        from pixelmill.engine import Cancelled, Completed, Failed, Preempted, Progress

        act = self.active.get(event.job_id)
        if act is None:
            return
        if isinstance(event, Progress):
            act.step, act.total = event.step, event.total
            self.events.publish(act.job.id, {"type": "progress", "state": "running", "step": event.step,
                                             "total": event.total, "attempt": act.job.attempt})
        elif isinstance(event, Completed):
            self.active.pop(event.job_id)
            self._complete(act, event.images, event.model_seconds)
        elif isinstance(event, Failed):
            self.active.pop(event.job_id)
            if event.reason == "stale_attempt":
                log.warning("job %s: attempt %d is stale, result dropped", act.job.id, act.job.attempt)
                return
            self._fail(act.job, event.reason, event.message,
                       retryable=event.reason not in NON_RETRYABLE)
        elif isinstance(event, Cancelled):
            self.active.pop(event.job_id)  # the store already says CANCELLED (or a newer attempt owns it)
        elif isinstance(event, Preempted):
            self.active.pop(event.job_id)
            self._release(event.job_id, act)

    def _complete(self, act: _Active, images: list[Image.Image], model_seconds: float) -> None:
        job = act.job
        timings = JobTimings(denoise_s=time.monotonic() - act.started)
        images = act.plan.finish(images)
        blocked: str | None = None
        t0 = time.monotonic()
        if self.post_filter is not None:
            for image in images:
                verdict = self.post_filter(image)
                if not verdict.allowed:
                    blocked = verdict.category or "unsafe"
                    break
        timings.post_filter_s = time.monotonic() - t0
        t0 = time.monotonic()
        stored = []
        for i, image in enumerate(images):
            data = png_bytes(image)
            digest = hashlib.sha256(data).hexdigest()
            if blocked:
                self.blobs.put(f"quarantine/{digest}.png", data)
            else:
                self.blobs.put_content(data, ".png")
            stored.append(JobImage(digest, image.width, image.height, job.seed + i, i))
        timings.store_s = time.monotonic() - t0
        try:
            if blocked:
                done = self.store.block(job.id, job.attempt, self.worker_id, blocked,
                                        "an image was blocked by the safety filter", stored, timings,
                                        model_seconds, self.clock())
            else:
                done = self.store.succeed(job.id, job.attempt, self.worker_id, stored, timings,
                                          model_seconds, self.clock())
        except StaleAttempt:
            log.warning("job %s: completion of stale attempt %d refused", job.id, job.attempt)
            return
        DENOISE_SECONDS.observe(model_seconds)
        self.sink.delete(job.id)
        self._publish_final(done)

    def _fail(self, job: Job, code: str, message: str, *, retryable: bool) -> None:
        try:
            done = self.store.fail(job.id, job.attempt, self.worker_id, code, message,
                                   retryable=retryable, now=self.clock())
        except StaleAttempt:
            return
        if done.state.finished:
            self._publish_final(done)
        else:
            self.events.publish(job.id, {"type": "requeued", "state": "queued", "reason": code})

    def _release(self, job_id: str, act: _Active) -> None:
        self.active.pop(job_id, None)
        try:
            self.store.release(job_id, act.job.attempt, self.worker_id, now=self.clock())
        except StaleAttempt:
            return
        self.events.publish(job_id, {"type": "requeued", "state": "queued", "reason": "preempted"})

    def _publish_final(self, job: Job) -> None:
        JOBS.labels(state=job.state.value).inc()
        finished = job.finished_at if job.finished_at is not None else self.clock()
        E2E_SECONDS.labels(tier=job.tier).observe(max(0.0, finished - job.created_at))
        self.events.publish(job.id, {
            "type": "completed", "state": job.state.value,
            "images": [{"sha256": i.sha256, "width": i.width, "height": i.height, "seed": i.seed,
                        "index": i.index} for i in job.images if job.state.value == "succeeded"],
            "error_code": job.error_code, "error_message": job.error_message,
        })

    # --- leases ---------------------------------------------------------------------------------------
    def _heartbeat(self, now: float) -> None:
        for job_id, act in list(self.active.items()):
            if now - act.last_heartbeat < self.heartbeat_every_s:
                continue
            act.last_heartbeat = now
            try:
                keep = self.store.heartbeat(job_id, act.job.attempt, self.worker_id, act.step,
                                            act.total, now=now, lease_s=self.lease_s)
            except StaleAttempt:
                log.warning("job %s: lease lost (a newer attempt owns it): stopping", job_id)
                keep = False
            if not keep:
                self.engine.cancel(job_id)

    def _beacon(self, now: float) -> None:
        if now - self._last_beacon >= self.heartbeat_every_s:
            self._last_beacon = now
            WORKER_HEARTBEAT.labels(worker=self.worker_id).set(now)
            try:
                self.blobs.put(f"workers/{self.worker_id}/heartbeat", repr(now).encode())
            except Exception:  # liveness beacon only: never stop work for it
                log.exception("worker heartbeat blob could not be written")


def _default_post_filter() -> PostFilter | None:
    try:
        from pixelmill.safety.postfilter import PostFilter as SafetyPostFilter
    except ImportError:
        log.warning("safety post-filter not installed: images are not screened")
        return None
    screen: PostFilter = SafetyPostFilter.default().screen
    return screen
