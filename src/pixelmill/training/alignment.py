"""Prompt-alignment eval: an attribute classifier trained on procedural ground truth scores
generated images against the attributes their prompts name (a CLIP stand-in: no CLIP weights
are available offline).

- :class:`AttributeClassifier`: a small CNN with one head per attribute (:data:`HEADS`).
- :func:`train_classifier`: trains it on procedural images (stream "classifier"), with blur,
  noise and colour jitter so it also reads a generator's softer pictures.
- :func:`evaluate_alignment`: ``n`` held-out prompts (stream "holdout", never trained on) ->
  images made through the project's engine -> classifier -> accuracy per attribute.
- :func:`autoencoder_accuracy`: the classifier on real scenes round-tripped through the model's
  autoencoder: the ceiling of a latent model (the built-in model's shape was once capped there).

Scored attributes: for single-object prompts the main object's ``colour`` and ``shape`` (and
``position``, reported but not part of ``attribute_accuracy``); for landscapes ``time`` (of
day) and ``terrain``. ``chance`` is the accuracy of uniform guessing over the same attributes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from pixelmill.training.captions import caption
from pixelmill.training.dataset import scene_rng
from pixelmill.training.scenes import (
    COLOURS,
    POSITIONS,
    SHAPES,
    TERRAINS,
    TIMES,
    Scene,
    render,
    sample_landscape,
    sample_object_scene,
)

HEADS: dict[str, tuple[str, ...]] = {
    "kind": ("object", "landscape"),
    "colour": tuple(COLOURS),
    "shape": SHAPES,
    "position": tuple(POSITIONS),
    "time": TIMES,
    "terrain": TERRAINS,
}
SCORED = ("colour", "shape", "time", "terrain")  # what attribute_accuracy averages
INPUT_SIZE = 64
CLASSIFIER_DIR = Path(__file__).resolve().parent.parent / "models" / "builtin" / "alignment"


def sample_eval_scene(rng: np.random.Generator) -> Scene:
    """The eval's scene mix: 60% single-object scenes, 40% landscapes."""
    return sample_landscape(rng) if rng.random() < 0.4 else sample_object_scene(rng, n_objects=1)


def labels(scene: Scene) -> dict[str, int]:
    """Ground-truth class index per head; heads that do not apply to the scene are absent."""
    out = {"kind": HEADS["kind"].index(scene.kind)}
    if scene.main is not None and len(scene.objects) == 1:
        out["colour"] = HEADS["colour"].index(scene.main.colour)
        out["shape"] = HEADS["shape"].index(scene.main.shape)
        out["position"] = HEADS["position"].index(scene.main.position)
    if scene.time is not None:
        out["time"] = HEADS["time"].index(scene.time)
    if scene.terrain is not None:
        out["terrain"] = HEADS["terrain"].index(scene.terrain)
    return out


class AttributeClassifier(nn.Module):
    """Four conv stages (64 -> 4 px) then one linear head per attribute. Input: ``(B, 3, 64, 64)``
    in [-1, 1] (other sizes are resized by :func:`to_input`)."""

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        w = width
        self.features = nn.Sequential(
            nn.Conv2d(3, w, 3, padding=1),
            nn.BatchNorm2d(w),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(w, 2 * w, 3, padding=1),
            nn.BatchNorm2d(2 * w),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(2 * w, 2 * w, 3, padding=1),
            nn.BatchNorm2d(2 * w),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(2 * w, 2 * w, 3, padding=1),
            nn.BatchNorm2d(2 * w),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(2 * w * 16, 128),
            nn.ReLU(),
        )
        self.heads = nn.ModuleDict({k: nn.Linear(128, len(v)) for k, v in HEADS.items()})

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        h = self.features(x)
        return {k: head(h) for k, head in self.heads.items()}


def to_input(images: list[Image.Image] | np.ndarray) -> torch.Tensor:
    """PIL images or uint8 ``(N, H, W, 3)`` -> ``(N, 3, 64, 64)`` in [-1, 1]."""
    if isinstance(images, np.ndarray):
        arr = images
    else:
        arr = np.stack(
            [
                np.asarray(im.convert("RGB").resize((INPUT_SIZE, INPUT_SIZE), Image.Resampling.BILINEAR))
                for im in images
            ]
        )
    x = torch.from_numpy(np.ascontiguousarray(arr)).permute(0, 3, 1, 2).float() / 127.5 - 1.0
    if x.shape[-1] != INPUT_SIZE or x.shape[-2] != INPUT_SIZE:
        x = F.interpolate(x, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False)
    return x


def _augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Blur, noise and colour jitter: a generator's pictures are softer and noisier."""
    b = x.shape[0]
    k = torch.tensor([1.0, 2.0, 1.0]) / 4
    kernel = (k[:, None] * k[None, :]).expand(3, 1, 3, 3)
    blurred = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), kernel, groups=3)
    mix = torch.rand(b, 1, 1, 1, generator=gen)
    x = x * (1 - mix) + blurred * mix
    x = x * (1 + 0.1 * (torch.rand(b, 3, 1, 1, generator=gen) - 0.5)) + 0.1 * (
        torch.rand(b, 3, 1, 1, generator=gen) - 0.5
    )
    x = x + 0.06 * torch.rand(b, 1, 1, 1, generator=gen) * torch.randn(x.shape, generator=gen)
    return x.clamp(-1, 1)


def _dataset(n: int, seed: int, stream: str) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    rng = scene_rng(seed, stream)
    scenes = [sample_eval_scene(rng) for _ in range(n)]
    x = to_input(np.stack([np.asarray(render(s, INPUT_SIZE)) for s in scenes]))
    ys = {k: torch.full((n,), -100, dtype=torch.long) for k in HEADS}
    for i, s in enumerate(scenes):
        for k, v in labels(s).items():
            ys[k][i] = v
    return x, ys


def train_classifier(
    n: int = 6000, epochs: int = 6, seed: int = 0, log: Callable[[dict[str, Any]], None] | None = None
) -> AttributeClassifier:
    """Train on ``n`` procedural scenes (stream "classifier"); heads ignore absent labels."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    x, ys = _dataset(n, seed, "classifier")
    model = AttributeClassifier()
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-4)
    steps = epochs * (n // 64)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=steps)
    model.train()
    for step in range(steps):
        idx = torch.randint(0, n, (64,), generator=gen)
        out = model(_augment(x[idx], gen))
        loss = sum(
            F.cross_entropy(out[k], ys[k][idx], ignore_index=-100) for k in HEADS if (ys[k][idx] >= 0).any()
        )
        opt.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[union-attr]
        opt.step()
        sched.step()
        if log and (step + 1) % 100 == 0:
            log({"phase": "classifier", "step": step + 1, "loss": float(loss)})
    return model.eval()


@torch.no_grad()
def predict(model: AttributeClassifier, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Class index per head for a batch ``(B, 3, 64, 64)``."""
    model.eval()
    return {k: v.argmax(-1) for k, v in model(x).items()}


def _accuracy(pred: dict[str, torch.Tensor], ys: dict[str, torch.Tensor]) -> dict[str, float]:
    out = {}
    for k in HEADS:
        mask = ys[k] >= 0
        if mask.any():
            out[k] = round(float((pred[k][mask] == ys[k][mask]).float().mean()), 4)
    return out


@torch.no_grad()
def classifier_accuracy(model: AttributeClassifier, n: int = 1000, seed: int = 0) -> dict[str, float]:
    """Accuracy per head on fresh procedural scenes (stream "classifier-test")."""
    x, ys = _dataset(n, seed, "classifier-test")
    return _accuracy(predict(model, x), ys)


@torch.no_grad()
def autoencoder_accuracy(
    model: AttributeClassifier, model_path: str | Path | None = None, n: int = 500, seed: int = 0
) -> dict[str, float] | None:
    """Accuracy per head on the same fresh scenes as :func:`classifier_accuracy` after a round
    trip through the model folder's autoencoder (encode to the posterior mean, decode): the most
    a latent model's images can score whatever its UNet learns. None for a folder without
    ``vae/``."""
    from diffusers import AutoencoderKL

    from pixelmill.models import default_model_path

    folder = Path(model_path) if model_path is not None else default_model_path()
    if not (folder / "vae").is_dir():
        return None
    vae = AutoencoderKL.from_pretrained(folder / "vae", torch_dtype=torch.float32).eval()
    x, ys = _dataset(n, seed, "classifier-test")
    rec = torch.cat(
        [vae.decode(vae.encode(x[i : i + 50]).latent_dist.mean).sample for i in range(0, n, 50)]
    ).clamp(-1, 1)
    return _accuracy(predict(model, rec), ys)


def save_classifier(model: AttributeClassifier, folder: Path = CLASSIFIER_DIR, **meta: Any) -> None:
    """``classifier.safetensors`` + ``classifier.json`` (heads, classes, metadata)."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    save_file(
        {k: v.contiguous() for k, v in model.state_dict().items()}, str(folder / "classifier.safetensors")
    )
    (folder / "classifier.json").write_text(
        json.dumps({"heads": HEADS, "input_size": INPUT_SIZE, **meta}, indent=2)
    )


def load_classifier(folder: Path = CLASSIFIER_DIR) -> AttributeClassifier:
    """The shipped classifier (raises FileNotFoundError naming the missing file)."""
    from safetensors.torch import load_file

    path = folder / "classifier.safetensors"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run `pixelmill train alignment-classifier`")
    model = AttributeClassifier()
    model.load_state_dict(load_file(str(path)))
    return model.eval()


# --- eval ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EvalPrompt:
    """One held-out prompt and the ground truth it names."""

    prompt: str
    truth: dict[str, int]
    seed: int


def holdout_prompts(n: int, seed: int = 0) -> list[EvalPrompt]:
    """``n`` prompts from the "holdout" stream (never in training), one wording each."""
    rng = scene_rng(seed, "holdout")
    out = []
    for i in range(n):
        scene = sample_eval_scene(rng)
        out.append(EvalPrompt(caption(scene, rng), labels(scene), seed=1000 + i))
    return out


def generate(
    model_path: str | Path | None,
    prompts: list[EvalPrompt],
    *,
    steps: int | None,
    guidance: float,
    sampler: str,
    batch: int = 8,
) -> tuple[list[Image.Image], int, float]:
    """Images for ``prompts`` through the project's engine (one image per prompt, its seed).

    Returns (images, steps used, seconds)."""
    from pixelmill.engine import Completed, Engine, Failed, GenerationRequest
    from pixelmill.models import load_model

    model = load_model(model_path)
    steps = steps or model.info.default_steps
    w, h = model.info.native_size
    engine = Engine(model, max_batch=batch, checkpoints=None)
    t0 = time.monotonic()
    for i, p in enumerate(prompts):
        engine.submit(
            GenerationRequest(
                job_id=f"eval-{i}",
                prompt=p.prompt,
                width=w,
                height=h,
                steps=steps,
                step_budget=steps,
                seeds=[p.seed],
                guidance_scale=guidance,
                sampler=sampler,
            )
        )  # type: ignore[arg-type]
    images: dict[str, Image.Image] = {}
    for event in engine.run_until_idle():
        if isinstance(event, Completed):
            images[event.job_id] = event.images[0]
        elif isinstance(event, Failed):
            raise RuntimeError(f"eval job {event.job_id} failed: {event.message}")
    return [images[f"eval-{i}"] for i in range(len(prompts))], steps, time.monotonic() - t0


def score(model: AttributeClassifier, images: list[Image.Image], prompts: list[EvalPrompt]) -> dict[str, Any]:
    """Accuracy per attribute of ``images`` against their prompts' ground truth."""
    pred = predict(model, to_input(images))
    hits: dict[str, list[bool]] = {}
    for i, p in enumerate(prompts):
        for k, v in p.truth.items():
            hits.setdefault(k, []).append(int(pred[k][i]) == v)
    per = {k: round(float(np.mean(v)), 4) for k, v in sorted(hits.items())}
    scored = [(k, h) for k in SCORED for h in hits.get(k, [])]
    acc = float(np.mean([h for _, h in scored])) if scored else 0.0
    chance = float(np.mean([1.0 / len(HEADS[k]) for k, _ in scored])) if scored else 0.0
    counts = {k: len(v) for k, v in sorted(hits.items())}
    return {
        "attribute_accuracy": round(acc, 4),
        "chance": round(chance, 4),
        "per_attribute": per,
        "counts": counts,
    }


def evaluate_alignment(
    n: int = 100,
    *,
    model_path: str | Path | None = None,
    steps: int | None = None,
    draft: bool = False,
    guidance: float = 7.5,
    sampler: str = "euler",
    seed: int = 0,
    save_dir: Path | None = None,
) -> dict[str, Any]:
    """The JSON ``pixelmill eval alignment`` prints (see the module docstring)."""
    prompts = holdout_prompts(n, seed)
    classifier = load_classifier()
    if steps is None and draft:
        from pixelmill.models import load_model

        steps = max(1, load_model(model_path).info.default_steps // 2)
    images, used, seconds = generate(model_path, prompts, steps=steps, guidance=guidance, sampler=sampler)
    if save_dir is not None:
        save_dir.mkdir(parents=True, exist_ok=True)
        for i, (im, p) in enumerate(zip(images, prompts, strict=True)):
            im.save(save_dir / f"{i:03d}.png")
            (save_dir / f"{i:03d}.txt").write_text(p.prompt + "\n")
    result = score(classifier, images, prompts)
    result.update(
        {
            "n": n,
            "steps": used,
            "draft": draft,
            "guidance": guidance,
            "sampler": sampler,
            "seconds": round(seconds, 1),
            "classifier_accuracy": classifier_accuracy(classifier, n=500, seed=seed),
            "autoencoder_accuracy": autoencoder_accuracy(classifier, model_path, n=500, seed=seed),
        }
    )
    return result
