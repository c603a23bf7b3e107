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
import torch

from pixelmill.models.samplers.base import NoiseSchedule, Sampler


class EulerSampler(Sampler):
    name = "euler"

    def __init__(self, schedule: NoiseSchedule, num_steps: int) -> None:
        super().__init__(schedule, num_steps)
        top = schedule.num_train_timesteps - 1
        self.timesteps = [float(t) for t in np.linspace(0, top, num_steps)[::-1]]
        self.alphas = [schedule.alpha_at(t) for t in self.timesteps] + [1.0]

    def _step(
        self, eps: torch.Tensor, x: torch.Tensor, x0: torch.Tensor, a: float, a_next: float
    ) -> torch.Tensor:
        sigma = math.sqrt((1 - a) / a)
        sigma_next = math.sqrt((1 - a_next) / a_next)
        x_s = x / math.sqrt(a)
        x_s_next = x_s + (sigma_next - sigma) * eps
        return x_s_next * math.sqrt(a_next)
