"""Renders ``nginx/aiclone.conf`` (the template) into a site for one domain.

``python -m aiclone_gateway.deploy.nginx_site --domain clone.example.org --replica 127.0.0.1:8001
--replica 127.0.0.1:8002 --certificate ... --certificate-key ... --static-root ... --out FILE``

Every ``{{ name }}`` in the template must be filled and every value is checked first, so a typo
fails here with a clear message instead of as a broken site after ``nginx -s reload``.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError, field_validator

from aiclone_gateway.core.config import REPO_ROOT

TEMPLATE = REPO_ROOT / "nginx" / "aiclone.conf"
PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")
DOMAIN = re.compile(r"^(?=.{1,253}$)(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*$")
REPLICA = re.compile(r"^[A-Za-z0-9.\-]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$")
SIZE = re.compile(r"^\d+[kKmM]?$")


class SiteSettings(BaseModel):
    """What one rendered site needs."""

    domain: str
    certificate: Path
    certificate_key: Path
    replicas: list[str] = Field(min_length=1)
    static_root: Path = REPO_ROOT / "frontend" / "dist" / "chat"
    acme_root: Path = Path("/var/www/letsencrypt")
    http_port: int = Field(default=80, ge=1, le=65_535)
    https_port: int = Field(default=443, ge=1, le=65_535)
    listen_address: str = ""  # "" = every address; e.g. "127.0.0.1" in tests
    ipv6: bool = True
    max_body: str = "2m"
    max_auth_body: str = "16k"
    max_telegram_body: str = "1m"

    @field_validator("domain")
    @classmethod
    def _domain(cls, value: str) -> str:
        if not DOMAIN.match(value):
            raise ValueError(f"{value!r} is not a domain name (e.g. clone.example.org)")
        return value.lower()

    @field_validator("certificate", "certificate_key", "static_root", "acme_root")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        if not value.is_absolute() or any(c in str(value) for c in ";{}\"' \n"):
            raise ValueError(f"{value} must be an absolute path without spaces, quotes, ';' or braces")
        return value

    @field_validator("replicas")
    @classmethod
    def _replicas(cls, value: list[str]) -> list[str]:
        for replica in value:
            if not REPLICA.match(replica) or not 0 < int(replica.rsplit(":", 1)[1]) < 65_536:
                raise ValueError(f"replica {replica!r} is not host:port (e.g. 127.0.0.1:8001)")
        return value

    @field_validator("max_body", "max_auth_body", "max_telegram_body")
    @classmethod
    def _size(cls, value: str) -> str:
        if not SIZE.match(value):
            raise ValueError(f"{value!r} is not an nginx size (e.g. 2m, 16k)")
        return value


def _listen(address: str, port: int, ipv6: bool, extra: str = "") -> str:
    lines = [f"    listen {address + ':' if address else ''}{port}{extra};"]
    if ipv6 and not address:
        lines.append(f"    listen [::]:{port}{extra};")
    return "\n".join(lines)


def render(site: SiteSettings, template: str | None = None) -> str:
    """The site's nginx configuration text."""
    text = TEMPLATE.read_text(encoding="utf-8") if template is None else template
    values = {
        "server_name": site.domain,
        "certificate": str(site.certificate),
        "certificate_key": str(site.certificate_key),
        "upstream_servers": "\n".join(
            f"    server {replica} max_fails=1 fail_timeout=5s;" for replica in site.replicas
        ),
        "static_root": str(site.static_root),
        "acme_root": str(site.acme_root),
        "http_listen": _listen(site.listen_address, site.http_port, site.ipv6),
        "https_listen": _listen(site.listen_address, site.https_port, site.ipv6, " ssl http2"),
        "https_port_suffix": "" if site.https_port == 443 else f":{site.https_port}",
        "max_body": site.max_body,
        "max_auth_body": site.max_auth_body,
        "max_telegram_body": site.max_telegram_body,
    }
    missing = sorted({name for name in PLACEHOLDER.findall(text) if name not in values})
    if missing:
        raise ValueError(f"the nginx template asks for values nobody gives: {', '.join(missing)}")
    return PLACEHOLDER.sub(lambda match: values[match.group(1)], text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aiclone_gateway.deploy.nginx_site")
    parser.add_argument("--domain", required=True)
    parser.add_argument("--certificate", required=True, help="full chain PEM")
    parser.add_argument("--certificate-key", required=True)
    parser.add_argument("--replica", action="append", required=True, help="host:port, once per replica")
    parser.add_argument("--static-root", default=str(SiteSettings.model_fields["static_root"].default))
    parser.add_argument("--acme-root", default="/var/www/letsencrypt")
    parser.add_argument("--http-port", type=int, default=80)
    parser.add_argument("--https-port", type=int, default=443)
    parser.add_argument("--listen-address", default="")
    parser.add_argument("--no-ipv6", action="store_true")
    parser.add_argument("--out", help="file to write (default: stdout)")
    args = parser.parse_args(argv)
    try:
        site = SiteSettings(
            domain=args.domain,
            certificate=Path(args.certificate),
            certificate_key=Path(args.certificate_key),
            replicas=args.replica,
            static_root=Path(args.static_root),
            acme_root=Path(args.acme_root),
            http_port=args.http_port,
            https_port=args.https_port,
            listen_address=args.listen_address,
            ipv6=not args.no_ipv6,
        )
    except ValidationError as exc:
        problems = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
        print(f"nginx site refused: {problems}", file=sys.stderr)
        return 2
    text = render(site)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
