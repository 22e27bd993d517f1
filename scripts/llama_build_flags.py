"""Chooses llama.cpp's build flags (CMAKE_ARGS) for this machine; used by setup_local.sh and .ps1.

Prints ``KEY=VALUE`` lines on stdout (``CMAKE_ARGS``, and ``CUDACXX`` when nvcc was found off the
PATH) and what it decided, for the owner, on stderr. Standard library only: it runs before the
virtual environment has any packages.

* ``CMAKE_ARGS`` already set: used as given (it overrides everything).
* An NVIDIA driver (``nvidia-smi``) and the CUDA toolkit (``nvcc``): the portable CPU flags plus
  CUDA for the detected compute capabilities only (a build for every architecture takes far longer).
* A driver but no toolkit: the CPU build, and the one command that installs the toolkit.
* No driver: the CPU build, exactly as before GPU detection existed (same flags, same cached wheel).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

STEPS_FILE = Path(__file__).with_name("setup_steps.json")


def compute_capabilities(smi: str) -> list[str]:
    """CUDA architectures of the visible GPUs, ``8.9`` -> ``89``; empty when the driver cannot say."""
    try:
        done = subprocess.run(
            [smi, "--query-gpu=compute_cap", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=30, check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    if done.returncode != 0:
        return []
    archs = []
    for line in done.stdout.splitlines():
        value = line.strip()
        if value.replace(".", "", 1).isdigit() and "." in value:
            arch = value.replace(".", "")
            if arch not in archs:
                archs.append(arch)
    return sorted(archs, key=int)


def gpu_names(smi: str) -> list[str]:
    try:
        done = subprocess.run(
            [smi, "--query-gpu=name", "--format=csv,noheader"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [line.strip() for line in done.stdout.splitlines() if line.strip()] if done.returncode == 0 else []


def find_nvcc() -> str | None:
    """nvcc on the PATH, or where the toolkit installs it without touching the PATH."""
    found = shutil.which("nvcc") or os.environ.get("CUDACXX")
    if found and Path(found).is_file():
        return found
    exe = "nvcc.exe" if os.name == "nt" else "nvcc"
    homes = [os.environ.get(name) for name in ("CUDA_PATH", "CUDA_HOME")]
    if os.name != "nt":
        homes.append("/usr/local/cuda")
    for home in filter(None, homes):
        candidate = Path(home) / "bin" / exe
        if candidate.is_file():
            return str(candidate)
    return None


def toolkit_install_command(commands: dict[str, str]) -> str:
    if os.name == "nt":
        return commands["windows"]
    return commands["linux_apt"] if shutil.which("apt-get") else commands["linux_other"]


def choose(steps: dict, environ: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """(the variables to set, the lines to tell the owner)."""
    llama = steps["llama_cpp"]
    if environ.get("CMAKE_ARGS"):
        return {"CMAKE_ARGS": environ["CMAKE_ARGS"]}, [f"llama.cpp: building with your CMAKE_ARGS ({environ['CMAKE_ARGS']})"]
    cpu = llama["cpu_cmake_args"]
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return {"CMAKE_ARGS": cpu}, []
    names = ", ".join(gpu_names(smi)) or "an NVIDIA GPU"
    nvcc = find_nvcc()
    if nvcc is None:
        return {"CMAKE_ARGS": cpu}, [
            f"llama.cpp: found {names} but not the CUDA toolkit (nvcc), so this build runs on the CPU.",
            f"  To use the GPU, install the toolkit: {toolkit_install_command(llama['cuda_toolkit_install'])}",
            "  then run the setup again (it builds a CUDA llama.cpp once and keeps both builds).",
        ]
    archs = compute_capabilities(smi)
    # Drivers too old to report compute_cap: let CMake ask the GPU at build time.
    arch = ";".join(archs) if archs else "native"
    flags = f"{cpu} {llama['cuda_cmake_args'].format(arch=arch)}"
    result = {"CMAKE_ARGS": flags}
    if shutil.which("nvcc") is None and not environ.get("CUDACXX"):
        result["CUDACXX"] = nvcc
    shown = ", ".join(f"sm_{a}" for a in archs) if archs else "the architecture CMake detects"
    return result, [f"llama.cpp: found {names}; building with CUDA for {shown} only (nvcc: {nvcc})"]


def main() -> int:
    steps = json.loads(STEPS_FILE.read_text(encoding="utf-8"))
    values, notes = choose(steps, dict(os.environ))
    for line in notes:
        print(line, file=sys.stderr)
    for key, value in values.items():
        print(f"{key}={value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
