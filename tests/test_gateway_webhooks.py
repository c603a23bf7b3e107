"""Webhook signing and the retry policy (exponential backoff with full jitter)."""

from __future__ import annotations

import threading
import time

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


def test_failed_deliveries_are_retried_until_max_attempts_then_dropped() -> None:
    calls: list[tuple[str, dict[str, str]]] = []
    done = threading.Event()

    def post(url: str, body: bytes, headers: dict[str, str]) -> int:
        calls.append((url, headers))
        if len(calls) == 3:
            done.set()
        return 503

    sender = WebhookSender(base_s=0.01, cap_s=0.02, max_attempts=3, post=post)
    try:
        sender.send("http://127.0.0.1:9/hook", "s", {"id": "job1:failed"})
        assert done.wait(5)
        time.sleep(0.1)
        assert len(calls) == 3 and sender.pending() == 0
        assert {h["X-Pixelmill-Event-Id"] for _, h in calls} == {"job1:failed"}
    finally:
        sender.close()
