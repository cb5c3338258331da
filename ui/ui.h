/*
 * The full-screen chat (ncursesw, readline's callback interface): the
 * default front end when stdin and stdout are terminals.
 */
#ifndef YT_UI_UI_H
#define YT_UI_UI_H

struct fe;

/* What ui_main() returns when the terminal cannot hold the full-screen
 * chat (TERM unset or dumb, no UTF-8 locale, curses fails). */
#define UI_NO_SCREEN	(-1)

/* Run the full-screen chat until the user quits; the exit status, or
 * UI_NO_SCREEN (nothing shown): the caller runs the line chat. */
int	ui_main(struct fe *);

#endif
