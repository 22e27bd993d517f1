"""``python -m aiclone_agent [serve|fetch-model|export FILE|import FILE|convert-lora|install-clone|admin-password]``:
what ./run.sh and the scripts call."""

from __future__ import annotations

import argparse
import getpass
import ipaddress
import logging
import sys
from pathlib import Path

from aiclone_agent.bundle.base_model_choice import choose_base_model
from aiclone_agent.bundle.default_model import FetchError, ensure_default_model
from aiclone_agent.bundle.install_clone import DEFAULT_PLATFORM, install_clone
from aiclone_agent.bundle.model_files import ModelMissingError
from aiclone_agent.core.config import REPO_ROOT, ConfigError, ConfigStore, EnvSettings
from aiclone_agent.core.sqlite_schema import SchemaTooNewError
from aiclone_agent.engine.base import EngineError
from aiclone_wire.startup import startup_phase


def fail(message: str) -> int:
    print(f"aiclone: {message}", file=sys.stderr)
    return 2


def fetch_model(env: EnvSettings, config: ConfigStore) -> int:
    base_dir = env.models_dir / "base"
    try:
        path = choose_base_model(config.current.model.base_model_path, base_dir).path
        print(f"model: {path}")
        return 0
    except ModelMissingError:
        if config.current.model.base_model_path:
            raise
    path = ensure_default_model(base_dir)
    print(f"model: {path}")
    return 0


def serve(env: EnvSettings, config: ConfigStore) -> int:
    with startup_phase("imports"):
        import uvicorn

        from aiclone_agent.app import create_app
        from aiclone_agent.engine.reloadable import ReloadableEngine
        from aiclone_agent.engine.selector import load_engine
    with startup_phase("engine"):
        engine = ReloadableEngine(load_engine(config.current.model, env.models_dir))
    panel = config.current.admin_panel
    host, port = env.host or panel.host, env.port or panel.port
    print(f"AI Clone agent: {engine.info.backend} running {engine.info.model_name}; open http://{host}:{port}", flush=True)
    if not panel.password_hash and not _is_loopback_host(host):
        print(
            f"admin: listening on {host}, but with no admin password it answers this PC only; "
            "set one with `python -m aiclone_agent admin-password` to open it to the network",
            flush=True,
        )
    if engine.info.model_reason:
        print(f"model: {engine.info.model_reason}", flush=True)
    if engine.info.gpu is not None:
        print(f"GPU: {engine.info.gpu.layers_offloaded}/{engine.info.gpu.layers_total} layers ({engine.info.gpu.reason})", flush=True)
    with startup_phase("app"):
        app = create_app(env, config, engine)
    uvicorn.run(app, host=host, port=port, log_level=env.log_level, access_log=False)
    return 0


def _is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def admin_password(env: EnvSettings, config: ConfigStore, args: argparse.Namespace) -> int:
    """Set (or clear) the admin password: stored as a scrypt hash in ``admin_panel.password_hash``."""
    from aiclone_agent.core.admin_password import hash_password

    if args.clear:
        stored = ""
    else:
        if args.stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = getpass.getpass("admin password: ")
            if getpass.getpass("again: ") != password:
                return fail("the two passwords differ")
        try:
            stored = hash_password(password)
        except ValueError as exc:
            return fail(str(exc))
    config.update(lambda data: data.setdefault("admin_panel", {}).__setitem__("password_hash", stored))
    if stored:
        print(
            f"admin password saved in {config.path}; restart the agent. Every admin request now needs it "
            "(the browser asks: any user name, this password)"
        )
    else:
        print(f"admin password removed from {config.path}; restart the agent: the admin answers this PC only")
    return 0


def move_clone(env: EnvSettings, command: str, path: Path, force: bool) -> int:
    """Export or import the whole clone (stop the agent first: the RAG store is copied as files)."""
    from aiclone_agent.bundle.archive import ArchiveError, export_clone, import_clone

    try:
        if command == "export":
            manifest = export_clone(env, path)
            print(f"exported {len(manifest['files'])} files to {path} (the base model is not included)")
        else:
            manifest = import_clone(env, path, force)
            base = manifest["base_model"] or "the default"
            print(f"imported {len(manifest['files'])} files from {path}; base model: {base}")
    except ArchiveError as exc:
        print(f"aiclone: {command} failed: {exc}", file=sys.stderr)
        return 1
    return 0


def convert_lora(args: argparse.Namespace) -> int:
    from aiclone_agent.adapter.errors import AdapterError
    from aiclone_agent.adapter.gguf_lora import convert_peft_to_gguf

    try:
        path = convert_peft_to_gguf(args.peft_dir, args.out, args.base)
    except AdapterError as exc:
        return fail(f"cannot convert {args.peft_dir}: {exc}")
    print(f"adapter: {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aiclone_agent")
    parser.set_defaults(command="serve")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="run the agent (the default)")
    commands.add_parser("fetch-model", help="make sure a base model is in models/base/")
    export = commands.add_parser("export", help="write the whole clone (config, data, adapter) to one archive")
    export.add_argument("path", type=Path, help="the clone archive to write (.tar.gz)")
    imported = commands.add_parser("import", help="restore a clone archive into this bundle")
    imported.add_argument("path", type=Path, help="the clone archive (.tar.gz)")
    imported.add_argument("--force", action="store_true", help="replace the clone that is here")
    convert = commands.add_parser("convert-lora", help="convert a PEFT LoRA folder to a GGUF LoRA for llama.cpp")
    convert.add_argument("peft_dir", type=Path, help="folder with adapter_config.json + adapter_model.safetensors")
    convert.add_argument("out", type=Path, help="the .gguf file to write")
    convert.add_argument("--base", type=Path, required=True, help="the base model's GGUF (shapes are checked)")
    password = commands.add_parser(
        "admin-password",
        help="set the admin password (needed to open admin_panel.host to the network); stop the agent first",
    )
    password.add_argument("--stdin", action="store_true", help="read the password from one line of stdin")
    password.add_argument("--clear", action="store_true", help="remove it: the admin answers this PC only")
    install = commands.add_parser("install-clone", help="download a trained clone from the platform")
    install.add_argument("--clone-id", required=True)
    install.add_argument("--token", default="", help="the platform key, sent as a bearer token (or AICLONE_PLATFORM_TOKEN)")
    install.add_argument("--platform", default=DEFAULT_PLATFORM, help=f"platform URL (default {DEFAULT_PLATFORM})")
    install.add_argument("--dir", type=Path, default=REPO_ROOT, help="bundle folder to install into")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "convert-lora":
        return convert_lora(args)
    if args.command == "install-clone":
        return install_clone(args)
    try:
        env = EnvSettings()
        logging.basicConfig(level=env.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        config = ConfigStore(env.config)
        if args.command == "fetch-model":
            return fetch_model(env, config)
        if args.command == "admin-password":
            return admin_password(env, config, args)
        if args.command in ("export", "import"):
            return move_clone(env, args.command, args.path, getattr(args, "force", False))
        return serve(env, config)
    except (ConfigError, ModelMissingError, FetchError, EngineError, SchemaTooNewError) as exc:
        return fail(str(exc))
    except ValueError as exc:  # bad AICLONE_* values
        return fail(f"environment: {exc}")


if __name__ == "__main__":
    sys.exit(main())
