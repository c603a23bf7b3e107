"""Euler (Karras et al. 2022, k-diffusion's ``sample_euler``) on the probability-flow ODE.

Works in sigma space: ``x_s = x_t / sqrt(a)``, ``sigma = sqrt((1 - a) / a)``,
``dx_s/dsigma = eps``. Timesteps are spaced linearly over ``[0, T-1]`` (fractional, with
sigma interpolated in log space) and the last step goes to sigma 0. On the same grid this
update coincides with DDIM (both are first-order in this parameterisation); they differ in
the grid, as in diffusers.
"""

from __future__ import annotations

import math

import numpy as np

from pixelmill.models.samplers.base import NoiseSchedule, Sampler, StepCoefficients


class EulerSampler(Sampler):
    name = "euler"

    def __init__(self, schedule: NoiseSchedule, num_steps: int) -> None:
        super().__init__(schedule, num_steps)
        top = schedule.num_train_timesteps - 1
        self.timesteps = [float(t) for t in np.linspace(0, top, num_steps)[::-1]]
        self.alphas = [schedule.alpha_at(t) for t in self.timesteps] + [1.0]

    def _coefficients(self, a: float, a_next: float) -> StepCoefficients:
        # x_s = x / sqrt(a); x_s_next = x_s + (sigma_next - sigma) eps; x_next = x_s_next sqrt(a_next)
        sigma = math.sqrt((1 - a) / a)
        sigma_next = math.sqrt((1 - a_next) / a_next)
        return StepCoefficients(
            a, x_coef=math.sqrt(a_next / a), eps_coef=(sigma_next - sigma) * math.sqrt(a_next)
        )
