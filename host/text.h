/*
 * text.h - printing values for people and for scripts (sharectl).
 */
#ifndef SHARED_HOST_TEXT_H
#define SHARED_HOST_TEXT_H

#include <stdint.h>
#include <stdio.h>

/* Length of the valid UTF-8 sequence at p (1 for ASCII), 0 if invalid. */
uint32_t text_utf8_seq(const unsigned char *p, uint32_t len);

/* 1 if the bytes are valid UTF-8 (no overlongs, surrogates, > U+10FFFF). */
int text_is_utf8(const void *bytes, uint32_t len);

/* Prints UTF-8 text as a JSON string literal (quotes included): only quote,
 * backslash and control characters are escaped; the rest is written as is. */
void text_json_string(FILE *out, const void *bytes, uint32_t len);

/* Prints a JSON member: "name":"text" when the bytes are valid UTF-8, else
 * "name_base64":"..." (standard base64, padded), so every byte string
 * round-trips and the output is always valid UTF-8. */
void text_json_field(FILE *out, const char *name, const void *bytes,
                     uint32_t len);

/* Prints bytes for a person: printable ASCII and valid UTF-8 text as is,
 * control characters and invalid bytes as \xHH (and backslash as \\). At
 * most `max` bytes, then "...". */
void text_escaped(FILE *out, const void *bytes, uint32_t len, uint32_t max);

/* Parses a whole decimal int64 / uint64; 0 on success, -1 if not one. */
int text_parse_i64(const char *s, int64_t *out);
int text_parse_u64(const char *s, uint64_t *out);

#endif /* SHARED_HOST_TEXT_H */
