"""Prompt conditioning is encoded once per prompt, at admission, in one batched encoder call."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
import torch

from pixelmill.engine import Completed, Engine, Failed
from pixelmill.engine.prompt_cache import PromptCache, prompt_key
from tests.engine_support import ModelWrapper, request, tiny_model


@dataclass
class CountingModel(ModelWrapper):
    """Wraps a model; records the prompts of every ``encode_prompts_batch`` call."""

    batches: list[int] = field(default_factory=list)

    def encode_prompts_batch(self, prompts: Any) -> Any:
        self.batches.append(len(prompts))
        if any(text == "poison" for positive, _ in prompts for text, _ in positive):
            raise ValueError("this text encoder refuses 'poison'")
        return self.inner.encode_prompts_batch(prompts)


def test_batched_encoding_equals_encoding_each_prompt_alone() -> None:
    m = tiny_model()
    prompts = [
        ([("a red cube", 1.0)], ""),
        ([("a cat", 3.0), ("a dog", 1.0)], "blur"),
        ([("a cat", 1.0)], ""),
    ]
    together = m.encode_prompts_batch(prompts)
    for (pos, neg), got in zip(prompts, together, strict=True):
        alone = m.encode_prompts(pos, neg)
        torch.testing.assert_close(got.cond, alone.cond, atol=1e-6, rtol=1e-5)
        torch.testing.assert_close(got.uncond, alone.uncond, atol=1e-6, rtol=1e-5)
    assert not torch.allclose(together[0].cond, together[2].cond)
    with pytest.raises(ValueError, match="sum to a positive number"):
        m.encode_prompts_batch([([("a", 1.0)], ""), ([("b", 1.0), ("c", -1.0)], "")])


def test_a_repeated_prompt_is_a_cache_hit_and_misses_share_one_call() -> None:
    model = CountingModel(tiny_model())
    cache = PromptCache(model, capacity=2)
    a, b, c = (prompt_key([(t, 1.0)], "") for t in ("red", "green", "blue"))
    first = cache.get_many([a, b, a])
    assert model.batches == [2] and (cache.hits, cache.misses) == (1, 2)
    assert first[0] is first[2]
    assert cache.get(a) is first[0] and model.batches == [2]  # hit: no encoder call
    cache.get(c)  # evicts b, the least recently used
    cache.get(b)
    assert model.batches == [2, 1, 1]


def test_jobs_admitted_together_encode_in_one_call_and_repeats_hit_the_cache() -> None:
    model = CountingModel(tiny_model())
    engine = Engine(model, max_batch=8)
    engine.submit(request("a", prompt="a lighthouse"))
    engine.submit(request("b", prompt="a lighthouse"))
    engine.submit(request("c", prompt="a harbour"))
    engine.step()
    assert model.batches == [2]  # three jobs, two distinct prompts, one encoder call
    engine.run_until_idle()
    engine.submit(request("d", prompt="a harbour"))
    engine.run_until_idle()
    assert model.batches == [2]  # d's prompt came from the cache
    assert engine.runner.prompts.hits == 2


def test_a_prompt_the_encoder_refuses_fails_only_its_job() -> None:
    model = CountingModel(tiny_model())
    engine = Engine(model, max_batch=8)
    engine.submit(request("good", prompt="a lighthouse"))
    engine.submit(request("bad", prompt="poison"))
    events = engine.run_until_idle()
    assert model.batches == [2, 1, 1]  # the batch failed, then each prompt alone
    failed = {e.job_id: e for e in events if isinstance(e, Failed)}
    assert set(failed) == {"bad"} and "refuses 'poison'" in failed["bad"].message
    assert {e.job_id for e in events if isinstance(e, Completed)} == {"good"}
