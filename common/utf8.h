/*
 * UTF-8 checks for both sides, on utf8proc: one character, a whole
 * buffer, the start of a character arriving byte by byte, and the
 * maximal invalid subpart that one U+FFFD replaces (Unicode 3.9).
 */
#ifndef YT_COMMON_UTF8_H
#define YT_COMMON_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* The length of the valid character at s (n bytes there), with its code
 * point in *cp; 0 if the bytes start no valid character. */
size_t	utf8_char(const char *s, size_t n, uint32_t *cp);
/* Whether s[0..n) is all valid UTF-8 (no overlong forms, surrogates or
 * code points beyond U+10FFFF). */
int	utf8_valid(const char *s, size_t n);
/* The length of a character whose first byte is b (1 for ASCII); 0 if
 * no character starts with b. */
int	utf8_lead_len(unsigned char b);
/* Whether s[0..k) (k >= 1) is the start, or the whole, of a valid
 * character. */
int	utf8_prefix_ok(const char *s, size_t k);
/* The bytes at s (n of them, n >= 1) that one U+FFFD replaces when they
 * start no valid character: the maximal invalid subpart, at least 1. */
size_t	utf8_bad_len(const char *s, size_t n);

#endif
