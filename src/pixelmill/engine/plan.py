"""The plan of one engine iteration: plain data (ids, step counts, flags), never tensors.

The scheduler writes a :class:`Plan`, the runner carries it out in this order, and the
scheduler absorbs the runner's :class:`RunnerOutput`:

1. ``cancel``: drop these jobs' state.
2. ``preempt``: checkpoint these jobs at their current step (when ``checkpoint``), then drop.
3. ``admit``: prepare new jobs (encode prompt, initial latents, or load their resume point).
4. ``advance``: one batched model call per group; every job listed advances one step.
5. ``checkpoint``: write these jobs' state at the given step (after the advance).
6. ``decode``: these jobs are done: decode their latents to images and drop their state.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PIL import Image

from pixelmill.engine.checkpoint import ResumePoint
from pixelmill.engine.request import GenerationRequest

GroupKey = tuple[str, int, int, bool]
"""(model id, width, height, tile): samples that can share one batched model call."""


@dataclass(frozen=True)
class Admit:
    request: GenerationRequest
    resume: ResumePoint | None = None


@dataclass(frozen=True)
class Advance:
    """One batched model call: every sample of every job in ``job_ids`` advances one step."""

    key: GroupKey
    job_ids: tuple[str, ...]


@dataclass(frozen=True)
class Preempt:
    job_id: str
    step: int
    checkpoint: bool


@dataclass(frozen=True)
class Plan:
    cancel: tuple[str, ...] = ()
    preempt: tuple[Preempt, ...] = ()
    admit: tuple[Admit, ...] = ()
    advance: tuple[Advance, ...] = ()
    checkpoint: tuple[tuple[str, int], ...] = ()
    decode: tuple[str, ...] = ()

    @property
    def rows(self) -> int:
        """Jobs advanced this iteration."""
        return sum(len(a.job_ids) for a in self.advance)


@dataclass
class RunnerOutput:
    """What the runner reports: ``failed`` job -> (reason, message); ``images`` of decoded
    jobs; ``seconds``: each job's share of model time this iteration."""

    failed: dict[str, tuple[str, str]] = field(default_factory=dict)
    images: dict[str, list[Image.Image]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
