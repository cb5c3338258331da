/*
 * Binding GGUF files as Llama models (RELIABILITY-NOTES G14): a tiny model
 * written by our GGUF writer loads and runs, and each inconsistent
 * hyperparameter or tensor is refused with a message naming the key or
 * the tensor.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/forward.h"
#include "engine/gguf.h"
#include "engine/gguf_write.h"
#include "engine/kvsnap.h"
#include "engine/model.h"
#include "engine/quant.h"
#include "tests/tap.h"

#define E	32	/* n_embd */
#define H	4	/* heads */
#define HKV	2
#define FF	64
#define NV	48	/* vocab */
#define NL	2

/* What a case changes in the otherwise valid model. */
struct variant {
	const char	*what;
	const char	*expect;	/* a word the cause must contain */
	const char	*key;		/* u32 key to override, or NULL */
	uint32_t	 value;
	const char	*drop;		/* tensor to leave out */
	const char	*reshape;	/* tensor written with a wrong shape */
	int		 no_arch;
	uint32_t	 align;		/* general.alignment, or 0 */
};

static float	weights[NV * E * 4];

static int
want(const struct variant *v, const char *key)
{
	return v->key == NULL || strcmp(v->key, key) != 0;
}

static void
add_tensor(struct gguf_w *w, const struct variant *v, const char *name,
    int64_t ne0, int64_t ne1)
{
	int64_t	ne[2] = { ne0, ne1 };

	if (v->drop != NULL && strcmp(v->drop, name) == 0)
		return;
	if (v->reshape != NULL && strcmp(v->reshape, name) == 0)
		ne[0] = ne0 == E ? E / 2 : ne0 / 2;
	gguf_w_tensor(w, name, QT_F32, ne1 == 1 ? 1 : 2, ne, weights);
}

static int
build(const char *path, const struct variant *v, char **cause)
{
	struct gguf_w	*w = gguf_w_new();
	char		 name[64];
	int		 i, r;
	struct { const char *k; uint32_t v; } hp[] = {
		{ "llama.block_count", NL },
		{ "llama.embedding_length", E },
		{ "llama.feed_forward_length", FF },
		{ "llama.attention.head_count", H },
		{ "llama.attention.head_count_kv", HKV },
		{ "llama.context_length", 128 },
	};

	if (!v->no_arch)
		gguf_w_str(w, "general.architecture", "llama");
	if (v->align != 0) {
		gguf_w_set_alignment(w, v->align);
		gguf_w_str(w, "general.name", "odd");	/* header length */
	}
	for (i = 0; i < (int)(sizeof hp / sizeof hp[0]); i++)
		gguf_w_u32(w, hp[i].k, want(v, hp[i].k) ? hp[i].v : v->value);
	gguf_w_f32(w, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
	add_tensor(w, v, "token_embd.weight", E, NV);
	add_tensor(w, v, "output_norm.weight", E, 1);
	for (i = 0; i < NL; i++) {
#define T(s, a, b) (snprintf(name, sizeof name, "blk.%d." s, i), \
		add_tensor(w, v, name, a, b))
		T("attn_norm.weight", E, 1);
		T("ffn_norm.weight", E, 1);
		T("attn_q.weight", E, E);
		T("attn_k.weight", E, E / H * HKV);
		T("attn_v.weight", E, E / H * HKV);
		T("attn_output.weight", E, E);
		T("ffn_gate.weight", E, FF);
		T("ffn_up.weight", E, FF);
		T("ffn_down.weight", FF, E);
#undef T
	}
	r = gguf_w_write(w, path, cause);
	gguf_w_free(w);
	return r;
}

static const struct variant variants[] = {
	{ .what = "block_count 100000", .expect = "block_count",
	    .key = "llama.block_count", .value = 100000 },
	{ .what = "block_count 0", .expect = "block_count",
	    .key = "llama.block_count" },
	{ .what = "head_count 0", .expect = "head_count",
	    .key = "llama.attention.head_count" },
	{ .what = "n_embd % n_head != 0", .expect = "head_count",
	    .key = "llama.attention.head_count", .value = 5 },
	{ .what = "head_count_kv does not divide head_count",
	    .expect = "head_count_kv", .key = "llama.attention.head_count_kv",
	    .value = 3 },
	{ .what = "head_count_kv 0", .expect = "head_count_kv",
	    .key = "llama.attention.head_count_kv" },
	{ .what = "context_length 0", .expect = "context_length",
	    .key = "llama.context_length" },
	{ .what = "context_length 2^32-1", .expect = "context_length",
	    .key = "llama.context_length", .value = 0xFFFFFFFFu },
	{ .what = "embedding_length 0", .expect = "embedding_length",
	    .key = "llama.embedding_length" },
	{ .what = "feed_forward_length differs from the tensors",
	    .expect = "ffn_gate", .key = "llama.feed_forward_length",
	    .value = 96 },
	{ .what = "attn_q missing", .expect = "blk.1.attn_q.weight",
	    .drop = "blk.1.attn_q.weight" },
	{ .what = "token_embd missing", .expect = "token_embd.weight",
	    .drop = "token_embd.weight" },
	{ .what = "output_norm missing", .expect = "output_norm.weight",
	    .drop = "output_norm.weight" },
	{ .what = "ffn_down has the wrong shape",
	    .expect = "blk.0.ffn_down.weight",
	    .reshape = "blk.0.ffn_down.weight" },
	{ .what = "attn_k has the wrong shape",
	    .expect = "blk.0.attn_k.weight",
	    .reshape = "blk.0.attn_k.weight" },
	{ .what = "no general.architecture", .expect = "general.architecture",
	    .no_arch = 1 },
};

static long
file_size(const char *p)
{
	struct stat	st;

	return stat(p, &st) == 0 ? (long)st.st_size : -1;
}

static void
corrupt(const char *src, const char *dst, long cut, long flip_at, int ver)
{
	FILE	*in = fopen(src, "rb"), *out = fopen(dst, "wb");
	long	 i = 0;
	int	 c;

	while ((c = fgetc(in)) != EOF && (cut < 0 || i < cut)) {
		if (i == flip_at)
			c ^= 0x10;
		if (ver && i == 4)
			c = 2;
		fputc(c, out);
		i++;
	}
	fclose(in);
	fclose(out);
}

/* KV snapshots: a restored cache continues exactly like the original,
 * and damaged snapshots are refused (issue 6). */
static void
test_snapshots(struct model *m, struct fwd *f, int32_t *toks, const char *dir)
{
	char		 path[256], bad[256], *cause = NULL;
	struct fwd	*g;
	int32_t		*got = NULL, next = 11;
	size_t		 n = 0;
	float		 a[NV], b[NV];
	long		 size;
	int		 r;
	struct {
		const char	*what;
		long		 cut, flip;
		int		 ver;
	} cases[] = {
		{ "truncated by one byte", -2, -1, 0 },
		{ "cut in half", -3, -1, 0 },
		{ "a bit flipped in the K rows", -1, 200, 0 },
		{ "a future version", -1, -1, 1 },
	};
	size_t		 i;

	snprintf(path, sizeof path, "%s/s.kv", dir);
	snprintf(bad, sizeof bad, "%s/bad.kv", dir);
	ok(kvsnap_save(m, f, toks, 5, path, &cause) == 0, "save a KV snapshot "
	    "of 5 tokens: %s", cause != NULL ? cause : "ok");
	g = fwd_new(m, 16, 1, 0, &cause);
	ok(g != NULL && kvsnap_load(m, g, path, &got, &n, &cause) == 0 &&
	    n == 5 && memcmp(got, toks, 5 * sizeof *toks) == 0,
	    "load it into a fresh cache: the same 5 tokens");
	free(got);
	got = NULL;
	fwd_eval(f, &next, 1, 5, a, 0);
	fwd_eval(g, &next, 1, 5, b, 0);
	ok(memcmp(a, b, sizeof a) == 0, "the next token's logits are "
	    "identical with the restored cache");
	size = file_size(path);
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		long	cut = cases[i].cut == -2 ? size - 1 : cases[i].cut ==
			    -3 ? size / 2 : -1;
		long	before;

		corrupt(path, bad, cut, cases[i].flip, cases[i].ver);
		before = file_size(bad);
		free(cause);
		cause = NULL;
		r = kvsnap_load(m, g, bad, &got, &n, &cause);
		ok(r != 0 && cause != NULL && file_size(bad) == before,
		    "snapshot %s: refused (%s), file kept", cases[i].what,
		    cause != NULL ? cause : "loaded!");
		free(got);
		got = NULL;
	}
	unlink(bad);
	unlink(path);
	free(cause);
	fwd_free(g);
}

/* Issue 17 item 5: general.alignment = 1 is valid, and leaves tensors at
 * odd addresses; the model's weights must still be aligned for the
 * kernels (a misaligned float load is undefined, UBSan aborts) and give
 * the same logits. */
static void
test_align1(const char *dir, const float *want_logits)
{
	struct variant	 v = { .align = 1 };
	struct gguf	*g;
	struct model	*m;
	struct fwd	*f;
	char		 path[256], *cause = NULL;
	int32_t		 toks[5] = { 1, 7, 9, 30, 2 };
	float		 logits[NV];
	uint64_t	 i, odd = 0;
	uint32_t	 il;
	int		 aligned = 1;

	snprintf(path, sizeof path, "%s/a1.gguf", dir);
	ok(build(path, &v, &cause) == 0, "write the model with alignment 1");
	if ((g = gguf_open(path, &cause)) != NULL) {
		for (i = 0; i < g->n_tensors; i++)
			odd += (uintptr_t)g->tensors[i].data % 4 != 0;
		gguf_close(g);
	}
	ok(odd > 0, "%llu of its tensors lie at addresses that are not a "
	    "multiple of 4", (unsigned long long)odd);
	m = model_load(path, &cause);
	ok(m != NULL, "it loads: %s", m != NULL ? "ok" : cause);
	if (m == NULL)
		goto out;
#define AL(t) ((uintptr_t)(t).data % 32 == 0)
	aligned = AL(m->tok_embd) && AL(m->output);
	for (il = 0; il < m->hp.n_layer; il++) {
		struct layer	*l = &m->layers[il];

		aligned = aligned && AL(l->wq) && AL(l->wk) && AL(l->wv) &&
		    AL(l->wo) && AL(l->w_gate) && AL(l->w_up) &&
		    AL(l->w_down);
	}
#undef AL
	ok(aligned, "every weight the kernels read is 32-byte aligned");
	f = fwd_new(m, 16, 2, 0, &cause);
	ok(f != NULL && fwd_eval(f, toks, 5, 0, logits, 0) == FWD_OK &&
	    memcmp(logits, want_logits, sizeof logits) == 0,
	    "a forward pass gives the logits of the aligned file");
	fwd_free(f);
	model_free(m);
out:
	free(cause);
	unlink(path);
}

int
main(void)
{
	char		 dir[] = "/tmp/yt-model-XXXXXX", path[256];
	struct variant	 good = { 0 };
	struct model	*m;
	struct fwd	*f;
	char		*cause = NULL;
	int32_t		 toks[5] = { 1, 7, 9, 30, 2 };
	float		 logits[NV], good_logits[NV];
	size_t		 i;
	uint32_t	 seed = 12345;

	qt_init();
	for (i = 0; i < sizeof weights / sizeof weights[0]; i++) {
		seed = seed * 1103515245u + 12345u;
		weights[i] = ((seed >> 9) / 8388608.0f - 0.5f) * 0.2f + 0.5f *
		    (i % E == 0);
	}
	if (mkdtemp(dir) == NULL)
		skip_all("no temporary directory");
	snprintf(path, sizeof path, "%s/m.gguf", dir);

	ok(build(path, &good, &cause) == 0, "write a tiny model: %s",
	    cause != NULL ? cause : "ok");
	m = model_load(path, &cause);
	ok(m != NULL, "it loads: %s", m != NULL ? "ok" : cause);
	if (m != NULL) {
		ok(m->tied_output && m->hp.rope_base == 10000.0f &&
		    m->hp.head_dim == E / H,
		    "defaults: tied output, rope base 10000, head dim %u",
		    m->hp.head_dim);
		ok(m->aligned == NULL, "with the default alignment the "
		    "weights are used where they are mapped (no copies)");
		f = fwd_new(m, 16, 2, 0, &cause);
		ok(f != NULL && fwd_eval(f, toks, 5, 0, logits, 0) == FWD_OK,
		    "and runs a forward pass");
		memcpy(good_logits, logits, sizeof logits);
		if (f != NULL)
			test_snapshots(m, f, toks, dir);
		ok(f != NULL && fwd_eval(f, toks, 1, 16, logits, 0) ==
		    FWD_ERR, "a position past the context is refused");
		toks[0] = NV;
		ok(f != NULL && fwd_eval(f, toks, 1, 0, logits, 0) == FWD_ERR,
		    "a token id past the vocabulary is refused");
		fwd_free(f);
		model_free(m);
	}
	free(cause);
	cause = NULL;
	test_align1(dir, good_logits);

	for (i = 0; i < sizeof variants / sizeof variants[0]; i++) {
		const struct variant	*v = &variants[i];

		if (build(path, v, &cause) != 0) {
			ok(0, "%s: write: %s", v->what, cause);
			free(cause);
			cause = NULL;
			continue;
		}
		m = model_load(path, &cause);
		ok(m == NULL && cause != NULL && strstr(cause, v->expect) !=
		    NULL, "%s: refused (%s)", v->what,
		    cause != NULL ? cause : "loaded!");
		model_free(m);
		free(cause);
		cause = NULL;
	}
	unlink(path);
	rmdir(dir);
	return tap_done();
}
