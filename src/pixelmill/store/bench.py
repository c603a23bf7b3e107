"""``pixelmill bench queue``: submit and claim throughput of a job store, and the lane split.

Method (one run, one backend): a fresh store (SQLite in a temp folder, or a temporary
PostgreSQL server started from the installed binaries with fsync on), three users (pro, paid,
free); ``claimers`` threads, each with its own connection, submit ``jobs`` jobs spread evenly
over the three lanes (``submits_per_s``); then ``claimers`` claimer PROCESSES (like real
workers: no shared interpreter lock) claim them ``batch`` at a time until the queue is empty
(``claims_per_s`` counts jobs claimed, from the moment all claimers are ready).
``lane_split`` is the share of each lane among the first ``jobs / 3`` jobs claimed: every lane
is still loaded then, so it should be 4:2:1
(0.571 / 0.286 / 0.143).
"""

from __future__ import annotations

import multiprocessing
import tempfile
import threading
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from pixelmill.jobs import JobRequest
from pixelmill.store import open_job_store

TIERS = ("pro", "paid", "free")


def _threads(n: int, target: Any) -> float:
    """Run ``target(i)`` on ``n`` threads started together; return the wall time."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(n + 1)

    def run(i: int) -> None:
        try:
            barrier.wait()
            target(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    if errors:
        raise errors[0]
    return elapsed


def _claimer(url: str, i: int, batch: int, ready: Any, go: Any, out: Any) -> None:
    """One claimer process: claim until the queue is empty; report (monotonic time, lane)s."""
    store = open_job_store(url)
    claimed: list[tuple[float, str]] = []
    ready.release()
    go.wait()
    while True:
        got = store.claim(f"bench-{i}", batch, "builtin")
        if not got:
            break
        t = time.monotonic()
        claimed.extend((t, j.lane) for j in got)
    store.close()
    out.put((time.monotonic(), claimed))


def _claim_in_processes(url: str, claimers: int, batch: int) -> tuple[list[str], float]:
    """Claim everything with ``claimers`` processes; return the lanes in claim order and the
    wall time from the start signal to the last claimer's finish."""
    ctx = multiprocessing.get_context("spawn")
    ready, go, out = ctx.Semaphore(0), ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_claimer, args=(url, i, batch, ready, go, out)) for i in range(claimers)]
    for p in procs:
        p.start()
    try:
        for _ in procs:
            if not ready.acquire(timeout=120):
                raise RuntimeError("a claimer process did not start within 120 s")
        t0 = time.monotonic()
        go.set()
        results = [out.get(timeout=600) for _ in procs]
    finally:
        for p in procs:
            p.join(30)
            if p.is_alive():
                p.kill()
    end = max(r[0] for r in results)
    claims = sorted(c for _, cs in results for c in cs)
    return [lane for _, lane in claims], end - t0


def run_queue_bench(backend: str, *, claimers: int = 16, jobs: int = 6000, batch: int = 1) -> dict[str, Any]:
    """Run the benchmark; return the JSON-ready figures (see the module docstring)."""
    if claimers < 1 or jobs < 3 or batch < 1:
        raise ValueError("claimers and batch must be >= 1 and jobs >= 3")
    with ExitStack() as stack:
        if backend == "sqlite":
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="pixelmill-bench-")))
            url = f"sqlite:///{folder / 'jobs.db'}"
            server = "embedded SQLite (WAL, synchronous=NORMAL)"
        elif backend == "postgres":
            from pixelmill.testing.servers import PostgresServer

            pg = PostgresServer(durable=True, max_connections=claimers + 20).start()
            stack.callback(pg.stop, remove=True)
            url = pg.fresh_database("bench")
            server = "temporary PostgreSQL server on 127.0.0.1 (fsync on)"
        else:
            raise ValueError(f"backend {backend!r}: use sqlite or postgres")

        setup = open_job_store(url)
        stack.callback(setup.close)
        users = {tier: setup.create_user(tier, tier)[0].id for tier in TIERS}
        stores = [open_job_store(url) for _ in range(claimers)]
        for s in stores:
            stack.callback(s.close)

        per_thread = [list(range(i, jobs, claimers)) for i in range(claimers)]

        def submit(i: int) -> None:
            for n in per_thread[i]:
                tier = TIERS[n % 3]
                stores[i].submit(JobRequest(users[tier], tier, "draft", f"bench {n}", steps=10))

        submit_s = _threads(claimers, submit)

        order, claim_s = _claim_in_processes(url, claimers, batch)
        if len(order) != jobs:
            raise RuntimeError(f"claimed {len(order)} jobs of {jobs}: the store lost or duplicated jobs")
        head = Counter(order[: jobs // 3])
        return {
            "backend": backend,
            "server": server,
            "claimers": claimers,
            "jobs": jobs,
            "batch": batch,
            "claims_per_s": round(jobs / claim_s, 1),
            "submits_per_s": round(jobs / submit_s, 1),
            "lane_split": {tier: round(head[tier] / max(1, jobs // 3), 3) for tier in TIERS},
            "lane_split_target": {"pro": 0.571, "paid": 0.286, "free": 0.143},
        }
