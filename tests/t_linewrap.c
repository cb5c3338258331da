/*
 * The line chat's word wrap and cut (fe/linewrap.c): words move whole to
 * the next line, wide characters break anywhere, text arriving in pieces
 * wraps as if it came at once, and a cut never splits a character.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fe/linewrap.h"
#include "tests/tap.h"

/* s written in pieces of step bytes (0: at once) at width cols. */
static char *
wrap(const char *s, int cols, size_t step)
{
	struct linewrap	 w;
	char		*buf = NULL;
	size_t		 size = 0, i, n = strlen(s);
	FILE		*f = open_memstream(&buf, &size);

	linewrap_init(&w, cols);
	for (i = 0; i < n; i += step > 0 ? step : n)
		linewrap_put(&w, f, s + i, step > 0 && i + step < n ? step :
		    n - i);
	linewrap_flush(&w, f);
	linewrap_fini(&w);
	fclose(f);
	return buf;
}

static const struct {
	const char	*in;
	int		 cols;
	const char	*want;
	const char	*what;
} cases[] = {
	{ "the quick brown fox jumps over the lazy dog", 10,
	    "the quick\nbrown fox\njumps over\nthe lazy\ndog",
	    "words move whole to the next line" },
	{ "春天来了公园里开满了花", 8, "春天来了\n公园里开\n满了花",
	    "wide characters break anywhere, by columns" },
	{ " leading space\nnext", 40, "leading space\nnext",
	    "no space starts a line" },
	{ "abcdefghijklmnop", 5, "abcde\nfghij\nklmno\np",
	    "a word longer than the line is cut at the width" },
	{ "no wrap at all", 0, "no wrap at all", "width 0: as it came" }
};

int
main(void)
{
	char	*a, *b, *c;
	size_t	 i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		a = wrap(cases[i].in, cases[i].cols, 0);
		b = wrap(cases[i].in, cases[i].cols, 3);
		ok(strcmp(a, cases[i].want) == 0 && strcmp(a, b) == 0,
		    "%s (and the same in pieces): %s", cases[i].what, a);
		free(a);
		free(b);
	}
	c = linewrap_cut("你是一名专业的中英翻译。", 7);
	ok(strcmp(c, "你是一...") == 0, "a cut keeps whole characters: %s", c);
	free(c);
	c = linewrap_cut("short\nsecond line", 60);
	ok(strcmp(c, "short...") == 0, "and the first line only: %s", c);
	free(c);
	c = linewrap_cut("fits", 60);
	ok(strcmp(c, "fits") == 0, "a text that fits is whole");
	free(c);
	return tap_done();
}
