"""The type comes from the bytes: names lie, content does not."""

from __future__ import annotations

import pytest

from aiclone_agent.rag.sniffing import UnsupportedDocumentError, decode_text, sniff
from tests.local_inference.rag.documents import BUILDERS, EN_FACTS, RU_FACTS


@pytest.mark.parametrize("kind", ["txt", "md", "html", "docx", "pdf"])
def test_every_format_is_recognised_from_its_bytes(kind):
    assert sniff(BUILDERS[kind](EN_FACTS)) == kind


def test_russian_text_in_windows_1251_is_text_and_decodes():
    data = "\n\n".join(RU_FACTS).encode("cp1251")
    assert sniff(data) == "txt"
    assert decode_text(data).startswith("Часы работы")


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        (b"", "empty"),
        (b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 4, "binary"),
        (b"PK\x03\x04 not really a zip", "damaged zip"),
    ],
)
def test_unreadable_bytes_are_refused_with_a_reason(data, needle):
    with pytest.raises(UnsupportedDocumentError, match=needle):
        sniff(data)


def test_a_zip_that_is_not_a_word_document_is_refused():
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(UnsupportedDocumentError, match="not a Word"):
        sniff(out.getvalue())
