"""Image values as the pipeline passes them: RGB ``uint8`` arrays of shape ``(H, W, 3)``."""

from __future__ import annotations

import numpy as np
from PIL import Image


def as_rgb_array(image: np.ndarray | Image.Image, what: str = "image") -> np.ndarray:
    """``image`` as an RGB uint8 ``HxWx3`` array: a PIL image is converted to RGB, an array is
    returned as it is. Raises ValueError naming ``what`` for an array of another dtype or shape."""
    if isinstance(image, Image.Image):
        return np.asarray(image.convert("RGB"))
    arr = np.asarray(image)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"{what} must be an RGB uint8 HxWx3 array or PIL image, got {arr.dtype} {arr.shape}")
    return arr
