/*
 * text.c - printing values for people and for scripts.
 */
#include <errno.h>
#include <stdlib.h>

#include "text.h"

uint32_t text_utf8_seq(const unsigned char *p, uint32_t len)
{
    unsigned char c = p[0];
    uint32_t n, cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2, cp = c & 0x1fu;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3, cp = c & 0x0fu;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, cp = c & 0x07u;
    else
        return 0; /* a continuation byte, an overlong lead, or > U+10FFFF */
    if (n > len)
        return 0;
    for (uint32_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3fu);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
        (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
        return 0; /* overlong, a surrogate, or beyond Unicode */
    return n;
}

int text_is_utf8(const void *bytes, uint32_t len)
{
    const unsigned char *p = bytes;
    for (uint32_t i = 0; i < len;) {
        uint32_t n = text_utf8_seq(p + i, len - i);
        if (n == 0)
            return 0;
        i += n;
    }
    return 1;
}

static void base64(FILE *out, const unsigned char *p, uint32_t len)
{
    static const char k[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (uint32_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < len)
            v |= p[i + 2];
        fputc(k[v >> 18 & 63], out);
        fputc(k[v >> 12 & 63], out);
        fputc(i + 1 < len ? k[v >> 6 & 63] : '=', out);
        fputc(i + 2 < len ? k[v & 63] : '=', out);
    }
}

void text_json_string(FILE *out, const void *bytes, uint32_t len)
{
    const unsigned char *p = bytes;
    fputc('"', out);
    for (uint32_t i = 0; i < len; i++) {
        unsigned char c = p[i];
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", out);
        else if (c == '\t')
            fputs("\\t", out);
        else if (c < 0x20 || c == 0x7f)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out); /* UTF-8 passes through as is */
    }
    fputc('"', out);
}

void text_json_field(FILE *out, const char *name, const void *bytes,
                     uint32_t len)
{
    if (text_is_utf8(bytes, len)) {
        fprintf(out, "\"%s\":", name);
        text_json_string(out, bytes, len);
    } else {
        fprintf(out, "\"%s_base64\":\"", name);
        base64(out, bytes, len);
        fputc('"', out);
    }
}

void text_escaped(FILE *out, const void *bytes, uint32_t len, uint32_t max)
{
    const unsigned char *p = bytes;
    for (uint32_t i = 0; i < len;) {
        unsigned char c = p[i];
        uint32_t n = text_utf8_seq(p + i, len - i);
        if (i + (n ? n : 1) > max) {
            fputs("...", out);
            return;
        }
        /* U+0080..U+009F are control characters too. */
        if (n > 1 && !(n == 2 && c == 0xc2 && p[i + 1] < 0xa0)) {
            fwrite(p + i, 1, n, out);
            i += n;
            continue;
        }
        if (c == '\\')
            fputs("\\\\", out);
        else if (c < 0x20 || c >= 0x7f)
            fprintf(out, "\\x%02x", c);
        else
            fputc(c, out);
        i++;
    }
}

int text_parse_i64(const char *s, int64_t *out)
{
    char *end;
    if (!s || !*s)
        return -1;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = (int64_t)v;
    return 0;
}

int text_parse_u64(const char *s, uint64_t *out)
{
    char *end;
    if (!s || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = (uint64_t)v;
    return 0;
}
