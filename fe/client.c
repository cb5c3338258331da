/*
 * Engine connection for the front ends: two pipes, the worker thread, and
 * decoding of events.  Errors from the engine arrive as a code and an
 * untranslated detail; client_error_text() words them for people.
 */
#include "config.h"

#include "client.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conv.h"
#include "engine/engine.h"
#include "xmalloc.h"
#include "i18n.h"

/* Create the pipes and start the engine thread; 0 or -1 (errno). */
int
client_start(struct client *c)
{
	int	req[2], ev[2];

	memset(c, 0, sizeof *c);
	c->req_w = c->ev_r = c->req_r = c->ev_w = -1;
	if (pipe(req) != 0)
		return -1;
	if (pipe(ev) != 0) {
		close(req[0]);
		close(req[1]);
		return -1;
	}
	c->req_r = req[0];
	c->req_w = req[1];
	c->ev_r = ev[0];
	c->ev_w = ev[1];
	fcntl(c->ev_r, F_SETFD, FD_CLOEXEC);
	fcntl(c->req_w, F_SETFD, FD_CLOEXEC);
	proto_reader_init(&c->rd);
	if ((c->eng = engine_start(c->req_r, c->ev_w)) == NULL) {
		client_stop(c);
		return -1;
	}
	return 0;
}

/* Ask the engine to quit, wait for it, close everything. */
void
client_stop(struct client *c)
{
	if (c->rem != NULL) {
		remote_cancel(c->rem);
		proto_send(c->req_w, PROTO_REQ_QUIT, NULL, 0);
		close(c->req_w);
		c->req_w = -1;
		remote_join(c->rem);
		c->rem = NULL;
	}
	if (c->eng != NULL) {
		engine_cancel(c->eng);
		proto_send(c->req_w, PROTO_REQ_QUIT, NULL, 0);
		close(c->req_w);
		c->req_w = -1;
		engine_join(c->eng);
		c->eng = NULL;
	}
	if (c->req_w >= 0)
		close(c->req_w);
	if (c->req_r >= 0)
		close(c->req_r);
	if (c->ev_r >= 0)
		close(c->ev_r);
	if (c->ev_w >= 0)
		close(c->ev_w);
	c->req_w = c->req_r = c->ev_r = c->ev_w = -1;
	proto_reader_free(&c->rd);
	proto_ready_free(&c->model);
}

/* Send a load request (the answer is READY or ERROR). */
int
client_load(struct client *c, const struct proto_load *l)
{
	struct proto_buf	b;
	int			r;

	/* A server's URL: the remote worker takes the engine's place on
	 * the same pipes. */
	if (remote_is_url(l->path) && c->rem == NULL && c->eng != NULL) {
		if (proto_send(c->req_w, PROTO_REQ_QUIT, NULL, 0) != 0)
			return -1;
		engine_join(c->eng);
		c->eng = NULL;
		if ((c->rem = remote_start(c->req_r, c->ev_w, &c->ropts)) ==
		    NULL)
			return -1;
	}
	proto_buf_init(&b);
	proto_load_put(&b, l);
	r = proto_send_buf(c->req_w, PROTO_REQ_LOAD, &b);
	proto_buf_free(&b);
	return r;
}

/* Send sampling parameters; they apply from the next token. */
int
client_params(struct client *c, const struct proto_params *p)
{
	struct proto_buf	b;
	int			r;

	proto_buf_init(&b);
	proto_params_put(&b, p);
	r = proto_send_buf(c->req_w, PROTO_REQ_PARAMS, &b);
	proto_buf_free(&b);
	return r;
}

/* Send the whole conversation (system prompt first) for a reply. */
int
client_chat(struct client *c, const struct conv *cv)
{
	struct proto_buf	 b;
	size_t			 i, n = 0;
	int			 r, sys = cv->system_text != NULL &&
				    *cv->system_text != '\0';

	for (i = 0; i < cv->n; i++)
		n += !cv->msgs[i].dropped;
	proto_buf_init(&b);
	proto_put_u32(&b, (uint32_t)(n + sys));
	if (sys) {
		proto_put_u32(&b, PROTO_ROLE_SYSTEM);
		proto_put_str(&b, cv->system_text);
	}
	for (i = 0; i < cv->n; i++) {
		if (cv->msgs[i].dropped)
			continue;
		proto_put_u32(&b, (uint32_t)cv->msgs[i].role);
		proto_put_str(&b, cv->msgs[i].text);
	}
	r = proto_send_buf(c->req_w, PROTO_REQ_CHAT, &b);
	proto_buf_free(&b);
	if (r == 0)
		c->busy = 1;
	return r;
}

/* Stop the reply under way (within a token or a layer). */
int
client_cancel(struct client *c)
{
	if (c->eng != NULL)
		engine_cancel(c->eng);
	if (c->rem != NULL)
		remote_cancel(c->rem);
	return proto_send(c->req_w, PROTO_REQ_CANCEL, NULL, 0);
}

static int
send_str(struct client *c, uint32_t type, const char *s)
{
	struct proto_buf	b;
	int			r;

	proto_buf_init(&b);
	proto_put_str(&b, s);
	r = proto_send_buf(c->req_w, type, &b);
	proto_buf_free(&b);
	return r;
}

/* Ask the engine for a KV snapshot in dir. */
int
client_save_state(struct client *c, const char *dir)
{
	return send_str(c, PROTO_REQ_SAVE_STATE, dir);
}

/* Ask the engine to restore the snapshot at path. */
int
client_load_state(struct client *c, const char *path)
{
	return send_str(c, PROTO_REQ_LOAD_STATE, path);
}

static int
decode(struct client *c, struct proto_msg *m, struct client_ev *ev)
{
	struct proto_rd	r;

	memset(ev, 0, sizeof *ev);
	ev->type = m->type;
	proto_rd_init(&r, m->payload, m->len);
	switch (m->type) {
	case PROTO_EV_READY:
		proto_ready_free(&c->model);
		if (proto_ready_get(&r, &c->model) != 0)
			return -1;
		c->loaded = 1;
		break;
	case PROTO_EV_PROGRESS:
		ev->done = proto_get_u32(&r);
		ev->total = proto_get_u32(&r);
		break;
	case PROTO_EV_TOKEN:
		ev->text = (char *)m->payload;	/* NUL-terminated by recv */
		ev->len = m->len;
		m->payload = NULL;
		break;
	case PROTO_EV_CONTEXT:
		if (proto_context_get(&r, &ev->ctx) != 0)
			return -1;
		break;
	case PROTO_EV_DONE:
		if (proto_done_get(&r, &ev->stats) != 0)
			return -1;
		c->busy = 0;
		break;
	case PROTO_EV_ERROR:
		ev->code = proto_get_u32(&r);
		ev->text = proto_get_str(&r, &ev->len);
		if (ev->text == NULL)
			return -1;
		c->busy = 0;
		break;
	case PROTO_EV_STATE:
		ev->code = proto_get_u32(&r);
		ev->done = proto_get_u32(&r);
		ev->text = proto_get_str(&r, &ev->len);
		if (ev->text == NULL)
			return -1;
		break;
	default:
		break;
	}
	return r.err ? -1 : 0;
}

/* The next event, waiting at most timeout_ms. */
int
client_next(struct client *c, struct client_ev *ev, int timeout_ms)
{
	struct proto_msg	m;
	struct pollfd		pfd;
	int			r;

	for (;;) {
		r = proto_reader_next(&c->rd, &m);
		if (r < 0)
			return -1;
		if (r > 0) {
			r = decode(c, &m, ev);
			proto_msg_free(&m);
			if (r != 0) {
				client_ev_free(ev);
				return -1;
			}
			return 1;
		}
		pfd.fd = c->ev_r;
		pfd.events = POLLIN;
		r = poll(&pfd, 1, timeout_ms);
		if (r < 0 && errno == EINTR)
			return 0;
		if (r < 0)
			return -1;
		if (r == 0)
			return 0;
		if (proto_reader_fill(&c->rd, c->ev_r) <= 0)
			return -1;
	}
}

/* Free what an event holds. */
void
client_ev_free(struct client_ev *ev)
{
	free(ev->text);
	free(ev->ctx.dropped);
	memset(ev, 0, sizeof *ev);
}

/* Load a model and wait for the engine's answer. */
int
client_load_wait(struct client *c, const struct proto_load *l, char **cause)
{
	struct client_ev	ev;
	int			r;

	if (client_load(c, l) != 0) {
		*cause = xstrdup(strerror(errno));
		return -1;
	}
	for (;;) {
		if ((r = client_next(c, &ev, -1)) < 0) {
			*cause = xstrdup(_("the engine stopped"));
			return -1;
		}
		if (r == 0)
			continue;
		if (ev.type == PROTO_EV_READY) {
			client_ev_free(&ev);
			return 0;
		}
		if (ev.type == PROTO_EV_ERROR) {
			*cause = client_error_text(ev.code, ev.text);
			client_ev_free(&ev);
			return -1;
		}
		client_ev_free(&ev);
	}
}

/* Word an engine error for the user; caller frees. */
char *
client_error_text(uint32_t code, const char *detail)
{
	const char	*what;
	char		*s;

	switch (code) {
	case PROTO_EBADMODEL:
		what = _("cannot use the model");
		break;
	case PROTO_ENOMEM:
		what = _("out of memory");
		break;
	case PROTO_ETOOLONG:
		what = _("the message does not fit the context even after "
		    "dropping every older turn");
		break;
	case PROTO_ENOMODEL:
		what = _("no model is loaded");
		break;
	case PROTO_EVERSION:
		what = _("the engine speaks another protocol version");
		break;
	case PROTO_EIO:
		what = _("input/output error");
		break;
	case PROTO_ESTATE:
		what = _("the saved state does not fit this model");
		break;
	case PROTO_ETEMPLATE:
		what = _("the Modelfile's TEMPLATE cannot be used");
		break;
	default:
		what = _("engine error");
		break;
	}
	if (detail != NULL && *detail != '\0')
		xasprintf(&s, _("%s: %s"), what, detail);	/* detail: data */
	else
		s = xstrdup(what);
	return s;
}
