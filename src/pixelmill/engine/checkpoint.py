"""Checkpoints: one sample's denoising state, sealed with a SHA-256, kept in a blob store.

Payload layout (what :func:`seal` writes and :func:`unseal` checks)::

    b"PMCK1\\n" + sha256(body).hexdigest() (64 ASCII bytes) + b"\\n" + body

``body`` is a ``torch.save`` of a dict of plain values and CPU tensors (loaded back with
``weights_only=True``, so a checkpoint can never run code): latents, sampler state, RNG state,
step counter, job id, attempt, model id (see :class:`SampleCheckpoint`).

:class:`CheckpointSink` is the interface the engine writes through. The job pipeline wraps a
sink to fence writes with the attempt number (raising :class:`StaleAttempt` for a zombie;
it is :class:`pixelmill.jobs.StaleAttempt`, re-exported here: one class for the store's refusals
and the engine's).
:class:`BlobCheckpointSink` stores payloads in any :class:`~pixelmill.store.blobs.BlobStore`
under ``checkpoints/<job_id>/<sample>/<step:06d>.ckpt`` and, on read, returns the newest
payload whose checksum verifies, logging each corrupt one it skips.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import torch

from pixelmill.jobs import StaleAttempt as StaleAttempt  # re-exported: the one fencing error
from pixelmill.store.blobs import BlobStore

log = logging.getLogger(__name__)

MAGIC = b"PMCK1\n"
_HEADER = len(MAGIC) + 64 + 1


class CorruptCheckpoint(ValueError):
    """A payload whose header or SHA-256 does not verify."""


def seal(body: bytes) -> bytes:
    """Prefix ``body`` with the magic and its SHA-256."""
    return MAGIC + hashlib.sha256(body).hexdigest().encode() + b"\n" + body


def unseal(payload: bytes) -> bytes:
    """Return the body of a sealed payload, or raise :class:`CorruptCheckpoint` saying why."""
    if len(payload) < _HEADER or not payload.startswith(MAGIC) or payload[_HEADER - 1 : _HEADER] != b"\n":
        raise CorruptCheckpoint("bad header (truncated or not a pixelmill checkpoint)")
    digest = payload[len(MAGIC) : _HEADER - 1].decode("ascii", "replace")
    body = payload[_HEADER:]
    if hashlib.sha256(body).hexdigest() != digest:
        raise CorruptCheckpoint("SHA-256 mismatch (flipped or truncated bytes)")
    return body


def is_valid(payload: bytes) -> bool:
    try:
        unseal(payload)
    except CorruptCheckpoint:
        return False
    return True


@dataclass
class SampleCheckpoint:
    """One sample's state after ``step`` steps of its job (``step`` counts steps run)."""

    job_id: str
    attempt: int
    model_id: str
    sample_index: int
    step: int
    latents: torch.Tensor
    x0: torch.Tensor | None
    sampler: dict[str, Any]
    rng: torch.Tensor

    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        torch.save(
            {
                "job_id": self.job_id,
                "attempt": self.attempt,
                "model_id": self.model_id,
                "sample_index": self.sample_index,
                "step": self.step,
                "latents": self.latents.contiguous(),
                "x0": None if self.x0 is None else self.x0.contiguous(),
                "sampler": self.sampler,
                "rng": self.rng,
            },
            buf,
        )
        return seal(buf.getvalue())

    @classmethod
    def from_bytes(cls, payload: bytes) -> SampleCheckpoint:
        """Decode a sealed payload; raise :class:`CorruptCheckpoint` if it does not verify."""
        data = torch.load(io.BytesIO(unseal(payload)), weights_only=True)
        return cls(**data)


def payload_step(payload: bytes) -> int:
    """The step counter inside a (valid) payload."""
    return SampleCheckpoint.from_bytes(payload).step


@runtime_checkable
class CheckpointSink(Protocol):
    """Where the engine writes and reads sample checkpoints.

    - ``write`` stores a sealed payload for (job, sample, step); it may raise
      :class:`StaleAttempt`, which fails that job with reason ``"stale_attempt"``.
    - ``latest`` returns the newest payload that verifies with ``step <= max_step`` (any step
      when ``max_step`` is None), skipping and logging corrupt ones; None if there is none.
    - ``delete`` drops every checkpoint of a job (the owner calls it once the result is stored).
    """

    def write(self, job_id: str, attempt: int, sample_index: int, step: int, payload: bytes) -> None: ...

    def latest(self, job_id: str, sample_index: int, max_step: int | None = None) -> bytes | None: ...

    def delete(self, job_id: str) -> None: ...


_SAMPLE_STEP_KEY = re.compile(r"/(\d+)/(\d{6})\.ckpt$")


class BlobCheckpointSink:
    """Checkpoints in a :class:`BlobStore` under ``checkpoints/<job_id>/<sample>/<step:06d>.ckpt``.

    ``keep``: how many checkpoints per sample to keep (older ones are deleted after a write);
    at least 2 so a corrupt newest one still has a fallback.
    """

    def __init__(self, blob_store: BlobStore, *, keep: int = 3) -> None:
        if keep < 2:
            raise ValueError("keep: must be >= 2 so a corrupt checkpoint has a fallback")
        self.blobs = blob_store
        self.keep = keep
        self._written: dict[tuple[str, int], list[int]] = {}
        self._listed: set[str] = set()

    @staticmethod
    def key(job_id: str, sample_index: int, step: int) -> str:
        return f"checkpoints/{job_id}/{sample_index}/{step:06d}.ckpt"

    def _list_job(self, job_id: str) -> dict[int, list[tuple[int, str]]]:
        """Every checkpoint of a job, by sample, in ONE listing (a listing may walk the whole
        store). Refreshes what :meth:`write` knows of the job, so a job just looked up for
        resume needs no listing when its samples are first written."""
        found: dict[int, list[tuple[int, str]]] = {}
        for key in self.blobs.list(f"checkpoints/{job_id}/"):
            m = _SAMPLE_STEP_KEY.search(key)
            if m:
                found.setdefault(int(m.group(1)), []).append((int(m.group(2)), key))
        for steps in found.values():
            steps.sort()
        for k in [k for k in self._written if k[0] == job_id]:
            del self._written[k]
        for sample, steps in found.items():
            self._written[(job_id, sample)] = [step for step, _ in steps]
        self._listed.add(job_id)
        return found

    def write(self, job_id: str, attempt: int, sample_index: int, step: int, payload: bytes) -> None:
        # Steps written per sample are remembered so pruning needs no listing per write; a job
        # is listed at most once in this process (by the resume lookup, or at its first write).
        if job_id not in self._listed:
            self._list_job(job_id)
        known = self._written.setdefault((job_id, sample_index), [])
        self.blobs.put(self.key(job_id, sample_index, step), payload)
        if step not in known:
            known.append(step)
            known.sort()
        while len(known) > self.keep:
            self.blobs.delete(self.key(job_id, sample_index, known.pop(0)))

    def latest(self, job_id: str, sample_index: int, max_step: int | None = None) -> bytes | None:
        # Sample 0 lists the job afresh (another process may have written since); the other
        # samples of the same lookup reuse that listing.
        if sample_index == 0 or job_id not in self._listed:
            steps = self._list_job(job_id).get(sample_index, [])
        else:
            known = self._written.get((job_id, sample_index), [])
            steps = [(s, self.key(job_id, sample_index, s)) for s in known]
        for step, key in reversed(steps):
            if max_step is not None and step > max_step:
                continue
            try:
                payload = self.blobs.get(key)
            except KeyError:
                continue
            if is_valid(payload):
                return payload
            log.warning("corrupt checkpoint %s skipped: falling back to the previous one", key)
        return None

    def delete(self, job_id: str) -> None:
        for written in [k for k in self._written if k[0] == job_id]:
            del self._written[written]
        self._listed.discard(job_id)
        for key in list(self.blobs.list(f"checkpoints/{job_id}/")):
            self.blobs.delete(key)


@dataclass(frozen=True)
class ResumePoint:
    """Where a job resumes: every sample has a valid payload at the same ``step``."""

    step: int
    payloads: tuple[bytes, ...]


def find_resume(sink: CheckpointSink, job_id: str, n_samples: int, model_id: str) -> ResumePoint | None:
    """The newest step at which every sample of the job has a valid checkpoint of this model.

    Samples of a job advance in lockstep, so their checkpoints share steps; if one sample's
    newest checkpoint is corrupt, all samples fall back to the newest step they all have.
    Returns None (start at step 0) when there is no such step.
    """
    bound: int | None = None
    while True:
        payloads: list[bytes] = []
        steps: list[int] = []
        for i in range(n_samples):
            p = sink.latest(job_id, i, bound)
            if p is None:
                return None
            ck = SampleCheckpoint.from_bytes(p)
            if ck.model_id != model_id:
                log.warning(
                    "checkpoint of job %s is for model %s, not %s: ignored", job_id, ck.model_id, model_id
                )
                return None
            payloads.append(p)
            steps.append(ck.step)
        low = min(steps)
        if low == max(steps):
            return ResumePoint(low, tuple(payloads))
        bound = low
