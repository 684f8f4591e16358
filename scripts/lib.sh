# shellcheck shell=bash disable=SC2034
# Helpers sourced by the other scripts (not run on its own).
# Paths are relative to the repository root, which every script cd's into first.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
VAR="$ROOT/var"
LOG_DIR="$VAR/log"
RUN_DIR="$VAR/run"
# supervisord of `make run` (scripts/supervisor_conf.py writes its configuration)
SUPERVISOR_CONF="$RUN_DIR/supervisord.conf"
SUPERVISOR_PID="$RUN_DIR/supervisord.pid"

say() { printf '==> %s\n' "$*"; }
warn() { printf '==> WARNING: %s\n' "$*" >&2; }
die() { printf '==> ERROR: %s\n' "$*" >&2; exit 1; }

# port_open HOST PORT: true when something accepts TCP connections there.
port_open() {
    timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null
}

# pid_alive PIDFILE [PATTERN]: true when the pid in PIDFILE runs and, if PATTERN is
# given, its command line contains PATTERN (guards against a recycled pid).
pid_alive() {
    local file="$1" pattern="${2:-}" pid
    [[ -s "$file" ]] || return 1
    pid="$(cat "$file")"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    if [[ -n "$pattern" ]]; then
        tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$pattern" || return 1
    fi
}

descendants() {  # descendants PID: every process below PID, one pid a line
    local child
    for child in $(pgrep -P "$1" || true); do
        echo "$child"
        descendants "$child"
    done
}

supervisord_running() {  # true when the supervisord of scripts/run.sh runs
    pid_alive "$SUPERVISOR_PID" "$SUPERVISOR_CONF"
}

supervisorctl() {  # supervisorctl ARGS...: talks to the supervisord of scripts/run.sh
    "$VENV/bin/supervisorctl" -c "$SUPERVISOR_CONF" "$@"
}

# start_supervisor SERVICE...: write $SUPERVISOR_CONF from the Procfile (SCALE applied)
# and start supervisord with this shell's environment, which every service process
# inherits. setsid: it leads its own session, so closing the terminal or Ctrl-C does
# not stop the services; scripts/stop.sh does.
start_supervisor() {
    mkdir -p "$LOG_DIR" "$RUN_DIR"
    "$PY" "$ROOT/scripts/supervisor_conf.py" --procfile "$ROOT/Procfile" --root "$ROOT" \
        --services "$*" --scale "${SCALE:-}" --log-dir "$LOG_DIR" --run-dir "$RUN_DIR" \
        > "$SUPERVISOR_CONF.new"
    mv "$SUPERVISOR_CONF.new" "$SUPERVISOR_CONF"
    setsid "$VENV/bin/supervisord" -c "$SUPERVISOR_CONF" \
        >>"$LOG_DIR/supervisord.out" 2>&1 < /dev/null &
    echo $! > "$SUPERVISOR_PID"
}

is_service_process() {  # is_service_process PID: a `nameko run` of ours
    tr '\0' ' ' < "/proc/$1/cmdline" 2>/dev/null | grep -q "nameko run --config services/"
}

# url_host URL: the host part of a mongodb:// or amqp:// URL (first host of a list).
url_host() {
    local rest="${1#*://}"
    rest="${rest##*@}"
    rest="${rest%%/*}"
    rest="${rest%%\?*}"
    rest="${rest%%,*}"
    if [[ "$rest" == \[* ]]; then
        rest="${rest#[}"; echo "${rest%%]*}"
    else
        echo "${rest%%:*}"
    fi
}

# url_port URL DEFAULT: the port of the first host, or DEFAULT.
url_port() {
    local rest="${1#*://}"
    rest="${rest##*@}"
    rest="${rest%%/*}"
    rest="${rest%%\?*}"
    rest="${rest%%,*}"
    rest="${rest##*]}"
    if [[ "$rest" == *:* ]]; then echo "${rest##*:}"; else echo "$2"; fi
}

is_local_host() {
    case "$1" in
        127.*|localhost|::1|"") return 0 ;;
        *) return 1 ;;
    esac
}

# Local MongoDB (SecantusDB) settings. MONGO_URL may point elsewhere (real MongoDB);
# then the scripts leave the store alone.
mongo_is_external() {
    [[ -n "${MONGO_URL:-}" ]] && ! is_local_host "$(url_host "$MONGO_URL")"
}

mongo_port() {  # the port of a local MONGO_URL, else MONGO_PORT, else 27017
    if [[ -n "${MONGO_URL:-}" ]]; then
        url_port "$MONGO_URL" 27017
    else
        echo "${MONGO_PORT:-27017}"
    fi
}

# The connection string the services get. SecantusDB needs retryWrites=false (see
# docs): it is added to a local URL that lacks it.
mongo_url() {
    local url
    if [[ -n "${MONGO_URL:-}" ]]; then
        url="$MONGO_URL"
        if ! mongo_is_external && [[ "$url" != *retryWrites=* ]]; then
            if [[ "$url" == *\?* ]]; then url="$url&retryWrites=false"
            elif [[ "$url" == */ ]]; then url="${url}?retryWrites=false"
            else url="$url/?retryWrites=false"; fi
        fi
        echo "$url"
    else
        echo "mongodb://127.0.0.1:$(mongo_port)/?retryWrites=false"
    fi
}

amqp_uri() {
    echo "${AMQP_URI:-amqp://guest:guest@127.0.0.1:5672/}"
}
