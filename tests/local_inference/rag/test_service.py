"""Upload -> indexed -> found, for every format in Russian and English, with exact citations;
delete leaves nothing behind; bad files are refused or end ``failed`` with a reason."""

from __future__ import annotations

import pytest

from aiclone_agent.core.errors import ApiError
from aiclone_agent.rag.service import RagService
from tests.local_inference.rag.documents import (
    BUILDERS,
    EN_FACTS,
    RU_FACTS,
    many_entries_docx,
    text_bytes,
    zip_bomb_docx,
)

QUESTIONS = {
    "en": ("How many months of warranty do the ceramic lamps have?", "36 months"),
    "ru": ("Какой срок гарантии на керамические вазы?", "18 месяцев"),
}


def flat(text: str) -> str:
    return " ".join(text.split())


def small_chunks(rag: RagService) -> None:
    rag.config.update(lambda data: data["rag"].update(chunk_tokens=40, chunk_overlap_tokens=0))


async def ingest(rag: RagService, name: str, data: bytes):
    document = await rag.upload(name, data)
    await rag.ingestor.idle()
    return rag.document(document.id)


@pytest.mark.parametrize("lang", ["en", "ru"])
@pytest.mark.parametrize("kind", ["txt", "md", "html", "docx", "pdf"])
async def test_each_format_is_indexed_and_the_question_finds_the_cited_answer(rag, kind, lang):
    small_chunks(rag)
    facts, other = (EN_FACTS, RU_FACTS) if lang == "en" else (RU_FACTS, EN_FACTS)
    distractor = await ingest(rag, "other.txt", text_bytes(other))
    document = await ingest(rag, f"handbook.{kind}", BUILDERS[kind](facts))
    assert (document.kind, document.status, document.error) == (kind, "ready", None)
    assert document.chunks >= 3 and distractor.status == "ready"

    question, answer = QUESTIONS[lang]
    hits = await rag.search(question, 3)
    top = hits[0]
    assert (top.document_id, top.document_name) == (document.id, f"handbook.{kind}")
    assert answer in flat(top.text)
    stored = rag.store.read_text(document.id)
    assert stored[top.start : top.end] == top.text  # the citation points at the answer


async def test_delete_leaves_no_vectors_lexical_entries_or_files(rag):
    keep = await ingest(rag, "keep.txt", text_bytes(EN_FACTS))
    gone = await ingest(rag, "gone.docx", BUILDERS["docx"](RU_FACTS))
    assert rag.vectors.count(gone.id) == rag.lexical.count(gone.id) == gone.chunks > 0

    await rag.delete(gone.id)

    assert [d.id for d in rag.documents()] == [keep.id]
    assert rag.vectors.count(gone.id) == 0 and rag.lexical.count(gone.id) == 0
    assert rag.vectors.count() == rag.lexical.count() == keep.chunks
    assert rag.store.stored_file_ids() == {keep.id}
    assert all(hit.document_id == keep.id for hit in await rag.search("гарантия на вазы", 5))
    with pytest.raises(ApiError) as missing:
        await rag.delete(gone.id)
    assert missing.value.status == 404


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        (b"", 400, "empty_file"),
        (b"\x00\x01\x02\x03" * 100, 415, "unsupported_document"),
        (many_entries_docx(2_500), 415, "unsafe_document"),
    ],
    ids=["empty", "binary", "too-many-entries"],
)
async def test_hostile_uploads_are_refused_and_nothing_is_stored(rag, data, status, code):
    with pytest.raises(ApiError) as refused:
        await rag.upload("x.docx", data)
    assert (refused.value.status, refused.value.code) == (status, code)
    assert rag.documents() == [] and rag.store.stored_file_ids() == set()


async def test_a_zip_bomb_docx_is_refused(rag):
    rag.config.update(lambda data: data["rag"].update(max_unpacked_mb=8))
    with pytest.raises(ApiError, match="zip bomb") as refused:
        await rag.upload("report.docx", zip_bomb_docx(unpacked_mb=16))
    assert refused.value.status == 415


async def test_oversize_upload_is_refused(rag):
    rag.config.update(lambda data: data["rag"].update(max_upload_mb=1))
    with pytest.raises(ApiError, match="1 MB") as refused:
        await rag.upload("big.txt", b"a" * (1024 * 1024 + 1))
    assert refused.value.status == 413


async def test_an_unparseable_file_ends_failed_with_the_reason_and_ingestion_goes_on(rag):
    broken = await ingest(rag, "scan.pdf", b"%PDF-1.4\n% no objects at all\n%%EOF\n")
    good = await ingest(rag, "notes.txt", text_bytes(EN_FACTS))
    assert broken.status == "failed" and "PDF" in broken.error  # the parser's words, for the log
    assert broken.error_code == "document_unreadable"  # what the Documents page says
    assert good.status == "ready"
    assert rag.vectors.count() == good.chunks


async def test_the_uploaded_name_is_a_label_never_a_path(rag):
    document = await ingest(rag, "../../etc/passwd\x00.txt", text_bytes(EN_FACTS))
    assert document.name == "passwd.txt"
    assert rag.store.stored_file_ids() == {document.id}
    assert (rag.store.files_dir / document.id).read_bytes() == text_bytes(EN_FACTS)


async def test_a_renamed_file_is_read_as_what_it_is(rag):
    document = await ingest(rag, "invoice.pdf", BUILDERS["html"](EN_FACTS))
    assert (document.kind, document.status) == ("html", "ready")
    assert "never indexed" not in rag.store.read_text(document.id)
