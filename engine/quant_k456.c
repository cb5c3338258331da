/*
 * The scalar (_ref) kernels of the K-quants Q4_K, Q5_K and Q6_K against
 * Q8_K activations, and Q4_K's dots in the repacked orders.  As in
 * quant_k.c: the quantizers are ggml's quantize_row_*_ref bit for bit, and
 * each dot adds the same float terms in the same order as llama.cpp's
 * AVX2 vec_dot, as does its twin in quant_k_avx2.c.
 */
#include "config.h"

#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "quant_impl.h"

/* As in quant_k.c: no product fused into a sum unless by fmaf, as ggml's
 * reference code is built. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include "quant_ref_impl.h"

/* ggml's make_qx_quants for rmse_type 1 without importance weights (the
 * only use, Q6_K): the best of 19 scales by weighted least squares. */
static float
make_qx_quants(int n, int nmax, const float *x, int8_t *L)
{
	float	max = 0, amax = 0, iscale, sumlx, suml2, scale, best, w;
	int	i, is, l;

	for (i = 0; i < n; i++) {
		if (fabsf(x[i]) > amax) {
			amax = fabsf(x[i]);
			max = x[i];
		}
	}
	if (amax < GROUP_MAX_EPS) {
		memset(L, 0, (size_t)n);
		return 0.f;
	}
	iscale = -nmax / max;
	sumlx = suml2 = 0;
	for (i = 0; i < n; i++) {
		l = nearest_int(iscale * x[i]);
		l = l < -nmax ? -nmax : l > nmax - 1 ? nmax - 1 : l;
		L[i] = (int8_t)(l + nmax);
		w = x[i] * x[i];
		sumlx += w * x[i] * l;
		suml2 += w * l * l;
	}
	scale = suml2 != 0 ? sumlx / suml2 : 0.0f;
	best = scale * sumlx;
	for (is = -9; is <= 9; is++) {
		if (is == 0)
			continue;
		iscale = -(nmax + 0.1f * is) / max;
		sumlx = suml2 = 0;
		for (i = 0; i < n; i++) {
			l = nearest_int(iscale * x[i]);
			l = l < -nmax ? -nmax : l > nmax - 1 ? nmax - 1 : l;
			w = x[i] * x[i];
			sumlx += w * x[i] * l;
			suml2 += w * l * l;
		}
		if (suml2 > 0 && sumlx * sumlx > best * suml2) {
			for (i = 0; i < n; i++) {
				l = nearest_int(iscale * x[i]);
				l = l < -nmax ? -nmax : l > nmax - 1 ?
				    nmax - 1 : l;
				L[i] = (int8_t)(nmax + l);
			}
			scale = sumlx / suml2;
			best = scale * sumlx;
		}
	}
	return scale;
}

/* Scale and min of sub-block j of a Q4_K/Q5_K block (6 bits each). */
static inline void
scale_min_k4(int j, const uint8_t *q, int *sc, int *m)
{
	if (j < 4) {
		*sc = q[j] & 63;
		*m = q[j + 4] & 63;
	} else {
		*sc = (q[j + 4] & 15) | (q[j - 4] >> 6) << 4;
		*m = (q[j + 4] >> 4) | (q[j] >> 6) << 4;
	}
}

/* ---------------------------------------------------------------------- */

/* The 4-bit quant of element e of a Q4_K/Q5_K block: 64-chunks of 32
 * bytes, low nibbles first. */
static inline int
get_4bit(const uint8_t *qs, int e)
{
	return (qs[e / 64 * 32 + e % 32] >> (4 * (e % 64 / 32))) & 15;
}

/* Dequantize a Q4_K row: d * scale * q - dmin * min per 32. */
void
qt_q4_K_to_f32_ref(const void *src, float *dst, int64_t n)
{
	const struct qt_block_q4_K	*x = src;
	int64_t				 i, nb = n / QK_K;
	float				 d, min, dl, ml;
	int				 e, sc, m;

	assert(n % QK_K == 0);
	for (i = 0; i < nb; i++, dst += QK_K) {
		d = f16(x[i].d);
		min = f16(x[i].dmin);
		for (e = 0; e < QK_K; e++) {
			scale_min_k4(e / 32, x[i].scales, &sc, &m);
			dl = d * sc;
			ml = min * m;
			dst[e] = dl * get_4bit(x[i].qs, e) - ml;
		}
	}
}

/* Quantize 8 sub-block scales and mins to 6 bits into a Q4_K/Q5_K
 * scales[12] and return d and dmin, as ggml's _ref quantizers. */
static void
k4_put_scales(const float *scales, const float *mins, uint8_t *q,
    uint16_t *d, uint16_t *dmin)
{
	float	max_scale = 0, max_min = 0, inv_scale, inv_min;
	uint8_t	ls, lm;
	int	j;

	for (j = 0; j < 8; j++) {
		if (scales[j] > max_scale)
			max_scale = scales[j];
		if (mins[j] > max_min)
			max_min = mins[j];
	}
	inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
	inv_min = max_min > 0 ? 63.f / max_min : 0.f;
	for (j = 0; j < 8; j++) {
		ls = (uint8_t)nearest_int(inv_scale * scales[j]);
		lm = (uint8_t)nearest_int(inv_min * mins[j]);
		ls = ls < 63 ? ls : 63;
		lm = lm < 63 ? lm : 63;
		if (j < 4) {
			q[j] = ls;
			q[j + 4] = lm;
		} else {
			q[j + 4] = (uint8_t)((ls & 15) | (lm & 15) << 4);
			q[j - 4] |= (uint8_t)((ls >> 4) << 6);
			q[j] |= (uint8_t)((lm >> 4) << 6);
		}
	}
	*d = qt_f32_to_f16(max_scale / 63.f);
	*dmin = qt_f32_to_f16(max_min / 63.f);
}

/*
 * The first half of ggml's Q4_K/Q5_K reference quantizers: scale and min
 * of the 8 sub-blocks by make_qkx2_quants, weighted by rms + |x|, packed;
 * then the quants (0..nmax) against the stored fp16 scales.
 */
static void
k4_quantize(const float *x, int nmax, float rmin, int nstep, uint8_t *q,
    uint16_t *d, uint16_t *dmin, uint8_t *L)
{
	uint8_t	Laux[32];
	float	w[32], mins[8], scales[8], sum_x2, av_x, dl, dm;
	int	j, k, l, sc, m;

	for (j = 0; j < 8; j++) {
		sum_x2 = 0;
		for (k = 0; k < 32; k++)
			sum_x2 += x[32 * j + k] * x[32 * j + k];
		av_x = sqrtf(sum_x2 / 32);
		for (k = 0; k < 32; k++)
			w[k] = av_x + fabsf(x[32 * j + k]);
		scales[j] = qt_make_qkx2_quants(32, nmax, x + 32 * j, w,
		    L + 32 * j, &mins[j], Laux, rmin, 0.1f, nstep, 0);
	}
	k4_put_scales(scales, mins, q, d, dmin);
	for (j = 0; j < 8; j++) {
		scale_min_k4(j, q, &sc, &m);
		dl = f16(*d) * sc;
		if (dl == 0)
			continue;
		dm = f16(*dmin) * m;
		for (k = 0; k < 32; k++) {
			l = nearest_int((x[32 * j + k] + dm) / dl);
			L[32 * j + k] = (uint8_t)(l < 0 ? 0 :
			    l > nmax ? nmax : l);
		}
	}
}

/* ggml's quantize_row_q4_K_ref. */
void
qt_q4_K_from_f32_ref(const float *x, void *dst, int64_t n)
{
	struct qt_block_q4_K	*y = dst;
	int64_t			 i, nb = n / QK_K;
	uint8_t			 L[QK_K];
	int			 j, l;

	assert(n % QK_K == 0);
	for (i = 0; i < nb; i++, x += QK_K) {
		k4_quantize(x, 15, -1.f, 20, y[i].scales, &y[i].d,
		    &y[i].dmin, L);
		for (j = 0; j < QK_K; j += 64)
			for (l = 0; l < 32; l++)
				y[i].qs[j / 2 + l] = (uint8_t)(L[j + l] |
				    L[j + l + 32] << 4);
	}
}

/* Lane k of the Q4_K/Q5_K mins: m_j times the sum of sub-block j's
 * activations, for j = 2k and 2k + 1. */
static int32_t
k4_min_lane(const int *m, const int16_t *bsums, int k)
{
	return m[2 * k] * (bsums[4 * k] + bsums[4 * k + 1]) +
	    m[2 * k + 1] * (bsums[4 * k + 2] + bsums[4 * k + 3]);
}

/* Q4_K x Q8_K: quants in 8 lanes, mins in 4 lanes of their own, each
 * with one FMA per block; the two sums are added at the end. */
void
qt_q4_K_dot_ref(int n, float *s, const void *vx, const void *vy)
{
	const struct qt_block_q4_K	*x = vx;
	const struct qt_block_q8_K	*y = vy;
	int				 i, e, k, nb = n / QK_K;
	int				 sc[8], m[8];
	int32_t				 lane[8];
	float				 acc[8] = { 0 }, accm[4] = { 0 }, dmin;

	assert(n % QK_K == 0);
	for (i = 0; i < nb; i++) {
		for (k = 0; k < 8; k++)
			scale_min_k4(k, x[i].scales, &sc[k], &m[k]);
		dmin = -y[i].d * f16(x[i].dmin);
		for (k = 0; k < 4; k++)
			accm[k] = fmaf(dmin,
			    (float)k4_min_lane(m, y[i].bsums, k), accm[k]);
		memset(lane, 0, sizeof lane);
		for (e = 0; e < QK_K; e++)
			lane[e % 32 / 4] += sc[e / 32] *
			    get_4bit(x[i].qs, e) * y[i].qs[e];
		lanes_fma(acc, y[i].d * f16(x[i].d), lane);
	}
	*s = hsum8(acc) + ((accm[0] + accm[2]) + (accm[1] + accm[3]));
}

/*
 * Q4_K x Q8_K in the order of llama.cpp's repacked (q4_K_8x8) kernels,
 * which it uses instead of vec_dot for weights of 8k rows: an integer sum
 * of the quants and one of the mins per step values (256 in its gemv, for
 * decode and the last T % 4 tokens of a batch; 64 in its gemm, for the
 * rest), each folded into a scalar with one FMA; the mins subtracted last.
 */
static float
q4_K_dot_rp(int n, const void *vx, const void *vy, int step)
{
	const struct qt_block_q4_K	*x = vx;
	const struct qt_block_q8_K	*y = vy;
	int				 i, e, e0, k, nb = n / QK_K;
	int				 sc[8], m[8];
	int32_t				 isum, imin;
	float				 acc = 0, accm = 0, d, dmin;

	assert(n % QK_K == 0);
	for (i = 0; i < nb; i++) {
		for (k = 0; k < 8; k++)
			scale_min_k4(k, x[i].scales, &sc[k], &m[k]);
		d = f16(x[i].d) * y[i].d;
		dmin = f16(x[i].dmin) * y[i].d;
		for (e0 = 0; e0 < QK_K; e0 += step) {
			isum = imin = 0;
			for (e = e0; e < e0 + step; e++)
				isum += sc[e / 32] * get_4bit(x[i].qs, e) *
				    y[i].qs[e];
			for (k = e0 / 32; k < (e0 + step) / 32; k++)
				imin += m[k] * (y[i].bsums[2 * k] +
				    y[i].bsums[2 * k + 1]);
			acc = fmaf((float)isum, d, acc);
			accm = fmaf((float)imin, dmin, accm);
		}
	}
	return acc - accm;
}

/* Q4_K x Q8_K as llama.cpp's repacked gemv (decode, batch tails). */
void
qt_q4_K_dot_rp1_ref(int n, float *s, const void *vx, const void *vy)
{
	*s = q4_K_dot_rp(n, vx, vy, QK_K);
}

/* Q4_K x Q8_K as llama.cpp's repacked gemm (batch rows in fours). */
void
qt_q4_K_dot_rp4_ref(int n, float *s, const void *vx, const void *vy)
{
	*s = q4_K_dot_rp(n, vx, vy, 64);
}

/* ---------------------------------------------------------------------- */

/* The 5-bit quant of element e of a Q5_K block. */
static inline int
q5_K_quant(const struct qt_block_q5_K *b, int e)
{
	return get_4bit(b->qs, e) | ((b->qh[e % 32] >> (e / 32)) & 1) << 4;
}

/* Dequantize a Q5_K row: as Q4_K with 5-bit quants. */
void
qt_q5_K_to_f32_ref(const void *src, float *dst, int64_t n)
{
	const struct qt_block_q5_K	*x = src;
	int64_t				 i, nb = n / QK_K;
	float				 d, min, dl, ml;
	int				 e, sc, m;

	assert(n % QK_K == 0);
	for (i = 0; i < nb; i++, dst += QK_K) {
		d = f16(x[i].d);
		min = f16(x[i].dmin);
		for (e = 0; e < QK_K; e++) {
			scale_min_k4(e / 32, x[i].scales, &sc, &m);
			dl = d * sc;
			ml = min * m;
			dst[e] = dl * q5_K_quant(&x[i], e) - ml;
		}
	}
}

/* ggml's quantize_row_q5_K_ref. */
void
qt_q5_K_from_f32_ref(const float *x, void *dst, int64_t n)
{
	struct qt_block_q5_K	*y = dst;
	int64_t			 i, nb = n / QK_K;
	uint8_t			 L[QK_K];
	int			 e;

	assert(n % QK_K == 0);
	for (i = 0; i < nb; i++, x += QK_K) {
		k4_quantize(x, 31, -0.5f, 15, y[i].scales, &y[i].d,
		    &y[i].dmin, L);
		memset(y[i].qh, 0, sizeof y[i].qh);
		memset(y[i].qs, 0, sizeof y[i].qs);
		for (e = 0; e < QK_K; e++) {
			y[i].qs[e / 64 * 32 + e % 32] |=
			    (uint8_t)((L[e] & 15) << (4 * (e % 64 / 32)));
			y[i].qh[e % 32] |= (uint8_t)((L[e] >> 4) << (e / 32));
		}
	}
}

/* Q5_K x Q8_K: as Q4_K, but the mins are one integer per block, added
 * to a scalar with FMA (GCC's contraction in llama.cpp's build). */
void
qt_q5_K_dot_ref(int n, float *s, const void *vx, const void *vy)
{
	const struct qt_block_q5_K	*x = vx;
	const struct qt_block_q8_K	*y = vy;
	int				 i, e, k, nb = n / QK_K;
	int				 sc[8], m[8];
	int32_t				 lane[8], msum;
	float				 acc[8] = { 0 }, summs = 0, dmin;

	assert(n % QK_K == 0);
	for (i = 0; i < nb; i++) {
		for (k = 0; k < 8; k++)
			scale_min_k4(k, x[i].scales, &sc[k], &m[k]);
		dmin = -y[i].d * f16(x[i].dmin);
		msum = 0;
		for (k = 0; k < 4; k++)
			msum += k4_min_lane(m, y[i].bsums, k);
		summs = fmaf(dmin, (float)msum, summs);
		memset(lane, 0, sizeof lane);
		for (e = 0; e < QK_K; e++)
			lane[e % 32 / 4] += sc[e / 32] * q5_K_quant(&x[i], e) *
			    y[i].qs[e];
		lanes_fma(acc, y[i].d * f16(x[i].d), lane);
	}
	*s = hsum8(acc) + summs;
}

/* ---------------------------------------------------------------------- */

/* The unsigned 6-bit quant (0..63) of element e of a Q6_K block: per
 * 128-chunk, ql holds 64 bytes (elements l and l + 64 in byte l, l + 32
 * and l + 96 in byte l + 32), qh 32 bytes of four 2-bit fields. */
static inline int
q6_K_quant(const struct qt_block_q6_K *b, int e)
{
	int	g = e / 128, quarter = e % 128 / 32, l = e % 32;
	int	lo, hi;

	lo = (b->ql[64 * g + l + 32 * (quarter & 1)] >> (4 * (quarter >> 1))) &
	    15;
	hi = (b->qh[32 * g + l] >> (2 * quarter)) & 3;
	return lo | hi << 4;
}

/* Dequantize a Q6_K row: (d * scale) * (q - 32) per 16. */
void
qt_q6_K_to_f32_ref(const void *src, float *dst, int64_t n)
{
	const struct qt_block_q6_K	*x = src;
	int64_t				 i, nb = n / QK_K;
	float				 d;
	int				 e;

	assert(n % QK_K == 0);
	for (i = 0; i < nb; i++, dst += QK_K) {
		d = f16(x[i].d);
		for (e = 0; e < QK_K; e++)
			dst[e] = d * x[i].scales[e / 16] *
			    (q6_K_quant(&x[i], e) - 32);
	}
}

/* ggml's quantize_row_q6_K_ref: per 16 a scale by make_qx_quants,
 * quantized to int8 against the one of largest magnitude. */
void
qt_q6_K_from_f32_ref(const float *x, void *dst, int64_t n)
{
	struct qt_block_q6_K	*y = dst;
	int64_t			 i, nb = n / QK_K;
	int8_t			 L[QK_K];
	float			 scales[16], max_scale, max_abs, iscale, d;
	int			 j, k, l, q;

	assert(n % QK_K == 0);
	for (i = 0; i < nb; i++, x += QK_K) {
		max_scale = max_abs = 0;
		for (j = 0; j < 16; j++) {
			scales[j] = make_qx_quants(16, 32, x + 16 * j,
			    L + 16 * j);
			if (fabsf(scales[j]) > max_abs) {
				max_abs = fabsf(scales[j]);
				max_scale = scales[j];
			}
		}
		if (max_abs < GROUP_MAX_EPS) {
			memset(&y[i], 0, sizeof y[i]);
			y[i].d = qt_f32_to_f16(0.f);
			continue;
		}
		iscale = -128.f / max_scale;
		y[i].d = qt_f32_to_f16(1 / iscale);
		for (j = 0; j < 16; j++) {
			l = nearest_int(iscale * scales[j]);
			y[i].scales[j] = (int8_t)(l < 127 ? l : 127);
		}
		for (j = 0; j < 16; j++) {
			d = f16(y[i].d) * y[i].scales[j];
			if (d == 0)
				continue;
			for (k = 0; k < 16; k++) {
				l = nearest_int(x[16 * j + k] / d);
				l = l < -32 ? -32 : l > 31 ? 31 : l;
				L[16 * j + k] = (int8_t)(l + 32);
			}
		}
		memset(y[i].ql, 0, sizeof y[i].ql);
		memset(y[i].qh, 0, sizeof y[i].qh);
		for (j = 0; j < QK_K; j++) {
			q = L[j];
			k = j % 128 / 32;
			y[i].ql[64 * (j / 128) + j % 32 + 32 * (k & 1)] |=
			    (uint8_t)((q & 15) << (4 * (k >> 1)));
			y[i].qh[32 * (j / 128) + j % 32] |=
			    (uint8_t)((q >> 4) << (2 * k));
		}
	}
}

/*
 * Q6_K x Q8_K as llama.cpp's AVX2 kernel: the unsigned quants (0..63) in
 * the lanes, minus 32 * scale * bsum of groups 2k and 2k + 1 in lane k
 * (not the lane's own elements: only the total is the same).
 */
void
qt_q6_K_dot_ref(int n, float *s, const void *vx, const void *vy)
{
	const struct qt_block_q6_K	*x = vx;
	const struct qt_block_q8_K	*y = vy;
	int				 i, e, k, nb = n / QK_K;
	int32_t				 lane[8];
	float				 acc[8] = { 0 };

	assert(n % QK_K == 0);
	for (i = 0; i < nb; i++) {
		memset(lane, 0, sizeof lane);
		for (e = 0; e < QK_K; e++)
			lane[e % 32 / 4] += x[i].scales[e / 16] *
			    q6_K_quant(&x[i], e) * y[i].qs[e];
		for (k = 0; k < 8; k++)
			lane[k] -= 32 * (x[i].scales[2 * k] *
			    y[i].bsums[2 * k] + x[i].scales[2 * k + 1] *
			    y[i].bsums[2 * k + 1]);
		lanes_fma(acc, y[i].d * f16(x[i].d), lane);
	}
	*s = hsum8(acc);
}
