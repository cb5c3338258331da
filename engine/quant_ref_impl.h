/*
 * The scalar helpers the _ref kernels share: quant_k.c (Q2_K, Q3_K, Q8_K
 * and the quantizers' searches), quant_k456.c (Q4_K, Q5_K, Q6_K) and
 * quant_legacy.c (Q4_1, Q5_0, Q5_1, Q8_1).  Private to those; each sets
 * fp-contract off before it includes this, as ggml's reference code is.
 */
#ifndef YT_ENGINE_QUANT_REF_IMPL_H
#define YT_ENGINE_QUANT_REF_IMPL_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "quant_impl.h"


#define GROUP_MAX_EPS	1e-15f

static inline float
f16(uint16_t h)
{
	return qt_f16_to_f32(h);
}

/* ggml's nearest_int: round to nearest even through the float adder. */
static inline int
nearest_int(float v)
{
	float	t = v + 12582912.f;
	int32_t	i;

	memcpy(&i, &t, sizeof i);
	return (i & 0x007fffff) - 0x00400000;
}

/* ggml's hsum_float_8: high half plus low half, then pairs, then two. */
static inline float
hsum8(const float *a)
{
	return ((a[4] + a[0]) + (a[6] + a[2])) +
	    ((a[5] + a[1]) + (a[7] + a[3]));
}

/* acc[k] += d * lane[k], rounded once, as _mm256_fmadd_ps does. */
static inline void
lanes_fma(float *acc, float d, const int32_t *lane)
{
	int	k;

	for (k = 0; k < 8; k++)
		acc[k] = fmaf(d, (float)lane[k], acc[k]);
}

/* ggml's make_qkx2_quants: scale and min (returned in *the_min, negated)
 * of the best of nstep + 1 weighted least-squares fits of the n values x
 * with weights w, quants in L (Laux is scratch of n); pure, any thread. */
float	qt_make_qkx2_quants(int n, int nmax, const float *x,
	    const float *w, uint8_t *L, float *the_min, uint8_t *Laux, float rmin,
	    float rdelta, int nstep, int use_mad);

#endif
