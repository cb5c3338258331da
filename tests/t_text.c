/*
 * The terminal sanitizer (fe/text.c) and the UTF-8 checks under it
 * (common/utf8.c): controls become visible pictures, bidi overrides and
 * C1 controls U+FFFD, and each maximal invalid subpart one U+FFFD.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"
#include "fe/text.h"
#include "tests/tap.h"

#define FFFD	"\xEF\xBF\xBD"

/* Whether sanitizing in (of length n) gives exactly want. */
static int
san(const char *in, size_t n, const char *want)
{
	char	*out;
	size_t	 len;
	int	 r;

	out = text_sanitize(in, n, &len);
	r = len == strlen(want) && memcmp(out, want, len) == 0 &&
	    out[len] == '\0';
	if (!r)
		diag("got '%s' (%zu bytes), want '%s'", out, len, want);
	free(out);
	return r;
}

#define SAN(in, want, what)	ok(san(in, sizeof in - 1, want), "%s", what)

static void
test_sanitize(void)
{
	SAN("plain text", "plain text", "ASCII stays");
	SAN("a\nb\tc", "a\nb\tc", "newline and tab stay");
	SAN("\x1b[31mred", "\xE2\x90\x9B[31mred", "ESC becomes U+241B");
	SAN("\x07\x7f", "\xE2\x90\x87\xE2\x90\xA1", "BEL and DEL pictures");
	SAN("\r", "\xE2\x90\x8D", "CR becomes U+240D");
	SAN("\xC2\x85", FFFD, "a C1 control becomes U+FFFD");
	SAN("a\xE2\x80\xAE" "b", "a" FFFD "b", "RLO becomes U+FFFD");
	SAN("\xE2\x81\xA6", FFFD, "LRI becomes U+FFFD");
	SAN("\xF3\xA0\x80\x81", FFFD, "a tag character becomes U+FFFD");
	SAN("中文 ✓", "中文 ✓", "CJK and symbols stay");
	SAN("\xF0\x9F\x98\x80", "\xF0\x9F\x98\x80", "an emoji stays");
	SAN("\xC0\xAF", FFFD FFFD, "overlong: one U+FFFD per byte");
	SAN("\xE0\x80\xAF", FFFD FFFD FFFD, "overlong 3-byte form");
	SAN("\xED\xA0\x80", FFFD FFFD FFFD, "a surrogate");
	SAN("\xF4\x90\x80\x80", FFFD FFFD FFFD FFFD, "beyond U+10FFFF");
	SAN("\xF0\x9F\x98", FFFD, "a truncated character: one U+FFFD");
	SAN("\xF0\x9F\x98z", FFFD "z", "a cut character, then ASCII");
	SAN("\xE4\xB8x\xAD", FFFD "x" FFFD, "a stray continuation byte");
	SAN("\xFF\xFE", FFFD FFFD, "bytes that start nothing");
	ok(san("a\0b", 3, "a\xE2\x90\x80" "b"), "NUL becomes U+2400");
	ok(san("", 0, ""), "the empty text");
}

static void
test_utf8(void)
{
	uint32_t	c = 0;

	ok(utf8_valid("", 0) && utf8_valid("abc", 3), "ASCII is valid");
	ok(utf8_valid("中文", 6), "CJK is valid");
	ok(!utf8_valid("\xED\xA0\x80", 3), "surrogates are not");
	ok(!utf8_valid("\xC1\xBF", 2), "overlong forms are not");
	ok(!utf8_valid("\xE4\xB8", 2), "a cut character is not");
	ok(utf8_char("\xE4\xB8\xAD", 3, &c) == 3 && c == 0x4E2D,
	    "utf8_char decodes U+4E2D");
	ok(utf8_char("\xE4\xB8\xAD", 2, &c) == 0,
	    "utf8_char: too few bytes");
	ok(utf8_lead_len('a') == 1 && utf8_lead_len(0xE4) == 3 &&
	    utf8_lead_len(0xC0) == 0 && utf8_lead_len(0x80) == 0 &&
	    utf8_lead_len(0xF5) == 0, "lengths by the lead byte");
	ok(utf8_prefix_ok("\xF0\x9F", 2) && !utf8_prefix_ok("\xF0\x8F", 2) &&
	    !utf8_prefix_ok("\xED\xA0", 2) && utf8_prefix_ok("\xED\x9F", 2) &&
	    !utf8_prefix_ok("\xF4\x90", 2), "prefixes that can still end well");
	ok(utf8_bad_len("\xF0\x9F\x98z", 4) == 3 &&
	    utf8_bad_len("\xE0\x80", 2) == 1 && utf8_bad_len("\x80", 1) == 1,
	    "maximal invalid subparts");
}

int
main(void)
{
	test_sanitize();
	test_utf8();
	return tap_done();
}
