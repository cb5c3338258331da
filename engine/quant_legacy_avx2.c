/*
 * AVX2 + FMA + F16C twins of quant_legacy.c's kernels: Q4_1, Q5_0, Q5_1
 * and the Q8_1 activations, as llama.cpp's AVX2 vec_dot and
 * quantize_row_q8_1 compute them, so they give the _ref floats and bits
 * bit for bit.
 */
#include "config.h"

#include "quant_impl.h"

#ifdef QT_HAVE_AVX2

#include <assert.h>
#include <immintrin.h>
#include <math.h>
#include <string.h>

/* As in quant_k_avx2.c: products are rounded before they are added,
 * unless a kernel asks for an FMA by name, or the _ref bits are lost. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include "quant_k_avx2_impl.h"

/* Unsigned x times signed y, 4 neighbours summed in each int32 lane. */
static QT_AVX2_INL __m256i
dot_u8i8(__m256i x, __m256i y)
{
	return _mm256_madd_epi16(_mm256_maddubs_epi16(x, y),
	    _mm256_set1_epi16(1));
}

/* The same for signed x, by the sign trick. */
static QT_AVX2_INL __m256i
dot_i8i8(__m256i x, __m256i y)
{
	return dot_u8i8(_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x));
}

/* ---------------------------------------------------------------------- */

/* Dequantize a Q4_1 row. */
QT_AVX2 void
qt_q4_1_to_f32_avx2(const void *src, float *dst, int64_t n)
{
	const struct qt_block_q4_1	*x = src;
	int64_t				 i, nb = n / QT_QK;
	float				 d, m;

	assert(n % QT_QK == 0);
	for (i = 0; i < nb; i++, dst += QT_QK) {
		d = f16_scalar(x[i].d);
		m = f16_scalar(x[i].m);
		store_32(dst, nibbles_32(x[i].qs), d, m, d, m, QT_STORE_ADD);
	}
}

/* Q4_1 x Q8_1: one FMA per block; the mins (m * s) in a scalar FMA. */
QT_AVX2 void
qt_q4_1_dot_avx2(int n, float *s, const void *vx, const void *vy)
{
	const struct qt_block_q4_1	*x = vx;
	const struct qt_block_q8_1	*y = vy;
	int				 i, nb = n / QT_QK;
	__m256				 acc = _mm256_setzero_ps(), d;
	__m256i				 p;
	float				 summs = 0;

	assert(n % QT_QK == 0);
	for (i = 0; i < nb; i++) {
		QT_PREFETCH(x + i, 1);	/* 20 bytes a block */
		summs = fmaf(f16_scalar(x[i].m), f16_scalar(y[i].s), summs);
		d = _mm256_set1_ps(f16_scalar(x[i].d) * f16_scalar(y[i].d));
		p = dot_u8i8(nibbles_32(x[i].qs),
		    _mm256_loadu_si256((const __m256i *)y[i].qs));
		acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(p), acc);
	}
	*s = hsum_f32x8(acc) + summs;
}

/* ---------------------------------------------------------------------- */

/* A Q5_0 block's quants minus 16, as int8 in element order. */
static QT_AVX2_INL __m256i
unpack_q5_0(const struct qt_block_q5_0 *b)
{
	/* q | 0xf0 is q - 16 where the fifth bit is clear. */
	return _mm256_or_si256(nibbles_32(b->qs), _mm256_andnot_si256(
	    bits_32(b->qh), _mm256_set1_epi8((char)0xf0)));
}

/* Dequantize a Q5_0 row. */
QT_AVX2 void
qt_q5_0_to_f32_avx2(const void *src, float *dst, int64_t n)
{
	const struct qt_block_q5_0	*x = src;
	int64_t				 i, nb = n / QT_QK;
	__m256				 d;
	__m256i				 q;
	int				 k;

	assert(n % QT_QK == 0);
	for (i = 0; i < nb; i++, dst += QT_QK) {
		d = _mm256_set1_ps(f16_scalar(x[i].d));
		q = unpack_q5_0(&x[i]);
		#pragma GCC unroll 8
		for (k = 0; k < 32; k += 8)
			_mm256_storeu_ps(dst + k, _mm256_mul_ps(i8x8_f32(q, k),
			    d));
	}
}

/* Q5_0 x Q8_0: the Q4_0 kernel with a fifth bit. */
QT_AVX2 void
qt_q5_0_dot_avx2(int n, float *s, const void *vx, const void *vy)
{
	const struct qt_block_q5_0	*x = vx;
	const struct qt_block_q8_0	*y = vy;
	int				 i, nb = n / QT_QK;
	__m256				 acc = _mm256_setzero_ps(), d;
	__m256i				 p;

	assert(n % QT_QK == 0);
	for (i = 0; i < nb; i++) {
		QT_PREFETCH(x + i, 1);	/* 22 bytes a block */
		d = _mm256_set1_ps(f16_scalar(x[i].d) * f16_scalar(y[i].d));
		p = dot_i8i8(unpack_q5_0(&x[i]),
		    _mm256_loadu_si256((const __m256i *)y[i].qs));
		acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(p), acc);
	}
	*s = hsum_f32x8(acc);
}

/* ---------------------------------------------------------------------- */

/* A Q5_1 block's quants (0..31) in element order. */
static QT_AVX2_INL __m256i
unpack_q5_1(const struct qt_block_q5_1 *b)
{
	return _mm256_or_si256(nibbles_32(b->qs), _mm256_and_si256(
	    bits_32(b->qh), _mm256_set1_epi8(0x10)));
}

/* Dequantize a Q5_1 row. */
QT_AVX2 void
qt_q5_1_to_f32_avx2(const void *src, float *dst, int64_t n)
{
	const struct qt_block_q5_1	*x = src;
	int64_t				 i, nb = n / QT_QK;
	float				 d, m;

	assert(n % QT_QK == 0);
	for (i = 0; i < nb; i++, dst += QT_QK) {
		d = f16_scalar(x[i].d);
		m = f16_scalar(x[i].m);
		store_32(dst, unpack_q5_1(&x[i]), d, m, d, m, QT_STORE_ADD);
	}
}

/* Q5_1 x Q8_1: as Q4_1. */
QT_AVX2 void
qt_q5_1_dot_avx2(int n, float *s, const void *vx, const void *vy)
{
	const struct qt_block_q5_1	*x = vx;
	const struct qt_block_q8_1	*y = vy;
	int				 i, nb = n / QT_QK;
	__m256				 acc = _mm256_setzero_ps(), d;
	__m256i				 p;
	float				 summs = 0;

	assert(n % QT_QK == 0);
	for (i = 0; i < nb; i++) {
		QT_PREFETCH(x + i, 1);	/* 24 bytes a block */
		summs = fmaf(f16_scalar(x[i].m), f16_scalar(y[i].s), summs);
		d = _mm256_set1_ps(f16_scalar(x[i].d) * f16_scalar(y[i].d));
		p = dot_u8i8(unpack_q5_1(&x[i]),
		    _mm256_loadu_si256((const __m256i *)y[i].qs));
		acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), d, acc);
	}
	*s = hsum_f32x8(acc) + summs;
}

/* ---------------------------------------------------------------------- */

/* Dequantize a Q8_1 row (s is not needed). */
QT_AVX2 void
qt_q8_1_to_f32_avx2(const void *src, float *dst, int64_t n)
{
	const struct qt_block_q8_1	*x = src;
	int64_t				 i, nb = n / QT_QK;
	__m256				 d;
	__m256i				 q;
	int				 k;

	assert(n % QT_QK == 0);
	for (i = 0; i < nb; i++, dst += QT_QK) {
		d = _mm256_set1_ps(f16_scalar(x[i].d));
		q = _mm256_loadu_si256((const __m256i *)x[i].qs);
		#pragma GCC unroll 8
		for (k = 0; k < 32; k += 8)
			_mm256_storeu_ps(dst + k, _mm256_mul_ps(i8x8_f32(q, k),
			    d));
	}
}

/* Quantize activations to Q8_1 as llama.cpp's AVX2 quantize_row_q8_1. */
QT_AVX2 void
qt_q8_1_from_f32_avx2(const float *src, void *dst, int64_t n)
{
	struct qt_block_q8_1	*y = dst;
	const __m256		 sign = _mm256_set1_ps(-0.0f);
	int64_t			 i, nb = n / QT_QK;
	__m256			 v[4], m;
	__m128			 m4;
	__m256i			 q[4], b;
	float			 amax, d, id;
	int			 k;

	assert(n % QT_QK == 0);
	for (i = 0; i < nb; i++, src += QT_QK) {
		#pragma GCC unroll 8
		for (k = 0; k < 4; k++)
			v[k] = _mm256_loadu_ps(src + 8 * k);
		/* The lane order of qt_q8_amax() (and of ggml). */
		m = _mm256_andnot_ps(sign, v[0]);
		for (k = 1; k < 4; k++)
			m = _mm256_max_ps(m, _mm256_andnot_ps(sign, v[k]));
		m4 = _mm_max_ps(_mm256_extractf128_ps(m, 1),
		    _mm256_castps256_ps128(m));
		m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
		m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
		amax = _mm_cvtss_f32(m4);

		d = amax / 127.f;
		y[i].d = (uint16_t)_cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT);
		id = amax != 0.0f ? 127.f / amax : 0.0f;
		m = _mm256_set1_ps(id);
		#pragma GCC unroll 8
		for (k = 0; k < 4; k++)
			q[k] = _mm256_cvtps_epi32(_mm256_round_ps(
			    _mm256_mul_ps(v[k], m), _MM_FROUND_TO_NEAREST_INT |
			    _MM_FROUND_NO_EXC));
		b = _mm256_add_epi32(_mm256_add_epi32(q[0], q[1]),
		    _mm256_add_epi32(q[2], q[3]));
		y[i].s = (uint16_t)_cvtss_sh(d * (float)hsum_i32x8(b),
		    _MM_FROUND_TO_NEAREST_INT);
		b = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]),
		    _mm256_packs_epi32(q[2], q[3]));
		b = _mm256_permutevar8x32_epi32(b,
		    _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
		_mm256_storeu_si256((__m256i *)y[i].qs, b);
	}
}

#endif /* QT_HAVE_AVX2 */
