"""docs/benchmarks.md, one section per benchmark: ``write_section`` replaces the section under its
heading (up to the next ``## ``) or appends it, leaving every other section as it was."""

from __future__ import annotations

from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


def write_section(heading: str, body: str, path: Path = DOCS) -> None:
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    section = f"{heading}\n\n{body.strip()}\n"
    if heading in text:
        start = text.index(heading)
        end = text.find("\n## ", start + len(heading))
        text = text[:start] + section + (text[end:] if end != -1 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text, encoding="utf-8")
