"""Follow-ups over real HTTP with the default model and a real worker (issue 8).

The gateway runs under uvicorn on a loopback port; a :class:`pixelmill.worker.Worker` with the
default model is stepped by the test (``drive``) so every run is deterministic and bounded.
Images are fetched back over HTTP and measured.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from pixelmill import followups as fu
from pixelmill.config import Settings
from pixelmill.gateway.app import GatewayOptions, create_app
from pixelmill.gateway.live import LiveServer
from pixelmill.gateway.state import Gateway
from pixelmill.jobs import JobRequest, JobState
from pixelmill.models.upscale import upscale2x
from pixelmill.safety.prefilter import PreFilter
from pixelmill.tiers import Policy
from pixelmill.worker import Worker

BLOCK_WORD = "zzforbiddenzz"
PROMPT = "a lighthouse on a cliff at dusk"


@dataclass
class Env:
    server: LiveServer
    gw: Gateway
    client: httpx.Client
    settings: Settings
    worker: Worker

    def user(self, name: str = "alice", tier: str = "pro") -> dict[str, str]:
        _, key = self.gw.store.create_user(name, tier)
        return {"Authorization": f"Bearer {key}"}

    def new_worker(self, name: str, **kw: Any) -> Worker:
        return Worker.from_settings(self.settings, store=self.gw.store, blobs=self.gw.blobs, bus=self.gw.bus,
                                    worker_id=name, post_filter=None, max_batch=8, **kw)

    def drive(self, job_id: str, worker: Worker | None = None, max_iterations: int = 3000) -> dict[str, Any]:
        """Step the worker until the job is finished; return its JSON (over HTTP)."""
        worker = worker or self.worker
        for _ in range(max_iterations):
            if self.gw.store.get(job_id).state.finished:
                break
            worker.run_once()
        job = self.gw.store.get(job_id)
        assert job.state.finished, f"job {job_id} still {job.state} after {max_iterations} iterations"
        return self.job(job_id)

    def job(self, job_id: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
        r = self.client.get(f"/v1/jobs/{job_id}", headers=headers or self.alice)
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    def image(self, url: str) -> np.ndarray:
        r = self.client.get(url, headers=self.alice)
        assert r.status_code == 200, r.text
        return np.asarray(Image.open(io.BytesIO(r.content)).convert("RGB"))

    def action(self, job_id: str, headers: dict[str, str] | None = None, **body: Any) -> httpx.Response:
        return self.client.post(f"/v1/jobs/{job_id}/actions", json=body, headers=headers or self.alice)

    def run_action(self, job_id: str, **body: Any) -> dict[str, Any]:
        r = self.action(job_id, **body)
        assert r.status_code == 202, r.text
        done = self.drive(r.json()["id"])
        assert done["status"] == "succeeded", done
        return done

    alice: dict[str, str] = None  # type: ignore[assignment]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    tmp = tmp_path_factory.mktemp("followups")
    rules = tmp / "rules.txt"
    rules.write_text(f"{BLOCK_WORD}\tviolence_gore\n")
    settings = Settings(database_url=f"sqlite:///{tmp / 'db.sqlite'}", blob_url=f"file://{tmp / 'blobs'}",
                        events_url="memory://", checkpoint_every=2)
    policy = Policy(ip_requests_per_hour=100_000)
    # The gateway stamps jobs with the configured (default) model's id, which the worker claims.
    app = create_app(settings, start_worker=False, policy=policy,
                     prefilter=PreFilter.default(embedding=False, rules_path=rules),
                     options=GatewayOptions())
    with LiveServer(app) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        gw = app.state.gateway
        worker = Worker.from_settings(settings, store=gw.store, blobs=gw.blobs, bus=gw.bus,
                                      worker_id="w-main", post_filter=None, max_batch=8)
        e = Env(server, gw, client, settings, worker)
        e.alice = e.user("alice")
        yield e


@pytest.fixture(scope="module")
def grid(env: Env) -> dict[str, Any]:
    """A succeeded 2x2 grid of alice's: the parent of the follow-ups below."""
    r = env.client.post("/v1/imagine", json={"prompt": PROMPT}, headers=env.alice)
    assert r.status_code == 202, r.text
    job = env.drive(r.json()["id"])
    assert job["status"] == "succeeded" and len(job["images"]) == 4
    return job


def parent_pixels(env: Env, grid: dict[str, Any], index: int) -> np.ndarray:
    return env.image(next(i["url"] for i in grid["images"] if i["index"] == index))


def test_upscale_subtle_is_exactly_2x_and_the_real_esrgan_result(env: Env, grid: dict[str, Any]) -> None:
    done = env.run_action(grid["id"], action="upscale_subtle", index=1)
    parent = parent_pixels(env, grid, 1)
    h, w = parent.shape[:2]
    assert done["kind"] == "upscale" and len(done["images"]) == 1
    img = done["images"][0]
    assert (img["width"], img["height"]) == (2 * w, 2 * h)
    out = env.image(img["url"])
    assert out.shape == (2 * h, 2 * w, 3)
    assert np.array_equal(out, upscale2x(parent))  # no diffusion: the upscaler's pixels
    assert done["parent"] == {"id": grid["id"], "index": 1}


def test_upscale_creative_adds_detail_at_2x(env: Env, grid: dict[str, Any]) -> None:
    done = env.run_action(grid["id"], action="upscale_creative", index=0)
    parent = parent_pixels(env, grid, 0)
    out = env.image(done["images"][0]["url"])
    assert out.shape == (2 * parent.shape[0], 2 * parent.shape[1], 3)
    subtle = upscale2x(parent)
    assert not np.array_equal(out, subtle)  # the img2img pass changed it


def test_vary_subtle_and_strong_make_four_new_images(env: Env, grid: dict[str, Any]) -> None:
    # How far each strays from the parent depends on the model (the tiny random-weight model has
    # no faithful autoencoder); the strengths themselves are checked in test_followups.py.
    parent = parent_pixels(env, grid, 2)
    for action in ("vary_subtle", "vary_strong"):
        done = env.run_action(grid["id"], action=action, index=2)
        assert done["kind"] == "vary" and len(done["images"]) == 4 and done["params"]["action"] == action
        assert len({i["seed"] for i in done["images"]}) == 4 and done["seed"] != grid["seed"]
        for info in done["images"]:
            img = env.image(info["url"])
            assert img.shape == parent.shape and not np.array_equal(img, parent)


def test_vary_region_keeps_every_pixel_outside_the_mask(env: Env, grid: dict[str, Any]) -> None:
    parent = parent_pixels(env, grid, 3)
    h, w = parent.shape[:2]
    rect = [w // 4, h // 4, w // 2 + 4, h // 2 + 4]
    done = env.run_action(grid["id"], action="vary_region", index=3, rects=[rect], prompt=PROMPT + ", storm")
    mask = fu.mask_from_rects([tuple(rect)], w, h)  # type: ignore[list-item]
    changed = 0
    for info in done["images"]:
        out = env.image(info["url"])
        assert np.array_equal(out[~mask], parent[~mask])
        changed += int(np.any(out[mask] != parent[mask]))
    assert changed == 4
    assert done["prompt"].endswith("storm")


def test_vary_region_with_a_brush_png(env: Env, grid: dict[str, Any]) -> None:
    import base64

    parent = parent_pixels(env, grid, 0)
    h, w = parent.shape[:2]
    yy, xx = np.mgrid[:h, :w]
    brush = ((yy - h / 2) ** 2 + (xx - w / 3) ** 2) < (min(h, w) / 5) ** 2
    rgba = np.zeros((h, w, 4), np.uint8)
    rgba[brush] = 255
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, "PNG")
    done = env.run_action(grid["id"], action="vary_region", index=0,
                          mask_png_b64="data:image/png;base64," + base64.b64encode(buf.getvalue()).decode())
    for info in done["images"]:
        out = env.image(info["url"])
        assert np.array_equal(out[~brush], parent[~brush])


@pytest.mark.parametrize("zoom", [2.0, 1.5])
def test_zoom_out_keeps_the_parent_in_the_centre(env: Env, grid: dict[str, Any], zoom: float) -> None:
    parent = parent_pixels(env, grid, 1)
    h, w = parent.shape[:2]
    done = env.run_action(grid["id"], action="zoom_out", index=1, zoom=zoom)
    assert done["kind"] == "zoom" and done["params"]["zoom"] == zoom
    x0, y0, x1, y1 = fu.zoom_geometry(w, h, zoom)
    small = fu.shrink(parent, x1 - x0, y1 - y0).astype(np.int64)
    for info in done["images"]:
        out = env.image(info["url"]).astype(np.int64)
        assert out.shape == parent.shape
        # Measure where the shrunk parent lies: the offset with the smallest difference.
        errs = {(dx, dy): np.abs(out[dy:dy + small.shape[0], dx:dx + small.shape[1]] - small).sum()
                for dy in range(h - small.shape[0] + 1) for dx in range(w - small.shape[1] + 1)}
        best = min(errs, key=errs.__getitem__)
        assert errs[best] == 0
        cx, cy = best[0] + small.shape[1] / 2, best[1] + small.shape[0] / 2
        assert abs(cx - w / 2) <= 0.5 and abs(cy - h / 2) <= 0.5
        border = np.ones((h, w), bool)
        border[y0:y1, x0:x1] = False
        assert out[border].std() > 0  # the border was generated, not left blank


@pytest.mark.parametrize("direction", ["right", "up"])
def test_pan_keeps_the_untouched_side(env: Env, grid: dict[str, Any], direction: str) -> None:
    parent = parent_pixels(env, grid, 2)
    h, w = parent.shape[:2]
    done = env.run_action(grid["id"], action="pan", index=2, direction=direction)
    for info in done["images"]:
        out = env.image(info["url"])
        if direction == "right":
            assert out.shape == (h, w + w // 2, 3)
            assert np.array_equal(out[:, :w], parent)
        else:
            assert out.shape == (h + h // 2, w, 3)
            assert np.array_equal(out[h // 2:], parent)


def test_reroll_and_remix(env: Env, grid: dict[str, Any]) -> None:
    done = env.run_action(grid["id"], action="reroll", index=0)
    assert done["kind"] == "reroll" and done["prompt"] == PROMPT and done["seed"] != grid["seed"]
    assert done["step_budget"] == env.gw.policy.tier("pro").step_budget  # the tier's, as for any job
    assert len(done["images"]) == 4
    remix = env.run_action(grid["id"], action="reroll", prompt="a red fox in snow")
    assert remix["kind"] == "remix" and remix["prompt"] == "a red fox in snow"
    parent = env.job(grid["id"])
    kids = {c["id"]: c["kind"] for c in parent["children"]}
    assert kids[done["id"]] == "reroll" and kids[remix["id"]] == "remix"


def test_remix_prompt_is_screened(env: Env, grid: dict[str, Any]) -> None:
    before = len(env.job(grid["id"])["children"])
    r = env.action(grid["id"], action="vary_subtle", index=0, prompt=f"a {BLOCK_WORD} scene")
    assert r.status_code == 400 and r.json()["error"]["code"] == "prompt_blocked"
    assert len(env.job(grid["id"])["children"]) == before  # nothing queued


def test_refused_followups(env: Env, grid: dict[str, Any]) -> None:
    bob = env.user("bob")
    r = env.action(grid["id"], headers=bob, action="upscale_subtle", index=0)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    # blocked and failed parents (made the way a worker ends them)
    store = env.gw.store
    for end in ("block", "fail"):
        job = env.client.post("/v1/imagine", json={"prompt": PROMPT}, headers=env.alice).json()["id"]
        claimed = store.claim("w-test", 50, store.get(job).model_id)
        for other in claimed:
            if other.id != job:
                store.release(other.id, other.attempt, "w-test")
        mine = next(j for j in claimed if j.id == job)
        if end == "block":
            from pixelmill.jobs import JobTimings

            store.block(job, mine.attempt, "w-test", "sexual", "blocked", [], JobTimings(), 0.0)
        else:
            store.fail(job, mine.attempt, "w-test", "error", "boom", retryable=False)
        r = env.action(job, action="vary_subtle", index=0)
        assert r.status_code == 409, r.text
        err = r.json()["error"]
        assert err["code"] == "parent_not_succeeded"
        assert err["state"] == ("blocked" if end == "block" else "failed")
    bad = [
        ({"action": "vary_subtle", "index": 7}, 400, "bad_index"),
        ({"action": "zoom_out", "index": 0, "zoom": 3}, 400, "invalid_followup"),
        ({"action": "pan", "index": 0, "direction": "diagonal"}, 400, "invalid_followup"),
        ({"action": "vary_region", "index": 0, "rects": [[0, 0, 999, 4]]}, 400, "invalid_followup"),
        ({"action": "teleport", "index": 0}, 400, "invalid_followup"),
    ]
    for body, status, code in bad:
        r = env.action(grid["id"], **body)
        assert r.status_code == status, (body, r.text)
        assert r.json()["error"]["code"] == code, (body, r.text)
    # an image deleted from the blob store (e.g. by an operator): a clear 404, nothing queued
    job = env.client.post("/v1/imagine", json={"prompt": PROMPT}, headers=env.alice).json()["id"]
    done = env.drive(job)
    env.gw.blobs.delete(f"images/{done['images'][2]['url'].rsplit('/', 1)[-1]}")
    r = env.action(job, action="vary_subtle", index=2)
    assert r.status_code == 404 and r.json()["error"]["code"] == "image_not_found"
    assert env.job(job)["children"] == []
    # a missing (e.g. deleted) job looks the same as another user's
    r = env.action("0" * 32, action="reroll")
    assert r.status_code == 404


CRASH_CASES = {
    "vary_region": {"rects": [[8, 8, 40, 40]]},
    "zoom_out": {"zoom": 1.5},
    "upscale_creative": {},
}


@pytest.mark.parametrize("action", list(CRASH_CASES))
def test_followup_survives_a_worker_crash(env: Env, grid: dict[str, Any], action: str) -> None:
    """Worker A runs a follow-up part way (checkpoints every 2 steps) and dies without a word; its
    lease expires; worker B resumes it from the checkpoint. The result equals an uninterrupted
    run of the same job, the parent's pixels are kept where the action keeps them, and A's late
    writes change nothing. (tests/test_followups_crash.py does the same with SIGKILLed processes.)"""
    r = env.action(grid["id"], action=action, index=1, **CRASH_CASES[action])
    assert r.status_code == 202
    job_id = r.json()["id"]
    clock = [1_000_000_000.0]
    a = env.new_worker("w-crash", clock=lambda: clock[0])
    for _ in range(200):
        a.run_once()
        if env.gw.store.get(job_id).checkpoints:
            break
    job = env.gw.store.get(job_id)
    assert job.state is JobState.RUNNING and job.checkpoints, "worker A should have checkpointed"
    # A is killed here: no release, no heartbeat. Time passes beyond its lease.
    ticks = iter(range(10**9))
    b = env.new_worker("w-rescue", clock=lambda: clock[0] + 120 + 0.25 * next(ticks))  # time moves on
    done = env.drive(job_id, worker=b)
    assert done["status"] == "succeeded" and env.gw.store.get(job_id).attempt == 2
    # The same job run uninterrupted (same row, a fresh id) gives the same images.
    fresh = {f.name: getattr(job, f.name) for f in fields(JobRequest) if hasattr(job, f.name)}
    fresh["idempotency_key"] = None
    twin_done = env.drive(env.gw.store.submit(JobRequest(**fresh)).id)
    parent = parent_pixels(env, grid, 1)
    h, w = parent.shape[:2]
    for mine, ref in zip(done["images"], twin_done["images"], strict=True):
        x, y = env.image(mine["url"]), env.image(ref["url"])
        assert np.abs(x.astype(int) - y.astype(int)).max() <= 2
        if action == "vary_region":
            mask = fu.mask_from_rects([(8, 8, 40, 40)], w, h)
            assert np.array_equal(x[~mask], parent[~mask])
        elif action == "zoom_out":
            x0, y0, x1, y1 = fu.zoom_geometry(w, h, 1.5)
            assert np.array_equal(x[y0:y1, x0:x1], fu.shrink(parent, x1 - x0, y1 - y0))
        else:
            assert x.shape == (2 * h, 2 * w, 3)
    # The zombie wakes up: whatever it writes is refused; the job keeps B's images.
    images_before = [i["url"] for i in env.job(job_id)["images"]]
    for _ in range(50):
        a.run_once()
    assert [i["url"] for i in env.job(job_id)["images"]] == images_before


def test_lineage_in_job_json(env: Env, grid: dict[str, Any]) -> None:
    child = env.run_action(grid["id"], action="pan", index=3, direction="left")
    assert child["parent"] == {"id": grid["id"], "index": 3}
    assert {"id": child["id"], "kind": "pan", "status": "succeeded"} in env.job(grid["id"])["children"]
    grandchild = env.run_action(child["id"], action="upscale_subtle", index=0)
    assert grandchild["parent"]["id"] == child["id"]
    assert grandchild["images"][0]["width"] == 2 * child["images"][0]["width"]


def test_wrong_size_mask_png_is_a_clear_400(env: Env, grid: dict[str, Any], tmp_path: Path) -> None:
    import base64

    buf = io.BytesIO()
    Image.new("L", (10, 10), 255).save(buf, "PNG")
    r = env.action(grid["id"], action="vary_region", index=0,
                   mask_png_b64=base64.b64encode(buf.getvalue()).decode())
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["code"] == "invalid_followup" and "10x10" in err["message"] and err["field"] == "mask_png_b64"


def test_cli_action_over_http_waits_and_downloads(env: Env, grid: dict[str, Any], tmp_path: Path) -> None:
    import json
    import threading

    from click.testing import CliRunner

    from pixelmill.cli import main

    key = env.alice["Authorization"].removeprefix("Bearer ")
    stop = threading.Event()

    def work() -> None:  # the server's worker, stepped while the CLI waits
        while not stop.is_set():
            if not env.worker.run_once():
                stop.wait(0.05)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    try:
        result = CliRunner().invoke(main, ["action", grid["id"], "pan", "--index", "0", "--direction", "down",
                                           "--url", env.server.url, "--key", key, "--wait",
                                           "--out", str(tmp_path), "--json"])
    finally:
        stop.set()
        thread.join(timeout=30)
    assert result.exit_code == 0, result.output
    job = json.loads(result.output)
    assert job["kind"] == "pan" and job["status"] == "succeeded" and job["parent"]["id"] == grid["id"]
    parent = parent_pixels(env, grid, 0)
    for img in job["images"]:
        out = np.asarray(Image.open(img["path"]).convert("RGB"))
        assert np.array_equal(out[: parent.shape[0]], parent)  # pan down keeps the top
    bad = CliRunner().invoke(main, ["action", grid["id"], "zoom_out", "--zoom", "5", "--url", env.server.url,
                                    "--key", key])
    assert bad.exit_code != 0 and "zoom must be greater than 1 and at most 2" in bad.output
