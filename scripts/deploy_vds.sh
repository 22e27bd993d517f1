#!/usr/bin/env bash
# Puts the AI Clone gateway on a Debian/Ubuntu VDS behind nginx with TLS. Run as root; safe to
# run again (each step checks what is there first; secrets and certificates are kept).
#
#   scripts/deploy_vds.sh --domain clone.example.org --email you@example.org
#   scripts/deploy_vds.sh                       # no domain: a self-signed certificate (says so)
#   scripts/deploy_vds.sh --dry-run ...         # prints every step, changes nothing
#   scripts/deploy_vds.sh --check [...]         # reports what is wrong; exit 1 if anything is
# A fresh gateway's first account (the owner) needs the one-time setup code printed at the end.
#
# Options: --domain D, --email E (certbot), --replicas N (gateway processes, default 1; more
#   share PostgreSQL and Redis: --database-url-file F is required, F's first line being
#   postgresql+asyncpg://user:password@host/db ('-': read from stdin; never on the command line,
#   where ps shows it to every local user); --redis-url-file F likewise, default a local
#   redis-server this script installs: loopback only, with a password),
#   --base-port P (first replica's port, default 8001), --repo URL and --branch B (what to
#   check out into /opt/aiclone; default: this checkout's origin), --agent (also a systemd unit
#   for an agent on this Linux machine), --http-port/--https-port (default 80/443).
# Test hooks (the tests run it without systemd, as a normal process):
#   AICLONE_DEPLOY_ROOT   prefix for every system path (/etc, /opt, /var; default: /)
#   AICLONE_DEPLOY_SYSTEMCTL  the systemctl command (default: systemctl)
set -euo pipefail
umask 022  # the checkout and units readable by the service; secrets are made private one by one

ROOT=${AICLONE_DEPLOY_ROOT:-}
ROOT=${ROOT%/}
SYSTEMCTL=${AICLONE_DEPLOY_SYSTEMCTL:-systemctl}
HERE=$(cd "$(dirname "$0")/.." && pwd)

DOMAIN="" EMAIL="" REPLICAS=1 BASE_PORT=8001 REPO="" BRANCH="" AGENT=0 MODE=deploy
DATABASE_URL="" REDIS_URL="" LOCAL_REDIS=0
HTTP_PORT=80 HTTPS_PORT=443
first_line() {  # first_line FILE ('-': stdin), read by the shell itself: no command line shows it
  local line=""
  if [ "$1" = - ]; then IFS= read -r line || true; else
    [ -r "$1" ] || { echo "deploy_vds: cannot read $1" >&2; exit 2; }
    IFS= read -r line < "$1" || true
  fi
  printf '%s' "$line"
}
while [ $# -gt 0 ]; do
  case "$1" in
    --domain) DOMAIN=$2; shift 2 ;;
    --email) EMAIL=$2; shift 2 ;;
    --replicas) REPLICAS=$2; shift 2 ;;
    --database-url-file) DATABASE_URL=$(first_line "$2"); shift 2 ;;
    --redis-url-file) REDIS_URL=$(first_line "$2"); shift 2 ;;
    --database-url|--redis-url)
      echo "deploy_vds: $1 would put its password on the command line (ps shows it):" \
           "use $1-file FILE (or - to read it from stdin)" >&2; exit 2 ;;
    --base-port) BASE_PORT=$2; shift 2 ;;
    --repo) REPO=$2; shift 2 ;;
    --branch) BRANCH=$2; shift 2 ;;
    --agent) AGENT=1; shift ;;
    --http-port) HTTP_PORT=$2; shift 2 ;;
    --https-port) HTTPS_PORT=$2; shift 2 ;;
    --dry-run) MODE=dry-run; shift ;;
    --check) MODE=check; shift ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "deploy_vds: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$REPLICAS" in ''|*[!0-9]*) echo "deploy_vds: --replicas must be a number" >&2; exit 2 ;; esac
[ "$REPLICAS" -ge 1 ] && [ "$REPLICAS" -le 16 ] || { echo "deploy_vds: --replicas must be 1..16" >&2; exit 2; }
if [ "$REPLICAS" -gt 1 ] && [ "$MODE" != check ]; then
  # Replicas share tickets, rate limits and the agent's link through Redis, and every stored row
  # through PostgreSQL (a SQLite file cannot be shared).
  case "$DATABASE_URL" in
    postgresql+asyncpg://*) ;;
    *) echo "deploy_vds: --replicas $REPLICAS needs PostgreSQL: --database-url-file FILE holding" \
            "postgresql+asyncpg://user:password@host/db (create the database first)" >&2; exit 2 ;;
  esac
  [ -n "$REDIS_URL" ] || LOCAL_REDIS=1
fi
case "$REDIS_URL" in ''|redis://*|rediss://*) ;; *) echo "deploy_vds: the Redis URL must start with redis://" >&2; exit 2 ;; esac
if [ -n "$DOMAIN" ] && ! printf '%s' "$DOMAIN" | grep -Eq '^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$'; then
  echo "deploy_vds: --domain $DOMAIN is not a domain name" >&2; exit 2
fi

APP_USER=aiclone
APP_DIR=$ROOT/opt/aiclone
ETC_DIR=$ROOT/etc/aiclone
DATA_DIR=$ROOT/var/lib/aiclone
BACKUP_DIR=$ROOT/var/backups/aiclone
ENV_FILE=$ETC_DIR/gateway.env
SETUP_CODE_FILE=$DATA_DIR/owner-setup-code
REDIS_CONF=$ROOT/etc/redis/redis.conf
REDIS_OURS=$ROOT/etc/redis/aiclone.conf
TLS_DIR=$ETC_DIR/tls
ACME_ROOT=$ROOT/var/www/letsencrypt
UNIT_DIR=$ROOT/etc/systemd/system
SITE=$ROOT/etc/nginx/sites-available/aiclone.conf
SITE_LINK=$ROOT/etc/nginx/sites-enabled/aiclone.conf
NAME=${DOMAIN:-$(hostname -f 2>/dev/null || hostname)}
if [ -n "$DOMAIN" ]; then
  CERT=$ROOT/etc/letsencrypt/live/$DOMAIN/fullchain.pem KEY=$ROOT/etc/letsencrypt/live/$DOMAIN/privkey.pem
else
  CERT=$TLS_DIR/selfsigned.pem KEY=$TLS_DIR/selfsigned.key
fi
PORTS=$(seq "$BASE_PORT" $((BASE_PORT + REPLICAS - 1)))

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
run() {  # a command: printed in --dry-run, run otherwise
  if [ "$MODE" = dry-run ]; then printf 'would run: %s\n' "$*"; else "$@"; fi
}
put() {  # put FILE MODE [GROUP]: stdin into FILE (only when it changed); printed in --dry-run
  # Born private (umask 077) and only then given its mode and group: a secret is never readable
  # by anyone else, not even for the moment between writing and chmod.
  local file=$1 mode=$2 group=${3:-} text
  text=$(cat)
  if [ "$MODE" = dry-run ]; then printf 'would write %s (mode %s):\n%s\n' "$file" "$mode" "$(printf '%s\n' "$text" | sed 's/^/    /')"; return; fi
  mkdir -p "$(dirname "$file")"
  if [ -f "$file" ] && [ "$(cat "$file")" = "$text" ]; then return; fi
  rm -f "$file.tmp"
  (umask 077 && printf '%s\n' "$text" > "$file.tmp")
  if [ -n "$group" ] && [ -z "$ROOT" ]; then chown "root:$group" "$file.tmp"; fi
  [ "$mode" = 600 ] || chmod "$mode" "$file.tmp"
  mv "$file.tmp" "$file"
}
masked() {  # a URL with its password replaced by ***, for what the script prints
  case "$1" in
    *://*:*@*) local scheme=${1%%://*} rest=${1#*://}; local user=${rest%%@*}
               printf '%s://%s:***@%s' "$scheme" "${user%%:*}" "${rest#*@}" ;;
    *) printf '%s' "$1" ;;
  esac
}
set_env() {  # set_env NAME VALUE: the line NAME=VALUE in ENV_FILE, replaced or added (shell
  # builtins and put only: the value, a password-bearing URL, is on no command line)
  local name=$1 value=$2 line found=0 text=""
  if [ "$MODE" = dry-run ]; then printf 'would set %s=%s in %s\n' "$name" "$(masked "$value")" "$ENV_FILE"; return; fi
  while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in
      "$name="*) [ "$found" = 1 ] || text+="$name=$value"$'\n'; found=1 ;;
      *) text+="$line"$'\n' ;;
    esac
  done < "$ENV_FILE"
  [ "$found" = 1 ] || text+="$name=$value"$'\n'
  put "$ENV_FILE" 600 <<<"${text%$'\n'}"
}

# --------------------------------------------------------------------------------- --check
if [ "$MODE" = check ]; then
  problems=0
  bad() { printf 'PROBLEM: %s\n' "$*"; problems=$((problems + 1)); }
  ok() { printf 'ok: %s\n' "$*"; }
  listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
  for port in $PORTS; do
    unit=aiclone-gateway@$port.service
    if [ "$($SYSTEMCTL is-active "$unit" 2>/dev/null || true)" = active ]; then ok "$unit active"; else bad "$unit is not active ($SYSTEMCTL status $unit)"; fi
    if listening "$port"; then ok "replica on 127.0.0.1:$port listens"; else bad "nothing listens on 127.0.0.1:$port"; fi
  done
  for port in "$HTTP_PORT" "$HTTPS_PORT"; do
    if listening "$port"; then ok "port $port listens (nginx)"; else bad "nothing listens on port $port (nginx down? firewall?)"; fi
  done
  [ -f "$SITE" ] && ok "nginx site $SITE" || bad "no nginx site at $SITE (run the deploy)"
  if [ ! -f "$CERT" ]; then
    bad "no certificate at $CERT"
  elif ! openssl x509 -in "$CERT" -noout -checkend 0 >/dev/null; then
    bad "the certificate $CERT has EXPIRED ($(openssl x509 -in "$CERT" -noout -enddate))"
  elif ! openssl x509 -in "$CERT" -noout -checkend $((14 * 86400)) >/dev/null; then
    bad "the certificate $CERT expires within 14 days ($(openssl x509 -in "$CERT" -noout -enddate)); certbot renew"
  else
    ok "certificate valid ($(openssl x509 -in "$CERT" -noout -enddate | cut -d= -f2))"
    if openssl x509 -in "$CERT" -noout -issuer | grep -q "AI Clone self-signed"; then
      bad "the certificate is SELF-SIGNED: browsers and Telegram will warn; deploy again with --domain"
    fi
  fi
  first=$(printf '%s\n' $PORTS | head -n 1)
  status=$(python3 - "$first" <<'EOF' 2>/dev/null || true
import json, sys, urllib.request
try:
    with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/api/status", timeout=5) as r:
        print("online" if json.load(r).get("agent_online") else "offline")
except Exception:
    print("unreachable")
EOF
)
  case "$status" in
    online) ok "the agent is linked" ;;
    offline) bad "the agent is NOT linked (is the PC on? its gateway URL and token? see the agent's /api/status)" ;;
    *) bad "the gateway's /api/status does not answer on 127.0.0.1:$first" ;;
  esac
  # Redis (several replicas): the URL is read from the env file by Python, never put on a command line
  redis=$(python3 - "$ENV_FILE" <<'EOF' 2>/dev/null || true
import socket, sys
from urllib.parse import unquote, urlsplit
url = ""
try:
    for line in open(sys.argv[1], encoding="utf-8"):
        if line.startswith("AICLONE_GATEWAY_REDIS_URL="):
            url = line.split("=", 1)[1].strip()
except OSError:
    pass
if not url:
    print("none"); sys.exit()
where = urlsplit(url)
shown = f"{where.hostname}:{where.port or 6379}"
def command(*parts):
    return b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in (x.encode() for x in parts))
try:
    with socket.create_connection((where.hostname or "127.0.0.1", where.port or 6379), timeout=5) as conn:
        if where.password:
            user = [unquote(where.username)] if where.username else []
            conn.sendall(command("AUTH", *user, unquote(where.password)))
            answer = conn.recv(512)
            if not answer.startswith(b"+OK"):
                print(f"refused {shown}: {answer.decode(errors='replace').strip()[:120]}"); sys.exit()
        conn.sendall(command("PING"))
        answer = conn.recv(512)
        print(f"ok {shown}" if answer.startswith(b"+PONG") else f"refused {shown}: {answer.decode(errors='replace').strip()[:120]}")
except OSError as error:
    print(f"unreachable {shown}: {error.strerror or error}")
EOF
)
  case "$redis" in
    none) ;;
    ok*) ok "Redis at ${redis#ok } answers PING" ;;
    refused*) bad "Redis refused us (${redis#refused }): does the password in AICLONE_GATEWAY_REDIS_URL ($ENV_FILE) match requirepass?" ;;
    unreachable*) bad "Redis does not answer (${redis#unreachable }): is redis-server running? (systemctl status redis-server)" ;;
    *) bad "Redis could not be checked (python3 missing?)" ;;
  esac
  if [ "$($SYSTEMCTL is-active aiclone-backup.timer 2>/dev/null || true)" = active ]; then ok "daily backup timer active"; else bad "aiclone-backup.timer is not active"; fi
  if [ "$problems" -gt 0 ]; then echo "$problems problem(s) found"; exit 1; fi
  echo "all checks passed"; exit 0
fi

# --------------------------------------------------------------------------------- deploy
[ "$MODE" = dry-run ] && say "dry run: nothing is changed; each step is printed"
if [ -z "$ROOT" ] && [ "$(id -u)" != 0 ] && [ "$MODE" != dry-run ]; then
  echo "deploy_vds: run as root (sudo $0 ...)" >&2; exit 1
fi

say "system packages"
if [ -z "$ROOT" ]; then
  run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq git python3 python3-venv nginx openssl \
    ${DOMAIN:+certbot} $([ "$LOCAL_REDIS" = 0 ] || echo redis-server)
else
  echo "skipped (AICLONE_DEPLOY_ROOT is set: a test run)"
fi

say "system user $APP_USER"
if id "$APP_USER" >/dev/null 2>&1 || [ -n "$ROOT" ]; then echo "there"; else
  run useradd --system --home-dir "$DATA_DIR" --shell /usr/sbin/nologin "$APP_USER"
fi
# Settings, keys, accounts and backups: their owner's alone (0700); the ACME challenges nginx serves.
run install -d -m 700 "$ETC_DIR" "$TLS_DIR" "$DATA_DIR" "$BACKUP_DIR"
run install -d -m 755 "$ACME_ROOT"
[ -z "$ROOT" ] && run chown "$APP_USER:" "$DATA_DIR" "$BACKUP_DIR"

say "checkout in $APP_DIR"
REPO=${REPO:-$(git -C "$HERE" remote get-url origin 2>/dev/null || echo "$HERE")}
BRANCH=${BRANCH:-$(git -C "$HERE" rev-parse --abbrev-ref HEAD 2>/dev/null || echo main)}
if [ -d "$APP_DIR/.git" ]; then
  run git -C "$APP_DIR" fetch --quiet origin "$BRANCH"
  run git -C "$APP_DIR" reset --quiet --hard FETCH_HEAD
else
  run git clone --quiet --branch "$BRANCH" "$REPO" "$APP_DIR"
fi

say "python environment (.venv) and the chat page"
run "$APP_DIR/scripts/setup_gateway.sh"

say "settings in $ENV_FILE"
if [ -f "$ENV_FILE" ]; then
  echo "kept (the secret key and database stay as they are)"
else
  SECRET=$(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')
  [ "$MODE" = dry-run ] && SECRET="<a new random secret>"
  PUBLIC="https://$NAME"; [ "$HTTPS_PORT" = 443 ] || PUBLIC="$PUBLIC:$HTTPS_PORT"
  put "$ENV_FILE" 600 <<EOF
# AI Clone gateway (read by the aiclone-gateway@ units). See .env.universal for every setting.
AICLONE_GATEWAY_ENVIRONMENT=production
AICLONE_GATEWAY_HOST=127.0.0.1
AICLONE_GATEWAY_SECRET_KEY=$SECRET
AICLONE_GATEWAY_DATA_DIR=$DATA_DIR
AICLONE_GATEWAY_PUBLIC_URL=$PUBLIC
AICLONE_GATEWAY_ALLOWED_ORIGINS='["$PUBLIC"]'
AICLONE_GATEWAY_TRUSTED_PROXIES='["127.0.0.1","::1"]'
EOF
fi
if [ "$LOCAL_REDIS" = 1 ]; then
  say "local Redis: loopback only, with a password"
  REDIS_PASSWORD=""
  if [ -f "$REDIS_OURS" ]; then
    while read -r key value; do [ "$key" = requirepass ] && REDIS_PASSWORD=$value; done < "$REDIS_OURS"
  fi
  if [ -z "$REDIS_PASSWORD" ]; then
    REDIS_PASSWORD=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
    [ "$MODE" = dry-run ] && REDIS_PASSWORD="<a new random password>"
  fi
  put "$REDIS_OURS" 640 redis <<EOF
# AI Clone: the replicas' shared Redis answers on loopback only, and only with the password
# (AICLONE_GATEWAY_REDIS_URL in $ENV_FILE carries it). Included by $REDIS_CONF.
bind 127.0.0.1 ::1
protected-mode yes
port 6379
requirepass $REDIS_PASSWORD
EOF
  if ! grep -qxF "include $REDIS_OURS" "$REDIS_CONF" 2>/dev/null; then
    if [ "$MODE" = dry-run ]; then echo "would add to $REDIS_CONF: include $REDIS_OURS"
    else mkdir -p "$(dirname "$REDIS_CONF")"; printf 'include %s\n' "$REDIS_OURS" >> "$REDIS_CONF"; fi
  fi
  run $SYSTEMCTL restart redis-server.service
  REDIS_URL="redis://:$REDIS_PASSWORD@127.0.0.1:6379/0"
fi
# Several replicas: the shared database and Redis (each replica is named <hostname>-<port>,
# stable across its restarts, so a restarted replica requeues only its own cut answers).
[ -z "$DATABASE_URL" ] || set_env AICLONE_GATEWAY_DATABASE_URL "$DATABASE_URL"
[ -z "$REDIS_URL" ] || set_env AICLONE_GATEWAY_REDIS_URL "$REDIS_URL"

gateway() {  # gateway COMMAND...: python -m aiclone_gateway with gateway.env's settings (read
  # from the file by the shell: the database URL is on no command line)
  run env -C "$APP_DIR" sh -c "set -a; . '$ENV_FILE'; exec .venv/bin/python -m aiclone_gateway \"\$@\"" gateway "$@"
}
say "database migrations"
gateway migrate
# A fresh gateway must not belong to the first stranger who finds the domain: the first account
# (the owner) needs this one-time code (or: create-owner on this server, below).
if [ "$MODE" = dry-run ]; then gateway setup-code; SETUP_CODE=""; else SETUP_CODE=$(gateway setup-code); fi
[ -z "$ROOT" ] && run chown -R "$APP_USER:" "$DATA_DIR"

say "systemd units: $REPLICAS gateway replica(s) on ports $(echo $PORTS | tr ' ' ',')"
put "$UNIT_DIR/aiclone-gateway@.service" 644 <<EOF
[Unit]
Description=AI Clone gateway replica on 127.0.0.1:%i
After=network-online.target postgresql.service redis-server.service
Wants=network-online.target

[Service]
User=$APP_USER
WorkingDirectory=$APP_DIR
EnvironmentFile=$ENV_FILE
Environment=AICLONE_GATEWAY_PORT=%i
ExecStart=$APP_DIR/.venv/bin/python -m aiclone_gateway serve
Restart=always
RestartSec=2
UMask=0077
NoNewPrivileges=true
ProtectSystem=strict
ProtectHome=true
ReadWritePaths=$DATA_DIR
PrivateTmp=true

[Install]
WantedBy=multi-user.target
EOF
if [ "$AGENT" = 1 ]; then
  put "$UNIT_DIR/aiclone-agent.service" 644 <<EOF
[Unit]
Description=AI Clone agent (the clone itself, on this Linux machine)
After=network-online.target
Wants=network-online.target

[Service]
User=$APP_USER
WorkingDirectory=$APP_DIR
ExecStart=$APP_DIR/run.sh
Restart=always
RestartSec=5
UMask=0077

[Install]
WantedBy=multi-user.target
EOF
fi
put "$UNIT_DIR/aiclone-backup.service" 644 <<EOF
[Unit]
Description=AI Clone gateway backup into $BACKUP_DIR

[Service]
Type=oneshot
User=$APP_USER
WorkingDirectory=$APP_DIR
EnvironmentFile=$ENV_FILE
ExecStart=$APP_DIR/.venv/bin/python -m aiclone_gateway backup $BACKUP_DIR --keep 14
UMask=0077
EOF
put "$UNIT_DIR/aiclone-backup.timer" 644 <<EOF
[Unit]
Description=Daily AI Clone gateway backup

[Timer]
OnCalendar=daily
RandomizedDelaySec=1h
Persistent=true

[Install]
WantedBy=timers.target
EOF
run $SYSTEMCTL daemon-reload
for port in $PORTS; do run $SYSTEMCTL enable --now "aiclone-gateway@$port.service"; done
for port in $PORTS; do run $SYSTEMCTL restart "aiclone-gateway@$port.service"; done
run $SYSTEMCTL enable --now aiclone-backup.timer
[ "$AGENT" = 1 ] && run $SYSTEMCTL enable --now aiclone-agent.service

say "TLS certificate"
SELF=$TLS_DIR/selfsigned.pem SELF_KEY=$TLS_DIR/selfsigned.key
if [ ! -f "$SELF" ]; then  # also nginx's first certificate before certbot has one
  (umask 077 && run openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 365 \
    -subj "/CN=$NAME/O=AI Clone self-signed" -addext "subjectAltName=DNS:$NAME" \
    -keyout "$SELF_KEY" -out "$SELF")
fi
render_site() {  # render_site CERT KEY
  local args=() port
  for port in $PORTS; do args+=(--replica "127.0.0.1:$port"); done
  run env -C "$APP_DIR" .venv/bin/python -m aiclone_gateway.deploy.nginx_site --domain "$NAME" \
    --certificate "$1" --certificate-key "$2" "${args[@]}" --static-root "$APP_DIR/frontend/dist/chat" \
    --acme-root "$ACME_ROOT" --http-port "$HTTP_PORT" --https-port "$HTTPS_PORT" --out "$SITE"
  run ln -sfn "$SITE" "$SITE_LINK"
  run rm -f "$ROOT/etc/nginx/sites-enabled/default"
  run nginx -t -q
  run $SYSTEMCTL reload-or-restart nginx
}
if [ -z "$DOMAIN" ]; then
  say "nginx site (SELF-SIGNED certificate: no --domain given; browsers and Telegram will warn)"
  render_site "$SELF" "$SELF_KEY"
else
  say "nginx site for $DOMAIN"
  [ -f "$CERT" ] || render_site "$SELF" "$SELF_KEY"  # serve the ACME challenge first
  if [ ! -f "$CERT" ]; then
    if [ -n "$EMAIL" ]; then CONTACT=(--email "$EMAIL"); else CONTACT=(--register-unsafely-without-email); fi
    run certbot certonly --webroot -w "$ACME_ROOT" -d "$DOMAIN" --non-interactive --agree-tos \
      "${CONTACT[@]}" --deploy-hook "$SYSTEMCTL reload nginx"
  fi
  render_site "$CERT" "$KEY"
fi

say "done"
AS_GATEWAY="sudo sh -c 'set -a; . $ENV_FILE; cd $APP_DIR; exec runuser -u $APP_USER -- .venv/bin/python -m aiclone_gateway \"\$@\"' gateway"
cat <<EOF
Open the firewall for 80/tcp (ACME + redirect) and 443/tcp (HTTPS); keep $BASE_PORT.. closed
(the replicas listen on 127.0.0.1 only). Then: scripts/deploy_vds.sh --check ${DOMAIN:+--domain $DOMAIN}
Agent token for your PC: $AS_GATEWAY create-agent-token
EOF
if [ "$MODE" = dry-run ]; then
  echo "The first account (the owner) will need the one-time setup code a real run prints here."
elif [ -n "$SETUP_CODE" ]; then
  cat <<EOF

The gateway has no owner yet. Sign up first at https://$NAME/ with the one-time SETUP CODE:
    $SETUP_CODE
(also in $SETUP_CODE_FILE and the gateway's log until it is used), or create the owner here:
    $AS_GATEWAY create-owner --email you@example.org
EOF
fi
