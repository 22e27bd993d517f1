"""``scripts/deploy_vds.sh``: ``--dry-run`` describes every step and changes nothing; ``--check``
reports what is wrong on a VDS. Both run here in a temporary root (AICLONE_DEPLOY_ROOT) with a
stand-in for systemctl (AICLONE_DEPLOY_SYSTEMCTL): this machine has no systemd."""

from __future__ import annotations

import datetime
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from aiclone_gateway.core.config import REPO_ROOT
from tests.support.fixtures.agents import AgentProcess, write_config
from tests.support.fixtures.cluster import redis_url
from tests.support.fixtures.deploy import START_TIMEOUT_S
from tests.support.fixtures.gateways import ChatUser, GatewayProcess, create_agent_token, wait_online

SCRIPT = REPO_ROOT / "scripts" / "deploy_vds.sh"


def deploy(root: Path, *args: str, systemctl: str = "false", stdin: str = "") -> subprocess.CompletedProcess:
    env = {
        "PATH": "/usr/bin:/bin:/usr/sbin:/sbin",
        "AICLONE_DEPLOY_ROOT": str(root),
        "AICLONE_DEPLOY_SYSTEMCTL": systemctl,
    }
    return subprocess.run(
        ["bash", str(SCRIPT), *args], env=env, input=stdin, capture_output=True, text=True, timeout=60
    )


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
    assert f"would write {tmp_path}/etc/systemd/system/aiclone-gateway@.service (mode 644)" in out
    assert f"would write {tmp_path}/etc/systemd/system/aiclone-agent.service (mode 644)" in out
    assert out.count("UMask=0077") == 3  # gateway, agent and backup units create private files
    assert f"would write {tmp_path}/etc/aiclone/gateway.env (mode 600)" in out
    assert f"install -d -m 700 {tmp_path}/etc/aiclone {tmp_path}/etc/aiclone/tls" in out
    assert f"{tmp_path}/var/lib/aiclone {tmp_path}/var/backups/aiclone" in out
    assert '-m aiclone_gateway "$@" gateway setup-code' in out  # the owner's one-time code
    assert "one-time setup code" in out
    assert "OnCalendar=daily" in out and "-m aiclone_gateway backup" in out
    assert '-m aiclone_gateway "$@" gateway migrate' in out
    assert (
        "certbot certonly --webroot" in out
        and "-d clone.example.org" in out
        and "--email me@example.org" in out
    )
    assert "nginx -t" in out
    assert "443/tcp" in out and "80/tcp" in out  # says which firewall ports to open


def test_two_replicas_share_postgresql_and_a_local_redis_with_a_password(tmp_path: Path):
    url = "postgresql+asyncpg://aiclone:pw-7f3a9c@db/aiclone\n"
    result = deploy(tmp_path, "--dry-run", "--replicas", "2", "--database-url-file", "-", stdin=url)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    env = f"{tmp_path}/etc/aiclone/gateway.env"
    assert (
        f"would set AICLONE_GATEWAY_DATABASE_URL=postgresql+asyncpg://aiclone:***@db/aiclone in {env}" in out
    )
    assert "pw-7f3a9c" not in out  # read from stdin, never on a command line, not even printed
    # the replicas' Redis: loopback only, a password, and the URL in gateway.env carries it
    assert f"would write {tmp_path}/etc/redis/aiclone.conf (mode 640)" in out
    assert "    bind 127.0.0.1 ::1\n" in out and "    protected-mode yes\n" in out
    assert "    requirepass <a new random password>\n" in out
    assert f"would add to {tmp_path}/etc/redis/redis.conf: include {tmp_path}/etc/redis/aiclone.conf" in out
    assert f"would set AICLONE_GATEWAY_REDIS_URL=redis://:***@127.0.0.1:6379/0 in {env}" in out
    assert "restart redis-server.service" in out
    assert "2 gateway replica(s) on ports 8001,8002" in out


def test_a_database_url_on_the_command_line_is_refused(tmp_path: Path):
    for option in ("--database-url", "--redis-url"):
        result = deploy(tmp_path, "--dry-run", option, "postgresql+asyncpg://u:pw@db/x")
        assert result.returncode == 2 and f"use {option}-file FILE" in result.stderr


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
        (["--replicas", "2"], "needs PostgreSQL: --database-url-file"),
        (["--replicas", "2", "--database-url-file", "/dev/null"], "needs PostgreSQL"),
        (["--redis-url-file", "/nonexistent/url"], "cannot read"),
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


@pytest.mark.process
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


def _executable(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)
    return path


def _stand_ins(folder: Path) -> tuple[Path, Path]:
    """Commands the deploy calls that this machine must not run for real: git (the checkout, made
    here with a .venv whose python is this one on this worktree's sources), nginx, systemctl;
    and a chmod that records the mode a file had before it was changed."""
    sources = ":".join(str(REPO_ROOT / part) for part in ("local-inference", "backend", "wire"))
    python = f'#!/bin/sh\nPYTHONPATH={sources} exec {sys.executable} "$@"\n'
    _executable(
        folder / "bin" / "git",
        '#!/bin/sh\n[ "$1" = clone ] || exit 0\nfor dest; do :; done\n'
        'mkdir -p "$dest/.git" "$dest/.venv/bin" "$dest/scripts" "$dest/frontend/dist/chat"\n'
        'printf "#!/bin/sh\\n" > "$dest/scripts/setup_gateway.sh" && /bin/chmod 755 "$dest/scripts/setup_gateway.sh"\n'
        f'cat > "$dest/.venv/bin/python" <<\'EOF\'\n{python}EOF\n/bin/chmod 755 "$dest/.venv/bin/python"\n',
    )
    _executable(folder / "bin" / "nginx", "#!/bin/sh\nexit 0\n")
    chmods = folder / "chmod.log"
    _executable(
        folder / "bin" / "chmod",
        f'#!/bin/sh\nfor a; do [ -f "$a" ] && stat -c "%a %n" "$a" >> {chmods}; done\nexec /bin/chmod "$@"\n',
    )
    return _executable(folder / "systemctl", "#!/bin/sh\nexit 0\n"), chmods


@pytest.mark.slow
def test_a_real_deploy_keeps_secrets_private_and_shows_the_owner_setup_code(tmp_path: Path):
    root, tools = tmp_path / "root", tmp_path / "tools"
    systemctl, chmods = _stand_ins(tools)
    for folder in ("sites-available", "sites-enabled"):  # what installing nginx made
        (root / "etc/nginx" / folder).mkdir(parents=True)
    database = root / "var/lib/aiclone/accounts-7f3a9c.sqlite3"
    url_file = tmp_path / "database-url"
    url_file.write_text(f"sqlite+aiosqlite:///{database}\n")
    trace = tmp_path / "execve.trace"
    env = {
        "PATH": f"{tools / 'bin'}:/usr/bin:/bin:/usr/sbin:/sbin",
        "AICLONE_DEPLOY_ROOT": str(root),
        "AICLONE_DEPLOY_SYSTEMCTL": str(systemctl),
    }
    # every command line the deploy runs, recorded (strace); started under the loosest umask
    tracer = ["strace", "-f", "-qq", "-s", "65536", "-e", "trace=execve", "-o", str(trace)]
    args = ["--agent", "--repo", "unused", "--branch", "main", "--database-url-file", str(url_file)]
    result = subprocess.run(
        [*tracer, "bash", str(SCRIPT), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        preexec_fn=lambda: os.umask(0),
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    def mode(relative: str) -> str:
        return oct(stat.S_IMODE((root / relative).stat().st_mode))

    for folder in ("etc/aiclone", "etc/aiclone/tls", "var/lib/aiclone", "var/backups/aiclone"):
        assert mode(folder) == "0o700", folder
    data = sorted(p.relative_to(root).as_posix() for p in (root / "var/lib/aiclone").iterdir())
    assert database.relative_to(root).as_posix() in data and "var/lib/aiclone/owner-setup-code" in data
    for secret in (*data, "etc/aiclone/gateway.env", "etc/aiclone/tls/selfsigned.key"):
        assert mode(secret) == "0o600", secret
    env_file = (root / "etc/aiclone/gateway.env").read_text()
    assert f"AICLONE_GATEWAY_DATABASE_URL=sqlite+aiosqlite:///{database}" in env_file
    # every file the script chmods was private until then: none was born readable by others
    for line in chmods.read_text().splitlines() if chmods.exists() else []:
        assert int(line.split(" ", 1)[0], 8) & 0o077 == 0, line
    for unit in ("aiclone-gateway@.service", "aiclone-backup.service", "aiclone-agent.service"):
        assert "UMask=0077" in (root / "etc/systemd/system" / unit).read_text(), unit
    # the database URL and the secret key reach the gateway through gateway.env only
    secret_key = next(
        v for k, _, v in (line.partition("=") for line in env_file.splitlines()) if k.endswith("SECRET_KEY")
    )
    command_lines = [line for line in trace.read_text().splitlines() if "execve(" in line]
    assert any("aiclone_gateway" in line and "migrate" in line for line in command_lines)
    for line in command_lines:
        assert "accounts-7f3a9c" not in line and secret_key not in line, line
    # the owner's one-time code, shown at the end
    code = (root / "var/lib/aiclone/owner-setup-code").read_text().strip()
    assert f"SETUP CODE:\n    {code}\n" in result.stdout


def test_check_pings_redis_with_the_password_from_the_env_file(tmp_path: Path):
    """--check reads AICLONE_GATEWAY_REDIS_URL from the env file and says whether Redis answers."""
    env_file = tmp_path / "etc/aiclone/gateway.env"
    env_file.parent.mkdir(parents=True)

    def check_with(url: str) -> str:
        env_file.write_text(f"AICLONE_GATEWAY_SECRET=x\nAICLONE_GATEWAY_REDIS_URL={url}\n")
        return deploy(tmp_path, "--check", "--replicas", "1", "--base-port", "9").stdout

    real = redis_url()
    assert "ok: Redis at" in check_with(real)
    host_port = real.split("://", 1)[1].split("/", 1)[0].rsplit("@", 1)[-1]
    # the test Redis has no requirepass: a password it was not given is refused, and said so
    refused = check_with(f"redis://:not-the-password@{host_port}/0")
    assert "PROBLEM: Redis refused us" in refused and "not-the-password" not in refused
    with socket.socket() as probe:  # a port with nothing listening
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    assert f"PROBLEM: Redis does not answer (127.0.0.1:{closed}" in check_with(
        f"redis://127.0.0.1:{closed}/0"
    )
