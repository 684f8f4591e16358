#!/usr/bin/env bash
# The local MongoDB-protocol store for development and the demo: SecantusDB.
#   scripts/mongo.sh start   start it on 127.0.0.1:${MONGO_PORT:-27017} (or the port of a
#                            local MONGO_URL) unless something already answers there;
#                            data in var/mongo, log var/log/mongo.log
#   scripts/mongo.sh stop    stop the SecantusDB this script started (var/run/mongo.pid)
#   scripts/mongo.sh status
# With MONGO_URL pointing at another host (real MongoDB), start/stop do nothing.
# The store runs with --auth: on the first start (no var/mongo.users-provisioned) it is
# started once without it to create the store users (python -m shared.store_users:
# crm-admin, crm-<service>; passwords in var/mongo-users/), then restarted with it.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

PORT="$(mongo_port)"
URL="$(mongo_url)"
PID_FILE="$RUN_DIR/mongo.pid"
LOG_FILE="$LOG_DIR/mongo.log"
DATA_DIR="$VAR/mongo"
USERS_DIR="$VAR/mongo-users"
PROVISIONED="$VAR/mongo.users-provisioned"
WAIT_SECONDS="${MONGO_WAIT_SECONDS:-60}"

ping() {
    "$PY" - "$URL" <<'PYEOF' >/dev/null 2>&1
import sys
from pymongo import MongoClient
client = MongoClient(sys.argv[1], serverSelectionTimeoutMS=1000, connectTimeoutMS=1000)
try:
    client.admin.command("ping")
finally:
    client.close()
PYEOF
}

ours() { pid_alive "$PID_FILE" secantus; }

start() {
    if mongo_is_external; then
        say "MONGO_URL points at $(url_host "$MONGO_URL"): not starting a local store"
        return 0
    fi
    [[ -x "$PY" ]] || die ".venv is missing: run scripts/venv.sh first"
    if ours; then
        say "SecantusDB already running (pid $(cat "$PID_FILE")) on 127.0.0.1:$PORT"
        return 0
    fi
    if port_open 127.0.0.1 "$PORT"; then
        if ping; then
            say "a MongoDB-protocol server already answers on 127.0.0.1:$PORT (not ours): using it"
            return 0
        fi
        die "127.0.0.1:$PORT is taken by something that does not answer a MongoDB ping; set MONGO_PORT"
    fi
    mkdir -p "$DATA_DIR" "$LOG_DIR" "$RUN_DIR"
    if [[ ! -f "$PROVISIONED" ]]; then
        say "creating the store users (SecantusDB without --auth, once)"
        launch
        "$PY" -m shared.store_users --url "$URL" --passwords "$USERS_DIR" \
            --prefix "${MONGO_DB_PREFIX:-crm_}"
        stop
        touch "$PROVISIONED"
    fi
    launch --auth
    say "SecantusDB is up (pid $(cat "$PID_FILE")) with --auth: $URL"
}

# launch [--auth]: start SecantusDB in the background and wait until it answers a ping.
launch() {
    say "starting SecantusDB on 127.0.0.1:$PORT $* (data $DATA_DIR, log ${LOG_FILE#"$ROOT"/})"
    # setsid: its own session, so a Ctrl-C in this terminal does not stop it.
    # shared.secantus_server: SecantusDB with transactions left open by a killed
    # process reaped after 3 s instead of 60 (README "Events, failures and operators").
    setsid "$PY" -m shared.secantus_server --host 127.0.0.1 --port "$PORT" --storage-path "$DATA_DIR" \
        --sync-on-commit "$@" >>"$LOG_FILE" 2>&1 < /dev/null &
    echo $! > "$PID_FILE"
    local deadline=$((SECONDS + WAIT_SECONDS))
    until ping; do
        if ! ours; then
            tail -n 20 "$LOG_FILE" >&2 || true
            rm -f "$PID_FILE"
            die "SecantusDB exited during start-up (log above, full log ${LOG_FILE#"$ROOT"/})"
        fi
        if (( SECONDS >= deadline )); then
            die "SecantusDB did not answer a ping within ${WAIT_SECONDS}s (see ${LOG_FILE#"$ROOT"/})"
        fi
        printf '    waiting for SecantusDB (%ss left)\n' "$((deadline - SECONDS))"
        sleep 1
    done
}

stop() {
    if mongo_is_external; then
        say "MONGO_URL points at $(url_host "$MONGO_URL"): nothing to stop"
        return 0
    fi
    if ! ours; then
        say "no SecantusDB started by scripts/mongo.sh is running"
        rm -f "$PID_FILE"
        return 0
    fi
    local pid
    pid="$(cat "$PID_FILE")"
    say "stopping SecantusDB (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + 30))
    while kill -0 "$pid" 2>/dev/null; do
        if (( SECONDS >= deadline )); then
            warn "SecantusDB did not stop within 30s: killing it"
            kill -KILL "$pid" 2>/dev/null || true
            break
        fi
        sleep 0.5
    done
    rm -f "$PID_FILE"
    say "SecantusDB stopped"
}

status() {
    if mongo_is_external; then
        say "using external MongoDB at $(url_host "$MONGO_URL")"
    elif ours; then
        say "SecantusDB running (pid $(cat "$PID_FILE")): $URL"
    elif port_open 127.0.0.1 "$PORT"; then
        say "something not started by this script listens on 127.0.0.1:$PORT"
    else
        say "SecantusDB is not running"
        return 1
    fi
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
