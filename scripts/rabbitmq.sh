#!/usr/bin/env bash
# Make sure RabbitMQ answers where AMQP_URI says (default 127.0.0.1:5672): install it
# from Debian's packages if it is missing, start it if it is not running, then wait
# (bounded) until it is up. RabbitMQ is a system service: this script starts it but never
# stops it. If AMQP_URI points at another host, that broker is used as it is and nothing
# is done. If a local node runs but nothing answers on AMQP_URI's port, it says so.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

URI="$(amqp_uri)"
RABBIT_HOST="$(url_host "$URI")"
RABBIT_HOST="${RABBIT_HOST:-127.0.0.1}"
RABBIT_PORT="$(url_port "$URI" 5672)"
WAIT_SECONDS="${RABBITMQ_WAIT_SECONDS:-60}"

if [[ -n "${AMQP_URI:-}" ]] && ! is_local_host "$(url_host "$AMQP_URI")"; then
    say "AMQP_URI points at $(url_host "$AMQP_URI"): using that broker, not starting a local one"
    exit 0
fi

as_root() {
    if [[ "$(id -u)" == 0 ]]; then "$@"
    elif command -v sudo >/dev/null; then sudo "$@"
    else die "need root to run: $*"; fi
}

if ! command -v rabbitmq-server >/dev/null && [[ ! -x /usr/sbin/rabbitmq-server ]]; then
    say "rabbitmq-server is not installed: installing it with apt-get"
    as_root apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y rabbitmq-server
fi
export PATH="$PATH:/usr/sbin:/usr/lib/rabbitmq/bin"

node_up() {  # the local node rabbitmqctl talks to (RABBITMQ_NODENAME, else rabbit@host)
    rabbitmqctl -q await_startup --timeout 5 >/dev/null 2>&1
}

ready() {
    port_open "$RABBIT_HOST" "$RABBIT_PORT" && node_up
}

if ready; then
    say "RabbitMQ is running on $RABBIT_HOST:$RABBIT_PORT"
    exit 0
fi

if port_open "$RABBIT_HOST" "$RABBIT_PORT"; then
    say "RabbitMQ port $RABBIT_PORT is open; waiting for the node to finish starting"
elif node_up; then
    die "a RabbitMQ node runs here, but nothing answers on $RABBIT_HOST:$RABBIT_PORT (AMQP_URI):" \
        "point AMQP_URI at the port it listens on (rabbitmq-diagnostics listeners)"
else
    say "starting RabbitMQ (rabbitmq-server -detached)"
    as_root rabbitmq-server -detached
fi

deadline=$((SECONDS + WAIT_SECONDS))
until ready; do
    if (( SECONDS >= deadline )); then
        die "RabbitMQ did not answer on $RABBIT_HOST:$RABBIT_PORT within ${WAIT_SECONDS}s (see /var/log/rabbitmq/)"
    fi
    printf '    waiting for RabbitMQ (%ss left)\n' "$((deadline - SECONDS))"
    sleep 2
done
say "RabbitMQ is up on $RABBIT_HOST:$RABBIT_PORT"
