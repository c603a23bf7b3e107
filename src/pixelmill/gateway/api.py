"""The HTTP routes: ``/v1`` (JSON API), health and metrics, and the web app's static files.

Every ``/v1`` route except ``POST /v1/session``, ``GET /v1/capabilities`` and image delivery
needs credentials (401 without). Another user's job, events or stealth image is a 404, the same
answer as for a missing one. Errors follow :mod:`pixelmill.gateway.errors`. The routes are thin:
the checks live in :mod:`~pixelmill.gateway.submit`, :mod:`~pixelmill.gateway.auth`,
:mod:`~pixelmill.gateway.images` and :mod:`~pixelmill.gateway.sse`.
"""

from __future__ import annotations

import contextlib
import re
import time
from importlib import resources
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from pixelmill.gateway.auth import SESSION_COOKIE, Principal
from pixelmill.gateway.egress import EgressDenied, check_url
from pixelmill.gateway.errors import ApiError, not_found
from pixelmill.gateway.images import serve_image
from pixelmill.gateway.ratelimit import refuse
from pixelmill.gateway.sse import job_events
from pixelmill.gateway.state import Gateway
from pixelmill.gateway.submit import ACTIONS, GATEWAY_ACTIONS
from pixelmill.gateway.views import job_view
from pixelmill.jobs import InvalidTransition, Job, JobNotFound, JobState
from pixelmill.observability import QUEUE_DEPTH, render
from pixelmill.prompt import ENGINE_SUPPORTED, MAX_PROMPT_CHARS, MODES, PARAMS

JOB_ID = re.compile(r"^[0-9a-f]{32}$")
IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")
MAX_URL_CHARS = 2048

router = APIRouter()


# --- request bodies (they shape /openapi.json) ----------------------------------------------------
class ImagineBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    prompt: str = Field(description="Prompt text with Midjourney-style --parameters.",
                        max_length=MAX_PROMPT_CHARS * 4)
    webhook_url: str | None = Field(default=None, max_length=MAX_URL_CHARS,
                                    description="http(s) URL that receives the job's final state.")
    private: bool = Field(default=False, description="Stealth: images only for their owner.")


class SessionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    api_key: str | None = Field(default=None, max_length=256)
    signin_token: str | None = Field(default=None, max_length=256)


# --- dependencies -----------------------------------------------------------------------------------
# They are ``async`` so FastAPI runs them on the event loop rather than handing each to the
# thread pool (a hop per dependency per request, profiled as a large share of a submit); each
# does work that may block (a Redis rate-limit counter, a store lookup) on a thread instead.
async def gateway(request: Request) -> Gateway:
    return request.app.state.gateway  # type: ignore[no-any-return]


GW = Annotated[Gateway, Depends(gateway)]


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def check_ip(request: Request, gw: GW) -> None:
    ip = client_ip(request)
    if gw.limiter.local:
        refusal = gw.limiter.check_ip(ip)
    else:
        refusal = await run_in_threadpool(gw.limiter.check_ip, ip)
    if refusal is not None:
        raise refuse(refusal)


async def principal(request: Request, gw: GW, _: Annotated[None, Depends(check_ip)]) -> Principal:
    cached = gw.auth.cached_principal(request)
    if cached is not None:
        return cached
    return await run_in_threadpool(gw.auth.authenticate, request)


Caller = Annotated[Principal, Depends(principal)]


def optional_user_id(request: Request, gw: Gateway) -> str | None:
    """The caller's user id if credentials are present and valid, else None (image delivery)."""
    if "authorization" not in request.headers and SESSION_COOKIE not in request.cookies:
        return None
    try:
        return gw.auth.authenticate(request).user.id
    except ApiError:
        return None


def owned_job(gw: Gateway, job_id: str, user_id: str) -> Job:
    """The job if ``user_id`` owns it; 404 otherwise (missing and foreign look the same)."""
    if not JOB_ID.match(job_id):
        raise not_found()
    try:
        job = gw.store.get(job_id)
    except JobNotFound:
        raise not_found() from None
    if job.user_id != user_id:
        raise not_found()
    return job


def check_webhook_url(url: str | None, *, allow_private: bool) -> str | None:
    """``url`` if the server may deliver webhooks to it, else 400 ``invalid_webhook_url``.

    An absolute http(s) URL whose host is not ``localhost`` nor a non-public IP literal (any
    spelling: ``2130706433``, ``0x7f.1``, ``[::ffff:127.0.0.1]``...), unless ``allow_private``.
    No DNS lookup here (submit stays fast); delivery checks the resolved addresses
    (:mod:`pixelmill.gateway.egress`)."""
    if url is None:
        return None
    if not re.match(r"^https?://[^\s/?#]+[^\s]*$", url):
        raise ApiError(400, "invalid_webhook_url", "webhook_url must be an absolute http:// or https:// URL")
    try:
        check_url(url, allow_private=allow_private, resolve=None)
    except EgressDenied as exc:
        raise ApiError(400, "invalid_webhook_url", str(exc)) from None
    return url


def check_idempotency_key(key: str | None) -> str | None:
    if key is None:
        return None
    if not IDEMPOTENCY_KEY.match(key):
        raise ApiError(400, "invalid_idempotency_key",
                       "Idempotency-Key must be 1-200 visible ASCII characters (e.g. a UUID)")
    return key


def view(gw: Gateway, job: Job, *, children: bool = False) -> dict[str, Any]:
    """The job's JSON (with queue position, estimate and, if asked, children)."""
    gw.estimator.observe(job)
    position = gw.store.queue_position(job.id) if job.state is JobState.QUEUED else None
    return job_view(job, position=position,
                    estimate_s=gw.estimator.estimate(position) if position is not None else None,
                    children=gw.store.children(job.id) if children else None)


def accepted(gw: Gateway, jobs: list[Job], webhook_url: str | None) -> JSONResponse:
    for job in jobs:
        if job.state is JobState.QUEUED:
            gw.bus.publish(job.id, {"type": "queued", "state": "queued"})
        if webhook_url:
            gw.watcher.watch(job.id, job.user_id, webhook_url)
    body = view(gw, jobs[0])
    if len(jobs) > 1:
        body["batch"] = [j.id for j in jobs]
    return JSONResponse(body, status_code=202, headers={"Location": f"/v1/jobs/{jobs[0].id}"})


def me_view(gw: Gateway, p: Principal) -> dict[str, Any]:
    tier = gw.policy.tier(p.user.tier)
    return {
        "id": p.user.id,
        "name": p.user.name,
        "tier": p.user.tier,
        "modes": list(tier.modes),
        "default_mode": gw.policy.default_mode[p.user.tier],
        "step_budget": tier.step_budget,
        "limits": {"requests_per_minute": tier.requests_per_minute, "max_running": tier.max_running,
                   "max_queued": tier.max_queued},
        "webhook_secret": gw.webhook_secret(p.user.id),
    }


# --- sessions and account ------------------------------------------------------------------------------
@router.post("/v1/session", tags=["account"], dependencies=[Depends(check_ip)])
def create_session(body: SessionBody, gw: GW, response: Response) -> dict[str, Any]:
    """Exchange an API key or a one-time sign-in token for a session cookie (the web app)."""
    if (body.api_key is None) == (body.signin_token is None):
        raise ApiError(400, "bad_request", "send exactly one of api_key or signin_token")
    if body.api_key is not None:
        user = gw.auth.user_for_key(body.api_key)
    else:
        user_id = gw.signin.redeem(body.signin_token or "")
        if user_id is None:
            raise ApiError(401, "unauthorized", "this sign-in link was already used or has expired; "
                           "restart `pixelmill serve` for a new one or sign in with an API key")
        user = gw.store.get_user(user_id)
    response.set_cookie(SESSION_COOKIE, gw.auth.session_cookie(user.id), max_age=int(gw.auth.session_ttl_s),
                        httponly=True, samesite="strict", path="/")
    return me_view(gw, Principal(user, "session"))


@router.delete("/v1/session", tags=["account"], status_code=204)
def delete_session() -> Response:
    """Sign out (clears the session cookie)."""
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/v1/me", tags=["account"])
def me(p: Caller, gw: GW) -> dict[str, Any]:
    """The caller's account: tier, allowed modes, step budget, limits, webhook signing secret."""
    return me_view(gw, p)


@router.get("/v1/capabilities", tags=["meta"])
def capabilities() -> dict[str, Any]:
    """What this server supports: follow-up actions, modes and prompt parameters (with hints)."""
    return {
        "actions": sorted(GATEWAY_ACTIONS),
        "all_actions": list(ACTIONS),
        "modes": list(MODES),
        "max_prompt_chars": MAX_PROMPT_CHARS,
        "params": [{"name": p.name, "aliases": list(p.aliases), "hint": p.range_text(), "default": p.default}
                   for p in PARAMS if p.name in ENGINE_SUPPORTED],
    }


# --- jobs ---------------------------------------------------------------------------------------------------
@router.post("/v1/imagine", tags=["jobs"], status_code=202)
def imagine(
    body: ImagineBody,
    p: Caller,
    gw: GW,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> JSONResponse:
    """Queue a generation. 202 with the job; 400 ``prompt_blocked`` (with ``category``) when the
    pre-filter refuses the prompt, 400 ``invalid_prompt`` with the parser's message, 403 when the
    tier does not allow the mode or steps, 429 on rate limits."""
    key = check_idempotency_key(idempotency_key)
    url = check_webhook_url(body.webhook_url, allow_private=gw.webhooks.allow_private)
    jobs = gw.submitter.imagine(p.user, body.prompt, idempotency_key=key, webhook_url=url,
                                private=body.private)
    return accepted(gw, jobs, url)


@router.get("/v1/jobs/{job_id}", tags=["jobs"])
def get_job(job_id: str, p: Caller, gw: GW) -> dict[str, Any]:
    """Status, queue position and estimate, progress, timings, images, parent and children."""
    return view(gw, owned_job(gw, job_id, p.user.id), children=True)


@router.get("/v1/jobs/{job_id}/events", tags=["jobs"])
def get_job_events(
    job_id: str,
    request: Request,
    p: Caller,
    gw: GW,
    last_event_id: Annotated[str | None, Header(max_length=64)] = None,
    last_event_id_q: Annotated[str | None, Query(alias="last_event_id", max_length=64)] = None,
) -> Response:
    """Server-Sent Events: progress, state changes, completion; resumes after ``Last-Event-ID``."""
    job = owned_job(gw, job_id, p.user.id)
    return job_events(request, gw.bus, job, last_event_id or last_event_id_q, load_job=gw.store.get,
                      snapshot=lambda j: view(gw, j))


@router.post("/v1/jobs/{job_id}/cancel", tags=["jobs"])
def cancel_job(job_id: str, p: Caller, gw: GW) -> dict[str, Any]:
    """Cancel a queued or running job (a running one stops at its next step boundary)."""
    owned_job(gw, job_id, p.user.id)
    try:
        job = gw.store.cancel(job_id, p.user.id)
    except JobNotFound:
        raise not_found() from None
    except InvalidTransition as exc:
        raise ApiError(409, "not_cancellable", str(exc)) from None
    gw.bus.publish(job.id, {"type": "completed", "state": job.state.value})
    return view(gw, job)


# --- the caller's data ------------------------------------------------------------------------------------
@router.get("/v1/me/jobs", tags=["account"])
def my_jobs(
    p: Caller,
    gw: GW,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    q: Annotated[str | None, Query(max_length=200, description="Search in prompt text.")] = None,
) -> dict[str, Any]:
    """History, newest first, ``limit`` per page; pass ``next_cursor`` back as ``cursor``."""
    try:
        page = gw.store.list_user_jobs(p.user.id, cursor=cursor, limit=limit, query=q or None)
    except ValueError as exc:
        raise ApiError(400, "bad_cursor", str(exc)) from None
    return {"jobs": [view(gw, j) for j in page.jobs], "next_cursor": page.next_cursor}


@router.delete("/v1/me/data", tags=["account"])
def delete_my_data(p: Caller, gw: GW) -> JSONResponse:
    """Delete all the caller's jobs, images, checkpoints and API keys (privacy). The account row
    and tier stay; sign in again with a new key from the operator."""
    # Running jobs are cancelled first so workers stop spending GPU time on them.
    cursor = None
    while True:
        page = gw.store.list_user_jobs(p.user.id, cursor=cursor, limit=200)
        for job in page.jobs:
            if not job.state.finished:
                with contextlib.suppress(InvalidTransition, JobNotFound):
                    gw.store.cancel(job.id, p.user.id)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    keys = gw.store.delete_user_data(p.user.id)
    for key in keys:
        gw.blobs.delete(key)
    gw.auth.forget(p.user.id)
    response = JSONResponse({"deleted_blobs": len(keys), "api_keys_revoked": True})
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/v1/me/export", tags=["account"])
def export_my_data(p: Caller, gw: GW) -> JSONResponse:
    """Everything stored about the caller: account and every job (JSON download)."""
    jobs: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = gw.store.list_user_jobs(p.user.id, cursor=cursor, limit=200)
        jobs.extend(view(gw, j) for j in page.jobs)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    account = me_view(gw, p)
    account.pop("webhook_secret")
    body = {"exported_at": time.time(), "account": account, "usage": gw.store.usage(p.user.id).by_mode,
            "jobs": jobs}
    return JSONResponse(body, headers={"Content-Disposition": 'attachment; filename="pixelmill-export.json"'})


# --- images -------------------------------------------------------------------------------------------------
@router.get("/v1/images/{name}", tags=["images"], dependencies=[Depends(check_ip)],
            responses={200: {"content": {"image/png": {}}}, 304: {"description": "Not modified"}})
def get_image(name: str, request: Request, gw: GW) -> Response:
    """An image by content hash (``<sha256>.png``): strong ETag, immutable caching, 304 on
    ``If-None-Match``; stealth images only for their owner."""
    return serve_image(request, name, optional_user_id(request, gw), gw.blobs, gw.store)


# --- operations ---------------------------------------------------------------------------------------------
@router.get("/healthz", tags=["ops"])
def healthz() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get("/readyz", tags=["ops"])
async def readyz(gw: GW) -> JSONResponse:
    """Readiness: the job store, the blob store and a worker heartbeat. 200 when all pass."""
    checks = await anyio.to_thread.run_sync(gw.readiness)
    ok = all(c["ok"] for c in checks.values())
    return JSONResponse({"status": "ready" if ok else "not_ready", "checks": checks},
                        status_code=200 if ok else 503)


@router.get("/metrics", tags=["ops"], response_class=Response)
def metrics(gw: GW) -> Response:
    """Prometheus metrics (queue depth by lane is read from the job store at scrape time)."""
    for lane, depth in gw.store.lane_depths().items():
        QUEUE_DEPTH.labels(lane=lane).set(depth)
    return Response(render(), media_type="text/plain; version=0.0.4; charset=utf-8")


# --- the web app -------------------------------------------------------------------------------------------
_STATIC = {"/": ("index.html", "text/html; charset=utf-8"),
           "/app.js": ("app.js", "text/javascript; charset=utf-8"),
           "/app.css": ("app.css", "text/css; charset=utf-8")}


def _static(path: str) -> Response:
    name, media = _STATIC[path]
    data = resources.files("pixelmill.web").joinpath(name).read_bytes()
    return Response(data, media_type=media, headers={
        "Cache-Control": "no-cache",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; "
                                   "script-src 'self'; connect-src 'self'; frame-ancestors 'none'",
    })


for _path in _STATIC:
    router.add_api_route(_path, (lambda p=_path: _static(p)), methods=["GET"], include_in_schema=False)
