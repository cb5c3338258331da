/*
 * The conversation side of the full-screen chat: messages go to the
 * engine whole (client_chat), its events stream into the conversation,
 * the scrollback and the autosave journal.  Commands that need the engine
 * idle (/new, /load, /regen, /edit) stop a reply under way first and run
 * when it has stopped; /save and /load ask for the KV snapshot without
 * waiting for it.
 */
#include "config.h"

#include "chat.h"

#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fe/fe.h"
#include "fe/journal.h"
#include "fe/modelsum.h"
#include "common/log.h"
#include "common/util.h"
#include "fe/session.h"
#include "fe/slashcmd.h"
#include "fe/text.h"
#include "fe/xdg.h"
#include "fe/xmalloc.h"
#include "common/utf8.h"
#include "fe/i18n.h"

#define CHAT_MAX_INPUT	(256u << 10)	/* one message, bytes */

/* Add a note to the scrollback (an error note if error is set). */
void
chat_note(struct chat *c, int error, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;
	size_t	 i;

	va_start(ap, fmt);
	xvasprintf(&s, fmt, ap);
	va_end(ap);
	i = scroll_add(&c->sc, SCROLL_NOTE, -1, s, strlen(s));
	if (error)
		scroll_set_flags(&c->sc, i, SCROLL_ERROR);
	free(s);
	c->dirty = 1;
}

/* Show a message in the status bar for a few seconds. */
void
chat_flash(struct chat *c, const char *msg)
{
	free(c->flash);
	c->flash = xstrdup(msg);
	c->flash_until = util_now() + 4.0;
	c->flash_reply = 0;
	c->dirty = 1;
}

/* The same, about the reply under way: gone when the reply is. */
static void
flash_reply(struct chat *c, const char *msg)
{
	chat_flash(c, msg);
	c->flash_reply = 1;
}

/* The header line of message i. */
static void
set_head(struct chat *c, size_t i)
{
	const struct conv_msg	*m = &c->cv.msgs[i];
	struct tm		 tm, today;
	time_t			 now = time(NULL);
	char			 when[32], stats[96] = "", stop[96] = "", *h;
	char			 secs[64];
	double			 sec;
	unsigned		 flags = 0;

	localtime_r(&m->time, &tm);
	localtime_r(&now, &today);
	strftime(when, sizeof when, tm.tm_year == today.tm_year &&
	    tm.tm_yday == today.tm_yday ? "%H:%M" : "%Y-%m-%d %H:%M", &tm);
	if (m->has_stats) {
		/* As a saved session has it, so a loaded one looks the
		 * same. */
		snprintf(secs, sizeof secs, "%.6f", m->stats.decode_sec);
		sec = strtod(secs, NULL);
		snprintf(stats, sizeof stats, _("  %u tokens, %.1f t/s"),
		    m->stats.generated, sec > 0 ? m->stats.generated / sec :
		    0.0);
		if (m->stats.stop != PROTO_STOP_EOG &&
		    m->stats.stop != PROTO_STOP_STRING &&
		    m->stats.stop != PROTO_STOP_CANCEL)
			snprintf(stop, sizeof stop, _("  (stopped: %s)"),
			    slashcmd_stop_text(m->stats.stop));
	}
	xasprintf(&h, "%s  %s%s%s%s%s%s", m->role == CONV_USER ? _("You") :
	    _("Assistant"), when, stats, stop, m->cut ? _("  (cut)") : "",
	    m->dropped ? _("  (left the context)") : "",
	    i == c->reply ? "  ..." : "");
	if (m->dropped)
		flags |= SCROLL_DIM;
	if (i == c->reply)
		flags |= SCROLL_LIVE;
	scroll_set_head(&c->sc, c->items[i], h);
	scroll_set_flags(&c->sc, c->items[i], flags);
	free(h);
	c->dirty = 1;
}

/* The context the conversation fills as its last reply left it (the
 * prompt and the reply), 0 with none: after /clear, /new, /load, /edit
 * and /regen the meter shows what is left, not what was. */
static void
ctx_recount(struct chat *c)
{
	size_t	i;

	c->ctx_used = 0;
	for (i = c->cv.n; i > 0; i--)
		if (c->cv.msgs[i - 1].has_stats) {
			c->ctx_used = c->cv.msgs[i - 1].stats.prompt +
			    c->cv.msgs[i - 1].stats.generated;
			break;
		}
	c->dirty = 1;
}

/* Add the scroll item of the conversation's last message. */
static void
show_last(struct chat *c)
{
	size_t			 i = c->cv.n - 1, skip;
	const struct conv_msg	*m = &c->cv.msgs[i];
	struct conv_msg		 none = { 0 };

	if (c->cv.n > c->cap_items) {
		c->cap_items = c->cv.n * 2;
		c->items = xreallocarray(c->items, c->cap_items,
		    sizeof *c->items);
	}
	skip = m->role == CONV_ASSISTANT ? conv_lead_blanks(&none, m->text,
	    m->len) : 0;
	c->items[i] = scroll_add(&c->sc, SCROLL_MSG, m->role, m->text + skip,
	    m->len - skip);
	set_head(c, i);
}

/* Add every message of the conversation to the scrollback. */
static void
show_msgs(struct chat *c)
{
	size_t	n = c->cv.n, i;

	for (i = 0; i < n; i++) {
		c->cv.n = i + 1;
		show_last(c);
	}
	c->cv.n = n;
	scroll_end(&c->sc);
	ctx_recount(c);
}

/* Show the whole conversation again (after /load, /new). */
void
chat_show_all(struct chat *c)
{
	scroll_clear(&c->sc);
	show_msgs(c);
}

/* A startup notice (fe_start_conv's), kept until the screen is there. */
static void
on_start_note(void *arg, const char *msg)
{
	struct chat	*c = arg;
	char		*t;

	xasprintf(&t, "%s%s%s", c->start_notes != NULL ? c->start_notes : "",
	    c->start_notes != NULL ? "\n" : "", msg);
	free(c->start_notes);
	c->start_notes = t;
}

/* Remove the last message from the conversation and the scrollback. */
void
chat_pop(struct chat *c)
{
	if (c->cv.n == 0)
		return;
	scroll_truncate(&c->sc, c->items[c->cv.n - 1]);
	conv_pop(&c->cv);
	c->dirty = 1;
	ctx_recount(c);
	if (c->journal != NULL && c->journaled > c->cv.n)
		chat_journal(c, 1);
}

/* Bring the journal up to date: the finished messages are appended; a
 * conversation that lost messages (/regen, /edit, /load) is written
 * again. */
void
chat_journal(struct chat *c, int reset)
{
	char	*notice;
	int	 r;

	if (c->journal == NULL)
		return;
	if (reset)
		c->journaled = SIZE_MAX;
	r = journal_sync(c->journal, &c->cv, &c->journaled, &notice);
	if (notice != NULL) {
		chat_note(c, r < 0, "%s", notice);
		free(notice);
	}
}

/* Ask for a reply to the conversation as it stands. */
void
chat_submit(struct chat *c)
{
	if (!c->engine_ok || client_chat(&c->cl, &c->cv) != 0) {
		chat_note(c, 1, _("the engine is not running; /save the "
		    "conversation and start yangtuo again"));
		c->engine_ok = 0;
		return;
	}
	c->busy = 1;
	c->phase = STATUS_PREFILL;
	c->reply = CHAT_NONE;
	c->generated = 0;
	c->pf_done = c->pf_total = c->pf_base = 0;
	c->pf_t0 = 0;
	c->sent_t = util_now();
	c->eta = -1;
	scroll_end(&c->sc);
	c->dirty = 1;
}

/* Start the chat on a connected engine (fe_connect done); 0. */
int
chat_init(struct chat *c, struct fe *fe)
{
	memset(c, 0, sizeof *c);
	c->fe = fe;
	c->tps = -1;
	c->eta = -1;
	c->reply = CHAT_NONE;
	c->engine_ok = 1;
	conv_init(&c->cv);
	conv_set_system(&c->cv, fe->system_name, fe->system_text);
	scroll_init(&c->sc, 80, 20);
	return 0;
}

/* Say so when the model cannot take the system prompt. */
void
chat_system_check(struct chat *c)
{
	const char	*why = slashcmd_system_unused(&c->cl, &c->cv);

	if (why != NULL)
		chat_note(c, 0, "%s", why);
}

/* On a connected engine: the conversation asked for on the command line
 * (--resume, --session, --history; errors on stderr, before the full
 * screen), and the journal.  0 or -1. */
int
chat_start(struct chat *c)
{
	char	*cause = NULL;
	int	 left = journal_left_over(), r;

	c->fe->note = on_start_note;
	c->fe->note_arg = c;
	r = fe_start_conv(c->fe, &c->cl, &c->cv);
	c->fe->note = NULL;
	if (r != 0) {
		if (c->start_notes != NULL)
			fprintf(stderr, "yangtuo: %s\n", c->start_notes);
		return -1;
	}
	if (c->fe->session != NULL)
		c->session = xstrdup(c->fe->session);
	/* The demo's banner first, then the conversation, then what
	 * starting it said. */
	scroll_clear(&c->sc);
	if (c->fe->demo)
		chat_note(c, 0, _("This is the demo model: it continues "
		    "children's stories.  Point yangtuo at a real model with "
		    "-m FILE.gguf or 'model:' in the config.  F1 shows the "
		    "keys."));
	show_msgs(c);
	if (c->start_notes != NULL)
		chat_note(c, 0, "%s", c->start_notes);
	if ((c->journal = journal_start(&c->cv, c->fe->load.path,
	    &cause)) == NULL) {
		chat_note(c, 1, _("no autosave: %s"), cause);
		free(cause);
	}
	c->journaled = c->cv.n;
	if (!c->fe->demo)	/* the banner says what the demo is */
		chat_system_check(c);
	if (left && !c->fe->resume)
		chat_note(c, 0, _("The last conversation did not end cleanly: "
		    "'yangtuo --resume' brings it back."));
	return 0;
}

/* Before leaving: wait a little for a /save in flight, and close the
 * journal (clean: kept as the last conversation). */
void
chat_finish(struct chat *c, int clean)
{
	double	t0 = util_now();

	while ((c->saving != NULL || c->restoring) && c->engine_ok &&
	    util_now() - t0 < 5.0) {
		struct pollfd	pfd = { c->cl.ev_r, POLLIN, 0 };

		if (chat_poll(c, 100) == 0)
			poll(&pfd, 1, 50);
	}
	if (c->reply != CHAT_NONE)
		c->cv.msgs[c->reply].cut = 1;
	chat_journal(c, 0);
	journal_close(c->journal, clean);
	c->journal = NULL;
}

/* After client_start/fe_connect: remember how to name the model. */
static void
model_label(struct chat *c)
{
	const char	*p = c->cl.model.path, *base;
	size_t		 n;

	free(c->model_label);
	/* A server's model (its path is the URL) goes by the server's id. */
	if (p == NULL || *p == '\0' || remote_is_url(p))
		p = c->cl.model.name != NULL ? c->cl.model.name : "?";
	base = strrchr(p, '/');
	base = base != NULL ? base + 1 : p;
	n = strlen(base);
	if (n > 5 && strcmp(base + n - 5, ".gguf") == 0)
		n -= 5;
	c->model_label = xstrndup(base, n);
}

/* Stop the engine and free everything. */
void
chat_fini(struct chat *c)
{
	if (c->picking)
		picker_fini(&c->pk);
	journal_close(c->journal, 0);
	client_stop(&c->cl);
	conv_free(&c->cv);
	scroll_fini(&c->sc);
	free(c->items);
	free(c->model_label);
	free(c->session);
	free(c->deferred);
	free(c->saving);
	free(c->restore);
	free(c->flash);
	free(c->start_notes);
	free(c->sys_label);
	free(c->attach);
	if (c->fe != NULL) {
		free(c->fe->model_path);
		c->fe->model_path = NULL;
		free(c->fe->remote_own);
		c->fe->remote_own = NULL;
	}
	memset(c, 0, sizeof *c);
}

static void
reply_token(struct chat *c, const char *text, size_t len)
{
	struct conv_msg	*m;
	size_t		 skip;

	if (c->reply == CHAT_NONE) {
		conv_add(&c->cv, CONV_ASSISTANT, "", 0);
		c->reply = c->cv.n - 1;
		show_last(c);
	}
	c->phase = STATUS_REPLY;
	m = &c->cv.msgs[c->reply];
	skip = conv_lead_blanks(m, text, len);
	conv_append(m, text, len);
	scroll_append(&c->sc, c->items[c->reply], text + skip, len - skip);
	c->generated++;
	c->ctx_used = c->ctx_base + c->generated;
	if (c->ctx_total > 0 && c->ctx_used > c->ctx_total)
		c->ctx_used = c->ctx_total;
	c->dirty = 1;
}

static void
progress(struct chat *c, unsigned done, unsigned total)
{
	double	now = util_now(), rate;

	if (c->pf_t0 == 0) {
		c->pf_t0 = now;
		c->pf_base = done;
	}
	c->pf_done = done;
	c->pf_total = total;
	rate = now > c->pf_t0 + 0.2 ? (done - c->pf_base) / (now -
	    c->pf_t0) : 0;
	c->eta = rate > 0 && total >= done ? (total - done) / rate : -1;
	c->dirty = 1;
}

static void
context(struct chat *c, const struct proto_context *ctx)
{
	size_t	dropped, i;

	log_debug("ui context used=%u shown=%u", ctx->used, c->ctx_used);
	c->ctx_used = ctx->used;
	c->ctx_total = ctx->total;
	c->ctx_base = ctx->used > c->generated ? ctx->used - c->generated : 0;
	dropped = conv_apply_dropped(&c->cv, ctx);
	if (dropped == 0)
		return;
	for (i = 0; i < c->cv.n; i++)
		if (c->cv.msgs[i].dropped && !(c->sc.items[c->items[i]].flags &
		    SCROLL_DIM))
			set_head(c, i);
	chat_note(c, 0, _("%zu earlier messages left the context (%u/%u "
	    "tokens used); the system prompt stays"), dropped, ctx->used,
	    ctx->total);
}

/* The reply is over (done, error or engine gone): run what waited. */
static void
reply_over(struct chat *c)
{
	char	*line;

	c->busy = 0;
	c->phase = STATUS_IDLE;
	c->dirty = 1;
	if (c->flash_reply) {
		free(c->flash);
		c->flash = NULL;
		c->flash_reply = 0;
	}
	if ((line = c->deferred) != NULL) {
		c->deferred = NULL;
		chat_line(c, line);
		free(line);
	}
}

static void
done(struct chat *c, const struct proto_done *st)
{
	struct conv_msg	*m;
	size_t		 i;

	if (c->reply == CHAT_NONE) {
		conv_add(&c->cv, CONV_ASSISTANT, "", 0);
		c->reply = c->cv.n - 1;
		show_last(c);
	}
	i = c->reply;
	m = &c->cv.msgs[i];
	m->has_stats = 1;
	m->stats = *st;
	m->params = c->fe->params;
	m->cut = st->stop == PROTO_STOP_CANCEL;
	c->reply = CHAT_NONE;
	set_head(c, i);
	if (st->generated > 0 && st->decode_sec > 0)
		c->tps = st->generated / st->decode_sec;
	log_debug("ui reply done stop=%u generated=%u prompt=%u cached=%u",
	    st->stop, st->generated, st->prompt, st->cached);
	chat_journal(c, 0);
	reply_over(c);
}

static void
engine_error(struct chat *c, uint32_t code, const char *detail)
{
	char		*msg = client_error_text(code, detail);
	struct conv_msg	*last;

	chat_note(c, 1, "%s", msg);
	free(msg);
	if (c->reply != CHAT_NONE) {
		set_head(c, c->reply);
		c->reply = CHAT_NONE;
	}
	last = conv_last(&c->cv);
	if (c->busy && last != NULL && last->role == CONV_USER) {
		/* Unanswered: take it back so the next try is clean. */
		chat_keep(c, last->text);
		chat_pop(c);
		chat_note(c, 1, _("[the message was not sent]"));
	}
	reply_over(c);
}

static void
save_now(struct chat *c, const char *name)
{
	char	*cause = NULL;

	if (session_save(&c->cv, name, c->cl.model.path, &cause) != 0) {
		chat_note(c, 1, _("not saved: %s"), cause);
		free(cause);
		return;
	}
	if (c->session == NULL || strcmp(c->session, name) != 0) {
		free(c->session);
		c->session = xstrdup(name);
	}
	chat_note(c, 0, _("saved as '%s'"), name);
}

/* The engine answered a KV snapshot request (as fe_session_save and
 * fe_session_load do, without waiting for it). */
static void
state_done(struct chat *c, uint32_t code, char *text)
{
	char	*name;

	if ((name = c->saving) != NULL) {
		c->saving = NULL;
		free(c->cv.kv_path);
		c->cv.kv_path = code == PROTO_EOK && text != NULL ?
		    xstrdup(text) : NULL;
		fe_kv_bind(&c->cv);
		save_now(c, name);
		free(name);
	} else if (c->restoring) {
		c->restoring = 0;
		if (code != PROTO_EOK)
			chat_note(c, 0, _("KV snapshot not used (%s): the "
			    "conversation will be read again"), text != NULL ?
			    text : "?");
	}
}

/* /save: the conversation as name (NULL: the session's name, else a new
 * one), with a KV snapshot when the engine is idle. */
void
chat_save(struct chat *c, const char *name)
{
	char		 def[64], *dir, *why = NULL;
	time_t		 now = time(NULL);
	struct tm	 tm;

	if (name == NULL || *name == '\0') {
		if (c->session != NULL)
			name = c->session;
		else {
			localtime_r(&now, &tm);
			strftime(def, sizeof def, "chat-%Y%m%d-%H%M%S", &tm);
			name = def;
		}
	}
	if (!session_name_ok(name)) {
		chat_note(c, 1, _("not saved: '%s' is not a usable name"),
		    name);
		return;
	}
	if (slashcmd_save_ok(name, c->session, c->force, &why) != 0) {
		chat_note(c, 1, _("not saved: %s"), why);
		free(why);
		return;
	}
	free(c->cv.kv_path);
	c->cv.kv_path = NULL;
	fe_kv_bind(&c->cv);
	/* With the engine's KV snapshot when it is idle: saved when the
	 * snapshot is written (state_done). */
	if (c->engine_ok && c->cl.loaded && !c->busy && c->saving == NULL &&
	    (dir = xdg_dir(XDG_CACHE, "kv", 1)) != NULL) {
		if (client_save_state(&c->cl, dir) == 0)
			c->saving = xstrdup(name);
		free(dir);
		if (c->saving != NULL)
			return;
	}
	save_now(c, name);
}

/* /load: replace the conversation with the session saved as name; the
 * engine restores its KV snapshot meanwhile. */
void
chat_load(struct chat *c, const char *name)
{
	struct conv	 cv;
	char		*cause = NULL, *other;

	conv_init(&cv);
	if (session_load(&cv, name, &cause) != 0) {
		chat_note(c, 1, _("not loaded: %s"), cause);
		free(cause);
		conv_free(&cv);
		return;
	}
	conv_free(&c->cv);
	c->cv = cv;
	chat_show_all(c);
	free(c->session);
	c->session = xstrdup(name);
	chat_journal(c, 1);
	chat_note(c, 0, _("loaded '%s' (%zu messages)"), name, c->cv.n);
	if ((other = slashcmd_model_note(&c->cv, c->cl.model.path)) != NULL) {
		chat_note(c, 0, "%s", other);
		free(other);
	}
	if (c->cv.kv_path == NULL || !c->engine_ok || !c->cl.loaded)
		return;
	if (modelsum_kv_check(&c->cv, &cause) != 0) {
		chat_note(c, 0, _("KV snapshot not used (%s): the "
		    "conversation will be read again"), cause);
		free(cause);
		return;
	}
	/* The engine restores its snapshot while the user reads. */
	if (client_load_state(&c->cl, c->cv.kv_path) == 0)
		c->restoring = 1;
}

/* Take up to max events the engine has sent, without waiting; 1 if more
 * may be ready, 0 if not, -1 if the engine is gone. */
int
chat_poll(struct chat *c, int max)
{
	struct client_ev	ev;
	double			t0 = util_now();
	int			r, n = 0;

	while (c->engine_ok) {
		if (n >= max || util_now() - t0 > 0.01)
			return 1;
		if ((r = client_next(&c->cl, &ev, 0)) < 0) {
			c->engine_ok = 0;
			chat_note(c, 1, _("the engine stopped"));
			if (c->busy)
				reply_over(c);
			return -1;
		}
		if (r == 0)
			return 0;
		n++;
		switch (ev.type) {
		case PROTO_EV_TOKEN:
			reply_token(c, ev.text, ev.len);
			break;
		case PROTO_EV_PROGRESS:
			progress(c, ev.done, ev.total);
			break;
		case PROTO_EV_CONTEXT:
			context(c, &ev.ctx);
			break;
		case PROTO_EV_DONE:
			done(c, &ev.stats);
			break;
		case PROTO_EV_ERROR:
			if (c->saving != NULL || c->restoring)
				state_done(c, ev.code, ev.text);
			else
				engine_error(c, ev.code, ev.text);
			break;
		case PROTO_EV_STATE:
			state_done(c, ev.code, ev.text);
			break;
		default:
			break;
		}
		client_ev_free(&ev);
	}
	return 0;
}

/* Ctrl-C (or SIGINT): stop the reply; else empty the input; twice at an
 * empty, idle input quits with 130 as the plain mode does. */
void
chat_interrupt(struct chat *c, int empty_input)
{
	if (c->busy) {
		client_cancel(&c->cl);
		free(c->deferred);
		c->deferred = NULL;
		flash_reply(c, _("stopping the reply"));
		c->interrupts = 0;
		return;
	}
	if (!empty_input) {
		c->interrupts = 0;
		return;
	}
	if (++c->interrupts >= 2) {
		c->quit = 1;
		c->status = 130;
		return;
	}
	chat_flash(c, _("Ctrl-C again or Ctrl-D to quit"));
}

/* Change the temperature by delta at once: the engine samples the next
 * token with it. */
void
chat_temperature(struct chat *c, float delta)
{
	float	t = c->fe->params.temperature + delta;
	char	 msg[64];

	t = (float)((int)(t * 100.0f + (t < 0 ? -0.5f : 0.5f))) / 100.0f;
	if (t < 0)
		t = 0;
	if (t > 5)
		t = 5;
	c->fe->params.temperature = t;
	log_debug("ui set temp=%.2f", t);
	if (c->engine_ok)
		client_params(&c->cl, &c->fe->params);
	snprintf(msg, sizeof msg, _("temperature %.2f"), t);
	chat_flash(c, msg);
}

/* Give text back to the input, after what is already waiting for it
 * (lines of a paste that came while a reply ran): never dropped. */
void
chat_keep(struct chat *c, const char *text)
{
	char	*t;

	if (c->restore == NULL)
		c->restore = xstrdup(text);
	else {
		xasprintf(&t, "%s\n%s", c->restore, text);
		free(c->restore);
		c->restore = t;
	}
}

/* An accepted input line: a command (one line starting with '/'), or a
 * message ("//" sends a leading '/'). */
void
chat_line(struct chat *c, const char *line)
{
	const char	*msg = line;
	char		*with = NULL;
	size_t		 len = strlen(line);

	c->interrupts = 0;
	/* What the line does (a note, a message) is shown at the end. */
	scroll_end(&c->sc);
	if (len > CHAT_MAX_INPUT) {
		chat_note(c, 1, _("[the message is longer than %u KiB and "
		    "was not sent]"), CHAT_MAX_INPUT >> 10);
		return;
	}
	if (!utf8_valid(line, len)) {
		chat_note(c, 1, _("[the message is not valid UTF-8 and was "
		    "not sent]"));
		return;
	}
	if (strchr(line, '\n') == NULL && c->command != NULL &&
	    c->command(c, line))
		return;
	if (line[strspn(line, " \t\n")] == '\0')
		return;
	if (c->busy) {
		chat_keep(c, line);
		flash_reply(c, _("a reply is being written: wait, or Ctrl-C "
		    "to stop it"));
		return;
	}
	if (msg[0] == '/' && msg[1] == '/')
		msg++;
	if (c->attach != NULL) {
		/* /file's text goes first, then what was typed. */
		xasprintf(&with, "%s%s", c->attach, msg);
		free(c->attach);
		c->attach = NULL;
		msg = with;
	}
	conv_add(&c->cv, CONV_USER, msg, strlen(msg));
	log_debug("ui send %zu bytes", strlen(msg));
	free(with);	/* msg may point into it */
	show_last(c);
	chat_submit(c);
}

/* Fill the status bar's facts. */
void
chat_status(struct chat *c, struct status_info *si)
{
	if (c->model_label == NULL)
		model_label(c);
	memset(si, 0, sizeof *si);
	si->model = c->model_label;
	si->tmpl = c->cl.model.template_name;
	free(c->sys_label);
	c->sys_label = slashcmd_system_label(&c->cv);
	si->system = c->sys_label;
	si->system_unused = slashcmd_system_unused(&c->cl, &c->cv) != NULL;
	si->temperature = c->fe->params.temperature;
	si->top_p = c->fe->params.top_p;
	si->ctx_used = c->ctx_used;
	si->ctx_total = c->ctx_total > 0 ? c->ctx_total : c->cl.model.n_ctx;
	si->tps = c->tps;
	si->phase = c->phase;
	si->pf_done = c->pf_done;
	si->pf_total = c->pf_total;
	si->eta = c->eta;
	si->elapsed = util_now() - c->sent_t;
	si->generated = c->generated;
	if (c->flash != NULL && util_now() < c->flash_until)
		si->flash = c->flash;
	si->demo = c->fe->demo;
}

/* Save the conversation for a signal that ends yangtuo, as the session
 * "autosave" (never over a session the user named).  The name used
 * (caller frees), or NULL if there was nothing to save or saving failed. */
char *
chat_autosave(struct chat *c)
{
	const char	*name = "autosave";
	char		*cause = NULL;

	if (c->cv.n == 0)
		return NULL;
	if (session_save(&c->cv, name, c->cl.model.path, &cause) != 0) {
		log_debug("ui autosave failed: %s", cause);
		free(cause);
		return NULL;
	}
	return xstrdup(name);
}

