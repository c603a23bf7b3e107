"""Train the safety pre-filter's embedding head and pick its per-category thresholds.

    .venv/bin/python scripts/safety_train_head.py     # writes src/pixelmill/safety/data/embedding_head.npz

    .venv/bin/python scripts/safety_train_head.py --hidden 0 --dry-run   # compare a variant by CV

Data: ``data/train.jsonl`` (made by ``python -m pixelmill.safety.golden`` from the tune pools
and the training-only ``data/extra_*.jsonl``, never the held-out pool) trains the head (an MLP
with one hidden layer of ``HIDDEN`` units, or logistic regression with ``--hidden 0``) on
MiniLM embeddings (fp32 and int8 ONNX vectors of every row; see fast_encoder). The embeddings
are cached under ``$PIXELMILL_HOME/cache/safety`` by a hash of the prompts and the encoders.
Per-category thresholds come from grouped 5-fold cross-validation over seed phrases: the
(1 - 0.5%/7) quantile of the out-of-fold probability that benign rows get for the category (a
0.5% false-positive budget for the whole layer, split across the seven categories), plus a
margin, clipped to [0.7, 0.995]. The golden sets' ``heldout`` split is not read here; the
``tune`` split is only scored for the summary. Deterministic (fixed torch seed). Prints a JSON
summary (out-of-fold recall and benign false positives are what to compare variants by).
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
CEILING = 0.995
FP_BUDGET = 0.005  # share of benign prompts the embedding layer may block, all categories together
QUANTILE = 1 - FP_BUDGET / len(CATEGORIES)
FOLDS = 5
EPOCHS = 300
WEIGHT_DECAY = 1e-3
SCALE = 8.0
HIDDEN = 256  # 0 = logistic regression; chosen by the grouped cross-validation below
MLP_EPOCHS = 100
MLP_LR = 0.01
MLP_WEIGHT_DECAY = 1e-3
MLP_DROPOUT = 0.2


def embed(encoder: TextEncoder, lexicon: Lexicon, prompts: list[str]) -> np.ndarray:
    """Embeddings of the prompts as the pre-filter's embedding layer would see them."""
    texts = [encoder_input(lexicon.prepare(normalize(p)), lexicon.cut_harmless) for p in prompts]
    return np.concatenate([encoder.encode(texts[i : i + 64]) for i in range(0, len(texts), 64)])


def fit_head(
    x: torch.Tensor,
    y: torch.Tensor,
    class_weights: torch.Tensor,
    classes: tuple[str, ...],
    hidden: int = 0,
    epochs: int = MLP_EPOCHS,
    weight_decay: float = MLP_WEIGHT_DECAY,
) -> Head:
    """Class-balanced cross-entropy, full batch, Adam with weight decay, fixed seed.

    ``hidden`` 0: multinomial logistic regression. ``hidden`` H: one ReLU layer of H units with
    dropout (an MLP; it can combine features a linear head cannot, such as minor + sexual),
    trained ``epochs`` full-batch epochs with ``weight_decay``.
    Returns a :class:`Head` without thresholds."""
    torch.manual_seed(0)
    n_out = int(class_weights.shape[0])
    loss_fn = torch.nn.CrossEntropyLoss(weight=class_weights)
    if not hidden:
        linear = torch.nn.Linear(x.shape[1], n_out)
        opt = torch.optim.Adam(linear.parameters(), lr=0.05, weight_decay=WEIGHT_DECAY)
        for _ in range(EPOCHS):
            opt.zero_grad()
            loss = loss_fn(linear(x * SCALE), y)  # x is unit length; scale so logits can separate
            loss.backward()
            opt.step()
        weight = (linear.weight.detach().numpy().T * SCALE).astype(np.float32)
        return Head(weight, linear.bias.detach().numpy().astype(np.float32), classes, {})
    first, last = torch.nn.Linear(x.shape[1], hidden), torch.nn.Linear(hidden, n_out)
    net = torch.nn.Sequential(first, torch.nn.ReLU(), torch.nn.Dropout(MLP_DROPOUT), last)
    opt = torch.optim.Adam(net.parameters(), lr=MLP_LR, weight_decay=weight_decay)
    for _ in range(epochs):
        opt.zero_grad()
        loss = loss_fn(net(x * SCALE), y)
        loss.backward()
        opt.step()
    net.eval()
    w1 = (first.weight.detach().numpy().T * SCALE).astype(np.float32)
    b1 = first.bias.detach().numpy().astype(np.float32)
    weight = last.weight.detach().numpy().T.astype(np.float32)
    return Head(weight, last.bias.detach().numpy().astype(np.float32), classes, {}, hidden=(w1, b1))


def cached_embed(encoders: list[TextEncoder], lexicon: Lexicon, prompts: list[str]) -> np.ndarray:
    """:func:`embed` with every encoder, rows stacked, cached on disk by content hash."""
    import hashlib
    from pathlib import Path

    from pixelmill.config import home

    # the text the encoder sees depends on the normaliser and the lexicon's harmless phrases too
    sources = [Path(__file__).parent.parent / "src/pixelmill/safety" / n
               for n in ("fast_encoder.py", "normalize.py", "lexicon.py", "terms.py", "embedding.py")]
    code = [p.read_text() if p.is_file() else "" for p in sources]
    key = hashlib.sha256(json.dumps([prompts, len(encoders), code]).encode()).hexdigest()[:16]
    path = home() / "cache" / "safety" / f"head-train-{key}.npy"
    if path.is_file():
        return np.load(path)
    x = np.concatenate([embed(e, lexicon, prompts) for e in encoders])
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, x)
    return x


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=HIDDEN, help="hidden units (0: logistic regression)")
    parser.add_argument("--dry-run", action="store_true", help="print the summary, do not write the head")
    parser.add_argument("--epochs", type=int, default=MLP_EPOCHS, help="MLP epochs (full batch)")
    parser.add_argument("--weight-decay", type=float, default=MLP_WEIGHT_DECAY, help="MLP weight decay")
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(1)
    # fp32 ONNX gives the torch encoder's vectors (to ~1e-7); int8 rows are added as a second copy
    # of every training row so the head and its thresholds fit both the exact and the fast path.
    encoder, fast, lexicon = OnnxEncoder("fp32", cache_size=0), OnnxEncoder("int8", cache_size=0), Lexicon()
    classes = ("benign", *CATEGORIES)
    # Only Latin-script rows: the layer never sees other scripts (see embedding.is_latin_script).
    train = [r for r in load("train") if is_latin_script(normalize(str(r["prompt"])))]
    prompts = [str(r["prompt"]) for r in train]
    x = torch.from_numpy(cached_embed([encoder, fast], lexicon, prompts))
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
        fold_head = fit_head(x[fit], y[fit], weights, classes, args.hidden, args.epochs, args.weight_decay)
        oof[folds == k] = fold_head.probabilities(x[torch.from_numpy(folds == k)].numpy())
    benign_rows = (y == 0).numpy()
    thresholds = {
        c: float(min(CEILING, max(FLOOR, float(np.quantile(oof[benign_rows, i], QUANTILE)) + MARGIN)))
        for i, c in enumerate(classes)
        if i > 0
    }
    fitted = fit_head(x, y, weights, classes, args.hidden, args.epochs, args.weight_decay)
    head = Head(fitted.weight, fitted.bias, classes, thresholds, fitted.hidden)
    if not args.dry_run:
        head.save(HEAD_PATH)
    oof_blocks = head.decide(oof)
    # What selection should look at: the whole pre-filter in cross-validation, i.e. the rule
    # layers' verdict on each training row OR the out-of-fold head's (first copy: fp32 rows).
    from pixelmill.safety.prefilter import PreFilter

    rules = PreFilter.default(embedding=False)
    n_rows = len(prompts)
    rule_block = [not v.allowed for v in rules.screen_batch(prompts)]
    head_block = [not v.allowed for v in oof_blocks[:n_rows]]
    is_benign = benign_rows[:n_rows]
    combined = [r or h for r, h in zip(rule_block, head_block, strict=True)]
    def rate(blocks: list[bool], benign: bool) -> float:
        picked = [blk for blk, b in zip(blocks, is_benign, strict=True) if bool(b) == benign]
        return round(sum(picked) / max(1, len(picked)), 4)

    cv_combined = {
        "recall": rate(combined, False),
        "rules_recall": rate(rule_block, False),
        "fpr": rate(combined, True),
        "rules_fpr": rate(rule_block, True),
    }
    latin = [
        r
        for r in load("adversarial") + load("benign")
        if r["split"] == "tune" and is_latin_script(normalize(str(r["prompt"])))
    ]
    adv_tune = [r for r in latin if r["expected"] is not None]
    benign_tune = [str(r["prompt"]) for r in latin if r["expected"] is None]
    pb = head.probabilities(cached_embed([encoder], lexicon, benign_tune))
    pa = head.probabilities(cached_embed([encoder], lexicon, [str(r["prompt"]) for r in adv_tune]))
    caught = sum(not v.allowed for v in head.decide(pa))
    print(
        json.dumps(
            {
                "train_rows": len(train),
                "hidden": args.hidden,
                "epochs": args.epochs,
                "weight_decay": args.weight_decay,
                "cv_with_rules": cv_combined,
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
                "written": not args.dry_run,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
