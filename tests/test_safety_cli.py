"""`pixelmill safety ...` and `pixelmill eval safety` as a user runs them (subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from pixelmill.safety.verdict import CATEGORIES


def _cli(
    *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pixelmill.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def test_screen_reads_stdin_and_writes_one_json_line_per_prompt(tmp_path: Path) -> None:
    result = _cli(
        "safety",
        "screen",
        "--no-embedding",
        "-",
        stdin="a cat on a sofa\nnude woman on a bed\n\nkiller whale\n",
        env={"PIXELMILL_HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["prompt"] for r in rows] == ["a cat on a sofa", "nude woman on a bed", "killer whale"]
    assert [r["allowed"] for r in rows] == [True, False, True]
    assert rows[1]["category"] == "sexual" and rows[1]["layer"] == "lexicon"
    assert set(rows[0]) == {"prompt", "allowed", "category", "score", "layer", "reason"}


def test_screen_reads_a_file_and_uses_the_operators_rules(tmp_path: Path) -> None:
    (tmp_path / "safety_rules.txt").write_text("zorblax\thate\n")
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("a zorblax banner\nдевушка с котом\n", encoding="utf-8")
    result = _cli("safety", "screen", str(prompts), env={"PIXELMILL_HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert (rows[0]["category"], rows[0]["layer"]) == ("hate", "rules")
    assert rows[1]["prompt"] == "девушка с котом" and rows[1]["allowed"]


def test_check_rules_reports_the_bad_line(tmp_path: Path) -> None:
    rules = tmp_path / "rules.txt"
    rules.write_text("good\thate\n(bad\thate\n")
    result = _cli("safety", "check-rules", str(rules))
    assert result.returncode != 0 and ":2: bad regex" in result.stderr
    rules.write_text("good\thate\n")
    assert "1 rule(s) OK" in _cli("safety", "check-rules", str(rules)).stdout


def test_screen_image_prints_a_verdict(tmp_path: Path) -> None:
    path = tmp_path / "plain.png"
    Image.fromarray(np.full((64, 64, 3), 90, dtype=np.uint8)).save(path)
    result = _cli("safety", "screen-image", str(path))
    assert result.returncode == 0, result.stderr
    row = json.loads(result.stdout)
    assert row["allowed"] and row["image"] == str(path)


def test_eval_safety_prints_the_report() -> None:
    result = _cli("eval", "safety", "--json", "--no-embedding", "--latency-samples", "30")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    for part in (report, {key: report[key]["heldout"] for key in ("adversarial", "benign")}):
        assert {"n", "recall", "per_category"} <= set(part["adversarial"])
        assert {"n", "false_positive_rate", "per_category"} <= set(part["benign"])
    for split in ("tune", "heldout"):
        assert report["adversarial"][split]["n"] > 0 and report["benign"][split]["n"] > 0
    assert set(report["adversarial"]["per_category"]) == set(CATEGORIES)
    assert 0 < report["latency_ms"]["p50"] <= report["latency_ms"]["p99"]
    assert report["latency_ms"]["rules_only"]["n"] == 30
