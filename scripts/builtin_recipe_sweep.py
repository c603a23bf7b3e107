"""Recipe sweeps for the built-in model's UNet on a CUDA GPU (how the shipped recipe was chosen).

Not part of the package or the tests: an engineer's tool for a machine with a GPU, where one
UNet variant trains in minutes instead of an hour. It reuses the project's own pieces (scene
set, MiniLM caption embeddings, ``build_unet``, the learning-rate schedule, the alignment eval
through the engine) and the SHIPPED autoencoder, so variants differ only in the UNet recipe.
GPU runs use bf16 autocast and a CUDA generator: their weights are not the CPU run's, only
their trend is comparable. Usage (several variants may run at once on one GPU)::

    python scripts/builtin_recipe_sweep.py prepare --scenes 8000 --tag s8k
    python scripts/builtin_recipe_sweep.py train '{"name": "F1", "data_tag": "s8k", "steps": 4400,
        "batch": 64, "lr": 1e-3, "ema": 0.995, "arch": {"unet_channels": [48, 96, 192]},
        "checkpoints": [2200, 3300]}'

Each checkpoint is evaluated with ``evaluate_alignment`` (100 held-out prompts; 200 and a draft
pass at the last one) and printed as one JSON line. The figures that chose the shipped recipe
are in ``src/pixelmill/models/builtin/MODEL_CARD.md`` ("How the recipe was chosen").
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import torch

ROOT = Path(os.environ.get("SWEEP_DIR", "/tmp/pixelmill-sweep"))
BUILTIN = Path(__file__).resolve().parent.parent / "src" / "pixelmill" / "models" / "builtin"


def prepare(n_scenes: int, tag: str, landscape: float) -> Path:
    """Render the scenes, embed their captions (on the GPU) and encode latents with the shipped
    autoencoder; cache them as ``ROOT/data-TAG.pt``."""
    from diffusers import AutoencoderKL

    from pixelmill.training.dataset import MAX_LENGTH, TextEncoder, images_to_tensor
    from pixelmill.training.recipe import Recipe
    from pixelmill.training.trainer import _scene_set

    path = ROOT / f"data-{tag}.pt"
    if path.exists():
        return path
    ROOT.mkdir(parents=True, exist_ok=True)
    data = _scene_set(Recipe(n_scenes=n_scenes, landscape_fraction=landscape), 0)
    encoder = TextEncoder()
    encoder.model.cuda()
    unique: dict[str, int] = {}
    index = [[unique.setdefault(t, len(unique)) for t in row] for row in data.captions]
    texts = [*unique, ""]
    outs = []
    with torch.no_grad():
        for s in range(0, len(texts), 512):
            tok = encoder.tokenizer(texts[s : s + 512], padding="max_length", max_length=MAX_LENGTH,
                                    truncation=True, return_tensors="pt")
            ids, mask = tok["input_ids"].cuda(), tok["attention_mask"].cuda()
            hidden = encoder.model(input_ids=ids, attention_mask=mask)
            outs.append(hidden.last_hidden_state.float())
    table = torch.cat(outs)
    ae = AutoencoderKL.from_pretrained(BUILTIN / "vae").cuda().eval()
    images = torch.from_numpy(data.images)
    with torch.no_grad():
        latents = torch.cat([
            ae.encode(images_to_tensor(images[i : i + 256].numpy()).cuda()).latent_dist.mean
            for i in range(0, len(images), 256)
        ]) * float(ae.config.scaling_factor)
    torch.save({"latents": latents.cpu(), "table": table[:-1].half().cpu(), "empty": table[-1].cpu(),
                "index": torch.tensor(index)}, path)
    return path


def evaluate(folder: Path, n: int, draft: bool = False) -> dict[str, Any]:
    from pixelmill.training import alignment

    alignment.classifier_accuracy = lambda *a, **k: {}  # its ceiling is known; skip the 500 renders
    return alignment.evaluate_alignment(n, model_path=folder, draft=draft)


def train(name: str, data_tag: str, steps: int, batch: int, lr: float, checkpoints: list[int],
          arch: dict[str, Any] | None = None, warmup: int = 100, ema: float = 0.999,
          snr: float = 5.0, limit_s: float = 420.0) -> list[dict[str, Any]]:
    """One UNet variant, the CPU trainer's loop on CUDA; evaluates at ``checkpoints`` and at the
    end (or when ``limit_s`` of training time is spent)."""
    from pixelmill.training.recipe import Recipe
    from pixelmill.training.trainer import _alphas_cumprod, _lr, build_unet

    torch.manual_seed(0)
    d = torch.load(ROOT / f"data-{data_tag}.pt")
    lat, table, index, empty = (d[k].cuda() for k in ("latents", "table", "index", "empty"))
    unet = build_unet(Recipe(**{k: tuple(v) if isinstance(v, list) else v for k, v in (arch or {}).items()}))
    unet = unet.cuda()
    alphas = _alphas_cumprod().cuda()
    ema_unet = copy.deepcopy(unet).eval().requires_grad_(False)
    opt = torch.optim.AdamW(unet.parameters(), lr=lr, weight_decay=0.01)
    gen = torch.Generator(device="cuda").manual_seed(0)
    n, k = index.shape
    t0, results = time.time(), []
    for step in range(steps):
        for g in opt.param_groups:
            g["lr"] = _lr(step, steps, lr, warmup)
        idx = torch.randint(0, n, (batch,), generator=gen, device="cuda")
        which = torch.randint(0, k, (batch,), generator=gen, device="cuda")
        context = table[index[idx, which]].float()
        context[torch.rand(batch, generator=gen, device="cuda") < 0.1] = empty
        x0 = lat[idx]
        t = torch.randint(0, 1000, (batch,), generator=gen, device="cuda")
        noise = torch.randn(x0.shape, generator=gen, device="cuda")
        a = alphas[t].view(batch, 1, 1, 1)
        xt = a.sqrt() * x0 + (1 - a).sqrt() * noise
        with torch.autocast("cuda", dtype=torch.bfloat16):
            pred = unet(xt, t, encoder_hidden_states=context).sample.float()
        s = alphas[t] / (1 - alphas[t])
        loss = (torch.clamp(s, max=snr) / s * (pred - noise).pow(2).mean(dim=(1, 2, 3))).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(unet.parameters(), 1.0)
        opt.step()
        decay = min(ema, (1 + step) / (10 + step))
        with torch.no_grad():
            torch._foreach_lerp_(list(ema_unet.parameters()), list(unet.parameters()), 1 - decay)
        last = step + 1 == steps or time.time() - t0 > limit_s
        if step + 1 in checkpoints or last:
            folder = ROOT / name / str(step + 1)
            shutil.copytree(BUILTIN, folder, dirs_exist_ok=True, ignore=shutil.ignore_patterns("unet"))
            ema_unet.save_pretrained(folder / "unet")
            r = evaluate(folder, n=200 if last else 100)
            rec = {"variant": name, "step": step + 1, "samples": (step + 1) * batch,
                   "train_s": round(time.time() - t0, 1), "acc": r["attribute_accuracy"],
                   "per": r["per_attribute"]}
            if last:
                rec["draft"] = evaluate(folder, n=200, draft=True)["per_attribute"]
            print(json.dumps(rec), flush=True)
            results.append(rec)
        if last:
            break
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--scenes", type=int, default=8000)
    p.add_argument("--tag", default="s8k")
    p.add_argument("--landscape", type=float, default=0.4)
    t = sub.add_parser("train")
    t.add_argument("spec", help="JSON keyword arguments of train()")
    args = parser.parse_args()
    if args.cmd == "prepare":
        print(prepare(args.scenes, args.tag, args.landscape))
    else:
        train(**json.loads(args.spec))


if __name__ == "__main__":
    main()
