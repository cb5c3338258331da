/*
 * The scrollback model, with no curses in it: items (messages with a
 * header line, and notes) holding terminal-safe text, their lines wrapped
 * for the pane's width, the scroll position, and transcript search.  The
 * view only borrows what it draws from here.
 */
#ifndef YT_UI_SCROLL_H
#define YT_UI_SCROLL_H

#include <stddef.h>

struct md;

#define SCROLL_INDENT	2	/* columns before a message's text */

enum scroll_kind {
	SCROLL_MSG,		/* header line, text, gap */
	SCROLL_NOTE		/* text, gap */
};

/* Item flags (the view picks attributes from them). */
#define SCROLL_ROLE_REPLY	2	/* role of the model's messages */

#define SCROLL_DIM	0x01	/* a message no longer in the context */
#define SCROLL_ERROR	0x02	/* a note about a failure */
#define SCROLL_LIVE	0x04	/* a reply still being written */

enum scroll_lkind {
	SCROLL_HEAD,
	SCROLL_BODY,
	SCROLL_GAP
};

struct scroll_item {
	int		 kind;
	int		 role;		/* messages: CONV_* */
	unsigned	 flags;
	char		*head;		/* messages: the header line */
	size_t		 head_len;
	char		*text;		/* terminal-safe UTF-8 */
	size_t		 len;
	size_t		 cap;
	size_t		 line0;		/* its first line */
	size_t		 n_lines;
	struct md	*md;		/* a reply drawn as Markdown, or NULL */
	char		*raw;		/* its text as written (sanitized) */
	size_t		 raw_len;
};

struct scroll_line {
	size_t	item;
	size_t	off;		/* bytes into the text (or the head) */
	size_t	len;
	int	cols;
	int	kind;		/* SCROLL_HEAD, _BODY, _GAP */
};

struct scroll {
	struct scroll_item	*items;
	size_t			 n_items;
	size_t			 cap_items;
	struct scroll_line	*lines;
	size_t			 n_lines;
	size_t			 cap_lines;
	int			 width;		/* the pane */
	int			 height;
	size_t			 top;		/* first line shown */
	int			 follow;	/* stay at the bottom */
	int			 unseen;	/* text below the view */
	char			*query;		/* the last search */
	size_t			 qlen;
	int			 have_match;
	size_t			 m_item;
	size_t			 m_off;
	int			 markdown;	/* draw replies as Markdown */
};

void	scroll_init(struct scroll *, int width, int height);
void	scroll_fini(struct scroll *);
void	scroll_clear(struct scroll *);
size_t	scroll_add(struct scroll *, int kind, int role, const char *text,
	    size_t len);
void	scroll_append(struct scroll *, size_t item, const char *text,
	    size_t len);
void	scroll_set_head(struct scroll *, size_t item, const char *head);
void	scroll_set_flags(struct scroll *, size_t item, unsigned flags);
void	scroll_truncate(struct scroll *, size_t n_items);
void	scroll_resize(struct scroll *, int width, int height);
int	scroll_body_width(const struct scroll *);
int	scroll_body_indent(const struct scroll *);
void	scroll_by(struct scroll *, long lines);
void	scroll_home(struct scroll *);
void	scroll_end(struct scroll *);
size_t	scroll_line_of(const struct scroll *, size_t item, size_t off);
int	scroll_search(struct scroll *, const char *query, int dir,
	    int again);
size_t	scroll_find(const char *text, size_t len, size_t from,
	    const char *q, size_t qlen);
size_t	scroll_rfind(const char *text, size_t len, size_t before,
	    const char *q, size_t qlen);

#endif
