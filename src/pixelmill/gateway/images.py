"""Image delivery: ``GET /v1/images/{sha256}.png``.

Images are immutable and stored under their SHA-256 (DESIGN.md decision 7), so:

- the ETag is the strong validator ``"<sha256>"`` and ``If-None-Match`` with it answers 304;
- a public image is served to anyone with ``Cache-Control: public, max-age=31536000, immutable``
  (its URL is only learnt from a job view; the hash is not guessable);
- a stealth (private) image is served only to its owner, with ``Cache-Control: private, ...``;
  anyone else (or no credentials) gets the same 404 as for a missing image (no existence leak);
- quarantined (post-filter blocked) images live under another prefix and are never served.

Who owns an image is the job store's answer (``image_owner``: the job rows that produced it), so
every gateway of a fleet agrees and a deleted job's images stop being served at once.
"""

from __future__ import annotations

import re

from fastapi import Request, Response

from pixelmill.gateway.errors import not_found
from pixelmill.store.blobs import BlobStore, content_key
from pixelmill.store.jobstore import JobStore

SHA256 = re.compile(r"^[0-9a-f]{64}$")
PUBLIC_CACHE = "public, max-age=31536000, immutable"
PRIVATE_CACHE = "private, max-age=31536000, immutable"


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    for tag in (t.strip() for t in if_none_match.split(",")):
        if tag == "*" or tag.removeprefix("W/") == etag:
            return True
    return False


def serve_image(request: Request, name: str, user_id: str | None, blobs: BlobStore,
                store: JobStore) -> Response:
    """The response for ``/v1/images/{name}``; ``user_id`` is the caller (None if anonymous)."""
    sha256 = name.removesuffix(".png")
    if not name.endswith(".png") or not SHA256.match(sha256):
        raise not_found("image")
    found = store.image_owner(sha256)
    owner = found[0] if found and found[1] else None
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
