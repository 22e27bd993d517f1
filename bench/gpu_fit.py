"""What fits on a GPU: popular chat models x quantisation x context, through the agent's own
offload formula (``aiclone_agent.engine.gpu_offload``), for the README's "Your GPU" section.

No GPU and no model files are needed: each model's footprint is built from its published
architecture (layers, KV heads, head size, vocabulary, parameter count) and the average bits per
weight of each llama.cpp quantisation; the layer plan is the one ``model.n_gpu_layers: auto`` makes.
Decode speed is an *estimate*, not a measurement: one token reads every offloaded weight once, so
tokens/s ~ memory bandwidth x efficiency / bytes per token (``--bandwidth``, ``--efficiency``).

    .venv/bin/python bench/gpu_fit.py [--free-mib 11000] [--bandwidth 504]
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from aiclone_agent.engine.gpu_offload import MIB, GpuInfo, ModelFootprint, plan_offload

# Average bits per weight of llama.cpp's quantisations (its quantize tool's figures, 7B-class models).
BITS_PER_WEIGHT = {"Q4_K_M": 4.89, "Q5_K_M": 5.70, "Q6_K": 6.56, "Q8_0": 8.50}


@dataclass(frozen=True)
class Architecture:
    name: str
    params_b: float
    layers: int
    n_embd: int
    kv_heads: int
    head_dim: int
    vocab: int
    tied: bool = False

    def footprint(self, bits: float) -> ModelFootprint:
        embedding = self.vocab * self.n_embd
        # The input embedding stays on the CPU; the output matrix (its twin when tied) goes to the GPU.
        blocks = self.params_b * 1e9 - embedding * (1 if self.tied else 2)
        layer = int(blocks / self.layers * bits / 8)
        output = int(embedding * bits / 8)
        kv = (self.head_dim + self.head_dim) * self.kv_heads * 2
        return ModelFootprint((layer,) * self.layers, output, (kv,) * self.layers, self.vocab, self.n_embd)


MODELS = [
    Architecture("Llama 3.2 3B", 3.21, 28, 3072, 8, 128, 128_256, tied=True),
    Architecture("Qwen2.5 7B", 7.62, 28, 3584, 4, 128, 152_064),
    Architecture("Llama 3.1 8B", 8.03, 32, 4096, 8, 128, 128_256),
    Architecture("Mistral Nemo 12B", 12.25, 40, 5120, 8, 128, 131_072),
    Architecture("Qwen2.5 14B", 14.77, 48, 5120, 8, 128, 152_064),
]
CONTEXTS = [(4096, 1), (4096, 4), (8192, 4), (16384, 4)]


def rows(free_mib: int, bandwidth_gbs: float, efficiency: float) -> list[str]:
    gpu = GpuInfo("12 GB card", 12_282, 12_282 - free_mib, free_mib)
    head = (
        "| model | quant | weights on GPU, GiB | "
        + " | ".join(f"{c} x {p}: GiB needed, layers" for c, p in CONTEXTS)
        + " | decode, 1 stream (estimate) |"
    )
    out = [head, "|" + "---|" * (len(CONTEXTS) + 4)]
    for arch in MODELS:
        for quant, bits in BITS_PER_WEIGHT.items():
            footprint = arch.footprint(bits)
            weights = sum(footprint.layer_bytes) + footprint.output_bytes
            cells = []
            for n_ctx, parallel in CONTEXTS:
                plan = plan_offload("auto", footprint, n_ctx=n_ctx, parallel=parallel, gpu=gpu)
                assert plan.needed_mib is not None  # plan_offload always estimates the whole model
                need = plan.needed_mib / 1024
                cells.append(
                    f"{need:.1f}: all"
                    if plan.n_gpu_layers == -1
                    else f"{need:.1f}: {plan.layers_offloaded}/{plan.layers_total}"
                )
            plan = plan_offload("auto", footprint, n_ctx=4096, parallel=1, gpu=gpu)
            on_gpu = 1.0 if plan.n_gpu_layers == -1 else plan.layers_offloaded / plan.layers_total
            speed = (
                f"~{bandwidth_gbs * 1e9 * efficiency / weights:.0f} tok/s"
                if on_gpu == 1.0
                else "CPU-bound (partial offload)"
            )
            out.append(
                f"| {arch.name} | {quant} | {weights / 1024 / MIB:.1f} | "
                + " | ".join(cells)
                + f" | {speed} |"
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--free-mib", type=int, default=11_000, help="free VRAM before the model loads")
    parser.add_argument(
        "--bandwidth", type=float, default=504.0, help="GPU memory bandwidth, GB/s (RTX 4070: 504)"
    )
    parser.add_argument(
        "--efficiency", type=float, default=0.65, help="share of the bandwidth decode achieves"
    )
    args = parser.parse_args()
    print("\n".join(rows(args.free_mib, args.bandwidth, args.efficiency)))


if __name__ == "__main__":
    main()
