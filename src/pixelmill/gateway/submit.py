"""From an HTTP submit to a queued job: the gateway's part of the way one prompt travels.

Order (DESIGN.md, "the way one prompt travels"), each step refusing with a clear 4xx:

1. restriction: an account restricted for repeated violations submits nothing (403).
2. rate limits: submits per user per minute by tier (429 + ``Retry-After``).
3. prompt: length limit, then the grammar (:func:`pixelmill.prompt.parse`): 400 ``invalid_prompt``
   with the parser's message, parameter and suggestion; 400 ``unsupported_parameter``.
4. tier: the mode must be one the tier may use (403 ``mode_not_allowed``) and the steps must fit
   the tier's step budget (403 ``step_budget_exceeded``). Nothing is silently downgraded.
5. pre-filter: a blocked prompt is a 400 ``prompt_blocked`` with its category; no job is stored
   and the engine never sees it. The violation counts toward the account's restriction.
6. queued jobs per user by tier (429 ``rate_limited`` scope ``queued``).
7. the job store: one job per ``--repeat`` (idempotent on ``Idempotency-Key``).

The job's ``params`` hold ``settings`` (the :class:`~pixelmill.prompt.GenerationSettings` the
worker runs, seed and mode resolved) and ``display`` (what people see in the job view).
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import threading
import time
from dataclasses import dataclass, fields, replace
from typing import Any, Protocol

from pixelmill.gateway.errors import ApiError
from pixelmill.gateway.ratelimit import RateLimiter, Refusal, refuse
from pixelmill.jobs import IdempotencyConflict, Job, JobRequest, JobState
from pixelmill.prompt import (
    MAX_PROMPT_CHARS,
    MAX_SEED,
    GenerationSettings,
    PromptError,
    PromptSpec,
    UnsupportedParameter,
    parse,
)
from pixelmill.safety.strikes import ViolationTracker
from pixelmill.safety.verdict import Verdict
from pixelmill.store.blobs import BlobStore
from pixelmill.store.jobstore import JobStore, User
from pixelmill.tiers import Policy

log = logging.getLogger("pixelmill.gateway")

ACTIONS: tuple[str, ...] = (
    "upscale_subtle", "upscale_creative", "vary_subtle", "vary_strong", "vary_region", "zoom_out",
    "pan", "reroll",
)
"""Every follow-up action name of the API (issue 8)."""

GATEWAY_ACTIONS: frozenset[str] = frozenset(ACTIONS)
"""Actions this gateway queues (``GET /v1/capabilities`` lists them; the web app disables the
rest). All of them are served by :mod:`pixelmill.gateway.actions` (issue 8)."""


class Screen(Protocol):
    def screen(self, prompt: str) -> Verdict: ...


@dataclass(frozen=True)
class ModelShape:
    """What the gateway must know of the deployment's model to validate a prompt: its native
    size and size multiple (for ``--ar``), default steps, and the id workers claim by (read from
    the model folder by :mod:`pixelmill.gateway.model`)."""

    model_id: str = "tiny-random-sd"
    native_size: int = 64
    multiple: int = 8
    base_steps: int = 20


def _seed_for(user_id: str, idempotency_key: str | None) -> int:
    """A random seed, or, under an idempotency key, one derived from it (a retried request must
    produce the same job body, so the same seed)."""
    if idempotency_key is None:
        return secrets.randbelow(MAX_SEED - 4096)
    digest = hashlib.sha256(f"{user_id}\x00{idempotency_key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % (MAX_SEED - 4096)


def _fields(gs: GenerationSettings) -> dict[str, Any]:
    """``dataclasses.asdict(gs)`` without its deep copy (the fields are immutable: str, numbers,
    tuples), a noticeable share of a submit's cost."""
    return {f.name: getattr(gs, f.name) for f in fields(gs)}


def _display(spec: PromptSpec, gs: GenerationSettings, mode: str, seed: int) -> dict[str, Any]:
    return {
        "ar": f"{spec.aspect[0]}:{spec.aspect[1]}",
        "seed": seed,
        "stylize": spec.stylize,
        "chaos": spec.chaos,
        "quality": spec.quality,
        "mode": mode,
        "steps": gs.run_steps,
        "guidance": gs.guidance_scale,
        "negative": gs.negative_prompt or None,
        "tile": gs.tile or None,
        "raw": spec.raw or None,
        "stop": spec.stop if spec.stop != 100 else None,
    }


class Submitter:
    """Validates submits and turns them into jobs (see the module docstring for the order)."""

    def __init__(self, store: JobStore, policy: Policy, limiter: RateLimiter, prefilter: Screen,
                 strikes: ViolationTracker, shape: ModelShape, *, blobs: BlobStore | None = None,
                 max_prompt_chars: int = MAX_PROMPT_CHARS) -> None:
        self.store = store
        self.blobs = blobs
        self._loaded: set[str] = set()
        self.policy = policy
        self.limiter = limiter
        self.prefilter = prefilter
        self.strikes = strikes
        self.shape = shape
        self.max_prompt_chars = max_prompt_chars
        self._strike_lock = threading.Lock()

    # --- violations (persisted as blobs ``strikes/<user>.json`` so every gateway sees them) -----
    def _strikes_key(self, user_id: str) -> str:
        return f"strikes/{user_id}.json"

    def _load_strikes(self, user_id: str) -> None:
        """Caller holds ``_strike_lock``. Loads a user's saved violations once per process."""
        if self.blobs is None or user_id in self._loaded:
            return
        try:
            saved = json.loads(self.blobs.get(self._strikes_key(user_id)))
            self.strikes.load(user_id, [float(t) for t in saved["times"]], float(saved["restricted_until"]))
        except KeyError:
            pass
        except (ValueError, TypeError):
            log.warning("unreadable strikes record for user %s; starting empty", user_id)
        self._loaded.add(user_id)

    def _record_violation(self, user_id: str) -> None:
        with self._strike_lock:
            self._load_strikes(user_id)
            self.strikes.record(user_id, time.time())
            times, until = self.strikes.state(user_id)
            if self.blobs is not None:
                body = json.dumps({"times": times, "restricted_until": until}).encode()
                self.blobs.put(self._strikes_key(user_id), body)

    # --- checks --------------------------------------------------------------------------------
    def check_restricted(self, user: User) -> None:
        now = time.time()
        with self._strike_lock:
            self._load_strikes(user.id)
            until = self.strikes.restricted_until(user.id, now)
        if until is not None:
            wait = max(1, int(until - now))
            raise ApiError(403, "account_restricted",
                           f"this account is restricted after repeated policy violations; "
                           f"it can submit again in {wait} s", retry_after_s=wait)

    def check_rate(self, user: User) -> None:
        refusal = self.limiter.check_user(user.id, user.tier)
        if refusal is not None:
            raise refuse(refusal)

    def check_queued(self, user: User, adding: int) -> None:
        """Refuse when the user's queued jobs plus ``adding`` would exceed the tier's limit."""
        limit = self.policy.tier(user.tier).max_queued
        queued = self.store.count_user_jobs(user.id, [JobState.QUEUED.value])
        if queued + adding > limit:
            raise refuse(Refusal("queued", f"{limit} queued jobs on the {user.tier} tier", 5))

    def parse(self, prompt: str) -> PromptSpec:
        if not prompt.strip():
            raise ApiError(400, "invalid_prompt", "the prompt is empty; describe the image you want",
                           param=None)
        if len(prompt) > self.max_prompt_chars:
            raise ApiError(400, "prompt_too_long",
                           f"the prompt has {len(prompt)} characters; the limit is {self.max_prompt_chars}")
        try:
            return parse(prompt)
        except PromptError as exc:
            raise ApiError(400, "invalid_prompt", exc.message, param=exc.param,
                           suggestion=exc.suggestion) from None

    def settings(self, user: User, spec: PromptSpec) -> tuple[GenerationSettings, str]:
        """Generation settings and mode for ``spec`` under ``user``'s tier, or a 4xx."""
        tier = self.policy.tier(user.tier)
        mode = spec.mode or self.policy.default_mode[user.tier]
        if mode not in tier.modes:
            raise ApiError(403, "mode_not_allowed",
                           f"--{mode} is not available on the {user.tier} tier; "
                           f"use one of: {', '.join('--' + m for m in tier.modes)}", mode=mode)
        try:
            gs = spec.settings(base_steps=self.shape.base_steps, native_size=self.shape.native_size,
                               multiple=self.shape.multiple,
                               draft_step_factor=self.policy.mode_step_factor.get("draft", 0.5))
        except UnsupportedParameter as exc:
            raise ApiError(400, "unsupported_parameter", exc.message, params=list(exc.params)) from None
        except PromptError as exc:
            raise ApiError(400, "invalid_prompt", exc.message, param=exc.param,
                           suggestion=exc.suggestion) from None
        steps = gs.steps
        if mode == "draft" and not spec.draft:  # the tier's default mode is draft
            steps = max(1, round(steps * self.policy.mode_step_factor.get("draft", 0.5)))
        if steps > tier.step_budget:
            raise ApiError(403, "step_budget_exceeded",
                           f"this prompt needs {steps} denoising steps; the {user.tier} tier allows "
                           f"{tier.step_budget} per job: lower --quality or use a higher tier",
                           steps=steps, step_budget=tier.step_budget)
        return replace(gs, steps=steps, mode=mode), mode

    def screen(self, user: User, text: str) -> None:
        verdict = self.prefilter.screen(text)
        if verdict.allowed:
            return
        self._record_violation(user.id)
        raise ApiError(400, "prompt_blocked", verdict.message, category=verdict.category)

    # --- submits ---------------------------------------------------------------------------------
    def imagine(self, user: User, prompt: str, *, idempotency_key: str | None = None,
                webhook_url: str | None = None, private: bool = False) -> list[Job]:
        """Queue the jobs for one ``/imagine`` (one per ``--repeat``); 4xx as in the docstring."""
        self.check_restricted(user)
        self.check_rate(user)
        spec = self.parse(prompt)
        gs, mode = self.settings(user, spec)
        self.screen(user, prompt)
        return self._queue(user, prompt, spec, gs, mode, kind="imagine", idempotency_key=idempotency_key,
                           webhook_url=webhook_url, private=private)

    def _queue(self, user: User, prompt: str, spec: PromptSpec, gs: GenerationSettings, mode: str, *,
               kind: str, idempotency_key: str | None, webhook_url: str | None, private: bool) -> list[Job]:
        repeat = max(1, gs.repeat)
        self.check_queued(user, repeat)
        base_seed = gs.seed if gs.seed is not None else _seed_for(user.id, idempotency_key)
        tier = self.policy.tier(user.tier)
        jobs = []
        for i in range(repeat):
            seed = (base_seed + i * gs.n_images) % (MAX_SEED - gs.n_images)
            settings = replace(gs, seed=seed, repeat=1)
            key = None if idempotency_key is None else (
                idempotency_key if repeat == 1 else f"{idempotency_key}#{i}")
            request = JobRequest(
                user_id=user.id, tier=user.tier, mode=mode, prompt=prompt,
                params={"settings": _fields(settings), "display": _display(spec, settings, mode, seed)},
                kind=kind, step_budget=tier.step_budget, steps=settings.steps,
                n_images=settings.n_images, seed=seed, width=settings.width, height=settings.height,
                model_id=self.shape.model_id,
                idempotency_key=key, webhook_url=webhook_url, private=private,
            )
            try:
                jobs.append(self.store.submit(request))
            except IdempotencyConflict as exc:
                raise ApiError(409, "idempotency_conflict", str(exc)) from None
            except ValueError as exc:
                raise ApiError(400, "invalid_request", str(exc)) from None
        return jobs
