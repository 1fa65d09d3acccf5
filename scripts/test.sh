#!/usr/bin/env bash
# `npm run test:all [-- VITEST ARGS]`: from a fresh Debian-family machine to the whole test run.
#   1. installs the missing Debian packages the suite runs for real (redis-server, chromium, the
#      AWS CLI v2 at /usr/bin/aws, ...) with apt-get when it can: as root, or with passwordless
#      sudo; otherwise stops at once with the exact install line;
#   2. checks moto_server (the local AWS emulator; pip installs it, this script does not);
#   3. `npm ci` if the project is not installed yet;
#   4. lint (fails in seconds on a style slip, before anything slow starts);
#   5. starts its own moto_server and redis-server on free loopback ports (MOTO_URL, REDIS_URL
#      for the tests) and stops them on exit, Ctrl-C included;
#   6. `npm test` (preflight, build, unit suite), then the reliability suite.
# Extra arguments go to vitest in both suites (`npm run test:all -- test/smoke.test.ts`); with
# arguments, a suite they select nothing from passes empty. Exits with the first failure's status.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'test:all: %s\n' "$*" >&2; }

command -v node > /dev/null || {
  say 'Node.js 20 or newer is needed (https://nodejs.org), with npm.'
  exit 1
}

# 1. Debian packages: the preflight knows what the suite needs; --apt names the packages.
packages="$(node scripts/preflight.mjs --apt)"
if [ -n "$packages" ]; then
  if ! command -v apt-get > /dev/null; then
    say "not a Debian-family system (no apt-get): install these yourself, then run this again."
    node scripts/preflight.mjs || true
    exit 1
  fi
  if [ "$(id -u)" = 0 ]; then
    sudo=()
  elif command -v sudo > /dev/null && sudo -n true 2> /dev/null; then
    sudo=(sudo -n)
  else
    say "missing Debian packages: $packages"
    say "install them (needs root), then run this again:"
    printf '  sudo apt-get update && sudo apt-get install -y %s\n' "$packages" >&2
    exit 1
  fi
  say "installing Debian packages: $packages"
  "${sudo[@]}" apt-get update -qq
  # shellcheck disable=SC2086 # one word per package
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $packages > /dev/null
fi

# 2. moto_server comes from Python's package index, not from apt.
if ! command -v moto_server > /dev/null; then
  say "moto_server (the local AWS emulator the AWS tests use) is not on PATH. Install it, then run this again:"
  printf "  pip install 'moto[server]'\n" >&2
  exit 1
fi

# 3. The project itself (the README's first command does this; a fresh clone may skip it).
if [ ! -e node_modules/vitest/package.json ]; then
  say 'installing the project: npm ci'
  npm ci --no-audit --no-fund
fi

# Anything still missing (a v1 AWS CLI at /usr/bin/aws, an old Node, ...): one message, then stop.
node scripts/preflight.mjs
say "node $(node --version); $(redis-server --version | cut -d' ' -f1-3); $(/usr/bin/aws --version 2>&1 | cut -d' ' -f1);" \
  "$("${CHROMIUM_PATH:-/usr/bin/chromium}" --version 2> /dev/null)"

# 4. Format and lint (Biome, writes nothing).
npm run lint

# 5. Our own emulator and Redis, on loopback only.
free_port() { node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })'; }
stop_pid() {
  [ -n "${1:-}" ] || return 0
  kill -TERM "$1" 2> /dev/null || true
  for _ in $(seq 1 25); do kill -0 "$1" 2> /dev/null || break; sleep 0.2; done
  kill -KILL "$1" 2> /dev/null || true
  wait "$1" 2> /dev/null || true
}
MOTO_PID=""
REDIS_PID=""
LOG_DIR="$(mktemp -d "${TMPDIR:-/tmp}/cloudops-test-all.XXXXXX")"
cleanup() {
  stop_pid "$MOTO_PID"
  MOTO_PID=""
  stop_pid "$REDIS_PID"
  REDIS_PID=""
  rm -rf "$LOG_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

MOTO_PORT="$(free_port)"
moto_server -H 127.0.0.1 -p "$MOTO_PORT" > "$LOG_DIR/moto.log" 2>&1 &
MOTO_PID=$!
REDIS_PORT="$(free_port)"
redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no > "$LOG_DIR/redis.log" 2>&1 &
REDIS_PID=$!

# Wait (up to 20 s) until moto answers HTTP and redis answers PING; each exits early if its process died.
MOTO_URL="http://127.0.0.1:$MOTO_PORT" REDIS_PORT="$REDIS_PORT" MOTO_PID="$MOTO_PID" REDIS_PID="$REDIS_PID" node -e '
const net = require("node:net");
const alive = (pid) => { try { process.kill(Number(pid), 0); return true; } catch { return false; } };
const moto = () => fetch(`${process.env.MOTO_URL}/moto-api/`, { signal: AbortSignal.timeout(1000) }).then((r) => r.body?.cancel().then(() => true) ?? true, () => false);
const redis = () => new Promise((resolve) => {
  const socket = net.connect(Number(process.env.REDIS_PORT), "127.0.0.1");
  let reply = "";
  socket.setTimeout(1000, () => { socket.destroy(); resolve(false); });
  socket.on("connect", () => socket.write("PING\r\n"));
  socket.on("data", (d) => { reply += d; if (reply.includes("\r\n")) { socket.destroy(); resolve(reply.startsWith("+PONG")); } });
  socket.on("error", () => resolve(false));
});
(async () => {
  const deadline = Date.now() + 20000;
  const waiting = { moto_server: [moto, process.env.MOTO_PID], "redis-server": [redis, process.env.REDIS_PID] };
  while (Object.keys(waiting).length > 0) {
    for (const [name, [ready, pid]] of Object.entries(waiting)) {
      if (await ready()) delete waiting[name];
      else if (!alive(pid)) { console.error(`test:all: ${name} exited during startup`); process.exit(1); }
    }
    if (Object.keys(waiting).length === 0) break;
    if (Date.now() > deadline) { console.error(`test:all: ${Object.keys(waiting).join(", ")} did not answer within 20 s`); process.exit(1); }
    await new Promise((r) => setTimeout(r, 100));
  }
})();
' || {
  say 'moto_server log:'
  cat "$LOG_DIR/moto.log" >&2
  say 'redis-server log:'
  cat "$LOG_DIR/redis.log" >&2
  exit 1
}
export MOTO_URL="http://127.0.0.1:$MOTO_PORT"
export REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
say "moto_server at $MOTO_URL, redis-server at $REDIS_URL"

# 6. The unit suite (npm test: preflight, build, vitest), then the property-based and stress
# suite (slower; dist/ is already built).
if [ $# -gt 0 ]; then
  npm test -- --passWithNoTests "$@"
  npx vitest run --config vitest.reliability.config.ts --passWithNoTests "$@"
else
  npm test
  npx vitest run --config vitest.reliability.config.ts
fi
