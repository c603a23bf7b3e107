"""``as_rgb_array``: the one check of image values shared by follow-ups and the upscaler."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from pixelmill.images import as_rgb_array


def test_pil_images_become_rgb_arrays_and_rgb_arrays_pass_unchanged() -> None:
    grey = Image.new("L", (5, 3), 7)
    out = as_rgb_array(grey)
    assert out.shape == (3, 5, 3) and out.dtype == np.uint8 and (out == 7).all()
    arr = np.zeros((2, 4, 3), dtype=np.uint8)
    assert as_rgb_array(arr) is arr


@pytest.mark.parametrize("bad", [np.zeros((2, 2, 3), dtype=np.float32), np.zeros((2, 2), dtype=np.uint8),
                                 np.zeros((2, 2, 4), dtype=np.uint8)])
def test_other_arrays_are_refused_naming_the_input(bad: np.ndarray) -> None:
    with pytest.raises(ValueError, match=r"parent image must be an RGB uint8 HxWx3 array"):
        as_rgb_array(bad, "parent image")
