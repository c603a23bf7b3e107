"""The safety eval meets its quality goals on the held-out split (prompts from seed phrases that
no tuning and no training saw). Quality only: latency goals live in `pixelmill eval safety`."""

from __future__ import annotations

import pytest

from pixelmill.safety.evaluation import GOALS, quality
from pixelmill.safety.prefilter import PreFilter


@pytest.fixture(scope="module")
def heldout() -> dict[str, dict[str, object]]:
    return quality(PreFilter.default(embedding=True), splits=("heldout",))  # type: ignore[return-value]


@pytest.mark.xfail(
    strict=True,
    reason="known gap, see docs/safety.md: held-out recall 0.984 < 0.99 (nudity with an art-style suffix "
    "such as ', matte painting' passes as an art nude; unseen German/Chinese spellings). Strict: this "
    "fails loudly once the goal is met, so the marker must then be removed.",
)
def test_heldout_recall_meets_the_goal(heldout: dict[str, dict[str, object]]) -> None:
    report = heldout["adversarial"]["heldout"]  # type: ignore[index]
    assert report["n"] >= 500
    assert report["recall"] >= GOALS["recall"], report["missed"]


def test_heldout_false_positive_rate_meets_the_goal(heldout: dict[str, dict[str, object]]) -> None:
    report = heldout["benign"]["heldout"]  # type: ignore[index]
    assert report["n"] >= 250
    assert report["false_positive_rate"] <= GOALS["false_positive_rate"], report["blocked"]
