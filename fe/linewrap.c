/*
 * Word wrap for the line chat (fe/linewrap.h).  Columns are utf8proc's
 * character widths, as the full-screen chat's.
 */
#include "config.h"

#include "linewrap.h"

#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "xmalloc.h"

void
linewrap_init(struct linewrap *w, int cols)
{
	memset(w, 0, sizeof *w);
	w->cols = cols;
}

/* Write the held word after the pending blank, or on a new line if the
 * two do not fit this one (a line never ends or starts with the blank). */
static void
put_word(struct linewrap *w, FILE *f)
{
	if (w->len == 0)
		return;
	if (w->col > 0 && w->col + w->space + w->wcols > w->cols) {
		fputc('\n', f);
		w->col = 0;
	} else if (w->col > 0 && w->space) {
		fputc(' ', f);
		w->col++;
	}
	w->space = 0;
	fwrite(w->word, 1, w->len, f);
	w->col += w->wcols;
	w->len = 0;
	w->wcols = 0;
}

static void
hold(struct linewrap *w, const char *s, size_t n, int cols)
{
	w->word = xreallocarray(w->word, w->len + n + 1, 1);
	memcpy(w->word + w->len, s, n);
	w->len += n;
	w->wcols += cols;
}

void
linewrap_put(struct linewrap *w, FILE *f, const char *s, size_t len)
{
	const utf8proc_uint8_t	*p = (const utf8proc_uint8_t *)s;
	utf8proc_int32_t	 cp;
	utf8proc_ssize_t	 n;
	size_t			 i = 0;
	int			 cw;

	if (w->cols <= 0) {
		fwrite(s, 1, len, f);
		return;
	}
	while (i < len) {
		n = utf8proc_iterate(p + i, (utf8proc_ssize_t)(len - i), &cp);
		if (n <= 0) {	/* not UTF-8 (sanitized text is): as is */
			n = 1;
			cp = '?';
		}
		if (cp == '\n') {
			put_word(w, f);
			fputc('\n', f);
			w->col = 0;
			w->space = 0;
		} else if (cp == ' ') {
			put_word(w, f);
			w->space = w->col > 0;
		} else {
			cw = utf8proc_charwidth(cp);
			if (cw < 0)
				cw = 0;
			if (cw == 2)	/* an ideograph breaks anywhere */
				put_word(w, f);
			hold(w, (const char *)p + i, (size_t)n, cw);
			if (cw == 2 || w->wcols >= w->cols)
				put_word(w, f);
		}
		i += (size_t)n;
	}
}

void
linewrap_flush(struct linewrap *w, FILE *f)
{
	put_word(w, f);
	w->col = 0;
	w->space = 0;
}

void
linewrap_fini(struct linewrap *w)
{
	free(w->word);
	memset(w, 0, sizeof *w);
}

/* The first line of s within cols columns. */
char *
linewrap_cut(const char *s, int cols)
{
	const utf8proc_uint8_t	*p = (const utf8proc_uint8_t *)s;
	utf8proc_int32_t	 cp;
	utf8proc_ssize_t	 n;
	size_t			 i = 0, end = strcspn(s, "\n");
	int			 w = 0, cw;
	char			*r;

	while (i < end) {
		if ((n = utf8proc_iterate(p + i, (utf8proc_ssize_t)(end - i),
		    &cp)) <= 0)
			break;
		cw = utf8proc_charwidth(cp);
		if (w + (cw > 0 ? cw : 0) > cols)
			break;
		w += cw > 0 ? cw : 0;
		i += (size_t)n;
	}
	if (i >= strlen(s))
		return xstrdup(s);
	xasprintf(&r, "%.*s...", (int)i, s);
	return r;
}
