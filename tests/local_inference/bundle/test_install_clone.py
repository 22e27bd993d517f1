"""One-command install of a trained clone, against a local stand-in for the platform."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import yaml

from aiclone_agent.bundle.install_clone import MANIFEST_MAX_BYTES
from aiclone_agent.core.config import REPO_ROOT
from tests.local_inference.adapter.models import write_peft_adapter
from tests.local_inference.bundle.platform_server import PlatformServer
from tests.support.fixtures.agents import AgentProcess

KEY = "plat-key-0123456789"


@pytest.fixture
def platform():
    server = PlatformServer(KEY)
    yield server
    server.close()


@pytest.fixture
def adapter_dir(tmp_path: Path, model_path: Path) -> Path:
    write_peft_adapter(
        tmp_path / "trained", model_path, layers=range(0, 30, 5), rank=4, alpha=8, magnitude=0.1
    )
    return tmp_path / "trained"


@pytest.fixture
def cdn():
    server = PlatformServer(key=None)
    yield server
    server.close()


def install(
    platform: PlatformServer,
    bundle: Path,
    key: str = KEY,
    clone_id: str = "anna",
    platform_url: str | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "aiclone_agent",
            "install-clone",
            "--clone-id",
            clone_id,
            "--token",
            key,
            "--platform",
            platform_url or platform.url,
            "--dir",
            str(bundle),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, **(env or {})},
    )


def tree(bundle: Path) -> list[str]:
    return sorted(p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if p.is_file())


def test_wrong_key_is_a_clear_401(platform: PlatformServer, adapter_dir: Path, tmp_path: Path) -> None:
    platform.publish("anna", adapter_dir)
    done = install(platform, tmp_path / "bundle", key="wrong-key")
    assert done.returncode == 2
    assert "refused the key for clone anna (HTTP 401): check --token" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "bundle" / "models").exists()


def test_corrupt_file_is_refused_and_nothing_installed(
    platform: PlatformServer, adapter_dir: Path, tmp_path: Path
) -> None:
    platform.publish("anna", adapter_dir)
    weights = "/api/clones/anna/files/adapter_model.safetensors"
    platform.files[weights] = platform.files[weights][:-10] + b"0123456789"  # same size, other bytes
    bundle = tmp_path / "bundle"
    done = install(platform, bundle)
    assert done.returncode == 2
    assert "models/lora/adapter_model.safetensors failed its SHA-256 check" in done.stderr
    assert "nothing was installed" in done.stderr
    assert [p for p in tree(bundle) if not p.startswith(".install/")] == []


def test_the_key_follows_redirects_on_the_platform_and_never_leaves_its_origin(
    platform: PlatformServer, cdn: PlatformServer, adapter_dir: Path, tmp_path: Path
) -> None:
    platform.publish("anna", adapter_dir)
    files = "/api/clones/anna/files"
    config, weights = (adapter_dir / name for name in ("adapter_config.json", "adapter_model.safetensors"))
    platform.files["/api/clones/anna/blobs/config"] = config.read_bytes()  # behind the key too
    platform.redirects[f"{files}/adapter_config.json"] = f"{platform.url}/api/clones/anna/blobs/config"
    cdn.files["/blobs/weights"] = weights.read_bytes()
    platform.redirects[f"{files}/adapter_model.safetensors"] = f"{cdn.url}/blobs/weights"
    bundle = tmp_path / "bundle"

    done = install(platform, bundle)
    assert done.returncode == 0, done.stderr
    assert (bundle / "models" / "lora" / "adapter_model.safetensors").read_bytes() == weights.read_bytes()
    assert (bundle / "models" / "lora" / "adapter_config.json").read_bytes() == config.read_bytes()
    assert ("/api/clones/anna/blobs/config", f"Bearer {KEY}") in platform.authorizations
    assert cdn.authorizations == [("/blobs/weights", None)]  # the 302 to another origin dropped the key


@pytest.mark.parametrize("where", ["platform", "manifest", "redirect"])
def test_plain_http_to_another_machine_is_refused_before_anything_is_sent(
    where: str, platform: PlatformServer, cdn: PlatformServer, adapter_dir: Path, tmp_path: Path
) -> None:
    # ``cdn`` stands in for the network: every request to a name other than loopback goes through it
    # as an HTTP proxy, so whatever the installer would send in clear text over the network lands here.
    network = {"http_proxy": cdn.url, "no_proxy": "127.0.0.1"}
    platform.publish("anna", adapter_dir)
    weights = "/api/clones/anna/files/adapter_model.safetensors"
    platform_url = "http://platform.example" if where == "platform" else None
    if where == "manifest":
        platform.manifest["adapter"]["files"][1]["url"] = "http://cdn.example/weights"
    if where == "redirect":
        platform.redirects[weights] = "http://cdn.example/weights"
    bundle = tmp_path / "bundle"

    done = install(platform, bundle, platform_url=platform_url, env=network)
    assert done.returncode == 2
    shown = {
        "platform": "the platform URL http://platform.example is not https://",
        "manifest": "adapter.files[1].url http://cdn.example/weights is not https://",
        "redirect": "a redirect to http://cdn.example/weights is not https://",
    }[where]
    assert shown in done.stderr and "plain http:// is allowed only to this machine" in done.stderr
    assert "Traceback" not in done.stderr
    assert cdn.requests == []
    assert [p for p in tree(bundle) if not p.startswith(".install/")] == []


def test_a_file_longer_than_declared_is_stopped_at_its_size_and_deleted(
    platform: PlatformServer, adapter_dir: Path, tmp_path: Path
) -> None:
    platform.publish("anna", adapter_dir)
    weights = "/api/clones/anna/files/adapter_model.safetensors"
    declared = platform.manifest["adapter"]["files"][1]["size"]
    platform.files[weights] += bytes(16 << 20)  # the body runs 16 MiB past the manifest's size
    bundle = tmp_path / "bundle"

    done = install(platform, bundle)
    assert done.returncode == 2
    assert f"{platform.url}{weights} sent more than the {declared} bytes the manifest declares" in done.stderr
    assert "nothing was installed" in done.stderr and "Traceback" not in done.stderr
    assert [p for p in tree(bundle) if p.endswith("adapter_model.safetensors.part")] == []
    assert [p for p in tree(bundle) if not p.startswith(".install/")] == []


def test_a_manifest_over_the_cap_is_refused(
    platform: PlatformServer, adapter_dir: Path, tmp_path: Path
) -> None:
    platform.publish("anna", adapter_dir)
    platform.manifest["padding"] = "x" * MANIFEST_MAX_BYTES  # valid JSON, otherwise a good manifest
    done = install(platform, tmp_path / "bundle")
    assert done.returncode == 2
    assert f"the platform's manifest for clone anna is larger than {MANIFEST_MAX_BYTES} bytes" in done.stderr
    assert not (tmp_path / "bundle" / "models").exists()
    assert [path for path, _ in platform.requests] == ["/api/clones/anna/bundle"]


@pytest.mark.process
def test_install_resumes_a_cut_download_then_rerun_is_idempotent(
    platform: PlatformServer, adapter_dir: Path, tmp_path: Path, model_path: Path
) -> None:
    base = model_path.read_bytes()
    platform.publish("anna", adapter_dir, base=base)
    base_url = "/api/clones/anna/files/base.gguf"
    platform.cut_once[base_url] = 7_000_000
    bundle = tmp_path / "bundle"

    done = install(platform, bundle)
    assert done.returncode == 0, done.stderr
    ranges = [rng for path, rng in platform.requests if path == base_url]
    assert ranges == [None, "bytes=7000000-"]  # resumed where the cut left it, not restarted
    installed = bundle / "models" / "base" / "SmolLM2-135M-clone-base.gguf"
    assert hashlib.sha256(installed.read_bytes()).hexdigest() == hashlib.sha256(base).hexdigest()
    for name in ("adapter_config.json", "adapter_model.safetensors"):
        assert (bundle / "models" / "lora" / name).read_bytes() == (adapter_dir / name).read_bytes()
    config = yaml.safe_load((bundle / "config" / "config.yaml").read_text())
    assert config["clone"] == {
        "id": "anna",
        "name": "Anna",
        "system_prompt": "You are Anna, a friendly clone.",
    }
    assert config["model"]["base_model_path"] == str(installed)
    files_before, config_before = tree(bundle), (bundle / "config" / "config.yaml").read_text()

    platform.requests.clear()
    again = install(platform, bundle)
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("already installed") == 3
    assert [path for path, _ in platform.requests] == ["/api/clones/anna/bundle"]  # nothing downloaded twice
    assert tree(bundle) == files_before and (bundle / "config" / "config.yaml").read_text() == config_before

    # the installed bundle runs: the clone's persona, its base model and its adapter
    agent = AgentProcess(bundle, installed, bundle / "config" / "config.yaml")
    agent.env["AICLONE_MODELS_DIR"] = str(bundle / "models")
    agent.start(timeout=400)
    try:
        adapter = agent.settled_adapter()
        status = httpx.get(f"{agent.url}/api/status").json()
        assert status["clone"]["name"] == "Anna" and status["model"]["path"] == str(installed)
        assert adapter["state"] == "applied" and adapter["rank"] == 4
    finally:
        agent.stop()


def test_shell_wrapper_installs_without_starting(
    platform: PlatformServer, adapter_dir: Path, tmp_path: Path
) -> None:
    platform.publish("anna", adapter_dir)
    bundle = tmp_path / "bundle"
    done = subprocess.run(
        [
            str(REPO_ROOT / "scripts" / "install_clone.sh"),
            "--clone-id",
            "anna",
            "--platform",
            platform.url,
            "--dir",
            str(bundle),
            "--no-start",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "AICLONE_SKIP_SETUP": "1", "AICLONE_PLATFORM_TOKEN": KEY},
    )
    assert done.returncode == 0, done.stderr
    assert "Clone Anna (anna) is installed" in done.stdout
    assert (bundle / "models" / "lora" / "adapter_config.json").is_file()
