/*
 * A modal list over the scrollback: choose a system prompt or a saved
 * session (arrows, PgUp/PgDn, type to filter, Enter, Esc), or read a
 * page of text such as the F1 help (no selection).
 */
#ifndef YT_UI_PICKER_H
#define YT_UI_PICKER_H

#include <stddef.h>
#include <wchar.h>

enum picker_result {
	PICKER_NONE,		/* still open */
	PICKER_CHOSEN,		/* picker_chosen() says which */
	PICKER_CANCEL
};

struct picker_item {
	char	*label;
	char	*detail;
	char	*key;		/* what choosing it means (a name) */
};

struct picker {
	int			 kind;		/* the caller's tag */
	int			 text;		/* a page to read */
	char			*title;
	struct picker_item	*items;
	size_t			 n;
	size_t			 cap;
	size_t			 sel;		/* index into the shown */
	size_t			 top;
	char			 filter[128];
	size_t			 filter_len;
	size_t			*shown;		/* items passing the filter */
	size_t			 n_shown;
	int			 page;		/* rows of the last draw */
	const char		*hint;		/* the caller's keys, or NULL */
};

void	picker_init(struct picker *, int kind, const char *title, int text);
void	picker_fini(struct picker *);
void	picker_add(struct picker *, const char *label, const char *detail,
	    const char *key);
void	picker_select(struct picker *, const char *key);
int	picker_key(struct picker *, int is_key, wint_t);
const struct picker_item *picker_chosen(const struct picker *);
void	picker_draw(struct picker *, int y, int h, int w);

#endif
