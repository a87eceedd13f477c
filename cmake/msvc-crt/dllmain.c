/*
 * dllmain.c - `_DllMainCRTStartup`, a DLL's entry point in MSVC's
 * msvcrt.lib, for the clang-cl toolchain on Wine's ucrtbase (which has
 * none). The C runtime is ucrtbase.dll, initialised by its own DllMain, so
 * the entry point only forwards to the DLL's DllMain.
 */
#include <windows.h>

BOOL WINAPI DllMain(HINSTANCE dll, DWORD reason, LPVOID reserved);

BOOL WINAPI _DllMainCRTStartup(HINSTANCE dll, DWORD reason, LPVOID reserved)
{
    return DllMain(dll, reason, reserved);
}
