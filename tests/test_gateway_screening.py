"""The pre-filter micro-batcher: same verdicts as the filter, fewer filter calls under load."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest

from pixelmill.gateway.screening import BatchScreener
from pixelmill.safety.prefilter import PreFilter
from pixelmill.safety.verdict import Verdict


class CountingFilter:
    """Wraps the real pre-filter and counts batch calls (each takes a little time, like the
    encoder does, so concurrent callers pile up behind it)."""

    def __init__(self, inner: PreFilter) -> None:
        self.inner = inner
        self.calls: list[int] = []
        self.lock = threading.Lock()

    def screen(self, prompt: str) -> Verdict:
        return self.inner.screen(prompt)

    def screen_batch(self, prompts: Sequence[str]) -> list[Verdict]:
        with self.lock:
            self.calls.append(len(prompts))
        time.sleep(0.02)
        return self.inner.screen_batch(prompts)


@pytest.fixture(scope="module")
def prefilter() -> PreFilter:
    return PreFilter.default(embedding=False)


def test_concurrent_screens_share_batches_and_keep_their_own_verdicts(prefilter: PreFilter) -> None:
    inner = CountingFilter(prefilter)
    screener = BatchScreener(inner, max_batch=8)
    prompts = [f"a quiet harbour at dawn {i}" if i % 3 else f"graphic gore and mutilation {i}"
               for i in range(40)]
    try:
        with ThreadPoolExecutor(max_workers=20) as pool:
            got = list(pool.map(screener.screen, prompts))
    finally:
        screener.close()
    assert [v.allowed for v in got] == [v.allowed for v in prefilter.screen_batch(prompts)]
    assert sum(inner.calls) == 40 and max(inner.calls) <= 8
    assert len(inner.calls) < 40  # batched: fewer filter calls than prompts


def test_a_filter_error_reaches_the_caller() -> None:
    class Broken:
        def screen_batch(self, prompts: Sequence[str]) -> list[Verdict]:
            raise RuntimeError("encoder failed")

    screener = BatchScreener(Broken())
    try:
        with pytest.raises(RuntimeError, match="encoder failed"):
            screener.screen("a cat")
    finally:
        screener.close()


def test_rules_only_filter_is_screened_inline(prefilter: PreFilter) -> None:
    class RulesOnly(CountingFilter):
        embedding = None

    inner = RulesOnly(prefilter)
    screener = BatchScreener(inner)
    try:
        assert screener.screen("graphic gore and mutilation").allowed is False
        assert screener.screen("a quiet harbour at dawn").allowed is True
    finally:
        screener.close()
    assert inner.calls == []  # never handed to the dispatcher thread
