"""A stand-in for the training platform's bundle API, on loopback: manifest behind a bearer key,
files with HTTP Range support, a switch that cuts a download mid-way once, and redirects. With
``key=None`` it is a CDN instead: files for anyone, and it records who sent a key anyway."""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass
class PlatformServer:
    key: str | None  # None: a CDN that asks for no key
    files: dict[str, bytes] = field(default_factory=dict)  # url path -> content
    manifest: dict = field(default_factory=dict)
    cut_once: dict[str, int] = field(default_factory=dict)  # url path -> bytes sent before the cut
    redirects: dict[str, str] = field(default_factory=dict)  # url path -> Location of a 302
    requests: list[tuple[str, str | None]] = field(default_factory=list)  # (path, Range header)
    authorizations: list[tuple[str, str | None]] = field(default_factory=list)  # (path, Authorization)

    def __post_init__(self) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                server.requests.append((self.path, self.headers.get("Range")))
                server.authorizations.append((self.path, self.headers.get("Authorization")))
                if server.key is not None and self.headers.get("Authorization") != f"Bearer {server.key}":
                    return self._send(401, b'{"detail":"invalid key"}')
                if self.path in server.redirects:
                    self.send_response(302)
                    self.send_header("Location", server.redirects[self.path])
                    self.send_header("Content-Length", "0")
                    return self.end_headers()
                if self.path.endswith("/bundle"):
                    return self._send(200, json.dumps(server.manifest).encode())
                body = server.files.get(self.path)
                if body is None:
                    return self._send(404, b"{}")
                start = 0
                if self.headers.get("Range"):
                    start = int(self.headers["Range"].removeprefix("bytes=").rstrip("-"))
                cut = server.cut_once.pop(self.path, None)
                self.send_response(206 if start else 200)
                self.send_header("Content-Length", str(len(body) - start))
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                self.end_headers()
                try:
                    self.wfile.write(body[start : cut if cut is not None else len(body)])
                except (BrokenPipeError, ConnectionResetError):  # the installer stopped reading
                    self.close_connection = True
                    return
                if cut is not None:
                    self.wfile.flush()
                    self.close_connection = True

            def _send(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def add_file(self, path: str, content: bytes) -> dict:
        self.files[path] = content
        return {"url": path, "sha256": hashlib.sha256(content).hexdigest(), "size": len(content)}

    def publish(
        self, clone_id: str, adapter_dir: Path | None, base: bytes | None = None, name: str = "Anna"
    ) -> None:
        files = []
        for file in sorted(adapter_dir.iterdir()) if adapter_dir else []:
            entry = self.add_file(f"/api/clones/{clone_id}/files/{file.name}", file.read_bytes())
            files.append({"path": file.name, **entry})
        self.manifest = {
            "clone": {"id": clone_id, "name": name, "system_prompt": f"You are {name}, a friendly clone."},
            "base_model": None
            if base is None
            else {
                "name": "SmolLM2-135M-clone-base",
                "gguf": self.add_file(f"/api/clones/{clone_id}/files/base.gguf", base),
            },
            "adapter": {"files": files},
        }

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
