"""Safety: the prompt pre-filter (text) and the image post-filter, their data and thresholds.

Public API (other areas import only these names):

- :class:`~pixelmill.safety.verdict.Verdict` and the category names in
  :mod:`pixelmill.safety.verdict` (``CATEGORIES``, ``policy_message``).
- :class:`~pixelmill.safety.prefilter.PreFilter`: ``PreFilter.default().screen(prompt) -> Verdict``.
- :class:`~pixelmill.safety.postfilter.PostFilter`: ``PostFilter.default().screen(image) -> Verdict``.
- :class:`~pixelmill.safety.strikes.ViolationTracker`: repeated-violation restriction (pure logic).

Heavy modules (the MiniLM encoder, onnxruntime) load lazily inside the filters' ``default()``.
"""

from __future__ import annotations

from pixelmill.safety.strikes import ViolationTracker
from pixelmill.safety.verdict import CATEGORIES, Verdict, policy_message

__all__ = ["CATEGORIES", "Verdict", "ViolationTracker", "policy_message"]
