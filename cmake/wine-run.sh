#!/usr/bin/env bash
# wine-run.sh PROGRAM.exe [ARGS...]
# Runs a Windows program under Debian's wine64 in the project's own prefix
# (<repo>/build/.wine, or $SHARED_WINEPREFIX), creating the prefix on first use.
# Used as CMAKE_CROSSCOMPILING_EMULATOR, so ctest runs .exe tests through it.
# Exits with the program's exit code.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WINE=/usr/lib/wine/wine64
WINESERVER=/usr/lib/wine/wineserver
WINE32=/usr/lib/wine/wine   # wine32's loader (32-bit programs)

# Always the build-tree prefix unless SHARED_WINEPREFIX says otherwise: processes
# only share sections and named objects under one wineserver (= one prefix).
export WINEPREFIX="${SHARED_WINEPREFIX:-$ROOT/build/.wine}"
export WINEARCH=win64
export WINEDEBUG="${SHARED_WINEDEBUG:--all,err+module}"  # quiet, but name a missing DLL
export WINEDLLOVERRIDES="mscoree,mshtml="   # never offer to install Mono/Gecko
unset DISPLAY WAYLAND_DISPLAY                # headless: no dialog can block

if [ ! -x "$WINE" ]; then
    echo "wine-run.sh: $WINE not found (apt-get install wine64, or ./build.sh deps)" >&2
    exit 127
fi

# First use: create the prefix once. A lock serialises this (and the server
# start below) so that parallel runs (ctest -j, multi-process tests) don't race.
mkdir -p "$(dirname "$WINEPREFIX")"
exec 9>"$WINEPREFIX.lock"
flock 9
# A prefix made while 32-bit programs could not run (no wine32, or before
# qemu-i386 emulation was set up) has an empty syswow64, and every 32-bit
# program then fails with "could not load kernel32.dll, status c0000135";
# wineboot -u does not fill it. Once wine32 runs, make the prefix anew.
if [ -f "$WINEPREFIX/.shared-ready" ] &&
   [ ! -f "$WINEPREFIX/drive_c/windows/syswow64/kernel32.dll" ] &&
   [ -x "$WINE32" ] && "$WINE32" --version >/dev/null 2>&1; then
    echo "wine-run.sh: $WINEPREFIX has no 32-bit DLLs: making it anew" >&2
    "$WINESERVER" -k >/dev/null 2>&1 || true   # this prefix's server only
    "$WINESERVER" -w >/dev/null 2>&1 || true
    rm -rf "$WINEPREFIX"
fi
if [ ! -f "$WINEPREFIX/.shared-ready" ]; then
    echo "wine-run.sh: creating wine prefix $WINEPREFIX (once, ~10 s)" >&2
    log="$(dirname "$WINEPREFIX")/.wine-init.log"
    if ! { "$WINE" wineboot --init && "$WINESERVER" -w; } </dev/null >"$log" 2>&1; then
        echo "wine-run.sh: wineboot failed, see $log" >&2
        exit 1
    fi
    touch "$WINEPREFIX/.shared-ready"
fi
# Start the prefix's wineserver ourselves (exit code 2: one is running already)
# and, for a new one, wine's background services (wineboot), all detached from
# our stdout/stderr. Otherwise the services inherit the caller's output pipe
# and ctest waits ~3 s per test for them to quit. The server stays up
# SHARED_WINE_PERSIST seconds (default 60) after its last program; wine-stop.sh
# ends it at once.
if "$WINESERVER" -p"${SHARED_WINE_PERSIST:-60}" </dev/null >/dev/null 2>&1; then
    "$WINE" wineboot </dev/null >/dev/null 2>&1 || true
fi
flock -u 9
exec 9>&-

exec "$WINE" "$@"
