/*
 * LoRA adapters (engine/lora.c): a GGUF adapter written here for a small
 * model against llama.cpp's distributions with the same adapter
 * (tests/data/ref/make.sh), by batch and token by token; merged against
 * on the fly; scale 0 against the base model; a PEFT folder of the same
 * numbers against the GGUF adapter; broken adapters refused.
 *   t_lora --write CASE OUT.gguf	writes CASE's adapter (make.sh) and
 *					prints its model and scale
 *   t_lora --write-for MODEL RANK OUT.gguf
 *					a random F16 adapter of that rank on
 *					every matrix of MODEL (for timing)
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/forward.h"
#include "engine/lora.h"
#include "engine/model.h"
#include "engine/quant.h"
#include "engine/requant.h"
#include "common/util.h"
#include "tests/lora_tb.h"
#include "tests/ref_tb.h"
#include "tests/tap.h"

struct lora_case {
	const char	*name;
	const char	*model;		/* under testdata/models */
	struct lora_gen	 gen;
	float		 scale;
	const char	*tokens;	/* under tests/data */
	const char	*probs;
	double		 merged_kl;	/* merged vs on the fly: a quantized
					 * base is quantized again once merged,
					 * which rounds once more */
};

static const struct lora_case cases[] = {
	{ "stories", "stories260K.gguf", { QT_F32, 4, 8.0f, 1, 1, LB_NONE, 0.1f, { 0, 0 } },
	    0.75f, "ref/stories-b.tokens.json",
	    "ref/stories260K-lora-b.probs.f32", 1e-6 },
	{ "ktest", "ktest/ktest-Q8_0.gguf",
	    { QT_F16, 8, 16.0f, 2, 0, LB_NONE, 0.05f, { 0, 0 } }, 1.0f,
	    "ref/ktest-b.tokens.json", "ref/ktest-Q8_0-lora-b.probs.f32",
	    5e-3 },
	/* Repacked at load (Q4_0 with AVX2), merged and repacked again. */
	{ "ktest4", "ktest/ktest-Q4_0.gguf",
	    { QT_F32, 8, 4.0f, 5, 1, LB_NONE, 0.05f, { 0, 0 } }, 0.8f,
	    "ref/ktest-b.tokens.json", "ref/ktest-Q4_0-lora-b.probs.f32",
	    5e-3 },
};

/* The limit for llama.cpp against us with an adapter. */
#define LORA_KL_MAX	1e-5

static char	tmpdir[] = "/tmp/t_lora.XXXXXX";
static size_t	m_vocab;	/* of the case's model */

static char *
data_path(const char *sub)
{
	char	*p, *dot, *alt;

	if (asprintf(&p, "%s/tests/data/%s", SRCDIR, sub) < 0)
		abort();
	/* The AVX2 paths take llama.cpp's AVX2 build's values if kept. */
	if (!qt_vnni() && (dot = strstr(p, ".probs.f32")) != NULL) {
		if (asprintf(&alt, "%.*s.avx2.probs.f32", (int)(dot - p),
		    p) < 0)
			abort();
		if (access(alt, R_OK) == 0) {
			free(p);
			return alt;
		}
		free(alt);
	}
	return p;
}

static char *
model_path(const char *sub)
{
	char	*p;

	if (asprintf(&p, "%s/models/%s", tap_testdata(), sub) < 0)
		abort();
	return p;
}

/* Distributions of every prefix: one batch, or token by token. */
static float *
probs_of(const struct model *m, const int32_t *ids, long n, int one)
{
	struct fwd	*f;
	float		*lg;
	size_t		 V = m->hp.n_vocab, t, i;
	int		 r = FWD_OK;

	if ((f = fwd_new(m, (uint32_t)n, 2, 0, NULL)) == NULL)
		return NULL;
	lg = malloc((size_t)n * V * sizeof *lg);
	if (one)
		for (t = 0; t < (size_t)n && r == FWD_OK; t++)
			r = fwd_eval(f, ids + t, 1, (uint32_t)t, lg + t * V,
			    0);
	else
		r = fwd_eval(f, ids, (size_t)n, 0, lg, FWD_ALL_LOGITS);
	fwd_free(f);
	if (r != FWD_OK) {
		free(lg);
		return NULL;
	}
	for (t = 0; t < (size_t)n; t++) {
		float	*v = lg + t * V, mx = v[0];
		double	 sum = 0.0;

		for (i = 1; i < V; i++)
			if (v[i] > mx)
				mx = v[i];
		for (i = 0; i < V; i++)
			sum += exp((double)v[i] - mx);
		for (i = 0; i < V; i++)
			v[i] = (float)(exp((double)v[i] - mx) / sum);
	}
	return lg;
}

/* Mean KL(p || q) over n rows of V. */
static double
mean_kl(const float *p, const float *q, long n, size_t V)
{
	double	kl = 0.0;
	size_t	i;
	long	t;

	for (t = 0; t < n; t++)
		for (i = 0; i < V; i++) {
			double	a = p[t * V + i], b = q[t * V + i];

			if (a > 0.0)
				kl += a * log(a / (b > 1e-30 ? b : 1e-30));
		}
	return kl / (double)n;
}

/* The model with one adapter; NULL and a diagnostic on failure. */
static struct model *
load_with(const char *mp, const char *ap, float scale, int merge,
    char **why)
{
	struct model	*m;
	char		*c = NULL;

	if ((m = model_load(mp, &c)) == NULL ||
	    lora_attach(m, ap, scale, &c) != 0 ||
	    (merge && lora_merge(m, &c) != 0)) {
		if (why != NULL)
			*why = c;
		else {
			diag("%s + %s: %s", mp, ap, c);
			free(c);
		}
		model_free(m);
		return NULL;
	}
	return m;
}

/* quantize --lora: adapter ap merged into a file of type tname; the
 * distributions of ids under it (caller frees), or NULL. */
static float *
quantize_probs(const struct lora_case *c, const char *mp, const char *ap,
    const char *tname, const int32_t *ids, long n)
{
	struct requant_opts	 o;
	struct requant_stats	 st;
	struct model		*m;
	char			 out[1100], *cause = NULL;
	float			*p2 = NULL;
	int			 rc;

	memset(&o, 0, sizeof o);
	o.ftype = requant_ftype(tname);
	o.pure = 1;
	o.threads = 2;
	snprintf(out, sizeof out, "%s/%s-merged.gguf", tmpdir, c->name);
	if ((m = model_load_flags(mp, MODEL_NO_REPACK, NULL)) == NULL ||
	    lora_attach(m, ap, c->scale, NULL) != 0) {
		model_free(m);
		return NULL;
	}
	lora_requant_hooks(&o, m);
	rc = requant_file(mp, out, &o, &st, &cause);
	model_free(m);
	if (rc == 0 && (m = model_load(out, NULL)) != NULL) {
		p2 = probs_of(m, ids, n, 0);
		model_free(m);
	}
	if (cause != NULL)
		diag("%s", cause);
	free(cause);
	return p2;
}

static void
quantize_case(const struct lora_case *c, const char *mp, const char *ap,
    const int32_t *ids, long n, const float *p1)
{
	const char	*tname = strstr(c->model, "Q4_0") != NULL ? "Q4_0" :
			    c->gen.type == QT_F32 ? "F32" : "Q8_0";
	float		*p2 = quantize_probs(c, mp, ap, tname, ids, n);

	ok(p2 != NULL && mean_kl(p1, p2, n, m_vocab) < c->merged_kl,
	    "%s: quantize --lora %s against on the fly: mean KL %.3g",
	    c->name, tname, p2 != NULL ? mean_kl(p1, p2, n, m_vocab) : -1.0);
	free(p2);
}

/* Swap columns a and b of n rows of V. */
static void
swap_cols(float *p, long n, size_t V, int a, int b)
{
	float	v;
	long	t;

	for (t = 0; t < n; t++) {
		v = p[t * V + a];
		p[t * V + a] = p[t * V + b];
		p[t * V + b] = v;
	}
}

/*
 * modules_to_save: the folder's embed_tokens and lm_head replace the
 * model's.  Written as the model's own with rows a and b swapped, they
 * give on a sequence with a and b swapped the distributions the GGUF
 * adapter gives on the sequence, with a and b swapped.
 */
static void
peft_full_case(const struct lora_case *c, const struct model *base,
    const int32_t *ids, long n)
{
	struct lora_gen	 g = c->gen;
	struct model	*m;
	char		 pd[1100], ap[1100];
	int32_t		*sw = malloc((size_t)n * sizeof *sw);
	float		*p1 = NULL, *p2 = NULL;
	size_t		 V = base->hp.n_vocab;
	long		 i;

	/* The pairs without the output's, which PEFT would not have
	 * beside a whole lm_head. */
	g.output = 0;
	snprintf(ap, sizeof ap, "%s/%s-noout.gguf", tmpdir, c->name);
	if (lora_tb_write_gguf(base, &g, ap) == 0 &&
	    (m = load_with(base->path, ap, c->scale, 0, NULL)) != NULL) {
		p1 = probs_of(m, ids, n, 0);
		model_free(m);
	}
	g.swap[0] = ids[1];
	g.swap[1] = ids[1] == 7 ? 8 : 7;
	for (i = 0; i < n; i++)
		sw[i] = ids[i] == g.swap[0] ? g.swap[1] : ids[i] == g.swap[1] ?
		    g.swap[0] : ids[i];
	snprintf(pd, sizeof pd, "%s/%s-full", tmpdir, c->name);
	ok(lora_tb_write_peft(base, &g, pd, ",\n  \"modules_to_save\": "
	    "[\"embed_tokens\", \"lm_head\"]") == 0, "%s: write a PEFT "
	    "folder with modules_to_save", c->name);
	m = load_with(base->path, pd, c->scale, 0, NULL);
	if (m != NULL && (p2 = probs_of(m, sw, n, 0)) != NULL)
		swap_cols(p2, n, V, g.swap[0], g.swap[1]);
	ok(p1 != NULL && p2 != NULL && mean_kl(p1, p2, n, V) < 1e-9,
	    "%s: embed_tokens and lm_head replace the model's (KL %.3g)",
	    c->name, p1 != NULL && p2 != NULL ? mean_kl(p1, p2, n, V) :
	    -1.0);
	free(p2);
	/* quantize --lora writes them in. */
	if ((p2 = quantize_probs(c, base->path, pd, "F32", sw, n)) != NULL)
		swap_cols(p2, n, V, g.swap[0], g.swap[1]);
	ok(p1 != NULL && p2 != NULL && mean_kl(p1, p2, n, V) < c->merged_kl,
	    "%s: quantize --lora writes the whole embed_tokens and lm_head "
	    "(KL %.3g)", c->name, p1 != NULL && p2 != NULL ?
	    mean_kl(p1, p2, n, V) : -1.0);
	free(p1);
	free(p2);
	model_free(m);
	free(sw);
}

static void
run_case(const struct lora_case *c)
{
	char		*mp = model_path(c->model), *tp = data_path(c->tokens);
	char		*pp = data_path(c->probs), ap[1100], pd[1100];
	struct model	*base, *m;
	int32_t		*ids = NULL;
	float		*ref, *p0, *p1, *p2;
	long		 n;
	size_t		 V;

	snprintf(ap, sizeof ap, "%s/%s.gguf", tmpdir, c->name);
	if ((base = model_load(mp, NULL)) == NULL ||
	    (n = load_ids(tp, &ids)) <= 0) {
		ok(0, "%s: load the model and tokens", c->name);
		goto out;
	}
	V = m_vocab = base->hp.n_vocab;
	ok(lora_tb_write_gguf(base, &c->gen, ap) == 0, "%s: write the "
	    "adapter", c->name);
	ref = load_f32(pp, (size_t)n * V);
	p0 = probs_of(base, ids, n, 0);
	m = load_with(mp, ap, c->scale, 0, NULL);
	p1 = m != NULL ? probs_of(m, ids, n, 0) : NULL;
	if (!ok(ref != NULL && p0 != NULL && p1 != NULL, "%s: distributions "
	    "with the adapter", c->name))
		goto out2;
	ok(mean_kl(p0, p1, n, V) > 1e-3, "%s: the adapter changes them "
	    "(KL %.3g from the base)", c->name, mean_kl(p0, p1, n, V));
	ok(mean_kl(ref, p1, n, V) < LORA_KL_MAX, "%s: llama.cpp --lora "
	    "against us by batch: mean KL %.3g", c->name,
	    mean_kl(ref, p1, n, V));
	p2 = probs_of(m, ids, n, 1);
	ok(p2 != NULL && mean_kl(ref, p2, n, V) < LORA_KL_MAX, "%s: token by "
	    "token: mean KL %.3g", c->name, p2 != NULL ?
	    mean_kl(ref, p2, n, V) : -1.0);
	free(p2);
	model_free(m);
	m = load_with(mp, ap, c->scale, 1, NULL);
	p2 = m != NULL ? probs_of(m, ids, n, 0) : NULL;
	ok(p2 != NULL && mean_kl(p1, p2, n, V) < c->merged_kl, "%s: merged "
	    "against on the fly: mean KL %.3g", c->name, p2 != NULL ?
	    mean_kl(p1, p2, n, V) : -1.0);
	free(p2);
	model_free(m);
	quantize_case(c, mp, ap, ids, n, p1);
	m = load_with(mp, ap, 0.0f, 0, NULL);
	p2 = m != NULL ? probs_of(m, ids, n, 0) : NULL;
	ok(p2 != NULL && memcmp(p0, p2, (size_t)n * V * sizeof *p0) == 0,
	    "%s: scale 0 gives the base model exactly", c->name);
	free(p2);
	model_free(m);
	if (c->gen.type == QT_F32) {
		/* The same numbers in HF's layout: the same distributions. */
		snprintf(pd, sizeof pd, "%s/%s-peft", tmpdir, c->name);
		ok(lora_tb_write_peft(base, &c->gen, pd, NULL) == 0,
		    "%s: write the PEFT folder", c->name);
		m = load_with(mp, pd, c->scale, 0, NULL);
		p2 = m != NULL ? probs_of(m, ids, n, 0) : NULL;
		ok(p2 != NULL && memcmp(p1, p2, (size_t)n * V * sizeof *p1) ==
		    0, "%s: the PEFT folder gives the GGUF adapter's "
		    "distributions", c->name);
		free(p2);
		model_free(m);
		/* Whole F32 matrices compute as the model's only
		 * where those are F32 too. */
		if (base->output.type == QT_F32 &&
		    base->tok_embd.type == QT_F32)
			peft_full_case(c, base, ids, n);
	}
out2:
	free(ref);
	free(p0);
	free(p1);
out:
	model_free(base);
	free(ids);
	free(mp);
	free(tp);
	free(pp);
}

/* Broken adapters: refused with a sentence naming the problem. */
static void
bad_adapters(void)
{
	static const struct {
		enum lora_bad	 bad;
		const char	*want;
	} bads[] = {
		{ LB_SHAPE, "disagree on the rank" },
		{ LB_ARCH, "for architecture 'gpt2'" },
		{ LB_PAIR, "has no 'blk.1.ffn_up.weight.lora_b'" },
		{ LB_KIND, "key 'adapter.type' is 'ia3', expected 'lora'" },
		{ LB_NAME, "the model has no matrix 'blk.5.attn_q.weight'" },
		{ LB_TRANS, "do not fit the model's 'blk.0.attn_k.weight'" },
	};
	char		*mp = model_path("stories260K.gguf"), ap[1100];
	char		*why;
	struct model	*base, *m;
	struct lora_gen	 g = { QT_F32, 4, 8.0f, 3, 0, LB_NONE, 0.2f, { 0, 0 } };
	size_t		 i;

	if ((base = model_load(mp, NULL)) == NULL) {
		ok(0, "load stories260K");
		free(mp);
		return;
	}
	for (i = 0; i < sizeof bads / sizeof bads[0]; i++) {
		g.bad = bads[i].bad;
		snprintf(ap, sizeof ap, "%s/bad%zu.gguf", tmpdir, i);
		why = NULL;
		m = lora_tb_write_gguf(base, &g, ap) == 0 ?
		    load_with(mp, ap, 1.0f, 0, &why) : NULL;
		ok(m == NULL && why != NULL && strstr(why, bads[i].want) !=
		    NULL && strstr(why, ap) != NULL, "bad adapter %zu: %s",
		    i, why != NULL ? why : "(accepted)");
		model_free(m);
		free(why);
	}
	why = NULL;
	m = load_with(mp, mp, 1.0f, 0, &why);
	ok(m == NULL && why != NULL && strstr(why, "general.type") != NULL,
	    "a model given as an adapter: %s", why != NULL ? why : "?");
	free(why);
	model_free(base);
	free(mp);
}

/* PEFT's options: rsLoRA's scale, and those we refuse. */
static void
peft_options(void)
{
	static const struct {
		const char	*extra;
		const char	*want;
	} bads[] = {
		{ ",\n  \"use_dora\": true", "DoRA" },
		{ ",\n  \"modules_to_save\": [\"embed_tokens\", \"norm\"]",
		    "only embed_tokens and lm_head" },
		{ ",\n  \"peft_type\": \"IA3\"", "only LORA" },
	};
	char		*mp = model_path("stories260K.gguf"), ap[1100], pd[1100];
	char		*why;
	struct model	*base, *m1, *m2;
	struct lora_gen	 g = { QT_F32, 4, 16.0f, 4, 0, LB_NONE, 0.2f, { 0, 0 } };
	int32_t		 ids[8] = { 1, 5, 9, 30, 200, 7, 11, 3 };
	float		*p1 = NULL, *p2 = NULL;
	size_t		 i;

	if ((base = model_load(mp, NULL)) == NULL) {
		ok(0, "load stories260K");
		free(mp);
		return;
	}
	/* alpha 16 / r 4 = rsLoRA's 8 / sqrt(4). */
	snprintf(ap, sizeof ap, "%s/rs.gguf", tmpdir);
	snprintf(pd, sizeof pd, "%s/rs-peft", tmpdir);
	lora_tb_write_gguf(base, &g, ap);
	g.alpha = 8.0f;
	lora_tb_write_peft(base, &g, pd, ",\n  \"use_rslora\": true");
	m1 = load_with(mp, ap, 0.5f, 0, NULL);
	m2 = load_with(mp, pd, 0.5f, 0, NULL);
	if (m1 != NULL && m2 != NULL) {
		p1 = probs_of(m1, ids, 8, 0);
		p2 = probs_of(m2, ids, 8, 0);
	}
	ok(p1 != NULL && p2 != NULL && memcmp(p1, p2, 8 * base->hp.n_vocab *
	    sizeof *p1) == 0, "use_rslora scales by alpha / sqrt(r)");
	free(p1);
	free(p2);
	model_free(m1);
	model_free(m2);
	for (i = 0; i < sizeof bads / sizeof bads[0]; i++) {
		snprintf(pd, sizeof pd, "%s/bad-peft%zu", tmpdir, i);
		lora_tb_write_peft(base, &g, pd, bads[i].extra);
		why = NULL;
		m1 = load_with(mp, pd, 1.0f, 0, &why);
		ok(m1 == NULL && why != NULL && strstr(why, bads[i].want) !=
		    NULL, "bad PEFT folder %zu: %s", i, why != NULL ? why :
		    "(accepted)");
		model_free(m1);
		free(why);
	}
	model_free(base);
	free(mp);
}

/* PATH[:SCALE] */
static void
parse_args(void)
{
	char	*p = NULL, *c = NULL;
	float	 s;

	ok(util_lora_arg("a/b.gguf:0.5", &p, &s, NULL) == 0 &&
	    strcmp(p, "a/b.gguf") == 0 && s == 0.5f, "PATH:SCALE");
	free(p);
	ok(util_lora_arg("a:b/c", &p, &s, NULL) == 0 &&
	    strcmp(p, "a:b/c") == 0 && s == 1.0f, "a colon in the path");
	free(p);
	p = NULL;
	ok(util_lora_arg("x.gguf:1.5e", &p, &s, &c) == -1 && p == NULL &&
	    c != NULL && strstr(c, "bad scale") != NULL, "a bad scale");
	diag("%s", c != NULL ? c : "?");
	free(c);
}

static int
write_case(const char *name, const char *out)
{
	const struct lora_case	*c;
	struct model		*m;
	char			*mp;
	int			 rc;

	for (c = cases; c < cases + sizeof cases / sizeof cases[0]; c++) {
		if (strcmp(c->name, name) != 0)
			continue;
		mp = model_path(c->model);
		if ((m = model_load(mp, NULL)) == NULL)
			return 1;
		rc = lora_tb_write_gguf(m, &c->gen, out);
		printf("%s %g\n", c->model, c->scale);
		model_free(m);
		free(mp);
		return rc == 0 ? 0 : 1;
	}
	fprintf(stderr, "t_lora: no case %s\n", name);
	return 2;
}

/* An adapter for any model, for timing with bench --lora. */
static int
write_for(const char *mp, const char *rank, const char *out)
{
	struct lora_gen	 g = { QT_F16, 0, 0.0f, 9, 1, LB_NONE, 0.01f,
			    { 0, 0 } };
	struct model	*m;
	int		 rc;

	g.rank = atoi(rank);
	g.alpha = (float)g.rank;
	if (g.rank < 1 || (m = model_load_flags(mp, MODEL_NO_REPACK,
	    NULL)) == NULL)
		return 1;
	g.output = !m->tied_output;
	rc = lora_tb_write_gguf(m, &g, out);
	model_free(m);
	return rc == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	size_t	i;

	qt_init();
	if (argc == 4 && strcmp(argv[1], "--write") == 0)
		return write_case(argv[2], argv[3]);
	if (argc == 5 && strcmp(argv[1], "--write-for") == 0)
		return write_for(argv[2], argv[3], argv[4]);
	tap_need_testdata("models/stories260K.gguf");
	if (mkdtemp(tmpdir) == NULL)
		return 1;
	parse_args();
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
		run_case(&cases[i]);
	bad_adapters();
	peft_options();
	tap_rmtree(tmpdir);
	return tap_done();
}
