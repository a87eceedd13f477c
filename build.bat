@echo off
rem build.bat: build, test, run and install shared with MSVC, from a Visual
rem Studio Developer Command Prompt (x64 or x86). The Windows counterpart of
rem build.sh; it drives the CMake presets msvc and msvc-x86 (Ninja, cl.exe).
rem
rem   build.bat                  configure + build (build\msvc or build\msvc-x86)
rem   build.bat test             build with the tests + run them (ctest)
rem   build.bat demo [ARGS...]   build + run sharedemo (4 worker processes)
rem   build.bat bench [ARGS...]  build + run shared_bench
rem   build.bat install [DIR]    build + cmake --install (default build\install-PRESET)
rem   build.bat clean            remove build\msvc and build\msvc-x86
rem   build.bat help             this text
rem
rem   x86 or --x86 before the verb selects msvc-x86 (build.bat x86 test); by
rem   default the prompt's target decides (VSCMD_ARG_TGT_ARCH=x86: msvc-x86).
rem   The tests need Check (find_package(check)): e.g. vcpkg install
rem   check:x64-windows, then set CMAKE_PREFIX_PATH=<vcpkg>\installed\x64-windows.
rem   Exit code: 0 on success, else the failing step's code.
rem
rem Written for the subset of batch that both Windows' cmd and Wine's cmd run
rem the same way: no && or ||, no where, no goto inside for.
setlocal EnableDelayedExpansion

set "ROOT=%~dp0"
set "ROOT=%ROOT:~0,-1%"
set "PRESET=msvc"
if /i "%VSCMD_ARG_TGT_ARCH%"=="x86" set "PRESET=msvc-x86"
set "VERB="
set "ARGS="
set "FIRST_ARG="

:parse_options
if /i "%~1"=="x86" (
    set "PRESET=msvc-x86"
    shift
    goto parse_options
)
if /i "%~1"=="--x86" (
    set "PRESET=msvc-x86"
    shift
    goto parse_options
)
if "%~1"=="" goto parsed
set "VERB=%~1"
shift

:parse_args
if "%~1"=="" goto parsed
if "!ARGS!"=="" set "FIRST_ARG=%~1"
set "ARGS=!ARGS! %1"
shift
goto parse_args

:parsed
if "%VERB%"=="" set "VERB=build"
set "BUILD_DIR=%ROOT%\build\%PRESET%"
set "BIN=%BUILD_DIR%\bin"

if /i "%VERB%"=="build" goto verb_build
if /i "%VERB%"=="test" goto verb_test
if /i "%VERB%"=="demo" goto verb_demo
if /i "%VERB%"=="bench" goto verb_bench
if /i "%VERB%"=="install" goto verb_install
if /i "%VERB%"=="clean" goto verb_clean
if /i "%VERB%"=="help" goto verb_help
if /i "%VERB%"=="-h" goto verb_help
if /i "%VERB%"=="--help" goto verb_help
if /i "%VERB%"=="/?" goto verb_help
echo build.bat: unknown command '%VERB%' (try build.bat help) 1>&2
exit /b 2

:verb_help
echo build.bat: build, test, run and install shared with MSVC
echo.
echo   build.bat                  configure + build (build\msvc or build\msvc-x86)
echo   build.bat test             build with the tests + run them (ctest)
echo   build.bat demo [ARGS...]   build + run sharedemo (4 worker processes)
echo   build.bat bench [ARGS...]  build + run shared_bench
echo   build.bat install [DIR]    build + cmake --install (default build\install-PRESET)
echo   build.bat clean            remove build\msvc and build\msvc-x86
echo   build.bat help             this text
echo.
echo   Run it in a Visual Studio Developer Command Prompt ("x64 Native Tools
echo   Command Prompt", or "x86 Native Tools" for 32-bit). x86 or --x86 before
echo   the command selects preset msvc-x86 (build.bat x86 test); otherwise the
echo   prompt's target (VSCMD_ARG_TGT_ARCH) decides. Tests need Check: e.g.
echo   vcpkg install check:x64-windows and set CMAKE_PREFIX_PATH to
echo   ^<vcpkg^>\installed\x64-windows.
exit /b 0

:verb_clean
if exist "%ROOT%\build\msvc" rmdir /s /q "%ROOT%\build\msvc"
if exist "%ROOT%\build\msvc-x86" rmdir /s /q "%ROOT%\build\msvc-x86"
echo build.bat: removed build\msvc and build\msvc-x86
exit /b 0

:verb_build
call :build OFF
exit /b !ERRORLEVEL!

:verb_test
call :build ON
if not "!ERRORLEVEL!"=="0" exit /b !ERRORLEVEL!
echo ==^> %PRESET%: ctest
ctest --preset %PRESET%
set "RC=!ERRORLEVEL!"
if not "!RC!"=="0" goto test_failed
echo build.bat: all tests passed, preset %PRESET%
exit /b 0
:test_failed
echo build.bat: tests FAILED, preset %PRESET%, ctest exit code !RC! 1>&2
exit /b !RC!

:verb_demo
call :build OFF
if not "!ERRORLEVEL!"=="0" exit /b !ERRORLEVEL!
"%BIN%\sharedemo.exe" !ARGS!
exit /b !ERRORLEVEL!

:verb_bench
call :build OFF
if not "!ERRORLEVEL!"=="0" exit /b !ERRORLEVEL!
"%BIN%\shared_bench.exe" !ARGS!
exit /b !ERRORLEVEL!

:verb_install
call :build OFF
if not "!ERRORLEVEL!"=="0" exit /b !ERRORLEVEL!
set "DEST=%ROOT%\build\install-%PRESET%"
if not "!FIRST_ARG!"=="" set "DEST=!FIRST_ARG!"
echo ==^> %PRESET%: install into !DEST!
cmake --install "%BUILD_DIR%" --prefix "!DEST!"
exit /b !ERRORLEVEL!

rem ---------------------------------------------------------------- helpers

rem :build ON|OFF - check the prompt, configure (BUILD_TESTING=%1), build.
:build
call :need_tools
if not "!ERRORLEVEL!"=="0" exit /b !ERRORLEVEL!
rem A developer prompt has rc.exe; without one (the Wine stand-in has none)
rem the build says so and leaves the VERSIONINFO resource out.
set "VERINFO=ON"
set "FOUND="
for %%i in (rc.exe) do set "FOUND=%%~$PATH:i"
if "!FOUND!"=="" (
    echo build.bat: rc.exe is not on PATH: building without the VERSIONINFO resource 1>&2
    set "VERINFO=OFF"
)
echo ==^> %PRESET%: configure
cmake --preset %PRESET% -DBUILD_TESTING=%1 -DSHARED_VERSIONINFO=!VERINFO!
if not "!ERRORLEVEL!"=="0" (
    echo build.bat: configuring preset %PRESET% failed 1>&2
    exit /b 1
)
echo ==^> %PRESET%: build
cmake --build --preset %PRESET%
if not "!ERRORLEVEL!"=="0" (
    echo build.bat: building preset %PRESET% failed 1>&2
    exit /b 1
)
exit /b 0

rem :need_tools - cl.exe, cmake and ninja on PATH, and a prompt for the
rem preset's architecture; otherwise say what to do.
:need_tools
set "FOUND="
for %%i in (cl.exe) do set "FOUND=%%~$PATH:i"
if "!FOUND!"=="" goto no_cl
set "FOUND="
for %%i in (cmake.exe) do set "FOUND=%%~$PATH:i"
if "!FOUND!"=="" goto no_cmake
set "FOUND="
for %%i in (ninja.exe) do set "FOUND=%%~$PATH:i"
if "!FOUND!"=="" goto no_ninja
if /i "%PRESET%-%VSCMD_ARG_TGT_ARCH%"=="msvc-x86-x64" goto wrong_prompt
if /i "%PRESET%-%VSCMD_ARG_TGT_ARCH%"=="msvc-x86" goto wrong_prompt
exit /b 0

:no_cl
echo build.bat: cl.exe is not on PATH, so this is not a Visual Studio 1>&2
echo Developer Command Prompt. Open "x64 Native Tools Command Prompt for VS 2022" 1>&2
echo from the Start menu (or "x86 Native Tools Command Prompt" for 32-bit), or 1>&2
echo run vcvars64.bat (vcvars32.bat for x86) of your Visual Studio in this 1>&2
echo window, e.g. 1>&2
echo   "C:\Program Files\Microsoft Visual Studio\2022\Community\VC\Auxiliary\Build\vcvars64.bat" 1>&2
echo then run build.bat again. 1>&2
exit /b 9009

:no_cmake
echo build.bat: cmake is not on PATH. Visual Studio ships it with the component 1>&2
echo "C++ CMake tools for Windows" (Visual Studio Installer, Modify, Desktop 1>&2
echo development with C++); or install CMake 3.25 or newer and add it to PATH. 1>&2
exit /b 9009

:no_ninja
echo build.bat: ninja is not on PATH. Visual Studio ships it with the component 1>&2
echo "C++ CMake tools for Windows"; or put ninja.exe on PATH. 1>&2
exit /b 9009

:wrong_prompt
echo build.bat: preset %PRESET% does not match this prompt, which targets 1>&2
echo %VSCMD_ARG_TGT_ARCH%. Use an x86 Native Tools prompt for msvc-x86 (build.bat 1>&2
echo x86 ...) and an x64 one for msvc. 1>&2
exit /b 1
