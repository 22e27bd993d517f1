"""The one error the adapter code raises: its message is the reason shown to the owner."""

from __future__ import annotations


class AdapterError(Exception):
    """The adapter cannot be used; ``str(exc)`` says why and what to do, in one or two sentences."""
