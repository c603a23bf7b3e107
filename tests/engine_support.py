"""Test helpers for the engine and model tests: the tiny model (built once per process) and
model wrappers that record calls or inject NaN, so tests can watch the batched loop."""

from __future__ import annotations

import functools
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pixelmill.engine import GenerationRequest
from pixelmill.models import load_model
from pixelmill.models.base import DiffusionModel
from pixelmill.models.tiny import make_tiny

torch.set_num_threads(1)


@functools.cache
def tiny_path() -> Path:
    return make_tiny(Path(tempfile.mkdtemp(prefix="pixelmill-tiny-")) / "tiny")


@functools.cache
def tiny_model() -> DiffusionModel:
    return load_model(tiny_path(), device="cpu")


def request(job_id: str, **kw: Any) -> GenerationRequest:
    """A small valid request for the tiny model (64x64, 8 steps, 2 images)."""
    base: dict[str, Any] = dict(
        job_id=job_id,
        prompt=f"a picture of {job_id}",
        width=64,
        height=64,
        steps=8,
        step_budget=30,
        seeds=[11, 12],
        guidance_scale=5.0,
    )
    base.update(kw)
    return GenerationRequest(**base)


def pixels(images: list[Any]) -> np.ndarray:
    return np.stack([np.asarray(im, dtype=np.int16) for im in images])


@dataclass
class ModelWrapper:
    """Delegates everything to ``inner``; test doubles subclass it and override one method."""

    inner: DiffusionModel

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    @property
    def info(self) -> Any:
        return self.inner.info

    @property
    def schedule(self) -> Any:
        return self.inner.schedule


@dataclass
class RecordingModel(ModelWrapper):
    """Wraps a model; records the batch size and timesteps of every ``denoise`` call, and
    optionally poisons with NaN the rows whose conditioning belongs to ``poison_prompt``'s job
    (matched by the cond tensor) from the ``poison_at``-th call on."""

    calls: list[int] = field(default_factory=list)
    poison_cond: torch.Tensor | None = None
    poison_at: int = 0

    def denoise(self, latents: torch.Tensor, timesteps: torch.Tensor, cond: torch.Tensor,
                uncond: torch.Tensor, guidance: torch.Tensor, *, tile: bool = False) -> torch.Tensor:
        self.calls.append(latents.shape[0])
        eps = self.inner.denoise(latents, timesteps, cond, uncond, guidance, tile=tile)
        if self.poison_cond is not None and len(self.calls) >= self.poison_at:
            rows = (cond == self.poison_cond).flatten(1).all(dim=1)
            eps = eps.clone()
            eps[rows] = float("nan")
        return eps
