"""``/api/rag``: the knowledge base — upload, list, delete, reindex, search."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, UploadFile
from pydantic import BaseModel

from aiclone_agent.api.deps import RagDep
from aiclone_agent.core.errors import error_responses
from aiclone_agent.rag.retrieval import RetrievedChunk
from aiclone_agent.rag.storage import Document, Status

router = APIRouter(prefix="/api/rag", tags=["rag"])


class DocumentOut(BaseModel):
    id: str
    name: str
    size: int
    kind: str
    chunks: int
    status: Status
    progress: float
    error: str | None
    created_at: float

    @classmethod
    def of(cls, document: Document) -> DocumentOut:
        return cls(**{name: getattr(document, name) for name in cls.model_fields})


@router.post("/documents", status_code=201, responses=error_responses(415))
async def upload_document(file: UploadFile, rag: RagDep) -> DocumentOut:
    data = await file.read(rag.max_upload_bytes + 1)  # one byte over the limit is enough to refuse
    document = await rag.upload(file.filename, data)
    return DocumentOut.of(document)


@router.get("/documents")
async def list_documents(rag: RagDep) -> list[DocumentOut]:
    return [DocumentOut.of(d) for d in rag.documents()]


@router.get("/documents/{document_id}", responses=error_responses(404))
async def get_document(document_id: str, rag: RagDep) -> DocumentOut:
    return DocumentOut.of(rag.document(document_id))


@router.delete("/documents/{document_id}", status_code=204, responses=error_responses(404))
async def delete_document(document_id: str, rag: RagDep) -> None:
    await rag.delete(document_id)


@router.post("/reindex", status_code=202)
async def reindex(rag: RagDep) -> list[DocumentOut]:
    return [DocumentOut.of(d) for d in await rag.reindex()]


@router.get("/search")
async def search(
    rag: RagDep, q: Annotated[str, Query(min_length=1, max_length=2_000)], k: Annotated[int | None, Query(ge=1, le=50)] = None
) -> list[RetrievedChunk]:
    return await rag.search(q, k)

