"""The gateway serves the public chat app (PWA) at ``/`` without shadowing its API."""

from __future__ import annotations

import httpx

from aiclone_gateway.api.public_chat import BUILT_CHAT


async def test_chat_app_pwa_files_and_api_stay_apart(gateway):
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as http:
        root = await http.get("/")
        assert root.status_code == 200
        assert root.headers["cache-control"] == "no-cache"
        assert '<div id="app">' in root.text  # the Vue app, built by the setup
        deep = await http.get("/c/some-conversation-id")
        assert deep.text == root.text  # app routes survive a reload
        worker = await http.get("/sw.js")
        assert worker.status_code == 200 and worker.headers["cache-control"] == "no-cache"
        manifest = await http.get("/manifest.webmanifest")
        assert manifest.json()["start_url"]
        asset = next((BUILT_CHAT / "assets").iterdir()).name
        cached = await http.get(f"/assets/{asset}")
        assert "immutable" in cached.headers["cache-control"]
        api = await http.get("/api/nothing-here")
        assert api.status_code == 404 and api.json()["error"]["code"]
        outside = await http.get("/..%2F..%2Fpyproject.toml")
        assert "[tool.pytest" not in outside.text
