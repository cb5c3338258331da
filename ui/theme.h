/*
 * Colours and attributes of the full-screen chat, by role ("slot"), from
 * a theme (src/cfg_theme.c reads the files; the built-in one needs none).
 * With NO_COLOR set, or on a terminal without colours, only attributes
 * are used.  UI thread only.
 */
#ifndef YT_UI_THEME_H
#define YT_UI_THEME_H

#include <curses.h>

/* The order of the slots in a theme file (cfg_theme_slot_name). */
enum theme_slot {
	TH_NORMAL,		/* text; its colours are the screen's */
	TH_USER,		/* header of the user's messages */
	TH_ASSISTANT,		/* header of the model's replies */
	TH_NOTE,		/* notes from yangtuo */
	TH_ERROR,
	TH_DIM,			/* messages no longer in the context */
	TH_STATUS,		/* the status bar */
	TH_STATUS_KEY,		/* key hints in it */
	TH_METER,		/* filled part of a meter */
	TH_MARKER,		/* "new text below" */
	TH_MATCH,		/* search matches */
	TH_MATCH_CUR,		/* the current match */
	TH_BOX,			/* picker frame */
	TH_SELECT,		/* picker selection */
	TH_PROMPT,		/* the input's "> " */
	TH_PLACEHOLDER,		/* control pictures, U+FFFD */
	TH_COUNT
};

void		 theme_init(int colour);
void		 theme_fini(void);
int		 theme_use(const char *name,
		    void (*warn)(void *, const char *), void *arg,
		    char **cause);
const char	*theme_name(void);
unsigned	 theme_serial(void);
int		 theme_colour(void);
attr_t		 theme_attr(int slot);
short		 theme_pair(int slot);

#endif
