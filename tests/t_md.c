/*
 * Markdown as the full-screen chat draws a reply (ui/md.c): marks taken
 * away with their styles kept, bullets and quote bars, fenced code and
 * tables kept from rewrapping, tables aligned by display width (CJK
 * counts two), and text that is no Markdown left as it came.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "ui/md.h"
#include "ui/view.h"
#include "tests/tap.h"

static struct md	m;

static const char *
render(const char *s)
{
	md_render(&m, s, strlen(s));
	return m.text;
}

/* The offset of needle in the drawn text. */
static size_t
at(const char *needle)
{
	const char	*p = strstr(m.text, needle);

	return p != NULL ? (size_t)(p - m.text) : (size_t)-1;
}

/* The display column where needle starts on its line. */
static int
col(const char *needle)
{
	const char	*p = strstr(m.text, needle), *l;

	if (p == NULL)
		return -1;
	for (l = p; l > m.text && l[-1] != '\n'; l--)
		;
	return view_width(l, (size_t)(p - l));
}

int
main(void)
{
	ok(strcmp(render("# Title\nSome **bold** and *it* and `x()`."),
	    "Title\nSome bold and it and x().") == 0,
	    "heading and inline marks are taken away: %s", m.text);
	ok(md_style_at(&m, at("Title")) & MD_HEAD, "the heading is styled");
	ok((md_style_at(&m, at("bold")) & MD_BOLD) &&
	    (md_style_at(&m, at("it ")) & MD_ITALIC) &&
	    (md_style_at(&m, at("x()")) & MD_CODE) &&
	    md_style_at(&m, at("Some")) == 0, "bold, italic, code spans");
	ok(strcmp(render("- one\n  * two\n> quoted"),
	    "\xe2\x80\xa2 one\n  \xe2\x80\xa2 two\n\xe2\x94\x82 quoted") == 0,
	    "lists get bullets, quotes a bar: %s", m.text);
	render("Run:\n```sh\nls -l --color=auto | sort -k5 -n | tail\n```\n"
	    "done");
	ok(at("ls -l") != (size_t)-1 && strstr(m.text, "```") == NULL &&
	    m.n_keep == 1 && m.keep[0].off <= at("ls -l") &&
	    m.keep[0].end >= at("tail") && (md_style_at(&m, at("sort")) &
	    MD_CODE), "a fenced block: set apart, kept from rewrapping");
	ok(at("done") > m.keep[0].end, "and the text after it is text again");
	render("| 名字 | n |\n|---|---|\n| 小猫 | 12 |\n| a | 3 |\n");
	ok(col("n") == col("12") && col("12") == col("3") && m.n_keep == 1,
	    "a table's columns line up by display width: %s", m.text);
	ok(strstr(m.text, "|") == NULL && strstr(m.text,
	    "\xe2\x94\x80\xe2\x94\xbc") != NULL, "drawn with box lines");
	ok(strcmp(render("2 * 3 * 4 = 24, a_b_c, 5 ** 2"),
	    "2 * 3 * 4 = 24, a_b_c, 5 ** 2") == 0,
	    "arithmetic and snake_case are not emphasis: %s", m.text);
	ok(strcmp(render("**never closed"), "**never closed") == 0,
	    "an unclosed mark stays");
	md_free(&m);
	return tap_done();
}
