"""Loss curves of a training run (``training.json`` -> PNG), for the docs and the model card."""

from __future__ import annotations

import json
from pathlib import Path


def plot_loss(training_json: str | Path, png: str | Path) -> Path:
    """Plot the autoencoder and UNet loss curves of one run side by side (plus the decoder
    fine-tuning and any continuation stages when the run has them)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    run = json.loads(Path(training_json).read_text())
    panels = [("ae_loss", "autoencoder (L1 + MSE)"), ("unet_loss", "UNet (min-SNR eps MSE)")]
    if run.get("decoder_loss"):
        panels.append(("decoder_loss", "decoder fine-tuning (L1 + MSE)"))
    for i, stage in enumerate(run.get("continued") or []):
        run[f"continued_{i}"] = stage.get("unet_loss") or []
        panels.append((f"continued_{i}", f"UNet continuation {i + 1}"))
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3.2), dpi=80)
    for ax, (key, title) in zip(axes, panels, strict=True):
        points = run.get(key) or []
        if points:
            ax.plot([p[0] for p in points], [p[1] for p in points])
        ax.set_title(title)
        ax.set_xlabel("step")
        ax.set_yscale("log")
        ax.grid(alpha=0.3)
    secs = run.get("seconds", {})
    total = secs.get("total_sequential", secs.get("total", 0)) + sum(
        c.get("seconds", 0) for c in run.get("continued") or []
    )
    threads = int(run.get("threads", 1))
    fig.suptitle(
        f"pixelmill built-in model, seed {run.get('seed')}: {total / 60:.0f} min wall time, "
        f"{threads} torch thread{'s' if threads > 1 else ''} on a 2-core CPU"
    )
    fig.tight_layout()
    out = Path(png)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out
