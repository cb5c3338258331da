/*
 * Chat templates rendered straight to ids.  Markup such as <|eot_id|> is
 * its control token when the vocabulary has one; the text between two
 * control tokens is encoded as one run with special parsing off, as
 * llama.cpp's llm_chat_apply_template plus tokenization does for it.
 */
#include "config.h"

#include "tmpl.h"

#include <stdlib.h>
#include <string.h>

#include "gguf.h"
#include "gotmpl.h"
#include "tok.h"

struct rend {
	const struct tok	*t;
	int32_t			**ids;
	size_t			 *n;
	size_t			 *cap;
	char			*buf;	/* text waiting for the next special */
	size_t			 len;
	size_t			 bcap;
	int			 err;
};

static const char *const tmpl_names[TMPL_COUNT] = {
	"none", "llama3", "llama2", "chatml", "mistral"
};

static void
r_text(struct rend *r, const char *s, size_t n)
{
	char	*p;
	size_t	 cap;

	if (r->err || n == 0)
		return;
	if (r->bcap - r->len < n) {
		cap = r->bcap * 2 + n + 64;
		if ((p = realloc(r->buf, cap)) == NULL) {
			r->err = 1;
			return;
		}
		r->buf = p;
		r->bcap = cap;
	}
	memcpy(r->buf + r->len, s, n);
	r->len += n;
}

static void
r_str(struct rend *r, const char *s)
{
	r_text(r, s, strlen(s));
}

static void
r_flush(struct rend *r)
{
	if (r->err || r->len == 0)
		return;
	if (tok_encode(r->t, r->buf, r->len, 0, 0, r->ids, r->n, r->cap) != 0)
		r->err = 1;
	r->len = 0;
}

static void
r_id(struct rend *r, int32_t id)
{
	int32_t	*p;
	size_t	 cap;

	r_flush(r);
	if (r->err)
		return;
	if (*r->n == *r->cap) {
		cap = *r->cap < 64 ? 64 : *r->cap * 2;
		if ((p = realloc(*r->ids, cap * sizeof *p)) == NULL) {
			r->err = 1;
			return;
		}
		*r->ids = p;
		*r->cap = cap;
	}
	(*r->ids)[(*r->n)++] = id;
}

/* Markup: the control token of that text if the vocabulary has one, else
 * plain text in the current run. */
static void
r_mark(struct rend *r, const char *text)
{
	int32_t	id;

	if ((id = tok_special(r->t, text)) >= 0)
		r_id(r, id);
	else
		r_str(r, text);
}

static int
is_space(char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

/* Message text, trimmed of ASCII white space when trim is set (as
 * llama.cpp's trim()). */
static void
r_content(struct rend *r, const struct tmpl_msg *m, int trim)
{
	const char	*s = m->content != NULL ? m->content : "";
	size_t		 n = m->content != NULL ? m->len : 0;

	if (trim) {
		while (n > 0 && is_space(*s)) {
			s++;
			n--;
		}
		while (n > 0 && is_space(s[n - 1]))
			n--;
	}
	r_text(r, s, n);
}

static const char *
role_of(const struct tmpl_msg *m)
{
	return m->role != NULL ? m->role : "user";
}

static int
role_is(const struct tmpl_msg *m, const char *role)
{
	return strcmp(role_of(m), role) == 0;
}

static void
mark_start(struct rend *r, size_t *msg_start, size_t i)
{
	if (msg_start != NULL)
		msg_start[i] = *r->n;
}

/* Start rendering into *ids: BOS first when the vocabulary asks. */
static void
rend_start(struct rend *r, const struct tok *t, int32_t **ids,
    size_t *n_ids, size_t *cap)
{
	memset(r, 0, sizeof *r);
	r->t = t;
	r->ids = ids;
	r->n = n_ids;
	r->cap = cap;
	if (tok_add_bos(t) && tok_bos(t) >= 0)
		r_id(r, tok_bos(t));
}

static void
render_llama3(struct rend *r, const struct tmpl_msg *msgs, size_t n,
    int add_gen, size_t *ms)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		mark_start(r, ms, i);
		r_mark(r, "<|start_header_id|>");
		r_str(r, role_of(&msgs[i]));
		r_mark(r, "<|end_header_id|>");
		r_str(r, "\n\n");
		r_content(r, &msgs[i], 1);
		r_mark(r, "<|eot_id|>");
	}
	if (add_gen) {
		r_mark(r, "<|start_header_id|>");
		r_str(r, "assistant");
		r_mark(r, "<|end_header_id|>");
		r_str(r, "\n\n");
	}
}

static void
render_chatml(struct rend *r, const struct tmpl_msg *msgs, size_t n,
    int add_gen, size_t *ms)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		mark_start(r, ms, i);
		r_mark(r, "<|im_start|>");
		r_str(r, role_of(&msgs[i]));
		r_str(r, "\n");
		r_content(r, &msgs[i], 0);
		r_mark(r, "<|im_end|>");
		r_str(r, "\n");
	}
	if (add_gen) {
		r_mark(r, "<|im_start|>");
		r_str(r, "assistant\n");
	}
}

/* llama.cpp's "llama2-sys-strip", which it picks for Llama-2-chat's own
 * template: BOS only at the very start, contents trimmed. */
static void
render_llama2(struct rend *r, const struct tmpl_msg *msgs, size_t n,
    size_t *ms)
{
	size_t	i;
	int	inside = 1;

	r_str(r, "[INST] ");
	for (i = 0; i < n; i++) {
		mark_start(r, ms, i);
		if (!inside) {
			inside = 1;
			r_str(r, "[INST] ");
		}
		if (role_is(&msgs[i], "system")) {
			r_str(r, "<<SYS>>\n");
			r_content(r, &msgs[i], 1);
			r_str(r, "\n<</SYS>>\n\n");
		} else if (role_is(&msgs[i], "user")) {
			r_content(r, &msgs[i], 1);
			r_str(r, " [/INST]");
		} else {
			r_content(r, &msgs[i], 1);
			r_mark(r, "</s>");
			inside = 0;
		}
	}
}

/* llama.cpp's "mistral-v3": [INST] and [/INST] are control tokens in
 * Mistral's own vocabularies, plain text elsewhere. */
static void
render_mistral(struct rend *r, const struct tmpl_msg *msgs, size_t n,
    size_t *ms)
{
	size_t	i;
	int	inside = 0;

	for (i = 0; i < n; i++) {
		mark_start(r, ms, i);
		if (!inside) {
			r_mark(r, "[INST]");
			r_str(r, " ");
			inside = 1;
		}
		if (role_is(&msgs[i], "system")) {
			r_content(r, &msgs[i], 0);
			r_str(r, "\n\n");
		} else if (role_is(&msgs[i], "user")) {
			r_content(r, &msgs[i], 0);
			r_mark(r, "[/INST]");
		} else {
			r_str(r, " ");
			r_content(r, &msgs[i], 1);
			r_mark(r, "</s>");
			inside = 0;
		}
	}
}

static void
render_none(struct rend *r, const struct tmpl_msg *msgs, size_t n,
    size_t *ms)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		mark_start(r, ms, i);
		r_content(r, &msgs[i], 0);
	}
}

/* Render msgs[0..n) under template kind, BOS first when the vocabulary
 * asks for it; msg_start (if not NULL) receives n + 1 offsets: where
 * each message's tokens start (a message that begins inside a run of
 * text gets the run's start) and, last, *n_ids at return.  Returns 0, or
 * -1 on OOM or an unknown kind. */
int
tmpl_render(int kind, const struct tok *t, const struct tmpl_msg *msgs,
    size_t n, int add_gen, int32_t **ids, size_t *n_ids, size_t *cap,
    size_t *msg_start)
{
	struct rend	r;

	if (kind < 0 || kind >= TMPL_COUNT)
		return -1;
	rend_start(&r, t, ids, n_ids, cap);
	switch (kind) {
	case TMPL_LLAMA3:
		render_llama3(&r, msgs, n, add_gen, msg_start);
		break;
	case TMPL_CHATML:
		render_chatml(&r, msgs, n, add_gen, msg_start);
		break;
	case TMPL_LLAMA2:
		render_llama2(&r, msgs, n, msg_start);
		break;
	case TMPL_MISTRAL:
		render_mistral(&r, msgs, n, msg_start);
		break;
	default:
		render_none(&r, msgs, n, msg_start);
		break;
	}
	r_flush(&r);
	if (msg_start != NULL)
		msg_start[n] = *n_ids;
	free(r.buf);
	return r.err ? -1 : 0;
}

/* A piece of the Go template's output: its own text has its special
 * tokens split out, message text is one with the run around it. */
static void
go_emit(void *arg, const char *s, size_t len, int from_tmpl)
{
	struct rend	*r = arg;
	size_t		 i, start = 0, m;
	int32_t		 id;

	if (!from_tmpl) {
		r_text(r, s, len);
		return;
	}
	for (i = 0; i < len; i++)
		if ((id = tok_special_at(r->t, s + i, len - i, &m)) >= 0) {
			r_text(r, s + start, i - start);
			r_id(r, id);
			start = i + m;
			i += m - 1;
		}
	r_text(r, s + start, len - start);
}

/* Render through an ollama template: 0, or -1 with *cause (caller frees;
 * NULL for out of memory). */
int
tmpl_render_go(const struct gotmpl *g, const struct tok *t,
    const struct tmpl_msg *msgs, size_t n, int32_t **ids, size_t *n_ids,
    size_t *cap, char **cause)
{
	struct rend	r;

	*cause = NULL;
	rend_start(&r, t, ids, n_ids, cap);
	if (gotmpl_render(g, msgs, n, go_emit, &r, cause) != 0)
		r.err = 1;
	r_flush(&r);
	free(r.buf);
	return r.err ? -1 : 0;
}

static int
has(const struct gguf_str *s, const char *needle)
{
	size_t	m = strlen(needle), i;

	for (i = 0; i + m <= s->len; i++)
		if (memcmp(s->p + i, needle, m) == 0)
			return 1;
	return 0;
}

/* The template a file asks for, recognised (never executed) from
 * tokenizer.chat_template; without one, from the vocabulary's markup
 * tokens; else TMPL_NONE. */
int
tmpl_detect(const struct gguf *g, const struct tok *t)
{
	struct gguf_str	s;

	if (g != NULL && gguf_get_str(g, "tokenizer.chat_template", &s) ==
	    0) {
		if (has(&s, "<|start_header_id|>"))
			return TMPL_LLAMA3;
		if (has(&s, "<|im_start|>"))
			return TMPL_CHATML;
		if (has(&s, "[INST]"))
			return has(&s, "<<SYS>>") ? TMPL_LLAMA2 : TMPL_MISTRAL;
	}
	if (t == NULL)
		return TMPL_NONE;
	if (tok_special(t, "<|start_header_id|>") >= 0 &&
	    tok_special(t, "<|end_header_id|>") >= 0 &&
	    tok_special(t, "<|eot_id|>") >= 0)
		return TMPL_LLAMA3;
	if (tok_special(t, "<|im_start|>") >= 0 &&
	    tok_special(t, "<|im_end|>") >= 0)
		return TMPL_CHATML;
	return TMPL_NONE;
}

/* Whether g's tokenizer.chat_template, if it has one, is a template
 * tmpl_detect() recognises: 1, or 0 for one it would pass over. */
int
tmpl_known(const struct gguf *g)
{
	struct gguf_str	s;

	if (g == NULL || gguf_get_str(g, "tokenizer.chat_template", &s) != 0)
		return 1;
	return has(&s, "<|start_header_id|>") || has(&s, "<|im_start|>") ||
	    has(&s, "[INST]");
}

/* Template kind by name, "auto" gives -2, anything else -1. */
int
tmpl_by_name(const char *name)
{
	int	k;

	if (strcmp(name, "auto") == 0)
		return -2;
	for (k = 0; k < TMPL_COUNT; k++)
		if (strcmp(name, tmpl_names[k]) == 0)
			return k;
	return -1;
}

/* Name of a template kind (a static string), "?" if out of range. */
const char *
tmpl_name(int kind)
{
	if (kind == TMPL_GO)
		return "go";
	return kind >= 0 && kind < TMPL_COUNT ? tmpl_names[kind] : "?";
}

/* Ids that end a reply under kind beyond tok_is_eog(): stores at most max
 * in out, returns how many. */
size_t
tmpl_stops(int kind, const struct tok *t, int32_t *out, size_t max)
{
	static const char *const llama3[] = { "<|eot_id|>", "<|eom_id|>",
	    "<|end_of_text|>", NULL };
	static const char *const chatml[] = { "<|im_end|>", NULL };
	static const char *const inst[] = { "</s>", NULL };
	const char *const	*names;
	size_t			 k = 0;
	int32_t			 id;

	switch (kind) {
	case TMPL_LLAMA3:
		names = llama3;
		break;
	case TMPL_CHATML:
		names = chatml;
		break;
	case TMPL_LLAMA2:
	case TMPL_MISTRAL:
		names = inst;
		break;
	default:
		return 0;
	}
	for (; *names != NULL && k < max; names++)
		if ((id = tok_special(t, *names)) >= 0)
			out[k++] = id;
	return k;
}
