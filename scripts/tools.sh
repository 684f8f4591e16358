#!/usr/bin/env bash
# Tools the tests use besides Python: Debian's docker-compose (v1) to check
# docker-compose.yml with `docker-compose config` (no Docker engine is needed for that).
# Best effort: without apt-get or root, the compose test reports itself as skipped.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if command -v docker-compose >/dev/null; then
    exit 0
fi
if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null; then
    say "docker-compose is missing and cannot be installed here: the compose file test will skip"
    exit 0
fi
say "installing docker-compose (Debian package) to check docker-compose.yml"
if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose; } \
        >/dev/null 2>&1; then
    say "could not install docker-compose: the compose file test will skip"
fi
