"""``pixelmill train demo-model``: train the built-in model from a seed and write its folder.

Recipe (see :class:`~pixelmill.training.recipe.Recipe` for the numbers):

1. render ``n_scenes`` procedural scenes and their wordings (seeded);
2. embed every wording once with the frozen MiniLM encoder (a cache: training then costs only
   the autoencoder and the UNet);
3. train a small AutoencoderKL (64x64x3 <-> 16x16xC, 4x downsampling) on the images;
4. encode every image to its latent mean, set ``scaling_factor`` = 1 / latent std;
5. fine-tune the decoder with the encoder frozen (sharper pixels; the latents do not change);
6. train a UNet2DConditionModel on the latents: epsilon prediction, SD's scaled-linear
   schedule, min-SNR loss weighting, AdamW, EMA, and ``cfg_dropout`` of the captions replaced
   by the encoding of "" (the unconditional embedding classifier-free guidance uses);
7. write a diffusers-format folder: ``model_index.json``, ``unet/``, ``vae/``, ``scheduler/``,
   ``training.json`` (recipe, steps reached, seconds, loss curve). No ``text_encoder/``:
   ``model_index.json`` names the MiniLM package instead.

Contract: the same recipe, seed and thread count on one machine give the same weights
(``threads`` is recorded and is part of the reproduce command); a checkpoint of the
folder is written every ``save_every`` UNet steps so a run cut short still leaves a model.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from pixelmill.training import vocabulary
from pixelmill.training.dataset import (
    MAX_LENGTH,
    TEXT_ENCODER,
    SceneSet,
    TextEncoder,
    build_scene_set,
    embed_captions,
    images_to_tensor,
)
from pixelmill.training.recipe import Recipe

MODEL_ID = "pixelmill-builtin-v1"
Log = Callable[[dict[str, Any]], None]


@dataclass
class TrainReport:
    """What a run did: steps reached, seconds per phase, and the loss curves (step, loss)."""

    out: Path
    seed: int
    recipe: Recipe
    threads: int = 1
    ae_steps: int = 0
    unet_steps: int = 0
    decoder_steps: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    ae_loss: list[tuple[int, float]] = field(default_factory=list)
    unet_loss: list[tuple[int, float]] = field(default_factory=list)
    decoder_loss: list[tuple[int, float]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "threads": self.threads,
            "recipe": self.recipe.to_json(),
            "ae_steps": self.ae_steps,
            "unet_steps": self.unet_steps,
            "decoder_steps": self.decoder_steps,
            "seconds": self.seconds,
            "ae_loss": self.ae_loss,
            "unet_loss": self.unet_loss,
            "decoder_loss": self.decoder_loss,
        }


def _groups(channels: tuple[int, ...]) -> int:
    return min(16, min(channels) // 2)


def build_autoencoder(recipe: Recipe) -> Any:
    """A small AutoencoderKL: ``len(ae_channels) - 1`` halvings (64 px -> 16 latent cells)."""
    from diffusers import AutoencoderKL

    n = len(recipe.ae_channels)
    return AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * n,
        up_block_types=("UpDecoderBlock2D",) * n,
        block_out_channels=recipe.ae_channels,
        layers_per_block=1,
        latent_channels=recipe.latent_channels,
        norm_num_groups=_groups(recipe.ae_channels),
        sample_size=recipe.size,
    )


def build_unet(recipe: Recipe) -> Any:
    """A small UNet2DConditionModel with cross-attention to the 384-d MiniLM tokens.

    The top ``recipe.unet_cross_only_levels`` levels attend to the caption twice instead of to
    themselves (``only_cross_attention``; cheaper, see :class:`Recipe`).
    ``addition_embed_type="text"`` also pools the caption into the time embedding, a global
    signal (colour, time of day) every ResNet block sees; it needs no extra inputs."""
    from diffusers import UNet2DConditionModel

    ch = recipe.unet_channels
    n = len(ch)
    latent = recipe.size // 2 ** (len(recipe.ae_channels) - 1)
    return UNet2DConditionModel(
        sample_size=latent,
        in_channels=recipe.latent_channels,
        out_channels=recipe.latent_channels,
        block_out_channels=ch,
        layers_per_block=1,
        down_block_types=("CrossAttnDownBlock2D",) * (n - 1) + ("DownBlock2D",),
        up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * (n - 1),
        cross_attention_dim=384,
        attention_head_dim=tuple(max(1, c // 32) for c in ch),
        norm_num_groups=_groups(ch),
        addition_embed_type="text",
        addition_embed_type_num_heads=6,
        only_cross_attention=tuple(i < recipe.unet_cross_only_levels for i in range(n)),
        mid_block_only_cross_attention=False,
    )


def scheduler_config() -> dict[str, Any]:
    """Stable Diffusion's training schedule (scaled-linear betas), epsilon prediction."""
    return {
        "num_train_timesteps": 1000,
        "beta_start": 0.00085,
        "beta_end": 0.012,
        "beta_schedule": "scaled_linear",
        "prediction_type": "epsilon",
        "clip_sample": False,
        "steps_offset": 1,
        "set_alpha_to_one": False,
    }


def _alphas_cumprod() -> torch.Tensor:
    cfg = scheduler_config()
    betas = torch.linspace(cfg["beta_start"] ** 0.5, cfg["beta_end"] ** 0.5, 1000, dtype=torch.float64) ** 2
    return torch.cumprod(1 - betas, 0).float()


def _lr(step: int, total: int, base: float, warmup: int) -> float:
    if step < warmup:
        return base * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return base * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def _log_every(steps: int) -> tuple[int, float]:
    """Log interval and loss smoothing: every 25 steps (0.98 EMA) for real runs, denser and
    less smoothed for the few-step smoke runs so their curves still show the trend."""
    if steps >= 500:
        return 25, 0.98
    return max(1, steps // 10), 0.8


def _scene_set(recipe: Recipe, seed: int) -> SceneSet:
    """The recipe's training scenes for ``seed`` (the same for a run and its continuation)."""
    return build_scene_set(recipe.n_scenes, seed, size=recipe.size,
                           captions_per_scene=recipe.captions_per_scene,
                           landscape_fraction=recipe.landscape_fraction)

def _optimize(opt: torch.optim.Optimizer, loss: torch.Tensor, params: Any) -> None:
    """One optimizer step on ``loss`` with the gradients of ``params`` clipped to norm 1."""
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()


def _track_loss(phase: str, step: int, total: int, loss: float, running: float, smooth: float,
                every: int, curve: list[tuple[int, float]], log: Log) -> float:
    """Fold ``loss`` into the smoothed ``running`` loss (step 0 starts it) and return it; every
    ``every`` steps and at step ``total``, append it (rounded) to ``curve`` and log it."""
    running = loss if step == 0 else smooth * running + (1 - smooth) * loss
    if (step + 1) % every == 0 or step + 1 == total:
        curve.append((step + 1, round(running, 5)))
        log({"phase": phase, "step": step + 1, "loss": running})
    return running


def train_autoencoder(
    ae: Any, images: torch.Tensor, recipe: Recipe, gen: torch.Generator, log: Log, report: TrainReport
) -> None:
    """Reconstruction (L1 + MSE) with a tiny KL term, on uint8 images ``(N, H, W, 3)``."""
    opt = torch.optim.AdamW(ae.parameters(), lr=recipe.ae_lr, weight_decay=0.0)
    ae.train()
    running = 0.0
    every, _ = _log_every(recipe.ae_steps)
    for step in range(recipe.ae_steps):
        for g in opt.param_groups:
            g["lr"] = _lr(step, recipe.ae_steps, recipe.ae_lr, recipe.warmup)
        idx = torch.randint(0, len(images), (recipe.ae_batch,), generator=gen)
        x = images_to_tensor(images[idx].numpy())
        posterior = ae.encode(x).latent_dist
        z = posterior.mean + posterior.std * torch.randn(posterior.mean.shape, generator=gen)
        recon = ae.decode(z).sample
        loss = F.l1_loss(recon, x) + F.mse_loss(recon, x) + recipe.ae_kl * posterior.kl().mean()
        _optimize(opt, loss, ae.parameters())
        running = loss.item() if step == 0 else 0.95 * running + 0.05 * loss.item()
        report.ae_steps = step + 1
        if (step + 1) % every == 0 or step + 1 == recipe.ae_steps:
            report.ae_loss.append((step + 1, round(running, 5)))
            log({"phase": "autoencoder", "step": step + 1, "loss": running})
    ae.eval()


def finetune_decoder(
    ae: Any,
    images: torch.Tensor,
    recipe: Recipe,
    seed: int,
    log: Log,
    report: TrainReport,
    *,
    save: Callable[[Any], None] | None = None,
    save_every: int = 100,
) -> None:
    """Train only the decoder on the frozen encoder's posteriors (L1 + MSE; forward passes under
    bfloat16 autocast when ``recipe.bf16``, ~17% faster per step on this CPU).

    The encoder does not change, so latents the UNet was trained on stay valid; a generator of
    its own (``seed + 1``) and a constant learning rate make a run stopped after K steps equal
    to a run of ``decoder_steps=K``."""
    if recipe.decoder_steps <= 0:
        return
    gen = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        stats = [
            ae.encode(images_to_tensor(images[i : i + 64].numpy())).latent_dist
            for i in range(0, len(images), 64)
        ]
    mean = torch.cat([d.mean for d in stats])
    std = torch.cat([d.std for d in stats])
    params = list(ae.decoder.parameters()) + list(ae.post_quant_conv.parameters())
    opt = torch.optim.AdamW(params, lr=recipe.decoder_lr, weight_decay=0.0)
    ae.train()
    running = 0.0
    every, smooth = _log_every(recipe.decoder_steps)
    for step in range(recipe.decoder_steps):
        idx = torch.randint(0, len(images), (recipe.ae_batch,), generator=gen)
        x = images_to_tensor(images[idx].numpy())
        z = mean[idx] + std[idx] * torch.randn(mean[idx].shape, generator=gen)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=recipe.bf16 and z.device.type == "cpu"):
            recon = ae.decode(z).sample.float()
        loss = F.l1_loss(recon, x) + F.mse_loss(recon, x)
        _optimize(opt, loss, params)
        report.decoder_steps = step + 1
        running = _track_loss("decoder", step, recipe.decoder_steps, loss.item(), running, smooth, every,
                              report.decoder_loss, log)
        if save is not None and (step + 1) % save_every == 0:
            ae.eval()
            save(ae)
            ae.train()
    ae.eval()


@torch.no_grad()
def encode_latents(ae: Any, images: torch.Tensor, batch: int = 64) -> torch.Tensor:
    """Posterior means of every image (what the backend's ``encode_image`` also returns)."""
    out = [
        ae.encode(images_to_tensor(images[i : i + batch].numpy())).latent_dist.mean
        for i in range(0, len(images), batch)
    ]
    return torch.cat(out)


def train_unet(
    unet: Any,
    latents: torch.Tensor,
    table: torch.Tensor,
    index: torch.Tensor,
    empty: torch.Tensor,
    recipe: Recipe,
    gen: torch.Generator,
    log: Log,
    report: TrainReport,
    *,
    deadline: float | None = None,
    save: Callable[[Any], None] | None = None,
    save_every: int = 400,
) -> Any:
    """Denoising training; returns the EMA copy (the weights that ship)."""
    import copy

    alphas = _alphas_cumprod()
    ema = copy.deepcopy(unet).eval().requires_grad_(False)
    opt = torch.optim.AdamW(unet.parameters(), lr=recipe.unet_lr, weight_decay=0.01)
    unet.train()
    running = 0.0
    every, smooth = _log_every(recipe.unet_steps)
    n, k = index.shape
    for step in range(min(recipe.unet_stop or recipe.unet_steps, recipe.unet_steps)):
        for g in opt.param_groups:
            g["lr"] = _lr(step, recipe.unet_steps, recipe.unet_lr, recipe.warmup)
        b = recipe.unet_batch
        idx = torch.randint(0, n, (b,), generator=gen)
        which = torch.randint(0, k, (b,), generator=gen)
        context = table[index[idx, which]].float()
        drop = torch.rand(b, generator=gen) < recipe.cfg_dropout
        context[drop] = empty
        x0 = latents[idx]
        t = torch.randint(0, len(alphas), (b,), generator=gen)
        noise = torch.randn(x0.shape, generator=gen)
        a = alphas[t].view(b, 1, 1, 1)
        xt = a.sqrt() * x0 + (1 - a).sqrt() * noise
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=recipe.bf16 and xt.device.type == "cpu"):
            pred = unet(xt, t, encoder_hidden_states=context).sample.float()
        snr = alphas[t] / (1 - alphas[t])
        weight = torch.clamp(snr, max=recipe.snr_gamma) / snr
        loss = (weight * (pred - noise).pow(2).mean(dim=(1, 2, 3))).mean()
        _optimize(opt, loss, unet.parameters())
        decay = min(recipe.ema_decay, (1 + step) / (10 + step))
        with torch.no_grad():
            for pe, p in zip(ema.parameters(), unet.parameters(), strict=True):
                pe.lerp_(p, 1 - decay)
        report.unet_steps = step + 1
        running = _track_loss("unet", step, recipe.unet_steps, loss.item(), running, smooth, every,
                              report.unet_loss, log)
        if save is not None and (step + 1) % save_every == 0:
            save(ema)
        if deadline is not None and time.monotonic() > deadline:
            log({"phase": "unet", "stopped": "time cap reached", "step": step + 1})
            break
    return ema


def save_unet(unet: Any, out: Path, recipe: Recipe) -> None:
    """Write ``out/unet`` in ``recipe.unet_dtype`` (a copy is cast; ``unet`` is left as it is)."""
    import copy

    dtype = getattr(torch, recipe.unet_dtype)
    copy.deepcopy(unet).to(dtype).save_pretrained(out / "unet", safe_serialization=True)


def write_model_folder(out: Path, unet: Any, ae: Any, recipe: Recipe, report: TrainReport) -> None:
    """The diffusers-format folder the engine's backend loads (see the module docstring)."""
    import diffusers

    out.mkdir(parents=True, exist_ok=True)
    save_unet(unet, out, recipe)
    ae.save_pretrained(out / "vae", safe_serialization=True)
    sched = out / "scheduler"
    sched.mkdir(exist_ok=True)
    config = {
        "_class_name": "DDPMScheduler",
        "_diffusers_version": diffusers.__version__,
        **scheduler_config(),
    }
    (sched / "scheduler_config.json").write_text(json.dumps(config, indent=2) + "\n")
    index = {
        "_class_name": "StableDiffusionPipeline",
        "_diffusers_version": diffusers.__version__,
        "unet": ["diffusers", "UNet2DConditionModel"],
        "vae": ["diffusers", "AutoencoderKL"],
        "scheduler": ["diffusers", "DDPMScheduler"],
        "pixelmill_model_id": MODEL_ID,
        "pixelmill_text_encoder": TEXT_ENCODER,
        "pixelmill_max_length": MAX_LENGTH,
        "pixelmill_native_size": [recipe.size, recipe.size],
        "pixelmill_default_steps": recipe.default_steps,
        "pixelmill": {
            "description": "pixelmill's built-in demo model: procedural shapes and simple landscapes",
            "negative_prompt_default": "",
            "unconditional_text": "",
            "vocabulary": vocabulary.summary(),
            "training": {
                "seed": report.seed,
                "ae_steps": report.ae_steps,
                "unet_steps": report.unet_steps,
                "decoder_steps": report.decoder_steps,
                "command": training_command(report),
            },
        },
    }
    (out / "model_index.json").write_text(json.dumps(index, indent=2) + "\n")
    (out / "training.json").write_text(json.dumps(report.to_json()) + "\n")


def training_command(report: TrainReport) -> str:
    """The command that reproduces this folder (``--unet-stop`` when a run was cut short)."""
    cmd = (
        f"pixelmill train demo-model --out DIR --seed {report.seed} --threads {report.threads} "
        f"--ae-steps {report.ae_steps} --unet-steps {report.recipe.unet_steps}"
    )
    cmd += f" --decoder-steps {report.decoder_steps}"
    if report.unet_steps < report.recipe.unet_steps:
        cmd += f" --unet-stop {report.unet_steps}"
    return cmd


def cached_embeddings(texts: list[list[str]]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """:func:`embed_captions` plus the encoding of "", cached under ``$PIXELMILL_HOME/cache``
    by a hash of the wordings (the encoder is frozen, so the cache never goes stale)."""
    import hashlib

    from pixelmill.config import home

    key = hashlib.sha256(json.dumps([TEXT_ENCODER, MAX_LENGTH, texts]).encode()).hexdigest()[:16]
    path = home() / "cache" / f"text-{key}.pt"
    if path.is_file():
        saved = torch.load(path)
        return saved["table"], saved["index"], saved["empty"]
    encoder = TextEncoder()
    table, index = embed_captions(encoder, texts)
    empty = encoder.encode([""])[0]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save({"table": table, "index": index, "empty": empty}, tmp)
    tmp.rename(path)
    return table, index, empty


def train_demo_model(
    out: str | Path,
    *,
    seed: int = 0,
    recipe: Recipe | None = None,
    max_minutes: float | None = None,
    log: Log | None = None,
    threads: int | None = 1,
) -> TrainReport:
    """Train the built-in model and write it to ``out`` (see the module docstring)."""
    recipe = recipe or Recipe()
    out = Path(out)
    if threads:
        torch.set_num_threads(threads)
    emit: Log = log or (lambda _r: None)
    start = time.monotonic()
    deadline = start + 60 * max_minutes if max_minutes else None
    report = TrainReport(out=out, seed=seed, recipe=recipe, threads=torch.get_num_threads())
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)

    # 1. data
    data = _scene_set(recipe, seed)
    images = torch.from_numpy(data.images)
    report.seconds["data"] = round(time.monotonic() - start, 1)
    emit({"phase": "data", "scenes": len(data.scenes), "seconds": report.seconds["data"]})
    # 2. text embeddings, once
    t0 = time.monotonic()
    table, index, empty = cached_embeddings(data.captions)
    report.seconds["text"] = round(time.monotonic() - t0, 1)
    emit({"phase": "text", "unique_captions": len(table), "seconds": report.seconds["text"]})
    # 3. autoencoder
    t0 = time.monotonic()
    ae = build_autoencoder(recipe)
    train_autoencoder(ae, images, recipe, gen, emit, report)
    report.seconds["autoencoder"] = round(time.monotonic() - t0, 1)
    # 4. decoder fine-tuning (encoder frozen, so the latents below do not depend on it); it runs
    # before the UNet so that the wall-time cap (``max_minutes``) bounds the whole run.
    t0 = time.monotonic()
    finetune_decoder(ae, images, recipe, seed, emit, report)
    report.seconds["decoder"] = round(time.monotonic() - t0, 1)
    # 5. latents
    latents = encode_latents(ae, images)
    scale = float(1.0 / latents.std())
    ae.register_to_config(scaling_factor=scale)
    latents = latents * scale
    out.mkdir(parents=True, exist_ok=True)
    ae.save_pretrained(out / "vae", safe_serialization=True)
    emit({"phase": "latents", "shape": list(latents.shape), "scaling_factor": scale})
    # 6. UNet
    t0 = time.monotonic()
    unet = build_unet(recipe)

    def save(ema: Any) -> None:
        emit({"phase": "save", "step": report.unet_steps})
        report.seconds["unet"] = round(time.monotonic() - t0, 1)
        report.seconds["total"] = round(time.monotonic() - start, 1)
        write_model_folder(out, ema, ae, replace(recipe), report)

    ema = train_unet(
        unet, latents, table, index, empty, recipe, gen, emit, report, deadline=deadline, save=save
    )
    # 7. folder
    save(ema)
    emit({"phase": "done", "seconds": report.seconds})
    return report


def continue_demo_model(
    source: str | Path,
    out: str | Path,
    *,
    unet_steps: int,
    unet_stop: int | None = None,
    max_minutes: float | None = None,
    log: Log | None = None,
    threads: int | None = 1,
) -> TrainReport:
    """Continue the UNet of a model folder written by :func:`train_demo_model` for another
    ``unet_steps`` steps (fresh AdamW at half the recipe's learning rate, 20 warm-up steps,
    cosine decay over ``unet_steps``, batches from a generator seeded ``seed + 2``; the
    autoencoder is kept as it is, so the latents are the same). Writes the folder to ``out``
    with the continuation recorded in ``training.json`` and ``model_index.json``."""
    from diffusers import AutoencoderKL, UNet2DConditionModel

    source, out = Path(source), Path(out)
    if threads:
        torch.set_num_threads(threads)
    emit: Log = log or (lambda _r: None)
    start = time.monotonic()
    deadline = start + 60 * max_minutes if max_minutes else None
    previous = json.loads((source / "training.json").read_text())
    fields = {k: tuple(v) if isinstance(v, list) else v for k, v in previous["recipe"].items()}
    recipe = Recipe(**fields)
    seed = int(previous["seed"])
    data = _scene_set(recipe, seed)
    table, index, empty = cached_embeddings(data.captions)
    ae = AutoencoderKL.from_pretrained(source / "vae").eval()
    latents = encode_latents(ae, torch.from_numpy(data.images)) * float(ae.config.scaling_factor)
    unet = UNet2DConditionModel.from_pretrained(source / "unet")
    stage = replace(recipe, unet_steps=unet_steps, unet_stop=unet_stop, unet_lr=recipe.unet_lr / 2, warmup=20)
    report = TrainReport(out=out, seed=seed, recipe=stage)
    gen = torch.Generator().manual_seed(seed + 2)
    t0 = time.monotonic()
    stages = [*previous.get("continued", [])]

    def save(ema: Any) -> None:
        out.mkdir(parents=True, exist_ok=True)
        save_unet(ema, out, stage)
        if out.resolve() != source.resolve():
            ae.save_pretrained(out / "vae", safe_serialization=True)
            import shutil

            shutil.copytree(source / "scheduler", out / "scheduler", dirs_exist_ok=True)
        command = f"pixelmill train demo-model --continue-from DIR --out DIR --unet-steps {unet_steps}"
        if report.unet_steps < unet_steps:
            command += f" --unet-stop {report.unet_steps}"
        entry = {
            "unet_steps": report.unet_steps,
            "schedule_steps": unet_steps,
            "lr": stage.unet_lr,
            "seconds": round(time.monotonic() - t0, 1),
            "unet_loss": report.unet_loss,
            "command": command,
        }
        run = {**previous, "continued": [*stages, entry]}
        (out / "training.json").write_text(json.dumps(run) + "\n")
        index_doc = json.loads((source / "model_index.json").read_text())
        index_doc["pixelmill"]["training"]["continued"] = [
            {k: v for k, v in e.items() if k != "unet_loss"} for e in run["continued"]
        ]
        (out / "model_index.json").write_text(json.dumps(index_doc, indent=2) + "\n")

    ema = train_unet(
        unet, latents, table, index, empty, stage, gen, emit, report, deadline=deadline, save=save
    )
    save(ema)
    emit({"phase": "done", "unet_steps": report.unet_steps, "seconds": round(time.monotonic() - start, 1)})
    return report
