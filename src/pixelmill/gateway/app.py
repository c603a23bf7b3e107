"""The gateway's app factory: :func:`create_app`.

Embedded (``pixelmill serve``): SQLite, a local blob folder, the in-memory event bus, ``limits``
with ``memory://`` and, with ``start_worker=True``, a worker on a background thread of the same
process. Distributed (``pixelmill serve --no-worker`` on each API node): the URLs in
:class:`~pixelmill.config.Settings` point at PostgreSQL, S3 and Redis; rate limits share Redis;
``pixelmill worker`` processes do the work.
"""

from __future__ import annotations

import gc
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI

from pixelmill.config import Settings, home
from pixelmill.gateway import errors
from pixelmill.gateway.api import router
from pixelmill.gateway.auth import SigninTokens, load_secret
from pixelmill.gateway.middleware import BodyLimit, Metrics
from pixelmill.gateway.model import deployment_shape
from pixelmill.gateway.state import EmbeddedWorker, Gateway
from pixelmill.gateway.submit import ModelShape
from pixelmill.store import open_blob_store, open_event_bus, open_job_store
from pixelmill.tiers import Policy, load_policy

MAX_BODY_BYTES = 64 * 1024


@dataclass(frozen=True)
class GatewayOptions:
    """Knobs beyond :class:`Settings`.

    - ``ratelimit_url``: ``limits`` storage; default ``memory://``, or the events Redis when the
      event bus is Redis (``$PIXELMILL_RATELIMIT_URL`` overrides).
    - ``max_body_bytes``: request body limit (413 above it).
    - ``embedding_prefilter``: use the pre-filter's MiniLM layer (default on;
      ``PIXELMILL_PREFILTER_EMBEDDING=0`` turns it off, e.g. on a machine too small for it).
    - ``webhook_base_s``: webhook retry backoff base.
    """

    ratelimit_url: str | None = None
    max_body_bytes: int = MAX_BODY_BYTES
    embedding_prefilter: bool = field(
        default_factory=lambda: os.environ.get("PIXELMILL_PREFILTER_EMBEDDING", "1") != "0")
    webhook_base_s: float = 1.0


def _ratelimit_url(settings: Settings, options: GatewayOptions) -> str:
    if options.ratelimit_url:
        return options.ratelimit_url
    env = os.environ.get("PIXELMILL_RATELIMIT_URL")
    if env:
        return env
    if settings.events_url.startswith(("redis://", "rediss://")):
        return settings.events_url
    return "memory://"


def _default_prefilter(embedding: bool) -> Any:
    from pixelmill.safety.prefilter import PreFilter

    return PreFilter.default(embedding=embedding)


def _worker_factory(settings: Settings, gw: Gateway) -> Any:
    def build() -> Any:
        from pixelmill.worker import Worker

        return Worker.from_settings(settings, store=gw.store, blobs=gw.blobs, bus=gw.bus)

    return build


def create_app(
    settings: Settings | None = None,
    *,
    start_worker: bool,
    policy: Policy | None = None,
    prefilter: Any = None,
    options: GatewayOptions | None = None,
    shape: ModelShape | None = None,
) -> FastAPI:
    """The FastAPI app. ``start_worker``: run an embedded worker thread (embedded mode).

    ``shape`` (the model's id, size and default steps) defaults to the deployment's model folder
    (:mod:`pixelmill.gateway.model`). ``policy`` defaults to :func:`pixelmill.tiers.load_policy`;
    ``prefilter`` (anything with ``screen(prompt) -> Verdict``) to the production
    :class:`~pixelmill.safety.prefilter.PreFilter`.
    Stores open now; threads start with the app's lifespan and stop with it.
    """
    settings = settings or Settings.from_env()
    options = options or GatewayOptions()
    policy = policy or load_policy()
    root = home()
    gw = Gateway.build(
        policy=policy,
        store=open_job_store(settings.database_url, policy),
        blobs=open_blob_store(settings.blob_url, settings.s3_endpoint),
        bus=open_event_bus(settings.events_url),
        secret=load_secret(root),
        prefilter=prefilter if prefilter is not None else _default_prefilter(options.embedding_prefilter),
        signin=SigninTokens(root / "signin_tokens.json"),
        ratelimit_url=_ratelimit_url(settings, options),
        shape=shape or deployment_shape(settings, create=start_worker),
        webhook_base_s=options.webhook_base_s,
        webhook_allow_private=settings.webhook_allow_private,
    )
    if start_worker:
        gw.worker = EmbeddedWorker(_worker_factory(settings, gw))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        gw.start()
        # Everything alive now (the stores, the pre-filter's encoder and tokenizer, the libraries
        # behind them: ~400k objects with the encoder) lives as long as the server, so it leaves
        # the collector's view: a full collection over it paused every request ~300 ms (measured),
        # the submit latency's p99. Objects created later are collected as usual.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()
            gw.close()

    app = FastAPI(
        title="pixelmill",
        version="1",
        description="Self-hostable, Midjourney-class image generation. Errors are "
                    '`{"error": {"code", "message"}}`; authenticate with `Authorization: Bearer KEY`.',
        lifespan=lifespan,
    )
    app.state.gateway = gw
    errors.install(app)
    from pixelmill.gateway.actions import router as actions_router  # follow-ups (issue 8)

    app.include_router(actions_router)  # before `router`: its actions route answers first
    app.include_router(router)
    app.add_middleware(BodyLimit, max_bytes=options.max_body_bytes)
    app.add_middleware(Metrics)
    return app
