/*
 * The scalar (_ref) kernels of Q4_1, Q5_0, Q5_1 and the K-quants Q2_K to
 * Q6_K, and of the activation types they pair with (Q8_1, Q8_K).  The
 * quantizers are ggml's quantize_row_*_ref bit for bit (they made the
 * model files); each dot adds the same float terms in the same order as
 * llama.cpp's AVX2 vec_dot (eight lanes of integer sums, one fused
 * multiply-add per block and lane, its horizontal sum), so it gives the
 * very float llama.cpp gives, and so does its twin in quant_k_avx2.c.
 */
#include "config.h"

#include <assert.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "quant_impl.h"

/* ggml's reference code is built without FMA: every product is rounded
 * before it is added, so the compiler must not fuse them here either. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#define GROUP_MAX_EPS	1e-15f

extern char qt_check_q4_1[sizeof(struct qt_block_q4_1) == 20 ? 1 : -1];
extern char qt_check_q5_0[sizeof(struct qt_block_q5_0) == 22 ? 1 : -1];
extern char qt_check_q5_1[sizeof(struct qt_block_q5_1) == 24 ? 1 : -1];
extern char qt_check_q8_1[sizeof(struct qt_block_q8_1) == 36 ? 1 : -1];
extern char qt_check_q2_K[sizeof(struct qt_block_q2_K) == 84 ? 1 : -1];
extern char qt_check_q3_K[sizeof(struct qt_block_q3_K) == 110 ? 1 : -1];
extern char qt_check_q4_K[sizeof(struct qt_block_q4_K) == 144 ? 1 : -1];
extern char qt_check_q5_K[sizeof(struct qt_block_q5_K) == 176 ? 1 : -1];
extern char qt_check_q6_K[sizeof(struct qt_block_q6_K) == 210 ? 1 : -1];
extern char qt_check_q8_K[sizeof(struct qt_block_q8_K) == 292 ? 1 : -1];

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
static float
hsum8(const float *a)
{
	return ((a[4] + a[0]) + (a[6] + a[2])) +
	    ((a[5] + a[1]) + (a[7] + a[3]));
}

/* acc[k] += d * lane[k], rounded once, as _mm256_fmadd_ps does. */
static void
lanes_fma(float *acc, float d, const int32_t *lane)
{
	int	k;

	for (k = 0; k < 8; k++)
		acc[k] = fmaf(d, (float)lane[k], acc[k]);
}

/* The fifth bit of element j of a Q5_0/Q5_1 block, as 0 or 16. */
static inline int
q5_hbit(const uint8_t *qh, int j)
{
	uint32_t	h;

	memcpy(&h, qh, sizeof h);
	return (int)((h >> j) & 1) << 4;
}

/* ---------------------------------------------------------------------- */

/* Dequantize a Q4_1 row: q * d + m, two roundings as ggml. */
void
qt_q4_1_to_f32_ref(const void *src, float *dst, int64_t n)
{
	const struct qt_block_q4_1	*x = src;
	int64_t				 i, nb = n / QT_QK;
	float				 d, m;
	int				 j;

	assert(n % QT_QK == 0);
	for (i = 0; i < nb; i++, dst += QT_QK) {
		d = f16(x[i].d);
		m = f16(x[i].m);
		for (j = 0; j < QT_QK / 2; j++) {
			dst[j] = (x[i].qs[j] & 15) * d + m;
			dst[j + QT_QK / 2] = (x[i].qs[j] >> 4) * d + m;
		}
	}
}

/* One quant of Q4_1/Q5_1 as ggml's MIN(top, (int8_t)(v + 0.5f)). */
static inline uint8_t
q_round_min(float v, int top)
{
	int	q = (int8_t)qt_cvt_i32(v + 0.5f);

	return (uint8_t)(q < top ? q : top);
}

/* ggml's quantize_row_q4_1_ref: d = (max - min) / 15, m = min. */
void
qt_q4_1_from_f32_ref(const float *src, void *dst, int64_t n)
{
	struct qt_block_q4_1	*y = dst;
	int64_t			 i, nb = n / QT_QK;
	float			 min, max, d, id;
	uint8_t			 lo, hi;
	int			 j;

	assert(n % QT_QK == 0);
	for (i = 0; i < nb; i++, src += QT_QK) {
		min = FLT_MAX;
		max = -FLT_MAX;
		for (j = 0; j < QT_QK; j++) {
			if (src[j] < min)
				min = src[j];
			if (src[j] > max)
				max = src[j];
		}
		d = (max - min) / 15;
		id = d != 0.0f ? 1.0f / d : 0.0f;
		y[i].d = qt_f32_to_f16(d);
		y[i].m = qt_f32_to_f16(min);
		for (j = 0; j < QT_QK / 2; j++) {
			lo = q_round_min((src[j] - min) * id, 15);
			hi = q_round_min((src[j + QT_QK / 2] - min) * id, 15);
			y[i].qs[j] = (uint8_t)(lo | hi << 4);
		}
	}
}

/* Q4_1 x Q8_1: ggml's lanes (4 consecutive products each), one FMA per
 * block, and the mins as a scalar sum of m * s with FMA (GCC's
 * contraction in llama.cpp's AVX2 build). */
void
qt_q4_1_dot_ref(int n, float *s, const void *vx, const void *vy)
{
	const struct qt_block_q4_1	*x = vx;
	const struct qt_block_q8_1	*y = vy;
	int				 i, j, nb = n / QT_QK;
	int32_t				 lane[8];
	float				 acc[8] = { 0 }, summs = 0;

	assert(n % QT_QK == 0);
	for (i = 0; i < nb; i++) {
		memset(lane, 0, sizeof lane);
		for (j = 0; j < QT_QK / 2; j++) {
			lane[j / 4] += (x[i].qs[j] & 15) * y[i].qs[j];
			lane[4 + j / 4] += (x[i].qs[j] >> 4) *
			    y[i].qs[j + QT_QK / 2];
		}
		summs = fmaf(f16(x[i].m), f16(y[i].s), summs);
		lanes_fma(acc, f16(x[i].d) * f16(y[i].d), lane);
	}
	*s = hsum8(acc) + summs;
}

/* ---------------------------------------------------------------------- */

/* Dequantize a Q5_0 row: (q - 16) * d. */
void
qt_q5_0_to_f32_ref(const void *src, float *dst, int64_t n)
{
	const struct qt_block_q5_0	*x = src;
	int64_t				 i, nb = n / QT_QK;
	float				 d;
	int				 j, q0, q1;

	assert(n % QT_QK == 0);
	for (i = 0; i < nb; i++, dst += QT_QK) {
		d = f16(x[i].d);
		for (j = 0; j < QT_QK / 2; j++) {
			q0 = ((x[i].qs[j] & 15) | q5_hbit(x[i].qh, j)) - 16;
			q1 = ((x[i].qs[j] >> 4) |
			    q5_hbit(x[i].qh, j + QT_QK / 2)) - 16;
			dst[j] = q0 * d;
			dst[j + QT_QK / 2] = q1 * d;
		}
	}
}

/* One Q5_0 quant as ggml's MIN(31, (int8_t)(v * id + 16.5f)). */
static inline uint8_t
q5_0_quant(float v, float id)
{
	int	q = (int8_t)qt_cvt_i32(v * id + 16.5f);

	return (uint8_t)(q < 31 ? q : 31);
}

/* ggml's quantize_row_q5_0_ref: the signed value of largest magnitude
 * (the first one, on ties) maps to -16. */
void
qt_q5_0_from_f32_ref(const float *src, void *dst, int64_t n)
{
	struct qt_block_q5_0	*y = dst;
	int64_t			 i, nb = n / QT_QK;
	float			 amax, max, d, id;
	uint32_t		 qh;
	uint8_t			 lo, hi;
	int			 j;

	assert(n % QT_QK == 0);
	for (i = 0; i < nb; i++, src += QT_QK) {
		amax = max = 0.0f;
		for (j = 0; j < QT_QK; j++) {
			if (amax < fabsf(src[j])) {
				amax = fabsf(src[j]);
				max = src[j];
			}
		}
		d = max / -16;
		id = d != 0.0f ? 1.0f / d : 0.0f;
		y[i].d = qt_f32_to_f16(d);
		qh = 0;
		for (j = 0; j < QT_QK / 2; j++) {
			lo = q5_0_quant(src[j], id);
			hi = q5_0_quant(src[j + QT_QK / 2], id);
			y[i].qs[j] = (uint8_t)((lo & 15) | (hi & 15) << 4);
			qh |= (uint32_t)(lo >> 4 & 1) << j;
			qh |= (uint32_t)(hi >> 4 & 1) << (j + QT_QK / 2);
		}
		memcpy(y[i].qh, &qh, sizeof qh);
	}
}

/* Q5_0 x Q8_0: as Q4_0, 5-bit quants minus 16. */
void
qt_q5_0_dot_ref(int n, float *s, const void *vx, const void *vy)
{
	const struct qt_block_q5_0	*x = vx;
	const struct qt_block_q8_0	*y = vy;
	int				 i, j, nb = n / QT_QK, q0, q1;
	int32_t				 lane[8];
	float				 acc[8] = { 0 };

	assert(n % QT_QK == 0);
	for (i = 0; i < nb; i++) {
		memset(lane, 0, sizeof lane);
		for (j = 0; j < QT_QK / 2; j++) {
			q0 = ((x[i].qs[j] & 15) | q5_hbit(x[i].qh, j)) - 16;
			q1 = ((x[i].qs[j] >> 4) |
			    q5_hbit(x[i].qh, j + QT_QK / 2)) - 16;
			lane[j / 4] += q0 * y[i].qs[j];
			lane[4 + j / 4] += q1 * y[i].qs[j + QT_QK / 2];
		}
		lanes_fma(acc, f16(x[i].d) * f16(y[i].d), lane);
	}
	*s = hsum8(acc);
}

/* ---------------------------------------------------------------------- */

/* Dequantize a Q5_1 row: q * d + m. */
void
qt_q5_1_to_f32_ref(const void *src, float *dst, int64_t n)
{
	const struct qt_block_q5_1	*x = src;
	int64_t				 i, nb = n / QT_QK;
	float				 d, m;
	int				 j, q0, q1;

	assert(n % QT_QK == 0);
	for (i = 0; i < nb; i++, dst += QT_QK) {
		d = f16(x[i].d);
		m = f16(x[i].m);
		for (j = 0; j < QT_QK / 2; j++) {
			q0 = (x[i].qs[j] & 15) | q5_hbit(x[i].qh, j);
			q1 = (x[i].qs[j] >> 4) |
			    q5_hbit(x[i].qh, j + QT_QK / 2);
			dst[j] = q0 * d + m;
			dst[j + QT_QK / 2] = q1 * d + m;
		}
	}
}

/* ggml's quantize_row_q5_1_ref: d = (max - min) / 31, m = min; quants
 * are (uint8_t)(v + 0.5f), with no clamp. */
void
qt_q5_1_from_f32_ref(const float *src, void *dst, int64_t n)
{
	struct qt_block_q5_1	*y = dst;
	int64_t			 i, nb = n / QT_QK;
	float			 min, max, d, id;
	uint32_t		 qh;
	uint8_t			 lo, hi;
	int			 j;

	assert(n % QT_QK == 0);
	for (i = 0; i < nb; i++, src += QT_QK) {
		min = FLT_MAX;
		max = -FLT_MAX;
		for (j = 0; j < QT_QK; j++) {
			if (src[j] < min)
				min = src[j];
			if (src[j] > max)
				max = src[j];
		}
		d = (max - min) / 31;
		id = d != 0.0f ? 1.0f / d : 0.0f;
		y[i].d = qt_f32_to_f16(d);
		y[i].m = qt_f32_to_f16(min);
		qh = 0;
		for (j = 0; j < QT_QK / 2; j++) {
			lo = (uint8_t)qt_cvt_i32((src[j] - min) * id + 0.5f);
			hi = (uint8_t)qt_cvt_i32((src[j + QT_QK / 2] - min) *
			    id + 0.5f);
			y[i].qs[j] = (uint8_t)((lo & 15) | (hi & 15) << 4);
			qh |= (uint32_t)(lo >> 4 & 1) << j;
			qh |= (uint32_t)(hi >> 4 & 1) << (j + QT_QK / 2);
		}
		memcpy(y[i].qh, &qh, sizeof qh);
	}
}

/* Q5_1 x Q8_1: as Q4_1 with 5-bit quants. */
void
qt_q5_1_dot_ref(int n, float *s, const void *vx, const void *vy)
{
	const struct qt_block_q5_1	*x = vx;
	const struct qt_block_q8_1	*y = vy;
	int				 i, j, nb = n / QT_QK, q0, q1;
	int32_t				 lane[8];
	float				 acc[8] = { 0 }, summs = 0;

	assert(n % QT_QK == 0);
	for (i = 0; i < nb; i++) {
		memset(lane, 0, sizeof lane);
		for (j = 0; j < QT_QK / 2; j++) {
			q0 = (x[i].qs[j] & 15) | q5_hbit(x[i].qh, j);
			q1 = (x[i].qs[j] >> 4) |
			    q5_hbit(x[i].qh, j + QT_QK / 2);
			lane[j / 4] += q0 * y[i].qs[j];
			lane[4 + j / 4] += q1 * y[i].qs[j + QT_QK / 2];
		}
		summs = fmaf(f16(x[i].m), f16(y[i].s), summs);
		lanes_fma(acc, f16(x[i].d) * f16(y[i].d), lane);
	}
	*s = hsum8(acc) + summs;
}

/* ---------------------------------------------------------------------- */

/* Dequantize a Q8_1 row (s is not needed). */
void
qt_q8_1_to_f32_ref(const void *src, float *dst, int64_t n)
{
	const struct qt_block_q8_1	*x = src;
	int64_t				 i, nb = n / QT_QK;
	float				 d;
	int				 j;

	assert(n % QT_QK == 0);
	for (i = 0; i < nb; i++, dst += QT_QK) {
		d = f16(x[i].d);
		for (j = 0; j < QT_QK; j++)
			dst[j] = x[i].qs[j] * d;
	}
}

/*
 * The activation quantizer of Q4_1/Q5_1: llama.cpp's AVX2
 * quantize_row_q8_1, which is its Q8_0 quantizer plus s = d * (the int32
 * sum of the quants before they saturate to int8).
 */
void
qt_q8_1_from_f32_ref(const float *src, void *dst, int64_t n)
{
	struct qt_block_q8_1	*y = dst;
	int64_t			 i, nb = n / QT_QK;
	float			 amax, d, id;
	uint32_t		 sum;
	int32_t			 q;
	int			 j;

	assert(n % QT_QK == 0);
	for (i = 0; i < nb; i++, src += QT_QK) {
		amax = qt_q8_amax(src);
		d = amax / 127.f;
		y[i].d = qt_f32_to_f16(d);
		id = amax != 0.0f ? 127.f / amax : 0.0f;
		sum = 0;
		for (j = 0; j < QT_QK; j++) {
			q = qt_cvt_i32(rintf(src[j] * id));
			sum += (uint32_t)q;	/* wraps as vpaddd */
			y[i].qs[j] = qt_sat_i8(q);
		}
		y[i].s = qt_f32_to_f16(d * (float)(int32_t)sum);
	}
}

/* ---------------------------------------------------------------------- */

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

/* ggml's make_q3_quants with do_rmse: start from the max, then move one
 * quant at a time while the weighted error drops (at most 5 rounds). */
static float
make_q3_quants(int n, int nmax, const float *x, int8_t *L)
{
	float	max = 0, amax = 0, iscale, sumlx = 0, suml2 = 0, w, slx, sl2;
	int	i, l, itry, changed, nl;

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
	for (i = 0; i < n; i++) {
		l = nearest_int(iscale * x[i]);
		l = l < -nmax ? -nmax : l > nmax - 1 ? nmax - 1 : l;
		L[i] = (int8_t)l;
		w = x[i] * x[i];
		sumlx += w * x[i] * l;
		suml2 += w * l * l;
	}
	for (itry = 0; itry < 5; itry++) {
		changed = 0;
		for (i = 0; i < n; i++) {
			w = x[i] * x[i];
			slx = sumlx - w * x[i] * L[i];
			if (!(slx > 0))
				continue;
			sl2 = suml2 - w * L[i] * L[i];
			nl = nearest_int(x[i] * sl2 / slx);
			nl = nl < -nmax ? -nmax : nl > nmax - 1 ? nmax - 1 : nl;
			if (nl == L[i])
				continue;
			slx += w * x[i] * nl;
			sl2 += w * nl * nl;
			if (sl2 > 0 &&
			    slx * slx * suml2 > sumlx * sumlx * sl2) {
				L[i] = (int8_t)nl;
				sumlx = slx;
				suml2 = sl2;
				changed++;
			}
		}
		if (!changed)
			break;
	}
	for (i = 0; i < n; i++)
		L[i] = (int8_t)(L[i] + nmax);
	return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

/* The weighted error sum of quants L with scale and min, as ggml sums
 * it: |diff| (use_mad) or diff^2, times the weight. */
static float
qkx_error(int n, const float *x, const float *w, const uint8_t *L,
    float scale, float min, int use_mad)
{
	float	err = 0, diff;
	int	i;

	for (i = 0; i < n; i++) {
		diff = scale * L[i] + min - x[i];
		diff = use_mad ? fabsf(diff) : diff * diff;
		err += w[i] * diff;
	}
	return err;
}

/* ggml's make_qkx2_quants: scale and min (returned in *the_min, negated)
 * of the best of nstep + 1 weighted least-squares fits. */
static float
make_qkx2_quants(int n, int nmax, const float *x, const float *w,
    uint8_t *L, float *the_min, uint8_t *Laux, float rmin, float rdelta,
    int nstep, int use_mad)
{
	float	min = x[0], max = x[0], sum_w = w[0], sum_x = sum_w * x[0];
	float	iscale, scale, best, sum_l, sum_l2, sum_xl, D, ts, tm, cur;
	int	i, is, l;

	for (i = 1; i < n; i++) {
		if (x[i] < min)
			min = x[i];
		if (x[i] > max)
			max = x[i];
		sum_w += w[i];
		sum_x += w[i] * x[i];
	}
	if (min > 0)
		min = 0;
	if (max == min) {
		memset(L, 0, (size_t)n);
		*the_min = -min;
		return 0.f;
	}
	iscale = nmax / (max - min);
	scale = 1 / iscale;
	for (i = 0; i < n; i++) {
		l = nearest_int(iscale * (x[i] - min));
		L[i] = (uint8_t)(l < 0 ? 0 : l > nmax ? nmax : l);
	}
	best = qkx_error(n, x, w, L, scale, min, use_mad);
	for (is = 0; is <= nstep; is++) {
		iscale = (rmin + rdelta * is + nmax) / (max - min);
		sum_l = sum_l2 = sum_xl = 0;
		for (i = 0; i < n; i++) {
			l = nearest_int(iscale * (x[i] - min));
			l = l < 0 ? 0 : l > nmax ? nmax : l;
			Laux[i] = (uint8_t)l;
			sum_l += w[i] * l;
			sum_l2 += w[i] * l * l;
			sum_xl += w[i] * l * x[i];
		}
		D = sum_w * sum_l2 - sum_l * sum_l;
		if (!(D > 0))
			continue;
		ts = (sum_w * sum_xl - sum_x * sum_l) / D;
		tm = (sum_l2 * sum_x - sum_l * sum_xl) / D;
		if (tm > 0) {
			tm = 0;
			ts = sum_xl / sum_l2;
		}
		cur = qkx_error(n, x, w, Laux, ts, tm, use_mad);
		if (cur < best) {
			memcpy(L, Laux, (size_t)n);
			best = cur;
			scale = ts;
			min = tm;
		}
	}
	*the_min = -min;
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

/* The 16 signed 6-bit scales of a Q3_K block. */
static void
q3_K_scales(const uint8_t *s, int *sc)
{
	int	j, v;

	for (j = 0; j < 16; j++) {
		v = j < 8 ? s[j] & 15 : s[j - 8] >> 4;
		sc[j] = (v | ((s[8 + j % 4] >> (2 * (j / 4))) & 3) << 4) - 32;
	}
}

/* Pack 256 2-bit quants as Q2_K and Q3_K store them: byte l of each
 * 128-chunk holds elements l, l + 32, l + 64, l + 96. */
static void
pack_2bit(const uint8_t *L, uint8_t *qs)
{
	int	j, l;

	for (j = 0; j < QK_K; j += 128)
		for (l = 0; l < 32; l++)
			qs[j / 4 + l] = (uint8_t)(L[j + l] |
			    L[j + l + 32] << 2 | L[j + l + 64] << 4 |
			    L[j + l + 96] << 6);
}

/* The 2-bit quant of element e of a Q2_K/Q3_K block. */
static inline int
get_2bit(const uint8_t *qs, int e)
{
	return (qs[e / 128 * 32 + e % 32] >> (2 * (e % 128 / 32))) & 3;
}

/* ---------------------------------------------------------------------- */

/* Dequantize a Q2_K row: d * scale * q - dmin * min per 16. */
void
qt_q2_K_to_f32_ref(const void *src, float *dst, int64_t n)
{
	const struct qt_block_q2_K	*x = src;
	int64_t				 i, nb = n / QK_K;
	float				 d, min, dl, ml;
	int				 e;

	assert(n % QK_K == 0);
	for (i = 0; i < nb; i++, dst += QK_K) {
		d = f16(x[i].d);
		min = f16(x[i].dmin);
		for (e = 0; e < QK_K; e++) {
			dl = d * (x[i].scales[e / 16] & 15);
			ml = min * (x[i].scales[e / 16] >> 4);
			dst[e] = dl * get_2bit(x[i].qs, e) - ml;
		}
	}
}

/* ggml's quantize_row_q2_K_ref: per 16 a scale and a min by
 * make_qkx2_quants (weights |x|), both quantized to 4 bits. */
void
qt_q2_K_from_f32_ref(const float *x, void *dst, int64_t n)
{
	struct qt_block_q2_K	*y = dst;
	int64_t			 i, nb = n / QK_K;
	uint8_t			 L[QK_K], Laux[16];
	float			 w[16], mins[16], scales[16];
	float			 max_scale, max_min, iscale, d, dm;
	int			 j, k, l;

	assert(n % QK_K == 0);
	for (i = 0; i < nb; i++, x += QK_K) {
		max_scale = max_min = 0;
		for (j = 0; j < 16; j++) {
			for (k = 0; k < 16; k++)
				w[k] = fabsf(x[16 * j + k]);
			scales[j] = make_qkx2_quants(16, 3, x + 16 * j, w,
			    L + 16 * j, &mins[j], Laux, -0.5f, 0.1f, 15, 1);
			if (scales[j] > max_scale)
				max_scale = scales[j];
			if (mins[j] > max_min)
				max_min = mins[j];
		}
		if (max_scale > 0) {
			iscale = 15.f / max_scale;
			for (j = 0; j < 16; j++)
				y[i].scales[j] =
				    (uint8_t)nearest_int(iscale * scales[j]);
			y[i].d = qt_f32_to_f16(max_scale / 15.f);
		} else {
			memset(y[i].scales, 0, sizeof y[i].scales);
			y[i].d = qt_f32_to_f16(0.f);
		}
		if (max_min > 0) {
			iscale = 15.f / max_min;
			for (j = 0; j < 16; j++)
				y[i].scales[j] |= (uint8_t)(nearest_int(
				    iscale * mins[j]) << 4);
			y[i].dmin = qt_f32_to_f16(max_min / 15.f);
		} else
			y[i].dmin = qt_f32_to_f16(0.f);
		for (j = 0; j < 16; j++) {
			d = f16(y[i].d) * (y[i].scales[j] & 15);
			if (d == 0)
				continue;
			dm = f16(y[i].dmin) * (y[i].scales[j] >> 4);
			for (k = 0; k < 16; k++) {
				l = nearest_int((x[16 * j + k] + dm) / d);
				L[16 * j + k] = (uint8_t)(l < 0 ? 0 :
				    l > 3 ? 3 : l);
			}
		}
		pack_2bit(L, y[i].qs);
	}
}

/*
 * Q2_K x Q8_K as llama.cpp's AVX2 kernel: per block, first the mins
 * (lane k gets min * bsum of groups 2k and 2k + 1, times -d * dmin), then
 * the quants (lane k gets elements with e % 32 in [4k, 4k + 4)).
 */
void
qt_q2_K_dot_ref(int n, float *s, const void *vx, const void *vy)
{
	const struct qt_block_q2_K	*x = vx;
	const struct qt_block_q8_K	*y = vy;
	int				 i, e, k, nb = n / QK_K;
	int32_t				 lane[8];
	float				 acc[8] = { 0 }, d, dmin;

	assert(n % QK_K == 0);
	for (i = 0; i < nb; i++) {
		d = y[i].d * f16(x[i].d);
		dmin = -y[i].d * f16(x[i].dmin);
		for (k = 0; k < 8; k++)
			lane[k] = (x[i].scales[2 * k] >> 4) *
			    y[i].bsums[2 * k] + (x[i].scales[2 * k + 1] >> 4) *
			    y[i].bsums[2 * k + 1];
		lanes_fma(acc, dmin, lane);
		memset(lane, 0, sizeof lane);
		for (e = 0; e < QK_K; e++)
			lane[e % 32 / 4] += (x[i].scales[e / 16] & 15) *
			    get_2bit(x[i].qs, e) * y[i].qs[e];
		lanes_fma(acc, d, lane);
	}
	*s = hsum8(acc);
}

/* ---------------------------------------------------------------------- */

/* The signed 3-bit quant of element e of a Q3_K block. */
static inline int
q3_K_quant(const struct qt_block_q3_K *b, int e)
{
	int	hi = (b->hmask[e % 32] >> (e / 32)) & 1;

	return get_2bit(b->qs, e) - (hi ? 0 : 4);
}

/* Dequantize a Q3_K row: (d * scale) * q per 16, q in -4..3. */
void
qt_q3_K_to_f32_ref(const void *src, float *dst, int64_t n)
{
	const struct qt_block_q3_K	*x = src;
	int64_t				 i, nb = n / QK_K;
	float				 d;
	int				 e, sc[16];

	assert(n % QK_K == 0);
	for (i = 0; i < nb; i++, dst += QK_K) {
		d = f16(x[i].d);
		q3_K_scales(x[i].scales, sc);
		for (e = 0; e < QK_K; e++)
			dst[e] = (d * sc[e / 16]) * q3_K_quant(&x[i], e);
	}
}

/* Store 6-bit scale l (0..63) of sub-block j in a Q3_K block. */
static void
q3_K_put_scale(uint8_t *s, int j, int l)
{
	if (j < 8)
		s[j] = (uint8_t)(l & 15);
	else
		s[j - 8] |= (uint8_t)((l & 15) << 4);
	s[j % 4 + 8] |= (uint8_t)((l >> 4) << (2 * (j / 4)));
}

/* ggml's quantize_row_q3_K_ref: per 16 a scale by make_q3_quants,
 * quantized to 6 bits against the one of largest magnitude. */
void
qt_q3_K_from_f32_ref(const float *x, void *dst, int64_t n)
{
	struct qt_block_q3_K	*y = dst;
	int64_t			 i, nb = n / QK_K;
	int8_t			 L[QK_K], l8;
	float			 scales[16], max_scale, amax, iscale, d;
	int			 j, k, l, sc[16];

	assert(n % QK_K == 0);
	for (i = 0; i < nb; i++, x += QK_K) {
		max_scale = amax = 0;
		for (j = 0; j < 16; j++) {
			scales[j] = make_q3_quants(16, 4, x + 16 * j,
			    L + 16 * j);
			if (fabsf(scales[j]) > amax) {
				amax = fabsf(scales[j]);
				max_scale = scales[j];
			}
		}
		memset(y[i].scales, 0, sizeof y[i].scales);
		if (max_scale != 0) {
			iscale = -32.f / max_scale;
			for (j = 0; j < 16; j++) {
				l8 = (int8_t)nearest_int(iscale * scales[j]);
				l = l8 < -32 ? -32 : l8 > 31 ? 31 : l8;
				q3_K_put_scale(y[i].scales, j, l + 32);
			}
			y[i].d = qt_f32_to_f16(1 / iscale);
		} else
			y[i].d = qt_f32_to_f16(0.f);
		q3_K_scales(y[i].scales, sc);
		for (j = 0; j < 16; j++) {
			d = f16(y[i].d) * sc[j];
			if (d == 0)
				continue;
			for (k = 0; k < 16; k++) {
				l = nearest_int(x[16 * j + k] / d);
				l = l < -4 ? -4 : l > 3 ? 3 : l;
				L[16 * j + k] = (int8_t)(l + 4);
			}
		}
		memset(y[i].hmask, 0, sizeof y[i].hmask);
		for (j = 0; j < QK_K; j++) {
			if (L[j] > 3) {
				y[i].hmask[j % 32] |= (uint8_t)(1 << (j / 32));
				L[j] -= 4;
			}
		}
		pack_2bit((const uint8_t *)L, y[i].qs);
	}
}

/* Q3_K x Q8_K: one lane sum per block, as the AVX2 kernel. */
void
qt_q3_K_dot_ref(int n, float *s, const void *vx, const void *vy)
{
	const struct qt_block_q3_K	*x = vx;
	const struct qt_block_q8_K	*y = vy;
	int				 i, e, nb = n / QK_K, sc[16];
	int32_t				 lane[8];
	float				 acc[8] = { 0 };

	assert(n % QK_K == 0);
	for (i = 0; i < nb; i++) {
		q3_K_scales(x[i].scales, sc);
		memset(lane, 0, sizeof lane);
		for (e = 0; e < QK_K; e++)
			lane[e % 32 / 4] += sc[e / 16] * q3_K_quant(&x[i], e) *
			    y[i].qs[e];
		lanes_fma(acc, y[i].d * f16(x[i].d), lane);
	}
	*s = hsum8(acc);
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
		scales[j] = make_qkx2_quants(32, nmax, x + 32 * j, w,
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

/* ---------------------------------------------------------------------- */

/* Dequantize a Q8_K row: d * q. */
void
qt_q8_K_to_f32_ref(const void *src, float *dst, int64_t n)
{
	const struct qt_block_q8_K	*x = src;
	int64_t				 i, nb = n / QK_K;
	int				 j;

	assert(n % QK_K == 0);
	for (i = 0; i < nb; i++, dst += QK_K)
		for (j = 0; j < QK_K; j++)
			dst[j] = x[i].d * x[i].qs[j];
}

/*
 * The activation quantizer of the K-quants, which llama.cpp's x86 build
 * takes from ggml's quantize_row_q8_K_ref: d = max / -127 for the signed
 * value of largest magnitude (the first, on ties).  An all-zero block
 * gets zero bsums (ggml leaves them stale; its dots multiply them by 0).
 */
void
qt_q8_K_from_f32_ref(const float *x, void *dst, int64_t n)
{
	struct qt_block_q8_K	*y = dst;
	int64_t			 i, nb = n / QK_K;
	float			 max, amax, iscale;
	int			 j, k, v, sum;

	assert(n % QK_K == 0);
	for (i = 0; i < nb; i++, x += QK_K) {
		max = amax = 0;
		for (j = 0; j < QK_K; j++) {
			if (fabsf(x[j]) > amax) {
				amax = fabsf(x[j]);
				max = x[j];
			}
		}
		if (amax == 0) {
			memset(&y[i], 0, sizeof y[i]);
			continue;
		}
		iscale = -127.f / max;
		for (j = 0; j < QK_K; j++) {
			v = nearest_int(iscale * x[j]);
			y[i].qs[j] = (int8_t)(v < 127 ? v : 127);
		}
		for (j = 0; j < QK_K / 16; j++) {
			sum = 0;
			for (k = 0; k < 16; k++)
				sum += y[i].qs[16 * j + k];
			y[i].bsums[j] = (int16_t)sum;
		}
		y[i].d = 1 / iscale;
	}
}
