"""The one error the adapter code raises: its message is the reason shown to the owner."""

from __future__ import annotations

from aiclone_wire.errors import Problem, ProblemError


class AdapterError(ProblemError):
    """The adapter cannot be used; ``str(exc)`` says why and what to do, in one or two sentences
    (for the log and API clients: it names tensors and shapes); ``reason_code`` says it on the admin
    page in its language (``aiclone_wire.error_codes``): ``adapter_invalid`` (a damaged or incomplete
    file, the default), ``adapter_unsupported`` (something llama.cpp cannot apply),
    ``adapter_wrong_base`` (trained for another base model)."""

    def __init__(self, message: str, *, code: str = "adapter_invalid") -> None:
        super().__init__(message)
        self.reason_code = code

    def problem(self) -> Problem:
        return Problem(409, str(self), "adapter_unavailable")
