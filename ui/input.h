/*
 * The input area: GNU readline's callback interface fed with the keys
 * ncurses reads, its line drawn by us (multi-line, wrapped by display
 * width, up to INPUT_MAX_ROWS rows), history in the XDG state folder.
 * Emacs and vi bindings and ~/.inputrc work as in any readline program.
 */
#ifndef YT_UI_INPUT_H
#define YT_UI_INPUT_H

#include <stddef.h>
#include <wchar.h>

#include <curses.h>

#define INPUT_MAX_ROWS	10

/* Key codes of our own, above ncurses' (ui.c binds them to sequences). */
enum {
	INPUT_KEY_PASTE_BEGIN = KEY_MAX + 1,
	INPUT_KEY_PASTE_END,
	INPUT_KEY_CTRL_LEFT,
	INPUT_KEY_CTRL_RIGHT,
	INPUT_KEY_CTRL_HOME,
	INPUT_KEY_CTRL_END,
	INPUT_KEY_SHIFT_UP,
	INPUT_KEY_SHIFT_DOWN
};

struct input_hooks {
	/* A line was accepted (the hook frees it); NULL at end of input. */
	void	(*line)(char *);
	/* Completion candidates for the word at start of line: an array
	 * of allocated strings ending in NULL (input frees), or NULL. */
	char	**(*words)(const char *line, int start);
	/* Show a short message (completion lists). */
	void	(*note)(const char *);
};

int	input_init(const struct input_hooks *);
void	input_fini(void);
void	input_key(int is_key, wint_t);
void	input_paste(const char *, size_t);
void	input_set(const char *);
void	input_clear(void);
int	input_empty(void);
const char *input_text(void);
int	input_rows(int width);
void	input_draw(int y, int h, int w, int *cy, int *cx);
int	input_dirty(void);
void	input_history_add(const char *);

#endif
