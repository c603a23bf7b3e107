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

from pixelmill.models.samplers.base import NoiseSchedule, Sampler


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

    def _step(
        self, eps: torch.Tensor, x: torch.Tensor, x0: torch.Tensor, a: float, a_next: float
    ) -> torch.Tensor:
        if a_next >= 1.0:
            out = x0
        else:
            alpha, sigma = math.sqrt(a), math.sqrt(1 - a)
            alpha_n, sigma_n = math.sqrt(a_next), math.sqrt(1 - a_next)
            h = math.log(alpha_n / sigma_n) - math.log(alpha / sigma)
            d = x0
            if self.prev_x0 is not None:
                r = self.prev_h / h
                d = (1 + 1 / (2 * r)) * x0 - (1 / (2 * r)) * self.prev_x0
            out = (sigma_n / sigma) * x - alpha_n * math.expm1(-h) * d
            self.prev_h = h
        self.prev_x0 = x0
        return out

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "prev_x0": self.prev_x0, "prev_h": self.prev_h}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        self.prev_x0 = state["prev_x0"]
        self.prev_h = float(state["prev_h"])
