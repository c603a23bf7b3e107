"""Text normalisation that defeats cheap obfuscation before the lexicons look at a prompt.

:func:`normalize` returns a :class:`Normalized` with several *views* of one prompt; every
lexicon term goes through the same functions, so a term and its obfuscated spelling meet:

- ``original``: the text as submitted (kept for the record; never matched).
- ``folded``: NFKC (fullwidth and compatibility forms), case folded, invisible characters
  (zero-width, soft hyphen, bidi controls, variation selectors) removed, diacritics stripped,
  whitespace collapsed. Scripts are kept, so Russian, Chinese and Japanese terms match here.
- ``latin``: ``folded`` plus homoglyph folding (Cyrillic/Greek look-alikes -> Latin), leetspeak
  folding inside words that contain letters (``s3x``, ``p0rn``, ``@``), single letters joined
  across separators (``n.u.d.e``, ``n u d e``, ``n_u_d_e``), separators between letters removed
  (``nu-de``) and runs of three or more equal letters shortened to two (``skullll``).
- ``dedup``: ``latin`` with every run of equal letters shortened to one (``nudde`` -> ``nude``);
  lexicon terms are compared in this view only when their own dedup form stays distinctive.
- ``squashed``: ``latin`` with everything but letters removed, for the few terms that are safe
  as substrings (``porn`` never occurs inside an innocent word).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Zero-width and other invisible code points that NFKC keeps. Category Cf covers most of them
# (ZWSP, ZWJ, ZWNJ, LRM/RLM, bidi embeddings, word joiner, BOM, soft hyphen, tag characters).
_INVISIBLE_EXTRA = {"\u034f", "\u115f", "\u1160", "\u17b4", "\u17b5", "\u3164", "\uffa0"}

# Kana voicing marks are letters' own sounds, not accents: stripping them would turn "グロ" (gore)
# into "クロ" (as in "クローズアップ", close-up) and "ヌード" into "ヌート".
_KANA_MARKS = {"\u3099", "\u309a"}

# Look-alikes that NFKC does not fold (Cyrillic, Greek, a few symbols) -> Latin.
_CONFUSABLES = str.maketrans(
    {
        "а": "a",
        "в": "b",
        "е": "e",
        "ё": "e",
        "к": "k",
        "м": "m",
        "н": "h",
        "о": "o",
        "р": "p",
        "с": "c",
        "т": "t",
        "у": "y",
        "х": "x",
        "ѕ": "s",
        "і": "i",
        "ї": "i",
        "ј": "j",
        "һ": "h",
        "ԁ": "d",
        "ԛ": "q",
        "ԝ": "w",
        "ɡ": "g",
        "п": "n",
        "г": "r",
        "ь": "b",
        "и": "u",
        "л": "n",
        "α": "a",
        "β": "b",
        "ε": "e",
        "η": "n",
        "ι": "i",
        "κ": "k",
        "ν": "v",
        "ο": "o",
        "ρ": "p",
        "τ": "t",
        "υ": "u",
        "χ": "x",
        "γ": "y",
        "ω": "w",
        "μ": "u",
        "σ": "o",
        "ς": "c",
        "δ": "d",
        "ℓ": "l",
        "ı": "i",
        "ȷ": "j",
        "ø": "o",
        "ð": "d",
        "þ": "p",
        "ß": "ss",
        "æ": "ae",
        "œ": "oe",
        "ł": "l",
        "đ": "d",
        "ħ": "h",
    }
)

# Leetspeak (applied only inside tokens that also contain a letter).
_LEET = str.maketrans(
    {
        "0": "o",
        "1": "i",
        "3": "e",
        "4": "a",
        "5": "s",
        "7": "t",
        "8": "b",
        "9": "g",
        "@": "a",
        "$": "s",
        "!": "i",
        "|": "l",
        "+": "t",
        "€": "e",
        "£": "l",
        "¢": "c",
    }
)
_LEET_CHARS = "0134578 9@$!|+€£¢".replace(" ", "")
_TOKEN_WITH_LEET = re.compile(r"[\w@$!|+€£¢]*[a-z][\w@$!|+€£¢]*|[\w@$!|+€£¢]*[@$!|+€£¢][\w@$!|+€£¢]*")
_SEP = r"[\s.\-_*·•,'`~/\\:;^=]"
# Three or more single letters separated by one separator each: "n.u.d.e", "n u d e".
# The same separator throughout, so "n.u.d.e w.o.m.a.n" joins to "nude woman".
_SPACED_LETTERS = re.compile(rf"(?<![^\W_])[^\W_](?P<sep>{_SEP})(?:[^\W_](?P=sep)){{1,}}[^\W_](?![^\W_])")
# "*" and "#" are kept: they mask a letter ("p*rn") and the lexicon fills them in.
_SEP_BETWEEN_LETTERS = re.compile(r"(?<=[^\W\d_])[.\-_·•'`~]+(?=[^\W\d_])")
_RUN3 = re.compile(r"([^\W\d_])\1{2,}")
_RUN2 = re.compile(r"([^\W\d_])\1+")
_SPACES = re.compile(r"\s+")
_NUMBER_WITH_UNIT = re.compile(r"\d+(?:s|k|d|p|th|st|nd|rd|px|mm|cm|m|km|kg|am|pm|fps|gb|mb|hz|yo|v)")
_GAPS = re.compile(r"\s{2,}")
_NON_LETTERS = re.compile(r"[^a-z]+")


@dataclass(frozen=True)
class Normalized:
    """Views of one prompt; see the module docstring."""

    original: str
    folded: str
    latin: str
    dedup: str
    squashed: str
    glued: tuple[str, ...] = ()
    """Words glued back from separated letters (``k i d s h a v i n g``); searched for terms
    as substrings, since the word boundaries were lost on purpose."""


def _is_invisible(ch: str) -> bool:
    return unicodedata.category(ch) == "Cf" or ch in _INVISIBLE_EXTRA or "\ufe00" <= ch <= "\ufe0f"


def fold(text: str) -> str:
    """NFKC, case fold, drop invisible characters, strip diacritics, collapse whitespace."""
    return _SPACES.sub(" ", _fold_keep_gaps(text)).strip()


def _fold_keep_gaps(text: str) -> str:
    """:func:`fold`, but a gap of two or more blanks stays two blanks: ``n u d e  w o m a n``
    keeps its word boundary when the spaced letters are joined."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(ch for ch in text if not _is_invisible(ch))
    text = text.casefold()
    decomposed = unicodedata.normalize("NFD", text)
    text = "".join(ch for ch in decomposed if not unicodedata.combining(ch) or ch in _KANA_MARKS)
    text = unicodedata.normalize("NFC", text)
    return _GAPS.sub("  ", text).strip()


def _fold_confusables(text: str) -> str:
    """Fold look-alikes to Latin, but only inside words that mix scripts or are mostly Latin
    look-alikes; the ``folded`` view keeps real Russian text intact for its own lexicon."""
    return text.translate(_CONFUSABLES)


def _fold_leet(text: str) -> str:
    def repl(match: re.Match[str]) -> str:
        token = match.group(0)
        if not any(c.isalpha() for c in token) or _NUMBER_WITH_UNIT.fullmatch(token):
            return token  # "1920s", "8k", "3d", "20th": numbers, not leetspeak
        return token.translate(_LEET)

    return _TOKEN_WITH_LEET.sub(repl, text)


def latinize(folded: str) -> str:
    """The ``latin`` view of folded text (gaps kept, see :func:`_fold_keep_gaps`)."""
    return _latinize(folded)[0]


def _latinize(folded: str) -> tuple[str, tuple[str, ...]]:
    """The ``latin`` view and the pieces that were glued from separated letters."""
    pieces: list[str] = []

    def glue(match: re.Match[str]) -> str:
        joined = re.sub(_SEP, "", match.group(0))
        pieces.append(joined)
        return joined

    text = _fold_confusables(folded)
    text = _SPACED_LETTERS.sub(glue, text)
    text = _fold_leet(text)
    text = _SEP_BETWEEN_LETTERS.sub("", text)
    text = _RUN3.sub(r"\1\1", text)
    text = _SPACES.sub(" ", text).strip()
    if not pieces:
        return text, ()
    cleaned = [_RUN3.sub(r"\1\1", _SEP_BETWEEN_LETTERS.sub("", _fold_leet(p))) for p in pieces]
    return text, tuple(tok for tok in text.split() if any(c in tok for c in cleaned))


def normalize(text: str) -> Normalized:
    """All views of ``text`` (see the module docstring). Never raises on any ``str``."""
    gapped = _fold_keep_gaps(text)
    folded = _SPACES.sub(" ", gapped)
    latin, glued = _latinize(gapped)
    return with_latin(Normalized(text, folded, latin, "", "", glued), latin)


def with_latin(norm: Normalized, latin: str) -> Normalized:
    """``norm`` with a new ``latin`` view and the views derived from it recomputed."""
    dedup = _RUN2.sub(r"\1", latin)
    squashed = _NON_LETTERS.sub("", latin)
    return Normalized(norm.original, norm.folded, latin, dedup, squashed, norm.glued)
