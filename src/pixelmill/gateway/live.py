"""A gateway served by uvicorn on a free loopback port, on a background thread.

Used by the HTTP, fuzz and browser tests (real sockets, real HTTP) and by anyone embedding the
gateway in another program. ``with LiveServer(app) as server: httpx.get(server.url + "/healthz")``.
Stopping runs the app's shutdown (the embedded worker and webhook threads stop too).
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Any

import uvicorn


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class LiveServer:
    def __init__(self, app: Any, host: str = "127.0.0.1", port: int | None = None) -> None:
        self.app = app
        self.host = host
        self.port = port or free_port(host)
        self.url = f"http://{host}:{self.port}"
        # loop="asyncio": uvloop would install its event-loop policy process-wide from this
        # background thread, under whatever else the process runs (tests, Playwright).
        config = uvicorn.Config(app, host=host, port=self.port, log_level="warning", access_log=False,
                                lifespan="on", timeout_graceful_shutdown=2, loop="asyncio")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name=f"uvicorn-{self.port}", daemon=True)

    def start(self, timeout_s: float = 30.0) -> LiveServer:
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn did not start on {self.url}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=15)

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
