"""The job store logic shared by SQLite and PostgreSQL.

Every mutation is one transaction that loads the rows it changes (locked: SQLite holds the
database write lock from ``BEGIN IMMEDIATE``, PostgreSQL locks them ``FOR UPDATE``), changes the
:class:`~pixelmill.jobs.Job` in Python through :func:`~pixelmill.jobs.transition` and
:func:`~pixelmill.jobs.check_fence` (the one place rules live) and writes it back with the named
query ``save_job`` (a claim uses the slimmer ``claim_job``). A dialect supplies its SQL
(:class:`Queries`), its migrations, connections and the candidate query of a claim.

Schema (the same in both dialects; see the dialect modules for the DDL): ``users``,
``api_keys`` (SHA-256 of the key), ``lanes`` (one row per lane: the stride-scheduler pass),
``jobs`` (one column per :class:`~pixelmill.jobs.Job` field; ``params``, ``images``,
``checkpoints``, ``timings`` as JSON; plus ``body_hash`` for idempotency), ``usage``
(GPU-seconds per user and mode), ``job_images`` (succeeded images by SHA-256: who may see
them; migration 2), ``schema_version``.
"""

from __future__ import annotations

import base64
import contextlib
import json
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from typing import Any

from pixelmill.jobs import (
    CheckpointRef,
    IdempotencyConflict,
    Job,
    JobImage,
    JobNotFound,
    JobRequest,
    JobState,
    JobTimings,
    UnknownUser,
    check_fence,
    transition,
)
from pixelmill.scheduling import LanePolicy, LaneState, QueueHead
from pixelmill.store.jobstore import JobPage, Usage, User, hash_api_key, new_api_key
from pixelmill.tiers import LANES, Policy, Tier

JOB_COLUMNS: tuple[str, ...] = (
    "id", "user_id", "tier", "mode", "lane", "prompt", "params", "kind", "step_budget", "steps",
    "n_images", "seed", "width", "height", "model_id", "parent_job_id", "parent_image_index",
    "idempotency_key", "webhook_url", "private", "state", "attempt", "failures", "max_attempts",
    "lease_expires_at", "worker_id", "not_before", "progress_step", "progress_total", "error_code",
    "error_message", "block_category", "images", "checkpoints", "timings", "gpu_seconds",
    "created_at", "claimed_at", "finished_at",
)
"""The ``jobs`` columns that mirror :class:`Job` fields (a test checks they match)."""

MUTABLE_COLUMNS: tuple[str, ...] = (
    "state", "attempt", "failures", "lease_expires_at", "worker_id", "not_before", "progress_step",
    "progress_total", "error_code", "error_message", "block_category", "images", "checkpoints",
    "timings", "gpu_seconds", "claimed_at", "finished_at",
)
"""What ``save_job`` writes: everything that changes after submit."""

CLAIM_COLUMNS: tuple[str, ...] = ("id", "state", "attempt", "worker_id", "lease_expires_at",
                                  "claimed_at", "timings")
"""What ``claim_job`` writes (a claim changes nothing else: a slimmer write under the lane lock)."""

JSON_COLUMNS = frozenset({"params", "images", "checkpoints", "timings"})


@dataclass(frozen=True)
class Queries:
    """A dialect's named SQL. Parameters are named (``:x`` in SQLite, ``%(x)s`` in PostgreSQL)."""

    insert_user: str
    get_user: str
    set_tier: str
    insert_api_key: str
    user_by_key_hash: str
    insert_job: str
    get_job: str
    get_job_for_update: str
    job_by_idempotency_key: str
    save_job: str
    claim_job: str
    list_user_jobs: str
    children: str
    queue_position: str
    lane_depths: str
    lanes_for_update: str
    save_lane: str
    expired_for_update: str
    user_jobs: str
    delete_user_jobs: str
    delete_user_usage: str
    delete_user_keys: str
    add_usage: str
    usage_by_user: str
    insert_job_image: str
    image_owner: str
    delete_user_job_images: str
    count_user_jobs: str


@dataclass
class ClaimTx:
    """An open claim transaction: its cursor, the locked lane rows, the candidate rows per lane
    (see ``_candidates``), the writes to apply."""

    cur: Any
    lane_rows: list[dict[str, Any]]
    candidates: dict[str, list[dict[str, Any]]]
    staged: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def stage(self, sql: str, params: dict[str, Any]) -> None:
        self.staged.append((sql, params))


def job_from_row(row: dict[str, Any]) -> Job:
    data = {c: row[c] for c in JOB_COLUMNS}
    for c in JSON_COLUMNS:
        if isinstance(data[c], str):
            data[c] = json.loads(data[c])
    data["private"] = bool(data["private"])
    return Job.from_dict(data)


def encode_cursor(job: Job) -> str:
    return base64.urlsafe_b64encode(json.dumps([job.created_at, job.id]).encode()).decode()


def decode_cursor(cursor: str) -> tuple[float, str]:
    try:
        created_at, job_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return float(created_at), str(job_id)
    except Exception:
        raise ValueError(f"bad cursor {cursor!r}: pass the next_cursor of a previous page") from None


def apply_migrations(cur: Any, migrations: Sequence[tuple[int, Sequence[str]]], insert_version: str) -> int:
    """Apply, in ``cur``'s open transaction, each migration newer than ``schema_version`` (created
    if missing) and record it with ``insert_version`` (one positional parameter, the version);
    return the schema version. The caller keeps other migrators out (lock) for the transaction."""
    cur.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    cur.execute("SELECT max(version) AS v FROM schema_version")
    current = cur.fetchone()["v"] or 0
    for version, statements in migrations:
        if version > current:
            for sql in statements:
                cur.execute(sql)
            cur.execute(insert_version, (version,))
            current = version
    return int(current)

class SqlJobStore(ABC):
    """A :class:`~pixelmill.store.jobstore.JobStore` over a small pool of DB-API connections.

    - ``policy``: the lane policy's numbers (weights, free floor).
    - ``max_connections``: most connections open at once (callers beyond it wait for one).
    """

    Q: Queries

    def __init__(self, policy: Policy | None = None, *, max_connections: int = 16) -> None:
        self.lane_policy = LanePolicy(policy)
        self.max_connections = max_connections
        self._idle: list[Any] = []
        self._open = 0
        self._pool = threading.Condition()
        self._closed = False

    # --- dialect hooks -------------------------------------------------------------------------
    @abstractmethod
    def _connect(self) -> Any:
        """A new autocommit connection whose cursors return dict-like rows."""

    @abstractmethod
    def _tx(self) -> AbstractContextManager[Any]:
        """A write transaction yielding a cursor; commits on exit, rolls back on error."""

    @abstractmethod
    def _candidates(self, cur: Any, model_id: str, size: tuple[int, int] | None, now: float,
                    k: int) -> dict[str, list[dict[str, Any]]]:
        """Claimable rows per lane (queued, this model/size, ``not_before <= now``), each with
        ``user_usage_s``; fair lanes oldest first, relax by usage then age; at most ``k`` per lane;
        in PostgreSQL locked ``FOR UPDATE SKIP LOCKED``."""

    @contextlib.contextmanager
    def _claim_tx(self, model_id: str, size: tuple[int, int] | None, now: float,
                  k: int) -> Iterator[ClaimTx]:
        """The claim's transaction: lane rows read under lock, candidates fetched; the staged
        writes are applied and committed on exit. PostgreSQL overrides it to shorten the time
        the lane rows stay locked."""
        with self._tx() as cur:
            lanes = self._fetch(cur, self.Q.lanes_for_update, {})
            tx = ClaimTx(cur, lanes, self._candidates(cur, model_id, size, now, k))
            yield tx
            for sql, params in tx.staged:
                cur.execute(sql, params)

    def _is_broken(self, conn: Any) -> bool:
        """Whether a connection that raised must be discarded rather than reused."""
        return False

    def _json(self, value: Any) -> Any:
        """How a JSON column value is passed to the driver."""
        return json.dumps(value)

    # --- plumbing ------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _borrow(self) -> Iterator[Any]:
        """A connection from the pool for the duration of the block (never nest two borrows)."""
        conn = None
        with self._pool:
            while True:
                if self._closed:
                    raise RuntimeError("job store is closed")
                if self._idle:
                    conn = self._idle.pop()
                    break
                if self._open < self.max_connections:
                    self._open += 1
                    break
                self._pool.wait()
        healthy = True
        try:
            if conn is None:
                conn = self._connect()
            yield conn
        except BaseException:
            healthy = conn is not None and not self._is_broken(conn)
            raise
        finally:
            with self._pool:
                if healthy and conn is not None and not self._closed:
                    self._idle.append(conn)
                else:
                    if conn is not None:
                        with contextlib.suppress(Exception):
                            conn.close()
                    self._open -= 1
                self._pool.notify()

    def _rows(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        with self._borrow() as conn:
            return [dict(r) for r in conn.execute(sql, params or ()).fetchall()]

    @staticmethod
    def _fetch(cur: Any, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        cur.execute(sql, params)
        return [dict(r) for r in cur.fetchall()]

    def _job_params(self, job: Job, columns: Sequence[str]) -> dict[str, Any]:
        """Query parameters for these columns (built field by field: ``asdict`` of the whole
        job deep-copies its params and costs more than the claim's SQL)."""
        out: dict[str, Any] = {}
        for c in columns:
            value = getattr(job, c)
            if c == "state":
                value = value.value
            elif c in ("images", "checkpoints"):
                value = [asdict(v) for v in value]
            elif c == "timings":
                value = asdict(value)
            out[c] = self._json(value) if c in JSON_COLUMNS else value
        return out

    def _save(self, cur: Any, job: Job) -> None:
        cur.execute(self.Q.save_job, self._job_params(job, ("id", *MUTABLE_COLUMNS)))

    def _load(self, cur: Any, job_id: str) -> Job:
        rows = self._fetch(cur, self.Q.get_job_for_update, {"id": job_id})
        if not rows:
            raise JobNotFound(f"job {job_id} not found")
        return job_from_row(rows[0])

    def close(self) -> None:
        """Close idle connections now and borrowed ones when they come back."""
        with self._pool:
            self._closed = True
            for conn in self._idle:
                with contextlib.suppress(Exception):
                    conn.close()
            self._open -= len(self._idle)
            self._idle.clear()
            self._pool.notify_all()

    # --- users -------------------------------------------------------------------------------
    def create_user(self, name: str, tier: str, now: float | None = None) -> tuple[User, str]:
        if not name.strip():
            raise ValueError("user name: must not be empty")
        user = User(id=uuid.uuid4().hex, name=name, tier=Tier(tier).value,
                    created_at=time.time() if now is None else now)
        key = new_api_key()
        with self._tx() as cur:
            cur.execute(self.Q.insert_user, {"id": user.id, "name": user.name, "tier": user.tier,
                                             "created_at": user.created_at})
            cur.execute(self.Q.insert_api_key, {"key_hash": hash_api_key(key), "user_id": user.id,
                                                "created_at": user.created_at})
        return user, key

    def get_user(self, user_id: str) -> User:
        rows = self._rows(self.Q.get_user, {"id": user_id})
        if not rows:
            raise UnknownUser(f"user {user_id} not found")
        return User(**rows[0])

    def user_by_api_key(self, key: str) -> User | None:
        rows = self._rows(self.Q.user_by_key_hash, {"key_hash": hash_api_key(key)})
        return User(**rows[0]) if rows else None

    def set_tier(self, user_id: str, tier: str) -> User:
        with self._tx() as cur:
            cur.execute(self.Q.set_tier, {"id": user_id, "tier": Tier(tier).value})
            if cur.rowcount == 0:
                raise UnknownUser(f"user {user_id} not found")
        return self.get_user(user_id)

    def usage(self, user_id: str) -> Usage:
        rows = self._rows(self.Q.usage_by_user, {"user_id": user_id})
        return Usage(user_id, {r["mode"]: float(r["gpu_seconds"]) for r in rows})

    # --- submit and read ------------------------------------------------------------------------
    def submit(self, request: JobRequest, now: float | None = None) -> Job:
        now = time.time() if now is None else now
        job = Job.from_request(request, now)  # validates
        body_hash = request.body_hash()
        with self._tx() as cur:
            if not self._fetch(cur, self.Q.get_user, {"id": request.user_id}):
                raise UnknownUser(f"user {request.user_id} not found")
            if request.idempotency_key is not None:
                rows = self._fetch(cur, self.Q.job_by_idempotency_key,
                                   {"user_id": request.user_id, "key": request.idempotency_key})
                if rows:
                    if rows[0]["body_hash"] != body_hash:
                        raise IdempotencyConflict(
                            f"idempotency key {request.idempotency_key!r} was already used for a "
                            "different request: use a new key for a new request")
                    return job_from_row(rows[0])
            cur.execute(self.Q.insert_job, {**self._job_params(job, JOB_COLUMNS), "body_hash": body_hash})
        return job

    def get(self, job_id: str) -> Job:
        rows = self._rows(self.Q.get_job, {"id": job_id})
        if not rows:
            raise JobNotFound(f"job {job_id} not found")
        return job_from_row(rows[0])

    def list_user_jobs(self, user_id: str, cursor: str | None = None, limit: int = 50,
                       query: str | None = None) -> JobPage:
        if not 1 <= limit <= 1000:
            raise ValueError(f"limit: must be between 1 and 1000, got {limit}")
        c_at, c_id = decode_cursor(cursor) if cursor else (None, None)
        rows = self._rows(self.Q.list_user_jobs, {"user_id": user_id, "c_at": c_at, "c_id": c_id,
                                                  "q": query or None, "limit": limit + 1})
        jobs = [job_from_row(r) for r in rows[:limit]]
        return JobPage(jobs, encode_cursor(jobs[-1]) if len(rows) > limit else None)

    def children(self, job_id: str) -> list[Job]:
        return [job_from_row(r) for r in self._rows(self.Q.children, {"parent": job_id})]

    def queue_position(self, job_id: str) -> int | None:
        job = self.get(job_id)
        if job.state is not JobState.QUEUED:
            return None
        rows = self._rows(self.Q.queue_position, {"lane": job.lane, "created_at": job.created_at,
                                                  "id": job.id})
        return int(rows[0]["n"])

    def lane_depths(self) -> dict[str, int]:
        depths = dict.fromkeys(LANES, 0)
        for r in self._rows(self.Q.lane_depths):
            depths[r["lane"]] = int(r["n"])
        return depths

    def image_owner(self, sha256: str) -> tuple[str, bool] | None:
        rows = self._rows(self.Q.image_owner, {"sha256": sha256})
        return (rows[0]["user_id"], bool(rows[0]["private"])) if rows else None

    def count_user_jobs(self, user_id: str, states: Sequence[str]) -> int:
        wanted = [JobState(s).value for s in states]
        rows = self._rows(self.Q.count_user_jobs, {"user_id": user_id, "states": wanted,
                                                   "states_csv": "," + ",".join(wanted) + ","})
        return int(rows[0]["n"])

    def cancel(self, job_id: str, user_id: str | None = None, now: float | None = None) -> Job:
        now = time.time() if now is None else now
        with self._tx() as cur:
            job = self._load(cur, job_id)
            if user_id is not None and job.user_id != user_id:
                raise JobNotFound(f"job {job_id} not found")
            if job.state is JobState.CANCELLED:
                return job
            transition(job, JobState.CANCELLED)
            job.lease_expires_at = None
            job.finished_at = now
            self._save(cur, job)
        return job

    def delete_user_data(self, user_id: str) -> list[str]:
        with self._tx() as cur:
            rows = self._fetch(cur, self.Q.user_jobs, {"user_id": user_id})
            keys = [key for r in rows for key in job_from_row(r).blob_keys()]
            for sql in (self.Q.delete_user_job_images, self.Q.delete_user_jobs, self.Q.delete_user_usage,
                        self.Q.delete_user_keys):
                cur.execute(sql, {"user_id": user_id})
            # Content-addressed images another user's job also produced must stay.
            shared = {key for key in keys if key.startswith("images/") and self._fetch(
                cur, self.Q.image_owner, {"sha256": key[len("images/"):-len(".png")]})}
        return sorted(dict.fromkeys(k for k in keys if k not in shared))

    # --- claims and leases ------------------------------------------------------------------------
    def claim(self, worker_id: str, k: int, model_id: str, now: float | None = None, *,
              lease_s: float = 30.0, size: tuple[int, int] | None = None) -> list[Job]:
        now = time.time() if now is None else now
        if k < 1:
            return []
        with self._claim_tx(model_id, size, now, k) as tx:
            lanes = {r["lane"]: LaneState(r["lane"], float(r["pass_value"]), bool(r["active"]))
                     for r in tx.lane_rows}
            before = {name: (s.pass_value, s.active) for name, s in lanes.items()}
            rows = tx.candidates
            by_id = {r["id"]: r for lane_rows in rows.values() for r in lane_rows}
            heads = {lane: [QueueHead(lane, r["id"], float(r["created_at"]), r["tier"],
                                      float(r["user_usage_s"])) for r in lane_rows]
                     for lane, lane_rows in rows.items()}
            chosen = self.lane_policy.pick_many(heads, lanes, now, k)
            claimed = []
            for head in chosen:
                job = job_from_row(by_id[head.job_id])
                transition(job, JobState.RUNNING)
                job.attempt += 1
                job.worker_id = worker_id
                job.lease_expires_at = now + lease_s
                job.claimed_at = now
                job.timings.queue_wait_s += max(0.0, now - max(job.created_at, job.not_before))
                tx.stage(self.Q.claim_job, self._job_params(job, CLAIM_COLUMNS))
                claimed.append(job)
            for name, state in lanes.items():
                if (state.pass_value, state.active) != before.get(name):
                    tx.stage(self.Q.save_lane, {"lane": name, "pass_value": state.pass_value,
                                                "active": state.active})
        return claimed

    def heartbeat(self, job_id: str, attempt: int, worker_id: str, progress_step: int,
                  progress_total: int | None = None, now: float | None = None,
                  lease_s: float = 30.0) -> bool:
        now = time.time() if now is None else now
        with self._tx() as cur:
            job = self._load(cur, job_id)
            if (job.state is JobState.CANCELLED and job.attempt == attempt
                    and job.worker_id == worker_id):
                return False
            check_fence(job, attempt, worker_id)
            job.lease_expires_at = now + lease_s
            job.progress_step = progress_step
            if progress_total is not None:
                job.progress_total = progress_total
            self._save(cur, job)
        return True

    def record_checkpoint(self, job_id: str, attempt: int, worker_id: str, ref: CheckpointRef,
                          keep: int = 2) -> list[str]:
        with self._tx() as cur:
            job = self._load(cur, job_id)
            check_fence(job, attempt, worker_id)
            ref = CheckpointRef(ref.key, ref.sha256, ref.step, ref.sample, attempt)
            mine = [c for c in job.checkpoints if c.sample == ref.sample and c.key != ref.key] + [ref]
            mine.sort(key=lambda c: c.step)
            dropped = mine[:-keep] if keep > 0 else mine
            others = [c for c in job.checkpoints if c.sample != ref.sample]
            job.checkpoints = others + mine[-keep:] if keep > 0 else others
            self._save(cur, job)
        return [c.key for c in dropped]

    def _finish(self, job_id: str, attempt: int, worker_id: str, state: JobState,
                gpu_seconds: float, now: float, timings: JobTimings | None = None,
                index_images: bool = False, **changes: Any) -> Job:
        """A fenced completion: RUNNING -> ``state`` with ``changes``; adds timings and GPU time."""
        with self._tx() as cur:
            job = self._load(cur, job_id)
            check_fence(job, attempt, worker_id)
            transition(job, state)
            for name, value in changes.items():
                setattr(job, name, value)
            if timings is not None:
                t = job.timings
                job.timings = JobTimings(t.queue_wait_s + timings.queue_wait_s,
                                         t.denoise_s + timings.denoise_s,
                                         t.post_filter_s + timings.post_filter_s,
                                         t.store_s + timings.store_s)
            job.gpu_seconds += gpu_seconds
            job.lease_expires_at = None
            if state.finished:
                job.finished_at = now
                job.progress_step = job.progress_total if state is JobState.SUCCEEDED else job.progress_step
            self._save(cur, job)
            if index_images:
                for img in job.images:
                    cur.execute(self.Q.insert_job_image, {"sha256": img.sha256, "job_id": job.id,
                                                          "idx": img.index})
            if gpu_seconds:
                cur.execute(self.Q.add_usage, {"user_id": job.user_id, "mode": job.mode,
                                               "gpu_seconds": gpu_seconds})
        return job

    def succeed(self, job_id: str, attempt: int, worker_id: str, images: Sequence[JobImage],
                timings: JobTimings, gpu_seconds: float, now: float | None = None) -> Job:
        now = time.time() if now is None else now
        return self._finish(job_id, attempt, worker_id, JobState.SUCCEEDED, gpu_seconds, now,
                            timings, index_images=True, images=list(images), error_code=None,
                            error_message=None, checkpoints=[])

    def block(self, job_id: str, attempt: int, worker_id: str, category: str, message: str,
              images: Sequence[JobImage], timings: JobTimings, gpu_seconds: float,
              now: float | None = None) -> Job:
        now = time.time() if now is None else now
        return self._finish(job_id, attempt, worker_id, JobState.BLOCKED, gpu_seconds, now,
                            timings, images=list(images), block_category=category,
                            error_code="image_blocked", error_message=message, checkpoints=[])

    @staticmethod
    def _requeue_or_fail(job: Job, code: str, message: str, now: float, backoff_s: float,
                         retryable: bool = True) -> None:
        """One failed attempt: back to the queue with backoff, or FAILED when none are left."""
        job.failures += 1
        job.lease_expires_at = None
        if retryable and job.failures < job.max_attempts:
            transition(job, JobState.QUEUED)
            job.not_before = now + backoff_s * 2 ** (job.failures - 1)
            job.error_code, job.error_message = code, message
            return
        transition(job, JobState.FAILED)
        job.finished_at = now
        if retryable:
            job.error_code = "max_attempts"
            job.error_message = f"gave up after {job.failures} failed attempts; last: {code}: {message}"
        else:
            job.error_code, job.error_message = code, message

    def fail(self, job_id: str, attempt: int, worker_id: str, code: str, message: str, *,
             retryable: bool = True, gpu_seconds: float = 0.0, now: float | None = None,
             backoff_s: float = 1.0) -> Job:
        now = time.time() if now is None else now
        with self._tx() as cur:
            job = self._load(cur, job_id)
            check_fence(job, attempt, worker_id)
            self._requeue_or_fail(job, code, message, now, backoff_s, retryable)
            job.gpu_seconds += gpu_seconds
            self._save(cur, job)
            if gpu_seconds:
                cur.execute(self.Q.add_usage, {"user_id": job.user_id, "mode": job.mode,
                                               "gpu_seconds": gpu_seconds})
        return job

    def release(self, job_id: str, attempt: int, worker_id: str, *, gpu_seconds: float = 0.0,
                now: float | None = None) -> Job:
        now = time.time() if now is None else now
        return self._finish(job_id, attempt, worker_id, JobState.QUEUED, gpu_seconds, now,
                            not_before=now)

    def requeue_expired(self, now: float | None = None, backoff_s: float = 1.0) -> list[str]:
        now = time.time() if now is None else now
        with self._tx() as cur:
            handled = []
            for row in self._fetch(cur, self.Q.expired_for_update, {"now": now}):
                job = job_from_row(row)
                self._requeue_or_fail(job, "lease_expired",
                                      f"worker {job.worker_id} stopped heartbeating (attempt {job.attempt})",
                                      now, backoff_s)
                self._save(cur, job)
                handled.append(job.id)
        return handled
