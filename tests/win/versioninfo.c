/*
 * versioninfo.c - reads a file's VERSIONINFO resource for test_version.c:
 * the fixed file version, the ProductName and FileVersion strings of the
 * U.S. English / Unicode block.
 */
#include <windows.h>

#include <stdio.h>
#include <stdlib.h>

/* Copies the string value NAME of block 040904B0 as UTF-8; 0 on success. */
static int string_value(const void *data, const wchar_t *name, char *out,
                        size_t cap)
{
    wchar_t query[128];
    wchar_t *value = NULL;
    UINT len = 0;
    _snwprintf(query, sizeof query / sizeof query[0],
               L"\\StringFileInfo\\040904B0\\%ls", name);
    query[sizeof query / sizeof query[0] - 1] = L'\0';
    if (!VerQueryValueW(data, query, (void **)&value, &len) || !value)
        return -1;
    int n =
        WideCharToMultiByte(CP_UTF8, 0, value, -1, out, (int)cap, NULL, NULL);
    return n > 0 ? 0 : -1;
}

int versioninfo_read(const char *path, unsigned file_version[4], char *product,
                     size_t product_cap, char *file_ver_text, size_t text_cap)
{
    wchar_t wpath[MAX_PATH];
    if (!MultiByteToWideChar(CP_ACP, 0, path, -1, wpath, MAX_PATH))
        return -1;
    DWORD ignored = 0;
    DWORD size = GetFileVersionInfoSizeW(wpath, &ignored);
    if (size == 0)
        return -1;
    void *data = malloc(size);
    int rc = -1;
    VS_FIXEDFILEINFO *fixed = NULL;
    UINT len = 0;
    if (data && GetFileVersionInfoW(wpath, 0, size, data) &&
        VerQueryValueW(data, L"\\", (void **)&fixed, &len) && fixed &&
        len >= sizeof *fixed && fixed->dwSignature == 0xFEEF04BDu) {
        file_version[0] = HIWORD(fixed->dwFileVersionMS);
        file_version[1] = LOWORD(fixed->dwFileVersionMS);
        file_version[2] = HIWORD(fixed->dwFileVersionLS);
        file_version[3] = LOWORD(fixed->dwFileVersionLS);
        if (string_value(data, L"ProductName", product, product_cap) == 0 &&
            string_value(data, L"FileVersion", file_ver_text, text_cap) == 0)
            rc = 0;
    }
    free(data);
    return rc;
}
