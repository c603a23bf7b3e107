"""The prompt grammar: parameters, aliases, errors, generation settings and round trips."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pixelmill.prompt import (
    ENGINE_SUPPORTED,
    MAX_PROMPT_CHARS,
    PARAMS,
    PromptError,
    PromptSpec,
    UnsupportedParameter,
    guidance_for,
    parse,
    size_for_aspect,
)

SIZES = {"base_steps": 30, "native_size": 512, "multiple": 8}


# --- text, image URLs, multi-prompt ---------------------------------------------------------


def test_plain_prompt_has_defaults_and_one_part() -> None:
    spec = parse("  a  lighthouse\n at dusk ")
    assert spec.text == "a lighthouse at dusk"
    assert spec.parts == (("a lighthouse at dusk", 1.0),)
    assert spec.given == ()
    assert (spec.aspect, spec.seed, spec.chaos, spec.stylize, spec.quality) == ((1, 1), None, 0, 100, 1.0)
    assert (spec.stop, spec.repeat, spec.mode, spec.negative, spec.image_urls) == (100, 1, None, "", ())


def test_image_urls_before_text_are_split_off() -> None:
    spec = parse("https://a.test/1.png HTTP://b.test/2.jpg a cat https://c.test/3.png --ar 3:2")
    assert spec.image_urls == ("https://a.test/1.png", "HTTP://b.test/2.jpg")
    assert spec.text == "a cat https://c.test/3.png"  # a URL after the text is text
    assert spec.aspect == (3, 2)


def test_multi_prompt_weights() -> None:
    spec = parse("hot dog::1.5 food::-0.5 bread::")
    assert spec.parts == (("hot dog", 1.5), ("food", -0.5), ("bread", 1.0))
    assert parse("space:: ship").parts == (("space", 1.0), ("ship", 1.0))
    assert parse("a::2 b").parts == (("a", 2.0), ("b", 1.0))
    assert parse("a::2b").parts == (("a", 1.0), ("2b", 1.0))  # a weight ends at whitespace
    gs = parse("hot dog::1.5 food::-0.5").settings(**SIZES)
    assert gs.parts == (("hot dog", 1.5), ("food", -0.5))
    assert gs.prompt == "hot dog food"


@pytest.mark.parametrize(
    ("text", "needle"),
    [("a::-1", "add up to more than 0"), ("::2 b", "part 1 is empty"), ("a::5000", "-1000 to 1000")],
)
def test_bad_multi_prompt_weights(text: str, needle: str) -> None:
    with pytest.raises(PromptError, match=needle):
        parse(text)


# --- each parameter and alias ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "field", "value", "canonical"),
    [
        ("--ar 16:9", "aspect", (16, 9), "ar"),
        ("--aspect 2:3", "aspect", (2, 3), "ar"),
        ("--seed 4294967295", "seed", 4294967295, "seed"),
        ("--seed 0", "seed", 0, "seed"),
        ("--chaos 100", "chaos", 100, "chaos"),
        ("--c 5", "chaos", 5, "chaos"),
        ("--stylize 1000", "stylize", 1000, "stylize"),
        ("--s 0", "stylize", 0, "stylize"),
        ("--quality .25", "quality", 0.25, "quality"),
        ("--q 4", "quality", 4.0, "quality"),
        ("--q 2.0", "quality", 2.0, "quality"),
        ("--weird 3000", "weird", 3000, "weird"),
        ("--w 1", "weird", 1, "weird"),
        ("--stop 10", "stop", 10, "stop"),
        ("--tile", "tile", True, "tile"),
        ("--raw", "raw", True, "raw"),
        ("--v 1", "version", "1", "v"),
        ("--version 1", "version", "1", "v"),
        ("--draft", "draft", True, "draft"),
        ("--fast", "mode", "fast", "fast"),
        ("--relax", "mode", "relax", "relax"),
        ("--turbo", "mode", "turbo", "turbo"),
        ("--repeat 40", "repeat", 40, "repeat"),
        ("--r 2", "repeat", 2, "repeat"),
        ("--sref 123 https://s.test/x.png::2 random", "sref", ("123", "https://s.test/x.png::2", "random"),
         "sref"),
        ("--sref 1 --sw 0", "sw", 0, "sw"),
        ("--oref https://o.test/x.png", "oref", "https://o.test/x.png", "oref"),
        ("--oref https://o.test/x.png --ow 1000", "ow", 1000, "ow"),
        ("--p", "personalize", True, "p"),
        ("--personalize ab12 cd34", "personalize_codes", ("ab12", "cd34"), "p"),
        ("--no people,  boats", "negative", "people, boats", "no"),
        ("—ar 4:1", "aspect", (4, 1), "ar"),  # an em dash, as phones type "--"
        ("--AR 1:4", "aspect", (1, 4), "ar"),
    ],
)
def test_parameter_and_alias(params: str, field: str, value: object, canonical: str) -> None:
    spec = parse(f"a red fox {params}")
    assert getattr(spec, field) == value
    assert canonical in spec.given
    assert spec.text == "a red fox"
    assert parse(spec.to_prompt()) == spec


def test_iw_needs_an_image_and_parses_a_float() -> None:
    spec = parse("https://i.test/x.png a fox --iw 0.5")
    assert spec.iw == 0.5
    with pytest.raises(PromptError, match="no image URL") as err:
        parse("a fox --iw 0.5")
    assert err.value.param == "iw"


def test_weights_need_their_reference() -> None:
    with pytest.raises(PromptError, match="add --sref") as err:
        parse("a fox --sw 10")
    assert err.value.suggestion == "--sref"
    with pytest.raises(PromptError, match="add --oref"):
        parse("a fox --ow 10")


def test_draft_mode_and_speed_flags() -> None:
    assert parse("x --draft").mode == "draft"
    both = parse("x --draft --relax")
    assert (both.mode, both.draft) == ("relax", True)
    assert parse(both.to_prompt()) == both


def test_given_is_in_canonical_order_whatever_the_written_order() -> None:
    spec = parse("x --no a --tile --s 5 --ar 1:2")
    assert spec.given == ("ar", "stylize", "tile", "no")
    assert spec.to_prompt() == "x --ar 1:2 --stylize 5 --tile --no a"


def test_every_parameter_is_documented_in_the_readme() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme.split("## Prompt parameters", 1)[1].split("\n## ", 1)[0]
    for param in PARAMS:
        for name in (param.name, *param.aliases):
            assert f"`--{name}" in section, name


# --- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "param", "needles"),
    [
        ("x --c 101", "chaos", ["--c 101", "0 to 100"]),
        ("x --chaos -1", "chaos", ["--chaos -1", "0 to 100"]),
        ("x --s 1001", "stylize", ["--s", "0 to 1000"]),
        ("x --seed 4294967296", "seed", ["--seed", "0 to 4294967295"]),
        ("x --w 3001", "weird", ["--w", "0 to 3000"]),
        ("x --stop 9", "stop", ["--stop 9", "10 to 100"]),
        ("x --repeat 0", "repeat", ["--repeat", "1 to 40"]),
        ("https://i.test/a.png x --iw 3.5", "iw", ["--iw", "0 to 3"]),
        ("x --sref 1 --sw 1001", "sw", ["--sw", "0 to 1000"]),
        ("x --oref https://o.test/a --ow 0", "ow", ["--ow", "1 to 1000"]),
        ("x --q 3", "quality", ["--q 3", "0.25, 0.5, 1, 2, 4"]),
        ("x --ar 5:1", "ar", ["--ar 5:1", "1:4 to 4:1"]),
        ("x --aspect 1:0", "ar", ["--aspect 1:0", "1:4 to 4:1"]),
        ("x --ar wide", "ar", ["--ar wide", "16:9"]),
        ("x --v 6", "v", ["--v 6", "one of 1"]),
    ],
)
def test_out_of_range_names_the_parameter_and_the_range(text: str, param: str, needles: list[str]) -> None:
    with pytest.raises(PromptError) as err:
        parse(text)
    assert err.value.param == param
    for needle in needles:
        assert needle in err.value.message


def test_out_of_range_suggests_the_nearest_valid_value() -> None:
    with pytest.raises(PromptError) as err:
        parse("x --c 150")
    assert err.value.suggestion == "--c 100"
    with pytest.raises(PromptError) as err:
        parse("x --q 3")
    assert err.value.suggestion == "--q 2"


@pytest.mark.parametrize(
    ("written", "suggested"),
    [("styliz", "--stylize"), ("chaso", "--chaos"), ("aspcet", "--aspect"), ("seeed", "--seed"),
     ("tiel", "--tile")],
)
def test_unknown_parameter_suggests_the_nearest_name(written: str, suggested: str) -> None:
    with pytest.raises(PromptError) as err:
        parse(f"a fox --{written} 3")
    assert err.value.param == written
    assert err.value.suggestion == suggested
    assert f"unknown parameter --{written}" in err.value.message
    assert f"did you mean {suggested}?" in err.value.message


@pytest.mark.parametrize(
    ("text", "param", "needle"),
    [
        ("x --seed", "seed", "needs a value"),
        ("x --seed 1.5", "seed", "not a whole number"),
        ("x --seed abc", "seed", "not a whole number"),
        ("x --q fast", "quality", "not a number"),
        ("https://i.test/a.png x --iw 1e3", "iw", "not a number"),
        ("x --seed 1 2", "seed", "takes one value"),
        ("x --tile please", "tile", "takes no value"),
        ("x --no", "no", "needs one or more words"),
        ("x --no --tile", "no", "needs one or more words"),
        ("x --sref", "sref", "needs"),
        ("x --sref blue", "sref", "URLs, numeric style codes"),
        ("x --oref notaurl", "oref", "not an image URL"),
        ("x --ar 1:1 --aspect 2:3", "ar", "--aspect repeats --ar"),
        ("x --s 1 --s 2", "stylize", "--s is given twice"),
        ("x --fast --relax", "relax", "conflict"),
        ("x --turbo --fast", "turbo", "conflict"),
    ],
)
def test_bad_values(text: str, param: str, needle: str) -> None:
    with pytest.raises(PromptError, match=re.escape(needle)) as err:
        parse(text)
    assert err.value.param == param


@pytest.mark.parametrize("text", ["", "   ", "--ar 1:1", "https://i.test/a.png --tile", "https://i.test/a.png"])
def test_empty_prompt(text: str) -> None:
    with pytest.raises(PromptError, match="the prompt is empty"):
        parse(text)


def test_control_characters_are_refused_but_whitespace_and_zero_width_pass() -> None:
    # PostgreSQL text cannot hold NUL: before this check such a prompt was a 500 at submit
    for bad, code in (("a cat \x00 dog", "U+0000"), ("a cat\x1b[31m", "U+001B")):
        with pytest.raises(PromptError, match=f"control character {re.escape(code)}"):
            parse(bad)
    assert parse("a cat\tin a\nhat").text == "a cat in a hat"
    assert parse("a ca\u200bt").text == "a ca\u200bt"  # format characters are kept (safety reads them)


def test_prompt_length_limit() -> None:
    parse("a" * MAX_PROMPT_CHARS)
    with pytest.raises(PromptError, match=f"{MAX_PROMPT_CHARS + 1} characters; the limit is 2000"):
        parse("a" * (MAX_PROMPT_CHARS + 1))


def test_prompt_error_is_a_value_error() -> None:
    assert issubclass(PromptError, ValueError)
    assert issubclass(UnsupportedParameter, PromptError)


# --- generation settings -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ratio", "size"),
    [("1:1", (512, 512)), ("16:9", (680, 384)), ("9:16", (384, 680)), ("4:1", (1024, 256)),
     ("3:2", (624, 416)), ("5:4", (576, 456))],
)
def test_aspect_ratio_maps_to_nearest_multiples_near_native_pixels(ratio: str, size: tuple[int, int]) -> None:
    gs = parse(f"x --ar {ratio}").settings(**SIZES)
    assert (gs.width, gs.height) == size
    assert gs.width % 8 == 0 and gs.height % 8 == 0
    assert abs(gs.width * gs.height - 512 * 512) / (512 * 512) < 0.05


@given(st.integers(1, 400), st.integers(1, 400), st.sampled_from([8, 16, 64]), st.integers(256, 1024))
def test_size_for_aspect_keeps_ratio_multiple_and_budget(w: int, h: int, multiple: int, budget: int) -> None:
    if w > 4 * h or h > 4 * w:
        with pytest.raises(PromptError, match="1:4 to 4:1"):
            size_for_aspect((w, h), native_size=512, multiple=multiple)
        return
    width, height = size_for_aspect((w, h), native_size=512, multiple=multiple, pixel_budget=budget * budget)
    assert width % multiple == 0 and height % multiple == 0
    assert width * height <= budget * budget
    # the ratio is kept as well as rounding to the multiple allows
    assert abs(width / height - w / h) <= (w / h) * (2 * multiple / min(width, height)) + 1e-9


def test_stylize_maps_to_guidance_and_raw_lowers_it() -> None:
    assert parse("x").settings(**SIZES).guidance_scale == 7.5
    assert guidance_for(0) == 3.0
    assert guidance_for(1000) == 15.0
    assert guidance_for(0) < guidance_for(50) < guidance_for(100) < guidance_for(500) < guidance_for(1000)
    assert parse("x --raw").settings(**SIZES).guidance_scale == pytest.approx(5.55)
    assert parse("x --s 250 --raw").settings(**SIZES).guidance_scale < guidance_for(250)


@pytest.mark.parametrize(
    ("params", "steps"),
    [("", 30), ("--q .25", 8), ("--q 0.5", 15), ("--q 2", 60), ("--q 4", 120), ("--draft", 15),
     ("--draft --q 2", 30)],
)
def test_quality_and_draft_multiply_steps(params: str, steps: int) -> None:
    assert parse(f"x {params}").settings(**SIZES).steps == steps


def test_draft_step_factor_is_configurable() -> None:
    assert parse("x --draft").settings(**SIZES, draft_step_factor=0.25).steps == 8


def test_settings_carry_every_supported_parameter() -> None:
    text = "x::2 y --seed 9 --c 40 --stop 50 --tile --no blur, text --turbo --r 3 --v 1"
    gs = parse(text).settings(**SIZES)
    assert gs.seed == 9
    assert gs.chaos == 0.4
    assert gs.stop_fraction == 0.5 and gs.run_steps == 15
    assert gs.tile is True
    assert gs.negative_prompt == "blur, text"
    assert gs.mode == "turbo"
    assert gs.repeat == 3
    assert gs.version == "1"
    assert gs.n_images == 4
    assert parse("x").settings(**SIZES).seed is None


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("https://i.test/a.png x", ("image",)),
        ("https://i.test/a.png x --iw 2", ("image", "iw")),
        ("x --sref 12 --sw 50", ("sref", "sw")),
        ("x --oref https://o.test/a.png --ow 5", ("oref", "ow")),
        ("x --p", ("p",)),
        ("x --weird 10", ("weird",)),
        ("x --w 0", ("weird",)),
    ],
)
def test_unsupported_parameters_are_reported_never_ignored(text: str, names: tuple[str, ...]) -> None:
    spec = parse(text)
    assert spec.unsupported() == names
    with pytest.raises(UnsupportedParameter) as err:
        spec.settings(**SIZES)
    assert err.value.params == names
    for name in names:
        if name != "image":
            assert f"--{name} is parsed but not supported yet by this engine" in err.value.message
    if "image" in names:
        assert "image prompts" in err.value.message


def test_unsupported_honours_the_engines_set() -> None:
    spec = parse("a::2 b --tile")
    assert spec.unsupported() == ()
    assert spec.unsupported(ENGINE_SUPPORTED - {"tile", "multiprompt"}) == ("multiprompt", "tile")
    with pytest.raises(UnsupportedParameter, match="--tile is parsed but not supported"):
        spec.settings(**SIZES, supported=ENGINE_SUPPORTED - {"tile"})


def test_spec_built_directly_splits_its_parts() -> None:
    assert PromptSpec(text="a::3 b").parts == (("a", 3.0), ("b", 1.0))


# --- properties -------------------------------------------------------------------------------------

_ALPHABET = st.sampled_from([*"ab :-—-.,0123456789\n\t", "--", "::", "--ar", "--no", "--s", "http://x"])


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=200), st.lists(_ALPHABET, max_size=40).map("".join)))
def test_parsing_arbitrary_text_raises_only_prompt_error(text: str) -> None:
    try:
        spec = parse(text)
    except PromptError as err:
        assert err.message
        return
    assert parse(spec.to_prompt()) == spec
    with contextlib.suppress(PromptError):
        spec.settings(**SIZES)


_WORD = st.text(alphabet="abcxyz,.!'", min_size=1, max_size=8)
_DECIMAL = st.decimals(min_value=0, max_value=3, places=3).map(lambda d: format(d.normalize(), "f"))


@st.composite
def valid_prompts(draw: st.DrawFn) -> tuple[str, dict[str, object]]:
    """A valid prompt written with random aliases and order, and the field values it must give."""
    expected: dict[str, object] = {}
    args: list[str] = []
    urls = draw(st.lists(st.just("https://i.test/a.png"), max_size=2))
    if urls and draw(st.booleans()):
        iw = draw(_DECIMAL)
        args.append(f"--iw {iw}")
        expected["iw"] = float(iw)
    words = draw(st.lists(_WORD, min_size=1, max_size=5))
    text = " ".join(words)
    if draw(st.booleans()):
        weight = draw(st.integers(1, 9))
        text += f"::{weight} " + draw(_WORD)
    for names, field, strat, fmt in [
        (("seed",), "seed", st.integers(0, 4294967295), str),
        (("chaos", "c"), "chaos", st.integers(0, 100), str),
        (("stylize", "s"), "stylize", st.integers(0, 1000), str),
        (("weird", "w"), "weird", st.integers(0, 3000), str),
        (("stop",), "stop", st.integers(10, 100), str),
        (("repeat", "r"), "repeat", st.integers(1, 40), str),
        (("quality", "q"), "quality", st.sampled_from([0.25, 0.5, 1.0, 2.0, 4.0]), str),
    ]:
        if draw(st.booleans()):
            value = draw(strat)
            args.append(f"--{draw(st.sampled_from(names))} {fmt(value)}")
            expected[field] = value
    if draw(st.booleans()):
        w, h = draw(st.integers(1, 4)), draw(st.integers(1, 4))
        args.append(f"--{draw(st.sampled_from(['ar', 'aspect']))} {w}:{h}")
        expected["aspect"] = (w, h)
    for flag in ("tile", "raw", "draft"):
        if draw(st.booleans()):
            args.append(f"--{flag}")
            expected[flag] = True
    speed = draw(st.sampled_from([None, "fast", "relax", "turbo"]))
    if speed:
        args.append(f"--{speed}")
        expected["mode"] = speed
    if draw(st.booleans()):
        refs = draw(st.lists(st.sampled_from(["1", "random", "https://s.test/a.png::2"]), min_size=1,
                             max_size=3))
        args.append("--sref " + " ".join(refs))
        expected["sref"] = tuple(refs)
    if draw(st.booleans()):
        codes = draw(st.lists(st.text(alphabet="abc123", min_size=1, max_size=4), max_size=2))
        args.append(" ".join(["--p", *codes]))
        expected["personalize_codes"] = tuple(codes)
    if draw(st.booleans()):
        negative = " ".join(draw(st.lists(_WORD, min_size=1, max_size=3)))
        args.append(f"--no {negative}")
        expected["negative"] = negative
    order = draw(st.permutations(args))
    return " ".join([*urls, text, *order]), expected


@settings(max_examples=300, deadline=None)
@given(valid_prompts())
def test_valid_prompts_parse_to_their_values_and_round_trip(case: tuple[str, dict[str, object]]) -> None:
    text, expected = case
    spec = parse(text)
    for field, value in expected.items():
        assert getattr(spec, field) == value, field
    canonical = spec.to_prompt()
    assert parse(canonical) == spec
    assert parse(canonical).to_prompt() == canonical
