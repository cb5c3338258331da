/*
 * The full-screen chat (ncursesw, readline's callback interface): the
 * default front end when stdin and stdout are terminals.
 */
#ifndef YT_UI_UI_H
#define YT_UI_UI_H

struct fe;

/* Run the full-screen chat until the user quits; the exit status. */
int	ui_main(struct fe *);

#endif
