"""The one interface every diffusion model backend implements (:class:`DiffusionModel`).

The engine owns the denoising loop; a model only answers four questions, each batched:

1. ``encode_prompts``: text -> conditioning (positive parts mixed by weight, and negative);
   ``encode_prompts_batch`` does it for many prompts in one text-encoder call.
2. ``initial_noise``: seed + size -> the starting noise of one sample (same seed, same noise).
3. ``denoise``: ONE call for many samples, each at its own timestep with its own guidance
   scale; classifier-free guidance doubles the rows of that call, never the calls.
   Returns the noise prediction ``eps`` whatever the model's own prediction type.
4. ``decode`` (and ``encode_image`` for img2img): latents <-> images.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import torch
from PIL import Image

from pixelmill.models.index import ModelIndex
from pixelmill.models.samplers import NoiseSchedule, Sampler

ModelInfo = ModelIndex
"""What callers need to know about a model: its id, native size, size multiple, latent scale
and channels, default steps. The same record the torch-free :mod:`pixelmill.models.index` reads
from ``model_index.json``, so the gateway and the backend can never disagree."""


@dataclass(frozen=True)
class Conditioning:
    """One job's text conditioning: ``cond`` and ``uncond`` of shape ``(1, L, D)``."""

    cond: torch.Tensor
    uncond: torch.Tensor


PromptPair = tuple[Sequence[tuple[str, float]], str]
"""One prompt to encode: (weighted positive parts, negative text)."""


@runtime_checkable
class DiffusionModel(Protocol):
    info: ModelInfo
    schedule: NoiseSchedule

    def encode_prompts(self, positive: Sequence[tuple[str, float]], negative: str) -> Conditioning:
        """Encode weighted positive parts (mixed ``sum(w E) / sum(w)``) and the negative text."""
        ...

    def encode_prompts_batch(self, prompts: Sequence[PromptPair]) -> list[Conditioning]:
        """:meth:`encode_prompts` for many prompts, in order, with one text-encoder call.
        Raises ``ValueError`` if any prompt's weights do not sum to a positive number."""
        ...

    def initial_noise(self, seed: int, width: int, height: int) -> torch.Tensor:
        """Standard normal latents ``(1, C, height/scale, width/scale)`` drawn from ``seed``
        with a generator of its own (independent of anything else in the process)."""
        ...

    def denoise(
        self,
        latents: torch.Tensor,
        timesteps: torch.Tensor,
        cond: torch.Tensor,
        uncond: torch.Tensor,
        guidance: torch.Tensor,
        *,
        tile: bool = False,
    ) -> torch.Tensor:
        """Guided noise prediction for a batch: ``latents (B, C, h, w)``, ``timesteps (B,)``,
        ``cond``/``uncond (B, L, D)``, ``guidance (B,)``. One model forward of 2B rows."""
        ...

    def encode_image(self, image: np.ndarray) -> torch.Tensor:
        """uint8 ``HxWx3`` -> latents ``(1, C, h, w)`` (deterministic)."""
        ...

    def decode(self, latents: torch.Tensor, *, tile: bool = False) -> list[Image.Image]:
        """Latents ``(B, C, h, w)`` -> B RGB images."""
        ...

    def make_sampler(self, name: str, num_steps: int) -> Sampler:
        """A fresh sampler for one job over this model's training schedule."""
        ...
