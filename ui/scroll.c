/*
 * Scrollback: items own their sanitized text (text_sanitize), lines are
 * rebuilt from view_wrap() when the width changes, and a streaming reply
 * rewraps only its last two lines per append.  Search is a case-folding
 * (ASCII) byte match, so any CJK text matches itself.
 */
#include "config.h"

#include "scroll.h"

#include <stdlib.h>
#include <string.h>

#include "fe/text.h"
#include "fe/xmalloc.h"
#include "md.h"
#include "view.h"

#define SCROLL_NONE	((size_t)-1)

/* Lines being built for one item. */
struct scroll_build {
	struct scroll_line	*v;
	size_t			 n;
	size_t			 cap;
	size_t			 item;
	size_t			 base;	/* added to every offset */
};

static void
build_push(struct scroll_build *b, size_t off, size_t len, int cols,
    int kind)
{
	if (b->n == b->cap) {
		b->cap = b->cap == 0 ? 16 : b->cap * 2;
		b->v = xreallocarray(b->v, b->cap, sizeof *b->v);
	}
	b->v[b->n].item = b->item;
	b->v[b->n].off = off;
	b->v[b->n].len = len;
	b->v[b->n].cols = cols;
	b->v[b->n].kind = kind;
	b->n++;
}

static void
build_line(void *arg, size_t off, size_t len, int cols)
{
	build_push(arg, off, len, cols, SCROLL_BODY);
}

static void
build_head(void *arg, size_t off, size_t len, int cols)
{
	build_push(arg, off, len, cols, SCROLL_HEAD);
}

/* An empty scrollback for a pane of this size. */
void
scroll_init(struct scroll *s, int width, int height)
{
	memset(s, 0, sizeof *s);
	s->width = width;
	s->height = height;
	s->follow = 1;
	s->markdown = 1;
}

/* Free every item and line. */
void
scroll_fini(struct scroll *s)
{
	scroll_clear(s);
	free(s->items);
	free(s->lines);
	free(s->query);
	memset(s, 0, sizeof *s);
}

/* Remove every item; the size and the last query stay. */
void
scroll_clear(struct scroll *s)
{
	scroll_truncate(s, 0);
	s->top = 0;
	s->follow = 1;
	s->unseen = 0;
}

/* Columns a message's text is indented by at this width. */
int
scroll_body_indent(const struct scroll *s)
{
	return s->width > SCROLL_INDENT + 4 ? SCROLL_INDENT : 0;
}

/* Columns a message's text is wrapped to. */
int
scroll_body_width(const struct scroll *s)
{
	int	w = s->width - scroll_body_indent(s);

	return w < 1 ? 1 : w;
}

static size_t
max_top(const struct scroll *s)
{
	size_t	h = s->height > 0 ? (size_t)s->height : 0;

	return s->n_lines > h ? s->n_lines - h : 0;
}

/* Lay out a Markdown reply: its code blocks and tables line for line,
 * never rewrapped (drawn cut at the edge), the rest wrapped. */
static void
layout_md(struct scroll *s, const struct scroll_item *it,
    struct scroll_build *b)
{
	const struct md	*m = it->md;
	size_t		 pos = 0, k, p, e, end;

	for (k = 0; k < m->n_keep; k++) {
		end = m->keep[k].off;
		if (end > pos && it->text[end - 1] == '\n')
			end--;
		if (end > pos)
			view_wrap(it->text, end, pos, scroll_body_width(s),
			    build_line, b);
		for (p = m->keep[k].off; p < m->keep[k].end; p = e + 1) {
			e = p;
			while (e < m->keep[k].end && it->text[e] != '\n')
				e++;
			build_push(b, p, e - p, view_width(it->text + p, e - p),
			    SCROLL_BODY);
		}
		pos = m->keep[k].end + 1;
	}
	if (pos < it->len)
		view_wrap(it->text, it->len, pos, scroll_body_width(s),
		    build_line, b);
}

/* Render a Markdown item's raw text into what it shows. */
static void
render_md(struct scroll_item *it)
{
	md_render(it->md, it->raw, it->raw_len);
	free(it->text);
	it->text = xstrndup(it->md->text, it->md->len);
	it->len = it->md->len;
	it->cap = it->len + 1;
}

/*
 * Rebuild the lines of item i, keeping its first keep lines (the wrap
 * restarts where line keep began), and splice them in.  The view stays
 * on the same text unless it follows the bottom.
 */
static void
relayout(struct scroll *s, size_t i, size_t keep)
{
	struct scroll_item	*it = &s->items[i];
	struct scroll_build	 b;
	size_t			 old_n = it->n_lines, from = 0, new_n, j;
	size_t			 first_changed = it->line0 + keep;
	long			 delta;

	memset(&b, 0, sizeof b);
	b.item = i;
	if (keep > 0 && keep < old_n &&
	    s->lines[it->line0 + keep].kind == SCROLL_BODY)
		from = s->lines[it->line0 + keep].off;
	else {
		keep = 0;
		first_changed = it->line0;
		if (it->kind == SCROLL_MSG) {
			/* The header wraps too (a narrow screen, a long
			 * stop reason): never cut. */
			view_wrap(it->head, it->head_len, 0, s->width > 0 ?
			    s->width : 1, build_head, &b);
			if (b.n == 0)
				build_push(&b, 0, 0, 0, SCROLL_HEAD);
		}
	}
	if (it->md != NULL && it->md->n_keep > 0 && from == 0)
		layout_md(s, it, &b);
	else
		view_wrap(it->text, it->len, from, scroll_body_width(s),
		    build_line, &b);
	build_push(&b, it->len, 0, 0, SCROLL_GAP);

	new_n = keep + b.n;
	delta = (long)new_n - (long)old_n;
	if (delta > 0 && s->n_lines + (size_t)delta > s->cap_lines) {
		while (s->n_lines + (size_t)delta > s->cap_lines)
			s->cap_lines = s->cap_lines == 0 ? 256 :
			    s->cap_lines * 2;
		s->lines = xreallocarray(s->lines, s->cap_lines,
		    sizeof *s->lines);
	}
	memmove(s->lines + it->line0 + new_n, s->lines + it->line0 + old_n,
	    (s->n_lines - it->line0 - old_n) * sizeof *s->lines);
	memcpy(s->lines + first_changed, b.v, b.n * sizeof *b.v);
	s->n_lines = (size_t)((long)s->n_lines + delta);
	it->n_lines = new_n;
	for (j = i + 1; j < s->n_items; j++)
		s->items[j].line0 = (size_t)((long)s->items[j].line0 + delta);
	free(b.v);

	if (s->follow)
		s->top = max_top(s);
	else {
		if (s->top >= it->line0 + old_n)
			s->top = (size_t)((long)s->top + delta);
		if (s->top > max_top(s))
			s->top = max_top(s);
		if (first_changed >= s->top + (size_t)(s->height > 0 ?
		    s->height : 0))
			s->unseen = 1;
	}
}

/* Add an item (text sanitized and copied); returns its index. */
size_t
scroll_add(struct scroll *s, int kind, int role, const char *text,
    size_t len)
{
	struct scroll_item	*it;

	if (s->n_items == s->cap_items) {
		s->cap_items = s->cap_items == 0 ? 32 : s->cap_items * 2;
		s->items = xreallocarray(s->items, s->cap_items,
		    sizeof *s->items);
	}
	it = &s->items[s->n_items];
	memset(it, 0, sizeof *it);
	it->kind = kind;
	it->role = role;
	it->text = text_sanitize(text != NULL ? text : "", text != NULL ?
	    len : 0, &it->len);
	it->cap = it->len + 1;
	it->head = xstrdup("");
	it->line0 = s->n_lines;
	if (kind == SCROLL_MSG && role == SCROLL_ROLE_REPLY && s->markdown) {
		it->raw = xstrndup(it->text, it->len);
		it->raw_len = it->len;
		it->md = xcalloc(1, sizeof *it->md);
		render_md(it);
	}
	s->n_items++;
	relayout(s, s->n_items - 1, 0);
	return s->n_items - 1;
}

/* Append text (whole UTF-8 characters) to an item; it is rewrapped from
 * its second-to-last line. */
void
scroll_append(struct scroll *s, size_t i, const char *text, size_t len)
{
	struct scroll_item	*it;
	char			*safe;
	size_t			 n, body, keep;

	if (i >= s->n_items || len == 0)
		return;
	it = &s->items[i];
	safe = text_sanitize(text, len, &n);
	if (it->md != NULL) {
		/* Markdown: drawn again from the raw text (a mark may
		 * change what came before it). */
		it->raw = xreallocarray(it->raw, it->raw_len + n + 1, 1);
		memcpy(it->raw + it->raw_len, safe, n + 1);
		it->raw_len += n;
		free(safe);
		render_md(it);
		relayout(s, i, 0);
		return;
	}
	if (it->len + n + 1 > it->cap) {
		while (it->len + n + 1 > it->cap)
			it->cap *= 2;
		it->text = xreallocarray(it->text, it->cap, 1);
	}
	memcpy(it->text + it->len, safe, n + 1);
	it->len += n;
	free(safe);
	body = it->n_lines - 1 - (it->kind == SCROLL_MSG);
	keep = (it->kind == SCROLL_MSG) + (body > 2 ? body - 2 : 0);
	relayout(s, i, keep);
}

/* Set a message's header line (sanitized). */
void
scroll_set_head(struct scroll *s, size_t i, const char *head)
{
	struct scroll_item	*it;

	if (i >= s->n_items)
		return;
	it = &s->items[i];
	free(it->head);
	it->head = text_sanitize(head, strlen(head), &it->head_len);
	if (it->kind == SCROLL_MSG && it->n_lines > 0)
		relayout(s, i, 0);
}

/* Replace an item's flags. */
void
scroll_set_flags(struct scroll *s, size_t i, unsigned flags)
{
	if (i < s->n_items)
		s->items[i].flags = flags;
}

/* Remove the items from n on. */
void
scroll_truncate(struct scroll *s, size_t n)
{
	size_t	i;

	if (n >= s->n_items)
		return;
	for (i = n; i < s->n_items; i++) {
		free(s->items[i].text);
		free(s->items[i].head);
		free(s->items[i].raw);
		if (s->items[i].md != NULL) {
			md_free(s->items[i].md);
			free(s->items[i].md);
		}
	}
	s->n_lines = n > 0 ? s->items[n].line0 : 0;
	s->n_items = n;
	if (s->have_match && s->m_item >= n)
		s->have_match = 0;
	if (s->follow || s->top > max_top(s))
		s->top = max_top(s);
	if (s->top == max_top(s))
		s->follow = 1;
}

/* A new pane size: rewrap everything if the width changed, keeping the
 * first line shown on the same text. */
void
scroll_resize(struct scroll *s, int width, int height)
{
	size_t	a_item = 0, a_off = 0, i;
	int	have_anchor = 0;

	if (width < 1)
		width = 1;
	if (height < 0)
		height = 0;
	if (s->top < s->n_lines) {
		a_item = s->lines[s->top].item;
		a_off = s->lines[s->top].off;
		have_anchor = s->lines[s->top].kind == SCROLL_BODY;
	}
	s->height = height;
	if (width != s->width) {
		s->width = width;
		s->n_lines = 0;
		for (i = 0; i < s->n_items; i++) {
			s->items[i].line0 = s->n_lines;
			s->items[i].n_lines = 0;
			relayout(s, i, 0);
		}
	}
	if (s->follow)
		s->top = max_top(s);
	else {
		if (have_anchor)
			s->top = scroll_line_of(s, a_item, a_off);
		else if (a_item < s->n_items)
			s->top = s->items[a_item].line0;
		if (s->top > max_top(s))
			s->top = max_top(s);
		if (s->top == max_top(s))
			s->follow = 1;
	}
	if (s->follow)
		s->unseen = 0;
}

/* Scroll by a number of lines (negative: up, towards older text). */
void
scroll_by(struct scroll *s, long n)
{
	long	top = (long)s->top + n;

	if (top < 0)
		top = 0;
	if ((size_t)top > max_top(s))
		top = (long)max_top(s);
	s->top = (size_t)top;
	s->follow = s->top == max_top(s);
	if (s->follow)
		s->unseen = 0;
}

/* Show the oldest text. */
void
scroll_home(struct scroll *s)
{
	s->top = 0;
	s->follow = s->top == max_top(s);
}

/* Show the newest text and follow it again. */
void
scroll_end(struct scroll *s)
{
	s->top = max_top(s);
	s->follow = 1;
	s->unseen = 0;
}

/* The line showing byte off of an item's text. */
size_t
scroll_line_of(const struct scroll *s, size_t item, size_t off)
{
	const struct scroll_item	*it;
	size_t				 j, best;

	if (item >= s->n_items)
		return s->n_lines > 0 ? s->n_lines - 1 : 0;
	it = &s->items[item];
	best = it->line0;
	for (j = it->line0; j < it->line0 + it->n_lines; j++) {
		if (s->lines[j].kind != SCROLL_BODY)
			continue;
		if (s->lines[j].off > off)
			break;
		best = j;
	}
	return best;
}

static int
fold(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static int
match_at(const char *t, const char *q, size_t qlen)
{
	size_t	i;

	for (i = 0; i < qlen; i++)
		if (fold((unsigned char)t[i]) != fold((unsigned char)q[i]))
			return 0;
	return 1;
}

/* The first match of q in text at or after from, or (size_t)-1. */
size_t
scroll_find(const char *text, size_t len, size_t from, const char *q,
    size_t qlen)
{
	size_t	i;

	if (qlen == 0 || len < qlen)
		return SCROLL_NONE;
	for (i = from; i + qlen <= len; i++)
		if (match_at(text + i, q, qlen))
			return i;
	return SCROLL_NONE;
}

/* The last match of q in text starting before before, or (size_t)-1. */
size_t
scroll_rfind(const char *text, size_t len, size_t before, const char *q,
    size_t qlen)
{
	size_t	i;

	if (qlen == 0 || len < qlen)
		return SCROLL_NONE;
	if (before > len - qlen + 1)
		before = len - qlen + 1;
	for (i = before; i > 0; i--)
		if (match_at(text + i - 1, q, qlen))
			return i - 1;
	return SCROLL_NONE;
}

/* Search items from (item, off) in direction dir; 1 and the match in
 * s->m_item/m_off, or 0. */
static int
search_from(struct scroll *s, size_t item, size_t off, int dir)
{
	size_t	i = item, m;

	for (;;) {
		const struct scroll_item *it = &s->items[i];

		if (dir < 0)
			m = scroll_rfind(it->text, it->len, off, s->query,
			    s->qlen);
		else
			m = scroll_find(it->text, it->len, off, s->query,
			    s->qlen);
		if (m != SCROLL_NONE) {
			s->m_item = i;
			s->m_off = m;
			return 1;
		}
		if (dir < 0) {
			if (i == 0)
				return 0;
			i--;
			off = s->items[i].len;
		} else {
			if (++i >= s->n_items)
				return 0;
			off = 0;
		}
	}
}

/*
 * Find query (dir -1: towards older text, +1: newer) from the last match
 * if again is set, else from the bottom of the view; wraps around once.
 * Shows the match.  Returns 1, 2 if it wrapped, 0 if there is none.
 */
int
scroll_search(struct scroll *s, const char *query, int dir, int again)
{
	size_t	item, off, line, h;
	int	r = 1;

	if (s->query == NULL || strcmp(s->query, query) != 0) {
		free(s->query);
		s->query = xstrdup(query);
		s->qlen = strlen(query);
	}
	if (s->n_items == 0 || s->qlen == 0) {
		s->have_match = 0;
		return 0;
	}
	if (again && s->have_match) {
		item = s->m_item;
		off = dir < 0 ? s->m_off : s->m_off + 1;
	} else if (s->follow || s->n_lines == 0) {
		item = dir < 0 ? s->n_items - 1 : 0;
		off = dir < 0 ? s->items[item].len : 0;
	} else {
		line = s->top + (size_t)s->height;
		if (dir > 0)
			line = s->top;
		if (line >= s->n_lines)
			line = s->n_lines - 1;
		item = s->lines[line].item;
		off = s->lines[line].off + (dir < 0 ? s->lines[line].len : 0);
	}
	if (!search_from(s, item, off, dir)) {
		r = 2;
		item = dir < 0 ? s->n_items - 1 : 0;
		if (!search_from(s, item, dir < 0 ? s->items[item].len : 0,
		    dir)) {
			s->have_match = 0;
			return 0;
		}
	}
	s->have_match = 1;
	line = scroll_line_of(s, s->m_item, s->m_off);
	h = s->height > 0 ? (size_t)s->height : 1;
	if (line < s->top || line >= s->top + h) {
		s->top = line > h / 2 ? line - h / 2 : 0;
		if (s->top > max_top(s))
			s->top = max_top(s);
	}
	s->follow = s->top == max_top(s);
	if (s->follow)
		s->unseen = 0;
	return r;
}
