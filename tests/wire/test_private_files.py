"""Private files: mode 0600 from the moment they exist, one writer wins, no half-written reads."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest

from aiclone_wire.private_files import copy_sqlite, private_file, write_private_once

pytestmark = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")


@pytest.fixture
def loose_umask():
    previous = os.umask(0)  # the worst case: everything created world-readable and -writable
    yield
    os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_file_is_private_and_an_old_one_is_narrowed(tmp_path: Path, loose_umask):
    fresh = private_file(tmp_path / "deep" / "gateway.sqlite3")
    assert fresh.read_bytes() == b"" and _mode(fresh) == 0o600
    old = tmp_path / "old.sqlite3"
    old.write_bytes(b"rows")
    old.chmod(0o644)
    assert private_file(old).read_bytes() == b"rows" and _mode(old) == 0o600


def test_the_first_writer_wins_and_leaves_no_partial_file(tmp_path: Path, loose_umask):
    path = tmp_path / "owner-setup-code"
    assert write_private_once(path, "first\n") and _mode(path) == 0o600
    assert not write_private_once(path, "second\n")
    assert path.read_text() == "first\n"
    assert [p.name for p in tmp_path.iterdir()] == ["owner-setup-code"]


def test_a_live_database_is_copied_whole_into_a_private_file_and_left_as_it_was(tmp_path: Path, loose_umask):
    source = tmp_path / "live.sqlite3"
    live = sqlite3.connect(source)
    live.execute("PRAGMA journal_mode=WAL")
    live.execute("CREATE TABLE t (x)")
    live.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(100)])
    live.commit()  # still open, as a running program holds it
    copy_sqlite(source, tmp_path / "copy.sqlite3")
    copy = sqlite3.connect(tmp_path / "copy.sqlite3")
    assert copy.execute("SELECT count(*) FROM t").fetchone() == (100,)
    assert _mode(tmp_path / "copy.sqlite3") == 0o600
    live.execute("INSERT INTO t VALUES (100)")  # the source is still writable by its owner
    live.commit()
    copy.close()
    live.close()
