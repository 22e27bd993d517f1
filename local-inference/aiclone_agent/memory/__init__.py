"""Long-term memory: each person's finished rounds, kept verbatim on the owner's PC and recalled
by a hybrid score (see ``store.MemoryStore``)."""

from aiclone_agent.memory.store import MemoryStore

__all__ = ["MemoryStore"]
