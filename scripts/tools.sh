#!/usr/bin/env bash
# Tools the tests use besides Python: Debian's docker-compose (v1) to check
# docker-compose.yml with `docker-compose config` (no Docker engine is needed for that),
# and Debian's prometheus for `promtool` (checks deploy/prometheus).
# Best effort: without apt-get or root, those tests report themselves as skipped.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# install_tool COMMAND PACKAGE WHAT: apt-get install PACKAGE unless COMMAND exists.
install_tool() {
    local command="$1" package="$2" what="$3"
    if command -v "$command" >/dev/null; then
        return 0
    fi
    if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null; then
        say "$command is missing and cannot be installed here: the $what test will skip"
        return 0
    fi
    say "installing $package (Debian package) for $command"
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -qq --no-install-recommends "$package"; } >/dev/null 2>&1; then
        say "could not install $package: the $what test will skip"
    fi
}

install_tool docker-compose docker-compose "compose file"
install_tool promtool prometheus "Prometheus config and rules"
