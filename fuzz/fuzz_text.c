/*
 * libFuzzer target: the one sanitizer (fe/text.c).  Whatever the input,
 * its output must be valid UTF-8 holding no character text_unsafe names
 * (but newlines and tabs where kept), and text_json's none of them raw.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"
#include "fe/text.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Trap unless s[0..n) is valid UTF-8 without unsafe characters. */
static void
check(const char *s, size_t n, int keep_lines, int json)
{
	size_t		i = 0, k;
	uint32_t	c;

	while (i < n) {
		if ((k = utf8_char(s + i, n - i, &c)) == 0)
			__builtin_trap();
		if (text_unsafe(c) && !(keep_lines && (c == '\n' ||
		    c == '\t')) && !(json && c < 0x20))
			__builtin_trap();
		i += k;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*s, *z;
	size_t	 n;

	s = text_sanitize((const char *)data, size, &n);
	check(s, n, 1, 0);
	free(s);
	s = text_line_n((const char *)data, size);
	check(s, strlen(s), 0, 0);
	free(s);
	/* text_json takes encoder output: valid UTF-8 without NUL. */
	z = malloc(size + 1);
	memcpy(z, data, size);
	z[size] = '\0';
	if (utf8_valid(z, strlen(z))) {
		s = text_json(z);
		check(s, strlen(s), 1, 1);
		free(s);
	}
	free(z);
	return 0;
}
