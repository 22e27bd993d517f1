"""AI Clone Rust core: the model's own tokenizer, the GGUF header reader, prompt fitting, chunking,
streaming, BM25, scheduler, the engine's step abort flag.

Everything is implemented in the compiled module ``clone_core._core``; see ``_core.pyi``
for the documented API. Character offsets are Python ``str`` indices (Unicode code points).
"""

from clone_core._core import (
    DEFAULT_CONTEXT_HEADER,
    AbortFlag,
    ChatTemplate,
    Chunk,
    ContextOverflowError,
    CoreError,
    FitResult,
    InternalError,
    InvalidInputError,
    LexicalIndex,
    ModelFormatError,
    QueueFullError,
    Scheduler,
    SchedulerStats,
    StepPlan,
    StreamDecoder,
    Tokenizer,
    read_gguf_header,
)

__all__ = [
    "DEFAULT_CONTEXT_HEADER",
    "AbortFlag",
    "ChatTemplate",
    "Chunk",
    "ContextOverflowError",
    "CoreError",
    "FitResult",
    "InternalError",
    "InvalidInputError",
    "LexicalIndex",
    "ModelFormatError",
    "QueueFullError",
    "Scheduler",
    "SchedulerStats",
    "StepPlan",
    "StreamDecoder",
    "Tokenizer",
    "read_gguf_header",
]
