"""What the built-in model knows: the words its training captions use (for README, CLI, card)."""

from __future__ import annotations

from typing import Any

from pixelmill.training import captions as c
from pixelmill.training import scenes as s


def summary() -> dict[str, Any]:
    """The vocabulary, grouped: canonical attribute values and the words used for them."""
    return {
        "colours": {k: sorted(set(v)) for k, v in c.COLOUR_WORDS.items()},
        "shapes": {k: sorted(set(v)) for k, v in c.SHAPE_WORDS.items()},
        "sizes": {k: sorted({w for w in v if w}) for k, v in c.SIZE_WORDS.items()},
        "positions": list(s.POSITIONS),
        "relations": list(s.RELATIONS),
        "backgrounds": {"dark": list(c.BACKGROUND_WORDS["dark"]), "light": list(c.BACKGROUND_WORDS["light"])},
        "times_of_day": {k: sorted(set(c.TIME_WORDS[k]) | set(c.TIME_NOUNS[k])) for k in s.TIMES},
        "terrain": {k: list(v) for k, v in c.TERRAIN_WORDS.items()},
        "water": {k: sorted(set(v)) for k, v in c.WATER_WORDS.items()},
        "extras": ["trees", "a house / cottage", "clouds", "sun", "moon and stars (night)"],
        "examples": [
            "a red circle above a blue square",
            "a small yellow star in the top left on a dark background",
            "sunset over the mountains with a lake",
            "rolling hills with a cottage and trees at dawn",
        ],
    }


def describe() -> str:
    """One paragraph for users (``pixelmill imagine`` help, README)."""
    v = summary()
    return (
        "The built-in model is a small demo trained by pixelmill on procedural pictures. It knows "
        f"shapes ({', '.join(v['shapes'])}) in colours ({', '.join(v['colours'])}), sizes (small, "
        "medium, large), positions (top left ... bottom right) and relations (above, below, left of, "
        "right of) on dark, light or sky backgrounds; and landscapes: times of day "
        f"({', '.join(v['times_of_day'])}) over mountains, hills or a meadow, with sea or a lake, "
        "trees, a house and clouds. It knows nothing else: point pixelmill at a real Stable "
        "Diffusion folder with --model PATH or PIXELMILL_MODEL=PATH for anything more."
    )
