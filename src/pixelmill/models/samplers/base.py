"""The training noise schedule and the state every sampler shares.

A sampler over ``n`` steps has ``timesteps[0..n-1]`` (what the model is called with; floats,
descending) and ``alphas[0..n]``: ``alphas[i]`` is the cumulative alpha at ``timesteps[i]``
and ``alphas[n] = 1`` (the clean image). Step ``i`` maps ``x`` at ``alphas[i]`` to ``x`` at
``alphas[i + 1]``.

Every step is linear in ``x``, ``eps``, the clean-image prediction ``x0`` and the previous
step's ``x0`` (:class:`StepCoefficients`), so the engine can step many jobs, each with its own
sampler and step index, in one tensor operation (:func:`step_rows`) and hand each sampler its
rows back (:meth:`Sampler.advance`). ``Sampler.step`` is that same formula for one job.
"""

from __future__ import annotations

import functools
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

    @functools.cached_property
    def _log_sigma(self) -> np.ndarray:
        """log(sigma) per training timestep, computed once per schedule (every Euler sampler,
        one per job, reads it at each of its timesteps)."""
        ac = np.asarray(self.alphas_cumprod)
        return np.log(np.sqrt((1 - ac) / ac))

    def alpha_at(self, t: float) -> float:
        """Cumulative alpha at a (possibly fractional) timestep, interpolating log-sigma."""
        log_sigma = self._log_sigma
        s = math.exp(float(np.interp(t, np.arange(len(log_sigma)), log_sigma)))
        return 1.0 / (1.0 + s * s)


@dataclass(frozen=True)
class StepCoefficients:
    """One step as a linear map, with ``a`` the cumulative alpha before the step:

    ``x0 = (x - sqrt(1 - a) eps) / sqrt(a)``;
    ``x_next = x_coef x + eps_coef eps + x0_coef x0 + prev_coef prev_x0`` (``prev_coef`` is 0
    when the sampler has no history).
    """

    a: float
    x_coef: float = 0.0
    eps_coef: float = 0.0
    x0_coef: float = 0.0
    prev_coef: float = 0.0

    def as_row(self) -> tuple[float, ...]:
        """``(x0 from x, x0 from eps, x_coef, eps_coef, x0_coef, prev_coef)``."""
        ra = math.sqrt(self.a)
        return (1 / ra, -math.sqrt(1 - self.a) / ra, self.x_coef, self.eps_coef, self.x0_coef, self.prev_coef)


def step_rows(
    coefs: torch.Tensor, x: torch.Tensor, eps: torch.Tensor, prev: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Step a batch whose rows may belong to different samplers: ``coefs`` is ``(B, 6)``
    (:meth:`StepCoefficients.as_row` per row), ``x``/``eps``/``prev`` are ``(B, ...)``
    (``prev`` None when no row has history). Returns ``(x_next, x0)``."""
    c = coefs.to(x).reshape(coefs.shape + (1,) * (x.dim() - 1)).unbind(1)
    x0 = c[0] * x + c[1] * eps
    x_next = c[2] * x + c[3] * eps + c[4] * x0
    if prev is not None:
        x_next = x_next + c[5] * prev
    return x_next, x0


class Sampler(ABC):
    """State and helpers shared by every sampler. Subclasses set ``timesteps``/``alphas`` in
    ``__init__`` and implement :meth:`_coefficients` (and, when they keep history,
    :attr:`history` and :meth:`_remember`)."""

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

    def coefficients(self) -> StepCoefficients:
        """The linear map of the next step (raises when every step is done)."""
        i = self.step_index
        self.timestep()  # raises when done
        return self._coefficients(self.alphas[i], self.alphas[i + 1])

    @property
    def history(self) -> torch.Tensor | None:
        """The previous step's ``x0`` the next step uses (``prev_coef``), or None."""
        return None

    def advance(self, x0: torch.Tensor) -> None:
        """Record a step taken outside (by :func:`step_rows`): ``x0`` is its clean prediction."""
        i = self.step_index
        self._remember(x0, self.alphas[i], self.alphas[i + 1])
        self.step_index += 1

    def step(self, eps: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Advance ``x`` one step given the model's noise prediction; return ``(x_next, x0)``
        where ``x0`` is the current prediction of the clean latents."""
        c = self.coefficients()
        ra = math.sqrt(c.a)
        x0 = x / ra - (math.sqrt(1 - c.a) / ra) * eps
        x_next = c.x_coef * x + c.eps_coef * eps + c.x0_coef * x0
        prev = self.history
        if prev is not None and c.prev_coef:
            x_next = x_next + c.prev_coef * prev
        self.advance(x0)
        return x_next, x0

    @abstractmethod
    def _coefficients(self, a: float, a_next: float) -> StepCoefficients:
        """The step from cumulative alpha ``a`` to ``a_next``, given the current history."""

    def _remember(self, x0: torch.Tensor, a: float, a_next: float) -> None:  # noqa: B027 (a hook)
        """Keep what later steps need (nothing for first-order samplers)."""

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
