/*
 * forward.c - cl.exe, link.exe and lib.exe for the build.bat test under
 * Wine: each forwards its command line, unchanged, to zig.exe (LLVM's
 * clang-cl, lld-link and llvm-lib built for Windows), which stands in for
 * MSVC's tools. Test tools only: the product never depends on them.
 *
 * Built by build.sh with MinGW, once per tool (FORWARD_CL, FORWARD_LINK,
 * FORWARD_LIB). zig.exe is found at
 * <this exe's folder>\..\node_modules\@oven\zig-win32-x64\zig.exe (npm's
 * layout under build/deps/wintools). Exits with the tool's exit code.
 */
#include <stdio.h>
#include <stdlib.h>
#include <wchar.h>
#include <windows.h>

#if !defined(FORWARD_CL) && !defined(FORWARD_LINK) && !defined(FORWARD_LIB)
#  error "define FORWARD_CL, FORWARD_LINK or FORWARD_LIB"
#endif

#define ZIG_REL L"..\\node_modules\\@oven\\zig-win32-x64"

/* The command line after argv[0], as the caller wrote it. */
static const wchar_t *args_after_program(const wchar_t *cmd)
{
    int quoted = 0;
    while (*cmd && (quoted || (*cmd != L' ' && *cmd != L'\t'))) {
        if (*cmd == L'"')
            quoted = !quoted;
        cmd++;
    }
    while (*cmd == L' ' || *cmd == L'\t')
        cmd++;
    return cmd;
}

int main(void)
{
    wchar_t self[MAX_PATH], zig[MAX_PATH + 64];
    DWORD n = GetModuleFileNameW(NULL, self, MAX_PATH);
    if (n == 0 || n >= MAX_PATH) {
        fprintf(stderr, "forward: cannot find my own path\n");
        return 1;
    }
    wchar_t *slash = wcsrchr(self, L'\\');
    if (!slash) {
        fprintf(stderr, "forward: odd path of my own\n");
        return 1;
    }
    *slash = 0;
    swprintf(zig, MAX_PATH + 64, L"%ls\\" ZIG_REL, self);

    const wchar_t *rest = args_after_program(GetCommandLineW());
    size_t cap = wcslen(zig) * 2 + wcslen(rest) + 128;
    wchar_t *line = malloc(cap * sizeof *line);
    if (!line) {
        fprintf(stderr, "forward: out of memory\n");
        return 1;
    }
#if defined(FORWARD_CL)
    /* clang's own headers (stdatomic.h, ...) are in zig's lib\include. */
    swprintf(line, cap,
             L"\"%ls\\zig.exe\" clang --driver-mode=cl -resource-dir "
             L"\"%ls\\lib\" %ls",
             zig, zig, rest);
#elif defined(FORWARD_LINK)
    /* msvc-crt.lib: the runtime pieces MSVC's msvcrt.lib has and Wine's
     * ucrtbase lacks (cmake/msvc-crt), found through %LIB%. */
    swprintf(line, cap, L"\"%ls\\zig.exe\" lld-link /defaultlib:msvc-crt %ls",
             zig, rest);
#else
    swprintf(line, cap, L"\"%ls\\zig.exe\" lib %ls", zig, rest);
#endif

    STARTUPINFOW si = {.cb = sizeof si};
    PROCESS_INFORMATION pi;
    if (!CreateProcessW(NULL, line, NULL, NULL, TRUE, 0, NULL, NULL, &si,
                        &pi)) {
        fprintf(stderr, "forward: cannot start %ls\\zig.exe (error %lu)\n", zig,
                GetLastError());
        return 1;
    }
    WaitForSingleObject(pi.hProcess, INFINITE);
    DWORD code = 1;
    GetExitCodeProcess(pi.hProcess, &code);
    CloseHandle(pi.hProcess);
    CloseHandle(pi.hThread);
    return (int)code;
}
