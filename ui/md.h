/*
 * Markdown as the full-screen chat shows a reply: the text drawn (marks
 * taken away, bullets, quote bars, tables aligned by display width), the
 * styles of its spans, and the blocks that are never rewrapped (fenced
 * code, tables).  The raw text stays in the conversation for /save,
 * /export and /copy; this is only how it looks.
 */
#ifndef YT_UI_MD_H
#define YT_UI_MD_H

#include <stddef.h>

#define MD_BOLD		0x01
#define MD_ITALIC	0x02
#define MD_CODE		0x04
#define MD_HEAD		0x08
#define MD_QUOTE	0x10	/* quotes, rules, a fence's language */

struct md_span {
	size_t		off;
	size_t		len;
	unsigned	style;
};

/* Lines [off, end) of the text drawn as they are, cut at the edge. */
struct md_block {
	size_t	off;
	size_t	end;
};

struct md {
	char		*text;		/* what is drawn */
	size_t		 len;
	size_t		 cap;
	struct md_span	*spans;		/* in order of off */
	size_t		 n_spans;
	size_t		 cap_spans;
	struct md_block	*keep;		/* in order */
	size_t		 n_keep;
	size_t		 cap_keep;
};

/* Render raw[0..len) (terminal-safe UTF-8) into m, replacing what it
 * had. */
void		md_render(struct md *, const char *raw, size_t len);
void		md_free(struct md *);
/* The styles at byte off of m->text. */
unsigned	md_style_at(const struct md *, size_t off);

#endif
