/*
 * text.h - printing values for people and for scripts (sharectl).
 */
#ifndef SHARED_HOST_TEXT_H
#define SHARED_HOST_TEXT_H

#include <stdint.h>
#include <stdio.h>

/* Prints bytes as a JSON string literal (quotes included). Bytes outside
 * printable ASCII become \u00XX, so every byte string round-trips. */
void text_json_string(FILE *out, const void *bytes, uint32_t len);

/* Prints bytes for a person: printable ASCII as is, everything else as
 * \xHH (and backslash as \\). At most `max` bytes, then "...". */
void text_escaped(FILE *out, const void *bytes, uint32_t len, uint32_t max);

/* Parses a whole decimal int64 / uint64; 0 on success, -1 if not one. */
int text_parse_i64(const char *s, int64_t *out);
int text_parse_u64(const char *s, uint64_t *out);

#endif /* SHARED_HOST_TEXT_H */
