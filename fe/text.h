/*
 * Text from untrusted places (model output, session files) made safe for
 * a terminal: control characters, escape sequences and bidi overrides
 * become visible placeholders, invalid UTF-8 becomes U+FFFD.
 */
#ifndef YT_FE_TEXT_H
#define YT_FE_TEXT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* A sanitized copy of s[0..len) (caller frees); newlines and tabs are
 * kept.  *out_len (may be NULL) receives its length. */
char	*text_sanitize(const char *s, size_t len, size_t *out_len);
/* s (NULL: "-") sanitized for one line: newlines and tabs shown too
 * (caller frees). */
char	*text_line(const char *s);
char	*text_line_n(const char *s, size_t len);
/* JSON text with every unsafe character escaped (caller frees). */
char	*text_json(const char *js);
/* printf to f, the result sanitized (newlines kept). */
void	 text_say(FILE *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/* Whether code point c must not reach a terminal raw. */
int	 text_unsafe(uint32_t c);

#endif
