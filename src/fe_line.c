/*
 * The line front ends: one reply to stdout (-p) and the readline chat
 * (--plain, and whenever stdin or stdout is not a terminal).  The chat
 * runs readline's callback interface inside a poll() loop over stdin, the
 * engine's event pipe and a signal self-pipe, so Ctrl-C cancels a reply
 * at once and typing is never blocked by the engine.
 */
#include "config.h"

#include "fe.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <termios.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#include "client.h"
#include "conv.h"
#include "journal.h"
#include "linewrap.h"
#include "modelsum.h"
#include "session.h"
#include "slashcmd.h"
#include "text.h"
#include "xdg.h"
#include "xmalloc.h"
#include "utf8.h"
#include "i18n.h"

#define LINE_MAX_INPUT	(256u << 10)	/* one message, bytes */

static int	sig_pipe[2] = { -1, -1 };

static void
on_signal(int sig)
{
	int		saved = errno;
	unsigned char	c = (unsigned char)sig;

	if (sig_pipe[1] >= 0)
		(void)write(sig_pipe[1], &c, 1);
	errno = saved;
}

static int
signals_start(void)
{
	struct sigaction	sa;

	if (sig_pipe[0] < 0) {
		if (pipe(sig_pipe) != 0)
			return -1;
		fcntl(sig_pipe[0], F_SETFL, O_NONBLOCK);
		fcntl(sig_pipe[1], F_SETFL, O_NONBLOCK);
		fcntl(sig_pipe[0], F_SETFD, FD_CLOEXEC);
		fcntl(sig_pipe[1], F_SETFD, FD_CLOEXEC);
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

/* The next signal number from the self-pipe, or 0. */
static int
signal_take(void)
{
	unsigned char	c;

	return read(sig_pipe[0], &c, 1) == 1 ? c : 0;
}

/* Write reply text to f, made terminal-safe, wrapped by lw (NULL: not
 * wrapped). */
static void
put_text_wrapped(FILE *f, struct linewrap *lw, const char *s, size_t len)
{
	char	*safe;
	size_t	 n;

	safe = text_sanitize(s, len, &n);
	if (lw != NULL)
		linewrap_put(lw, f, safe, n);
	else
		fwrite(safe, 1, n, f);
	fflush(f);
	free(safe);
}

static void
put_text(FILE *f, const char *s, size_t len)
{
	put_text_wrapped(f, NULL, s, len);
}

/* The width to wrap f's text at: the terminal's, or 0 (not one). */
static int
wrap_cols(FILE *f)
{
	struct winsize	ws;

	if (!isatty(fileno(f)) || ioctl(fileno(f), TIOCGWINSZ, &ws) != 0 ||
	    ws.ws_col < 10)
		return 0;
	return ws.ws_col;
}

/* The counts and speeds of a finished reply, to f. */
static void
print_stats(FILE *f, const struct proto_done *d)
{
	char	*s = slashcmd_done_text(d);

	fputs(s, f);
	free(s);
}

/*
 * Wait for the reply to the conversation just sent, streaming its text
 * to out and into the conversation; Ctrl-C cancels.  Returns 0, 1 if the
 * reply was cancelled, -1 on an engine error (printed).
 */
static int
await_reply(struct client *cl, struct conv *cv, FILE *out,
    const struct proto_params *params, int verbose, int *signo)
{
	struct client_ev	 ev;
	struct conv_msg		*reply = NULL;
	struct linewrap		 lw;
	size_t			 dropped, skip;
	int			 r, sig, result = 0, cancelled = 0;
	char			*msg;
	struct pollfd		 pfd;

	linewrap_init(&lw, wrap_cols(out));
	for (;;) {
		pfd.fd = sig_pipe[0];
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 0) > 0 && (sig = signal_take()) != 0) {
			if (!cancelled)
				client_cancel(cl);
			cancelled = 1;
			if (sig != SIGINT && signo != NULL)
				*signo = sig;
		}
		if ((r = client_next(cl, &ev, 50)) < 0) {
			linewrap_fini(&lw);
			fprintf(stderr, _("yangtuo: the engine stopped\n"));
			return -1;
		}
		if (r == 0)
			continue;
		switch (ev.type) {
		case PROTO_EV_TOKEN:
			if (reply == NULL)
				reply = conv_add(cv, CONV_ASSISTANT, "", 0);
			skip = conv_lead_blanks(reply, ev.text, ev.len);
			conv_append(reply, ev.text, ev.len);
			put_text_wrapped(out, &lw, ev.text + skip,
			    ev.len - skip);
			break;
		case PROTO_EV_PROGRESS:
			if (verbose && isatty(STDERR_FILENO)) {
				fputc('\r', stderr);
				fprintf(stderr, _("[prefill %u/%u]"), ev.done,
				    ev.total);
			}
			break;
		case PROTO_EV_CONTEXT:
			dropped = conv_apply_dropped(cv, &ev.ctx);
			if (dropped > 0)
				fprintf(stderr, _("[%zu earlier messages left "
				    "the context (%u/%u tokens used); the system "
				    "prompt stays]\n"), dropped, ev.ctx.used,
				    ev.ctx.total);
			break;
		case PROTO_EV_DONE:
			linewrap_flush(&lw, out);
			linewrap_fini(&lw);
			if (reply == NULL)
				reply = conv_add(cv, CONV_ASSISTANT, "", 0);
			reply->has_stats = 1;
			reply->stats = ev.stats;
			reply->params = *params;
			reply->cut = ev.stats.stop == PROTO_STOP_CANCEL;
			if (reply->cut) {
				fprintf(out, "\n");
				fprintf(stderr, _("[reply cut: %s]\n"),
				    slashcmd_stop_text(ev.stats.stop));
				result = 1;
			} else if (ev.stats.stop != PROTO_STOP_EOG &&
			    verbose)
				fprintf(stderr, _("[stopped: %s]\n"),
				    slashcmd_stop_text(ev.stats.stop));
			if (verbose)
				print_stats(stderr, &ev.stats);
			client_ev_free(&ev);
			return result;
		case PROTO_EV_ERROR:
			linewrap_flush(&lw, out);
			linewrap_fini(&lw);
			msg = client_error_text(ev.code, ev.text);
			text_say(stderr, "yangtuo: %s\n", msg);
			free(msg);
			client_ev_free(&ev);
			return -1;
		}
		client_ev_free(&ev);
	}
}

/* Read all of stdin for -p -; NULL on error or too much. */
static char *
read_stdin(void)
{
	char	*buf = NULL;
	size_t	 len = 0, cap = 0;
	ssize_t	 n;

	for (;;) {
		if (len + 4096 > cap) {
			cap = cap == 0 ? 8192 : cap * 2;
			if (cap > LINE_MAX_INPUT + 8192) {
				free(buf);
				errno = EFBIG;
				return NULL;
			}
			buf = xreallocarray(buf, cap, 1);
		}
		if ((n = read(STDIN_FILENO, buf + len, cap - len - 1)) < 0) {
			if (errno == EINTR)
				continue;
			free(buf);
			return NULL;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	while (len > 0 && buf[len - 1] == '\n')
		len--;
	buf[len] = '\0';
	return buf;
}

/* yangtuo -p TEXT: one reply on stdout. */
int
fe_oneshot(struct fe *fe)
{
	struct client	 cl;
	struct conv	 cv;
	char		*text;
	int		 r, sig = 0;

	if (strcmp(fe->prompt, "-") == 0) {
		if ((text = read_stdin()) == NULL) {
			fprintf(stderr, _("yangtuo: cannot read the prompt "
			    "from stdin: %s\n"), strerror(errno));
			return 1;
		}
	} else
		text = xstrdup(fe->prompt);
	if (!utf8_valid(text, strlen(text))) {
		fprintf(stderr, _("yangtuo: the prompt is not valid UTF-8\n"));
		free(text);
		return 1;
	}
	if (signals_start() != 0 || fe_connect(fe, &cl) != 0) {
		free(text);
		return 1;
	}
	conv_init(&cv);
	conv_set_system(&cv, fe->system_name, fe->system_text);
	if (fe_start_conv(fe, &cl, &cv) != 0) {
		free(text);
		conv_free(&cv);
		client_stop(&cl);
		return 1;
	}
	conv_add(&cv, CONV_USER, text, strlen(text));
	free(text);
	r = client_chat(&cl, &cv) == 0 ? await_reply(&cl, &cv, stdout,
	    &fe->params, fe->verbose, &sig) : -1;
	if (r == 0)
		fputc('\n', stdout);
	fflush(stdout);
	conv_free(&cv);
	client_stop(&cl);
	if (r < 0)
		return 1;
	if (r > 0)
		return sig != 0 ? 128 + sig : 130;
	return 0;
}

/* ---------------------------------------------------------------------- */

struct plain {
	struct fe	*fe;
	struct client	 cl;
	struct conv	 cv;
	int		 tty;
	int		 quit;
	int		 status;
	int		 interrupts;	/* Ctrl-C at an empty prompt */
	char		*pending;	/* lines of a message being continued */
	int		 block;		/* inside a """ block */
	char		*hist;		/* history file */
	struct journal	*journal;	/* autosave */
	size_t		 journaled;	/* messages in it; > n: rewrite */
	char		*line;		/* a line readline handed over */
	int		 have_line;
	int		 eof;
	char		*session;	/* name saved or loaded as */
	char		*attach;	/* /file's text for the next message */
	int		 force;		/* the command ran as "/save!" */
};

static struct plain	*plain_cur;

static char *
prompt_text(struct plain *pl)
{
	static char	 buf[256];
	char		*cut, *safe;

	if (pl->pending != NULL)
		return (char *)"... ";
	/* The name may come from a session or the journal. */
	cut = xstrndup(pl->cv.system_name != NULL ? pl->cv.system_name : "-",
	    40);
	safe = text_line(cut);
	snprintf(buf, sizeof buf, "[%s] > ", safe);
	free(safe);
	free(cut);
	return buf;
}

static void
on_line(char *line)
{
	plain_cur->have_line = 1;
	plain_cur->line = line;
	if (line == NULL)
		plain_cur->eof = 1;
	rl_callback_handler_remove();
}

/* Say so when the model cannot take the system prompt. */
static void
system_check(struct plain *pl)
{
	const char	*why = slashcmd_system_unused(&pl->cl, &pl->cv);

	if (why != NULL)
		printf("%s\n", why);
}

static void
cmd_help(struct plain *pl, char *arg)
{
	char	*rows = slashcmd_help(1);

	printf("%s%s", _(
"Type a message and press Enter.  End a line with \\ to continue it, or\n"
"put a message between lines of \"\"\".  Ctrl-C stops a reply; Ctrl-C twice\n"
"at an empty prompt, Ctrl-D or /quit leaves.  Every command has an English\n"
"and a Chinese name:\n"), rows);
	free(rows);
}

static void
cmd_quit(struct plain *pl, char *arg)
{
	pl->quit = 1;
}

/* Bring the journal up to the conversation (reset: write it again);
 * say when autosave stops or works again. */
static void
autosave(struct plain *pl, int reset)
{
	char	*notice;

	if (reset)
		pl->journaled = SIZE_MAX;
	journal_sync(pl->journal, &pl->cv, &pl->journaled, &notice);
	if (notice != NULL) {
		text_say(stderr, "yangtuo: %s\n", notice);
		free(notice);
	}
}

static int
do_send(struct plain *pl)
{
	struct termios	tio, saved;
	int		r, keep = 0;

	if (client_chat(&pl->cl, &pl->cv) != 0)
		return -1;
	/* What is typed during the reply waits for the next prompt: Ctrl-C
	 * must not make the terminal throw it away. */
	if (pl->tty && tcgetattr(STDIN_FILENO, &saved) == 0) {
		tio = saved;
		tio.c_lflag |= NOFLSH;
		keep = tcsetattr(STDIN_FILENO, TCSANOW, &tio) == 0;
	}
	r = await_reply(&pl->cl, &pl->cv, stdout, &pl->fe->params,
	    pl->fe->verbose, NULL);
	if (keep)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	if (r == 0)
		fputc('\n', stdout);
	if (r >= 0 && pl->cv.n >= 2) {
		/* The question and its answer, durable before we go on. */
		autosave(pl, 0);
	}
	if (r < 0 && conv_last(&pl->cv) != NULL &&
	    conv_last(&pl->cv)->role == CONV_USER) {
		/* Unanswered: take it back so the next try is clean. */
		conv_pop(&pl->cv);
		fprintf(stderr, _("[the message was not sent]\n"));
	}
	fflush(stdout);
	return 0;
}

/* /system NAME|TEXT, /set system TEXT. */
static void
switch_system(struct plain *pl, const char *arg, int custom)
{
	char	*reply, *safe;
	int	 r;

	r = slashcmd_system(pl->fe->cfg, &pl->cv, arg, custom, &reply);
	safe = text_sanitize(reply, strlen(reply), NULL);
	printf("%s\n", safe);
	free(safe);
	free(reply);
	if (r != 0)
		return;
	journal_system(pl->journal, &pl->cv);
	system_check(pl);
}

static void
cmd_system(struct plain *pl, char *arg)
{
	const struct cfg	*c = pl->fe->cfg;
	size_t			 i;

	if (arg == NULL || *arg == '\0') {
		for (i = 0; i < c->n_prompts; i++) {
			char	*name = text_line(c->prompts[i].name);
			char	*cut = linewrap_cut(c->prompts[i].text, 60);
			char	*t = text_line(cut);

			printf("%s %s: %s\n", pl->cv.system_name != NULL &&
			    strcmp(pl->cv.system_name, c->prompts[i].name) ==
			    0 ? "*" : " ", name, t);
			free(name);
			free(cut);
			free(t);
		}
		return;
	}
	switch_system(pl, arg, 0);
}

static void
cmd_stats(struct plain *pl, char *arg)
{
	char	*s = slashcmd_stats(&pl->cl, &pl->cv, &pl->fe->params);

	text_say(stdout, "%s", s);
	free(s);
}

static void
cmd_set(struct plain *pl, char *arg)
{
	char	*reply;

	if (strncmp(arg, "system", 6) == 0 && (arg[6] == ' ' ||
	    arg[6] == '\t')) {
		switch_system(pl, arg + 7 + strspn(arg + 7, " \t"), 1);
		return;
	}
	if (slashcmd_set(&pl->fe->params, arg, &reply) == 0)
		client_params(&pl->cl, &pl->fe->params);
	text_say(stdout, "%s\n", reply);
	free(reply);
}

static void
cmd_save(struct plain *pl, char *name)
{
	char	*cause = NULL;

	if (name == NULL || *name == '\0') {
		printf(_("usage: /save NAME\n"));
		return;
	}
	if (slashcmd_save_ok(name, pl->session, pl->force, &cause) != 0) {
		printf(_("not saved: %s\n"), cause);
		free(cause);
		return;
	}
	if (fe_session_save(&pl->cl, &pl->cv, name, &cause) != 0) {
		printf(_("not saved: %s\n"), cause);
		free(cause);
		return;
	}
	printf(_("saved as '%s'\n"), name);
	free(pl->session);
	pl->session = xstrdup(name);
}

/* /load alone: the saved conversations, newest first, with when. */
static void
list_sessions(void)
{
	struct fe_sess	*v;
	struct tm	 tm;
	char		 when[32], *safe;
	size_t		 n, i;

	v = fe_session_list(&n);
	if (n == 0) {
		printf(_("no saved conversations (/save NAME saves this "
		    "one)\n"));
		fe_session_list_free(v, n);
		return;
	}
	printf(_("Saved conversations (/load NAME loads one):\n"));
	for (i = 0; i < n; i++) {
		localtime_r(&v[i].mtime, &tm);
		strftime(when, sizeof when, "%Y-%m-%d %H:%M", &tm);
		safe = text_sanitize(v[i].name, strlen(v[i].name), NULL);
		printf("  %s  %s\n", when, safe);
		free(safe);
	}
	fe_session_list_free(v, n);
}

static void
cmd_load(struct plain *pl, char *name)
{
	struct conv	 cv;
	char		*cause = NULL, *notice = NULL, *other, *safe;
	size_t		 i;

	if (name == NULL || *name == '\0') {
		list_sessions();
		return;
	}
	conv_init(&cv);
	if (fe_session_load(&pl->cl, &cv, name, &notice, &cause) != 0) {
		text_say(stdout, _("not loaded: %s\n"), cause);
		free(cause);
		conv_free(&cv);
		return;
	}
	conv_free(&pl->cv);
	pl->cv = cv;
	for (i = 0; i < pl->cv.n; i++) {
		struct conv_msg	*m = &pl->cv.msgs[i];

		printf("%s: ", m->role == CONV_USER ? _("You") :
		    _("Assistant"));
		put_text(stdout, m->text, m->len);
		printf("\n");
	}
	printf(_("loaded '%s' (%zu messages)\n"), name, pl->cv.n);
	if ((other = slashcmd_model_note(&pl->cv, pl->cl.model.path)) !=
	    NULL) {
		safe = text_sanitize(other, strlen(other), NULL);
		printf("%s\n", safe);
		free(safe);
		free(other);
	}
	free(pl->session);
	pl->session = xstrdup(name);
	if (notice != NULL)
		text_say(stdout, "%s\n", notice);
	free(notice);
	autosave(pl, 1);
}

static void
cmd_export(struct plain *pl, char *arg)
{
	char	*reply;

	slashcmd_export(&pl->cv, arg, pl->cl.model.path, pl->force, &reply);
	text_say(stdout, "%s\n", reply);
	free(reply);
}

static void
cmd_clear(struct plain *pl, char *arg)
{
	conv_clear(&pl->cv);
	autosave(pl, 1);
	printf(_("conversation cleared\n"));
}

/* /new: as /clear, and the conversation has no name yet. */
static void
cmd_new(struct plain *pl, char *arg)
{
	free(pl->session);
	pl->session = NULL;
	cmd_clear(pl, arg);
}

static void
cmd_theme(struct plain *pl, char *arg)
{
	printf(_("the line chat has no colours; themes are for the "
	    "full-screen chat\n"));
}

static void
cmd_regen(struct plain *pl, char *arg)
{
	if (conv_last(&pl->cv) != NULL &&
	    conv_last(&pl->cv)->role == CONV_ASSISTANT)
		conv_pop(&pl->cv);
	if (conv_last(&pl->cv) == NULL ||
	    conv_last(&pl->cv)->role != CONV_USER)
		printf(_("nothing to answer again\n"));
	else
		do_send(pl);
}

/* Print a reply of slashcmd_*, made terminal-safe. */
static void
say(char *reply)
{
	char	*safe = text_sanitize(reply, strlen(reply), NULL);

	printf("%s\n", safe);
	free(safe);
	free(reply);
}

static void
cmd_file(struct plain *pl, char *arg)
{
	char	*block, *reply, *t;

	if (*arg == '\0' && pl->attach != NULL) {
		free(pl->attach);
		pl->attach = NULL;
		printf(_("the file will not go with the next message\n"));
		return;
	}
	if (slashcmd_file(arg, &block, &reply) == 0) {
		xasprintf(&t, "%s%s", pl->attach != NULL ? pl->attach : "",
		    block);
		free(pl->attach);
		free(block);
		pl->attach = t;
	}
	say(reply);
}

static void
cmd_copy(struct plain *pl, char *arg)
{
	char	*text, *reply, *seq;

	if (slashcmd_copy_text(&pl->cv, arg, &text, &reply) != 0) {
		say(reply);
		return;
	}
	if (!pl->tty || strlen(text) > SLASHCMD_FILE_MAX) {
		printf(_("not copied: %s\n"), !pl->tty ? _("not a terminal") :
		    _("too long"));
		free(text);
		return;
	}
	seq = slashcmd_osc52(text, strlen(text));
	fputs(seq, stdout);
	printf(_("copied %zu bytes to the clipboard (where the terminal takes "
	    "OSC 52)\n"), strlen(text));
	free(seq);
	free(text);
}

static void
cmd_rename(struct plain *pl, char *arg)
{
	char	*renamed, *reply;
	int	 own = strchr(arg, '/') == NULL;

	if (slashcmd_rename(arg, pl->session, &renamed, &reply) == 0 && own) {
		free(pl->session);
		pl->session = renamed;
	} else
		free(renamed);
	say(reply);
}

static void
cmd_delete(struct plain *pl, char *arg)
{
	char	*reply;

	if (slashcmd_delete(arg, pl->force, &reply) == 0 &&
	    pl->session != NULL && strcmp(pl->session, arg) == 0) {
		free(pl->session);
		pl->session = NULL;
	}
	say(reply);
}

static void
cmd_model(struct plain *pl, char *arg)
{
	char	*path, *cause = NULL;

	if (*arg == '\0') {
		say(slashcmd_models(pl->fe));
		return;
	}
	if ((path = fe_model_find(pl->fe, arg)) == NULL) {
		printf(_("no model '%s' (/model lists them)\n"), arg);
		return;
	}
	if (fe_switch_model(pl->fe, &pl->cl, path, &cause) != 0) {
		free(path);
		xasprintf(&path, _("model not changed: %s"), cause);
		free(cause);
		say(path);
		if (!pl->cl.loaded)
			pl->quit = 1;
		return;
	}
	free(pl->cv.kv_path);
	pl->cv.kv_path = NULL;
	xasprintf(&cause, _("now using %s; the conversation stays and is read "
	    "again at the next message"), path);
	say(cause);
	free(path);
	system_check(pl);
}

/* The line chat's handler of each command of slashcmd_table (/edit is
 * the full-screen chat's only). */
static void (*const line_cmds[SLASH_COUNT])(struct plain *, char *) = {
	[SLASH_HELP] = cmd_help,
	[SLASH_SYSTEM] = cmd_system,
	[SLASH_SET] = cmd_set,
	[SLASH_CLEAR] = cmd_clear,
	[SLASH_NEW] = cmd_new,
	[SLASH_SAVE] = cmd_save,
	[SLASH_LOAD] = cmd_load,
	[SLASH_EXPORT] = cmd_export,
	[SLASH_REGEN] = cmd_regen,
	[SLASH_STATS] = cmd_stats,
	[SLASH_THEME] = cmd_theme,
	[SLASH_MODEL] = cmd_model,
	[SLASH_FILE] = cmd_file,
	[SLASH_COPY] = cmd_copy,
	[SLASH_RENAME] = cmd_rename,
	[SLASH_DELETE] = cmd_delete,
	[SLASH_QUIT] = cmd_quit
};

/* A slash command; returns 1 if it was one. */
static int
slash(struct plain *pl, char *line)
{
	const struct slashcmd	*c;
	char			*arg;
	int			 r;

	if ((r = slashcmd_parse(line, &c, &arg)) == 0)
		return 0;
	pl->force = r == 2;
	if (c != NULL && line_cmds[c->id] != NULL)
		line_cmds[c->id](pl, arg);
	else
		printf(_("unknown command /%s (/help lists them)\n"),
		    line + 1);
	return 1;
}

/* Take one input line: continuation, block, command or message. */
static void
take_line(struct plain *pl, char *line)
{
	size_t	len = strlen(line);
	char	*msg;
	int	 more = 0;

	if (pl->tty && *line != '\0' && pl->pending == NULL) {
		add_history(line);
		if (pl->hist != NULL && append_history(1, pl->hist) != 0)
			write_history(pl->hist);
	}
	if (!pl->block && pl->pending == NULL && strcmp(line, "\"\"\"") == 0) {
		pl->block = 1;
		pl->pending = xstrdup("");
		return;
	}
	if (pl->block) {
		if (strcmp(line, "\"\"\"") == 0)
			pl->block = 0;
		else {
			size_t	pn = strlen(pl->pending);

			pl->pending = xreallocarray(pl->pending, pn + len + 2,
			    1);
			if (pn > 0)
				pl->pending[pn++] = '\n';
			memcpy(pl->pending + pn, line, len + 1);
			return;
		}
	} else {
		if (len > 0 && line[len - 1] == '\\') {
			line[--len] = '\0';
			more = 1;
		}
		if (pl->pending != NULL) {
			size_t	pn = strlen(pl->pending);

			pl->pending = xreallocarray(pl->pending, pn + len + 2,
			    1);
			pl->pending[pn++] = '\n';
			memcpy(pl->pending + pn, line, len + 1);
		} else
			pl->pending = xstrdup(line);
		if (more)
			return;
	}
	msg = pl->pending;
	pl->pending = NULL;
	if (strlen(msg) > LINE_MAX_INPUT)
		fprintf(stderr, _("[the message is longer than %u KiB and was "
		    "not sent]\n"), LINE_MAX_INPUT >> 10);
	else if (!utf8_valid(msg, strlen(msg)))
		fprintf(stderr, _("[the message is not valid UTF-8 and was not "
		    "sent]\n"));
	else if (!slash(pl, msg) && msg[strspn(msg, " \t\n")] != '\0') {
		char	*with;

		/* /file's text goes first, then what was typed. */
		xasprintf(&with, "%s%s", pl->attach != NULL ? pl->attach : "",
		    msg[0] == '/' ? msg + 1 : msg);
		free(pl->attach);
		pl->attach = NULL;
		conv_add(&pl->cv, CONV_USER, with, strlen(with));
		free(with);
		do_send(pl);
	}
	free(msg);
}

/* Wait for a line from readline, handling signals; 0 or -1 (EOF). */
static int
read_line_tty(struct plain *pl, char **line)
{
	struct pollfd	pfd[2];
	int		sig;

	pl->have_line = 0;
	pl->eof = 0;
	rl_callback_handler_install(prompt_text(pl), on_line);
	while (!pl->have_line) {
		pfd[0].fd = STDIN_FILENO;
		pfd[0].events = POLLIN;
		pfd[1].fd = sig_pipe[0];
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents & POLLIN) {
			sig = signal_take();
			if (sig == SIGTERM || sig == SIGHUP) {
				rl_callback_handler_remove();
				pl->status = 128 + sig;
				return -1;
			}
			if (sig == SIGINT) {
				int	empty = rl_end == 0 && pl->pending == NULL;

				rl_free_line_state();
				rl_callback_sigcleanup();
				rl_crlf();
				free(pl->pending);
				pl->pending = NULL;
				pl->block = 0;
				if (empty && ++pl->interrupts >= 2) {
					rl_callback_handler_remove();
					pl->status = 130;
					return -1;
				}
				if (empty)
					fprintf(stderr, _("(Ctrl-C again or "
					    "Ctrl-D to quit)\n"));
				rl_callback_handler_install(prompt_text(pl),
				    on_line);
			}
		}
		if (pfd[0].revents & (POLLIN | POLLHUP))
			rl_callback_read_char();
	}
	if (pl->eof)
		return -1;
	pl->interrupts = 0;
	*line = pl->line;
	return 0;
}

static int
read_line_pipe(struct plain *pl, char **line)
{
	size_t	cap = 0;
	ssize_t	n;

	*line = NULL;
	if ((n = getline(line, &cap, stdin)) < 0) {
		free(*line);
		return -1;
	}
	if (n > 0 && (*line)[n - 1] == '\n')
		(*line)[n - 1] = '\0';
	return 0;
}

/* yangtuo --plain: the line chat. */
int
fe_plain(struct fe *fe)
{
	struct plain	 pl;
	char		*line;

	memset(&pl, 0, sizeof pl);
	pl.fe = fe;
	pl.tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
	plain_cur = &pl;
	if (signals_start() != 0 || fe_connect(fe, &pl.cl) != 0)
		return 1;
	conv_init(&pl.cv);
	conv_set_system(&pl.cv, fe->system_name, fe->system_text);
	modelsum_start(fe->load.path);
	if (fe_start_conv(fe, &pl.cl, &pl.cv) != 0) {
		conv_free(&pl.cv);
		client_stop(&pl.cl);
		return 1;
	}
	if (fe->session != NULL)
		pl.session = xstrdup(fe->session);
	if (pl.tty) {
		rl_readline_name = "yangtuo";
		rl_catch_signals = 0;
		rl_catch_sigwinch = 1;
		using_history();
		if ((pl.hist = xdg_state_file("history")) != NULL)
			read_history(pl.hist);
		stifle_history(1000);
		text_say(stdout, _("yangtuo %s: %s (%s template, context %u). "
		    "/help for help.\n"), PACKAGE_VERSION, pl.cl.model.name,
		    pl.cl.model.template_name, pl.cl.model.n_ctx);
		system_check(&pl);
		if (journal_left_over() && !fe->resume)
			printf(_("The last conversation did not end cleanly: "
			    "'yangtuo --resume' brings it back.\n"));
		if (fe->demo)
			printf(_("This is the demo model: it continues "
			    "children's stories.  Point yangtuo at a real "
			    "model with -m FILE.gguf or 'model:' in the "
			    "config.\n"));
	}
	{
		char	*cause = NULL;

		if ((pl.journal = journal_start(&pl.cv, fe->load.path,
		    &cause)) == NULL) {
			text_say(stderr, _("yangtuo: no autosave: %s\n"), cause);
			free(cause);
		}
		pl.journaled = pl.cv.n;
	}
	if (fe->first != NULL && *fe->first != '\0') {
		conv_add(&pl.cv, CONV_USER, fe->first, strlen(fe->first));
		do_send(&pl);
	}
	while (!pl.quit) {
		if ((pl.tty ? read_line_tty(&pl, &line) :
		    read_line_pipe(&pl, &line)) != 0)
			break;
		take_line(&pl, line);
		free(line);
	}
	if (pl.tty) {
		if (pl.hist != NULL)
			history_truncate_file(pl.hist, 1000);
		rl_callback_handler_remove();
	}
	journal_close(pl.journal, 1);
	free(pl.hist);
	free(pl.session);
	free(pl.attach);
	free(fe->model_path);
	fe->model_path = NULL;
	free(fe->remote_own);
	fe->remote_own = NULL;
	free(pl.pending);
	conv_free(&pl.cv);
	client_stop(&pl.cl);
	return pl.status;
}
