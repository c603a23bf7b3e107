"""Who is calling: API keys, browser sessions and one-time sign-in links.

Credentials, in order:

1. ``Authorization: Bearer KEY`` — an API key from ``pixelmill users add``. A malformed
   ``Authorization`` header is a 401 that says the expected form (never silently ignored).
2. The ``pixelmill_session`` cookie, set by ``POST /v1/session`` from an API key or a one-time
   sign-in token. The cookie is ``user_id.expires.hmac`` signed with the server secret (stateless,
   so every gateway that shares ``PIXELMILL_SECRET`` accepts it), ``HttpOnly`` and
   ``SameSite=Strict``. A cookie-authenticated request that changes state must also carry the
   ``X-Pixelmill-Client`` header, which a cross-site form cannot send (CSRF guard).

The tier always comes from the stored user, never from the request.

Sign-in tokens (:class:`SigninTokens`) are random, stored hashed in a small JSON file under
``$PIXELMILL_HOME`` and redeemed at most once; they serve the embedded, single-machine start
(``make serve`` prints a link). Multi-machine deployments hand out API keys instead.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from fastapi import Request

from pixelmill.gateway.errors import ApiError
from pixelmill.jobs import UnknownUser
from pixelmill.store.jobstore import JobStore, User

SESSION_COOKIE = "pixelmill_session"
CLIENT_HEADER = "X-Pixelmill-Client"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_KEY_CHARS = 256


def load_secret(root: Path) -> bytes:
    """The server secret: ``$PIXELMILL_SECRET`` if set, else ``root/gateway_secret`` (created once,
    mode 0600). It signs session cookies and derives users' webhook secrets."""
    env = os.environ.get("PIXELMILL_SECRET")
    if env:
        return env.encode()
    path = root / "gateway_secret"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: the stored ``user`` and how it proved it (``key`` or ``session``)."""

    user: User
    via: str


class Authenticator:
    """Turns request credentials into a :class:`Principal` or a 401.

    ``cache_ttl_s``: API-key lookups are cached this long (a submit then costs no extra store
    round trip); :meth:`forget` drops a user's cached keys at once (data deletion, tier change).
    """

    def __init__(self, store: JobStore, secret: bytes, *, session_ttl_s: float = 30 * 86400,
                 cache_ttl_s: float = 5.0) -> None:
        self.store = store
        self.secret = secret
        self.session_ttl_s = session_ttl_s
        self.cache_ttl_s = cache_ttl_s
        self._cache: dict[str, tuple[User, float]] = {}
        self._lock = threading.Lock()

    # --- API keys ----------------------------------------------------------------------------
    def user_for_key(self, key: str) -> User:
        """The user owning ``key`` or a 401."""
        if not key or len(key) > MAX_KEY_CHARS or not key.isascii():
            raise ApiError(401, "unauthorized", "invalid API key")
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None and hit[1] > now:
            return hit[0]
        user = self.store.user_by_api_key(key)
        if user is None:
            raise ApiError(401, "unauthorized", "invalid API key; create one with `pixelmill users add`")
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[key] = (user, now + self.cache_ttl_s)
        return user

    def cached_user_for_key(self, key: str) -> User | None:
        """The user owning ``key`` if a fresh lookup of it is cached, else None (no I/O, so an
        async caller can skip a thread hop; on None call :meth:`user_for_key`)."""
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(key)
        return hit[0] if hit is not None and hit[1] > now else None

    def forget(self, user_id: str) -> None:
        with self._lock:
            for key in [k for k, (u, _) in self._cache.items() if u.id == user_id]:
                del self._cache[key]

    # --- sessions ------------------------------------------------------------------------------
    def _mac(self, user_id: str, expires: int) -> str:
        msg = f"session:{user_id}:{expires}".encode()
        digest = hmac.new(self.secret, msg, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def session_cookie(self, user_id: str, now: float | None = None) -> str:
        expires = int((time.time() if now is None else now) + self.session_ttl_s)
        return f"{user_id}.{expires}.{self._mac(user_id, expires)}"

    def user_for_session(self, cookie: str, now: float | None = None) -> User:
        parts = cookie.split(".")
        if len(parts) != 3 or not parts[1].isdigit():
            raise ApiError(401, "unauthorized", "invalid session; sign in again")
        user_id, expires_s, mac = parts
        expires = int(expires_s)
        if not hmac.compare_digest(mac, self._mac(user_id, expires)):
            raise ApiError(401, "unauthorized", "invalid session; sign in again")
        if expires < (time.time() if now is None else now):
            raise ApiError(401, "unauthorized", "session expired; sign in again")
        try:
            return self.store.get_user(user_id)
        except UnknownUser:
            raise ApiError(401, "unauthorized", "invalid session; sign in again") from None

    # --- the request -----------------------------------------------------------------------------
    @staticmethod
    def _bearer(header: str) -> str:
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "unauthorized", "malformed Authorization header; use 'Bearer KEY'",
                           headers={"WWW-Authenticate": "Bearer"})
        return token.strip()

    def cached_principal(self, request: Request) -> Principal | None:
        """The caller of ``request`` when that needs no store round trip (an API key looked up
        within ``cache_ttl_s``), raising :meth:`authenticate`'s 401 for a malformed header; None
        when :meth:`authenticate` must be called (it may block on the store)."""
        header = request.headers.get("authorization")
        if header is None:
            return None
        user = self.cached_user_for_key(self._bearer(header))
        return None if user is None else Principal(user, "key")

    def authenticate(self, request: Request) -> Principal:
        """The caller of ``request`` or an :class:`ApiError` 401/403."""
        header = request.headers.get("authorization")
        if header is not None:
            return Principal(self.user_for_key(self._bearer(header)), "key")
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie:
            user = self.user_for_session(cookie)
            if request.method not in SAFE_METHODS and CLIENT_HEADER.lower() not in request.headers:
                raise ApiError(403, "forbidden",
                               f"a session-authenticated {request.method} needs the {CLIENT_HEADER} header")
            return Principal(user, "session")
        raise ApiError(401, "unauthorized", "missing credentials: send 'Authorization: Bearer KEY'",
                       headers={"WWW-Authenticate": "Bearer"})


class SigninTokens:
    """One-time sign-in tokens kept hashed in ``path`` (JSON), each redeemable once before it
    expires. Thread-safe within one process (the embedded server)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def _load(self) -> dict[str, dict[str, float | str]]:
        try:
            return json.loads(self.path.read_text())
        except (FileNotFoundError, ValueError):
            return {}

    def _save(self, data: dict[str, dict[str, float | str]]) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)

    def issue(self, user_id: str, ttl_s: float = 86400.0) -> str:
        """A fresh token for ``user_id`` (returned once; only its hash is stored)."""
        token = secrets.token_urlsafe(24)
        now = time.time()
        with self._lock:
            data = {h: v for h, v in self._load().items() if float(v["expires"]) > now}
            data[hashlib.sha256(token.encode()).hexdigest()] = {"user_id": user_id, "expires": now + ttl_s}
            self._save(data)
        return token

    def redeem(self, token: str) -> str | None:
        """The user id the token was issued for, consuming it; None if unknown, used or expired."""
        digest = hashlib.sha256(token.encode()).hexdigest()
        with self._lock:
            data = self._load()
            entry = data.pop(digest, None)
            if entry is None:
                return None
            self._save(data)
        if float(entry["expires"]) < time.time():
            return None
        return str(entry["user_id"])
