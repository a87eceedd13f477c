# Cross toolchain: MinGW-w64 GCC (Debian's gcc-mingw-w64-x86-64-posix),
# Windows x86-64 target, tests run under wine via wine-run.sh.
# Usage: cmake -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-mingw.cmake ...
# toolchain-mingw-x86.cmake sets MINGW_TRIPLE (i686) and includes this file.
set(CMAKE_SYSTEM_NAME Windows)
if(NOT MINGW_TRIPLE)
  set(CMAKE_SYSTEM_PROCESSOR x86_64)
  set(MINGW_TRIPLE x86_64-w64-mingw32)
endif()
set(MINGW_SYSROOT /usr/${MINGW_TRIPLE})

# Prefer the posix-thread-model compilers (winpthread); Debian's default
# alternative for the plain name is the win32 thread model.
find_program(MINGW_GCC NAMES ${MINGW_TRIPLE}-gcc-posix ${MINGW_TRIPLE}-gcc REQUIRED)
find_program(MINGW_GXX NAMES ${MINGW_TRIPLE}-g++-posix ${MINGW_TRIPLE}-g++)
find_program(MINGW_WINDRES NAMES ${MINGW_TRIPLE}-windres)
set(CMAKE_C_COMPILER "${MINGW_GCC}")
if(MINGW_GXX)
  set(CMAKE_CXX_COMPILER "${MINGW_GXX}")
endif()
if(MINGW_WINDRES)
  set(CMAKE_RC_COMPILER "${MINGW_WINDRES}")
endif()

# Headers/libraries/packages only from the MinGW sysroot and from the prefixes
# given in CMAKE_PREFIX_PATH (e.g. build/deps/check-mingw); programs from the host.
set(CMAKE_FIND_ROOT_PATH ${MINGW_SYSROOT} ${CMAKE_PREFIX_PATH})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
# pkg-config must not hand out the host's (Linux) libraries.
set(ENV{PKG_CONFIG_LIBDIR} "${MINGW_SYSROOT}/lib/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")

# ctest (and add_custom_command on targets) run .exe files through wine.
set(CMAKE_CROSSCOMPILING_EMULATOR "${CMAKE_CURRENT_LIST_DIR}/wine-run.sh")
