"""Example outputs of a model for the docs: one 2x2 grid PNG per prompt, made exactly as
``pixelmill imagine`` makes them (same engine, same defaults), plus an index with the prompts."""

from __future__ import annotations

import tempfile
from pathlib import Path

from PIL import Image

EXAMPLE_PROMPTS: tuple[tuple[str, str], ...] = (
    ("sunset-mountains-lake", "sunset over the mountains with a lake --seed 1"),
    ("red-circle-above-blue-square", "a red circle above a blue square --seed 1"),
    ("small-yellow-star-top-left", "a small yellow star in the top left on a dark background --seed 1"),
    ("hills-cottage-dawn", "rolling hills with a cottage and trees at dawn --seed 1"),
    ("pink-heart-white", "a large pink heart in the centre on a white background --seed 1"),
    ("sea-at-night", "a meadow with the sea at night --seed 1"),
    ("green-triangle-noon", "a green triangle in a blue sky at noon --seed 1"),
    ("wide-sunset-sea", "sunset over the sea with hills --ar 3:2 --seed 1"),
)


def make_examples(out_dir: str | Path, model_path: str | Path | None = None, *, zoom: int = 3) -> Path:
    """Write ``NAME.png`` (the 2x2 grid, nearest-neighbour zoomed ``zoom`` x) for every example
    prompt and ``README.md`` listing them; return the index path."""
    from pixelmill.engine.imagine import imagine
    from pixelmill.models import load_model

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model = load_model(model_path)
    lines = [
        "# Example outputs of the built-in model",
        "",
        "Each picture is the 2x2 grid `pixelmill imagine PROMPT` writes (default settings: euler,",
        f"{model.info.default_steps} steps, guidance 7.5), zoomed {zoom}x with nearest-neighbour",
        "so the 64x64 pixels stay visible. Regenerate with `python -m pixelmill.training.examples`.",
        "",
    ]
    for name, prompt in EXAMPLE_PROMPTS:
        with tempfile.TemporaryDirectory() as tmp:
            result = imagine(prompt, tmp, model)
            grid = Image.open(result.grid).convert("RGB")
            grid = grid.resize((grid.width * zoom, grid.height * zoom), Image.Resampling.NEAREST)
            grid.save(out / f"{name}.png", optimize=True)
        lines += [f"## `{prompt}`", "", f"![{prompt}]({name}.png)", ""]
    index = out / "README.md"
    index.write_text("\n".join(lines))
    return index


if __name__ == "__main__":
    import torch

    torch.set_num_threads(1)
    print(make_examples(Path("docs/examples")))
