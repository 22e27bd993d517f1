"""Plain text and Markdown: decoded and kept as written (Markdown is readable as it is)."""

from __future__ import annotations

from aiclone_agent.rag.parsers import ParseError
from aiclone_agent.rag.sniffing import UnsupportedDocumentError, decode_text


def decode(data: bytes) -> str:
    try:
        return decode_text(data)
    except UnsupportedDocumentError as exc:
        raise ParseError(str(exc)) from exc


def normalize(text: str) -> str:
    """One newline convention, no NULs; everything else stays where the owner put it."""
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
