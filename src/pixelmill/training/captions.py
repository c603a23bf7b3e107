"""Natural-language captions for procedural scenes, in several wordings each.

Contract: every caption of an object scene names the main object's colour and shape (by a
word in :data:`COLOUR_WORDS` / :data:`SHAPE_WORDS`), and every caption of a landscape names its
time of day (:data:`TIME_WORDS`) and its terrain, so the ground truth can be read back from
any wording. Wordings are drawn with the caller's ``Generator`` (deterministic per seed).
"""

from __future__ import annotations

import numpy as np

from pixelmill.training.scenes import Scene, Shape

COLOUR_WORDS: dict[str, tuple[str, ...]] = {
    "red": ("red", "red", "scarlet"),
    "orange": ("orange",),
    "yellow": ("yellow", "yellow", "golden"),
    "green": ("green",),
    "blue": ("blue",),
    "purple": ("purple", "purple", "violet"),
    "pink": ("pink",),
    "white": ("white",),
}
SHAPE_WORDS: dict[str, tuple[str, ...]] = {
    "circle": ("circle", "circle", "disc", "round dot"),
    "square": ("square", "square", "box"),
    "triangle": ("triangle",),
    "star": ("star",),
    "heart": ("heart",),
}
SIZE_WORDS: dict[str, tuple[str, ...]] = {
    "small": ("small", "tiny", "little"),
    "medium": ("", "medium", "mid-sized"),
    "large": ("large", "big", "huge"),
}
POSITION_WORDS: dict[str, tuple[str, ...]] = {
    "top left": ("in the top left", "in the upper left corner", "at the top left"),
    "top": ("at the top", "near the top", "in the upper middle"),
    "top right": ("in the top right", "in the upper right corner", "at the top right"),
    "left": ("on the left", "on the left side", "at the left"),
    "centre": ("in the centre", "in the middle", "in the center"),
    "right": ("on the right", "on the right side", "at the right"),
    "bottom left": ("in the bottom left", "in the lower left corner", "at the bottom left"),
    "bottom": ("at the bottom", "near the bottom", "in the lower middle"),
    "bottom right": ("in the bottom right", "in the lower right corner", "at the bottom right"),
}
BACKGROUND_WORDS: dict[str, tuple[str, ...]] = {
    "dark": ("on a dark background", "on black", "against a dark backdrop"),
    "light": ("on a white background", "on a light background", "on pale paper"),
    "dawn": ("in the sky at dawn", "against a sunrise sky", "in the early morning sky"),
    "noon": ("in a blue sky at noon", "against a clear midday sky", "in the daytime sky"),
    "sunset": ("against a sunset sky", "in the evening sky at sunset", "in an orange sunset sky"),
    "night": ("in the night sky", "against a starless night", "on a night sky"),
}
TIME_WORDS: dict[str, tuple[str, ...]] = {
    "dawn": ("at dawn", "at sunrise", "in the early morning at dawn"),
    "noon": ("at noon", "at midday", "on a sunny day at noon"),
    "sunset": ("at sunset", "at sunset in the evening", "at sundown"),
    "night": ("at night", "under the night sky", "by moonlight at night"),
}
TIME_NOUNS: dict[str, tuple[str, ...]] = {
    "dawn": ("dawn", "sunrise"),
    "noon": ("noon", "midday"),
    "sunset": ("sunset", "sundown"),
    "night": ("night", "a moonlit night"),
}
TERRAIN_WORDS: dict[str, tuple[str, ...]] = {
    "mountains": ("mountains", "a mountain range", "snowless peaks"),
    "hills": ("green hills", "rolling hills", "hills"),
    "meadow": ("a meadow", "a green field", "flat grassland"),
}
WATER_WORDS: dict[str, tuple[str, ...]] = {
    "sea": ("the sea", "the ocean", "the sea"),
    "lake": ("a lake", "a small lake", "a pond"),
}
RELATION_WORDS: dict[str, tuple[str, ...]] = {
    "above": ("above", "over", "on top of"),
    "below": ("below", "under", "beneath"),
    "left of": ("to the left of", "left of"),
    "right of": ("to the right of", "right of"),
}


def _w(rng: np.random.Generator, words: tuple[str, ...]) -> str:
    return words[int(rng.integers(len(words)))]


def _tidy(text: str) -> str:
    return " ".join(text.split()).replace(" ,", ",")


def _thing(rng: np.random.Generator, obj: Shape, with_size: bool = True) -> str:
    size = _w(rng, SIZE_WORDS[obj.size]) if with_size else ""
    return _tidy(f"{size} {_w(rng, COLOUR_WORDS[obj.colour])} {_w(rng, SHAPE_WORDS[obj.shape])}")


def _article(phrase: str) -> str:
    return ("an " if phrase[:1] in "aeiou" else "a ") + phrase


def _object_caption(scene: Scene, rng: np.random.Generator) -> str:
    first = scene.objects[0]
    bg = _w(rng, BACKGROUND_WORDS[scene.background])
    if len(scene.objects) == 2 and scene.relation:
        second = scene.objects[1]
        a, b = _article(_thing(rng, first)), _article(_thing(rng, second))
        rel = _w(rng, RELATION_WORDS[scene.relation])
        templates = (
            f"{a} {rel} {b}",
            f"{a} {rel} {b} {bg}",
            f"{a} placed {rel} {b}",
            f"two shapes: {a} {rel} {b}",
        )
        return _tidy(_w(rng, templates))
    thing = _thing(rng, first)
    pos = _w(rng, POSITION_WORDS[first.position])
    templates = (
        f"{_article(thing)} {pos} {bg}",
        f"{_article(thing)} {bg}, {pos}",
        f"a picture of {_article(thing)} {pos}",
        f"{thing} {pos}",
        f"there is {_article(thing)} {pos} {bg}",
        f"{_article(thing)} {bg}",
        f"{_article(thing)}",
        f"simple drawing of {_article(thing)} {pos} {bg}",
    )
    return _tidy(_w(rng, templates))


def _features(scene: Scene, rng: np.random.Generator) -> list[str]:
    parts = []
    if scene.water in WATER_WORDS:
        parts.append(_w(rng, WATER_WORDS[scene.water]))
    if scene.trees:
        parts.append(_w(rng, ("trees", "a few trees", "pine trees")))
    if scene.house:
        parts.append(_w(rng, ("a house", "a small house", "a cottage")))
    if scene.clouds:
        parts.append(_w(rng, ("clouds", "a few clouds", "white clouds")))
    return parts


def _join(parts: list[str]) -> str:
    if not parts:
        return ""
    if len(parts) == 1:
        return parts[0]
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def _landscape_caption(scene: Scene, rng: np.random.Generator) -> str:
    assert scene.time is not None and scene.terrain is not None
    terrain = _w(rng, TERRAIN_WORDS[scene.terrain])
    time = _w(rng, TIME_WORDS[scene.time])
    noun = _w(rng, TIME_NOUNS[scene.time])
    extras = _features(scene, rng)
    with_extras = f" with {_join(extras)}" if extras else ""
    templates = (
        f"{noun} over the {terrain.removeprefix('a ')}{with_extras}",
        f"{terrain}{with_extras} {time}",
        f"a landscape of {terrain}{with_extras} {time}",
        f"{_join([terrain, *extras])}, {noun}",
        f"a view of {terrain} {time}{with_extras}",
        f"{terrain} {time}",
    )
    return _tidy(_w(rng, templates))


def caption(scene: Scene, rng: np.random.Generator) -> str:
    """One wording of ``scene`` (drawn with ``rng``)."""
    if scene.kind == "landscape":
        return _landscape_caption(scene, rng)
    return _object_caption(scene, rng)


def captions(scene: Scene, rng: np.random.Generator, n: int = 3) -> list[str]:
    """``n`` wordings of ``scene``, distinct where the vocabulary allows (up to 20 tries)."""
    out: list[str] = []
    for _ in range(20):
        text = caption(scene, rng)
        if text not in out:
            out.append(text)
        if len(out) == n:
            break
    while len(out) < n:
        out.append(out[len(out) % len(out)])
    return out
