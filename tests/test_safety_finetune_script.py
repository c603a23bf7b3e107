"""scripts/safety_finetune_encoder.py: batches cover every row once, a short run trains, and the
tuned layers it writes give, through the shipped loader, the vectors it trained on."""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from pixelmill.safety import fast_encoder
from pixelmill.safety.lexicon import Lexicon

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "safety_finetune_encoder.py"


@pytest.fixture(scope="module")
def script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("safety_finetune_encoder", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_length_batches_cover_every_row_once_with_similar_lengths(script: ModuleType) -> None:
    lengths = torch.randint(3, 64, (1000,))
    batches = script.length_batches(lengths, 32, torch.Generator().manual_seed(0))
    seen = torch.cat(batches)
    assert sorted(seen.tolist()) == list(range(1000))
    # within a batch lengths are close (sorted inside chunks): far less spread than random batches
    spread = np.mean([int(lengths[b].max() - lengths[b].min()) for b in batches if len(b) > 1])
    assert spread < 10, spread


def test_a_short_run_trains_and_the_shipped_loader_gives_its_vectors(
    script: ModuleType, tmp_path: Path
) -> None:
    rows = [
        {"prompt": "a naked couple having sex in a motel", "label": "sexual"},
        {"prompt": "a lighthouse at dusk, oil painting", "label": "benign"},
        {"prompt": "a body hacked apart, blood everywhere", "label": "violence_gore"},
        {"prompt": "a cat sleeping in a sunny window", "label": "benign"},
    ] * 5
    train_file = tmp_path / "train.jsonl"
    train_file.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    args = argparse.Namespace(
        layers=1,
        epochs=2,
        lr=1e-4,
        batch=8,
        seed=0,
        threads=1,
        label_smoothing=0.0,
        benign_weight=1.0,
        train_file=train_file,
    )
    lexicon = Lexicon()
    tuner, info = script.train(args, lexicon)
    assert info["rows"] == 20 and len(info["loss_curve"]) == 2
    assert all(np.isfinite(loss) for _, loss, _ in info["loss_curve"])

    state = tuner.tuned_state()
    assert state and all(k.startswith("encoder.layer.5.") for k in state)  # only the top layer
    tuned = tmp_path / "tuned.safetensors"
    save_file(state, str(tuned))
    model = fast_encoder.load_minilm(tuned=tuned)
    texts = script.texts_for(lexicon, ["a naked couple having sex in a motel", "a cat in a window"])
    batch = tuner.tokenizer(texts, padding=True, return_tensors="pt")
    with torch.inference_mode():
        hidden = model(**batch).last_hidden_state
    via_loader = fast_encoder.mean_pool(hidden, batch["attention_mask"]).numpy()
    # the same vectors as training saw, up to the float16 storage of the tuned weights
    np.testing.assert_allclose(via_loader, tuner.encode(texts), atol=2e-3)
