/*
 * gs.c - the /GS stack-cookie pieces of MSVC's runtime (gs_cookie.obj,
 * gs_support.obj) for the clang-cl toolchain on Wine's ucrtbase. Compiled
 * with /GS- itself: these functions must not check a cookie.
 */
#include <windows.h>

/* MSVC's default value. Fixed: nothing here randomises it at start-up as
 * MSVC's CRT does (a test stand-in, not a hardening feature). */
UINT_PTR __security_cookie = 0x00002B992DDFA232ull;
UINT_PTR __security_cookie_complement = ~0x00002B992DDFA232ull;

void __cdecl __security_check_cookie(UINT_PTR cookie)
{
    if (cookie != __security_cookie)
        __fastfail(FAST_FAIL_STACK_COOKIE_CHECK_FAILURE);
}
