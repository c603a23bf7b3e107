"""The engine's runner: owns every running sample's tensors and carries out a :class:`Plan`.

Per job it keeps one sampler (its schedule position and history), the latents, the latest
clean-image prediction, the text conditioning (shared through :class:`PromptCache`), and one
RNG per sample (used for the noise of masked denoising, and saved in checkpoints). Each
iteration the whole group is one model call and one sampler update over all its rows
(:func:`~pixelmill.models.samplers.base.step_rows`); finished jobs decode in one call.

Initial noise and ``chaos``: sample ``i`` starts from ``sqrt(1 - s) * N(seeds[0]) +
sqrt(s) * N(seeds[i])`` with ``s = 0.75 + 0.25 * chaos`` (sample 0 is ``N(seeds[0])``): with
chaos 0 the grid shares a quarter of its noise variance, with chaos 1 the images are
independent. The noise of a sample depends only on the request, never on batch-mates.
"""

from __future__ import annotations

import itertools
import logging
import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from PIL import Image

from pixelmill.engine.checkpoint import CheckpointSink, SampleCheckpoint, StaleAttempt
from pixelmill.engine.plan import Advance, Plan, RunnerOutput
from pixelmill.engine.prompt_cache import PromptCache, prompt_key
from pixelmill.engine.request import GenerationRequest
from pixelmill.models.base import Conditioning, DiffusionModel
from pixelmill.models.samplers import Sampler
from pixelmill.models.samplers.base import step_rows

log = logging.getLogger(__name__)


@dataclass
class JobState:
    request: GenerationRequest
    sampler: Sampler
    x: torch.Tensor
    x0: torch.Tensor | None
    cond: torch.Tensor
    uncond: torch.Tensor
    rngs: list[torch.Generator]
    steps_done: int
    init_latents: torch.Tensor | None = None
    init_pixels: np.ndarray | None = None
    mask_latent: torch.Tensor | None = None
    mask_pixels: np.ndarray | None = None


class Runner:
    """Executes plans against ``model``; checkpoints go to ``sink`` (None: no checkpoints)."""

    def __init__(self, model: DiffusionModel, sink: CheckpointSink | None = None) -> None:
        self.model = model
        self.sink = sink
        self.states: dict[str, JobState] = {}
        self.prompts = PromptCache(model)
        self.checkpoint_seconds = 0.0
        """Time spent writing checkpoints (serialising and storing), for benchmarks and metrics."""

    def execute(self, plan: Plan) -> RunnerOutput:
        out = RunnerOutput()
        # 1. cancel: drop state
        for job_id in plan.cancel:
            self.states.pop(job_id, None)
        # 2. preempt: checkpoint at the current step, then drop
        for p in plan.preempt:
            state = self.states.pop(p.job_id, None)
            if state is not None and p.checkpoint:
                self._guard(out, p.job_id, lambda s=state, st=p.step: self._write_checkpoint(s, st))
        # 3. admit: the prompts (all admitted jobs in one encoder call), then the latents
        conds = self._conditionings([a.request for a in plan.admit], out)
        for adm in plan.admit:
            job_id = adm.request.job_id
            if job_id not in conds:
                continue  # its prompt failed to encode: already in out.failed
            t0 = time.perf_counter()
            self._guard(out, job_id, lambda a=adm: self._admit(a.request, a.resume, conds[a.request.job_id]))
            out.seconds[job_id] = out.seconds.get(job_id, 0.0) + time.perf_counter() - t0
        # 4. advance: one batched model call per group
        for adv in plan.advance:
            self._advance(adv, out)
        # 5. checkpoint
        for job_id, step in plan.checkpoint:
            state = self.states.get(job_id)
            if state is not None:
                self._guard(out, job_id, lambda s=state, st=step: self._write_checkpoint(s, st))
        # 6. decode finished jobs: one decoder call per (size, tile) group
        groups: dict[tuple[int, int, bool], list[tuple[str, JobState]]] = {}
        for job_id in plan.decode:
            state = self.states.pop(job_id, None)
            if state is None:
                continue
            req = state.request
            if state.steps_done == 0 and state.init_pixels is not None and state.x0 is None:
                out.images[job_id] = [Image.fromarray(state.init_pixels) for _ in req.seeds]  # strength 0
                continue
            groups.setdefault((req.width, req.height, req.tile), []).append((job_id, state))
        for (_, _, tile), jobs in groups.items():
            self._decode(jobs, tile, out)
        return out

    def _guard(self, out: RunnerOutput, job_id: str, fn: Any) -> None:
        """Run ``fn``; an exception fails only ``job_id`` (its state is dropped)."""
        try:
            fn()
        except StaleAttempt as exc:
            out.failed[job_id] = ("stale_attempt", f"a newer attempt owns job {job_id}: {exc}")
            self.states.pop(job_id, None)
        except Exception as exc:
            log.exception("job %s failed", job_id)
            out.failed[job_id] = ("error", f"{type(exc).__name__}: {exc}")
            self.states.pop(job_id, None)

    # --- admission --------------------------------------------------------------------------
    def _conditionings(self, reqs: list[GenerationRequest], out: RunnerOutput) -> dict[str, Conditioning]:
        """Each request's text conditioning: cached, else encoded together in one call. When
        that call fails (e.g. one prompt's weights sum to 0), prompts are retried one by one
        so only the job at fault fails."""
        if not reqs:
            return {}
        t0 = time.perf_counter()
        keys = [prompt_key(r.prompt_parts(), r.negative_prompt) for r in reqs]
        try:
            found = dict(zip((r.job_id for r in reqs), self.prompts.get_many(keys), strict=True))
        except Exception:
            found = {}
            for req, key in zip(reqs, keys, strict=True):
                try:
                    found[req.job_id] = self.prompts.get(key)
                except Exception as exc:
                    out.failed[req.job_id] = ("error", f"{type(exc).__name__}: {exc}")
        share = (time.perf_counter() - t0) / len(reqs)
        for req in reqs:
            out.seconds[req.job_id] = out.seconds.get(req.job_id, 0.0) + share
        return found

    def _admit(self, req: GenerationRequest, resume: Any, conditioning: Conditioning) -> None:
        model = self.model
        sampler = model.make_sampler(req.sampler, req.steps)
        first = req.first_step()
        sampler.step_index = first
        noise = self._initial_noise(req)
        rngs = [torch.Generator("cpu").manual_seed(seed + 2**32) for seed in req.seeds]
        state = JobState(req, sampler, noise, None, conditioning.cond, conditioning.uncond, rngs, 0)
        if req.init_image is not None:
            pixels = _resize(req.init_image, req.width, req.height)
            state.init_pixels = pixels
            state.init_latents = model.encode_image(pixels)
            state.x = (
                sampler.noised(state.init_latents, noise, first) if first < req.steps else state.init_latents
            )
            if req.mask is not None:
                state.mask_pixels = _resize_mask(req.mask, req.width, req.height)
                s = model.info.latent_scale
                lat = _resize_mask(req.mask, req.width // s, req.height // s)
                state.mask_latent = torch.from_numpy(lat)[None, None].to(noise)
        if resume is not None:
            self._load(state, [SampleCheckpoint.from_bytes(p) for p in resume.payloads])
        self.states[req.job_id] = state

    def _initial_noise(self, req: GenerationRequest) -> torch.Tensor:
        own = [self.model.initial_noise(seed, req.width, req.height) for seed in req.seeds]
        s = 0.75 + 0.25 * req.chaos
        rows = [own[0]] + [math.sqrt(1 - s) * own[0] + math.sqrt(s) * o for o in own[1:]]
        return torch.cat(rows)

    # --- one step for a group -------------------------------------------------------------------
    def _advance(self, adv: Advance, out: RunnerOutput) -> None:
        """One model call and one sampler update for every sample of the group.

        Per-job values (timestep, guidance, sampler coefficients, conditioning) are gathered
        once per job and spread over its rows with ``repeat_interleave``; the update itself is
        one tensor operation over the batch (:func:`step_rows`), whatever sampler each job uses.
        """
        states = [self.states[j] for j in adv.job_ids if j in self.states]
        if not states:
            return
        sizes = [s.x.shape[0] for s in states]
        rows = torch.tensor(sizes)
        x = torch.cat([s.x for s in states])
        t = torch.tensor([s.sampler.timestep() for s in states]).repeat_interleave(rows)
        cond = torch.cat([s.cond for s in states]).repeat_interleave(rows.to(x.device), dim=0)
        uncond = torch.cat([s.uncond for s in states]).repeat_interleave(rows.to(x.device), dim=0)
        guidance = torch.tensor([s.request.guidance_scale for s in states]).repeat_interleave(rows)
        t0 = time.perf_counter()
        try:
            eps = self.model.denoise(x, t, cond, uncond, guidance, tile=adv.key[3])
        except Exception as exc:  # the whole call failed: every job in it fails, clearly
            log.exception("batched model call failed")
            for state in states:
                job_id = state.request.job_id
                out.failed[job_id] = ("error", f"model call failed: {type(exc).__name__}: {exc}")
                self.states.pop(job_id, None)
            return
        elapsed = time.perf_counter() - t0
        total = sum(sizes)
        for state, n in zip(states, sizes, strict=True):
            job_id = state.request.job_id
            out.seconds[job_id] = out.seconds.get(job_id, 0.0) + elapsed * n / total

        coefs = [s.sampler.coefficients() for s in states]
        table = torch.tensor([c.as_row() for c in coefs], dtype=torch.float64).repeat_interleave(rows, dim=0)
        prev = None
        if any(c.prev_coef for c in coefs):
            prev = torch.cat(
                [h if (h := s.sampler.history) is not None else torch.zeros_like(s.x) for s in states]
            )
        x_next, x0 = step_rows(table, x, eps, prev)  # prev_coef is 0 where a job has no history
        starts = [0, *itertools.accumulate(sizes)]
        for state, lo, hi in zip(states, starts, starts[1:], strict=False):
            if state.mask_latent is not None:
                keep = lambda s=state, a=lo, b=hi: self._keep_unmasked(s, x_next, a, b)  # noqa: E731
                self._guard(out, state.request.job_id, keep)
        bad = (~torch.isfinite(x_next).flatten(1).all(dim=1)).tolist()
        for state, lo, hi in zip(states, starts, starts[1:], strict=False):
            job_id = state.request.job_id
            if job_id not in self.states:
                continue  # failed above
            if any(bad[lo:hi]):
                rows_bad = [i for i in range(hi - lo) if bad[lo + i]]
                out.failed[job_id] = (
                    "non_finite",
                    f"NaN/Inf in the latents of job {job_id} (images {rows_bad}) at step "
                    f"{state.steps_done + 1}; the job was stopped, other jobs went on",
                )
                self.states.pop(job_id, None)
                continue
            state.sampler.advance(x0[lo:hi])
            state.x, state.x0 = x_next[lo:hi], x0[lo:hi]
            state.steps_done += 1

    def _keep_unmasked(self, state: JobState, x_next: torch.Tensor, lo: int, hi: int) -> None:
        """Masked denoising, in place on rows ``lo:hi``: outside the mask, the init image noised
        to the level after this step (noise from the job's own per-sample generators)."""
        assert state.mask_latent is not None and state.init_latents is not None
        index = state.sampler.step_index + 1
        noise = torch.cat([torch.randn(state.init_latents.shape, generator=g) for g in state.rngs])
        known = state.sampler.noised(state.init_latents, noise.to(x_next), index)
        x_next[lo:hi] = state.mask_latent * x_next[lo:hi] + (1 - state.mask_latent) * known

    # --- checkpoints ------------------------------------------------------------------------------
    def _write_checkpoint(self, state: JobState, step: int) -> None:
        if self.sink is None:
            return
        t0 = time.perf_counter()
        try:
            self._write_samples(state, step)
        finally:
            self.checkpoint_seconds += time.perf_counter() - t0

    def _write_samples(self, state: JobState, step: int) -> None:
        assert self.sink is not None
        req = state.request
        sampler_state = state.sampler.state_dict()
        for i in range(state.x.shape[0]):
            ck = SampleCheckpoint(
                job_id=req.job_id,
                attempt=req.attempt,
                model_id=self.model.info.model_id,
                sample_index=i,
                step=step,
                latents=_row(state.x, i),
                x0=None if state.x0 is None else _row(state.x0, i),
                sampler={k: _row(v, i) for k, v in sampler_state.items()},
                rng=state.rngs[i].get_state(),
            )
            self.sink.write(req.job_id, req.attempt, i, step, ck.to_bytes())

    def _load(self, state: JobState, cks: list[SampleCheckpoint]) -> None:
        device = state.x.device
        state.x = torch.cat([c.latents for c in cks]).to(device)
        x0s = [c.x0 for c in cks]
        state.x0 = None if any(v is None for v in x0s) else torch.cat(x0s).to(device)  # type: ignore[misc]
        merged: dict[str, Any] = {}
        for k, v in cks[0].sampler.items():
            merged[k] = (
                torch.cat([c.sampler[k] for c in cks]).to(device) if isinstance(v, torch.Tensor) else v
            )
        state.sampler.load_state_dict(merged)
        for g, c in zip(state.rngs, cks, strict=True):
            g.set_state(c.rng)
        state.steps_done = cks[0].step

    # --- decode -------------------------------------------------------------------------------------
    def _decode(self, jobs: list[tuple[str, JobState]], tile: bool, out: RunnerOutput) -> None:
        """Decode several finished jobs in one call; a job stopped early (``stop_fraction`` or
        the budget) decodes its latest clean-image prediction; masked jobs are composited so
        kept pixels are the init image's, exactly."""
        t0 = time.perf_counter()
        sizes = [s.x.shape[0] for _, s in jobs]
        try:
            latents = torch.cat(
                [
                    s.x if s.sampler.step_index >= s.sampler.num_steps or s.x0 is None else s.x0
                    for _, s in jobs
                ]
            )
            images = self.model.decode(latents, tile=tile)
        except Exception as exc:
            log.exception("decode failed")
            for job_id, _ in jobs:
                out.failed[job_id] = ("error", f"decode failed: {type(exc).__name__}: {exc}")
            return
        elapsed = time.perf_counter() - t0
        total = sum(sizes)
        start = 0
        for (job_id, state), n in zip(jobs, sizes, strict=True):
            mine = images[start : start + n]
            start += n
            if state.mask_pixels is not None and state.init_pixels is not None:
                m = state.mask_pixels[..., None]
                keep = state.init_pixels.astype(np.float32)
                mine = [
                    Image.fromarray(
                        np.round(m * np.asarray(im, np.float32) + (1 - m) * keep).astype(np.uint8)
                    )
                    for im in mine
                ]
            out.images[job_id] = mine
            out.seconds[job_id] = out.seconds.get(job_id, 0.0) + elapsed * n / total


def _row(value: Any, i: int) -> Any:
    """Row ``i`` as a tensor of its own (a view would make ``torch.save`` write the whole
    batch it belongs to)."""
    return value[i : i + 1].detach().cpu().clone() if isinstance(value, torch.Tensor) else value


def _resize(image: np.ndarray, width: int, height: int) -> np.ndarray:
    if image.shape[:2] == (height, width):
        return np.ascontiguousarray(image)
    return np.asarray(Image.fromarray(image).resize((width, height), Image.Resampling.LANCZOS))


def _resize_mask(mask: np.ndarray, width: int, height: int) -> np.ndarray:
    if mask.shape == (height, width):
        return mask.astype(np.float32)
    img = Image.fromarray(mask.astype(np.float32), mode="F").resize((width, height), Image.Resampling.BOX)
    return np.clip(np.asarray(img, np.float32), 0.0, 1.0)
