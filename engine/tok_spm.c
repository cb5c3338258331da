/*
 * SentencePiece BPE as llama.cpp runs it (tokenizer.ggml.model "llama"):
 * spaces become U+2581 with a dummy-prefix space in front, characters
 * merge pairwise by the score of the merged token (higher first, then the
 * leftmost), and what forms no token falls back to <0xNN> byte tokens.
 */
#include "config.h"

#include "tok.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heap.h"
#include "tok_impl.h"

struct spm_pair {
	float		score;
	int32_t		left;
	int32_t		right;
	uint32_t	size;
};

struct spm_run {
	const struct tok	*t;
	const char		*buf;
	uint32_t		*start;
	uint32_t		*len;
	int32_t			*prev;
	int32_t			*next;
	struct heap		 heap;		/* of struct spm_pair */
};

/* Byte length of the character a lead byte starts, as llama.cpp's
 * unicode_len_utf8 (no validation). */
static size_t
lead_len(unsigned char b)
{
	static const unsigned char n[16] = {
		1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4
	};

	return n[b >> 4];
}

/* Whether a comes out of the queue before b. */
static int
pair_first(const void *va, const void *vb)
{
	const struct spm_pair	*a = va, *b = vb;

	return a->score > b->score || (a->score == b->score &&
	    a->left < b->left);
}

static void
try_pair(struct spm_run *r, int32_t left, int32_t right)
{
	struct spm_pair	p;
	int32_t		id;

	if (left < 0 || right < 0)
		return;
	p.size = r->len[left] + r->len[right];
	id = tok_lookup(r->t, r->buf + r->start[left], p.size);
	if (id < 0)
		return;
	p.score = r->t->score[id];
	p.left = left;
	p.right = right;
	heap_push(&r->heap, &p);
}

static int
push_bytes(const struct tok *t, const char *s, size_t n,
    const struct tok_out *o)
{
	size_t	i;
	int32_t	id;

	for (i = 0; i < n; i++) {
		id = t->byte_tok[(unsigned char)s[i]];
		if (id >= 0 && tok_push(o, id) != 0)
			return -1;
	}
	return 0;
}

static int
spm_merge(struct spm_run *r, size_t nsym, const struct tok_out *o)
{
	struct spm_pair	p;
	int32_t		k, id;
	size_t		i;

	r->heap.n = 0;
	for (i = 1; i < nsym; i++)
		try_pair(r, (int32_t)i - 1, (int32_t)i);
	while (r->heap.n > 0) {
		heap_pop(&r->heap, &p);
		if (r->len[p.left] == 0 || r->len[p.right] == 0 ||
		    r->len[p.left] + r->len[p.right] != p.size)
			continue;	/* one side changed since */
		r->len[p.left] += r->len[p.right];
		r->len[p.right] = 0;
		r->next[p.left] = r->next[p.right];
		if (r->next[p.right] >= 0)
			r->prev[r->next[p.right]] = p.left;
		try_pair(r, r->prev[p.left], p.left);
		try_pair(r, p.left, r->next[p.left]);
	}
	for (k = 0; k >= 0; k = r->next[k]) {
		id = tok_lookup(r->t, r->buf + r->start[k], r->len[k]);
		if (id >= 0 ? tok_push(o, id) : push_bytes(r->t,
		    r->buf + r->start[k], r->len[k], o))
			return -1;
	}
	return 0;
}

/* SentencePiece BPE of one run of text (no special tokens in it); prefix
 * adds the dummy-prefix space.  0, or -1 on OOM (or a run over 700 MB). */
int
tok_spm_encode(const struct tok *t, const char *text, size_t len,
    int prefix, const struct tok_out *o)
{
	struct spm_run	 r;
	char		*buf;
	size_t		 n = 0, i, nsym = 0, cl;
	int		 rc = -1;

	if (len == 0)
		return 0;
	if (len > INT32_MAX / 3 - 1)
		return -1;	/* offsets and symbol indices are 32-bit */
	memset(&r, 0, sizeof r);
	if ((buf = malloc(3 * len + 3)) == NULL)
		return -1;
	if (prefix) {
		memcpy(buf, "\xe2\x96\x81", 3);
		n = 3;
	}
	for (i = 0; i < len; i++) {
		if (text[i] == ' ') {
			memcpy(buf + n, "\xe2\x96\x81", 3);
			n += 3;
		} else
			buf[n++] = text[i];
	}
	r.t = t;
	r.buf = buf;
	r.start = malloc(n * sizeof *r.start);
	r.len = malloc(n * sizeof *r.len);
	r.prev = malloc(n * sizeof *r.prev);
	r.next = malloc(n * sizeof *r.next);
	r.heap.v = malloc(3 * n * sizeof(struct spm_pair));
	r.heap.size = sizeof(struct spm_pair);
	r.heap.first = pair_first;
	if (r.start == NULL || r.len == NULL || r.prev == NULL ||
	    r.next == NULL || r.heap.v == NULL)
		goto out;
	for (i = 0; i < n; i += cl) {
		cl = lead_len((unsigned char)buf[i]);
		if (cl > n - i)
			cl = n - i;
		r.start[nsym] = (uint32_t)i;
		r.len[nsym] = (uint32_t)cl;
		r.prev[nsym] = (int32_t)nsym - 1;
		r.next[nsym] = i + cl < n ? (int32_t)nsym + 1 : -1;
		nsym++;
	}
	rc = spm_merge(&r, nsym, o);
out:
	free(r.start);
	free(r.len);
	free(r.prev);
	free(r.next);
	free(r.heap.v);
	free(buf);
	return rc;
}

/* The SPM half of tok_new(): the token for each byte (<0xNN>, else the
 * byte's own text, else unknown).  0, or -1 and *cause. */
int
tok_spm_load(struct tok *t, char **cause)
{
	char		name[8];
	unsigned	b;
	int32_t		id;

	(void)cause;
	for (b = 0; b < 256; b++) {
		snprintf(name, sizeof name, "<0x%02X>", b);
		id = tok_lookup(t, name, 6);
		if (id < 0) {
			name[0] = (char)b;
			id = tok_lookup(t, name, 1);
		}
		t->byte_tok[b] = id >= 0 ? id : t->unk;
	}
	return 0;
}
