"""Train the safety pre-filter's embedding head and pick its per-category thresholds.

    .venv/bin/python scripts/safety_train_head.py     # writes src/pixelmill/safety/data/embedding_head.npz

Data: ``data/train.jsonl`` (made by ``python -m pixelmill.safety.golden`` from the tune pools
and training-only extras, never the held-out pool) trains a multinomial logistic regression on
MiniLM embeddings (fp32 and int8 ONNX vectors of every row; see fast_encoder).
Per-category thresholds come from grouped 5-fold cross-validation over seed phrases: the
(1 - 0.5%/7) quantile of the out-of-fold probability that benign rows get for the category (a
0.5% false-positive budget for the whole layer, split across the seven categories), plus a
margin, clipped to [0.7, 0.97]. The golden sets' ``heldout`` split is not read here; the ``tune`` split
is only scored for the summary. The ``heldout`` split is
not read here. Deterministic (fixed torch seed). Prints a JSON summary.
"""

from __future__ import annotations

import json

import numpy as np
import torch

from pixelmill.safety.embedding import HEAD_PATH, Head, encoder_input, is_latin_script
from pixelmill.safety.fast_encoder import OnnxEncoder, TextEncoder
from pixelmill.safety.golden import load
from pixelmill.safety.lexicon import Lexicon
from pixelmill.safety.normalize import normalize
from pixelmill.safety.verdict import CATEGORIES

MARGIN = 0.05
FLOOR = 0.7
CEILING = 0.97
FP_BUDGET = 0.005  # share of benign prompts the embedding layer may block, all categories together
QUANTILE = 1 - FP_BUDGET / len(CATEGORIES)
FOLDS = 5
EPOCHS = 300
WEIGHT_DECAY = 1e-3
SCALE = 8.0


def embed(encoder: TextEncoder, lexicon: Lexicon, prompts: list[str]) -> np.ndarray:
    """Embeddings of the prompts as the pre-filter's embedding layer would see them."""
    texts = [encoder_input(lexicon.prepare(normalize(p)), lexicon.cut_harmless) for p in prompts]
    return np.concatenate([encoder.encode(texts[i : i + 64]) for i in range(0, len(texts), 64)])


def fit_head(x: torch.Tensor, y: torch.Tensor, class_weights: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression (weight decay, class-balanced loss); returns (W, b)."""
    torch.manual_seed(0)
    linear = torch.nn.Linear(x.shape[1], int(class_weights.shape[0]))
    opt = torch.optim.Adam(linear.parameters(), lr=0.05, weight_decay=WEIGHT_DECAY)
    loss_fn = torch.nn.CrossEntropyLoss(weight=class_weights)
    for _ in range(EPOCHS):
        opt.zero_grad()
        loss = loss_fn(linear(x * SCALE), y)  # x is unit length; scale so logits can separate
        loss.backward()
        opt.step()
    weight = (linear.weight.detach().numpy().T * SCALE).astype(np.float32)
    return weight, linear.bias.detach().numpy().astype(np.float32)


def main() -> None:
    torch.manual_seed(0)
    torch.set_num_threads(1)
    # fp32 ONNX gives the torch encoder's vectors (to ~1e-7); int8 rows are added as a second copy
    # of every training row so the head and its thresholds fit both the exact and the fast path.
    encoder, fast, lexicon = OnnxEncoder("fp32", cache_size=0), OnnxEncoder("int8", cache_size=0), Lexicon()
    classes = ("benign", *CATEGORIES)
    # Only Latin-script rows: the layer never sees other scripts (see embedding.is_latin_script).
    train = [r for r in load("train") if is_latin_script(normalize(str(r["prompt"])))]
    prompts = [str(r["prompt"]) for r in train]
    x = torch.from_numpy(np.concatenate([embed(encoder, lexicon, prompts), embed(fast, lexicon, prompts)]))
    train = train + train
    y = torch.tensor([classes.index(str(r["label"])) for r in train])
    counts = torch.bincount(y, minlength=len(classes)).float()
    weights = counts.sum() / (len(classes) * counts.clamp(min=1))
    seeds = [str(r["seed"]) for r in train]
    # Thresholds from grouped cross-validation: each benign training row is scored by a head that
    # never saw its seed phrase, so the scores look like those of unseen prompts.
    unique = sorted(set(seeds))
    fold_of = {seed: i % FOLDS for i, seed in enumerate(np.random.default_rng(0).permutation(unique))}
    folds = np.array([fold_of[s] for s in seeds])
    oof = np.zeros((len(train), len(classes)), dtype=np.float32)
    for k in range(FOLDS):
        fit = torch.from_numpy(folds != k)
        w, b = fit_head(x[fit], y[fit], weights)
        oof[folds == k] = Head(w, b, classes, {}).probabilities(x[torch.from_numpy(folds == k)].numpy())
    benign_rows = (y == 0).numpy()
    thresholds = {
        c: float(min(CEILING, max(FLOOR, float(np.quantile(oof[benign_rows, i], QUANTILE)) + MARGIN)))
        for i, c in enumerate(classes)
        if i > 0
    }
    weight, bias = fit_head(x, y, weights)
    head = Head(weight, bias, classes, thresholds)
    head.save(HEAD_PATH)
    oof_blocks = head.decide(oof)
    latin = [
        r
        for r in load("adversarial") + load("benign")
        if r["split"] == "tune" and is_latin_script(normalize(str(r["prompt"])))
    ]
    adv_tune = [r for r in latin if r["expected"] is not None]
    benign_tune = [str(r["prompt"]) for r in latin if r["expected"] is None]
    pb = head.probabilities(embed(encoder, lexicon, benign_tune))
    pa = head.probabilities(embed(encoder, lexicon, [str(r["prompt"]) for r in adv_tune]))
    caught = sum(not v.allowed for v in head.decide(pa))
    print(
        json.dumps(
            {
                "train_rows": len(train),
                "thresholds": thresholds,
                "cv_recall_embedding_only": round(
                    sum(not v.allowed for v, b in zip(oof_blocks, benign_rows, strict=True) if not b)
                    / int((~benign_rows).sum()),
                    4,
                ),
                "cv_benign_fp_embedding_only": sum(
                    not v.allowed for v, b in zip(oof_blocks, benign_rows, strict=True) if b
                ),
                "tune_adversarial_recall_embedding_only": round(caught / len(adv_tune), 4),
                "tune_benign_fp_embedding_only": sum(not v.allowed for v in head.decide(pb)),
                "head_bytes": HEAD_PATH.stat().st_size,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
