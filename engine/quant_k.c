/*
 * The scalar (_ref) kernels of the K-quants Q2_K and Q3_K and of their
 * activation type Q8_K, and the searches ggml's quantizers make for a
 * block's scales (quant_k456.c uses make_qkx2_quants too).  The
 * quantizers are ggml's quantize_row_*_ref bit for bit (they made the
 * model files); each dot adds the same float terms in the same order as
 * llama.cpp's AVX2 vec_dot, so it gives the very float llama.cpp gives,
 * and so does its twin in quant_k_avx2.c.
 */
#include "config.h"

#include <assert.h>
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

#include "quant_ref_impl.h"

/* ---------------------------------------------------------------------- */

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
 * of the best of nstep + 1 weighted least-squares fits; pure, any thread
 * (quant_ref_impl.h). */
float
qt_make_qkx2_quants(int n, int nmax, const float *x, const float *w,
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
			scales[j] = qt_make_qkx2_quants(16, 3, x + 16 * j, w,
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
