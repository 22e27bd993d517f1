"""An in-process agent whose Telegram bot talks to a local Bot API emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from aiclone_agent.app import create_app
from aiclone_agent.core.config import ConfigStore, EnvSettings
from tests.local_inference.conftest import LocalAgent, write_config
from tests.support.bot_api_emulator import BotApiEmulator

TOKEN = "123456789:emulator-test-token-one"  # fake: only the local Bot API emulator knows it
OTHER_TOKEN = "987654321:emulator-test-token-two"


@pytest.fixture
async def bot_api() -> AsyncIterator[BotApiEmulator]:
    emulator = BotApiEmulator()
    emulator.add_bot(TOKEN, username="nemo_clone_bot", first_name="Nemo")
    emulator.add_bot(OTHER_TOKEN, username="other_clone_bot")
    await emulator.start()
    yield emulator
    await emulator.stop()


@pytest.fixture
async def tg_agent(tmp_path: Path, engine, bot_api: BotApiEmulator) -> AsyncIterator[LocalAgent]:
    config_path = write_config(
        tmp_path / "config.yaml",
        clone={"name": "Captain Nemo"},
        model={"max_tokens": 12},
        messengers={"telegram": {"api_url": bot_api.url}},
    )
    env = EnvSettings(config=config_path, data_dir=tmp_path / "data", models_dir=tmp_path / "models")
    app = create_app(env, ConfigStore(config_path), engine)
    runtime = app.state.runtime
    await runtime.rag.start()  # the ASGI transport runs no lifespan
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:3000", timeout=60) as client:
        yield LocalAgent(app, client, config_path, env.data_dir)
    await runtime.telegram.close()
    runtime.telegram.store.close()
    await runtime.rag.close()
    runtime.store.close()
