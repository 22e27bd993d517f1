"""A real nginx (from apt) on loopback high ports with a self-signed certificate, serving the site
``nginx/aiclone.conf`` renders to in front of gateway replicas (tests/deploy and bench/load)."""

from __future__ import annotations

import datetime
import ipaddress
import os
import resource
import shutil
import signal
import socket
import ssl
import subprocess
import time
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from aiclone_gateway.deploy.nginx_site import SiteSettings, render
from tests.support.processes import free_port

DOMAIN = "clone.example.test"


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
    if not found:
        raise RuntimeError(
            'nginx is missing: run eval "$(scripts/test_services.sh)" (it installs nginx with apt-get)'
        )
    return found


class SelfSignedTls:
    """A throwaway CA and a server certificate it signed for DOMAIN and 127.0.0.1."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        now = datetime.datetime.now(datetime.timezone.utc)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "AI Clone test CA")])
        ca = (
            x509.CertificateBuilder()
            .subject_name(ca_name)
            .issuer_name(ca_name)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
            )
            .sign(ca_key, hashes.SHA256())
        )
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, DOMAIN)]))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName(DOMAIN), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
                ),
                critical=False,
            )
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        self.ca = folder / "ca.pem"
        self.certificate = folder / "fullchain.pem"
        self.key = folder / "privkey.pem"
        self.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        self.certificate.write_bytes(
            cert.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(serialization.Encoding.PEM)
        )
        self.key.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        self.key.chmod(0o600)

    def client_context(self) -> ssl.SSLContext:
        """What a client that trusts this CA (and nothing turned off) verifies with."""
        return ssl.create_default_context(cafile=self.ca)


class NginxProcess:
    """``nginx -g 'daemon off;'`` with its own prefix, pid, logs and temp dirs, serving the rendered
    site on 127.0.0.1 (two free high ports) in front of ``replicas``."""

    def __init__(
        self,
        home: Path,
        tls: SelfSignedTls,
        replicas: list[str],
        static_root: Path,
        worker_connections: int = 1024,
        worker_processes: int = 1,
    ) -> None:
        self.home = home
        home.mkdir(parents=True, exist_ok=True)
        self.http_port, self.https_port = free_port(), free_port()
        self.site = SiteSettings(
            domain=DOMAIN,
            certificate=tls.certificate,
            certificate_key=tls.key,
            replicas=replicas,
            static_root=static_root,
            acme_root=home / "acme",
            http_port=self.http_port,
            https_port=self.https_port,
            listen_address="127.0.0.1",
            ipv6=False,
        )
        site = render(self.site)
        if worker_processes > 1:  # one listening socket per worker: the kernel spreads connections evenly
            site = site.replace(" ssl http2;", " ssl http2 reuseport;")
        (home / "aiclone.conf").write_text(site)
        temp = "\n".join(
            f"    {kind}_temp_path {home / kind};"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        # As root the workers would run as nobody, who cannot read pytest's private tmp dirs.
        user = "user root;\n" if os.geteuid() == 0 else ""
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        files = (
            2 * worker_connections + 64
            if hard == resource.RLIM_INFINITY
            else min(2 * worker_connections + 64, hard)
        )
        self.limits = (
            f"worker_processes {worker_processes}, worker_connections {worker_connections}, "
            f"worker_rlimit_nofile {files}"
        )
        self.conf = home / "nginx.conf"
        self.conf.write_text(
            f"{user}worker_processes {worker_processes};\npid {home / 'nginx.pid'};\n"
            f"error_log {home / 'error.log'} info;\n"
            # Each proxied connection holds two descriptors (client and upstream); a worker may not
            # go past the hard limit it inherits (raising it takes CAP_SYS_RESOURCE).
            f"worker_rlimit_nofile {files};\n"
            f"events {{ worker_connections {worker_connections}; }}\n"
            "http {\n    include /etc/nginx/mime.types;\n    default_type application/octet-stream;\n"
            f"    access_log {home / 'access.log'};\n{temp}\n    include {home / 'aiclone.conf'};\n}}\n"
        )
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    @property
    def ws_url(self) -> str:
        return f"wss://127.0.0.1:{self.https_port}"

    def command(self, *args: str) -> list[str]:
        return [
            nginx_binary(),
            "-p",
            str(self.home),
            "-e",
            str(self.home / "error.log"),
            "-c",
            str(self.conf),
            *args,
        ]

    def test_config(self) -> subprocess.CompletedProcess:
        return subprocess.run(self.command("-t"), capture_output=True, text=True, timeout=30)

    def start(self) -> NginxProcess:
        self.proc = subprocess.Popen(self.command("-g", "daemon off;"), stderr=subprocess.PIPE)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited: {self.proc.stderr.read().decode()}")
            try:
                socket.create_connection(("127.0.0.1", self.https_port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nginx did not listen in 15 s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


async def refresh_attempts(base_url: str, count: int, verify: ssl.SSLContext) -> list[int]:
    """Refreshes with a bad token, each claiming a new client address in X-Forwarded-For."""
    codes = []
    async with httpx.AsyncClient(base_url=base_url, verify=verify, timeout=30) as http:
        for attempt in range(count):
            response = await http.post(
                "/api/auth/refresh",
                json={"refresh_token": "not-a-token"},
                headers={"X-Forwarded-For": f"203.0.113.{attempt + 1}"},
            )
            codes.append(response.status_code)
    return codes
