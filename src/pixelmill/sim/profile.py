"""Service profiles: how long one batched denoising step takes on one GPU.

A profile is a JSON table (``sim/profiles/NAME.json``): for each resolution, the step time in
milliseconds at a few batch sizes (samples in the batch). The engine makes one batched model call
per (model, resolution) group per iteration, so a GPU whose batch mixes resolutions pays the sum
of each group's step time. Between the listed batch sizes the time is interpolated linearly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

RESOLUTIONS: tuple[int, ...] = (512, 768, 1024)
"""Resolutions the simulator models; a job's resolution is an index into this tuple."""


class ProfileError(ValueError):
    """A profile file is missing or malformed (the message says which field to fix)."""


@dataclass(frozen=True)
class ServiceProfile:
    """A step-time table.

    - ``step_s[r][n]``: seconds for one step of ``n`` samples at resolution ``RESOLUTIONS[r]``
      (``n`` from 0 to ``max_samples``; ``step_s[r][0] == 0``).
    - ``checkpoint_write_s``: GPU time one job's checkpoint write costs (on the batch's path).
    - ``source``: "measured" or "estimate", with ``estimate_basis`` saying how.
    """

    name: str
    max_samples: int
    step_s: tuple[tuple[float, ...], ...]
    checkpoint_write_s: float
    source: str
    estimate_basis: str

    def images_per_s(self, resolution: int, batch: int, steps: int = 50) -> float:
        """Throughput of one GPU running ``batch`` samples of ``steps`` steps back to back."""
        r = RESOLUTIONS.index(resolution)
        return batch / (self.step_s[r][batch] * steps)

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> ServiceProfile:
        try:
            max_samples = int(data["max_samples"])  # type: ignore[arg-type]
            sizes = [int(b) for b in data["batch_sizes"]]  # type: ignore[attr-defined]
            table = data["step_ms"]
            assert isinstance(table, dict)
            rows = []
            for res in RESOLUTIONS:
                ms = [float(x) for x in table[str(res)]]
                if len(ms) != len(sizes):
                    raise ProfileError(f"step_ms[{res}] has {len(ms)} values for {len(sizes)} batch_sizes")
                rows.append(tuple(_interpolate(sizes, ms, n) / 1000.0 for n in range(max_samples + 1)))
        except KeyError as exc:
            raise ProfileError(f"profile is missing field {exc}; see sim/profiles/*.json") from exc
        if sizes != sorted(sizes) or sizes[0] < 1 or sizes[-1] < max_samples:
            raise ProfileError("batch_sizes must ascend from >= 1 and reach max_samples")
        return cls(
            name=str(data.get("name", "custom")),
            max_samples=max_samples,
            step_s=tuple(rows),
            checkpoint_write_s=float(data.get("checkpoint_write_ms", 0.0)) / 1000.0,  # type: ignore[arg-type]
            source=str(data.get("source", "estimate")),
            estimate_basis=str(data.get("estimate_basis", "")),
        )


def _interpolate(xs: list[int], ys: list[float], x: int) -> float:
    if x == 0:
        return 0.0
    if x <= xs[0]:
        return ys[0] * x / xs[0]
    for i in range(len(xs) - 1):
        if xs[i] <= x <= xs[i + 1]:
            return ys[i] + (ys[i + 1] - ys[i]) * (x - xs[i]) / (xs[i + 1] - xs[i])
    return ys[-1] * x / xs[-1]


def builtin_profiles() -> list[str]:
    """Names of the profiles shipped in ``pixelmill/sim/profiles``."""
    folder = resources.files("pixelmill.sim") / "profiles"
    return sorted(p.name[: -len(".json")] for p in folder.iterdir() if p.name.endswith(".json"))


def load_profile(name_or_path: str) -> ServiceProfile:
    """Load a shipped profile by name (e.g. ``sd15-datacenter``) or a JSON file by path."""
    path = Path(name_or_path)
    if path.suffix == ".json" and path.exists():
        text = path.read_text()
    else:
        if name_or_path not in builtin_profiles():
            raise ProfileError(f"unknown profile {name_or_path!r}; shipped: {', '.join(builtin_profiles())}, "
                               "or pass a path to a JSON file")
        text = (resources.files("pixelmill.sim") / "profiles" / f"{name_or_path}.json").read_text()
    return ServiceProfile.from_dict(json.loads(text))
