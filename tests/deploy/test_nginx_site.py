"""The nginx site as rendered from ``nginx/aiclone.conf``: accepted by the real ``nginx -t``,
serving TLS with HTTP/2, redirecting plain HTTP, serving cached and compressed assets from disk,
and putting the security headers on every answer, the gateway's included."""

from __future__ import annotations

import gzip
import socket
import ssl
from pathlib import Path

import httpx
import pytest

from aiclone_gateway.deploy.nginx_site import SiteSettings, main, render
from tests.support.fixtures.deploy import DOMAIN, START_TIMEOUT_S, NginxProcess, SelfSignedTls
from tests.support.fixtures.gateways import GatewayProcess


def test_the_rendered_site_passes_nginx_t_with_two_replicas(
    tmp_path: Path, tls: SelfSignedTls, static_root: Path
):
    nginx = NginxProcess(tmp_path, tls, ["127.0.0.1:8001", "127.0.0.1:8002"], static_root)
    text = (tmp_path / "aiclone.conf").read_text()
    assert "{{" not in text
    assert "server 127.0.0.1:8001 " in text and "server 127.0.0.1:8002 " in text
    assert f"ssl_certificate     {tls.certificate};" in text
    result = nginx.test_config()
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_a_broken_certificate_path_fails_nginx_t(tmp_path: Path, tls: SelfSignedTls, static_root: Path):
    nginx = NginxProcess(tmp_path, tls, ["127.0.0.1:8001"], static_root)
    conf = tmp_path / "aiclone.conf"
    conf.write_text(conf.read_text().replace(str(tls.certificate), str(tmp_path / "missing.pem")))
    result = nginx.test_config()
    assert result.returncode != 0 and "missing.pem" in result.stderr


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"domain": "not a domain"}, "not a domain name"),
        ({"replicas": []}, "at least 1"),
        ({"replicas": ["127.0.0.1"]}, "host:port"),
        ({"certificate": Path("relative.pem")}, "absolute path"),
        ({"max_body": "2 gigabytes"}, "nginx size"),
    ],
)
def test_bad_values_are_refused_before_rendering(tls: SelfSignedTls, change: dict, needle: str):
    values = dict(
        domain=DOMAIN, certificate=tls.certificate, certificate_key=tls.key, replicas=["127.0.0.1:1"]
    )
    with pytest.raises(ValueError, match=needle):
        SiteSettings(**(values | change))


def test_the_command_line_writes_the_site_and_refuses_bad_input(tmp_path: Path, tls: SelfSignedTls, capsys):
    out = tmp_path / "site.conf"
    args = ["--domain", DOMAIN, "--certificate", str(tls.certificate), "--certificate-key", str(tls.key)]
    assert main([*args, "--replica", "127.0.0.1:8001", "--out", str(out)]) == 0
    assert f"server_name {DOMAIN};" in out.read_text()
    assert main([*args, "--replica", "nope"]) == 2
    assert "host:port" in capsys.readouterr().err
    with pytest.raises(ValueError, match="nobody gives"):
        render(
            SiteSettings(
                domain=DOMAIN, certificate=tls.certificate, certificate_key=tls.key, replicas=["127.0.0.1:1"]
            ),
            template="server_name {{ mystery }};",
        )


SECURITY_HEADERS = (
    "strict-transport-security",
    "content-security-policy",
    "x-content-type-options",
    "x-frame-options",
)


async def test_tls_http2_redirect_assets_and_security_headers(
    tmp_path: Path, start_nginx, tls: SelfSignedTls
):
    gateway = GatewayProcess(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'gateway.sqlite3'}")
    gateway.start(timeout=START_TIMEOUT_S)
    try:
        nginx = start_nginx([f"127.0.0.1:{gateway.port}"])
        # HTTP/2 is offered on the TLS port (ALPN)
        context = ssl.create_default_context(cafile=tls.ca)
        context.set_alpn_protocols(["h2", "http/1.1"])
        with (
            socket.create_connection(("127.0.0.1", nginx.https_port), timeout=5) as raw,
            context.wrap_socket(raw, server_hostname=DOMAIN) as tls_socket,
        ):
            assert tls_socket.selected_alpn_protocol() == "h2"
            assert tls_socket.version() in ("TLSv1.2", "TLSv1.3")

        async with httpx.AsyncClient(verify=tls.client_context(), timeout=30) as http:
            plain = await http.get(f"http://127.0.0.1:{nginx.http_port}/api/status?x=1")
            assert plain.status_code == 301
            assert plain.headers["location"] == f"https://127.0.0.1:{nginx.https_port}/api/status?x=1"

            status = await http.get(f"{nginx.url}/api/status")
            assert status.status_code == 200 and "agent_online" in status.json()  # the gateway answered
            for header in SECURITY_HEADERS:
                assert header in status.headers, header
            assert "max-age=63072000" in status.headers["strict-transport-security"]
            csp = status.headers["content-security-policy"]
            assert "script-src 'self'" in csp and f"wss://127.0.0.1:{nginx.https_port}" in csp
            assert "frame-ancestors 'none'" in csp
            assert "nginx/" not in status.headers.get("server", "")  # no version on show

            async with http.stream(
                "GET", f"{nginx.url}/assets/index-3f9a2c.js", headers={"Accept-Encoding": "gzip"}
            ) as asset:
                wire = b"".join([chunk async for chunk in asset.aiter_raw()])
            assert asset.status_code == 200
            assert asset.headers["content-encoding"] == "gzip"
            text = gzip.decompress(wire).decode()
            assert text.startswith("export const greeting") and len(wire) * 10 < len(text)  # compressed
            assert "max-age=315360000" in asset.headers["cache-control"]
            for header in SECURITY_HEADERS:
                assert header in asset.headers, header
            missing = await http.get(f"{nginx.url}/assets/nope.js")
            assert missing.status_code == 404

            # metrics are for this host only: nginx on loopback is this host, so it is served here;
            # the rule itself is checked in the rendered text
            assert (
                "location = /metrics {\n        allow 127.0.0.1;" in (nginx.home / "aiclone.conf").read_text()
            )

            # oversized sign-in bodies are stopped by nginx, before the gateway
            big = await http.post(
                f"{nginx.url}/api/auth/login",
                content=b"x" * 40_000,
                headers={"Content-Type": "application/json"},
            )
            assert big.status_code == 413
    finally:
        gateway.stop()
