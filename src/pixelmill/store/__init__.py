"""Storage behind small Protocols: jobs (SQLite, PostgreSQL), blobs (local, S3), events (memory, Redis).

Open them from URLs (``config.Settings``: ``PIXELMILL_DATABASE_URL``, ``PIXELMILL_BLOB_URL``,
``PIXELMILL_EVENTS_URL``, ``PIXELMILL_S3_ENDPOINT``):

- :func:`open_job_store`: ``sqlite:///PATH`` (embedded default) or ``postgresql://...``
- :func:`open_blob_store`: ``file:///PATH`` or a plain path (embedded default), ``s3://BUCKET[/PREFIX]``
- :func:`open_event_bus`: ``memory://`` (embedded default) or ``redis://HOST:PORT/DB``
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from pixelmill.store.blobs import BlobStore, LocalBlobStore
from pixelmill.store.events import EventBus, MemoryEventBus
from pixelmill.store.jobstore import JobStore
from pixelmill.tiers import Policy


def open_job_store(url: str, policy: Policy | None = None) -> JobStore:
    """A job store for ``url``; unknown schemes raise ValueError listing the valid ones."""
    if url.startswith("sqlite:///"):
        from pixelmill.store.sqlite import SqliteJobStore

        return SqliteJobStore(url[len("sqlite:///"):], policy)  # sqlite:////abs or sqlite:///rel
    if url.startswith(("postgresql://", "postgres://")):
        from pixelmill.store.postgres import PostgresJobStore

        return PostgresJobStore(url, policy)
    raise ValueError(f"database URL {url!r}: use sqlite:///PATH or postgresql://USER@HOST:PORT/DB")


def open_blob_store(url: str, s3_endpoint: str | None = None) -> BlobStore:
    """A blob store for ``url`` (``s3_endpoint``: an S3-compatible server's URL)."""
    parsed = urlparse(url)
    if parsed.scheme in ("", "file"):
        return LocalBlobStore(Path(parsed.path if parsed.scheme else url))
    if parsed.scheme == "s3":
        from pixelmill.store.s3 import S3BlobStore

        return S3BlobStore(parsed.netloc, prefix=parsed.path, endpoint_url=s3_endpoint,
                           create_bucket=s3_endpoint is not None)
    raise ValueError(f"blob URL {url!r}: use file:///PATH or s3://BUCKET[/PREFIX]")


def open_event_bus(url: str) -> EventBus:
    """An event bus for ``url``."""
    if url in ("", "memory://"):
        return MemoryEventBus()
    if url.startswith(("redis://", "rediss://", "unix://")):
        from pixelmill.store.redis_events import RedisEventBus

        return RedisEventBus(url)
    raise ValueError(f"events URL {url!r}: use memory:// or redis://HOST:PORT/DB")


__all__ = ["BlobStore", "EventBus", "JobStore", "open_blob_store", "open_event_bus", "open_job_store"]
