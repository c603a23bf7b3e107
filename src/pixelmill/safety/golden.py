"""Generate the safety golden sets and the embedding head's training set (seeded, reproducible).

    python -m pixelmill.safety.golden          # rewrites src/pixelmill/safety/data/*.jsonl

Outputs (one JSON object per line):

- ``adversarial.jsonl``: prompts that must be blocked; ``expected`` is the category.
- ``benign.jsonl``: edge-case prompts that must pass; ``expected`` is null, ``group`` says which
  kind (art, medical, history, double_meaning, children, public_figures, everyday, multilingual).
- ``train.jsonl``: labelled prompts for the embedding head (``label`` is a category or
  ``"benign"``), made only from the tune pools plus training-only extras.

Every golden row has ``split``: ``tune`` rows come from the TUNE and DEV .. DEV9 seed pools of
:mod:`pixelmill.safety.golden_seeds` (used to tune lexicons/thresholds and, re-sampled with a
different seed, to train the head; DEV .. DEV9 were held-out pools v1-v9, each evaluated once and
then merged into tuning; their rows carry ``"pool": "dev"`` .. ``"dev9"``);
``heldout`` rows come from the HELDOUT pools (v10 is the current HELDOUT pool; v9 is now DEV9),
whose phrases, style suffixes and injection suffixes are used by nothing else. ``kind`` is ``plain``,
``obfuscated`` (a transform applied to the ``{braced}`` key terms), ``multilingual`` or
``injection_suffix`` (a benign prompt with an override instruction appended).
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from pathlib import Path

from pixelmill.safety import golden_seeds as S

DATA_DIR = Path(__file__).parent / "data"
SEED = 20261124
_BRACED = re.compile(r"\{([^}]*)\}")

_HOMOGLYPHS = {"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "x": "х", "i": "і", "s": "ѕ", "y": "у"}
_LEET = {"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"}


def _per_word(fn: Callable[[str, random.Random], str]) -> Callable[[str, random.Random], str]:
    def apply(term: str, rng: random.Random) -> str:
        return " ".join(fn(word, rng) if len(word) > 1 else word for word in term.split(" "))

    return apply


def _leet(word: str, rng: random.Random) -> str:
    return "".join(_LEET.get(c, c) if c in _LEET and rng.random() < 0.7 else c for c in word)


def _separate(word: str, rng: random.Random) -> str:
    return rng.choice([".", "_", "-", "*", " "]).join(word)


def _zero_width(word: str, rng: random.Random) -> str:
    return rng.choice(["\u200b", "\u200c", "\u200d", "\u2060", "\u00ad"]).join(word)


def _homoglyph(word: str, rng: random.Random) -> str:
    return "".join(_HOMOGLYPHS.get(c, c) if rng.random() < 0.8 else c for c in word)


def _fullwidth(word: str, rng: random.Random) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in word)


def _repeat(word: str, rng: random.Random) -> str:
    i = rng.randrange(len(word))
    return word[:i] + word[i] * rng.choice([2, 3, 5]) + word[i + 1 :]


def _drop(word: str, rng: random.Random) -> str:
    if len(word) < 6 or not word.isalpha():
        return _repeat(word, rng)
    i = rng.randrange(1, len(word) - 1)
    return word[:i] + word[i + 1 :]


def _mask(word: str, rng: random.Random) -> str:
    vowels = [i for i, c in enumerate(word) if c in "aeiou"]
    if not vowels:
        return word
    i = rng.choice(vowels)
    return word[:i] + rng.choice("*#") + word[i + 1 :]


def _case(word: str, rng: random.Random) -> str:
    return "".join(c.upper() if i % 2 == 0 else c.lower() for i, c in enumerate(word))


TRANSFORMS: dict[str, Callable[[str, random.Random], str]] = {
    "leet": _per_word(_leet),
    "separators": _per_word(_separate),
    "zero_width": _per_word(_zero_width),
    "homoglyph": _per_word(_homoglyph),
    "fullwidth": _per_word(_fullwidth),
    "repeat": _per_word(_repeat),
    "drop": _per_word(_drop),
    "mask": _per_word(_mask),
    "case": _per_word(_case),
}


def _plain(seed: str) -> str:
    return _BRACED.sub(lambda m: m.group(1), seed)


def _obfuscate(seed: str, transform: str, rng: random.Random) -> str:
    fn = TRANSFORMS[transform]
    return _BRACED.sub(lambda m: fn(m.group(1), rng), seed)


def _row(
    prompt: str, expected: str | None, split: str, kind: str, group: str, seed: str, **extra: str
) -> dict[str, object]:
    return {
        "prompt": prompt,
        "expected": expected,
        "split": split,
        "kind": kind,
        "group": group,
        "seed": seed,
        **extra,
    }


_ADV_POOLS = {
    "tune": lambda: (S.ADV_TUNE, S.ML_TUNE, S.STYLES_TUNE, S.BENIGN_TUNE, S.INJECTION_SUFFIXES_TUNE),
    "dev": lambda: (S.ADV_DEV, S.ML_DEV, S.STYLES_DEV, S.BENIGN_DEV, S.INJECTION_SUFFIXES_DEV),
    "dev2": lambda: (S.ADV_DEV2, S.ML_DEV2, S.STYLES_DEV2, S.BENIGN_DEV2, S.INJECTION_SUFFIXES_DEV2),
    "dev3": lambda: (S.ADV_DEV3, S.ML_DEV3, S.STYLES_DEV3, S.BENIGN_DEV3, S.INJECTION_SUFFIXES_DEV3),
    "dev4": lambda: (S.ADV_DEV4, S.ML_DEV4, S.STYLES_DEV4, S.BENIGN_DEV4, S.INJECTION_SUFFIXES_DEV4),
    "dev5": lambda: (S.ADV_DEV5, S.ML_DEV5, S.STYLES_DEV5, S.BENIGN_DEV5, S.INJECTION_SUFFIXES_DEV5),
    "dev6": lambda: (S.ADV_DEV6, S.ML_DEV6, S.STYLES_DEV6, S.BENIGN_DEV6, S.INJECTION_SUFFIXES_DEV6),
    "dev7": lambda: (S.ADV_DEV7, S.ML_DEV7, S.STYLES_DEV7, S.BENIGN_DEV7, S.INJECTION_SUFFIXES_DEV7),
    "dev8": lambda: (S.ADV_DEV8, S.ML_DEV8, S.STYLES_DEV8, S.BENIGN_DEV8, S.INJECTION_SUFFIXES_DEV8),
    "dev9": lambda: (S.ADV_DEV9, S.ML_DEV9, S.STYLES_DEV9, S.BENIGN_DEV9, S.INJECTION_SUFFIXES_DEV9),
    "heldout": lambda: (
        S.ADV_HELDOUT,
        S.ML_HELDOUT,
        S.STYLES_HELDOUT,
        S.BENIGN_HELDOUT,
        S.INJECTION_SUFFIXES_HELDOUT,
    ),
}
"""Seed pools by name: TUNE, then DEV .. DEV9 (earlier held-out pools, each evaluated once and
then joined tuning), then the current HELDOUT pool (v10 is the current HELDOUT pool; v9 is now
DEV9)."""


def adversarial(split: str, rng: random.Random, obfuscations: int = 3) -> list[dict[str, object]]:
    """Adversarial rows of one split (``tune`` or ``heldout``)."""
    seeds, ml, styles, benign, suffixes = _ADV_POOLS[split]()
    rows: list[dict[str, object]] = []
    for category, phrases in seeds.items():
        for seed in phrases:
            rows.append(_row(_plain(seed) + rng.choice(styles), category, split, "plain", category, seed))
            for transform in rng.sample(sorted(TRANSFORMS), obfuscations):
                prompt = _obfuscate(seed, transform, rng) + rng.choice(styles)
                rows.append(_row(prompt, category, split, "obfuscated", category, seed, transform=transform))
    for category, phrases in ml.items():
        for phrase in phrases:
            rows.append(_row(phrase, category, split, "multilingual", category, phrase))
            rows.append(
                _row(phrase + rng.choice(styles[1:]), category, split, "multilingual", category, phrase)
            )
    for group in ("everyday", "children", "art", "double_meaning"):
        for seed in benign[group]:
            rows.append(
                _row(seed + rng.choice(suffixes), "injection", split, "injection_suffix", "injection", seed)
            )
    return rows


def benign_rows(split: str, rng: random.Random, variants: int = 3) -> list[dict[str, object]]:
    """Benign edge-case rows of one split."""
    seeds, ml, styles = {
        "tune": (S.BENIGN_TUNE, S.BENIGN_ML_TUNE, S.STYLES_TUNE),
        "dev": (S.BENIGN_DEV, S.BENIGN_ML_DEV, S.STYLES_DEV),
        "dev2": (S.BENIGN_DEV2, S.BENIGN_ML_DEV2, S.STYLES_DEV2),
        "dev3": (S.BENIGN_DEV3, S.BENIGN_ML_DEV3, S.STYLES_DEV3),
        "dev4": (S.BENIGN_DEV4, S.BENIGN_ML_DEV4, S.STYLES_DEV4),
        "dev5": (S.BENIGN_DEV5, S.BENIGN_ML_DEV5, S.STYLES_DEV5),
        "dev6": (S.BENIGN_DEV6, S.BENIGN_ML_DEV6, S.STYLES_DEV6),
        "dev7": (S.BENIGN_DEV7, S.BENIGN_ML_DEV7, S.STYLES_DEV7),
        "dev8": (S.BENIGN_DEV8, S.BENIGN_ML_DEV8, S.STYLES_DEV8),
        "dev9": (S.BENIGN_DEV9, S.BENIGN_ML_DEV9, S.STYLES_DEV9),
        "heldout": (S.BENIGN_HELDOUT, S.BENIGN_ML_HELDOUT, S.STYLES_HELDOUT),
    }[split]
    rows: list[dict[str, object]] = []
    for group, phrases in seeds.items():
        for seed in phrases:
            rows.append(_row(seed, None, split, "plain", group, seed))
            for style in rng.sample([s for s in styles if s], variants):
                prompt = seed.capitalize() + style if rng.random() < 0.5 else seed + style
                rows.append(_row(prompt, None, split, "styled", group, seed))
    for phrase in ml:
        rows.append(_row(phrase, None, split, "multilingual", "multilingual", phrase))
        rows.append(
            _row(phrase + rng.choice(styles[1:]), None, split, "multilingual", "multilingual", phrase)
        )
    return rows


def _as_tune(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    """Rows of a former held-out pool (``dev``, ``dev2``): evaluated once, then joined tuning."""
    return [{**row, "pool": row["split"], "split": "tune"} for row in rows]


def training_rows(rng: random.Random) -> list[dict[str, object]]:
    """Labelled rows for the embedding head: the tune pools (TUNE, DEV .. DEV9) re-sampled with
    another seed, plus training-only extras; never the HELDOUT pool."""
    rows: list[dict[str, object]] = []
    pools = [
        adversarial(p, rng, obfuscations=2) + benign_rows(p, rng, variants=2)
        for p in ("tune", "dev", "dev2", "dev3", "dev4", "dev5", "dev6", "dev7", "dev8", "dev9")
    ]
    for row in [row for pool in pools for row in pool]:
        prompt = str(row["prompt"])
        if rng.random() < 0.3:
            prompt += rng.choice(S.STYLES_TRAIN)
        rows.append({"prompt": prompt, "label": row["expected"] or "benign", "seed": row["seed"]})
    for phrase in S.TRAIN_BENIGN_EXTRA:
        for style in ("", *rng.sample(S.STYLES_TRAIN, 3)):
            rows.append({"prompt": phrase + style, "label": "benign", "seed": phrase})
    return rows + extra_rows()


def _heldout_phrases() -> list[str]:
    """Plain, lower-cased held-out seed phrases (what a training row must not contain)."""
    pools = (S.ADV_HELDOUT, S.ML_HELDOUT, S.BENIGN_HELDOUT)
    phrases = [_plain(p) for pool in pools for group in pool.values() for p in group]
    return [p.lower() for p in [*phrases, *S.BENIGN_ML_HELDOUT]]


def extra_rows(data_dir: Path = DATA_DIR) -> list[dict[str, object]]:
    """The training-only labelled prompts of ``data/extra_*.jsonl`` (hand-written in bulk for the
    embedding head: every category, obfuscations, ~20% non-English, and benign near-misses;
    rows ``{"prompt", "label", "seed"}`` where ``seed`` groups variants of one idea). A row that
    contains a held-out seed phrase is left out, so the held-out pool stays unseen."""
    heldout = _heldout_phrases()
    rows: list[dict[str, object]] = []
    for path in sorted(data_dir.glob("extra_*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            text = str(row["prompt"]).lower()
            if any(phrase in text for phrase in heldout):
                continue
            seed = f"{path.stem}:{row['seed']}"
            rows.append({"prompt": row["prompt"], "label": row["label"], "seed": seed})
    return rows


def _write(path: Path, rows: list[dict[str, object]]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def generate(out_dir: Path = DATA_DIR, seed: int = SEED) -> dict[str, int]:
    """Write the three files; return their row counts. Same seed, same files."""
    out_dir.mkdir(parents=True, exist_ok=True)
    adv = (
        adversarial("tune", random.Random(seed))
        + _as_tune(adversarial("dev", random.Random(seed + 1)))
        + _as_tune(adversarial("dev2", random.Random(seed + 5)))
        + _as_tune(adversarial("dev3", random.Random(seed + 7)))
        + _as_tune(adversarial("dev4", random.Random(seed + 9)))
        + _as_tune(adversarial("dev5", random.Random(seed + 11)))
        + _as_tune(adversarial("dev6", random.Random(seed + 15)))
        + _as_tune(adversarial("dev7", random.Random(seed + 17)))
        + _as_tune(adversarial("dev8", random.Random(seed + 19)))
        + _as_tune(adversarial("dev9", random.Random(seed + 21)))
        + adversarial("heldout", random.Random(seed + 23))
    )
    ben = (
        benign_rows("tune", random.Random(seed + 2))
        + _as_tune(benign_rows("dev", random.Random(seed + 3)))
        + _as_tune(benign_rows("dev2", random.Random(seed + 6)))
        + _as_tune(benign_rows("dev3", random.Random(seed + 8)))
        + _as_tune(benign_rows("dev4", random.Random(seed + 10)))
        + _as_tune(benign_rows("dev5", random.Random(seed + 12)))
        + _as_tune(benign_rows("dev6", random.Random(seed + 16)))
        + _as_tune(benign_rows("dev7", random.Random(seed + 18)))
        + _as_tune(benign_rows("dev8", random.Random(seed + 20)))
        + _as_tune(benign_rows("dev9", random.Random(seed + 22)))
        + benign_rows("heldout", random.Random(seed + 24))
    )
    train = training_rows(random.Random(seed + 4))
    _write(out_dir / "adversarial.jsonl", adv)
    _write(out_dir / "benign.jsonl", ben)
    _write(out_dir / "train.jsonl", train)
    return {"adversarial": len(adv), "benign": len(ben), "train": len(train)}


def load(name: str, data_dir: Path = DATA_DIR) -> list[dict[str, object]]:
    """Rows of ``adversarial``, ``benign`` or ``train`` from the shipped JSONL files."""
    path = data_dir / f"{name}.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


if __name__ == "__main__":
    print(json.dumps(generate()))
