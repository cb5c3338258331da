/*
 * Q2_K in the orders of llama.cpp's repacked q2_K_8x8 kernels, which its
 * AVX-512 builds use for weights of 8k rows (its AVX2 build keeps
 * vec_dot): per super-block (gemv: decode and the T % 4 tail of a batch)
 * or per half super-block (gemm: the rows in fours) an exact integer sum
 * of scale x quant x q8 and one of min x bsum, each folded into a float
 * with one FMA by d_w d_a and dmin_w d_a, the mins subtracted at the end.
 * The scalar twins; quant_k_avx2.c has the same with AVX2 integer sums.
 */
#include "config.h"

#include <assert.h>
#include <math.h>

#include "quant.h"
#include "quant_impl.h"

/* The 2-bit quant of element e of a Q2_K block. */
static inline int
q2(const uint8_t *qs, int e)
{
	return (qs[e / 128 * 32 + e % 32] >> (2 * (e % 128 / 32))) & 3;
}

/* The integer sums of elements e0..e0+step-1 of a block pair. */
static void
q2_K_isums(const struct qt_block_q2_K *x, const struct qt_block_q8_K *y,
    int e0, int step, int32_t *isum, int32_t *imin)
{
	int	e, k;

	*isum = *imin = 0;
	for (e = e0; e < e0 + step; e++)
		*isum += (x->scales[e / 16] & 15) * q2(x->qs, e) * y->qs[e];
	for (k = e0 / 16; k < (e0 + step) / 16; k++)
		*imin += (x->scales[k] >> 4) * y->bsums[k];
}

static float
q2_K_dot_rp(int n, const void *vx, const void *vy, int step)
{
	const struct qt_block_q2_K	*x = vx;
	const struct qt_block_q8_K	*y = vy;
	int				 i, e0, nb = n / QK_K;
	int32_t				 isum, imin;
	float				 acc = 0, accm = 0, d, dmin;

	assert(n % QK_K == 0);
	for (i = 0; i < nb; i++) {
		d = qt_f16_to_f32(x[i].d) * y[i].d;
		dmin = qt_f16_to_f32(x[i].dmin) * y[i].d;
		for (e0 = 0; e0 < QK_K; e0 += step) {
			q2_K_isums(&x[i], &y[i], e0, step, &isum, &imin);
			acc = fmaf((float)isum, d, acc);
			accm = fmaf((float)imin, dmin, accm);
		}
	}
	return acc - accm;
}

/* Q2_K x Q8_K as llama.cpp's repacked gemv (decode, batch tails). */
void
qt_q2_K_dot_rp1_ref(int n, float *s, const void *vx, const void *vy)
{
	*s = q2_K_dot_rp(n, vx, vy, QK_K);
}

/* Q2_K x Q8_K as llama.cpp's repacked gemm (batch rows in fours). */
void
qt_q2_K_dot_rp4_ref(int n, float *s, const void *vx, const void *vy)
{
	*s = q2_K_dot_rp(n, vx, vy, QK_K / 2);
}
