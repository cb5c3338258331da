/*
 * Terminal-safe text (RELIABILITY-NOTES T1, T2, T4), the one sanitizer
 * for everything that reaches a terminal or a file meant for people: C0
 * controls become the Control Pictures U+2400..U+241F (so ESC shows as
 * U+241B), DEL U+2421, C1 controls, bidi overrides and isolates, tag
 * characters, zero-width spaces and separators, and invalid UTF-8 (each
 * maximal bad subpart) become U+FFFD.  JSON output gets them escaped.
 */
#include "config.h"

#include "text.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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

/*
 * Whether c must never reach a terminal or a file meant for people as it
 * is: C0 controls, DEL, C1 controls, bidi embeddings, overrides, isolates
 * and marks, tag characters, the zero-width space, the line and paragraph
 * separators and the byte-order mark.  (Zero-width joiners, which emoji
 * sequences need, stay on screen; JSON escapes them too.)
 */
int
text_unsafe(uint32_t c)
{
	return c < 0x20 || c == 0x7F || (c >= 0x80 && c <= 0x9F) ||
	    (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069) ||
	    c == 0x200B || c == 0x200E || c == 0x200F || c == 0x061C ||
	    c == 0x2028 || c == 0x2029 || c == 0xFEFF ||
	    (c >= 0xE0000 && c <= 0xE007F);
}

/* The code point shown instead of c, or c itself; newlines and tabs are
 * kept unless one_line. */
static uint32_t
visible(uint32_t c, int one_line)
{
	if ((c == '\n' || c == '\t') && !one_line)
		return c;
	if (!text_unsafe(c))
		return c;
	if (c < 0x20)
		return 0x2400 + c;
	if (c == 0x7F)
		return 0x2421;
	return 0xFFFD;
}

static char *
sanitize(const char *s, size_t len, size_t *out_len, int one_line)
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
		o += put_cp(out + o, visible(c, one_line));
		i += n;
	}
	out[o] = '\0';
	if (out_len != NULL)
		*out_len = o;
	return out;
}

/* A sanitized copy of s[0..len); caller frees. */
char *
text_sanitize(const char *s, size_t len, size_t *out_len)
{
	return sanitize(s, len, out_len, 0);
}

/* s (NULL: "-") sanitized for one line (newlines and tabs shown as
 * pictures too); caller frees. */
char *
text_line(const char *s)
{
	if (s == NULL)
		s = "-";
	return sanitize(s, strlen(s), NULL, 1);
}

/* s[0..len) sanitized for one line; caller frees. */
char *
text_line_n(const char *s, size_t len)
{
	return sanitize(s, len, NULL, 1);
}

/*
 * Text made by a JSON encoder with the characters text_unsafe names (and
 * the zero-width joiners) escaped as \uXXXX, surrogate pairs beyond the
 * BMP, so no JSON output carries them raw; caller frees.  Such characters
 * occur only inside strings (encoders escape C0 themselves), where the
 * escape means the same character.
 */
char *
text_json(const char *js)
{
	size_t		 len = strlen(js), i = 0, o = 0, n;
	uint32_t	 c;
	char		*out;

	/* At most 12 output bytes for 4 input bytes; 6 for 1 (DEL). */
	out = xreallocarray(NULL, len + 1, 6);
	while (i < len) {
		if ((n = utf8_char(js + i, len - i, &c)) == 0) {
			n = 1;
			c = 0;
		}
		if ((n > 1 || c == 0x7F) && (text_unsafe(c) || c == 0x200C ||
		    c == 0x200D)) {
			if (c >= 0x10000)
				o += (size_t)snprintf(out + o, 13,
				    "\\u%04X\\u%04X",
				    0xD800 + ((c - 0x10000) >> 10),
				    0xDC00 + ((c - 0x10000) & 0x3FF));
			else
				o += (size_t)snprintf(out + o, 7, "\\u%04X", c);
		} else {
			memcpy(out + o, js + i, n);
			o += n;
		}
		i += n;
	}
	out[o] = '\0';
	return out;
}

/* printf to f with the result sanitized (newlines kept): for messages
 * that quote files, sessions or the engine. */
void
text_say(FILE *f, const char *fmt, ...)
{
	va_list	 ap;
	char	*s, *safe;
	size_t	 n;
	int	 len;

	va_start(ap, fmt);
	len = xvasprintf(&s, fmt, ap);
	va_end(ap);
	safe = text_sanitize(s, (size_t)len, &n);
	fwrite(safe, 1, n, f);
	free(safe);
	free(s);
}
