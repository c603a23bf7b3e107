"""The denoising engine: ``plan = scheduler.schedule(); out = runner.execute(plan);
events = scheduler.update(plan, out)``, with step-level continuous batching and checkpoints.

Public API (everything else is internal):

- :class:`GenerationRequest`, :class:`RequestError`, :func:`request_from_settings` (from a
  parsed prompt's ``GenerationSettings``)
- :class:`Engine` (``submit``, ``cancel``, ``preempt``, ``step``, ``run_until_idle``,
  ``free_slots``, ``has_work``)
- events: :class:`Progress`, :class:`Completed`, :class:`Failed`, :class:`Cancelled`,
  :class:`Preempted` (``EngineEvent`` is their union)
- checkpoints: :class:`CheckpointSink`, :class:`BlobCheckpointSink`, :class:`StaleAttempt`
"""

from __future__ import annotations

from pixelmill.engine.checkpoint import BlobCheckpointSink, CheckpointSink, StaleAttempt
from pixelmill.engine.core import Engine
from pixelmill.engine.request import (
    Cancelled,
    Completed,
    EngineEvent,
    Failed,
    GenerationRequest,
    Preempted,
    Progress,
    RequestError,
    request_from_settings,
)

__all__ = [
    "BlobCheckpointSink",
    "Cancelled",
    "CheckpointSink",
    "Completed",
    "Engine",
    "EngineEvent",
    "Failed",
    "GenerationRequest",
    "Preempted",
    "Progress",
    "RequestError",
    "StaleAttempt",
    "request_from_settings",
]
