"""The base every link frame derives from: a leaf module, so ``messages`` and ``memory`` share it
without importing each other."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class _Frame(BaseModel):
    # unknown fields are ignored (a newer peer may send more); frames never change once built
    model_config = ConfigDict(extra="ignore", frozen=True)
