# Cross toolchain: the MSVC ABI on Linux. clang-cl (the cl.exe-compatible
# driver: _MSC_VER defined, MSVC flags, MSVC object layout) and lld-link (the
# link.exe-compatible linker), with Wine's Windows headers and import
# libraries standing in for the Windows SDK and the MSVC runtime (Debian's
# clang-tools-14, lld-14 and libwine-dev). Tests run under wine-run.sh.
#
# The SDK folder (default <repo>/build/deps/winsdk, or -DSHARED_WINSDK=DIR)
# is made by build.sh (prepare_winsdk): lib/<name>.lib links to Wine's
# lib<name>.a (msvcrt.lib is Wine's ucrtbase, as /MD means in MSVC 2015+),
# an empty oldnames.lib, and msvc-crt.lib, the few runtime pieces that MSVC's
# static msvcrt.lib provides and Wine's ucrtbase does not (cmake/msvc-crt).
# Usage: cmake -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-clang-cl.cmake ...
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR AMD64)

set(_llvm_hints /usr/lib/llvm-14/bin)
find_program(CLANG_CL NAMES clang-cl clang-cl-14 HINTS ${_llvm_hints} REQUIRED)
find_program(LLD_LINK NAMES lld-link lld-link-14 HINTS ${_llvm_hints} REQUIRED)
find_program(LLVM_LIB NAMES llvm-lib llvm-lib-14 HINTS ${_llvm_hints} REQUIRED)
find_program(LLVM_RC NAMES llvm-rc llvm-rc-14 HINTS ${_llvm_hints})
set(CMAKE_C_COMPILER "${CLANG_CL}")
set(CMAKE_CXX_COMPILER "${CLANG_CL}")
set(CMAKE_LINKER "${LLD_LINK}")
set(CMAKE_AR "${LLVM_LIB}")
if(LLVM_RC)
  set(CMAKE_RC_COMPILER "${LLVM_RC}")
endif()

# Wine's SDK: headers of the Windows API and of the C runtime (ucrt-style).
set(WINE_INCLUDE /usr/include/wine/wine)
if(NOT EXISTS ${WINE_INCLUDE}/windows/windows.h)
  message(FATAL_ERROR "Wine's SDK headers are missing: apt-get install "
                      "libwine-dev (or ./build.sh deps)")
endif()
if(NOT SHARED_WINSDK)
  get_filename_component(SHARED_WINSDK
    "${CMAKE_CURRENT_LIST_DIR}/../build/deps/winsdk" ABSOLUTE)
endif()
set(SHARED_WINSDK "${SHARED_WINSDK}" CACHE PATH
    "SDK folder of the clang-cl toolchain (import libraries, msvc-crt.lib)")
if(NOT EXISTS ${SHARED_WINSDK}/lib/msvc-crt.lib)
  message(FATAL_ERROR "${SHARED_WINSDK}/lib/msvc-crt.lib is missing: "
                      "./build.sh deps makes the clang-cl SDK folder")
endif()
# try_compile projects re-read this file: hand them the folder.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES SHARED_WINSDK)

# The runtime is ucrtbase in every configuration (Wine has no debug ucrt, and
# no /RTC support): checks of the compiler build Release.
set(CMAKE_MSVC_RUNTIME_LIBRARY MultiThreadedDLL)
set(CMAKE_TRY_COMPILE_CONFIGURATION Release)

set(_inc "/imsvc ${WINE_INCLUDE}/msvcrt /imsvc ${WINE_INCLUDE}/windows")
set(CMAKE_C_FLAGS_INIT "${_inc}")
set(CMAKE_CXX_FLAGS_INIT "${_inc}")
set(CMAKE_RC_FLAGS_INIT "/I ${WINE_INCLUDE}/windows")

# lld-link: the SDK folder; the runtime pieces; no manifest tool (CMake asks
# link.exe for a manifest, which Wine's SDK cannot embed). Executables start
# at ucrtbase's mainCRTStartup (a static member of Wine's libucrtbase.a);
# DLLs at msvc-crt.lib's _DllMainCRTStartup.
set(_link "/libpath:${SHARED_WINSDK}/lib /defaultlib:msvc-crt /manifest:no")
set(CMAKE_EXE_LINKER_FLAGS_INIT "${_link} /entry:mainCRTStartup")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "${_link}")
set(CMAKE_MODULE_LINKER_FLAGS_INIT "${_link}")

set(CMAKE_FIND_ROOT_PATH ${SHARED_WINSDK} ${CMAKE_PREFIX_PATH})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(ENV{PKG_CONFIG_LIBDIR} "${SHARED_WINSDK}/lib/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")

set(CMAKE_CROSSCOMPILING_EMULATOR "${CMAKE_CURRENT_LIST_DIR}/wine-run.sh")
