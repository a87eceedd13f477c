#!/usr/bin/env bash
# wine-stop.sh: stop the wineserver (and every wine process) of the project's
# prefix, the same one wine-run.sh uses. Harmless when nothing is running.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export WINEPREFIX="${SHARED_WINEPREFIX:-$ROOT/build/.wine}"
WINESERVER=/usr/lib/wine/wineserver

[ -x "$WINESERVER" ] && [ -d "$WINEPREFIX" ] || exit 0
"$WINESERVER" -k >/dev/null 2>&1 || true   # non-zero when no server was running
"$WINESERVER" -w >/dev/null 2>&1 || true   # wait until it is really gone
exit 0
