"""The ONNX fast path of the embedding layer: same vectors as torch, cached export, LRU cache,
batch-independent int8, and a logged fallback to torch."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pytest

from pixelmill.safety import fast_encoder
from pixelmill.safety.embedding import Encoder
from pixelmill.safety.fast_encoder import OnnxEncoder, best_encoder, ensure_onnx_model, weights_sha256

TEXTS = [
    "a lighthouse on a cliff at dusk",
    "x",
    "a very long prompt about a quiet harbour town with fishing boats, gulls, nets drying in the "
    "sun, a bakery on the corner and children flying kites on the pier, golden hour, 35mm film",
]


@pytest.fixture(scope="module")
def torch_encoder() -> Encoder:
    return Encoder()


@pytest.fixture(scope="module")
def fp32() -> OnnxEncoder:
    return OnnxEncoder("fp32", cache_size=0)


@pytest.fixture(scope="module")
def int8() -> OnnxEncoder:
    return OnnxEncoder("int8", cache_size=0)


def test_fp32_gives_the_torch_vectors(torch_encoder: Encoder, fp32: OnnxEncoder) -> None:
    expected = torch_encoder.encode(TEXTS)
    got = fp32.encode(TEXTS)  # padded batch: the short rows must not change
    assert got.shape == (3, 384) and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_int8_is_close_and_independent_of_its_batch(fp32: OnnxEncoder, int8: OnnxEncoder) -> None:
    alone = int8.encode(TEXTS[:1])
    batched = int8.encode(TEXTS)
    np.testing.assert_array_equal(batched[0], alone[0])
    cosine = (batched * fp32.encode(TEXTS)).sum(axis=1)
    assert cosine.min() > 0.97, cosine


def test_export_is_cached_under_the_weights_checksum(fp32: OnnxEncoder) -> None:
    path = ensure_onnx_model("fp32")
    assert path == fp32.path and path.parent == fast_encoder.cache_dir()
    assert weights_sha256(fast_encoder.minilm_path())[:16] in path.name
    mtime = os.stat(path).st_mtime_ns
    assert ensure_onnx_model("fp32") == path and os.stat(path).st_mtime_ns == mtime  # not re-exported
    with pytest.raises(ValueError, match="precision"):
        ensure_onnx_model("fp16")


def test_lru_cache_skips_the_model_and_evicts_oldest(monkeypatch: pytest.MonkeyPatch) -> None:
    enc = OnnxEncoder("fp32", cache_size=2)
    first = enc.encode(TEXTS[:2])
    calls: list[list[str]] = []
    real_run = enc._run

    def counting_run(texts: list[str]) -> np.ndarray:
        calls.append(texts)
        return real_run(texts)

    monkeypatch.setattr(enc, "_run", counting_run)
    np.testing.assert_array_equal(enc.encode(TEXTS[:2]), first)
    assert calls == []  # both cached
    enc.encode([TEXTS[2], TEXTS[2]])  # a duplicate is encoded once; evicts TEXTS[0]
    assert calls == [[TEXTS[2]]]
    enc.encode(TEXTS[:1])
    assert calls[-1] == [TEXTS[0]]


def test_best_encoder_falls_back_to_torch_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("export failed")

    monkeypatch.setattr(fast_encoder, "ensure_onnx_model", broken)
    monkeypatch.setenv(fast_encoder.ENCODER_ENV, "onnx-int8")
    with caplog.at_level(logging.WARNING, logger="pixelmill.safety.encoder"):
        encoder = best_encoder()
    assert isinstance(encoder, Encoder)
    assert "using the torch encoder" in caplog.text
    monkeypatch.setenv(fast_encoder.ENCODER_ENV, "tensorrt")
    with pytest.raises(ValueError, match="onnx-int8, onnx, torch"):
        best_encoder()


def test_tuned_layers_are_laid_over_the_installed_minilm(tmp_path: Path) -> None:
    import torch
    from safetensors.torch import load_file

    patch = load_file(str(fast_encoder.TUNED_PATH))  # the shipped fine-tuned layers
    assert patch and all(k.startswith("encoder.layer.") for k in patch)
    tuned = fast_encoder.load_minilm().state_dict()
    stock = fast_encoder.load_minilm(tuned=None).state_dict()
    for key, value in patch.items():
        torch.testing.assert_close(tuned[key], value.to(torch.float32), rtol=0, atol=0)
        assert not torch.equal(stock[key], tuned[key]), f"{key} was not tuned"
    untouched = "encoder.layer.0.attention.self.query.weight"
    assert untouched not in patch and torch.equal(tuned[untouched], stock[untouched])
    # the ONNX export is keyed by the tuned file too: new tuned layers, new export
    assert fast_encoder.tuned_sha256()[:16] in ensure_onnx_model("fp32").name
    assert fast_encoder.tuned_sha256(tmp_path / "missing.safetensors") == "stock"


@pytest.mark.parametrize(
    "key, shape",
    [("encoder.layer.9.output.dense.weight", (384, 1536)), ("encoder.layer.5.output.dense.weight", (3, 3))],
)
def test_a_tuned_file_that_does_not_fit_is_refused(tmp_path: Path, key: str, shape: tuple[int, int]) -> None:
    import torch
    from safetensors.torch import save_file

    bad = tmp_path / "bad.safetensors"
    save_file({key: torch.zeros(shape, dtype=torch.float16)}, str(bad))
    with pytest.raises(ValueError, match="do not fit MiniLM"):
        fast_encoder.load_minilm(tuned=bad)
