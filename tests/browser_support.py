"""Shared parts of the real-browser tests: Debian's Chromium under Playwright, and a live gateway.

``BROWSER_MARKS`` is the ``pytestmark`` of every browser test module (skipped where
``/usr/bin/chromium`` is missing); such a module names this one in ``pytest_plugins`` for the
``browser`` fixture (one headless Chromium per module, from :func:`launch_chromium`).
``live_site`` runs the gateway with its embedded worker on a free loopback port; ``save_shot``
writes a screenshot under ``artifacts/web/`` (gitignored; CI keeps them).

PYTEST_DONT_REWRITE: no asserts here, and the test modules import this one before pytest loads it
as their plugin (which would otherwise warn that it cannot rewrite it).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from pixelmill.config import Settings
from pixelmill.gateway.app import create_app
from pixelmill.gateway.live import LiveServer
from pixelmill.safety.prefilter import PreFilter
from pixelmill.tiers import Policy

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "web"
BLOCK_WORD = "zzforbiddenzz"

BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium "
                       "(apt-get install chromium; .ci/run installs it)"),
]


@contextmanager
def live_site(tmp: Path, policy: Policy) -> Iterator[dict[str, Any]]:
    """Serve the gateway (SQLite store, file blobs, embedded worker) from ``tmp`` under ``policy``.

    The pre-filter blocks ``BLOCK_WORD`` as violence_gore. Yields ``url``, ``gw`` (the gateway),
    and the signed-up pro ``user`` named "local" with its API ``key``; stops the server on exit.
    """
    rules = tmp / "rules.txt"
    rules.write_text(f"{BLOCK_WORD}\tviolence_gore\n")
    settings = Settings(database_url=f"sqlite:///{tmp / 'db.sqlite'}", blob_url=f"file://{tmp / 'blobs'}",
                        events_url="memory://")
    app = create_app(settings, start_worker=True, policy=policy,
                     prefilter=PreFilter.default(embedding=False, rules_path=rules))
    gw = app.state.gateway
    user, key = gw.store.create_user("local", "pro")
    with LiveServer(app) as server:
        yield {"url": server.url, "gw": gw, "user": user, "key": key}


@contextmanager
def launch_chromium() -> Iterator[Any]:
    """Launch headless Chromium from ``CHROMIUM`` (no sandbox, GPU, background traffic); close it on exit."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run",
                  "--disable-dev-shm-usage"],
        )
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium (see :func:`launch_chromium`) for the test module."""
    with launch_chromium() as b:
        yield b


def save_shot(page: Any, name: str) -> None:
    """Screenshot the page's viewport to ``ARTIFACTS/<name>.png``."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=False)
