"""Locust users of the public chat, as a browser is one: sign up, sign in, take a ticket, open
``/ws/chat`` and ask a question every few seconds, reading the streamed answer.

Run by ``bench/load/run.py`` (which starts nginx, the gateway replicas and an agent and reads the
results), or by hand against a running site:

    AICLONE_LOAD_CA=ca.pem .venv/bin/locust -f bench/load/locustfile.py --headless \
        --host https://127.0.0.1:8443 -u 10 -r 5 -t 30s

Request names in Locust's statistics:
  ``POST register`` / ``POST login`` / ``POST ticket``  the HTTP calls (Locust's own timing)
  ``WS connect``    TLS + upgrade until the first ``status`` frame
  ``WS ttfc``       message sent -> first ``chunk`` frame (time to first chunk) once every user
                    has its socket; ``WS ttfc (ramp)`` while users are still signing up
  ``WS all connected``  fired once, when the last user's socket opens: its time is the ramp's
                    length since the run started
  ``WS answer``     message sent -> ``end`` frame; any ``error`` frame or a cut socket is a failure
  ``WS held``       fired once per user when the run stops: success when its socket stayed open
                    through the whole run and nothing failed, failure otherwise
"""

from __future__ import annotations

import json
import os
import ssl
import time
import uuid

import websocket  # websocket-client: blocking sockets, which gevent (Locust) makes cooperative
from locust import HttpUser, between, task

CA_FILE = os.environ.get("AICLONE_LOAD_CA", "")  # the site's CA (a throwaway one in the bench)
# Seconds a user thinks between an answer and its next question: 3-6 questions a minute, inside
# the gateway's default limit of 20 per user.
WAIT_MIN_S = float(os.environ.get("AICLONE_LOAD_WAIT_MIN_S", "10"))
WAIT_MAX_S = float(os.environ.get("AICLONE_LOAD_WAIT_MAX_S", "20"))
FRAME_TIMEOUT_S = 30
PASSWORD = "load test password"
QUESTION = "What do you do on weekends?"


class ChatFailure(Exception):
    pass


class ChatVisitor(HttpUser):
    """One person on the public chat: a WebSocket held for the whole run."""

    wait_time = between(WAIT_MIN_S, WAIT_MAX_S)

    def on_start(self) -> None:
        if CA_FILE:
            self.client.verify = CA_FILE
        self.email = f"load-{uuid.uuid4().hex[:16]}@example.test"
        self.conversation_id: str | None = None
        self.ws: websocket.WebSocket | None = None
        self.failed = False
        self.signed_in = False
        credentials = {"email": self.email, "password": PASSWORD}
        if self._post("/api/auth/register", "POST register", 201, credentials) is None:
            return
        login = self._post("/api/auth/login", "POST login", 200, credentials)
        if login is None:
            return
        self.client.headers["Authorization"] = f"Bearer {login['access_token']}"
        self.signed_in = True
        self.connect()

    def _post(self, path: str, name: str, expected: int, body: dict | None = None) -> dict | None:
        """The JSON answer of a POST, or None (counted as a failure, the user marked failed)."""
        with self.client.post(path, json=body, name=name, catch_response=True) as r:
            if r.status_code != expected:
                r.failure(f"HTTP {r.status_code}: {r.text[:200]}")
                self.failed = True
                return None
            return r.json()

    def connect(self) -> None:
        answer = self._post("/api/chat/ticket", "POST ticket", 200)
        if answer is None:
            return
        ticket = answer["ticket"]
        assert self.host is not None  # run.py always passes --host
        url = self.host.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
        started = time.perf_counter()
        try:
            ws = websocket.create_connection(
                f"{url}/ws/chat?ticket={ticket}",
                origin=self.host,
                timeout=FRAME_TIMEOUT_S,
                sslopt={"ca_certs": CA_FILE, "cert_reqs": ssl.CERT_REQUIRED} if CA_FILE else None,
            )
            frame = json.loads(ws.recv())
            if frame.get("type") != "status" or not frame.get("agent_online"):
                raise ChatFailure(f"first frame {frame}")
        except Exception as exc:  # noqa: BLE001 - every way a socket fails is one failure in the stats
            self._fire("connect", started, exc)
            self.failed = True
            return
        self._fire("connect", started, None)
        self.ws = ws
        if self._all_connected() and self.environment.stats.get("all connected", "WS").num_requests == 0:
            since_start = time.time() - self.environment.stats.start_time
            self._fire("all connected", time.perf_counter() - since_start, None)

    def _all_connected(self) -> bool:
        """Whether as many sockets have opened as the run has users (Locust's own counts)."""
        runner = self.environment.runner
        connects = self.environment.stats.get("connect", "WS")
        return (
            runner is not None and connects.num_requests - connects.num_failures >= runner.target_user_count
        )

    @task
    def ask(self) -> None:
        if not self.signed_in:  # sign-up or sign-in failed (counted): this user only waits
            return
        if self.ws is None:  # the socket failed earlier: a new ticket and socket (the user is not held)
            self.connect()
            if self.ws is None:
                return
        started = time.perf_counter()
        first_chunk: float | None = None
        try:
            self.ws.send(
                json.dumps(
                    {
                        "type": "message",
                        "conversation_id": self.conversation_id,
                        "text": QUESTION,
                        "client_id": uuid.uuid4().hex,
                    }
                )
            )
            while True:
                frame = json.loads(self.ws.recv())
                kind = frame.get("type")
                if kind == "accepted":
                    self.conversation_id = frame["conversation_id"]
                elif kind == "chunk" and first_chunk is None:
                    first_chunk = time.perf_counter()
                    self._fire(
                        "ttfc" if self._all_connected() else "ttfc (ramp)", started, None, until=first_chunk
                    )
                elif kind == "end":
                    if first_chunk is None:
                        raise ChatFailure("an answer ended without a chunk")
                    break
                elif kind in ("error", "queued"):
                    raise ChatFailure(f"{kind} frame: {frame}")
        except Exception as exc:  # noqa: BLE001 - counted, and the socket is replaced next time
            self._fire("answer", started, exc)
            self.failed = True
            self._close()
            return
        self._fire("answer", started, None)

    def on_stop(self) -> None:
        held = self.ws is not None and self.ws.connected and not self.failed
        self._fire(
            "held", time.perf_counter(), None if held else ChatFailure("socket lost or a request failed")
        )
        self._close()

    def _close(self) -> None:
        if self.ws is not None:
            try:
                self.ws.close(timeout=1)
            except Exception:  # noqa: BLE001 - closing an already broken socket
                pass
            self.ws = None

    def _fire(self, name: str, started: float, exc: Exception | None, until: float | None = None) -> None:
        self.environment.events.request.fire(
            request_type="WS",
            name=name,
            response_time=((until or time.perf_counter()) - started) * 1000,
            response_length=0,
            exception=exc,
            context={},
        )
