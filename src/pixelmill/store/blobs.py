"""Blob storage: immutable bytes under string keys.

Contract of every :class:`BlobStore`:

- ``put(key, data)`` writes atomically: a reader sees the old bytes, the new bytes, or nothing,
  never a torn file.
- ``get(key)`` returns the bytes or raises :class:`KeyError`.
- Keys are ``/``-separated relative paths of ``[A-Za-z0-9._-]`` segments; anything else raises
  :class:`ValueError` (so a key can never escape the store's root).
- ``put_content(data, suffix)`` stores bytes under their SHA-256 (``images/<sha256><suffix>``)
  and returns the hex digest; storing the same bytes twice is a no-op.

Implementations: :class:`LocalBlobStore` here (embedded default); S3 in ``store/s3.py``.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol, runtime_checkable

_KEY = re.compile(r"^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$")


def check_key(key: str) -> str:
    """Return ``key`` if it is a valid blob key, else raise ValueError saying why."""
    if not _KEY.match(key) or any(part in {".", ".."} for part in key.split("/")):
        raise ValueError(f"invalid blob key {key!r}: use '/'-separated segments of [A-Za-z0-9._-]")
    return key


def content_key(digest: str, suffix: str = ".png") -> str:
    """The key an image with this SHA-256 hex digest is stored under."""
    return f"images/{digest}{suffix}"


@runtime_checkable
class BlobStore(Protocol):
    def put(self, key: str, data: bytes) -> None: ...
    def get(self, key: str) -> bytes: ...
    def exists(self, key: str) -> bool: ...
    def delete(self, key: str) -> None: ...
    def list(self, prefix: str = "") -> Iterator[str]: ...

    def put_content(self, data: bytes, suffix: str = ".png") -> str: ...


def put_content(store: BlobStore, data: bytes, suffix: str = ".png") -> str:
    """Store ``data`` in ``store`` under :func:`content_key` of its SHA-256 unless it is there
    already; return the hex digest (every store's ``put_content``)."""
    digest = hashlib.sha256(data).hexdigest()
    key = content_key(digest, suffix)
    if not store.exists(key):
        store.put(key, data)
    return digest

class LocalBlobStore:
    """Blobs as files under ``root``; writes go to a temp file then ``os.replace``."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise KeyError(key) from None

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def list(self, prefix: str = "") -> Iterator[str]:
        """Keys starting with ``prefix``, sorted. Walks only the folder the prefix names (its
        part up to the last ``/``), not the whole store: listing one job's checkpoints stays cheap
        however many images the store holds."""
        folder, _, _ = prefix.rpartition("/")
        base = self.root / check_key(folder) if folder else self.root
        if not base.is_dir():
            return
        for path in sorted(base.rglob("*")):
            if path.is_file() and not path.name.startswith(".tmp-"):
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    yield key

    def put_content(self, data: bytes, suffix: str = ".png") -> str:
        return put_content(self, data, suffix)
