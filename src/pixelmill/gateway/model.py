"""What the gateway must know of the deployment's model, read from the model folder's JSON.

The gateway validates ``--ar``, steps and budgets before a job is queued, and stamps the job with
the ``model_id`` the workers claim by, so it needs the model's id, native size, size multiple and
default steps, but not the model itself: this module reads them from the diffusers folder's
config files (``model_index.json``, ``unet/config.json``, ``vae/config.json``) with the same rules
as :class:`pixelmill.models.diffusers_backend.DiffusersModel`, without importing torch.

Which folder: ``Settings.model_path`` if set, else the shipped built-in model, else the tiny
model under ``$PIXELMILL_HOME/models/tiny`` (created by :func:`pixelmill.models.default_model_path`
when ``create`` is true, as the embedded worker would on its first start).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pixelmill
from pixelmill.config import Settings, home
from pixelmill.gateway.submit import ModelShape

BUILTIN_DIR = Path(pixelmill.__file__).parent / "models" / "builtin"


def _json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def shape_from_folder(root: Path) -> ModelShape:
    """The :class:`ModelShape` of a diffusers-format model folder."""
    index = _json(root / "model_index.json")
    unet = _json(root / "unet" / "config.json")
    vae_cfg = root / "vae" / "config.json"
    scale = 2 ** (len(_json(vae_cfg)["block_out_channels"]) - 1) if vae_cfg.is_file() else 1
    multiple = scale * 2 ** (len(unet["down_block_types"]) - 1)
    sample = unet["sample_size"]
    sample = sample if isinstance(sample, int) else sample[0]
    native = index.get("pixelmill_native_size") or [sample * scale, sample * scale]
    return ModelShape(
        model_id=str(index.get("pixelmill_model_id") or root.resolve().name),
        native_size=int(min(native[0], native[1])),
        multiple=int(multiple),
        base_steps=int(index.get("pixelmill_default_steps", 30)),
    )


def model_folder(settings: Settings, *, create: bool) -> Path | None:
    """The folder the workers load (see the module docstring); None if it does not exist yet
    and ``create`` is false."""
    if settings.model_path:
        return Path(settings.model_path)
    if (BUILTIN_DIR / "model_index.json").is_file():
        return BUILTIN_DIR
    tiny = home() / "models" / "tiny"
    if (tiny / "model_index.json").is_file():
        return tiny
    if create:
        from pixelmill.models import default_model_path

        return default_model_path()
    return None


def deployment_shape(settings: Settings, *, create: bool) -> ModelShape:
    """The model shape of this deployment; the tiny model's values when no folder exists yet
    (a worker-less gateway started before any worker wrote the tiny model)."""
    folder = model_folder(settings, create=create)
    if folder is None:
        return ModelShape(model_id="tiny-random-sd", native_size=64, multiple=8, base_steps=20)
    return shape_from_folder(folder)
