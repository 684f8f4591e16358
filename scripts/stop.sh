#!/usr/bin/env bash
# Stop what scripts/run.sh started: supervisord with the service processes, and the
# SecantusDB started by scripts/mongo.sh. Only processes named in our pid files
# (var/run/) are touched. RabbitMQ is a system service and keeps running.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

SERVICES_PIDS="$RUN_DIR/services.pids"
WAIT_SECONDS="${STOP_WAIT_SECONDS:-45}"

# The nameko processes: those recorded at start (var/run/services.pids) and whatever
# runs below supervisord now; each checked to still be a nameko process (not a recycled pid).
service_pids() {
    local pid
    {
        if [[ -f "$SERVICES_PIDS" ]]; then cat "$SERVICES_PIDS"; fi
        if supervisord_running; then descendants "$(cat "$SUPERVISOR_PID")"; fi
    } | sort -u | while read -r pid; do
        if [[ "$pid" =~ ^[0-9]+$ ]] && is_service_process "$pid"; then echo "$pid"; fi
    done
}

wait_gone() {  # wait_gone SECONDS PID...: true when all are gone in time
    local deadline=$((SECONDS + $1)) pid alive
    shift
    while :; do
        alive=0
        for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        (( alive )) || return 0
        (( SECONDS < deadline )) || return 1
        sleep 0.5
    done
}

mapfile -t children < <(service_pids)
if supervisord_running; then
    supervisor="$(cat "$SUPERVISOR_PID")"
    say "stopping services (supervisord pid $supervisor; service pids: ${children[*]:-none})"
    # shutdown: supervisord stops every program (SIGTERM to its process group, SIGKILL
    # after stopwaitsecs), then exits; SIGTERM to supervisord does the same.
    supervisorctl shutdown >/dev/null 2>&1 || kill -TERM "$supervisor" 2>/dev/null || true
    if ! wait_gone "$WAIT_SECONDS" "$supervisor" "${children[@]}"; then
        warn "not all stopped within ${WAIT_SECONDS}s: killing what is left"
        for pid in "${children[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true; done
        kill -KILL "$supervisor" 2>/dev/null || true
    fi
    say "services stopped"
elif (( ${#children[@]} )); then
    say "supervisord is gone but service processes are left (${children[*]}): stopping them"
    kill -TERM "${children[@]}" 2>/dev/null || true
    wait_gone "$WAIT_SECONDS" "${children[@]}" || kill -KILL "${children[@]}" 2>/dev/null || true
    say "services stopped"
else
    say "services are not running"
fi
rm -f "$SUPERVISOR_PID" "$SERVICES_PIDS" "$RUN_DIR/supervisor.sock"

"$ROOT/scripts/mongo.sh" stop

say "RabbitMQ left running: it is a system service (stop it yourself with rabbitmqctl stop if you must)"
