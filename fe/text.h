/*
 * Text from untrusted places (model output, session files) made safe for
 * a terminal: control characters, escape sequences and bidi overrides
 * become visible placeholders, invalid UTF-8 becomes U+FFFD.
 */
#ifndef YT_FE_TEXT_H
#define YT_FE_TEXT_H

#include <stddef.h>

/* A sanitized copy of s[0..len) (caller frees); newlines and tabs are
 * kept.  *out_len (may be NULL) receives its length. */
char	*text_sanitize(const char *s, size_t len, size_t *out_len);

#endif
