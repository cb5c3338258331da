/*
 * Prompt matmuls of float weights through OpenBLAS's sgemm.
 *
 * llama.cpp multiplies F16/BF16 weights with activations rounded to the
 * weight type, one dot product per (row, token).  For a prompt, a cache-
 * blocked sgemm is several times faster: each thread converts BLAS_ROWS
 * rows of its slice to floats (exactly) and lets sgemm multiply them with
 * all the prompt's activations.  OpenBLAS is kept to one thread (ours are
 * the pool's), so nothing is oversubscribed.  The activations are
 * rounded to the weight type first, as llama.cpp's dot products take
 * them: unrounded, the BF16 ktest file moved from KL 7e-7 to 7e-5 against
 * llama.cpp and lost a top-1; rounded, only the order of the float sums
 * differs.
 *
 * Measured on the 1B shape, F16, 2 threads, Zen 4, back to back on a
 * shared machine: pp512 57-76 t/s with sgemm, 42 with our dots, 40 for
 * llama.cpp; pp128 24.4 vs 17.3, pp64 30.7 vs 25.9, pp48 56 vs 25, but
 * pp32 14.7 vs 16.4 (sgemm's packing of the activations dominates).
 */
#include "config.h"

#include "blas.h"

#include <cblas.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "model.h"
#include "pool.h"
#include "quant.h"

/*
 * Rows converted at a time: sgemm packs all of x once per call, so the
 * block must be tall enough to amortize that, and small enough to stay a
 * few MiB (128 rows of 8192 floats is 4 MiB a thread).
 */
#define BLAS_ROWS	128
/* Fewer tokens than this stay with the dot products (at 32 sgemm was
 * still slower, at 48 faster: see above). */
#define BLAS_MIN_TOKENS	48

struct blas_job {
	struct pool		*pool;
	const struct mtensor	*w;
	const float		*x;	/* as given */
	float			*xr;	/* rounded to the dot type, or NULL */
	int64_t			 T;
	float			*y;
	atomic_int		*cancel;
	atomic_int		 fail;
};

static pthread_once_t	blas_once = PTHREAD_ONCE_INIT;
static pthread_key_t	blas_key;

/* A thread's buffers, kept from prompt to prompt. */
struct bufs {
	float	*blk;	/* BLAS_ROWS converted weight rows */
	size_t	 blk_cap;
	float	*xr;	/* the caller's: activations rounded */
	size_t	 xr_cap;
};

static void
bufs_free(void *v)
{
	struct bufs	*b = v;

	free(b->blk);
	free(b->xr);
	free(b);
}

static void
blas_init(void)
{
	pthread_key_create(&blas_key, bufs_free);
#ifdef OPENBLAS_VERSION
	openblas_set_num_threads(1);
#endif
}

/* Grow *p to n floats; 0, or -1 if out of memory (*p is kept). */
static int
grow(float **p, size_t *cap, size_t n)
{
	float	*q;

	if (*cap >= n)
		return 0;
	if (n > SIZE_MAX / sizeof(float) ||
	    (q = malloc(n * sizeof(float))) == NULL)
		return -1;
	free(*p);
	*p = q;
	*cap = n;
	return 0;
}

/* This thread's buffers, or NULL. */
static struct bufs *
bufs(void)
{
	struct bufs	*b = pthread_getspecific(blas_key);

	if (b == NULL && (b = calloc(1, sizeof *b)) != NULL &&
	    pthread_setspecific(blas_key, b) != 0) {
		free(b);
		b = NULL;
	}
	return b;
}

static int	blas_off = -1;

/* Keep BLAS off (on = 1) as YANGTUO_NO_BLAS does, or follow the
 * environment again (on = 0); for tests, between evaluations. */
void
blas_force_off(int on)
{
	blas_off = on ? 1 : -1;
}

int
blas_wants(const struct mtensor *w, int64_t T)
{
	int	off = blas_off;

	/* YANGTUO_NO_BLAS=1 keeps the dot products, to compare. */
	if (off < 0) {
		const char	*e = getenv("YANGTUO_NO_BLAS");

		off = blas_off = e != NULL && *e != '\0' && *e != '0';
	}
	/* Rows of a multiple of 32: llama.cpp's F16 dot adds what is past
	 * the last 32 in double, which sgemm cannot mirror (a tiny model's
	 * F16 FFN of 172 went from KL 8e-5 to 2e-4 against llama.cpp). */
	/* Not BF16: its activations are rounded to 8 bits of mantissa
	 * before every product, so sgemm's other order of adding flips
	 * roundings now and then (ktest-BF16: KL up to 2e-4 on single
	 * positions); the dots give llama.cpp's floats. */
	return !off && !w->dots && T >= BLAS_MIN_TOKENS && T <= INT_MAX &&
	    w->ne0 % 32 == 0 && w->ne0 <= INT_MAX &&
	    w->ne1 <= INT_MAX && (w->type == QT_F32 || w->type == QT_F16);
}

static void
blas_job_run(void *arg, int ith, int nth)
{
	struct blas_job		*j = arg;
	const struct mtensor	*w = j->w;
	const struct qt_traits	*t = qt_get(w->type);
	const struct qt_traits	*dt = qt_get(t->dot_type);
	int64_t			 K = w->ne0, M = w->ne1, nblk, r0, r1, r;
	struct bufs		*b = bufs();
	long			 lo, hi, bk;
	int			 fail;

	fail = b == NULL || grow(&b->blk, &b->blk_cap, (size_t)BLAS_ROWS *
	    (size_t)K) != 0;
	if (j->xr != NULL) {
		/* The activations as the type's dot products take them
		 * (rounded to F16 or BF16): a row at a time through the
		 * block buffer. */
		pool_split((long)j->T, ith, nth, &lo, &hi);
		for (r = lo; r < hi && !fail; r++) {
			dt->from_f32(j->x + r * K, b->blk, K);
			dt->to_f32(b->blk, j->xr + r * K, K);
		}
		if (fail)
			atomic_store(&j->fail, 1);
		pool_barrier(j->pool);
	}
	if (fail || atomic_load(&j->fail)) {
		atomic_store(&j->fail, 1);
		return;
	}
	nblk = (M + BLAS_ROWS - 1) / BLAS_ROWS;
	pool_split((long)nblk, ith, nth, &lo, &hi);
	for (bk = lo; bk < hi; bk++) {
		if (j->cancel != NULL && atomic_load_explicit(j->cancel,
		    memory_order_relaxed))
			return;
		r0 = bk * BLAS_ROWS;
		r1 = r0 + BLAS_ROWS < M ? r0 + BLAS_ROWS : M;
		for (r = r0; r < r1; r++)
			t->to_f32((const uint8_t *)w->data + r * w->row_size,
			    b->blk + (r - r0) * K, K);
		/* y[:, r0..r1) = x . blk^T */
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans,
		    (int)j->T, (int)(r1 - r0), (int)K, 1.0f,
		    j->xr != NULL ? j->xr : j->x, (int)K, b->blk, (int)K,
		    0.0f, j->y + r0, (int)M);
	}
}

int
blas_mul(struct pool *pool, const struct mtensor *w, const float *x,
    int64_t T, float *y, atomic_int *cancel)
{
	struct blas_job	 j;
	struct bufs	*b;

	pthread_once(&blas_once, blas_init);
	j.pool = pool;
	j.w = w;
	j.x = x;
	j.xr = NULL;
	j.T = T;
	j.y = y;
	j.cancel = cancel;
	atomic_init(&j.fail, 0);
	if (qt_get(w->type)->dot_type != QT_F32) {
		if ((b = bufs()) == NULL || grow(&b->xr, &b->xr_cap,
		    (size_t)T * (size_t)w->ne0) != 0)
			return -1;
		j.xr = b->xr;
	}
	pool_run(pool, blas_job_run, &j);
	return atomic_load(&j.fail) ? -1 : 0;
}
