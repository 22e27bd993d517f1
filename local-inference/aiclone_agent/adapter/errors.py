"""The one error the adapter code raises: its message is the reason shown to the owner."""

from __future__ import annotations

from aiclone_wire.errors import Problem, ProblemError


class AdapterError(ProblemError):
    """The adapter cannot be used; ``str(exc)`` says why and what to do, in one or two sentences."""

    def problem(self) -> Problem:
        return Problem(409, str(self), "adapter_unavailable")
