"""DDIM (Song et al. 2020), deterministic (eta = 0), "leading" timestep spacing as in SD."""

from __future__ import annotations

import math

from pixelmill.models.samplers.base import NoiseSchedule, Sampler, StepCoefficients


class DDIMSampler(Sampler):
    """``x_next = sqrt(a_next) x0 + sqrt(1 - a_next) eps`` on timesteps
    ``(n-1..0) * (T // n) + steps_offset``; the last step lands on the clean image."""

    name = "ddim"

    def __init__(self, schedule: NoiseSchedule, num_steps: int) -> None:
        super().__init__(schedule, num_steps)
        ratio = max(1, schedule.num_train_timesteps // num_steps)
        top = schedule.num_train_timesteps - 1
        self.timesteps = [
            float(min(i * ratio + schedule.steps_offset, top)) for i in reversed(range(num_steps))
        ]
        self.alphas = [schedule.alphas_cumprod[int(t)] for t in self.timesteps] + [1.0]

    def _coefficients(self, a: float, a_next: float) -> StepCoefficients:
        return StepCoefficients(a, eps_coef=math.sqrt(1 - a_next), x0_coef=math.sqrt(a_next))
