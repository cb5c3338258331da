/*
 * The matmul dispatch of the engine.  Weights stay in their file type;
 * the activation rows are converted once per input to the dot type that
 * llama.cpp pairs with the weight type (so results round as llama.cpp's
 * do), then the threads take chunks of weight rows in turn and walk the
 * batch, 16 weight rows at a time so they stay in cache (for prompts,
 * each chunk of at most MM_CHUNK bytes through every token).  Q4_0 and Q8_0
 * weights repacked at load (repack.h) go to gemm.c's repacked kernels
 * for prompts and decode alike, which round in their own order; Q4_K
 * weights repacked at load to gemm_k.c's, in llama.cpp's orders.
 */
#include "config.h"

#include "matmul.h"

#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "gemm.h"
#include "model.h"
#include "pool.h"
#include "quant.h"
#include "repack.h"

#define MM_ROWS	16	/* weight rows per tile */
#define MM_TOKS	64	/* activation rows per tile of the tiled path */
#define MM_TOKS_Q6	256	/* ... for Q6_K, whose tiles repack the rows */
#define MM_CHUNK (512L << 10)	/* weight bytes a thread takes through
				 * every token at a time */

struct mm_job {
	struct pool		*pool;
	const struct mtensor	*w;
	struct mm_in		*in;
	const struct qt_traits	*wt;
	const struct qt_traits	*dt;
	gemm_fn			 gemm;		/* rows t >= t4 */
	gemm_fn			 gemm4;		/* rows t < t4 */
	gemm_rp_fn		 rp;
	gemm_rpk_fn		 rpk;
	qt_dot_fn		 dot;		/* rows t >= t4 */
	qt_dot_fn		 dot4;		/* rows t < t4 */
	long			 t4;
	long			 toks;		/* tokens per tile (gemm) */
	float			*y;
	atomic_int		*cancel;
	int			 quantize;	/* the input needs quantizing */
	int			 sums;		/* ... or just its block sums */
	long			 chunk;		/* weight rows a chunk has */
	long			 nchunk;	/* chunks of the matrix */
	atomic_long		 next;		/* the next chunk to take */
};

/* Point the input at T rows of K floats; its quantized copy is stale. */
void
mm_in_set(struct mm_in *in, const float *x, int64_t T, int64_t K)
{
	in->x = x;
	in->T = T;
	in->batch = T;
	in->K = K;
	in->valid = 0;
	in->sums = 0;
}

/* Free the quantized copy. */
void
mm_in_fini(struct mm_in *in)
{
	free(in->q);
	free(in->af);
	free(in->ac8);
	free(in->ac128);
	memset(in, 0, sizeof *in);
}

/* 1 if the job's cancel flag is set. */
static int
mm_cancelled(const struct mm_job *j)
{
	return j->cancel != NULL && atomic_load_explicit(j->cancel,
	    memory_order_relaxed);
}

/* This thread's slice of the input rows quantized (or only their block
 * sums taken), then a barrier, so every thread sees the whole input. */
static void
mm_job_quantize(struct mm_job *j, int ith, int nth)
{
	struct mm_in	*in = j->in;
	long		 lo, hi, t;

	pool_split(in->T, ith, nth, &lo, &hi);
	for (t = lo; t < hi; t++) {
		if (j->quantize)
			j->dt->from_f32(in->x + t * in->K,
			    (uint8_t *)in->q + t * in->qrow, in->K);
		if (j->rp != NULL)
			gemm_act_sums((uint8_t *)in->q + t * in->qrow,
			    (int)in->K, in->af + t * (in->K / QK8_0),
			    in->ac8 + t * (in->K / QK8_0),
			    in->ac128 + t * (in->K / QK8_0) * 8);
	}
	pool_barrier(j->pool);
}

/* Weight rows lo..hi repacked Q4_0/Q8_0 (gemm.c's kernels), every token. */
static void
mm_run_rp(const struct mm_job *j, long lo, long hi)
{
	const struct mm_in	*in = j->in;
	const struct mtensor	*w = j->w;
	const uint8_t		*qd = in->q;
	int64_t			 M = w->ne1;
	long			 nb = in->K / QK8_0, t0, nt, r0, r1;
	size_t			 gsize = w->rp_kind == RP_Q4_0X8 ?
				    sizeof(struct rp_q4_0x8) :
				    sizeof(struct rp_q8_0x8);
	const int32_t		*ac = w->rp_kind == RP_Q4_0X8 ? in->ac8 :
				    in->ac128;
	long			 cpb = w->rp_kind == RP_Q4_0X8 ? 1 : 8;

	/* Row slices are multiples of 16, so of the 8-row groups. */
	for (t0 = 0; t0 < in->T; t0 += MM_TOKS) {
		nt = in->T - t0 < MM_TOKS ? in->T - t0 : MM_TOKS;
		for (r0 = lo; r0 < hi; r0 = r1) {
			if (mm_cancelled(j))
				return;
			r1 = r0 + MM_ROWS < hi ? r0 + MM_ROWS : hi;
			j->rp((int)in->K, (const uint8_t *)w->rp +
			    (size_t)(r0 / 8) * nb * gsize,
			    (int)(r1 - r0), qd + t0 * in->qrow,
			    in->qrow, in->af + t0 * nb, ac + t0 * nb * cpb,
			    (int)nt, j->y + t0 * M + r0, (size_t)M);
		}
	}
}

/* Weight rows lo..hi through a prompt tile kernel (gemm, gemm4) or the
 * kernel over repacked Q4_K rows (rpk), every token. */
static void
mm_run_gemm(const struct mm_job *j, long lo, long hi)
{
	const struct mm_in	*in = j->in;
	const struct mtensor	*w = j->w;
	const uint8_t		*wd = w->data, *qd = in->q;
	int64_t			 M = w->ne1;
	long			 t0, nt, t, r0, r1;
	size_t			 gsize = (size_t)(in->K / QK_K) *
				    sizeof(struct rp_q4_K_x16);

	/* Prompts: tiles of 16 weight rows by j->toks tokens keep
	 * both operands in cache; the kernel tiles registers inside.
	 * Token tiles end at t4, which is a multiple of 4, where
	 * the order changes.  Repacked Q4_K rows come here for
	 * decode too. */
	for (t0 = 0; t0 < in->T; t0 += nt) {
		t = t0 < j->t4 ? j->t4 : in->T;
		nt = t - t0 < j->toks ? t - t0 : j->toks;
		for (r0 = lo; r0 < hi; r0 = r1) {
			if (mm_cancelled(j))
				return;
			r1 = r0 + MM_ROWS < hi ? r0 + MM_ROWS : hi;
			if (j->rpk != NULL)
				j->rpk((int)in->K, (const uint8_t *)
				    w->rp + (size_t)(r0 / 16) * gsize,
				    (int)(r1 - r0), qd + t0 * in->qrow,
				    in->qrow, (int)nt, j->y + t0 * M +
				    r0, (size_t)M, t0 < j->t4 ?
				    GEMM_RP4 : GEMM_RP1);
			else
				(t0 < j->t4 ? j->gemm4 : j->gemm)(
				    (int)in->K, wd + r0 * w->row_size,
				    w->row_size, (int)(r1 - r0), qd +
				    t0 * in->qrow, in->qrow, (int)nt,
				    j->y + t0 * M + r0, (size_t)M);
		}
	}
}

/* Weight rows lo..hi one dot at a time, every token. */
static void
mm_run_dot(const struct mm_job *j, long lo, long hi)
{
	const struct mm_in	*in = j->in;
	const struct mtensor	*w = j->w;
	const uint8_t		*wd = w->data, *qd = in->q;
	int64_t			 M = w->ne1;
	long			 r0, r1, r, t;

	for (r0 = lo; r0 < hi; r0 = r1) {
		/* A cancel takes effect within one tile, whatever the size. */
		if (mm_cancelled(j))
			break;
		r1 = r0 + MM_ROWS < hi ? r0 + MM_ROWS : hi;
		for (t = 0; t < in->T; t++) {
			float		*yt = j->y + t * M;
			qt_dot_fn	 dot = t < j->t4 ? j->dot4 : j->dot;

			for (r = r0; r < r1; r++)
				dot((int)in->K, &yt[r],
				    wd + r * w->row_size, qd + t * in->qrow);
		}
	}
}

static void
mm_job_run(void *arg, int ith, int nth)
{
	struct mm_job	*j = arg;
	int64_t		 M = j->w->ne1;
	long		 c, c0, c1;

	if (j->quantize || j->sums)
		mm_job_quantize(j, ith, nth);
	/*
	 * Chunks of rows taken in turn, not a fixed half each: a thread
	 * that the machine slows (another process, a noisy neighbour on a
	 * VM) takes fewer, and the other does not wait for it at the end
	 * (Zen 3 VM, 2 threads: ~7 % of a prompt's time had gone to
	 * waiting).  Each chunk goes through every token before the next,
	 * so passes after the first find its weights in cache.
	 */
	while ((c = atomic_fetch_add_explicit(&j->next, 1,
	    memory_order_relaxed)) < j->nchunk && !mm_cancelled(j)) {
		c0 = c * j->chunk;
		c1 = M - c0 > j->chunk ? c0 + j->chunk : M;
		if (j->rp != NULL)
			mm_run_rp(j, c0, c1);
		else if (j->gemm != NULL || j->rpk != NULL)
			mm_run_gemm(j, c0, c1);
		else
			mm_run_dot(j, c0, c1);
	}
}

/*
 * The rows a chunk has: a multiple of MM_ROWS, so that threads do not
 * share lines and a chunk starts at a 16-row group of a repacked Q4_K;
 * about half an L2 of weights, so that a chunk's passes over the tokens
 * find them in cache (Zen 4, 8B Q4_K_M pp512: 29.0 -> 30.8 t/s, alike
 * from 128 KiB to 1 MiB); and at least 4 chunks a thread, so that the
 * last chunks even out the threads.
 */
static long
mm_chunk_rows(const struct mtensor *w, int nth)
{
	long	units = (long)((w->ne1 + MM_ROWS - 1) / MM_ROWS);
	long	cache = MM_CHUNK / (long)w->row_size / MM_ROWS;
	long	share = (units + 4L * nth - 1) / (4L * nth);
	long	c = cache < share ? cache : share;

	return (c < 1 ? 1 : c) * MM_ROWS;
}

/* Where llama.cpp repacks a weight: a type it repacks on this CPU, 8k
 * rows, never the token embedding (its get_rows reads that too). */
int
mm_rp_orders(const struct mtensor *w)
{
	return qt_get(w->type)->dot_rp1 != NULL && w->ne1 % 8 == 0 &&
	    (w->name == NULL || strcmp(w->name, "token_embd.weight") != 0);
}

/* y (T x w->ne1) = w applied to each input row, on the pool; stops at
 * the next tile once *cancel is set.  Returns 0, or -1 if the quantized
 * copy cannot be allocated. */
int
mm_mul(struct pool *pool, const struct mtensor *w, struct mm_in *in,
    float *y, atomic_int *cancel)
{
	struct mm_job	 j;
	size_t		 need;

	/* Float weights of a prompt: sgemm (blas.c). */
	if (blas_wants(w, in->T))
		return blas_mul(pool, w, in->x, in->T, y, cancel);
	j.pool = pool;
	j.w = w;
	j.in = in;
	j.y = y;
	j.cancel = cancel;
	j.wt = qt_get(w->type);
	j.dt = qt_get(j.wt->dot_type);
	j.gemm = j.gemm4 = in->T >= 2 ? gemm_get(w->type) : NULL;
	j.rp = w->rp != NULL ? gemm_get_rp(w->rp_kind) : NULL;
	j.rpk = w->rp != NULL && w->rp_kind == RP_Q4_KX16 ?
	    gemm_k_get_rp(w->rp_kind) : NULL;
	j.dot = j.dot4 = j.wt->dot;
	/* A lone token of float weights: llama.cpp's vec_dot, not tinyBLAS. */
	if (in->batch == 1 && j.wt->dot1 != NULL)
		j.dot = j.dot4 = j.wt->dot1;
	j.t4 = 0;
	/* The Q6_K tiles interleave 16 rows anew at every call, which costs
	 * about what 10 tokens do: more tokens a call, fewer of those (Zen
	 * 4, k=14336, one core: 74 GMAC/s at 64 tokens, 83 at 256). */
	j.toks = w->type == QT_Q6_K ? MM_TOKS_Q6 : MM_TOKS;
	/* Where llama.cpp repacks the weight, it adds in other orders: rows
	 * in fours as its gemm, the T % 4 left as its gemv. */
	if (mm_rp_orders(w)) {
		j.dot = j.wt->dot_rp1;
		j.dot4 = j.wt->dot_rp4;
		j.t4 = (long)(in->T - in->T % 4);
		j.gemm = in->T >= 2 ? gemm_get_order(w->type, GEMM_RP1) : NULL;
		j.gemm4 = in->T >= 2 ? gemm_get_order(w->type, GEMM_RP4) :
		    NULL;
		if (j.gemm == NULL || j.gemm4 == NULL)
			j.gemm = NULL;
	}
	j.quantize = 0;
	j.sums = 0;
	j.chunk = mm_chunk_rows(w, pool_size(pool));
	j.nchunk = (long)((w->ne1 + j.chunk - 1) / j.chunk);
	atomic_init(&j.next, 0);
	if (!in->valid || in->qtype != j.wt->dot_type) {
		if (qt_row_size(j.wt->dot_type, in->K, &in->qrow) != 0 ||
		    __builtin_mul_overflow(in->qrow, (size_t)in->T, &need))
			return -1;
		if (need > in->qcap) {
			void	*q = realloc(in->q, need);

			if (q == NULL)
				return -1;
			in->q = q;
			in->qcap = need;
		}
		in->qtype = j.wt->dot_type;
		in->sums = 0;
		j.quantize = 1;
	}
	if (j.rp != NULL && !in->sums) {
		size_t	nbt;

		/* Block scales and sums for the repacked kernels. */
		if (__builtin_mul_overflow((size_t)(in->K / QK8_0),
		    (size_t)in->T, &nbt))
			return -1;
		if (nbt > in->scap) {
			float	*af = realloc(in->af, nbt * sizeof *af);
			int32_t	*c8, *c128;

			if (af == NULL)
				return -1;
			in->af = af;
			if ((c8 = realloc(in->ac8, nbt * sizeof *c8)) == NULL)
				return -1;
			in->ac8 = c8;
			if ((c128 = reallocarray(in->ac128, nbt,
			    8 * sizeof *c128)) == NULL)
				return -1;
			in->ac128 = c128;
			in->scap = nbt;
		}
		j.sums = 1;
	}
	pool_run(pool, mm_job_run, &j);
	in->valid = 1;
	if (j.rp != NULL)
		in->sums = 1;
	return 0;
}
