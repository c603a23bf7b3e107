"""Policy data: tiers, modes, lanes, step budgets, rate limits and fair-share weights.

Everything here is plain data so the gateway, the scheduler, the stores and the simulator read
the same numbers. Operators override any field with a JSON file at ``$PIXELMILL_TIERS`` (or
``$PIXELMILL_HOME/tiers.json``) shaped like :meth:`Policy.to_dict`.

Lanes: a queued job waits in exactly one lane, derived from (tier, mode) by :func:`lane_for`:

- ``turbo``: turbo-mode jobs (pro only); served before every other lane.
- ``pro`` / ``paid`` / ``free``: fast and draft jobs of that tier; weighted fair share 4:2:1.
- ``relax``: relax-mode jobs of any tier; only fills capacity that no other lane wants.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from pathlib import Path


class Tier(StrEnum):
    FREE = "free"
    PAID = "paid"
    PRO = "pro"


class Mode(StrEnum):
    DRAFT = "draft"
    RELAX = "relax"
    FAST = "fast"
    TURBO = "turbo"


LANES: tuple[str, ...] = ("turbo", "pro", "paid", "free", "relax")
"""Every lane, highest priority first (relax last: it only fills idle capacity)."""


def lane_for(tier: Tier | str, mode: Mode | str) -> str:
    """The lane a job of this tier and mode waits in."""
    mode = Mode(mode)
    if mode is Mode.TURBO:
        return "turbo"
    if mode is Mode.RELAX:
        return "relax"
    return Tier(tier).value


@dataclass(frozen=True)
class TierPolicy:
    """What one tier may do.

    - ``modes``: the modes a job of this tier may ask for.
    - ``step_budget``: the most denoising steps one job may run (the engine hard-stops there).
    - ``requests_per_minute``: submits per user per minute.
    - ``max_running`` / ``max_queued``: concurrent jobs per user.
    - ``weight``: fair-share weight of the tier's lane.
    """

    modes: tuple[str, ...]
    step_budget: int
    requests_per_minute: int
    max_running: int
    max_queued: int
    weight: float


@dataclass(frozen=True)
class Policy:
    """The whole policy. ``free_floor_s``: a free job older than this is claimed first."""

    tiers: dict[str, TierPolicy] = field(
        default_factory=lambda: {
            "free": TierPolicy(("draft", "relax"), 30, 10, 1, 4, 1.0),
            "paid": TierPolicy(("draft", "fast", "relax"), 50, 100, 3, 20, 2.0),
            "pro": TierPolicy(("draft", "fast", "relax", "turbo"), 80, 300, 6, 50, 4.0),
        }
    )
    default_mode: dict[str, str] = field(
        default_factory=lambda: {"free": "draft", "paid": "fast", "pro": "fast"}
    )
    mode_step_factor: dict[str, float] = field(
        default_factory=lambda: {"draft": 0.5, "relax": 1.0, "fast": 1.0, "turbo": 1.0}
    )
    ip_requests_per_hour: int = 1000
    free_floor_s: float = 30.0
    staleness_bonus_per_s: float = 0.01
    relax_weight: float = 1.0

    def tier(self, tier: Tier | str) -> TierPolicy:
        return self.tiers[Tier(tier).value]

    def weight(self, lane: str) -> float:
        """Fair-share weight of a lane (turbo uses pro's weight; it is served first anyway)."""
        if lane == "turbo":
            return self.tiers["pro"].weight
        if lane == "relax":
            return self.relax_weight
        return self.tiers[lane].weight

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Policy:
        base = cls()
        tiers = dict(base.tiers)
        for name, raw in dict(data.get("tiers", {})).items():  # type: ignore[arg-type]
            merged = {**asdict(tiers.get(name, tiers["free"])), **raw}
            merged["modes"] = tuple(merged["modes"])
            tiers[name] = TierPolicy(**merged)
        scalars = {k: v for k, v in data.items() if k != "tiers"}
        return replace(base, tiers=tiers, **scalars)  # type: ignore[arg-type]


def load_policy(path: str | os.PathLike[str] | None = None) -> Policy:
    """Load the policy: defaults, overridden by the JSON file if one exists."""
    if path is None:
        env = os.environ.get("PIXELMILL_TIERS")
        if env:
            path = env
        else:
            candidate = Path(os.environ.get("PIXELMILL_HOME", "~/.pixelmill")).expanduser() / "tiers.json"
            path = candidate if candidate.exists() else None
    if path is None:
        return Policy()
    return Policy.from_dict(json.loads(Path(path).read_text()))
