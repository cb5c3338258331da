/*
 * The full-screen chat's handlers of the slash commands (the table is
 * fe/slashcmd.c, shared with the line chat), and the pages they open:
 * F1 help, the system prompt picker, the list of saved sessions with
 * date and first line.  Also the words Tab completes.
 */
#include "config.h"

#include "slash.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curses.h>

#include "fe/cfg.h"
#include "fe/conv.h"
#include "fe/client.h"
#include "fe/fe.h"
#include "fe/journal.h"
#include "common/log.h"
#include "fe/session.h"
#include "fe/slashcmd.h"
#include "fe/text.h"
#include "fe/xdg.h"
#include "fe/xmalloc.h"
#include "chat.h"
#include "input.h"
#include "picker.h"
#include "view.h"
#include "theme.h"
#include "fe/i18n.h"

#define SLASH_MAX_LISTED	500	/* sessions in the /load picker */

static const char *slash_params[] = {
	"temperature", "top_k", "top_p", "min_p", "repeat_penalty",
	"repeat_last_n", "seed", "max_tokens", "stop", NULL
};

struct segs {
	size_t	 off[64];
	size_t	 len[64];
	size_t	 n;
};

static void
seg_add(void *arg, size_t off, size_t len, int cols)
{
	struct segs	*g = arg;

	(void)cols;
	if (g->n < 64) {
		g->off[g->n] = off;
		g->len[g->n] = len;
		g->n++;
	}
}

/* Where a help row's text goes on: after "  KEYS   " (a gap of two
 * blanks or more after the first word), else its own indent. */
static int
hang_of(const char *line)
{
	size_t	i = strspn(line, " "), lead = i;
	const char	*gap;

	if ((gap = strstr(line + i, "  ")) != NULL &&
	    gap[strspn(gap, " ")] != '\0')
		return view_width(line, (size_t)(gap - line) +
		    strspn(gap, " "));
	return (int)lead;
}

/* Add a help row wrapped at width, its continuation lines hanging under
 * its text: nothing is cut on a narrow screen. */
static void
help_line(struct chat *c, const char *line, int width)
{
	struct segs	 g = { { 0 }, { 0 }, 0 };
	size_t		 n = strlen(line), i, from;
	int		 hang = hang_of(line);
	char		*t;

	if (width < 20 || view_width(line, n) <= width) {
		picker_add(&c->pk, line, NULL, NULL);
		return;
	}
	if (hang > width / 2)
		hang = 2;
	view_wrap(line, n, 0, width, seg_add, &g);
	t = xstrndup(line + g.off[0], g.len[0]);
	picker_add(&c->pk, t, NULL, NULL);
	free(t);
	from = g.off[0] + g.len[0];
	from += strspn(line + from, " ");
	g.n = 0;
	if (from < n)
		view_wrap(line, n, from, width - hang, seg_add, &g);
	for (i = 0; i < g.n; i++) {
		xasprintf(&t, "%*s%.*s", hang, "", (int)g.len[i],
		    line + g.off[i]);
		picker_add(&c->pk, t, NULL, NULL);
		free(t);
	}
}

static void
help_page(struct chat *c)
{
	const char	*keys = _(
"Keys\n"
"  Enter               send the message\n"
"  Alt-Enter, Ctrl-J   a new line in the message (or end a line with \\)\n"
"  Up, Down            move between lines; walk the history at the edges\n"
"  PgUp, PgDn          scroll the conversation (the mouse wheel too)\n"
"  Shift-Up/Down       scroll by one line\n"
"  Home, End           oldest or newest text when the input is empty;\n"
"                      Ctrl-Home, Ctrl-End always\n"
"  Ctrl-F              search the conversation; after Enter, Up or\n"
"                      Ctrl-F: older match, Down: newer, Enter: stay\n"
"                      there, Esc: back; other keys type as usual\n"
"  F1                  this help\n"
"  F2                  choose the system prompt\n"
"  F3, F4              temperature down, up by 0.1 (takes effect at the\n"
"                      next token, also during a reply)\n"
"  Ctrl-C              stop the reply and keep what came; empty the\n"
"                      input; twice at an empty input: quit\n"
"  Ctrl-D              quit (at an empty input)\n"
"  Ctrl-L              redraw the screen\n"
"  Ctrl-Z              suspend (fg resumes)\n"
"  Tab                 complete a command, parameter or name\n"
"  Other keys edit the line as readline does (emacs or vi mode,\n"
"  ~/.inputrc with $if yangtuo; 'yangtuo-newline' can be bound).\n");
	const char	*p, *nl;
	char		*text, *rows, *line;

	rows = slashcmd_help(0);
	xasprintf(&text, "%s\n%s\n%s\n%s", keys,
	    _("Commands (the English and the Chinese names work alike)"), rows,
	    _("Esc, q or F1 closes this page."));
	free(rows);
	picker_init(&c->pk, CHAT_PICK_HELP, _("yangtuo help"), 1);
	for (p = text; *p != '\0'; p = nl + 1) {
		nl = strchr(p, '\n');
		line = xstrndup(p, nl != NULL ? (size_t)(nl - p) : strlen(p));
		help_line(c, line, COLS - 2);
		free(line);
		if (nl == NULL)
			break;
	}
	free(text);
}

/* The first line of s, at most max bytes of whole characters; caller
 * frees. */
static char *
first_line(const char *s, size_t max)
{
	size_t	n = strcspn(s, "\n");

	if (n > max) {
		n = max;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	return text_sanitize(s, n, NULL);
}

static void
system_page(struct chat *c)
{
	const struct cfg	*cfg = c->fe->cfg;
	char			*d;
	size_t			 i;

	picker_init(&c->pk, CHAT_PICK_SYSTEM, _("System prompt"), 0);
	for (i = 0; i < cfg->n_prompts; i++) {
		d = first_line(cfg->prompts[i].text, 200);
		picker_add(&c->pk, cfg->prompts[i].name, d,
		    cfg->prompts[i].name);
		free(d);
	}
	picker_select(&c->pk, c->cv.system_name);
}

static void
session_page(struct chat *c)
{
	struct fe_sess	*v;
	struct conv		 cv;
	struct tm		 tm;
	char			 when[32], *d, *fl, *cause = NULL, *path;
	size_t			 n, i, j;
	int			 more = 0;

	v = fe_session_list(&n);
	picker_init(&c->pk, CHAT_PICK_SESSION, _("Load a conversation"), 0);
	c->pk.hint = _("Del: delete  Ctrl-R: rename  ");
	for (i = 0; i < n; i++) {
		if (i >= SLASH_MAX_LISTED || !session_name_ok(v[i].name))
			continue;
		localtime_r(&v[i].mtime, &tm);
		strftime(when, sizeof when, "%Y-%m-%d %H:%M", &tm);
		conv_init(&cv);
		/* Only the start of each file: a listing stays quick
		 * whatever the folder holds. */
		if ((path = session_path(v[i].name)) == NULL ||
		    session_peek_file(&cv, path, &more, &cause) != 0) {
			if (cause == NULL)
				cause = xstrdup(_("no folder for sessions "
				    "($HOME unset?)"));
			xasprintf(&d, _("%s  (unreadable: %s)"), when, cause);
			free(cause);
			cause = NULL;
		} else {
			for (j = 0; j < cv.n; j++)
				if (cv.msgs[j].role == CONV_USER)
					break;
			fl = first_line(j < cv.n ? cv.msgs[j].text : "", 200);
			xasprintf(&d, more ? _("%s  %zu+ messages  %s") :
			    _("%s  %zu messages  %s"), when, cv.n, fl);
			free(fl);
		}
		free(path);
		conv_free(&cv);
		picker_add(&c->pk, v[i].name, d, v[i].name);
		free(d);
	}
	for (i = 0; i < n; i++)
		free(v[i].name);
	free(v);
	picker_select(&c->pk, c->session);
}

/* Open a picker: CHAT_PICK_HELP, _SYSTEM or _SESSION. */
void
slash_open(struct chat *c, int what)
{
	if (c->picking)
		picker_fini(&c->pk);
	if (what == CHAT_PICK_HELP)
		help_page(c);
	else if (what == CHAT_PICK_SYSTEM)
		system_page(c);
	else
		session_page(c);
	c->picking = 1;
	c->dirty = 1;
}

static void
switch_system(struct chat *c, const char *arg, int custom)
{
	char	*reply;

	if (slashcmd_system(c->fe->cfg, &c->cv, arg, custom, &reply) != 0) {
		chat_note(c, 1, "%s", reply);
		free(reply);
		return;
	}
	journal_system(c->journal, &c->cv);
	chat_note(c, 0, "%s", reply);
	free(reply);
	chat_system_check(c);
	log_debug("ui system prompt %s", c->cv.system_name);
}

/* A key for the open picker. */
void
slash_key(struct chat *c, int is_key, unsigned key)
{
	const struct picker_item	*it;
	char				*line;
	int				 r;

	if (c->pk.kind == CHAT_PICK_SESSION && ((is_key && key == KEY_DC) ||
	    (!is_key && key == 18)) && (it = picker_chosen(&c->pk)) != NULL) {
		/* Delete or Ctrl-R: the command in the input, to confirm
		 * with Enter or change. */
		xasprintf(&line, is_key ? "/delete! %s" : "/rename %s / ",
		    it->key);
		input_set(line);
		free(line);
		picker_fini(&c->pk);
		c->picking = 0;
		c->dirty = 1;
		return;
	}
	r = picker_key(&c->pk, is_key, (wint_t)key);
	c->dirty = 1;
	if (r == PICKER_NONE)
		return;
	it = r == PICKER_CHOSEN ? picker_chosen(&c->pk) : NULL;
	if (it != NULL && c->pk.kind == CHAT_PICK_SYSTEM)
		switch_system(c, it->key, 0);
	else if (it != NULL && c->pk.kind == CHAT_PICK_SESSION) {
		xasprintf(&line, "/load %s", it->key);
		picker_fini(&c->pk);
		c->picking = 0;
		c->interrupts = 0;
		slash_run(c, line);
		free(line);
		return;
	}
	picker_fini(&c->pk);
	c->picking = 0;
}

/* ---------------------------------------------------------------------- */

static void
cmd_set(struct chat *c, char *arg)
{
	char	*reply;
	int	 r;

	if (strncmp(arg, "system", 6) == 0 && (arg[6] == ' ' ||
	    arg[6] == '\t')) {
		switch_system(c, arg + 7 + strspn(arg + 7, " \t"), 1);
		return;
	}
	if ((r = slashcmd_set(&c->fe->params, arg, &reply)) != 0) {
		chat_note(c, r < 0, "%s", reply);
		free(reply);
		return;
	}
	log_debug("ui set %s temp=%.2f", reply, c->fe->params.temperature);
	if (c->engine_ok)
		client_params(&c->cl, &c->fe->params);
	chat_note(c, 0, "%s", reply);
	free(reply);
}

static void
cmd_stats(struct chat *c, char *arg)
{
	char	*s = slashcmd_stats(&c->cl, &c->cv, &c->fe->params);

	if (*s != '\0' && s[strlen(s) - 1] == '\n')
		s[strlen(s) - 1] = '\0';
	chat_note(c, 0, "%s", s);
	free(s);
}

/* /export [FILE]: the conversation as Markdown (as the line chat does). */
static void
cmd_export(struct chat *c, char *arg)
{
	char	*reply;
	int	 r;

	r = slashcmd_export(&c->cv, arg, c->cl.model.path, c->force, &reply);
	chat_note(c, r != 0, "%s", reply);
	free(reply);
}

static void
on_theme_warning(void *arg, const char *msg)
{
	chat_note(arg, 0, "%s", msg);
}

/* /theme [NAME]: switch to NAME (the colours stay on an error), or list
 * the themes, the one in use marked. */
static void
cmd_theme(struct chat *c, char *arg)
{
	struct cfg_theme_entry	*v;
	char			*cause = NULL, *s, *t;
	size_t			 n, i;

	if (*arg != '\0') {
		if (theme_use(arg, on_theme_warning, c, &cause) != 0) {
			chat_note(c, 1, _("theme not changed: %s"), cause);
			free(cause);
		} else
			chat_note(c, 0, _("theme: %s"), arg);
		return;
	}
	v = cfg_theme_list(&n);
	s = xstrdup(_("Themes (/theme NAME switches; * is in use):"));
	for (i = 0; i < n; i++) {
		xasprintf(&t, "%s\n  %s %s%s", s, strcmp(v[i].name,
		    theme_name()) == 0 ? "*" : " ", v[i].name, !v[i].user ?
		    "" : v[i].shadows ? _("  (yours, over the installed one)") :
		    _("  (yours)"));
		free(s);
		s = t;
	}
	if (!theme_colour())
		xasprintf(&t, "%s\n%s", s, _("Colours are off (NO_COLOR or the "
		    "terminal): themes give attributes only."));
	else
		t = xstrdup(s);
	chat_note(c, 0, "%s", t);
	free(t);
	free(s);
	cfg_theme_list_free(v, n);
}

static void
cmd_regen(struct chat *c, char *arg)
{
	struct conv_msg	*last = conv_last(&c->cv);

	if (last != NULL && last->role == CONV_ASSISTANT)
		chat_pop(c);
	last = conv_last(&c->cv);
	if (last == NULL || last->role != CONV_USER) {
		chat_note(c, 0, _("nothing to answer again"));
		return;
	}
	chat_submit(c);
}

static void
cmd_edit(struct chat *c, char *arg)
{
	struct conv_msg	*last = conv_last(&c->cv);

	if (last != NULL && last->role == CONV_ASSISTANT)
		chat_pop(c);
	last = conv_last(&c->cv);
	if (last == NULL || last->role != CONV_USER) {
		chat_note(c, 0, _("no message to edit"));
		return;
	}
	chat_keep(c, last->text);
	chat_pop(c);
}

static void
cmd_help(struct chat *c, char *arg)
{
	slash_open(c, CHAT_PICK_HELP);
}

static void
cmd_quit(struct chat *c, char *arg)
{
	c->quit = 1;
}

static void
cmd_system(struct chat *c, char *arg)
{
	if (*arg == '\0')
		slash_open(c, CHAT_PICK_SYSTEM);
	else
		switch_system(c, arg, 0);
}

static void
cmd_clear(struct chat *c, char *arg)
{
	conv_clear(&c->cv);
	chat_show_all(c);
	chat_journal(c, 1);
	chat_note(c, 0, _("conversation cleared"));
}

static void
cmd_new(struct chat *c, char *arg)
{
	free(c->session);
	c->session = NULL;
	cmd_clear(c, arg);
}

static void
cmd_save(struct chat *c, char *arg)
{
	chat_save(c, arg);
}

static void
cmd_load(struct chat *c, char *arg)
{
	if (*arg == '\0')
		slash_open(c, CHAT_PICK_SESSION);
	else
		chat_load(c, arg);
}

/* /file [PATH]: a text file for the next message; alone, drop it. */
static void
cmd_file(struct chat *c, char *arg)
{
	char	*block, *reply, *t;

	if (*arg == '\0' && c->attach != NULL) {
		free(c->attach);
		c->attach = NULL;
		chat_note(c, 0, _("the file will not go with the next message"));
		return;
	}
	if (slashcmd_file(arg, &block, &reply) != 0) {
		chat_note(c, 1, "%s", reply);
		free(reply);
		return;
	}
	if (c->attach != NULL) {
		xasprintf(&t, "%s%s", c->attach, block);
		free(c->attach);
		free(block);
		c->attach = t;
	} else
		c->attach = block;
	chat_note(c, 0, "%s", reply);
	free(reply);
}

/* /copy [N]: the last reply or its Nth code block to the clipboard,
 * written by yangtuo itself (OSC 52), only when asked. */
static void
cmd_copy(struct chat *c, char *arg)
{
	char	*text, *reply, *seq;
	size_t	 n;

	if (slashcmd_copy_text(&c->cv, arg, &text, &reply) != 0) {
		chat_note(c, 1, "%s", reply);
		free(reply);
		return;
	}
	if ((n = strlen(text)) > SLASHCMD_FILE_MAX) {
		chat_note(c, 1, _("not copied: more than %u KiB"),
		    SLASHCMD_FILE_MAX >> 10);
		free(text);
		return;
	}
	seq = slashcmd_osc52(text, n);
	if (write(STDOUT_FILENO, seq, strlen(seq)) < 0)
		chat_note(c, 1, _("not copied: %s"), strerror(errno));
	else
		chat_note(c, 0, _("copied %zu bytes to the clipboard (where "
		    "the terminal takes OSC 52)"), n);
	free(seq);
	free(text);
}

static void
cmd_rename(struct chat *c, char *arg)
{
	char	*renamed, *reply;
	int	 own;

	own = strchr(arg, '/') == NULL;
	if (slashcmd_rename(arg, c->session, &renamed, &reply) != 0) {
		chat_note(c, 1, "%s", reply);
		free(reply);
		return;
	}
	chat_note(c, 0, "%s", reply);
	free(reply);
	if (own) {
		free(c->session);
		c->session = renamed;
	} else
		free(renamed);
}

static void
cmd_delete(struct chat *c, char *arg)
{
	char	*reply;
	int	 r;

	r = slashcmd_delete(arg, c->force, &reply);
	chat_note(c, r < 0, "%s", reply);
	free(reply);
	if (r == 0 && c->session != NULL && strcmp(c->session, arg) == 0) {
		free(c->session);
		c->session = NULL;
	}
}

/* /model [N|NAME|PATH]: list, or switch keeping the conversation. */
static void
cmd_model(struct chat *c, char *arg)
{
	char	*s, *path, *cause = NULL;

	if (*arg == '\0') {
		s = slashcmd_models(c->fe);
		chat_note(c, 0, "%s", s);
		free(s);
		return;
	}
	if ((path = fe_model_find(c->fe, arg)) == NULL) {
		chat_note(c, 1, _("no model '%s' (/model lists them)"), arg);
		return;
	}
	if (fe_switch_model(c->fe, &c->cl, path, &cause) != 0) {
		chat_note(c, 1, _("model not changed: %s"), cause);
		free(cause);
		if (!c->cl.loaded) {
			c->engine_ok = 0;
			chat_note(c, 1, _("the engine stopped"));
		}
		free(path);
		return;
	}
	free(c->model_label);
	c->model_label = NULL;
	c->ctx_total = 0;
	c->restoring = 0;
	free(c->cv.kv_path);
	c->cv.kv_path = NULL;
	chat_note(c, 0, _("now using %s; the conversation stays and is read "
	    "again at the next message"), path);
	chat_system_check(c);
	log_debug("ui model %s", path);
	free(path);
}

/* The full-screen chat's handler of each command of slashcmd_table. */
static void (*const chat_cmds[SLASH_COUNT])(struct chat *, char *) = {
	[SLASH_HELP] = cmd_help,
	[SLASH_SYSTEM] = cmd_system,
	[SLASH_SET] = cmd_set,
	[SLASH_CLEAR] = cmd_clear,
	[SLASH_NEW] = cmd_new,
	[SLASH_SAVE] = cmd_save,
	[SLASH_LOAD] = cmd_load,
	[SLASH_EXPORT] = cmd_export,
	[SLASH_REGEN] = cmd_regen,
	[SLASH_EDIT] = cmd_edit,
	[SLASH_STATS] = cmd_stats,
	[SLASH_THEME] = cmd_theme,
	[SLASH_MODEL] = cmd_model,
	[SLASH_FILE] = cmd_file,
	[SLASH_COPY] = cmd_copy,
	[SLASH_RENAME] = cmd_rename,
	[SLASH_DELETE] = cmd_delete,
	[SLASH_QUIT] = cmd_quit
};

/* Run line if it is a slash command (one '/' first); 1 if it was.  A
 * command that needs the engine idle stops the reply under way and runs
 * once it has stopped. */
int
slash_run(struct chat *c, const char *line)
{
	const struct slashcmd	*cmd;
	char			*copy, *arg;
	int			 r;

	copy = xstrdup(line);
	if ((r = slashcmd_parse(copy, &cmd, &arg)) == 0) {
		free(copy);
		return 0;
	}
	c->force = r == 2;
	if (cmd != NULL && c->busy && (cmd->when == SLASH_IDLE ||
	    (cmd->when == SLASH_IDLE_ARG && *arg != '\0'))) {
		free(c->deferred);
		c->deferred = xstrdup(line);
		client_cancel(&c->cl);
	} else if (cmd != NULL)
		chat_cmds[cmd->id](c, arg);
	else
		chat_note(c, 1, _("unknown command /%s (/help lists them)"),
		    copy + 1);
	free(copy);
	return 1;
}

static void
add_word(char ***v, size_t *n, const char *w)
{
	*v = xreallocarray(*v, *n + 2, sizeof **v);
	(*v)[(*n)++] = xstrdup(w);
	(*v)[*n] = NULL;
}

/* Whether line starts with command name (English or Chinese) and a
 * blank; *len is then where the argument starts. */
static int
line_cmd(const char *line, const char *name, int *len)
{
	const struct slashcmd	*cmd;
	size_t			 n = strcspn(line + 1, " \t");
	char			*w;
	int			 r;

	if (line[1 + n] == '\0')
		return 0;
	w = xstrndup(line + 1, n);
	r = (cmd = slashcmd_find(w)) != NULL && strcmp(cmd->name, name) == 0;
	free(w);
	*len = (int)n + 2;
	return r;
}

/* Completion candidates for the word starting at start (see
 * input_hooks.words). */
char **
slash_words(struct chat *c, const char *line, int start)
{
	const struct slashcmd	 *sc;
	char			**v = NULL, *w;
	struct fe_sess	 *s;
	struct cfg_theme_entry	 *th;
	size_t			  n = 0, i, ns;
	int			  len;

	if (line[0] != '/')
		return NULL;
	if (start == 0) {
		for (sc = slashcmd_table; sc->name != NULL; sc++) {
			xasprintf(&w, "/%s", sc->name);
			add_word(&v, &n, w);
			free(w);
			if (sc->name2 != NULL && sc->name2[0] != '?') {
				xasprintf(&w, "/%s", sc->name2);
				add_word(&v, &n, w);
				free(w);
			}
		}
		for (sc = slashcmd_table; sc->name != NULL; sc++) {
			xasprintf(&w, "/%s", sc->alias);
			add_word(&v, &n, w);
			free(w);
		}
	} else if (line_cmd(line, "set", &len) && start == len) {
		for (i = 0; slash_params[i] != NULL; i++)
			add_word(&v, &n, slash_params[i]);
	} else if (line_cmd(line, "system", &len)) {
		for (i = 0; i < c->fe->cfg->n_prompts; i++)
			add_word(&v, &n, c->fe->cfg->prompts[i].name);
	} else if (line_cmd(line, "theme", &len)) {
		th = cfg_theme_list(&ns);
		for (i = 0; i < ns; i++)
			add_word(&v, &n, th[i].name);
		cfg_theme_list_free(th, ns);
	} else if (line_cmd(line, "load", &len) || line_cmd(line, "delete",
	    &len) || line_cmd(line, "rename", &len)) {
		s = fe_session_list(&ns);
		for (i = 0; i < ns; i++) {
			add_word(&v, &n, s[i].name);
			free(s[i].name);
		}
		free(s);
	}
	if (v == NULL)	/* none: Tab says so */
		v = xcalloc(1, sizeof *v);
	return v;
}
