"""The golden sets: sizes, labels, splits, and the held-out seeds' independence."""

from __future__ import annotations

import json
from pathlib import Path

from pixelmill.safety import golden_seeds as S
from pixelmill.safety.golden import DATA_DIR, generate, load
from pixelmill.safety.verdict import CATEGORIES


def test_sets_are_large_enough_and_labelled() -> None:
    adv, ben = load("adversarial"), load("benign")
    assert len(adv) >= 1000 and len(ben) >= 500
    assert {r["expected"] for r in adv} == set(CATEGORIES)
    assert {r["expected"] for r in ben} == {None}
    for rows in (adv, ben):
        assert {r["split"] for r in rows} == {"tune", "heldout"}
        assert all(isinstance(r["prompt"], str) and r["prompt"] for r in rows)
    assert {r["kind"] for r in adv} == {"plain", "obfuscated", "multilingual", "injection_suffix"}
    retired = {None, "dev", "dev2", "dev3", "dev4", "dev5", "dev6", "dev7", "dev8", "dev9", "dev10"}
    for rows in (adv, ben):
        assert {r.get("pool") for r in rows if r["split"] == "tune"} == retired
        assert {r.get("pool") for r in rows if r["split"] == "heldout"} == {None}
    assert {"art", "medical", "history", "double_meaning", "children", "public_figures"} <= {
        r["group"] for r in ben
    }


def test_heldout_seeds_are_used_by_nothing_else() -> None:
    def seeds(pools: object) -> set[str]:
        out: set[str] = set()
        for value in pools.values() if isinstance(pools, dict) else [pools]:  # type: ignore[union-attr]
            out |= set(value)
        return out

    tune: set[str] = set(S.TRAIN_BENIGN_EXTRA)
    for pool in ("TUNE", "DEV", "DEV2", "DEV3", "DEV4", "DEV5", "DEV6", "DEV7", "DEV8", "DEV9", "DEV10"):
        tune |= seeds(getattr(S, f"ADV_{pool}")) | seeds(getattr(S, f"ML_{pool}"))
        tune |= seeds(getattr(S, f"BENIGN_{pool}")) | set(getattr(S, f"BENIGN_ML_{pool}"))
    heldout = seeds(S.ADV_HELDOUT) | seeds(S.ML_HELDOUT) | seeds(S.BENIGN_HELDOUT) | set(S.BENIGN_ML_HELDOUT)
    assert heldout
    assert not tune & heldout, sorted(tune & heldout)
    pools = ("TUNE", "DEV", "DEV2", "DEV3", "DEV4", "DEV5", "DEV6", "DEV7", "DEV8", "DEV9", "DEV10")
    suffixes = {s for pool in pools for s in getattr(S, f"INJECTION_SUFFIXES_{pool}")}
    assert not suffixes & set(S.INJECTION_SUFFIXES_HELDOUT)
    styles = set(S.STYLES_TRAIN) | {s for pool in pools for s in getattr(S, f"STYLES_{pool}")[1:]}
    assert not styles & set(S.STYLES_HELDOUT[1:])
    train_seeds = {r["seed"] for r in load("train")}
    assert not train_seeds & {
        r["seed"] for r in load("adversarial") + load("benign") if r["split"] == "heldout"
    }


def test_generation_is_reproducible(tmp_path: Path) -> None:
    counts = generate(tmp_path)
    for name in ("adversarial", "benign", "train"):
        assert (tmp_path / f"{name}.jsonl").read_text() == (DATA_DIR / f"{name}.jsonl").read_text(), (
            f"{name}.jsonl is stale: run `python -m pixelmill.safety.golden`"
        )
        assert counts[name] == len((tmp_path / f"{name}.jsonl").read_text().splitlines())
    json.loads((tmp_path / "adversarial.jsonl").read_text().splitlines()[0])


def test_training_set_holds_the_extras_and_no_heldout_phrase() -> None:
    from pixelmill.safety.golden import _heldout_phrases, extra_rows

    extras = extra_rows()
    assert len(extras) >= 3000
    assert {r["label"] for r in extras} == {"benign", *CATEGORIES}
    train_prompts = {r["prompt"] for r in load("train")}
    assert {r["prompt"] for r in extras} <= train_prompts
    phrases = _heldout_phrases()
    leaked = [p for p in train_prompts if any(h in str(p).lower() for h in phrases)]
    assert not leaked, leaked[:5]


def test_an_extra_row_holding_a_heldout_phrase_is_left_out(tmp_path: Path) -> None:
    from pixelmill.safety.golden import _heldout_phrases, extra_rows

    phrase = _heldout_phrases()[0]
    rows = [
        {"prompt": f"a poster of {phrase}, watercolour", "label": "benign", "seed": "a"},
        {"prompt": "a red barn in the snow", "label": "benign", "seed": "b"},
    ]
    (tmp_path / "extra_test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    kept = extra_rows(tmp_path)
    assert [r["prompt"] for r in kept] == ["a red barn in the snow"]
    assert kept[0]["seed"] == "extra_test:b"
