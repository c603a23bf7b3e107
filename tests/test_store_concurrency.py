"""Concurrent claimers never share a job; accepted jobs survive a server restart."""

from __future__ import annotations

import threading
from collections import Counter

from pixelmill.jobs import JobRequest, JobState
from pixelmill.store import open_job_store
from pixelmill.testing.servers import PostgresServer


def _claim_all(url: str, claimers: int, jobs: int) -> Counter[str]:
    seed = open_job_store(url)
    users = {t: seed.create_user(t, t)[0].id for t in ("pro", "paid", "free")}
    for i in range(jobs):
        tier = ("pro", "paid", "free")[i % 3]
        seed.submit(JobRequest(users[tier], tier, "draft", f"p{i}", steps=5))
    claimed: Counter[str] = Counter()
    lock = threading.Lock()
    start = threading.Barrier(claimers)
    errors: list[BaseException] = []

    def run(n: int) -> None:
        store = open_job_store(url)
        try:
            start.wait()
            while True:
                got = store.claim(f"w{n}", 2, "builtin")
                if not got:
                    return
                with lock:
                    claimed.update(j.id for j in got)
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            store.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(claimers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert len(claimed) == jobs and max(claimed.values()) == 1  # every job exactly once
    assert seed.lane_depths() == dict.fromkeys(("turbo", "pro", "paid", "free", "relax"), 0)
    running = seed.list_user_jobs(users["pro"], limit=1000).jobs
    assert all(j.state is JobState.RUNNING and j.attempt == 1 for j in running)
    seed.close()
    return claimed


def test_16_concurrent_claimers_on_postgres_never_share_a_job(pg_url: str) -> None:
    _claim_all(pg_url, claimers=16, jobs=600)


def test_8_concurrent_claimers_on_sqlite_never_share_a_job(tmp_path: object) -> None:
    _claim_all(f"sqlite:///{tmp_path}/jobs.db", claimers=8, jobs=300)


def test_postgres_restart_loses_nothing(pg_server: PostgresServer, pg_url: str) -> None:
    store = open_job_store(pg_url)
    uid = store.create_user("dur", "pro")[0].id
    ids = {store.submit(JobRequest(uid, "pro", "fast", f"job {i}", steps=5)).id for i in range(50)}
    running = store.claim("w", 5, "builtin")
    pg_server.restart()
    assert store.lane_depths()["pro"] == 45  # an open store reconnects for reads
    store.close()
    again = open_job_store(pg_url)
    try:
        jobs = again.list_user_jobs(uid, limit=100).jobs
        assert {j.id for j in jobs} == ids
        assert {j.id for j in jobs if j.state is JobState.RUNNING} == {j.id for j in running}
        assert again.lane_depths()["pro"] == 45
    finally:
        again.close()


def test_sqlite_file_survives_a_writer_that_never_closes(tmp_path: object) -> None:
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path}/jobs.db"
    code = ("from pixelmill.store import open_job_store; from pixelmill.jobs import JobRequest; "
            f"s = open_job_store({url!r}); u = s.create_user('a', 'free')[0]; "
            "[s.submit(JobRequest(u.id, 'free', 'draft', str(i), steps=5)) for i in range(30)]; "
            "import os; os._exit(0)")  # no clean close: commits must already be durable
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    store = open_job_store(url)
    assert store.lane_depths()["free"] == 30
    store.close()
