#!/usr/bin/env bash
# Run the whole system locally: virtualenv, RabbitMQ, the local store (SecantusDB), the
# services of the Procfile under supervisord in the background, then the demo data.
# supervisord restarts a process that dies (with back-off) and leaves the others running;
# its configuration is written from the Procfile by scripts/supervisor_conf.py.
# Idempotent: when the services already run, it says so and starts nothing twice.
#   SERVICES="invoice approval"  run only some services (default: all in the Procfile)
#   SCALE="invoice=3,search=2"   processes per service (supervisord numprocs; default 1)
#   SKIP_DEMO=1                  do not load/print the demo data
#   READY_TIMEOUT=120            seconds to wait for the services to answer
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

SERVICES_PIDS="$RUN_DIR/services.pids"
read -r -a services <<< "${SERVICES:-$(cut -d: -f1 Procfile | tr '\n' ' ')}"

"$ROOT/scripts/venv.sh"
"$ROOT/scripts/rabbitmq.sh"
"$ROOT/scripts/rabbitmq-accounts.sh"
"$ROOT/scripts/mongo.sh" start

AMQP_URI="$(amqp_uri)"
MONGO_URL="$(mongo_url)"
export AMQP_URI MONGO_URL
# Each service on its own store user (scripts/mongo.sh made them; the Procfile picks
# MONGO_URL_<SERVICE>), when the store is the local SecantusDB started with --auth.
if [[ -f "$VAR/mongo.users-provisioned" ]] && ! mongo_is_external; then
    for name in customer invoice approval search gateway; do
        export "MONGO_URL_${name^^}=$("$PY" -m shared.store_users --url "$MONGO_URL" \
            --passwords "$VAR/mongo-users" --print-url "crm-$name")"
    done
fi
# Each service on its own broker account (the Procfile picks AMQP_URI_<SERVICE>); the
# demo loader and readiness probe call as internal callers do, on invoice-client.
broker="$(url_host "$AMQP_URI"):$(url_port "$AMQP_URI" 5672)"
if is_local_host "$(url_host "$AMQP_URI")"; then
    for name in customer invoice approval search gateway; do
        export "AMQP_URI_${name^^}=amqp://crm-$name:$(cat "$VAR/rabbitmq/$name.password")@$broker/"
    done
    export INVOICE_CLIENT_AMQP_URI="${INVOICE_CLIENT_AMQP_URI:-amqp://invoice-client:${INVOICE_CLIENT_PASSWORD:-invoice-client-dev}@$broker/}"
fi
# Signing keys (Ed25519, one pair per service: its events and its own service tokens),
# made once under var/keys (docs/security.md); the gateway's gateway-1 signs its service
# tokens (health probes). In dev mode the gateway's session tokens are HS256 (below);
# outside it they are signed with var/keys/sessions/private/gateway_session-<n>.key, whose
# public key goes into the JWKS file (docs/security.md, "The gateway's session tokens").
export EVENT_KEYS_DIR="${EVENT_KEYS_DIR:-$VAR/keys}"
"$PY" -m shared.keys ensure "$EVENT_KEYS_DIR" customer invoice approval search gateway
# Dev mode: user tokens are HS256 with a shared secret, a random one made once for this
# checkout (var/keys/dev-auth-secret) unless INVOICE_AUTH_SECRET is set. Production runs
# without dev mode, on the identity provider's keys (INVOICE_JWKS_FILE).
export INVOICE_DEV_MODE=1
if [[ -z "${INVOICE_AUTH_SECRET:-}" ]]; then
    secret_file="$EVENT_KEYS_DIR/dev-auth-secret"
    if [[ ! -s "$secret_file" ]]; then
        (umask 077 && "$PY" -c 'import secrets; print(secrets.token_hex(32))' > "$secret_file")
    fi
    INVOICE_AUTH_SECRET="$(cat "$secret_file")"
fi
export INVOICE_AUTH_SECRET
warn "DEV MODE: tokens are HS256 signed with INVOICE_AUTH_SECRET (never in production)"
# Drop the notices nameko's CLI triggers at every start (eventlet deprecated, pkg_resources);
# other warnings stay.
export PYTHONWARNINGS="${PYTHONWARNINGS:-ignore::Warning:nameko.cli.commands,ignore::UserWarning:nameko.cli.main}"
mkdir -p "$LOG_DIR" "$RUN_DIR"

if supervisord_running; then
    say "services already running under supervisord (pid $(cat "$SUPERVISOR_PID")): not starting them again"
    supervisorctl status || true
else
    if [[ -s "$SERVICES_PIDS" ]]; then
        mapfile -t leftover < <(while read -r pid; do
            if is_service_process "$pid"; then echo "$pid"; fi; done < "$SERVICES_PIDS")
        if (( ${#leftover[@]} )); then
            die "service processes of an earlier run are still alive without their supervisor" \
                "(pids ${leftover[*]}): run 'make stop' first"
        fi
    fi
    for name in "${services[@]}"; do
        if ! error="$(PYTHONPATH=".:services/$name" "$PY" -W ignore -c "import $name.service" 2>&1)"; then
            printf '%s\n' "$error" | tail -n 5 >&2
            die "service '$name' does not import (above); to run the others: SERVICES=\"...\" scripts/run.sh"
        fi
    done
    say "starting services: ${services[*]}${SCALE:+ (scale $SCALE)} (supervisord, logs ${LOG_DIR#"$ROOT"/}/<service>-<n>.log)"
    start_supervisor "${services[@]}"
fi

say "waiting for the services to answer RPC calls"
if ! "$PY" scripts/wait_ready.py "${services[@]}" --timeout "${READY_TIMEOUT:-120}" --pid-file "$SUPERVISOR_PID"; then
    supervisorctl status >&2 || true
    for log in "$LOG_DIR/supervisord.out" "$LOG_DIR"/*-[0-9]*.log; do
        [[ -s "$log" ]] || continue
        echo "---- last lines of ${log#"$ROOT"/}:" >&2
        tail -n 15 "$log" >&2 || true
    done
    die "services did not become ready (scripts/stop.sh stops what was started)"
fi
# The nameko processes started so far, for scripts/stop.sh (it also asks supervisord).
descendants "$(cat "$SUPERVISOR_PID")" | while read -r pid; do
    if is_service_process "$pid"; then echo "$pid"; fi
done > "$SERVICES_PIDS"
say "all services ready: ${services[*]}"

if [[ -n "${SKIP_DEMO:-}" ]]; then
    say "SKIP_DEMO set: no demo data"
elif [[ " ${services[*]} " == *" customer "* && " ${services[*]} " == *" invoice "* ]]; then
    "$PY" scripts/demo.py
else
    say "demo data needs the customer and invoice services: skipped"
fi

cat <<INFO
==> running. RPC over $broker, store $MONGO_URL
    internal callers connect as ${INVOICE_CLIENT_AMQP_URI:-$AMQP_URI}
      (shared.rpc_client.client_proxy; docs/security.md)
    http:   http://${GATEWAY_HOST:-127.0.0.1}:${GATEWAY_PORT:-8000}/ (gateway: REST API /api/, docs /api/docs, sign-in /login)
    logs:   ${LOG_DIR#"$ROOT"/}/<service>-<n>.log (one per process), ${LOG_DIR#"$ROOT"/}/supervisord.log
            ${LOG_DIR#"$ROOT"/}/mongo.log (SecantusDB, when started here)
    status: make status   (.venv/bin/supervisorctl -c ${SUPERVISOR_CONF#"$ROOT"/} status)
            a process that dies is restarted by supervisord; the others keep running
    follow: tail -f ${LOG_DIR#"$ROOT"/}/invoice-1.log
    stop:   make stop   (scripts/stop.sh)
INFO
