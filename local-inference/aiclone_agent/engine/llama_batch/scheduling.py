"""The request scheduler of the Rust core (admission by channel weight, bounded queue, step plan)."""

from __future__ import annotations

from clone_core import QueueFullError, Scheduler

__all__ = ["QueueFullError", "Scheduler"]
