"""Documents uploaded through the agent's admin API, and the wait until they are indexed."""

from __future__ import annotations

import asyncio


async def upload(client, name: str, data: bytes, visibility: str | None = None) -> dict:
    """``visibility``: "owner" or "public"; None sends none (the agent's default: owner only)."""
    response = await client.post(
        "/api/rag/documents",
        files={"file": (name, data, "application/octet-stream")},
        data={"visibility": visibility} if visibility else None,
    )
    assert response.status_code == 201, response.text
    return response.json()


async def wait_indexed(client, timeout: float = 60) -> list[dict]:
    for _ in range(int(timeout * 10)):
        documents = (await client.get("/api/rag/documents")).json()
        if all(d["status"] in ("ready", "failed") for d in documents):
            return documents
        await asyncio.sleep(0.1)
    raise AssertionError(f"not indexed in {timeout}s: {documents}")
