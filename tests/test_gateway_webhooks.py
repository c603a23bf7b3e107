"""Webhook signing, the retry policy (exponential backoff with full jitter) and the egress check
at delivery (hosts that resolve to private addresses get nothing)."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from pixelmill.gateway.webhooks import WebhookSender, sign, user_secret, verify


def test_signature_verifies_only_with_the_right_secret_body_and_fresh_time() -> None:
    body = b'{"id":"j:succeeded"}'
    header = sign("s3cret", 1_000, body)
    assert verify("s3cret", 1_000, body, header, now=1_010)
    assert not verify("other", 1_000, body, header, now=1_010)
    assert not verify("s3cret", 1_000, body + b" ", header, now=1_010)
    assert not verify("s3cret", 1_000, body, header, now=1_000 + 301)  # replay window
    assert user_secret(b"k", "alice") != user_secret(b"k", "bob")


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    sender = WebhookSender(base_s=1.0, cap_s=8.0, post=lambda *a: 200)
    try:
        for attempt, ceiling in ((1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (9, 8.0)):
            delays = [sender.backoff(attempt) for _ in range(200)]
            assert all(ceiling / 2 <= d <= ceiling for d in delays), attempt
            assert max(delays) - min(delays) > ceiling / 10  # jittered, not constant
    finally:
        sender.close()


def _metric(result: str) -> float:
    from pixelmill.observability import REGISTRY

    value = REGISTRY.get_sample_value("pixelmill_webhook_deliveries_total", {"result": result})
    return value or 0.0


def test_failed_deliveries_are_retried_until_max_attempts_then_dropped() -> None:
    calls: list[tuple[str, dict[str, str]]] = []
    done = threading.Event()

    def post(url: str, body: bytes, headers: dict[str, str]) -> int:
        calls.append((url, headers))
        if len(calls) == 3:
            done.set()
        return 503

    before = {r: _metric(r) for r in ("retry", "dropped")}
    sender = WebhookSender(base_s=0.01, cap_s=0.02, max_attempts=3, post=post, allow_private=True)
    try:
        sender.send("http://127.0.0.1:9/hook", "s", {"id": "job1:failed"})
        assert done.wait(5)
        time.sleep(0.1)
        assert len(calls) == 3 and sender.pending() == 0
        assert {h["X-Pixelmill-Event-Id"] for _, h in calls} == {"job1:failed"}
        assert _metric("retry") - before["retry"] == 2 and _metric("dropped") - before["dropped"] == 1
    finally:
        sender.close()


# --- egress check at delivery ----------------------------------------------------------------------
class Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.server.calls.append(self.rfile.read(int(self.headers["Content-Length"])))  # type: ignore[attr-defined]
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[ThreadingHTTPServer]:
    """A real HTTP receiver on 127.0.0.1; ``.calls`` lists the bodies it got."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    server.calls = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


HOOK_HOST = "hooks.example.test"


def resolver(address: str, lookups: list[str]) -> Any:
    """A DNS stand-in answering ``address`` for every name (and recording the lookups)."""
    def resolve(host: str, port: int, *args: Any) -> list[tuple[Any, ...]]:
        lookups.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]
    return resolve


def loopback_post(port: int) -> Any:
    """A real HTTP POST that connects where the stand-in DNS says ``HOOK_HOST`` is (127.0.0.1),
    so the receiver is reachable unless the egress check stops the delivery first."""
    def post(url: str, body: bytes, headers: dict[str, str]) -> int:
        real = httpx.URL(url).copy_with(host="127.0.0.1", port=port)
        return httpx.post(real, content=body, headers=headers, timeout=5).status_code
    return post


def wait_until(condition: Any, timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def test_a_name_resolving_to_loopback_gets_nothing_and_is_not_retried(
        receiver: ThreadingHTTPServer, caplog: pytest.LogCaptureFixture) -> None:
    lookups: list[str] = []
    port = receiver.server_address[1]
    denied_before = _metric("denied")
    sender = WebhookSender(base_s=0.01, cap_s=0.02, max_attempts=5, post=loopback_post(port),
                           resolve=resolver("127.0.0.1", lookups))
    try:
        with caplog.at_level(logging.WARNING, logger="pixelmill.gateway.webhooks"):
            sender.send(f"http://{HOOK_HOST}:{port}/hook", "top-secret-key", {"id": "job1:succeeded"})
            assert wait_until(lambda: sender.denied == 1)
            time.sleep(0.2)  # room for a (wrong) retry
        assert receiver.calls == []  # type: ignore[attr-defined]
        assert lookups == [HOOK_HOST] and sender.pending() == 0  # permanent: one check, no retries
        assert _metric("denied") - denied_before == 1
        messages = [r.getMessage() for r in caplog.records]
        assert any("127.0.0.1" in m and HOOK_HOST in m for m in messages), messages
        assert not any("top-secret-key" in m for m in messages)
    finally:
        sender.close()


def test_a_name_resolving_to_a_public_address_is_delivered(receiver: ThreadingHTTPServer) -> None:
    # The same path with a public DNS answer reaches the receiver: the check alone blocks above.
    lookups: list[str] = []
    port = receiver.server_address[1]
    sender = WebhookSender(post=loopback_post(port), resolve=resolver("93.184.216.34", lookups))
    try:
        sender.send(f"http://{HOOK_HOST}:{port}/hook", "s", {"id": "job2:succeeded"})
        assert wait_until(lambda: len(receiver.calls) == 1)  # type: ignore[attr-defined]
        assert sender.denied == 0 and lookups == [HOOK_HOST]
    finally:
        sender.close()


def test_loopback_literal_is_refused_by_default_and_delivered_when_allowed(
        receiver: ThreadingHTTPServer) -> None:
    url = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
    denied = WebhookSender(base_s=0.01)  # the real transport and resolver
    try:
        denied.send(url, "s", {"id": "job3:succeeded"})
        assert wait_until(lambda: denied.denied == 1)
    finally:
        denied.close()
    assert receiver.calls == []  # type: ignore[attr-defined]
    allowed = WebhookSender(base_s=0.01, allow_private=True)
    try:
        allowed.send(url, "s", {"id": "job3:succeeded"})
        assert wait_until(lambda: len(receiver.calls) == 1)  # type: ignore[attr-defined]
        assert allowed.denied == 0
    finally:
        allowed.close()


def test_resolver_failures_are_retried_like_network_errors() -> None:
    attempts: list[str] = []

    def broken(host: str, *args: Any) -> list[Any]:
        attempts.append(host)
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    sender = WebhookSender(base_s=0.01, cap_s=0.02, max_attempts=3, post=lambda *a: 204, resolve=broken)
    try:
        sender.send(f"http://{HOOK_HOST}/hook", "s", {"id": "job4:failed"})
        assert wait_until(lambda: len(attempts) == 3 and sender.pending() == 0)
        assert sender.denied == 0
    finally:
        sender.close()
