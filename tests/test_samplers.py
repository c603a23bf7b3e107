"""Samplers: exact on a one-point data set, accurate on Gaussian data (DPM-Solver++ 2M beats
first-order at few steps), and checkpointable (state round trip continues bit-exactly)."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from pixelmill.models.samplers import SAMPLER_CLASSES, NoiseSchedule, make_sampler

SD_CONFIG = {"beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear",
             "num_train_timesteps": 1000, "steps_offset": 1}
SCHEDULE = NoiseSchedule.from_config(SD_CONFIG)
NAMES = sorted(SAMPLER_CLASSES)


def gaussian_eps(x: torch.Tensor, a: float, mu: float, s: float) -> torch.Tensor:
    """The exact noise prediction E[eps | x_t] when the data is N(mu, s^2) per dimension."""
    return math.sqrt(1 - a) * (x - math.sqrt(a) * mu) / (a * s * s + 1 - a)


def flow(x: torch.Tensor, a: float, a_next: float, mu: float, s: float) -> torch.Tensor:
    """The probability-flow ODE's exact map from level ``a`` to ``a_next`` for Gaussian data
    (it keeps each sample's quantile: (x - sqrt(a) mu) / std(x_t) is invariant)."""
    std, std_next = math.sqrt(a * s * s + 1 - a), math.sqrt(a_next * s * s + 1 - a_next)
    return math.sqrt(a_next) * mu + (x - math.sqrt(a) * mu) * std_next / std


def ode_error(name: str, steps: int, mu: float = 0.5, s: float = 0.3) -> float:
    """Mean error after all steps but the last (the last one jumps to the x0 prediction, the
    posterior mean, which is not the ODE end point), against the exact flow."""
    sampler = make_sampler(name, SCHEDULE, steps)
    x_start = torch.randn(4096, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    x = x_start
    for _ in range(steps - 1):
        x, _ = sampler.step(gaussian_eps(x, sampler.alphas[sampler.step_index], mu, s), x)
    want = flow(x_start, sampler.alphas[0], sampler.alphas[steps - 1], mu, s)
    return float((x - want).abs().mean())


@pytest.mark.parametrize("name", NAMES)
def test_gaussian_data_follows_the_probability_flow(name: str) -> None:
    coarse, fine = ode_error(name, 10), ode_error(name, 40)
    assert fine < 0.03
    assert fine < 0.5 * coarse  # converges as steps grow


def test_second_order_solver_beats_first_order_at_few_steps() -> None:
    errors = {name: ode_error(name, 8) for name in NAMES}
    assert errors["dpmpp_2m"] < 0.1 * min(errors["ddim"], errors["euler"]), errors


@pytest.mark.parametrize("name", NAMES)
def test_state_round_trip_continues_bit_exactly(name: str) -> None:
    gen = torch.Generator().manual_seed(4)
    x = torch.randn(3, 4, 8, 8, generator=gen)
    eps_seq = [torch.randn(3, 4, 8, 8, generator=gen) for _ in range(10)]
    whole = make_sampler(name, SCHEDULE, 10)
    xa = x
    for eps in eps_seq:
        xa, _ = whole.step(eps, xa)
    first = make_sampler(name, SCHEDULE, 10)
    xb = x
    for eps in eps_seq[:4]:
        xb, _ = first.step(eps, xb)
    resumed = make_sampler(name, SCHEDULE, 10)
    resumed.load_state_dict(first.state_dict())
    for eps in eps_seq[4:]:
        xb, _ = resumed.step(eps, xb)
    assert torch.equal(xa, xb)


@pytest.mark.parametrize("name", NAMES)
def test_timesteps_descend_within_the_schedule(name: str) -> None:
    sampler = make_sampler(name, SCHEDULE, 25)
    ts = sampler.timesteps
    assert len(ts) == 25 and len(sampler.alphas) == 26 and sampler.alphas[-1] == 1.0
    assert all(a > b for a, b in itertools.pairwise(ts))
    assert ts[-1] >= 0 and ts[0] <= 999


def test_misuse_gets_clear_errors() -> None:
    with pytest.raises(ValueError, match="unknown sampler 'heun'"):
        make_sampler("heun", SCHEDULE, 10)
    sampler = make_sampler("ddim", SCHEDULE, 1)
    sampler.step(torch.zeros(1), torch.zeros(1))
    with pytest.raises(RuntimeError, match="all 1 steps are done"):
        sampler.step(torch.zeros(1), torch.zeros(1))
    other = make_sampler("euler", SCHEDULE, 1)
    with pytest.raises(ValueError, match="sampler state is for ddim"):
        other.load_state_dict(sampler.state_dict())
    with pytest.raises(ValueError, match="beta_schedule 'cubic'"):
        NoiseSchedule.from_config({"beta_schedule": "cubic"})


def test_one_batched_update_equals_each_sampler_stepping_alone() -> None:
    """The engine steps many jobs (any sampler, any step index, with or without history) in
    one tensor operation; each job's rows must match its sampler stepping on its own."""
    from pixelmill.models.samplers.base import step_rows

    gen = torch.Generator().manual_seed(9)
    jobs = [("ddim", 10, 3, 2), ("euler", 20, 0, 1), ("dpmpp_2m", 8, 0, 3), ("dpmpp_2m", 8, 4, 2)]
    alone, batched, xs, epss = [], [], [], []
    for name, steps, done, rows in jobs:
        a, b = make_sampler(name, SCHEDULE, steps), make_sampler(name, SCHEDULE, steps)
        x = torch.randn(rows, 4, 8, 8, generator=gen)
        for _ in range(done):  # bring both to step `done` with the same history
            eps = torch.randn(rows, 4, 8, 8, generator=gen)
            b.step(eps, x)
            x, _ = a.step(eps, x)
        alone.append(a)
        batched.append(b)
        xs.append(x)
        epss.append(torch.randn(rows, 4, 8, 8, generator=gen))
    sizes = torch.tensor([x.shape[0] for x in xs])
    coefs = torch.tensor([b.coefficients().as_row() for b in batched], dtype=torch.float64)
    prev = torch.cat(
        [h if (h := b.history) is not None else torch.zeros_like(x) for b, x in zip(batched, xs, strict=True)]
    )
    x_next, x0 = step_rows(coefs.repeat_interleave(sizes, dim=0), torch.cat(xs), torch.cat(epss), prev)
    for part, x0_part, a, b, x, eps in zip(
        x_next.split(sizes.tolist()), x0.split(sizes.tolist()), alone, batched, xs, epss, strict=True
    ):
        want, want_x0 = a.step(eps, x)
        torch.testing.assert_close(part, want, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(x0_part, want_x0, atol=1e-5, rtol=1e-5)
        b.advance(x0_part)
        assert b.step_index == a.step_index
        assert (b.history is None) == (a.history is None)
