#!/usr/bin/env bash
# Prepare what docker-compose.yml mounts and reads (idempotent; nothing secret printed):
#   var/keys/{private,public}/           event and service-token signing keys
#   var/keys/sessions/{private,public}/  the gateway's session-token key (gateway_session-<n>)
#   var/compose/rabbitmq-definitions.json   the broker accounts (hashed passwords)
#   var/compose/rabbitmq.conf               load_definitions = that file
#   var/compose/mongo-keyfile               the replica set's internal key (mode 0400)
#   var/compose/compose.env                 passwords for `docker-compose --env-file`
# Then: docker-compose --env-file var/compose/compose.env up -d --build
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
"$ROOT/scripts/venv.sh" >/dev/null

OUT="$VAR/compose"
mkdir -p "$OUT"
chmod 700 "$OUT"
"$PY" -m shared.keys ensure "$VAR/keys" customer invoice approval search gateway
# The gateway's session-token key (not a service key: kept out of var/keys/public).
"$PY" -m shared.keys ensure "$VAR/keys/sessions" gateway_session
"$PY" -m shared.broker_accounts --vhost / --passwords "$OUT/rabbitmq" > "$OUT/rabbitmq-definitions.json"
printf 'load_definitions = /etc/rabbitmq/definitions.json\n' > "$OUT/rabbitmq.conf"
"$PY" -m shared.store_users --url mongodb://unused/ --passwords "$OUT/mongo-users" --print-url crm-admin >/dev/null
if [[ ! -s "$OUT/mongo-keyfile" ]]; then
    (umask 077 && "$PY" -c 'import secrets; print(secrets.token_urlsafe(48))' > "$OUT/mongo-keyfile")
fi
chmod 400 "$OUT/mongo-keyfile"
# The identity provider's public keys: put its JWKS here (or INVOICE_JWKS_HOST_FILE).
# An empty set lets only dev mode (INVOICE_DEV_MODE=1) start.
if [[ ! -s "$OUT/jwks.json" ]]; then
    printf '{"keys": []}\n' > "$OUT/jwks.json"
fi
# The gateway signs its session tokens itself (EdDSA): its public key joins the set the
# services trust (the identity provider's keys in the file stay). With
# INVOICE_JWKS_HOST_FILE, add it there: python -m shared.keys jwks FILE var/keys/sessions
"$PY" -m shared.keys jwks "$OUT/jwks.json" "$VAR/keys/sessions" >/dev/null
{
    for name in customer invoice approval search gateway; do
        printf 'CRM_%s_AMQP_PASSWORD=%s\n' "${name^^}" "$(cat "$OUT/rabbitmq/$name.password")"
        printf 'CRM_%s_MONGO_PASSWORD=%s\n' "${name^^}" "$(cat "$OUT/mongo-users/crm-$name.password")"
        printf 'CRM_%s_KEY_ID=%s\n' "${name^^}" \
            "$(basename "$(ls "$VAR/keys/private/$name-"*.key | sort -V | tail -n 1)" .key)"
    done
    printf 'CRM_GATEWAY_SESSION_KEY_ID=%s\n' \
        "$(basename "$(ls "$VAR/keys/sessions/private/gateway_session-"*.key | sort -V | tail -n 1)" .key)"
    printf 'CRM_ADMIN_MONGO_PASSWORD=%s\n' "$(cat "$OUT/mongo-users/crm-admin.password")"
    printf 'INVOICE_CLIENT_PASSWORD=%s\n' "${INVOICE_CLIENT_PASSWORD:-invoice-client-dev}"
} > "$OUT/compose.env"
chmod 600 "$OUT/compose.env"
say "compose files ready in ${OUT#"$ROOT"/}: docker-compose --env-file ${OUT#"$ROOT"/}/compose.env up -d --build"
