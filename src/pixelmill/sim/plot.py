"""``--plot``: one PNG per scenario run — p95 queue wait by lane over time for each policy (log
scale, one panel per policy; solid: p95 wait of the jobs claimed in each bucket, dotted: age of
the lane's oldest queued job, which shows a lane that is not being served at all) and
utilisation over time for every policy (bottom panel; dashed: the scenario's other variant)."""

from __future__ import annotations

from pathlib import Path

from pixelmill.sim.metrics import series
from pixelmill.sim.scenarios import ScenarioRun, plot_series

LANE_COLOURS = {
    "turbo": "#9467bd", "pro": "#d62728", "paid": "#ff7f0e", "free": "#1f77b4", "relax": "#2ca02c"}


def write_plot(run: ScenarioRun, path: str | Path) -> Path:
    """Write the PNG and return its path (matplotlib with the Agg backend: no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = plot_series(run)
    policies = list(data)
    fig, axes = plt.subplots(len(policies) + 1, 1, figsize=(8, 2.1 * (len(policies) + 1)), sharex=True)
    for ax, policy in zip(axes, policies, strict=False):
        s = data[policy]
        minutes = [t / 60 for t in s["t"]]  # type: ignore[union-attr]
        ticks = [t / 60 for t in s["tick_t"]]  # type: ignore[union-attr]
        for lane, values in s["p95"].items():  # type: ignore[union-attr]
            ax.plot(minutes, [max(v, 0.01) for v in values], label=lane, color=LANE_COLOURS[lane], lw=1.3)
            ages = s["oldest"][lane]  # type: ignore[index]
            if max(ages, default=0.0) > 1.0:
                ax.plot(ticks, [a if a > 1.0 else float("nan") for a in ages], color=LANE_COLOURS[lane],
                        lw=0.9, ls=":")
        ax.set_yscale("log")
        ax.set_ylim(0.01, None)
        ax.set_ylabel("p95 wait (s)")
        ax.set_title(f"{run.scenario.name} / {run.scenario.variants[0].name}: {policy}", fontsize=9)
        ax.grid(alpha=0.3)
    axes[0].legend(ncol=5, fontsize=7, loc="upper left")
    ax = axes[-1]
    for policy in policies:
        s = data[policy]
        ax.plot([t / 60 for t in s["util_t"]], s["util"], label=policy, lw=1.2)  # type: ignore[union-attr]
    headline = run.scenario.variants[0].name
    for variant, results in run.runs.items():
        if variant == headline:
            continue
        policy = "pixelmill" if "pixelmill" in results else next(iter(results))
        s = series(results[policy], 60.0)
        ax.plot([t / 60 for t in s["util_t"]], s["util"], label=f"{policy} [{variant}]",  # type: ignore[union-attr]
                lw=1.0, ls="--", color="black")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("utilisation")
    ax.set_xlabel("simulated minutes")
    ax.legend(fontsize=7, loc="lower left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=72)
    plt.close(fig)
    _shrink(out)
    return out


def _shrink(path: Path) -> None:
    """Re-save with a 64-colour palette: line plots lose nothing visible and the file is ~3x smaller."""
    from PIL import Image

    with Image.open(path) as img:
        small = img.convert("RGB").quantize(colors=64)
    small.save(path, optimize=True)
