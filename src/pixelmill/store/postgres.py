"""PostgreSQL job store (distributed): all of PostgreSQL's SQL, annotated, and its connections.

A claim runs in one transaction: it locks the lane rows (``SELECT ... FOR UPDATE``: the
stride-scheduler passes change under the lock, so concurrent claimers see each other's charges),
takes candidate jobs ``FOR UPDATE SKIP LOCKED`` (rows another transaction holds, e.g. a cancel,
are skipped rather than waited for), picks with :class:`~pixelmill.scheduling.LanePolicy` and
marks the chosen jobs RUNNING. Other writes lock the one job row they change. Requires psycopg 3.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from pixelmill.store.sqlstore import (
    CLAIM_COLUMNS,
    JOB_COLUMNS,
    MUTABLE_COLUMNS,
    ClaimTx,
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
            id TEXT PRIMARY KEY, name TEXT NOT NULL, tier TEXT NOT NULL,
            created_at DOUBLE PRECISION NOT NULL)""",
        # API keys are stored only as their SHA-256.
        """CREATE TABLE api_keys (
            key_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id),
            created_at DOUBLE PRECISION NOT NULL)""",
        # One row per lane: the stride scheduler's pass (scheduling.LaneState); locked by claims.
        """CREATE TABLE lanes (
            lane TEXT PRIMARY KEY, pass_value DOUBLE PRECISION NOT NULL DEFAULT 0,
            active BOOLEAN NOT NULL DEFAULT false)""",
        # One column per jobs.Job field; params/images/checkpoints/timings are JSONB.
        """CREATE TABLE jobs (
            id TEXT PRIMARY KEY, user_id TEXT NOT NULL, tier TEXT NOT NULL, mode TEXT NOT NULL,
            lane TEXT NOT NULL, prompt TEXT NOT NULL, params JSONB NOT NULL, kind TEXT NOT NULL,
            step_budget INTEGER NOT NULL, steps INTEGER NOT NULL, n_images INTEGER NOT NULL,
            seed BIGINT NOT NULL, width INTEGER NOT NULL, height INTEGER NOT NULL,
            model_id TEXT NOT NULL, parent_job_id TEXT, parent_image_index INTEGER,
            idempotency_key TEXT, webhook_url TEXT, private BOOLEAN NOT NULL,
            state TEXT NOT NULL, attempt INTEGER NOT NULL, failures INTEGER NOT NULL,
            max_attempts INTEGER NOT NULL, lease_expires_at DOUBLE PRECISION, worker_id TEXT,
            not_before DOUBLE PRECISION NOT NULL, progress_step INTEGER NOT NULL,
            progress_total INTEGER NOT NULL, error_code TEXT, error_message TEXT,
            block_category TEXT, images JSONB NOT NULL, checkpoints JSONB NOT NULL,
            timings JSONB NOT NULL, gpu_seconds DOUBLE PRECISION NOT NULL,
            created_at DOUBLE PRECISION NOT NULL, claimed_at DOUBLE PRECISION,
            finished_at DOUBLE PRECISION,
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
            user_id TEXT NOT NULL, mode TEXT NOT NULL, gpu_seconds DOUBLE PRECISION NOT NULL,
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
            SELECT i->>'sha256', j.id, (i->>'index')::int
            FROM jobs j CROSS JOIN LATERAL jsonb_array_elements(j.images) i WHERE j.state = 'succeeded'""",
    ]),
]

_MIGRATION_LOCK = 7_242_001  # pg_advisory_xact_lock key: one migrator at a time

_JOB_COLS = ", ".join(JOB_COLUMNS)

# --- named queries ----------------------------------------------------------------------------
QUERIES = Queries(
    insert_user="""INSERT INTO users (id, name, tier, created_at)
        VALUES (%(id)s, %(name)s, %(tier)s, %(created_at)s)""",
    get_user="SELECT id, name, tier, created_at FROM users WHERE id = %(id)s",
    set_tier="UPDATE users SET tier = %(tier)s WHERE id = %(id)s",
    insert_api_key="""INSERT INTO api_keys (key_hash, user_id, created_at)
        VALUES (%(key_hash)s, %(user_id)s, %(created_at)s)""",
    user_by_key_hash="""SELECT u.id, u.name, u.tier, u.created_at FROM api_keys k
        JOIN users u ON u.id = k.user_id WHERE k.key_hash = %(key_hash)s""",
    insert_job=f"""INSERT INTO jobs ({_JOB_COLS}, body_hash)
        VALUES ({", ".join(f"%({c})s" for c in JOB_COLUMNS)}, %(body_hash)s)""",
    get_job="SELECT * FROM jobs WHERE id = %(id)s",
    get_job_for_update="SELECT * FROM jobs WHERE id = %(id)s FOR UPDATE",
    job_by_idempotency_key="""SELECT * FROM jobs
        WHERE user_id = %(user_id)s AND idempotency_key = %(key)s FOR UPDATE""",
    save_job=f"""UPDATE jobs SET {", ".join(f"{c} = %({c})s" for c in MUTABLE_COLUMNS)} WHERE id = %(id)s""",
    # Every write after submit; the state change was validated in Python (jobs.transition).
    # A claim writes only what a claim changes (less work while the lane rows are locked).
    claim_job=f"""UPDATE jobs SET {", ".join(f"{c} = %({c})s" for c in CLAIM_COLUMNS[1:])}
        WHERE id = %(id)s""",
    # Keyset pagination on (created_at, id) descending; %(q)s filters the prompt, any case.
    list_user_jobs="""SELECT * FROM jobs WHERE user_id = %(user_id)s
        AND (%(c_at)s::float8 IS NULL OR created_at < %(c_at)s
             OR (created_at = %(c_at)s AND id < %(c_id)s::text))
        AND (%(q)s::text IS NULL OR strpos(lower(prompt), lower(%(q)s::text)) > 0)
        ORDER BY created_at DESC, id DESC LIMIT %(limit)s""",
    children="SELECT * FROM jobs WHERE parent_job_id = %(parent)s ORDER BY created_at, id",
    queue_position="""SELECT count(*) AS n FROM jobs WHERE state = 'queued' AND lane = %(lane)s
        AND (created_at < %(created_at)s OR (created_at = %(created_at)s AND id < %(id)s))""",
    lane_depths="SELECT lane, count(*) AS n FROM jobs WHERE state = 'queued' GROUP BY lane",
    # Claims serialise on the lane rows: the passes are read and written under this lock.
    lanes_for_update="SELECT lane, pass_value, active FROM lanes ORDER BY lane FOR UPDATE",
    save_lane="UPDATE lanes SET pass_value = %(pass_value)s, active = %(active)s WHERE lane = %(lane)s",
    expired_for_update="""SELECT * FROM jobs WHERE state = 'running' AND lease_expires_at < %(now)s
        FOR UPDATE SKIP LOCKED""",
    user_jobs="SELECT * FROM jobs WHERE user_id = %(user_id)s FOR UPDATE",
    delete_user_jobs="DELETE FROM jobs WHERE user_id = %(user_id)s",
    delete_user_usage="DELETE FROM usage WHERE user_id = %(user_id)s",
    delete_user_keys="DELETE FROM api_keys WHERE user_id = %(user_id)s",
    add_usage="""INSERT INTO usage (user_id, mode, gpu_seconds)
        VALUES (%(user_id)s, %(mode)s, %(gpu_seconds)s)
        ON CONFLICT (user_id, mode) DO UPDATE SET gpu_seconds = usage.gpu_seconds + excluded.gpu_seconds""",
    usage_by_user="SELECT mode, gpu_seconds FROM usage WHERE user_id = %(user_id)s ORDER BY mode",
    insert_job_image="""INSERT INTO job_images (sha256, job_id, idx) VALUES (%(sha256)s, %(job_id)s, %(idx)s)
        ON CONFLICT DO NOTHING""",
    # A public owner first when several jobs made the same bytes.
    image_owner="""SELECT j.user_id, j.private FROM job_images i JOIN jobs j ON j.id = i.job_id
        WHERE i.sha256 = %(sha256)s AND j.state = 'succeeded' ORDER BY j.private LIMIT 1""",
    delete_user_job_images="""DELETE FROM job_images
        WHERE job_id IN (SELECT id FROM jobs WHERE user_id = %(user_id)s)""",
    count_user_jobs="""SELECT count(*) AS n FROM jobs
        WHERE user_id = %(user_id)s AND state = ANY(%(states)s)""",
)

_DUE = """j.state = 'queued' AND j.model_id = %(model_id)s AND j.not_before <= %(now)s
        AND (%(width)s::int IS NULL OR (j.width = %(width)s AND j.height = %(height)s))"""

# The claim's candidates of every fair lane in one statement: up to k per lane, oldest first,
# locked; rows locked by another transaction are skipped.
CANDIDATES_FAIR = f"""SELECT c.* FROM lanes l CROSS JOIN LATERAL (
        SELECT j.*, 0.0::float8 AS user_usage_s FROM jobs j
        WHERE j.lane = l.lane AND {_DUE}
        ORDER BY j.created_at, j.id LIMIT %(k)s FOR UPDATE OF j SKIP LOCKED) c
    WHERE l.lane <> 'relax'"""

# Relax candidates: users who used less GPU time first, then oldest.
CANDIDATES_RELAX = f"""SELECT j.*, (SELECT COALESCE(sum(u.gpu_seconds), 0) FROM usage u
            WHERE u.user_id = j.user_id)::float8 AS user_usage_s
    FROM jobs j WHERE j.lane = 'relax' AND {_DUE}
    ORDER BY user_usage_s, j.created_at, j.id LIMIT %(k)s FOR UPDATE OF j SKIP LOCKED"""


class PostgresJobStore(SqlJobStore):
    """Jobs in a PostgreSQL database (migrated on open).

    - ``url``: a libpq URL (``postgresql://user@host:port/db``; ``config.Settings.database_url``).
    - ``connect_timeout_s``: how long to wait for the server on each new connection.
    - ``max_connections``: pool size (each thread in a call holds one connection).
    """

    Q = QUERIES

    def __init__(self, url: str, policy: Policy | None = None, *, connect_timeout_s: float = 10.0,
                 max_connections: int = 16) -> None:
        super().__init__(policy, max_connections=max_connections)
        self.url = url
        self.connect_timeout_s = connect_timeout_s
        self.migrate()

    def _connect(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.url, autocommit=True, row_factory=dict_row,  # type: ignore[arg-type]
                               connect_timeout=int(self.connect_timeout_s))

    @contextlib.contextmanager
    def _tx(self) -> Iterator[Any]:
        with self._borrow() as conn, conn.transaction(), conn.cursor() as cur:
            yield cur

    @contextlib.contextmanager
    def _claim_tx(self, model_id: str, size: tuple[int, int] | None, now: float,
                  k: int) -> Iterator[ClaimTx]:
        # Claims serialise on the lane rows, so the time between locking them and committing
        # is the claim rate's ceiling. Three things keep it short:
        # - candidates are locked (SKIP LOCKED) BEFORE the lane rows: concurrent claimers take
        #   disjoint candidates, and only the pick and the writes happen under the lane lock;
        # - three round trips: BEGIN + commit mode + candidates in one pipeline flush, the lane
        #   lock, then every write and the COMMIT in one pipeline flush;
        # - asynchronous commit: waiting for each WAL flush under the lock would cap claims at
        #   the disk's fsync rate. Losing a claim in a server crash is harmless: the job is
        #   QUEUED again and the claimer's next heartbeat or write is refused by the fence
        #   (attempt + worker id). Every other write commits synchronously.
        with self._borrow() as conn:
            cur = conn.cursor()
            try:
                with conn.pipeline():
                    cur.execute("BEGIN")
                    cur.execute("SET LOCAL synchronous_commit = off")
                    candidates = self._candidates(cur, model_id, size, now, k)
                lanes = [dict(r) for r in cur.execute(QUERIES.lanes_for_update).fetchall()]
                tx = ClaimTx(cur, lanes, candidates)
                yield tx
                with conn.pipeline():
                    for sql, params in tx.staged:
                        cur.execute(sql, params)
                    cur.execute("COMMIT")
            except BaseException:
                if not conn.broken and not conn.closed:
                    with contextlib.suppress(Exception):
                        conn.execute("ROLLBACK")
                raise
            finally:
                cur.close()

    def _is_broken(self, conn: Any) -> bool:
        return bool(conn.closed or conn.broken)

    def _json(self, value: Any) -> Any:
        return Jsonb(value)

    def _rows(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        # Reads are retried once on a dead connection (e.g. an idle one after a server restart).
        for attempt in (1, 2):
            try:
                with self._borrow() as conn:
                    return [dict(r) for r in conn.execute(sql, params or None).fetchall()]
            except psycopg.OperationalError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def migrate(self) -> int:
        """Apply the migrations this database lacks (one process at a time); return the version."""
        with self._tx() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            return apply_migrations(cur, MIGRATIONS, "INSERT INTO schema_version (version) VALUES (%s)")

    def _candidates(self, cur: Any, model_id: str, size: tuple[int, int] | None, now: float,
                    k: int) -> dict[str, list[dict[str, Any]]]:
        width, height = size if size else (None, None)
        params = {"model_id": model_id, "now": now, "width": width, "height": height, "k": k}
        out: dict[str, list[dict[str, Any]]] = {}
        for row in self._fetch(cur, CANDIDATES_FAIR, params):
            out.setdefault(row["lane"], []).append(row)
        for rows in out.values():
            rows.sort(key=lambda r: (r["created_at"], r["id"]))
        if sum(map(len, out.values())) < k:  # relax only fills capacity no other lane wants
            relax = self._fetch(cur, CANDIDATES_RELAX, params)
            if relax:
                out["relax"] = relax
        return out
