"""``pixelmill bench safety --json``: the pre-filter's cost per prompt, layer by layer, side by side.

Variants, all in one process and timed round-robin (each prompt goes through every variant before
the next prompt, so load swings on a shared machine hit them alike):

- ``rules_only``: rules, lexicon and injection layers (no encoder).
- ``torch``: plus the embedding layer with the torch MiniLM encoder (the old path).
- ``onnx_fp32``: plus the embedding layer through onnxruntime, fp32 (same vectors as torch).
- ``onnx_int8``: the same, int8-quantised weights (the default fast path), LRU cache off.
- ``onnx_int8_cached``: the default as deployed, LRU cache on, timed on a second pass over the
  prompts (what a retried or repeated prompt costs).

Each reports p50/p99 milliseconds of single :meth:`PreFilter.screen` calls on benign prompts (every
layer runs on them), plus per-prompt cost in batches of 16 (the gateway's micro-batches).
``agreement`` (optional, slower) screens the whole tune split with each encoder and counts
decisions (allowed, category) that differ from torch's, with each variant's tune recall and
false-positive rate. The machine's 1-minute load average is printed: read timings with it.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Sequence

from pixelmill.safety.embedding import EmbeddingLayer, Encoder, Head
from pixelmill.safety.fast_encoder import OnnxEncoder
from pixelmill.safety.golden import load
from pixelmill.safety.prefilter import PreFilter, shared_lexicon
from pixelmill.safety.rules import RulesFile
from pixelmill.safety.verdict import Verdict


def _stats(samples: list[float]) -> dict[str, float]:
    samples = sorted(samples)
    return {
        "n": len(samples),
        "p50": round(statistics.median(samples), 3),
        "p99": round(samples[min(len(samples) - 1, int(0.99 * len(samples)))], 3),
    }


def build_variants(rules: RulesFile | None = None) -> dict[str, PreFilter]:
    """The filters compared (one lexicon and head shared; the encoders differ)."""
    lexicon, head = shared_lexicon(), Head.load()

    def with_encoder(encoder: object) -> PreFilter:
        layer = EmbeddingLayer(encoder=encoder, head=head, cut=lexicon.cut_harmless)  # type: ignore[arg-type]
        return PreFilter(lexicon, rules, layer)

    return {
        "rules_only": PreFilter(lexicon, rules, None),
        "torch": with_encoder(Encoder()),
        "onnx_fp32": with_encoder(OnnxEncoder("fp32", cache_size=0)),
        "onnx_int8": with_encoder(OnnxEncoder("int8", cache_size=0)),
        "onnx_int8_cached": with_encoder(OnnxEncoder("int8")),
    }


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def latency(variants: dict[str, PreFilter], prompts: Sequence[str], batch: int = 16) -> dict[str, object]:
    """Single-call and batched per-prompt latency of every variant, round-robin."""
    for pf in variants.values():
        for p in prompts[:3]:
            pf.screen(p + " warm-up")
    cached = variants.get("onnx_int8_cached")
    if cached is not None:
        cached.screen_batch(list(prompts))  # fill its cache: it is timed on a repeat pass
    single: dict[str, list[float]] = {name: [] for name in variants}
    for p in prompts:
        for name, pf in variants.items():
            single[name].append(_timed(lambda pf=pf, p=p: pf.screen(p)))  # type: ignore[misc]
    batched: dict[str, list[float]] = {name: [] for name in variants}
    for start in range(0, len(prompts) - batch + 1, batch):
        chunk = list(prompts[start : start + batch])
        for name, pf in variants.items():
            batched[name].append(_timed(lambda pf=pf, c=chunk: pf.screen_batch(c)) / len(chunk))  # type: ignore[misc]
    out: dict[str, object] = {}
    for name in variants:
        out[name] = {"single": _stats(single[name]), f"batch{batch}_per_prompt": _stats(batched[name])}
    return out


def _decision(v: Verdict) -> tuple[bool, str | None]:
    return v.allowed, None if v.allowed else v.category


def agreement(variants: dict[str, PreFilter], reference: str = "torch") -> dict[str, object]:
    """Each variant's tune-split decisions against ``reference``'s: how many differ, and each
    variant's tune recall / false-positive rate."""
    rows = [r for r in load("adversarial") + load("benign") if r["split"] == "tune"]
    prompts = [str(r["prompt"]) for r in rows]
    adversarial = [r["expected"] is not None for r in rows]
    decisions: dict[str, list[Verdict]] = {}
    for name, pf in variants.items():
        if name.endswith("_cached"):
            continue
        decisions[name] = [
            v for i in range(0, len(prompts), 64) for v in pf.screen_batch(prompts[i : i + 64])
        ]
    ref = [_decision(v) for v in decisions[reference]]
    n_adv = sum(adversarial)
    out: dict[str, object] = {"n": len(rows), "reference": reference}
    for name, verdicts in decisions.items():
        differ = [
            prompts[i]
            for i, (a, b) in enumerate(zip(verdicts, ref, strict=True))
            if _decision(a) != b
        ]
        blocked_adv = sum(not v.allowed for v, a in zip(verdicts, adversarial, strict=True) if a)
        blocked_ben = sum(not v.allowed for v, a in zip(verdicts, adversarial, strict=True) if not a)
        out[name] = {
            "decisions_differing": len(differ),
            "agreement": round(1 - len(differ) / len(rows), 5),
            "tune_recall": round(blocked_adv / n_adv, 4),
            "tune_false_positive_rate": round(blocked_ben / (len(rows) - n_adv), 4),
            "examples": differ[:5],
        }
    return out


def run(samples: int = 200, with_agreement: bool = True) -> dict[str, object]:
    """The benchmark's JSON result (see the module docstring)."""
    variants = build_variants()
    rows = load("benign")
    step = max(1, len(rows) // max(1, samples))
    prompts = [str(r["prompt"]) for r in rows[::step]][:samples]
    result: dict[str, object] = {
        "prompts": len(prompts),
        "cpu_count": os.cpu_count(),
        "cpu_load_1m_before": round(os.getloadavg()[0], 2),
        "latency_ms": latency(variants, prompts),
        "cpu_load_1m_after": round(os.getloadavg()[0], 2),
    }
    if with_agreement:
        result["tune_agreement"] = agreement(variants)
    lat = result["latency_ms"]
    torch_p50 = lat["torch"]["single"]["p50"]  # type: ignore[index]
    result["speedup_p50_vs_torch"] = {
        name: round(torch_p50 / max(1e-9, lat[name]["single"]["p50"]), 2)  # type: ignore[index]
        for name in ("onnx_fp32", "onnx_int8", "onnx_int8_cached")
    }
    return result
