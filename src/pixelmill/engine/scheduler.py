"""The engine's scheduler: who runs this iteration (pure bookkeeping, no tensors, no I/O).

One progress rule: each running job's ``steps_done`` catches up to its ``target``
(``GenerationRequest.steps_to_run()``, never above the step budget). Admission policies:

- ``continuous`` (default): at every step boundary, admit waiting jobs in FIFO order while
  their samples fit in the free slots (a job that does not fit waits; nothing overtakes it).
- ``static``: a batch is formed only when nothing runs, then runs until its last job ends.
- ``sequential``: one job at a time.

Cancel and preempt requests are applied at the next :meth:`Scheduler.schedule`.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from enum import IntEnum
from typing import Literal

from pixelmill.engine.checkpoint import ResumePoint
from pixelmill.engine.plan import Admit, Advance, GroupKey, Plan, Preempt, RunnerOutput
from pixelmill.engine.request import (
    Cancelled,
    Completed,
    EngineEvent,
    Failed,
    GenerationRequest,
    Preempted,
    Progress,
)

Policy = Literal["continuous", "static", "sequential"]
POLICIES: tuple[str, ...] = ("continuous", "static", "sequential")


class JobStatus(IntEnum):
    """Ordered lifecycle: ``status >= JobStatus.COMPLETED`` means finished."""

    WAITING = 0
    RUNNING = 1
    COMPLETED = 2
    FAILED = 3
    CANCELLED = 4
    PREEMPTED = 5


@dataclass
class JobRecord:
    request: GenerationRequest
    resume: ResumePoint | None
    status: JobStatus = JobStatus.WAITING
    steps_done: int = 0
    target: int = 0
    model_seconds: float = 0.0
    cancel: bool = False
    preempt: bool = False

    @property
    def key(self) -> GroupKey:
        r = self.request
        return (r.model_id, r.width, r.height, r.tile)


class Scheduler:
    """Plans iterations for at most ``max_batch`` running samples."""

    def __init__(
        self, *, max_batch: int = 8, checkpoint_every: int = 10, policy: Policy = "continuous"
    ) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be >= 1, got {max_batch}")
        if checkpoint_every < 0:
            raise ValueError(f"checkpoint_every must be >= 0 (0 = off), got {checkpoint_every}")
        if policy not in POLICIES:
            raise ValueError(f"policy must be one of {', '.join(POLICIES)}, got {policy!r}")
        self.max_batch = max_batch
        self.checkpoint_every = checkpoint_every
        self.policy = policy
        self.jobs: OrderedDict[str, JobRecord] = OrderedDict()

    # --- commands -----------------------------------------------------------------------------
    def add(self, request: GenerationRequest, resume: ResumePoint | None = None) -> None:
        rec = JobRecord(request, resume, target=request.steps_to_run())
        rec.steps_done = resume.step if resume else 0
        self.jobs[request.job_id] = rec

    def request_cancel(self, job_id: str) -> bool:
        rec = self.jobs.get(job_id)
        if rec is None:
            return False
        rec.cancel = True
        return True

    def request_preempt(self, job_id: str) -> bool:
        rec = self.jobs.get(job_id)
        if rec is None:
            return False
        rec.preempt = True
        return True

    # --- views --------------------------------------------------------------------------------
    def running(self) -> list[JobRecord]:
        return [r for r in self.jobs.values() if r.status is JobStatus.RUNNING]

    def waiting(self) -> list[JobRecord]:
        return [r for r in self.jobs.values() if r.status is JobStatus.WAITING]

    @property
    def used_slots(self) -> int:
        return sum(r.request.n_images for r in self.running())

    @property
    def has_work(self) -> bool:
        return bool(self.jobs)

    # --- 1. plan ------------------------------------------------------------------------------
    def schedule(self) -> Plan:
        cancel = tuple(r.request.job_id for r in self.jobs.values() if r.cancel)
        preempt = tuple(
            Preempt(r.request.job_id, r.steps_done, r.status is JobStatus.RUNNING)
            for r in self.jobs.values()
            if r.preempt and not r.cancel
        )
        gone = set(cancel) | {p.job_id for p in preempt}
        admit = self._admit(gone)
        groups: dict[GroupKey, list[str]] = {}
        checkpoint: list[tuple[str, int]] = []
        decode: list[str] = []
        for rec in self.jobs.values():
            job_id = rec.request.job_id
            if job_id in gone or (rec.status is not JobStatus.RUNNING and job_id not in admit):
                continue
            # Hard stop: never plan a step past the target or the budget.
            if rec.steps_done >= min(rec.target, rec.request.step_budget):
                decode.append(job_id)
                continue
            groups.setdefault(rec.key, []).append(job_id)
            after = rec.steps_done + 1
            if after >= rec.target:
                decode.append(job_id)
            elif self.checkpoint_every and after % self.checkpoint_every == 0:
                checkpoint.append((job_id, after))
        return Plan(
            cancel=cancel,
            preempt=preempt,
            admit=tuple(Admit(self.jobs[j].request, self.jobs[j].resume) for j in admit),
            advance=tuple(Advance(k, tuple(v)) for k, v in groups.items()),
            checkpoint=tuple(checkpoint),
            decode=tuple(decode),
        )

    def _admit(self, gone: set[str]) -> list[str]:
        running = [r for r in self.running() if r.request.job_id not in gone]
        if self.policy != "continuous" and running:
            return []
        free = self.max_batch - sum(r.request.n_images for r in running)
        out: list[str] = []
        for rec in self.waiting():
            if rec.request.job_id in gone:
                continue
            if rec.request.n_images > free or (self.policy == "sequential" and out):
                break
            out.append(rec.request.job_id)
            free -= rec.request.n_images
        return out

    # --- 3. absorb ------------------------------------------------------------------------------
    def update(self, plan: Plan, out: RunnerOutput) -> list[EngineEvent]:
        events: list[EngineEvent] = []
        for job_id in plan.cancel:
            self._finish(job_id, JobStatus.CANCELLED)
            events.append(Cancelled(job_id))
        for p in plan.preempt:
            self._finish(p.job_id, JobStatus.PREEMPTED)
            events.append(Preempted(p.job_id, p.step))
        for a in plan.admit:
            self.jobs[a.request.job_id].status = JobStatus.RUNNING
        for job_id, seconds in out.seconds.items():
            if job_id in self.jobs:
                self.jobs[job_id].model_seconds += seconds
        for job_id, (reason, message) in out.failed.items():
            if job_id in self.jobs:
                self._finish(job_id, JobStatus.FAILED)
                events.append(Failed(job_id, message, reason))
        for adv in plan.advance:
            for job_id in adv.job_ids:
                rec = self.jobs.get(job_id)
                if rec is None or rec.status >= JobStatus.COMPLETED:
                    continue
                rec.steps_done += 1
                events.append(Progress(job_id, rec.steps_done, rec.target))
        for job_id in plan.decode:
            rec = self.jobs.get(job_id)
            if rec is None or rec.status >= JobStatus.COMPLETED:
                continue
            self._finish(job_id, JobStatus.COMPLETED)
            events.append(Completed(job_id, out.images[job_id], rec.model_seconds, rec.steps_done))
        return events

    def _finish(self, job_id: str, status: JobStatus) -> None:
        rec = self.jobs.pop(job_id, None)
        if rec is not None:
            rec.status = status
