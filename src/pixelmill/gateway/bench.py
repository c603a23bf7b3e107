"""``pixelmill bench api``: the gateway's own cost of a submit, over loopback HTTP.

Method: a gateway in a separate process (so the load generator does not share its GIL) on a
fresh temporary ``PIXELMILL_HOME`` (SQLite, local blobs), with no worker (workers paused: every
job stays queued, so only the gateway's work is measured: auth, rate limits, parsing, the
pre-filter, the store insert, the event publish). The default tier policy applies; the load is
spread over enough pro users that none reaches its limits (see :data:`PER_USER`).
The client is open-loop: request ``i`` is sent at ``t0 + i / rate`` whether or not earlier ones
have finished (a closed loop would hide queueing), for ``seconds`` after a short warm-up.
Latency is measured from the scheduled send time to the response, so client-side lag counts
against the gateway, never for it; the client is a minimal keep-alive HTTP/1.1 one
(:class:`_Client`) so that its own CPU, on a small shared machine, takes little from the
gateway. The server runs uvicorn with uvloop and httptools and no access log.
``errors``: responses other than 202 plus transport errors.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from pixelmill.tiers import Policy

_KEY_FILE = "bench_api_key"


PER_USER = 40
"""Submits per bench user: under the pro tier's 50 queued jobs and 300 submits a minute, so the
default policy applies unchanged (only the per-IP limit is raised: all users share 127.0.0.1)."""


def bench_policy() -> Policy:
    return Policy(ip_requests_per_hour=1_000_000_000)


def bench_app() -> Any:
    """uvicorn factory for the server process: a worker-less gateway, ``$PIXELMILL_BENCH_USERS``
    pro users whose keys go to ``$PIXELMILL_HOME/bench_api_key`` (one per line)."""
    from pixelmill.config import Settings
    from pixelmill.gateway.app import GatewayOptions, create_app

    embedding = os.environ.get("PIXELMILL_BENCH_EMBEDDING", "1") == "1"
    app = create_app(Settings.from_env(), start_worker=False, policy=bench_policy(),
                     options=GatewayOptions(embedding_prefilter=embedding))
    store = app.state.gateway.store
    keys = [store.create_user(f"bench{i}", "pro")[1] for i in range(int(os.environ["PIXELMILL_BENCH_USERS"]))]
    Path(os.environ["PIXELMILL_HOME"], _KEY_FILE).write_text("\n".join(keys))
    return app


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(base: str, key_path: Path, proc: subprocess.Popen[bytes],
                timeout_s: float = 180) -> list[str]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the gateway process exited with {proc.returncode}")
        try:
            if key_path.exists() and httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return key_path.read_text().split()
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("the gateway did not start in time")


class _Client:
    """A minimal HTTP/1.1 keep-alive client for the load: up to ``max_connections`` sockets,
    each carrying one request at a time. httpx costs a few ms of CPU per request, which on a small
    machine competes with the gateway under test and counted against it; this costs tens of us.
    It speaks only what the bench needs: a POST with a JSON body, a response with Content-Length."""

    def __init__(self, host: str, port: int, max_connections: int = 64) -> None:
        self.host, self.port = host, port
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self._slots = asyncio.Semaphore(max_connections)

    async def post_json(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> int:
        """The response's status code; raises OSError / ValueError on a transport failure."""
        data = json.dumps(body).encode()
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        request = (f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                   f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n{head}\r\n"
                   ).encode() + data
        async with self._slots:
            conn = self._idle.pop() if self._idle else await asyncio.open_connection(self.host, self.port)
            reader, writer = conn
            try:
                writer.write(request)
                raw = await reader.readuntil(b"\r\n\r\n")
                status = int(raw[9:12])
                length = 0
                for line in raw.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                if length:
                    await reader.readexactly(length)
            except BaseException:
                writer.close()
                raise
            self._idle.append(conn)
            return status

    def close(self) -> None:
        for _, writer in self._idle:
            writer.close()
        self._idle.clear()


async def _load(port: int, keys: list[str], rate: float, count: int, first: int) -> tuple[list[float], int]:
    """Send ``count`` submits at ``rate``; submit ``i`` uses key ``(first + i) // PER_USER``."""
    latencies: list[float] = []
    errors = 0
    client = _Client("127.0.0.1", port)
    loop = asyncio.get_running_loop()
    t0 = loop.time() + 0.05

    async def one(i: int) -> None:
        nonlocal errors
        scheduled = t0 + i / rate
        await asyncio.sleep(max(0.0, scheduled - loop.time()))
        try:
            body = {"prompt": f"a lighthouse at dusk number {i} --ar 3:2"}
            key = keys[(first + i) // PER_USER]
            status = await asyncio.wait_for(
                client.post_json("/v1/imagine", body, {"Authorization": f"Bearer {key}"}), 30)
            if status != 202:
                errors += 1
        except (TimeoutError, OSError, ValueError, asyncio.IncompleteReadError):
            errors += 1
        latencies.append((loop.time() - scheduled) * 1000)

    try:
        await asyncio.gather(*(one(i) for i in range(count)))
    finally:
        client.close()
    return latencies, errors


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def run_bench(rate: float = 200.0, seconds: float = 5.0, *, embedding: bool = True) -> dict[str, Any]:
    """Run the benchmark and return its figures (see the module docstring)."""
    if rate <= 0 or seconds <= 0 or rate * seconds > 20_000:
        raise ValueError("rate and seconds must be positive and rate * seconds at most 20000")
    with tempfile.TemporaryDirectory(prefix="pixelmill-bench-api-") as tmp:
        port = _free_port()
        warmup = max(20, int(rate))
        total = warmup + int(rate * seconds)
        env = {**os.environ, "PIXELMILL_HOME": tmp, "PIXELMILL_BENCH_EMBEDDING": "1" if embedding else "0",
               "PIXELMILL_BENCH_USERS": str(-(-total // PER_USER))}
        for name in ("PIXELMILL_DATABASE_URL", "PIXELMILL_BLOB_URL", "PIXELMILL_EVENTS_URL",
                     "PIXELMILL_RATELIMIT_URL", "PIXELMILL_TIERS"):
            env.pop(name, None)
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "pixelmill.gateway.bench:bench_app",
             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log",
             "--loop", "uvloop", "--http", "httptools"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            keys = _wait_ready(base, Path(tmp) / _KEY_FILE, proc)
            asyncio.run(_load(port, keys, rate, warmup, 0))  # warm-up: 1 s of load
            started = time.perf_counter()
            latencies, errors = asyncio.run(_load(port, keys, rate, total - warmup, warmup))
            elapsed = time.perf_counter() - started
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
    return {
        "rate_per_s": rate,
        "requests": len(latencies),
        "achieved_rate_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies), 2),
        "p99_ms": round(_percentile(latencies, 0.99), 2),
        "max_ms": round(max(latencies), 2),
        "errors": errors,
        "prefilter": "full" if embedding else "no-embedding",
        "mode": "embedded (sqlite, memory://), workers paused",
    }


if __name__ == "__main__":
    print(json.dumps(run_bench()))
