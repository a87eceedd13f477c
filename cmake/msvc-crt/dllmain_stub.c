/*
 * dllmain_stub.c - the DllMain of a DLL that defines none, as in MSVC's
 * msvcrt.lib (an archive member: linked only when DllMain is missing).
 */
#include <windows.h>

BOOL WINAPI DllMain(HINSTANCE dll, DWORD reason, LPVOID reserved)
{
    (void)dll;
    (void)reason;
    (void)reserved;
    return TRUE;
}
