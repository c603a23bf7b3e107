"""Generate the safety golden sets and the embedding head's training set (seeded, reproducible).

    python -m pixelmill.safety.golden          # rewrites src/pixelmill/safety/data/*.jsonl

Outputs (one JSON object per line):

- ``adversarial.jsonl``: prompts that must be blocked; ``expected`` is the category.
- ``benign.jsonl``: edge-case prompts that must pass; ``expected`` is null, ``group`` says which
  kind (art, medical, history, double_meaning, children, public_figures, everyday, multilingual).
- ``train.jsonl``: labelled prompts for the embedding head (``label`` is a category or
  ``"benign"``), made only from the tune pools plus training-only extras.

Every golden row has ``split``: ``tune`` rows come from the TUNE and DEV .. DEV10 seed pools of
:mod:`pixelmill.safety.golden_seeds` (used to tune lexicons/thresholds and, re-sampled with a
different seed, to train the head; DEV .. DEV10 were held-out pools v1-v10, each evaluated once and
then merged into tuning; their rows carry ``"pool": "dev"`` .. ``"dev10"``);
``heldout`` rows come from the HELDOUT pools (v11 is the current HELDOUT pool; v10 is now DEV10),
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
from typing import Any

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


POOLS: tuple[tuple[str, int, int], ...] = (
    ("tune", 0, 2),
    ("dev", 1, 3),
    ("dev2", 5, 6),
    ("dev3", 7, 8),
    ("dev4", 9, 10),
    ("dev5", 11, 12),
    ("dev6", 15, 16),
    ("dev7", 17, 18),
    ("dev8", 19, 20),
    ("dev9", 21, 22),
    ("dev10", 23, 24),
    ("heldout", 25, 26),
)
"""Seed pools in file order: TUNE, then DEV .. DEV10 (earlier held-out pools, each evaluated once
and then joined tuning), then the current HELDOUT pool (v11; v10 is now DEV10). Each name ``n``
reads ``golden_seeds.ADV_<N>``, ``ML_<N>``, ``BENIGN_<N>``, ``BENIGN_ML_<N>``, ``STYLES_<N>`` and
``INJECTION_SUFFIXES_<N>``; the two numbers are the offsets of :data:`SEED` that seed its
adversarial and benign rows. Retiring a pool: rename its ``*_HELDOUT`` names ``*_DEV<n>``, add it
here before ``heldout`` with the offsets it had (so its rows stay exactly as measured), and give
the new HELDOUT pool the next two offsets."""

TUNE_POOLS = tuple(name for name, _, _ in POOLS if name != "heldout")


def _pool(kind: str, split: str) -> Any:
    """``golden_seeds.<KIND>_<SPLIT>`` for a pool named in :data:`POOLS`."""
    if split not in {name for name, _, _ in POOLS}:
        raise KeyError(f"unknown seed pool {split!r}")
    return getattr(S, f"{kind}_{split.upper()}")


def adversarial(split: str, rng: random.Random, obfuscations: int = 3) -> list[dict[str, object]]:
    """Adversarial rows of one split (``tune`` or ``heldout``)."""
    seeds, ml, styles = _pool("ADV", split), _pool("ML", split), _pool("STYLES", split)
    benign, suffixes = _pool("BENIGN", split), _pool("INJECTION_SUFFIXES", split)
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
    seeds, ml, styles = _pool("BENIGN", split), _pool("BENIGN_ML", split), _pool("STYLES", split)
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
    """Labelled rows for the embedding head: the tune pools (TUNE, DEV .. DEV10) re-sampled with
    another seed, plus training-only extras; never the HELDOUT pool."""
    rows: list[dict[str, object]] = []
    pools = [
        adversarial(p, rng, obfuscations=2) + benign_rows(p, rng, variants=2)
        for p in TUNE_POOLS
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
    adv: list[dict[str, object]] = []
    ben: list[dict[str, object]] = []
    for name, adv_offset, benign_offset in POOLS:
        a_rows = adversarial(name, random.Random(seed + adv_offset))
        b_rows = benign_rows(name, random.Random(seed + benign_offset))
        retired = name not in ("tune", "heldout")
        adv += _as_tune(a_rows) if retired else a_rows
        ben += _as_tune(b_rows) if retired else b_rows
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
