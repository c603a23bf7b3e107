"""What the gateway must know of the deployment's model, read from the model folder's JSON.

The gateway validates ``--ar``, steps and budgets before a job is queued, and stamps the job with
the ``model_id`` the workers claim by, so it needs the model's id, native size, size multiple and
default steps, but not the model itself: :func:`pixelmill.models.index.read_model_index` reads
them from the folder's config files, without importing torch; the workers' model backend builds
its ``info`` with the same function, so gateway and workers agree on the id.

Which folder: the one the workers load (:func:`pixelmill.models.index.configured_model_location`):
``Settings.model_path`` if set, else the shipped built-in model, else the tiny model under
``$PIXELMILL_HOME/models/tiny`` (created by :func:`pixelmill.models.default_model_path` when
``create`` is true, as the embedded worker would on its first start).
"""

from __future__ import annotations

from pathlib import Path

from pixelmill.config import Settings
from pixelmill.gateway.submit import ModelShape
from pixelmill.models.index import TINY_ID, configured_model_location, read_model_index


def shape_from_folder(root: Path) -> ModelShape:
    """The :class:`ModelShape` of a diffusers-format model folder."""
    index = read_model_index(root)
    return ModelShape(
        model_id=index.model_id,
        native_size=min(index.native_size),
        multiple=index.multiple,
        base_steps=index.default_steps,
    )


def model_folder(settings: Settings, *, create: bool) -> Path | None:
    """The folder the workers load (see the module docstring); None if it does not exist yet
    and ``create`` is false."""
    folder = configured_model_location(settings.model_path)
    if settings.model_path or (folder / "model_index.json").is_file():
        return folder
    if create:
        from pixelmill.models import default_model_path

        return default_model_path()
    return None


def deployment_shape(settings: Settings, *, create: bool) -> ModelShape:
    """The model shape of this deployment; the tiny model's values when no folder exists yet
    (a worker-less gateway started before any worker wrote the tiny model)."""
    folder = model_folder(settings, create=create)
    if folder is None:
        return ModelShape(model_id=TINY_ID, native_size=64, multiple=8, base_steps=20)
    return shape_from_folder(folder)
