/*
 * The helpers the AVX2 twins of the scalar quant kernels share:
 * quant_k_avx2.c, quant_k456_avx2.c and quant_legacy_avx2.c.  Private to
 * those; each sets fp-contract off before it includes this, so that no
 * product here is fused into a sum.
 */
#ifndef YT_ENGINE_QUANT_K_AVX2_IMPL_H
#define YT_ENGINE_QUANT_K_AVX2_IMPL_H

#include <stdint.h>
#include <string.h>

#include "quant_impl.h"

#ifdef QT_HAVE_AVX2

#include <immintrin.h>

#define QT_AVX2	__attribute__((target("avx2,fma,f16c")))
/* The helpers are forced inline, and the short loops of the kernels
 * unrolled, so that shift counts and shuffle controls are constants. */
#define QT_AVX2_INL \
	__attribute__((target("avx2,fma,f16c"), always_inline)) inline

static QT_AVX2_INL float
f16_scalar(uint16_t h)
{
	return _cvtsh_ss(h);
}

/* The 32 nibbles of 16 bytes: low nibbles in bytes 0-15, high in 16-31. */
static QT_AVX2_INL __m256i
nibbles_32(const uint8_t *qs)
{
	__m128i	b = _mm_loadu_si128((const __m128i *)qs);
	__m256i	v;

	v = _mm256_inserti128_si256(_mm256_castsi128_si256(b),
	    _mm_srli_epi16(b, 4), 1);
	return _mm256_and_si256(v, _mm256_set1_epi8(15));
}

/* Byte j = 0xff where bit j of the 32 bits at p is set, else 0. */
static QT_AVX2_INL __m256i
bits_32(const uint8_t *p)
{
	const __m256i	pick = _mm256_setr_epi8(
	    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
	    2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
	const __m256i	bit = _mm256_set1_epi64x(0x8040201008040201LL);
	uint32_t	u;
	__m256i		v;

	memcpy(&u, p, sizeof u);
	v = _mm256_shuffle_epi8(_mm256_set1_epi32((int)u), pick);
	return _mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit);
}

/* ggml's hsum_float_8: ((x4 + x0) + (x6 + x2)) + ((x5 + x1) + (x7 + x3)). */
static QT_AVX2_INL float
hsum_f32x8(__m256 v)
{
	__m128	s;

	s = _mm_add_ps(_mm256_extractf128_ps(v, 1), _mm256_castps256_ps128(v));
	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	s = _mm_add_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}

/* Both 128-bit halves of v set to its half h (0: low, 1: high). */
static QT_AVX2_INL __m256i
halves(__m256i v, int h)
{
	return h == 0 ? _mm256_permute4x64_epi64(v, 0x44) :
	    _mm256_permute4x64_epi64(v, 0xee);
}

/* 8 bytes at byte offset k of v (0, 8, 16 or 24), sign-extended, as
 * floats. */
static QT_AVX2_INL __m256
i8x8_f32(__m256i v, int k)
{
	__m128i	h = k < 16 ? _mm256_castsi256_si128(v) :
		    _mm256_extracti128_si256(v, 1);

	if (k % 16 != 0)
		h = _mm_srli_si128(h, 8);
	return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(h));
}

/* What store_32 does after the multiply. */
enum { QT_STORE_MUL, QT_STORE_ADD, QT_STORE_SUB };

/* dst[0..31] = q * d, then + m or - m (op), each rounded, for 32 int8
 * quants; d and m may change every 16 (d0, m0 for the first 16). */
static QT_AVX2_INL void
store_32(float *dst, __m256i q, float d0, float m0, float d1, float m1,
    int op)
{
	__m256	d, m, p;
	int	k;

	#pragma GCC unroll 8
	for (k = 0; k < 32; k += 8) {
		d = _mm256_set1_ps(k < 16 ? d0 : d1);
		m = _mm256_set1_ps(k < 16 ? m0 : m1);
		p = _mm256_mul_ps(i8x8_f32(q, k), d);
		if (op == QT_STORE_ADD)
			p = _mm256_add_ps(p, m);
		else if (op == QT_STORE_SUB)
			p = _mm256_sub_ps(p, m);
		_mm256_storeu_ps(dst + k, p);
	}
}

/* The int32 sum of the 8 lanes (wrapping, as vpaddd). */
static QT_AVX2_INL int32_t
hsum_i32x8(__m256i v)
{
	__m128i	s;

	s = _mm_add_epi32(_mm256_castsi256_si128(v),
	    _mm256_extracti128_si256(v, 1));
	s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
	s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
	return _mm_cvtsi128_si32(s);
}


#endif /* QT_HAVE_AVX2 */

#endif
