"""The engine: step-level continuous batching of denoising jobs.

Usage::

    engine = Engine(load_model(), max_batch=8, checkpoints=BlobCheckpointSink(blobs))
    engine.submit(request)            # admitted at the next step boundary
    while engine.has_work:
        for event in engine.step():   # Progress / Completed / Failed / Cancelled / Preempted
            ...

Not thread-safe: one thread owns an engine (a worker sends it commands between steps).
"""

from __future__ import annotations

import logging

from pixelmill.engine.checkpoint import CheckpointSink, find_resume
from pixelmill.engine.request import EngineEvent, GenerationRequest, RequestError
from pixelmill.engine.runner import Runner
from pixelmill.engine.scheduler import Policy, Scheduler
from pixelmill.models.base import DiffusionModel
from pixelmill.observability import ENGINE_BATCH

log = logging.getLogger(__name__)


class Engine:
    """Runs many jobs on one model, advancing every running sample one step per iteration.

    - ``max_batch``: most samples (images) running at once; a job needs ``len(seeds)`` slots.
    - ``checkpoints``: where sample checkpoints go (None: none are written or read).
    - ``checkpoint_every``: write each running sample's state every N steps (0 = off).
    - ``policy``: ``continuous`` (default); ``static`` and ``sequential`` exist for benchmarks.
    """

    def __init__(
        self,
        model: DiffusionModel,
        *,
        max_batch: int = 8,
        checkpoints: CheckpointSink | None = None,
        checkpoint_every: int = 10,
        policy: Policy = "continuous",
    ) -> None:
        self.model = model
        self.checkpoints = checkpoints
        self.scheduler = Scheduler(
            max_batch=max_batch,
            checkpoint_every=checkpoint_every if checkpoints is not None else 0,
            policy=policy,
        )
        self.runner = Runner(model, checkpoints)

    def submit(self, request: GenerationRequest) -> None:
        """Queue a job; it joins the batch at the next step boundary with free slots.

        Raises :class:`RequestError` for an invalid request (steps above the budget, a size
        that is not a multiple of ``model.info.multiple``, more images than ``max_batch``,
        another model's id, a job id already in the engine). When the checkpoint sink has
        valid checkpoints for this job, it resumes from the newest step all samples share.
        """
        info = self.model.info
        request.validate(multiple=info.multiple)
        if request.model_id and request.model_id != info.model_id:
            raise RequestError(f"model_id: this engine runs {info.model_id!r}, not {request.model_id!r}")
        if request.n_images > self.scheduler.max_batch:
            raise RequestError(
                f"seeds: {request.n_images} images do not fit the batch of {self.scheduler.max_batch}"
            )
        if request.job_id in self.scheduler.jobs:
            raise RequestError(f"job_id: job {request.job_id!r} is already in the engine")
        resume = None
        if self.checkpoints is not None:
            resume = find_resume(self.checkpoints, request.job_id, request.n_images, info.model_id)
            if resume is not None and resume.step > request.steps_to_run():
                log.warning("checkpoint of job %s is past its target: starting over", request.job_id)
                resume = None
        self.scheduler.add(request, resume)

    def cancel(self, job_id: str) -> bool:
        """Stop a job at the next step boundary (a ``Cancelled`` event). False if unknown."""
        return self.scheduler.request_cancel(job_id)

    def preempt(self, job_id: str) -> bool:
        """Checkpoint a job at the next step boundary and release its slots (a ``Preempted``
        event); submitting the same request again resumes it. False if unknown."""
        return self.scheduler.request_preempt(job_id)

    def step(self) -> list[EngineEvent]:
        """One iteration: plan, compute, absorb. Observes ``ENGINE_BATCH`` (samples advanced)."""
        plan = self.scheduler.schedule()
        if plan.advance:
            jobs = self.scheduler.jobs
            ENGINE_BATCH.observe(sum(jobs[j].request.n_images for a in plan.advance for j in a.job_ids))
        out = self.runner.execute(plan)
        return self.scheduler.update(plan, out)

    def run_until_idle(self, max_iterations: int | None = None) -> list[EngineEvent]:
        """Step until no job is left (or ``max_iterations``); return every event in order."""
        events: list[EngineEvent] = []
        n = 0
        while self.has_work and (max_iterations is None or n < max_iterations):
            events.extend(self.step())
            n += 1
        return events

    @property
    def free_slots(self) -> int:
        """Samples that could join now (waiting jobs will take them at the next step)."""
        return self.scheduler.max_batch - self.scheduler.used_slots

    @property
    def has_work(self) -> bool:
        return self.scheduler.has_work
