"""What a caller hands the engine (:class:`GenerationRequest`) and what it gets back (events).

A request is plain data: the gateway / job pipeline fills it from a parsed prompt, the tier's
step budget and the job row; the engine never reads anything else about the job.

Contract of :class:`GenerationRequest` (checked by :meth:`GenerationRequest.validate`, which
:meth:`pixelmill.engine.Engine.submit` calls and which raises :class:`RequestError` naming the
field and the valid range):

- ``n images = len(seeds)``; sample ``i`` starts from the noise of ``seeds[i]`` (mixed with the
  noise of ``seeds[0]`` according to ``chaos``, see :mod:`pixelmill.engine.runner`).
- ``steps <= step_budget``: a request asking for more steps than its budget is refused, never
  clamped; the loop additionally hard-stops at ``step_budget`` whatever else happens.
- ``stop_fraction`` in (0, 1]: the job stops after ``max(1, round(steps * stop_fraction))``
  schedule steps and decodes the model's current prediction of the clean image.
- ``init_image`` (uint8 ``HxWx3``) + ``strength`` in [0, 1]: img2img. The init image is
  resized to ``width x height`` when its size differs. ``strength`` 0 runs no step and returns
  the init image unchanged; 1 ignores it (pure noise). Of the ``steps``-long schedule, the last
  ``round(steps * strength)`` steps run.
- ``mask`` (float ``HxW`` in [0, 1], 1 = regenerate): masked denoising. Needs ``init_image``.
  Each step the kept region (0) is replaced by the init image noised to the current timestep,
  and the decoded image is composited so kept pixels equal the init image's pixels.
- ``tile``: circular padding in every convolution (seamless textures).
- ``prompt_weights``: Midjourney ``::`` parts; their text embeddings are mixed by weight
  (``sum(w_i * E_i) / sum(w_i)``; the sum must be positive). When given, ``prompt`` is only
  a label.
- ``model_id``: empty means "the engine's model"; anything else must equal it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
from PIL import Image

if TYPE_CHECKING:
    from pixelmill.prompt import GenerationSettings

SamplerName = Literal["ddim", "euler", "dpmpp_2m"]
SAMPLERS: tuple[str, ...] = ("ddim", "euler", "dpmpp_2m")
MAX_SEED = 2**32 - 1
MAX_SIDE = 4096


class RequestError(ValueError):
    """A request the engine refuses; the message names the field and says what is valid."""


@dataclass(kw_only=True)
class GenerationRequest:
    """One job for the engine: a grid of ``len(seeds)`` images from one prompt."""

    job_id: str
    prompt: str
    width: int
    height: int
    steps: int
    step_budget: int
    seeds: list[int]
    attempt: int = 1
    prompt_weights: list[tuple[str, float]] | None = None
    negative_prompt: str = ""
    guidance_scale: float = 7.5
    sampler: SamplerName = "euler"
    chaos: float = 0.0
    tile: bool = False
    stop_fraction: float = 1.0
    init_image: np.ndarray | None = field(default=None, repr=False)
    strength: float = 1.0
    mask: np.ndarray | None = field(default=None, repr=False)
    model_id: str = ""

    @property
    def n_images(self) -> int:
        return len(self.seeds)

    def prompt_parts(self) -> list[tuple[str, float]]:
        """The weighted text parts to encode (one part of weight 1 when no ``::`` weights)."""
        return list(self.prompt_weights) if self.prompt_weights else [(self.prompt, 1.0)]

    def first_step(self) -> int:
        """Index in the ``steps``-long schedule where denoising starts (img2img skips the head)."""
        if self.init_image is None:
            return 0
        return self.steps - round(self.steps * self.strength)

    def steps_to_run(self) -> int:
        """How many denoising steps this request runs: after img2img's skip and ``stop_fraction``,
        never more than ``step_budget``."""
        stop_at = max(1, round(self.steps * self.stop_fraction))
        return max(0, min(stop_at - self.first_step(), self.step_budget))

    def validate(self, *, multiple: int = 1) -> None:
        """Raise :class:`RequestError` for the first invalid field (``multiple``: the model's
        width/height rounding multiple)."""
        if not self.job_id:
            raise RequestError("job_id: must be a non-empty string")
        if self.attempt < 1:
            raise RequestError(f"attempt: must be >= 1, got {self.attempt}")
        for name, value in (("width", self.width), ("height", self.height)):
            if value < multiple or value % multiple or value > MAX_SIDE:
                raise RequestError(
                    f"{name}: must be a positive multiple of {multiple} up to {MAX_SIDE}, got {value}"
                )
        if self.step_budget < 1:
            raise RequestError(f"step_budget: must be >= 1, got {self.step_budget}")
        if not 1 <= self.steps <= self.step_budget:
            raise RequestError(
                f"steps: must be between 1 and the step budget {self.step_budget}, got {self.steps}"
            )
        if not self.seeds:
            raise RequestError("seeds: give at least one seed (one per image)")
        if any(not 0 <= s <= MAX_SEED for s in self.seeds):
            raise RequestError(f"seeds: each must be in 0..{MAX_SEED}")
        if self.sampler not in SAMPLERS:
            raise RequestError(f"sampler: must be one of {', '.join(SAMPLERS)}, got {self.sampler!r}")
        if not math.isfinite(self.guidance_scale) or not 0 <= self.guidance_scale <= 50:
            raise RequestError(f"guidance_scale: must be in 0..50, got {self.guidance_scale}")
        if not 0 <= self.chaos <= 1:
            raise RequestError(f"chaos: must be in 0..1, got {self.chaos}")
        if not 0 < self.stop_fraction <= 1:
            raise RequestError(f"stop_fraction: must be in (0, 1], got {self.stop_fraction}")
        if self.prompt_weights is not None:
            if not self.prompt_weights:
                raise RequestError("prompt_weights: give at least one (text, weight) part or None")
            if sum(w for _, w in self.prompt_weights) <= 0:
                raise RequestError("prompt_weights: the weights must sum to a positive number")
        if not 0 <= self.strength <= 1:
            raise RequestError(f"strength: must be in 0..1, got {self.strength}")
        if self.init_image is not None:
            img = self.init_image
            if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
                raise RequestError(f"init_image: must be uint8 HxWx3, got {img.dtype} {img.shape}")
        if self.mask is not None:
            if self.init_image is None:
                raise RequestError("mask: masked denoising needs an init_image (the pixels to keep)")
            m = self.mask
            if m.ndim != 2 or not np.isfinite(m).all() or m.min() < 0 or m.max() > 1:
                raise RequestError("mask: must be a float HxW array with values in [0, 1]")


def request_from_settings(
    settings: GenerationSettings,
    *,
    job_id: str,
    seed: int,
    step_budget: int,
    attempt: int = 1,
    model_id: str = "",
    sampler: SamplerName = "euler",
) -> GenerationRequest:
    """The engine request for a parsed prompt's settings (``pixelmill.prompt``): image ``i``
    uses seed ``(seed + i) mod 2**32``; ``::`` parts become ``prompt_weights`` when there are
    several. ``seed`` is required: the caller resolves ``settings.seed is None`` (random)."""
    parts = [(t, float(w)) for t, w in settings.parts]
    return GenerationRequest(
        job_id=job_id,
        attempt=attempt,
        prompt=settings.prompt,
        prompt_weights=parts if len(parts) > 1 else None,
        negative_prompt=settings.negative_prompt,
        width=settings.width,
        height=settings.height,
        steps=settings.steps,
        step_budget=step_budget,
        guidance_scale=settings.guidance_scale,
        seeds=[(seed + i) % (MAX_SEED + 1) for i in range(settings.n_images)],
        sampler=sampler,
        chaos=settings.chaos,
        tile=settings.tile,
        stop_fraction=settings.stop_fraction,
        model_id=model_id,
    )


@dataclass(frozen=True)
class Progress:
    """``step`` of ``total`` steps done for every image of the job (emitted once per step)."""

    job_id: str
    step: int
    total: int


@dataclass(frozen=True)
class Completed:
    """The job's images, in seed order. ``model_seconds``: the job's share of model time
    (batched calls split by rows, plus its own encode/decode). ``steps``: steps run."""

    job_id: str
    images: list[Image.Image]
    model_seconds: float
    steps: int


@dataclass(frozen=True)
class Failed:
    """The job stopped with an error; the others went on. ``reason`` is one of
    ``"non_finite"`` (NaN/Inf guard), ``"stale_attempt"`` (a newer attempt owns the job; the
    result must be dropped), ``"model_mismatch"``, ``"error"``."""

    job_id: str
    message: str
    reason: str = "error"


@dataclass(frozen=True)
class Cancelled:
    job_id: str


@dataclass(frozen=True)
class Preempted:
    """The job was checkpointed at ``step`` (when a sink is set) and released; submitting the
    same request again resumes from there."""

    job_id: str
    step: int


EngineEvent = Progress | Completed | Failed | Cancelled | Preempted
