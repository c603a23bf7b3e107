"""Image delivery: ``GET /v1/images/{sha256}.png``.

Images are immutable and stored under their SHA-256 (DESIGN.md decision 7), so:

- the ETag is the strong validator ``"<sha256>"`` and ``If-None-Match`` with it answers 304;
- a public image is served to anyone with ``Cache-Control: public, max-age=31536000, immutable``
  (its URL is only learnt from a job view; the hash is not guessable);
- a stealth (private) image is served only to its owner, with ``Cache-Control: private, ...``;
  anyone else (or no credentials) gets the same 404 as for a missing image (no existence leak);
- quarantined (post-filter blocked) images live under another prefix and are never served.

Privacy index: the job store keeps images inside job rows. When the store offers
``image_owner(sha256)`` it is the truth. Otherwise :class:`PrivateImages` keeps a marker blob
``private/<sha256>.owner`` (the owner's user id), written *before* any job view shows the image's
URL to the owner: since the URL can only be learnt from such a view, an image is always marked
before anyone can ask for it.
"""

from __future__ import annotations

import re
import threading

from fastapi import Request, Response

from pixelmill.gateway.errors import not_found
from pixelmill.jobs import Job, JobState
from pixelmill.store.blobs import BlobStore, content_key
from pixelmill.store.jobstore import JobStore

SHA256 = re.compile(r"^[0-9a-f]{64}$")
PUBLIC_CACHE = "public, max-age=31536000, immutable"
PRIVATE_CACHE = "private, max-age=31536000, immutable"


class PrivateImages:
    """Who owns each stealth image (see the module docstring)."""

    def __init__(self, store: JobStore, blobs: BlobStore) -> None:
        self.store = store
        self.blobs = blobs
        self._known: dict[str, str | None] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _marker(sha256: str) -> str:
        return f"private/{sha256}.owner"

    def mark(self, job: Job) -> None:
        """Record the owner of a private job's images (idempotent; call before showing URLs)."""
        if not job.private or job.state is not JobState.SUCCEEDED:
            return
        for img in job.images:
            with self._lock:
                if self._known.get(img.sha256) == job.user_id:
                    continue
            if not self.blobs.exists(self._marker(img.sha256)):
                self.blobs.put(self._marker(img.sha256), job.user_id.encode())
            with self._lock:
                self._known[img.sha256] = job.user_id

    def owner(self, sha256: str) -> str | None:
        """The owner's user id for a private image, None for a public one."""
        lookup = getattr(self.store, "image_owner", None)
        if lookup is not None:
            found = lookup(sha256)
            return found[0] if found and found[1] else None
        with self._lock:
            if sha256 in self._known:
                return self._known[sha256]
        try:
            owner: str | None = self.blobs.get(self._marker(sha256)).decode()
        except KeyError:
            owner = None
        with self._lock:
            if len(self._known) > 100_000:
                self._known.clear()
            self._known[sha256] = owner
        return owner

    def forget(self, sha256: str) -> None:
        self.blobs.delete(self._marker(sha256))
        with self._lock:
            self._known.pop(sha256, None)


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    for tag in (t.strip() for t in if_none_match.split(",")):
        if tag == "*" or tag.removeprefix("W/") == etag:
            return True
    return False


def serve_image(request: Request, name: str, user_id: str | None, blobs: BlobStore,
                private: PrivateImages) -> Response:
    """The response for ``/v1/images/{name}``; ``user_id`` is the caller (None if anonymous)."""
    sha256 = name.removesuffix(".png")
    if not name.endswith(".png") or not SHA256.match(sha256):
        raise not_found("image")
    owner = private.owner(sha256)
    if owner is not None and owner != user_id:
        raise not_found("image")
    etag = f'"{sha256}"'
    headers = {"ETag": etag, "Cache-Control": PRIVATE_CACHE if owner else PUBLIC_CACHE}
    if owner:
        headers["Vary"] = "Authorization, Cookie"
    if _matches(request.headers.get("if-none-match"), etag):
        if not blobs.exists(content_key(sha256)):
            raise not_found("image")
        return Response(status_code=304, headers=headers)
    try:
        data = blobs.get(content_key(sha256))
    except KeyError:
        raise not_found("image") from None
    return Response(content=data, media_type="image/png", headers=headers)
