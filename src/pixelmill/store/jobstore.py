"""The job store contract: durable jobs, lanes, users and API keys.

Implementations: :class:`pixelmill.store.sqlite.SqliteJobStore` (embedded default) and
:class:`pixelmill.store.postgres.PostgresJobStore`; both share one schema with versioned
migrations and the same logic (:mod:`pixelmill.store.sqlstore`). Open one with
:func:`pixelmill.store.open_job_store`.

Contract of every :class:`JobStore` (``now`` arguments default to ``time.time()``):

- Durability: a job returned by :meth:`~JobStore.submit` is committed; it survives a restart.
- Idempotency: ``submit`` with the same (user, idempotency key) returns the first job; a different
  body under the same key raises :class:`~pixelmill.jobs.IdempotencyConflict`.
- Claims: :meth:`~JobStore.claim` takes up to ``k`` QUEUED jobs for ``model_id`` (and size, if
  given) whose ``not_before`` has passed, chosen by :class:`pixelmill.scheduling.LanePolicy` inside
  the claim transaction; each claimed job is RUNNING with ``attempt + 1``, a lease until
  ``now + lease_s`` and ``worker_id`` set. No job is ever handed to two claimers.
- Fencing: heartbeat, checkpoint and completion calls name ``(job_id, attempt, worker_id)``; a
  stale one raises :class:`~pixelmill.jobs.StaleAttempt` and changes nothing.
- Failures: a retryable failure or an expired lease counts one failure and requeues the job with
  exponential backoff (``not_before = now + backoff_s * 2 ** (failures - 1)``) keeping its
  checkpoints; at ``max_attempts`` failures it ends FAILED with ``error_code="max_attempts"``.
- Users: API keys are random, returned once, stored only as their SHA-256.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from pixelmill.jobs import CheckpointRef, Job, JobImage, JobRequest, JobTimings


@dataclass(frozen=True)
class User:
    """An account. ``tier`` decides lanes, budgets and limits (never the request body)."""

    id: str
    name: str
    tier: str
    created_at: float


@dataclass(frozen=True)
class JobPage:
    """One page of a user's jobs, newest first; pass ``next_cursor`` to get the next page."""

    jobs: list[Job]
    next_cursor: str | None


@dataclass(frozen=True)
class Usage:
    """GPU-seconds a user spent, per mode (``relax`` ordering and accounting)."""

    user_id: str
    by_mode: dict[str, float] = field(default_factory=dict)

    @property
    def total_s(self) -> float:
        return sum(self.by_mode.values())


def new_api_key() -> str:
    """A fresh API key (shown to the user once)."""
    return "pm_" + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    """What the store keeps of a key: its SHA-256 hex digest."""
    return hashlib.sha256(key.encode()).hexdigest()


@runtime_checkable
class JobStore(Protocol):
    """Durable jobs, lanes, users. Thread-safe: one instance may be shared by threads."""

    # --- users and API keys -------------------------------------------------------------
    def create_user(self, name: str, tier: str, now: float | None = None) -> tuple[User, str]:
        """Create a user; return it and its API key (the only time the key is visible)."""
        ...

    def get_user(self, user_id: str) -> User:
        """The user, or raise :class:`~pixelmill.jobs.UnknownUser`."""
        ...

    def user_by_api_key(self, key: str) -> User | None:
        """The user owning this API key, or None."""
        ...

    def set_tier(self, user_id: str, tier: str) -> User:
        """Change a user's tier (future jobs only). Unknown tier: ValueError."""
        ...

    def usage(self, user_id: str) -> Usage:
        """GPU-seconds used by the user, per mode."""
        ...

    # --- submitting and reading ------------------------------------------------------------
    def submit(self, request: JobRequest, now: float | None = None) -> Job:
        """Validate and store a job (QUEUED, or BLOCKED if ``request.block_category``).

        Raises ValueError (bad request, says what to fix), UnknownUser, IdempotencyConflict.
        """
        ...

    def get(self, job_id: str) -> Job:
        """The job, or raise :class:`~pixelmill.jobs.JobNotFound`."""
        ...

    def list_user_jobs(self, user_id: str, cursor: str | None = None, limit: int = 50,
                       query: str | None = None) -> JobPage:
        """The user's jobs newest first; ``query`` keeps jobs whose prompt contains it (any case).

        ``cursor`` is opaque (from a previous page). Bad cursor: ValueError."""
        ...

    def children(self, job_id: str) -> list[Job]:
        """Follow-up jobs whose parent is ``job_id``, oldest first."""
        ...

    def image_owner(self, sha256: str) -> tuple[str, bool] | None:
        """``(user_id, private)`` of a SUCCEEDED job that produced this image (a public one when
        several did); None when no live job has it (quarantined images never count)."""
        ...

    def count_user_jobs(self, user_id: str, states: Sequence[str]) -> int:
        """How many of the user's jobs are in these states (per-tier queued/running limits)."""
        ...

    def queue_position(self, job_id: str) -> int | None:
        """How many queued jobs of the same lane are ahead of this one (0 = next); None unless
        QUEUED."""
        ...

    def lane_depths(self) -> dict[str, int]:
        """Queued jobs per lane (every lane present, zero when empty)."""
        ...

    def cancel(self, job_id: str, user_id: str | None = None, now: float | None = None) -> Job:
        """Cancel a QUEUED or RUNNING job (cancelling a CANCELLED job returns it unchanged).

        A RUNNING job becomes CANCELLED at once: its worker learns it from its next heartbeat
        (which returns False) and its later writes are refused. ``user_id`` (when given) must own
        the job, else JobNotFound. A SUCCEEDED/FAILED/BLOCKED job raises InvalidTransition."""
        ...

    def delete_user_data(self, user_id: str) -> list[str]:
        """Delete the user's jobs, usage and API keys (the user row stays, tier kept); return
        the blob keys the caller must delete (images, quarantined images, checkpoints); an image
        another user's job also produced (same bytes, same key) is not listed."""
        ...

    # --- workers -----------------------------------------------------------------------------
    def claim(self, worker_id: str, k: int, model_id: str, now: float | None = None, *,
              lease_s: float = 30.0, size: tuple[int, int] | None = None) -> list[Job]:
        """Claim up to ``k`` jobs for this worker's model (and ``(width, height)`` if given)."""
        ...

    def heartbeat(self, job_id: str, attempt: int, worker_id: str, progress_step: int,
                  progress_total: int | None = None, now: float | None = None,
                  lease_s: float = 30.0) -> bool:
        """Extend the lease and record progress. False: the job was cancelled, stop it.
        Stale attempt: StaleAttempt."""
        ...

    def record_checkpoint(self, job_id: str, attempt: int, worker_id: str, ref: CheckpointRef,
                          keep: int = 2) -> list[str]:
        """Record a checkpoint written to the blob store; keep the newest ``keep`` per sample.
        Returns the blob keys of checkpoints dropped (the caller deletes them)."""
        ...

    def succeed(self, job_id: str, attempt: int, worker_id: str, images: Sequence[JobImage],
                timings: JobTimings, gpu_seconds: float, now: float | None = None) -> Job:
        """RUNNING -> SUCCEEDED with its images; adds timings and GPU time (user usage too).
        Checkpoint refs are cleared: the worker deletes those blobs once the images are stored."""
        ...

    def block(self, job_id: str, attempt: int, worker_id: str, category: str, message: str,
              images: Sequence[JobImage], timings: JobTimings, gpu_seconds: float,
              now: float | None = None) -> Job:
        """RUNNING -> BLOCKED (post-filter); ``images`` lie in quarantine, never served."""
        ...

    def fail(self, job_id: str, attempt: int, worker_id: str, code: str, message: str, *,
             retryable: bool = True, gpu_seconds: float = 0.0, now: float | None = None,
             backoff_s: float = 1.0) -> Job:
        """Record a failed attempt: requeue with backoff while attempts remain (and
        ``retryable``), else RUNNING -> FAILED with ``code``/``message``."""
        ...

    def release(self, job_id: str, attempt: int, worker_id: str, *, gpu_seconds: float = 0.0,
                now: float | None = None) -> Job:
        """RUNNING -> QUEUED without counting a failure (preempted or worker shutting down);
        checkpoints are kept so the next claimer resumes."""
        ...

    def requeue_expired(self, now: float | None = None, backoff_s: float = 1.0) -> list[str]:
        """Jobs whose lease expired go back to their lane (one failure each, checkpoints kept)
        or end FAILED at ``max_attempts``. Returns the ids handled."""
        ...

    def close(self) -> None: ...
