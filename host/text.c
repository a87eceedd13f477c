/*
 * text.c - printing values for people and for scripts.
 */
#include <errno.h>
#include <stdlib.h>

#include "text.h"

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
        else if (c < 0x20 || c >= 0x7f)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

void text_escaped(FILE *out, const void *bytes, uint32_t len, uint32_t max)
{
    const unsigned char *p = bytes;
    for (uint32_t i = 0; i < len; i++) {
        if (i == max) {
            fputs("...", out);
            return;
        }
        unsigned char c = p[i];
        if (c == '\\')
            fputs("\\\\", out);
        else if (c < 0x20 || c >= 0x7f)
            fprintf(out, "\\x%02x", c);
        else
            fputc(c, out);
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
