"""Running the gateway: ``pixelmill serve`` and ``pixelmill users add``.

Embedded first start: a local ``pro`` user named ``local`` is created (its id is kept in
``$PIXELMILL_HOME/local_user.json``), and every embedded start prints a fresh one-time sign-in
link ``http://HOST:PORT/#signin=TOKEN`` that the web app exchanges for a session once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from pixelmill.config import Settings, home
from pixelmill.gateway.auth import SigninTokens
from pixelmill.jobs import UnknownUser
from pixelmill.store import open_job_store
from pixelmill.store.jobstore import JobStore, User
from pixelmill.tiers import Tier, load_policy


@dataclass(frozen=True)
class NewUser:
    user: User
    api_key: str

    def to_dict(self) -> dict[str, str]:
        return {"user": self.user.name, "id": self.user.id, "tier": self.user.tier, "api_key": self.api_key}


def add_user(name: str, tier: str, settings: Settings | None = None) -> NewUser:
    """Create an account; its API key is returned once (the store keeps only a hash)."""
    if not name.strip() or len(name) > 100:
        raise ValueError("NAME must be 1-100 characters")
    tier = Tier(tier).value
    settings = settings or Settings.from_env()
    store = open_job_store(settings.database_url, load_policy())
    try:
        user, key = store.create_user(name.strip(), tier)
    finally:
        store.close()
    return NewUser(user, key)


def local_user(store: JobStore) -> tuple[User, bool]:
    """The embedded deployment's local pro user, created on first start. Returns (user, created)."""
    path = home() / "local_user.json"
    try:
        user_id = json.loads(path.read_text())["user_id"]
        return store.get_user(user_id), False
    except (FileNotFoundError, KeyError, ValueError, UnknownUser):
        pass
    user, _key = store.create_user("local", Tier.PRO.value)
    path.write_text(json.dumps({"user_id": user.id}))
    return user, True


def signin_link(host: str, port: int, settings: Settings) -> tuple[str, bool]:
    """A fresh one-time sign-in link for the local user (and whether the user was just created)."""
    store = open_job_store(settings.database_url, load_policy())
    try:
        user, created = local_user(store)
    finally:
        store.close()
    token = SigninTokens(home() / "signin_tokens.json").issue(user.id)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    return f"http://{shown}:{port}/#signin={token}", created


def serve(host: str, port: int, *, worker: bool, log_level: str = "warning") -> None:
    """Run the gateway with uvicorn until interrupted (embedded worker thread if ``worker``)."""
    import uvicorn

    from pixelmill.gateway.app import create_app
    from pixelmill.observability import configure_logging

    configure_logging()
    settings = Settings.from_env()
    app = create_app(settings, start_worker=worker)
    print(f"pixelmill is serving at http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}",
          flush=True)
    if settings.database_url.startswith("sqlite:"):
        link, created = signin_link(host, port, settings)
        if created:
            print("Created the local pro user 'local'.", flush=True)
        print(f"Sign in (one-time link, open it in your browser): {link}", flush=True)
        print("More accounts: pixelmill users add NAME --tier free|paid|pro", flush=True)
    if not worker:
        print("No in-process worker (--no-worker): run `pixelmill worker` processes.", flush=True)
    # Open SSE streams must not hold a Ctrl+C hostage: give connections 3 s to finish.
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False, timeout_graceful_shutdown=3)
