"""Shared parts of the crash tests: real ``pixelmill worker`` processes, started, watched and killed.

``worker_processes`` starts named workers on one job store and blob folder and waits until each
has written its heartbeat; on exit it stops the live ones (SIGTERM, then SIGKILL after 30 s).
``wait_for`` polls a condition and fails early, with the workers' log tails, if a worker exits.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pixelmill.jobs import Job, JobState
from pixelmill.store.blobs import LocalBlobStore
from tests.engine_support import tiny_path

Procs = dict[str, "subprocess.Popen[bytes]"]


def wait_for(what: str, check: Callable[[], Any], timeout_s: float,
             procs: Sequence[subprocess.Popen[bytes]], logs: Path) -> Any:
    """Return ``check()``'s first truthy value within ``timeout_s``.

    Raises AssertionError naming ``what`` on timeout, or with the tails of ``logs/*.log`` as soon as
    one of ``procs`` has exited.
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        for p in procs:
            if p.poll() is not None:
                tails = {f.name: f.read_text()[-1500:] for f in logs.glob("*.log")}
                raise AssertionError(f"worker exited early ({p.returncode}): {tails}")
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


@contextmanager
def worker_processes(database_url: str, blob_dir: Path, logs: Path,
                     names: Sequence[str] = ("wa", "wb")) -> Iterator[Procs]:
    """Run one ``pixelmill worker`` per name (tiny model, checkpoint every 2 steps, 2 s lease, one
    torch thread, no post-filter), stderr to ``logs/<name>.log``; yield them once all are up."""
    env = {**os.environ, "PIXELMILL_DATABASE_URL": database_url, "PIXELMILL_BLOB_URL": f"file://{blob_dir}",
           "PIXELMILL_MODEL": str(tiny_path()), "PIXELMILL_CHECKPOINT_EVERY": "2",
           "PIXELMILL_TORCH_THREADS": "1"}
    procs: Procs = {name: subprocess.Popen(
        [sys.executable, "-m", "pixelmill.cli", "worker", "--worker-id", name, "--max-batch", "4",
         "--lease-s", "2", "--heartbeat-s", "0.2", "--no-post-filter"],
        env=env, stdout=subprocess.DEVNULL, stderr=(logs / f"{name}.log").open("wb"))
        for name in names}
    try:
        blobs = LocalBlobStore(blob_dir)
        wait_for("all workers up", lambda: all(blobs.exists(f"workers/{n}/heartbeat") for n in procs), 180,
                 list(procs.values()), logs)
        yield procs
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs.values():
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def wait_mid_job(store: Any, job_id: str, procs: Procs, logs: Path, step: int = 4) -> Job:
    """Wait (120 s) until the job runs with a checkpoint at ``step`` or later; return it."""
    def check() -> Job | None:
        j = store.get(job_id)
        return j if j.state is JobState.RUNNING and any(c.step >= step for c in j.checkpoints) else None
    return wait_for("a checkpoint mid-job", check, 120, list(procs.values()), logs)


def kill_worker(procs: Procs, name: str) -> str:
    """SIGKILL worker ``name``, reap it, and return the name of another (the survivor)."""
    procs[name].send_signal(signal.SIGKILL)
    procs[name].wait(10)
    return next(n for n in procs if n != name)


def wait_finished(what: str, store: Any, job_id: str, proc: subprocess.Popen[bytes], logs: Path) -> Job:
    """Wait (180 s) until the job is finished, failing early if ``proc`` exits; return it."""
    return wait_for(what, lambda: (lambda j: j if j.state.finished else None)(store.get(job_id)), 180,
                    [proc], logs)
