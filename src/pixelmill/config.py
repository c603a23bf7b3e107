"""Where pixelmill keeps its state, and the settings every command reads.

Contract: every path pixelmill writes lives under :func:`home` (``$PIXELMILL_HOME``, default
``~/.pixelmill``). Settings come from environment variables named ``PIXELMILL_*`` so the same
code runs embedded (defaults) and distributed (URLs set by the operator).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def home() -> Path:
    """Return the state folder, creating it on first use."""
    path = Path(os.environ.get("PIXELMILL_HOME", "~/.pixelmill")).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass(frozen=True)
class Settings:
    """Runtime settings. Embedded defaults: SQLite, a local folder, an in-memory event bus.

    - ``database_url``: ``sqlite:///PATH`` (default ``$PIXELMILL_HOME/pixelmill.db``) or
      ``postgresql://...``.
    - ``blob_url``: ``file:///PATH`` (default ``$PIXELMILL_HOME/blobs``) or ``s3://bucket`` (with
      ``PIXELMILL_S3_ENDPOINT`` for S3-compatible servers).
    - ``events_url``: ``memory://`` or ``redis://host:port/db``.
    - ``model_path``: a diffusers-format folder; empty means the built-in model.
    - ``webhook_allow_private``: let webhooks reach private, loopback and link-local addresses
      (``PIXELMILL_WEBHOOK_ALLOW_PRIVATE=1``; default off, see :mod:`pixelmill.gateway.egress`).
    """

    database_url: str = ""
    blob_url: str = ""
    events_url: str = "memory://"
    s3_endpoint: str | None = None
    model_path: str = ""
    checkpoint_every: int = 10
    webhook_allow_private: bool = False
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls) -> Settings:
        root = home()
        return cls(
            database_url=os.environ.get("PIXELMILL_DATABASE_URL", f"sqlite:///{root / 'pixelmill.db'}"),
            blob_url=os.environ.get("PIXELMILL_BLOB_URL", f"file://{root / 'blobs'}"),
            events_url=os.environ.get("PIXELMILL_EVENTS_URL", "memory://"),
            s3_endpoint=os.environ.get("PIXELMILL_S3_ENDPOINT") or None,
            model_path=os.environ.get("PIXELMILL_MODEL", ""),
            checkpoint_every=int(os.environ.get("PIXELMILL_CHECKPOINT_EVERY", "10")),
            webhook_allow_private=os.environ.get("PIXELMILL_WEBHOOK_ALLOW_PRIVATE", "0").strip().lower()
            in ("1", "true", "yes", "on"),
        )
