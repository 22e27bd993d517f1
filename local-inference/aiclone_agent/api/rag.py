"""``/api/rag``: the knowledge base — upload, list, delete, reindex, search. Each document is the
owner's only (the default) or open to everyone (``visibility``): public channels read only the latter."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, UploadFile
from pydantic import BaseModel, ConfigDict

from aiclone_agent.api.deps import RagDep
from aiclone_agent.core.errors import error_responses
from aiclone_agent.rag.retrieval import RetrievedChunk
from aiclone_agent.rag.storage import Document, Status, Visibility

router = APIRouter(prefix="/api/rag", tags=["rag"])


class DocumentOut(BaseModel):
    id: str
    name: str
    size: int
    kind: str
    chunks: int
    status: Status
    progress: float
    error: str | None  # the parser's words, for the log: a person reads error_code
    created_at: float
    visibility: Visibility
    error_code: str | None = None  # why it failed, as the Documents page says it (aiclone_wire.error_codes)

    @classmethod
    def of(cls, document: Document) -> DocumentOut:
        return cls(**{name: getattr(document, name) for name in cls.model_fields})


class DocumentChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    visibility: Visibility


class VisibilityNotice(BaseModel):
    """Documents the upgrade to per-document visibility made public (null: nothing to tell)."""

    made_public: int | None


@router.post("/documents", status_code=201, responses=error_responses(415))
async def upload_document(
    file: UploadFile, rag: RagDep, visibility: Annotated[Visibility, Form()] = "owner"
) -> DocumentOut:
    data = await file.read(rag.max_upload_bytes + 1)  # one byte over the limit is enough to refuse
    document = await rag.upload(file.filename, data, visibility)
    return DocumentOut.of(document)


@router.patch("/documents/{document_id}", responses=error_responses(404))
async def change_document(document_id: str, body: DocumentChange, rag: RagDep) -> DocumentOut:
    return DocumentOut.of(rag.set_visibility(document_id, body.visibility))


@router.get("/visibility-notice")
async def visibility_notice(rag: RagDep) -> VisibilityNotice:
    return VisibilityNotice(made_public=rag.visibility_notice())


@router.delete("/visibility-notice", status_code=204)
async def dismiss_visibility_notice(rag: RagDep) -> None:
    rag.dismiss_visibility_notice()


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

