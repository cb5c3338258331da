/*
 * The engine side of proto.h: a worker thread that owns the model, the
 * KV cache, the tokenizer and the sampler.  For every chat request it
 * renders the whole conversation, keeps the longest common prefix already
 * cached, fits the context by dropping whole old turns (and says which),
 * evaluates the rest in chunks and streams whole UTF-8 characters.
 */
#include "config.h"

#include "engine.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "forward.h"
#include "gotmpl.h"
#include "hf.h"
#include "kvsnap.h"
#include "lora.h"
#include "model.h"
#include "pcache.h"
#include "quant.h"
#include "sample.h"
#include "common/log.h"
#include "common/proto.h"
#include "common/stopstr.h"
#include "tmpl.h"
#include "tok.h"
#include "common/util.h"

#define WK_MAX_MSGS	100000
#define WK_MAX_STOPS	16
#define WK_MAX_MARKS	2	/* prompt-cache prefixes per request */
#define WK_MIN_MARK	8	/* and the fewest tokens one holds */
#define WK_MARK_SLACK	8	/* tokens it may end before its message */

struct engine {
	int			 fd_req;
	int			 fd_ev;
	pthread_t		 thread;
	atomic_int		 cancel;
	int			 quit;

	struct model		*model;
	struct fwd		*fwd;
	struct sampler		*smp;
	struct sample_params	 params;
	struct stopstr		 stop_str;	/* stop strings, none matched */
	int32_t			 max_tokens;	/* -1: until the context */
	uint32_t		 reserve;	/* reply reserve; 0: automatic */
	int			 tmpl;
	struct gotmpl		*go;		/* tmpl TMPL_GO: the template */
	char			*go_err;	/* its last render error */
	int32_t			 stops[WK_MAX_STOPS];
	size_t			 n_stops;
	float			*logits;
	int32_t			*cached;	/* tokens whose K/V are cached */
	size_t			 n_cached;
	char			*pc_dir;	/* prompt cache; NULL: off */
	uint64_t		 pc_max;	/* bytes it may take */
	uint8_t			 pc_key[32];	/* pcache_key() once pc_keyed */
	int			 pc_keyed;
	uint32_t		 pc_batch;	/* the batch size asked for */
};

/* Where a prompt may be cut for the prompt cache: after the system
 * message and after each long user message, ascending. */
struct wk_marks {
	size_t	at[WK_MAX_MARKS];
	size_t	n;
};

/* A conversation as received. */
struct wk_chat {
	struct tmpl_msg	*msgs;
	char		**texts;
	size_t		 n;
};

static void
send_error(struct engine *e, uint32_t code, const char *fmt, ...)
{
	struct proto_buf	b;
	char			*detail = NULL;
	va_list			 ap;

	va_start(ap, fmt);
	if (vasprintf(&detail, fmt, ap) < 0)
		detail = NULL;
	va_end(ap);
	proto_buf_init(&b);
	proto_put_u32(&b, code);
	proto_put_str(&b, detail);
	proto_send_buf(e->fd_ev, PROTO_EV_ERROR, &b);
	proto_buf_free(&b);
	free(detail);
}

static void
unload(struct engine *e)
{
	fwd_free(e->fwd);
	sampler_free(e->smp);
	model_free(e->model);
	free(e->logits);
	free(e->cached);
	gotmpl_free(e->go);
	free(e->go_err);
	free(e->pc_dir);
	e->pc_dir = NULL;
	e->pc_keyed = 0;
	e->go = NULL;
	e->go_err = NULL;
	e->fwd = NULL;
	e->smp = NULL;
	e->model = NULL;
	e->logits = NULL;
	e->cached = NULL;
	e->n_cached = 0;
}

static void
send_ready(struct engine *e)
{
	const struct model	*m = e->model;
	struct proto_ready	 r;
	struct proto_buf	 b;
	size_t			 i;

	memset(&r, 0, sizeof r);
	r.name = m->name;
	r.path = m->path;
	r.n_ctx = fwd_n_ctx(e->fwd);
	r.n_ctx_train = m->hp.n_ctx_train;
	r.n_vocab = m->hp.n_vocab;
	r.template_name = (char *)tmpl_name(e->tmpl);
	r.n_layer = m->hp.n_layer;
	r.n_embd = m->hp.n_embd;
	r.weight_bytes = model_weight_bytes(m);
	r.threads = (uint32_t)fwd_n_threads(e->fwd);
	r.simd = (char *)qt_path_name();
	r.n_lora = (uint32_t)m->n_lora;
	for (i = 0; i < m->n_lora && i < PROTO_MAX_LORA; i++) {
		r.lora[i].path = m->lora[i]->path;
		r.lora[i].scale = m->lora[i]->scale;
		r.lora[i].alpha = m->lora[i]->alpha;
		r.lora[i].rank = m->lora[i]->rank;
		r.lora[i].n_tensors = (uint32_t)lora_n_tensors(m->lora[i]);
	}
	r.lora_merged = (uint32_t)m->lora_merged;
	proto_buf_init(&b);
	proto_ready_put(&b, &r);
	proto_send_buf(e->fd_ev, PROTO_EV_READY, &b);
	proto_buf_free(&b);
}

/* The template the load asks for: a name, "auto", or "go" with the text
 * of an ollama template.  0, or -1 after an error was sent (and the
 * model unloaded). */
static int
load_template(struct engine *e, const struct proto_load *l)
{
	char	*cause = NULL;
	int	 kind, stops;

	kind = stops = tmpl_detect(e->model->gguf, e->model->tok);
	if (l->template_name != NULL && strcmp(l->template_name, "go") == 0) {
		e->go = gotmpl_parse(l->template_text != NULL ?
		    l->template_text : "", l->template_text != NULL ?
		    strlen(l->template_text) : 0, &cause);
		if (e->go == NULL) {
			send_error(e, cause != NULL ? PROTO_ETEMPLATE :
			    PROTO_ENOMEM, "%s", cause != NULL ? cause :
			    "out of memory");
			free(cause);
			unload(e);
			return -1;
		}
		kind = TMPL_GO;
	} else if ((kind = tmpl_by_name(l->template_name)) >= 0)
		stops = kind;
	else if (kind == -2 && hf_is_folder(l->path) &&
	    !tmpl_known(e->model->gguf)) {
		send_error(e, PROTO_EBADMODEL, "%s: the chat_template of "
		    "tokenizer_config.json is not one yangtuo recognises "
		    "(llama3, llama2, chatml, mistral): choose one with "
		    "--template NAME", l->path);
		unload(e);
		return -1;
	} else
		kind = stops;
	e->tmpl = kind;
	/* An ollama template ends turns with the markup of the model's own
	 * template; PARAMETER stop adds stop strings. */
	e->n_stops = tmpl_stops(stops, e->model->tok, e->stops, WK_MAX_STOPS);
	return 0;
}

/* Render the selected messages under the loaded template; 0 or -1 (with
 * e->go_err set when an ollama template failed). */
static int
render(struct engine *e, const struct tmpl_msg *sel, size_t n,
    int32_t **ids, size_t *n_ids, size_t *cap)
{
	if (e->tmpl != TMPL_GO)
		return tmpl_render(e->tmpl, e->model->tok, sel, n, 1, ids,
		    n_ids, cap, NULL);
	free(e->go_err);
	e->go_err = NULL;
	return tmpl_render_go(e->go, e->model->tok, sel, n, ids, n_ids, cap,
	    &e->go_err);
}

/* The adapters of a load request, merged if it asks. */
static int
load_lora(struct model *m, const struct proto_load *l, char **cause)
{
	uint32_t	i;

	for (i = 0; i < l->n_lora; i++)
		if (l->lora[i].path == NULL || lora_attach(m, l->lora[i].path,
		    l->lora[i].scale, cause) != 0)
			return -1;
	if (l->lora_merge && l->n_lora > 0 && lora_merge(m, cause) != 0)
		return -1;
	return 0;
}

static void
do_load(struct engine *e, struct proto_rd *r)
{
	struct proto_load	 l;
	char			*cause = NULL;
	uint32_t		 n_ctx;

	if (proto_load_get(r, &l) != 0) {
		send_error(e, PROTO_EPROTO, "malformed load request");
		return;
	}
	if (l.version != PROTO_VERSION) {
		send_error(e, PROTO_EVERSION, "protocol %u, engine %u",
		    l.version, PROTO_VERSION);
		goto out;
	}
	unload(e);
	/* A front end that must stay responsive (the full-screen chat on
	 * two cores) asks the engine to yield to it; the compute threads
	 * are created below and inherit this thread's priority. */
	if (l.nice > 0 && l.nice <= 19)
		setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid),
		    getpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid)) +
		    (int)l.nice);
	if ((e->model = model_load(l.path, &cause)) == NULL) {
		send_error(e, PROTO_EBADMODEL, "%s: %s", l.path,
		    cause != NULL ? cause : "cannot load");
		goto out;
	}
	if (e->model->tok == NULL) {
		send_error(e, PROTO_EBADMODEL, "%s: the file has no "
		    "vocabulary", l.path);
		unload(e);
		goto out;
	}
	if (load_lora(e->model, &l, &cause) != 0) {
		send_error(e, PROTO_EBADMODEL, "%s: %s", l.path,
		    cause != NULL ? cause : "out of memory");
		unload(e);
		goto out;
	}
	n_ctx = l.n_ctx;
	if (n_ctx == 0 || n_ctx > e->model->hp.n_ctx_train)
		n_ctx = e->model->hp.n_ctx_train;
	e->fwd = fwd_new(e->model, n_ctx, (int)l.threads, l.n_batch, &cause);
	e->smp = sampler_new(&e->params, (int32_t)e->model->hp.n_vocab);
	e->logits = malloc(e->model->hp.n_vocab * sizeof *e->logits);
	e->cached = malloc(n_ctx * sizeof *e->cached);
	if (e->fwd == NULL || e->smp == NULL || e->logits == NULL ||
	    e->cached == NULL) {
		send_error(e, PROTO_ENOMEM, "%s", cause != NULL ? cause :
		    "out of memory");
		unload(e);
		goto out;
	}
	fwd_set_cancel(e->fwd, &e->cancel);
	if (load_template(e, &l) != 0)
		goto out;
	if (l.prompt_cache != NULL && l.prompt_cache[0] != '\0') {
		e->pc_dir = strdup(l.prompt_cache);
		e->pc_max = l.prompt_cache_max;
		e->pc_batch = l.n_batch;
	}
	send_ready(e);
out:
	free(cause);
	proto_load_free(&l);
}

static void
do_params(struct engine *e, struct proto_rd *r)
{
	struct proto_params	p;

	if (proto_params_get(r, &p) != 0) {
		send_error(e, PROTO_EPROTO, "malformed parameters");
		return;
	}
	e->params.temperature = p.temperature;
	e->params.top_k = p.top_k;
	e->params.top_p = p.top_p;
	e->params.min_p = p.min_p;
	e->params.repeat_penalty = p.repeat_penalty;
	e->params.repeat_last_n = p.repeat_last_n;
	e->params.seed = p.seed;
	e->max_tokens = p.max_tokens;
	e->reserve = p.reserve;
	stopstr_init(&e->stop_str, &p);
	if (e->smp != NULL)
		sampler_set_params(e->smp, &e->params);
}

static void
chat_free(struct wk_chat *c)
{
	size_t	i;

	for (i = 0; i < c->n; i++)
		free(c->texts[i]);
	free(c->texts);
	free(c->msgs);
}

static int
chat_read(struct proto_rd *r, struct wk_chat *c, int tmpl)
{
	static const char	*roles[] = { "system", "user", "assistant" };
	uint32_t		 n, role, i;

	memset(c, 0, sizeof *c);
	n = proto_get_u32(r);
	if (r->err || n == 0 || n > WK_MAX_MSGS)
		return -1;
	c->msgs = calloc(n, sizeof *c->msgs);
	c->texts = calloc(n, sizeof *c->texts);
	if (c->msgs == NULL || c->texts == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		role = proto_get_u32(r);
		if (r->err || role > PROTO_ROLE_ASSISTANT)
			return -1;
		if ((c->texts[i] = proto_get_str(r, &c->msgs[i].len)) == NULL)
			return -1;
		/* A plain continuation has no place for a system prompt. */
		if (role == PROTO_ROLE_SYSTEM && tmpl == TMPL_NONE)
			c->msgs[i].len = 0;
		c->n = i + 1;
		c->msgs[i].role = roles[role];
		c->msgs[i].content = c->texts[i];
	}
	return 0;
}

/* The reply reserve: room kept for the answer when fitting the context. */
static uint32_t
reply_reserve(const struct engine *e)
{
	uint32_t	n_ctx = fwd_n_ctx(e->fwd), r;

	if (e->reserve != 0)
		r = e->reserve;
	else if (e->max_tokens > 0)
		r = (uint32_t)e->max_tokens;
	else
		r = 512;
	return r < n_ctx / 2 ? r : n_ctx / 2;
}

/* Whether a first user message is long enough to be kept (a document
 * pasted into a new chat). */
static int
long_text(const struct engine *e, const struct tmpl_msg *m)
{
	int32_t	*p = NULL;
	size_t	 n = 0, cap = 0;
	int	 r;

	/* A token holds at least a byte. */
	if (m->len < PCACHE_DOC_TOKENS)
		return 0;
	r = tok_encode(e->model->tok, m->content, m->len, 0, 0, &p, &n,
	    &cap) == 0 && n >= PCACHE_DOC_TOKENS;
	free(p);
	return r;
}

/*
 * The prompt-cache marks of the prompt ids[0..n_ids) of the messages
 * kept: the end of the system message and of a long first user message,
 * or as far as the conversation rendered up to it agrees with the prompt
 * (the prompt's last token but one at most).  None through an ollama
 * template.
 */
static void
find_marks(struct engine *e, const struct wk_chat *c, const char *keep,
    const int32_t *ids, size_t n_ids, struct wk_marks *mk)
{
	struct tmpl_msg	*sel;
	int32_t		*p = NULL;
	size_t		 np, cap = 0, i, n, end;
	int		 sys;

	mk->n = 0;
	if (e->tmpl == TMPL_GO || n_ids < 2 ||
	    (sel = calloc(c->n, sizeof *sel)) == NULL)
		return;
	for (i = n = 0; i < c->n; i++)
		if (keep[i])
			sel[n++] = c->msgs[i];
	sys = strcmp(sel[0].role, "system") == 0;
	for (i = 0; i < n && i <= (size_t)sys; i++) {
		if (!(i == 0 && sys) && !(strcmp(sel[i].role, "user") == 0 &&
		    long_text(e, &sel[i])))
			continue;
		np = 0;
		if (tmpl_render(e->tmpl, e->model->tok, sel, i + 1, 0, &p, &np,
		    &cap, NULL) != 0)
			break;
		/* Where the two agree: a vocabulary without the markup's
		 * tokens may join the last few with what follows. */
		for (end = 0; end < np && end < n_ids - 1 && p[end] == ids[end];
		    end++)
			;
		if (end < WK_MIN_MARK || end + WK_MARK_SLACK < np ||
		    (mk->n > 0 && end <= mk->at[mk->n - 1]))
			continue;
		mk->at[mk->n++] = end;
	}
	free(p);
	free(sel);
}

/*
 * Render the conversation, dropping whole turns after the system prompt,
 * oldest first, until prompt + reserve fits.  keep[] marks the messages
 * rendered.  Returns 0, -1 on OOM, 1 if even the last turn does not fit.
 */
static int
fit_context(struct engine *e, struct wk_chat *c, int32_t **ids,
    size_t *n_ids, size_t *cap, char *keep)
{
	struct tmpl_msg	*sel;
	size_t		 i, n, first;
	uint32_t	 limit = fwd_n_ctx(e->fwd) - reply_reserve(e);
	int		 dropping = 0;

	if ((sel = calloc(c->n, sizeof *sel)) == NULL)
		return -1;
	memset(keep, 1, c->n);
	first = c->n > 0 && strcmp(c->msgs[0].role, "system") == 0 ? 1 : 0;
	for (;;) {
		for (i = n = 0; i < c->n; i++)
			if (keep[i])
				sel[n++] = c->msgs[i];
		*n_ids = 0;
		if (render(e, sel, n, ids, n_ids, cap) != 0) {
			free(sel);
			return -1;
		}
		/* Once turns must go, drop down to 3/4 of the room, so the
		 * next turns fit without dropping (and re-evaluating) again. */
		if (*n_ids <= (dropping ? limit / 4 * 3 : limit))
			break;
		/* Drop the oldest turn: a user message and its replies. */
		for (i = first; i < c->n && !keep[i]; i++)
			;
		if (i >= c->n - 1) {
			free(sel);
			return *n_ids <= limit ? 0 : 1;
		}
		dropping = 1;
		keep[i++] = 0;
		while (i < c->n - 1 && strcmp(c->msgs[i].role, "user") != 0)
			keep[i++] = 0;
	}
	free(sel);
	return 0;
}

struct wk_progress {
	struct engine	*e;
	size_t		 base;
	size_t		 total;
};

static void
on_progress(void *arg, size_t done, size_t total)
{
	struct wk_progress	*p = arg;
	struct proto_buf	 b;

	proto_buf_init(&b);
	proto_put_u32(&b, (uint32_t)(p->base + done));
	proto_put_u32(&b, (uint32_t)p->total);
	proto_send_buf(p->e->fd_ev, PROTO_EV_PROGRESS, &b);
	proto_buf_free(&b);
}

/* Handle requests that arrive while a reply is generated: parameters
 * apply at once, cancel and quit stop it.  Returns 1 to stop. */
static int
poll_requests(struct engine *e)
{
	struct pollfd		pfd = { e->fd_req, POLLIN, 0 };
	struct proto_msg	m;
	struct proto_rd		r;
	int			stop = 0;

	if (atomic_load(&e->cancel))
		stop = 1;
	while (poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLIN | POLLHUP))) {
		if (proto_recv(e->fd_req, &m) != 0) {
			e->quit = 1;
			return 1;
		}
		proto_rd_init(&r, m.payload, m.len);
		switch (m.type) {
		case PROTO_REQ_PARAMS:
			do_params(e, &r);
			break;
		case PROTO_REQ_CANCEL:
			atomic_store(&e->cancel, 0);
			stop = 1;
			break;
		case PROTO_REQ_QUIT:
			e->quit = 1;
			stop = 1;
			break;
		default:
			send_error(e, PROTO_EPROTO, "request %u while a reply "
			    "is under way", m.type);
			break;
		}
		proto_msg_free(&m);
		if (stop)
			break;
	}
	return stop;
}

static int
is_stop(const struct engine *e, int32_t id)
{
	size_t	i;

	if (tok_is_eog(e->model->tok, id))
		return 1;
	for (i = 0; i < e->n_stops; i++)
		if (e->stops[i] == id)
			return 1;
	return 0;
}

static void
send_text(struct engine *e, const char *s, size_t n)
{
	if (n > 0)
		proto_send(e->fd_ev, PROTO_EV_TOKEN, s, n);
}

static void
send_context(struct engine *e, const struct wk_chat *c, const char *keep)
{
	struct proto_context	ctx;
	struct proto_buf	b;
	uint32_t		dropped[256];
	size_t			i;

	ctx.used = (uint32_t)e->n_cached;
	ctx.total = fwd_n_ctx(e->fwd);
	ctx.n_dropped = 0;
	ctx.dropped = dropped;
	/* Turns are dropped oldest first, so the first 256 say enough. */
	for (i = 0; i < c->n && ctx.n_dropped < 256; i++)
		if (!keep[i])
			dropped[ctx.n_dropped++] = (uint32_t)i;
	proto_buf_init(&b);
	proto_context_put(&b, &ctx);
	proto_send_buf(e->fd_ev, PROTO_EV_CONTEXT, &b);
	proto_buf_free(&b);
}

static void
send_done(struct engine *e, const struct proto_done *d)
{
	struct proto_buf	b;

	proto_buf_init(&b);
	proto_done_put(&b, d);
	proto_send_buf(e->fd_ev, PROTO_EV_DONE, &b);
	proto_buf_free(&b);
}

/* Evaluate ids[from..n) after the cached prefix; keeps e->cached exact
 * even when cancelled.  Returns an FWD_ code. */
static int
eval_tokens(struct engine *e, const int32_t *ids, size_t from, size_t n,
    struct wk_progress *prog)
{
	int	r;

	if (prog != NULL)
		fwd_set_progress(e->fwd, on_progress, prog);
	r = fwd_eval(e->fwd, ids + from, n - from, (uint32_t)from, e->logits,
	    0);
	fwd_set_progress(e->fwd, NULL, NULL);
	memmove(e->cached + from, ids + from, fwd_done(e->fwd) *
	    sizeof *ids);
	e->n_cached = from + fwd_done(e->fwd);
	return r;
}

/* Sample and stream one reply; fills the stop reason and counts. */
static void
generate(struct engine *e, struct proto_done *st)
{
	struct tok_stream	 ts;
	struct stopstr		 ss;
	char			 piece[256], out[3 * 256 + 12];
	char			 shown[sizeof out + PROTO_STOP_MAX];
	int32_t			 id;
	size_t			 n, len;
	double			 t0 = util_now();
	int			 r;

	tok_stream_init(&ts);
	/* The stop strings in force when the reply starts. */
	ss = e->stop_str;
	st->stop = PROTO_STOP_LENGTH;
	for (;;) {
		if (poll_requests(e)) {
			st->stop = PROTO_STOP_CANCEL;
			break;
		}
		id = sampler_sample(e->smp, e->logits);
		/* The parameters in force for this very token (tests check
		 * that a change applies from the next token on). */
		log_debug("sample n=%u token=%d temperature=%.3f top_k=%d "
		    "top_p=%.3f min_p=%.3f repeat_penalty=%.3f seed=%llu",
		    st->generated, id, e->params.temperature, e->params.top_k,
		    e->params.top_p, e->params.min_p, e->params.repeat_penalty,
		    (unsigned long long)e->params.seed);
		if (is_stop(e, id)) {
			st->stop = PROTO_STOP_EOG;
			break;
		}
		sampler_accept(e->smp, id);
		len = tok_piece(e->model->tok, id, 0, piece, sizeof piece);
		if (len > sizeof piece)
			len = sizeof piece;
		n = tok_stream_feed(&ts, piece, len, out);
		send_text(e, shown, stopstr_feed(&ss, out, n, shown));
		st->generated++;
		if (ss.hit) {
			st->stop = PROTO_STOP_STRING;
			break;
		}
		if (e->max_tokens >= 0 && st->generated >= (uint32_t)
		    e->max_tokens) {
			st->stop = PROTO_STOP_LENGTH;
			break;
		}
		if (e->n_cached >= fwd_n_ctx(e->fwd)) {
			st->stop = PROTO_STOP_CONTEXT;
			break;
		}
		e->cached[e->n_cached] = id;
		r = eval_tokens(e, e->cached, e->n_cached, e->n_cached + 1,
		    NULL);
		if (r == FWD_CANCELLED) {
			poll_requests(e);
			st->stop = PROTO_STOP_CANCEL;
			break;
		}
		if (r != FWD_OK) {
			st->stop = PROTO_STOP_ERROR;
			break;
		}
	}
	n = tok_stream_flush(&ts, out);
	send_text(e, shown, stopstr_feed(&ss, out, n, shown));
	if (ss.hit)
		st->stop = PROTO_STOP_STRING;
	send_text(e, shown, stopstr_flush(&ss, shown));
	st->decode_sec = util_now() - t0;
}

/* The prompt cache's key, made once per load (it reads the model). */
static const uint8_t *
pc_key(struct engine *e)
{
	if (!e->pc_keyed) {
		pcache_key(e->model, e->pc_batch, e->pc_key);
		e->pc_keyed = 1;
	}
	return e->pc_key;
}

/*
 * Read the longest prefix ids[0..mark) the prompt cache holds beyond the
 * *common tokens cached already; *common and *from_disk say what it
 * gave.  A damaged entry is passed over (and replaced once evaluated);
 * it may have written rows, so nothing before is trusted after it.
 * When a mark beyond is to be evaluated (and saved), the prompt is
 * evaluated from the mark before *common, as a new process would.
 */
static void
pc_lookup(struct engine *e, const int32_t *ids, const struct wk_marks *mk,
    size_t *common, uint32_t *from_disk)
{
	size_t	 j, at;
	char	*cause = NULL;
	double	 t0 = util_now();
	int	 r;

	for (j = mk->n; j-- > 0;) {
		if ((at = mk->at[j]) <= *common)
			break;
		r = pcache_load(e->pc_dir, pc_key(e), e->model, e->fwd, ids,
		    at, &cause);
		if (r == 1) {
			memcpy(e->cached, ids, at * sizeof *ids);
			e->n_cached = *common = at;
			*from_disk = (uint32_t)at;
			log_debug("prompt cache: %zu tokens from disk in %.3f s",
			    at, util_now() - t0);
			return;
		}
		if (r < 0) {
			log_debug("prompt cache: %s; evaluated instead",
			    cause != NULL ? cause : "out of memory");
			free(cause);
			cause = NULL;
			e->n_cached = *common = 0;
		}
	}
	/* A mark still to evaluate: start from the last mark before it. */
	if (mk->n > 0 && mk->at[mk->n - 1] > *common) {
		for (at = 0, j = 0; j < mk->n && mk->at[j] <= *common; j++)
			at = mk->at[j];
		e->n_cached = *common = at;
	}
}

/* Save the marks evaluated by this request (after from) that are still
 * cached, then keep the folder within its size. */
static void
pc_store(struct engine *e, const int32_t *ids, const struct wk_marks *mk,
    size_t from)
{
	size_t	 j, at;
	char	*cause = NULL;

	for (j = 0; j < mk->n; j++) {
		if ((at = mk->at[j]) <= from || at > e->n_cached ||
		    memcmp(e->cached, ids, at * sizeof *ids) != 0)
			continue;
		if (pcache_save(e->pc_dir, pc_key(e), e->model, e->fwd, ids,
		    at, e->pc_max, &cause) != 0) {
			log_debug("prompt cache: %s", cause != NULL ? cause :
			    "out of memory");
			free(cause);
			cause = NULL;
		} else
			log_debug("prompt cache: %zu tokens saved", at);
	}
}

/* Evaluate ids[from..n), cut at the marks beyond from: an entry saved at
 * a mark then holds rows made exactly as a later request that reads it
 * makes the rest. */
static int
eval_marked(struct engine *e, const int32_t *ids, size_t from, size_t n,
    const struct wk_marks *mk, struct wk_progress *prog)
{
	size_t	j, end;
	int	r = FWD_OK;

	for (j = 0; j <= mk->n && r == FWD_OK && from < n; j++) {
		end = j < mk->n ? mk->at[j] : n;
		if (end <= from || end > n)
			continue;
		prog->base = from;
		r = eval_tokens(e, ids, from, end, prog);
		from = end;
	}
	return r;
}

static void
do_chat(struct engine *e, struct proto_rd *r)
{
	struct wk_chat		 c;
	struct proto_done		 st;
	struct wk_progress	 prog;
	struct wk_marks		 mk;
	int32_t			*ids = NULL;
	size_t			 n_ids = 0, cap = 0, common, i;
	char			*keep = NULL;
	double			 t0;
	int			 fit, fr;

	memset(&st, 0, sizeof st);
	if (e->model == NULL) {
		send_error(e, PROTO_ENOMODEL, "no model loaded");
		return;
	}
	if (chat_read(r, &c, e->tmpl) != 0 || r->err) {
		chat_free(&c);
		send_error(e, PROTO_EPROTO, "malformed conversation");
		return;
	}
	if ((keep = malloc(c.n)) == NULL ||
	    (fit = fit_context(e, &c, &ids, &n_ids, &cap, keep)) < 0) {
		if (e->go_err != NULL)
			send_error(e, PROTO_ETEMPLATE, "%s", e->go_err);
		else
			send_error(e, PROTO_ENOMEM, "out of memory");
		goto out;
	}
	if (fit > 0) {
		send_error(e, PROTO_ETOOLONG, "%zu tokens > context %u", n_ids,
		    fwd_n_ctx(e->fwd) - reply_reserve(e));
		goto out;
	}
	log_debug("prompt n=%zu head=%d,%d,%d,%d,%d,%d,%d,%d", n_ids,
	    n_ids > 0 ? ids[0] : -1, n_ids > 1 ? ids[1] : -1,
	    n_ids > 2 ? ids[2] : -1, n_ids > 3 ? ids[3] : -1,
	    n_ids > 4 ? ids[4] : -1, n_ids > 5 ? ids[5] : -1,
	    n_ids > 6 ? ids[6] : -1, n_ids > 7 ? ids[7] : -1);
	for (common = 0; common < e->n_cached && common < n_ids; common++)
		if (e->cached[common] != ids[common])
			break;
	if (common == n_ids)
		common--;	/* the last token's logits are needed */
	e->n_cached = common;
	mk.n = 0;
	if (e->pc_dir != NULL) {
		find_marks(e, &c, keep, ids, n_ids, &mk);
		pc_lookup(e, ids, &mk, &common, &st.from_disk);
	}
	st.prompt = (uint32_t)n_ids;
	st.cached = (uint32_t)common;
	st.evaluated = (uint32_t)(n_ids - common);

	prog.e = e;
	prog.base = common;
	prog.total = n_ids;
	t0 = util_now();
	fr = eval_marked(e, ids, common, n_ids, &mk, &prog);
	st.prefill_sec = util_now() - t0;
	send_context(e, &c, keep);
	if (fr == FWD_CANCELLED) {
		poll_requests(e);
		st.stop = PROTO_STOP_CANCEL;
		send_done(e, &st);
		if (e->pc_dir != NULL)
			pc_store(e, ids, &mk, common);
		goto out;
	}
	if (fr != FWD_OK) {
		send_error(e, PROTO_EINTERNAL, "evaluation failed");
		goto out;
	}
	sampler_reset(e->smp);
	for (i = 0; i < n_ids; i++)
		sampler_accept(e->smp, ids[i]);
	generate(e, &st);
	send_context(e, &c, keep);
	send_done(e, &st);
	/* After the reply: saving does not delay its first token. */
	if (e->pc_dir != NULL)
		pc_store(e, ids, &mk, common);
out:
	free(keep);
	free(ids);
	chat_free(&c);
}

static void
send_state(struct engine *e, uint32_t code, uint32_t n, const char *detail)
{
	struct proto_buf	b;

	proto_buf_init(&b);
	proto_put_u32(&b, code);
	proto_put_u32(&b, n);
	proto_put_str(&b, detail);
	proto_send_buf(e->fd_ev, PROTO_EV_STATE, &b);
	proto_buf_free(&b);
}

/* Save the cached tokens' K/V rows in the folder the request names. */
static void
do_save_state(struct engine *e, struct proto_rd *r)
{
	char	*dir = proto_get_str(r, NULL), *path = NULL, *cause = NULL;
	char	 name[40];

	if (dir == NULL) {
		send_error(e, PROTO_EPROTO, "malformed save request");
		return;
	}
	if (e->model == NULL || e->n_cached == 0) {
		send_state(e, PROTO_ESTATE, 0, "nothing cached");
		free(dir);
		return;
	}
	kvsnap_name(e->model, e->cached, e->n_cached, name);
	if (asprintf(&path, "%s/%s", dir, name) < 0)
		send_state(e, PROTO_ENOMEM, 0, "out of memory");
	else if (kvsnap_save(e->model, e->fwd, e->cached, e->n_cached, path,
	    &cause) != 0)
		send_state(e, PROTO_EIO, 0, cause);
	else
		send_state(e, PROTO_EOK, (uint32_t)e->n_cached, path);
	free(cause);
	free(path);
	free(dir);
}

/* Restore a snapshot: the next chat finds its tokens cached.  A bad one
 * leaves the cache empty, so the text is simply evaluated again. */
static void
do_load_state(struct engine *e, struct proto_rd *r)
{
	char	*path = proto_get_str(r, NULL), *cause = NULL;
	int32_t	*toks;
	size_t	 n;

	if (path == NULL) {
		send_error(e, PROTO_EPROTO, "malformed load request");
		return;
	}
	if (e->model == NULL) {
		send_state(e, PROTO_ENOMODEL, 0, "no model loaded");
		free(path);
		return;
	}
	e->n_cached = 0;
	if (kvsnap_load(e->model, e->fwd, path, &toks, &n, &cause) != 0)
		send_state(e, PROTO_ESTATE, 0, cause);
	else {
		memcpy(e->cached, toks, n * sizeof *toks);
		e->n_cached = n;
		free(toks);
		send_state(e, PROTO_EOK, (uint32_t)n, path);
	}
	free(cause);
	free(path);
}

static void *
worker_main(void *arg)
{
	struct engine		*e = arg;
	struct proto_msg	 m;
	struct proto_rd		 r;

	while (!e->quit && proto_recv(e->fd_req, &m) == 0) {
		proto_rd_init(&r, m.payload, m.len);
		switch (m.type) {
		case PROTO_REQ_LOAD:
			do_load(e, &r);
			break;
		case PROTO_REQ_PARAMS:
			do_params(e, &r);
			break;
		case PROTO_REQ_CHAT:
			do_chat(e, &r);
			break;
		case PROTO_REQ_CANCEL:
			atomic_store(&e->cancel, 0);
			break;
		case PROTO_REQ_SAVE_STATE:
			do_save_state(e, &r);
			break;
		case PROTO_REQ_LOAD_STATE:
			do_load_state(e, &r);
			break;
		case PROTO_REQ_QUIT:
			e->quit = 1;
			break;
		default:
			send_error(e, PROTO_EPROTO, "unknown request %u",
			    m.type);
			break;
		}
		proto_msg_free(&m);
	}
	unload(e);
	return NULL;
}

/* Start the engine's worker thread on the two pipe ends. */
struct engine *
engine_start(int fd_req, int fd_ev)
{
	struct engine	*e;

	if ((e = calloc(1, sizeof *e)) == NULL)
		return NULL;
	e->fd_req = fd_req;
	e->fd_ev = fd_ev;
	e->max_tokens = -1;
	sample_params_default(&e->params);
	atomic_init(&e->cancel, 0);
	if (pthread_create(&e->thread, NULL, worker_main, e) != 0) {
		free(e);
		return NULL;
	}
	return e;
}

/* Ask the worker to stop the current reply; the caller also sends
 * PROTO_REQ_CANCEL, which clears the flag again. */
void
engine_cancel(struct engine *e)
{
	atomic_store(&e->cancel, 1);
}

/* Wait for the worker thread and free the engine. */
void
engine_join(struct engine *e)
{
	if (e == NULL)
		return;
	pthread_join(e->thread, NULL);
	free(e);
}

/* Choose the kernels for this CPU (quant.c decides). */
void
engine_init(void)
{
	qt_init();
}

/* The chosen kernels' name, for --version and /stats. */
const char *
engine_simd_name(void)
{
	return qt_path_name();
}
