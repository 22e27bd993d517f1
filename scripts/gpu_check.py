#!/usr/bin/env python3
"""GPU check: the same base model + adapter through transformers + peft (the reference) and
through each engine that is available here; reports whether their greedy outputs agree.

Needs an NVIDIA GPU and, besides the agent's packages, torch + transformers + peft (reference)
and optionally tensorrt_llm (Linux/WSL2). Nothing is downloaded: give local folders.

  .venv/bin/python scripts/gpu_check.py --peft models/lora --gguf models/base/model-f16.gguf \\
      [--hf-model path/to/hf-folder] [--tokens 32] [--prompt "..."]

Use an F16/BF16 GGUF of the same model as the HF folder: a quantized GGUF is expected to drift.
transformers loads the GGUF itself (``gguf_file=``) when --hf-model is not given.
Exit status: 0 when every engine that ran agrees with the reference, 1 otherwise, 2 on setup errors.
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


async def llama_cpp(args) -> str:
    import yaml

    from aiclone_agent.adapter.service import AdapterService
    from aiclone_agent.core.config import ConfigStore
    from aiclone_agent.engine.llama_cpp_engine import LlamaCppEngine

    engine = LlamaCppEngine.load(args.gguf, n_ctx=2048, n_gpu_layers=-1, n_threads=0, reason="gpu_check")
    with tempfile.TemporaryDirectory() as tmp:
        config_path = Path(tmp) / "config.yaml"
        config_path.write_text(yaml.safe_dump({"model": {"lora_path": str(args.peft.resolve())}}))
        service = AdapterService(engine, ConfigStore(config_path), Path(tmp) / "lora", Path(tmp) / "adapters")
        status = await service.start()
        if status.state != "applied":
            raise RuntimeError(f"adapter not applied: {status.reason}")
        try:
            return await _collect(engine, args.prompt, args.tokens)
        finally:
            await engine.close()


async def tensorrt(args) -> str:
    from aiclone_agent.engine.tensorrt_engine import TensorRTEngine

    engine = TensorRTEngine.load(args.hf_model, n_ctx=2048, lora_dir=args.peft.resolve(), reason="gpu_check")
    try:
        return await _collect(engine, args.prompt, args.tokens)
    finally:
        await engine.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peft", type=Path, required=True, help="PEFT adapter folder")
    parser.add_argument("--gguf", type=Path, required=True, help="the base model as GGUF (F16 preferred)")
    parser.add_argument(
        "--hf-model", type=Path, help="the base model as an HF folder (TensorRT-LLM needs it)"
    )
    parser.add_argument("--tokens", type=int, default=32)
    parser.add_argument("--prompt", default=PROMPT)
    args = parser.parse_args()
    try:
        expected = reference(args)
    except ImportError as exc:
        print(f"gpu_check: the reference needs torch + transformers + peft: {exc}", file=sys.stderr)
        return 2
    results = {"reference (transformers + peft)": {"text": expected, "agrees": True}}
    engines = {"llama.cpp (converted GGUF LoRA)": llama_cpp}
    if args.hf_model:
        engines["TensorRT-LLM (LLM API, PEFT folder)"] = tensorrt
    for name, run in engines.items():
        try:
            text = asyncio.run(run(args))
            results[name] = {"text": text, "agrees": text == expected}
        except Exception as exc:  # noqa: BLE001 - report every engine, whatever breaks
            results[name] = {"error": f"{type(exc).__name__}: {exc}", "agrees": False}
    print(json.dumps(results, indent=2, ensure_ascii=False))
    for name, result in results.items():
        print(f"{'AGREES ' if result['agrees'] else 'DIFFERS'}  {name}")
    return 0 if all(r["agrees"] for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
