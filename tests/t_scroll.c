/*
 * The scrollback model and display-width wrapping, without curses
 * (RELIABILITY-NOTES T1, T5): CJK double width, combining marks (at most
 * four kept), emoji ZWJ sequences, a wide character at the last column,
 * characters wcwidth cannot measure, kinsoku, streaming rewrap, search.
 */
#include "config.h"

#include <locale.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "ui/scroll.h"
#include "ui/status.h"
#include "ui/view.h"

#define MAXL	256

struct lines {
	size_t	off[MAXL];
	size_t	len[MAXL];
	int	cols[MAXL];
	size_t	n;
};

static void
collect(void *arg, size_t off, size_t len, int cols)
{
	struct lines	*l = arg;

	if (l->n < MAXL) {
		l->off[l->n] = off;
		l->len[l->n] = len;
		l->cols[l->n] = cols;
	}
	l->n++;
}

static void
wrap(const char *s, int width, struct lines *l)
{
	memset(l, 0, sizeof *l);
	view_wrap(s, strlen(s), 0, width, collect, l);
}

/* Line i of s as a string (static buffer). */
static const char *
line(const char *s, const struct lines *l, size_t i)
{
	static char	buf[1024];

	snprintf(buf, sizeof buf, "%.*s", (int)l->len[i], s + l->off[i]);
	return buf;
}

/* Whether the lines cover s in order, each within width (a lone
 * over-wide cluster excepted), never starting inside a character. */
static int
well_formed(const char *s, const struct lines *l, int width)
{
	struct view_gr	g;
	size_t		i;

	for (i = 0; i < l->n; i++) {
		if (l->cols[i] > width && view_next(s + l->off[i], l->len[i],
		    0, &g) != l->len[i])
			return 0;
		if (((unsigned char)s[l->off[i]] & 0xC0) == 0x80)
			return 0;
		if (l->cols[i] != view_width(s + l->off[i], l->len[i]))
			return 0;
		if (i > 0 && l->off[i] < l->off[i - 1] + l->len[i - 1])
			return 0;
	}
	return 1;
}

static void
test_clusters(void)
{
	struct view_gr	 g;
	char		*s;
	size_t		 i, n, p;
	int		 marks;

	view_next("中", 3, 0, &g);
	ok(g.width == 2 && (g.flags & VIEW_WIDE) && g.len == 3,
	    "a CJK character is one cluster two columns wide");
	view_next("e\xcc\x81x", 4, 0, &g);
	ok(g.width == 1 && g.len == 3 && g.n_cells == 1 &&
	    g.cells[0].wc[1] == 0x301, "e + U+0301 is one cell of width 1");

	/* a followed by 10 000 combining acute accents. */
	n = 1 + 10000 * 2;
	s = malloc(n + 1);
	s[0] = 'a';
	for (i = 0; i < 10000; i++)
		memcpy(s + 1 + i * 2, "\xcc\x81", 2);
	s[n] = '\0';
	p = view_next(s, n, 0, &g);
	for (marks = 0; marks < VIEW_MAX_MARKS + 1 &&
	    g.cells[0].wc[1 + marks] != 0; marks++)
		;
	ok(p == n && g.width == 1 && marks == 4,
	    "a + 10000 x U+0301: one cluster, width 1, 4 marks kept (%d)",
	    marks);
	free(s);

	view_next("\xcc\x81", 2, 0, &g);
	ok(g.width == 1 && g.cells[0].wc[0] == 0x25CC &&
	    g.cells[0].wc[1] == 0x301,
	    "a combining mark with no base sits on a dotted circle");

	s = "\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d"
	    "\xf0\x9f\x91\xa7";
	p = view_next(s, strlen(s), 0, &g);
	ok(p == strlen(s) && g.n_cells == 3 && g.width == 6,
	    "an emoji ZWJ family is one cluster of three wide cells "
	    "(cells %d, width %d)", g.n_cells, g.width);

	view_next("\x1b[2J", 4, 0, &g);
	ok(g.len == 1 && g.width == 1 && g.cells[0].wc[0] == 0x241B,
	    "ESC is drawn as U+241B, one column");
	view_next("\xc2\x9b", 2, 0, &g);
	ok(g.cells[0].wc[0] == 0xFFFD, "a C1 control is drawn as U+FFFD");
	view_next("\xe2\x80\xae", 3, 0, &g);
	ok(g.cells[0].wc[0] == 0xFFFD && g.width == 1,
	    "a bidi override is drawn as U+FFFD");
	view_next("\xcd\xb8", 2, 0, &g);	/* U+0378, unassigned */
	ok(g.width == 1 && g.cells[0].wc[0] == 0xFFFD &&
	    (g.flags & VIEW_SUBST), "a character wcwidth calls -1 becomes "
	    "U+FFFD, one column");
	view_next("\xff", 1, 0, &g);
	ok(g.width == 1 && g.cells[0].wc[0] == 0xFFFD && g.len == 1,
	    "an invalid byte becomes U+FFFD");
	ok(view_width("a\tb", 3) == 9, "a tab reaches the next tab stop");
	ok(view_width("中文abc", 9) == 7, "view_width counts CJK as two");
	{
		int	used;

		p = view_fit("ab中文", 8, 3, &used);
		ok(p == 2 && used == 2, "view_fit never splits a wide "
		    "character (%zu bytes, %d columns)", p, used);
	}
}

static void
test_wrap(void)
{
	struct lines	 l;
	const char	*s;
	int		 bad, i;

	s = "中文中文中";
	wrap(s, 5, &l);
	ok(l.n == 3 && l.cols[0] == 4 && l.cols[2] == 2 && well_formed(s, &l,
	    5), "CJK at width 5: two per line, never split (%zu lines)", l.n);
	s = "aaaa中";
	wrap(s, 5, &l);
	ok(l.n == 2 && strcmp(line(s, &l, 0), "aaaa") == 0 &&
	    strcmp(line(s, &l, 1), "中") == 0,
	    "a wide character at the last column moves to the next line");
	s = "中文中，好";
	wrap(s, 6, &l);
	ok(l.n == 2 && strcmp(line(s, &l, 1), "中，好") == 0,
	    "a comma never starts a line: the character before it comes "
	    "along ('%s')", l.n > 1 ? line(s, &l, 1) : "");
	s = "他说：“你好。”我们走吧。";
	for (i = 2, bad = 0; i <= 24; i++) {
		size_t	k;

		wrap(s, i, &l);
		if (!well_formed(s, &l, i))
			bad++;
		for (k = 1; k < l.n && i >= 6; k++) {
			const char	*t = line(s, &l, k);

			if (strncmp(t, "，", 3) == 0 ||
			    strncmp(t, "。", 3) == 0 ||
			    strncmp(t, "”", 3) == 0 ||
			    strncmp(t, "：", 3) == 0)
				bad++;
		}
	}
	ok(bad == 0, "Chinese punctuation at widths 2..24: well formed, "
	    "none at a line start from width 6 (%d bad)", bad);
	s = "hello world again";
	wrap(s, 10, &l);
	ok(l.n == 3 && strcmp(line(s, &l, 0), "hello ") == 0 &&
	    strcmp(line(s, &l, 2), "again") == 0,
	    "English breaks after spaces");
	s = "abcdefghij";
	wrap(s, 4, &l);
	ok(l.n == 3 && strcmp(line(s, &l, 2), "ij") == 0,
	    "a word longer than the line is cut between characters");
	s = "a\n\nb";
	wrap(s, 10, &l);
	ok(l.n == 3 && l.len[1] == 0 && strcmp(line(s, &l, 2), "b") == 0,
	    "newlines end lines; an empty line stays");
	wrap("", 10, &l);
	ok(l.n == 1 && l.len[0] == 0, "an empty text is one empty line");
	s = "中a";
	wrap(s, 1, &l);
	ok(l.n == 2 && l.cols[0] == 2 && strcmp(line(s, &l, 1), "a") == 0,
	    "width 1: a wide character gets a line of its own");
	s = "x\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d"
	    "\xf0\x9f\x91\xa7y";
	wrap(s, 4, &l);
	ok(l.n == 3 && l.cols[1] == 6 && well_formed(s, &l, 4),
	    "a ZWJ sequence is never split, even when wider than the line");
	s = "e\xcc\x81\xcc\x81\xcc\x81\xcc\x81\xcc\x81\xcc\x81";
	wrap(s, 1, &l);
	ok(l.n == 1 && l.cols[0] == 1, "marks stay with their base");
}

/* Item lines as (off, len, cols) triples, for comparing layouts. */
static int
same_lines(const struct scroll *a, size_t ia, const struct scroll *b,
    size_t ib)
{
	const struct scroll_item	*x = &a->items[ia], *y = &b->items[ib];
	size_t				 i;

	if (x->n_lines != y->n_lines || x->len != y->len ||
	    memcmp(x->text, y->text, x->len) != 0)
		return 0;
	for (i = 0; i < x->n_lines; i++) {
		const struct scroll_line	*p = &a->lines[x->line0 + i];
		const struct scroll_line	*q = &b->lines[y->line0 + i];

		if (p->off != q->off || p->len != q->len ||
		    p->cols != q->cols || p->kind != q->kind)
			return 0;
	}
	return 1;
}

static void
test_scroll(void)
{
	static const char *pieces[] = { "从前", "有一只", "小猫，", "它",
	    "很喜欢", "在公园里", "玩。", "One ", "day", ", it saw a ",
	    "butterfly", "! ", "\xe2\x80\x9c", "你好", "\xe2\x80\x9d", "，",
	    "它说。", "e", "\xcc\x81", "\n", "第二段", "……", "\t", "x",
	    "\x1b[2J", "完。" };
	struct scroll	 a, b;
	char		 all[4096] = "";
	size_t		 i, k, ia, ib, before;
	int		 w, bad = 0, r;

	for (w = 3; w <= 41; w += 2) {
		scroll_init(&a, w, 10);
		scroll_init(&b, w, 10);
		ia = scroll_add(&a, SCROLL_MSG, 2, "", 0);
		all[0] = '\0';
		for (k = 0; k < 3; k++)
			for (i = 0; i < sizeof pieces / sizeof pieces[0];
			    i++) {
				scroll_append(&a, ia, pieces[i],
				    strlen(pieces[i]));
				strcat(all, pieces[i]);
			}
		ib = scroll_add(&b, SCROLL_MSG, 2, all, strlen(all));
		if (!same_lines(&a, ia, &b, ib))
			bad++;
		scroll_fini(&a);
		scroll_fini(&b);
	}
	ok(bad == 0, "a reply streamed in pieces wraps as the whole text does "
	    "at widths 3..41 (%d differ)", bad);

	scroll_init(&a, 20, 5);
	ia = scroll_add(&a, SCROLL_MSG, 2, "a\x1b]52;c;eA==\x07z", 14);
	ok(memchr(a.items[ia].text, 0x1b, a.items[ia].len) == NULL &&
	    memchr(a.items[ia].text, 0x07, a.items[ia].len) == NULL,
	    "text in the scrollback holds no ESC or BEL byte");
	scroll_set_head(&a, ia, "You \x1b[31m");
	ok(memchr(a.items[ia].head, 0x1b, a.items[ia].head_len) == NULL,
	    "nor does a header");
	ok(a.n_lines == 3 && a.lines[0].kind == SCROLL_HEAD &&
	    a.lines[2].kind == SCROLL_GAP, "a message is a header, its text "
	    "and a gap");
	for (i = 0; i < 20; i++)
		scroll_add(&a, SCROLL_NOTE, -1, "note", 4);
	ok(a.follow && a.top + 5 == a.n_lines, "new text is followed");
	scroll_by(&a, -3);
	before = a.top;
	scroll_add(&a, SCROLL_NOTE, -1, "more", 4);
	ok(!a.follow && a.top == before && a.unseen,
	    "scrolled up: the view stays and new text below is flagged");
	scroll_by(&a, -1000);
	ok(a.top == 0, "scrolling up stops at the oldest line");
	scroll_by(&a, 1000);
	ok(a.follow && !a.unseen, "scrolling down to the end follows again");
	scroll_fini(&a);

	/* Resize keeps the first line shown on the same text. */
	scroll_init(&a, 40, 4);
	for (i = 0; i < 10; i++)
		scroll_add(&a, SCROLL_MSG, 1, "一二三四五六七八九十一二三四五"
		    "六七八九十", 60);
	scroll_by(&a, -12);
	k = a.lines[a.top].item;
	scroll_resize(&a, 12, 4);
	ok(a.lines[a.top].item == k && !a.follow, "a resize keeps the view "
	    "on the same message");
	for (i = 0, bad = 0; i < a.n_lines; i++)
		if (a.lines[i].cols > scroll_body_width(&a))
			bad++;
	ok(bad == 0, "and every line fits the new width");
	scroll_fini(&a);

	/* Search, CJK included. */
	scroll_init(&a, 30, 3);
	scroll_add(&a, SCROLL_MSG, 1, "小猫在公园里", 18);
	scroll_add(&a, SCROLL_MSG, 2, "Lily saw a cat. 小猫很开心。", 35);
	scroll_add(&a, SCROLL_MSG, 1, "Where is the LILY?", 18);
	r = scroll_search(&a, "小猫", -1, 0);
	ok(r == 1 && a.m_item == 1 && a.m_off == 16, "search finds the newest "
	    "CJK match first");
	r = scroll_search(&a, "小猫", -1, 1);
	ok(r == 1 && a.m_item == 0 && a.m_off == 0, "n goes to the older one");
	r = scroll_search(&a, "小猫", -1, 1);
	ok(r == 2 && a.m_item == 1, "and wraps around to the newest");
	r = scroll_search(&a, "lily", 1, 0);
	ok(r == 1, "ASCII matches ignore case");
	ok(scroll_search(&a, "狗", -1, 0) == 0 && !a.have_match,
	    "no match is reported");
	ok(scroll_rfind("abcabc", 6, 6, "abc", 3) == 3 &&
	    scroll_find("abcabc", 6, 1, "abc", 3) == 3,
	    "find and rfind see every position");
	scroll_truncate(&a, 1);
	ok(a.n_items == 1 && a.n_lines == a.items[0].n_lines,
	    "truncating drops later items and their lines");
	scroll_fini(&a);
}

static void
test_meter(void)
{
	char	*m = status_meter(1, 4, 8);

	ok(strcmp(m, "[##......]") == 0, "the context meter is ASCII (%s)", m);
	free(m);
	m = status_meter(9, 4, 4);
	ok(strcmp(m, "[####]") == 0, "a meter never overflows");
	free(m);
}

int
main(void)
{
	if (setlocale(LC_ALL, "C.UTF-8") == NULL)
		skip_all("no C.UTF-8 locale");
	test_clusters();
	test_wrap();
	test_scroll();
	test_meter();
	return tap_done();
}
