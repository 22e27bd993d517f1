"""llama.cpp's logits for a token sequence, through its low-level API, with or without a LoRA."""

from __future__ import annotations

import ctypes
from pathlib import Path

import llama_cpp
import numpy as np


class LowLevelModel:
    """One model and context; ``greedy`` decodes one token at a time and keeps every step's logits."""

    def __init__(self, path: Path, n_ctx: int = 256) -> None:
        llama_cpp.llama_backend_init()
        mparams = llama_cpp.llama_model_default_params()
        mparams.n_gpu_layers = 0
        self.model = llama_cpp.llama_model_load_from_file(str(path).encode(), mparams)
        assert self.model, f"llama.cpp could not load {path}"
        cparams = llama_cpp.llama_context_default_params()
        cparams.n_ctx = n_ctx
        cparams.n_batch = n_ctx
        cparams.n_threads = cparams.n_threads_batch = 2
        self.ctx = llama_cpp.llama_init_from_model(self.model, cparams)
        self.vocab = llama_cpp.llama_model_get_vocab(self.model)
        self.n_vocab = llama_cpp.llama_vocab_n_tokens(self.vocab)
        self.adapter = None

    def set_lora(self, path: Path | None, scale: float = 1.0) -> None:
        if path is not None and self.adapter is None:
            self.adapter = llama_cpp.llama_adapter_lora_init(self.model, str(path).encode())
            assert self.adapter, f"llama.cpp refused the LoRA {path}"
        if self.adapter is None:
            return
        adapters = (llama_cpp.llama_adapter_lora_p_ctypes * 1)(self.adapter)
        scales = (ctypes.c_float * 1)(scale)
        assert llama_cpp.llama_set_adapters_lora(self.ctx, adapters, 1, scales) == 0

    def tokenize(self, text: str) -> list[int]:
        raw = text.encode()
        buffer = (llama_cpp.llama_token * (len(raw) + 8))()
        n = llama_cpp.llama_tokenize(self.vocab, raw, len(raw), buffer, len(buffer), True, True)
        assert n > 0
        return list(buffer[:n])

    def _decode(self, tokens: list[int], start: int) -> np.ndarray:
        batch = llama_cpp.llama_batch_init(len(tokens), 0, 1)
        try:
            for i, token in enumerate(tokens):
                batch.token[i] = token
                batch.pos[i] = start + i
                batch.n_seq_id[i] = 1
                batch.seq_id[i][0] = 0
                batch.logits[i] = int(i == len(tokens) - 1)
            batch.n_tokens = len(tokens)
            assert llama_cpp.llama_decode(self.ctx, batch) == 0
            row = llama_cpp.llama_get_logits_ith(self.ctx, -1)
            return np.ctypeslib.as_array(row, shape=(self.n_vocab,)).copy()
        finally:
            llama_cpp.llama_batch_free(batch)

    def greedy(
        self, prompt: list[int], steps: int, forced: list[int] | None = None
    ) -> tuple[list[int], np.ndarray]:
        """Greedy continuation of ``prompt`` (or ``forced`` tokens) and the logits before each token."""
        llama_cpp.llama_memory_clear(llama_cpp.llama_get_memory(self.ctx), True)
        logits = [self._decode(prompt, 0)]
        chosen: list[int] = []
        for step in range(steps):
            token = forced[step] if forced is not None else int(np.argmax(logits[-1]))
            chosen.append(token)
            if step + 1 < steps:
                logits.append(self._decode([token], len(prompt) + step))
        return chosen, np.stack(logits)

    def close(self) -> None:
        if self.ctx:
            llama_cpp.llama_free(self.ctx)
        if self.model:
            llama_cpp.llama_model_free(self.model)
        self.ctx = self.model = None
