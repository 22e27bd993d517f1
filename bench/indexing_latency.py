"""The owner's chat while a document is indexed: time to first token idle and during the indexing.

Indexing embeds a document's chunks with e5 in batches of 16 (seconds each on a CPU), and every
answer embeds its question for the knowledge-base search and the memory recall meanwhile. One
agent (the bench's model and settings, knowledge base on), reached over HTTP: the owner's test
chat idle, then a 135-chunk text document uploaded and the same chat asked while its status says
"indexing". Prints Markdown; ``--write`` puts it into docs/benchmarks.md.

    .venv/bin/python bench/indexing_latency.py [--asks 8] [--write]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import httpx
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from batching import QUESTIONS, Agent, long_text, note
from engine import write_section


class KnowledgeAgent(Agent):
    """The bench's agent with its knowledge base on."""

    def command(self) -> list[str]:
        command = super().command()
        config = yaml.safe_load(self._config.read_text())
        config["rag"] = {"enabled": True}
        self._config.write_text(yaml.safe_dump(config))
        return command


def document() -> bytes:
    """135 chunks at the default 256 tokens (32 overlapping): about a minute of embedding on 2 cores."""
    return "\n\n".join(f"{note(k)} {long_text()[:1500]}" for k in range(60)).encode()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--asks", type=int, default=8, help="owner chats idle, and at most as many during indexing"
    )
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    agent = KnowledgeAgent()
    base = f"http://127.0.0.1:{agent.port}"
    try:
        agent.stream([{"role": "user", "content": "Hi"}], 4)  # warm-up
        idle = [agent.owner_ttft(QUESTIONS[i % 2], 8) for i in range(args.asks)]
        upload = httpx.post(
            f"{base}/api/rag/documents", files={"file": ("notes.txt", document(), "text/plain")}, timeout=60
        )
        upload.raise_for_status()
        url = f"{base}/api/rag/documents/{upload.json()['id']}"
        during: list[float] = []
        deadline = time.monotonic() + 600
        while len(during) < args.asks and time.monotonic() < deadline:
            status = httpx.get(url, timeout=30).json()
            if status["status"] != "indexing":
                break
            if status["progress"] > 0.05:  # chunked: the embedding batches run
                during.append(agent.owner_ttft(QUESTIONS[len(during) % 2], 8))
            else:
                time.sleep(0.2)
    finally:
        agent.close()
    if not during:
        raise SystemExit("the document was indexed before the chat could be asked during it")
    table = render(idle, during)
    print(table)
    if args.write:
        write_section("## The owner's chat while a document is indexed (bench/indexing_latency.py)", table)


def render(idle: list[float], during: list[float]) -> str:
    def row(name: str, values: list[float]) -> str:
        ms = [round(v * 1000) for v in values]
        return f"| {name} | {len(ms)} | {statistics.median(ms):.0f} | {max(ms)} | {', '.join(map(str, ms))} |"

    return "\n".join(
        [
            "The owner's test chat, time to first token (ms), one agent (SmolLM2-135M, 2 threads, knowledge base on):",
            "",
            "| when | asks | median | max | each |",
            "|---|---|---|---|---|",
            row("idle", idle),
            row("while a 135-chunk document is indexed", during),
        ]
    )


if __name__ == "__main__":
    main()
