"""``python -m aiclone_agent install-clone``: installs a trained clone from the platform.

Reads the clone's manifest (``GET {platform}/api/clones/{id}/bundle``, the key as a bearer
token; the contract is docs/clone_bundle.md), downloads the base model and the adapter with
progress, resume (HTTP Range; partial files are kept in ``<dir>/.install/``) and SHA-256 checks,
and only when every file is verified moves them into ``models/`` and writes the persona to
``config/config.yaml``. A refused key, a corrupt file or a cut connection installs nothing and
says why; running the command again resumes, and once installed it is a no-op.

What the platform (or a CDN it redirects to) may do is bounded: the key travels only to the
platform's own origin, on every redirect hop too; every URL is ``https://`` unless it is loopback;
a manifest is at most ``MANIFEST_MAX_BYTES`` and a file at most the size the manifest declares.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import ipaddress
import json
import os
import re
import shutil
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, TypeVar

DEFAULT_PLATFORM = os.environ.get("AICLONE_PLATFORM_URL", "")
CHUNK = 1 << 20
ATTEMPTS = 3
MANIFEST_MAX_BYTES = 1 << 20  # a manifest lists a few files and a persona (<= 20,000 chars)
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_T = TypeVar("_T")


class InstallError(Exception):
    """The clone could not be installed; the message says why and what to do."""


@dataclass(frozen=True)
class RemoteFile:
    url: str
    sha256: str
    size: int
    target: Path  # where it ends up, inside the bundle


@dataclass(frozen=True)
class Manifest:
    clone_id: str
    name: str
    system_prompt: str
    base_model: RemoteFile | None
    adapter: list[RemoteFile]


def _origin(url: str) -> tuple[str, str]:
    return urllib.parse.urlsplit(url)[:2]


def _bearer(url: str, platform: str, token: str) -> dict[str, str]:
    """The key goes only to the platform's own origin, never to a CDN a manifest points at."""
    return {"Authorization": f"Bearer {token}"} if _origin(url) == _origin(platform) else {}


def require_https(url: str, what: str) -> None:
    """``https://``, or ``http://`` to this machine only: the key and the clone never cross a network
    in clear text."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https" or (parts.scheme == "http" and _is_loopback(parts.hostname or "")):
        return
    raise InstallError(
        f"{what} {url} is not https:// (plain http:// is allowed only to this machine, e.g. "
        "http://127.0.0.1:PORT): nothing was downloaded"
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _KeyStaysWithItsOrigin(urllib.request.HTTPRedirectHandler):
    """urllib copies every header onto the redirected request: drop the key when the next hop is on
    another origin than this one (so it reaches only hops chained from the platform's origin), and
    follow no redirect to plain ``http://`` on another machine."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: http.client.HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        require_https(newurl, "a redirect to")
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and _origin(newurl) != _origin(req.full_url):
            for name in [h for h in new.headers if h.lower() == "authorization"]:
                del new.headers[name]
        return new


_OPENER = urllib.request.build_opener(_KeyStaysWithItsOrigin())


def fetch_manifest(platform: str, clone_id: str, token: str, timeout: float = 30) -> dict:
    url = f"{platform.rstrip('/')}/api/clones/{urllib.parse.quote(clone_id, safe='')}/bundle"
    require_https(platform, "the platform URL")
    request = urllib.request.Request(
        url, headers={"Accept": "application/json", **_bearer(url, platform, token)}
    )
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            body = response.read(MANIFEST_MAX_BYTES + 1)
    except urllib.error.HTTPError as exc:
        if exc.code in (401, 403):
            raise InstallError(
                f"the platform refused the key for clone {clone_id} (HTTP {exc.code}): check --token; "
                "copy the install command again from the clone's page on the platform"
            ) from exc
        if exc.code == 404:
            raise InstallError(f"the platform has no clone {clone_id} (HTTP 404): check --clone-id") from exc
        raise InstallError(f"the platform answered HTTP {exc.code} for {url}; try again later") from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise InstallError(f"cannot reach the platform at {platform}: {reason}") from exc
    if len(body) > MANIFEST_MAX_BYTES:
        raise InstallError(
            f"the platform's manifest for clone {clone_id} is larger than {MANIFEST_MAX_BYTES} bytes: "
            "refused, nothing was installed"
        )
    try:
        return json.loads(body)
    except ValueError as exc:
        raise InstallError(f"the platform's answer for clone {clone_id} is not JSON") from exc


def parse_manifest(data: object, platform: str, bundle: Path) -> Manifest:
    def need(value: object, kind: type[_T], where: str) -> _T:
        if not isinstance(value, kind):
            raise InstallError(
                f"the platform's manifest is not valid: {where} is missing or not a {kind.__name__}"
            )
        return value

    manifest = need(data, dict, "the manifest")
    clone = need(manifest.get("clone"), dict, "clone")
    base = manifest.get("base_model")
    base_file = None
    if base is not None:
        base = need(base, dict, "base_model")
        name = need(base.get("name"), str, "base_model.name")
        safe = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip(".-") or "base-model"
        if not safe.lower().endswith(".gguf"):
            safe += ".gguf"
        base_file = _remote(
            need(base.get("gguf"), dict, "base_model.gguf"),
            platform,
            bundle / "models" / "base" / safe,
            "base_model.gguf",
        )
    adapter = need(manifest.get("adapter") or {"files": []}, dict, "adapter")
    files = []
    for index, entry in enumerate(need(adapter.get("files", []), list, "adapter.files")):
        entry = need(entry, dict, f"adapter.files[{index}]")
        relative = _safe_relative(need(entry.get("path"), str, f"adapter.files[{index}].path"))
        files.append(
            _remote(entry, platform, bundle / "models" / "lora" / relative, f"adapter.files[{index}]")
        )
    return Manifest(
        clone_id=need(clone.get("id"), str, "clone.id"),
        name=need(clone.get("name"), str, "clone.name"),
        system_prompt=need(clone.get("system_prompt"), str, "clone.system_prompt"),
        base_model=base_file,
        adapter=files,
    )


def _remote(entry: dict, platform: str, target: Path, where: str) -> RemoteFile:
    url, sha, size = entry.get("url"), entry.get("sha256"), entry.get("size")
    if not isinstance(url, str) or not url:
        raise InstallError(f"the platform's manifest is not valid: {where}.url is missing")
    if not isinstance(sha, str) or not _SHA256.match(sha.lower()):
        raise InstallError(
            f"the platform's manifest is not valid: {where}.sha256 is not a SHA-256 hex digest"
        )
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise InstallError(f"the platform's manifest is not valid: {where}.size is not a byte count")
    absolute = urllib.parse.urljoin(platform.rstrip("/") + "/", url)
    require_https(absolute, f"the platform's manifest is not valid: {where}.url")
    return RemoteFile(absolute, sha.lower(), size, target)


def _safe_relative(path: str) -> Path:
    parts = PurePosixPath(path.replace("\\", "/")).parts
    if not parts or path.startswith(("/", "\\")) or any(p in ("..", "") or ":" in p for p in parts):
        raise InstallError(
            f"the platform's manifest is not valid: adapter file path {path!r} leaves models/lora/"
        )
    return Path(*parts)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _installed(file: RemoteFile) -> bool:
    return (
        file.target.is_file()
        and file.target.stat().st_size == file.size
        and sha256_file(file.target) == file.sha256
    )


def download(file: RemoteFile, staged: Path, headers: dict[str, str], label: str) -> None:
    """Fetch ``file`` into ``staged`` (resuming a partial one) and verify its size and SHA-256."""
    from aiclone_agent.bundle.default_model import ProgressBar

    staged.parent.mkdir(parents=True, exist_ok=True)
    last_error = ""
    for attempt in range(ATTEMPTS):
        have = staged.stat().st_size if staged.exists() else 0
        if have > file.size:
            staged.unlink()
            have = 0
        if have < file.size:
            try:
                _fetch_range(file, staged, have, headers, ProgressBar(label, file.size))
            except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
                last_error = str(getattr(exc, "reason", exc))
                time.sleep(0.5 * (attempt + 1))
                continue
        if staged.stat().st_size != file.size:
            last_error = f"got {staged.stat().st_size} of {file.size} bytes"
            continue
        digest = sha256_file(staged)
        if digest != file.sha256:
            staged.unlink()
            raise InstallError(
                f"{label} failed its SHA-256 check (expected {file.sha256[:12]}..., got {digest[:12]}...): "
                "the file is corrupt; nothing was installed. Run the command again to download it again"
            )
        return
    raise InstallError(
        f"the download of {label} was interrupted ({last_error}); nothing was installed. "
        "Run the same command again: it resumes where it stopped"
    )


def _fetch_range(file: RemoteFile, staged: Path, have: int, headers: dict[str, str], bar) -> None:
    request = urllib.request.Request(
        file.url, headers={**headers, **({"Range": f"bytes={have}-"} if have else {})}
    )
    try:
        response = _OPENER.open(request, timeout=60)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # our partial file is not a prefix of theirs: start over
            staged.unlink()
            raise ConnectionError("the server refused to resume; starting over") from exc
        if exc.code in (401, 403):
            raise InstallError(
                f"the platform refused the key for {file.url} (HTTP {exc.code}): check --token"
            ) from exc
        raise InstallError(f"downloading {file.url} failed: HTTP {exc.code}") from exc
    with response:
        resumed = have and response.status == 206
        mode = "ab" if resumed else "wb"
        bar.advance(have if resumed else 0)
        room = file.size - (have if resumed else 0)  # never more than the manifest declared
        with staged.open(mode) as sink:
            while block := response.read(min(CHUNK, room + 1)):
                if len(block) > room:  # one byte past the declared size: stop (``block`` stays set)
                    break
                sink.write(block)
                room -= len(block)
                bar.advance(len(block))
            sink.flush()
            os.fsync(sink.fileno())
    if block:
        staged.unlink()
        raise InstallError(
            f"{file.url} sent more than the {file.size} bytes the manifest declares: the download was "
            "stopped and deleted, nothing was installed"
        )


def install(manifest: Manifest, bundle: Path, platform: str, token: str, repo_root: Path) -> list[str]:
    """Download, verify, then move into place and write the config. Returns what it did."""
    from aiclone_agent.core.config import CloneSection, ConfigStore

    try:
        CloneSection(id=manifest.clone_id, name=manifest.name, system_prompt=manifest.system_prompt)
    except ValueError as exc:
        raise InstallError(f"the platform's persona for this clone is not valid: {exc}") from exc
    staging = bundle / ".install" / manifest.clone_id
    files = ([manifest.base_model] if manifest.base_model else []) + manifest.adapter
    done: list[str] = []
    pending: list[tuple[RemoteFile, Path]] = []
    for file in files:
        label = file.target.relative_to(bundle).as_posix()
        if _installed(file):
            done.append(f"{label}: already installed")
            continue
        staged = staging / (label + ".part")
        download(file, staged, _bearer(file.url, platform, token), label)
        pending.append((file, staged))
    for file, staged in pending:  # every file is verified: now install them
        file.target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged, file.target)
        done.append(f"{file.target.relative_to(bundle).as_posix()}: installed")
    _remove_stale_adapter_files(bundle / "models" / "lora", {f.target for f in manifest.adapter})
    shutil.rmtree(staging, ignore_errors=True)
    base_path = ""
    if manifest.base_model is not None:
        target = manifest.base_model.target
        base_path = (
            target.relative_to(repo_root).as_posix()
            if bundle.resolve() == repo_root.resolve()
            else str(target)
        )
    lora_path = (
        ""
        if bundle.resolve() == repo_root.resolve() or not manifest.adapter
        else str(bundle / "models" / "lora")
    )

    def persona(data: dict) -> None:
        data["clone"].update(id=manifest.clone_id, name=manifest.name, system_prompt=manifest.system_prompt)
        if base_path:
            data["model"]["base_model_path"] = base_path
        data["model"]["lora_path"] = lora_path

    ConfigStore(bundle / "config" / "config.yaml").update(persona)
    done.append("config/config.yaml: persona written")
    return done


def _remove_stale_adapter_files(lora_dir: Path, keep: set[Path]) -> None:
    """A new adapter replaces the old one entirely (a stale .gguf next to it would be ambiguous)."""
    if not keep or not lora_dir.is_dir():
        return
    for path in sorted(lora_dir.rglob("*"), reverse=True):
        if path.is_file() and path not in keep:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()


def install_clone(args: argparse.Namespace) -> int:
    from aiclone_agent.core.config import REPO_ROOT, ConfigError

    token = args.token or os.environ.get("AICLONE_PLATFORM_TOKEN", "")
    platform = (args.platform or "").strip()
    try:
        if not platform:
            raise InstallError(
                "no platform URL: pass --platform URL (the platform's install command includes it)"
            )
        if not token:
            raise InstallError("no key: pass --token KEY (or set AICLONE_PLATFORM_TOKEN)")
        bundle = args.dir.expanduser().resolve()
        manifest = parse_manifest(fetch_manifest(platform, args.clone_id, token), platform, bundle)
        if manifest.clone_id != args.clone_id:
            raise InstallError(f"the platform sent clone {manifest.clone_id} when asked for {args.clone_id}")
        for line in install(manifest, bundle, platform, token, REPO_ROOT):
            print(line)
    except (InstallError, ConfigError) as exc:
        print(f"aiclone: install-clone: {exc}", file=sys.stderr)
        return 2
    print(f"Clone {manifest.name} ({manifest.clone_id}) is installed in {bundle}")
    return 0
