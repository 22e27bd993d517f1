"""Builds real test documents in every supported format (the tests make their own files)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/TTF/DejaVuSans.ttf"),
    Path("C:/Windows/Fonts/arial.ttf"),
)

EN_FACTS = [
    "Opening hours. The Riverside studio is open from Tuesday to Saturday, 10:00 to 19:00.",
    "Warranty. Every handmade ceramic lamp carries a warranty of 36 months against cracks.",
    "Delivery. Parcels to Lisbon travel by courier and arrive within four working days.",
]
RU_FACTS = [
    "Часы работы. Мастерская на Садовой открыта со вторника по субботу, с 10:00 до 19:00.",
    "Гарантия. На каждую керамическую вазу ручной работы действует гарантия 18 месяцев.",
    "Доставка. Посылки в Новосибирск курьер привозит за шесть рабочих дней.",
]


def text_bytes(paragraphs: list[str]) -> bytes:
    return "\n\n".join(paragraphs).encode("utf-8")


def markdown_bytes(paragraphs: list[str]) -> bytes:
    return ("# Handbook\n\n" + "\n\n".join(f"## Section {i}\n\n{p}" for i, p in enumerate(paragraphs, 1))).encode()


def html_bytes(paragraphs: list[str]) -> bytes:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        "<!DOCTYPE html><html><head><title>t</title><style>p{color:red}</style>"
        "<script>var secret = 'never indexed';</script></head>"
        f"<body><h1>Handbook</h1>{body}</body></html>"
    ).encode()


def docx_bytes(paragraphs: list[str]) -> bytes:
    import docx

    document = docx.Document()
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def pdf_bytes(paragraphs: list[str]) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    if any(ord(ch) > 255 for p in paragraphs for ch in p):
        font = next((f for f in FONT_CANDIDATES if f.is_file()), None)
        if font is None:
            pytest.fail("no TrueType font with Cyrillic to build a Russian PDF: scripts/install_browser.sh installs fonts-dejavu-core")
        pdf.add_font("body", fname=str(font))
        pdf.set_font("body", size=11)
    else:
        pdf.set_font("helvetica", size=11)
    for paragraph in paragraphs:
        pdf.multi_cell(0, 6, paragraph)
        pdf.ln(4)
    return bytes(pdf.output())


BUILDERS = {"txt": text_bytes, "md": markdown_bytes, "html": html_bytes, "docx": docx_bytes, "pdf": pdf_bytes}


def zip_bomb_docx(unpacked_mb: int = 300) -> bytes:
    """A docx-shaped archive whose one extra member unpacks to ``unpacked_mb`` MB of zeros."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document xmlns:w='x'/>")
        with archive.open("word/media/bomb.bin", "w", force_zip64=True) as member:
            block = b"\0" * (1024 * 1024)
            for _ in range(unpacked_mb):
                member.write(block)
    return out.getvalue()


def many_entries_docx(entries: int = 5_000) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("word/document.xml", "<w:document xmlns:w='x'/>")
        for index in range(entries):
            archive.writestr(f"word/x{index}.xml", "")
    return out.getvalue()
