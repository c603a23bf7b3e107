"""``pixelmill imagine`` end to end in a subprocess, and ``pixelmill models make-tiny``."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from click.testing import CliRunner
from PIL import Image

from pixelmill.cli import main
from tests.engine_support import tiny_path


def imagine(*args: str, home: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PIXELMILL_HOME": home, "PIXELMILL_TORCH_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-m", "pixelmill.cli", "imagine", *args],
        capture_output=True, text=True, env=env, timeout=240, check=False,
    )


def test_imagine_writes_four_images_a_grid_and_json(tmp_path) -> None:
    out = tmp_path / "out"
    proc = imagine("a lighthouse at dusk --seed 42 --ar 2:1 --q .5", "--out", str(out),
                   "--model", str(tiny_path()), "--json", home=str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["seed"] == 42 and result["steps"] == 10 and result["seconds"] > 0
    assert len(result["images"]) == 4
    sizes = {Image.open(p).size for p in result["images"]}
    assert len(sizes) == 1
    (w, h), = sizes
    assert abs(w / h - 2) < 0.2  # --ar 2:1, sides rounded to the model's multiple
    grid = Image.open(result["grid"])
    assert grid.size == (2 * w, 2 * h)
    meta = Image.open(result["images"][1]).text
    assert meta["prompt"] == "a lighthouse at dusk --seed 42 --ar 2:1 --q .5"
    assert meta["seed"] == "43" and meta["model"] == "tiny-random-sd"
    assert json.loads(meta["parameters"])["steps"] == 10
    assert "10/10 steps" in proc.stderr and "img4 10/10" in proc.stderr  # the progress bar


def test_imagine_default_model_works_without_download(tmp_path) -> None:
    out = str(tmp_path / "o")
    proc = imagine("a red cube --seed 1 --stop 20", "--out", out, "--json", home=str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["seed"] == 1 and len(result["images"]) == 4


def test_bad_prompt_exits_2_with_the_parser_message(tmp_path) -> None:
    result = CliRunner().invoke(main, ["imagine", "a cat --chaos 500", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "chaos" in result.stderr and "100" in result.stderr
    assert not (tmp_path / "o").exists()  # nothing written


def test_a_folder_that_is_not_a_model_exits_2(tmp_path) -> None:
    args = ["imagine", "a cat", "--out", str(tmp_path / "o"), "--model", str(tmp_path)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2  # an uncaught load error would exit 1 with a traceback
    assert "model_index.json is missing" in result.stderr


def test_models_make_tiny(tmp_path) -> None:
    result = CliRunner().invoke(main, ["models", "make-tiny", str(tmp_path / "m")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "m" / "model_index.json").is_file()
    assert (tmp_path / "m" / "unet" / "config.json").is_file()


def test_imagine_uses_pixelmill_model_when_no_model_flag(tmp_path, monkeypatch) -> None:
    """``PIXELMILL_MODEL`` picks the model, as it does for the service (here: the tiny model)."""
    monkeypatch.setenv("PIXELMILL_MODEL", str(tiny_path()))
    proc = imagine("a red cube --seed 5 --stop 20", "--out", str(tmp_path / "o"), "--json",
                   home=str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    meta = Image.open(json.loads(proc.stdout)["images"][0]).text
    assert meta["model"] == "tiny-random-sd"


def test_imagine_tells_users_what_the_builtin_model_knows(tmp_path) -> None:
    proc = imagine("sunset over the mountains --seed 1 --stop 20", "--out", str(tmp_path / "o"),
                   home=str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "built-in model" in proc.stderr and "circle" in proc.stderr
