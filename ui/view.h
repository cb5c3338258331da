/*
 * Text layout by display width, without curses: UTF-8 split into
 * grapheme clusters (utf8proc), each cluster into terminal cells (a
 * spacing character plus at most four marks), and greedy wrapping that
 * never splits a cluster and keeps Chinese closing punctuation off the
 * start of a line where it can.
 */
#ifndef YT_UI_VIEW_H
#define YT_UI_VIEW_H

#include <stddef.h>
#include <wchar.h>

#define VIEW_MAX_MARKS	4	/* zero-width characters kept per cell */
#define VIEW_MAX_CELLS	8	/* spacing characters in one cluster */
#define VIEW_TABSTOP	8	/* tab stops */

enum view_kind {
	VIEW_TEXT,
	VIEW_SPACE,		/* a space: lines may break after it */
	VIEW_TAB,		/* expands to the next tab stop */
	VIEW_NEWLINE
};

/* Cluster flags. */
#define VIEW_WIDE	0x01	/* East Asian wide: breaks allowed around */
#define VIEW_NOSTART	0x02	/* closing punctuation: not at line start */
#define VIEW_NOEND	0x04	/* opening punctuation: not at line end */
#define VIEW_SUBST	0x08	/* drawn with a placeholder */

struct view_cell {
	wchar_t	wc[VIEW_MAX_MARKS + 2];	/* base, marks, 0 */
	int	width;			/* 1 or 2 */
};

/* One grapheme cluster as it is drawn. */
struct view_gr {
	size_t			off;	/* where it starts in the text */
	size_t			len;	/* bytes it covers */
	int			kind;
	int			width;	/* columns (a tab: 0, see view_tab) */
	unsigned		flags;
	int			n_cells;
	struct view_cell	cells[VIEW_MAX_CELLS];
};

/* Called for each line: bytes [off, off + len) filling cols columns. */
typedef void (*view_line_fn)(void *arg, size_t off, size_t len, int cols);

size_t	view_next(const char *s, size_t len, size_t off, struct view_gr *g);
int	view_tab(int col);
int	view_width(const char *s, size_t len);
size_t	view_fit(const char *s, size_t len, int cols, int *used);
void	view_wrap(const char *s, size_t len, size_t from, int width,
	    view_line_fn fn, void *arg);

#endif
