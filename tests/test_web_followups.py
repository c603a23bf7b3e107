"""Follow-ups in a real browser: Playwright for Python driving Debian's Chromium, headless.

The gateway runs with its embedded worker and the default model on a loopback port. The test
clicks U1 and V1 on a grid and sees the results, then uses the detail view's follow-up panel
(web/followups.js): paints a region with the brush and varies it, and zooms out.
Screenshots go to ``artifacts/web/``.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from PIL import Image

from pixelmill.tiers import Policy
from tests.browser_support import BROWSER_MARKS, live_site, save_shot

pytestmark = BROWSER_MARKS
pytest_plugins = ["tests.browser_support"]  # the browser fixture


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with live_site(tmp_path_factory.mktemp("webfollowups"), Policy(ip_requests_per_hour=100_000)) as s:
        yield s


def shot(page: Any, name: str) -> None:
    save_shot(page, f"followups-{name}")


def pixels(site: dict[str, Any], url: str) -> np.ndarray:
    sha = url.rsplit("/", 1)[-1].removesuffix(".png")
    data = site["gw"].blobs.get(f"images/{sha}.png")
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def test_click_u_and_v_then_region_and_zoom(site: dict[str, Any], browser: Any) -> None:
    from playwright.sync_api import expect

    gw = site["gw"]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{site['url']}/#signin={gw.signin.issue(site['user'].id)}")
    expect(page.get_by_test_id("account-name")).to_have_text("local")
    prompt = page.get_by_test_id("prompt-input")
    prompt.fill("a lighthouse at dusk")
    prompt.press("Enter")
    grid = page.get_by_test_id("job-card").first
    expect(grid.get_by_test_id("job-image")).to_have_count(4, timeout=120_000)
    grid_id = grid.get_attribute("data-job-id")
    parent = gw.store.get(grid_id)

    # U1: a new card with one image, exactly twice the size.
    grid.get_by_test_id("action-upscale_subtle-1").click()
    upscaled = page.locator(f'[data-testid=job-card]:not([data-job-id="{grid_id}"])').first
    expect(upscaled.get_by_test_id("job-image")).to_have_count(1, timeout=120_000)
    up_job = gw.store.get(upscaled.get_attribute("data-job-id"))
    assert up_job.kind == "upscale" and up_job.parent_job_id == grid_id and up_job.parent_image_index == 0
    assert (up_job.images[0].width, up_job.images[0].height) == (2 * parent.width, 2 * parent.height)
    assert upscaled.get_by_test_id("job-image").evaluate("img => img.naturalWidth") == 2 * parent.width
    shot(page, "1-upscaled")

    # V1: four variations of image 1.
    grid = page.locator(f'[data-testid=job-card][data-job-id="{grid_id}"]')
    grid.get_by_test_id("action-vary_subtle-1").click()
    varied = page.locator(f'[data-testid=job-card]:not([data-job-id="{grid_id}"])'
                          f':not([data-job-id="{up_job.id}"])').first
    expect(varied.get_by_test_id("job-image")).to_have_count(4, timeout=120_000)
    v_job = gw.store.get(varied.get_attribute("data-job-id"))
    assert v_job.kind == "vary" and v_job.parent_job_id == grid_id
    shot(page, "2-varied")

    # Detail view of image 2 of the grid: paint a region and vary it.
    page.goto(f"{site['url']}/#/jobs/{grid_id}/1")
    expect(page.get_by_test_id("detail")).to_be_visible()
    panel = page.get_by_test_id("followups-panel")
    expect(panel).to_be_visible()
    page.get_by_test_id("brush-toggle").click()
    canvas = page.get_by_test_id("region-canvas")
    expect(canvas).to_be_visible()
    box = canvas.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.5)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.5, steps=8)
    page.mouse.up()
    shot(page, "3-brush")
    before = {c.id for c in gw.store.children(grid_id)}
    page.get_by_test_id("followup-vary_region").click()
    expect(page.get_by_test_id("followup-status")).to_contain_text("succeeded", timeout=120_000)
    region_job = next(c for c in gw.store.children(grid_id) if c.id not in before)
    assert region_job.kind == "vary" and region_job.params["followup"]["action"] == "vary_region"
    assert region_job.parent_image_index == 1
    original = pixels(site, f"/v1/images/{parent.images[1].sha256}.png")
    from pixelmill import followups as fu

    mask = fu.region_mask(fu.FollowUp.from_dict(region_job.params["followup"]), parent.width, parent.height)
    assert 0 < mask.mean() < 0.5  # the brush stroke, not the whole image
    for img in gw.store.get(region_job.id).images:
        out = pixels(site, f"/v1/images/{img.sha256}.png")
        assert np.array_equal(out[~mask], original[~mask])
    expect(page.get_by_test_id("detail-image")).to_be_visible()
    shot(page, "4-region-result")

    # Zoom out 2x from the grid's image 1, through the panel.
    page.goto(f"{site['url']}/#/jobs/{grid_id}/0")
    before = {c.id for c in gw.store.children(grid_id)}
    page.get_by_test_id("followup-zoom-2").click()
    expect(page.get_by_test_id("followup-status")).to_contain_text("succeeded", timeout=120_000)
    zoom_job = next(c for c in gw.store.children(grid_id) if c.id not in before)
    assert zoom_job.kind == "zoom" and gw.store.get(zoom_job.id).state.value == "succeeded"
    expect(page.get_by_test_id("detail-lineage")).to_contain_text("of image 1")
    shot(page, "5-zoomed")
    assert errors == []
    page.close()
