"""Procedural, seeded scenes with ground-truth attributes: the built-in model's whole world.

Two kinds of scene:

- ``object``: one or two shapes (circle, square, triangle, star, heart) with a colour, a size
  and a position (or, for two shapes, a relation such as "above") on a plain dark or light
  background or on a sky at a time of day.
- ``landscape``: a sky by time of day (dawn, noon, sunset, night) with the sun or the moon and
  stars, optional clouds, terrain (mountains, hills or a flat meadow), water (sea or lake),
  trees and a house.

Contract: :func:`sample_scene` is a pure function of the numpy ``Generator`` it is given, and
:func:`render` a pure function of the scene and the size, so the same seed always gives the
same pixels and the same attributes. Coordinates are fractions of the image, so any size
(64x64, 96x64, ...) renders the same scene. Captions live in :mod:`pixelmill.training.captions`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw

RGB = tuple[int, int, int]

COLOURS: dict[str, RGB] = {
    "red": (215, 35, 35),
    "orange": (245, 135, 25),
    "yellow": (245, 215, 35),
    "green": (40, 165, 55),
    "blue": (35, 80, 220),
    "purple": (135, 50, 185),
    "pink": (245, 125, 180),
    "white": (245, 245, 245),
}
SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "star", "heart")
SIZES: dict[str, float] = {"small": 0.12, "medium": 0.18, "large": 0.26}  # radius / min(w, h)
POSITIONS: dict[str, tuple[float, float]] = {
    "top left": (0.25, 0.25),
    "top": (0.5, 0.25),
    "top right": (0.75, 0.25),
    "left": (0.25, 0.5),
    "centre": (0.5, 0.5),
    "right": (0.75, 0.5),
    "bottom left": (0.25, 0.75),
    "bottom": (0.5, 0.75),
    "bottom right": (0.75, 0.75),
}
TIMES: tuple[str, ...] = ("dawn", "noon", "sunset", "night")
PLAIN_BACKGROUNDS: dict[str, RGB] = {"dark": (22, 22, 32), "light": (232, 230, 220)}
BACKGROUNDS: tuple[str, ...] = ("dark", "light", *TIMES)
RELATIONS: tuple[str, ...] = ("above", "below", "left of", "right of")
TERRAINS: tuple[str, ...] = ("mountains", "hills", "meadow")
WATERS: tuple[str, ...] = ("none", "sea", "lake")

# Sky gradients (top, horizon) and the light that tints the land, per time of day.
SKIES: dict[str, tuple[RGB, RGB]] = {
    "dawn": ((70, 90, 165), (250, 175, 145)),
    "noon": ((55, 125, 230), (165, 210, 250)),
    "sunset": ((85, 45, 115), (250, 115, 45)),
    "night": ((4, 6, 22), (25, 35, 75)),
}
LIGHT: dict[str, tuple[float, float, float]] = {
    "dawn": (0.9, 0.78, 0.8),
    "noon": (1.0, 1.0, 1.0),
    "sunset": (0.85, 0.6, 0.5),
    "night": (0.25, 0.3, 0.45),
}


@dataclass(frozen=True)
class Shape:
    """One drawn object: ``shape`` in SHAPES, ``colour`` in COLOURS, ``size`` in SIZES,
    ``position`` in POSITIONS (the named cell it was placed in), ``xy`` its centre as fractions."""

    shape: str
    colour: str
    size: str
    position: str
    xy: tuple[float, float]


@dataclass(frozen=True)
class Scene:
    """Ground truth for one image.

    ``kind`` is "object" or "landscape". Object scenes set ``objects`` (1 or 2; the first is the
    main object), ``background`` (BACKGROUNDS) and, for two objects, ``relation`` (objects[0]
    RELATION objects[1]). Landscapes set ``time`` and the land features. ``background`` of a
    landscape equals its ``time``; ``time`` of an object scene is its sky's time or None.
    """

    kind: str
    background: str
    time: str | None = None
    objects: tuple[Shape, ...] = ()
    relation: str | None = None
    terrain: str | None = None
    water: str | None = None
    trees: bool = False
    house: bool = False
    clouds: bool = False
    # Free-form rendering jitter (seeded) so two scenes with equal attributes still differ.
    jitter: tuple[float, ...] = field(default=(), repr=False)

    @property
    def main(self) -> Shape | None:
        return self.objects[0] if self.objects else None


def _contrast(colour: RGB, background: str) -> float:
    if background in PLAIN_BACKGROUNDS:
        bg = np.array(PLAIN_BACKGROUNDS[background], dtype=float)
    else:
        top, bottom = SKIES[background]
        bg = (np.array(top, dtype=float) + np.array(bottom, dtype=float)) / 2
    return float(np.linalg.norm(np.array(colour, dtype=float) - bg))


def _pick(rng: np.random.Generator, options: tuple[str, ...] | list[str]) -> str:
    return str(options[int(rng.integers(len(options)))])


def sample_object_scene(rng: np.random.Generator, n_objects: int | None = None) -> Scene:
    """One or two shapes on a background; colours always contrast with the background."""
    if n_objects is None:
        n_objects = 1 if rng.random() < 0.8 else 2
    background = _pick(rng, BACKGROUNDS)
    colours = [c for c in COLOURS if _contrast(COLOURS[c], background) > 110]
    objects: list[Shape] = []
    relation = None
    if n_objects == 1:
        size = _pick(rng, tuple(SIZES))
        position = _pick(rng, tuple(POSITIONS))
        x, y = POSITIONS[position]
        objects.append(
            Shape(
                _pick(rng, SHAPES),
                _pick(rng, colours),
                size,
                position,
                (x + rng.uniform(-0.04, 0.04), y + rng.uniform(-0.04, 0.04)),
            )
        )
    else:
        relation = _pick(rng, RELATIONS)
        first_colour = _pick(rng, colours)
        second_colour = _pick(rng, [c for c in colours if c != first_colour])
        first_shape = _pick(rng, SHAPES)
        second_shape = _pick(rng, [s for s in SHAPES if s != first_shape])
        offset = rng.uniform(-0.08, 0.08)
        near, far = 0.28, 0.72
        places = {
            "above": (((0.5 + offset, near), "top"), ((0.5 + offset, far), "bottom")),
            "below": (((0.5 + offset, far), "bottom"), ((0.5 + offset, near), "top")),
            "left of": (((near, 0.5 + offset), "left"), ((far, 0.5 + offset), "right")),
            "right of": (((far, 0.5 + offset), "right"), ((near, 0.5 + offset), "left")),
        }[relation]
        for (xy, position), shape, colour in zip(
            places, (first_shape, second_shape), (first_colour, second_colour), strict=True
        ):
            size = "small" if rng.random() < 0.5 else "medium"
            objects.append(Shape(shape, colour, size, position, xy))
    time = background if background in TIMES else None
    return Scene(
        kind="object",
        background=background,
        time=time,
        objects=tuple(objects),
        relation=relation,
        jitter=tuple(rng.uniform(-1, 1, 8)),
    )


def sample_landscape(rng: np.random.Generator) -> Scene:
    """A sky at a time of day over terrain, with optional water, trees, a house and clouds."""
    time = _pick(rng, TIMES)
    terrain = _pick(rng, TERRAINS)
    water = _pick(rng, WATERS)
    return Scene(
        kind="landscape",
        background=time,
        time=time,
        terrain=terrain,
        water=water,
        trees=bool(rng.random() < 0.4),
        house=bool(rng.random() < 0.3),
        clouds=bool(time != "night" and rng.random() < 0.4),
        jitter=tuple(rng.uniform(-1, 1, 8)),
    )


def sample_scene(rng: np.random.Generator, landscape_fraction: float = 0.4) -> Scene:
    """A scene of either kind (``landscape_fraction`` of them landscapes)."""
    if rng.random() < landscape_fraction:
        return sample_landscape(rng)
    return sample_object_scene(rng)


# --- rendering -------------------------------------------------------------------------------

SUPERSAMPLE = 3  # draw at 3x and downsample: anti-aliased edges at the native size


def _lit(colour: RGB, time: str | None) -> RGB:
    if time is None:
        return colour
    r, g, b = LIGHT[time]
    return (int(colour[0] * r), int(colour[1] * g), int(colour[2] * b))


def _sky(w: int, h: int, time: str) -> Image.Image:
    top, bottom = (np.array(c, dtype=np.float32) for c in SKIES[time])
    t = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]
    rows = top * (1 - t) + bottom * t
    return Image.fromarray(np.broadcast_to(rows, (h, w, 3)).astype(np.uint8))


def shape_polygon(shape: str, cx: float, cy: float, r: float) -> list[tuple[float, float]]:
    """Outline of ``shape`` centred on (cx, cy) with "radius" r, in pixels (not for circles)."""
    if shape == "square":
        s = r * 0.85
        return [(cx - s, cy - s), (cx + s, cy - s), (cx + s, cy + s), (cx - s, cy + s)]
    if shape == "triangle":
        return [(cx, cy - r), (cx + r * 0.95, cy + r * 0.75), (cx - r * 0.95, cy + r * 0.75)]
    if shape == "star":
        points = []
        for i in range(10):
            radius = r if i % 2 == 0 else r * 0.42
            angle = -math.pi / 2 + i * math.pi / 5
            points.append((cx + radius * math.cos(angle), cy + radius * math.sin(angle)))
        return points
    if shape == "heart":
        points = []
        for i in range(48):
            t = 2 * math.pi * i / 48
            x = 16 * math.sin(t) ** 3
            y = 13 * math.cos(t) - 5 * math.cos(2 * t) - 2 * math.cos(3 * t) - math.cos(4 * t)
            points.append((cx + x * r / 16.5, cy - (y + 2.5) * r / 15.5))
        return points
    raise ValueError(f"unknown shape {shape!r}; choose one of {', '.join(SHAPES)}")


def _draw_shape(draw: ImageDraw.ImageDraw, obj: Shape, w: int, h: int, time: str | None) -> None:
    r = SIZES[obj.size] * min(w, h)
    cx = min(max(obj.xy[0] * w, r + 1), w - r - 1)
    cy = min(max(obj.xy[1] * h, r + 1), h - r - 1)
    colour = COLOURS[obj.colour]
    if obj.shape == "circle":
        draw.ellipse([cx - r * 0.92, cy - r * 0.92, cx + r * 0.92, cy + r * 0.92], fill=colour)
    else:
        draw.polygon(shape_polygon(obj.shape, cx, cy, r), fill=colour)


def _ridge(w: int, h: int, base: float, amp: float, peaks: int, phase: float, sharp: bool) -> list:
    points = [(0.0, float(h))]
    steps = 48
    for i in range(steps + 1):
        x = i / steps
        if sharp:  # triangle-wave peaks for mountains
            u = (x * peaks + phase) % 1.0
            y = base - amp * (1 - abs(2 * u - 1))
        else:
            y = base - amp * (0.5 + 0.5 * math.sin(2 * math.pi * (x * peaks + phase)))
        points.append((x * w, y * h))
    points.append((float(w), float(h)))
    return points


def _draw_landscape(img: Image.Image, scene: Scene) -> None:
    w, h = img.size
    draw = ImageDraw.Draw(img)
    time = scene.time or "noon"
    j = scene.jitter or (0.0,) * 8
    m = min(w, h)
    # celestial bodies
    if time == "night":
        star_rng = np.random.default_rng(int(abs(j[0]) * 1e6))
        for _ in range(int(w * h / (m * m) * 24)):
            x, y = star_rng.uniform(0, w), star_rng.uniform(0, h * 0.55)
            s = m * 0.008
            draw.ellipse([x - s, y - s, x + s, y + s], fill=(240, 240, 220))
        mx, my, mr = w * (0.72 + 0.1 * j[1]), h * 0.2, m * 0.09
        draw.ellipse([mx - mr, my - mr, mx + mr, my + mr], fill=(235, 235, 210))
        draw.ellipse([mx - mr * 0.45, my - mr * 1.05, mx + mr * 1.5, my + mr * 0.8], fill=SKIES["night"][0])
    else:
        sun = {
            "dawn": ((255, 205, 130), 0.42, 0.10),
            "noon": ((255, 248, 190), 0.16, 0.08),
            "sunset": ((255, 95, 35), 0.44, 0.14),
        }[time]
        sx, sy, sr = w * (0.5 + 0.3 * j[1]), h * sun[1], m * sun[2]
        draw.ellipse([sx - sr, sy - sr, sx + sr, sy + sr], fill=sun[0])
    if scene.clouds:
        cloud = _lit((250, 250, 250), time)
        for k in range(2):
            cx, cy = w * (0.25 + 0.5 * k + 0.1 * j[2 + k]), h * (0.14 + 0.05 * k)
            for dx, dy, rr in ((-0.07, 0.01, 0.05), (0.0, -0.01, 0.065), (0.07, 0.01, 0.05)):
                r = m * rr
                draw.ellipse(
                    [cx + dx * w - r * 1.4, cy + dy * h - r, cx + dx * w + r * 1.4, cy + dy * h + r],
                    fill=cloud,
                )
    horizon = 0.55 + 0.04 * j[4]
    # terrain
    if scene.terrain == "mountains":
        draw.polygon(
            _ridge(w, h, horizon + 0.02, 0.32, 2, 0.25 + 0.2 * j[5], True), fill=_lit((110, 110, 130), time)
        )
        draw.polygon(_ridge(w, h, horizon + 0.08, 0.2, 3, 0.1 * j[6], True), fill=_lit((80, 85, 105), time))
    elif scene.terrain == "hills":
        draw.polygon(
            _ridge(w, h, horizon + 0.05, 0.14, 1.3, 0.2 * j[5], False), fill=_lit((70, 150, 60), time)
        )
        draw.polygon(
            _ridge(w, h, horizon + 0.15, 0.12, 1.1, 0.5 + 0.2 * j[6], False), fill=_lit((95, 175, 70), time)
        )
    ground_top = horizon + 0.1
    draw.rectangle([0, ground_top * h, w, h], fill=_lit((85, 160, 65), time))
    # water
    water = _lit((40, 100, 190), time)
    if scene.water == "sea":
        draw.rectangle([0, (horizon + 0.08) * h, w, h], fill=water)
        draw.line(
            [0, (horizon + 0.08) * h, w, (horizon + 0.08) * h],
            fill=_lit((150, 190, 230), time),
            width=max(1, m // 64),
        )
    elif scene.water == "lake":
        lx = w * (0.45 + 0.1 * j[7])
        draw.ellipse([lx - w * 0.3, h * 0.74, lx + w * 0.3, h * 0.94], fill=water)
    # trees and house
    if scene.trees:
        xs = (0.1, 0.2, 0.85) if scene.water != "lake" else (0.08, 0.9)
        for k, x in enumerate(xs):
            tx, base = w * (x + 0.03 * j[k]), h * (0.8 + 0.04 * (k % 2))
            th = m * 0.2
            draw.rectangle(
                [tx - m * 0.012, base - th * 0.3, tx + m * 0.012, base], fill=_lit((90, 60, 30), time)
            )
            draw.polygon(
                [(tx, base - th), (tx + m * 0.07, base - th * 0.25), (tx - m * 0.07, base - th * 0.25)],
                fill=_lit((25, 110, 45), time),
            )
    if scene.house:
        hx, base, s = w * (0.62 + 0.05 * j[3]), h * 0.9, m * 0.11
        if scene.water == "sea":
            base = h * 0.985
        draw.rectangle([hx - s, base - s * 1.2, hx + s, base], fill=_lit((225, 205, 160), time))
        draw.polygon(
            [(hx - s * 1.25, base - s * 1.2), (hx, base - s * 2.1), (hx + s * 1.25, base - s * 1.2)],
            fill=_lit((170, 45, 40), time),
        )
        lit_window = (250, 220, 120) if time == "night" else _lit((80, 110, 150), time)
        draw.rectangle([hx - s * 0.3, base - s * 0.8, hx + s * 0.3, base - s * 0.3], fill=lit_window)


def render(scene: Scene, width: int = 64, height: int | None = None) -> Image.Image:
    """Draw ``scene`` as an RGB image of ``width`` x ``height`` (default square)."""
    height = width if height is None else height
    w, h = width * SUPERSAMPLE, height * SUPERSAMPLE
    if scene.background in PLAIN_BACKGROUNDS:
        img = Image.new("RGB", (w, h), PLAIN_BACKGROUNDS[scene.background])
    else:
        img = _sky(w, h, scene.background)
    if scene.kind == "landscape":
        _draw_landscape(img, scene)
    draw = ImageDraw.Draw(img)
    for obj in scene.objects:
        _draw_shape(draw, obj, w, h, scene.time)
    return img.resize((width, height), Image.Resampling.BOX)
