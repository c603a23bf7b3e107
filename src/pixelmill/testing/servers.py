"""Throw-away real servers on loopback: PostgreSQL, Redis, an S3 endpoint (moto).

Used by the test fixtures (``tests/servers.py``) and by ``pixelmill bench queue --backend
postgres``. Each server lives in a temporary folder on a free 127.0.0.1 port and is stopped (and
its folder removed) by :meth:`stop`. When a binary is missing, :func:`find_postgres` /
:func:`find_redis` return None and :data:`HOW_TO_ENABLE` says what to install.

PostgreSQL refuses to run as root: as root the server runs as the unprivileged ``nobody`` user
(its folder is chowned to it); otherwise as the current user.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

HOW_TO_ENABLE = {
    "postgres": "install PostgreSQL server binaries (Debian: apt-get install postgresql-15) or set "
                "PIXELMILL_PG_BIN to the folder holding initdb and postgres",
    "redis": "install redis-server (Debian: apt-get install redis-server)",
    "s3": "install moto with its server extra (pip install 'moto[server]')",
}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def find_postgres() -> Path | None:
    """The folder with ``initdb`` and ``postgres`` (``$PIXELMILL_PG_BIN``, PATH, or the newest
    /usr/lib/postgresql/*/bin), or None."""
    candidates = [os.environ.get("PIXELMILL_PG_BIN", "")]
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(str(Path(on_path).parent))
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for folder in candidates:
        if folder and (Path(folder) / "initdb").exists() and (Path(folder) / "postgres").exists():
            return Path(folder)
    return None


def find_redis() -> Path | None:
    found = shutil.which("redis-server")
    return Path(found) if found else None


def _wait(check: Any, what: str, timeout_s: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with code {proc.returncode} before it was ready")
        try:
            check()
            return
        except Exception as exc:  # not up yet
            last = exc
            time.sleep(0.05)
    raise RuntimeError(f"{what} was not ready after {timeout_s} s: {last}")


class PostgresServer:
    """A PostgreSQL cluster in a temp folder. ``url`` is a ``postgresql://`` URL for its database.

    - ``durable``: keep fsync on (benchmarks); off by default for fast tests (a clean
      :meth:`restart` still keeps every committed row: shutdown writes a checkpoint).
    """

    def __init__(self, bin_dir: Path | None = None, *, durable: bool = False,
                 max_connections: int = 100) -> None:
        found = bin_dir or find_postgres()
        if found is None:
            raise FileNotFoundError("PostgreSQL binaries not found: " + HOW_TO_ENABLE["postgres"])
        self.bin_dir = found
        self.durable = durable
        self.max_connections = max_connections
        self.root = Path(tempfile.mkdtemp(prefix="pixelmill-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self._proc: subprocess.Popen[bytes] | None = None
        self._user: dict[str, Any] = {}
        if os.geteuid() == 0:
            pw = pwd.getpwnam("nobody")
            self._user = {"user": pw.pw_uid, "group": pw.pw_gid}
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
        subprocess.run([str(self.bin_dir / "initdb"), "-D", str(self.data), "-U", "postgres",
                        "--auth=trust", "-E", "UTF8", "--no-sync", "--locale=C"],
                       check=True, capture_output=True, cwd=self.root, **self._user)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self, timeout_s: float = 30.0) -> PostgresServer:
        opts = ["-c", "listen_addresses=127.0.0.1", "-k", str(self.root),
                "-c", f"max_connections={self.max_connections}", "-c", "shared_buffers=64MB"]
        if not self.durable:
            opts += ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        log = open(self.root / "server.log", "ab")  # noqa: SIM115 - owned by the process
        self._proc = subprocess.Popen([str(self.bin_dir / "postgres"), "-D", str(self.data),
                                       "-p", str(self.port), *opts],
                                      stdout=log, stderr=log, cwd=self.root, **self._user)
        log.close()
        import psycopg

        _wait(lambda: psycopg.connect(self.url, connect_timeout=2).close(), "PostgreSQL", timeout_s,
              self._proc)
        return self

    def stop(self, remove: bool = False) -> None:
        """Fast shutdown (SIGINT: committed work is kept); ``remove`` also deletes the folder."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGINT)
            try:
                self._proc.wait(30)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None
        if remove:
            shutil.rmtree(self.root, ignore_errors=True)

    def restart(self) -> None:
        self.stop()
        self.start()

    def fresh_database(self, name: str) -> str:
        """Create an empty database; return its URL (each test gets its own)."""
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"


class RedisServer:
    """A ``redis-server`` without persistence on a free loopback port."""

    def __init__(self, binary: Path | None = None) -> None:
        found = binary or find_redis()
        if found is None:
            raise FileNotFoundError("redis-server not found: " + HOW_TO_ENABLE["redis"])
        self.binary = found
        self.root = Path(tempfile.mkdtemp(prefix="pixelmill-redis-"))
        self.port = free_port()
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout_s: float = 20.0) -> RedisServer:
        self._proc = subprocess.Popen(
            [str(self.binary), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.root), "--daemonize", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import redis

        _wait(lambda: redis.Redis.from_url(self.url).ping(), "redis-server", timeout_s, self._proc)
        return self

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None
        shutil.rmtree(self.root, ignore_errors=True)


class MotoS3Server:
    """moto's standalone S3-compatible HTTP server in a thread on a free loopback port."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer  # raises ImportError without moto[server]

        self.port = free_port()
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> MotoS3Server:
        self._server.start()
        return self

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._server.stop()
