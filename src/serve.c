/*
 * yangtuo serve: an OpenAI-compatible HTTP server (libmicrohttpd, one
 * thread per connection) in front of one engine worker, which it drives
 * through fe/client.h like any other front end.  Requests that generate
 * are admitted up to one being answered plus --queue waiting (else 503
 * with Retry-After) and take the engine in arrival order (a ticket
 * lock).  The engine keeps the longest cached token prefix, so the next
 * request of a conversation only evaluates what is new.  SIGTERM or
 * SIGINT: stop accepting, cancel the reply under way, let it end its
 * stream, exit 0.  The bearer key comes from an environment variable
 * and is never logged.
 */
#include "config.h"

#include "serve.h"

#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "cfg.h"
#include "client.h"
#include "datadir.h"
#include "log.h"
#include "util.h"
#include "xmalloc.h"
#include "i18n.h"

#define SERVE_MAX_BODY		(8u << 20)	/* request body, bytes */
#define SERVE_MAX_CONNS		128
#define SERVE_POLL_MS		100
#define SERVE_DRAIN_SEC		5.0

struct srv {
	struct client		 cl;
	struct proto_params	 def;
	char			*model_id;
	uint32_t		 n_ctx;
	const char		*key;		/* NULL: no key asked */
	unsigned		 queue_max;	/* waiting behind the reply */
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	unsigned		 admitted;	/* answered or waiting */
	unsigned long		 next_ticket;
	unsigned long		 serving;
	atomic_int		 shutting;
	atomic_ulong		 seq;
};

/* A connection's request (MHD's con_cls). */
struct job {
	struct srv	*s;
	int		 kind;		/* SERVE_CHAT, ..., -1: not generating */
	int		 admitted;
	char		*body;
	size_t		 len;
	int		 too_big;
};

/* A streamed answer: owned by the MHD response. */
enum { ST_ROLE, ST_WAIT, ST_GEN, ST_END };
struct stream {
	struct srv		*s;
	struct MHD_Connection	*conn;
	struct serve_req	 rq;
	int			 state;
	int			 holds;		/* the engine is ours */
	int			 admitted;
	int			 cancelled;
	char			 id[48];
	long long		 created;
	char			*out;
	size_t			 out_len;
	size_t			 out_off;
	size_t			 out_cap;
};

/* Take a place in the queue: 0, or -1 when full or shutting down. */
static int
admit(struct srv *s)
{
	int	r = -1;

	pthread_mutex_lock(&s->mu);
	if (!atomic_load(&s->shutting) && s->admitted < 1 + s->queue_max) {
		s->admitted++;
		r = 0;
	}
	pthread_mutex_unlock(&s->mu);
	return r;
}

static void
leave(struct srv *s)
{
	pthread_mutex_lock(&s->mu);
	s->admitted--;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

/* Wait for the engine, in arrival order: 0, or -1 when shutting down. */
static int
engine_take(struct srv *s)
{
	unsigned long	t;
	int		r = 0;

	pthread_mutex_lock(&s->mu);
	t = s->next_ticket++;
	while (s->serving != t && !atomic_load(&s->shutting))
		pthread_cond_wait(&s->cv, &s->mu);
	if (s->serving != t)
		r = -1;
	pthread_mutex_unlock(&s->mu);
	return r;
}

static void
engine_give(struct srv *s)
{
	pthread_mutex_lock(&s->mu);
	s->serving++;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

/* Send the request's parameters and conversation. */
static int
reply_start(struct srv *s, struct serve_req *rq)
{
	if (client_params(&s->cl, &rq->params) != 0 ||
	    client_chat(&s->cl, &rq->conv) != 0)
		return -1;
	return 0;
}

/* Whether the client of connection c has hung up (checked between
 * events, so a request without streaming is cancelled too). */
static int
client_gone(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo	*ci;
	struct pollfd			 pfd;

	if (c == NULL || (ci = MHD_get_connection_info(c,
	    MHD_CONNECTION_INFO_CONNECTION_FD)) == NULL)
		return 0;
	pfd.fd = ci->connect_fd;
	pfd.events = POLLRDHUP;
	pfd.revents = 0;
	return poll(&pfd, 1, 0) > 0 &&
	    (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

/* The next event of the reply under way, cancelling it once the server
 * shuts down or the client of c (may be NULL) hangs up: 1 with *ev, -1
 * if the engine is gone. */
static int
reply_event(struct srv *s, struct MHD_Connection *c, int *cancelled,
    struct client_ev *ev)
{
	int	r;

	for (;;) {
		if (!*cancelled && (atomic_load(&s->shutting) ||
		    client_gone(c))) {
			log_debug("serve: %s, cancelling",
			    atomic_load(&s->shutting) ? "shutting down" :
			    "client gone");
			client_cancel(&s->cl);
			*cancelled = 1;
		}
		if ((r = client_next(&s->cl, ev, SERVE_POLL_MS)) != 0)
			return r;
	}
}

/* Cancel the reply under way and wait for its end. */
static void
reply_cancel(struct srv *s)
{
	struct client_ev	ev;
	int			cancelled = 1, r;

	client_cancel(&s->cl);
	while ((r = reply_event(s, NULL, &cancelled, &ev)) > 0) {
		r = ev.type == PROTO_EV_DONE || ev.type == PROTO_EV_ERROR;
		client_ev_free(&ev);
		if (r)
			break;
	}
}

static enum MHD_Result
answer(struct MHD_Connection *c, unsigned status, json_t *body,
    int retry_after)
{
	struct MHD_Response	*resp;
	enum MHD_Result		 r;
	char			*s = json_dumps(body, JSON_COMPACT);
	size_t			 n;

	json_decref(body);
	if (s == NULL)
		return MHD_NO;
	n = strlen(s);
	resp = MHD_create_response_from_buffer(n, s, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(s);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", "application/json");
	if (retry_after)
		MHD_add_response_header(resp, "Retry-After", "1");
	if (status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(resp, "WWW-Authenticate", "Bearer");
	r = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return r;
}

static enum MHD_Result
answer_error(struct MHD_Connection *c, unsigned status, const char *msg,
    const char *type)
{
	return answer(c, status, serve_error(msg, type),
	    status == MHD_HTTP_SERVICE_UNAVAILABLE);
}

/* Append bytes to a stream's output. */
static void
out_put(struct stream *st, const char *p, size_t n)
{
	if (st->out_len + n + 1 > st->out_cap) {
		if (n > SIZE_MAX / 2 - st->out_len)
			fatal("stream output too large");
		st->out_cap = 2 * (st->out_len + n + 1);
		st->out = xreallocarray(st->out, st->out_cap, 1);
	}
	memcpy(st->out + st->out_len, p, n);
	st->out_len += n;
}

/* One server-sent event: "data: JSON\n\n". */
static void
out_event(struct stream *st, json_t *o)
{
	char	*s = json_dumps(o, JSON_COMPACT);

	json_decref(o);
	if (s == NULL)
		fatal("out of memory");
	out_put(st, "data: ", 6);
	out_put(st, s, strlen(s));
	out_put(st, "\n\n", 2);
	free(s);
}

static void
stream_end(struct stream *st)
{
	out_put(st, "data: [DONE]\n\n", 14);
	if (st->holds) {
		engine_give(st->s);
		st->holds = 0;
	}
	/* Free the place before the last bytes go out (see generate). */
	if (st->admitted) {
		leave(st->s);
		st->admitted = 0;
	}
	st->state = ST_END;
}

static void
stream_fail(struct stream *st, const char *msg, const char *type)
{
	out_event(st, serve_error(msg, type));
	stream_end(st);
}

/* The last chunks of a finished reply. */
static void
stream_done(struct stream *st, const struct proto_done *d)
{
	json_t	*o;

	out_event(st, serve_chunk(st->rq.kind, st->id, st->s->model_id,
	    st->created, 0, NULL, 0, serve_finish(d->stop)));
	if (st->rq.include_usage) {
		o = serve_chunk(st->rq.kind, st->id, st->s->model_id,
		    st->created, 0, NULL, 0, NULL);
		json_array_clear(json_object_get(o, "choices"));
		json_object_set_new(o, "usage", serve_usage(d));
		out_event(st, o);
	}
	stream_end(st);
}

/* Produce the stream's next output. */
static void
stream_step(struct stream *st)
{
	struct srv		*s = st->s;
	struct client_ev	 ev;
	char			*msg;

	switch (st->state) {
	case ST_ROLE:
		if (st->rq.kind == SERVE_CHAT)
			out_event(st, serve_chunk(st->rq.kind, st->id,
			    s->model_id, st->created, 1, NULL, 0, NULL));
		st->state = ST_WAIT;
		break;
	case ST_WAIT:
		if (engine_take(s) != 0) {
			stream_fail(st, "the server is shutting down",
			    "server_error");
			break;
		}
		st->holds = 1;
		st->state = ST_GEN;
		if (reply_start(s, &st->rq) != 0)
			stream_fail(st, "the engine stopped", "server_error");
		break;
	case ST_GEN:
		if (reply_event(s, st->conn, &st->cancelled, &ev) < 0) {
			stream_fail(st, "the engine stopped", "server_error");
			break;
		}
		if (ev.type == PROTO_EV_TOKEN)
			out_event(st, serve_chunk(st->rq.kind, st->id,
			    s->model_id, st->created, 0, ev.text, ev.len,
			    NULL));
		else if (ev.type == PROTO_EV_DONE)
			stream_done(st, &ev.stats);
		else if (ev.type == PROTO_EV_ERROR) {
			msg = client_error_text(ev.code, ev.text);
			stream_fail(st, msg, ev.code == PROTO_ETOOLONG ?
			    "invalid_request_error" : "server_error");
			free(msg);
		}
		client_ev_free(&ev);
		break;
	default:
		break;
	}
}

static ssize_t
stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream	*st = cls;
	size_t		 n;

	while (st->out_off == st->out_len) {
		st->out_off = st->out_len = 0;
		if (st->state == ST_END)
			return MHD_CONTENT_READER_END_OF_STREAM;
		stream_step(st);
	}
	n = st->out_len - st->out_off;
	if (n > max)
		n = max;
	memcpy(buf, st->out + st->out_off, n);
	st->out_off += n;
	return (ssize_t)n;
}

/* The response is gone (sent, or the client went away): a reply still
 * under way is cancelled. */
static void
stream_free(void *cls)
{
	struct stream	*st = cls;

	if (st->holds) {
		log_debug("serve: %s: client gone, cancelling", st->id);
		reply_cancel(st->s);
		engine_give(st->s);
	}
	if (st->admitted)
		leave(st->s);
	serve_req_free(&st->rq);
	free(st->out);
	free(st);
}

static void
new_id(struct srv *s, int kind, char *id, size_t n, long long *created)
{
	*created = (long long)time(NULL);
	snprintf(id, n, "%s-yt%lx%04lx", kind == SERVE_CHAT ? "chatcmpl" :
	    "cmpl", (unsigned long)*created, atomic_fetch_add(&s->seq, 1));
}

/* A request without streaming: wait for the engine, collect the reply. */
static enum MHD_Result
run_whole(struct MHD_Connection *c, struct srv *s, struct serve_req *rq)
{
	struct client_ev	 ev;
	char			 id[48], *text = NULL, *msg;
	size_t			 len = 0;
	long long		 created;
	int			 cancelled = 0, r;
	enum MHD_Result		 res;

	new_id(s, rq->kind, id, sizeof id, &created);
	if (engine_take(s) != 0)
		return answer_error(c, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "the server is shutting down", "server_error");
	if (reply_start(s, rq) != 0) {
		engine_give(s);
		return answer_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "the engine stopped", "server_error");
	}
	for (;;) {
		if ((r = reply_event(s, c, &cancelled, &ev)) < 0) {
			res = answer_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
			    "the engine stopped", "server_error");
			break;
		}
		if (ev.type == PROTO_EV_TOKEN) {
			text = xreallocarray(text, len + ev.len + 1, 1);
			memcpy(text + len, ev.text, ev.len);
			len += ev.len;
		} else if (ev.type == PROTO_EV_DONE) {
			res = answer(c, MHD_HTTP_OK, serve_whole(rq->kind, id,
			    s->model_id, created, text != NULL ? text : "",
			    len, &ev.stats), 0);
			client_ev_free(&ev);
			break;
		} else if (ev.type == PROTO_EV_ERROR) {
			msg = client_error_text(ev.code, ev.text);
			res = ev.code == PROTO_ETOOLONG ? answer_error(c,
			    MHD_HTTP_BAD_REQUEST, msg, "invalid_request_error") :
			    answer_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
			    msg, "server_error");
			free(msg);
			client_ev_free(&ev);
			break;
		}
		client_ev_free(&ev);
	}
	engine_give(s);
	free(text);
	return res;
}

static enum MHD_Result
run_stream(struct MHD_Connection *c, struct job *j, struct serve_req *rq)
{
	struct MHD_Response	*resp;
	struct stream		*st;
	enum MHD_Result		 r;

	st = xcalloc(1, sizeof *st);
	st->s = j->s;
	st->conn = c;
	st->rq = *rq;
	new_id(j->s, rq->kind, st->id, sizeof st->id, &st->created);
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096,
	    stream_read, st, stream_free);
	if (resp == NULL) {
		serve_req_free(&st->rq);
		free(st);
		return MHD_NO;
	}
	/* The stream now owns the place in the queue. */
	st->admitted = j->admitted;
	j->admitted = 0;
	MHD_add_response_header(resp, "Content-Type", "text/event-stream");
	MHD_add_response_header(resp, "Cache-Control", "no-cache");
	r = MHD_queue_response(c, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return r;
}

/* The whole body is in: parse it and answer. */
static enum MHD_Result
generate(struct MHD_Connection *c, struct job *j)
{
	struct serve_req	 rq;
	char			*cause = NULL;
	enum MHD_Result		 r;

	if (j->too_big)
		r = answer_error(c, MHD_HTTP_CONTENT_TOO_LARGE,
		    "the request body is too large", "invalid_request_error");
	else if (serve_parse(j->kind, j->body != NULL ? j->body : "", j->len,
	    &j->s->def, &rq, &cause) != 0) {
		r = answer_error(c, MHD_HTTP_BAD_REQUEST, cause,
		    "invalid_request_error");
		free(cause);
	} else {
		log_debug("serve: %s request, %zu messages, stream %d",
		    j->kind == SERVE_CHAT ? "chat" : "completion", rq.conv.n,
		    rq.stream);
		if (rq.stream)
			return run_stream(c, j, &rq);
		r = run_whole(c, j->s, &rq);
		serve_req_free(&rq);
	}
	/* The answer is queued, not yet sent: the place is free before the
	 * client can send its next request. */
	if (j->admitted) {
		leave(j->s);
		j->admitted = 0;
	}
	return r;
}

/* Whether the request carries the key (compared in constant time). */
static int
authorized(struct srv *s, struct MHD_Connection *c)
{
	const char	*h;
	size_t		 i, n, kn;
	unsigned char	 diff = 0;

	if (s->key == NULL)
		return 1;
	h = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_AUTHORIZATION);
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return 0;
	h += 7;
	n = strlen(h);
	kn = strlen(s->key);
	for (i = 0; i < kn; i++)
		diff |= (unsigned char)s->key[i] ^ (unsigned char)(i < n ?
		    h[i] : 0);
	return diff == 0 && n == kn;
}

/* The first call for a request: route it, check the key, admit it. */
static enum MHD_Result
begin(struct srv *s, struct MHD_Connection *c, const char *url,
    const char *method, void **con_cls)
{
	struct job	*j;
	const char	*cl;
	int		 post = strcmp(method, "POST") == 0, kind = -1;

	if (strcmp(url, "/health") == 0 && strcmp(method, "GET") == 0)
		return answer(c, MHD_HTTP_OK, json_pack("{s:s}", "status",
		    "ok"), 0);
	if (strcmp(url, "/v1/chat/completions") == 0 ||
	    strcmp(url, "/chat/completions") == 0)
		kind = SERVE_CHAT;
	else if (strcmp(url, "/v1/completions") == 0 ||
	    strcmp(url, "/completions") == 0)
		kind = SERVE_COMPLETION;
	else if (strcmp(url, "/v1/models") != 0 &&
	    strcmp(url, "/models") != 0)
		return answer_error(c, MHD_HTTP_NOT_FOUND, "no such endpoint",
		    "invalid_request_error");
	if (kind >= 0 ? !post : strcmp(method, "GET") != 0)
		return answer_error(c, MHD_HTTP_METHOD_NOT_ALLOWED,
		    "method not allowed here", "invalid_request_error");
	if (!authorized(s, c))
		return answer_error(c, MHD_HTTP_UNAUTHORIZED, "a valid API "
		    "key is needed (Authorization: Bearer KEY)",
		    "authentication_error");
	if (kind < 0)
		return answer(c, MHD_HTTP_OK, serve_models(s->model_id,
		    (long long)time(NULL), s->n_ctx), 0);
	cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl != NULL && strtoull(cl, NULL, 10) > SERVE_MAX_BODY)
		return answer_error(c, MHD_HTTP_CONTENT_TOO_LARGE,
		    "the request body is too large", "invalid_request_error");
	if (admit(s) != 0)
		return answer_error(c, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "the server is busy; try again", "server_error");
	j = xcalloc(1, sizeof *j);
	j->s = s;
	j->kind = kind;
	j->admitted = 1;
	*con_cls = j;
	return MHD_YES;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *data,
    size_t *data_size, void **con_cls)
{
	struct srv	*s = cls;
	struct job	*j = *con_cls;

	if (j == NULL) {
		log_debug("serve: %s %s", method, url);
		return begin(s, c, url, method, con_cls);
	}
	if (*data_size > 0) {
		if (j->too_big || *data_size > SERVE_MAX_BODY - j->len) {
			j->too_big = 1;
			free(j->body);
			j->body = NULL;
			j->len = 0;
		} else {
			j->body = xreallocarray(j->body, j->len + *data_size +
			    1, 1);
			memcpy(j->body + j->len, data, *data_size);
			j->len += *data_size;
		}
		*data_size = 0;
		return MHD_YES;
	}
	return generate(c, j);
}

static void
on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode why)
{
	struct job	*j = *con_cls;

	if (j == NULL)
		return;
	if (j->admitted)
		leave(j->s);
	free(j->body);
	free(j);
	*con_cls = NULL;
}

struct serve_opts {
	const char	*model;
	const char	*host;
	const char	*port;
	const char	*key_env;
	const char	*tmpl;
	long		 queue;
	struct proto_load load;
};

static void
serve_help(FILE *f)
{
	fprintf(f, _(
"Usage: yangtuo serve [-m MODEL] [--host ADDR] [--port N] [OPTION]...\n"
"Serve the model over an OpenAI-compatible HTTP API: /v1/chat/completions,\n"
"/v1/completions, /v1/models and /health.\n"
"\n"
"  -m, --model=FILE         the GGUF model (default: config, else the demo)\n"
"      --host=ADDR          address to listen on (default 127.0.0.1)\n"
"      --port=N             port (default 8080; 0 picks a free one)\n"
"      --api-key-env=NAME   ask for the key in environment variable NAME\n"
"                           (Authorization: Bearer KEY)\n"
"      --queue=N            requests that may wait for the engine (default 8;\n"
"                           more are answered 503)\n"
"  -c, --ctx-size=N         context size in tokens (0 = the model's)\n"
"  -t, --threads=N          compute threads (default: online cores)\n"
"      --template=NAME      auto, llama3, llama2, chatml, mistral or none\n"
"      --log-file=FILE      write a debug log\n"
"  -h, --help               display this help and exit\n"
"\n"
"Requests set temperature, top_p, top_k, min_p, seed, max_tokens and stop;\n"
"the config file gives the defaults.  SIGTERM ends the server cleanly.\n"));
}

static int
serve_usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "yangtuo serve: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	fprintf(stderr, _("Try 'yangtuo serve --help' for more "
	    "information.\n"));
	return 2;
}

enum { SO_HOST = 256, SO_PORT, SO_KEY, SO_QUEUE, SO_TEMPLATE, SO_LOG };

static int
parse_serve_opts(struct serve_opts *o, int argc, char **argv)
{
	static const struct option	lo[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "model", required_argument, NULL, 'm' },
		{ "host", required_argument, NULL, SO_HOST },
		{ "port", required_argument, NULL, SO_PORT },
		{ "api-key-env", required_argument, NULL, SO_KEY },
		{ "queue", required_argument, NULL, SO_QUEUE },
		{ "ctx-size", required_argument, NULL, 'c' },
		{ "threads", required_argument, NULL, 't' },
		{ "template", required_argument, NULL, SO_TEMPLATE },
		{ "log-file", required_argument, NULL, SO_LOG },
		{ NULL, 0, NULL, 0 }
	};
	long	v;
	int	c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "hm:c:t:", lo, NULL)) != -1) {
		switch (c) {
		case 'h':
			serve_help(stdout);
			return 0;
		case 'm':
			o->model = optarg;
			break;
		case SO_HOST:
			o->host = optarg;
			break;
		case SO_PORT:
			if (util_parse_long(optarg, 0, 65535, &v) != 0)
				return serve_usage_error(_("bad --port '%s'"),
				    optarg);
			o->port = optarg;
			break;
		case SO_KEY:
			o->key_env = optarg;
			break;
		case SO_QUEUE:
			if (util_parse_long(optarg, 0, 1000, &o->queue) != 0)
				return serve_usage_error(_("bad --queue '%s'"),
				    optarg);
			break;
		case 'c':
			if (util_parse_long(optarg, 0, 1 << 24, &v) != 0)
				return serve_usage_error(_("bad --ctx-size "
				    "'%s'"), optarg);
			o->load.n_ctx = (uint32_t)v;
			break;
		case 't':
			if (util_parse_long(optarg, 1, 1024, &v) != 0)
				return serve_usage_error(_("bad --threads "
				    "'%s'"), optarg);
			o->load.threads = (uint32_t)v;
			break;
		case SO_TEMPLATE:
			o->tmpl = optarg;
			break;
		case SO_LOG:
			if (log_open(optarg) != 0) {
				fprintf(stderr, "yangtuo serve: %s: %s\n",
				    optarg, strerror(errno));
				return 1;
			}
			break;
		default:
			fprintf(stderr, _("Try 'yangtuo serve --help' for "
			    "more information.\n"));
			return 2;
		}
	}
	if (optind < argc)
		return serve_usage_error(_("unexpected argument '%s'"),
		    argv[optind]);
	return -1;
}

/* The config file's model and sampling defaults (a missing file is no
 * error). */
static int
serve_config(struct cfg *cfg, struct srv *s, struct serve_opts *o)
{
	char	*path, *cause = NULL;

	cfg_init(cfg);
	if ((path = cfg_default_path()) != NULL && cfg_load_file(cfg, path,
	    NULL, NULL, &cause) != 0 && errno != ENOENT) {
		fprintf(stderr, "yangtuo serve: %s\n", cause);
		free(cause);
		free(path);
		return -1;
	}
	free(cause);
	free(path);
	s->def.temperature = cfg->temperature;
	s->def.top_k = cfg->top_k;
	s->def.top_p = cfg->top_p;
	s->def.min_p = cfg->min_p;
	s->def.repeat_penalty = cfg->repeat_penalty;
	s->def.repeat_last_n = cfg->repeat_last_n;
	s->def.seed = cfg->seed != 0 ? cfg->seed : (uint64_t)time(NULL) &
	    0x7fffffff;
	s->def.max_tokens = cfg->max_tokens;
	s->def.n_stop = cfg->n_stop;
	memcpy(s->def.stop, cfg->stop, sizeof s->def.stop);
	o->model = cfg->model;
	o->tmpl = cfg->template_name;
	o->load.n_ctx = cfg->n_ctx;
	o->load.threads = (uint32_t)cfg->threads;
	return 0;
}

/* The model's name in answers: the file name without ".gguf". */
static char *
model_id(const char *path)
{
	const char	*b = strrchr(path, '/');
	size_t		 n;

	b = b != NULL ? b + 1 : path;
	n = strlen(b);
	if (n > 5 && strcmp(b + n - 5, ".gguf") == 0)
		n -= 5;
	return xstrndup(b, n);
}

static struct MHD_Daemon *
listen_on(struct srv *s, const struct serve_opts *o, unsigned *port)
{
	struct addrinfo		 hints, *ai;
	struct MHD_Daemon	*d;
	const union MHD_DaemonInfo *info;
	unsigned		 flags = MHD_USE_THREAD_PER_CONNECTION |
				    MHD_USE_INTERNAL_POLLING_THREAD |
				    MHD_USE_ITC;
	int			 e;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((e = getaddrinfo(o->host, o->port, &hints, &ai)) != 0) {
		fprintf(stderr, _("yangtuo serve: %s: %s\n"), o->host,
		    gai_strerror(e));
		return NULL;
	}
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s,
	    MHD_OPTION_SOCK_ADDR, ai->ai_addr,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)SERVE_MAX_CONNS,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
	    MHD_OPTION_END);
	freeaddrinfo(ai);
	if (d == NULL) {
		fprintf(stderr, _("yangtuo serve: cannot listen on %s port "
		    "%s: %s\n"), o->host, o->port, strerror(errno));
		return NULL;
	}
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	*port = info != NULL ? info->port : 0;
	return d;
}

/* Wait for SIGTERM or SIGINT (blocked in every thread). */
static void
wait_signal(const sigset_t *set)
{
	int	sig;

	while (sigwait(set, &sig) != 0)
		;
	log_debug("serve: signal %d, shutting down", sig);
}

/* Stop: no new requests; the reply under way is cancelled and its
 * stream ended; then the connections close. */
static void
shut_down(struct srv *s, struct MHD_Daemon *d)
{
	double	t0 = util_now();
	int	fd;

	pthread_mutex_lock(&s->mu);
	atomic_store(&s->shutting, 1);
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	if ((fd = MHD_quiesce_daemon(d)) >= 0)
		close(fd);
	for (;;) {
		pthread_mutex_lock(&s->mu);
		fd = s->admitted;
		pthread_mutex_unlock(&s->mu);
		if (fd == 0 || util_now() - t0 > SERVE_DRAIN_SEC)
			break;
		usleep(20000);
	}
	MHD_stop_daemon(d);
}

static int
serve_run(struct srv *s, struct serve_opts *o)
{
	struct MHD_Daemon	*d;
	sigset_t		 set;
	char			*cause = NULL;
	unsigned		 port;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (client_start(&s->cl) != 0) {
		fprintf(stderr, _("yangtuo serve: cannot start the engine: "
		    "%s\n"), strerror(errno));
		return 1;
	}
	if (client_load_wait(&s->cl, &o->load, &cause) != 0) {
		fprintf(stderr, "yangtuo serve: %s\n", cause);
		free(cause);
		client_stop(&s->cl);
		return 1;
	}
	s->n_ctx = s->cl.model.n_ctx;
	if ((d = listen_on(s, o, &port)) == NULL) {
		client_stop(&s->cl);
		return 1;
	}
	fprintf(stderr, _("yangtuo serve: %s (context %u) on "
	    "http://%s%s%s:%u/v1\n"), s->model_id, s->n_ctx,
	    strchr(o->host, ':') != NULL ? "[" : "", o->host,
	    strchr(o->host, ':') != NULL ? "]" : "", port);
	fflush(stderr);
	wait_signal(&set);
	shut_down(s, d);
	client_stop(&s->cl);
	return 0;
}

int
serve_main(int argc, char **argv)
{
	struct serve_opts	 o;
	struct srv		 s;
	struct cfg		 cfg;
	char			*demo = NULL;
	int			 r;

	memset(&o, 0, sizeof o);
	memset(&s, 0, sizeof s);
	o.host = "127.0.0.1";
	o.port = "8080";
	o.queue = 8;
	if (serve_config(&cfg, &s, &o) != 0) {
		cfg_free(&cfg);
		return 78;
	}
	if ((r = parse_serve_opts(&o, argc, argv)) >= 0)
		goto out;
	r = 1;
	if (o.key_env != NULL && ((s.key = getenv(o.key_env)) == NULL ||
	    *s.key == '\0')) {
		fprintf(stderr, _("yangtuo serve: the environment variable "
		    "%s (--api-key-env) is not set\n"), o.key_env);
		goto out;
	}
	if (o.model == NULL && (o.model = demo = datadir_find(
	    "stories260K.gguf", "data/stories260K.gguf")) == NULL) {
		fprintf(stderr, _("yangtuo serve: no model: give -m FILE\n"));
		goto out;
	}
	s.queue_max = (unsigned)o.queue;
	s.model_id = model_id(o.model);
	pthread_mutex_init(&s.mu, NULL);
	pthread_cond_init(&s.cv, NULL);
	o.load.version = PROTO_VERSION;
	o.load.path = (char *)o.model;
	o.load.template_name = (char *)(o.tmpl != NULL ? o.tmpl : "auto");
	r = serve_run(&s, &o);
	pthread_mutex_destroy(&s.mu);
	pthread_cond_destroy(&s.cv);
	free(s.model_id);
out:
	free(demo);
	cfg_free(&cfg);
	log_close();
	return r;
}
