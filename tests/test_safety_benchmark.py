"""`pixelmill bench safety`'s measuring code: every variant timed on every prompt, agreement counts
differing decisions against the reference."""

from __future__ import annotations

import pytest

from pixelmill.safety import benchmark
from pixelmill.safety.prefilter import PreFilter
from pixelmill.safety.verdict import Verdict


def test_latency_times_every_variant_single_and_batched() -> None:
    pf = PreFilter.default(embedding=False)
    prompts = [f"a red kite number {i} over a beach" for i in range(32)]
    out = benchmark.latency({"a": pf, "b": pf}, prompts, batch=16)
    assert set(out) == {"a", "b"}
    for stats in out.values():
        assert stats["single"]["n"] == 32  # type: ignore[index]
        assert stats["batch16_per_prompt"]["n"] == 2  # type: ignore[index]
        assert 0 < stats["single"]["p50"] <= stats["single"]["p99"]  # type: ignore[index]


class _Fixed:
    """A filter that blocks every prompt containing ``word`` (to test the agreement counting)."""

    def __init__(self, word: str) -> None:
        self.word = word

    def screen_batch(self, prompts: list[str]) -> list[Verdict]:
        blocked = Verdict.block("sexual", 1.0, "lexicon", "x")
        return [blocked if self.word in p else Verdict.allow() for p in prompts]


def test_agreement_counts_decisions_that_differ(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [
        {"prompt": "a nude", "expected": "sexual", "split": "tune"},
        {"prompt": "a cat", "expected": None, "split": "tune"},
        {"prompt": "a nude cat", "expected": None, "split": "tune"},
        {"prompt": "held out", "expected": None, "split": "heldout"},
    ]
    monkeypatch.setattr(benchmark, "load", lambda name: rows if name == "adversarial" else [])
    out = benchmark.agreement({"torch": _Fixed("nude"), "fast": _Fixed("nude cat")})  # type: ignore[dict-item]
    assert out["n"] == 3  # held-out rows are not read
    assert out["torch"]["decisions_differing"] == 0  # type: ignore[index]
    fast = out["fast"]
    assert fast["decisions_differing"] == 1 and fast["examples"] == ["a nude"]  # type: ignore[index]
    assert fast["tune_recall"] == 0.0 and fast["tune_false_positive_rate"] == 0.5  # type: ignore[index]
