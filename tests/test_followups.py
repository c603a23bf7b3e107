"""Follow-up geometry, masks and compositing (pure numpy/PIL, no model)."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from pixelmill import followups as fu
from pixelmill.followups import FollowUp, FollowUpError


def parent_image(w: int = 64, h: int = 48, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def generated_like(prep: fu.Prepared, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (prep.height, prep.width, 3), dtype=np.uint8)


def png_bytes(arr: np.ndarray, mode: str | None = None) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr, mode).save(buf, "PNG") if mode else Image.fromarray(arr).save(buf, "PNG")
    return buf.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def double(img: np.ndarray) -> np.ndarray:  # stands in for Real-ESRGAN where only sizes matter
    return np.repeat(np.repeat(img, 2, axis=0), 2, axis=1)


# --- upscale / vary / reroll ---------------------------------------------------------------


def test_upscale_subtle_is_the_upscaler_output_without_engine() -> None:
    img = parent_image()
    prep = fu.prepare(FollowUp("upscale_subtle"), img, upscale=double)
    assert (prep.width, prep.height) == (128, 96) and not prep.engine
    assert np.array_equal(prep.init_image, double(img))


def test_upscale_creative_runs_low_strength_img2img_at_2x() -> None:
    prep = fu.prepare(FollowUp("upscale_creative"), parent_image(), upscale=double)
    assert prep.engine and prep.mask is None
    assert (prep.width, prep.height) == (128, 96) and prep.init_image.shape == (96, 128, 3)
    assert 0 < prep.strength < fu.STRENGTH["vary_subtle"]


def test_upscale_with_real_esrgan_has_exact_dimensions() -> None:
    prep = fu.prepare(FollowUp("upscale_subtle"), parent_image(40, 24))
    assert prep.init_image.shape == (48, 80, 3)


def test_vary_strengths_order_and_whole_image_composite() -> None:
    img = parent_image()
    subtle = fu.prepare(FollowUp("vary_subtle"), img)
    strong = fu.prepare(FollowUp("vary_strong"), img)
    assert 0 < subtle.strength < strong.strength < 1
    assert np.array_equal(subtle.init_image, img) and subtle.mask is None
    gen = generated_like(subtle)
    assert np.array_equal(fu.composite(subtle, gen), gen)
    assert FollowUp("vary_subtle").n_images() == 4 and FollowUp("reroll").n_images(2) == 2


def test_kinds_and_remix() -> None:
    assert FollowUp("upscale_creative").kind == "upscale"
    assert FollowUp("vary_region", rects=((0, 0, 1, 1),)).kind == "vary"
    assert FollowUp("reroll").kind == "reroll"
    assert FollowUp("reroll", prompt="a red fox").kind == "remix"
    assert FollowUp("zoom_out", prompt="a fox").is_remix


# --- vary region ---------------------------------------------------------------------------


def test_vary_region_rects_keep_everything_outside_identical() -> None:
    img = parent_image()
    spec = FollowUp("vary_region", rects=((10, 5, 30, 25), (40, 30, 64, 48)))
    prep = fu.prepare(spec, img)
    assert prep.mask is not None and prep.mask.sum() == 20 * 20 + 24 * 18
    out = fu.composite(prep, generated_like(prep))
    outside = prep.mask == 0
    assert np.array_equal(out[outside], img[outside])
    assert not np.array_equal(out[10:20, 15:25], img[10:20, 15:25])  # the region did change


def test_vary_region_png_mask_alpha_and_grey() -> None:
    img = parent_image()
    rgba = np.zeros((48, 64, 4), dtype=np.uint8)
    rgba[8:16, 8:24, :] = 255  # an opaque brush stroke on a transparent canvas
    spec = FollowUp("vary_region", mask_png_b64=b64(png_bytes(rgba, "RGBA")))
    prep = fu.prepare(spec, img)
    assert prep.mask.sum() == 8 * 16
    canonical, size = fu.check_against_parent(spec, 64, 48)
    assert size == (64, 48) and len(canonical.mask_png_b64) < len(spec.mask_png_b64)
    assert np.array_equal(fu.prepare(canonical, img).mask, prep.mask)  # same mask, 1-bit PNG
    grey = np.zeros((48, 64), dtype=np.uint8)
    grey[0:4, 0:4] = 255
    m = fu.mask_from_png(png_bytes(grey, "L"), 64, 48)
    assert m.sum() == 16 and m[0, 0] and not m[5, 5]


@pytest.mark.parametrize(("rects", "message"), [
    (((0, 0, 65, 10),), "0 <= x0 < x1 <= 64"),
    (((5, 5, 5, 10),), "0 <= x0 < x1"),
    (((-1, 0, 4, 4),), "rects\\[0\\]"),
])
def test_bad_rects_are_refused(rects: tuple, message: str) -> None:
    with pytest.raises(FollowUpError, match=message):
        fu.prepare(FollowUp("vary_region", rects=rects), parent_image())


def test_mask_png_of_wrong_size_or_empty_or_garbage_is_refused() -> None:
    def spec(data: bytes) -> FollowUp:
        return FollowUp("vary_region", mask_png_b64=b64(data))

    with pytest.raises(FollowUpError, match="mask is 10x10 but the image is 64x48"):
        fu.check_against_parent(spec(png_bytes(np.full((10, 10), 255, np.uint8), "L")), 64, 48)
    with pytest.raises(FollowUpError, match="empty"):
        fu.check_against_parent(spec(png_bytes(np.zeros((48, 64), np.uint8), "L")), 64, 48)
    with pytest.raises(FollowUpError, match="not a readable PNG"):
        fu.check_against_parent(spec(b"not a png"), 64, 48)


# --- zoom out ------------------------------------------------------------------------------


@pytest.mark.parametrize("zoom", [1.5, 2.0, 1.25])
def test_zoom_out_centre_equals_shrunk_parent(zoom: float) -> None:
    img = parent_image(64, 48)
    prep = fu.prepare(FollowUp("zoom_out", zoom=zoom), img)
    x0, y0, x1, y1 = prep.keep_box
    assert (prep.width, prep.height) == (64, 48)
    assert (x1 - x0, y1 - y0) == (round(64 / zoom), round(48 / zoom))
    assert abs((x0 + x1) / 2 - 32) <= 0.5 and abs((y0 + y1) / 2 - 24) <= 0.5  # centred
    out = fu.composite(prep, generated_like(prep))
    assert np.array_equal(out[y0:y1, x0:x1], fu.shrink(img, x1 - x0, y1 - y0))
    border = prep.mask.astype(bool)
    assert border.sum() == 64 * 48 - (x1 - x0) * (y1 - y0)
    assert not np.array_equal(out[0:2], prep.init_image[0:2])  # the border is generated


@pytest.mark.parametrize("zoom", [1.0, 2.5, float("nan")])
def test_zoom_out_out_of_range(zoom: float) -> None:
    with pytest.raises(FollowUpError, match="zoom must be greater than 1 and at most 2"):
        FollowUp("zoom_out", zoom=zoom).validate()


# --- pan -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("direction", "size", "box"), [
    ("right", (96, 48), (0, 0, 64, 48)),
    ("left", (96, 48), (32, 0, 96, 48)),
    ("down", (64, 72), (0, 0, 64, 48)),
    ("up", (64, 72), (0, 24, 64, 72)),
])
def test_pan_keeps_the_untouched_side(direction: str, size: tuple[int, int], box: tuple) -> None:
    img = parent_image(64, 48)
    prep = fu.prepare(FollowUp("pan", direction=direction), img)
    assert (prep.width, prep.height) == size and prep.keep_box == box
    x0, y0, x1, y1 = box
    out = fu.composite(prep, generated_like(prep))
    assert np.array_equal(out[y0:y1, x0:x1], img)
    assert prep.mask[y0:y1, x0:x1].sum() == 0 and prep.mask.sum() == size[0] * size[1] - 64 * 48


def test_pan_fraction_rounds_to_the_model_multiple_and_caps_size() -> None:
    spec = FollowUp("pan", direction="right", fraction=0.1)
    assert spec.output_size(64, 48, multiple=8) == (72, 48)  # 64 + ceil(6.4) = 71 -> 72
    with pytest.raises(FollowUpError, match="2048 px limit"):
        FollowUp("pan", direction="up", fraction=1.0).output_size(512, 1536)
    with pytest.raises(FollowUpError, match="direction must be one of"):
        FollowUp("pan", direction="sideways").validate()


# --- the blend at the mask edge ------------------------------------------------------------


def test_blend_alpha_is_zero_outside_and_ramps_inside() -> None:
    mask = np.zeros((40, 40), dtype=np.float32)
    mask[10:30, 10:30] = 1
    alpha = fu.blend_alpha(mask, feather=4)
    assert (alpha[mask == 0] == 0).all()
    assert alpha[10, 20] == pytest.approx(1 / 5) and alpha[11, 20] == pytest.approx(2 / 5)
    assert alpha[14, 20] == 1.0 and alpha[20, 20] == 1.0
    edge = np.zeros((20, 20), dtype=np.float32)
    edge[:, :5] = 1  # touches the canvas edge: no ramp there, only towards the kept side
    a = fu.blend_alpha(edge, feather=4)
    assert a[10, 0] == 1.0 and a[10, 4] == pytest.approx(1 / 5)


def test_composite_rejects_wrong_size() -> None:
    prep = fu.prepare(FollowUp("zoom_out"), parent_image())
    with pytest.raises(ValueError, match="expected 64x48"):
        fu.composite(prep, np.zeros((10, 10, 3), np.uint8))


# --- API bodies ----------------------------------------------------------------------------


def test_parse_body_round_trips_and_decodes_mask() -> None:
    mask = png_bytes(np.full((48, 64), 255, np.uint8), "L")
    spec = fu.parse_body({"action": "vary_region", "index": 2, "prompt": "a cat",
                          "mask_png_b64": "data:image/png;base64," + b64(mask)})
    assert base64.b64decode(spec.mask_png_b64) == mask and spec.index == 2 and spec.prompt == "a cat"
    assert FollowUp.from_dict(spec.to_dict()) == spec
    spec2 = fu.parse_body({"action": "vary_region", "rects": [[0, 0, 4, 4]]})
    assert FollowUp.from_dict(spec2.to_dict()) == spec2


@pytest.mark.parametrize(("body", "message"), [
    ({"action": "explode"}, "unknown action 'explode'"),
    ({"index": 0}, "action is required"),
    ({"action": "pan", "direction": "left", "zoom": 2}, "zoom does not apply to pan"),
    ({"action": "vary_region"}, "exactly one of rects or mask_png_b64"),
    ({"action": "vary_region", "rects": [[0, 0, 1]]}, "4 integers"),
    ({"action": "vary_subtle", "index": -1}, "non-negative"),
    ({"action": "vary_subtle", "colour": 1}, "unknown field"),
    ({"action": "vary_region", "mask_png_b64": "%%%"}, "not valid base64"),
    ({"action": "reroll", "prompt": "  "}, "edited prompt"),
    ({"action": "upscale_subtle", "prompt": "a fox"}, "does not apply to upscale_subtle"),
])
def test_parse_body_errors_say_what_to_fix(body: dict, message: str) -> None:
    with pytest.raises(FollowUpError, match=message):
        fu.parse_body(body)


# --- the worker's plan ---------------------------------------------------------------------


class _Blobs:
    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}

    def get(self, key: str) -> bytes:
        return self.data[key]


def _followup_job(blobs: _Blobs, spec: FollowUp, parent: np.ndarray, size: tuple[int, int],
                  n_images: int = 4) -> object:
    from pixelmill.jobs import Job

    sha = "ab" * 32
    blobs.data[f"images/{sha}.png"] = png_bytes(parent)
    return Job(id="f" * 32, user_id="u", tier="pro", mode="fast", lane="pro", prompt="a fox",
               params={"settings": {"prompt": "a fox", "guidance_scale": 7.5}, "followup": spec.to_dict(),
                       "parent_image": {"sha256": sha, "width": parent.shape[1], "height": parent.shape[0]}},
               kind=spec.kind, steps=20, step_budget=30, n_images=n_images, seed=100,
               width=size[0], height=size[1], parent_job_id="p" * 32, parent_image_index=0, attempt=1)


def test_worker_plan_of_vary_runs_fewer_steps_when_subtle() -> None:
    blobs, img = _Blobs(), parent_image()
    plans = {a: fu.plan_followup(_followup_job(blobs, FollowUp(a), img, (64, 48)), blobs)
             for a in ("vary_subtle", "vary_strong")}
    subtle, strong = plans["vary_subtle"].request, plans["vary_strong"].request
    assert 0 < subtle.steps_to_run() < strong.steps_to_run() < 20
    assert np.array_equal(subtle.init_image, img) and subtle.mask is None
    assert subtle.seeds == [100, 101, 102, 103]


def test_worker_plan_of_zoom_composites_and_checks_the_job_size() -> None:
    blobs, img = _Blobs(), parent_image()
    plan = fu.plan_followup(_followup_job(blobs, FollowUp("zoom_out"), img, (64, 48)), blobs)
    assert plan.request.mask is not None and plan.request.strength == 1.0
    out = np.asarray(plan.finish([Image.fromarray(generated_like(fu.prepare(FollowUp("zoom_out"), img)))])[0])
    x0, y0, x1, y1 = fu.zoom_geometry(64, 48, 2.0)
    assert np.array_equal(out[y0:y1, x0:x1], fu.shrink(img, x1 - x0, y1 - y0))
    with pytest.raises(ValueError, match="96x48"):
        fu.plan_followup(_followup_job(blobs, FollowUp("zoom_out"), img, (96, 48)), blobs)


def test_worker_plan_of_upscale_subtle_is_ready_without_engine() -> None:
    blobs, img = _Blobs(), parent_image(32, 24)
    plan = fu.plan_followup(_followup_job(blobs, FollowUp("upscale_subtle"), img, (64, 48), 1), blobs,
                            upscale=double)
    assert len(plan.images) == 1 and np.array_equal(np.asarray(plan.images[0]), double(img))
    assert plan.request.strength == 0.0 and len(plan.request.seeds) == 1  # the engine fallback


def test_worker_plan_of_a_deleted_parent_image_is_a_clear_error() -> None:
    blobs, img = _Blobs(), parent_image()
    job = _followup_job(blobs, FollowUp("vary_subtle"), img, (64, 48))
    blobs.data.clear()
    with pytest.raises(ValueError, match=r"parent image .* was deleted"):
        fu.plan_followup(job, blobs)


def test_gateway_side_never_loads_torch() -> None:
    import subprocess
    import sys

    code = ("import sys, pixelmill.followups, pixelmill.gateway.actions; "
            "sys.exit(1 if 'torch' in sys.modules else 0)")
    assert subprocess.run([sys.executable, "-c", code], timeout=120).returncode == 0
