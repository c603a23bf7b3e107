"""DPM-Solver++(2M) (Lu et al. 2022), the multistep second-order data-prediction solver.

With ``alpha = sqrt(a)``, ``sigma = sqrt(1 - a)``, ``lambda = log(alpha / sigma)`` and
``h = lambda_next - lambda``:

- first step (no history): ``x_next = (sigma_next / sigma) x - alpha_next (e^-h - 1) x0``
- later steps: the same with ``D = (1 + 1/(2r)) x0 - 1/(2r) x0_prev``, ``r = h_prev / h``
- the last step lands on the clean image (sigma 0): ``x_next = x0`` (diffusers'
  ``final_sigmas_type="zero"`` with a first-order final step).

State kept between steps (and in checkpoints): the previous ``x0`` and ``h``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from pixelmill.models.samplers.base import NoiseSchedule, Sampler, StepCoefficients


class DPMPP2MSampler(Sampler):
    name = "dpmpp_2m"

    def __init__(self, schedule: NoiseSchedule, num_steps: int) -> None:
        super().__init__(schedule, num_steps)
        top = schedule.num_train_timesteps - 1
        grid = np.linspace(0, top, num_steps + 1).round()[::-1][:-1]
        self.timesteps = [float(t) for t in grid]
        self.alphas = [schedule.alphas_cumprod[int(t)] for t in self.timesteps] + [1.0]
        self.prev_x0: torch.Tensor | None = None
        self.prev_h: float = 0.0

    @property
    def history(self) -> torch.Tensor | None:
        return self.prev_x0

    def _coefficients(self, a: float, a_next: float) -> StepCoefficients:
        if a_next >= 1.0:
            return StepCoefficients(a, x0_coef=1.0)
        h = _lambda(a_next) - _lambda(a)
        m = -math.sqrt(a_next) * math.expm1(-h)  # x_next = (sigma_next / sigma) x + m D
        x_coef = math.sqrt(1 - a_next) / math.sqrt(1 - a)
        if self.prev_x0 is None:
            return StepCoefficients(a, x_coef=x_coef, x0_coef=m)
        r = self.prev_h / h
        return StepCoefficients(a, x_coef=x_coef, x0_coef=m * (1 + 1 / (2 * r)), prev_coef=-m / (2 * r))

    def _remember(self, x0: torch.Tensor, a: float, a_next: float) -> None:
        if a_next < 1.0:
            self.prev_h = _lambda(a_next) - _lambda(a)
        self.prev_x0 = x0

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "prev_x0": self.prev_x0, "prev_h": self.prev_h}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        self.prev_x0 = state["prev_x0"]
        self.prev_h = float(state["prev_h"])


def _lambda(a: float) -> float:
    """log(alpha / sigma) at cumulative alpha ``a``."""
    return math.log(math.sqrt(a) / math.sqrt(1 - a))
