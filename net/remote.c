/*
 * The remote worker (remote.h): proto.h requests in, proto.h events out,
 * like engine/engine.c, with an OpenAI-compatible server doing the work.
 * A chat becomes one streamed POST to BASE/chat/completions on a curl
 * multi handle that also watches the request pipe, so a cancel closes
 * the connection at once.  Answers are untrusted: sizes are bounded,
 * error texts lose their control characters, text reaches the front
 * ends as TOKEN events, which they sanitize like the engine's.  The key
 * lives in this worker only: never logged, never sent in an event.
 */
#include "config.h"

#include "remote.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "common/log.h"
#include "common/proto.h"
#include "common/util.h"
#include "sse.h"

#define RM_MAX_EVENT	(1u << 20)	/* one event's data */
#define RM_MAX_STREAM	(64u << 20)	/* one reply's bytes */
#define RM_MAX_BODY	(4u << 20)	/* a non-streamed answer */
#define RM_MAX_ERRTEXT	300
#define RM_RETRIES	3
#define RM_MAX_RETRY_SEC 30		/* the longest Retry-After obeyed */
#define RM_POLL_MS	20
#define RM_MSG_BYTES	16		/* a message's markup, in bytes */

struct remote {
	int			 fd_req;
	int			 fd_ev;
	pthread_t		 thread;
	atomic_int		 cancel;
	int			 quit;
	char			*key;
	char			*key_env;
	char			*want_model;
	int			 insecure;
	char			*base;
	char			*model;
	uint32_t		 n_ctx;
	double			 tok_per_byte;	/* the server's, measured; 0 */
	struct proto_params	 params;
};

/* A conversation as received; keep[] marks what is sent. */
struct rm_chat {
	uint32_t	  n;
	uint32_t	 *role;
	char		**text;
	size_t		 *len;
	char		 *keep;
	size_t		  bytes;	/* of what is sent, overhead included */
};

/* A streamed reply under way. */
struct xfer {
	struct remote		*r;
	CURL			*h;
	struct sse		 sse;
	long			 status;
	long			 retry_ms;	/* Retry-After; -1: none */
	int			 whole;		/* a JSON answer, not a stream */
	char			*body;		/* a non-2xx answer */
	size_t			 blen;
	size_t			 total;
	int			 done;		/* data: [DONE] */
	const char		*finish;
	char			*error;		/* the server's, or ours */
	struct proto_done	 st;
	int			 usage;
	double			 t0;
	double			 t_first;
};

static pthread_once_t	curl_once = PTHREAD_ONCE_INIT;

static void
curl_start(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

int
remote_is_url(const char *s)
{
	return s != NULL && (strncmp(s, "http://", 7) == 0 ||
	    strncmp(s, "https://", 8) == 0);
}

/* A copy of untrusted text fit for a message: bounded, no controls. */
static char *
clean(const char *s, size_t n)
{
	char	*o;
	size_t	 i;

	if (n > RM_MAX_ERRTEXT)
		n = RM_MAX_ERRTEXT;
	if ((o = malloc(n + 1)) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		o[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? ' ' : s[i];
	o[n] = '\0';
	return o;
}

static void
send_error(struct remote *r, uint32_t code, const char *detail)
{
	struct proto_buf	b;

	proto_buf_init(&b);
	proto_put_u32(&b, code);
	proto_put_str(&b, detail);
	proto_send_buf(r->fd_ev, PROTO_EV_ERROR, &b);
	proto_buf_free(&b);
}

static void
send_errorf(struct remote *r, uint32_t code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void
send_errorf(struct remote *r, uint32_t code, const char *fmt, ...)
{
	va_list	 ap;
	char	*s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	send_error(r, code, s != NULL ? s : "out of memory");
	free(s);
}

/* Headers of every request; the key only here. */
static struct curl_slist *
headers(struct remote *r, int json)
{
	struct curl_slist	*h = NULL;
	char			*auth;

	if (json)
		h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, "Accept: application/json, "
	    "text/event-stream");
	if (r->key != NULL && asprintf(&auth, "Authorization: Bearer %s",
	    r->key) >= 0) {
		h = curl_slist_append(h, auth);
		explicit_bzero(auth, strlen(auth));
		free(auth);
	}
	return h;
}

static void
setup(struct remote *r, CURL *h, const char *url, char *errbuf)
{
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, 3L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, r->insecure ? 0L : 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, r->insecure ? 0L : 2L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, PACKAGE_NAME "/"
	    PACKAGE_VERSION);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	errbuf[0] = '\0';
}

struct sink {
	char	*p;
	size_t	 len;
	int	 over;
};

static size_t
sink_write(char *p, size_t sz, size_t n, void *arg)
{
	struct sink	*s = arg;
	char		*q;

	n *= sz;
	if (n > RM_MAX_BODY - s->len) {
		s->over = 1;
		return 0;
	}
	if ((q = realloc(s->p, s->len + n + 1)) == NULL)
		return 0;
	s->p = q;
	memcpy(s->p + s->len, p, n);
	s->len += n;
	s->p[s->len] = '\0';
	return n;
}

/* The message of an error answer {"error": {"message": ...}} or
 * {"error": "..."} or {"detail": ...}; NULL if none. */
static char *
error_message(const char *body, size_t len)
{
	json_t		*j, *e;
	const char	*m = NULL;
	char		*s;

	if ((j = json_loadb(body, len, 0, NULL)) == NULL)
		return NULL;
	e = json_object_get(j, "error");
	if (json_is_string(e))
		m = json_string_value(e);
	else if (json_is_object(e))
		m = json_string_value(json_object_get(e, "message"));
	if (m == NULL)
		m = json_string_value(json_object_get(j, "detail"));
	s = m != NULL ? clean(m, strlen(m)) : NULL;
	json_decref(j);
	return s;
}

/* Why an HTTP status failed, as a sentence; caller frees. */
static char *
status_text(struct remote *r, long status, const char *body, size_t len)
{
	char		*msg = body != NULL ? error_message(body, len) : NULL;
	char		*s = NULL;
	const char	*hint = "";

	if (status == 401 || status == 403)
		hint = r->key_env != NULL ? " (check the key in the "
		    "environment variable given by --api-key-env)" :
		    " (the server wants a key: --api-key-env NAME)";
	else if (status == 404)
		hint = " (check the URL; it usually ends in /v1)";
	else if (status == 429)
		hint = " (too many requests; retried)";
	if (asprintf(&s, "the server answered HTTP %ld%s%s%s", status,
	    msg != NULL ? ": " : "", msg != NULL ? msg : "", hint) < 0)
		s = NULL;
	free(msg);
	return s;
}

/* GET a small JSON answer: the parsed object, or NULL with *cause. */
static json_t *
get_json(struct remote *r, const char *url, char **cause)
{
	struct sink		 s = { NULL, 0, 0 };
	struct curl_slist	*h = headers(r, 0);
	char			 errbuf[CURL_ERROR_SIZE];
	CURL			*c;
	CURLcode		 rc;
	long			 status = 0;
	json_t			*j = NULL;

	if ((c = curl_easy_init()) == NULL) {
		*cause = strdup("cannot start libcurl");
		curl_slist_free_all(h);
		return NULL;
	}
	setup(r, c, url, errbuf);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (rc != CURLE_OK) {
		if (asprintf(cause, "%s: %s", url, s.over ? "the answer is "
		    "too large" : errbuf[0] != '\0' ? errbuf :
		    curl_easy_strerror(rc)) < 0)
			*cause = NULL;
	} else if (status < 200 || status >= 300)
		*cause = status_text(r, status, s.p, s.len);
	else if ((j = json_loadb(s.p != NULL ? s.p : "", s.len, 0, NULL)) ==
	    NULL || !json_is_object(j)) {
		json_decref(j);
		j = NULL;
		if (asprintf(cause, "%s: the answer is not a JSON object",
		    url) < 0)
			*cause = NULL;
	}
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	free(s.p);
	return j;
}

/* The models a server lists. */
static json_t *
models(struct remote *r, const char *base, char **cause)
{
	json_t	*j, *d;
	char	*url;

	if (asprintf(&url, "%s/models", base) < 0)
		return NULL;
	j = get_json(r, url, cause);
	free(url);
	if (j == NULL)
		return NULL;
	d = json_object_get(j, "data");
	if (!json_is_array(d)) {
		*cause = strdup("the server's model list has no 'data'");
		json_decref(j);
		return NULL;
	}
	json_incref(d);
	json_decref(j);
	return d;
}

/* llama-server says its context at /props (beside /v1); 0 if not. */
static uint32_t
props_n_ctx(struct remote *r)
{
	json_t		*j;
	char		*url, *cause = NULL;
	size_t		 n = strlen(r->base);
	json_int_t	 v = 0;

	if (n < 3 || strcmp(r->base + n - 3, "/v1") != 0)
		return 0;
	if (asprintf(&url, "%.*s/props", (int)(n - 3), r->base) < 0)
		return 0;
	if ((j = get_json(r, url, &cause)) != NULL) {
		v = json_integer_value(json_object_get(json_object_get(j,
		    "default_generation_settings"), "n_ctx"));
		json_decref(j);
	}
	free(cause);
	free(url);
	return v > 0 && v < (json_int_t)1 << 30 ? (uint32_t)v : 0;
}

static void
send_ready(struct remote *r)
{
	struct proto_ready	rd;
	struct proto_buf	b;

	memset(&rd, 0, sizeof rd);
	rd.name = r->model;
	rd.path = r->base;
	rd.n_ctx = r->n_ctx;
	rd.n_ctx_train = r->n_ctx;
	rd.template_name = (char *)"remote";
	rd.simd = (char *)"remote";
	proto_buf_init(&b);
	proto_ready_put(&b, &rd);
	proto_send_buf(r->fd_ev, PROTO_EV_READY, &b);
	proto_buf_free(&b);
}

/* Load: the server's model list; the model asked for or its first. */
static void
do_load(struct remote *r, struct proto_rd *rd)
{
	struct proto_load	 l;
	json_t			*d, *m, *len;
	char			*cause = NULL;
	const char		*id;
	size_t			 i, n;

	if (proto_load_get(rd, &l) != 0) {
		send_error(r, PROTO_EPROTO, "malformed load request");
		return;
	}
	free(r->base);
	free(r->model);
	r->model = NULL;
	r->base = strdup(l.path);
	n = strlen(r->base);
	while (n > 0 && r->base[n - 1] == '/')
		r->base[--n] = '\0';
	if (r->key_env != NULL && r->key == NULL) {
		send_errorf(r, PROTO_EBADMODEL, "%s: the environment variable "
		    "%s (--api-key-env) is not set", r->base, r->key_env);
		goto out;
	}
	if ((d = models(r, r->base, &cause)) == NULL) {
		send_errorf(r, PROTO_EBADMODEL, "%s", cause != NULL ? cause :
		    "cannot list the server's models");
		goto out;
	}
	json_array_foreach(d, i, m) {
		id = json_string_value(json_object_get(m, "id"));
		if (id == NULL || (r->want_model != NULL &&
		    strcmp(id, r->want_model) != 0))
			continue;
		r->model = clean(id, strlen(id));
		len = json_object_get(m, "max_model_len");
		if (json_is_integer(len) && json_integer_value(len) > 0 &&
		    json_integer_value(len) < (json_int_t)1 << 30)
			r->n_ctx = (uint32_t)json_integer_value(len);
		break;
	}
	json_decref(d);
	if (r->model == NULL) {
		send_errorf(r, PROTO_EBADMODEL, "%s: the server lists %s",
		    r->base, r->want_model != NULL ? "no such model" :
		    "no model");
		goto out;
	}
	if (r->n_ctx == 0)
		r->n_ctx = props_n_ctx(r);
	if (l.n_ctx > 0 && (r->n_ctx == 0 || l.n_ctx < r->n_ctx))
		r->n_ctx = l.n_ctx;
	send_ready(r);
out:
	free(cause);
	proto_load_free(&l);
}

static void
do_params(struct remote *r, struct proto_rd *rd)
{
	struct proto_params	p;

	if (proto_params_get(rd, &p) != 0)
		send_error(r, PROTO_EPROTO, "malformed parameters");
	else
		r->params = p;
}

static void
rm_chat_free(struct rm_chat *c)
{
	uint32_t	i;

	for (i = 0; c->text != NULL && i < c->n; i++)
		free(c->text[i]);
	free(c->text);
	free(c->role);
	free(c->len);
	free(c->keep);
	memset(c, 0, sizeof *c);
}

/* Read a PROTO_REQ_CHAT conversation: 0, or -1 if malformed. */
static int
rm_chat_read(struct proto_rd *rd, struct rm_chat *c)
{
	uint32_t	n, i;

	memset(c, 0, sizeof *c);
	n = proto_get_u32(rd);
	if (rd->err || n == 0 || n > 100000)
		return -1;
	c->role = calloc(n, sizeof *c->role);
	c->text = calloc(n, sizeof *c->text);
	c->len = calloc(n, sizeof *c->len);
	c->keep = malloc(n);
	if (c->role == NULL || c->text == NULL || c->len == NULL ||
	    c->keep == NULL)
		return -1;
	memset(c->keep, 1, n);
	for (i = 0; i < n; i++) {
		c->role[i] = proto_get_u32(rd);
		if (rd->err || c->role[i] > PROTO_ROLE_ASSISTANT ||
		    (c->text[i] = proto_get_str(rd, &c->len[i])) == NULL)
			return -1;
		c->n = i + 1;
	}
	return 0;
}

static size_t
rm_chat_bytes(const struct rm_chat *c)
{
	size_t		b = 0;
	uint32_t	i;

	for (i = 0; i < c->n; i++)
		if (c->keep[i])
			b += c->len[i] + RM_MSG_BYTES;
	return b;
}

/*
 * The engine's overflow policy, with the server's context and its
 * measured tokens per byte: drop whole turns after the system prompt,
 * oldest first, until the estimate leaves room for the reply (3/4 of
 * the room once turns must go, so the next turns fit again).  Before a
 * first answer says how the server counts, nothing is dropped.
 */
static void
rm_chat_fit(struct remote *r, struct rm_chat *c)
{
	uint32_t	res, limit, i, first;
	int		dropping = 0;

	c->bytes = rm_chat_bytes(c);
	if (r->n_ctx == 0 || r->tok_per_byte <= 0)
		return;
	res = r->params.max_tokens > 0 ? (uint32_t)r->params.max_tokens : 512;
	if (res > r->n_ctx / 2)
		res = r->n_ctx / 2;
	limit = r->n_ctx - res;
	first = c->role[0] == PROTO_ROLE_SYSTEM ? 1 : 0;
	while (c->bytes * r->tok_per_byte > (dropping ? limit / 4 * 3 :
	    limit)) {
		for (i = first; i < c->n && !c->keep[i]; i++)
			;
		if (i + 1 >= c->n)
			break;
		dropping = 1;
		c->keep[i++] = 0;
		while (i + 1 < c->n && c->role[i] != PROTO_ROLE_USER)
			c->keep[i++] = 0;
		c->bytes = rm_chat_bytes(c);
	}
}

/* The request body of a chat: what is kept of the conversation and the
 * parameters. */
static char *
chat_body(struct remote *r, const struct rm_chat *c)
{
	static const char	*roles[] = { "system", "user", "assistant" };
	json_t			*j, *msgs;
	uint32_t		 i;
	char			*s;

	msgs = json_array();
	for (i = 0; i < c->n; i++)
		if (c->keep[i])
			json_array_append_new(msgs, json_pack("{s:s, s:s%}",
			    "role", roles[c->role[i]], "content", c->text[i],
			    c->len[i]));
	j = json_pack("{s:s, s:o, s:b, s:{s:b}, s:f, s:f, s:i, s:f, s:f, "
	    "s:I}", "model", r->model, "messages", msgs, "stream", 1,
	    "stream_options", "include_usage", 1,
	    "temperature", (double)r->params.temperature,
	    "top_p", (double)r->params.top_p, "top_k", r->params.top_k,
	    "min_p", (double)r->params.min_p,
	    "repeat_penalty", (double)r->params.repeat_penalty,
	    "seed", (json_int_t)r->params.seed);
	if (j == NULL)
		return NULL;
	if (r->params.max_tokens > 0)
		json_object_set_new(j, "max_tokens",
		    json_integer(r->params.max_tokens));
	if (r->params.n_stop > 0) {
		json_t	*st = json_array();

		for (i = 0; i < r->params.n_stop && i < PROTO_MAX_STOP; i++)
			json_array_append_new(st, json_stringn(
			    r->params.stop[i], strnlen(r->params.stop[i],
			    PROTO_STOP_MAX)));
		json_object_set_new(j, "stop", st);
	}
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return s;
}

/* One event of the stream. */
static int
on_event(void *arg, const char *data, size_t len)
{
	struct xfer	*x = arg;
	json_t		*j, *c, *u, *v;
	const char	*t;
	size_t		 n;

	if (len == 6 && memcmp(data, "[DONE]", 6) == 0) {
		x->done = 1;
		return 0;
	}
	if ((j = json_loadb(data, len, 0, NULL)) == NULL ||
	    !json_is_object(j)) {
		json_decref(j);
		x->error = strdup("malformed data in the server's stream");
		return 1;
	}
	if ((v = json_object_get(j, "error")) != NULL) {
		x->error = error_message(data, len);
		if (x->error == NULL)
			x->error = strdup("the server reported an error");
		json_decref(j);
		return 1;
	}
	c = json_array_get(json_object_get(j, "choices"), 0);
	v = json_object_get(json_object_get(c, "delta"), "content");
	if (!json_is_string(v))
		v = json_object_get(c, "text");
	if (json_is_string(v) && (n = json_string_length(v)) > 0) {
		t = json_string_value(v);
		if (x->t_first == 0)
			x->t_first = util_now();
		proto_send(x->r->fd_ev, PROTO_EV_TOKEN, t, n);
		x->st.generated++;
	}
	if ((t = json_string_value(json_object_get(c, "finish_reason")))
	    != NULL)
		x->finish = strcmp(t, "length") == 0 ? "length" : "stop";
	if (json_is_object(u = json_object_get(j, "usage"))) {
		x->usage = 1;
		x->st.prompt = (uint32_t)json_integer_value(
		    json_object_get(u, "prompt_tokens"));
		x->st.generated = (uint32_t)json_integer_value(
		    json_object_get(u, "completion_tokens"));
		x->st.cached = (uint32_t)json_integer_value(json_object_get(
		    json_object_get(u, "prompt_tokens_details"),
		    "cached_tokens"));
		if (x->st.cached > x->st.prompt)
			x->st.cached = x->st.prompt;
		x->st.evaluated = x->st.prompt - x->st.cached;
	}
	json_decref(j);
	return 0;
}

/* A whole chat.completion object: its message is one piece of text. */
static void
whole_answer(struct xfer *x)
{
	json_t	*j, *c, *m;

	if (x->body == NULL || (j = json_loadb(x->body, x->blen, 0, NULL)) ==
	    NULL) {
		x->error = strdup("malformed JSON answer from the server");
		return;
	}
	c = json_array_get(json_object_get(j, "choices"), 0);
	m = json_object_get(json_object_get(c, "message"), "content");
	if (json_is_string(m) && json_is_object(c)) {
		/* on_event() takes it as a stream's last chunk. */
		json_object_set(c, "delta", json_object_get(c, "message"));
		free(x->body);
		x->body = json_dumps(j, JSON_COMPACT);
		x->blen = x->body != NULL ? strlen(x->body) : 0;
		if (x->body != NULL && on_event(x, x->body, x->blen) == 0)
			x->done = 1;
	} else if (json_object_get(j, "error") != NULL)
		on_event(x, x->body, x->blen);
	else
		x->error = strdup("the server's answer has no message");
	json_decref(j);
}

static size_t
on_write(char *p, size_t sz, size_t n, void *arg)
{
	struct xfer	*x = arg;
	char		*ct = NULL;

	n *= sz;
	if (x->status == 0) {
		curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &x->status);
		/* A server that ignores "stream": one JSON answer. */
		if (curl_easy_getinfo(x->h, CURLINFO_CONTENT_TYPE, &ct) ==
		    CURLE_OK && ct != NULL && strncasecmp(ct,
		    "application/json", 16) == 0)
			x->whole = 1;
	}
	if (n > RM_MAX_STREAM - x->total) {
		x->error = strdup("the server's answer is too large");
		return 0;
	}
	x->total += n;
	if (x->status < 200 || x->status >= 300 || x->whole) {
		if (x->blen + n <= (x->whole ? RM_MAX_BODY : 65536)) {
			char	*b = realloc(x->body, x->blen + n + 1);

			if (b == NULL)
				return 0;
			x->body = b;
			memcpy(x->body + x->blen, p, n);
			x->blen += n;
			x->body[x->blen] = '\0';
		}
		return n;
	}
	switch (sse_feed(&x->sse, p, n, on_event, x)) {
	case 0:
		return n;
	case -1:
		x->error = strdup("an event of the server's stream is too "
		    "large");
		return 0;
	default:
		return 0;
	}
}

/* Requests that arrive during a reply: 1 to stop it. */
static int
poll_requests(struct remote *r)
{
	struct pollfd		pfd = { r->fd_req, POLLIN, 0 };
	struct proto_msg	m;
	struct proto_rd		rd;
	int			stop = atomic_load(&r->cancel);

	while (!stop && poll(&pfd, 1, 0) > 0 &&
	    (pfd.revents & (POLLIN | POLLHUP))) {
		if (proto_recv(r->fd_req, &m) != 0) {
			r->quit = 1;
			return 1;
		}
		proto_rd_init(&rd, m.payload, m.len);
		if (m.type == PROTO_REQ_PARAMS)
			do_params(r, &rd);
		else if (m.type == PROTO_REQ_CANCEL) {
			atomic_store(&r->cancel, 0);
			stop = 1;
		} else if (m.type == PROTO_REQ_QUIT)
			r->quit = stop = 1;
		else
			send_error(r, PROTO_EPROTO, "a request while a reply "
			    "is under way");
		proto_msg_free(&m);
	}
	return stop;
}

/* One POST; 1 if cancelled, else 0 (x says how it went), -1 on a
 * transport error (*cause). */
static int
post(struct remote *r, const char *body, struct xfer *x, char **cause)
{
	struct curl_slist	*h = headers(r, 1);
	struct curl_waitfd	 w;
	char			 errbuf[CURL_ERROR_SIZE], *url = NULL;
	CURLM			*m;
	CURLMsg			*msg;
	CURLcode		 rc = CURLE_OK;
	curl_off_t		 ra = 0;
	int			 running = 1, left, cancelled = 0;

	if (asprintf(&url, "%s/chat/completions", r->base) < 0 ||
	    (x->h = curl_easy_init()) == NULL ||
	    (m = curl_multi_init()) == NULL) {
		if (x->h != NULL)
			curl_easy_cleanup(x->h);
		free(url);
		curl_slist_free_all(h);
		*cause = strdup("cannot start libcurl");
		return -1;
	}
	setup(r, x->h, url, errbuf);
	curl_easy_setopt(x->h, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(x->h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(x->h, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(x->h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(x->h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(x->h, CURLOPT_LOW_SPEED_TIME, 600L);
	curl_multi_add_handle(m, x->h);
	while (running) {
		curl_multi_perform(m, &running);
		if (!running)
			break;
		w.fd = r->fd_req;
		w.events = CURL_WAIT_POLLIN;
		w.revents = 0;
		curl_multi_poll(m, &w, 1, RM_POLL_MS, NULL);
		if (poll_requests(r)) {
			cancelled = 1;
			break;
		}
	}
	while ((msg = curl_multi_info_read(m, &left)) != NULL)
		if (msg->msg == CURLMSG_DONE)
			rc = msg->data.result;
	if (x->status == 0)
		curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &x->status);
	x->retry_ms = -1;
	if (curl_easy_getinfo(x->h, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK &&
	    ra > 0)
		x->retry_ms = ra < RM_MAX_RETRY_SEC ? (long)ra * 1000 :
		    RM_MAX_RETRY_SEC * 1000;
	curl_multi_remove_handle(m, x->h);
	curl_easy_cleanup(x->h);
	curl_multi_cleanup(m);
	curl_slist_free_all(h);
	if (!cancelled && rc != CURLE_OK && x->error == NULL) {
		if (asprintf(cause, "%s: %s", url, errbuf[0] != '\0' ? errbuf :
		    curl_easy_strerror(rc)) < 0)
			*cause = NULL;
		free(url);
		return -1;
	}
	free(url);
	return cancelled;
}

/* Wait ms milliseconds unless a cancel comes: 1 if cancelled. */
static int
backoff(struct remote *r, int ms)
{
	double	end = util_now() + ms / 1000.0;

	while (util_now() < end) {
		if (poll_requests(r))
			return 1;
		usleep(RM_POLL_MS * 1000);
	}
	return 0;
}

static void
send_end(struct remote *r, struct xfer *x, const struct rm_chat *c,
    uint32_t stop)
{
	struct proto_context	ctx;
	struct proto_buf	b;
	uint32_t		dropped[256], i;
	double			now = util_now();

	memset(&ctx, 0, sizeof ctx);
	ctx.dropped = dropped;
	/* Turns are dropped oldest first, so the first 256 say enough. */
	for (i = 0; i < c->n && ctx.n_dropped < 256; i++)
		if (!c->keep[i])
			dropped[ctx.n_dropped++] = i;
	if (r->n_ctx > 0 && (x->usage || ctx.n_dropped > 0)) {
		ctx.used = x->usage ? x->st.prompt + x->st.generated :
		    (uint32_t)(c->bytes * r->tok_per_byte);
		ctx.total = r->n_ctx;
		proto_buf_init(&b);
		proto_context_put(&b, &ctx);
		proto_send_buf(r->fd_ev, PROTO_EV_CONTEXT, &b);
		proto_buf_free(&b);
	}
	x->st.stop = stop;
	x->st.prefill_sec = (x->t_first > 0 ? x->t_first : now) - x->t0;
	x->st.decode_sec = x->t_first > 0 ? now - x->t_first : 0;
	proto_buf_init(&b);
	proto_done_put(&b, &x->st);
	proto_send_buf(r->fd_ev, PROTO_EV_DONE, &b);
	proto_buf_free(&b);
}

static void
do_chat(struct remote *r, struct proto_rd *rd)
{
	struct xfer	 x;
	struct rm_chat	 ch;
	char		*body = NULL, *cause = NULL;
	int		 try, c;

	if (r->model == NULL) {
		send_error(r, PROTO_ENOMODEL, "no server connected");
		return;
	}
	if (rm_chat_read(rd, &ch) != 0 || (rm_chat_fit(r, &ch),
	    (body = chat_body(r, &ch)) == NULL)) {
		rm_chat_free(&ch);
		send_error(r, PROTO_EPROTO, "malformed conversation");
		return;
	}
	for (try = 0;; try++) {
		memset(&x, 0, sizeof x);
		x.r = r;
		x.t0 = util_now();
		sse_init(&x.sse, RM_MAX_EVENT);
		c = post(r, body, &x, &cause);
		sse_free(&x.sse);
		if (c == 0 && (x.status == 429 || x.status == 503) &&
		    x.st.generated == 0 && try < RM_RETRIES) {
			log_debug("remote: HTTP %ld, retrying", x.status);
			free(x.body);
			if (backoff(r, x.retry_ms >= 0 ? x.retry_ms :
			    250 << try)) {
				c = 1;
				memset(&x, 0, sizeof x);
				x.t0 = util_now();
			} else
				continue;
		}
		break;
	}
	if (c == 0 && x.whole && x.status >= 200 && x.status < 300)
		whole_answer(&x);
	if (c > 0)
		send_end(r, &x, &ch, PROTO_STOP_CANCEL);
	else if (c < 0 && x.st.generated > 0)
		send_errorf(r, PROTO_EIO, "the server ended the stream before "
		    "the reply did (%s)", cause != NULL ? cause : "cut");
	else if (c < 0)
		send_errorf(r, PROTO_EIO, "%s", cause != NULL ? cause :
		    "cannot reach the server");
	else if (x.status < 200 || x.status >= 300) {
		cause = status_text(r, x.status, x.body, x.blen);
		send_error(r, PROTO_EIO, cause);
	} else if (x.error != NULL)
		send_errorf(r, PROTO_EIO, "the server: %s", x.error);
	else if (!x.done && x.finish == NULL)
		send_error(r, PROTO_EIO, "the server ended the stream "
		    "before the reply did");
	else {
		/* How the server counts, for fitting the next request. */
		if (x.usage && x.st.prompt > 0 && ch.bytes > 0)
			r->tok_per_byte = (double)x.st.prompt / ch.bytes;
		send_end(r, &x, &ch, x.finish != NULL && strcmp(x.finish,
		    "length") == 0 ? PROTO_STOP_LENGTH : PROTO_STOP_EOG);
	}
	free(x.error);
	free(x.body);
	free(cause);
	free(body);
	rm_chat_free(&ch);
}

static void
send_state_na(struct remote *r, struct proto_rd *rd)
{
	struct proto_buf	b;

	proto_buf_init(&b);
	proto_put_u32(&b, PROTO_ESTATE);
	proto_put_u32(&b, 0);
	proto_put_str(&b, "not available with a remote model");
	proto_send_buf(r->fd_ev, PROTO_EV_STATE, &b);
	proto_buf_free(&b);
}

static void *
worker_main(void *arg)
{
	struct remote		*r = arg;
	struct proto_msg	 m;
	struct proto_rd		 rd;

	while (!r->quit && proto_recv(r->fd_req, &m) == 0) {
		proto_rd_init(&rd, m.payload, m.len);
		switch (m.type) {
		case PROTO_REQ_LOAD:
			do_load(r, &rd);
			break;
		case PROTO_REQ_PARAMS:
			do_params(r, &rd);
			break;
		case PROTO_REQ_CHAT:
			do_chat(r, &rd);
			break;
		case PROTO_REQ_CANCEL:
			atomic_store(&r->cancel, 0);
			break;
		case PROTO_REQ_SAVE_STATE:
		case PROTO_REQ_LOAD_STATE:
			send_state_na(r, &rd);
			break;
		case PROTO_REQ_QUIT:
			r->quit = 1;
			break;
		default:
			send_error(r, PROTO_EPROTO, "unknown request");
			break;
		}
		proto_msg_free(&m);
	}
	return NULL;
}

static void
opts_copy(struct remote *r, const struct remote_opts *o)
{
	const char	*k;

	if (o == NULL)
		return;
	r->insecure = o->insecure;
	if (o->model != NULL)
		r->want_model = strdup(o->model);
	if (o->key_env != NULL) {
		r->key_env = strdup(o->key_env);
		if ((k = getenv(o->key_env)) != NULL && *k != '\0')
			r->key = strdup(k);
	}
}

struct remote *
remote_start(int fd_req, int fd_ev, const struct remote_opts *o)
{
	struct remote	*r;

	pthread_once(&curl_once, curl_start);
	if ((r = calloc(1, sizeof *r)) == NULL)
		return NULL;
	r->fd_req = fd_req;
	r->fd_ev = fd_ev;
	r->params.max_tokens = -1;
	r->params.temperature = 0.2f;
	r->params.top_p = 1.0f;
	r->params.repeat_penalty = 1.0f;
	atomic_init(&r->cancel, 0);
	opts_copy(r, o);
	if (pthread_create(&r->thread, NULL, worker_main, r) != 0) {
		remote_join(r);
		return NULL;
	}
	return r;
}

void
remote_cancel(struct remote *r)
{
	atomic_store(&r->cancel, 1);
}

static void
remote_free(struct remote *r)
{
	if (r->key != NULL)
		explicit_bzero(r->key, strlen(r->key));
	free(r->key);
	free(r->key_env);
	free(r->want_model);
	free(r->base);
	free(r->model);
	free(r);
}

void
remote_join(struct remote *r)
{
	if (r == NULL)
		return;
	if (r->thread)
		pthread_join(r->thread, NULL);
	remote_free(r);
}

int
remote_list_models(const char *base, const struct remote_opts *o,
    char ***ids, char **cause)
{
	struct remote	 r;
	json_t		*d, *m;
	const char	*id;
	size_t		 i;
	int		 n = 0;

	pthread_once(&curl_once, curl_start);
	memset(&r, 0, sizeof r);
	opts_copy(&r, o);
	*ids = NULL;
	if ((d = models(&r, base, cause)) == NULL) {
		n = -1;
		goto out;
	}
	if ((*ids = calloc(json_array_size(d) + 1, sizeof **ids)) == NULL) {
		json_decref(d);
		n = -1;
		goto out;
	}
	json_array_foreach(d, i, m)
		if ((id = json_string_value(json_object_get(m, "id"))) != NULL)
			(*ids)[n++] = clean(id, strlen(id));
	json_decref(d);
out:
	if (r.key != NULL)
		explicit_bzero(r.key, strlen(r.key));
	free(r.key);
	free(r.key_env);
	free(r.want_model);
	return n;
}
