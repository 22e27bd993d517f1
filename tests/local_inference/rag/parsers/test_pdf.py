"""PDF: the text layer, Russian and English; damaged or empty files fail with a reason."""

from __future__ import annotations

import pytest

from aiclone_agent.rag.parsers import ParseError
from aiclone_agent.rag.parsers.pdf import extract
from tests.local_inference.rag.documents import EN_FACTS, RU_FACTS, pdf_bytes


@pytest.mark.parametrize("facts", [EN_FACTS, RU_FACTS], ids=["en", "ru"])
def test_text_layer_is_extracted(facts):
    text = " ".join(extract(pdf_bytes(facts)).split())
    for fact in facts:
        assert fact in text


def test_a_truncated_pdf_fails_with_a_reason():
    with pytest.raises(ParseError):
        extract(b"%PDF-1.7\n1 0 obj <<>> endobj\n")
