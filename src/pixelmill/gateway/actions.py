"""``POST /v1/jobs/{job_id}/actions``: follow-ups of one image (issue 8), queued like any job.

Body ``{"action", "index"?, "prompt"?, "zoom"?, "direction"?, "fraction"?, "rects"?,
"mask_png_b64"?, "webhook_url"?}`` (see :mod:`pixelmill.followups` for what each action does)
-> ``202`` with the new job, as ``/v1/imagine`` answers. Order of checks, each a clear 4xx:

1. the parent job: another user's, a deleted or a missing one -> 404 (no existence leak);
   blocked, failed, cancelled or unfinished -> 409 ``parent_not_succeeded`` naming its state;
   an ``index`` beyond its images -> 400 ``bad_index``; its image gone from the blob store ->
   404 ``image_not_found``.
2. the action's fields (:func:`pixelmill.followups.parse_body`) and, against the parent image's
   size, the region mask and the output size -> 400 ``invalid_followup`` with ``field``.
3. the same gates as ``/imagine`` (:class:`~pixelmill.gateway.submit.Submitter`): restriction,
   rate limit, the prompt grammar, the tier's modes and step budget, the pre-filter on an edited
   prompt (remix; 400 ``prompt_blocked``), the queued-jobs limit.

The job records its lineage (``parent_job_id``, ``parent_image_index``; ``GET /v1/jobs/{id}``
shows ``parent`` and ``children``) and carries in ``params``: ``settings`` (what the worker
runs: the new size, image count and seed), ``display``, ``followup`` (the action) and
``parent_image`` (sha256 and size of the image acted on).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import asdict, replace
from importlib import resources
from typing import Annotated, Any

from fastapi import APIRouter, Header, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from pixelmill.followups import ACTIONS, FollowUp, FollowUpError, check_against_parent, parse_body
from pixelmill.gateway.api import GW, Caller, accepted, check_idempotency_key, check_webhook_url, owned_job
from pixelmill.gateway.errors import ApiError
from pixelmill.gateway.submit import _display
from pixelmill.jobs import IdempotencyConflict, Job, JobImage, JobRequest, JobState
from pixelmill.prompt import MAX_PROMPT_CHARS, MAX_SEED
from pixelmill.store.blobs import content_key
from pixelmill.store.jobstore import User

router = APIRouter()


class FollowUpBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: str = Field(max_length=40, description="One of: " + ", ".join(ACTIONS))
    index: int = Field(default=0, ge=0, le=63, description="The image of the parent's grid (0-based).")
    prompt: str | None = Field(default=None, max_length=MAX_PROMPT_CHARS * 4,
                               description="Remix: an edited prompt (screened like any prompt).")
    zoom: float | None = Field(default=None, description="zoom_out: factor in (1, 2]; default 2.")
    direction: str | None = Field(default=None, max_length=8, description="pan: left|right|up|down.")
    fraction: float | None = Field(default=None, description="pan: share of the side added, (0, 1].")
    rects: list[list[int]] | None = Field(default=None, max_length=64,
                                          description="vary_region: [[x0, y0, x1, y1], ...] in pixels.")
    mask_png_b64: str | None = Field(default=None, max_length=6_000_000,
                                     description="vary_region: PNG mask (alpha or white = regenerate).")
    webhook_url: str | None = Field(default=None, max_length=2048)


@router.post("/v1/jobs/{job_id}/actions", tags=["jobs"], status_code=202)
def job_action(
    job_id: str,
    body: FollowUpBody,
    p: Caller,
    gw: GW,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> JSONResponse:
    """A follow-up of one image: upscale (subtle, creative), vary (subtle, strong, region), zoom
    out, pan, reroll; remix with an edited ``prompt``. 202 with the new job."""
    key = check_idempotency_key(idempotency_key)
    url = check_webhook_url(body.webhook_url, allow_private=gw.webhooks.allow_private)
    raw = body.model_dump(exclude={"webhook_url"}, exclude_none=True)
    try:
        spec = parse_body(raw)
    except FollowUpError as exc:
        raise _invalid(exc) from None
    parent = owned_job(gw, job_id, p.user.id)
    jobs = submit_followup(gw, p.user, parent, spec, idempotency_key=key, webhook_url=url)
    return accepted(gw, jobs, url)


def parent_image(gw: Any, parent: Job, index: int) -> JobImage:
    """The image ``index`` of a succeeded parent whose bytes still exist, or the 4xx saying why."""
    if parent.state is not JobState.SUCCEEDED:
        why = {
            JobState.BLOCKED: "was blocked by the safety filter; its images cannot be used",
            JobState.FAILED: "failed and has no images",
            JobState.CANCELLED: "was cancelled and has no images",
        }.get(parent.state, f"is still {parent.state.value}; wait until it has succeeded")
        raise ApiError(409, "parent_not_succeeded", f"job {parent.id} {why}", state=parent.state.value)
    images = {img.index: img for img in parent.images}
    if index not in images:
        raise ApiError(400, "bad_index",
                       f"index {index} is not an image of job {parent.id}; it has images "
                       f"{', '.join(str(i) for i in sorted(images)) or 'none'}")
    image = images[index]
    if not gw.blobs.exists(content_key(image.sha256)):
        raise ApiError(404, "image_not_found", f"image {index} of job {parent.id} was deleted")
    return image


def submit_followup(gw: Any, user: User, parent: Job, spec: FollowUp, *, idempotency_key: str | None,
                    webhook_url: str | None) -> list[Job]:
    """Validate and queue the follow-up ``spec`` of ``parent`` for ``user`` (the caller has
    checked that ``user`` owns ``parent``). Raises :class:`ApiError`."""
    sub = gw.submitter
    image = parent_image(gw, parent, spec.index)
    try:
        spec, (width, height) = check_against_parent(spec, image.width, image.height, sub.shape.multiple)
    except FollowUpError as exc:
        raise _invalid(exc) from None
    sub.check_restricted(user)
    sub.check_rate(user)
    text = parent.prompt if spec.prompt is None else spec.prompt
    prompt_spec = sub.parse(text)
    if prompt_spec.seed is not None:  # a follow-up makes new images: a fixed --seed is not reused
        prompt_spec = replace(prompt_spec, seed=None)
    gs, mode = sub.settings(user, prompt_spec)  # tier: modes and step budget
    if spec.prompt is not None:
        sub.screen(user, text)  # remix: the pre-filter screens the edited prompt
    sub.check_queued(user, 1)
    seed = _new_seed(user.id, idempotency_key)
    if spec.action == "reroll":
        n_images = gs.n_images
    else:
        n_images = spec.n_images(parent.n_images)
        gs = replace(gs, width=width, height=height)
    gs = replace(gs, seed=seed, n_images=n_images, repeat=1)
    display = {**_display(prompt_spec, gs, mode, seed), "action": spec.action}
    followup = spec.to_dict()
    followup.pop("mask_png_b64", None)
    display.update({k: v for k, v in followup.items() if k in ("zoom", "direction", "fraction")})
    tier = gw.policy.tier(user.tier)
    request = JobRequest(
        user_id=user.id, tier=user.tier, mode=mode, prompt=text,
        params={"settings": asdict(gs), "display": display, "followup": spec.to_dict(),
                "parent_image": {"sha256": image.sha256, "width": image.width, "height": image.height,
                                 "seed": image.seed}},
        kind=spec.kind, step_budget=tier.step_budget, steps=gs.steps, n_images=n_images, seed=seed,
        width=gs.width, height=gs.height, model_id=parent.model_id,
        parent_job_id=parent.id, parent_image_index=spec.index,
        idempotency_key=idempotency_key, webhook_url=webhook_url, private=parent.private,
    )
    try:
        return [gw.store.submit(request)]
    except IdempotencyConflict as exc:
        raise ApiError(409, "idempotency_conflict", str(exc)) from None
    except ValueError as exc:
        raise ApiError(400, "invalid_request", str(exc)) from None


def _new_seed(user_id: str, idempotency_key: str | None) -> int:
    """A random seed; under an idempotency key one derived from it (a retry is the same body)."""
    if idempotency_key is None:
        return secrets.randbelow(MAX_SEED - 4096)
    digest = hashlib.sha256(f"followup\x00{user_id}\x00{idempotency_key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % (MAX_SEED - 4096)


def _invalid(exc: FollowUpError) -> ApiError:
    extra = {"field": exc.field} if exc.field else {}
    return ApiError(400, "invalid_followup", exc.message, **extra)


@router.get("/followups.js", include_in_schema=False)
def followups_js() -> Response:
    """The web app's follow-up controls (region brush, zoom, pan, remix): a static module
    loaded by ``index.html``, served with the same headers as the app's own files."""
    data = resources.files("pixelmill.web").joinpath("followups.js").read_bytes()
    return Response(data, media_type="text/javascript; charset=utf-8", headers={
        "Cache-Control": "no-cache",
        "X-Content-Type-Options": "nosniff",
    })
