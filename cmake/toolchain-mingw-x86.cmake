# Cross toolchain: MinGW-w64 GCC for 32-bit Windows (Debian's
# gcc-mingw-w64-i686-posix), i686 target; tests run under wine via wine-run.sh
# (Debian's wine32 behind wine64: a 64-bit prefix runs 32-bit programs).
# Usage: cmake -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-mingw-x86.cmake ...
# Everything else is the x86-64 toolchain's, for this triple.
set(CMAKE_SYSTEM_PROCESSOR i686)
set(MINGW_TRIPLE i686-w64-mingw32)
include(${CMAKE_CURRENT_LIST_DIR}/toolchain-mingw.cmake)
