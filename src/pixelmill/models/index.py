"""A model folder's identity and shape, read from its JSON files without importing torch.

One reader (:func:`read_model_index`) serves both sides of the queue: the model backend
(:class:`pixelmill.models.diffusers_backend.DiffusersModel`, whose ``info`` is built from it) and
the gateway (which validates sizes and steps and tags each job with the ``model_id`` that workers
claim by). Since both read the same folder with the same rules, they agree on the id.

Files read from a diffusers-format folder (see :mod:`pixelmill.models.diffusers_backend`):

- ``model_index.json`` (required); optional pixelmill keys: ``pixelmill_model_id`` (the id;
  default: the folder's name), ``pixelmill_default_steps`` (default 30),
  ``pixelmill_native_size`` ([w, h]; default: the UNet's sample size x the VAE's scale).
- ``unet/config.json`` (required): ``down_block_types``, ``sample_size``, ``in_channels``.
- ``vae/config.json`` (optional; without it the model is pixel-space): ``block_out_channels``.

Keys missing from a config take diffusers' defaults for those classes.

Which folder a deployment runs when none is configured (:func:`default_model_location`): the
built-in model in ``models/builtin/`` when it is shipped (has ``model_index.json``), else the tiny
random-weight model under ``$PIXELMILL_HOME/models/tiny``, whose id is :data:`TINY_ID` (it is
written on first use by :func:`pixelmill.models.default_model_path`, which needs torch).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pixelmill.config import home

BUILTIN_DIR = Path(__file__).parent / "builtin"
"""Where the shipped built-in model lives (it is shipped when it has ``model_index.json``)."""

TINY_ID = "tiny-random-sd"
"""The id of the tiny random-weight model (:mod:`pixelmill.models.tiny`)."""

# diffusers' defaults for keys a config.json may omit.
_UNET_DOWN_BLOCKS = ("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D")
_VAE_BLOCK_OUT = (64,)


class ModelLoadError(RuntimeError):
    """A model folder that cannot be loaded; the message says which file is missing or wrong."""


@dataclass(frozen=True)
class ModelIndex:
    """What a model folder says about itself.

    - ``model_id``: the id jobs are tagged with and workers claim by.
    - ``native_size``: (width, height) in pixels the model was trained at.
    - ``multiple``: width and height must be multiples of this (latent scale x UNet downsampling).
    - ``latent_scale``: pixels per latent cell (1 for a pixel-space model without ``vae/``).
    - ``latent_channels``: channels of the latents (the UNet's ``in_channels``).
    - ``default_steps``: steps a job runs when the prompt does not say.
    - ``raw``: the parsed ``model_index.json`` (for backend-specific keys).
    """

    model_id: str
    native_size: tuple[int, int]
    multiple: int
    latent_scale: int
    latent_channels: int
    default_steps: int
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


def _json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"{path}: not readable JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise ModelLoadError(f"{path}: expected a JSON object")
    return data


def read_model_index(path: str | Path) -> ModelIndex:
    """Read a diffusers-format model folder's id and shape (see the module docstring).

    Raises :class:`ModelLoadError` naming the missing or malformed file."""
    root = Path(path)
    index_file = root / "model_index.json"
    if not index_file.is_file():
        raise ModelLoadError(f"{root} is not a diffusers model folder: {index_file} is missing")
    if not (root / "unet").is_dir():
        raise ModelLoadError(f"model folder {root} has no unet/ folder")
    if not (root / "unet" / "config.json").is_file():
        raise ModelLoadError(f"model folder {root} has no unet/config.json")
    index = _json(index_file)
    unet = _json(root / "unet" / "config.json")
    vae = _json(root / "vae" / "config.json") if (root / "vae" / "config.json").is_file() else None
    try:
        scale = 2 ** (len(vae.get("block_out_channels") or _VAE_BLOCK_OUT) - 1) if vae is not None else 1
        multiple = scale * 2 ** (len(unet.get("down_block_types") or _UNET_DOWN_BLOCKS) - 1)
        sample = unet.get("sample_size") or 64
        sample = sample if isinstance(sample, int) else sample[0]
        native = index.get("pixelmill_native_size") or [sample * scale, sample * scale]
        return ModelIndex(
            model_id=str(index.get("pixelmill_model_id") or root.resolve().name),
            native_size=(int(native[0]), int(native[1])),
            multiple=int(multiple),
            latent_scale=int(scale),
            latent_channels=int(unet.get("in_channels", 4)),
            default_steps=int(index.get("pixelmill_default_steps", 30)),
            raw=index,
        )
    except (TypeError, ValueError, IndexError) as exc:
        raise ModelLoadError(f"model folder {root}: bad shape keys in its JSON files ({exc})") from exc


def default_model_location(builtin: Path = BUILTIN_DIR) -> Path:
    """The folder used when no model is configured: ``builtin`` if shipped, else the tiny
    model's folder (which may not exist yet)."""
    if (builtin / "model_index.json").is_file():
        return builtin
    return home() / "models" / "tiny"


def configured_model_location(model_path: str | Path | None) -> Path:
    """The folder a worker loads for this setting (``Settings.model_path``; empty or None: the
    default, :func:`default_model_location`)."""
    return Path(model_path) if model_path else default_model_location()
