"""``GET /``: the built Vue admin panel (with SPA fallback) when frontend/dist/admin exists,
else the built-in page with a note on how to build the full one."""

from __future__ import annotations

import pytest

from aiclone_agent.api import admin_page


@pytest.fixture
def built_panel(tmp_path, monkeypatch):
    panel = tmp_path / "admin"
    (panel / "assets").mkdir(parents=True)
    (panel / "index.html").write_text('<!doctype html><div id="app"></div><script src="/assets/app-1.js"></script>')
    (panel / "assets" / "app-1.js").write_text("console.log('panel')")
    (tmp_path / "secret.txt").write_text("outside the panel")
    monkeypatch.setattr(admin_page, "BUILT_PANEL", panel)
    return panel


@pytest.fixture
def no_panel(tmp_path, monkeypatch):
    monkeypatch.setattr(admin_page, "BUILT_PANEL", tmp_path / "missing")


async def test_without_a_build_the_builtin_page_says_how_to_build(agent, no_panel):
    response = await agent.client.get("/")
    assert response.status_code == 200
    assert "System prompt" in response.text
    assert "/api/chat/stream" in response.text
    assert "./scripts/build_frontend.sh" in response.text
    assert (await agent.client.get("/documents")).status_code == 404


async def test_built_panel_is_served_with_spa_fallback(agent, built_panel):
    root = await agent.client.get("/")
    assert root.status_code == 200 and '<div id="app">' in root.text
    deep = await agent.client.get("/documents")
    assert deep.status_code == 200 and deep.text == root.text
    asset = await agent.client.get("/assets/app-1.js")
    assert asset.text == "console.log('panel')"
    assert "immutable" in asset.headers["cache-control"]


async def test_fallback_never_shadows_the_api_or_leaves_the_panel(agent, built_panel):
    missing = await agent.client.get("/api/no-such-thing")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    assert (await agent.client.get("/api/clone")).json()["name"]
    outside = await agent.client.get("/assets/%2e%2e/%2e%2e/secret.txt")
    assert "outside the panel" not in outside.text
