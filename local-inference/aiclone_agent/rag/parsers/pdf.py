"""PDF via pypdf: the text layer of every page, pages separated by a blank line."""

from __future__ import annotations

import io
import logging

from pypdf import PdfReader
from pypdf.errors import PdfReadError

from aiclone_agent.rag.parsers import ParseError
from aiclone_agent.rag.parsers.text import normalize

logging.getLogger("pypdf").setLevel(logging.ERROR)


def extract(data: bytes) -> str:
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise ParseError("the PDF is password-protected")
        pages = [page.extract_text() or "" for page in reader.pages]
    except ParseError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, RecursionError, OSError) as exc:
        raise ParseError(f"the PDF could not be read: {exc}") from exc
    text = "\n\n".join(page.strip() for page in pages if page.strip())
    if not text:
        raise ParseError("the PDF has no text layer (scanned pages are not supported yet)")
    return normalize(text)
