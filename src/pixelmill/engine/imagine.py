"""``pixelmill imagine``: one job on the local machine, written as PNGs.

Writes ``<seed>_<i>.png`` for each image and ``<seed>_grid.png`` (2x2 for four images), each
carrying PNG text chunks ``prompt``, ``parameters`` (JSON of the generation settings),
``seed`` (that image's seed) and ``model``.
"""

from __future__ import annotations

import json
import math
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from PIL import Image, PngImagePlugin

from pixelmill.engine.core import Engine
from pixelmill.engine.request import MAX_SEED, Completed, Failed, Progress, request_from_settings
from pixelmill.models.base import DiffusionModel


class ImagineError(RuntimeError):
    """The job failed in the engine (the message says why)."""


@dataclass(frozen=True)
class ImagineResult:
    images: list[Path]
    grid: Path
    seed: int
    steps: int
    seconds: float


ProgressFn = Callable[[int, int, int], None]
"""Called as ``progress(steps_done, steps_total, n_images)`` after each step."""


def imagine(
    prompt: str,
    out_dir: str | Path,
    model: DiffusionModel,
    *,
    progress: ProgressFn | None = None,
    sampler: str = "euler",
) -> ImagineResult:
    """Parse ``prompt`` (raises ``pixelmill.prompt.PromptError``), run it, write the PNGs."""
    from pixelmill.prompt import parse

    info = model.info
    spec = parse(prompt)
    settings = spec.settings(
        base_steps=info.default_steps, native_size=info.native_size[0], multiple=info.multiple
    )
    seed = settings.seed if settings.seed is not None else secrets.randbelow(MAX_SEED + 1)
    request = request_from_settings(
        settings,
        job_id=f"local-{uuid.uuid4().hex[:12]}",
        seed=seed,
        step_budget=settings.steps,  # a local run: the user's own machine, no tier cap
        model_id=info.model_id,
        sampler=sampler,  # type: ignore[arg-type]
    )
    engine = Engine(model, max_batch=request.n_images, checkpoints=None)
    started = time.perf_counter()
    engine.submit(request)
    result: Completed | None = None
    while engine.has_work:
        for event in engine.step():
            if isinstance(event, Progress) and progress is not None:
                progress(event.step, event.total, request.n_images)
            elif isinstance(event, Failed):
                raise ImagineError(event.message)
            elif isinstance(event, Completed):
                result = event
    seconds = time.perf_counter() - started
    if result is None:
        raise ImagineError("the engine finished without a result")

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    params = json.dumps(asdict(settings) | {"seed": seed, "sampler": sampler}, sort_keys=True)
    paths = []
    for i, (image, image_seed) in enumerate(zip(result.images, request.seeds, strict=True)):
        path = out / f"{seed}_{i}.png"
        _save(image, path, prompt, params, image_seed, info.model_id)
        paths.append(path)
    grid_path = out / f"{seed}_grid.png"
    _save(make_grid(result.images), grid_path, prompt, params, seed, info.model_id)
    return ImagineResult(paths, grid_path, seed, result.steps, seconds)


def make_grid(images: list[Image.Image]) -> Image.Image:
    """Tile images row by row in a near-square grid (2x2 for four)."""
    cols = math.ceil(math.sqrt(len(images)))
    rows = math.ceil(len(images) / cols)
    w, h = images[0].size
    grid = Image.new("RGB", (cols * w, rows * h))
    for i, im in enumerate(images):
        grid.paste(im, ((i % cols) * w, (i // cols) * h))
    return grid


def _save(image: Image.Image, path: Path, prompt: str, params: str, seed: int, model_id: str) -> None:
    meta = PngImagePlugin.PngInfo()
    meta.add_text("prompt", prompt)
    meta.add_text("parameters", params)
    meta.add_text("seed", str(seed))
    meta.add_text("model", model_id)
    image.save(path, pnginfo=meta)
