"""Text extraction, one module per format. Every parser returns plain text whose character
offsets are what citations point into; a file that cannot be read raises ``ParseError``."""

from __future__ import annotations

from dataclasses import dataclass

from aiclone_agent.rag.sniffing import DocumentKind


class ParseError(ValueError):
    """The document could not be read; the message is shown to the owner."""


@dataclass(frozen=True)
class ArchiveLimits:
    max_unpacked_bytes: int
    max_entries: int


def extract_text(kind: DocumentKind, data: bytes, limits: ArchiveLimits) -> str:
    from aiclone_agent.rag.parsers import docx, html, pdf, text

    if kind == "pdf":
        extracted = pdf.extract(data)
    elif kind == "docx":
        extracted = docx.extract(data, limits)
    elif kind == "html":
        extracted = html.extract(text.decode(data))
    else:
        extracted = text.normalize(text.decode(data))
    if not extracted.strip():
        raise ParseError(f"no text found in the {kind} file")
    return extracted
