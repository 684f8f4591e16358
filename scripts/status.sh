#!/usr/bin/env bash
# Health at a glance of what scripts/run.sh started: each service process as supervisord
# sees it (RUNNING with its pid and uptime, BACKOFF while it is being restarted, FATAL
# after too many failed starts), then the local store. Exit status 1 when not all run.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

status=0
if supervisord_running; then
    say "supervisord (pid $(cat "$SUPERVISOR_PID")), logs ${LOG_DIR#"$ROOT"/}/<service>-<n>.log:"
    supervisorctl status || status=1
else
    say "services are not running (make run starts them)"
    status=1
fi
"$ROOT/scripts/mongo.sh" status || status=1
exit "$status"
