"""Continuous batching: the agent's OpenAI API vs llama-server --parallel N vs llama_cpp.server.

One run, the same GGUF and thread count for all three, interleaved so background load hits each
alike:
  1. 1, 4 and 8 concurrent streams: aggregate tok/s, per-stream tok/s, time to first token (TTFT);
  2. two conversations interleaved turn by turn for 10 turns (~150 new tokens a turn): TTFT per turn
     (the agent and llama-server reuse each conversation's KV cells; llama_cpp.server keeps only the
     last prompt's, so every switch recomputes the history: "without KV reuse");
  3. inter-token latency (ITL) of 3 running streams while a 3,000-token prompt arrives (chunked
     prefill keeps them going; llama_cpp.server cannot run streams side by side and is left out),
     and that prompt's TTFT alone and beside the streams;
  4. the owner's TTFT idle and while ``--parallel`` API streams fill every slot (the agent's admin
     chat is the owner channel and preempts an API answer; llama-server has no priorities, so its
     "owner" is one more request). 16 streams run in step 1 as well; ``--parallel 16`` runs them
     side by side.

llama-server is built once from the llama.cpp that the installed llama-cpp-python vendors (its sdist,
fetched with pip) into ~/.cache/aiclone/llama-server-<key>/. Prints Markdown; ``--write`` puts it
into docs/benchmarks.md.

    .venv/bin/python bench/batching.py [--max-tokens 64] [--rounds 2] [--parallel 8] [--build-llama-server] [--write]
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import openai
import yaml
from openai.types.chat import ChatCompletionMessageParam

sys.path.insert(0, str(Path(__file__).resolve().parent))
from engine import MODEL, THREADS, free_port, write_section

PERSONA = "You are a helpful assistant who explains things in detail."
QUESTIONS = [
    "Explain how a steam engine works, step by step.",
    "Describe the water cycle in detail.",
    "Write a story about a lighthouse keeper.",
    "How do bees make honey?",
    "Explain why the sky is blue.",
    "Describe a day in a medieval village.",
    "How does a bicycle stay upright?",
    "Write a letter to a friend about autumn.",
]
PARALLEL = 8  # slots of every server; --parallel sets it before they start
STREAMS = (1, 4, 8, 16)
N_CTX = 8192
N_BATCH = 512
CACHE = Path.home() / ".cache" / "aiclone"


# -- the three servers -------------------------------------------------------------------------------
class Server:
    name = ""
    model = ""
    sends_persona = True  # the agent adds its own persona
    batches = True  # runs several streams side by side
    reports_usage = True  # answers ``stream_options.include_usage`` with the tokens generated

    def __init__(self) -> None:
        self.port = free_port()
        self.home = Path(tempfile.mkdtemp(prefix="aiclone-batching-"))
        self.proc = subprocess.Popen(
            self.command(), env=self.env(), stdout=(self.home / "log").open("wb"), stderr=subprocess.STDOUT
        )
        self._wait(self.health_path())
        self.client = openai.OpenAI(
            base_url=f"http://127.0.0.1:{self.port}/v1", api_key="local", max_retries=0, timeout=600
        )

    def command(self) -> list[str]:
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        return dict(os.environ)

    def health_path(self) -> str:
        return "/v1/models"

    def _wait(self, path: str) -> None:
        deadline = time.monotonic() + 400
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {(self.home / 'log').read_text()[-2000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}{path}", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not start")
            time.sleep(0.3)

    def messages(self, turns: list[ChatCompletionMessageParam]) -> list[ChatCompletionMessageParam]:
        persona: list[ChatCompletionMessageParam] = (
            [{"role": "system", "content": PERSONA}] if self.sends_persona else []
        )
        return persona + turns

    def stream(
        self, turns: list[ChatCompletionMessageParam], max_tokens: int, seed: int = 1, on_token=None
    ) -> tuple[float, float, list[float], str]:
        """(start, first-token time, text-delta times, text) of one streamed answer."""
        start, first, times, text, _ = self.stream_counted(turns, max_tokens, seed, on_token)
        return start, first, times, text

    def stream_counted(
        self, turns: list[ChatCompletionMessageParam], max_tokens: int, seed: int = 1, on_token=None
    ) -> tuple[float, float, list[float], str, int]:
        """``stream`` and the tokens generated: the server's ``usage`` where it reports it (a text
        delta may carry several tokens, so counting deltas would favour a server that sends one per
        token), else the deltas."""
        start = time.perf_counter()
        times: list[float] = []
        parts: list[str] = []
        generated = 0
        response = self.client.chat.completions.create(
            model=self.model,
            messages=self.messages(turns),
            stream=True,
            max_tokens=max_tokens,
            temperature=0.0,
            seed=seed,
            stream_options={"include_usage": True} if self.reports_usage else None,
        )
        for chunk in response:
            if chunk.usage is not None:
                generated = chunk.usage.completion_tokens
            if chunk.choices and chunk.choices[0].delta.content:
                times.append(time.perf_counter())
                parts.append(chunk.choices[0].delta.content)
                if on_token is not None:
                    on_token()
        first = times[0] if times else time.perf_counter()
        return start, first, times, "".join(parts), generated or len(times)

    def owner_ttft(self, question: str, max_tokens: int) -> float:
        """Time to the first token of a request from the owner (a server without channels: any request)."""
        start, first, _, _ = self.stream([{"role": "user", "content": question}], max_tokens)
        return first - start

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class Agent(Server):
    name, model, sends_persona = "agent (OpenAI API)", "my-clone", False

    def command(self) -> list[str]:
        config = self.home / "config.yaml"
        config.write_text(
            yaml.safe_dump(
                {
                    "clone": {"system_prompt": PERSONA},
                    "model": {
                        "base_model_path": str(MODEL),
                        "n_ctx": N_CTX,
                        "n_threads": THREADS,
                        "parallel": PARALLEL,
                        "n_batch": N_BATCH,
                        "max_tokens": 4096,
                    },
                    "rag": {"enabled": False},
                }
            )
        )
        self._config = config
        return [sys.executable, "-m", "aiclone_agent", "serve"]

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "AICLONE_CONFIG": str(self._config),
            "AICLONE_DATA_DIR": str(self.home / "data"),
            "AICLONE_PORT": str(self.port),
        }

    def health_path(self) -> str:
        return "/healthz"

    def owner_ttft(self, question: str, max_tokens: int) -> float:
        """The admin's test chat (the owner channel), streamed: time to its first text delta."""
        start = time.perf_counter()
        body = {"message": question, "max_tokens": max_tokens}
        with httpx.stream(
            "POST", f"http://127.0.0.1:{self.port}/api/chat/stream", json=body, timeout=600
        ) as response:
            response.raise_for_status()
            first = None
            for line in response.iter_lines():
                if first is None and line.startswith("data:") and '"delta"' in line:
                    first = time.perf_counter()
        return (first or time.perf_counter()) - start


class LlamaServer(Server):
    model = "model"

    @property
    def name(self) -> str:  # type: ignore[override]
        return f"llama-server --parallel {PARALLEL}"

    def command(self) -> list[str]:
        return [
            str(llama_server_binary()),
            "-m",
            str(MODEL),
            "-c",
            str(N_CTX),
            "--parallel",
            str(PARALLEL),
            "-t",
            str(THREADS),
            "-b",
            str(N_BATCH),
            "-ub",
            str(N_BATCH),
            "--kv-unified",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
        ]


class LlamaCppPythonServer(Server):
    name, model, batches, reports_usage = "python -m llama_cpp.server", "model", False, False

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(MODEL),
            "--n_ctx",
            str(N_CTX),
            "--n_threads",
            str(THREADS),
            "--n_batch",
            str(N_BATCH),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
        ]


def build_flags() -> str:
    """The CMAKE_ARGS llama-cpp-python was built with here (setup's choice unless the caller set them),
    so llama-server is built the same way and found again by the same key."""
    if os.environ.get("CMAKE_ARGS"):
        return os.environ["CMAKE_ARGS"]
    script = Path(__file__).resolve().parents[1] / "scripts" / "llama_build_flags.py"
    printed = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True).stdout
    values = dict(line.split("=", 1) for line in printed.splitlines() if "=" in line)
    return values.get("CMAKE_ARGS", "")


def llama_server_path() -> Path:
    import llama_cpp

    cmake_args = build_flags()
    key = hashlib.sha256(f"{llama_cpp.__version__}|{cmake_args}".encode()).hexdigest()[:16]
    return CACHE / f"llama-server-{key}" / "llama-server"


def llama_server_binary() -> Path:
    """Build llama.cpp's server once from the sources llama-cpp-python vendors (its sdist)."""
    import llama_cpp

    version = llama_cpp.__version__
    cmake_args = build_flags()
    target = llama_server_path()
    if target.exists():
        return target
    work = Path(tempfile.mkdtemp(prefix="llama-server-build-"))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            f"llama-cpp-python=={version}",
            "--no-binary",
            ":all:",
            "--no-deps",
            "-d",
            str(work),
        ],
        check=True,
    )
    sdist = next(work.glob("llama_cpp_python-*.tar.gz"))
    with tarfile.open(sdist) as archive:
        archive.extractall(work, filter="data")
    source = next(work.glob("llama_cpp_python-*/vendor/llama.cpp"))
    build = work / "build"
    subprocess.run(
        [
            "cmake",
            "-S",
            str(source),
            "-B",
            str(build),
            "-DCMAKE_BUILD_TYPE=Release",
            "-DBUILD_SHARED_LIBS=OFF",
            "-DLLAMA_CURL=OFF",
            "-DLLAMA_OPENSSL=OFF",
            "-DLLAMA_BUILD_TESTS=OFF",
            "-DLLAMA_BUILD_EXAMPLES=OFF",
            "-DLLAMA_BUILD_SERVER=ON",
            *shlex.split(cmake_args),
        ],
        check=True,
    )
    subprocess.run(
        ["cmake", "--build", str(build), "--target", "llama-server", "-j", str(os.cpu_count() or 1)],
        check=True,
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(next(build.glob("bin/llama-server")), target)
    shutil.rmtree(work, ignore_errors=True)
    return target


# -- the three measurements --------------------------------------------------------------------------
def concurrent_streams(server: Server, n: int, max_tokens: int) -> dict[str, float]:
    with ThreadPoolExecutor(n) as pool:
        begin = time.perf_counter()
        results = list(
            pool.map(
                lambda i: server.stream_counted(
                    [{"role": "user", "content": QUESTIONS[i % len(QUESTIONS)]}], max_tokens, seed=i
                ),
                range(n),
            )
        )
        end = time.perf_counter()
    tokens = sum(r[4] for r in results)
    rates = [(n - 1) / (t[-1] - first) for _, first, t, _, n in results if n > 1 and t and t[-1] > first]
    return {
        "aggregate": tokens / (end - begin),
        "per_stream": statistics.median(rates) if rates else 0.0,
        "ttft": statistics.median(first - start for start, first, _, _, _ in results),
    }


def note(k: int) -> str:
    return (
        f"Note {k}: today I went to the market and bought apples, bread, cheese and some flowers. "
        f"The weather was mild, the streets were busy and I met an old friend who told me about her "
        f"new job at the library, her garden, her two cats and the trip she is planning for spring. "
        f"We talked for a long time about books, music and the small town where we both grew up. "
        f"Please remember this note number {k} and answer with one short sentence."
    )


def interleaved_conversations(server: Server, turns: int, answer_tokens: int) -> list[float]:
    """TTFT (s) per turn, averaged over the two conversations."""
    histories: list[list[ChatCompletionMessageParam]] = [[], []]
    ttft = [0.0] * turns
    for turn in range(turns):
        for c, history in enumerate(histories):
            history.append({"role": "user", "content": note(turn * 2 + c)})
            start, first, _, text = server.stream(history, answer_tokens)
            history.append({"role": "assistant", "content": text})
            ttft[turn] += (first - start) / 2
    return ttft


def long_text(opening: str = "") -> str:
    """~3,000 tokens; a different ``opening`` makes a prompt no server has a cached prefix of."""
    return opening + " ".join(note(k) for k in range(30))


def long_prompt_alone(server: Server) -> float:
    """TTFT (s) of a ~3,000-token prompt with nothing else running (prefill speed). It opens with
    a line of its own: the same text was just read beside the running streams, and a prefix cache
    (both servers have one) would answer it from there instead of reading it."""
    start, first, _, _ = server.stream([{"role": "user", "content": long_text("Read alone. ")}], 1)
    return first - start


def owner_under_load(server: Server, saturate: int, answer_tokens: int = 16) -> dict[str, float]:
    """The owner's TTFT (s) idle, then while ``saturate`` long API streams fill every slot."""
    idle = server.owner_ttft(QUESTIONS[0], answer_tokens)
    running = threading.Barrier(saturate + 1)

    def run(i: int) -> None:
        seen = [0]

        def tick() -> None:
            seen[0] += 1
            if seen[0] == 4:  # decoding: its slot is taken
                running.wait()

        server.stream(
            [{"role": "user", "content": QUESTIONS[i % len(QUESTIONS)]}], 256, seed=i, on_token=tick
        )

    threads = [threading.Thread(target=run, args=(i,)) for i in range(saturate)]
    for thread in threads:
        thread.start()
    running.wait()
    busy = server.owner_ttft(QUESTIONS[1], answer_tokens)
    for thread in threads:
        thread.join()
    return {"idle": idle, "busy": busy}


def itl_during_long_prompt(server: Server, max_tokens: int = 160) -> dict[str, float]:
    running_started = threading.Barrier(4)
    counts = [0, 0, 0]
    results: list = [None, None, None]

    def run(i: int) -> None:
        def tick() -> None:
            counts[i] += 1
            if counts[i] == 8:
                running_started.wait()

        results[i] = server.stream(
            [{"role": "user", "content": QUESTIONS[i]}], max_tokens, seed=i, on_token=tick
        )

    threads = [threading.Thread(target=run, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    running_started.wait()
    sent = time.perf_counter()
    _, long_first, _, _ = server.stream([{"role": "user", "content": long_text()}], 1)
    for thread in threads:
        thread.join()
    gaps = []
    for _, _, times, _ in results:
        gaps += [b - a for a, b in itertools.pairwise(times) if b > sent and a < long_first]
    gaps.sort()
    return {
        "p99": gaps[min(len(gaps) - 1, int(0.99 * len(gaps)))] if gaps else float("nan"),
        "p50": statistics.median(gaps) if gaps else float("nan"),
        "long_ttft": long_first - sent,
    }


def main() -> None:
    global PARALLEL
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--turn-tokens", type=int, default=16, help="answer length in the conversation test")
    parser.add_argument(
        "--build-llama-server",
        action="store_true",
        help="build llama-server first if it is not cached (else it is left out)",
    )
    parser.add_argument(
        "--parallel", type=int, default=PARALLEL, help="slots of every server (16: 16 streams side by side)"
    )
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    PARALLEL = args.parallel

    if args.build_llama_server:
        llama_server_binary()
    args.load_before = os.getloadavg()[0]
    peers = [LlamaServer] if llama_server_path().exists() else []
    servers = [cls() for cls in (Agent, *peers, LlamaCppPythonServer)]
    try:
        for server in servers:  # warm-up, not counted
            server.stream([{"role": "user", "content": "Hi"}], 4)
        streams: dict[tuple[str, int], list[dict]] = {}
        for _ in range(args.rounds):
            for n in STREAMS:
                for server in servers:
                    result = concurrent_streams(server, n, args.max_tokens)
                    streams.setdefault((server.name, n), []).append(result)
                    progress(f"{server.name}, {n} streams: {result}")
        turns = {}
        for server in servers:
            turns[server.name] = interleaved_conversations(server, args.turns, args.turn_tokens)
            progress(f"{server.name}, TTFT per turn: {[round(t, 2) for t in turns[server.name]]}")
        itl: dict[str, dict[str, float]] = {}
        owner: dict[str, list[dict[str, float]]] = {}
        for server in servers:
            if server.batches:
                itl[server.name] = itl_during_long_prompt(server)
                itl[server.name]["long_alone"] = long_prompt_alone(server)
                progress(f"{server.name}, ITL during a long prompt: {itl[server.name]}")
        for _ in range(args.rounds):
            for server in servers:
                if server.batches:
                    owner.setdefault(server.name, []).append(owner_under_load(server, PARALLEL))
                    progress(f"{server.name}, owner TTFT: {owner[server.name][-1]}")
    finally:
        for server in servers:
            server.close()
    table = render(servers, streams, turns, itl, args, owner)
    print(table)
    if args.write:
        write_section("## Continuous batching (bench/batching.py)", table)


def progress(line: str) -> None:
    """Each measurement as it lands (stderr), so a long run shows where it is."""
    print(line, file=sys.stderr, flush=True)


def render(servers, streams, turns, itl, args, owner) -> str:
    def mean(name: str, n: int, key: str) -> float:
        return statistics.fmean(r[key] for r in streams[(name, n)])

    lines = [
        (
            f"Model {MODEL.name}, {THREADS} threads, n_ctx {N_CTX}, {args.parallel} slots, n_batch {N_BATCH}, greedy, "
            f"max_tokens {args.max_tokens} ({args.turn_tokens} in the conversations), {args.rounds} rounds interleaved; "
            f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, load average "
            f"{args.load_before:.1f} before the run (other work shares this machine)."
        ),
        "",
        "| server | streams | aggregate tok/s | per-stream tok/s p50 | TTFT p50 s |",
        "|---|---|---|---|---|",
    ]
    for n in STREAMS:
        for server in servers:
            lines.append(
                f"| {server.name} | {n} | {mean(server.name, n, 'aggregate'):.1f} | "
                f"{mean(server.name, n, 'per_stream'):.1f} | {mean(server.name, n, 'ttft'):.2f} |"
            )
    lines += [
        "",
        "Two conversations interleaved turn by turn, TTFT (s) per turn (~150 new tokens a turn):",
        "",
        "| server | " + " | ".join(f"t{i + 1}" for i in range(args.turns)) + " | t10 / t1 |",
        "|---|" + "---|" * (args.turns + 1),
    ]
    for server in servers:
        ttft = turns[server.name]
        lines.append(
            f"| {server.name} | " + " | ".join(f"{t:.2f}" for t in ttft) + f" | {ttft[-1] / ttft[0]:.2f} |"
        )
    lines += [
        "",
        "Three running streams while a 3,000-token prompt arrives; that prompt's TTFT beside them and alone:",
        "",
        "| server | ITL p50 ms | ITL p99 ms | long prompt TTFT s | long prompt alone TTFT s |",
        "|---|---|---|---|---|",
    ]
    for name, r in itl.items():
        lines.append(
            f"| {name} | {r['p50'] * 1000:.0f} | {r['p99'] * 1000:.0f} | {r['long_ttft']:.2f} | {r['long_alone']:.2f} |"
        )
    lines += [
        "",
        f"The owner's TTFT (s, median of rounds) idle and with {args.parallel} API streams in every slot "
        "(llama-server has no priorities: its owner is one more request):",
        "",
        "| server | idle | saturated | saturated / idle |",
        "|---|---|---|---|",
    ]
    for name, rounds in owner.items():
        idle = statistics.median(r["idle"] for r in rounds)
        busy = statistics.median(r["busy"] for r in rounds)
        lines.append(f"| {name} | {idle:.2f} | {busy:.2f} | {busy / idle:.1f}x |")
    if not any(isinstance(server, LlamaServer) for server in servers):
        lines += [
            "",
            "llama-server is missing from this run: it was not built yet (run with --build-llama-server).",
        ]
    lines += ["", NOTE]
    return "\n".join(lines)


NOTE = (
    "The agent decodes all running answers in one llama.cpp context (continuous batching: one token per "
    "running answer per step, the rest of n_batch in prompt chunks), as llama-server does with its slots; "
    "llama_cpp.server runs one request at a time, so its aggregate stays at one stream's rate and the "
    "time to first token grows with the queue. On this CPU a step's cost grows almost linearly with the "
    "batch, so batching buys time to first token and fairness more than aggregate throughput (on a GPU "
    "it buys both). With two conversations interleaved, the agent and llama-server keep each "
    "conversation's KV cells and compute only the new turn; what growth remains is attention over the "
    "longer history (each new token attends to every cached one), which on a 135M model and a 2-core CPU "
    "is a large part of a step: raw llama.cpp needs about 1.6x the time for 170 new tokens after 1,530 "
    "cached ones as for 170 fresh ones. llama_cpp.server keeps only the last prompt, recomputes the whole "
    'history at every switch and its TTFT grows with the history (that row is "without KV reuse"). While '
    "llama-server reads a 3,000-token prompt in n_batch chunks, its running streams get one token per "
    "step, so their inter-token latency rises to one step's time (a 512-token chunk attending to up to "
    "3,000 tokens: seconds on this CPU). The agent reads that prompt in whole batches too, in a second "
    "context (the prompt lane), which it pauses between two graph nodes for each step of the running "
    "streams, about every fifth of a whole-batch step."
)


if __name__ == "__main__":
    main()
