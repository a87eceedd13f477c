/*
 * atexit.c - `atexit` for programs of the clang-cl toolchain on Wine's
 * ucrtbase. MSVC's runtime implements atexit in the static startup code it
 * links into every program; ucrtbase.dll does not export it. It exports
 * _crt_atexit, which registers in the process's exit table, the one exit()
 * runs. Wine's <stdlib.h> declares atexit __declspec(dllimport), so callers
 * reach it through the import pointer __imp_atexit, defined here as well.
 * For programs only: a DLL's atexit must run at its unload (MSVC keeps a
 * table per DLL), and shared.dll uses none.
 */
typedef void(__cdecl *exit_fn)(void);

__declspec(dllimport) int __cdecl _crt_atexit(exit_fn fn);

int __cdecl atexit(exit_fn fn)
{
    return _crt_atexit(fn);
}

int(__cdecl *__imp_atexit)(exit_fn) = atexit;
