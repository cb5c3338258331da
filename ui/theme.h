/*
 * Colours and attributes of the full-screen chat, by role ("slot"), from
 * a theme (fe/cfg_theme.c reads the files; the built-in one needs none).
 * With NO_COLOR set, or on a terminal without colours, only attributes
 * are used.  UI thread only.
 */
#ifndef YT_UI_THEME_H
#define YT_UI_THEME_H

#include <curses.h>

#include "fe/cfg.h"	/* enum theme_slot */


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
