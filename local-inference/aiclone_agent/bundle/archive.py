"""``python -m aiclone_agent export FILE`` / ``import FILE``: the whole clone in one archive, to
move it to a new PC: the config, everything under the data dir (conversations, the RAG store,
Telegram state) and the adapter folder (``models/lora``). The base model is left out (it is
big and fetched again, or copied by hand); the manifest names it.

SQLite files are copied with SQLite's online backup API (consistent even if something writes);
every file's SHA-256 is in the manifest and checked on import. Import refuses to overwrite a
clone that is already there unless told to (``--force``), and never writes outside its folders.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import json
import shutil
import tarfile
import tempfile
from pathlib import Path, PurePosixPath

from aiclone_agent.core.config import EnvSettings
from aiclone_wire.private_files import copy_sqlite

FORMAT = "aiclone-clone-archive"
VERSION = 1
SQLITE_MAGIC = b"SQLite format 3\x00"
SKIPPED = {"logs"}  # under data/: not part of the clone


class ArchiveError(Exception):
    """Said to the owner as it is (no traceback)."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _is_sqlite(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(16) == SQLITE_MAGIC


def _copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if _is_sqlite(source):
        copy_sqlite(source, target)
    else:
        shutil.copyfile(source, target)


def _sources(env: EnvSettings) -> dict[str, Path]:
    """Archive prefix -> folder on this PC."""
    return {"data": env.data_dir, "lora": env.models_dir / "lora"}


def export_clone(env: EnvSettings, destination: Path) -> dict:
    """Writes the archive; its manifest."""
    if not env.config.is_file():
        raise ArchiveError(f"no config at {env.config}: nothing to export")
    files: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="aiclone-export-") as scratch:
        staging = Path(scratch)
        _copy(env.config, staging / "config" / "config.yaml")
        for prefix, folder in _sources(env).items():
            if not folder.is_dir():
                continue
            for path in sorted(folder.rglob("*")):
                relative = path.relative_to(folder)
                if (
                    not path.is_file()
                    or path.is_symlink()
                    or relative.parts[0] in SKIPPED
                    or path.name.endswith(("-journal", "-wal", "-shm", ".lock"))
                ):
                    continue
                _copy(path, staging / prefix / relative)
        for path in sorted(staging.rglob("*")):
            if path.is_file():
                files[path.relative_to(staging).as_posix()] = _sha256(path)
        manifest = {
            "format": FORMAT,
            "version": VERSION,
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "base_model": _base_model_name(staging / "config" / "config.yaml"),
            "files": files,
        }
        destination.parent.mkdir(parents=True, exist_ok=True)
        partial = destination.with_name(destination.name + ".partial")
        with tarfile.open(partial, "w:gz") as archive:
            blob = json.dumps(manifest, indent=2).encode()
            info = tarfile.TarInfo("manifest.json")
            info.size = len(blob)
            archive.addfile(info, io.BytesIO(blob))
            for name in files:
                archive.add(staging / name, arcname=name, recursive=False)
        partial.replace(destination)
    return manifest


def _base_model_name(config: Path) -> str:
    import yaml

    data = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
    return str((data.get("model") or {}).get("base_model_path") or "")


def _safe_member(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if (
        path.is_absolute()
        or ".." in path.parts
        or not path.parts
        or path.parts[0] not in {"config", "data", "lora"}
    ):
        raise ArchiveError(f"the archive holds a file outside the clone's folders: {name!r}")
    return path


def import_clone(env: EnvSettings, source: Path, force: bool = False) -> dict:
    """Unpacks an archive into this PC's config, data dir and adapter folder; its manifest."""
    if not source.is_file():
        raise ArchiveError(f"no archive at {source}")
    targets = {"data": env.data_dir, "lora": env.models_dir / "lora"}
    occupied = [str(p) for p in (env.data_dir / "conversations.sqlite3", env.config) if p.exists()]
    if occupied and not force:
        raise ArchiveError(
            f"a clone is already here ({', '.join(occupied)}); import into a fresh folder or pass --force "
            "to replace it"
        )
    try:
        with (
            tarfile.open(source, "r:gz") as archive,
            tempfile.TemporaryDirectory(prefix="aiclone-import-") as scratch,
        ):
            member = archive.extractfile("manifest.json") if "manifest.json" in archive.getnames() else None
            if member is None:
                raise ArchiveError(f"{source.name} is not a clone archive (no manifest.json)")
            manifest = json.loads(member.read())
            if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
                raise ArchiveError(f"{source.name} is not a clone archive this version reads")
            staging = Path(scratch)
            for name, digest in manifest["files"].items():
                path = _safe_member(name)
                entry = archive.getmember(name)
                if not entry.isfile():
                    raise ArchiveError(f"{name} in the archive is not a plain file")
                target = staging / path
                target.parent.mkdir(parents=True, exist_ok=True)
                data = archive.extractfile(entry)
                assert data is not None  # a plain file (checked above) always has its data
                with data, target.open("wb") as out:
                    shutil.copyfileobj(data, out)
                if _sha256(target) != digest:
                    raise ArchiveError(f"{name} is damaged in the archive (checksum differs)")
            # everything checked: only now touch this PC's folders
            if force:
                for folder in targets.values():
                    shutil.rmtree(folder, ignore_errors=True)
            for prefix, folder in targets.items():
                if (staging / prefix).is_dir():
                    shutil.copytree(staging / prefix, folder, dirs_exist_ok=True)
            env.config.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(staging / "config" / "config.yaml", env.config)
    except (tarfile.TarError, EOFError, OSError, json.JSONDecodeError, KeyError) as exc:
        raise ArchiveError(f"{source.name} cannot be read as a clone archive: {exc}") from exc
    return manifest
