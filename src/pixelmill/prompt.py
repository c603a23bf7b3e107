"""Midjourney-style prompt grammar: ``parse(text) -> PromptSpec -> spec.settings(...)``.

A prompt is ``[image URLs] text [--param value ...]``::

    https://x.test/a.png a lighthouse at dusk::2 fog --ar 16:9 --seed 7 --no people, boats

- Image URLs (``http(s)://...``) are the leading tokens; the text follows; the first token that
  starts with ``--`` (or an em dash ``—``, which phones type for ``--``) followed by a letter
  begins the parameters, and everything after it belongs to parameters. Whitespace runs are
  collapsed to one space. Parameter names are case-insensitive.
- ``::`` splits the text into a multi-prompt; a number glued to ``::`` (``dog::2``, ``::-0.5``)
  is the weight of the part before it (default 1, range -1000..1000, the sum must be > 0).
- The whole prompt may have at most ``MAX_PROMPT_CHARS`` (2000) characters, and no control
  characters other than whitespace (a NUL byte, an escape...: no store can keep them faithfully).

:func:`parse` raises only :class:`PromptError` (a ``ValueError``) whose message names the
parameter, says the valid range, and for an unknown name suggests the nearest known one.
``spec.to_prompt()`` writes the canonical text, and ``parse(spec.to_prompt()) == spec``.

How each parameter maps onto generation (:meth:`PromptSpec.settings`), the honest version:

- ``--ar W:H`` -> width x height with about ``native_size**2`` pixels (or at most
  ``pixel_budget``), each side rounded to the model's ``multiple``; ratios from 1:4 to 4:1.
- ``--seed`` -> the seed of image 0 (image i uses seed+i); absent: the caller picks one.
- ``--chaos`` 0..100 -> ``chaos`` 0..1, how far apart the grid's initial noises are spread.
- ``--stylize`` -> classifier-free guidance scale (:func:`guidance_for`): piecewise linear,
  0 -> 3.0, 100 (default) -> 7.5, 1000 -> 15.0.
- ``--raw`` -> a less opinionated image: the guidance above 1 is scaled by ``RAW_GUIDANCE_FACTOR``
  (0.7), so the default 7.5 becomes 5.55.
- ``--quality`` -> step multiplier: ``steps = round(base_steps * quality * (draft factor))``.
- ``--draft`` -> steps times ``draft_step_factor`` (default 0.5); mode ``draft`` unless a speed
  flag is also given (``--draft --relax`` is a cheap job in the relax lane).
- ``--fast`` / ``--relax`` / ``--turbo`` -> ``mode`` (the queue lane, see ``tiers.py``); at most one.
- ``--stop`` 10..100 -> ``stop_fraction``: the job stops after that share of its steps.
- ``--tile`` -> seamless images (circular padding in the model's convolutions).
- ``--no a, b`` -> the negative prompt ``"a, b"``.
- ``--repeat`` -> the gateway submits that many jobs; one job is unaffected.
- ``--v``: selects among ``VERSIONS``, the model versions pixelmill has (only ``1``: the
  deployment's configured model). Other Midjourney version numbers are refused at parse time
  rather than silently served by a different model.
- Multi-prompt weights -> ``parts``; the engine blends the parts' text embeddings by weight
  (a negative weight pushes away from that part).

Parsed and kept but NOT supported yet (``settings`` raises :class:`UnsupportedParameter`):
image prompts (URLs before the text, and ``--iw``), ``--sref``/``--sw`` (style reference),
``--oref``/``--ow`` (omni reference), ``--p`` (personalisation) and ``--weird``. None of them
has an honest mapping onto a plain text-to-image diffusion model yet: each needs an image
encoder, an adapter or a user profile model that pixelmill does not ship. ``--weird`` could be
faked with random prompt noise, which would not be what the user asked for.
"""

from __future__ import annotations

import difflib
import math
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal

MAX_PROMPT_CHARS = 2000
MAX_ASPECT_RATIO = 4
MAX_SEED = 4_294_967_295
MAX_WEIGHT = 1000.0
QUALITY_VALUES: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0)
VERSIONS: tuple[str, ...] = ("1",)
"""Model versions pixelmill has (``--v``); ``1`` is the deployment's configured model."""
MODES: tuple[str, ...] = ("draft", "relax", "fast", "turbo")
N_IMAGES = 4
RAW_GUIDANCE_FACTOR = 0.7


class PromptError(ValueError):
    """A prompt that cannot be parsed or honoured.

    ``param``: the canonical name of the parameter at fault (the written name when unknown;
    ``None`` for the text itself). ``message``: what is wrong and what is valid.
    ``suggestion``: a corrected fragment to offer the user (``"--stylize"``, ``"--chaos 100"``).
    """

    def __init__(self, message: str, *, param: str | None = None, suggestion: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.suggestion = suggestion


class UnsupportedParameter(PromptError):
    """Parameters that parsed fine but the engine cannot honour yet; ``params`` names them all."""

    def __init__(self, params: tuple[str, ...]) -> None:
        parts = []
        for name in params:
            if name == "image":
                parts.append("image prompts (URLs before the text) are parsed but not supported yet "
                             "by this engine")
            elif name == "multiprompt":
                parts.append("multi-prompt weights (::) are parsed but not supported yet by this engine")
            else:
                parts.append(f"--{name} is parsed but not supported yet by this engine")
        message = "; ".join(parts) + "; remove them to generate"
        super().__init__(message, param=params[0] if params else None)
        self.params = params


@dataclass(frozen=True)
class Param:
    """One parameter of the grammar: canonical ``name``, value ``kind``, ``aliases``, range."""

    name: str
    kind: str  # flag | int | float | ratio | quality | version | text | refs | url | codes
    aliases: tuple[str, ...] = ()
    lo: float = 0
    hi: float = 0
    default: str = "-"
    doc: str = ""

    def range_text(self) -> str:
        """Human words for the valid values, used in every error about this parameter."""
        if self.kind == "int":
            return f"a whole number from {_fmt(self.lo)} to {_fmt(self.hi)}"
        if self.kind == "float":
            return f"a number from {_fmt(self.lo)} to {_fmt(self.hi)}"
        if self.kind == "ratio":
            return "W:H with whole numbers, from 1:4 to 4:1"
        if self.kind == "quality":
            return "one of " + ", ".join(_fmt(q) for q in QUALITY_VALUES)
        if self.kind == "version":
            return "one of " + ", ".join(VERSIONS) + " (the model versions pixelmill has)"
        if self.kind == "flag":
            return "no value"
        if self.kind == "text":
            return "one or more words"
        if self.kind == "refs":
            return "image URLs, numeric style codes or 'random'"
        if self.kind == "url":
            return "one image URL"
        return "zero or more profile codes"


PARAMS: tuple[Param, ...] = (
    Param("ar", "ratio", ("aspect",), default="1:1"),
    Param("seed", "int", (), 0, MAX_SEED, "random"),
    Param("chaos", "int", ("c",), 0, 100, "0"),
    Param("stylize", "int", ("s",), 0, 1000, "100"),
    Param("quality", "quality", ("q",), default="1"),
    Param("weird", "int", ("w",), 0, 3000, "0"),
    Param("stop", "int", (), 10, 100, "100"),
    Param("tile", "flag"),
    Param("raw", "flag"),
    Param("v", "version", ("version",), default="1"),
    Param("draft", "flag"),
    Param("fast", "flag"),
    Param("relax", "flag"),
    Param("turbo", "flag"),
    Param("repeat", "int", ("r",), 1, 40, "1"),
    Param("iw", "float", (), 0, 3, "1"),
    Param("sref", "refs"),
    Param("sw", "int", (), 0, 1000, "100"),
    Param("oref", "url"),
    Param("ow", "int", (), 1, 1000, "100"),
    Param("p", "codes", ("personalize",)),
    Param("no", "text"),
)
"""Every parameter in canonical order (the order :meth:`PromptSpec.to_prompt` writes them)."""

_BY_NAME: dict[str, Param] = {p.name: p for p in PARAMS} | {a: p for p in PARAMS for a in p.aliases}
_ORDER: dict[str, int] = {p.name: i for i, p in enumerate(PARAMS)}

ENGINE_SUPPORTED: frozenset[str] = frozenset(
    {"ar", "seed", "chaos", "stylize", "quality", "stop", "tile", "raw", "v", "draft", "fast",
     "relax", "turbo", "repeat", "no", "multiprompt"}
)
"""Canonical names the engine honours; ``image`` and ``multiprompt`` stand for image URLs and
``::`` weights."""

_PARAM_TOKEN = re.compile(r"(?:--|—)([A-Za-z]\S*)")
_URL = re.compile(r"https?://\S+", re.IGNORECASE)
_DECIMAL = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_INT = re.compile(r"[0-9]+")
_WEIGHT = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?=\s|$)")
_REF = re.compile(r"(?:https?://\S+?|[0-9]+|random)(?:::-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))?", re.IGNORECASE)


@dataclass(frozen=True)
class GenerationSettings:
    """What the engine runs for one job, derived from a :class:`PromptSpec`.

    - ``prompt``: the text to encode (multi-prompt parts joined by spaces, weights removed);
      ``parts``: (text, weight) pairs to blend when there are several.
    - ``width`` x ``height``: pixels, multiples of the model's ``multiple``.
    - ``steps``: denoising steps the sampler is set up for; ``stop_fraction``: the share of them
      to run (``run_steps``); the tier's step budget still caps both (the engine's job).
    - ``guidance_scale``: classifier-free guidance; ``seed``: image i uses ``seed + i``, ``None``
      means the caller picks a random seed; ``n_images``: images in the grid.
    - ``chaos``: 0..1 spread of the initial noises across the grid; ``tile``: seamless images.
    - ``mode``: the queue mode (``draft``/``relax``/``fast``/``turbo``) or ``None`` for the tier's
      default; ``repeat``: jobs the gateway submits; ``version``: ``--v`` or ``None``.
    """

    prompt: str
    parts: tuple[tuple[str, float], ...]
    negative_prompt: str
    width: int
    height: int
    steps: int
    stop_fraction: float
    guidance_scale: float
    seed: int | None
    n_images: int
    chaos: float
    tile: bool
    mode: str | None
    repeat: int
    version: str | None = None

    @property
    def run_steps(self) -> int:
        """Steps actually run: ``steps * stop_fraction`` rounded, at least 1."""
        return max(1, round(self.steps * self.stop_fraction))


@dataclass(frozen=True)
class PromptSpec:
    """A parsed prompt. Fields not in ``given`` hold their defaults.

    ``text``: the prompt text without image URLs and parameters (``::`` weights included);
    ``parts``: its multi-prompt parts, one ``(text, 1.0)`` when there is no ``::``;
    ``negative``: ``--no``; ``image_urls``: URLs before the text; ``aspect``: ``--ar`` as (W, H);
    ``mode``: ``fast``/``relax``/``turbo``, ``draft`` when only ``--draft`` was given, else None;
    ``personalize``: ``--p`` was given, ``personalize_codes`` its profile codes;
    ``given``: canonical names of the parameters the user wrote, in canonical order.
    """

    text: str
    parts: tuple[tuple[str, float], ...] = ()
    negative: str = ""
    image_urls: tuple[str, ...] = ()
    aspect: tuple[int, int] = (1, 1)
    seed: int | None = None
    chaos: int = 0
    stylize: int = 100
    quality: float = 1.0
    weird: int = 0
    stop: int = 100
    tile: bool = False
    raw: bool = False
    version: str | None = None
    draft: bool = False
    mode: str | None = None
    repeat: int = 1
    iw: float = 1.0
    sref: tuple[str, ...] = ()
    sw: int = 100
    oref: str | None = None
    ow: int = 100
    personalize: bool = False
    personalize_codes: tuple[str, ...] = field(default=())
    given: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.parts:
            object.__setattr__(self, "parts", _split_parts(self.text))

    def to_prompt(self) -> str:
        """The canonical prompt text: URLs, text, then the given parameters in canonical order."""
        out = [*self.image_urls, self.text]
        for name in self.given:
            out.append(f"--{name}")
            value = self._value_text(name)
            if value:
                out.append(value)
        return " ".join(out)

    def _value_text(self, name: str) -> str:
        values: dict[str, str] = {
            "ar": f"{self.aspect[0]}:{self.aspect[1]}",
            "seed": str(self.seed),
            "chaos": str(self.chaos),
            "stylize": str(self.stylize),
            "quality": _fmt(self.quality),
            "weird": str(self.weird),
            "stop": str(self.stop),
            "v": str(self.version),
            "repeat": str(self.repeat),
            "iw": _fmt(self.iw),
            "sref": " ".join(self.sref),
            "sw": str(self.sw),
            "oref": str(self.oref),
            "ow": str(self.ow),
            "p": " ".join(self.personalize_codes),
            "no": self.negative,
        }
        return values.get(name, "")

    def unsupported(self, supported: frozenset[str] = ENGINE_SUPPORTED) -> tuple[str, ...]:
        """Names of what this prompt asks for that ``supported`` lacks (``image`` for image URLs,
        ``multiprompt`` for ``::`` weights, else canonical parameter names)."""
        names: list[str] = []
        if self.image_urls and "image" not in supported:
            names.append("image")
        if len(self.parts) > 1 and "multiprompt" not in supported:
            names.append("multiprompt")
        names.extend(n for n in self.given if n not in supported)
        return tuple(names)

    def settings(
        self,
        *,
        base_steps: int,
        native_size: int,
        multiple: int,
        pixel_budget: int | None = None,
        draft_step_factor: float = 0.5,
        supported: frozenset[str] = ENGINE_SUPPORTED,
    ) -> GenerationSettings:
        """Map this prompt onto generation settings (see the module docstring for each rule).

        Raises :class:`UnsupportedParameter` naming every parameter the engine cannot honour,
        and :class:`PromptError` (param ``ar``) for an aspect ratio outside 1:4..4:1.
        """
        missing = self.unsupported(supported)
        if missing:
            raise UnsupportedParameter(missing)
        if base_steps < 1:
            raise ValueError(f"base_steps must be at least 1, got {base_steps}")
        width, height = size_for_aspect(
            self.aspect, native_size=native_size, multiple=multiple, pixel_budget=pixel_budget
        )
        factor = draft_step_factor if self.draft else 1.0
        return GenerationSettings(
            prompt=" ".join(t for t, _ in self.parts),
            parts=self.parts,
            negative_prompt=self.negative,
            width=width,
            height=height,
            steps=max(1, round(base_steps * self.quality * factor)),
            stop_fraction=self.stop / 100,
            guidance_scale=guidance_for(self.stylize, raw=self.raw),
            seed=self.seed,
            n_images=N_IMAGES,
            chaos=self.chaos / 100,
            tile=self.tile,
            mode=self.mode,
            repeat=self.repeat,
            version=self.version,
        )


def guidance_for(stylize: int, *, raw: bool = False) -> float:
    """Classifier-free guidance scale for ``--stylize``: piecewise linear through
    (0, 3.0), (100, 7.5), (1000, 15.0); ``raw`` scales the part above 1 by ``RAW_GUIDANCE_FACTOR``."""
    s = min(max(stylize, 0), 1000)
    g = 3.0 + 4.5 * s / 100 if s <= 100 else 7.5 + 7.5 * (s - 100) / 900
    if raw:
        g = 1.0 + (g - 1.0) * RAW_GUIDANCE_FACTOR
    return round(g, 6)


def size_for_aspect(
    aspect: tuple[int, int], *, native_size: int, multiple: int, pixel_budget: int | None = None
) -> tuple[int, int]:
    """(width, height) with ratio ``aspect`` and about ``native_size**2`` pixels, each side
    rounded to the nearest ``multiple``. With ``pixel_budget`` the pixel count aims at the budget
    and never exceeds it (sides rounded down where rounding to nearest would go over)."""
    if native_size < 1 or multiple < 1:
        raise ValueError(f"native_size and multiple must be positive, got {native_size}, {multiple}")
    _check_aspect(*aspect, written="ar")
    target = pixel_budget if pixel_budget is not None else native_size * native_size
    if target < multiple * multiple:
        raise ValueError(f"pixel budget {target} is smaller than one {multiple}x{multiple} block")
    ratio = aspect[0] / aspect[1]
    fw, fh = math.sqrt(target * ratio), math.sqrt(target / ratio)
    width = max(multiple, round(fw / multiple) * multiple)
    height = max(multiple, round(fh / multiple) * multiple)
    if pixel_budget is not None and width * height > pixel_budget:
        width = max(multiple, math.floor(fw / multiple) * multiple)
        height = max(multiple, math.floor(fh / multiple) * multiple)
    return width, height


def parse(text: str) -> PromptSpec:
    """Parse a Midjourney-style prompt. Raises only :class:`PromptError`."""
    if not isinstance(text, str):
        raise PromptError(f"a prompt must be text, got {type(text).__name__}")
    if len(text) > MAX_PROMPT_CHARS:
        raise PromptError(
            f"the prompt has {len(text)} characters; the limit is {MAX_PROMPT_CHARS}; shorten it",
        )
    control = next((c for c in text if unicodedata.category(c) == "Cc" and not c.isspace()), None)
    if control is not None:
        raise PromptError(
            f"the prompt contains the control character U+{ord(control):04X} at position "
            f"{text.index(control)}; remove it"
        )
    tokens = text.split()
    start = next((i for i, t in enumerate(tokens) if _PARAM_TOKEN.fullmatch(t)), len(tokens))
    body, rest = tokens[:start], tokens[start:]
    n_urls = 0
    while n_urls < len(body) and _URL.fullmatch(body[n_urls]):
        n_urls += 1
    prompt_text = " ".join(body[n_urls:])
    if not prompt_text:
        raise PromptError("the prompt is empty: write what the image should show before any --parameters")
    values: dict[str, object] = {
        "text": prompt_text, "parts": _split_parts(prompt_text), "image_urls": tuple(body[:n_urls])
    }
    written: dict[str, str] = {}  # canonical -> as written
    i = 0
    while i < len(rest):
        m = _PARAM_TOKEN.fullmatch(rest[i])
        assert m is not None  # rest starts with a parameter and each group ends before the next
        j = i + 1
        while j < len(rest) and not _PARAM_TOKEN.fullmatch(rest[j]):
            j += 1
        name = m.group(1).lower()
        param = _lookup(name)
        if param.name in written:
            first = written[param.name]
            what = f"--{name} is given twice" if first == name else f"--{name} repeats --{first}"
            raise PromptError(
                f"{what} (both set --{param.name}); give it once", param=param.name,
                suggestion=f"--{param.name}",
            )
        written[param.name] = name
        _apply(param, name, rest[i + 1 : j], values)
        i = j
    _check_combinations(written, values)
    values["given"] = tuple(sorted(written, key=_ORDER.__getitem__))
    return PromptSpec(**values)  # type: ignore[arg-type]


def _lookup(name: str) -> Param:
    param = _BY_NAME.get(name)
    if param is not None:
        return param
    known = sorted(_BY_NAME)
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.0)
    guess = f"--{close[0]}" if close else None
    hint = f"; did you mean {guess}?" if guess else ""
    raise PromptError(
        f"unknown parameter --{name}{hint} Known parameters: " + " ".join(f"--{k}" for k in known),
        param=name, suggestion=guess,
    )


def _apply(param: Param, name: str, args: list[str], values: dict[str, object]) -> None:
    """Check one parameter's value tokens and store the typed value in ``values``."""
    raw = " ".join(args)
    label = f"--{name}"
    if param.kind == "flag":
        if args:
            raise PromptError(
                f"{label} takes no value, got '{raw}'; put prompt text before the parameters",
                param=param.name, suggestion=label,
            )
        if param.name in ("fast", "relax", "turbo"):
            values["mode"] = param.name
        else:
            values[param.name] = True
        return
    if param.kind in ("text", "refs") and not args:
        raise PromptError(f"{label} needs {param.range_text()} after it", param=param.name)
    if param.kind == "text":
        values["negative"] = raw
        return
    if param.kind == "codes":
        values["personalize"] = True
        values["personalize_codes"] = tuple(args)
        return
    if param.kind == "refs":
        bad = [a for a in args if not _REF.fullmatch(a)]
        if bad:
            raise PromptError(
                f"{label} got '{bad[0]}'; it takes {param.range_text()}", param=param.name
            )
        values["sref"] = tuple(args)
        return
    if not args:
        raise PromptError(f"{label} needs a value: {param.range_text()}", param=param.name)
    if len(args) > 1:
        raise PromptError(
            f"{label} takes one value ({param.range_text()}), got '{raw}'; "
            "put prompt text before the parameters", param=param.name,
        )
    value = args[0]
    if param.kind == "ratio":
        m = re.fullmatch(r"([0-9]+):([0-9]+)", value)
        if not m:
            raise PromptError(f"{label} {value} is not a ratio; use {param.range_text()} such as 16:9",
                              param="ar", suggestion=f"{label} 16:9")
        values["aspect"] = _check_aspect(int(m.group(1)), int(m.group(2)), written=name)
    elif param.kind == "url":
        if not _URL.fullmatch(value):
            raise PromptError(f"{label} {value} is not an image URL (http:// or https://)", param=param.name)
        values["oref"] = value
    elif param.kind == "version":
        if value not in VERSIONS:
            raise PromptError(
                f"{label} {value} is not a version pixelmill has; --v takes {param.range_text()}; "
                f"drop {label} for the default model", param="v", suggestion=f"--v {VERSIONS[-1]}",
            )
        values["version"] = value
    elif param.kind == "quality":
        number = _number(param, label, value)
        if number not in QUALITY_VALUES:
            best = min(QUALITY_VALUES, key=lambda q: abs(q - number))
            raise PromptError(f"{label} {value} is not allowed; --quality is {param.range_text()}",
                              param="quality", suggestion=f"{label} {_fmt(best)}")
        values["quality"] = number
    else:  # int or float with a range
        if param.kind == "int" and not _INT.fullmatch(value):
            if _DECIMAL.fullmatch(value) and value.startswith("-"):
                pass  # a negative whole number: report it as out of range below
            else:
                raise PromptError(f"{label} {value} is not a whole number; --{param.name} takes "
                                  f"{param.range_text()}", param=param.name)
        number = _number(param, label, value)
        if not param.lo <= number <= param.hi:
            clamp = min(max(number, param.lo), param.hi)
            raise PromptError(
                f"{label} {value} is out of range; --{param.name} takes {param.range_text()}",
                param=param.name, suggestion=f"{label} {_fmt(clamp)}",
            )
        values[param.name] = int(value) if param.kind == "int" else number


def _number(param: Param, label: str, value: str) -> float:
    if not _DECIMAL.fullmatch(value):
        raise PromptError(f"{label} {value} is not a number; --{param.name} takes {param.range_text()}",
                          param=param.name)
    number = float(value)
    if not math.isfinite(number):
        raise PromptError(f"{label} {value} is out of range; --{param.name} takes {param.range_text()}",
                          param=param.name)
    return number


def _check_aspect(w: int, h: int, *, written: str) -> tuple[int, int]:
    if w < 1 or h < 1 or w > MAX_ASPECT_RATIO * h or h > MAX_ASPECT_RATIO * w:
        raise PromptError(
            f"--{written} {w}:{h} is out of range; the aspect ratio must be from 1:4 to 4:1 "
            "(W:H with whole numbers above 0)", param="ar", suggestion="--ar 1:1",
        )
    return (w, h)


def _check_combinations(written: dict[str, str], values: dict[str, object]) -> None:
    speeds = [n for n in ("fast", "relax", "turbo") if n in written]
    if len(speeds) > 1:
        raise PromptError(
            f"--{speeds[0]} and --{speeds[1]} conflict: choose one of --fast, --relax, --turbo",
            param=speeds[1], suggestion=f"--{speeds[0]}",
        )
    if "draft" in written and not speeds:
        values["mode"] = "draft"
    if "iw" in written and not values["image_urls"]:
        raise PromptError("--iw weighs an image prompt, but the prompt has no image URL before the text; "
                          "add one or remove --iw", param="iw")
    for weight, ref in (("sw", "sref"), ("ow", "oref")):
        if weight in written and ref not in written:
            raise PromptError(f"--{weight} sets the weight of --{ref}; add --{ref} or remove --{weight}",
                              param=weight, suggestion=f"--{ref}")


def _split_parts(text: str) -> tuple[tuple[str, float], ...]:
    """Split ``a::2 b::-0.5 c`` into ((a, 2), (b, -0.5), (c, 1)); checks each weight and the sum."""
    segments = text.split("::")
    if len(segments) == 1:
        return ((text.strip(), 1.0),)
    parts: list[tuple[str, float]] = []
    current = segments[0]
    for seg in segments[1:]:
        m = _WEIGHT.match(seg)
        weight = float(m.group(0)) if m else 1.0
        if not (math.isfinite(weight) and -MAX_WEIGHT <= weight <= MAX_WEIGHT):
            raise PromptError(f"multi-prompt weight ::{m.group(0) if m else ''} is out of range; "
                              f"a weight is a number from {-MAX_WEIGHT:g} to {MAX_WEIGHT:g}")
        part = " ".join(current.split())
        if not part:
            raise PromptError(f"multi-prompt part {len(parts) + 1} is empty: write text before each '::'")
        parts.append((part, weight))
        current = seg[m.end():] if m else seg
    if current.strip():
        parts.append((" ".join(current.split()), 1.0))
    total = sum(w for _, w in parts)
    if total <= 0:
        raise PromptError(f"multi-prompt weights must add up to more than 0, they add up to {total:g}; "
                          "raise a weight or remove a negative one")
    return tuple(parts)


def _fmt(x: float) -> str:
    """A number as short positional text that parses back to the same float (0.25, 4, 0.00001)."""
    text = format(Decimal(repr(float(x))), "f")
    return text[:-2] if text.endswith(".0") else text
