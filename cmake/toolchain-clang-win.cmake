# Cross toolchain: clang 14 targeting x86_64-w64-mingw32 with lld, on MinGW-w64
# headers and libraries. This is the MSVC source path: clang honours
# `#pragma data_seg(".shared")` with -fms-extensions and lld honours
# `#pragma comment(linker, "/SECTION:.shared,RWS")`.
# Usage: cmake -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-clang-win.cmake ...
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(MINGW_TRIPLE x86_64-w64-mingw32)
set(MINGW_SYSROOT /usr/${MINGW_TRIPLE})

find_program(CLANG_CC NAMES clang clang-14 REQUIRED)
find_program(CLANG_CXX NAMES clang++ clang++-14)
set(CMAKE_C_COMPILER "${CLANG_CC}")
set(CMAKE_C_COMPILER_TARGET ${MINGW_TRIPLE})
if(CLANG_CXX)
  set(CMAKE_CXX_COMPILER "${CLANG_CXX}")
  set(CMAKE_CXX_COMPILER_TARGET ${MINGW_TRIPLE})
endif()
find_program(MINGW_WINDRES NAMES ${MINGW_TRIPLE}-windres)
if(MINGW_WINDRES)
  set(CMAKE_RC_COMPILER "${MINGW_WINDRES}")
endif()
set(CMAKE_SYSROOT ${MINGW_SYSROOT})

# clang does not find the MinGW libgcc that Debian installs under
# /usr/lib/gcc/x86_64-w64-mingw32/12-posix: ask the MinGW gcc, pass it to lld.
find_program(MINGW_GCC NAMES ${MINGW_TRIPLE}-gcc-posix ${MINGW_TRIPLE}-gcc REQUIRED)
execute_process(COMMAND "${MINGW_GCC}" -print-libgcc-file-name
                OUTPUT_VARIABLE _mingw_libgcc OUTPUT_STRIP_TRAILING_WHITESPACE
                COMMAND_ERROR_IS_FATAL ANY)
get_filename_component(MINGW_LIBGCC_DIR "${_mingw_libgcc}" DIRECTORY)

set(CMAKE_C_FLAGS_INIT "-fms-extensions")
set(CMAKE_CXX_FLAGS_INIT "-fms-extensions")
foreach(_kind EXE SHARED MODULE)
  set(CMAKE_${_kind}_LINKER_FLAGS_INIT "-fuse-ld=lld -L${MINGW_LIBGCC_DIR}")
endforeach()

# Headers/libraries/packages only from the MinGW sysroot and CMAKE_PREFIX_PATH.
set(CMAKE_FIND_ROOT_PATH ${MINGW_SYSROOT} ${CMAKE_PREFIX_PATH})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
# pkg-config must not hand out the host's (Linux) libraries.
set(ENV{PKG_CONFIG_LIBDIR} "${MINGW_SYSROOT}/lib/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")

set(CMAKE_CROSSCOMPILING_EMULATOR "${CMAKE_CURRENT_LIST_DIR}/wine-run.sh")
