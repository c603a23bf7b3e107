"""Samplers: one algorithm per file, one instance per job (they keep state; not thread-safe).

Every sampler works on the model's noise prediction ``eps`` in the variance-preserving space
of the training schedule (``x_t = sqrt(a_t) x0 + sqrt(1 - a_t) eps``), steps all samples of
one job together (a tensor of shape ``(n, C, h, w)``), and round-trips its state through
:meth:`~pixelmill.models.samplers.base.Sampler.state_dict` for checkpoints.
"""

from __future__ import annotations

from pixelmill.models.samplers.base import NoiseSchedule, Sampler
from pixelmill.models.samplers.ddim import DDIMSampler
from pixelmill.models.samplers.dpmpp_2m import DPMPP2MSampler
from pixelmill.models.samplers.euler import EulerSampler

SAMPLER_CLASSES: dict[str, type[Sampler]] = {
    DDIMSampler.name: DDIMSampler,
    EulerSampler.name: EulerSampler,
    DPMPP2MSampler.name: DPMPP2MSampler,
}


def make_sampler(name: str, schedule: NoiseSchedule, num_steps: int) -> Sampler:
    """A fresh sampler ``name`` (``ddim`` | ``euler`` | ``dpmpp_2m``) over ``num_steps`` steps."""
    try:
        cls = SAMPLER_CLASSES[name]
    except KeyError:
        raise ValueError(f"unknown sampler {name!r}: use one of {', '.join(SAMPLER_CLASSES)}") from None
    return cls(schedule, num_steps)


__all__ = [
    "SAMPLER_CLASSES",
    "DDIMSampler",
    "DPMPP2MSampler",
    "EulerSampler",
    "NoiseSchedule",
    "Sampler",
    "make_sampler",
]
