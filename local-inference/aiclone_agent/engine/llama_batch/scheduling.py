"""The request scheduler of the Rust core (admission by channel weight, bounded queue, step plan)."""

from __future__ import annotations

try:
    from clone_core import QueueFullError, Scheduler
except ImportError:  # TEMPORARY until the Rust scheduler is merged
    from aiclone_agent.engine.llama_batch._scheduler_stopgap import QueueFullError, Scheduler

__all__ = ["QueueFullError", "Scheduler"]
