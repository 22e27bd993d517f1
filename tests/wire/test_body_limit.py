"""The one body limit both programs run (``aiclone_wire.body_limit``): in-process, over ASGI."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI, Request

from aiclone_agent.core.security import LocalOnlyMiddleware
from aiclone_wire.body_limit import BodyLimitMiddleware
from aiclone_wire.http_errors import register_error_handlers


def _app(limit: int, limits: dict[str, int]) -> FastAPI:
    app = FastAPI()
    register_error_handlers(app)

    @app.post("/{path:path}")
    async def echo(request: Request) -> dict[str, int]:
        return {"received": len(await request.body())}

    app.add_middleware(BodyLimitMiddleware, default_limit=limit, limits=limits)
    return app


async def _chunks(total: int, size: int = 1_000) -> AsyncIterator[bytes]:
    for _ in range(total // size):
        yield b"x" * size


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = _app(1_000, {"/upload": 10_000, "/upload/small": 100})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        yield http


async def test_a_declared_body_over_the_limit_is_refused_in_the_error_shape_and_closes(client):
    answer = await client.post("/chat", content=b"x" * 1_001)
    assert answer.status_code == 413
    assert answer.json()["error"] == {
        "message": "the request body is larger than 1000 bytes",
        "type": "invalid_request_error",
        "param": None,
        "code": "request_too_large",
    }
    assert answer.headers["connection"] == "close"


async def test_a_chunked_body_is_counted_as_it_arrives(client):
    answer = await client.post("/chat", content=_chunks(5_000))
    assert answer.status_code == 413 and answer.json()["error"]["code"] == "request_too_large"
    assert (await client.post("/chat", content=_chunks(1_000))).json() == {"received": 1_000}


async def test_the_longest_matching_prefix_sets_the_limit(client):
    assert (await client.post("/upload/doc", content=b"x" * 5_000)).status_code == 200
    assert (await client.post("/upload/small", content=b"x" * 500)).status_code == 413
    assert (await client.post("/other", content=b"x" * 5_000)).status_code == 413


async def test_the_agents_admin_guard_is_the_same_limit():
    """The agent's admin listener runs the shared limit behind its own checks (a path prefix too)."""
    app = FastAPI()
    register_error_handlers(app)

    @app.post("/api/rag/documents")
    async def upload(request: Request) -> dict[str, int]:
        return {"received": len(await request.body())}

    app.add_middleware(LocalOnlyMiddleware, max_body=1_000, body_limits={"/api/rag/documents": 10_000})
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
        assert (await http.post("/api/rag/documents", content=b"x" * 5_000)).status_code == 200
        refused = await http.post("/api/rag/documents", content=b"x" * 10_001)
    assert refused.status_code == 413
    assert refused.json()["error"]["message"] == "the request body is larger than 10000 bytes"
    assert refused.headers["connection"] == "close"
