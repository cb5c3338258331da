/*
 * Markdown for the screen (ui/md.h): line by line, CommonMark's common
 * part only: ATX headings, **bold**, *italic*, `code`, - * + lists,
 * > quotes, rules, fenced code blocks (``` or ~~~) and pipe tables.
 * Anything else is text as it came.
 */
#include "config.h"

#include "md.h"

#include <stdlib.h>
#include <string.h>

#include "fe/xmalloc.h"
#include "view.h"

#define MD_MAX_COLS	32	/* table columns */

static void
put(struct md *m, const char *s, size_t n)
{
	if (m->len + n + 1 > m->cap) {
		while (m->len + n + 1 > m->cap)
			m->cap = m->cap == 0 ? 256 : m->cap * 2;
		m->text = xreallocarray(m->text, m->cap, 1);
	}
	memcpy(m->text + m->len, s, n);
	m->len += n;
	m->text[m->len] = '\0';
}

static void
span(struct md *m, size_t off, unsigned style)
{
	if (style == 0 || m->len <= off)
		return;
	if (m->n_spans == m->cap_spans) {
		m->cap_spans = m->cap_spans == 0 ? 16 : m->cap_spans * 2;
		m->spans = xreallocarray(m->spans, m->cap_spans,
		    sizeof *m->spans);
	}
	m->spans[m->n_spans].off = off;
	m->spans[m->n_spans].len = m->len - off;
	m->spans[m->n_spans].style = style;
	m->n_spans++;
}

static void
keep(struct md *m, size_t off)
{
	if (m->n_keep > 0 && m->keep[m->n_keep - 1].end + 1 >= off &&
	    m->keep[m->n_keep - 1].end <= off) {
		m->keep[m->n_keep - 1].end = m->len;	/* one block */
		return;
	}
	if (m->n_keep == m->cap_keep) {
		m->cap_keep = m->cap_keep == 0 ? 4 : m->cap_keep * 2;
		m->keep = xreallocarray(m->keep, m->cap_keep,
		    sizeof *m->keep);
	}
	m->keep[m->n_keep].off = off;
	m->keep[m->n_keep].end = m->len;
	m->n_keep++;
}

/* Where the closing mark of length n starts in s[i..end), or end. */
static size_t
closing(const char *s, size_t i, size_t end, const char *mark, size_t n)
{
	for (; i + n <= end; i++)
		if (memcmp(s + i, mark, n) == 0 && (i == 0 || s[i - 1] != ' '))
			return i;
	return end;
}

/* Text with inline marks: `code`, **bold**, __bold__, *italic*, _italic_,
 * under the style around it. */
static void
inline_text(struct md *m, const char *s, size_t n, unsigned around)
{
	size_t		i = 0, j, start, k;
	const char	*mk;
	unsigned	st;

	start = m->len;
	while (i < n) {
		mk = NULL;
		k = 0;
		st = 0;
		if (s[i] == '`') {
			mk = "`";
			k = 1;
			st = MD_CODE;
		} else if (i + 1 < n && (s[i] == '*' || s[i] == '_') &&
		    s[i + 1] == s[i]) {
			mk = s[i] == '*' ? "**" : "__";
			k = 2;
			st = MD_BOLD;
		} else if ((s[i] == '*' || (s[i] == '_' && (i == 0 ||
		    s[i - 1] == ' '))) && i + 1 < n && s[i + 1] != ' ') {
			mk = s[i] == '*' ? "*" : "_";
			k = 1;
			st = MD_ITALIC;
		}
		if (mk != NULL && i + k < n && s[i + k] != ' ' &&
		    (j = closing(s, i + k + 1, n, mk, k)) < n) {
			size_t	at = m->len;

			put(m, s + i + k, j - i - k);
			span(m, at, st | around);
			i = j + k;
			continue;
		}
		put(m, s + i, 1);
		span(m, m->len - 1, around);
		i++;
	}
	(void)start;
}

/* Whether the line is a table's separator row (|---|:--:|). */
static int
table_rule(const char *s, size_t n)
{
	size_t	i;
	int	dash = 0;

	for (i = 0; i < n; i++) {
		if (s[i] == '-')
			dash = 1;
		else if (strchr("|: \t", s[i]) == NULL)
			return 0;
	}
	return dash;
}

/* The cells of a table row: offsets and lengths into s, trimmed. */
static int
cells(const char *s, size_t n, size_t *off, size_t *len)
{
	size_t	i = 0, a, b;
	int	c = 0;

	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i < n && s[i] == '|')
		i++;
	while (i < n && c < MD_MAX_COLS) {
		a = i;
		while (i < n && s[i] != '|')
			i++;
		b = i;
		while (a < b && (s[a] == ' ' || s[a] == '\t'))
			a++;
		while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t'))
			b--;
		if (i >= n && a == b)
			break;	/* after the last '|' */
		off[c] = a;
		len[c] = b - a;
		c++;
		if (i < n)
			i++;
	}
	return c;
}

/* A block of table rows, lines [0, nl) at starts/ends: columns padded to
 * their widest cell, by display width. */
static void
table(struct md *m, const char *raw, const size_t *ls, const size_t *le,
    size_t nl)
{
	size_t	 off[MD_MAX_COLS], len[MD_MAX_COLS], r, at;
	int	 w[MD_MAX_COLS] = { 0 }, nc = 0, c, k, cw, i;

	for (r = 0; r < nl; r++) {
		if (table_rule(raw + ls[r], le[r] - ls[r]))
			continue;
		k = cells(raw + ls[r], le[r] - ls[r], off, len);
		for (c = 0; c < k; c++) {
			cw = view_width(raw + ls[r] + off[c], len[c]);
			if (cw > w[c])
				w[c] = cw;
		}
		if (k > nc)
			nc = k;
	}
	for (r = 0; r < nl; r++) {
		at = m->len;
		if (table_rule(raw + ls[r], le[r] - ls[r])) {
			for (c = 0; c < nc; c++) {
				if (c > 0)
					put(m, "\xe2\x94\x80\xe2\x94\xbc\xe2\x94"
					    "\x80", 9);	/* ─┼─ */
				for (i = 0; i < w[c]; i++)
					put(m, "\xe2\x94\x80", 3);
			}
			span(m, at, MD_QUOTE);
		} else {
			k = cells(raw + ls[r], le[r] - ls[r], off, len);
			for (c = 0; c < nc; c++) {
				if (c > 0)
					put(m, " \xe2\x94\x82 ", 5);	/* │ */
				if (c < k) {
					size_t	a = m->len;

					put(m, raw + ls[r] + off[c], len[c]);
					span(m, a, r == 0 ? MD_BOLD : 0);
					cw = view_width(raw + ls[r] + off[c],
					    len[c]);
				} else
					cw = 0;
				for (; cw < w[c] && c + 1 < nc; cw++)
					put(m, " ", 1);
			}
		}
		keep(m, at);
		put(m, "\n", 1);
	}
}

void
md_render(struct md *m, const char *raw, size_t len)
{
	size_t		 i = 0, e, t, n, at, ls[256], le[256], nl;
	const char	*l;
	int		 fence = 0, h;

	m->len = 0;
	m->n_spans = 0;
	m->n_keep = 0;
	put(m, "", 0);
	while (i < len) {
		e = i;
		while (e < len && raw[e] != '\n')
			e++;
		l = raw + i;
		n = e - i;
		t = 0;
		while (t < n && t < 3 && l[t] == ' ')
			t++;
		if (n - t >= 3 && (memcmp(l + t, "```", 3) == 0 ||
		    memcmp(l + t, "~~~", 3) == 0)) {
			/* A fence: the language, dim, above the code. */
			at = m->len;
			if (!fence && n - t > 3) {
				put(m, "  ", 2);
				put(m, l + t + 3, n - t - 3);
				span(m, at, MD_QUOTE);
			}
			fence = !fence;
		} else if (fence) {
			at = m->len;
			put(m, "  ", 2);
			put(m, l, n);
			span(m, at, MD_CODE);
			keep(m, at);
		} else if (n - t > 0 && l[t] == '|') {
			/* A table: every row that follows. */
			nl = 0;
			while (i < len && nl < 256) {
				e = i;
				while (e < len && raw[e] != '\n')
					e++;
				t = i;
				while (t < e && (raw[t] == ' ' || raw[t] == '\t'))
					t++;
				if (t >= e || raw[t] != '|')
					break;
				ls[nl] = i;
				le[nl++] = e;
				i = e < len ? e + 1 : e;
			}
			table(m, raw, ls, le, nl);
			continue;
		} else if (n - t > 0 && l[t] == '#') {
			for (h = 0; t + (size_t)h < n && l[t + h] == '#' &&
			    h < 7; h++)
				;
			if (h <= 6 && (t + (size_t)h == n ||
			    l[t + h] == ' ')) {
				t += (size_t)h;
				while (t < n && l[t] == ' ')
					t++;
				inline_text(m, l + t, n - t, MD_HEAD);
			} else
				inline_text(m, l, n, 0);
		} else if (n - t > 0 && l[t] == '>') {
			at = m->len;
			put(m, "\xe2\x94\x82 ", 4);	/* │ */
			span(m, at, MD_QUOTE);
			t++;
			if (t < n && l[t] == ' ')
				t++;
			inline_text(m, l + t, n - t, MD_QUOTE);
		} else if (n - t >= 3 && strspn(l + t, "-") >= 3 &&
		    strspn(l + t, "- ") == n - t) {
			at = m->len;
			for (h = 0; h < 20; h++)
				put(m, "\xe2\x94\x80", 3);
			span(m, at, MD_QUOTE);
		} else {
			size_t	ind = strspn(l, " ");

			if (ind + 1 < n && strchr("-*+", l[ind]) != NULL &&
			    l[ind + 1] == ' ') {
				put(m, l, ind);
				put(m, "\xe2\x80\xa2 ", 4);	/* • */
				inline_text(m, l + ind + 2, n - ind - 2, 0);
			} else
				inline_text(m, l, n, 0);
		}
		if (e < len)
			put(m, "\n", 1);
		i = e < len ? e + 1 : e;
	}
}

void
md_free(struct md *m)
{
	free(m->text);
	free(m->spans);
	free(m->keep);
	memset(m, 0, sizeof *m);
}

/* The styles at off: the spans that cover it (they never nest deeper
 * than a few, and come in order of where they start). */
unsigned
md_style_at(const struct md *m, size_t off)
{
	size_t		lo = 0, hi = m->n_spans, k;
	unsigned	st = 0;

	while (lo < hi) {	/* the first span starting after off */
		k = (lo + hi) / 2;
		if (m->spans[k].off <= off)
			lo = k + 1;
		else
			hi = k;
	}
	for (k = lo; k > 0 && lo - k < 8; k--)
		if (off < m->spans[k - 1].off + m->spans[k - 1].len)
			st |= m->spans[k - 1].style;
	return st;
}
