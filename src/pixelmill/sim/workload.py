"""Arrivals: a seeded trace of jobs that every policy in one comparison replays identically.

Arrivals are a non-homogeneous Poisson process per tier (thinning): a base rate shaped by a
diurnal sine, times any spikes that cover the tier. Each arrival draws its mode (from the tier's
mode mix), resolution, user (Zipf, so a few heavy users dominate relax), whether it is
adversarial, whether the pre-filter would catch it, and the randomness of its follow-up (a
fraction of completions come back as an upscale or a variation after a think time). Those draws
are made once, here, so a follow-up's arrival time depends on the policy (it follows the
parent's completion) but its randomness never does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pixelmill.sim.profile import RESOLUTIONS
from pixelmill.tiers import Policy, lane_for

TIERS: tuple[str, ...] = ("free", "paid", "pro")


@dataclass(frozen=True)
class Spike:
    """Arrivals of ``tiers`` multiplied by ``multiplier`` during [start_s, start_s + duration_s)."""

    start_s: float
    duration_s: float
    multiplier: float
    tiers: tuple[str, ...] = TIERS


@dataclass(frozen=True)
class Workload:
    """What users send.

    - ``rate_per_s``: mean arrivals per second at the diurnal mean (before spikes).
    - ``diurnal_amplitude`` / ``start_hour`` / ``peak_hour``: the rate is ``rate_per_s`` at the
      daily peak and falls to ``rate_per_s x (1 - A)`` twelve hours away (a raised cosine over
      the hour of day ``h``, which is ``start_hour`` at simulated time 0).
    - ``tier_mix`` / ``mode_mix``: shares of arrivals by tier and, within a tier, by mode.
    - ``resolution_mix``: shares of 512 / 768 / 1024 px jobs.
    - ``images_per_job``: samples of an ``imagine`` job (the grid).
    - ``followup_fraction``: share of completed imagine jobs that get a follow-up;
      ``upscale_share`` of those are upscales (1 sample at 1024 px, ``upscale_steps`` steps), the
      rest variations (same shape as the parent); ``followup_think_s`` is the mean think time.
    - ``adversarial_fraction``: share of arrivals whose prompt is abusive; ``prefilter_recall``:
      share of those the pre-filter stops before queueing (the rest run and are blocked after).
    - ``users`` / ``user_zipf``: user population and the Zipf exponent of their activity.
    """

    rate_per_s: float = 100.0
    diurnal_amplitude: float = 0.4
    start_hour: float = 15.5
    peak_hour: float = 16.0
    spikes: tuple[Spike, ...] = ()
    tier_mix: dict[str, float] = field(default_factory=lambda: {"free": 0.45, "paid": 0.4, "pro": 0.15})
    mode_mix: dict[str, dict[str, float]] = field(default_factory=lambda: {
        "free": {"draft": 0.4, "relax": 0.6},
        "paid": {"fast": 0.5, "draft": 0.05, "relax": 0.45},
        "pro": {"fast": 0.45, "turbo": 0.05, "draft": 0.05, "relax": 0.45},
    })
    resolution_mix: tuple[float, float, float] = (0.05, 0.2, 0.75)
    images_per_job: int = 4
    followup_fraction: float = 0.6
    upscale_share: float = 0.5
    upscale_steps: int = 20
    followup_think_s: float = 30.0
    adversarial_fraction: float = 0.0
    prefilter_recall: float = 0.97
    users: int = 100_000
    user_zipf: float = 1.3

    def rate_at(self, t: np.ndarray | float, tier: str) -> np.ndarray | float:
        """Arrivals per second of ``tier`` at simulated time ``t`` (seconds)."""
        hour = self.start_hour + np.asarray(t) / 3600.0
        dip = (1.0 - np.cos(2 * np.pi * (hour - self.peak_hour) / 24.0)) / 2.0
        rate = self.rate_per_s * self.tier_mix[tier] * (1.0 - self.diurnal_amplitude * dip)
        for spike in self.spikes:
            if tier in spike.tiers:
                inside = (np.asarray(t) >= spike.start_s) & (np.asarray(t) < spike.start_s + spike.duration_s)
                rate = rate * np.where(inside, spike.multiplier, 1.0)
        return rate

    def validate(self) -> None:
        """Raise ValueError naming the field to fix."""
        if self.rate_per_s <= 0:
            raise ValueError("rate_per_s must be > 0")
        if set(self.tier_mix) - set(TIERS) or abs(sum(self.tier_mix.values()) - 1) > 1e-6:
            raise ValueError(f"tier_mix must give shares of {TIERS} that sum to 1")
        policy = Policy()
        for tier, mix in self.mode_mix.items():
            bad = set(mix) - set(policy.tier(tier).modes)
            if bad:
                raise ValueError(f"mode_mix[{tier}] has modes {sorted(bad)} that tier {tier} may not use")
            if abs(sum(mix.values()) - 1) > 1e-6:
                raise ValueError(f"mode_mix[{tier}] shares must sum to 1")
        if len(self.resolution_mix) != len(RESOLUTIONS) or abs(sum(self.resolution_mix) - 1) > 1e-6:
            raise ValueError(f"resolution_mix must give {len(RESOLUTIONS)} shares "
                             f"({RESOLUTIONS}) summing to 1")
        for spike in self.spikes:
            if spike.multiplier < 0 or spike.duration_s <= 0:
                raise ValueError("a spike needs multiplier >= 0 and duration_s > 0")


@dataclass(frozen=True)
class Trace:
    """Arrivals sorted by time; every column has one entry per arrival.

    ``steps`` is the tier's step budget scaled by the mode's step factor (DESIGN: the gateway
    writes the step budget from the tier). ``followup_u`` < fraction decides a follow-up;
    ``followup_kind_u`` < upscale_share makes it an upscale.
    """

    time: np.ndarray
    tier: list[str]
    lane: list[str]
    mode: list[str]
    res: np.ndarray
    steps: np.ndarray
    user: np.ndarray
    adversarial: np.ndarray
    prefilter_catches: np.ndarray
    followup_u: np.ndarray
    followup_kind_u: np.ndarray
    think_s: np.ndarray

    def __len__(self) -> int:
        return int(self.time.shape[0])


def generate_trace(workload: Workload, duration_s: float, seed: int, policy: Policy | None = None) -> Trace:
    """Draw the arrivals of ``duration_s`` seconds; the same (workload, duration, seed) gives the
    same trace."""
    workload.validate()
    policy = policy or Policy()
    rng = np.random.default_rng(seed)
    times: list[np.ndarray] = []
    tiers: list[np.ndarray] = []
    for k, tier in enumerate(TIERS):
        if workload.tier_mix.get(tier, 0.0) <= 0:
            continue
        grid = np.linspace(0.0, duration_s, 2048)
        bound = float(np.max(workload.rate_at(grid, tier))) * 1.05 + 1e-9
        n = rng.poisson(bound * duration_s)
        cand = np.sort(rng.uniform(0.0, duration_s, n))
        keep = rng.uniform(0.0, bound, n) < workload.rate_at(cand, tier)
        times.append(cand[keep])
        tiers.append(np.full(int(keep.sum()), k, dtype=np.int8))
    time = np.concatenate(times) if times else np.zeros(0)
    tier_idx = np.concatenate(tiers) if tiers else np.zeros(0, dtype=np.int8)
    order = np.argsort(time, kind="stable")
    time, tier_idx = time[order], tier_idx[order]
    n = time.shape[0]

    mode = np.empty(n, dtype=object)
    for k, tier in enumerate(TIERS):
        sel = tier_idx == k
        mix = workload.mode_mix[tier]
        mode[sel] = rng.choice(list(mix), size=int(sel.sum()), p=list(mix.values()))
    res = rng.choice(len(RESOLUTIONS), size=n, p=list(workload.resolution_mix)).astype(np.int8)
    tier_names = [TIERS[k] for k in tier_idx.tolist()]
    modes = [str(m) for m in mode.tolist()]
    steps = np.array([max(1, round(policy.tier(t).step_budget * policy.mode_step_factor[m]))
                      for t, m in zip(tier_names, modes, strict=True)], dtype=np.int32)
    user = (rng.zipf(workload.user_zipf, n) % workload.users).astype(np.int64)
    adversarial = rng.uniform(size=n) < workload.adversarial_fraction
    # Abusers ask for the most expensive shape they can get.
    res[adversarial] = len(RESOLUTIONS) - 1
    return Trace(
        time=time,
        tier=tier_names,
        lane=[lane_for(t, m) for t, m in zip(tier_names, modes, strict=True)],
        mode=modes,
        res=res,
        steps=steps,
        user=user,
        adversarial=adversarial,
        prefilter_catches=rng.uniform(size=n) < workload.prefilter_recall,
        followup_u=rng.uniform(size=n),
        followup_kind_u=rng.uniform(size=n),
        think_s=rng.exponential(workload.followup_think_s, size=n),
    )
