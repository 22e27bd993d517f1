"""Decides a document's type from its bytes; the uploaded file name is never trusted."""

from __future__ import annotations

import io
import re
import zipfile
from typing import Literal

DocumentKind = Literal["pdf", "docx", "html", "md", "txt"]

_HTML_START = re.compile(rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body|meta|title|div|p|h[1-6]|table|article)\b", re.I | re.S)
_MARKDOWN = re.compile(r"^(#{1,6} \S|[-*+] \S|\d+\. \S|```|> \S)|\[[^\]]+\]\([^)]+\)", re.M)


class UnsupportedDocumentError(ValueError):
    """The bytes are not a document type we can read; the message says why."""


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 with a BOM, else Windows-1251 (common for Russian files)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1251")
    except UnicodeDecodeError as exc:
        raise UnsupportedDocumentError("the file is neither UTF-8 nor Windows-1251 text") from exc


def _looks_binary(data: bytes) -> bool:
    head = data[:8192]
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    control = sum(1 for byte in head if byte < 32 and byte not in (9, 10, 12, 13, 27))
    return control > len(head) * 0.05


def sniff(data: bytes) -> DocumentKind:
    if not data:
        raise UnsupportedDocumentError("the file is empty")
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = set(archive.namelist())
        except zipfile.BadZipFile as exc:
            raise UnsupportedDocumentError("the file is a damaged zip archive") from exc
        if "word/document.xml" in names:
            return "docx"
        raise UnsupportedDocumentError("the file is a zip archive but not a Word (.docx) document")
    if _looks_binary(data):
        raise UnsupportedDocumentError("the file is binary, not txt, md, pdf, docx or html")
    if _HTML_START.match(data[:4096]):
        return "html"
    text = data[:65536].decode("utf-8", errors="ignore")
    return "md" if _MARKDOWN.search(text) else "txt"
