"""Model backends behind one Protocol (:class:`~pixelmill.models.base.DiffusionModel`).

- :func:`load_model` opens a diffusers-format folder (:mod:`pixelmill.models.diffusers_backend`).
- :func:`default_model_path` resolves the model used when none is configured: the built-in
  model in ``models/builtin/`` when it is shipped (has ``model_index.json``), else the tiny
  random-weight model, written on demand to ``$PIXELMILL_HOME/models/tiny``.
"""

from __future__ import annotations

import os
from pathlib import Path

from pixelmill.models.base import Conditioning, DiffusionModel, ModelInfo

BUILTIN_DIR = Path(__file__).parent / "builtin"


def default_model_path() -> Path:
    """The default model folder (built-in if shipped, else the tiny model, made on first use)."""
    if (BUILTIN_DIR / "model_index.json").is_file():
        return BUILTIN_DIR
    import shutil

    from pixelmill.config import home
    from pixelmill.models.tiny import is_current_tiny, make_tiny

    tiny = home() / "models" / "tiny"
    if not is_current_tiny(tiny):
        # Write to a sibling temp folder then rename, so a crash never leaves half a model.
        tmp = tiny.with_name(f".tiny-{os.getpid()}")
        make_tiny(tmp)
        if tiny.exists() and not is_current_tiny(tiny):
            shutil.rmtree(tiny, ignore_errors=True)  # an older tiny version
        try:
            tmp.rename(tiny)
        except OSError:  # another process won the race: use theirs
            shutil.rmtree(tmp, ignore_errors=True)
    return tiny


def configure_threads() -> int:
    """Set torch's intra-op threads from ``$PIXELMILL_TORCH_THREADS``; by default 1 on machines
    with 2 or fewer cores (small models there lose far more to thread contention than they gain).
    Returns the thread count in force. Call once per process, before the first model call."""
    import torch

    wanted = os.environ.get("PIXELMILL_TORCH_THREADS")
    if wanted:
        torch.set_num_threads(max(1, int(wanted)))
    elif (os.cpu_count() or 1) <= 2:
        torch.set_num_threads(1)
    return torch.get_num_threads()


def load_model(path: str | os.PathLike[str] | None = None, *, device: str | None = None) -> DiffusionModel:
    """Load a diffusers-format model folder (``None``: :func:`default_model_path`)."""
    from pixelmill.models.diffusers_backend import DiffusersModel

    return DiffusersModel(default_model_path() if path is None else Path(path), device=device)


__all__ = [
    "BUILTIN_DIR",
    "Conditioning",
    "DiffusionModel",
    "ModelInfo",
    "configure_threads",
    "default_model_path",
    "load_model",
]
