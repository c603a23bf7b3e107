"""Text conditioning per prompt, encoded once and shared by every job that uses the prompt.

A job's prompt is encoded at admission, never per step. Jobs admitted in the same iteration
are encoded together in one text-encoder call (:meth:`DiffusionModel.encode_prompts_batch`),
and the result is kept in a small LRU keyed by (weighted parts, negative prompt), so repeats,
variations and resumed jobs with the same prompt skip the encoder. Cached tensors are never
written to (the runner only reads them), so sharing them between jobs is safe.

Determinism: an embedding computed in a batch of prompts equals the one computed alone up to
floating-point batch effects (well below the engine's stated 1/255-per-pixel tolerance).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

from pixelmill.models.base import Conditioning, DiffusionModel

PromptKey = tuple[tuple[tuple[str, float], ...], str]


class PromptCache:
    """LRU of :class:`Conditioning` by prompt for one model (``capacity`` prompts, >= 1)."""

    def __init__(self, model: DiffusionModel, capacity: int = 256) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self.model = model
        self.capacity = capacity
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[PromptKey, Conditioning] = OrderedDict()

    def get_many(self, prompts: Sequence[PromptKey]) -> list[Conditioning]:
        """Conditioning for each prompt, in order; the missing ones in ONE encoder call.

        Raises what the model raises (``ValueError`` for weights that do not sum to a positive
        number); then nothing is cached and the caller may retry prompt by prompt."""
        missing = list(dict.fromkeys(k for k in prompts if k not in self._entries))
        self.misses += len(missing)  # a prompt twice in one call: one miss, then a hit
        self.hits += len(prompts) - len(missing)
        if missing:
            encoded = self.model.encode_prompts_batch(missing)
            for key, cond in zip(missing, encoded, strict=True):
                self._entries[key] = cond
        out = []
        for key in prompts:
            self._entries.move_to_end(key)
            out.append(self._entries[key])
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)
        return out

    def get(self, prompt: PromptKey) -> Conditioning:
        return self.get_many([prompt])[0]


def prompt_key(parts: Sequence[tuple[str, float]], negative: str) -> PromptKey:
    return (tuple((str(t), float(w)) for t, w in parts), negative)
