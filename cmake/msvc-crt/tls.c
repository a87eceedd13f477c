/*
 * tls.c - the TLS directory the MSVC runtime's tlssup.obj provides: the
 * linker points the image's TLS data directory at `_tls_used`, and the
 * compiler's `_Thread_local` accesses index the thread's TLS array with
 * `_tls_index`. Wine's ucrtbase exports neither (they are static in MSVC's
 * msvcrt.lib), so the clang-cl toolchain links this object.
 */
#include <windows.h>

ULONG _tls_index = 0;

/* The compiler places thread-local data in .tls$ (sorted between these). */
#pragma section(".tls", read, write)
#pragma section(".tls$ZZZ", read, write)
__declspec(allocate(".tls")) char _tls_start = 0;
__declspec(allocate(".tls$ZZZ")) char _tls_end = 0;

/* TLS callbacks: none, but the list must be bracketed and NULL-terminated. */
#pragma section(".CRT$XLA", long, read)
#pragma section(".CRT$XLZ", long, read)
__declspec(allocate(".CRT$XLA")) PIMAGE_TLS_CALLBACK __xl_a = 0;
__declspec(allocate(".CRT$XLZ")) PIMAGE_TLS_CALLBACK __xl_z = 0;

#pragma section(".rdata$T", read)
__declspec(allocate(".rdata$T")) const IMAGE_TLS_DIRECTORY _tls_used = {
    (ULONG_PTR)&_tls_start,
    (ULONG_PTR)&_tls_end,
    (ULONG_PTR)&_tls_index,
    (ULONG_PTR)(&__xl_a + 1),
    0,
    0};
