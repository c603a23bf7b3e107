"""Normalisation defeats cheap obfuscation and keeps the original for the record."""

from __future__ import annotations

import pytest

from pixelmill.safety.normalize import fold, normalize


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ｎｕｄｅ", "nude"),  # fullwidth (NFKC)
        ("nu\u200bde", "nude"),  # zero-width space
        ("n\u00adu\u2060d\u200de", "nude"),  # soft hyphen, word joiner, ZWJ
        ("ѕех", "sex"),  # Cyrillic look-alikes
        ("nυdе", "nude"),  # Greek upsilon + Cyrillic e
        ("s3x", "sex"),  # leetspeak
        ("p0rn", "porn"),
        ("n.u.d.e", "nude"),  # separators inside a word
        ("n u d e", "nude"),
        ("n_u_d_e", "nude"),
        ("nu-de", "nude"),
        ("NuDe", "nude"),  # case
        ("Nüde", "nude"),  # diacritics
    ],
)
def test_obfuscations_fold_to_the_plain_word(text: str, expected: str) -> None:
    assert normalize(text).latin == expected


def test_runs_of_letters_shorten_and_dedup_view_removes_doubles() -> None:
    norm = normalize("nuuuude skullll")
    assert norm.latin == "nuude skull"
    assert norm.dedup == "nude skul"


def test_spaced_words_keep_their_boundary() -> None:
    assert normalize("n.u.d.e w.o.m.a.n").latin == "nude woman"
    assert normalize("n u d e  w o m a n").latin == "nude woman"


def test_glued_words_are_reported_for_substring_search() -> None:
    assert normalize("e x p l i c i t s e x scene").glued == ("explicitsex",)


def test_numbers_are_not_leetspeak() -> None:
    assert normalize("1920s street, 4k, 3d render 16:9").latin == "1920s street, 4k, 3d render 16:9"


def test_original_is_kept_verbatim() -> None:
    text = "ｎｕ\u200bｄｅ  Photo"
    assert normalize(text).original == text


def test_non_latin_scripts_survive_in_the_folded_view() -> None:
    assert normalize("Голая девушка").folded == "голая девушка"
    assert normalize("裸体").folded == "裸体"


def test_fold_collapses_whitespace_and_case() -> None:
    assert fold("  A\tB\n C  ") == "a b c"


def test_kana_voicing_marks_are_kept() -> None:
    # Stripping them would make グロ (gore) read as クロ, as in クローズアップ (close-up).
    assert normalize("グロ").folded == "グロ"
    assert normalize("ヌード").folded == "ヌード"
    assert normalize("ｸﾞﾛ").folded == "グロ"  # halfwidth kana compose under NFKC
    assert normalize("café").folded == "cafe"  # other accents still go
