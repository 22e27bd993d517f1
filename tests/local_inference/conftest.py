"""Fixtures for the agent's tests: the real tiny model, in-process apps and real agent processes."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from aiclone_agent.app import create_app
from aiclone_agent.core.config import REPO_ROOT, ConfigStore, EnvSettings, ModelSection
from aiclone_agent.engine.base import EngineClient, SamplingParams
from aiclone_agent.engine.selector import load_engine
from tests.support.processes import ServerProcess

TEST_N_CTX = 2048


@pytest.fixture(scope="session")
def model_path() -> Path:
    path = Path(os.environ.get("AICLONE_TEST_MODEL", REPO_ROOT / "models/base/SmolLM2-135M-Instruct.Q4_1.gguf"))
    if not path.is_file():
        pytest.fail(f"test model {path} is missing: run ./scripts/test.sh (it fetches it) or set AICLONE_TEST_MODEL")
    return path


@pytest.fixture(scope="session")
def engine(model_path: Path) -> Iterator[EngineClient]:
    loaded = load_engine(ModelSection(base_model_path=str(model_path), n_ctx=TEST_N_CTX), model_path.parent)
    yield loaded


def write_config(path: Path, **sections: dict) -> Path:
    data = {"model": {"n_ctx": TEST_N_CTX, "max_tokens": 24, "temperature": 0.0}}
    for name, values in sections.items():
        data.setdefault(name, {}).update(values)
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@dataclass
class LocalAgent:
    app: object
    client: httpx.AsyncClient
    config_path: Path
    data_dir: Path

    @property
    def runtime(self):
        return self.app.state.runtime


@pytest.fixture
async def agent(tmp_path: Path, engine: EngineClient) -> AsyncIterator[LocalAgent]:
    """An agent app in this process, around the shared real engine."""
    config_path = write_config(tmp_path / "config.yaml")
    env = EnvSettings(config=config_path, data_dir=tmp_path / "data", models_dir=tmp_path / "models")
    app = create_app(env, ConfigStore(config_path), engine)
    await app.state.runtime.rag.start()  # the ASGI transport runs no lifespan
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:3000", timeout=60) as client:
        yield LocalAgent(app, client, config_path, env.data_dir)
    await app.state.runtime.rag.close()
    app.state.runtime.store.close()



class AgentProcess(ServerProcess):
    """``python -m aiclone_agent serve`` as a real process on a free loopback port."""

    module, name = "aiclone_agent", "agent"

    def __init__(self, home: Path, model_path: Path, config_path: Path | None = None) -> None:
        super().__init__(home)
        self.config_path = config_path or write_config(home / "config.yaml", model={"base_model_path": str(model_path)})
        self.env = {
            **os.environ,
            "AICLONE_CONFIG": str(self.config_path),
            "AICLONE_DATA_DIR": str(home / "data"),
            "AICLONE_MODELS_DIR": str(home / "models"),
            "AICLONE_PORT": str(self.port),
            "PYTHONUNBUFFERED": "1",
        }

    def settled_adapter(self, timeout: float = 120) -> dict:
        """``/api/status.adapter`` once it has left ``loading`` (the agent serves while it loads)."""
        deadline = time.monotonic() + timeout
        while True:
            adapter = httpx.get(f"{self.url}/api/status").json()["adapter"]
            if adapter["state"] != "loading" or time.monotonic() > deadline:
                return adapter
            time.sleep(0.05)


@pytest.fixture
def agent_process(tmp_path: Path, model_path: Path) -> Iterator[AgentProcess]:
    """A fresh agent for a test that changes its state (config, restarts, kills)."""
    process = AgentProcess(tmp_path, model_path).start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def shared_agent_process(tmp_path_factory: pytest.TempPathFactory, model_path: Path) -> Iterator[AgentProcess]:
    """One agent for a module whose tests only ask it questions (each asserts on its own answers)."""
    process = AgentProcess(tmp_path_factory.mktemp("agent"), model_path).start()
    yield process
    process.stop()


class PromptLog(list[str]):
    """Prompts in the order the engine got them; ``params`` holds each one's ``SamplingParams``."""

    def __init__(self) -> None:
        super().__init__()
        self.params: list[SamplingParams] = []


@pytest.fixture
def spy_prompts(monkeypatch, engine: EngineClient) -> PromptLog:
    """Records every prompt (and its parameters) the real engine is given; it still generates as usual."""
    prompts = PromptLog()
    real_generate = type(engine).generate

    def recording_generate(self, prompt, params, request_id, channel="api"):
        prompts.append(prompt)
        prompts.params.append(params)
        return real_generate(self, prompt, params, request_id, channel)

    monkeypatch.setattr(type(engine), "generate", recording_generate)
    return prompts
