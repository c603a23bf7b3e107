"""The training noise schedule and the state every sampler shares.

A sampler over ``n`` steps has ``timesteps[0..n-1]`` (what the model is called with; floats,
descending) and ``alphas[0..n]``: ``alphas[i]`` is the cumulative alpha at ``timesteps[i]``
and ``alphas[n] = 1`` (the clean image). Step ``i`` maps ``x`` at ``alphas[i]`` to ``x`` at
``alphas[i + 1]``.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch


@dataclass(frozen=True)
class NoiseSchedule:
    """The training schedule's cumulative alphas (``alphas_cumprod[t]`` for t in 0..T-1).

    ``steps_offset``: added to "leading" timesteps (SD configs use 1).
    """

    alphas_cumprod: tuple[float, ...]
    steps_offset: int = 0

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> NoiseSchedule:
        """Build from a diffusers scheduler config (``beta_start``, ``beta_end``,
        ``beta_schedule`` in linear | scaled_linear | squaredcos_cap_v2, ``num_train_timesteps``)."""
        t = int(config.get("num_train_timesteps", 1000))
        start = float(config.get("beta_start", 0.0001))
        end = float(config.get("beta_end", 0.02))
        kind = config.get("beta_schedule", "linear")
        if kind == "linear":
            betas = np.linspace(start, end, t, dtype=np.float64)
        elif kind == "scaled_linear":
            betas = np.linspace(start**0.5, end**0.5, t, dtype=np.float64) ** 2
        elif kind == "squaredcos_cap_v2":
            f = [math.cos((i / t + 0.008) / 1.008 * math.pi / 2) ** 2 for i in range(t + 1)]
            betas = np.array([min(1 - f[i + 1] / f[i], 0.999) for i in range(t)])
        else:
            raise ValueError(
                f"beta_schedule {kind!r} is not supported: use linear, scaled_linear or squaredcos_cap_v2"
            )
        return cls(tuple(np.cumprod(1.0 - betas).tolist()), int(config.get("steps_offset", 0)))

    @property
    def num_train_timesteps(self) -> int:
        return len(self.alphas_cumprod)

    def alpha_at(self, t: float) -> float:
        """Cumulative alpha at a (possibly fractional) timestep, interpolating log-sigma."""
        ac = np.asarray(self.alphas_cumprod)
        log_sigma = np.log(np.sqrt((1 - ac) / ac))
        s = math.exp(float(np.interp(t, np.arange(len(ac)), log_sigma)))
        return 1.0 / (1.0 + s * s)


class Sampler(ABC):
    """State and helpers shared by every sampler. Subclasses set ``timesteps``/``alphas`` in
    ``__init__`` and implement :meth:`_step`."""

    name: ClassVar[str]

    def __init__(self, schedule: NoiseSchedule, num_steps: int) -> None:
        if num_steps < 1:
            raise ValueError(f"num_steps must be >= 1, got {num_steps}")
        self.schedule = schedule
        self.num_steps = num_steps
        self.step_index = 0
        self.timesteps: list[float] = []
        self.alphas: list[float] = []

    def timestep(self) -> float:
        """The timestep to call the model with for the next step."""
        if self.step_index >= self.num_steps:
            raise RuntimeError(f"{self.name}: all {self.num_steps} steps are done")
        return self.timesteps[self.step_index]

    def noised(self, x0: torch.Tensor, noise: torch.Tensor, index: int) -> torch.Tensor:
        """``x0`` noised to the level the latents have before step ``index`` (``num_steps``:
        clean). Used for img2img start latents and the kept region of masked denoising."""
        a = self.alphas[index]
        return math.sqrt(a) * x0 + math.sqrt(1 - a) * noise

    def step(self, eps: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Advance ``x`` one step given the model's noise prediction; return ``(x_next, x0)``
        where ``x0`` is the current prediction of the clean latents."""
        i = self.step_index
        self.timestep()  # raises when done
        a, a_next = self.alphas[i], self.alphas[i + 1]
        x0 = (x - math.sqrt(1 - a) * eps) / math.sqrt(a)
        x_next = self._step(eps, x, x0, a, a_next)
        self.step_index += 1
        return x_next, x0

    @abstractmethod
    def _step(
        self, eps: torch.Tensor, x: torch.Tensor, x0: torch.Tensor, a: float, a_next: float
    ) -> torch.Tensor:
        """One step from cumulative alpha ``a`` to ``a_next``."""

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly: plain values and tensors (rows = samples)."""
        return {"name": self.name, "num_steps": self.num_steps, "step_index": self.step_index}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if state["name"] != self.name or state["num_steps"] != self.num_steps:
            raise ValueError(
                f"sampler state is for {state['name']} over {state['num_steps']} steps, "
                f"not {self.name} over {self.num_steps}"
            )
        self.step_index = int(state["step_index"])
