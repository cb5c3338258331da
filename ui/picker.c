/*
 * The picker: items with a label and a detail line, filtered by what the
 * user types (bytes, so Chinese filters too), drawn in a frame over the
 * scrollback.  A text page uses the same frame and keys to scroll.
 */
#include "config.h"

#include "picker.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <curses.h>

#include "fe/xmalloc.h"
#include "draw.h"
#include "theme.h"
#include "view.h"
#include "fe/i18n.h"

/* An empty picker (text: a page to read rather than a list). */
void
picker_init(struct picker *pk, int kind, const char *title, int text)
{
	memset(pk, 0, sizeof *pk);
	pk->kind = kind;
	pk->text = text;
	pk->title = xstrdup(title);
}

/* Free the items. */
void
picker_fini(struct picker *pk)
{
	size_t	i;

	for (i = 0; i < pk->n; i++) {
		free(pk->items[i].label);
		free(pk->items[i].detail);
		free(pk->items[i].key);
	}
	free(pk->items);
	free(pk->shown);
	free(pk->title);
	memset(pk, 0, sizeof *pk);
}

static int
matches(const struct picker *pk, const struct picker_item *it)
{
	if (pk->filter_len == 0)
		return 1;
	return strcasestr(it->label, pk->filter) != NULL ||
	    (it->detail != NULL && strcasestr(it->detail, pk->filter) != NULL);
}

static void
refilter(struct picker *pk)
{
	size_t	i;

	pk->shown = xreallocarray(pk->shown, pk->n + 1, sizeof *pk->shown);
	pk->n_shown = 0;
	for (i = 0; i < pk->n; i++)
		if (pk->text || matches(pk, &pk->items[i]))
			pk->shown[pk->n_shown++] = i;
	if (pk->sel >= pk->n_shown)
		pk->sel = pk->n_shown > 0 ? pk->n_shown - 1 : 0;
}

/* Add an item (copied; detail and key may be NULL). */
void
picker_add(struct picker *pk, const char *label, const char *detail,
    const char *key)
{
	struct picker_item	*it;

	if (pk->n == pk->cap) {
		pk->cap = pk->cap == 0 ? 16 : pk->cap * 2;
		pk->items = xreallocarray(pk->items, pk->cap,
		    sizeof *pk->items);
	}
	it = &pk->items[pk->n++];
	it->label = xstrdup(label);
	it->detail = detail != NULL ? xstrdup(detail) : NULL;
	it->key = xstrdup(key != NULL ? key : label);
	refilter(pk);
}

/* Put the selection on the item with this key. */
void
picker_select(struct picker *pk, const char *key)
{
	size_t	i;

	for (i = 0; i < pk->n_shown; i++)
		if (key != NULL && strcmp(pk->items[pk->shown[i]].key,
		    key) == 0)
			pk->sel = i;
}

/* The chosen item, or NULL. */
const struct picker_item *
picker_chosen(const struct picker *pk)
{
	if (pk->text || pk->n_shown == 0)
		return NULL;
	return &pk->items[pk->shown[pk->sel]];
}

static void
move_sel(struct picker *pk, long d)
{
	long	s;
	long	last = pk->n_shown > 0 ? (long)pk->n_shown - 1 : 0;
	long	page = pk->page > 0 ? pk->page : 1;

	if (pk->text) {
		/* A page scrolls by its top line. */
		s = (long)pk->top + d;
		last = (long)pk->n > page ? (long)pk->n - page : 0;
		pk->top = (size_t)(s < 0 ? 0 : s > last ? last : s);
		return;
	}
	s = (long)pk->sel + d;
	pk->sel = (size_t)(s < 0 ? 0 : s > last ? last : s);
}

/* Handle a key; PICKER_CHOSEN, PICKER_CANCEL or PICKER_NONE. */
int
picker_key(struct picker *pk, int is_key, wint_t c)
{
	long	page = pk->page > 1 ? pk->page - 1 : 1;
	char	buf[MB_LEN_MAX];
	int	n;

	if (is_key) {
		switch (c) {
		case KEY_UP:
			move_sel(pk, -1);
			break;
		case KEY_DOWN:
			move_sel(pk, 1);
			break;
		case KEY_PPAGE:
			move_sel(pk, -page);
			break;
		case KEY_NPAGE:
			move_sel(pk, page);
			break;
		case KEY_HOME:
			move_sel(pk, -(long)pk->n - 1);
			break;
		case KEY_END:
			move_sel(pk, (long)pk->n + 1);
			break;
		case KEY_ENTER:
			return pk->text ? PICKER_CANCEL : PICKER_CHOSEN;
		case KEY_BACKSPACE:
			goto backspace;
		case KEY_F(1):
			return pk->text ? PICKER_CANCEL : PICKER_NONE;
		default:
			break;
		}
		return PICKER_NONE;
	}
	switch (c) {
	case 27:	/* Esc */
	case 3:		/* Ctrl-C */
	case 7:		/* Ctrl-G */
		return PICKER_CANCEL;
	case '\r':
	case '\n':
		return pk->text ? PICKER_CANCEL : PICKER_CHOSEN;
	case 16:	/* Ctrl-P */
		move_sel(pk, -1);
		return PICKER_NONE;
	case 14:	/* Ctrl-N */
		move_sel(pk, 1);
		return PICKER_NONE;
	case 8:
	case 127:
		goto backspace;
	case 21:	/* Ctrl-U */
		pk->filter_len = 0;
		pk->filter[0] = '\0';
		refilter(pk);
		return PICKER_NONE;
	default:
		break;
	}
	if (pk->text) {
		if (c == 'q')
			return PICKER_CANCEL;
		if (c == ' ')
			move_sel(pk, page);
		else if (c == 'j')
			move_sel(pk, 1);
		else if (c == 'k')
			move_sel(pk, -1);
		return PICKER_NONE;
	}
	if (c < 0x20 || (n = wctomb(buf, (wchar_t)c)) <= 0 ||
	    pk->filter_len + (size_t)n >= sizeof pk->filter)
		return PICKER_NONE;
	memcpy(pk->filter + pk->filter_len, buf, (size_t)n);
	pk->filter_len += (size_t)n;
	pk->filter[pk->filter_len] = '\0';
	pk->sel = 0;
	refilter(pk);
	return PICKER_NONE;
backspace:
	/* Drop the last whole character of the filter. */
	while (pk->filter_len > 0 && ((unsigned char)
	    pk->filter[--pk->filter_len] & 0xC0) == 0x80)
		;
	pk->filter[pk->filter_len] = '\0';
	refilter(pk);
	return PICKER_NONE;
}

/* Draw the picker over rows [y, y + h), w columns: a title bar, the
 * items, and a line of keys at the bottom. */
void
picker_draw(struct picker *pk, int y, int h, int w)
{
	const struct picker_item	*it;
	const char			*keys;
	char				*foot;
	size_t				 i, idx;
	int				 rows, row, lw, cw, x = 1, lcol;
	attr_t				 a;

	if (h < 1 || w < 4)
		return;
	for (row = 0; row < h; row++) {
		wmove(stdscr, y + row, 0);
		wclrtoeol(stdscr);
	}
	draw_fill(y, 0, w, theme_attr(TH_STATUS));
	draw_str(y, 1, w - 2, pk->title, strlen(pk->title),
	    theme_attr(TH_STATUS) | A_BOLD);
	rows = h - 2;
	if (rows < 1)
		rows = 1;
	pk->page = rows;
	if (!pk->text) {
		if (pk->sel < pk->top)
			pk->top = pk->sel;
		if (pk->sel >= pk->top + (size_t)rows)
			pk->top = pk->sel - (size_t)rows + 1;
	}
	cw = w - 2;
	/* The details in one column, after the widest label shown. */
	lcol = 0;
	for (i = 0; !pk->text && i < pk->n_shown; i++) {
		it = &pk->items[pk->shown[i]];
		lw = view_width(it->label, strlen(it->label));
		if (lw > lcol)
			lcol = lw;
	}
	if (lcol > cw / 2)
		lcol = cw / 2;
	for (row = 0; row < rows && y + 1 + row < y + h; row++) {
		i = pk->top + (size_t)row;
		if (i >= (pk->text ? pk->n : pk->n_shown))
			break;
		idx = pk->text ? i : pk->shown[i];
		it = &pk->items[idx];
		a = !pk->text && i == pk->sel ? theme_attr(TH_SELECT) :
		    A_NORMAL;
		if (a != A_NORMAL)
			draw_fill(y + 1 + row, 0, w, a);
		lw = draw_str(y + 1 + row, x, cw, it->label,
		    strlen(it->label), a | (pk->text ? 0 : A_BOLD));
		if (lw < lcol)
			lw = lcol;
		if (it->detail != NULL && lw + 2 < cw)
			draw_str(y + 1 + row, x + lw + 2, cw - lw - 2,
			    it->detail, strlen(it->detail), a);
	}
	if (!pk->text && pk->n_shown == 0 && h > 2)
		draw_str(y + 1, x, cw, _("(nothing here)"),
		    strlen(_("(nothing here)")), theme_attr(TH_DIM));
	if (h < 3)
		return;
	if (pk->text)
		keys = _("Up/Down, PgUp/PgDn: scroll  Esc: close");
	else
		keys = _("Up/Down: move  Enter: choose  Esc: cancel  "
		    "type to filter: ");
	xasprintf(&foot, "%s%s%s", pk->hint != NULL ? pk->hint : "", keys,
	    pk->text ? "" : pk->filter);
	draw_fill(y + h - 1, 0, w, theme_attr(TH_STATUS));
	draw_str(y + h - 1, 1, w - 2, foot, strlen(foot),
	    theme_attr(TH_STATUS));
	free(foot);
}
