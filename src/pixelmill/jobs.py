"""Jobs: what a user asked for, where it is in its life, and what it produced.

A job's life is an ordered enum; "finished" is a comparison (``state.finished``), not a list::

                 claim (attempt += 1, lease set)
      +--------+ -------------------------------> +---------+  succeed   +-----------+
      | QUEUED |                                  | RUNNING | ---------> | SUCCEEDED |
      +--------+ <------------------------------- +---------+            +-----------+
        |   |      preempted / lease expired /      |  |  |    fail (no attempts left)
        |   |      retryable failure (backoff)      |  |  +-------------> +--------+
        |   |                                       |  |                  | FAILED |
        |   |  cancel                    cancel     |  |                  +--------+
        |   +------------> +-----------+ <----------+  |  post-filter blocks
        |                  | CANCELLED |               +-------------> +---------+
        |  pre-filter      +-----------+                               | BLOCKED |
        +----------------------------------------------------------->  +---------+
           (a blocked prompt is recorded BLOCKED at submit; never runs)

SUCCEEDED, FAILED, BLOCKED and CANCELLED are final. Every state change goes through
:func:`transition`, the single place that validates it (the stores call it inside their
transactions); an illegal change raises :class:`InvalidTransition`.

Attempts and fencing (DESIGN.md decision 4): ``attempt`` is the fencing token. Each claim
increments it; every heartbeat, checkpoint write and completion names the attempt it belongs to
and the store refuses a stale one with :class:`StaleAttempt`. ``failures`` counts attempts that
ended badly (a crash, an expired lease, an error); when it reaches ``max_attempts`` the job ends
FAILED with ``error_code = "max_attempts"``. A preemption is not a failure.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import Any

from pixelmill.tiers import Mode, Tier, lane_for

KINDS: tuple[str, ...] = ("imagine", "upscale", "vary", "zoom", "pan", "reroll", "remix")
"""``kind`` of a job: ``imagine`` or a follow-up action (follow-ups carry a parent image)."""


class JobError(Exception):
    """Base class of the job pipeline's errors."""


class InvalidTransition(JobError):
    """A state change the state machine does not allow (e.g. cancelling a finished job)."""


class StaleAttempt(JobError):
    """A write names an attempt (or worker) that no longer owns the job: a zombie's late write."""


class JobNotFound(JobError, KeyError):
    """No such job (or not visible to this user)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else "job not found"


class IdempotencyConflict(JobError):
    """The idempotency key was already used by this user for a different request body."""


class UnknownUser(JobError, KeyError):
    """No such user."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "user not found"


class JobState(StrEnum):
    """A job's state; members compare by their order here (QUEUED < RUNNING < final states)."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    BLOCKED = "blocked"
    CANCELLED = "cancelled"

    @property
    def rank(self) -> int:
        return _ORDER[self]

    @property
    def finished(self) -> bool:
        return self.rank >= _ORDER[JobState.SUCCEEDED]

    def __lt__(self, other: object) -> bool:
        return self.rank < JobState(other).rank  # type: ignore[arg-type]

    def __le__(self, other: object) -> bool:
        return self.rank <= JobState(other).rank  # type: ignore[arg-type]

    def __gt__(self, other: object) -> bool:
        return self.rank > JobState(other).rank  # type: ignore[arg-type]

    def __ge__(self, other: object) -> bool:
        return self.rank >= JobState(other).rank  # type: ignore[arg-type]


_ORDER = {state: i for i, state in enumerate(JobState)}

ALLOWED: dict[JobState, frozenset[JobState]] = {
    JobState.QUEUED: frozenset({JobState.RUNNING, JobState.CANCELLED, JobState.FAILED}),
    JobState.RUNNING: frozenset({JobState.QUEUED, JobState.SUCCEEDED, JobState.FAILED,
                                 JobState.BLOCKED, JobState.CANCELLED}),
    JobState.SUCCEEDED: frozenset(),
    JobState.FAILED: frozenset(),
    JobState.BLOCKED: frozenset(),
    JobState.CANCELLED: frozenset(),
}
"""The state machine drawn above: ``ALLOWED[old]`` is the set of states ``old`` may move to."""


@dataclass
class JobImage:
    """One produced image: stored under ``images/<sha256>.png`` (or ``quarantine/...``)."""

    sha256: str
    width: int
    height: int
    seed: int
    index: int


@dataclass
class JobTimings:
    """Seconds spent in each phase of the job (summed over attempts)."""

    queue_wait_s: float = 0.0
    denoise_s: float = 0.0
    post_filter_s: float = 0.0
    store_s: float = 0.0


@dataclass
class CheckpointRef:
    """Where one sample's checkpoint lies in the blob store (written by the attempt that made it)."""

    key: str
    sha256: str
    step: int
    sample: int = 0
    attempt: int = 0


@dataclass
class JobRequest:
    """What the gateway submits. The store assigns id, lane, state and timestamps.

    - ``prompt``: the raw text the user typed; ``params``: the parsed generation settings (JSON).
    - ``step_budget``: the tier's hard stop; ``steps``: the steps asked for (<= budget).
    - ``seed``: images use seeds ``seed .. seed + n_images - 1``.
    - ``parent_job_id`` / ``parent_image_index``: the image a follow-up acts on.
    - ``idempotency_key``: the same (user, key) returns the same job; another body raises
      :class:`IdempotencyConflict`.
    - ``private``: stealth; images need the owner's credentials.
    - ``block_category`` / ``block_message``: set when the pre-filter blocked the prompt; the job is
      recorded BLOCKED and never queued.
    - ``max_attempts``: failed attempts allowed before the job ends FAILED.
    """

    user_id: str
    tier: str
    mode: str
    prompt: str
    params: dict[str, Any] = field(default_factory=dict)
    kind: str = "imagine"
    step_budget: int = 30
    steps: int = 30
    n_images: int = 4
    seed: int = 0
    width: int = 64
    height: int = 64
    model_id: str = "builtin"
    parent_job_id: str | None = None
    parent_image_index: int | None = None
    idempotency_key: str | None = None
    webhook_url: str | None = None
    private: bool = False
    block_category: str | None = None
    block_message: str | None = None
    max_attempts: int = 3

    def validate(self) -> None:
        """Raise ValueError saying what to fix."""
        if self.kind not in KINDS:
            raise ValueError(f"kind {self.kind!r} is not one of {', '.join(KINDS)}")
        if self.steps < 1 or self.steps > self.step_budget:
            raise ValueError(
                f"steps must be between 1 and the step budget {self.step_budget}, got {self.steps}")
        if self.n_images < 1:
            raise ValueError(f"n_images must be at least 1, got {self.n_images}")
        if self.width < 8 or self.height < 8:
            raise ValueError(f"width and height must be at least 8 pixels, got {self.width}x{self.height}")
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")
        if self.kind != "imagine" and self.parent_job_id is None:
            raise ValueError(f"a {self.kind!r} follow-up needs parent_job_id and parent_image_index")
        if self.tier not in {t.value for t in Tier}:
            raise ValueError(f"tier {self.tier!r} is not one of {', '.join(t.value for t in Tier)}")
        if self.mode not in {m.value for m in Mode}:
            raise ValueError(f"mode {self.mode!r} is not one of {', '.join(m.value for m in Mode)}")

    def body_hash(self) -> str:
        """SHA-256 of the request body without its idempotency key (idempotency comparison)."""
        body = asdict(self)
        body.pop("idempotency_key")
        return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


@dataclass
class Job:
    """A job as the stores keep it. Field groups: request (see :class:`JobRequest`), life
    (state, attempt, failures, lease, worker, not_before), progress, outcome (error, block
    category, images), accounting (timings, gpu_seconds) and timestamps (epoch seconds)."""

    id: str
    user_id: str
    tier: str
    mode: str
    lane: str
    prompt: str
    params: dict[str, Any] = field(default_factory=dict)
    kind: str = "imagine"
    step_budget: int = 30
    steps: int = 30
    n_images: int = 4
    seed: int = 0
    width: int = 64
    height: int = 64
    model_id: str = "builtin"
    parent_job_id: str | None = None
    parent_image_index: int | None = None
    idempotency_key: str | None = None
    webhook_url: str | None = None
    private: bool = False
    state: JobState = JobState.QUEUED
    attempt: int = 0
    failures: int = 0
    max_attempts: int = 3
    lease_expires_at: float | None = None
    worker_id: str | None = None
    not_before: float = 0.0
    progress_step: int = 0
    progress_total: int = 0
    error_code: str | None = None
    error_message: str | None = None
    block_category: str | None = None
    images: list[JobImage] = field(default_factory=list)
    checkpoints: list[CheckpointRef] = field(default_factory=list)
    timings: JobTimings = field(default_factory=JobTimings)
    gpu_seconds: float = 0.0
    created_at: float = 0.0
    claimed_at: float | None = None
    finished_at: float | None = None

    @classmethod
    def from_request(cls, request: JobRequest, now: float, job_id: str | None = None) -> Job:
        """A new job for ``request``: QUEUED, or BLOCKED when the pre-filter blocked it."""
        request.validate()
        own = {f.name for f in fields(cls)}
        data = {k: v for k, v in asdict(request).items() if k in own}
        job = cls(id=job_id or new_job_id(), lane=lane_for(request.tier, request.mode),
                  created_at=now, progress_total=request.steps, **data)
        if request.block_category is not None:
            job.state = JobState.BLOCKED
            job.block_category = request.block_category
            job.error_code = "prompt_blocked"
            job.error_message = request.block_message or f"prompt blocked ({request.block_category})"
            job.finished_at = now
        return job

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (state as its string)."""
        data = asdict(self)
        data["state"] = self.state.value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Job:
        data = dict(data)
        data["state"] = JobState(data["state"])
        data["images"] = [JobImage(**i) for i in data.get("images", [])]
        data["checkpoints"] = [CheckpointRef(**c) for c in data.get("checkpoints", [])]
        data["timings"] = JobTimings(**data.get("timings", {}))
        own = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in own})

    def blob_keys(self) -> list[str]:
        """Every blob this job owns (images, quarantined images, checkpoints)."""
        prefix = "quarantine" if self.state is JobState.BLOCKED else "images"
        keys = [f"{prefix}/{img.sha256}.png" for img in self.images]
        return keys + [c.key for c in self.checkpoints]


def new_job_id() -> str:
    return uuid.uuid4().hex


def transition(job: Job, new: JobState) -> None:
    """Move ``job`` to ``new`` or raise :class:`InvalidTransition`: the one place that validates."""
    new = JobState(new)
    if new not in ALLOWED[job.state]:
        raise InvalidTransition(f"job {job.id} is {job.state.value}; it cannot become {new.value}")
    job.state = new


def check_fence(job: Job, attempt: int, worker_id: str | None = None) -> None:
    """Raise :class:`StaleAttempt` unless ``attempt`` (and ``worker_id``) own the running job."""
    if job.state is not JobState.RUNNING or job.attempt != attempt or (
        worker_id is not None and job.worker_id != worker_id
    ):
        raise StaleAttempt(
            f"job {job.id}: attempt {attempt} of worker {worker_id} no longer owns it "
            f"(job is {job.state.value}, attempt {job.attempt}, worker {job.worker_id})"
        )
