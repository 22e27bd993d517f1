"""Files only their owner may read: the SQLite databases of both programs (conversations, accounts,
token hashes) and the gateway's one-time setup code.

A file is created with mode 0600 before anything is written into it, so there is no moment in
which another local user could open it; an existing file (made by an older release under a looser
umask) is narrowed to 0600. SQLite gives its ``-wal`` and ``-shm`` files the database file's mode.
On Windows the mode bits mean little (the user's profile folder guards the files there).
"""

from __future__ import annotations

import os
import secrets
import sqlite3
import stat
from pathlib import Path

PRIVATE_MODE = 0o600


def private_file(path: Path) -> Path:
    """``path``, created empty with mode 0600 when missing, narrowed to 0600 when broader; its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_MODE)
    try:
        if os.name == "posix" and stat.S_IMODE(os.fstat(fd).st_mode) & ~PRIVATE_MODE:
            os.fchmod(fd, PRIVATE_MODE)
    finally:
        os.close(fd)
    return path


def write_private_once(path: Path, text: str) -> bool:
    """Puts ``text`` at ``path`` (mode 0600) unless a file is there already: False then.

    Written whole into a private temporary file first and then hard-linked into place, so of
    several processes exactly one wins and no reader ever sees the file half written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.part")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_MODE)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.link(partial, path)
    except FileExistsError:
        return False
    finally:
        partial.unlink(missing_ok=True)
    return True


def copy_sqlite(source: Path, target: Path) -> None:
    """SQLite's online backup of ``source`` (opened read-only, so a live database stays untouched and
    consistent: the copy is one snapshot) into ``target``, a private file. The gateway's backups and
    restores and the agent's clone export use it."""
    src, dst = sqlite3.connect(f"file:{source}?mode=ro", uri=True), sqlite3.connect(private_file(target))
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
