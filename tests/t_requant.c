/*
 * Tests for engine/requant.c: requantizing ktest-F16.gguf and
 * stories260K.gguf reproduces the files llama.cpp's quantizer wrote, byte
 * for byte; llama.cpp's per-tensor rules on synthetic layouts (32 and 80
 * layers, tied output, short rows); failures leave no file behind.
 */
#include "config.h"

#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/gguf.h"
#include "engine/gguf_write.h"
#include "engine/quant.h"
#include "engine/requant.h"
#include "tests/tap.h"

static char	tmpdir[] = "/tmp/t_requant.XXXXXX";

static void *
slurp(const char *path, size_t *len)
{
	FILE	*f = fopen(path, "rb");
	char	*p = NULL;
	long	 n;

	*len = 0;
	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (p = malloc((size_t)n + 1)) != NULL &&
	    fread(p, 1, (size_t)n, f) == (size_t)n)
		*len = (size_t)n;
	else {
		free(p);
		p = NULL;
	}
	fclose(f);
	return p;
}

/* 1 if the two files hold the same bytes; says where they differ. */
static int
same_file(const char *a, const char *b)
{
	size_t	 la, lb, i;
	char	*pa = slurp(a, &la), *pb = slurp(b, &lb);
	int	 same = pa != NULL && pb != NULL && la == lb &&
		    memcmp(pa, pb, la) == 0;

	if (!same && pa != NULL && pb != NULL) {
		for (i = 0; i < la && i < lb && pa[i] == pb[i]; i++)
			;
		diag("%zu vs %zu bytes, first difference at %zu", la, lb, i);
	}
	free(pa);
	free(pb);
	return same;
}

static int
run(const char *in, const char *out, const char *type, int pure, int mix,
    int threads, char **cause)
{
	struct requant_opts	o;
	struct requant_stats	st;

	memset(&o, 0, sizeof o);
	if ((o.ftype = requant_ftype(type)) == NULL)
		return -1;
	o.pure = pure;
	o.mix = mix;
	o.threads = threads;
	*cause = NULL;
	return requant_file(in, out, &o, &st, cause);
}

static void
check_same(const char *in, const char *type, int pure, int mix,
    const char *want, int threads)
{
	char	 out[256], *cause;

	snprintf(out, sizeof out, "%s/out.gguf", tmpdir);
	unlink(out);
	if (run(in, out, type, pure, mix, threads, &cause) != 0) {
		ok(0, "%s%s: %s", type, mix ? " (mix)" : "", cause);
		free(cause);
		return;
	}
	ok(same_file(out, want), "%s%s on %d threads: the bytes of %s", type,
	    mix ? " (mix)" : "", threads, strrchr(want, '/') + 1);
}

static void
test_ktest(const char *td)
{
	static const char *const pure[] = { "F32", "BF16", "Q8_0", "Q4_0",
	    "Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K" };
	static const char *const mix[] = { "Q2_K", "Q3_K_M", "Q4_K_M",
	    "Q5_K_M" };
	char	in[512], want[512];
	size_t	i;

	snprintf(in, sizeof in, "%s/models/ktest/ktest-F16.gguf", td);
	for (i = 0; i < sizeof pure / sizeof pure[0]; i++) {
		snprintf(want, sizeof want, "%s/models/ktest/ktest-%s.gguf",
		    td, pure[i]);
		check_same(in, pure[i], 0, 0, want, 2);
	}
	for (i = 0; i < sizeof mix / sizeof mix[0]; i++) {
		snprintf(want, sizeof want,
		    "%s/models/ktest/ktest-mix-%s.gguf", td, mix[i]);
		check_same(in, mix[i], 0, strcmp(mix[i], "Q2_K") == 0, want,
		    2);
	}
	snprintf(want, sizeof want, "%s/models/ktest/ktest-mix-Q4_K_M.gguf",
	    td);
	check_same(in, "Q4_K_M", 0, 0, want, 1);
	snprintf(want, sizeof want, "%s/models/ktest/ktest-Q4_K.gguf", td);
	check_same(in, "Q4_K_M", 1, 0, want, 2);
	/* A quantized source in its own type is copied, not requantized. */
	snprintf(in, sizeof in, "%s/models/ktest/ktest-Q8_0.gguf", td);
	snprintf(want, sizeof want, "%s/models/ktest/ktest-Q8_0.gguf", td);
	check_same(in, "Q8_0", 0, 0, want, 2);
}

/* llama_model_quantize's defaults (not --pure) on an F32 model whose rows
 * of 64 and 172 need every fallback. */
static void
test_stories(const char *td)
{
	static const char *const types[] = { "Q8_0", "Q4_0", "F16" };
	char	in[512], want[512];
	size_t	i;

	snprintf(in, sizeof in, "%s/models/stories260K.gguf", td);
	for (i = 0; i < sizeof types / sizeof types[0]; i++) {
		snprintf(want, sizeof want,
		    "%s/models/derived/stories260K-%s.gguf", td, types[i]);
		check_same(in, types[i], 0, 1, want, 2);
	}
}

/* Requantizing Q8_0 to Q4_0 is dequantize, then quantize. */
static void
test_requant(const char *td)
{
	const struct gguf_tensor	*a, *b;
	struct gguf			*src, *dst;
	char				 in[512], out[256], *cause;
	float				*f;
	void				*q;
	int64_t				 n;

	snprintf(in, sizeof in, "%s/models/ktest/ktest-Q8_0.gguf", td);
	snprintf(out, sizeof out, "%s/rq.gguf", tmpdir);
	if (run(in, out, "Q4_0", 0, 0, 2, &cause) != 0) {
		ok(0, "Q8_0 -> Q4_0: %s", cause);
		free(cause);
		return;
	}
	src = gguf_open(in, &cause);
	dst = gguf_open(out, &cause);
	if (src == NULL || dst == NULL) {
		ok(0, "open the requantized file");
		return;
	}
	a = gguf_find_tensor(src, "blk.1.ffn_down.weight");
	b = gguf_find_tensor(dst, "blk.1.ffn_down.weight");
	if (a == NULL || b == NULL) {
		ok(0, "find blk.1.ffn_down.weight");
		return;
	}
	n = a->ne[0] * a->ne[1];
	f = malloc((size_t)n * sizeof *f);
	q = malloc(b->nbytes);
	qt_get(QT_Q8_0)->to_f32_ref(a->data, f, n);
	qt_quantize_weights(QT_Q4_0, f, q, n);
	ok(b->type == QT_Q4_0 && memcmp(q, b->data, b->nbytes) == 0,
	    "Q8_0 -> Q4_0: quantize(dequantize(Q8_0)), byte for byte");
	b = gguf_find_tensor(dst, "blk.1.ffn_norm.weight");
	ok(b != NULL && b->type == QT_F32, "and the norms stay F32");
	free(f);
	free(q);
	gguf_close(src);
	gguf_close(dst);
}

/* ---------------------------------------------------------------------- */

/* A synthetic model in memory: n_layer layers of small F16 matrices
 * (rows of ne0, ffn_down rows of down0), output.weight unless tied. */
static struct gguf *
synth(int n_layer, int n_head, int n_head_kv, int64_t ne0, int64_t down0,
    int tied, void **buf)
{
	static const char *const mats[] = { "attn_q", "attn_k", "attn_v",
	    "attn_output", "ffn_gate", "ffn_up" };
	static uint16_t	 zero[4096];
	struct gguf_w	*w = gguf_w_new();
	struct gguf	*g;
	char		 name[64], *cause = NULL;
	int64_t		 ne[2] = { ne0, 2 }, nd[2] = { down0, 2 };
	size_t		 len, j;
	int		 il;

	gguf_w_str(w, "general.architecture", "llama");
	gguf_w_u32(w, "llama.block_count", (uint32_t)n_layer);
	gguf_w_u32(w, "llama.attention.head_count", (uint32_t)n_head);
	gguf_w_u32(w, "llama.attention.head_count_kv", (uint32_t)n_head_kv);
	gguf_w_u32(w, "general.file_type", 1);
	gguf_w_tensor(w, "token_embd.weight", QT_F16, 2, ne, zero);
	for (il = n_layer - 1; il >= 0; il--) {
		for (j = 0; j < sizeof mats / sizeof mats[0]; j++) {
			snprintf(name, sizeof name, "blk.%d.%s.weight", il,
			    mats[j]);
			gguf_w_tensor(w, name, QT_F16, 2, ne, zero);
		}
		snprintf(name, sizeof name, "blk.%d.ffn_down.weight", il);
		gguf_w_tensor(w, name, QT_F16, 2, nd, zero);
		snprintf(name, sizeof name, "blk.%d.attn_norm.weight", il);
		gguf_w_tensor(w, name, QT_F32, 1, ne, zero);
	}
	if (!tied)
		gguf_w_tensor(w, "output.weight", QT_F16, 2, ne, zero);
	if (gguf_w_write_mem(w, buf, &len, &cause) != 0) {
		gguf_w_free(w);
		free(cause);
		return NULL;
	}
	gguf_w_free(w);
	g = gguf_open_mem(*buf, len, &cause);
	free(cause);
	return g;
}

struct plan {
	struct gguf	*g;
	void		*buf;
	size_t		*order;
	uint32_t	*types;
	size_t		 n_fallback;
};

static int
plan(struct plan *p, int n_layer, int n_head, int n_head_kv, int64_t ne0,
    int64_t down0, int tied, const char *type, int mix)
{
	struct requant_opts	 o;
	char			*cause = NULL;
	int			 rc;

	memset(p, 0, sizeof *p);
	memset(&o, 0, sizeof o);
	o.ftype = requant_ftype(type);
	o.mix = mix;
	if ((p->g = synth(n_layer, n_head, n_head_kv, ne0, down0, tied,
	    &p->buf)) == NULL)
		return -1;
	p->order = calloc(p->g->n_tensors, sizeof *p->order);
	p->types = calloc(p->g->n_tensors, sizeof *p->types);
	rc = requant_types(p->g, &o, p->order, p->types, &p->n_fallback,
	    &cause);
	if (rc != 0)
		diag("%s", cause);
	free(cause);
	return rc;
}

static void
plan_free(struct plan *p)
{
	if (p->g != NULL)
		gguf_close(p->g);
	free(p->buf);
	free(p->order);
	free(p->types);
}

/* The type planned for tensor name, or -1. */
static int
type_of(const struct plan *p, const char *name)
{
	size_t	i;

	for (i = 0; i < p->g->n_tensors; i++)
		if (strcmp(p->g->tensors[p->order[i]].name, name) == 0)
			return (int)p->types[i];
	return -1;
}

/* The layers whose tensor "what" has type t, as "0,1,4". */
static void
layers_with(const struct plan *p, int n_layer, const char *what, int t,
    char *s, size_t len)
{
	char	name[64];
	size_t	k = 0;
	int	il;

	s[0] = '\0';
	for (il = 0; il < n_layer && k < len; il++) {
		snprintf(name, sizeof name, "blk.%d.%s.weight", il, what);
		if (type_of(p, name) == t)
			k += (size_t)snprintf(s + k, len - k, "%s%d",
			    k ? "," : "", il);
	}
}

static void
test_rules(void)
{
	struct plan	p;
	char		s[512];
	int		ordered;

	if (plan(&p, 32, 32, 8, 256, 256, 0, "Q4_K_M", 0) != 0) {
		ok(0, "plan a 32-layer Q4_K_M");
		return;
	}
	ordered = strcmp(p.g->tensors[p.order[0]].name, "output.weight") == 0 &&
	    strcmp(p.g->tensors[p.order[1]].name, "token_embd.weight") == 0 &&
	    strcmp(p.g->tensors[p.order[2]].name,
	    "blk.0.attn_k.weight") == 0 &&
	    strcmp(p.g->tensors[p.order[2 + 8 * 10]].name,
	    "blk.10.attn_k.weight") == 0;
	ok(ordered, "order: output, token_embd, then by layer number and name");
	layers_with(&p, 32, "attn_v", QT_Q6_K, s, sizeof s);
	ok(strcmp(s, "0,1,2,3,6,9,12,15,18,21,24,27,28,29,30,31") == 0,
	    "Q4_K_M: attn_v Q6_K in layers %s", s);
	layers_with(&p, 32, "ffn_down", QT_Q6_K, s, sizeof s);
	ok(strcmp(s, "0,1,2,3,6,9,12,15,18,21,24,27,28,29,30,31") == 0,
	    "Q4_K_M: ffn_down Q6_K in layers %s", s);
	ok(type_of(&p, "output.weight") == QT_Q6_K &&
	    type_of(&p, "token_embd.weight") == QT_Q4_K &&
	    type_of(&p, "blk.5.attn_q.weight") == QT_Q4_K &&
	    type_of(&p, "blk.5.attn_norm.weight") == QT_F32,
	    "Q4_K_M: output Q6_K, token_embd and the rest Q4_K, norms F32");
	plan_free(&p);

	plan(&p, 32, 32, 8, 256, 256, 1, "Q4_K_M", 0);
	ok(type_of(&p, "token_embd.weight") == QT_Q6_K,
	    "tied embeddings: token_embd takes the output's Q6_K");
	plan_free(&p);

	plan(&p, 32, 32, 8, 256, 256, 0, "Q3_K_M", 0);
	layers_with(&p, 32, "attn_v", QT_Q5_K, s, sizeof s);
	ok(strcmp(s, "0,1") == 0 &&
	    type_of(&p, "blk.9.attn_v.weight") == QT_Q4_K &&
	    type_of(&p, "blk.9.attn_output.weight") == QT_Q4_K &&
	    type_of(&p, "blk.1.ffn_down.weight") == QT_Q5_K &&
	    type_of(&p, "blk.2.ffn_down.weight") == QT_Q4_K &&
	    type_of(&p, "blk.9.ffn_up.weight") == QT_Q3_K,
	    "Q3_K_M: attn_v Q5_K in layers %s, then Q4_K; ffn_down Q5_K "
	    "below n/16", s);
	plan_free(&p);

	plan(&p, 32, 32, 8, 256, 256, 0, "Q2_K", 1);
	ok(type_of(&p, "blk.3.attn_v.weight") == QT_Q4_K &&
	    type_of(&p, "blk.3.ffn_down.weight") == QT_Q3_K &&
	    type_of(&p, "blk.3.attn_q.weight") == QT_Q2_K,
	    "Q2_K mix with 4 queries per KV head: attn_v Q4_K");
	plan_free(&p);

	plan(&p, 32, 32, 8, 256, 256, 0, "Q4_K_S", 0);
	layers_with(&p, 32, "attn_v", QT_Q5_K, s, sizeof s);
	ok(strcmp(s, "0,1,2,3") == 0, "Q4_K_S: attn_v Q5_K in layers %s", s);
	plan_free(&p);

	plan(&p, 80, 64, 8, 256, 256, 0, "Q4_K_S", 0);
	ok(type_of(&p, "blk.79.attn_v.weight") == QT_Q5_K &&
	    type_of(&p, "blk.40.attn_v.weight") == QT_Q5_K &&
	    type_of(&p, "blk.40.attn_q.weight") == QT_Q4_K,
	    "an 80-layer GQA llama (70B): every attn_v Q5_K");
	plan_free(&p);

	/* Rows of 96: K types fall back to the 32-block ones; rows of 48
	 * fit none, so F16. */
	plan(&p, 4, 4, 4, 96, 48, 0, "Q4_K_M", 0);
	ok(type_of(&p, "blk.0.attn_q.weight") == QT_Q5_0 &&
	    type_of(&p, "blk.0.attn_v.weight") == QT_Q5_0 &&
	    type_of(&p, "blk.2.attn_v.weight") == QT_Q8_0 &&
	    type_of(&p, "output.weight") == QT_Q8_0 &&
	    type_of(&p, "blk.2.ffn_down.weight") == QT_F16,
	    "short rows: Q4_K -> Q5_0, Q6_K -> Q8_0, no fit -> F16");
	ok(p.n_fallback == 4 * 7 + 1, "and %zu fallbacks are counted",
	    p.n_fallback);
	plan_free(&p);

	if (plan(&p, 4, 4, 4, 256, 256, 0, "Q5_K", 0) == 0)
		ok(type_of(&p, "output.weight") == QT_Q5_K &&
		    type_of(&p, "blk.0.attn_v.weight") == QT_Q5_K,
		    "a plain type is pure: output.weight Q5_K too");
	plan_free(&p);
}

/* ---------------------------------------------------------------------- */

/* 1 if the directory holds nothing but the names given. */
static int
dir_clean(const char *dir, const char *keep)
{
	struct dirent	*e;
	DIR		*d = opendir(dir);
	int		 clean = 1;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 ||
		    strcmp(e->d_name, "..") == 0 ||
		    strstr(keep, e->d_name) != NULL)
			continue;
		diag("left behind: %s", e->d_name);
		clean = 0;
	}
	closedir(d);
	return clean;
}

static void
test_errors(const char *td)
{
	static float	 m[256 * 2];
	struct gguf_w	*w;
	char		 in[512], out[256], *cause = NULL;
	int64_t		 ne[2] = { 256, 2 };
	int		 rc;

	ok(requant_ftype("Q4_K_M") != NULL && requant_ftype("q4_k_m") != NULL &&
	    requant_ftype("IQ2_XXS") == NULL && requant_ftype("Q4_K_X") == NULL,
	    "type names: llama-quantize's, any case; others unknown");

	snprintf(in, sizeof in, "%s/models/ktest/ktest-F16.gguf", td);
	snprintf(out, sizeof out, "%s/no/such/dir/out.gguf", tmpdir);
	rc = run(in, out, "Q4_0", 0, 0, 2, &cause);
	ok(rc == -1 && cause != NULL && strstr(cause, out) != NULL,
	    "an output in a missing folder fails: %s", cause);
	free(cause);

	snprintf(in, sizeof in, "%s/tokenizer/ggml-vocab-llama-spm.gguf", td);
	snprintf(out, sizeof out, "%s/vocab.gguf", tmpdir);
	rc = run(in, out, "Q4_0", 0, 0, 2, &cause);
	ok(rc == -1 && cause != NULL && strstr(cause, "not a model") != NULL,
	    "a vocabulary-only GGUF is not a model: %s", cause);
	free(cause);

	snprintf(in, sizeof in, "%s/tokenizer/llama3-extra.inp", td);
	rc = run(in, out, "Q4_0", 0, 0, 2, &cause);
	ok(rc == -1 && cause != NULL && strstr(cause, in) != NULL,
	    "a text file is refused: %s", cause);
	free(cause);

	/* A NaN in the middle of a matrix: refused while writing. */
	m[256 + 7] = NAN;
	w = gguf_w_new();
	gguf_w_str(w, "general.architecture", "llama");
	gguf_w_u32(w, "llama.block_count", 1);
	gguf_w_tensor(w, "blk.0.attn_q.weight", QT_F32, 2, ne, m);
	snprintf(in, sizeof in, "%s/nan.gguf", tmpdir);
	cause = NULL;
	rc = gguf_w_write(w, in, &cause);
	gguf_w_free(w);
	free(cause);
	cause = NULL;
	if (rc == 0)
		rc = run(in, out, "Q8_0", 0, 0, 2, &cause);
	ok(rc == -1 && cause != NULL && strstr(cause, "row 1") != NULL,
	    "a NaN is refused: %s", cause);
	free(cause);
	ok(access(out, F_OK) == -1 && dir_clean(tmpdir, "out.gguf rq.gguf "
	    "nan.gguf"), "and no output file is left behind");
}

int
main(void)
{
	const char	*td = tap_testdata();
	char		 probe[512], path[512];

	snprintf(probe, sizeof probe, "%s/models/ktest/ktest-F16.gguf", td);
	if (access(probe, R_OK) != 0)
		skip_all("no ktest models in the test data");
	if (mkdtemp(tmpdir) == NULL) {
		printf("Bail out! mkdtemp\n");
		return 1;
	}
	test_ktest(td);
	test_stories(td);
	test_requant(td);
	test_rules();
	test_errors(td);
	snprintf(path, sizeof path, "%s/out.gguf", tmpdir);
	unlink(path);
	snprintf(path, sizeof path, "%s/rq.gguf", tmpdir);
	unlink(path);
	snprintf(path, sizeof path, "%s/nan.gguf", tmpdir);
	unlink(path);
	rmdir(tmpdir);
	return tap_done();
}
