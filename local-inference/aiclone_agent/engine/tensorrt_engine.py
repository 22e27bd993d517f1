"""TensorRT-LLM backend, written to its LLM API (PyTorch backend: no engine build).

``LLM(model=hf_dir, lora_config=LoraConfig(...))`` loads the HF base model; every request goes
through ``generate_async(..., streaming=True)`` with a ``LoRARequest`` carrying the clone's PEFT
folder, so TensorRT-LLM's in-flight batching schedules our requests. Linux / WSL2 with an NVIDIA
GPU only. The translation of our parameters into its objects is kept in small functions that the
tests check against a stand-in module; the engine itself runs only where TensorRT-LLM installs.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import clone_core
from aiclone_agent.engine.base import (
    ChatTemplate,
    EngineClient,
    EngineError,
    EngineInfo,
    FinishReason,
    GenerationChunk,
    PromptTooLongError,
    SamplingParams,
    merge_stops,
)

LORA_NAME = "clone"


@dataclass(frozen=True)
class TensorRTModules:
    """The TensorRT-LLM names we use, imported once."""

    LLM: Any
    SamplingParams: Any
    LoraConfig: Any
    LoRARequest: Any


def import_tensorrt_llm() -> TensorRTModules:
    import importlib

    root: ModuleType = importlib.import_module("tensorrt_llm")
    return TensorRTModules(
        LLM=root.LLM,
        SamplingParams=importlib.import_module("tensorrt_llm.sampling_params").SamplingParams,
        LoraConfig=importlib.import_module("tensorrt_llm.lora_manager").LoraConfig,
        LoRARequest=importlib.import_module("tensorrt_llm.executor.request").LoRARequest,
    )


def to_sampling_params(trt: TensorRTModules, params: SamplingParams, stops: tuple[str, ...], max_tokens: int):
    """Our sampling parameters as TensorRT-LLM's; stop strings are also enforced by our decoder."""
    kwargs: dict[str, Any] = {
        "max_tokens": max_tokens,
        "temperature": params.temperature,
        "top_p": params.top_p,
        "stop": list(stops) or None,
    }
    if params.temperature == 0.0:
        kwargs.update(top_k=1, top_p=1.0)  # greedy
    if params.seed is not None:
        kwargs["seed"] = params.seed
    return trt.SamplingParams(**kwargs)


def lora_config_for(trt: TensorRTModules, peft_dir: Path) -> Any:
    config = json.loads((peft_dir / "adapter_config.json").read_text(encoding="utf-8"))
    return trt.LoraConfig(
        lora_dir=[str(peft_dir)], max_lora_rank=int(config["r"]), max_loras=1, max_cpu_loras=1
    )


def lora_request_for(trt: TensorRTModules, peft_dir: Path) -> Any:
    return trt.LoRARequest(LORA_NAME, 1, str(peft_dir))


class TensorRTEngine(EngineClient):
    def __init__(
        self,
        trt: TensorRTModules,
        llm: Any,
        info: EngineInfo,
        template: ChatTemplate,
        tokenizer: clone_core.Tokenizer,
        lora_dir: Path | None,
    ) -> None:
        self._trt, self._llm = trt, llm
        self.info, self.chat_template, self.tokenizer = info, template, tokenizer
        self.lora_dir = lora_dir
        self._running: dict[str, Any] = {}

    @classmethod
    def load(cls, hf_dir: Path, *, n_ctx: int, lora_dir: Path | None, reason: str) -> TensorRTEngine:
        try:
            trt = import_tensorrt_llm()
        except ImportError as exc:
            raise EngineError(f"TensorRT-LLM does not import: {exc}") from exc
        template, tokenizer = _hf_template_and_tokenizer(hf_dir)
        kwargs: dict[str, Any] = {"model": str(hf_dir), "max_seq_len": n_ctx}
        if lora_dir is not None:
            kwargs["lora_config"] = lora_config_for(trt, lora_dir)
        try:
            llm = trt.LLM(**kwargs)
        except Exception as exc:
            raise EngineError(f"TensorRT-LLM could not load {hf_dir}: {type(exc).__name__}: {exc}") from exc
        info = EngineInfo(
            backend="tensorrt",
            reason=reason,
            model_name=hf_dir.name,
            model_path=str(hf_dir),
            n_ctx=n_ctx,
            n_gpu_layers=-1,
            details={"lora": str(lora_dir or "")},
        )
        return cls(trt, llm, info, template, tokenizer, lora_dir)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer.encode(text, add_special=True, parse_special=True))

    async def generate(
        self, prompt: str, params: SamplingParams, request_id: str, channel: str = "api"
    ) -> AsyncGenerator[GenerationChunk, None]:
        # ``channel`` is not used: TensorRT-LLM's own scheduler has no per-channel weights
        n_prompt = self.count_tokens(prompt)
        room = self.info.n_ctx - n_prompt
        if room <= 0:
            raise PromptTooLongError(f"prompt is {n_prompt} tokens; the context window is {self.info.n_ctx}")
        stops = merge_stops(params.stop, self.chat_template.stop)
        sampling = to_sampling_params(self._trt, params, stops, min(params.max_tokens, room))
        lora = lora_request_for(self._trt, self.lora_dir) if self.lora_dir is not None else None
        output = self._llm.generate_async(prompt, sampling, lora_request=lora, streaming=True)
        self._running[request_id] = output
        decoder = clone_core.StreamDecoder(self.tokenizer, stop=stops)
        seen = 0
        finish: FinishReason = "length"
        try:
            async for partial in output:
                completion = partial.outputs[0]
                new_ids = list(completion.token_ids[seen:])
                seen = len(completion.token_ids)
                text = decoder.feed(new_ids) if new_ids else ""
                if text:
                    yield GenerationChunk(text, n_prompt, seen)
                if decoder.stopped or completion.finish_reason in ("stop", "abort"):
                    finish = "stop" if decoder.stopped or completion.finish_reason == "stop" else "abort"
                    break
        finally:
            self._running.pop(request_id, None)
            if finish != "length" or not output.finished:
                output.abort()
        tail = "" if decoder.stopped else decoder.finish()
        yield GenerationChunk(tail, n_prompt, seen, finish_reason=finish)

    async def abort(self, request_id: str) -> None:
        output = self._running.get(request_id)
        if output is not None:
            output.abort()

    async def check_health(self) -> None:
        if self._llm is None:
            raise EngineError("the model is not loaded")

    async def close(self) -> None:
        llm, self._llm = self._llm, None
        if llm is not None:
            llm.shutdown()


def _hf_template_and_tokenizer(hf_dir: Path) -> tuple[ChatTemplate, clone_core.Tokenizer]:
    try:
        tokenizer = clone_core.Tokenizer.from_file(hf_dir / "tokenizer.json")
        config = json.loads((hf_dir / "tokenizer_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, clone_core.CoreError) as exc:
        raise EngineError(f"cannot read the tokenizer of {hf_dir}: {exc}") from exc

    def token(key: str) -> str:
        value = config.get(key) or ""
        return value.get("content", "") if isinstance(value, dict) else str(value)

    source = config.get("chat_template")
    if not source:
        raise EngineError(f"{hf_dir} has no chat template (tokenizer_config.json chat_template)")
    eos = token("eos_token")
    return ChatTemplate(
        source=source, bos_token=token("bos_token"), eos_token=eos, stop=(eos,) if eos else ()
    ), tokenizer
