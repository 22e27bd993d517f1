"""``python -m aiclone_gateway [serve|migrate|create-agent-token|setup-code|create-owner|backup DIR|restore FILE]``.

What ./run.sh gateway calls (serve), and the owner's maintenance commands."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import sys

from pydantic import ValidationError

from aiclone_gateway.auth.registration import RegistrationMode
from aiclone_gateway.core.config import Settings
from aiclone_gateway.core.db import migrate
from aiclone_wire.startup import startup_phase


def serve(settings: Settings) -> int:
    with startup_phase("imports"):
        import uvicorn

        from aiclone_gateway.core.lean_websocket import LeanWebSocketProtocol
        from aiclone_gateway.main import create_app
    with startup_phase("migrations"):
        migrate(settings.database_url)
    print(f"AI Clone gateway on http://{settings.host}:{settings.port} ({settings.environment})", flush=True)
    with startup_phase("app"):
        app = create_app(settings)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=False,
        ws_ping_interval=None,
        ws=LeanWebSocketProtocol,  # uvicorn's own, lighter per idle socket (tens of thousands may be open)
        # Chat frames are small JSON; permessage-deflate would keep a zlib compressor and
        # decompressor per socket (tens of KiB each once a frame went out) for every idle chat.
        ws_per_message_deflate=False,
        # The one place the client's address is decided (request.client everywhere after this):
        # X-Forwarded-For is honoured only on connections from the trusted proxies.
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=settings.trusted_proxies or None,
    )
    return 0


def create_agent_token(settings: Settings, name: str, replace: bool) -> int:
    from aiclone_gateway.runtime import GatewayRuntime

    async def create() -> str:
        runtime = GatewayRuntime.build(settings)
        try:
            if replace:
                for row in await runtime.credentials.agent_tokens():
                    if row.name == name:
                        await runtime.credentials.revoke_agent_token(row.id)
            _, token = await runtime.credentials.create_agent_token(name)
            return token
        finally:
            await runtime.close()

    migrate(settings.database_url)
    print(asyncio.run(create()))
    return 0


def setup_code(settings: Settings) -> int:
    """Prints the one-time code the first sign-up needs (nothing once the gateway has its owner)."""
    from aiclone_gateway.runtime import GatewayRuntime

    async def current() -> str:
        runtime = GatewayRuntime.build(settings)
        try:
            if not runtime.auth.setup.required:
                print("aiclone gateway: no setup code in development", file=sys.stderr)
                return ""
            if not await runtime.auth.needs_owner():
                print("aiclone gateway: the gateway has its owner; no setup code", file=sys.stderr)
                return ""
            return runtime.auth.setup.issue()
        finally:
            await runtime.close()

    migrate(settings.database_url)
    code = asyncio.run(current())
    if code:
        print(code)
    return 0


def create_owner(settings: Settings, email: str, registration: RegistrationMode) -> int:
    """The owner's account made on the server itself: its password from stdin (or asked twice)."""
    from aiclone_gateway.api.auth import Credentials
    from aiclone_gateway.core.errors import ApiError
    from aiclone_gateway.runtime import GatewayRuntime

    if sys.stdin.isatty():
        password = getpass.getpass("Password for the owner: ")
        if getpass.getpass("Again: ") != password:
            print("aiclone gateway: the passwords differ", file=sys.stderr)
            return 1
    else:
        password = sys.stdin.readline().rstrip("\n")
    try:
        owner = Credentials(email=email, password=password)
    except ValidationError as exc:
        problems = "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors())
        print(f"aiclone gateway: create-owner refused: {problems}", file=sys.stderr)
        return 1

    async def create() -> str:
        runtime = GatewayRuntime.build(settings)
        try:
            code = runtime.auth.setup.issue() if runtime.auth.setup.required else None
            user = await runtime.auth.register(owner.email, owner.password, None, registration, code)
            return user.email
        finally:
            await runtime.close()

    migrate(settings.database_url)
    try:
        print(f"owner {asyncio.run(create())} created; sign-up after it: {registration}")
    except ApiError as exc:
        print(f"aiclone gateway: create-owner refused: {exc.message}", file=sys.stderr)
        return 1
    return 0


def backup_or_restore(settings: Settings, command: str, path: str | None, keep: int) -> int:
    from pathlib import Path

    from aiclone_gateway.deploy.backup import BackupError, backup, restore

    if not path:
        print(f"aiclone gateway: {command} needs a path (backup DIR, restore FILE)", file=sys.stderr)
        return 2
    try:
        if command == "backup":
            print(backup(settings, Path(path), keep))
        else:
            restore(settings, Path(path))
            migrate(settings.database_url)  # a backup from an older version gets today's schema
            print(f"restored {path}")
    except BackupError as exc:
        print(f"aiclone gateway: {command} failed: {exc}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="aiclone_gateway")
    parser.add_argument(
        "command",
        nargs="?",
        default="serve",
        choices=["serve", "migrate", "create-agent-token", "setup-code", "create-owner", "backup", "restore"],
    )
    parser.add_argument("path", nargs="?", help="backup: the folder to write into; restore: the backup file")
    parser.add_argument("--keep", type=int, default=14, help="backup: how many backups to keep in the folder")
    parser.add_argument("--name", default="agent", help="name of the agent token (create-agent-token)")
    parser.add_argument(
        "--replace", action="store_true", help="revoke older agent tokens of the same name first"
    )
    parser.add_argument("--email", help="create-owner: the owner's email (the password comes from stdin)")
    parser.add_argument(
        "--registration",
        choices=["open", "invite", "closed"],
        default="invite",
        help="create-owner: who may sign up after the owner",
    )
    args = parser.parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as exc:
        problems = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
        print(f"aiclone gateway: settings refused: {problems}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.command == "migrate":
        migrate(settings.database_url)
        return 0
    if args.command in ("backup", "restore"):
        return backup_or_restore(settings, args.command, args.path, args.keep)
    if args.command == "setup-code":
        return setup_code(settings)
    if args.command == "create-owner":
        if not args.email:
            print("aiclone gateway: create-owner needs --email", file=sys.stderr)
            return 2
        return create_owner(settings, args.email, args.registration)
    if args.command == "create-agent-token":
        return create_agent_token(settings, args.name, args.replace)
    return serve(settings)


if __name__ == "__main__":
    sys.exit(main())
