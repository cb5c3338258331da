/*
 * Curses output of laid-out text.  Every cell is checked against the
 * right edge before it is added, so a wide character never straddles it
 * and ncurses never wraps on its own; placeholders (control pictures,
 * U+FFFD) get their own attribute so they stand out.
 */
#include "config.h"

#include "draw.h"
#include "md.h"

#include <string.h>
#include <wchar.h>

#include "scroll.h"
#include "theme.h"
#include "view.h"
#include "fe/i18n.h"

static int
is_placeholder(wchar_t c)
{
	return (c >= 0x2400 && c <= 0x2426) || c == 0xFFFD;
}

/* Draw a cluster's cells at the cursor. */
void
draw_gr(const struct view_gr *g, attr_t attr)
{
	cchar_t	cc;
	attr_t	a;
	int	i;

	for (i = 0; i < g->n_cells; i++) {
		a = is_placeholder(g->cells[i].wc[0]) ?
		    theme_attr(TH_PLACEHOLDER) : attr;
		if (setcchar(&cc, g->cells[i].wc, a & ~A_COLOR,
		    (short)PAIR_NUMBER(a), NULL) == OK)
			wadd_wch(stdscr, &cc);
	}
}

/* Spaces from (y, x) for w columns. */
void
draw_fill(int y, int x, int w, attr_t attr)
{
	int	i;

	if (w <= 0)
		return;
	wmove(stdscr, y, x);
	wattrset(stdscr, attr);
	for (i = 0; i < w; i++)
		waddch(stdscr, ' ');
	wattrset(stdscr, A_NORMAL);
}

/* Draw one line of text at (y, x) within w columns: whole clusters only,
 * newlines as spaces, tabs expanded.  Returns the columns used. */
int
draw_str(int y, int x, int w, const char *s, size_t len, attr_t attr)
{
	struct view_gr	g;
	size_t		p = 0;
	int		col = 0, gw;

	wmove(stdscr, y, x);
	while (p < len && col < w) {
		p = view_next(s, len, p, &g);
		if (g.kind == VIEW_TAB || g.kind == VIEW_NEWLINE) {
			gw = g.kind == VIEW_TAB ? view_tab(col) : 1;
			if (gw > w - col)
				gw = w - col;
			draw_fill(y, x + col, gw, attr);
			col += gw;
			continue;
		}
		if (col + g.width > w)
			break;
		draw_gr(&g, attr);
		col += g.width;
	}
	return col;
}

/* Highlighting state while one body line is drawn. */
struct draw_hl {
	const struct scroll	*s;
	const char		*text;
	size_t			 len;
	size_t			 next;		/* next match start */
	size_t			 end;		/* end of matches begun */
	size_t			 cur_end;	/* ... of the current match */
	int			 on;
	size_t			 item;
};

static void
hl_start(struct draw_hl *h, const struct scroll *s, size_t item,
    size_t off, int on)
{
	const struct scroll_item	*it = &s->items[item];

	memset(h, 0, sizeof *h);
	h->on = on && s->query != NULL && s->qlen > 0;
	if (!h->on)
		return;
	h->s = s;
	h->item = item;
	h->text = it->text;
	h->len = it->len;
	h->next = scroll_find(it->text, it->len, off >= s->qlen ?
	    off - s->qlen + 1 : 0, s->query, s->qlen);
}

/* The attribute for the cluster at byte p, given the plain one. */
static attr_t
hl_attr(struct draw_hl *h, size_t p, attr_t plain)
{
	const struct scroll	*s = h->s;

	if (!h->on)
		return plain;
	while (h->next != (size_t)-1 && h->next <= p) {
		if (h->next + s->qlen > h->end)
			h->end = h->next + s->qlen;
		if (s->have_match && s->m_item == h->item &&
		    s->m_off == h->next)
			h->cur_end = h->next + s->qlen;
		h->next = scroll_find(h->text, h->len, h->next + 1, s->query,
		    s->qlen);
	}
	if (p < h->cur_end)
		return theme_attr(TH_MATCH_CUR);
	if (p < h->end)
		return theme_attr(TH_MATCH);
	return plain;
}

static attr_t
item_attr(const struct scroll_item *it)
{
	if (it->flags & SCROLL_ERROR)
		return theme_attr(TH_ERROR);
	if (it->kind == SCROLL_NOTE)
		return theme_attr(TH_NOTE);
	if (it->flags & SCROLL_DIM)
		return theme_attr(TH_DIM);
	return A_NORMAL;
}

static attr_t
head_attr(const struct scroll_item *it)
{
	if (it->flags & SCROLL_DIM)
		return theme_attr(TH_DIM);
	return theme_attr(it->role == 1 ? TH_USER : TH_ASSISTANT);
}

/* How a Markdown style looks. */
static attr_t
md_attr(unsigned st)
{
	attr_t	a = 0;

	if (st & (MD_BOLD | MD_HEAD))
		a |= A_BOLD;
	if (st & MD_ITALIC)
		a |= A_ITALIC;
	if (st & MD_HEAD)
		a |= A_UNDERLINE;
	if (st & MD_CODE)
		a |= theme_attr(TH_NOTE);
	if (st & MD_QUOTE)
		a |= theme_attr(TH_DIM);
	return a;
}

static void
draw_body(const struct scroll *s, const struct scroll_line *l, int y, int w,
    int highlight)
{
	const struct scroll_item	*it = &s->items[l->item];
	struct view_gr			 g;
	struct draw_hl			 h;
	size_t				 p = l->off, end = l->off + l->len;
	int				 x0 = scroll_body_indent(s), col = 0;
	int				 gw;
	attr_t				 plain = item_attr(it), a;

	hl_start(&h, s, l->item, l->off, highlight);
	wmove(stdscr, y, x0);
	while (p < end && x0 + col < w) {
		size_t	q = view_next(it->text, end, p, &g);

		a = hl_attr(&h, p, plain);
		if (it->md != NULL) {
			attr_t	ma = md_attr(md_style_at(it->md, p));

			if (a & A_COLOR)	/* a match's colours win */
				ma &= ~A_COLOR;
			a |= ma;
		}
		if (g.kind == VIEW_TAB || g.kind == VIEW_NEWLINE) {
			gw = g.kind == VIEW_TAB ? view_tab(col) : 1;
			if (gw > w - x0 - col)
				gw = w - x0 - col;
			draw_fill(y, x0 + col, gw, a);
			col += gw;
		} else {
			if (x0 + col + g.width > w)
				break;
			draw_gr(&g, a);
			col += g.width;
		}
		p = q;
	}
}

/*
 * Draw the visible lines of the scrollback in rows [y, y + h) of width
 * w, with search matches highlighted if asked, and the "new text below"
 * marker on the last row when the user has scrolled away from new text.
 */
void
draw_pane(const struct scroll *s, int y, int h, int w, int highlight)
{
	const struct scroll_line	*l;
	const struct scroll_item	*it;
	const char			*mark;
	size_t				 i;
	int				 row, mw;

	for (row = 0; row < h; row++) {
		wmove(stdscr, y + row, 0);
		wclrtoeol(stdscr);
		i = s->top + (size_t)row;
		if (i >= s->n_lines)
			continue;
		l = &s->lines[i];
		it = &s->items[l->item];
		if (l->kind == SCROLL_HEAD)
			draw_str(y + row, 0, w, it->head + l->off, l->len,
			    head_attr(it));
		else if (l->kind == SCROLL_BODY)
			draw_body(s, l, y + row, w, highlight);
	}
	if (s->unseen && !s->follow && h > 0) {
		mark = _(" new text below: End ");
		mw = view_width(mark, strlen(mark));
		if (mw > w)
			mw = w;
		draw_fill(y + h - 1, w - mw, mw, theme_attr(TH_MARKER));
		draw_str(y + h - 1, w - mw, mw, mark, strlen(mark),
		    theme_attr(TH_MARKER));
	}
}
