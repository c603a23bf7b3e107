"""Follow-ups: what each action on a finished image means as pixels, masks and engine settings.

A follow-up is a new job that points at one image of a parent job (``parent_job_id``,
``parent_image_index``). Most of this module is pure (numpy + PIL, no torch, no I/O): the
gateway uses it to validate a request and size the new job (:func:`parse_body`,
:func:`check_against_parent`), the worker to turn the parent's pixels into the engine's
``init_image`` / ``mask`` / ``strength`` (:func:`prepare`) and to composite the result
(:func:`composite`). The last section, the worker's side (:func:`worker_planners`,
:func:`plan_followup`), reads the parent PNG from the blob store and builds the worker's plan;
it imports the engine and the worker lazily, so importing this module never loads torch.

Actions (``ACTIONS``); ``W x H`` is the parent image's size, ``m`` the model's size multiple:

==================  ======================================================================
``upscale_subtle``  2x with Real-ESRGAN (:mod:`pixelmill.models.upscale`); no diffusion, no
                    new content; result ``2W x 2H``; one image.
``upscale_creative`` the subtle upscale, then img2img at ``2W x 2H`` with strength
                    ``STRENGTH["upscale_creative"]`` (adds detail); one image.
``vary_subtle``     img2img of the parent at ``W x H``, low strength, four new seeds.
``vary_strong``     the same with a high strength.
``vary_region``     masked denoising: the mask (a PNG or rectangles, in parent pixels) is
                    regenerated, everything else is the parent's pixels, exactly.
``zoom_out``        zoom ``z`` in (1, 2] (buttons: 1.5 and 2): the result keeps the parent's
                    size ``W x H``; the parent, shrunk (Lanczos) to ``round(W/z) x round(H/z)``,
                    sits in the centre (offset ``((W-w')//2, (H-h')//2)``); the border is
                    generated. The centre equals the shrunk parent exactly.
``pan``             ``direction`` left/right/up/down, ``fraction`` f in (0, 1] (default 0.5):
                    the canvas grows on that side by ``f`` of the side, rounded up so the new
                    side is a multiple of ``m``; the parent is kept pixel for pixel on the
                    other side; the new strip is generated.
``reroll``          the parent job's prompt and parameters again with a new seed.
==================  ======================================================================

Remix: any action with an edited ``prompt``; the new text replaces the parent's (the gateway
screens it with the pre-filter like any prompt). A remixed reroll has job kind ``remix``.

Mask-edge blend (:func:`blend_alpha`, :func:`composite`): after decoding, every result of a
masked action (vary region, zoom out, pan) is pasted back over the init canvas with an alpha
that is exactly 0 outside the mask, so those pixels are IDENTICAL to the parent (or to the shrunk
parent). Inside the mask, alpha is ``min(1, d / (F + 1))`` with ``d`` the chessboard distance
to the nearest kept pixel (1 on the pixels touching it), so it reaches 1 at ``d = F + 1``; the
feather ``F = clamp(min(W, H) // 16, 1, 8)`` (4 px at 64 px, 8 px at 512 px). In that band the
generated pixels are mixed with the init canvas (the parent's old pixels for vary region, the
edge-replicated parent for zoom and pan) so the seam does not show. The canvas border is not a
seam: a mask that touches the image edge is fully generated there.
"""

from __future__ import annotations

import base64
import binascii
import functools
import io
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
from PIL import Image

from pixelmill.images import as_rgb_array

ACTIONS: tuple[str, ...] = (
    "upscale_subtle", "upscale_creative", "vary_subtle", "vary_strong",
    "vary_region", "zoom_out", "pan", "reroll",
)
DIRECTIONS: tuple[str, ...] = ("left", "right", "up", "down")
KIND_OF_ACTION: dict[str, str] = {
    "upscale_subtle": "upscale", "upscale_creative": "upscale",
    "vary_subtle": "vary", "vary_strong": "vary", "vary_region": "vary",
    "zoom_out": "zoom", "pan": "pan", "reroll": "reroll",
}
"""The job ``kind`` (``pixelmill.jobs.KINDS``) each action is recorded as."""

STRENGTH: dict[str, float] = {
    "upscale_creative": 0.3,
    "vary_subtle": 0.45,
    "vary_strong": 0.8,
    "vary_region": 1.0,
    "zoom_out": 1.0,
    "pan": 1.0,
}
"""img2img strength per action (share of the schedule that runs; 1 = the masked area starts
from pure noise). Actions not listed do not use img2img."""

DEFAULT_ZOOM = 2.0
DEFAULT_PAN_FRACTION = 0.5
MAX_SIDE = 2048
"""No follow-up may produce an image side longer than this (pan and upscale grow the canvas)."""
MAX_MASK_PNG_BYTES = 4 * 1024 * 1024
MAX_RECTS = 64

Rect = tuple[int, int, int, int]


class FollowUpError(ValueError):
    """A follow-up that cannot be done; the message says what to fix (fit for a 4xx body).
    ``field``: the request field at fault, when there is one."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class FollowUp:
    """One requested follow-up action on image ``index`` of a parent job.

    - ``prompt``: an edited prompt (remix) or ``None`` to keep the parent's.
    - ``zoom``: for ``zoom_out``, in (1, 2]; ``None`` means :data:`DEFAULT_ZOOM`.
    - ``direction`` / ``fraction``: for ``pan``.
    - ``rects``: for ``vary_region``, half-open ``(x0, y0, x1, y1)`` boxes in parent pixels.
    - ``mask_png_b64``: for ``vary_region``, a mask PNG (base64; see :func:`mask_from_png`).
      :func:`check_against_parent` replaces an uploaded one by a canonical 1-bit PNG, small
      enough to live in the job's params (so it is durable and deleted with the job).
    """

    action: str
    index: int = 0
    prompt: str | None = None
    zoom: float | None = None
    direction: str | None = None
    fraction: float | None = None
    rects: tuple[Rect, ...] | None = None
    mask_png_b64: str | None = field(default=None, repr=False)

    @property
    def kind(self) -> str:
        """The job kind: the action's kind; a reroll with an edited prompt is a ``remix``."""
        if self.action == "reroll" and self.prompt is not None:
            return "remix"
        return KIND_OF_ACTION[self.action]

    @property
    def is_remix(self) -> bool:
        return self.prompt is not None

    @property
    def uses_engine(self) -> bool:
        """False only for ``upscale_subtle`` (Real-ESRGAN alone)."""
        return self.action != "upscale_subtle"

    def validate(self) -> None:
        """Check the fields this action needs (no parent needed); raise :class:`FollowUpError`."""
        if self.action not in ACTIONS:
            raise FollowUpError(
                f"unknown action {self.action!r}; use one of {', '.join(ACTIONS)}", field="action")
        if isinstance(self.index, bool) or not isinstance(self.index, int) or self.index < 0:
            raise FollowUpError(f"index must be a non-negative integer, got {self.index!r}", field="index")
        if self.prompt is not None and (not isinstance(self.prompt, str) or not self.prompt.strip()):
            raise FollowUpError("prompt: give the edited prompt text, or leave it out to keep the "
                                "parent's", field="prompt")
        if self.action == "upscale_subtle" and self.prompt is not None:
            raise FollowUpError("prompt does not apply to upscale_subtle (it adds no new content); "
                                "use upscale_creative to upscale with an edited prompt", field="prompt")
        extras = {"zoom": self.zoom, "direction": self.direction, "fraction": self.fraction,
                  "rects": self.rects, "mask_png_b64": self.mask_png_b64}
        allowed = {"zoom_out": {"zoom"}, "pan": {"direction", "fraction"},
                   "vary_region": {"rects", "mask_png_b64"}}.get(self.action, set())
        for name, value in extras.items():
            if value is not None and name not in allowed:
                raise FollowUpError(f"{name} does not apply to {self.action}", field=name)
        if self.action == "zoom_out":
            z = self.zoom_factor
            if not math.isfinite(z) or not 1.0 < z <= 2.0:
                raise FollowUpError(f"zoom must be greater than 1 and at most 2, got {z}", field="zoom")
        if self.action == "pan":
            if self.direction not in DIRECTIONS:
                raise FollowUpError(
                    f"direction must be one of {', '.join(DIRECTIONS)}, got {self.direction!r}",
                    field="direction")
            f = self.pan_fraction
            if not math.isfinite(f) or not 0.0 < f <= 1.0:
                raise FollowUpError(f"fraction must be greater than 0 and at most 1, got {f}",
                                    field="fraction")
        if self.action == "vary_region":
            if (self.rects is None) == (self.mask_png_b64 is None):
                raise FollowUpError("vary_region needs exactly one of rects or mask_png_b64 "
                                    "(the region to regenerate)", field="rects")
            if self.rects is not None and not self.rects:
                raise FollowUpError("rects is empty: give at least one [x0, y0, x1, y1]", field="rects")
            if self.rects is not None and len(self.rects) > MAX_RECTS:
                raise FollowUpError(f"at most {MAX_RECTS} rects", field="rects")

    @property
    def zoom_factor(self) -> float:
        return DEFAULT_ZOOM if self.zoom is None else float(self.zoom)

    @property
    def pan_fraction(self) -> float:
        return DEFAULT_PAN_FRACTION if self.fraction is None else float(self.fraction)

    def output_size(self, width: int, height: int, multiple: int = 8) -> tuple[int, int]:
        """Size of the result for a parent of ``width x height``; raises :class:`FollowUpError`
        when it would exceed :data:`MAX_SIDE`."""
        if self.action.startswith("upscale"):
            size = (2 * width, 2 * height)
        elif self.action == "pan":
            horizontal = self.direction in ("left", "right")
            side = width if horizontal else height
            grown = _round_up(side + max(1, math.ceil(side * self.pan_fraction)), multiple)
            size = (grown, height) if horizontal else (width, grown)
        else:
            size = (width, height)
        if max(size) > MAX_SIDE:
            raise FollowUpError(
                f"{self.action} of a {width}x{height} image would make {size[0]}x{size[1]}, "
                f"beyond the {MAX_SIDE} px limit per side")
        return size

    def n_images(self, parent_n_images: int = 4) -> int:
        """Images the follow-up makes: 1 for an upscale, the parent's count for a reroll, else 4."""
        if self.action.startswith("upscale"):
            return 1
        if self.action == "reroll":
            return parent_n_images
        return 4

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (kept in the job's ``params["followup"]``); :meth:`from_dict` reverses it."""
        data = asdict(self)
        if self.rects is not None:
            data["rects"] = [list(r) for r in self.rects]
        return {k: v for k, v in data.items() if v is not None}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FollowUp:
        rects = data.get("rects")
        return cls(
            action=data["action"], index=int(data.get("index", 0)), prompt=data.get("prompt"),
            zoom=data.get("zoom"), direction=data.get("direction"), fraction=data.get("fraction"),
            rects=None if rects is None else tuple(tuple(int(v) for v in r) for r in rects),  # type: ignore[misc]
            mask_png_b64=data.get("mask_png_b64"),
        )


def parse_body(body: Mapping[str, Any]) -> FollowUp:
    """Read an API body ``{"action", "index", "prompt"?, "zoom"?, "direction"?, "fraction"?,
    "mask_png_b64"?, "rects"?}`` into a validated :class:`FollowUp` (a ``data:`` URL prefix on the
    mask is accepted). Raises :class:`FollowUpError`. The parent-dependent checks are
    :func:`check_against_parent`'s."""
    if not isinstance(body, Mapping):
        raise FollowUpError("the body must be a JSON object")
    known = {"action", "index", "prompt", "zoom", "direction", "fraction", "mask_png_b64", "rects"}
    unknown = sorted(set(body) - known)
    if unknown:
        raise FollowUpError(f"unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}",
                            field=unknown[0])
    action = body.get("action")
    if not isinstance(action, str):
        raise FollowUpError(f"action is required, one of {', '.join(ACTIONS)}", field="action")
    index = body.get("index", 0)
    if isinstance(index, bool) or not isinstance(index, int):
        raise FollowUpError(f"index must be an integer, got {index!r}", field="index")
    for name in ("zoom", "fraction"):
        value = body.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise FollowUpError(f"{name} must be a number, got {value!r}", field=name)
    for name in ("prompt", "direction", "mask_png_b64"):
        value = body.get(name)
        if value is not None and not isinstance(value, str):
            raise FollowUpError(f"{name} must be a string", field=name)
    mask_b64: str | None = body.get("mask_png_b64")
    if mask_b64 is not None:
        if mask_b64.startswith("data:"):  # a canvas.toDataURL() string
            mask_b64 = mask_b64.split(",", 1)[-1]
        if len(mask_b64) > MAX_MASK_PNG_BYTES * 4 // 3 + 4:
            raise FollowUpError(f"mask_png_b64 is larger than {MAX_MASK_PNG_BYTES} bytes",
                                field="mask_png_b64")
        _b64decode(mask_b64)
    spec = FollowUp(
        action=action, index=index, prompt=body.get("prompt"),
        zoom=None if body.get("zoom") is None else float(body["zoom"]),
        direction=body.get("direction"),
        fraction=None if body.get("fraction") is None else float(body["fraction"]),
        rects=_parse_rects(body.get("rects")), mask_png_b64=mask_b64,
    )
    spec.validate()
    return spec


def _b64decode(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise FollowUpError("mask_png_b64 is not valid base64", field="mask_png_b64") from None


def _parse_rects(raw: object) -> tuple[Rect, ...] | None:
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise FollowUpError("rects must be a list of [x0, y0, x1, y1]", field="rects")
    out: list[Rect] = []
    for item in raw:
        if (not isinstance(item, list) or len(item) != 4
                or any(isinstance(v, bool) or not isinstance(v, int) for v in item)):
            raise FollowUpError(f"each rect must be 4 integers [x0, y0, x1, y1], got {item!r}", field="rects")
        out.append((item[0], item[1], item[2], item[3]))
    return tuple(out)


# --- masks -----------------------------------------------------------------------------------


def mask_from_rects(rects: Sequence[Rect], width: int, height: int) -> np.ndarray:
    """Boolean ``HxW`` mask (True = regenerate) from half-open rectangles in image pixels.

    Each rect must satisfy ``0 <= x0 < x1 <= width`` and ``0 <= y0 < y1 <= height``."""
    mask = np.zeros((height, width), dtype=bool)
    for i, (x0, y0, x1, y1) in enumerate(rects):
        if not (0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height):
            raise FollowUpError(
                f"rects[{i}] = [{x0}, {y0}, {x1}, {y1}] must satisfy 0 <= x0 < x1 <= {width} and "
                f"0 <= y0 < y1 <= {height} (the parent image is {width}x{height})", field="rects")
        mask[y0:y1, x0:x1] = True
    return mask


def mask_from_png(data: bytes, width: int, height: int) -> np.ndarray:
    """Boolean ``HxW`` mask from a PNG of exactly ``width x height``: with an alpha channel a
    pixel is masked where alpha >= 128 (a brush on a transparent canvas), otherwise where its
    grey level >= 128 (white = regenerate). Must not be empty."""
    if len(data) > MAX_MASK_PNG_BYTES:
        raise FollowUpError(f"the mask PNG is larger than {MAX_MASK_PNG_BYTES} bytes", field="mask_png_b64")
    try:
        img = Image.open(io.BytesIO(data))
        if img.format != "PNG":
            raise FollowUpError(f"the mask must be a PNG, got {img.format}", field="mask_png_b64")
        img.load()
    except FollowUpError:
        raise
    except Exception as exc:  # PIL raises many types for corrupt files
        raise FollowUpError(f"the mask is not a readable PNG ({exc})", field="mask_png_b64") from None
    if img.size != (width, height):
        raise FollowUpError(
            f"the mask is {img.width}x{img.height} but the image is {width}x{height}; paint the mask "
            "at the image's size", field="mask_png_b64")
    if "A" in img.getbands() or (img.mode == "P" and "transparency" in img.info):
        values = np.asarray(img.convert("RGBA"))[..., 3]
    else:
        values = np.asarray(img.convert("L"))
    return values >= 128


def region_mask(spec: FollowUp, width: int, height: int) -> np.ndarray:
    """The validated, non-empty boolean region mask of a ``vary_region`` follow-up."""
    if spec.rects is not None:
        mask = mask_from_rects(spec.rects, width, height)
    elif spec.mask_png_b64 is not None:
        mask = mask_from_png(_b64decode(spec.mask_png_b64), width, height)
    else:
        raise FollowUpError("vary_region needs rects or mask_png_b64", field="rects")
    if not mask.any():
        raise FollowUpError("the region mask is empty: paint the area to regenerate", field="mask_png_b64")
    return mask


def mask_to_png(mask: np.ndarray) -> bytes:
    """A boolean mask as a canonical 1-bit PNG (white = regenerate)."""
    buf = io.BytesIO()
    Image.fromarray(np.asarray(mask, dtype=bool)).convert("1").save(buf, "PNG", optimize=True)
    return buf.getvalue()


def check_against_parent(spec: FollowUp, width: int, height: int,
                         multiple: int = 8) -> tuple[FollowUp, tuple[int, int]]:
    """Everything the gateway can check before queueing, given the parent image's size: the
    action's fields, the region mask (size, non-empty), the output size limit. Returns the spec
    to store (an uploaded mask replaced by its canonical 1-bit PNG) and the output size."""
    spec.validate()
    if spec.action == "vary_region":
        mask = region_mask(spec, width, height)
        if spec.mask_png_b64 is not None:
            spec = replace(spec, mask_png_b64=base64.b64encode(mask_to_png(mask)).decode())
    return spec, spec.output_size(width, height, multiple)


# --- geometry --------------------------------------------------------------------------------


@dataclass
class Prepared:
    """What the engine needs for a follow-up, and what :func:`composite` needs afterwards.

    - ``init_image``: uint8 ``HxWx3`` at ``width x height`` (the canvas: parent, shrunk parent
      or extended parent, with the area to generate filled by edge replication).
    - ``mask``: float ``HxW``, 1 = regenerate (binary), or ``None`` for a whole-image action.
    - ``strength``: img2img strength (``None`` when the engine is not used).
    - ``keep_box``: ``(x0, y0, x1, y1)`` where the parent (or shrunk parent) lies in the canvas,
      for zoom and pan; ``None`` otherwise.
    - ``engine``: False for ``upscale_subtle`` (``init_image`` IS the result).
    """

    action: str
    init_image: np.ndarray = field(repr=False)
    width: int
    height: int
    mask: np.ndarray | None = field(default=None, repr=False)
    strength: float | None = None
    keep_box: Rect | None = None
    engine: bool = True


Upscale = Callable[[np.ndarray], np.ndarray]


def prepare(spec: FollowUp, parent: np.ndarray | Image.Image, *, multiple: int = 8,
            upscale: Upscale | None = None, size: tuple[int, int] | None = None) -> Prepared:
    """Turn the parent image into the engine's inputs for ``spec`` (see the module docstring).

    ``upscale``: the 2x upscaler (default :func:`pixelmill.models.upscale.upscale2x`).
    ``size``: the output size recorded in the job (the worker passes it so the geometry is the
    one the gateway validated); raises :class:`FollowUpError` when it disagrees with ``spec``.
    ``reroll`` has no image inputs: it returns the parent as ``init_image`` with
    ``strength=None`` and the caller runs the parent's text-to-image request with a new seed."""
    spec.validate()
    img = as_rgb_array(parent, "parent image")
    h, w = img.shape[:2]
    action = spec.action
    if action.startswith("upscale"):
        if upscale is None:
            from pixelmill.models.upscale import upscale2x as upscale
        big = upscale(img)
        if big.shape[:2] != (2 * h, 2 * w):
            raise RuntimeError(f"the upscaler returned {big.shape}, expected {(2 * h, 2 * w, 3)}")
        if action == "upscale_subtle":
            return Prepared(action, big, 2 * w, 2 * h, engine=False)
        return Prepared(action, big, 2 * w, 2 * h, strength=STRENGTH[action])
    if action in ("vary_subtle", "vary_strong"):
        return Prepared(action, img, w, h, strength=STRENGTH[action])
    if action == "reroll":
        return Prepared(action, img, w, h)
    if action == "vary_region":
        mask = region_mask(spec, w, h)
        return Prepared(action, img, w, h, mask=mask.astype(np.float32), strength=STRENGTH[action])
    if action == "zoom_out":
        return _zoom_out(img, spec.zoom_factor)
    return _pan(img, spec, multiple, size)


def zoom_geometry(width: int, height: int, zoom: float) -> Rect:
    """Where the shrunk parent lies in a zoom-out result of the parent's size: ``(x0, y0, x1, y1)``."""
    iw, ih = max(1, round(width / zoom)), max(1, round(height / zoom))
    x0, y0 = (width - iw) // 2, (height - ih) // 2
    return (x0, y0, x0 + iw, y0 + ih)


def _zoom_out(img: np.ndarray, zoom: float) -> Prepared:
    h, w = img.shape[:2]
    x0, y0, x1, y1 = zoom_geometry(w, h, zoom)
    small = shrink(img, x1 - x0, y1 - y0)
    canvas = np.pad(small, ((y0, h - y1), (x0, w - x1), (0, 0)), mode="edge")
    mask = np.ones((h, w), dtype=np.float32)
    mask[y0:y1, x0:x1] = 0.0
    return Prepared("zoom_out", canvas, w, h, mask=mask, strength=STRENGTH["zoom_out"],
                    keep_box=(x0, y0, x1, y1))


def shrink(img: np.ndarray, width: int, height: int) -> np.ndarray:
    """The parent resized to ``width x height`` with Lanczos (what zoom out keeps in its centre)."""
    return np.asarray(Image.fromarray(img).resize((width, height), Image.Resampling.LANCZOS))


def pan_geometry(spec: FollowUp, width: int, height: int, multiple: int = 8,
                 size: tuple[int, int] | None = None) -> tuple[int, int, Rect]:
    """``(canvas_w, canvas_h, keep_box)`` of a pan: the parent's box in the grown canvas
    (``size``: a canvas size fixed earlier, checked to grow only along the pan's axis)."""
    cw, ch = spec.output_size(width, height, multiple) if size is None else size
    grows = cw > width if spec.direction in ("left", "right") else ch > height
    same = ch == height if spec.direction in ("left", "right") else cw == width
    if not (grows and same):
        raise FollowUpError(f"a pan {spec.direction} of a {width}x{height} image cannot make {cw}x{ch}")
    box = {"right": (0, 0, width, height), "down": (0, 0, width, height),
           "left": (cw - width, 0, cw, height), "up": (0, ch - height, width, ch)}[spec.direction or ""]
    return cw, ch, box


def _pan(img: np.ndarray, spec: FollowUp, multiple: int, size: tuple[int, int] | None) -> Prepared:
    h, w = img.shape[:2]
    cw, ch, (x0, y0, x1, y1) = pan_geometry(spec, w, h, multiple, size)
    canvas = np.pad(img, ((y0, ch - y1), (x0, cw - x1), (0, 0)), mode="edge")
    mask = np.ones((ch, cw), dtype=np.float32)
    mask[y0:y1, x0:x1] = 0.0
    return Prepared("pan", canvas, cw, ch, mask=mask, strength=STRENGTH["pan"], keep_box=(x0, y0, x1, y1))


# --- compositing -----------------------------------------------------------------------------


def feather_px(width: int, height: int) -> int:
    """The blend band's width inside the mask: ``clamp(min(W, H) // 16, 1, 8)`` pixels."""
    return max(1, min(8, min(width, height) // 16))


def blend_alpha(mask: np.ndarray, feather: int) -> np.ndarray:
    """Float ``HxW`` alpha of the generated image: 0 wherever ``mask`` is 0 (exactly), rising
    inside the mask as ``min(1, d / (feather + 1))`` with ``d`` the chessboard distance (in
    pixels, >= 1) to the nearest kept pixel. The image border does not count as kept."""
    region = np.asarray(mask) > 0.5
    if feather < 1 or region.all():
        return region.astype(np.float32)
    # d(p) = 1 + number of 3x3 erosions of the region that p survives (capped at feather + 1).
    # Pad with "regenerate" so the canvas edge is never treated as kept.
    cur = np.pad(region, 1, mode="constant", constant_values=True)
    dist = cur.astype(np.float32)
    for _ in range(feather):
        eroded = cur.copy()
        eroded[1:, :] &= cur[:-1, :]
        eroded[:-1, :] &= cur[1:, :]
        e2 = eroded.copy()
        e2[:, 1:] &= eroded[:, :-1]
        e2[:, :-1] &= eroded[:, 1:]
        e2[0, :] = e2[-1, :] = e2[:, 0] = e2[:, -1] = True  # the padding stays "regenerate"
        cur = e2
        dist += cur
    return np.minimum(1.0, dist[1:-1, 1:-1] / (feather + 1)).astype(np.float32)


def composite(prepared: Prepared, generated: np.ndarray | Image.Image) -> np.ndarray:
    """The final image of a follow-up: for a masked action, ``generated`` pasted over the init
    canvas with :func:`blend_alpha` (pixels outside the mask are the canvas's, exactly); for a
    whole-image action, ``generated`` unchanged. Raises ValueError on a size mismatch."""
    gen = as_rgb_array(generated, "generated image")
    if gen.shape[:2] != (prepared.height, prepared.width):
        raise ValueError(f"generated image is {gen.shape[1]}x{gen.shape[0]}, expected "
                         f"{prepared.width}x{prepared.height}")
    if prepared.mask is None:
        return gen
    alpha = blend_alpha(prepared.mask, feather_px(prepared.width, prepared.height))[..., None]
    mixed = prepared.init_image.astype(np.float32) * (1.0 - alpha) + gen.astype(np.float32) * alpha
    out = np.clip(np.rint(mixed), 0, 255).astype(np.uint8)
    keep = alpha[..., 0] == 0.0
    out[keep] = prepared.init_image[keep]  # exact, whatever float rounding did
    return out


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


# --- the worker's side -------------------------------------------------------------------------
# Imports of the engine and the worker stay inside the functions: the gateway imports this module
# and must not load torch.

WORKER_KINDS: tuple[str, ...] = ("upscale", "vary", "zoom", "pan")
"""Job kinds planned here; ``reroll`` and ``remix`` are plain generations (the worker's own
``plan_generation``)."""


def worker_planners(blobs: Any, *, upscale: Upscale | None = None) -> dict[str, Callable[[Any], Any]]:
    """``kind -> planner`` for :class:`pixelmill.worker.Worker`: each planner reads the job's
    parent image from ``blobs`` and returns a :class:`pixelmill.worker.WorkPlan` (see
    :func:`plan_followup`)."""

    def plan(job: Any) -> Any:
        return plan_followup(job, blobs, upscale=upscale)

    return dict.fromkeys(WORKER_KINDS, plan)


def plan_followup(job: Any, blobs: Any, *, upscale: Upscale | None = None) -> Any:
    """The :class:`~pixelmill.worker.WorkPlan` of a follow-up job.

    The parent image (``params["parent_image"]["sha256"]``) is read from the blob store and
    :func:`prepare`\\ d; the engine request is the job's own generation request (prompt,
    guidance, steps, seeds ``job.seed + i``) with ``init_image``, ``strength`` and ``mask`` set,
    and its ``finish`` is :func:`composite`. ``upscale_subtle`` returns a :class:`ReadyPlan`
    whose images are already made (Real-ESRGAN only; the worker stores them without running the
    engine; its request, strength 0, is a fallback that yields the same image through the engine).
    Everything is derived from the job row and the immutable parent image, so a job resumed on
    another worker after a crash rebuilds the very same request. Raises ValueError (the worker
    fails the job, not retried) when the job or its parent image is unusable."""
    import time

    from pixelmill.store.blobs import content_key
    from pixelmill.worker import plan_generation

    data = job.params.get("followup")
    parent_info = job.params.get("parent_image") or {}
    if not data or "sha256" not in parent_info:
        raise ValueError(f"job {job.id} ({job.kind}) lacks params.followup / params.parent_image")
    spec = FollowUp.from_dict(data)
    try:
        png = blobs.get(content_key(parent_info["sha256"]))
    except KeyError:
        raise ValueError(f"the parent image of job {job.id} was deleted; the follow-up cannot run") from None
    with Image.open(io.BytesIO(png)) as parent_img:
        parent = np.array(parent_img.convert("RGB"))  # a writable copy (torch warns on read-only)
    started = time.perf_counter()
    prepared = prepare(spec, parent, upscale=upscale, size=(job.width, job.height))
    seconds = time.perf_counter() - started
    if (prepared.width, prepared.height) != (job.width, job.height):
        raise ValueError(f"job {job.id}: {spec.action} of this parent makes {prepared.width}x"
                         f"{prepared.height}, but the job says {job.width}x{job.height}")
    request = plan_generation(job).request
    request.init_image = prepared.init_image
    request.mask = prepared.mask
    request.width, request.height = prepared.width, prepared.height

    def finish(images: list[Image.Image]) -> list[Image.Image]:
        return [Image.fromarray(composite(prepared, im)) for im in images]

    if not prepared.engine:
        request.strength = 0.0
        request.seeds = request.seeds[:1]
        ready = [Image.fromarray(prepared.init_image)]
        return _ready_plan(request, ready, seconds)
    request.strength = float(prepared.strength if prepared.strength is not None else 1.0)
    from pixelmill.worker import WorkPlan

    return WorkPlan(request, finish)


def _ready_plan(request: Any, images: list[Image.Image], seconds: float) -> Any:
    plan = _ready_plan_class()(request, lambda _: list(images))
    plan.images, plan.model_seconds = list(images), seconds
    return plan


@functools.cache
def _ready_plan_class() -> type:
    from pixelmill.worker import WorkPlan

    @dataclass
    class ReadyPlan(WorkPlan):
        """A plan whose ``images`` are already made; ``model_seconds``: the CPU time they took.
        The worker completes it without the engine (its ``request`` is a same-result fallback)."""

        images: list[Image.Image] = field(default_factory=list)
        model_seconds: float = 0.0

    return ReadyPlan
