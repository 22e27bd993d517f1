"""The native side: one llama.cpp model and one context with a sequence slot per parallel request
(and a spare), through llama-cpp-python's C API.

Everything here except ``load`` and ``interrupt`` runs on the decode-loop thread only (a context
is not thread-safe). ``interrupt`` may come from any thread: llama.cpp's abort callback, a C
function of the Rust core reading an atomic flag, stops the step in flight at its next graph node
(on the CPU backend; GPU backends finish the step), and llama.cpp removes that step's cells.
"""

from __future__ import annotations

import ctypes
import os
from dataclasses import dataclass
from pathlib import Path

import llama_cpp

import clone_core
from aiclone_agent.engine.base import ChatTemplate, EngineError, ModelLoadError
from aiclone_agent.engine.llama_batch import native_log

# Sequence ids beyond one per running request: finished conversations wait in RAM (``KvSlots``),
# not in sequences of their own, so one spare is all a slot change needs.
SPARE_SEQUENCES = 1
_MAX_SEQ = 256  # LLAMA_MAX_SEQ


class DecodeError(EngineError):
    """``llama_decode`` failed; ``no_room`` when the KV cache had no free cells for the batch,
    ``interrupted`` when ``LlamaContext.interrupt`` stopped it (nothing of the batch was kept)."""

    def __init__(self, code: int) -> None:
        super().__init__(f"llama_decode failed with code {code}")
        self.no_room = code == 1
        self.interrupted = code == 2


@dataclass(frozen=True)
class ContextShape:
    n_ctx: int  # KV cells shared by every sequence (a single request may use all of them)
    n_batch: int  # tokens per llama_decode
    parallel: int  # sequences decoded at once
    n_seq: int  # sequence ids: parallel + a spare


class LlamaContext:
    """Owns the model, the context and one reusable ``llama_batch``."""

    def __init__(
        self,
        model,
        ctx,
        shape: ContextShape,
        metadata: dict[str, str],
        *,
        threads: int = 1,
        attention_on_cpu: bool = True,
    ) -> None:
        self.model = model
        self.ctx = ctx
        self.shape = shape
        self.metadata = metadata
        self.vocab = llama_cpp.llama_model_get_vocab(model)
        self.n_vocab = llama_cpp.llama_vocab_n_tokens(self.vocab)
        self.memory = llama_cpp.llama_get_memory(ctx)
        self._batch = llama_cpp.llama_batch_init(shape.n_batch, 0, 1)
        self._lora = None  # llama_adapter_lora_p, owned by the model
        self._lora_path: Path | None = None
        self._lora_scale: float | None = None  # the scale set on the context now
        self.threads = threads  # llama.cpp's threads for a batch
        self.attention_on_cpu = (
            attention_on_cpu  # no layer offloaded: llama.cpp's CPU flash attention runs it
        )
        self.n_head = llama_cpp.llama_model_n_head(model)
        self.n_layer = llama_cpp.llama_model_n_layer(model)
        self.n_embd = llama_cpp.llama_model_n_embd(model)
        self.n_params = llama_cpp.llama_model_n_params(model)
        self._owns_model = True  # False for a lane's context: the main one frees the model
        self.abort_flag = clone_core.AbortFlag()
        self._abort_callback = llama_cpp.ggml_abort_callback(self.abort_flag.callback_address)
        llama_cpp.llama_set_abort_callback(
            ctx, self._abort_callback, ctypes.c_void_p(self.abort_flag.data_address)
        )

    @classmethod
    def load(
        cls, path: Path, *, n_ctx: int, n_batch: int, parallel: int, n_gpu_layers: int, n_threads: int
    ) -> LlamaContext:
        native_log.install()
        llama_cpp.llama_backend_init()
        model_params = llama_cpp.llama_model_default_params()
        model_params.n_gpu_layers = n_gpu_layers if n_gpu_layers >= 0 else 0x7FFFFFFF
        with native_log.errors() as errors:
            model = llama_cpp.llama_model_load_from_file(str(path).encode(), model_params)
        if not model:
            why = native_log.reason(errors) or "not a usable GGUF model?"
            raise ModelLoadError(
                f"llama.cpp could not load {path.name} ({why})",
                code="model_load_failed",
                params={"file": path.name},
            )
        n_seq = min(_MAX_SEQ, parallel + SPARE_SEQUENCES)
        shape = ContextShape(n_ctx=n_ctx, n_batch=min(n_batch, n_ctx), parallel=parallel, n_seq=n_seq)
        threads = n_threads or os.cpu_count() or 1
        ctx = _new_context(model, shape, threads, unified=True)
        if not ctx:
            llama_cpp.llama_model_free(model)
            raise ModelLoadError(
                f"llama.cpp could not create a context of {n_ctx} tokens for {path.name}",
                code="model_context_failed",
                params={"file": path.name, "n_ctx": n_ctx},
            )
        on_cpu = n_gpu_layers == 0 or not llama_cpp.llama_supports_gpu_offload()
        return cls(model, ctx, shape, _metadata(model), threads=threads, attention_on_cpu=on_cpu)

    def lane_context(self) -> LlamaContext | None:
        """A second context on the same model with one sequence of the whole ``n_ctx`` (the prompt
        lane's), or None when llama.cpp could not make one. It shares the model and the adapter."""
        shape = ContextShape(n_ctx=self.shape.n_ctx, n_batch=self.shape.n_batch, parallel=1, n_seq=1)
        ctx = _new_context(self.model, shape, self.threads, unified=False)
        if not ctx:
            return None
        lane = LlamaContext(
            self.model,
            ctx,
            shape,
            self.metadata,
            threads=self.threads,
            attention_on_cpu=self.attention_on_cpu,
        )
        lane._owns_model = False
        lane.follow_adapter(self)
        return lane

    # -- tokens -----------------------------------------------------------------------------
    def is_eog(self, token: int) -> bool:
        return bool(llama_cpp.llama_vocab_is_eog(self.vocab, token))

    def piece(self, token: int) -> str:
        if token < 0:
            return ""
        buf = ctypes.create_string_buffer(64)
        n = llama_cpp.llama_token_to_piece(self.vocab, token, buf, len(buf), 0, True)
        if n > len(buf):
            buf = ctypes.create_string_buffer(n)
            n = llama_cpp.llama_token_to_piece(self.vocab, token, buf, len(buf), 0, True)
        return buf.raw[: max(n, 0)].decode("utf-8", errors="ignore")

    def chat_template(self) -> ChatTemplate:
        source = self.metadata.get("tokenizer.chat_template")
        if not source:
            raise EngineError(
                "the GGUF has no chat template (tokenizer.chat_template); use an instruct/chat model"
            )
        eos = self.piece(llama_cpp.llama_vocab_eos(self.vocab))
        bos = self.piece(llama_cpp.llama_vocab_bos(self.vocab))
        return ChatTemplate(source=source, bos_token=bos, eos_token=eos, stop=(eos,) if eos else ())

    # -- KV memory --------------------------------------------------------------------------
    def seq_rm(self, seq: int, p0: int = -1, p1: int = -1) -> bool:
        return bool(llama_cpp.llama_memory_seq_rm(self.memory, seq, p0, p1))

    def seq_cp(self, src: int, dst: int, p0: int, p1: int) -> None:
        llama_cpp.llama_memory_seq_cp(self.memory, src, dst, p0, p1)

    def save_sequence(self, seq: int) -> ctypes.Array | None:
        """A copy of ``seq``'s cells (positions and K/V of every layer) in host memory; None when
        llama.cpp wrote nothing."""
        size = llama_cpp.llama_state_seq_get_size(self.ctx, seq)
        if size <= 0:
            return None
        state = (ctypes.c_uint8 * size)()
        written = llama_cpp.llama_state_seq_get_data(self.ctx, state, size, seq)
        return state if written == size else None

    def restore_sequence(self, state: ctypes.Array, seq: int) -> bool:
        """Put ``save_sequence``'s copy back as ``seq`` (cleared first); False when the cache has no
        free run of cells for it (llama.cpp places a restored sequence in one piece)."""
        return llama_cpp.llama_state_seq_set_data(self.ctx, state, len(state), seq) > 0

    # -- the adapter ------------------------------------------------------------------------
    @property
    def has_lora(self) -> bool:
        return self._lora is not None

    def load_lora(self, path: Path) -> None:
        """Load the GGUF LoRA at ``path`` (a path loaded before is kept); it applies from the next
        ``use_lora_scale``."""
        if self._lora is not None and self._lora_path == path:
            return
        handle = llama_cpp.llama_adapter_lora_init(self.model, str(path).encode())
        if not handle:
            raise EngineError(f"llama.cpp could not load the adapter {path.name} (see the agent log)")
        self._lora, self._lora_path, self._lora_scale = handle, path, None

    def follow_adapter(self, other: LlamaContext) -> None:
        """Use ``other``'s adapter (a context on the same model): the handle is the model's."""
        if self._lora is not other._lora:
            self._lora, self._lora_path, self._lora_scale = other._lora, other._lora_path, None
            llama_cpp.llama_set_adapters_lora(self.ctx, None, 0, None)

    def use_lora_scale(self, scale: float) -> bool:
        """Decode the next steps with the LoRA at ``scale`` (0: not in the graph at all); True when
        that changed what the context computes."""
        if self._lora is None or scale == self._lora_scale:
            return False
        if scale == 0.0:
            result = llama_cpp.llama_set_adapters_lora(self.ctx, None, 0, None)
        else:
            adapters = (llama_cpp.llama_adapter_lora_p_ctypes * 1)(self._lora)
            scales = (ctypes.c_float * 1)(scale)
            result = llama_cpp.llama_set_adapters_lora(self.ctx, adapters, 1, scales)
        if result != 0:
            raise EngineError(f"llama.cpp refused the adapter at scale {scale} (error {result})")
        self._lora_scale = scale
        return True

    # -- one step ---------------------------------------------------------------------------
    def interrupt(self) -> None:
        """Stop the step in flight (any thread): ``decode`` raises ``DecodeError`` with
        ``interrupted``, until ``clear_interrupt``."""
        self.abort_flag.set()

    def clear_interrupt(self) -> None:
        self.abort_flag.clear()

    def decode(self, entries: list[tuple[int, int, int, bool]]) -> None:
        """``entries``: (token, position, sequence, wants_logits); raises ``DecodeError``, and
        ``EngineError`` for more logits than the context reserves (llama.cpp would abort the process)."""
        batch = self._batch
        token, pos, n_seq_id, seq_id, logits = (
            batch.token,
            batch.pos,
            batch.n_seq_id,
            batch.seq_id,
            batch.logits,
        )
        for i, (tok, position, seq, want) in enumerate(entries):
            token[i] = tok
            pos[i] = position
            n_seq_id[i] = 1
            seq_id[i][0] = seq
            logits[i] = want
        batch.n_tokens = len(entries)
        outputs = sum(1 for entry in entries if entry[3])
        if outputs > self.shape.n_seq:
            raise EngineError(f"a step asked for {outputs} logits; the context reserves {self.shape.n_seq}")
        code = llama_cpp.llama_decode(self.ctx, batch)
        if code != 0:
            raise DecodeError(code)

    def close(self) -> None:
        if self.ctx is None:
            return
        llama_cpp.llama_batch_free(self._batch)
        llama_cpp.llama_free(self.ctx)
        if self._owns_model:
            llama_cpp.llama_model_free(self.model)
        self.ctx = self.model = None


def _new_context(model, shape: ContextShape, threads: int, *, unified: bool):
    params = llama_cpp.llama_context_default_params()
    params.n_ctx = shape.n_ctx
    params.n_batch = shape.n_batch
    params.n_ubatch = shape.n_batch
    params.n_seq_max = shape.n_seq
    # Logits for one token per sequence at most (its next token), as llama-server reserves
    # (n_outputs_max = its n_seq_max): the default (n_batch) reserves a logits row per batch
    # token, 512 x the vocabulary (100 MB of compute buffer for a 49k vocabulary) never used.
    params.n_outputs_max = shape.n_seq
    params.n_outputs_max_per_seq = 1
    params.kv_unified = unified  # one pool of cells: sequences share a copied prefix's cells
    params.n_threads = threads
    params.n_threads_batch = threads
    params.no_perf = True
    return llama_cpp.llama_init_from_model(model, params)


def _metadata(model) -> dict[str, str]:
    out: dict[str, str] = {}
    size = 1024
    buf = ctypes.create_string_buffer(size)
    for i in range(llama_cpp.llama_model_meta_count(model)):
        values = []
        for read in (llama_cpp.llama_model_meta_key_by_index, llama_cpp.llama_model_meta_val_str_by_index):
            n = read(model, i, buf, size)
            if n >= size:
                size = n + 1
                buf = ctypes.create_string_buffer(size)
                n = read(model, i, buf, size)
            values.append(buf.value.decode("utf-8", errors="replace"))
        out[values[0]] = values[1]
    return out
