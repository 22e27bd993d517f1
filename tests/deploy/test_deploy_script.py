"""``scripts/deploy_vds.sh``: ``--dry-run`` describes every step and changes nothing; ``--check``
reports what is wrong on a VDS. Both run here in a temporary root (AICLONE_DEPLOY_ROOT) with a
stand-in for systemctl (AICLONE_DEPLOY_SYSTEMCTL): this machine has no systemd."""

from __future__ import annotations

import datetime
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from aiclone_gateway.core.config import REPO_ROOT
from tests.backend.conftest import ChatUser, GatewayProcess, create_agent_token, wait_online
from tests.deploy.conftest import START_TIMEOUT_S
from tests.local_inference.conftest import AgentProcess, write_config

SCRIPT = REPO_ROOT / "scripts" / "deploy_vds.sh"


def deploy(root: Path, *args: str, systemctl: str = "false") -> subprocess.CompletedProcess:
    env = {
        "PATH": "/usr/bin:/bin:/usr/sbin:/sbin",
        "AICLONE_DEPLOY_ROOT": str(root),
        "AICLONE_DEPLOY_SYSTEMCTL": systemctl,
    }
    return subprocess.run(["bash", str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=60)


def test_dry_run_describes_the_whole_deploy_and_changes_nothing(tmp_path: Path):
    result = deploy(
        tmp_path, "--dry-run", "--domain", "clone.example.org", "--email", "me@example.org", "--agent"
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert list(tmp_path.iterdir()) == []  # nothing written
    assert f"would write {tmp_path}/etc/aiclone/gateway.env" in out
    assert "AICLONE_GATEWAY_ENVIRONMENT=production" in out and "AICLONE_GATEWAY_HOST=127.0.0.1" in out
    assert 'AICLONE_GATEWAY_TRUSTED_PROXIES=\'["127.0.0.1","::1"]\'' in out  # quoted for sh and systemd
    assert "AICLONE_GATEWAY_PUBLIC_URL=https://clone.example.org" in out
    for port in (8001,):
        assert f"would run: false enable --now aiclone-gateway@{port}.service" in out
        assert f"--replica 127.0.0.1:{port}" in out
    assert f"would write {tmp_path}/etc/systemd/system/aiclone-gateway@.service" in out
    assert f"would write {tmp_path}/etc/systemd/system/aiclone-agent.service" in out
    assert "OnCalendar=daily" in out and "-m aiclone_gateway backup" in out
    assert "-m aiclone_gateway migrate" in out
    assert (
        "certbot certonly --webroot" in out
        and "-d clone.example.org" in out
        and "--email me@example.org" in out
    )
    assert "nginx -t" in out
    assert "443/tcp" in out and "80/tcp" in out  # says which firewall ports to open


def test_two_replicas_share_postgresql_and_a_local_redis(tmp_path: Path):
    result = deploy(
        tmp_path,
        "--dry-run",
        "--replicas",
        "2",
        "--database-url",
        "postgresql+asyncpg://aiclone:pw@db/aiclone",
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "AICLONE_GATEWAY_DATABASE_URL=postgresql+asyncpg://aiclone:pw@db/aiclone" in out
    assert "AICLONE_GATEWAY_REDIS_URL=redis://127.0.0.1:6379/0" in out
    assert "2 gateway replica(s) on ports 8001,8002" in out


def test_without_a_domain_it_says_the_certificate_is_self_signed(tmp_path: Path):
    result = deploy(tmp_path, "--dry-run", "--replicas", "1")
    assert result.returncode == 0, result.stderr
    assert "SELF-SIGNED certificate: no --domain given" in result.stdout
    assert "certbot" not in result.stdout
    assert "openssl req -x509" in result.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--replicas", "zero"], "must be a number"),
        (["--replicas", "2"], "needs PostgreSQL: --database-url"),
        (["--replicas", "2", "--database-url", "sqlite+aiosqlite:///x.db"], "needs PostgreSQL"),
        (["--redis-url", "http://x"], "must start with redis://"),
        (["--domain", "not a domain!"], "is not a domain name"),
        (["--frobnicate"], "unknown option"),
    ],
)
def test_bad_options_are_refused(tmp_path: Path, args: list[str], needle: str):
    result = deploy(tmp_path, "--dry-run", *args)
    assert result.returncode == 2 and needle in result.stderr


def _certificate(path: Path, days: float, issuer: str = "Let's Encrypt") -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "clone.example.org"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, issuer),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


async def test_check_reports_what_is_wrong_and_passes_when_all_is_well(tmp_path: Path, model_path: Path):
    root = tmp_path / "root"
    live = root / "etc/letsencrypt/live/clone.example.org/fullchain.pem"
    active = tmp_path / "systemctl-active"
    active.write_text('#!/bin/sh\n[ "$1" = is-active ] && echo active\n')
    active.chmod(0o755)

    # nothing deployed: every problem is named, exit 1
    gateway = GatewayProcess(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'gateway.sqlite3'}")
    args = [
        "--check",
        "--domain",
        "clone.example.org",
        "--replicas",
        "1",
        "--base-port",
        str(gateway.port),
        "--http-port",
        str(gateway.port),
        "--https-port",
        str(gateway.port),
    ]
    bare = deploy(root, *args)
    assert bare.returncode == 1
    for needle in (
        f"aiclone-gateway@{gateway.port}.service is not active",
        f"nothing listens on 127.0.0.1:{gateway.port}",
        "no nginx site",
        "no certificate at",
        "/api/status does not answer",
        "aiclone-backup.timer is not active",
    ):
        assert needle in bare.stdout, needle

    # a certificate about to expire, the gateway up but no agent
    _certificate(live, days=3)
    (root / "etc/nginx/sites-available").mkdir(parents=True)
    (root / "etc/nginx/sites-available/aiclone.conf").write_text("# rendered\n")
    gateway.start(timeout=START_TIMEOUT_S)
    try:
        half = deploy(root, *args, systemctl=str(active))
        assert half.returncode == 1
        assert "expires within 14 days" in half.stdout
        assert "the agent is NOT linked" in half.stdout
        assert f"ok: replica on 127.0.0.1:{gateway.port} listens" in half.stdout

        # a fresh certificate and a linked agent: all checks pass
        _certificate(live, days=80)
        owner = ChatUser(gateway, "owner@example.test")
        await owner.register()
        await owner.login()
        home = tmp_path / "agent"
        home.mkdir()
        config = write_config(
            home / "config.yaml",
            model={"base_model_path": str(model_path), "n_threads": 1},
            gateway={"url": gateway.ws_url, "agent_token": await create_agent_token(owner)},
        )
        agent = AgentProcess(home, model_path, config_path=config).start(timeout=START_TIMEOUT_S)
        try:
            await wait_online(gateway)
            good = deploy(root, *args, systemctl=str(active))
            assert good.returncode == 0, good.stdout
            assert "ok: the agent is linked" in good.stdout and "all checks passed" in good.stdout
        finally:
            agent.stop()
            await owner.close()
    finally:
        gateway.stop()
