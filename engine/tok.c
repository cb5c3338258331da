/*
 * Tokenizer front: reads and checks the tokenizer.ggml.* metadata, keeps
 * the vocabulary tables, splits text on special-token texts when asked,
 * hands each run to the BPE or SPM encoder, turns ids back into bytes and
 * streams whole UTF-8 characters.  Behaviour follows llama.cpp's vocab.
 */
#include "config.h"

#include "tok.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf.h"
#include "tok_impl.h"
#include "common/utf8.h"

#define TOK_MAX_VOCAB	(1 << 24)
#define TOK_MAX_TEXT	65536		/* bytes in one token's text */

/* Texts llama.cpp treats as ending a reply whatever their type says. */
static const char *const eog_texts[] = {
	"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>",
	"<|endoftext|>", "<|eom_id|>", "<EOT>", "_<EOT>",
	"<|end_of_text|>", "<end_of_utterance>", "</s>"
};

/* Store an allocated message in *cause (if cause is not NULL); returns -1
 * so callers can return it directly. */
int
tok_err(char **cause, const char *fmt, ...)
{
	va_list	 ap;
	char	 tmp[512];
	size_t	 n;

	if (cause == NULL)
		return -1;
	va_start(ap, fmt);
	if (vsnprintf(tmp, sizeof tmp, fmt, ap) < 0)
		tmp[0] = '\0';
	va_end(ap);
	n = strlen(tmp) + 1;
	if ((*cause = malloc(n)) != NULL)
		memcpy(*cause, tmp, n);
	return -1;
}

/* FNV-1a over the bytes: a stable hash for the string tables. */
uint32_t
tok_hash_bytes(const char *s, size_t len)
{
	uint32_t	h = 2166136261u;
	size_t		i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 16777619u;
	}
	return h;
}

/* Size a string table for n keys; returns 0, or -1 on OOM. */
int
tok_strmap_init(struct tok_strmap *m, size_t n)
{
	size_t	cap = 16, i;

	while (cap < 2 * n)
		cap *= 2;
	m->hash = malloc(cap * sizeof *m->hash);
	m->id = malloc(cap * sizeof *m->id);
	if (m->hash == NULL || m->id == NULL) {
		tok_strmap_fini(m);
		return -1;
	}
	for (i = 0; i < cap; i++)
		m->id[i] = -1;
	m->mask = (uint32_t)(cap - 1);
	return 0;
}

/* Free a string table's storage (not the arena it points into). */
void
tok_strmap_fini(struct tok_strmap *m)
{
	free(m->hash);
	free(m->id);
	m->hash = NULL;
	m->id = NULL;
}

/* Insert id, whose key is arena[off[id]..off[id + 1]); no duplicate
 * check (callers look the key up first). */
void
tok_strmap_put(struct tok_strmap *m, const char *arena, const uint32_t *off,
    int32_t id)
{
	uint32_t	h, i;

	h = tok_hash_bytes(arena + off[id], off[id + 1] - off[id]);
	for (i = h & m->mask; m->id[i] != -1; i = (i + 1) & m->mask)
		;
	m->hash[i] = h;
	m->id[i] = id;
}

/* The id whose key is s[0..len), or -1. */
int32_t
tok_strmap_get(const struct tok_strmap *m, const char *arena,
    const uint32_t *off, const char *s, size_t len)
{
	uint32_t	h, i;
	int32_t		id;

	if (m->id == NULL)
		return -1;
	h = tok_hash_bytes(s, len);
	for (i = h & m->mask; (id = m->id[i]) != -1; i = (i + 1) & m->mask) {
		if (m->hash[i] == h && off[id + 1] - off[id] == len &&
		    memcmp(arena + off[id], s, len) == 0)
			return id;
	}
	return -1;
}

/* The id of the token whose stored text is s[0..len), or -1. */
int32_t
tok_lookup(const struct tok *t, const char *s, size_t len)
{
	return tok_strmap_get(&t->by_text, t->text, t->off, s, len);
}

/* Append one id to the caller's array; 0, or -1 on OOM. */
int
tok_push(const struct tok_out *o, int32_t id)
{
	int32_t	*p;
	size_t	 cap;

	if (*o->n == *o->cap) {
		cap = *o->cap < 64 ? 64 : *o->cap * 2;
		if (cap > SIZE_MAX / sizeof **o->ids)
			return -1;
		if ((p = realloc(*o->ids, cap * sizeof *p)) == NULL)
			return -1;
		*o->ids = p;
		*o->cap = cap;
	}
	(*o->ids)[(*o->n)++] = id;
	return 0;
}

static int
load_model_kind(struct tok *t, const struct gguf *g, char **cause)
{
	struct gguf_str	s;
	int		r;

	r = gguf_get_str(g, "tokenizer.ggml.model", &s);
	if (r == 1)
		return tok_err(cause, "key 'tokenizer.ggml.model' is missing");
	if (r != 0)
		return tok_err(cause, "key 'tokenizer.ggml.model' is not a "
		    "string");
	if (s.len == 5 && memcmp(s.p, "llama", 5) == 0)
		t->kind = TOK_KIND_SPM;
	else if (s.len == 4 && memcmp(s.p, "gpt2", 4) == 0)
		t->kind = TOK_KIND_BPE;
	else
		return tok_err(cause, "key 'tokenizer.ggml.model': tokenizer "
		    "'%.*s' is not supported (only llama and gpt2)",
		    (int)(s.len > 64 ? 64 : s.len), s.p);
	return 0;
}

/* An optional per-token array: absent gives NULL, else it must hold at
 * least n elements of one of the allowed types. */
static int
find_arr(const struct gguf *g, const char *key, uint64_t n, uint32_t at1,
    uint32_t at2, const struct gguf_kv **out, char **cause)
{
	const struct gguf_kv	*kv;

	*out = NULL;
	if ((kv = gguf_find(g, key)) == NULL)
		return 0;
	if (kv->type != GGUF_VT_ARRAY || (kv->atype != at1 &&
	    kv->atype != at2))
		return tok_err(cause, "key '%s' has type %s%s%s, expected an "
		    "array of %s", key, gguf_vtype_name(kv->type),
		    kv->type == GGUF_VT_ARRAY ? " of " : "",
		    kv->type == GGUF_VT_ARRAY ?
		    gguf_vtype_name(kv->atype) : "", gguf_vtype_name(at1));
	if (kv->n < n)
		return tok_err(cause, "key '%s' has %llu elements for %llu "
		    "tokens", key, (unsigned long long)kv->n,
		    (unsigned long long)n);
	*out = kv;
	return 0;
}

static int
is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

static int
check_token(const struct tok *t, int32_t i, char **cause)
{
	const char	*s = t->text + t->off[i];
	uint32_t	 len = t->off[i + 1] - t->off[i];

	if (t->type[i] == TOK_T_BYTE && (len != 6 || memcmp(s, "<0x", 3) ||
	    !is_hex(s[3]) || !is_hex(s[4]) || s[5] != '>'))
		return tok_err(cause, "key 'tokenizer.ggml.tokens': byte "
		    "token %d is '%.*s', not <0xNN>", (int)i,
		    (int)(len > 32 ? 32 : len), s);
	if (t->score != NULL && !isfinite(t->score[i]) &&
	    !(isinf(t->score[i]) && t->score[i] < 0))
		return tok_err(cause, "key 'tokenizer.ggml.scores': score "
		    "of token %d is not a number", (int)i);
	return 0;
}

/* Copy the texts, types and scores; index the texts by the hash table. */
static int
fill_tokens(struct tok *t, const struct gguf_kv *kv,
    const struct gguf_kv *sc, const struct gguf_kv *ty, char **cause)
{
	size_t	at = 0;
	int32_t	i, dup;
	int64_t	v;

	for (i = 0; i < t->n_vocab; i++) {
		t->off[i] = (uint32_t)at;
		memcpy(t->text + at, kv->strs[i].p, kv->strs[i].len);
		at += kv->strs[i].len;
	}
	t->off[t->n_vocab] = (uint32_t)at;
	t->text[at] = '\0';
	for (i = 0; i < t->n_vocab; i++) {
		t->type[i] = TOK_T_NORMAL;
		if (ty != NULL) {
			v = gguf_arr_int(ty, (uint64_t)i);
			t->type[i] = v >= 1 && v <= 6 ? (uint8_t)v :
			    TOK_T_UNDEFINED;
		}
		if (sc != NULL)
			t->score[i] = sc->atype == GGUF_VT_FLOAT32 ?
			    gguf_arr_f32(sc, (uint64_t)i) :
			    (float)gguf_arr_int(sc, (uint64_t)i);
		if (check_token(t, i, cause) != 0)
			return -1;
		if (t->off[i + 1] == t->off[i])
			continue;	/* an empty text never matches */
		dup = tok_lookup(t, t->text + t->off[i],
		    t->off[i + 1] - t->off[i]);
		if (dup >= 0)
			return tok_err(cause, "key 'tokenizer.ggml.tokens': "
			    "token %d repeats token %d", (int)i, (int)dup);
		tok_strmap_put(&t->by_text, t->text, t->off, i);
	}
	return 0;
}

static int
load_tokens(struct tok *t, const struct gguf *g, char **cause)
{
	const struct gguf_kv	*kv, *sc, *ty;
	size_t			 total = 0;
	uint64_t		 i;

	kv = gguf_find(g, "tokenizer.ggml.tokens");
	if (kv == NULL)
		return tok_err(cause, "key 'tokenizer.ggml.tokens' is "
		    "missing");
	if (kv->type != GGUF_VT_ARRAY || kv->atype != GGUF_VT_STRING ||
	    kv->strs == NULL)
		return tok_err(cause, "key 'tokenizer.ggml.tokens' is not an "
		    "array of strings");
	if (kv->n == 0 || kv->n > TOK_MAX_VOCAB)
		return tok_err(cause, "key 'tokenizer.ggml.tokens': %llu "
		    "tokens is out of range", (unsigned long long)kv->n);
	t->n_vocab = (int32_t)kv->n;
	if (find_arr(g, "tokenizer.ggml.scores", kv->n, GGUF_VT_FLOAT32,
	    GGUF_VT_INT32, &sc, cause) != 0 ||
	    find_arr(g, "tokenizer.ggml.token_type", kv->n, GGUF_VT_INT32,
	    GGUF_VT_INT32, &ty, cause) != 0)
		return -1;
	for (i = 0; i < kv->n; i++) {
		if (kv->strs[i].len > TOK_MAX_TEXT)
			return tok_err(cause, "key 'tokenizer.ggml.tokens': "
			    "token %llu is %llu bytes long",
			    (unsigned long long)i,
			    (unsigned long long)kv->strs[i].len);
		total += kv->strs[i].len;
	}
	if (total > UINT32_MAX - 1)
		return tok_err(cause, "key 'tokenizer.ggml.tokens' is too "
		    "large");
	t->text = malloc(total + 1);
	t->off = malloc((kv->n + 1) * sizeof *t->off);
	t->type = malloc(kv->n);
	t->eog = calloc(kv->n, 1);
	if (sc != NULL || t->kind == TOK_KIND_SPM)
		t->score = calloc(kv->n, sizeof *t->score);
	if (t->text == NULL || t->off == NULL || t->type == NULL ||
	    t->eog == NULL || (t->score == NULL && (sc != NULL ||
	    t->kind == TOK_KIND_SPM)) ||
	    tok_strmap_init(&t->by_text, kv->n) != 0)
		return tok_err(cause, "out of memory for the vocabulary");
	return fill_tokens(t, kv, sc, ty, cause);
}

/* One special id: absent keeps the default (disabled if out of range),
 * present must be a valid id. */
static int
load_special_id(struct tok *t, const struct gguf *g, const char *key,
    int32_t *id, char **cause)
{
	int64_t	v;
	int	r;

	if (*id >= t->n_vocab)
		*id = -1;
	r = gguf_get_i64(g, key, &v);
	if (r == 1)
		return 0;
	if (r != 0)
		return tok_err(cause, "key '%s' is not an integer", key);
	if (v < 0 || v >= t->n_vocab)
		return tok_err(cause, "key '%s': id %lld is out of range "
		    "(the vocabulary has %d tokens)", key, (long long)v,
		    (int)t->n_vocab);
	*id = (int32_t)v;
	return 0;
}

static int
load_bool(const struct gguf *g, const char *key, int *val, char **cause)
{
	int	r;

	r = gguf_get_bool(g, key, val);
	if (r < 0)
		return tok_err(cause, "key '%s' is not a boolean", key);
	return 0;
}

static int
load_specials(struct tok *t, const struct gguf *g, char **cause)
{
	if (t->kind == TOK_KIND_SPM) {
		t->bos = 1;
		t->eos = 2;
		t->unk = 0;
		t->add_bos = 1;
		t->add_space_prefix = 1;
	} else {
		t->bos = 11;	/* llama.cpp's defaults for gpt2 vocabs */
		t->eos = 11;
		t->unk = -1;
		t->add_bos = t->pre == TOK_PRE_LLAMA3;
	}
	t->eot = t->eom = -1;
	if (load_special_id(t, g, "tokenizer.ggml.bos_token_id", &t->bos,
	    cause) != 0 ||
	    load_special_id(t, g, "tokenizer.ggml.eos_token_id", &t->eos,
	    cause) != 0 ||
	    load_special_id(t, g, "tokenizer.ggml.eot_token_id", &t->eot,
	    cause) != 0 ||
	    load_special_id(t, g, "tokenizer.ggml.eom_token_id", &t->eom,
	    cause) != 0 ||
	    load_special_id(t, g, "tokenizer.ggml.unknown_token_id", &t->unk,
	    cause) != 0)
		return -1;
	if (load_bool(g, "tokenizer.ggml.add_bos_token", &t->add_bos,
	    cause) != 0)
		return -1;
	if (t->kind == TOK_KIND_SPM && load_bool(g,
	    "tokenizer.ggml.add_space_prefix", &t->add_space_prefix,
	    cause) != 0)
		return -1;
	if (t->add_bos && t->bos < 0)
		return tok_err(cause, "key 'tokenizer.ggml.add_bos_token' is "
		    "true, but 'tokenizer.ggml.bos_token_id' is not set");
	return 0;
}

/* Whether special x goes before y: longer text first, then lower id. */
static int
special_before(const struct tok *t, int32_t x, int32_t y)
{
	uint32_t	lx = t->off[x + 1] - t->off[x];
	uint32_t	ly = t->off[y + 1] - t->off[y];

	return lx != ly ? lx > ly : x < y;
}

/* A merge sort, as qsort() has no context argument in C99. */
static void
sort_specials(const struct tok *t, int32_t *a, int32_t *tmp, size_t n)
{
	size_t	mid = n / 2, i = 0, j = mid, k = 0;

	if (n < 2)
		return;
	sort_specials(t, a, tmp, mid);
	sort_specials(t, a + mid, tmp, n - mid);
	while (i < mid && j < n)
		tmp[k++] = special_before(t, a[j], a[i]) ? a[j++] : a[i++];
	while (i < mid)
		tmp[k++] = a[i++];
	while (j < n)
		tmp[k++] = a[j++];
	memcpy(a, tmp, n * sizeof *a);
}

static int
find_eog_and_specials(struct tok *t, char **cause)
{
	int32_t	*tmp;
	size_t	 k, n = 0;
	int32_t	 i, id;

	for (k = 0; k < sizeof eog_texts / sizeof eog_texts[0]; k++) {
		id = tok_lookup(t, eog_texts[k], strlen(eog_texts[k]));
		if (id < 0)
			continue;
		t->eog[id] = 1;
		if (t->type[id] != TOK_T_CONTROL)
			t->type[id] = TOK_T_CONTROL;	/* as llama.cpp */
	}
	if (t->eos >= 0)
		t->eog[t->eos] = 1;
	if (t->eot >= 0)
		t->eog[t->eot] = 1;
	if (t->eom >= 0)
		t->eog[t->eom] = 1;

	for (i = 0; i < t->n_vocab; i++)
		if ((t->type[i] == TOK_T_CONTROL || t->type[i] == TOK_T_USER ||
		    t->type[i] == TOK_T_UNKNOWN) && t->off[i + 1] > t->off[i])
			n++;
	t->special = malloc((n + 1) * sizeof *t->special);
	tmp = malloc((n + 1) * sizeof *tmp);
	if (t->special == NULL || tmp == NULL) {
		free(tmp);
		return tok_err(cause, "out of memory for the vocabulary");
	}
	for (i = 0; i < t->n_vocab; i++)
		if ((t->type[i] == TOK_T_CONTROL || t->type[i] == TOK_T_USER ||
		    t->type[i] == TOK_T_UNKNOWN) && t->off[i + 1] > t->off[i])
			t->special[t->n_special++] = i;
	sort_specials(t, t->special, tmp, t->n_special);
	free(tmp);
	return 0;
}

/* Build a tokenizer from the file's tokenizer.ggml.* keys; NULL and
 * *cause (caller frees) when they are missing or broken.  The result is
 * read-only afterwards and may be shared between threads. */
struct tok *
tok_new(const struct gguf *g, char **cause)
{
	struct tok	*t;

	if (cause != NULL)
		*cause = NULL;
	if ((t = calloc(1, sizeof *t)) == NULL) {
		tok_err(cause, "out of memory for the vocabulary");
		return NULL;
	}
	if (load_model_kind(t, g, cause) != 0 ||
	    load_tokens(t, g, cause) != 0 ||
	    (t->kind == TOK_KIND_BPE && tok_bpe_pre(t, g, cause) != 0) ||
	    load_specials(t, g, cause) != 0 ||
	    (t->kind == TOK_KIND_BPE ? tok_bpe_load(t, g, cause) :
	    tok_spm_load(t, cause)) != 0 ||
	    find_eog_and_specials(t, cause) != 0) {
		tok_free(t);
		return NULL;
	}
	return t;
}

/* Free a tokenizer; NULL is a no-op. */
void
tok_free(struct tok *t)
{
	if (t == NULL)
		return;
	tok_bpe_free(t);
	tok_strmap_fini(&t->by_text);
	free(t->text);
	free(t->off);
	free(t->type);
	free(t->score);
	free(t->eog);
	free(t->special);
	free(t);
}

/* TOK_KIND_SPM or TOK_KIND_BPE. */
int
tok_kind(const struct tok *t)
{
	return t->kind;
}

/* Number of tokens in the vocabulary. */
int32_t
tok_n_vocab(const struct tok *t)
{
	return t->n_vocab;
}

/* Beginning-of-sequence id, or -1. */
int32_t
tok_bos(const struct tok *t)
{
	return t->bos;
}

/* End-of-sequence id, or -1. */
int32_t
tok_eos(const struct tok *t)
{
	return t->eos;
}

/* Whether prompts start with BOS (tokenizer.ggml.add_bos_token). */
int
tok_add_bos(const struct tok *t)
{
	return t->add_bos;
}

/* Whether id ends a reply: eos, eot, eom and the texts llama.cpp knows. */
int
tok_is_eog(const struct tok *t, int32_t id)
{
	return id >= 0 && id < t->n_vocab && t->eog[id];
}

/* Whether id is a control token (never produced from user text). */
int
tok_is_control(const struct tok *t, int32_t id)
{
	return id >= 0 && id < t->n_vocab && t->type[id] == TOK_T_CONTROL;
}

/* Id of the control token whose text is text, or -1. */
int32_t
tok_special(const struct tok *t, const char *text)
{
	int32_t	id;

	id = tok_lookup(t, text, strlen(text));
	return id >= 0 && t->type[id] == TOK_T_CONTROL ? id : -1;
}

/* The control token whose text starts s[0..len) (the longest), or -1;
 * *mlen gets its length. */
int32_t
tok_special_at(const struct tok *t, const char *s, size_t len, size_t *mlen)
{
	size_t	i, n;
	int32_t	id;

	for (i = 0; i < t->n_special; i++) {
		id = t->special[i];
		n = t->off[id + 1] - t->off[id];
		if (t->type[id] != TOK_T_CONTROL || n > len ||
		    t->text[t->off[id]] != s[0] ||
		    memcmp(t->text + t->off[id], s, n) != 0)
			continue;
		*mlen = n;
		return id;
	}
	return -1;
}

/* Search for needle in hay; the offset or (size_t)-1. */
static size_t
find_bytes(const char *hay, size_t n, const char *needle, size_t m)
{
	const char	*p = hay, *end = hay + n;

	if (m == 0 || m > n)
		return (size_t)-1;
	while ((size_t)(end - p) >= m) {
		p = memchr(p, needle[0], (size_t)(end - p) - m + 1);
		if (p == NULL)
			break;
		if (memcmp(p, needle, m) == 0)
			return (size_t)(p - hay);
		p++;
	}
	return (size_t)-1;
}

struct frag {
	size_t	off;
	size_t	len;
	int32_t	id;		/* -1: raw text */
};

/* Split the raw fragments on every occurrence of special token id, in
 * place of llama.cpp's tokenizer_st_partition for one token. */
static int
split_on(const struct tok *t, const char *text, int32_t id,
    struct frag **fr, size_t *nf, size_t *capf)
{
	const char	*s = t->text + t->off[id];
	size_t		 m = t->off[id + 1] - t->off[id];
	struct frag	*out = NULL, *p;
	size_t		 no = 0, cap = 0, i, at, off, len;

	for (i = 0; i < *nf; i++) {
		off = (*fr)[i].off;
		len = (*fr)[i].len;
		for (;;) {
			if (no + 3 > cap) {
				cap = cap ? cap * 2 : *nf + 8;
				if ((p = realloc(out, cap * sizeof *p)) ==
				    NULL) {
					free(out);
					return -1;
				}
				out = p;
			}
			if ((*fr)[i].id >= 0 || (at = find_bytes(text + off,
			    len, s, m)) == (size_t)-1) {
				if ((*fr)[i].id >= 0 || len > 0)
					out[no++] = (struct frag){ off, len,
					    (*fr)[i].id };
				break;
			}
			if (at > 0)
				out[no++] = (struct frag){ off, at, -1 };
			out[no++] = (struct frag){ 0, 0, id };
			off += at + m;
			len -= at + m;
		}
	}
	free(*fr);
	*fr = out;
	*nf = no;
	*capf = cap;
	return 0;
}

static int
encode_run(const struct tok *t, const char *s, size_t len, int prefix,
    const struct tok_out *o)
{
	if (t->kind == TOK_KIND_BPE)
		return tok_bpe_encode(t, s, len, o);
	return tok_spm_encode(t, s, len, prefix && t->add_space_prefix, o);
}

/* Encode len bytes of text, appending ids to *ids; add_bos prepends BOS
 * (when the vocab has one), parse_special recognises control-token texts.
 * Returns 0, or -1 on OOM (the ids appended so far stay). */
int
tok_encode(const struct tok *t, const char *text, size_t len, int add_bos,
    int parse_special, int32_t **ids, size_t *n, size_t *cap)
{
	struct tok_out	 o = { ids, n, cap };
	struct frag	*fr;
	size_t		 nf = 1, capf = 1, i;
	int		 prev_special = 1, rc = 0;

	if (add_bos && t->bos >= 0 && tok_push(&o, t->bos) != 0)
		return -1;
	if (len == 0)
		return 0;
	if ((fr = malloc(sizeof *fr)) == NULL)
		return -1;
	fr[0] = (struct frag){ 0, len, -1 };
	for (i = 0; i < t->n_special; i++) {
		if (!parse_special && t->type[t->special[i]] != TOK_T_USER)
			continue;
		if (split_on(t, text, t->special[i], &fr, &nf, &capf) != 0)
			return -1;
	}
	for (i = 0; i < nf && rc == 0; i++) {
		if (fr[i].id >= 0) {
			rc = tok_push(&o, fr[i].id);
			prev_special = 1;
		} else {
			rc = encode_run(t, text + fr[i].off, fr[i].len,
			    prev_special, &o);
			prev_special = 0;
		}
	}
	free(fr);
	return rc;
}

static size_t
copy_out(const char *s, size_t len, char *buf, size_t cap)
{
	if (buf != NULL && cap > 0)
		memcpy(buf, s, len < cap ? len : cap);
	return len;
}

/* The bytes token id stands for, as llama.cpp's token_to_piece: at most
 * cap bytes are written to buf, the full length is returned. */
size_t
tok_piece(const struct tok *t, int32_t id, int special, char *buf,
    size_t cap)
{
	const char	*s;
	size_t		 len, i, k;
	char		 c;

	if (id < 0 || id >= t->n_vocab)
		return 0;
	s = t->text + t->off[id];
	len = t->off[id + 1] - t->off[id];
	switch (t->type[id]) {
	case TOK_T_CONTROL:
	case TOK_T_UNKNOWN:
		return special ? copy_out(s, len, buf, cap) : 0;
	case TOK_T_USER:
		return copy_out(s, len, buf, cap);
	case TOK_T_BYTE:
		c = (char)strtol((char[3]){ s[3], s[4], '\0' }, NULL, 16);
		return copy_out(&c, 1, buf, cap);
	case TOK_T_NORMAL:
		break;
	default:
		return 0;
	}
	if (t->kind == TOK_KIND_BPE)
		return copy_out(t->raw + t->raw_off[id],
		    t->raw_off[id + 1] - t->raw_off[id], buf, cap);
	/* SPM: U+2581 stands for a space. */
	for (i = 0, k = 0; i < len; k++) {
		if (len - i >= 3 && memcmp(s + i, "\xe2\x96\x81", 3) == 0) {
			c = ' ';
			i += 3;
		} else
			c = s[i++];
		if (buf != NULL && k < cap)
			buf[k] = c;
	}
	return k;
}

/* The token's text as stored in the vocabulary, not NUL-terminated
 * unless it is the last; *len receives its length.  NULL if out of
 * range. */
const char *
tok_text(const struct tok *t, int32_t id, size_t *len)
{
	if (id < 0 || id >= t->n_vocab) {
		if (len != NULL)
			*len = 0;
		return NULL;
	}
	if (len != NULL)
		*len = t->off[id + 1] - t->off[id];
	return t->text + t->off[id];
}

/* Text of ids[0..n) as llama.cpp detokenizes without cleanup: the pieces
 * in order, SPM's dummy-prefix space dropped from the first.  Returns a
 * NUL-terminated string (caller frees; *len its length), NULL on OOM. */
char *
tok_decode(const struct tok *t, const int32_t *ids, size_t n, int special,
    size_t *len)
{
	char	*buf;
	size_t	 total = 0, i, k, at = 0;

	for (i = 0; i < n; i++)
		total += tok_piece(t, ids[i], special, NULL, 0);
	if ((buf = malloc(total + 1)) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		k = tok_piece(t, ids[i], special, buf + at, total - at);
		if (i == 0 && t->kind == TOK_KIND_SPM && t->add_space_prefix &&
		    k > 0 && buf[at] == ' ') {
			memmove(buf + at, buf + at + 1, k - 1);
			k--;
		}
		at += k;
	}
	buf[at] = '\0';
	if (len != NULL)
		*len = at;
	return buf;
}

/* Streaming decoder. */

/* Reset a stream to hold nothing. */
void
tok_stream_init(struct tok_stream *st)
{
	st->npend = 0;
}

static size_t
put_fffd(char *out)
{
	memcpy(out, "\xef\xbf\xbd", 3);
	return 3;
}

/* Feed bytes; whole characters go to out, an invalid maximal subpart
 * becomes one U+FFFD, an incomplete tail is held.  out must hold
 * tok_stream_out_max(len) bytes; returns the bytes written. */
size_t
tok_stream_feed(struct tok_stream *st, const char *in, size_t len,
    char *out)
{
	const unsigned char	*s = (const unsigned char *)in;
	size_t			 w = 0, i = 0;
	int			 need;
	unsigned char		 c;

	while (i < len) {
		c = s[i];
		if (st->npend == 0) {
			need = utf8_lead_len(c) - 1;
			if (need == 0)
				out[w++] = (char)c;
			else if (need < 0)
				w += put_fffd(out + w);
			else
				st->pend[st->npend++] = c;
			i++;
			continue;
		}
		st->pend[st->npend] = c;	/* looked at, not yet taken */
		if (!utf8_prefix_ok((const char *)st->pend,
		    (size_t)st->npend + 1)) {
			/* The held prefix is a maximal subpart: c is
			 * looked at again as a fresh start. */
			w += put_fffd(out + w);
			st->npend = 0;
			continue;
		}
		st->pend[st->npend++] = c;
		i++;
		if (st->npend == utf8_lead_len(st->pend[0])) {
			memcpy(out + w, st->pend, (size_t)st->npend);
			w += (size_t)st->npend;
			st->npend = 0;
		}
	}
	return w;
}

/* End of stream: a held incomplete character becomes U+FFFD (out holds
 * at least 8 bytes); returns the bytes written. */
size_t
tok_stream_flush(struct tok_stream *st, char *out)
{
	if (st->npend == 0)
		return 0;
	st->npend = 0;
	return put_fffd(out);
}
