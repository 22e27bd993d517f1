"""Word documents: text in paragraph order, zip bombs and XML entities refused."""

from __future__ import annotations

import pytest

from aiclone_agent.rag.parsers import ArchiveLimits, ParseError
from aiclone_agent.rag.parsers.docx import extract
from tests.local_inference.rag.documents import RU_FACTS, docx_bytes, many_entries_docx, zip_bomb_docx

LIMITS = ArchiveLimits(max_unpacked_bytes=10 * 1024 * 1024, max_entries=1_000)


def test_paragraphs_come_out_in_order():
    text = extract(docx_bytes(RU_FACTS), LIMITS)
    assert text.split("\n\n") == RU_FACTS


def test_a_zip_bomb_is_refused_before_unpacking():
    with pytest.raises(ParseError, match="zip bomb"):
        extract(zip_bomb_docx(unpacked_mb=20), LIMITS)


def test_too_many_entries_are_refused():
    with pytest.raises(ParseError, match="entries"):
        extract(many_entries_docx(1_500), LIMITS)


def test_xml_entities_are_refused():
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(
            "word/document.xml",
            '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><d>&b;</d>',
        )
    with pytest.raises(ParseError, match="entities"):
        extract(out.getvalue(), LIMITS)
