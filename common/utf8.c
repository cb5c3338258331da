/*
 * UTF-8 validation on utf8proc, for the sanitizer, the config reader,
 * the tokenizer's byte stream and the tokenize command.  Any thread.
 */
#include "config.h"

#include "utf8.h"

#include <string.h>

#include <utf8proc.h>

/* One character. */
size_t
utf8_char(const char *s, size_t n, uint32_t *cp)
{
	utf8proc_int32_t	c;
	utf8proc_ssize_t	r;

	if (n == 0)
		return 0;
	r = utf8proc_iterate((const utf8proc_uint8_t *)s,
	    n > 4 ? 4 : (utf8proc_ssize_t)n, &c);
	if (r <= 0 || c < 0)
		return 0;
	*cp = (uint32_t)c;
	return (size_t)r;
}

/* The whole buffer. */
int
utf8_valid(const char *s, size_t n)
{
	size_t		i = 0, k;
	uint32_t	c;

	while (i < n) {
		if ((k = utf8_char(s + i, n - i, &c)) == 0)
			return 0;
		i += k;
	}
	return 1;
}

/* By the first byte alone. */
int
utf8_lead_len(unsigned char b)
{
	if (b < 0x80)
		return 1;
	if (b >= 0xc2 && b <= 0xdf)
		return 2;
	if (b >= 0xe0 && b <= 0xef)
		return 3;
	if (b >= 0xf0 && b <= 0xf4)
		return 4;
	return 0;
}

/* The prefix completed with the smallest continuation bytes: a prefix
 * that can start a valid character gives one (an overlong form, a
 * surrogate or a code point past U+10FFFF stays one whatever follows). */
int
utf8_prefix_ok(const char *s, size_t k)
{
	char		buf[4];
	uint32_t	c;
	int		len = utf8_lead_len((unsigned char)s[0]);

	if (len == 0 || k > (size_t)len)
		return 0;
	memcpy(buf, s, k);
	memset(buf + k, 0x80, (size_t)len - k);
	return utf8_char(buf, (size_t)len, &c) == (size_t)len;
}

/* The maximal invalid subpart. */
size_t
utf8_bad_len(const char *s, size_t n)
{
	size_t	i = 1;
	int	len = utf8_lead_len((unsigned char)s[0]);

	while (i < n && i < (size_t)len && utf8_prefix_ok(s, i + 1))
		i++;
	return i;
}
