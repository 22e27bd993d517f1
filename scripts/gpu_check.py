#!/usr/bin/env python3
"""GPU check: the same base model + adapter through transformers + peft (the reference) and
through each engine that is available here; reports whether their greedy outputs agree.

On an NVIDIA GPU it needs, besides the agent's packages, torch + transformers + peft (the
reference) and optionally tensorrt_llm (Linux/WSL2). Nothing is downloaded: give local folders.

  .venv/bin/python scripts/gpu_check.py --peft models/lora --gguf models/base/model-f16.gguf \\
      [--hf-model path/to/hf-folder] [--tokens 32] [--prompt "..."] [--cpu]

Use an F16/BF16 GGUF of the same model as the HF folder: a quantized GGUF is expected to drift.
transformers loads the GGUF itself (``gguf_file=``) when --hf-model is not given.

CPU path (``--cpu``, or automatic when no NVIDIA GPU is found): no reference and no TensorRT-LLM;
llama.cpp runs on the CPU through the agent's own code (``load_engine`` and ``AdapterService``:
find, convert, check and apply the adapter) and must answer with the adapter applied. It compares
nothing; it is what the tests run, so the GPU path's llama.cpp half cannot rot where no GPU is.

Exit status: 0 when every engine that ran agrees with the reference (CPU path: answered with the
adapter applied), 1 otherwise, 2 on setup errors.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "local-inference")]

PROMPT = (
    "<|im_start|>user\nIn two sentences, who are you and what do you like?<|im_end|>\n<|im_start|>assistant\n"
)
N_CTX = 2048
REFERENCE = "reference (transformers + peft)"
LLAMA_CPP = "llama.cpp (converted GGUF LoRA)"
TENSORRT = "TensorRT-LLM (LLM API, PEFT folder)"


def reference(args) -> str:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = str(args.hf_model) if args.hf_model else str(args.gguf.parent)
    extra = {} if args.hf_model else {"gguf_file": args.gguf.name}
    tokenizer = AutoTokenizer.from_pretrained(source, **extra)
    model = AutoModelForCausalLM.from_pretrained(source, torch_dtype=torch.float16, **extra).to("cuda")
    model = PeftModel.from_pretrained(model, str(args.peft)).eval()
    inputs = tokenizer(args.prompt, return_tensors="pt", add_special_tokens=False).to("cuda")
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=args.tokens, do_sample=False)
    return tokenizer.decode(out[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True)


async def _collect(engine, prompt: str, tokens: int) -> str:
    from aiclone_agent.engine.base import SamplingParams

    parts = []
    async for chunk in engine.generate(
        prompt, SamplingParams(max_tokens=tokens, temperature=0.0), "gpu-check"
    ):
        parts.append(chunk.text)
    return "".join(parts)


async def llama_cpp(args, n_gpu_layers: int) -> str:
    """The agent's own path: ``load_engine`` with ``backend: llama_cpp``, then ``AdapterService``."""
    import yaml

    from aiclone_agent.adapter.service import AdapterService
    from aiclone_agent.core.config import ConfigStore
    from aiclone_agent.engine.selector import load_engine

    model = {
        "backend": "llama_cpp",
        "base_model_path": str(args.gguf.resolve()),
        "lora_path": str(args.peft.resolve()),
        "n_ctx": N_CTX,
        "n_gpu_layers": n_gpu_layers,
        "parallel": 1,
    }
    with tempfile.TemporaryDirectory() as tmp:
        config_path = Path(tmp) / "config.yaml"
        config_path.write_text(yaml.safe_dump({"model": model}), encoding="utf-8")
        config = ConfigStore(config_path)
        engine = load_engine(config.current.model, Path(tmp) / "models")
        try:
            service = AdapterService(engine, config, Path(tmp) / "lora", Path(tmp) / "adapters")
            status = await service.start()
            if status.state != "applied":
                raise RuntimeError(f"adapter not applied: {status.reason}")
            return await _collect(engine, args.prompt, args.tokens)
        finally:
            await engine.close()


async def tensorrt(args) -> str:
    from aiclone_agent.engine.tensorrt_engine import TensorRTEngine

    engine = TensorRTEngine.load(args.hf_model, n_ctx=N_CTX, lora_dir=args.peft.resolve(), reason="gpu_check")
    try:
        return await _collect(engine, args.prompt, args.tokens)
    finally:
        await engine.close()


def no_gpu_reason() -> str | None:
    """Why this run takes the CPU path, or None when an NVIDIA GPU is there."""
    from aiclone_agent.engine.selector import HostFacts

    return (
        None
        if HostFacts.detect().nvidia_gpu
        else "no NVIDIA GPU found (no nvidia-smi, no /proc/driver/nvidia)"
    )


def run_engines(engines: dict, expected: str | None) -> dict[str, dict]:
    results: dict[str, dict] = {}
    for name, run in engines.items():
        try:
            text = asyncio.run(run())
        except Exception as exc:  # noqa: BLE001 - report every engine, whatever breaks
            results[name] = {"error": f"{type(exc).__name__}: {exc}", "ok": False}
            continue
        ok = bool(text) if expected is None else text == expected
        results[name] = {"text": text, "ok": ok}
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peft", type=Path, required=True, help="PEFT adapter folder")
    parser.add_argument("--gguf", type=Path, required=True, help="the base model as GGUF (F16 preferred)")
    parser.add_argument(
        "--hf-model", type=Path, help="the base model as an HF folder (TensorRT-LLM needs it)"
    )
    parser.add_argument("--tokens", type=int, default=32)
    parser.add_argument("--prompt", default=PROMPT)
    parser.add_argument("--cpu", action="store_true", help="the CPU path even where a GPU is")
    args = parser.parse_args()
    if not args.gguf.is_file() or not args.peft.is_dir():
        print(
            f"gpu_check: --gguf must be a file and --peft a folder ({args.gguf}, {args.peft})",
            file=sys.stderr,
        )
        return 2

    cpu_reason = "--cpu" if args.cpu else no_gpu_reason()
    if cpu_reason:
        print(f"gpu_check: CPU path ({cpu_reason}): no reference, no TensorRT-LLM", file=sys.stderr)
        results = run_engines({LLAMA_CPP: lambda: llama_cpp(args, n_gpu_layers=0)}, expected=None)
        print(
            json.dumps({"path": "cpu", "why": cpu_reason, "engines": results}, indent=2, ensure_ascii=False)
        )
        print(f"SKIPPED  {REFERENCE}: {cpu_reason}")
        for name, result in results.items():
            print(f"{'ANSWERED' if result['ok'] else 'FAILED  '}  {name}")
        return 0 if all(r["ok"] for r in results.values()) else 1

    try:
        expected = reference(args)
    except ImportError as exc:
        print(f"gpu_check: the reference needs torch + transformers + peft: {exc}", file=sys.stderr)
        return 2
    engines = {LLAMA_CPP: lambda: llama_cpp(args, n_gpu_layers=-1)}
    if args.hf_model:
        engines[TENSORRT] = lambda: tensorrt(args)
    results = {REFERENCE: {"text": expected, "ok": True}, **run_engines(engines, expected)}
    print(json.dumps({"path": "gpu", "engines": results}, indent=2, ensure_ascii=False))
    for name, result in results.items():
        print(f"{'AGREES ' if result['ok'] else 'DIFFERS'}  {name}")
    return 0 if all(r["ok"] for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
