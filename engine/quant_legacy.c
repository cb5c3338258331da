/*
 * The scalar (_ref) kernels of ggml's legacy types Q4_1, Q5_0 and Q5_1
 * and of the activation type they pair with, Q8_1 (Q4_0 and Q8_0 are in
 * quant.c).  As in quant_k.c: the quantizers are ggml's _ref ones bit for
 * bit, and each dot adds the same float terms in the same order as
 * llama.cpp's AVX2 vec_dot.
 */
#include "config.h"

#include <assert.h>
#include <float.h>
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
