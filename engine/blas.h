/*
 * Prompt matmuls of float weights (F32, F16, BF16) through OpenBLAS's
 * single-threaded sgemm, on our pool.
 */
#ifndef YT_ENGINE_BLAS_H
#define YT_ENGINE_BLAS_H

#include <stdatomic.h>
#include <stdint.h>

struct pool;
struct mtensor;

/* 1 if a batch of T rows times w goes to sgemm. */
int	blas_wants(const struct mtensor *w, int64_t T);
void	blas_force_off(int on);

/*
 * y (T x w->ne1) = x (T x w->ne0 floats) times w's rows: every thread
 * converts blocks of its rows to floats and multiplies them with all of x.
 * Returns 0, or -1 when out of memory; stops at the next block once
 * *cancel is set.
 */
int	blas_mul(struct pool *, const struct mtensor *w, const float *x,
	    int64_t T, float *y, atomic_int *cancel);

#endif
