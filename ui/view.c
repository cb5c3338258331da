/*
 * Display-width layout (RELIABILITY-NOTES T5): clusters from utf8proc's
 * grapheme rules, widths from utf8proc checked against the C library's
 * wcwidth (which is what ncurses counts with), so a character the two
 * disagree on is drawn as U+FFFD rather than shifting the line.
 */
#include "config.h"

#include "view.h"

#include <stdint.h>
#include <string.h>

#include <utf8proc.h>

/* Closing punctuation that should not begin a line (kinsoku). */
static const uint32_t view_nostart[] = {
	0x0021, 0x0025, 0x0029, 0x002C, 0x002E, 0x003A, 0x003B, 0x003F,
	0x005D, 0x007D, 0x00B7, 0x2014, 0x2019, 0x201D, 0x2025, 0x2026,
	0x2030, 0x2103, 0x3001, 0x3002, 0x3005, 0x3009, 0x300B, 0x300D,
	0x300F, 0x3011, 0x3015, 0x3017, 0x3019, 0x301B, 0x301E, 0x30FB,
	0x30FC, 0xFF01, 0xFF05, 0xFF09, 0xFF0C, 0xFF0E, 0xFF1A, 0xFF1B,
	0xFF1F, 0xFF3D, 0xFF5D, 0xFF5E
};

/* Opening punctuation that should not end a line. */
static const uint32_t view_noend[] = {
	0x0028, 0x005B, 0x007B, 0x2018, 0x201C, 0x3008, 0x300A, 0x300C,
	0x300E, 0x3010, 0x3014, 0x3016, 0x3018, 0x301A, 0x301D, 0xFF08,
	0xFF3B, 0xFF5B
};

static int
in_set(const uint32_t *set, size_t n, uint32_t c)
{
	size_t	lo = 0, hi = n;

	while (lo < hi) {
		size_t	mid = (lo + hi) / 2;

		if (set[mid] == c)
			return 1;
		if (set[mid] < c)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/* Decode one code point at s[off]; invalid bytes give U+FFFD. */
static size_t
decode(const char *s, size_t len, size_t off, int32_t *c)
{
	utf8proc_ssize_t	n;
	size_t			left = len - off;

	if (left > 4)
		left = 4;
	n = utf8proc_iterate((const utf8proc_uint8_t *)s + off,
	    (utf8proc_ssize_t)left, c);
	if (n <= 0) {
		*c = 0xFFFD;
		return 1;
	}
	return (size_t)n;
}

/* The columns of c as drawn, and the character drawn in *shown. */
static int
cp_width(int32_t c, int32_t *shown)
{
	int	uw, lw;

	*shown = c;
	if (c < 0x20) {
		*shown = 0x2400 + c;
		return 1;
	}
	if (c == 0x7F) {
		*shown = 0x2421;
		return 1;
	}
	if ((c >= 0x80 && c <= 0x9F) || (c >= 0x202A && c <= 0x202E) ||
	    (c >= 0x2066 && c <= 0x2069) || c == 0x200E || c == 0x200F ||
	    c == 0x061C || (c >= 0xE0000 && c <= 0xE007F)) {
		*shown = 0xFFFD;
		return 1;
	}
	uw = utf8proc_charwidth(c);
	lw = wcwidth((wchar_t)c);
	if (uw == lw && uw >= 0 && uw <= 2)
		return uw;
	*shown = 0xFFFD;
	return 1;
}

/* Add c to the cluster; -1 if it needs a cell and none is left. */
static int
add_cp(struct view_gr *g, int32_t c)
{
	struct view_cell	*cell;
	int32_t			 shown;
	int			 w, i;

	w = cp_width(c, &shown);
	if (shown != c)
		g->flags |= VIEW_SUBST;
	if (w > 0 || g->n_cells == 0) {
		if (g->n_cells == VIEW_MAX_CELLS)
			return -1;
		cell = &g->cells[g->n_cells++];
		memset(cell, 0, sizeof *cell);
		if (w == 0) {
			/* A mark with nothing to sit on: a dotted circle. */
			cell->wc[0] = 0x25CC;
			cell->width = 1;
			g->width += 1;
		} else {
			cell->wc[0] = (wchar_t)shown;
			cell->width = w;
			g->width += w;
			if (w == 2)
				g->flags |= VIEW_WIDE;
			return 0;
		}
	}
	cell = &g->cells[g->n_cells - 1];
	for (i = 1; i <= VIEW_MAX_MARKS; i++)
		if (cell->wc[i] == 0) {
			cell->wc[i] = (wchar_t)shown;
			break;
		}
	return 0;	/* marks past the fourth are dropped */
}

/*
 * Read the cluster at s[off] into *g; returns the offset after it.  A
 * newline and a tab are clusters of their own; so is each control.
 */
size_t
view_next(const char *s, size_t len, size_t off, struct view_gr *g)
{
	utf8proc_int32_t	state = 0;
	int32_t			c0, prev, c;
	size_t			p, n, ncp = 1;

	g->off = off;
	g->kind = VIEW_TEXT;
	g->width = 0;
	g->flags = 0;
	g->n_cells = 0;
	n = decode(s, len, off, &c0);
	p = off + n;
	if (c0 == '\n' || c0 == '\t') {
		g->kind = c0 == '\n' ? VIEW_NEWLINE : VIEW_TAB;
		g->len = n;
		return p;
	}
	add_cp(g, c0);
	prev = c0;
	while (p < len && c0 >= 0x20) {
		n = decode(s, len, p, &c);
		if (c < 0x20 || utf8proc_grapheme_break_stateful(prev, c,
		    &state))
			break;
		if (add_cp(g, c) != 0)
			break;
		prev = c;
		p += n;
		ncp++;
	}
	g->len = p - off;
	if (c0 == ' ' || c0 == 0x3000)
		g->kind = VIEW_SPACE;
	if (ncp == 1) {
		if (in_set(view_nostart, sizeof view_nostart /
		    sizeof view_nostart[0], (uint32_t)c0))
			g->flags |= VIEW_NOSTART;
		if (in_set(view_noend, sizeof view_noend /
		    sizeof view_noend[0], (uint32_t)c0))
			g->flags |= VIEW_NOEND;
	}
	return p;
}

/* Columns a tab takes at column col. */
int
view_tab(int col)
{
	return VIEW_TABSTOP - col % VIEW_TABSTOP;
}

/* Columns of a one-line text (a newline counts as one column). */
int
view_width(const char *s, size_t len)
{
	struct view_gr	g;
	size_t		p = 0;
	int		col = 0;

	while (p < len) {
		p = view_next(s, len, p, &g);
		if (g.kind == VIEW_TAB)
			col += view_tab(col);
		else if (g.kind == VIEW_NEWLINE)
			col += 1;
		else
			col += g.width;
	}
	return col;
}

/* Bytes of the longest prefix of whole clusters within cols columns;
 * *used (may be NULL) gets its width. */
size_t
view_fit(const char *s, size_t len, int cols, int *used)
{
	struct view_gr	g;
	size_t		p = 0, q;
	int		col = 0, w;

	while (p < len) {
		q = view_next(s, len, p, &g);
		w = g.kind == VIEW_TAB ? view_tab(col) : g.kind ==
		    VIEW_NEWLINE ? 1 : g.width;
		if (col + w > cols)
			break;
		col += w;
		p = q;
	}
	if (used != NULL)
		*used = col;
	return p;
}

/* Whether a line may break between clusters p and g. */
static int
can_break(const struct view_gr *p, const struct view_gr *g)
{
	if (g->flags & VIEW_NOSTART)
		return 0;
	if (p->flags & VIEW_NOEND)
		return 0;
	if (p->kind == VIEW_SPACE || p->kind == VIEW_TAB)
		return 1;
	return ((p->flags | g->flags) & VIEW_WIDE) != 0;
}

/*
 * Wrap s[from, len) into lines of at most width columns, calling fn for
 * each; from must be the start of a line.  Breaks go after spaces and
 * around wide characters; a word longer than the line is cut between
 * clusters; a space that overflows hangs (is not drawn); closing
 * punctuation pulls the character before it onto the next line rather
 * than start a line.  An empty text, or one ending in a newline, ends
 * with an empty line.  A cluster wider than the whole line gets a line
 * of its own.
 */
void
view_wrap(const char *s, size_t len, size_t from, int width,
    view_line_fn fn, void *arg)
{
	struct view_gr	g, prev;
	size_t		p = from, q, start, brk = 0, prev_off = 0;
	int		col, w, brk_col = 0, prev_col = 0, have_prev, have_brk;

	if (width < 1)
		width = 1;
	for (;;) {
		start = p;
		col = 0;
		have_prev = have_brk = 0;
		for (;;) {
			if (p >= len) {
				fn(arg, start, p - start, col);
				return;
			}
			q = view_next(s, len, p, &g);
			if (g.kind == VIEW_NEWLINE) {
				fn(arg, start, p - start, col);
				p = q;
				break;
			}
			w = g.kind == VIEW_TAB ? view_tab(col) : g.width;
			if (have_prev && can_break(&prev, &g)) {
				have_brk = 1;
				brk = p;
				brk_col = col;
			}
			if (col + w > width && col > 0) {
				if (g.kind == VIEW_SPACE || g.kind == VIEW_TAB) {
					fn(arg, start, p - start, col);
					p = q;
				} else if (have_brk) {
					fn(arg, start, brk - start, brk_col);
					p = brk;
				} else if ((g.flags & VIEW_NOSTART) &&
				    have_prev && prev_off > start) {
					fn(arg, start, prev_off - start,
					    prev_col);
					p = prev_off;
				} else
					fn(arg, start, p - start, col);
				break;
			}
			prev = g;
			prev_off = p;
			prev_col = col;
			have_prev = 1;
			col += w;
			p = q;
		}
	}
}
