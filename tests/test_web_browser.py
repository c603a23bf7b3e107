"""The web app in a real browser: Playwright for Python driving Debian's Chromium, headless.

The gateway runs with its embedded worker and the default model, exactly as ``make serve`` does,
on a free loopback port. Screenshots go to ``artifacts/web/`` (gitignored; CI keeps them).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from pixelmill.jobs import JobRequest, JobState
from pixelmill.tiers import Policy, TierPolicy
from tests.browser_support import BLOCK_WORD, BROWSER_MARKS, live_site, save_shot

pytestmark = BROWSER_MARKS
pytest_plugins = ["tests.browser_support"]  # the browser fixture


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    base = Policy()
    tiers = dict(base.tiers)
    # Two submits a minute for the pro tier, so the test can reach the rate limit quickly.
    tiers["pro"] = TierPolicy(("draft", "fast", "relax", "turbo"), 80, 2, 6, 50, 4.0)
    with live_site(tmp_path_factory.mktemp("web"), Policy(tiers=tiers)) as s:
        yield s


def shot(page: Any, name: str) -> None:
    save_shot(page, name)


def test_sign_in_imagine_watch_progress_and_open_detail(site: dict[str, Any], browser: Any) -> None:
    from playwright.sync_api import expect

    gw = site["gw"]
    gw.limiter.reset()
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    token = gw.signin.issue(site["user"].id)
    page.goto(f"{site['url']}/#signin={token}")
    expect(page.get_by_test_id("account-name")).to_have_text("local")
    assert "signin=" not in page.url  # the one-time token leaves the address bar
    # Record every status a job card shows, to prove progress was visible before completion.
    page.evaluate("""() => {
        window.__statuses = [];
        new MutationObserver(() => {
            for (const c of document.querySelectorAll('[data-testid=job-card]')) {
                const s = c.dataset.status + (c.querySelector('[data-testid=job-progress]') ? '+bar' : '');
                if (window.__statuses.at(-1) !== s) window.__statuses.push(s);
            }
        }).observe(document.getElementById('feed'), {subtree: true, childList: true, attributes: true});
    }""")
    prompt = page.get_by_test_id("prompt-input")
    prompt.fill("a lighthouse at dusk")
    page.get_by_test_id("settings-toggle").click()
    page.get_by_test_id("setting-ar").select_option("3:2")
    expect(prompt).to_have_value("a lighthouse at dusk --ar 3:2")
    shot(page, "1-prompt-and-settings")
    prompt.press("Enter")
    card = page.get_by_test_id("job-card").first
    expect(card).to_be_visible(timeout=2000)
    images = card.get_by_test_id("job-image")
    expect(images).to_have_count(4, timeout=120_000)
    for i in range(4):
        assert images.nth(i).evaluate("img => img.complete && img.naturalWidth > 0")
    statuses: list[str] = page.evaluate("window.__statuses")
    assert statuses[-1] == "succeeded"
    assert any(s.endswith("+bar") for s in statuses), statuses  # a progress bar was shown
    shot(page, "2-grid")

    # Actions: enabled exactly when the server lists them as supported, else visibly disabled.
    supported = set(page.evaluate("fetch('/v1/capabilities').then(r => r.json()).then(c => c.actions)"))
    for action, testid in (("reroll", "action-reroll"), ("upscale_subtle", "action-upscale_subtle-1"),
                           ("vary_subtle", "action-vary_subtle-4")):
        button = card.get_by_test_id(testid)
        assert button.is_enabled() == (action in supported), action
        assert ("not supported" in (button.get_attribute("title") or "")) == (action not in supported)

    images.first.click()
    detail = page.get_by_test_id("detail")
    expect(detail).to_be_visible()
    expect(page.get_by_test_id("detail-prompt")).to_have_text("a lighthouse at dusk --ar 3:2")
    assert page.get_by_test_id("detail-seed").inner_text().isdigit()
    assert "ar: 3:2" in page.get_by_test_id("detail-params").inner_text()
    href = page.get_by_test_id("download-link").get_attribute("href") or ""
    assert href.startswith("/v1/images/") and href.endswith(".png")
    assert page.get_by_test_id("detail-image").evaluate("img => img.naturalWidth > 0")
    shot(page, "3-detail")
    page.keyboard.press("Escape")
    expect(detail).to_be_hidden()

    # Blocked prompt: a clear message, no job card.
    cards_before = page.get_by_test_id("job-card").count()
    prompt.fill(f"a {BLOCK_WORD} scene")
    prompt.press("Enter")
    notice = page.get_by_test_id("notice")
    expect(notice).to_be_visible()
    expect(notice).to_have_attribute("data-kind", "blocked")
    expect(notice).to_contain_text("Prompt blocked")
    assert page.get_by_test_id("job-card").count() == cards_before
    shot(page, "4-blocked")

    # Rate limit: the third submit in a minute (two per minute on this test's pro tier).
    prompt.fill("one more lighthouse")
    prompt.press("Enter")
    expect(notice).to_have_attribute("data-kind", "rate-limited")
    expect(notice).to_contain_text("Slow down")
    expect(notice).to_contain_text("try again in")
    expect(prompt).to_have_value("one more lighthouse")  # nothing the user typed is lost
    shot(page, "5-rate-limited")

    # History gallery with search.
    page.get_by_test_id("nav-history").click()
    expect(page.get_by_test_id("history-item")).to_have_count(1)
    page.get_by_test_id("history-search").fill("no such prompt")
    expect(page.get_by_test_id("history-item")).to_have_count(0)
    expect(page.get_by_test_id("history-status")).to_contain_text("No prompt matches")
    page.get_by_test_id("history-search").fill("lighthouse")
    expect(page.get_by_test_id("history-item")).to_have_count(1)
    shot(page, "6-history")
    assert errors == []
    page.close()


def test_phone_sized_sign_in_with_key_and_keyboard(site: dict[str, Any], browser: Any) -> None:
    from playwright.sync_api import expect

    # A job that failed in a worker: its card must say why.
    store = site["gw"].store
    failed = store.submit(JobRequest(user_id=site["user"].id, tier="pro", mode="fast", prompt="a doomed kite",
                                     model_id="broken-model", steps=10, step_budget=80))
    claimed = store.claim("test-worker", 1, "broken-model")
    store.fail(failed.id, claimed[0].attempt, "test-worker", "model_error",
               "the model produced NaNs at step 3", retryable=False)
    page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page.goto(site["url"] + "/")
    key_input = page.get_by_test_id("api-key-input")
    expect(key_input).to_be_visible()
    key_input.fill("pm_wrong")
    page.get_by_test_id("signin-button").click()
    expect(page.get_by_test_id("notice")).to_contain_text("Sign-in failed")
    key_input.fill(site["key"])
    key_input.press("Enter")
    expect(page.get_by_test_id("account-tier")).to_have_text("pro")
    # Keyboard: "/" focuses the prompt; parameter hints appear after "--".
    page.locator("body").click(position={"x": 5, "y": 300})
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "prompt-input"
    page.keyboard.type("a fox --s")
    expect(page.get_by_test_id("param-hint").first).to_contain_text("--s")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
    expect(page.get_by_test_id("job-card").first).to_be_visible()  # the feed shows earlier jobs
    failed_card = page.locator(f'[data-testid=job-card][data-job-id="{failed.id}"]')
    expect(failed_card).to_have_attribute("data-status", "failed")
    expect(failed_card.get_by_test_id("job-error")).to_have_text("the model produced NaNs at step 3")
    shot(page, "7-phone")

    # History: 30 more (cancelled) jobs; the gallery loads 24, then the rest on scrolling.
    for i in range(30):
        job = store.submit(JobRequest(user_id=site["user"].id, tier="pro", mode="fast",
                                      prompt=f"old sketch {i}", model_id="not-served", steps=10,
                                      step_budget=80))
        store.cancel(job.id)
    # Every job of the user, whichever tests of this module ran before (the other one adds one).
    total = store.count_user_jobs(site["user"].id, [s.value for s in JobState])
    assert total >= 31  # 30 sketches and the failed kite
    page.get_by_test_id("nav-history").click()
    items = page.get_by_test_id("history-item")
    expect(items).to_have_count(24)
    items.last.scroll_into_view_if_needed()
    page.mouse.wheel(0, 5000)
    expect(items).to_have_count(total)
    expect(page.get_by_test_id("history-status")).to_contain_text(f"{total} jobs")
    page.close()
