/*
 * The Llama forward pass.  Per layer: RMSNorm, Q/K/V projections from one
 * quantized copy of the normed input, RoPE, K/V appended to the F16
 * cache, grouped-query attention, output projection, RMSNorm, SwiGLU FFN.
 * Rounding follows llama.cpp's CPU graph (RMS sums in double, queries and
 * attention weights rounded to F16 for the F16 cache products, RoPE
 * angles by repeated multiplication) so both compute the same numbers.
 */
#include "config.h"

#include "forward.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attn.h"
#include "lora.h"
#include "matmul.h"
#include "model.h"
#include "pool.h"
#include "quant.h"
#include "repack.h"
#include "vmath.h"


struct fwd {
	const struct model	*m;
	struct pool		*pool;
	uint32_t		 n_ctx;
	uint32_t		 n_batch;
	uint16_t		*kc;	/* (n_layer, n_ctx, kv_dim) */
	uint16_t		*vc;	/* (n_layer, n_ctx, kv_dim) */
	float			*x;	/* (n_batch, n_embd) residual */
	float			*xb;	/* (n_batch, n_embd) normed */
	float			*q;	/* (n_batch, q_dim) queries, then the
					 * attention's outputs in place */
	float			*k;	/* (n_batch, kv_dim) */
	float			*v;	/* (n_batch, kv_dim) */
	float			*hg;	/* (FFN_ROWS, n_ff) gate, then product */
	float			*hu;	/* (FFN_ROWS, n_ff) up */
	float			*o;	/* (n_batch, n_embd) */
	uint16_t		*q16;	/* (n_threads, 2, group, head_dim) */
	float			*gstate;	/* (n_threads, 2, group) */
	float			*parts;	/* (n_head, n_threads, 2 + head_dim) */
	float			*f16tab;	/* 65536 halves as floats */
	float			*aws;	/* (n_threads, attn_ws_floats) */
	size_t			 aws_n;
	struct mm_in		 in_x;
	struct mm_in		 in_h;
	struct mm_in		 in_l;	/* an adapter's A x */
	struct pool		*pool1;	/* the calling thread alone */
	float			*la;	/* (T, rank) A x */
	float			*lb;	/* (T, n_out) B (A x) */
	size_t			 la_cap;	/* floats */
	size_t			 lb_cap;
	atomic_int		*cancel;
	size_t			 done;	/* of the last fwd_eval */
	fwd_progress_fn		 progress;
	void			*progress_arg;
};

/*
 * The FFN of a long prompt goes through in pieces of this many tokens: its
 * n_ff-wide buffers are the largest of the forward pass (32 MiB for 512
 * tokens of a 1B model), and each extra piece only reads the FFN weights
 * once more (16 ms of a 2.5 s prompt of 512 tokens there).
 */
#define FFN_ROWS	256

struct attn_job {
	struct fwd	*f;
	uint32_t	 il;
	uint32_t	 T;
	uint32_t	 pos;
	atomic_long	 next;	/* the next tile of a prompt to take */
};

/* The per-token steps between the matmuls of a layer. */
enum tok_step {
	STEP_ATTN_NORM,		/* xb = norm(x) */
	STEP_ROPE,		/* rotate q and k, store k and v */
	STEP_RES_NORM,		/* x += o; xb = norm(x) */
	STEP_SWIGLU,		/* hg = silu(hg) * hu */
	STEP_RES		/* x += o */
};

struct tok_job {
	struct fwd		*f;
	const struct layer	*l;
	uint32_t		 il;
	uint32_t		 pos;
	uint32_t		 T;
	enum tok_step		 step;
};

static int
set_cause(char **cause, const char *fmt, ...)
{
	va_list	ap;

	if (cause != NULL) {
		va_start(ap, fmt);
		if (vasprintf(cause, fmt, ap) < 0)
			*cause = NULL;
		va_end(ap);
	}
	return -1;
}

static void *
alloc_floats(size_t a, size_t b, int *fail)
{
	size_t	n;
	void	*p;

	if (__builtin_mul_overflow(a, b, &n) ||
	    __builtin_mul_overflow(n, sizeof(float), &n) ||
	    (p = malloc(n == 0 ? 1 : n)) == NULL) {
		*fail = 1;
		return NULL;
	}
	return p;
}

/* A forward state for the model with a KV cache of n_ctx positions
 * (0 = the model's), n_threads compute threads and batches of at most
 * n_batch tokens (0 = 256).  NULL and *cause (caller frees) on failure. */
struct fwd *
fwd_new(const struct model *m, uint32_t n_ctx, int n_threads,
    uint32_t n_batch, char **cause)
{
	const struct model_hp	*hp = &m->hp;
	struct fwd		*f;
	size_t			 kv_dim = (size_t)hp->n_head_kv * hp->head_dim;
	size_t			 q_dim = (size_t)hp->n_head * hp->head_dim;
	size_t			 n, nth;
	int			 fail = 0, i;

	if (n_ctx == 0)
		n_ctx = hp->n_ctx_train;
	if (n_ctx > MODEL_MAX_CTX) {
		set_cause(cause, "context of %u tokens is too large (at most "
		    "%u)", n_ctx, MODEL_MAX_CTX);
		return NULL;
	}
	if (n_batch == 0)
		n_batch = 256;
	if ((f = calloc(1, sizeof *f)) == NULL) {
		set_cause(cause, "out of memory");
		return NULL;
	}
	f->m = m;
	f->n_ctx = n_ctx;
	f->n_batch = n_batch;
	if ((f->pool = pool_new(n_threads)) == NULL) {
		set_cause(cause, "cannot start %d compute threads",
		    n_threads);
		fwd_free(f);
		return NULL;
	}
	nth = pool_size(f->pool);
	if ((f->pool1 = pool_new(1)) == NULL) {
		set_cause(cause, "out of memory");
		fwd_free(f);
		return NULL;
	}
	/* n_layer * n_ctx * kv_dim halves, checked. */
	if (__builtin_mul_overflow((size_t)hp->n_layer, (size_t)n_ctx, &n) ||
	    __builtin_mul_overflow(n, kv_dim, &n) ||
	    __builtin_mul_overflow(n, sizeof(uint16_t), &n) ||
	    (f->kc = malloc(n)) == NULL || (f->vc = malloc(n)) == NULL) {
		set_cause(cause, "out of memory for a KV cache of %u tokens "
		    "(%.1f MiB)", n_ctx,
		    model_kv_bytes(m, n_ctx) / 1048576.0);
		fwd_free(f);
		return NULL;
	}
	f->x = alloc_floats(n_batch, hp->n_embd, &fail);
	f->xb = alloc_floats(n_batch, hp->n_embd, &fail);
	f->o = alloc_floats(n_batch, hp->n_embd, &fail);
	f->q = alloc_floats(n_batch, q_dim, &fail);
	f->k = alloc_floats(n_batch, kv_dim, &fail);
	f->v = alloc_floats(n_batch, kv_dim, &fail);
	f->hg = alloc_floats(n_batch < FFN_ROWS ? n_batch : FFN_ROWS,
	    hp->n_ff, &fail);
	f->hu = alloc_floats(n_batch < FFN_ROWS ? n_batch : FFN_ROWS,
	    hp->n_ff, &fail);
	f->f16tab = alloc_floats(65536, 1, &fail);
	f->aws_n = attn_ws_floats((int)hp->head_dim,
	    (int)(hp->n_head / hp->n_head_kv));
	f->aws = alloc_floats(nth, f->aws_n, &fail);
	/* Per thread: a group's queries and accumulators (halves) and
	 * its softmax sums and maxima. */
	f->q16 = (uint16_t *)alloc_floats(nth, (size_t)hp->n_head /
	    hp->n_head_kv * hp->head_dim, &fail);
	f->gstate = alloc_floats(nth, 2 * (size_t)hp->n_head / hp->n_head_kv,
	    &fail);
	/* A lone token's split attention (attn_split_run): per head and
	 * thread its maximum, sum and values. */
	f->parts = alloc_floats((size_t)hp->n_head * nth, 2 + hp->head_dim,
	    &fail);
	if (fail) {
		set_cause(cause, "out of memory for the forward pass");
		fwd_free(f);
		return NULL;
	}
	for (i = 0; i < 65536; i++)
		f->f16tab[i] = qt_f16_to_f32((uint16_t)i);
	return f;
}

/* Free the state (the model is not touched); NULL is a no-op. */
void
fwd_free(struct fwd *f)
{
	if (f == NULL)
		return;
	pool_free(f->pool);
	pool_free(f->pool1);
	free(f->kc);
	free(f->vc);
	free(f->x);
	free(f->xb);
	free(f->o);
	free(f->q);
	free(f->k);
	free(f->v);
	free(f->hg);
	free(f->hu);
	free(f->f16tab);
	free(f->aws);
	free(f->q16);
	free(f->gstate);
	free(f->parts);
	mm_in_fini(&f->in_x);
	mm_in_fini(&f->in_h);
	mm_in_fini(&f->in_l);
	free(f->la);
	free(f->lb);
	free(f);
}

/* The context size of the KV cache. */
uint32_t
fwd_n_ctx(const struct fwd *f)
{
	return f->n_ctx;
}

/* Compute threads, the caller included. */
int
fwd_n_threads(const struct fwd *f)
{
	return pool_size(f->pool);
}

/* fwd_eval() stops between chunks once *flag is non-zero. */
void
fwd_set_cancel(struct fwd *f, atomic_int *flag)
{
	f->cancel = flag;
}

/* Call fn(arg, done, total) after every chunk of a long evaluation. */
void
fwd_set_progress(struct fwd *f, fwd_progress_fn fn, void *arg)
{
	f->progress = fn;
	f->progress_arg = arg;
}

/* Halves in one cache row: n_head_kv * head_dim. */
size_t
fwd_kv_dim(const struct fwd *f)
{
	return (size_t)f->m->hp.n_head_kv * f->m->hp.head_dim;
}

/* Layer il's K rows. */
uint16_t *
fwd_k_rows(struct fwd *f, uint32_t il)
{
	return f->kc + (size_t)il * f->n_ctx * fwd_kv_dim(f);
}

/* Layer il's V rows. */
uint16_t *
fwd_v_rows(struct fwd *f, uint32_t il)
{
	return f->vc + (size_t)il * f->n_ctx * fwd_kv_dim(f);
}

/* Tokens of the last fwd_eval() now complete in the KV cache. */
size_t
fwd_done(const struct fwd *f)
{
	return f->done;
}

/* y = x / rms(x) * w, with the sum of squares in double as ggml does. */
static void
rmsnorm(float *y, const float *x, const float *w, uint32_t n, float eps)
{
	double		sum = 0.0;
	float		mean, scale;
	uint32_t	i;

	for (i = 0; i < n; i++)
		sum += (double)(x[i] * x[i]);
	mean = (float)(sum / n);
	scale = 1.0f / sqrtf(mean + eps);
	for (i = 0; i < n; i++)
		y[i] = (x[i] * scale) * w[i];
}

/* Rotate pairs (x[2i], x[2i+1]) of each head, llama ("normal") style. */
static void
rope(const struct model *m, float *x, uint32_t n_heads, uint32_t pos)
{
	const struct model_hp	*hp = &m->hp;
	float			 theta_scale, theta, c, s, t, x0, x1;
	float			 cs[2 * 1024];
	uint32_t		 i, h;

	theta_scale = powf(hp->rope_base, -2.0f / (float)hp->rope_dim);
	theta = (float)pos;
	for (i = 0; i < hp->rope_dim; i += 2) {
		t = theta;
		if (m->rope_freqs != NULL)
			t /= m->rope_freqs[i / 2];
		cs[i] = cosf(t);
		cs[i + 1] = sinf(t);
		theta *= theta_scale;
	}
	for (h = 0; h < n_heads; h++) {
		float	*v = x + (size_t)h * hp->head_dim;

		for (i = 0; i < hp->rope_dim; i += 2) {
			c = cs[i];
			s = cs[i + 1];
			x0 = v[i];
			x1 = v[i + 1];
			/* As GCC contracts ggml's rotate_pairs in llama.cpp's
			 * AVX2 build: the first product of each is fused. */
			v[i] = fmaf(x0, c, -(x1 * s));
			v[i + 1] = fmaf(x0, s, x1 * c);
		}
	}
}

/* One key of ggml's online softmax for one head: score s, the value row
 * vr added into the F16 accumulator acc, the running maximum and sum. */
static inline void
key_step(int hd, uint16_t *acc, const uint16_t *vr, float s, float *M,
    float *S)
{
	float	ms = 1.0f, vs = 1.0f;

	if (s > *M) {
		ms = expf(*M - s);
		*M = s;
		qt_f16_scale(hd, acc, ms);
	} else
		vs = expf(s - *M);
	qt_f16_mad(hd, acc, vr, vs);
	*S = *S * ms + vs;
}

/*
 * The query heads of one KV group for one token against the cached keys
 * and values, as ggml's CPU flash attention computes each head (llama.cpp's
 * default): the query rounded to F16, F16 dot products with the keys, an
 * online softmax, and the weighted sum of values accumulated in F16.  The
 * heads of a group advance key by key together, so each K and V row is
 * read from memory once for all of them; each head's arithmetic is the
 * same as alone, so the results do not change.
 */
static void
attend_group(struct fwd *f, const struct attn_job *a, uint32_t t,
    uint32_t kvh, int ith)
{
	const struct model_hp	*hp = &f->m->hp;
	const struct qt_traits	*f16 = qt_get(QT_F16);
	uint32_t		 hd = hp->head_dim;
	uint32_t		 g = hp->n_head / hp->n_head_kv, h, j, d;
	size_t			 kv_dim = (size_t)hp->n_head_kv * hd;
	uint32_t		 n_keys = a->pos + t + 1;
	const uint16_t		*kbase, *vbase, *kr, *vr;
	uint16_t		*q16 = f->q16 + (size_t)ith * 2 * g * hd;
	uint16_t		*acc = q16 + (size_t)g * hd;
	float			*st = f->gstate + (size_t)ith * 2 * g;
	float			*S = st, *M = st + g;
	float			 scale = 1.0f / sqrtf((float)hd), s;
	float			*out;

	kbase = f->kc + (size_t)a->il * f->n_ctx * kv_dim + kvh * hd;
	vbase = f->vc + (size_t)a->il * f->n_ctx * kv_dim + kvh * hd;
	for (h = 0; h < g; h++) {
		f16->from_f32(f->q + (size_t)t * hp->n_head * hd +
		    (size_t)(kvh * g + h) * hd, q16 + h * hd, hd);
		S[h] = 0.0f;
		M[h] = -INFINITY;
	}
	memset(acc, 0, (size_t)g * hd * sizeof *acc);
	for (j = 0; j < n_keys; j++) {
		kr = kbase + j * kv_dim;
		vr = vbase + j * kv_dim;
		for (h = 0; h < g; h++) {
			qt_f16_vdot((int)hd, &s, kr, q16 + h * hd);
			key_step((int)hd, acc + h * hd, vr, s * scale, &M[h],
			    &S[h]);
		}
	}
	for (h = 0; h < g; h++) {
		float	inv = 1.0f / S[h];

		out = f->q + (size_t)t * hp->n_head * hd +
		    (size_t)(kvh * g + h) * hd;
		for (d = 0; d < hd; d++)
			out[d] = f->f16tab[acc[h * hd + d]] * inv;
	}
}

/* a x b + c x d as llama.cpp's split attention combines its runs: two
 * roundings and a sum (volatile: no FMA, whatever -march the build takes). */
static inline float
split_add(float a, float b, float c, float d)
{
	volatile float	p = a * b, q = c * d;

	return p + q;
}

/*
 * Attention of the layer's T tokens, one (token, KV group) at a time (the
 * portable kernel).
 * Later tokens see more keys, so the threads take the pairs from a shared
 * counter, the costliest (last tokens) first, and finish together.
 */
static void
attn_job_run(void *arg, int ith, int nth)
{
	struct attn_job	*a = arg;
	uint32_t	 n_kv = a->f->m->hp.n_head_kv;
	long		 n = (long)a->T * n_kv, i;

	(void)nth;
	while ((i = atomic_fetch_add(&a->next, 1)) < n) {
		if (a->f->cancel != NULL && atomic_load_explicit(a->f->cancel,
		    memory_order_relaxed))
			return;
		i = n - 1 - i;
		attend_group(a->f, a, (uint32_t)(i / n_kv),
		    (uint32_t)(i % n_kv), ith);
	}
}

/*
 * One token alone over more than 256 keys, as llama.cpp v0.5.0 computes
 * it: its key cache is padded to a multiple of 256, and from 512 keys on
 * a lone query's flash attention is split into one run of n_pad / nth
 * keys per thread (its split-KV path), each with the per-key steps of
 * attend_group from its own start, then combined head by head:
 *	M = max(M, M_c); V = V e^(M_old - M) + V_c e^(M_c - M);
 *	S = S e^(M_old - M) + S_c e^(M_c - M)
 * in the order of the runs, and V / S.  The other order of adding is
 * llama.cpp's too (decode past 256 tokens), so greedy continuations
 * stay its own.  nth is this pool's thread count, as llama.cpp's is its
 * own: the split follows the number of threads, in both engines.
 */
static void
attn_split_run(void *arg, int ith, int nth)
{
	struct attn_job		*a = arg;
	struct fwd		*f = a->f;
	const struct model_hp	*hp = &f->m->hp;
	uint32_t		 hd = hp->head_dim, g = hp->n_head / hp->n_head_kv;
	size_t			 kv_dim = (size_t)hp->n_head_kv * hd;
	size_t			 psz = 2 + hd;
	uint32_t		 n_pad = (a->pos + 1 + 255) / 256 * 256;
	uint32_t		 cs = (n_pad + (uint32_t)nth - 1) / (uint32_t)nth;
	uint32_t		 k0 = (uint32_t)ith * cs, k1 = k0 + cs, h, j, d;
	uint16_t		*q16 = f->q16 + (size_t)ith * 2 * g * hd;
	uint16_t		*acc = q16 + hd;
	const struct qt_traits	*f16 = qt_get(QT_F16);
	float			 scale = 1.0f / sqrtf((float)hd), M, S, s,
				*part, *out;

	if (k1 > a->pos + 1)
		k1 = a->pos + 1;
	for (h = 0; h < hp->n_head; h++) {
		const uint16_t	*kb = f->kc + (size_t)a->il * f->n_ctx *
				    kv_dim + (h / g) * hd;
		const uint16_t	*vb = f->vc + (size_t)a->il * f->n_ctx *
				    kv_dim + (h / g) * hd;

		f16->from_f32(f->q + (size_t)h * hd, q16, hd);
		memset(acc, 0, hd * sizeof *acc);
		M = -INFINITY;
		S = 0.0f;
		for (j = k0; j < k1; j++) {
			qt_f16_vdot((int)hd, &s, kb + j * kv_dim, q16);
			key_step((int)hd, acc, vb + j * kv_dim, s * scale, &M,
			    &S);
		}
		part = f->parts + ((size_t)h * nth + ith) * psz;
		part[0] = M;
		part[1] = S;
		for (d = 0; d < hd; d++)
			part[2 + d] = f->f16tab[acc[d]];
	}
	pool_barrier(f->pool);
	for (h = (uint32_t)ith; h < hp->n_head; h += (uint32_t)nth) {
		float	Mf = -INFINITY, Sf = 0.0f, so, sn, Mn, inv;
		int	c;

		out = f->q + (size_t)h * hd;
		for (d = 0; d < hd; d++)
			out[d] = 0.0f;
		for (c = 0; c < nth; c++) {
			part = f->parts + ((size_t)h * nth + c) * psz;
			if ((uint32_t)c * cs >= n_pad || part[1] == 0.0f)
				continue;
			Mn = fmaxf(Mf, part[0]);
			so = expf(Mf - Mn);
			sn = expf(part[0] - Mn);
			for (d = 0; d < hd; d++)
				out[d] = split_add(out[d], so, part[2 + d], sn);
			Sf = split_add(Sf, so, part[1], sn);
			Mf = Mn;
		}
		inv = Sf != 0.0f ? 1.0f / Sf : 0.0f;
		for (d = 0; d < hd; d++)
			out[d] = out[d] * inv;
	}
}

/* The same in tiles of ATTN_BQ tokens by one KV group (attn.c), where
 * the CPU has them: the same floats, fewer conversions and passes. */
static void
attn_tiles_run(void *arg, int ith, int nth)
{
	struct attn_job		*a = arg;
	struct fwd		*f = a->f;
	const struct model_hp	*hp = &f->m->hp;
	uint32_t		 n_kv = hp->n_head_kv, hd = hp->head_dim;
	uint32_t		 g = hp->n_head / hp->n_head_kv;
	size_t			 q_dim = (size_t)hp->n_head * hd;
	size_t			 kv_dim = (size_t)n_kv * hd;
	long			 ntile = (a->T + ATTN_BQ - 1) / ATTN_BQ, i;
	float			*ws = f->aws + (size_t)ith * f->aws_n;

	(void)nth;
	while ((i = atomic_fetch_add(&a->next, 1)) < ntile * n_kv) {
		uint32_t	t0 = (uint32_t)(ntile - 1 - i / n_kv) * ATTN_BQ;
		uint32_t	kvh = (uint32_t)(i % n_kv);
		uint32_t	nt = a->T - t0 < ATTN_BQ ? a->T - t0 : ATTN_BQ;
		size_t		cache = (size_t)a->il * f->n_ctx * kv_dim +
				    (size_t)kvh * hd;

		if (f->cancel != NULL && atomic_load_explicit(f->cancel,
		    memory_order_relaxed))
			return;
		attn_tile((int)hd, (int)g, (int)nt, a->pos + t0,
		    f->q + t0 * q_dim + (size_t)kvh * g * hd, q_dim,
		    f->kc + cache, f->vc + cache, kv_dim,
		    1.0f / sqrtf((float)hd),
		    f->q + t0 * q_dim + (size_t)kvh * g * hd, q_dim, ws);
	}
}

/* The per-token steps, tokens split over the threads. */
static void
tok_job_run(void *arg, int ith, int nth)
{
	struct tok_job		*j = arg;
	struct fwd		*f = j->f;
	const struct model	*m = f->m;
	const struct model_hp	*hp = &m->hp;
	const struct qt_traits	*f16 = qt_get(QT_F16);
	size_t			 E = hp->n_embd, F = hp->n_ff;
	size_t			 q_dim = (size_t)hp->n_head * hp->head_dim;
	size_t			 kv_dim = (size_t)hp->n_head_kv * hp->head_dim;
	long			 lo, hi, t;
	size_t			 i, row;

	pool_split(j->T, ith, nth, &lo, &hi);
	for (t = lo; t < hi; t++) {
		float	*x = f->x + t * E, *o = f->o + t * E;

		switch (j->step) {
		case STEP_ATTN_NORM:
			rmsnorm(f->xb + t * E, x, j->l->attn_norm, E,
			    hp->norm_eps);
			break;
		case STEP_ROPE:
			row = (size_t)j->il * f->n_ctx + j->pos + t;
			rope(m, f->q + t * q_dim, hp->n_head,
			    j->pos + (uint32_t)t);
			rope(m, f->k + t * kv_dim, hp->n_head_kv,
			    j->pos + (uint32_t)t);
			f16->from_f32(f->k + t * kv_dim, f->kc + row * kv_dim,
			    kv_dim);
			f16->from_f32(f->v + t * kv_dim, f->vc + row * kv_dim,
			    kv_dim);
			break;
		case STEP_RES_NORM:
			for (i = 0; i < E; i++)
				x[i] += o[i];
			rmsnorm(f->xb + t * E, x, j->l->ffn_norm, E,
			    hp->norm_eps);
			break;
		case STEP_SWIGLU:
			/* Per row, as ggml applies its vector kernel. */
			vm_swiglu((int)F, f->hg + t * F, f->hg + t * F,
			    f->hu + t * F);
			break;
		case STEP_RES:
			for (i = 0; i < E; i++)
				x[i] += o[i];
			break;
		}
	}
}

/* A step over the layer's tokens: on the pool for a prompt, inline for
 * one token (a pool round costs more than the step). */
static void
tok_step(struct fwd *f, const struct layer *l, uint32_t il, uint32_t T,
    uint32_t pos, enum tok_step step)
{
	struct tok_job	j = { f, l, il, pos, T, step };

	if (T > 1)
		pool_run(f->pool, tok_job_run, &j);
	else
		tok_job_run(&j, 0, 1);
}

static int
cancelled(const struct fwd *f)
{
	return f->cancel != NULL && atomic_load(f->cancel);
}

/* Grow a scratch buffer to n floats; -1 on OOM. */
static int
grow_floats(float **p, size_t *cap, size_t n)
{
	float	*np;

	if (n <= *cap)
		return 0;
	if (n > SIZE_MAX / sizeof **p ||
	    (np = realloc(*p, n * sizeof **p)) == NULL)
		return -1;
	*p = np;
	*cap = n;
	return 0;
}

/* Where an adapter's product runs: a small one (a token's, but for
 * the output's B) on the calling thread, as a pool round would cost
 * more than the product; each row's dot is the same either way. */
static struct pool *
lora_pool(struct fwd *f, const struct mtensor *t, int64_t T)
{
	return (double)T * (double)t->ne0 * (double)t->ne1 < (1 << 20) ?
	    f->pool1 : f->pool;
}

/*
 * y = w . in, plus s B (A in) for every adapter on w, as llama.cpp's
 * build_lora_mm adds them: each low-rank product in the adapter's own
 * types (the matmuls of any weight), scaled, then added.  0 or -1.
 */
static int
fwd_mm(struct fwd *f, const struct mtensor *w, struct mm_in *in, float *y)
{
	const struct lora_w	*l;
	size_t			 i, n;

	if (mm_mul(f->pool, w, in, y, f->cancel) != 0)
		return -1;
	for (l = w->lora; l != NULL; l = l->next) {
		n = (size_t)in->T * (size_t)w->ne1;
		if (grow_floats(&f->la, &f->la_cap, (size_t)in->T *
		    (size_t)l->a.ne1) != 0 ||
		    grow_floats(&f->lb, &f->lb_cap, n) != 0 ||
		    mm_mul(lora_pool(f, &l->a, in->T), &l->a, in, f->la,
		    f->cancel) != 0)
			return -1;
		mm_in_set(&f->in_l, f->la, in->T, l->a.ne1);
		f->in_l.batch = in->batch;
		if (mm_mul(lora_pool(f, &l->b, in->T), &l->b, &f->in_l, f->lb,
		    f->cancel) != 0)
			return -1;
		for (i = 0; i < n; i++) {
			float	d = l->scale * f->lb[i];

			y[i] += d;
		}
	}
	return 0;
}

/* One layer over T tokens at positions pos..pos+T-1: an FWD_ code. */
static int
layer_forward(struct fwd *f, uint32_t il, uint32_t T, uint32_t pos)
{
	const struct model	*m = f->m;
	const struct model_hp	*hp = &m->hp;
	const struct layer	*l = &m->layers[il];
	size_t			 E = hp->n_embd, F = hp->n_ff;
	size_t			 q_dim = (size_t)hp->n_head * hp->head_dim;
	struct attn_job		 a;
	uint32_t		 t0, n;

	tok_step(f, l, il, T, pos, STEP_ATTN_NORM);
	mm_in_set(&f->in_x, f->xb, T, E);
	if (fwd_mm(f, &l->wq, &f->in_x, f->q) ||
	    fwd_mm(f, &l->wk, &f->in_x, f->k) ||
	    fwd_mm(f, &l->wv, &f->in_x, f->v))
		return FWD_ERR;
	if (cancelled(f))
		return FWD_CANCELLED;
	tok_step(f, l, il, T, pos, STEP_ROPE);
	a.f = f;
	a.il = il;
	a.T = T;
	a.pos = pos;
	atomic_init(&a.next, 0);
	pool_run(f->pool, T == 1 && pos + 1 > 256 ? attn_split_run :
	    attn_tile_ok() ? attn_tiles_run : attn_job_run, &a);
	if (cancelled(f))
		return FWD_CANCELLED;
	mm_in_set(&f->in_h, f->q, T, q_dim);
	if (fwd_mm(f, &l->wo, &f->in_h, f->o))
		return FWD_ERR;
	if (cancelled(f))
		return FWD_CANCELLED;
	tok_step(f, l, il, T, pos, STEP_RES_NORM);
	for (t0 = 0; t0 < T; t0 += n) {
		n = T - t0 < FFN_ROWS ? T - t0 : FFN_ROWS;
		/* Slices of the batch: a lone token is one only if the
		 * batch is (the float weights' dot1). */
		mm_in_set(&f->in_x, f->xb + t0 * E, n, E);
		f->in_x.batch = T;
		if (fwd_mm(f, &l->w_gate, &f->in_x, f->hg) ||
		    fwd_mm(f, &l->w_up, &f->in_x, f->hu))
			return FWD_ERR;
		if (cancelled(f))
			return FWD_CANCELLED;
		tok_step(f, l, il, n, pos + t0, STEP_SWIGLU);
		mm_in_set(&f->in_h, f->hg, n, F);
		f->in_h.batch = T;
		if (fwd_mm(f, &l->w_down, &f->in_h, f->o + t0 * E))
			return FWD_ERR;
		if (cancelled(f))
			return FWD_CANCELLED;
	}
	tok_step(f, l, il, T, pos, STEP_RES);
	return 0;
}

/* One chunk of at most n_batch tokens. */
static int
chunk_forward(struct fwd *f, const int32_t *toks, uint32_t T, uint32_t pos,
    float *logits, int all)
{
	const struct model	*m = f->m;
	const struct model_hp	*hp = &m->hp;
	const struct qt_traits	*et = qt_get(m->tok_embd.type);
	size_t			 E = hp->n_embd;
	uint32_t		 t, il, first;
	int			 r;

	for (t = 0; t < T; t++)
		/* A tied table's file pages went with its packed copy. */
		if (!m->tied_output || repack_row_f32(&m->output, toks[t],
		    f->x + t * E) != 0)
			et->to_f32((const uint8_t *)m->tok_embd.data +
			    (size_t)toks[t] * m->tok_embd.row_size,
			    f->x + t * E, E);
	for (il = 0; il < hp->n_layer; il++) {
		/* Cancel between layers: a layer of an 8B model is a few
		 * milliseconds in decode, well under a second in prefill. */
		if (f->cancel != NULL && atomic_load(f->cancel))
			return FWD_CANCELLED;
		if ((r = layer_forward(f, il, T, pos)) != FWD_OK)
			return r;
	}
	if (logits == NULL)
		return FWD_OK;
	first = all ? 0 : T - 1;
	for (t = first; t < T; t++)
		rmsnorm(f->xb + (t - first) * E, f->x + t * E, m->output_norm,
		    E, hp->norm_eps);
	mm_in_set(&f->in_x, f->xb, T - first, E);
	if (fwd_mm(f, &m->output, &f->in_x, logits) != 0)
		return FWD_ERR;
	return cancelled(f) ? FWD_CANCELLED : FWD_OK;
}

/*
 * Evaluate n tokens at positions pos..pos+n-1 (the cache must hold the
 * positions before pos).  logits (may be NULL) receives n_vocab floats for
 * the last token, or n x n_vocab with FWD_ALL_LOGITS.  Returns FWD_OK,
 * FWD_CANCELLED (positions up to the last finished chunk are cached) or
 * FWD_ERR (bad token id, context overflow, out of memory).
 */
int
fwd_eval(struct fwd *f, const int32_t *toks, size_t n, uint32_t pos,
    float *logits, int flags)
{
	const struct model_hp	*hp = &f->m->hp;
	int			 all = (flags & FWD_ALL_LOGITS) != 0, r;
	size_t			 done, i;
	uint32_t		 T;

	f->done = 0;
	if (n == 0 || pos > f->n_ctx || n > f->n_ctx - pos)
		return FWD_ERR;
	for (i = 0; i < n; i++)
		if (toks[i] < 0 || (uint32_t)toks[i] >= hp->n_vocab)
			return FWD_ERR;
	for (done = 0; done < n; done += T) {
		float	*lg = NULL;

		if (f->cancel != NULL && atomic_load(f->cancel))
			return FWD_CANCELLED;
		T = n - done < f->n_batch ? (uint32_t)(n - done) : f->n_batch;
		if (logits != NULL && all)
			lg = logits + done * hp->n_vocab;
		else if (logits != NULL && done + T == n)
			lg = logits;
		r = chunk_forward(f, toks + done, T, pos + (uint32_t)done, lg,
		    all);
		if (r != FWD_OK)
			return r;
		f->done = done + T;
		if (f->progress != NULL)
			f->progress(f->progress_arg, done + T, n);
	}
	return FWD_OK;
}
