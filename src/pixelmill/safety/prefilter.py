"""The prompt pre-filter: runs before a job is queued, so a blocked prompt spends no GPU step.

Layers, in order (the first that blocks decides):

1. ``rules``: the operators' hard-block rules file (regex + category per line), reloaded when
   its mtime changes (:mod:`pixelmill.safety.rules`).
2. ``lexicon``: category lexicons over the normalised text with combination rules (a minor term
   with a sexual term is ``sexual_minors``) and harmless phrases cut out first
   (:mod:`pixelmill.safety.lexicon`).
3. ``injection``: appended instructions that try to override or bypass the filter
   (:mod:`pixelmill.safety.injection`).
4. ``embedding``: the offline MiniLM encoder with a trained logistic head and per-category
   thresholds (:mod:`pixelmill.safety.embedding`); optional.

Every screen increments ``SAFETY_CHECKS{filter="pre"}`` and every block
``BLOCKED{layer, category}``; callers must not count them again.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path

from pixelmill.observability import BLOCKED, SAFETY_CHECKS
from pixelmill.safety.embedding import EmbeddingLayer
from pixelmill.safety.injection import detect as detect_injection
from pixelmill.safety.lexicon import Lexicon
from pixelmill.safety.normalize import Normalized, normalize
from pixelmill.safety.rules import RulesFile, default_rules_path
from pixelmill.safety.verdict import Verdict

MAX_PROMPT_CHARS = 4000
"""Longer prompts are screened on their first this-many characters plus their last 500 (an
appended override instruction sits at the end)."""


@functools.cache
def shared_lexicon() -> Lexicon:
    """The process-wide compiled lexicon."""
    return Lexicon()


@functools.cache
def shared_embedding_layer() -> EmbeddingLayer:
    """The process-wide encoder and head (harmless phrases cut as the lexicon cuts them)."""
    return EmbeddingLayer(cut=shared_lexicon().cut_harmless)


class PreFilter:
    """Screens prompts. Construct once (loading the encoder takes about a second) and share;
    :meth:`screen` and :meth:`screen_batch` are safe to call from several threads.

    - ``lexicon``: the compiled lexicons (build once; about 0.5 s).
    - ``rules``: the operators' rules file, or None for none.
    - ``embedding``: the embedding layer, or None to run the rule layers only.
    """

    def __init__(
        self, lexicon: Lexicon, rules: RulesFile | None = None, embedding: EmbeddingLayer | None = None
    ) -> None:
        self.lexicon = lexicon
        self.rules = rules
        self.embedding = embedding

    @classmethod
    def default(cls, embedding: bool = True, rules_path: Path | None = None) -> PreFilter:
        """The production filter: shipped lexicons, the shipped embedding head (if ``embedding``),
        and the rules file at ``rules_path`` (default ``$PIXELMILL_HOME/safety_rules.txt``; a
        missing file means no operator rules).

        The lexicon and the embedding layer are immutable and thread-safe, so every filter in a
        process shares one of each (built on first use: about 2 s and 1 s); the rules file is
        per filter."""
        lexicon = shared_lexicon()
        return cls(
            lexicon,
            RulesFile(rules_path if rules_path is not None else default_rules_path()),
            shared_embedding_layer() if embedding else None,
        )

    def prepare(self, prompt: str) -> Normalized:
        """The normalised views every layer reads (masked letters filled in)."""
        if not isinstance(prompt, str):
            raise TypeError(f"prompt must be a str, got {type(prompt).__name__}")
        if len(prompt) > MAX_PROMPT_CHARS:
            prompt = prompt[:MAX_PROMPT_CHARS] + " " + prompt[-500:]
        return self.lexicon.prepare(normalize(prompt))

    def rule_layers(self, norm: Normalized) -> Verdict | None:
        """Rules, lexicon and injection layers: a blocking verdict or None."""
        if self.rules is not None:
            verdict = self.rules.check(norm)
            if verdict is not None:
                return verdict
        return self.lexicon.check(norm) or detect_injection(norm)

    def screen(self, prompt: str) -> Verdict:
        """Screen one prompt (the full prompt text, parameters included or not)."""
        return self.screen_batch([prompt])[0]

    def screen_batch(self, prompts: Sequence[str]) -> list[Verdict]:
        """Screen many prompts; one encoder call for all that the rule layers let through.
        Same verdicts as :meth:`screen` on each."""
        norms = [self.prepare(p) for p in prompts]
        verdicts: list[Verdict | None] = [self.rule_layers(n) for n in norms]
        if self.embedding is not None:
            pending = [i for i, v in enumerate(verdicts) if v is None]
            for i, v in zip(pending, self.embedding.check_batch([norms[i] for i in pending]), strict=True):
                verdicts[i] = v
        out = [v if v is not None else Verdict.allow() for v in verdicts]
        SAFETY_CHECKS.labels(filter="pre").inc(len(out))
        for v in out:
            if not v.allowed:
                BLOCKED.labels(layer=v.layer, category=v.category or "").inc()
        return out
