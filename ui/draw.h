/*
 * Drawing on stdscr (UI thread only): clusters from view.c as curses
 * cells, one-line texts clipped to a width without ever splitting a
 * character, and the scrollback pane with search highlights.
 */
#ifndef YT_UI_DRAW_H
#define YT_UI_DRAW_H

#include <stddef.h>

#include <curses.h>

struct scroll;
struct view_gr;

void	draw_gr(const struct view_gr *, attr_t);
int	draw_str(int y, int x, int w, const char *s, size_t len, attr_t);
void	draw_fill(int y, int x, int w, attr_t);
void	draw_pane(const struct scroll *, int y, int h, int w,
	    int highlight);

#endif
