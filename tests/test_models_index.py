"""The torch-free model index reader: one reading of a model folder for the backend and the
gateway, so the id a gateway tags jobs with is the id a worker of the same folder claims."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pixelmill.config import Settings
from pixelmill.models.index import TINY_ID, ModelIndex, ModelLoadError, read_model_index


def test_importing_the_gateway_model_reader_does_not_import_torch() -> None:
    code = (
        "import sys\n"
        "import pixelmill.gateway.model, pixelmill.models.index, pixelmill.models\n"
        "from pixelmill.models.index import read_model_index\n"
        f"print(read_model_index({str(_folder_only_json())!r}).model_id)\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
        "assert 'diffusers' not in sys.modules, 'diffusers was imported'\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "json-only"


def _folder_only_json() -> Path:
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="pixelmill-index-")) / "json-only"
    _write(root, {}, {"down_block_types": ["A", "B", "C"], "sample_size": 32, "in_channels": 4},
           {"block_out_channels": [8, 16, 16, 16]})
    return root


def _write(root: Path, index: dict, unet: dict, vae: dict | None) -> Path:
    (root / "unet").mkdir(parents=True)
    (root / "model_index.json").write_text(json.dumps(index))
    (root / "unet" / "config.json").write_text(json.dumps(unet))
    if vae is not None:
        (root / "vae").mkdir()
        (root / "vae" / "config.json").write_text(json.dumps(vae))
    return root


def test_shape_and_id_from_the_json_files(tmp_path: Path) -> None:
    latent = read_model_index(_write(tmp_path / "sd-like", {},
                                     {"down_block_types": ["A", "B", "C", "D"], "sample_size": 64,
                                      "in_channels": 4}, {"block_out_channels": [1, 2, 3, 4]}))
    assert latent == ModelIndex(model_id="sd-like", native_size=(512, 512), multiple=64, latent_scale=8,
                                latent_channels=4, default_steps=30)
    pixel = read_model_index(_write(tmp_path / "px", {
        "pixelmill_model_id": "px-model", "pixelmill_default_steps": 12, "pixelmill_native_size": [48, 32],
    }, {"down_block_types": ["A", "B"], "sample_size": [16, 16], "in_channels": 3}, None))
    assert pixel == ModelIndex(model_id="px-model", native_size=(48, 32), multiple=2, latent_scale=1,
                               latent_channels=3, default_steps=12)
    assert pixel.raw["pixelmill_default_steps"] == 12


def test_bad_folders_say_which_file_to_fix(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match=r"model_index\.json is missing"):
        read_model_index(tmp_path)
    (tmp_path / "model_index.json").write_text("{}")
    with pytest.raises(ModelLoadError, match="has no unet/ folder"):
        read_model_index(tmp_path)
    (tmp_path / "unet").mkdir()
    with pytest.raises(ModelLoadError, match=r"has no unet/config\.json"):
        read_model_index(tmp_path)
    (tmp_path / "unet" / "config.json").write_text("{not json")
    with pytest.raises(ModelLoadError, match=r"unet/config\.json: not readable JSON"):
        read_model_index(tmp_path)


def test_backend_info_and_gateway_shape_come_from_the_same_reading() -> None:
    from pixelmill.gateway.model import deployment_shape
    from pixelmill.models import default_model_path, load_model

    settings = Settings()  # no model configured: the default model (tiny, unless built-in ships)
    shape = deployment_shape(settings, create=True)  # writes the tiny model if needed
    info = load_model().info  # what a worker of these settings runs
    index = read_model_index(default_model_path())
    assert shape.model_id == info.model_id == index.model_id
    assert (info.native_size, info.multiple, info.latent_scale, info.default_steps) == (
        index.native_size, index.multiple, index.latent_scale, index.default_steps)
    assert (shape.native_size, shape.multiple, shape.base_steps) == (
        min(info.native_size), info.multiple, info.default_steps)


def test_gateway_without_a_model_folder_uses_the_tiny_id(tmp_path: Path, monkeypatch) -> None:
    import pixelmill.models.index as index_mod
    from pixelmill.gateway.model import deployment_shape

    monkeypatch.setenv("PIXELMILL_HOME", str(tmp_path))
    monkeypatch.setattr(index_mod.default_model_location, "__defaults__", (tmp_path / "no-builtin",))
    assert deployment_shape(Settings(), create=False).model_id == TINY_ID
