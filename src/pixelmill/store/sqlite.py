"""SQLite job store (the embedded default): all of SQLite's SQL, annotated, and its connection.

WAL journal (readers never block the writer); every write transaction starts with
``BEGIN IMMEDIATE`` so it holds the database write lock from its first statement: a claim reads
the lanes, picks with :class:`~pixelmill.scheduling.LanePolicy` and marks the jobs RUNNING with
no other writer in between, so no job is claimed twice (across threads and processes).
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pixelmill.store.sqlstore import (
    CLAIM_COLUMNS,
    JOB_COLUMNS,
    MUTABLE_COLUMNS,
    Queries,
    SqlJobStore,
    apply_migrations,
)
from pixelmill.tiers import LANES, Policy

# --- migrations: append a new version, never edit an old one ----------------------------------
MIGRATIONS: list[tuple[int, list[str]]] = [
    (1, [
        # Accounts. tier: free | paid | pro.
        """CREATE TABLE users (
            id TEXT PRIMARY KEY, name TEXT NOT NULL, tier TEXT NOT NULL, created_at REAL NOT NULL)""",
        # API keys are stored only as their SHA-256.
        """CREATE TABLE api_keys (
            key_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id),
            created_at REAL NOT NULL)""",
        # One row per lane: the stride scheduler's pass (scheduling.LaneState).
        """CREATE TABLE lanes (
            lane TEXT PRIMARY KEY, pass_value REAL NOT NULL DEFAULT 0,
            active INTEGER NOT NULL DEFAULT 0)""",
        # One column per jobs.Job field; params/images/checkpoints/timings are JSON text.
        """CREATE TABLE jobs (
            id TEXT PRIMARY KEY, user_id TEXT NOT NULL, tier TEXT NOT NULL, mode TEXT NOT NULL,
            lane TEXT NOT NULL, prompt TEXT NOT NULL, params TEXT NOT NULL, kind TEXT NOT NULL,
            step_budget INTEGER NOT NULL, steps INTEGER NOT NULL, n_images INTEGER NOT NULL,
            seed INTEGER NOT NULL, width INTEGER NOT NULL, height INTEGER NOT NULL,
            model_id TEXT NOT NULL, parent_job_id TEXT, parent_image_index INTEGER,
            idempotency_key TEXT, webhook_url TEXT, private INTEGER NOT NULL,
            state TEXT NOT NULL, attempt INTEGER NOT NULL, failures INTEGER NOT NULL,
            max_attempts INTEGER NOT NULL, lease_expires_at REAL, worker_id TEXT,
            not_before REAL NOT NULL, progress_step INTEGER NOT NULL,
            progress_total INTEGER NOT NULL, error_code TEXT, error_message TEXT,
            block_category TEXT, images TEXT NOT NULL, checkpoints TEXT NOT NULL,
            timings TEXT NOT NULL, gpu_seconds REAL NOT NULL, created_at REAL NOT NULL,
            claimed_at REAL, finished_at REAL,
            body_hash TEXT NOT NULL,                      -- idempotency: request body digest
            UNIQUE (user_id, idempotency_key))""",
        # The claim's scan: queued jobs of a lane and model, oldest first.
        """CREATE INDEX jobs_queue ON jobs (lane, model_id, created_at, id) WHERE state = 'queued'""",
        # The reaper's scan: running jobs by lease expiry.
        """CREATE INDEX jobs_leases ON jobs (lease_expires_at) WHERE state = 'running'""",
        # A user's history, newest first.
        """CREATE INDEX jobs_user ON jobs (user_id, created_at, id)""",
        """CREATE INDEX jobs_parent ON jobs (parent_job_id)""",
        # GPU-seconds per user and mode (relax ordering, accounting).
        """CREATE TABLE usage (
            user_id TEXT NOT NULL, mode TEXT NOT NULL, gpu_seconds REAL NOT NULL,
            PRIMARY KEY (user_id, mode))""",
        *[f"INSERT INTO lanes (lane) VALUES ('{lane}')" for lane in LANES],
    ]),
    (2, [
        # Images of succeeded jobs by content hash: who may see images/<sha256>.png.
        """CREATE TABLE job_images (
            sha256 TEXT NOT NULL, job_id TEXT NOT NULL REFERENCES jobs(id), idx INTEGER NOT NULL,
            PRIMARY KEY (sha256, job_id, idx))""",
        # Backfill from the jobs already done.
        """INSERT INTO job_images (sha256, job_id, idx)
            SELECT json_extract(i.value, '$.sha256'), j.id, json_extract(i.value, '$.index')
            FROM jobs j, json_each(j.images) i WHERE j.state = 'succeeded'""",
    ]),
]

_JOB_COLS = ", ".join(JOB_COLUMNS)

# --- named queries ----------------------------------------------------------------------------
QUERIES = Queries(
    insert_user="INSERT INTO users (id, name, tier, created_at) VALUES (:id, :name, :tier, :created_at)",
    get_user="SELECT id, name, tier, created_at FROM users WHERE id = :id",
    set_tier="UPDATE users SET tier = :tier WHERE id = :id",
    insert_api_key="""INSERT INTO api_keys (key_hash, user_id, created_at)
        VALUES (:key_hash, :user_id, :created_at)""",
    user_by_key_hash="""SELECT u.id, u.name, u.tier, u.created_at FROM api_keys k
                        JOIN users u ON u.id = k.user_id WHERE k.key_hash = :key_hash""",
    insert_job=f"""INSERT INTO jobs ({_JOB_COLS}, body_hash)
                   VALUES ({", ".join(":" + c for c in JOB_COLUMNS)}, :body_hash)""",
    get_job="SELECT * FROM jobs WHERE id = :id",
    # BEGIN IMMEDIATE already holds the write lock: a plain read is a locked read.
    get_job_for_update="SELECT * FROM jobs WHERE id = :id",
    job_by_idempotency_key="SELECT * FROM jobs WHERE user_id = :user_id AND idempotency_key = :key",
    save_job=f"""UPDATE jobs SET {", ".join(f"{c} = :{c}" for c in MUTABLE_COLUMNS)} WHERE id = :id""",
    # Every write after submit; the state change was validated in Python (jobs.transition).
    # A claim writes only what a claim changes (less work while the lane rows are locked).
    claim_job=f"""UPDATE jobs SET {", ".join(f"{c} = :{c}" for c in CLAIM_COLUMNS[1:])}
        WHERE id = :id""",
    # Keyset pagination on (created_at, id) descending; :q filters the prompt, any case.
    list_user_jobs="""SELECT * FROM jobs WHERE user_id = :user_id
        AND (:c_at IS NULL OR created_at < :c_at OR (created_at = :c_at AND id < :c_id))
        AND (:q IS NULL OR instr(lower(prompt), lower(:q)) > 0)
        ORDER BY created_at DESC, id DESC LIMIT :limit""",
    children="SELECT * FROM jobs WHERE parent_job_id = :parent ORDER BY created_at, id",
    queue_position="""SELECT count(*) AS n FROM jobs WHERE state = 'queued' AND lane = :lane
        AND (created_at < :created_at OR (created_at = :created_at AND id < :id))""",
    lane_depths="SELECT lane, count(*) AS n FROM jobs WHERE state = 'queued' GROUP BY lane",
    lanes_for_update="SELECT lane, pass_value, active FROM lanes",
    save_lane="UPDATE lanes SET pass_value = :pass_value, active = :active WHERE lane = :lane",
    expired_for_update="SELECT * FROM jobs WHERE state = 'running' AND lease_expires_at < :now",
    user_jobs="SELECT * FROM jobs WHERE user_id = :user_id",
    delete_user_jobs="DELETE FROM jobs WHERE user_id = :user_id",
    delete_user_usage="DELETE FROM usage WHERE user_id = :user_id",
    delete_user_keys="DELETE FROM api_keys WHERE user_id = :user_id",
    add_usage="""INSERT INTO usage (user_id, mode, gpu_seconds) VALUES (:user_id, :mode, :gpu_seconds)
        ON CONFLICT (user_id, mode) DO UPDATE SET gpu_seconds = usage.gpu_seconds + excluded.gpu_seconds""",
    usage_by_user="SELECT mode, gpu_seconds FROM usage WHERE user_id = :user_id ORDER BY mode",
    insert_job_image="""INSERT OR IGNORE INTO job_images (sha256, job_id, idx)
        VALUES (:sha256, :job_id, :idx)""",
    # A public owner first when several jobs made the same bytes.
    image_owner="""SELECT j.user_id, j.private FROM job_images i JOIN jobs j ON j.id = i.job_id
        WHERE i.sha256 = :sha256 AND j.state = 'succeeded' ORDER BY j.private LIMIT 1""",
    delete_user_job_images="""DELETE FROM job_images
        WHERE job_id IN (SELECT id FROM jobs WHERE user_id = :user_id)""",
    # :states_csv is ",queued,running," (SQLite has no array parameters).
    count_user_jobs="""SELECT count(*) AS n FROM jobs
        WHERE user_id = :user_id AND instr(:states_csv, ',' || state || ',') > 0""",
)

# The claim's candidates of one lane: queued, this model (and size), due; with the user's usage.
_CANDIDATES = """SELECT j.*, COALESCE((SELECT SUM(u.gpu_seconds) FROM usage u WHERE u.user_id = j.user_id), 0)
        AS user_usage_s
    FROM jobs j WHERE j.state = 'queued' AND j.lane = :lane AND j.model_id = :model_id
        AND j.not_before <= :now AND (:width IS NULL OR (j.width = :width AND j.height = :height))
    ORDER BY {order} LIMIT :k"""
CANDIDATES_FAIR = _CANDIDATES.format(order="j.created_at, j.id")
CANDIDATES_RELAX = _CANDIDATES.format(order="user_usage_s, j.created_at, j.id")


class SqliteJobStore(SqlJobStore):
    """Jobs in one SQLite file (created and migrated on open).

    - ``path``: the database file (``config.Settings.database_url`` ``sqlite:///PATH``).
    - ``busy_timeout_s``: how long a writer waits for the write lock before failing.
    """

    Q = QUERIES

    def __init__(self, path: str | Path, policy: Policy | None = None, *,
                 busy_timeout_s: float = 30.0) -> None:
        super().__init__(policy)
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.busy_timeout_s = busy_timeout_s
        self._migrate_lock = threading.Lock()
        self.migrate()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                               timeout=self.busy_timeout_s)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: durable across process crashes
        conn.execute("PRAGMA foreign_keys = ON")
        return conn

    @contextlib.contextmanager
    def _tx(self) -> Iterator[Any]:
        with self._borrow() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn.cursor()
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def migrate(self) -> int:
        """Apply the migrations this file lacks; return the schema version."""
        with self._migrate_lock, self._tx() as cur:
            return apply_migrations(cur, MIGRATIONS, "INSERT INTO schema_version (version) VALUES (?)")

    def _candidates(self, cur: Any, model_id: str, size: tuple[int, int] | None, now: float,
                    k: int) -> dict[str, list[dict[str, Any]]]:
        width, height = size if size else (None, None)
        params = {"model_id": model_id, "now": now, "width": width, "height": height, "k": k}
        out: dict[str, list[dict[str, Any]]] = {}
        for lane in LANES:
            if lane == "relax" and sum(map(len, out.values())) >= k:
                break  # relax only fills capacity no other lane wants
            sql = CANDIDATES_RELAX if lane == "relax" else CANDIDATES_FAIR
            rows = self._fetch(cur, sql, {**params, "lane": lane})
            if rows:
                out[lane] = rows
        return out
