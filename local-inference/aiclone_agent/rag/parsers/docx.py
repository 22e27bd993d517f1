"""Word .docx: paragraphs of ``word/document.xml``, read with zip-bomb limits.

The archive's declared sizes and entry count are checked before anything is unpacked, and
the one member we read is read through a bounded stream, so a lying header cannot blow up
memory either.
"""

from __future__ import annotations

import io
import zipfile
from xml.etree import ElementTree

from aiclone_agent.rag.parsers import ArchiveLimits, ParseError

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
MEMBER = "word/document.xml"


def check_archive(archive: zipfile.ZipFile, limits: ArchiveLimits) -> zipfile.ZipInfo:
    entries = archive.infolist()
    if len(entries) > limits.max_entries:
        raise ParseError(f"the .docx archive has {len(entries)} entries; the limit is {limits.max_entries}")
    total = sum(entry.file_size for entry in entries)
    if total > limits.max_unpacked_bytes:
        raise ParseError(
            f"the .docx unpacks to {total} bytes; the limit is {limits.max_unpacked_bytes} (zip bomb?)"
        )
    try:
        return archive.getinfo(MEMBER)
    except KeyError as exc:
        raise ParseError("the .docx has no word/document.xml") from exc


def _read_bounded(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    with archive.open(info) as member:
        data = member.read(limit + 1)
    if len(data) > limit:
        raise ParseError("the .docx main part is larger than its header says (zip bomb?)")
    return data


def _paragraph_text(paragraph: ElementTree.Element) -> str:
    parts = []
    for node in paragraph.iter():
        if node.tag == f"{_W}t" and node.text:
            parts.append(node.text)
        elif node.tag == f"{_W}tab":
            parts.append("\t")
        elif node.tag in (f"{_W}br", f"{_W}cr"):
            parts.append("\n")
    return "".join(parts)


def extract(data: bytes, limits: ArchiveLimits) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            info = check_archive(archive, limits)
            xml = _read_bounded(archive, info, min(info.file_size, limits.max_unpacked_bytes))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, OSError) as exc:
        raise ParseError(f"the .docx archive could not be read: {exc}") from exc
    if b"<!DOCTYPE" in xml[:4096] or b"<!ENTITY" in xml[:65536]:
        raise ParseError("the .docx declares XML entities, which Word never writes; refused")
    try:
        root = ElementTree.fromstring(xml)  # noqa: S314 - DOCTYPE/ENTITY refused above, so no entity expansion
    except ElementTree.ParseError as exc:
        raise ParseError(f"the .docx XML is damaged: {exc}") from exc
    paragraphs = [_paragraph_text(p) for p in root.iter(f"{_W}p")]
    return "\n\n".join(p.strip() for p in paragraphs if p.strip())
