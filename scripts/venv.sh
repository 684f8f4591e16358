#!/usr/bin/env bash
# Create .venv (if missing) and install requirements-dev.txt into it, only when the
# requirement files (or the interpreter) changed since the last successful install.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

PYTHON_BIN="${PYTHON:-python3}"
STAMP="$VENV/.requirements.sha256"

command -v "$PYTHON_BIN" >/dev/null || die "$PYTHON_BIN not found (Python 3.11+ is needed)"
"$PYTHON_BIN" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || die "$PYTHON_BIN is $("$PYTHON_BIN" -V 2>&1); Python 3.11+ is needed"

if [[ ! -x "$PY" ]]; then
    say "creating virtualenv .venv with $("$PYTHON_BIN" -V 2>&1)"
    "$PYTHON_BIN" -m venv "$VENV"
fi

wanted="$( { "$PY" -V 2>&1; cat requirements.txt requirements-dev.txt constraints.txt pyproject.toml; } | sha256sum | cut -d' ' -f1)"
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$wanted" ]]; then
    say "virtualenv .venv is up to date"
    exit 0
fi

say "installing requirements-dev.txt into .venv (this can take a minute)"
"$PY" -m pip install --disable-pip-version-check --progress-bar off -q -r requirements-dev.txt -c constraints.txt
# the project itself, editable, for its console script .venv/bin/invoicectl
"$PY" -m pip install --disable-pip-version-check --progress-bar off -q --no-deps --no-build-isolation -e .
echo "$wanted" > "$STAMP"
say "virtualenv .venv ready"
