/*
 * Byte-level BPE (tokenizer.ggml.model "gpt2"): the GPT-2 byte-to-character
 * mapping, the llama-bpe (Llama-3), gpt-2 and default pre-tokenizers as
 * hand-written scanners over code points, and merging by rank with a heap
 * over adjacent pairs, so long runs of Chinese stay O(n log n).
 */
#include "config.h"

#include "tok.h"

#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "gguf.h"
#include "heap.h"
#include "tok_impl.h"

/* Code point classes the scanners ask about. */
#define FL_L	0x01	/* \p{L} */
#define FL_N	0x02	/* \p{N} */
#define FL_WS	0x04	/* \s: the Unicode White_Space set */
#define FL_S1	0x08	/* [\p{P}$+<=>^~|]: first split of "default" */

struct hent {
	int32_t	rank;
	int32_t	left;
	int32_t	right;
	int32_t	lid;
	int32_t	rid;
};

/* One encode call: the text as code points and the scratch for merging. */
struct bpe_run {
	const struct tok	*t;
	const struct tok_out	*o;
	uint32_t		*cp;
	uint8_t			*fl;
	uint32_t		*at;	/* byte offset of cp[i] in nb */
	unsigned char		*nb;	/* the text re-encoded from cp */
	int32_t			*sid;
	uint32_t		*slen;
	int32_t			*prev;
	int32_t			*next;
	struct heap		 heap;		/* of struct hent */
	size_t			 scap;
	int			 err;
};

typedef void	 (*bpe_emit)(struct bpe_run *, size_t, size_t);

/* GPT-2 bytes_to_unicode: printable bytes stand for themselves, the 68
 * others for U+0100 upwards in byte order. */
static uint32_t
byte_to_cp(unsigned b)
{
	if ((b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) ||
	    (b >= 0xae && b <= 0xff))
		return b;
	if (b <= 0x20)
		return 256 + b;
	if (b >= 0x7f && b <= 0xa0)
		return 256 + 33 + (b - 0x7f);
	return 256 + 67;	/* 0xad */
}

static int
cp_to_byte(uint32_t c)
{
	if ((c >= 0x21 && c <= 0x7e) || (c >= 0xa1 && c <= 0xac) ||
	    (c >= 0xae && c <= 0xff))
		return (int)c;
	if (c < 256 || c > 256 + 67)
		return -1;
	c -= 256;
	if (c < 33)
		return (int)c;
	if (c < 67)
		return (int)(0x7f + c - 33);
	return 0xad;
}

/* Decode one code point as llama.cpp's unicode_cpt_from_utf8 does (no
 * overlong or surrogate checks); a bad lead or missing continuation is
 * U+FFFD for one byte. */
static uint32_t
dec_cp(const unsigned char *s, size_t n, size_t *adv)
{
	unsigned char	b = s[0];
	uint32_t	c;

	*adv = 1;
	if (b < 0x80)
		return b;
	if (!(b & 0x40))
		return 0xfffd;
	if (!(b & 0x20)) {
		if (n < 2 || (s[1] & 0xc0) != 0x80)
			return 0xfffd;
		*adv = 2;
		return ((uint32_t)(b & 0x1f) << 6) | (s[1] & 0x3f);
	}
	if (!(b & 0x10)) {
		if (n < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0xfffd;
		*adv = 3;
		return ((uint32_t)(b & 0x0f) << 12) |
		    ((uint32_t)(s[1] & 0x3f) << 6) | (s[2] & 0x3f);
	}
	if (!(b & 0x08)) {
		if (n < 4 || (s[1] & 0xc0) != 0x80 ||
		    (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
			return 0xfffd;
		*adv = 4;
		c = ((uint32_t)(b & 0x07) << 18) |
		    ((uint32_t)(s[1] & 0x3f) << 12) |
		    ((uint32_t)(s[2] & 0x3f) << 6) | (s[3] & 0x3f);
		return c > 0x10ffff ? 0xfffd : c;
	}
	return 0xfffd;
}

static size_t
enc_cp(uint32_t c, unsigned char *o)
{
	if (c < 0x80) {
		o[0] = (unsigned char)c;
		return 1;
	}
	if (c < 0x800) {
		o[0] = (unsigned char)(0xc0 | (c >> 6));
		o[1] = (unsigned char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		o[0] = (unsigned char)(0xe0 | (c >> 12));
		o[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3f));
		o[2] = (unsigned char)(0x80 | (c & 0x3f));
		return 3;
	}
	o[0] = (unsigned char)(0xf0 | (c >> 18));
	o[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3f));
	o[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3f));
	o[3] = (unsigned char)(0x80 | (c & 0x3f));
	return 4;
}

static int
is_space_cp(uint32_t c)
{
	return (c >= 0x09 && c <= 0x0d) || c == 0x20 || c == 0x85 ||
	    c == 0xa0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200a) ||
	    c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f ||
	    c == 0x3000;
}

static uint8_t
cp_flags(uint32_t c)
{
	uint8_t	f = 0;

	if (c < 0x80) {
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
			return FL_L;
		if (c >= '0' && c <= '9')
			return FL_N;
		if (is_space_cp(c))
			return FL_WS;
		if (c > 0x20 && c < 0x7f && strchr("!\"#%&'()*,-./:;?@[\\]_{}"
		    "$+<=>^~|", (int)c) != NULL)
			return FL_S1;
		return 0;
	}
	if (is_space_cp(c))
		return FL_WS;
	switch (utf8proc_category((utf8proc_int32_t)c)) {
	case UTF8PROC_CATEGORY_LU:
	case UTF8PROC_CATEGORY_LL:
	case UTF8PROC_CATEGORY_LT:
	case UTF8PROC_CATEGORY_LM:
	case UTF8PROC_CATEGORY_LO:
		f = FL_L;
		break;
	case UTF8PROC_CATEGORY_ND:
	case UTF8PROC_CATEGORY_NL:
	case UTF8PROC_CATEGORY_NO:
		f = FL_N;
		break;
	case UTF8PROC_CATEGORY_PC:
	case UTF8PROC_CATEGORY_PD:
	case UTF8PROC_CATEGORY_PS:
	case UTF8PROC_CATEGORY_PE:
	case UTF8PROC_CATEGORY_PI:
	case UTF8PROC_CATEGORY_PF:
	case UTF8PROC_CATEGORY_PO:
		f = FL_S1;
		break;
	default:
		break;
	}
	return f;
}

static int
lower_ascii(uint32_t c)
{
	return c >= 'A' && c <= 'Z' ? (int)(c + 32) : (int)c;
}

/* Length of a contraction ('s 't 're 've 'm 'll 'd) at pos, or 0. */
static size_t
contraction(const uint32_t *cp, size_t pos, size_t end, int fold)
{
	int	a, b;

	if (cp[pos] != '\'' || pos + 1 >= end)
		return 0;
	a = fold ? lower_ascii(cp[pos + 1]) : (int)cp[pos + 1];
	if (a == 's' || a == 't' || a == 'm' || a == 'd')
		return 2;
	if (pos + 2 >= end)
		return 0;
	b = fold ? lower_ascii(cp[pos + 2]) : (int)cp[pos + 2];
	if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') ||
	    (a == 'l' && b == 'l'))
		return 3;
	return 0;
}

/* The whitespace rules shared by both scanners: \s*[\r\n]+ (llama3
 * only), \s+(?!\S), \s+.  Returns where the piece at pos ends. */
static size_t
space_run(const struct bpe_run *r, size_t pos, size_t end, int newlines)
{
	size_t	p = pos, last_nl = 0;

	while (p < end && (r->fl[p] & FL_WS)) {
		if (newlines && (r->cp[p] == '\r' || r->cp[p] == '\n'))
			last_nl = p + 1;
		p++;
	}
	if (last_nl > 0)
		return last_nl;
	if (p - pos > 1 && p < end)
		return p - 1;
	if (p > pos)
		return p;
	return pos + 1;
}

/*
 * The Llama-3 split (llama-bpe), written out as a scanner:
 * (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
 *  ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
 */
static void
split_llama3(struct bpe_run *r, size_t pos, size_t end, bpe_emit emit)
{
	const uint32_t	*cp = r->cp;
	const uint8_t	*fl = r->fl;
	size_t		 p, n;
	uint32_t	 c;
	int		 punct;

	while (pos < end && !r->err) {
		c = cp[pos];
		/* " ?[^\s\p{L}\p{N}]+": a space at the very end counts as
		 * the optional space, as in llama.cpp. */
		if (c == ' ')
			punct = pos + 1 >= end ||
			    !(fl[pos + 1] & (FL_WS | FL_L | FL_N));
		else
			punct = !(fl[pos] & (FL_WS | FL_L | FL_N));
		if ((n = contraction(cp, pos, end, 1)) > 0) {
			p = pos + n;
		} else if (c != '\r' && c != '\n' && !(fl[pos] & FL_N) &&
		    ((fl[pos] & FL_L) || (pos + 1 < end &&
		    (fl[pos + 1] & FL_L)))) {
			for (p = pos + 1; p < end && (fl[p] & FL_L); p++)
				;
		} else if (fl[pos] & FL_N) {
			for (p = pos + 1; p < end && p - pos < 3 &&
			    (fl[p] & FL_N); p++)
				;
		} else if (punct) {
			for (p = pos + (c == ' '); p < end &&
			    !(fl[p] & (FL_WS | FL_L | FL_N)); p++)
				;
			while (p < end && (cp[p] == '\r' || cp[p] == '\n'))
				p++;
		} else
			p = space_run(r, pos, end, 1);
		emit(r, pos, p);
		pos = p;
	}
}

/*
 * The GPT-2 split, 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+|
 *  ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ over [pos, end).
 */
static void
split_gpt2(struct bpe_run *r, size_t pos, size_t end, bpe_emit emit)
{
	const uint32_t	*cp = r->cp;
	const uint8_t	*fl = r->fl;
	size_t		 p, n, q;
	uint8_t		 f2;

	while (pos < end && !r->err) {
		q = pos + (cp[pos] == ' ');
		f2 = q < end ? fl[q] : 0;
		if ((n = contraction(cp, pos, end, 0)) > 0) {
			p = pos + n;
		} else if (q < end && (f2 & FL_L)) {
			for (p = q; p < end && (fl[p] & FL_L); p++)
				;
		} else if (q < end && (f2 & FL_N)) {
			for (p = q; p < end && (fl[p] & FL_N); p++)
				;
		} else if (q < end && !(f2 & (FL_WS | FL_L | FL_N))) {
			for (p = q; p < end && !(fl[p] & (FL_WS | FL_L |
			    FL_N)); p++)
				;
		} else
			p = space_run(r, pos, end, 0);
		emit(r, pos, p);
		pos = p;
	}
}

static void	bpe_word(struct bpe_run *, size_t, size_t);

/* Fourth split of "default": [0-9][0-9][0-9] (ASCII digits only). */
static void
split_digit3(struct bpe_run *r, size_t pos, size_t end)
{
	size_t	p;

	for (p = pos; p + 3 <= end; ) {
		if (r->cp[p] >= '0' && r->cp[p] <= '9' &&
		    r->cp[p + 1] >= '0' && r->cp[p + 1] <= '9' &&
		    r->cp[p + 2] >= '0' && r->cp[p + 2] <= '9') {
			if (p > pos)
				bpe_word(r, pos, p);
			bpe_word(r, p, p + 3);
			pos = p = p + 3;
		} else
			p++;
	}
	if (end > pos)
		bpe_word(r, pos, end);
}

/* Split [pos, end) into runs of code points with flag f and the gaps
 * between them, passing each on. */
static void
split_class(struct bpe_run *r, size_t pos, size_t end, uint8_t f,
    bpe_emit emit)
{
	size_t	p;
	int	in;

	while (pos < end) {
		in = (r->fl[pos] & f) != 0;
		for (p = pos + 1; p < end && ((r->fl[p] & f) != 0) == in; p++)
			;
		emit(r, pos, p);
		pos = p;
	}
}

static void
split_num(struct bpe_run *r, size_t pos, size_t end)
{
	split_class(r, pos, end, FL_N, split_digit3);
}

static void
split_gpt2_chain(struct bpe_run *r, size_t pos, size_t end)
{
	split_gpt2(r, pos, end, split_num);
}

/* Whether merge a comes before b: the lower rank, then the leftmost. */
static int
hent_first(const void *va, const void *vb)
{
	const struct hent	*a = va, *b = vb;

	return a->rank < b->rank || (a->rank == b->rank && a->left < b->left);
}

static const struct tok_merge *
merge_find(const struct tok_mergemap *m, int32_t a, int32_t b)
{
	uint64_t	key = (uint64_t)(uint32_t)a << 32 | (uint32_t)b;
	uint32_t	i;

	if (a < 0 || b < 0 || m->slot == NULL)
		return NULL;
	i = (uint32_t)((key * 0x9e3779b97f4a7c15ull) >> 32) & m->mask;
	for (; m->slot[i].key != UINT64_MAX; i = (i + 1) & m->mask)
		if (m->slot[i].key == key)
			return &m->slot[i];
	return NULL;
}

static void
add_pair(struct bpe_run *r, int32_t left, int32_t right)
{
	const struct tok_merge	*m;
	struct hent		 e;

	if (left < 0 || right < 0)
		return;
	m = merge_find(&r->t->merges, r->sid[left], r->sid[right]);
	if (m == NULL)
		return;
	e.rank = m->rank;
	e.left = left;
	e.right = right;
	e.lid = r->sid[left];
	e.rid = r->sid[right];
	heap_push(&r->heap, &e);
}

static void *
grow_one(void *p, size_t n, size_t size, int *fail)
{
	void	*q;

	if (*fail)
		return p;
	if ((q = realloc(p, n * size)) == NULL) {
		*fail = 1;
		return p;
	}
	return q;
}

static int
grow_scratch(struct bpe_run *r, size_t n)
{
	size_t	cap = r->scap ? r->scap : 64;
	int	fail = 0;

	while (cap < n)
		cap *= 2;
	if (cap == r->scap)
		return 0;
	r->sid = grow_one(r->sid, cap, sizeof *r->sid, &fail);
	r->slen = grow_one(r->slen, cap, sizeof *r->slen, &fail);
	r->prev = grow_one(r->prev, cap, sizeof *r->prev, &fail);
	r->next = grow_one(r->next, cap, sizeof *r->next, &fail);
	r->heap.v = grow_one(r->heap.v, 3 * cap, sizeof(struct hent), &fail);
	if (fail)
		return -1;
	r->scap = cap;
	return 0;
}

/* A symbol that is no token: its bytes in the mapped form, each looked up
 * alone, as llama.cpp falls back. */
static void
push_fallback(struct bpe_run *r, const unsigned char *w, size_t n)
{
	unsigned char	enc[4];
	size_t		i, k, m;
	int32_t		id;

	for (i = 0; i < n && !r->err; i++) {
		m = enc_cp(byte_to_cp(w[i]), enc);
		for (k = 0; k < m; k++) {
			id = tok_lookup(r->t, (const char *)enc + k, 1);
			if (id >= 0 && tok_push(r->o, id) != 0)
				r->err = 1;
		}
	}
}

/* Merge one pre-tokenized word (code points [s, e)) and emit its ids. */
static void
bpe_word(struct bpe_run *r, size_t s, size_t e)
{
	const struct tok	*t = r->t;
	const unsigned char	*w = r->nb + r->at[s];
	size_t			 n = r->at[e] - r->at[s], i;
	const struct tok_merge	*m;
	struct hent		 h;
	int32_t			 id, k;

	if (n == 0 || r->err)
		return;
	if (t->ignore_merges && (id = tok_strmap_get(&t->by_raw, t->raw,
	    t->raw_off, (const char *)w, n)) >= 0) {
		if (tok_push(r->o, id) != 0)
			r->err = 1;
		return;
	}
	if (grow_scratch(r, n) != 0) {
		r->err = 1;
		return;
	}
	for (i = 0; i < n; i++) {
		r->sid[i] = t->byte_tok[w[i]];
		r->slen[i] = 1;
		r->prev[i] = (int32_t)i - 1;
		r->next[i] = i + 1 < n ? (int32_t)i + 1 : -1;
	}
	r->heap.n = 0;
	for (i = 1; i < n; i++)
		add_pair(r, (int32_t)i - 1, (int32_t)i);
	while (r->heap.n > 0) {
		heap_pop(&r->heap, &h);
		if (r->slen[h.left] == 0 || r->slen[h.right] == 0 ||
		    r->sid[h.left] != h.lid || r->sid[h.right] != h.rid)
			continue;	/* stale */
		m = merge_find(&t->merges, h.lid, h.rid);
		r->sid[h.left] = m->result;
		r->slen[h.left] += r->slen[h.right];
		r->slen[h.right] = 0;
		r->next[h.left] = r->next[h.right];
		if (r->next[h.right] >= 0)
			r->prev[r->next[h.right]] = h.left;
		add_pair(r, r->prev[h.left], h.left);
		add_pair(r, h.left, r->next[h.left]);
	}
	for (k = 0; k >= 0 && !r->err; k = r->next[k]) {
		if (r->sid[k] >= 0) {
			if (tok_push(r->o, r->sid[k]) != 0)
				r->err = 1;
		} else
			push_fallback(r, w + k, r->slen[k]);
	}
}

/* Byte-level BPE of one run of text (no special tokens in it): split into
 * words by the file's pre-tokenizer, merge each.  0, or -1 on OOM (or a
 * run over 700 MB). */
int
tok_bpe_encode(const struct tok *t, const char *text, size_t len,
    const struct tok_out *o)
{
	struct bpe_run		 r;
	const unsigned char	*s = (const unsigned char *)text;
	size_t			 i, adv, ncp = 0, nb = 0;

	if (len == 0)
		return 0;
	if (len > INT32_MAX / 3)
		return -1;	/* offsets and symbol indices are 32-bit */
	memset(&r, 0, sizeof r);
	r.heap.size = sizeof(struct hent);
	r.heap.first = hent_first;
	r.t = t;
	r.o = o;
	r.cp = malloc(len * sizeof *r.cp);
	r.fl = malloc(len);
	r.at = malloc((len + 1) * sizeof *r.at);
	r.nb = malloc(3 * len);
	if (r.cp == NULL || r.fl == NULL || r.at == NULL || r.nb == NULL) {
		r.err = 1;
		goto out;
	}
	for (i = 0; i < len; i += adv) {
		r.cp[ncp] = dec_cp(s + i, len - i, &adv);
		r.fl[ncp] = cp_flags(r.cp[ncp]);
		r.at[ncp] = (uint32_t)nb;
		nb += enc_cp(r.cp[ncp], r.nb + nb);
		ncp++;
	}
	r.at[ncp] = (uint32_t)nb;
	if (t->pre == TOK_PRE_LLAMA3)
		split_llama3(&r, 0, ncp, bpe_word);
	else if (t->pre == TOK_PRE_GPT2)
		split_gpt2(&r, 0, ncp, bpe_word);
	else
		split_class(&r, 0, ncp, FL_S1, split_gpt2_chain);
out:
	free(r.cp);
	free(r.fl);
	free(r.at);
	free(r.nb);
	free(r.sid);
	free(r.slen);
	free(r.prev);
	free(r.next);
	free(r.heap.v);
	return r.err ? -1 : 0;
}

static int
str_is(const struct gguf_str *s, const char *const *names)
{
	for (; *names != NULL; names++)
		if (strlen(*names) == s->len && memcmp(*names, s->p,
		    s->len) == 0)
			return 1;
	return 0;
}

/* Read tokenizer.ggml.pre: which split to use and whether whole words
 * that are tokens skip merging.  0, or -1 and *cause. */
int
tok_bpe_pre(struct tok *t, const struct gguf *g, char **cause)
{
	static const char *const llama3[] = { "llama3", "llama-v3",
	    "llama-bpe", "falcon3", "pixtral", NULL };
	static const char *const llama3_merging[] = { "dbrx", "smaug-bpe",
	    NULL };
	static const char *const gpt2[] = { "gpt-2", "phi-2", "mpt", "olmo",
	    "jais", NULL };
	struct gguf_str	s;
	int		r;

	t->pre = TOK_PRE_DEFAULT;
	r = gguf_get_str(g, "tokenizer.ggml.pre", &s);
	if (r == 1)
		return 0;
	if (r != 0)
		return tok_err(cause, "key 'tokenizer.ggml.pre' is not a "
		    "string");
	if (s.len == 7 && memcmp(s.p, "default", 7) == 0)
		return 0;
	if (str_is(&s, llama3)) {
		t->pre = TOK_PRE_LLAMA3;
		t->ignore_merges = 1;
	} else if (str_is(&s, llama3_merging))
		t->pre = TOK_PRE_LLAMA3;
	else if (str_is(&s, gpt2))
		t->pre = TOK_PRE_GPT2;
	else
		return tok_err(cause, "key 'tokenizer.ggml.pre': "
		    "pre-tokenizer '%.*s' is not supported",
		    (int)(s.len > 64 ? 64 : s.len), s.p);
	return 0;
}

/* Undo the byte mapping of token i into the raw arena (an unmappable
 * character is written as llama.cpp writes it); *ok is 0 then. */
static int
unmap_token(struct tok *t, int32_t i, char **raw, size_t *n, size_t *cap,
    int *ok)
{
	const unsigned char	*s = (const unsigned char *)t->text + t->off[i];
	size_t			 len = t->off[i + 1] - t->off[i], k, adv, m;
	unsigned char		 enc[4];
	uint32_t		 c;
	int			 b;
	char			*p;

	*ok = 1;
	for (k = 0; k < len; k += adv) {
		if (*cap - *n < 64 + 2 * len) {
			*cap = *cap * 2 + 64 + 2 * len;
			if ((p = realloc(*raw, *cap)) == NULL)
				return -1;
			*raw = p;
		}
		c = dec_cp(s + k, len - k, &adv);
		if ((b = cp_to_byte(c)) >= 0) {
			(*raw)[(*n)++] = (char)b;
			continue;
		}
		*ok = 0;
		memcpy(*raw + *n, "[UNK_BYTE_0x", 12);
		*n += 12;
		for (m = 0; m < enc_cp(c, enc); m++) {
			(*raw)[(*n)++] = "0123456789abcdef"[enc[m] >> 4];
			(*raw)[(*n)++] = "0123456789abcdef"[enc[m] & 15];
		}
		memcpy(*raw + *n, s, len);
		*n += len;
		(*raw)[(*n)++] = ']';
	}
	return 0;
}

static int
load_raw(struct tok *t, char **cause)
{
	size_t	n = 0, cap = 0;
	int32_t	i;
	int	ok;

	t->raw_off = malloc(((size_t)t->n_vocab + 1) * sizeof *t->raw_off);
	if (t->raw_off == NULL || tok_strmap_init(&t->by_raw,
	    (size_t)t->n_vocab) != 0)
		return tok_err(cause, "out of memory for the vocabulary");
	for (i = 0; i < t->n_vocab; i++) {
		t->raw_off[i] = (uint32_t)n;
		if (unmap_token(t, i, &t->raw, &n, &cap, &ok) != 0 ||
		    n > UINT32_MAX / 2)
			return tok_err(cause, "out of memory for the "
			    "vocabulary");
		t->raw_off[i + 1] = (uint32_t)n;
		if (ok && n > t->raw_off[i] && tok_strmap_get(&t->by_raw,
		    t->raw, t->raw_off, t->raw + t->raw_off[i],
		    n - t->raw_off[i]) < 0)
			tok_strmap_put(&t->by_raw, t->raw, t->raw_off, i);
	}
	return 0;
}

static void
merge_put(struct tok_mergemap *m, int32_t a, int32_t b, int32_t rank,
    int32_t result)
{
	uint64_t	key = (uint64_t)(uint32_t)a << 32 | (uint32_t)b;
	uint32_t	i;

	i = (uint32_t)((key * 0x9e3779b97f4a7c15ull) >> 32) & m->mask;
	for (; m->slot[i].key != UINT64_MAX; i = (i + 1) & m->mask)
		if (m->slot[i].key == key)
			return;		/* the first rank wins */
	m->slot[i].key = key;
	m->slot[i].rank = rank;
	m->slot[i].result = result;
}

static int
load_merges(struct tok *t, const struct gguf *g, char **cause)
{
	const struct gguf_kv	*kv;
	const struct gguf_str	*s;
	char			*cat = NULL, *p;
	size_t			 cap = 16, catcap = 0, sp;
	uint64_t		 i;
	int32_t			 a, b;

	kv = gguf_find(g, "tokenizer.ggml.merges");
	if (kv == NULL)
		return tok_err(cause, "key 'tokenizer.ggml.merges' is "
		    "missing");
	if (kv->type != GGUF_VT_ARRAY || kv->atype != GGUF_VT_STRING ||
	    kv->strs == NULL)
		return tok_err(cause, "key 'tokenizer.ggml.merges' is not "
		    "an array of strings");
	if (kv->n > INT32_MAX / 4)
		return tok_err(cause, "key 'tokenizer.ggml.merges' has "
		    "too many entries");
	while (cap < 2 * kv->n)
		cap *= 2;
	if ((t->merges.slot = malloc(cap * sizeof *t->merges.slot)) == NULL)
		return tok_err(cause, "out of memory for the merges");
	for (i = 0; i < cap; i++)
		t->merges.slot[i].key = UINT64_MAX;
	t->merges.mask = (uint32_t)(cap - 1);
	for (i = 0; i < kv->n; i++) {
		s = &kv->strs[i];
		p = s->len > 1 ? memchr(s->p + 1, ' ', s->len - 1) : NULL;
		if (p == NULL) {
			tok_err(cause, "key 'tokenizer.ggml.merges': "
			    "merge %llu has no space", (unsigned long long)i);
			goto fail;
		}
		sp = (size_t)(p - s->p);
		a = tok_lookup(t, s->p, sp);
		b = tok_lookup(t, p + 1, s->len - sp - 1);
		if (a < 0 || b < 0) {
			tok_err(cause, "key 'tokenizer.ggml.merges': "
			    "merge %llu names a token not in the vocabulary",
			    (unsigned long long)i);
			goto fail;
		}
		if (catcap < s->len) {
			free(cat);
			catcap = s->len * 2;
			if ((cat = malloc(catcap)) == NULL) {
				tok_err(cause, "out of memory for the "
				    "merges");
				goto fail;
			}
		}
		memcpy(cat, s->p, sp);
		memcpy(cat + sp, p + 1, s->len - sp - 1);
		merge_put(&t->merges, a, b, (int32_t)i,
		    tok_lookup(t, cat, s->len - 1));
	}
	free(cat);
	return 0;
fail:
	free(cat);
	return -1;
}

/* The BPE half of tok_new(): raw texts, the byte tokens and the merge
 * table.  0, or -1 and *cause. */
int
tok_bpe_load(struct tok *t, const struct gguf *g, char **cause)
{
	unsigned char	enc[4];
	unsigned	b;

	if (load_raw(t, cause) != 0 || load_merges(t, g, cause) != 0)
		return -1;
	for (b = 0; b < 256; b++)
		t->byte_tok[b] = tok_lookup(t, (const char *)enc,
		    enc_cp(byte_to_cp(b), enc));
	return 0;
}

/* Free what tok_bpe_load() allocated (safe on a partial load). */
void
tok_bpe_free(struct tok *t)
{
	free(t->raw);
	free(t->raw_off);
	free(t->merges.slot);
	tok_strmap_fini(&t->by_raw);
	t->raw = NULL;
	t->raw_off = NULL;
	t->merges.slot = NULL;
}
