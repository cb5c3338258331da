/*
 * Slash commands of the full-screen chat, with the plain mode's names and
 * meanings (fe_line.c) plus /edit, and the pages they open: F1 help, the
 * system prompt picker, the list of saved sessions with date and first
 * line.  Also the words Tab completes.
 */
#include "config.h"

#include "slash.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/cfg.h"
#include "core/conv.h"
#include "core/fe.h"
#include "common/log.h"
#include "core/session.h"
#include "core/text.h"
#include "core/xdg.h"
#include "core/xmalloc.h"
#include "chat.h"
#include "picker.h"
#include "theme.h"

#if ENABLE_NLS
#include <libintl.h>
#define _(s)	gettext(s)
#else
#define _(s)	(s)
#endif

#define SLASH_MAX_LISTED	500	/* sessions in the /load picker */

static const char *slash_commands[] = {
	"/help", "/system", "/set", "/clear", "/new", "/save", "/load",
	"/export", "/regen", "/edit", "/stats", "/theme", "/quit", "/exit",
	NULL
};

static const char *slash_params[] = {
	"temperature", "top_k", "top_p", "min_p", "repeat_penalty",
	"repeat_last_n", "seed", "max_tokens", NULL
};

static void
help_page(struct chat *c)
{
	const char	*text = _(
"Keys\n"
"  Enter               send the message\n"
"  Alt-Enter, Ctrl-J   a new line in the message (or end a line with \\)\n"
"  Up, Down            move between lines; walk the history at the edges\n"
"  PgUp, PgDn          scroll the conversation (the mouse wheel too)\n"
"  Shift-Up/Down       scroll by one line\n"
"  Home, End           oldest or newest text when the input is empty;\n"
"                      Ctrl-Home, Ctrl-End always\n"
"  Ctrl-F              search the conversation (/ when scrolled up);\n"
"                      then n: older match, N: newer match, Esc: done\n"
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
"  ~/.inputrc with $if yangtuo; 'yangtuo-newline' can be bound).\n"
"\n"
"Commands (the English and the Chinese names work alike)\n"
"  /help               /帮助   this help\n"
"  /system [NAME]      /系统   choose the system prompt, or switch to NAME\n"
"  /set PARAM VALUE    /设置   temperature, top_k, top_p, min_p,\n"
"                              repeat_penalty, repeat_last_n, seed,\n"
"                              max_tokens (/set alone lists them)\n"
"  /clear              /清空   start again (the system prompt stays)\n"
"  /new                /新建   the same, as a new conversation\n"
"  /save [NAME]        /保存   save the conversation\n"
"  /load [NAME]        /载入   load a saved conversation (a list without\n"
"                              NAME)\n"
"  /export [FILE]      /导出   write the conversation as Markdown\n"
"  /regen              /重答   answer the last message again\n"
"  /edit               /编辑   take the last message back into the input\n"
"  /stats              /统计   parameters, context and speed of the last\n"
"                              reply\n"
"  /theme [NAME]       /主题   list the colour themes, or switch to NAME\n"
"  /quit, /exit        /退出   leave\n"
"  //TEXT                      send a message that begins with /\n"
"\n"
"Esc, q or F1 closes this page.");
	const char	*p = text, *nl;
	char		*line;

	picker_init(&c->pk, CHAT_PICK_HELP, _("yangtuo help"), 1);
	while (*p != '\0') {
		nl = strchr(p, '\n');
		line = xstrndup(p, nl != NULL ? (size_t)(nl - p) : strlen(p));
		picker_add(&c->pk, line, NULL, NULL);
		free(line);
		if (nl == NULL)
			break;
		p = nl + 1;
	}
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

struct chat_sess {
	char	*name;
	time_t	 mtime;
};

static int
sess_cmp(const void *a, const void *b)
{
	const struct chat_sess	*x = a, *y = b;

	if (x->mtime != y->mtime)
		return x->mtime < y->mtime ? 1 : -1;
	return strcmp(x->name, y->name);
}

/* The saved sessions, newest first; *n of them (caller frees). */
static struct chat_sess *
list_sessions(size_t *n)
{
	struct chat_sess	*v = NULL;
	struct dirent		*de;
	struct stat		 st;
	size_t			 cap = 0, len;
	char			*dir, *path;
	DIR			*d;

	*n = 0;
	if ((dir = xdg_dir(XDG_DATA, "sessions", 0)) == NULL)
		return NULL;
	if ((d = opendir(dir)) == NULL) {
		free(dir);
		return NULL;
	}
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len <= 5 ||
		    strcmp(de->d_name + len - 5, ".yaml") != 0)
			continue;
		xasprintf(&path, "%s/%s", dir, de->d_name);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			if (*n == cap) {
				cap = cap == 0 ? 32 : cap * 2;
				v = xreallocarray(v, cap, sizeof *v);
			}
			v[*n].name = xstrndup(de->d_name, len - 5);
			v[*n].mtime = st.st_mtime;
			(*n)++;
		}
		free(path);
	}
	closedir(d);
	free(dir);
	qsort(v, *n, sizeof *v, sess_cmp);
	return v;
}

static void
session_page(struct chat *c)
{
	struct chat_sess	*v;
	struct conv		 cv;
	struct tm		 tm;
	char			 when[32], *d, *fl, *cause = NULL;
	size_t			 n, i, j;

	v = list_sessions(&n);
	picker_init(&c->pk, CHAT_PICK_SESSION, _("Load a conversation"), 0);
	for (i = 0; i < n; i++) {
		if (i >= SLASH_MAX_LISTED || !session_name_ok(v[i].name))
			continue;
		localtime_r(&v[i].mtime, &tm);
		strftime(when, sizeof when, "%Y-%m-%d %H:%M", &tm);
		conv_init(&cv);
		if (session_load(&cv, v[i].name, &cause) != 0) {
			xasprintf(&d, _("%s  (unreadable: %s)"), when, cause);
			free(cause);
			cause = NULL;
		} else {
			for (j = 0; j < cv.n; j++)
				if (cv.msgs[j].role == CONV_USER)
					break;
			fl = first_line(j < cv.n ? cv.msgs[j].text : "", 200);
			xasprintf(&d, _("%s  %zu messages  %s"), when, cv.n,
			    fl);
			free(fl);
		}
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
switch_system(struct chat *c, const char *name)
{
	const struct cfg_prompt	*p;

	if ((p = cfg_prompt(c->fe->cfg, name)) == NULL) {
		chat_note(c, 1, _("no system prompt named '%s' (/system lists "
		    "them)"), name);
		return;
	}
	conv_set_system(&c->cv, p->name, p->text);
	chat_note(c, 0, _("system prompt: %s"), p->name);
	log_debug("ui system prompt %s", p->name);
}

/* A key for the open picker. */
void
slash_key(struct chat *c, int is_key, unsigned key)
{
	const struct picker_item	*it;
	char				*line;
	int				 r;

	r = picker_key(&c->pk, is_key, (wint_t)key);
	c->dirty = 1;
	if (r == PICKER_NONE)
		return;
	it = r == PICKER_CHOSEN ? picker_chosen(&c->pk) : NULL;
	if (it != NULL && c->pk.kind == CHAT_PICK_SYSTEM)
		switch_system(c, it->key);
	else if (it != NULL && c->pk.kind == CHAT_PICK_SESSION) {
		xasprintf(&line, "/load %s", it->key);
		picker_fini(&c->pk);
		c->picking = 0;
		chat_line(c, line);
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
	char	*name, *value, *cause = NULL, *s;

	name = strtok(arg, " \t");
	value = name != NULL ? strtok(NULL, " \t") : NULL;
	if (name == NULL || value == NULL) {
		s = fe_params_text(&c->fe->params);
		chat_note(c, 0, _("usage: /set PARAM VALUE\n%s"), s);
		free(s);
		return;
	}
	if (fe_set_param(&c->fe->params, name, value, &cause) != 0) {
		chat_note(c, 1, "%s", cause);
		free(cause);
		return;
	}
	log_debug("ui set %s=%s temp=%.2f", name, value,
	    c->fe->params.temperature);
	if (c->engine_ok)
		client_params(&c->cl, &c->fe->params);
	chat_note(c, 0, _("%s = %s"), name, value);
}

static void
cmd_stats(struct chat *c)
{
	char			*s = fe_params_text(&c->fe->params), *t;
	const struct conv_msg	*m = NULL;
	const struct proto_done	*d;
	size_t			 i;

	for (i = c->cv.n; i > 0; i--)
		if (c->cv.msgs[i - 1].has_stats) {
			m = &c->cv.msgs[i - 1];
			break;
		}
	xasprintf(&t, _("model: %s (%s template, context %u, %u threads, "
	    "%s)\nsystem prompt: %s\n%s"), c->cl.model.name,
	    c->cl.model.template_name, c->cl.model.n_ctx, c->cl.model.threads,
	    c->cl.model.simd, c->cv.system_name != NULL ? c->cv.system_name :
	    "-", s);
	free(s);
	if (m != NULL) {
		d = &m->stats;
		xasprintf(&s, _("%s\nlast reply: stopped by %s; [prompt %u "
		    "tokens (%u cached, %u evaluated) in %.2f s, %.1f t/s; "
		    "reply %u tokens in %.2f s, %.1f t/s]\ncached tokens: %u "
		    "of %u in the prompt"), t, chat_stop_text(d->stop), d->prompt,
		    d->cached, d->evaluated, d->prefill_sec, d->prefill_sec >
		    0 ? d->evaluated / d->prefill_sec : 0.0, d->generated,
		    d->decode_sec, d->decode_sec > 0 ? d->generated /
		    d->decode_sec : 0.0, d->cached, d->prompt);
		free(t);
		t = s;
	}
	chat_note(c, 0, "%s", t);
	free(t);
}

/* /export [FILE]: the conversation as Markdown (as the line chat does). */
static void
cmd_export(struct chat *c, const char *arg)
{
	char	*path, *cause = NULL;

	if (*arg != '\0')
		path = xstrdup(arg);
	else
		xasprintf(&path, "yangtuo-%ld.md", (long)time(NULL));
	if (session_export_md(&c->cv, path, c->cl.model.path, &cause) != 0) {
		chat_note(c, 1, _("not exported: %s"), cause);
		free(cause);
	} else
		chat_note(c, 0, _("exported to %s"), path);
	free(path);
}

static void
on_theme_warning(void *arg, const char *msg)
{
	chat_note(arg, 0, "%s", msg);
}

/* /theme [NAME]: switch to NAME (the colours stay on an error), or list
 * the themes, the one in use marked. */
static void
cmd_theme(struct chat *c, const char *arg)
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

/* Whether a command must wait for the engine to be idle. */
static int
needs_idle(const char *cmd, const char *arg)
{
	return strcmp(cmd, "clear") == 0 || strcmp(cmd, "new") == 0 ||
	    strcmp(cmd, "regen") == 0 || strcmp(cmd, "edit") == 0 ||
	    (strcmp(cmd, "load") == 0 && *arg != '\0');
}

static void
cmd_regen(struct chat *c)
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
cmd_edit(struct chat *c)
{
	struct conv_msg	*last = conv_last(&c->cv);

	if (last != NULL && last->role == CONV_ASSISTANT)
		chat_pop(c);
	last = conv_last(&c->cv);
	if (last == NULL || last->role != CONV_USER) {
		chat_note(c, 0, _("no message to edit"));
		return;
	}
	free(c->restore);
	c->restore = xstrdup(last->text);
	chat_pop(c);
}

/* Run line if it is a slash command (one '/' first); 1 if it was. */
int
slash_run(struct chat *c, const char *line)
{
	char	*copy, *cmd, *arg;
	size_t	 n;

	if (line[0] != '/' || line[1] == '/' || line[1] == '\0')
		return 0;
	copy = xstrdup(line);
	cmd = copy + 1;
	arg = cmd + strcspn(cmd, " \t");
	if (*arg != '\0')
		*arg++ = '\0';
	arg += strspn(arg, " \t");
	arg[strcspn(arg, "\n")] = '\0';
	n = strlen(arg);
	while (n > 0 && (arg[n - 1] == ' ' || arg[n - 1] == '\t'))
		arg[--n] = '\0';	/* as Tab completion leaves it */
	cmd = (char *)fe_slash_name(cmd);	/* English; only read */
	if (c->busy && needs_idle(cmd, arg)) {
		/* Stop the reply; the command runs once it has stopped. */
		free(c->deferred);
		c->deferred = xstrdup(line);
		client_cancel(&c->cl);
		free(copy);
		return 1;
	}
	if (strcmp(cmd, "help") == 0 || strcmp(cmd, "?") == 0)
		slash_open(c, CHAT_PICK_HELP);
	else if (strcmp(cmd, "quit") == 0 || strcmp(cmd, "exit") == 0)
		c->quit = 1;
	else if (strcmp(cmd, "system") == 0) {
		if (*arg == '\0')
			slash_open(c, CHAT_PICK_SYSTEM);
		else
			switch_system(c, arg);
	} else if (strcmp(cmd, "set") == 0)
		cmd_set(c, arg);
	else if (strcmp(cmd, "clear") == 0 || strcmp(cmd, "new") == 0) {
		conv_clear(&c->cv);
		chat_show_all(c);
		chat_journal(c, 1);
		if (strcmp(cmd, "new") == 0) {
			free(c->session);
			c->session = NULL;
		}
		chat_note(c, 0, _("conversation cleared"));
	} else if (strcmp(cmd, "save") == 0)
		chat_save(c, arg);
	else if (strcmp(cmd, "load") == 0)
		if (*arg == '\0')
			slash_open(c, CHAT_PICK_SESSION);
		else
			chat_load(c, arg);
	else if (strcmp(cmd, "export") == 0)
		cmd_export(c, arg);
	else if (strcmp(cmd, "stats") == 0)
		cmd_stats(c);
	else if (strcmp(cmd, "theme") == 0)
		cmd_theme(c, arg);
	else if (strcmp(cmd, "regen") == 0)
		cmd_regen(c);
	else if (strcmp(cmd, "edit") == 0)
		cmd_edit(c);
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
	size_t	n = strcspn(line + 1, " \t");
	char	*w;
	int	 r;

	if (line[1 + n] == '\0')
		return 0;
	w = xstrndup(line + 1, n);
	r = strcmp(fe_slash_name(w), name) == 0;
	free(w);
	*len = (int)n + 2;
	return r;
}

/* Completion candidates for the word starting at start (see
 * input_hooks.words). */
char **
slash_words(struct chat *c, const char *line, int start)
{
	char			**v = NULL, *w;
	struct chat_sess	 *s;
	struct cfg_theme_entry	 *th;
	size_t			  n = 0, i, ns;
	int			  len;

	if (line[0] != '/')
		return NULL;
	if (start == 0) {
		for (i = 0; slash_commands[i] != NULL; i++)
			add_word(&v, &n, slash_commands[i]);
		for (i = 0; fe_slash_aliases[i].alias != NULL; i++) {
			xasprintf(&w, "/%s", fe_slash_aliases[i].alias);
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
	} else if (line_cmd(line, "load", &len)) {
		s = list_sessions(&ns);
		for (i = 0; i < ns; i++) {
			add_word(&v, &n, s[i].name);
			free(s[i].name);
		}
		free(s);
	}
	return v;
}
