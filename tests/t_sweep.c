/*
 * Differential sweeps over every kernel path this CPU can run (default,
 * no repacking, no BLAS, and the same on the AVX2 kernels where the CPU
 * has AVX512-VNNI): for every model in the test data, the distribution
 * after [BOS, t] for every token t, and a random 513-token sequence in
 * batches of 27 (as the reference was made), then in one batch of every
 * size 1..70 and 511..513 (every tile and remainder).  Each path is checked against the scalar twin (the
 * _ref kernels), against itself at the other batch sizes (bit for bit),
 * and against llama.cpp v0.5.0 (tests/data/sweep, made by make.sh there):
 * the VNNI paths against its AVX-512 build, the others against its AVX2
 * build.  An argument limits the run to the models whose name holds it.
 */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/blas.h"
#include "engine/forward.h"
#include "engine/matmul.h"
#include "engine/model.h"
#include "engine/quant.h"
#include "tests/tap.h"

#define TOPK	8
#define SEQ_N	513

/* llama.cpp's rows (tests/data/sweep/ref.mjs): top-8 ids and probs. */
struct ref {
	uint32_t	 V, n_pair, n_seq;
	uint32_t	*pair, *seq;
	uint32_t	*ids;		/* (n_pair + n_seq) x TOPK */
	float		*p;
};

/* A kernel path: the switches that force it. */
struct path {
	const char	*name;
	int		 novnni, norepack, noblas;
};

static const struct path paths[] = {
	{ "default", 0, 0, 0 },
	{ "no-repack", 0, 1, 0 },
	{ "no-blas", 0, 0, 1 },
	{ "avx2", 1, 0, 0 },
	{ "avx2 no-repack", 1, 1, 0 },
	{ "avx2 no-blas", 1, 0, 1 },
};

static int
ref_load(const char *path, struct ref *r)
{
	FILE		*f;
	uint32_t	 h[4];
	size_t		 rows;
	int		 rc = -1;

	memset(r, 0, sizeof *r);
	if ((f = fopen(path, "rb")) == NULL)
		return -1;
	if (fread(h, sizeof h[0], 4, f) != 4 || h[0] != 0x57535459 ||
	    h[1] == 0 || h[2] > h[1] || h[3] != SEQ_N)
		goto out;
	r->V = h[1];
	r->n_pair = h[2];
	r->n_seq = h[3];
	rows = (size_t)r->n_pair + r->n_seq;
	r->pair = calloc(r->n_pair + 1, sizeof *r->pair);
	r->seq = calloc(r->n_seq, sizeof *r->seq);
	r->ids = calloc(rows * TOPK, sizeof *r->ids);
	r->p = calloc(rows * TOPK, sizeof *r->p);
	if (r->pair == NULL || r->seq == NULL || r->ids == NULL ||
	    r->p == NULL)
		abort();
	if (fread(r->pair, sizeof *r->pair, r->n_pair, f) != r->n_pair ||
	    fread(r->seq, sizeof *r->seq, r->n_seq, f) != r->n_seq)
		goto out;
	for (size_t i = 0; i < rows; i++)
		if (fread(r->ids + i * TOPK, 4, TOPK, f) != TOPK ||
		    fread(r->p + i * TOPK, 4, TOPK, f) != TOPK)
			goto out;
	rc = 0;
out:
	fclose(f);
	return rc;
}

static void
ref_free(struct ref *r)
{
	free(r->pair);
	free(r->seq);
	free(r->ids);
	free(r->p);
}

/*
 * Logits of every row, in the reference's order: the n_pair pairs, then
 * the n_seq prefixes of the sequence in one batch of n_seq tokens.
 */
static int
eval_rows(const struct model *m, const struct ref *r, float *out)
{
	struct fwd	*f;
	char		*cause = NULL;
	int32_t		 seq[SEQ_N];
	uint32_t	 V = m->hp.n_vocab, i;
	float		*two = NULL;
	int		 rc = -1;

	if ((f = fwd_new(m, SEQ_N + 8, 2, SEQ_N, &cause)) == NULL) {
		diag("fwd_new: %s", cause);
		free(cause);
		return -1;
	}
	for (i = 0; i < r->n_seq; i++)
		seq[i] = (int32_t)r->seq[i];
	/* [BOS, t] in one batch of two, as the reference evaluates it
	 * (llama.cpp takes another order for a lone token of float
	 * weights). */
	if ((two = malloc(2 * (size_t)V * sizeof *two)) == NULL)
		abort();
	for (i = 0; i < r->n_pair; i++) {
		int32_t	bt[2] = { seq[0], (int32_t)r->pair[i] };

		if (fwd_eval(f, bt, 2, 0, two, FWD_ALL_LOGITS) != FWD_OK)
			goto out;
		memcpy(out + (size_t)i * V, two + V, V * sizeof *two);
	}
	/* The sequence in batches of 27, as the reference was made: where
	 * llama.cpp's own numbers depend on the batch (its repacked gemm
	 * for rows in fours, its gemv for the rest), ours do the same. */
	for (i = 0; i < r->n_seq; i += 27)
		if (fwd_eval(f, seq + i, r->n_seq - i < 27 ? r->n_seq - i : 27,
		    i, out + ((size_t)r->n_pair + i) * V, FWD_ALL_LOGITS) !=
		    FWD_OK)
			goto out;
	rc = 0;
out:
	free(two);
	fwd_free(f);
	return rc;
}

static void
softmax(const float *v, uint32_t n, double *p)
{
	double		sum = 0.0, max = v[0];
	uint32_t	i;

	for (i = 1; i < n; i++)
		max = v[i] > max ? v[i] : max;
	for (i = 0; i < n; i++)
		sum += p[i] = exp((double)v[i] - max);
	for (i = 0; i < n; i++)
		p[i] /= sum;
}

/*
 * KL(llama.cpp || ours) over the reference's top 8 and the rest as one
 * outcome (a lower bound of the full KL, exact for what is kept); *top1
 * is 1 when our most likely token is the reference's.
 */
static double
row_kl(const float *logits, uint32_t V, const uint32_t *ids, const float *p,
    double *q, int *top1)
{
	double		kl = 0, pr = 1, qr = 1;
	uint32_t	j, best = 0;

	softmax(logits, V, q);
	for (j = 1; j < V; j++)
		best = q[j] > q[best] ? j : best;
	*top1 = best == ids[0] || q[best] == q[ids[0]];
	for (j = 0; j < TOPK; j++) {
		if (p[j] <= 0)
			continue;
		kl += p[j] * log(p[j] / (q[ids[j]] > 1e-300 ? q[ids[j]] :
		    1e-300));
		pr -= p[j];
		qr -= q[ids[j]];
	}
	if (pr > 1e-6 && qr > 0)
		kl += pr * log(pr / qr);
	return kl > 0 ? kl : 0;
}

/*
 * Rows against the scalar twin's: mean and max KL(twin || ours) and the
 * rows whose top-1 differs.  Not a bound on the logits: activations are
 * rounded to 4..16 bits before every product, so the twin's other order
 * of adding (double sums) moves a rounding now and then and a logit by
 * far more than its float error; a wrong kernel moves every row.
 */
static void
twin_kl(const float *a, const float *b, size_t n, uint32_t V, double *mean,
    double *max, size_t *differ)
{
	double	*p = malloc(V * sizeof *p), *q = malloc(V * sizeof *q);
	double	 kl, sum = 0;

	if (p == NULL || q == NULL)
		abort();
	*max = 0;
	*differ = 0;
	for (size_t i = 0; i < n; i++) {
		uint32_t	j, bp = 0, bq = 0;

		softmax(b + i * V, V, p);
		softmax(a + i * V, V, q);
		for (j = 0, kl = 0; j < V; j++) {
			if (p[j] > 0)
				kl += p[j] * log(p[j] / (q[j] > 1e-300 ?
				    q[j] : 1e-300));
			bp = p[j] > p[bp] ? j : bp;
			bq = q[j] > q[bq] ? j : bq;
		}
		sum += kl;
		*max = kl > *max ? kl : *max;
		*differ += bp != bq && p[bp] != p[bq];
	}
	*mean = sum / n;
	free(p);
	free(q);
}

/* Our rows against llama.cpp's: mean and max KL, top-1 agreement. */
static void
check_llama(const char *name, const char *pname, const struct ref *r,
    const float *rows)
{
	size_t	 n = (size_t)r->n_pair + r->n_seq, i, agree = 0, worst = 0;
	double	*q = malloc(r->V * sizeof *q), sum = 0, max = 0, kl, psum = 0;
	int	 top1;

	if (q == NULL)
		abort();
	for (i = 0; i < n; i++) {
		kl = row_kl(rows + i * r->V, r->V, r->ids + i * TOPK,
		    r->p + i * TOPK, q, &top1);
		sum += kl;
		psum += i < r->n_pair ? kl : 0;
		if (getenv("YT_SWEEP_ROWS") != NULL && kl > 1e-8)
			diag("row %zu: KL %.2g", i, kl);
		agree += top1;
		if (kl > max) {
			max = kl;
			worst = i;
		}
	}
	free(q);
	diag("%s %s: pairs mean KL %.2g, sequence %.2g", name, pname,
	    psum / r->n_pair, (sum - psum) / r->n_seq);
	ok(sum / n <= 2e-6 && max <= 1e-4 && agree >= 0.995 * n,
	    "%s %s vs llama.cpp: %zu rows, mean KL "
	    "%.2g, max %.2g (row %zu), top-1 %zu", name, pname, n, sum / n,
	    max, worst, agree);
}

/* 1 if any matrix of m was repacked at load. */
static int
repacked(const struct model *m)
{
	for (uint32_t il = 0; il < m->hp.n_layer; il++) {
		const struct layer	*l = &m->layers[il];

		if (l->wq.rp != NULL || l->wk.rp != NULL || l->wv.rp != NULL ||
		    l->wo.rp != NULL || l->w_gate.rp != NULL ||
		    l->w_up.rp != NULL || l->w_down.rp != NULL)
			return 1;
	}
	return m->output.rp != NULL;
}

/* 1 if a matrix of m takes llama.cpp's repacked orders (matmul.c), whose
 * rows depend on the batch as llama.cpp's do: tokens in fours as its gemm,
 * the rest as its gemv. */
static int
rp_orders(const struct model *m)
{
	for (uint32_t il = 0; il < m->hp.n_layer; il++) {
		const struct layer	*l = &m->layers[il];
		const struct mtensor	*ts[] = { &l->wq, &l->wk, &l->wv, &l->wo,
				    &l->w_gate, &l->w_up, &l->w_down };

		for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++)
			if (mm_rp_orders(ts[i]))
				return 1;
	}
	return mm_rp_orders(&m->output);
}

/* Choose a path's kernels; 0, or -1 if this CPU has no such path. */
static int
path_set(const struct path *p, int vnni_cpu, int float_model)
{
	if (p->novnni && !vnni_cpu)
		return -1;
	if (p->noblas && !float_model)
		return -1;
	qt_force_novnni(p->novnni);
	blas_force_off(p->noblas);
	if (p->norepack)
		setenv("YANGTUO_NO_REPACK", "1", 1);
	else
		unsetenv("YANGTUO_NO_REPACK");
	return 0;
}

/* Every path of one model. */
static void
sweep_model(const char *mpath, const char *name, const char *refdir)
{
	struct ref	 r, r2;
	struct model	*m;
	char		 rp[4608], *cause = NULL;
	float		*twin, *rows, *batch;
	size_t		 nrow;
	uint32_t	 V;
	int		 vnni_cpu, fl, have2, rp_seen = 0;

	/* Every batch size 1..70, 511..513; under the sanitizers (several
	 * times slower) the sizes around every tile edge and the BLAS
	 * threshold. */
	static const int quick[] = { 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31,
	    32, 33, 47, 48, 49, 63, 64, 65, 70 };
	int		 lens[73], nlens = 0;

	if (getenv("YT_SANITIZERS") != NULL)
		for (size_t i = 0; i < sizeof quick / sizeof quick[0]; i++)
			lens[nlens++] = quick[i];
	else {
		for (int i = 1; i <= 70; i++)
			lens[nlens++] = i;
		lens[nlens++] = 511;
		lens[nlens++] = 512;
		lens[nlens++] = 513;
	}
	snprintf(rp, sizeof rp, "%s/%s.bin", refdir, name);
	if (ref_load(rp, &r) < 0) {
		ok(0, "%s: reference %s unreadable", name, rp);
		return;
	}
	snprintf(rp, sizeof rp, "%s/%s.avx2.bin", refdir, name);
	have2 = ref_load(rp, &r2) == 0;
	nrow = (size_t)r.n_pair + r.n_seq;
	/* The scalar twin: _ref kernels, nothing repacked, no BLAS. */
	qt_force_ref(1);
	blas_force_off(1);
	setenv("YANGTUO_NO_REPACK", "1", 1);
	if ((m = model_load(mpath, &cause)) == NULL) {
		ok(0, "%s: load: %s", name, cause);
		free(cause);
		qt_force_ref(0);
		ref_free(&r);
		return;
	}
	V = m->hp.n_vocab;
	fl = m->layers[0].wq.type == QT_F32 || m->layers[0].wq.type == QT_F16 ||
	    m->layers[0].wq.type == QT_BF16;
	twin = malloc(nrow * V * sizeof *twin);
	rows = malloc(nrow * V * sizeof *rows);
	batch = malloc((size_t)SEQ_N * V * sizeof *batch);
	if (twin == NULL || rows == NULL || batch == NULL)
		abort();
	ok(V == r.V && eval_rows(m, &r, twin) == 0,
	    "%s: the scalar twin evaluates %zu rows", name, nrow);
	model_free(m);
	qt_force_ref(0);
	vnni_cpu = qt_vnni();
	for (size_t pi = 0; pi < sizeof paths / sizeof paths[0]; pi++) {
		const struct path	*p = &paths[pi];
		double			 worst = 0, d, dmax;
		size_t			 differ;
		int			 same = 1, L;

		if (path_set(p, vnni_cpu, fl) < 0)
			continue;
		if ((m = model_load(mpath, &cause)) == NULL) {
			ok(0, "%s %s: load: %s", name, p->name, cause);
			free(cause);
			cause = NULL;
			continue;
		}
		/* Without repacked matrices in the path before (its
		 * repacking sibling), no-repack is that path again. */
		if (!p->norepack)
			rp_seen = repacked(m);
		else if (!rp_seen) {
			model_free(m);
			continue;
		}
		if (eval_rows(m, &r, rows) < 0) {
			ok(0, "%s %s: evaluation failed", name, p->name);
			model_free(m);
			continue;
		}
		twin_kl(rows, twin, nrow, V, &d, &dmax, &differ);
		ok(d <= 1e-3 && differ <= nrow / 50, "%s %s: against the scalar "
		    "twin (pairs, 513 by 27): mean KL %.2g, max %.2g, "
		    "top-1 differs on %zu of %zu rows", name, p->name, d, dmax,
		    differ, nrow);
		/* The same sequence in one batch of every size 1..70 and
		 * 511..513: the rows of batches of 27, bit for bit (BLAS, for
		 * float weights from 48 tokens on, adds in its own order, and
		 * llama.cpp's repacked orders depend on the batch: there,
		 * within the twin's bounds). */
		for (L = 0; L < nlens && same >= 0; L++) {
			int		 n = lens[L];
			struct fwd	*f;
			const float	*full = rows + (size_t)r.n_pair * V;
			int32_t		 seq[SEQ_N];

			for (int i = 0; i < n; i++)
				seq[i] = (int32_t)r.seq[i];
			f = fwd_new(m, SEQ_N + 8, 2, SEQ_N, &cause);
			if (f == NULL || fwd_eval(f, seq, (size_t)n, 0, batch,
			    FWD_ALL_LOGITS) != FWD_OK)
				same = -1;
			fwd_free(f);
			/* A lone token of float weights takes llama.cpp's
			 * vec_dot order (quant.h, dot1), not its batches'. */
			if (same >= 0 && !(fl && n == 1) && memcmp(batch, full,
			    (size_t)n * V * sizeof *batch) != 0) {
				if (getenv("YT_SWEEP_ROWS") != NULL)
					diag("batch of %d differs", n);
				same = 0;
				twin_kl(batch, twin + (size_t)r.n_pair * V,
				    (size_t)n, V, &d, &dmax, &differ);
				worst = dmax > worst ? dmax : worst;
			}
		}
		if ((fl && !p->noblas) || rp_orders(m))
			ok(same >= 0 && worst <= 1e-2, "%s %s: %d batch sizes "
			    "(1..70, 511..513; %s): %s (max KL to the twin "
			    "%.2g)", name, p->name, nlens, fl ? "BLAS from 48 "
			    "tokens" : "llama.cpp's gemm/gemv orders",
			    same > 0 ? "the rows by 27" : "other rows",
			    worst);
		else
			ok(same > 0, "%s %s: %d batch sizes (1..70, 511..513) "
			    "give the rows of batches of 27 bit for bit", name,
			    p->name, nlens);
		/* The VNNI paths mirror llama.cpp's AVX-512 build, the
		 * others its AVX2 build (NAME.avx2.bin where it differs). */
		/* Without repacking, Q4_0 adds in our plain dot's order, not
		 * the one llama.cpp's repacked Q4_0 uses: a switch of ours
		 * for comparisons, held to its twin only. */
		if (!p->norepack)
			check_llama(name, p->name, qt_vnni() || !have2 ? &r :
			    &r2, rows);
		model_free(m);
	}
	qt_force_novnni(0);
	blas_force_off(0);
	unsetenv("YANGTUO_NO_REPACK");
	free(twin);
	free(rows);
	free(batch);
	ref_free(&r);
	if (have2)
		ref_free(&r2);
}

int
main(int argc, char **argv)
{
	static const char *models[] = {
		"stories260K.gguf", "derived/stories260K-F16.gguf",
		"derived/stories260K-Q8_0.gguf",
		"derived/stories260K-Q4_0.gguf", "llama-2-tiny-random.gguf",
		"ktest/ktest-F32.gguf", "ktest/ktest-F16.gguf",
		"ktest/ktest-BF16.gguf", "ktest/ktest-Q8_0.gguf",
		"ktest/ktest-Q4_0.gguf", "ktest/ktest-Q4_1.gguf",
		"ktest/ktest-Q5_0.gguf", "ktest/ktest-Q5_1.gguf",
		"ktest/ktest-Q2_K.gguf", "ktest/ktest-Q3_K.gguf",
		"ktest/ktest-Q4_K.gguf", "ktest/ktest-Q5_K.gguf",
		"ktest/ktest-Q6_K.gguf", "ktest/ktest-mix-Q2_K.gguf",
		"ktest/ktest-mix-Q3_K_M.gguf", "ktest/ktest-mix-Q4_K_M.gguf",
		"ktest/ktest-mix-Q5_K_M.gguf",
	};
	const char	*only = argc > 1 ? argv[1] : NULL;
	const char	*src = getenv("YT_SRCDIR");
	char		 mp[4096], refdir[4096], name[256], *dot;
	FILE		*f;

	snprintf(refdir, sizeof refdir, "%s/tests/data/sweep",
	    src != NULL ? src : SRCDIR);
	for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) {
		if (only != NULL && strstr(models[i], only) == NULL)
			continue;
		snprintf(mp, sizeof mp, "%s/models/%s", tap_testdata(),
		    models[i]);
		if ((f = fopen(mp, "rb")) == NULL) {
			skip("no test data");
			continue;
		}
		fclose(f);
		snprintf(name, sizeof name, "%s", strrchr(mp, '/') + 1);
		if ((dot = strstr(name, ".gguf")) != NULL)
			*dot = '\0';
		sweep_model(mp, name, refdir);
	}
	return tap_done();
}
