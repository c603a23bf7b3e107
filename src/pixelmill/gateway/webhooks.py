"""Webhooks: a job's final state POSTed as JSON to the ``webhook_url`` given at submit.

Contract:

- Body: ``{"id": EVENT_ID, "type": "job.succeeded" | "job.failed" | ..., "created_at": epoch,
  "job": <the job as GET /v1/jobs/{id} shows it>}``. ``EVENT_ID`` is stable for one job
  outcome, so a receiver deduplicates redeliveries with it (delivery is at-least-once).
- Headers: ``X-Pixelmill-Event-Id``, ``X-Pixelmill-Timestamp`` (epoch seconds) and
  ``X-Pixelmill-Signature: v1=<hex>`` where ``hex = HMAC-SHA256(secret, f"{timestamp}.{body}")``.
  The secret is per user (:func:`user_secret`, shown at ``GET /v1/me``), so a receiver verifies
  with its own secret and a leaked secret reveals nothing about other users.
- A 2xx answer is success. Anything else (or a network error) is retried with exponential
  backoff and full jitter: attempt ``n`` waits ``uniform(0.5, 1) * min(cap, base * 2**(n-1))``,
  up to ``max_attempts`` deliveries; then the event is dropped and logged.
- Egress policy (:mod:`pixelmill.gateway.egress`): before each delivery the URL's host is
  resolved; if it is ``localhost`` or any address it resolves to is not public (loopback,
  private, link-local such as cloud metadata, multicast, ...), nothing is sent and the event is
  dropped at once (a permanent failure, no retries) with a warning that names the host, never
  the secret. ``allow_private`` (``PIXELMILL_WEBHOOK_ALLOW_PRIVATE``) turns the check off. A
  resolver error is a network failure and is retried. Known gap (DNS rebinding): the transport
  resolves the host again when it connects, so a resolver that changes its answer between the
  check and the connect can still reach a private address.

Deliveries run on one background thread per :class:`WebhookSender` so a slow receiver never
delays an API request. Pending retries live in memory: a gateway restart loses them (the job's
state is still readable with ``GET /v1/jobs/{id}``).
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import json
import logging
import random
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from pixelmill.gateway.egress import EgressDenied, Resolver, check_url
from pixelmill.observability import WEBHOOKS

log = logging.getLogger("pixelmill.gateway.webhooks")

SIGNATURE_HEADER = "X-Pixelmill-Signature"
TIMESTAMP_HEADER = "X-Pixelmill-Timestamp"
EVENT_ID_HEADER = "X-Pixelmill-Event-Id"


def user_secret(server_secret: bytes, user_id: str) -> str:
    """The webhook signing secret of one user, derived from the server's secret."""
    return hmac.new(server_secret, f"webhook:{user_id}".encode(), hashlib.sha256).hexdigest()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"v1={mac}"


def verify(secret: str, timestamp: int, body: bytes, header: str, *, tolerance_s: float = 300,
           now: float | None = None) -> bool:
    """What a receiver runs: the signature matches and the timestamp is recent."""
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), header)


@dataclass(order=True)
class _Delivery:
    due: float
    seq: int
    url: str = field(compare=False)
    secret: str = field(compare=False)
    event: dict[str, Any] = field(compare=False)
    attempt: int = field(default=0, compare=False)


class WebhookSender:
    """Delivers events on a background thread with retries.

    - ``base_s`` / ``cap_s``: backoff base and ceiling; ``max_attempts``: deliveries per event.
    - ``timeout_s``: per delivery; ``post``: injectable transport (defaults to httpx) for tests of
      the retry policy; the real tests use a real HTTP receiver.
    - ``allow_private``: deliver to non-public addresses too (default off); ``resolve``: the
      resolver the egress check uses (``socket.getaddrinfo``'s signature; injectable for tests).
    - ``denied``: how many events the egress check refused (since construction).
    """

    def __init__(
        self,
        *,
        base_s: float = 1.0,
        cap_s: float = 300.0,
        max_attempts: int = 6,
        timeout_s: float = 5.0,
        post: Callable[[str, bytes, dict[str, str]], int] | None = None,
        allow_private: bool = False,
        resolve: Resolver = socket.getaddrinfo,
    ) -> None:
        self.base_s = base_s
        self.cap_s = cap_s
        self.max_attempts = max_attempts
        self.timeout_s = timeout_s
        self._post = post or self._httpx_post
        self.allow_private = allow_private
        self._resolve = resolve
        self.denied = 0
        self._heap: list[_Delivery] = []
        self._cv = threading.Condition()
        self._seq = 0
        self._stopped = False
        self._client: httpx.Client | None = None
        self._thread = threading.Thread(target=self._run, name="pixelmill-webhooks", daemon=True)
        self._thread.start()

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after failed delivery number ``attempt`` (1-based), with jitter."""
        return random.uniform(0.5, 1.0) * min(self.cap_s, self.base_s * 2 ** (attempt - 1))

    def send(self, url: str, secret: str, event: dict[str, Any]) -> None:
        """Queue ``event`` (must carry ``id``) for delivery to ``url`` now."""
        with self._cv:
            self._seq += 1
            heapq.heappush(self._heap, _Delivery(time.monotonic(), self._seq, url, secret, event))
            self._cv.notify()

    def pending(self) -> int:
        with self._cv:
            return len(self._heap)

    def close(self) -> None:
        with self._cv:
            self._stopped = True
            self._cv.notify()
        self._thread.join(timeout=5)
        if self._client is not None:
            self._client.close()

    def _httpx_post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        if self._client is None:
            self._client = httpx.Client(timeout=self.timeout_s, follow_redirects=False)
        return self._client.post(url, content=body, headers=headers).status_code

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._stopped and (not self._heap or self._heap[0].due > time.monotonic()):
                    wait = self._heap[0].due - time.monotonic() if self._heap else None
                    self._cv.wait(timeout=wait)
                if self._stopped:
                    return
                item = heapq.heappop(self._heap)
            self._deliver(item)

    def _deliver(self, item: _Delivery) -> None:
        item.attempt += 1
        body = json.dumps(item.event, separators=(",", ":"), default=str).encode()
        ts = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "pixelmill-webhooks/1",
            EVENT_ID_HEADER: str(item.event["id"]),
            TIMESTAMP_HEADER: str(ts),
            SIGNATURE_HEADER: sign(item.secret, ts, body),
        }
        try:
            check_url(item.url, allow_private=self.allow_private, resolve=self._resolve)
            status = self._post(item.url, body, headers)
            ok = 200 <= status < 300
            reason = f"HTTP {status}"
        except EgressDenied as exc:  # permanent: retrying cannot make the address public
            self.denied += 1
            WEBHOOKS.labels("denied").inc()
            log.warning("webhook refused by the egress policy: %s", exc,
                        extra={"event_id": item.event["id"], "host": _host(item.url)})
            return
        except Exception as exc:  # any transport or resolver failure is retried
            ok, reason = False, type(exc).__name__
        if ok:
            WEBHOOKS.labels("delivered").inc()
            return
        if item.attempt >= self.max_attempts:
            WEBHOOKS.labels("dropped").inc()
            log.warning("webhook dropped after %d attempts", item.attempt,
                        extra={"event_id": item.event["id"], "reason": reason})
            return
        WEBHOOKS.labels("retry").inc()
        with self._cv:
            item.due = time.monotonic() + self.backoff(item.attempt)
            heapq.heappush(self._heap, item)
            self._cv.notify()


def _host(url: str) -> str:
    try:
        return httpx.URL(url).host
    except httpx.InvalidURL:
        return "?"


class JobWatcher:
    """Watches jobs submitted with a ``webhook_url`` and sends their final state once.

    The job store is the truth: every ``poll_s`` the watcher reads each watched job and, when it
    is final, queues the event ``{"id": f"{job_id}:{state}", "type": f"job.{state}", ...}`` on the
    :class:`WebhookSender`. ``view`` renders the job as the API shows it; ``secret_for`` gives the
    owner's signing secret. Watches live in the gateway that accepted the job.
    """

    def __init__(self, load: Callable[[str], Any], view: Callable[[Any], dict[str, Any]],
                 secret_for: Callable[[str], str], sender: WebhookSender, *, poll_s: float = 0.5) -> None:
        self._load = load
        self._view = view
        self._secret_for = secret_for
        self.sender = sender
        self.poll_s = poll_s
        self._watched: dict[str, tuple[str, str]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pixelmill-webhook-watch", daemon=True)
        self._thread.start()

    def watch(self, job_id: str, user_id: str, url: str) -> None:
        with self._lock:
            self._watched[job_id] = (user_id, url)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def poll_once(self) -> None:
        with self._lock:
            items = list(self._watched.items())
        for job_id, (user_id, url) in items:
            try:
                job = self._load(job_id)
            except KeyError:  # deleted (privacy deletion): nothing to report
                with self._lock:
                    self._watched.pop(job_id, None)
                continue
            except Exception:
                log.exception("webhook watcher could not read job %s", job_id)
                continue
            if not job.state.finished:
                continue
            state = job.state.value
            event = {"id": f"{job_id}:{state}", "type": f"job.{state}", "created_at": time.time(),
                     "job": self._view(job)}
            self.sender.send(url, self._secret_for(user_id), event)
            with self._lock:
                self._watched.pop(job_id, None)

    def _run(self) -> None:
        while not self._stop.wait(self.poll_s):
            self.poll_once()
