"""The procedural scene generator and its captions: determinism, ground truth, paraphrase."""

from __future__ import annotations

import numpy as np
import pytest

from pixelmill.training.captions import (
    COLOUR_WORDS,
    SHAPE_WORDS,
    TERRAIN_WORDS,
    TIME_NOUNS,
    TIME_WORDS,
    captions,
)
from pixelmill.training.dataset import build_scene_set, scene_rng
from pixelmill.training.scenes import COLOURS, SHAPES, TIMES, render, sample_landscape, sample_object_scene


def test_same_seed_same_scenes_pixels_and_captions() -> None:
    a = build_scene_set(24, seed=7)
    b = build_scene_set(24, seed=7)
    assert a.scenes == b.scenes
    assert np.array_equal(a.images, b.images)
    assert a.captions == b.captions


def test_different_seed_or_stream_gives_different_scenes() -> None:
    a = build_scene_set(24, seed=7)
    assert a.scenes != build_scene_set(24, seed=8).scenes
    assert a.scenes != build_scene_set(24, seed=7, stream="holdout").scenes


def test_every_object_caption_names_the_main_colour_and_shape() -> None:
    rng = scene_rng(0, "test")
    for _ in range(200):
        scene = sample_object_scene(rng)
        for text in captions(scene, rng, 3):
            main = scene.objects[0]
            assert any(w in text for w in COLOUR_WORDS[main.colour]), (text, main)
            assert any(w in text for w in SHAPE_WORDS[main.shape]), (text, main)
            # the main object is named first, so a prompt's first shape is its main object
            first_shape = min((text.find(w), s) for s, ws in SHAPE_WORDS.items() for w in ws if w in text)[1]
            assert first_shape == main.shape, text


def test_every_landscape_caption_names_time_of_day_and_terrain() -> None:
    rng = scene_rng(0, "test")
    for _ in range(200):
        scene = sample_landscape(rng)
        for text in captions(scene, rng, 3):
            assert scene.time is not None and scene.terrain is not None
            words = TIME_WORDS[scene.time] + TIME_NOUNS[scene.time]
            assert any(w in text for w in words), (text, scene.time)
            terrain = [w.removeprefix("a ") for w in TERRAIN_WORDS[scene.terrain]]
            assert any(w in text for w in terrain), (text, scene.terrain)


def test_captions_paraphrase() -> None:
    rng = scene_rng(1, "test")
    scene = sample_object_scene(rng, n_objects=1)
    wordings = {text for _ in range(30) for text in captions(scene, rng, 3)}
    assert len(wordings) >= 8
    data = build_scene_set(200, seed=3)
    assert sum(len(set(c)) == 2 for c in data.captions) > 150  # two distinct wordings per scene


def test_all_vocabulary_values_occur() -> None:
    rng = scene_rng(2, "test")
    objects = [sample_object_scene(rng, n_objects=1).objects[0] for _ in range(400)]
    assert {o.colour for o in objects} == set(COLOURS)
    assert {o.shape for o in objects} == set(SHAPES)
    assert {sample_landscape(rng).time for _ in range(100)} == set(TIMES)


@pytest.mark.parametrize(("w", "h"), [(64, 64), (96, 64), (32, 48)])
def test_render_any_size_and_object_colour_is_drawn(w: int, h: int) -> None:
    rng = scene_rng(3, "test")
    scene = sample_object_scene(rng, n_objects=1)
    img = np.asarray(render(scene, w, h)).reshape(-1, 3).astype(int)
    assert img.shape[0] == w * h
    colour = np.array(COLOURS[scene.objects[0].colour])
    assert (np.abs(img - colour).sum(1) < 30).mean() > 0.01  # the object's pixels are there
