#!/usr/bin/env bash
# build.sh: install dependencies, configure, build and test the three presets.
#
#   ./build.sh                  build every preset whose tools are present
#   ./build.sh test             deps + configure + build + ctest for linux, mingw, clang-win,
#                               then linux-asan, linux-tsan and each fuzz target 60 s
#   ./build.sh deps             only install dependencies (apt packages, Check for MinGW)
#   ./build.sh demo [--windows] [ARGS...]
#                               build and run sharedemo (natively, or the .exe under wine)
#   ./build.sh bench [--windows] [--ms N]
#                               build and run shared_bench (ratios vs a locked read)
#   ./build.sh fuzz [--seconds N]
#                               build the libFuzzer targets and run each N s (60)
#   ./build.sh clean [--all]    remove the preset build trees and wine prefix
#                               (--all: also build/deps)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"
BUILD="$ROOT/build"
DEPS="$BUILD/deps"
CHECK_PREFIX="$DEPS/check-mingw"   # Check built with the MinGW toolchain
PRESETS=(linux mingw clang-win)
JOBS="${JOBS:-2}"
MINGW_CC=x86_64-w64-mingw32-gcc-posix
CLANG_RT=/usr/lib/llvm-14/lib/clang/14.0.6/lib/linux
FUZZ_TARGETS=(fuzz_region fuzz_model fuzz_crash)
WINE=/usr/lib/wine/wine64

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'build.sh: %s\n' "$*" >&2; exit 1; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# ---------------------------------------------------------------- apt packages

APT_UPDATED=0
SRC_ADDED=0
apt_update() {
    if [ "$APT_UPDATED" -eq 0 ]; then
        log "apt-get update"
        as_root apt-get update -q
        APT_UPDATED=1
    fi
}

# Packages this project needs, each with a command or file that proves it is
# there; apt is touched only when something is missing.
missing_packages() {
    local -a want=(
        "cmd:cmake cmake"
        "cmd:make make"
        "cmd:gcc gcc"
        "cmd:clang clang"
        "cmd:ld.lld lld"
        "cmd:pkg-config pkg-config"
        "cmd:flock util-linux"
        "cmd:$MINGW_CC gcc-mingw-w64-x86-64-posix"   # pulls binutils + mingw-w64-x86-64-dev (winpthread)
        "cmd:x86_64-w64-mingw32-windres binutils-mingw-w64-x86-64"
        "file:$WINE wine64"
        "pkg:check check"                             # Linux Check (static lib + pkg-config)
        "cmd:dpkg-source dpkg-dev"                    # for apt-get source check
        "lib:$CLANG_RT/libclang_rt.fuzzer-x86_64.a libclang-rt-14-dev"  # libFuzzer, sanitizers
    )
    local item probe pkg
    for item in "${want[@]}"; do
        probe="${item%% *}" pkg="${item#* }"
        case "$probe" in
            cmd:*)  command -v "${probe#cmd:}" >/dev/null 2>&1 || echo "$pkg" ;;
            file:*) [ -x "${probe#file:}" ] || echo "$pkg" ;;
            lib:*)  [ -f "${probe#lib:}" ] || echo "$pkg" ;;
            # dpkg-query, not dpkg -s: the latter fails when a package is
            # installed for two architectures (check:amd64 and check:i386).
            pkg:*)  dpkg-query -W -f='${Status}\n' "${probe#pkg:}" 2>/dev/null |
                        grep -q '^install ok installed' || echo "$pkg" ;;
        esac
    done
}

install_packages() {
    local -a pkgs
    mapfile -t pkgs < <(missing_packages)
    [ "${#pkgs[@]}" -eq 0 ] && return 0
    log "installing: ${pkgs[*]}"
    apt_update
    as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends "${pkgs[@]}"
}

# ----------------------------------------------------- Check built for MinGW

# Debian's check package is Linux-only, so build Check for Windows from
# Debian's source package. Needs a deb-src entry: derive one from the deb822
# debian.sources (same URIs/Suites/Components/Signed-By, Types: deb-src).
ensure_deb_src() {
    if grep -rqsE '^(Types:.*deb-src|deb-src )' /etc/apt/sources.list /etc/apt/sources.list.d/; then
        return 0
    fi
    local d=/etc/apt/sources.list.d
    if [ -f "$d/debian.sources" ]; then            # deb822 (this machine)
        log "adding deb-src entry $d/shared-deb-src.sources"
        sed -E 's/^Types:.*/Types: deb-src/' "$d/debian.sources" |
            as_root tee "$d/shared-deb-src.sources" >/dev/null
    elif grep -qs '^deb ' /etc/apt/sources.list; then  # one-line format
        log "adding deb-src entry $d/shared-deb-src.list"
        sed -n 's/^deb /deb-src /p' /etc/apt/sources.list |
            as_root tee "$d/shared-deb-src.list" >/dev/null
    else
        log "adding deb-src entry $d/shared-deb-src.sources"
        as_root tee "$d/shared-deb-src.sources" >/dev/null <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    fi
    SRC_ADDED=1
    APT_UPDATED=0   # the new entry needs a fresh index (one update serves both)
}

check_mingw_present() {
    [ -f "$CHECK_PREFIX/lib/libcheck.a" ] &&
    [ -f "$CHECK_PREFIX/lib/cmake/check/check-config.cmake" ]
}

build_check_mingw() {
    check_mingw_present && return 0
    ensure_deb_src
    if [ "$SRC_ADDED" -eq 1 ]; then apt_update; fi
    local srcdir="$DEPS/src"
    rm -rf "$srcdir" "$DEPS/check-build" "$CHECK_PREFIX"
    mkdir -p "$srcdir"
    # apt-get source runs as the caller (no sudo needed); as root, keep apt
    # from dropping to the _apt user, which cannot write here.
    local -a apt_src=(apt-get source -q)
    [ "$(id -u)" -eq 0 ] && apt_src+=(-o APT::Sandbox::User=root)
    log "fetching Check's Debian source package"
    if ! (cd "$srcdir" && "${apt_src[@]}" check); then
        apt_update   # index may lack Sources: refresh once and retry
        (cd "$srcdir" && "${apt_src[@]}" check)
    fi
    local dir version
    local -a dsc=("$srcdir"/check_*.dsc)
    version="$(sed -n 's/^Version: //p' "${dsc[0]}")"
    dir="$(find "$srcdir" -mindepth 1 -maxdepth 1 -type d -name 'check-*' | head -n1)"
    [ -n "$dir" ] || die "apt-get source check produced no source tree"

    log "building Check $version for MinGW"
    cmake -S "$dir" -B "$DEPS/check-build" -G "Unix Makefiles" \
        -DCMAKE_TOOLCHAIN_FILE="$ROOT/cmake/toolchain-mingw.cmake" \
        -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_INSTALL_PREFIX="$CHECK_PREFIX" \
        -DBUILD_TESTING=OFF \
        >"$DEPS/check-configure.log" 2>&1 ||
        { cat "$DEPS/check-configure.log" >&2; die "configuring Check failed"; }
    cmake --build "$DEPS/check-build" -j"$JOBS" >"$DEPS/check-build.log" 2>&1 ||
        { tail -n 50 "$DEPS/check-build.log" >&2; die "building Check failed"; }
    cmake --install "$DEPS/check-build" >/dev/null
    echo "$version" >"$CHECK_PREFIX/DEBIAN_VERSION"
    check_mingw_present || die "Check install lacks libcheck.a or its CMake config"
    log "Check $version installed in $CHECK_PREFIX"
}

deps() {
    # Add deb-src before installing packages, so one apt-get update serves both.
    check_mingw_present || ensure_deb_src
    install_packages
    build_check_mingw
}

# -------------------------------------------------------------------- presets

configure() { cmake --preset "$1"; }
build()     { cmake --build --preset "$1" -j"$JOBS"; }

# Why a preset cannot be built here (empty when it can).
preset_blocker() {
    case "$1" in
        linux)     command -v gcc >/dev/null || echo "gcc missing" ;;
        mingw)     command -v "$MINGW_CC" >/dev/null || echo "$MINGW_CC missing"
                   check_mingw_present || echo "Check for MinGW missing" ;;
        clang-win) command -v clang >/dev/null && command -v ld.lld >/dev/null ||
                       echo "clang/lld missing"
                   command -v "$MINGW_CC" >/dev/null || echo "$MINGW_CC missing"
                   check_mingw_present || echo "Check for MinGW missing" ;;
    esac
}

cmd_default() {
    local p why rc=0
    for p in "${PRESETS[@]}"; do
        why="$(preset_blocker "$p" | paste -sd, -)"
        if [ -n "$why" ]; then
            log "skipping $p: $why (run ./build.sh deps)"
            continue
        fi
        log "preset $p"
        { configure "$p" && build "$p"; } || { log "preset $p FAILED"; rc=1; }
    done
    return "$rc"
}

cmd_test() {
    deps
    trap '"$ROOT/cmake/wine-stop.sh"' EXIT
    local p out line total_pass=0 total_fail=0 rc=0
    local -a failed=()
    mkdir -p "$BUILD"
    for p in "${PRESETS[@]}"; do
        log "preset $p: configure + build"
        if ! { configure "$p" && build "$p"; }; then
            failed+=("$p(build)"); rc=1; continue
        fi
        log "preset $p: ctest"
        out="$BUILD/ctest-$p.log"
        if ! ctest --preset "$p" 2>&1 | tee "$out"; then
            failed+=("$p"); rc=1
        fi
        # "NN% tests passed, F tests failed out of T"
        line="$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$out" | tail -n1 || true)"
        if [[ "$line" =~ ([0-9]+)\ tests?\ failed\ out\ of\ ([0-9]+) ]]; then
            total_fail=$((total_fail + BASH_REMATCH[1]))
            total_pass=$((total_pass + BASH_REMATCH[2] - BASH_REMATCH[1]))
        fi
    done
    test_sanitizers || { failed+=(sanitizers); rc=1; }
    test_fuzz 60 || { failed+=(fuzz); rc=1; }
    echo
    if [ "$rc" -ne 0 ]; then
        echo "FAILED suites: ${failed[*]}"
    else
        echo "all suites passed: ${PRESETS[*]} linux-asan linux-tsan fuzz"
    fi
    echo "ctest: $total_pass passed, $total_fail failed"
    return "$rc"
}

# ------------------------------------------------ sanitizers and fuzzing

# sanitizer_preset PRESET: configure, build and ctest one sanitizer preset
# (linux-asan: the whole native suite under ASan+UBSan; linux-tsan: the
# multi-threaded suite under TSan); prints its Check/ctest totals.
sanitizer_preset() {
    local p="$1" out="$BUILD/ctest-$1.log" line rc=0
    log "preset $p: configure + build"
    { configure "$p" && build "$p"; } || return 1
    log "preset $p: ctest"
    ctest --preset "$p" 2>&1 | tee "$out" || rc=1
    line="$(grep -E 'tests passed, [0-9]+ tests? failed out of' "$out" | tail -n1 || true)"
    log "preset $p: ${line:-no ctest summary}"
    # Check's own totals per suite ("100%: Checks: 12, Failures: 0, ...")
    grep -oE 'Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+' "$out" |
        awk -v p="$p" '{c += $2; f += $4; e += $6}
            END {printf "==> preset %s: Check totals: %d checks, %d failures, %d errors\n", p, c, f, e}' >&2
    return "$rc"
}

test_sanitizers() {
    local rc=0
    sanitizer_preset linux-asan || rc=1
    sanitizer_preset linux-tsan || rc=1
    return "$rc"
}

# test_fuzz SECONDS: builds the fuzz targets and runs each SECONDS on a copy
# of its committed seed corpus (tests/fuzz/corpus/<target>); a crash, a
# failed check, a leak or an input slower than 10 s fails the step and
# leaves the input in build/fuzz/artifacts.
test_fuzz() {
    local secs="$1" t rc=0 work art stats
    log "preset fuzz: configure + build"
    { configure fuzz && cmake --build --preset fuzz -j"$JOBS" \
        --target "${FUZZ_TARGETS[@]}"; } || return 1
    art="$BUILD/fuzz/artifacts"
    mkdir -p "$art"
    for t in "${FUZZ_TARGETS[@]}"; do
        work="$BUILD/fuzz/corpus/$t"
        mkdir -p "$work"
        log "fuzz $t: ${secs} s"
        # The region is ~390 KB; inputs stay small (patches, op lists).
        if "$BUILD/fuzz/bin/$t" -max_total_time="$secs" -timeout=10 \
            -rss_limit_mb=1024 -max_len=4096 -print_final_stats=1 \
            -artifact_prefix="$art/$t-" "$work" "$ROOT/tests/fuzz/corpus/$t" \
            >"$BUILD/fuzz/$t.log" 2>&1; then
            stats="$(grep -E '^#[0-9]+[[:space:]]+DONE' "$BUILD/fuzz/$t.log" | tail -n1)"
            log "fuzz $t: passed: ${stats:-?}"
        else
            tail -n 40 "$BUILD/fuzz/$t.log" >&2
            log "fuzz $t: FAILED (log $BUILD/fuzz/$t.log, input in $art)"
            rc=1
        fi
    done
    return "$rc"
}

cmd_fuzz() {
    local secs=60
    while [ $# -gt 0 ]; do
        case "$1" in
            --seconds) secs="${2:?--seconds needs a number}"; shift 2 ;;
            *) die "fuzz: unknown option '$1'" ;;
        esac
    done
    [[ "$secs" =~ ^[1-9][0-9]*$ ]] || die "fuzz: --seconds must be a positive integer"
    install_packages
    mkdir -p "$BUILD"
    test_fuzz "$secs"
}

# run_built PROGRAM [--windows] [ARGS...]: builds the preset quietly (the
# log is shown only on failure) and runs build/<preset>/bin/PROGRAM, the
# Windows build under wine with --windows.
run_built() {
    local program="$1" preset=linux exe
    shift
    if [ "${1:-}" = "--windows" ]; then
        shift
        preset=mingw
    fi
    exe="$BUILD/$preset/bin/$program"
    install_packages
    if [ "$preset" = mingw ]; then build_check_mingw; exe="$exe.exe"; fi
    mkdir -p "$BUILD"
    { configure "$preset" && build "$preset"; } >"$BUILD/$program-build.log" 2>&1 ||
        { cat "$BUILD/$program-build.log" >&2; die "building preset $preset failed"; }
    [ -f "$exe" ] || die "$exe was not built"
    if [ "$preset" = mingw ]; then
        exec "$ROOT/cmake/wine-run.sh" "$exe" "$@"
    fi
    exec "$exe" "$@"
}

cmd_clean() {
    "$ROOT/cmake/wine-stop.sh"
    local p
    for p in "${PRESETS[@]}" linux-asan linux-tsan fuzz; do rm -rf "${BUILD:?}/$p"; done
    rm -rf "$BUILD/.wine" "$BUILD/.wine.lock" "$BUILD/.wine-init.log" \
        "$BUILD"/ctest-*.log "$BUILD"/*-build.log
    if [ "${1:-}" = "--all" ]; then rm -rf "$BUILD"; fi
}

case "${1:-}" in
    "")    cmd_default ;;
    test)  shift; cmd_test "$@" ;;
    deps)  shift; deps ;;
    demo)  shift; run_built sharedemo "$@" ;;
    bench) shift; run_built shared_bench "$@" ;;
    fuzz)  shift; cmd_fuzz "$@" ;;
    clean) shift; cmd_clean "$@" ;;
    -h|--help|help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' ;;
    *)     die "unknown command '$1' (try ./build.sh help)" ;;
esac
