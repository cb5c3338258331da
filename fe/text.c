/*
 * Terminal-safe text (RELIABILITY-NOTES T1, T2, T4): C0 controls become
 * the Control Pictures U+2400..U+241F (so ESC shows as U+241B), DEL U+2421,
 * C1 controls, bidi overrides and isolates, and invalid UTF-8 (each
 * maximal bad subpart) become U+FFFD.
 */
#include "config.h"

#include "text.h"

#include <stdint.h>
#include <string.h>

#include "xmalloc.h"
#include "utf8.h"

static size_t
put_cp(char *o, uint32_t c)
{
	if (c < 0x80) {
		o[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		o[0] = (char)(0xC0 | c >> 6);
		o[1] = (char)(0x80 | (c & 0x3F));
		return 2;
	}
	if (c < 0x10000) {
		o[0] = (char)(0xE0 | c >> 12);
		o[1] = (char)(0x80 | ((c >> 6) & 0x3F));
		o[2] = (char)(0x80 | (c & 0x3F));
		return 3;
	}
	o[0] = (char)(0xF0 | c >> 18);
	o[1] = (char)(0x80 | ((c >> 12) & 0x3F));
	o[2] = (char)(0x80 | ((c >> 6) & 0x3F));
	o[3] = (char)(0x80 | (c & 0x3F));
	return 4;
}

/* The code point shown instead of c, or c itself. */
static uint32_t
visible(uint32_t c)
{
	if (c == '\n' || c == '\t')
		return c;
	if (c < 0x20)
		return 0x2400 + c;
	if (c == 0x7F)
		return 0x2421;
	if (c >= 0x80 && c <= 0x9F)
		return 0xFFFD;
	if ((c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069) ||
	    c == 0x200E || c == 0x200F || c == 0x061C)
		return 0xFFFD;
	if (c >= 0xE0000 && c <= 0xE007F)	/* tag characters */
		return 0xFFFD;
	return c;
}

/* A sanitized copy of s[0..len); caller frees. */
char *
text_sanitize(const char *s, size_t len, size_t *out_len)
{
	char			*out;
	size_t			 i = 0, o = 0, n;
	uint32_t		 c;

	/* Every input byte becomes at most 3 output bytes. */
	out = xreallocarray(NULL, len + 1, 3);
	while (i < len) {
		if ((n = utf8_char(s + i, len - i, &c)) == 0) {
			n = utf8_bad_len(s + i, len - i);
			c = 0xFFFD;
		}
		o += put_cp(out + o, visible(c));
		i += n;
	}
	out[o] = '\0';
	if (out_len != NULL)
		*out_len = o;
	return out;
}
