#!/usr/bin/env bash
# Create (or refresh) the broker accounts in the local RabbitMQ: one per service
# (crm-<service>, a random password made once in var/rabbitmq/<service>.password; the
# HTTP gateway's crm-gateway has an RPC caller's rights only) and
# the internal-caller account invoice-client / invoice-client-dev (INVOICE_CLIENT_PASSWORD
# to change it). Permissions: shared/broker_accounts.py, docs/security.md.
# Idempotent (one `rabbitmqctl import_definitions`). Prints nothing secret.
# With AMQP_URI pointing at another host nothing is done: that broker's operator makes them.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
export PATH="$PATH:/usr/sbin:/usr/lib/rabbitmq/bin"

if [[ -n "${AMQP_URI:-}" ]] && ! is_local_host "$(url_host "$AMQP_URI")"; then
    say "AMQP_URI points at $(url_host "$AMQP_URI"): its accounts are made by its operator"
    exit 0
fi
VHOST="${RABBITMQ_VHOST:-/}"
definitions="$(mktemp --suffix=.json)"
trap 'rm -f "$definitions"' EXIT
"$PY" -m shared.broker_accounts --vhost "$VHOST" --passwords "$VAR/rabbitmq" > "$definitions"
chmod 644 "$definitions"  # rabbitmqctl reads it as the rabbitmq user (salted hashes only)
rabbitmqctl -q import_definitions "$definitions" >/dev/null
# The import runs in the background: wait until the last topic permission is there.
for _ in $(seq 1 60); do
    if rabbitmqctl -q list_topic_permissions -p "$VHOST" 2>/dev/null | grep -q '^invoice-client'; then
        say "broker accounts ready in vhost $VHOST: crm-customer, crm-invoice, crm-approval, crm-search, crm-gateway, invoice-client"
        exit 0
    fi
    sleep 1
done
die "the broker accounts did not appear in vhost $VHOST within 60 s"
