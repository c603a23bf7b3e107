"""Model backends behind one Protocol (:class:`~pixelmill.models.base.DiffusionModel`).

- :func:`load_model` opens a diffusers-format folder (:mod:`pixelmill.models.diffusers_backend`).
- :func:`default_model_path` resolves the model used when none is configured: the built-in
  model in ``models/builtin/`` when it is shipped (has ``model_index.json``), else the tiny
  random-weight model, written on demand to ``$PIXELMILL_HOME/models/tiny``.
- :mod:`pixelmill.models.index` reads a folder's id and shape without torch (the gateway uses it).

Importing this package does not import torch: ``Conditioning``, ``DiffusionModel`` and
``ModelInfo`` are loaded from :mod:`pixelmill.models.base` on first access.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pixelmill.models.index import BUILTIN_DIR, default_model_location

if TYPE_CHECKING:
    from pixelmill.models.base import Conditioning, DiffusionModel, ModelInfo

_FROM_BASE = ("Conditioning", "DiffusionModel", "ModelInfo")


def __getattr__(name: str) -> Any:
    if name in _FROM_BASE:
        from pixelmill.models import base

        return getattr(base, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def default_model_path() -> Path:
    """The default model folder (built-in if shipped, else the tiny model, made on first use)."""
    path = default_model_location(BUILTIN_DIR)
    if path == BUILTIN_DIR:
        return path
    import shutil

    from pixelmill.models.tiny import is_current_tiny, make_tiny

    if not is_current_tiny(path):
        # Write to a sibling temp folder then rename, so a crash never leaves half a model.
        tmp = path.with_name(f".tiny-{os.getpid()}")
        make_tiny(tmp)
        if path.exists() and not is_current_tiny(path):
            shutil.rmtree(path, ignore_errors=True)  # an older tiny version
        try:
            tmp.rename(path)
        except OSError:  # another process won the race: use theirs
            shutil.rmtree(tmp, ignore_errors=True)
    return path


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
