/*
 * Readline in the full-screen chat.  Keys read by ncurses are queued as
 * bytes and fed to rl_callback_read_char() through rl_getc_function;
 * readline never touches the terminal (its output stream is /dev/null,
 * its terminal preparation is a no-op) and its line is drawn here by
 * display width.  Enter accepts, Ctrl-J and Alt-Enter insert a newline,
 * Up and Down move between rows and walk the history at the edges.
 */
#include "config.h"

#include "input.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#include "fe/xdg.h"
#include "fe/xmalloc.h"
#include "fe/i18n.h"
#include "draw.h"
#include "theme.h"
#include "view.h"

#define INPUT_HISTORY	1000	/* entries kept in the file */

struct input_row {
	size_t	off;
	size_t	len;
	int	cols;
};

static struct input_hooks	 in_hooks;
static unsigned char		 in_q[512];	/* bytes for readline */
static size_t			 in_qh, in_qt;
static int			 in_feeding;
static char			*in_pending;	/* text to set after a feed */
static int			 in_is_dirty = 1;
static FILE			*in_null;
static char			*in_hist;
static struct input_row		*in_rows;
static size_t			 in_n_rows, in_cap_rows;
static int			 in_width = 80;	/* of the last layout */
static size_t			 in_top;	/* first row shown */
static char			**in_words;	/* completion candidates */
static size_t			 in_word_i;

static void	in_layout(const char *, size_t, int);

static int
in_getc(FILE *f)
{
	(void)f;
	if (in_qh < in_qt)
		return in_q[in_qh++];
	return 7;	/* nothing queued: abort whatever waits for a key */
}

static int
in_avail(void)
{
	return in_qh < in_qt;
}

static void
in_redisplay(void)
{
	in_is_dirty = 1;
}

static void
in_prep(int meta)
{
	(void)meta;
}

static void
in_deprep(void)
{
}

static void
in_on_line(char *line)
{
	in_is_dirty = 1;
	in_hooks.line(line);
}

/* Insert a newline (Ctrl-J, Alt-Enter; "yangtuo-newline" in inputrc). */
static int
in_newline(int count, int key)
{
	(void)key;
	while (count-- > 0)
		rl_insert_text("\n");
	return 0;
}

static char *
in_gen(const char *text, int state)
{
	size_t	n = strlen(text);

	if (state == 0)
		in_word_i = 0;
	while (in_words != NULL && in_words[in_word_i] != NULL) {
		const char	*w = in_words[in_word_i++];

		if (strncmp(w, text, n) == 0)
			return xstrdup(w);
	}
	return NULL;
}

static char **
in_complete(const char *text, int start, int end)
{
	char	**m;
	size_t	  i;

	(void)end;
	rl_attempted_completion_over = 1;
	if (in_hooks.words == NULL ||
	    (in_words = in_hooks.words(rl_line_buffer, start)) == NULL)
		return NULL;
	m = rl_completion_matches(text, in_gen);
	if (m == NULL && in_hooks.note != NULL)
		in_hooks.note(_("nothing to complete here"));
	for (i = 0; in_words[i] != NULL; i++)
		free(in_words[i]);
	free(in_words);
	in_words = NULL;
	return m;
}

static void
in_show(char **matches, int n, int max)
{
	char	*s = xstrdup(""), *t;
	int	 i;

	(void)max;
	for (i = 1; i <= n && strlen(s) < 1000; i++) {
		xasprintf(&t, "%s%s%s", s, i > 1 ? "  " : "", matches[i]);
		free(s);
		s = t;
	}
	if (in_hooks.note != NULL)
		in_hooks.note(s);
	free(s);
}

static void
in_history_push(char *entry)
{
	if (entry != NULL && *entry != '\0')
		add_history(entry);
	free(entry);
}

/*
 * Read the history file.  A message of several lines is stored as lines
 * ending in a backslash, as the plain mode continues a line, so both
 * modes read each other's entries; timestamp lines ("#123") separate
 * entries.
 */
static void
in_history_read(void)
{
	FILE	*f;
	char	*line = NULL, *entry = NULL, *t;
	size_t	 cap = 0, len;
	ssize_t	 n;
	int	 cont = 0;

	if (in_hist == NULL || (f = fopen(in_hist, "r")) == NULL)
		return;
	while ((n = getline(&line, &cap, f)) >= 0) {
		len = (size_t)n;
		while (len > 0 && (line[len - 1] == '\n' ||
		    line[len - 1] == '\r'))
			line[--len] = '\0';
		if (line[0] == '#' && len > 1 &&
		    strspn(line + 1, "0123456789") == len - 1) {
			in_history_push(entry);
			entry = NULL;
			cont = 0;
			continue;
		}
		if (entry != NULL && cont) {
			xasprintf(&t, "%s\n%s", entry, line);
			free(entry);
			entry = t;
		} else {
			in_history_push(entry);
			entry = xstrdup(line);
		}
		len = strlen(entry);
		if ((cont = len > 0 && entry[len - 1] == '\\'))
			entry[len - 1] = '\0';
	}
	in_history_push(entry);
	free(line);
	fclose(f);
}

/* Append one entry to the history file, its newlines as backslash and
 * newline, in one write so a concurrent yangtuo cannot split it. */
static void
in_history_write(const char *entry)
{
	char	*buf, *o;
	size_t	 left;
	ssize_t	 w;
	int	 fd;

	if (in_hist == NULL)
		return;
	o = buf = xmalloc(strlen(entry) * 2 + 2);
	for (; *entry != '\0'; entry++) {
		if (*entry == '\n')
			*o++ = '\\';
		*o++ = *entry;
	}
	*o++ = '\n';
	left = (size_t)(o - buf);
	fd = open(in_hist, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0) {
		o = buf;
		while (left > 0 && (w = write(fd, o, left)) > 0) {
			o += w;
			left -= (size_t)w;
		}
		close(fd);
	}
	free(buf);
}

static void
in_history_start(void)
{
	using_history();
	in_hist = xdg_state_file("history");
	in_history_read();
	stifle_history(INPUT_HISTORY);
}

/* Set up readline for the chat (UI thread, after initscr); 0 or -1. */
int
input_init(const struct input_hooks *h)
{
	Keymap	maps[2];
	int	i;

	in_hooks = *h;
	if ((in_null = fopen("/dev/null", "w")) == NULL)
		return -1;
	rl_readline_name = "yangtuo";
	rl_catch_signals = 0;
	rl_catch_sigwinch = 0;
	rl_change_environment = 0;
	rl_outstream = in_null;
	rl_instream = stdin;
	rl_getc_function = in_getc;
	rl_input_available_hook = in_avail;
	rl_redisplay_function = in_redisplay;
	rl_prep_term_function = in_prep;
	rl_deprep_term_function = in_deprep;
	rl_attempted_completion_function = in_complete;
	rl_completion_display_matches_hook = in_show;
	rl_add_defun("yangtuo-newline", in_newline, -1);
	in_history_start();
	/* One Tab lists the candidates when several fit (~/.inputrc may
	 * say otherwise). */
	rl_variable_bind("show-all-if-ambiguous", "on");
	rl_initialize();
	maps[0] = rl_get_keymap_by_name("emacs");
	maps[1] = rl_get_keymap_by_name("vi-insert");
	for (i = 0; i < 2; i++) {
		if (maps[i] == NULL)
			continue;
		rl_bind_keyseq_in_map("\\C-j", in_newline, maps[i]);
		rl_bind_keyseq_in_map("\\e\\C-m", in_newline, maps[i]);
	}
	rl_callback_handler_install("", in_on_line);
	return 0;
}

/* Leave readline and trim the history file. */
void
input_fini(void)
{
	rl_callback_handler_remove();
	if (in_hist != NULL)
		history_truncate_file(in_hist, INPUT_HISTORY);
	free(in_hist);
	in_hist = NULL;
	in_layout(NULL, 0, 0);
	free(in_rows);
	in_rows = NULL;
	in_n_rows = in_cap_rows = 0;
	free(in_pending);
	in_pending = NULL;
	if (in_null != NULL)
		fclose(in_null);
	in_null = NULL;
	rl_outstream = NULL;
}

static void
in_apply(const char *text)
{
	rl_replace_line(text, 1);
	rl_point = rl_end;
	in_is_dirty = 1;
}

/* Feed bytes to readline; text set by the line hook meanwhile is put in
 * afterwards (readline clears its line once the hook returns). */
static void
in_feed(const char *b, size_t n)
{
	if (n > sizeof in_q)
		n = sizeof in_q;
	memcpy(in_q, b, n);
	in_qh = 0;
	in_qt = n;
	in_feeding = 1;
	while (in_qh < in_qt)
		rl_callback_read_char();
	in_feeding = 0;
	in_qh = in_qt = 0;
	if (in_pending != NULL) {
		in_apply(in_pending);
		free(in_pending);
		in_pending = NULL;
	}
	in_is_dirty = 1;
}

static void
in_row(void *arg, size_t off, size_t len, int cols)
{
	(void)arg;
	if (in_n_rows == in_cap_rows) {
		in_cap_rows = in_cap_rows == 0 ? 16 : in_cap_rows * 2;
		in_rows = xreallocarray(in_rows, in_cap_rows, sizeof *in_rows);
	}
	in_rows[in_n_rows].off = off;
	in_rows[in_n_rows].len = len;
	in_rows[in_n_rows].cols = cols;
	in_n_rows++;
}

/* Lay the line out in rows of width columns, wrapped as the scrollback
 * is (so no row starts with closing punctuation where it can help); the
 * last layout is kept while the text and width stay the same. */
static void
in_layout(const char *s, size_t len, int width)
{
	static char	*last;
	static size_t	 last_len;
	static int	 last_w = -1;

	if (s == NULL) {	/* input_fini */
		free(last);
		last = NULL;
		last_w = -1;
		return;
	}
	if (width == last_w && len == last_len && in_n_rows > 0 &&
	    memcmp(s, last, len) == 0)
		return;
	in_n_rows = 0;
	view_wrap(s, len, 0, width, in_row, NULL);
	free(last);
	last = xstrndup(s, len);
	last_len = len;
	last_w = width;
}

/* Columns from a row's start to byte point. */
static int
in_col(const char *s, const struct input_row *r, size_t point)
{
	struct view_gr	g;
	size_t		p = r->off, end = r->off + r->len;
	int		col = 0;

	while (p < end && p < point) {
		p = view_next(s, end, p, &g);
		col += g.kind == VIEW_TAB ? view_tab(col) : g.width;
	}
	return col;
}

static const char *
in_prefix(void)
{
	if (rl_display_prompt != NULL && *rl_display_prompt != '\0')
		return rl_display_prompt;
	if (rl_editing_mode == 0 && rl_get_keymap() ==
	    rl_get_keymap_by_name("vi-command"))
		return ": ";
	return "> ";
}

/* Lay out the line for width w; the cursor's row and column. */
static void
in_locate(int w, size_t *row, int *col)
{
	const char	*pfx = in_prefix();
	int		 tw = w - view_width(pfx, strlen(pfx));
	size_t		 point = rl_point < 0 ? 0 : (size_t)rl_point, i;

	if (tw < 1)
		tw = 1;
	in_width = w;
	in_layout(rl_line_buffer, (size_t)rl_end, tw);
	for (i = in_n_rows; i > 0; i--)
		if (in_rows[i - 1].off <= point)
			break;
	*row = i > 0 ? i - 1 : 0;
	*col = in_col(rl_line_buffer, &in_rows[*row], point);
	if (*col >= tw) {
		(*row)++;
		*col = 0;
	}
}

/* Rows the input wants at width w: 1 to INPUT_MAX_ROWS. */
int
input_rows(int w)
{
	size_t	row, n;
	int	col;

	in_locate(w, &row, &col);
	n = row + 1 > in_n_rows ? row + 1 : in_n_rows;
	return n > INPUT_MAX_ROWS ? INPUT_MAX_ROWS : (int)n;
}

/* Draw the input in rows [y, y + h) of width w; the cursor's place in
 * *cy, *cx. */
void
input_draw(int y, int h, int w, int *cy, int *cx)
{
	const char	*pfx = in_prefix();
	int		 pw = view_width(pfx, strlen(pfx)), col, i;
	size_t		 row, r;
	struct view_gr	 g;

	in_locate(w, &row, &col);
	if (pw >= w)
		pw = 0;
	if (h < 1)
		h = 1;
	if (row < in_top)
		in_top = row;
	if (row >= in_top + (size_t)h)
		in_top = row - (size_t)h + 1;
	for (i = 0; i < h; i++) {
		wmove(stdscr, y + i, 0);
		wclrtoeol(stdscr);
		r = in_top + (size_t)i;
		if (r == 0 && pw > 0)
			draw_str(y + i, 0, pw, pfx, strlen(pfx),
			    theme_attr(TH_PROMPT));
		if (r >= in_n_rows)
			continue;
		{
			size_t	p = in_rows[r].off;
			size_t	end = p + in_rows[r].len;
			int	c = 0, gw;

			wmove(stdscr, y + i, pw);
			while (p < end) {
				p = view_next(rl_line_buffer, end, p, &g);
				if (g.kind == VIEW_TAB) {
					gw = view_tab(c);
					if (pw + c + gw > w)
						gw = w - pw - c;
					draw_fill(y + i, pw + c, gw,
					    A_NORMAL);
					c += gw;
					continue;
				}
				if (pw + c + g.width > w)
					break;
				draw_gr(&g, A_NORMAL);
				c += g.width;
			}
		}
	}
	*cy = y + (int)(row - in_top);
	*cx = pw + col < w ? pw + col : w - 1;
	in_is_dirty = 0;
}

/* Whether the line changed since it was last drawn. */
int
input_dirty(void)
{
	return in_is_dirty;
}

/* Move the cursor one row up (dir -1) or down; 0 if there is none. */
static int
in_move_row(int dir)
{
	struct view_gr	g;
	size_t		row, p, end;
	int		col, c = 0;

	if (RL_ISSTATE(RL_STATE_ISEARCH | RL_STATE_NSEARCH))
		return 0;
	in_locate(in_width, &row, &col);
	if ((dir < 0 && row == 0) || (dir > 0 && row + 1 >= in_n_rows))
		return 0;
	row = dir < 0 ? row - 1 : row + 1;
	p = in_rows[row].off;
	end = p + in_rows[row].len;
	while (p < end) {
		size_t	q = view_next(rl_line_buffer, end, p, &g);
		int	gw = g.kind == VIEW_TAB ? view_tab(c) : g.width;

		if (c + gw > col)
			break;
		c += gw;
		p = q;
	}
	rl_point = (int)p;
	in_is_dirty = 1;
	return 1;
}

/* One key from ncurses: a character, or (is_key) a KEY_ code. */
void
input_key(int is_key, wint_t c)
{
	char		buf[8];
	mbstate_t	mb;
	size_t		n;
	const char	*seq = NULL;

	if (!is_key) {
		memset(&mb, 0, sizeof mb);
		if ((n = wcrtomb(buf, (wchar_t)c, &mb)) == (size_t)-1)
			return;
		in_feed(buf, n);
		return;
	}
	switch (c) {
	case KEY_UP:
		if (!in_move_row(-1))
			seq = "\033[A";
		break;
	case KEY_DOWN:
		if (!in_move_row(1))
			seq = "\033[B";
		break;
	case KEY_LEFT:
		seq = "\033[D";
		break;
	case KEY_RIGHT:
		seq = "\033[C";
		break;
	case KEY_HOME:
		seq = "\033[H";
		break;
	case KEY_END:
		seq = "\033[F";
		break;
	case KEY_DC:
		seq = "\033[3~";
		break;
	case KEY_BACKSPACE:
		seq = "\177";
		break;
	case KEY_ENTER:
		seq = "\r";
		break;
	case INPUT_KEY_CTRL_LEFT:
		seq = "\033b";
		break;
	case INPUT_KEY_CTRL_RIGHT:
		seq = "\033f";
		break;
	default:
		break;
	}
	if (seq != NULL)
		in_feed(seq, strlen(seq));
}

/* Insert pasted text at the cursor as it is (never accepted here). */
void
input_paste(const char *s, size_t len)
{
	char	*t = xstrndup(s, len), *p;

	for (p = t; *p != '\0'; p++)
		if (*p == '\r')
			*p = '\n';
	rl_begin_undo_group();
	rl_insert_text(t);
	rl_end_undo_group();
	free(t);
	in_is_dirty = 1;
}

/* Replace the line (after a feed if one is under way). */
void
input_set(const char *text)
{
	if (in_feeding) {
		free(in_pending);
		in_pending = xstrdup(text);
		return;
	}
	in_apply(text);
}

/* Empty the line and forget a half-typed key sequence. */
void
input_clear(void)
{
	rl_callback_sigcleanup();
	rl_free_line_state();
	in_apply("");
	in_top = 0;
}

/* Whether the line is empty. */
int
input_empty(void)
{
	return rl_end == 0 && (in_pending == NULL || *in_pending == '\0');
}

/* The line as it stands (borrowed until the next key). */
const char *
input_text(void)
{
	return rl_line_buffer != NULL ? rl_line_buffer : "";
}

/* Add a line to the history and append it to the file. */
void
input_history_add(const char *line)
{
	HIST_ENTRY	*last;

	if (*line == '\0')
		return;
	last = history_length > 0 ? history_get(history_base +
	    history_length - 1) : NULL;
	if (last != NULL && strcmp(last->line, line) == 0)
		return;
	add_history(line);
	in_history_write(line);
}
