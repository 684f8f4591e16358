#!/usr/bin/env bash
# What the browser tests (pytest marker `browser`) need besides Python: Debian's
# chromium and chromium-driver, and a CJK font so Chinese pages render in screenshots.
# Installed with apt-get when missing (as scripts/rabbitmq.sh does for RabbitMQ).
# Best effort without root or apt-get: the browser tests then report themselves skipped.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

have_font() {
    fc-list 2>/dev/null | grep -qiE 'wqy|noto sans cjk|noto serif cjk'
}

if command -v chromium >/dev/null && command -v chromedriver >/dev/null && have_font; then
    exit 0
fi
if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null; then
    say "chromium / chromium-driver / a CJK font are missing and cannot be installed here: the browser tests will skip"
    exit 0
fi
say "installing chromium, chromium-driver and fonts-wqy-microhei (Debian packages) for the browser tests"
install() {
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        chromium chromium-driver fonts-wqy-microhei fontconfig
}
if ! install >/dev/null 2>&1; then
    apt-get update -qq >/dev/null 2>&1 || true
    install >/dev/null 2>&1 || warn "could not install chromium: the browser tests will skip"
fi
