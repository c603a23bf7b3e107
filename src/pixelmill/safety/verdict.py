"""The safety decision that crosses every boundary: :class:`Verdict`, and the category names.

Categories (policy, see docs/safety.md):

- ``sexual``: explicit adult sexual content.
- ``sexual_minors``: any sexual or nude depiction involving a minor; always a hard block.
- ``violence_gore``: graphic violence, gore, mutilation.
- ``hate``: content attacking people for a protected attribute; hate symbols as praise.
- ``self_harm``: depictions that encourage or instruct suicide or self-injury.
- ``real_person_sexual``: sexual or nude depictions of a named real person.
- ``injection``: instructions appended to a prompt to override or bypass the safety filter.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

SEXUAL = "sexual"
SEXUAL_MINORS = "sexual_minors"
VIOLENCE_GORE = "violence_gore"
HATE = "hate"
SELF_HARM = "self_harm"
REAL_PERSON_SEXUAL = "real_person_sexual"
INJECTION = "injection"

CATEGORIES: tuple[str, ...] = (
    SEXUAL,
    SEXUAL_MINORS,
    VIOLENCE_GORE,
    HATE,
    SELF_HARM,
    REAL_PERSON_SEXUAL,
    INJECTION,
)
"""Every category a :class:`Verdict` may carry, most severe first where it matters."""

# Layers that may decide. ``none`` is the layer of an allowed verdict that no layer flagged.
LAYER_RULES = "rules"  # the operators' hard-block rules file
LAYER_LEXICON = "lexicon"  # category lexicons and combination rules
LAYER_INJECTION = "injection"  # the appended-override detector
LAYER_EMBEDDING = "embedding"  # the MiniLM encoder + trained head
LAYER_IMAGE = "image"  # the post-filter's image classifier
LAYER_NONE = "none"

_MESSAGES: dict[str, str] = {
    SEXUAL: "This prompt asks for sexually explicit content, which this service does not generate.",
    SEXUAL_MINORS: "This prompt combines minors with sexual content, which is never allowed.",
    VIOLENCE_GORE: "This prompt asks for graphic violence or gore, which this service does not generate.",
    HATE: "This prompt asks for hateful content targeting people, which this service does not generate.",
    SELF_HARM: "This prompt asks for content promoting self-harm, which this service does not generate. "
    "If you are struggling, please reach out to a local crisis line.",
    REAL_PERSON_SEXUAL: "This prompt asks for sexual or nude imagery of a real person, which is not allowed.",
    INJECTION: "This prompt contains instructions aimed at the safety system, which are not allowed.",
}


def policy_message(category: str | None) -> str:
    """A user-facing sentence explaining the policy for ``category``.

    It says what is not allowed and never how the filter works (no matched term, no score).
    """
    return _MESSAGES.get(category or "", "This request was blocked by the content policy.")


@dataclass(frozen=True)
class Verdict:
    """One filter decision.

    - ``allowed``: False means block (never queue the prompt / never serve the image).
    - ``category``: one of :data:`CATEGORIES` when blocked; for an allowed verdict, the category
      the nearest layer leaned to (or None).
    - ``score``: 0..1, the deciding layer's confidence in ``category`` (1.0 for rule hits).
    - ``layer``: which layer decided (``rules``, ``lexicon``, ``injection``, ``embedding``,
      ``image``, ``none``).
    - ``reason``: short text for logs and reviewers (may name the matched term); never show it
      to the user, use :func:`policy_message` for that.
    """

    allowed: bool
    category: str | None
    score: float
    layer: str
    reason: str

    @classmethod
    def allow(
        cls, score: float = 0.0, reason: str = "no layer flagged", category: str | None = None
    ) -> Verdict:
        """An allowed verdict (layer ``none``)."""
        return cls(True, category, score, LAYER_NONE, reason)

    @classmethod
    def block(cls, category: str, score: float, layer: str, reason: str) -> Verdict:
        """A blocking verdict; ``category`` must be one of :data:`CATEGORIES`."""
        if category not in CATEGORIES:
            raise ValueError(f"unknown safety category {category!r}; use one of {', '.join(CATEGORIES)}")
        return cls(False, category, score, layer, reason)

    @property
    def message(self) -> str:
        """User-facing text for a blocked verdict (see :func:`policy_message`)."""
        return policy_message(self.category)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)
