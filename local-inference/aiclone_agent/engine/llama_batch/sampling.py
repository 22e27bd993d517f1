"""One llama.cpp sampler chain per request.

Order as in llama.cpp's default chain, top-k first (it cuts a 49k vocabulary to 40 candidates, which
makes everything after it ten times cheaper): top-k, repetition penalty, top-p, min-p, temperature,
then a seeded draw. Temperature 0 is greedy (after the penalty), so the same prompt gives the same
answer.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import llama_cpp

from aiclone_agent.engine.base import SamplingParams

TOP_K = 40
MIN_P = 0.05
REPEAT_PENALTY = 1.1
PENALTY_LAST_N = 64


class SamplerChain:
    def __init__(self, params: SamplingParams, prompt_tail: Sequence[int], n_vocab: int) -> None:
        chain = llama_cpp.llama_sampler_chain_init(llama_cpp.llama_sampler_chain_default_params())
        if params.temperature <= 0:
            stages = [
                llama_cpp.llama_sampler_init_top_k(TOP_K),
                llama_cpp.llama_sampler_init_penalties(n_vocab, PENALTY_LAST_N, REPEAT_PENALTY, 0.0, 0.0),
                llama_cpp.llama_sampler_init_greedy(),
            ]
        else:
            seed = params.seed if params.seed is not None else time.time_ns()
            stages = [
                llama_cpp.llama_sampler_init_top_k(TOP_K),
                llama_cpp.llama_sampler_init_penalties(n_vocab, PENALTY_LAST_N, REPEAT_PENALTY, 0.0, 0.0),
                llama_cpp.llama_sampler_init_top_p(params.top_p, 1),
                llama_cpp.llama_sampler_init_min_p(MIN_P, 1),
                llama_cpp.llama_sampler_init_temp(params.temperature),
                llama_cpp.llama_sampler_init_dist(seed & 0xFFFFFFFF),
            ]
        for stage in stages:
            llama_cpp.llama_sampler_chain_add(chain, stage)  # the chain owns and frees its stages
        for token in prompt_tail[-PENALTY_LAST_N:]:
            llama_cpp.llama_sampler_accept(chain, token)  # the penalty sees the prompt's last tokens
        self._chain = chain

    def sample(self, ctx, index: int) -> int:
        """Draw (and record) the next token from output ``index`` of the last decode."""
        return int(llama_cpp.llama_sampler_sample(self._chain, ctx, index))

    def close(self) -> None:
        if self._chain is not None:
            llama_cpp.llama_sampler_free(self._chain)
            self._chain = None
