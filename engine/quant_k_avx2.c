/*
 * AVX2 + FMA + F16C twins of quant_k*.c's kernels, with a target attribute
 * per function like quant_avx2.c.  The dots are llama.cpp's AVX2 vec_dot
 * algorithms (maddubs and madd with shuffled scales, mins and offsets
 * through the Q8_K block sums) with the same integer lanes and the same
 * float operations in the same order, so they give the _ref floats bit
 * for bit; dequantizers and activation quantizers give the _ref bits.
 */
#include "config.h"

#include "quant_impl.h"

#ifdef QT_HAVE_AVX2

#include <assert.h>
#include <immintrin.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Products are rounded before they are added unless a kernel asks for
 * an FMA by name: GCC would otherwise fuse _mm256_mul_ps into a
 * following _mm256_add_ps, and the _ref bits would be lost. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

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

/* Both 128-bit halves of v set to its half h (0: low, 1: high). */
static QT_AVX2_INL __m256i
halves(__m256i v, int h)
{
	return h == 0 ? _mm256_permute4x64_epi64(v, 0x44) :
	    _mm256_permute4x64_epi64(v, 0xee);
}

/* A shuffle control that copies int16 element k to all 16 positions of
 * each 128-bit half. */
static QT_AVX2_INL __m256i
pick16(int k)
{
	return _mm256_set1_epi16((short)((2 * k + 1) << 8 | 2 * k));
}

/* The same, element lo in the low half and hi in the high half. */
static QT_AVX2_INL __m256i
pick16x2(int lo, int hi)
{
	return _mm256_setr_m128i(_mm_set1_epi16((short)((2 * lo + 1) << 8 |
	    2 * lo)), _mm_set1_epi16((short)((2 * hi + 1) << 8 | 2 * hi)));
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

/* ---------------------------------------------------------------------- */

/* The 16 low-nibble scales (hi = 0) or high-nibble mins (hi = 1) of a
 * Q2_K block as int16. */
static QT_AVX2_INL __m256i
q2_K_nibbles(const uint8_t *scales, int hi)
{
	__m128i	v = _mm_loadu_si128((const __m128i *)scales);

	if (hi)
		v = _mm_srli_epi16(v, 4);
	return _mm256_cvtepu8_epi16(_mm_and_si128(v, _mm_set1_epi8(15)));
}

/* Dequantize a Q2_K row. */
QT_AVX2 void
qt_q2_K_to_f32_avx2(const void *src, float *dst, int64_t n)
{
	const struct qt_block_q2_K	*x = src;
	int64_t				 i, nb = n / QK_K;
	const uint8_t			*sc;
	__m256i				 bits, q;
	float				 d, min;
	int				 j, k;

	assert(n % QK_K == 0);
	for (i = 0; i < nb; i++) {
		d = f16_scalar(x[i].d);
		min = f16_scalar(x[i].dmin);
		sc = x[i].scales;
		#pragma GCC unroll 8
		for (j = 0; j < 2; j++) {
			bits = _mm256_loadu_si256((const __m256i *)
			    (x[i].qs + 32 * j));
			#pragma GCC unroll 8
			for (k = 0; k < 4; k++, sc += 2, dst += 32) {
				q = _mm256_and_si256(_mm256_srli_epi16(bits,
				    2 * k), _mm256_set1_epi8(3));
				store_32(dst, q, d * (sc[0] & 15),
				    min * (sc[0] >> 4), d * (sc[1] & 15),
				    min * (sc[1] >> 4), QT_STORE_SUB);
			}
		}
	}
}

/* The scaled quants of 128-chunk j of a Q2_K block times the Q8_K
 * activations, in llama.cpp's 8 lanes (4 neighbours each). */
static QT_AVX2_INL __m256i
q2_K_sum128(const struct qt_block_q2_K *x, const struct qt_block_q8_K *y,
    __m256i sc16, int j)
{
	const __m256i	m3 = _mm256_set1_epi8(3);
	const int8_t	*q8 = y->qs + 128 * j;
	__m256i		scales, bits, p, sumi = _mm256_setzero_si256();
	int		k;

	/* The 8 scales of this 128 in both halves. */
	scales = halves(sc16, j);
	bits = _mm256_loadu_si256((const __m256i *)(x->qs + 32 * j));
	#pragma GCC unroll 8
	for (k = 0; k < 4; k++, q8 += 32) {
		p = _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(
		    bits, 2 * k), m3), _mm256_loadu_si256((const __m256i *)q8));
		p = _mm256_madd_epi16(_mm256_shuffle_epi8(scales,
		    pick16x2(2 * k, 2 * k + 1)), p);
		sumi = _mm256_add_epi32(sumi, p);
	}
	return sumi;
}

/* Q2_K x Q8_K: mins through the block sums first, then the quants. */
QT_AVX2 void
qt_q2_K_dot_avx2(int n, float *s, const void *vx, const void *vy)
{
	const struct qt_block_q2_K	*x = vx;
	const struct qt_block_q8_K	*y = vy;
	int				 i, nb = n / QK_K;
	__m256				 acc = _mm256_setzero_ps();
	__m256i				 sc16, sumi, p;
	float				 d, dmin;

	assert(n % QK_K == 0);
	for (i = 0; i < nb; i++) {
		d = y[i].d * f16_scalar(x[i].d);
		dmin = -y[i].d * f16_scalar(x[i].dmin);
		p = _mm256_madd_epi16(q2_K_nibbles(x[i].scales, 1),
		    _mm256_loadu_si256((const __m256i *)y[i].bsums));
		acc = _mm256_fmadd_ps(_mm256_set1_ps(dmin),
		    _mm256_cvtepi32_ps(p), acc);

		sc16 = q2_K_nibbles(x[i].scales, 0);
		sumi = _mm256_add_epi32(q2_K_sum128(&x[i], &y[i], sc16, 0),
		    q2_K_sum128(&x[i], &y[i], sc16, 1));
		acc = _mm256_fmadd_ps(_mm256_set1_ps(d),
		    _mm256_cvtepi32_ps(sumi), acc);
	}
	*s = hsum_f32x8(acc);
}

/* ---------------------------------------------------------------------- */

/* The 16 signed scales of a Q3_K block as int16. */
static QT_AVX2_INL __m256i
q3_K_scales16(const uint8_t *s)
{
	uint32_t	a[3];
	__m128i		v;

	memcpy(a, s, sizeof a);
	/* Low 4 bits from the first 8 bytes, high 2 bits from the last 4
	 * (built in registers: a store and a wider load would stall). */
	v = _mm_setr_epi32(
	    (int)((a[0] & 0x0f0f0f0f) | ((a[2] >> 0) & 0x03030303) << 4),
	    (int)((a[1] & 0x0f0f0f0f) | ((a[2] >> 2) & 0x03030303) << 4),
	    (int)(((a[0] >> 4) & 0x0f0f0f0f) | ((a[2] >> 4) & 0x03030303) <<
	    4),
	    (int)(((a[1] >> 4) & 0x0f0f0f0f) | ((a[2] >> 6) & 0x03030303) <<
	    4));
	return _mm256_cvtepi8_epi16(_mm_sub_epi8(v, _mm_set1_epi8(32)));
}

/* The 32 signed quants (-4..3) of element e0..e0+31 (a multiple of 32) of
 * a Q3_K block as int8. */
static QT_AVX2_INL __m256i
q3_K_quants(const struct qt_block_q3_K *b, int e0)
{
	const __m256i	m3 = _mm256_set1_epi8(3);
	__m256i		lo, hi, bit;
	int		k = e0 % 128 / 32;

	lo = _mm256_loadu_si256((const __m256i *)(b->qs + e0 / 128 * 32));
	lo = _mm256_and_si256(_mm256_srli_epi16(lo, 2 * k), m3);
	bit = _mm256_set1_epi8((char)(1 << (e0 / 32)));
	hi = _mm256_cmpeq_epi8(_mm256_and_si256(_mm256_loadu_si256(
	    (const __m256i *)b->hmask), bit), _mm256_setzero_si256());
	return _mm256_sub_epi8(lo, _mm256_and_si256(hi,
	    _mm256_set1_epi8(4)));
}

/* Dequantize a Q3_K row. */
QT_AVX2 void
qt_q3_K_to_f32_avx2(const void *src, float *dst, int64_t n)
{
	const struct qt_block_q3_K	*x = src;
	int64_t				 i, nb = n / QK_K;
	int16_t				 sc[16];
	float				 d;
	int				 e;

	assert(n % QK_K == 0);
	for (i = 0; i < nb; i++) {
		d = f16_scalar(x[i].d);
		_mm256_storeu_si256((__m256i *)sc, q3_K_scales16(x[i].scales));
		for (e = 0; e < QK_K; e += 32, dst += 32)
			store_32(dst, q3_K_quants(&x[i], e), d * sc[e / 16],
			    0.0f, d * sc[e / 16 + 1], 0.0f, QT_STORE_MUL);
	}
}

/*
 * Q3_K x Q8_K: as llama.cpp, the low 2 bits and the "minus 4 where the
 * high bit is clear" part go through maddubs separately (both unsigned)
 * and are subtracted in int16.
 */
QT_AVX2 void
qt_q3_K_dot_avx2(int n, float *s, const void *vx, const void *vy)
{
	const struct qt_block_q3_K	*x = vx;
	const struct qt_block_q8_K	*y = vy;
	const __m256i			 m3 = _mm256_set1_epi8(3);
	int				 i, j, k, bit, nb = n / QK_K;
	__m256				 acc = _mm256_setzero_ps();
	__m256i				 sc16, scales, bits, hbits, sumi, p, q8;
	__m256i				 lo, hi;
	const int8_t			*qy;

	assert(n % QK_K == 0);
	for (i = 0; i < nb; i++) {
		sc16 = q3_K_scales16(x[i].scales);
		hbits = _mm256_loadu_si256((const __m256i *)x[i].hmask);
		sumi = _mm256_setzero_si256();
		qy = y[i].qs;
		bit = 0;
		#pragma GCC unroll 8
		for (j = 0; j < 2; j++) {
			scales = halves(sc16, j);
			bits = _mm256_loadu_si256((const __m256i *)
			    (x[i].qs + 32 * j));
			#pragma GCC unroll 8
			for (k = 0; k < 4; k++, bit++, qy += 32) {
				lo = _mm256_and_si256(_mm256_srli_epi16(bits,
				    2 * k), m3);
				/* 4 where the high bit is clear, else 0. */
				hi = _mm256_andnot_si256(hbits,
				    _mm256_set1_epi8((char)(1 << bit)));
				hi = _mm256_slli_epi16(_mm256_srli_epi16(hi,
				    bit), 2);
				q8 = _mm256_loadu_si256((const __m256i *)qy);
				p = _mm256_sub_epi16(_mm256_maddubs_epi16(lo,
				    q8), _mm256_maddubs_epi16(hi, q8));
				p = _mm256_madd_epi16(_mm256_shuffle_epi8(
				    scales, pick16x2(2 * k, 2 * k + 1)), p);
				sumi = _mm256_add_epi32(sumi, p);
			}
		}
		acc = _mm256_fmadd_ps(_mm256_set1_ps(y[i].d *
		    f16_scalar(x[i].d)), _mm256_cvtepi32_ps(sumi), acc);
	}
	*s = hsum_f32x8(acc);
}

/* ---------------------------------------------------------------------- */

/*
 * The 8 scales then the 8 mins of a Q4_K/Q5_K block as 16 int16.  With
 * the 12 bytes as dwords a, b, c: a & 0x3f.., (c & 0x0f..) | high bits of
 * a, b & 0x3f.., (c >> 4 & 0x0f..) | high bits of b, where a byte's top
 * two bits, moved to bits 4-5, are (x >> 2) & 0x30.  In vector lanes:
 * about half the instructions of the scalar form, on every block of every
 * Q4_K/Q5_K dot.  q points into a block, so its 16 bytes may be read.
 */
static QT_AVX2_INL __m256i
k4_scales16(const uint8_t *q)
{
	const __m128i	v = _mm_loadu_si128((const __m128i *)q);
	const __m128i	acbc = _mm_shuffle_epi32(v, 0x98);	/* a c b c */
	const __m128i	aabb = _mm_shuffle_epi32(v, 0x50);	/* a a b b */
	__m128i		lo, hi;

	lo = _mm_and_si128(_mm_srlv_epi32(acbc, _mm_setr_epi32(0, 0, 0, 4)),
	    _mm_setr_epi32(0x3f3f3f3f, 0x0f0f0f0f, 0x3f3f3f3f, 0x0f0f0f0f));
	hi = _mm_and_si128(_mm_srli_epi32(aabb, 2),
	    _mm_setr_epi32(0, 0x30303030, 0, 0x30303030));
	return _mm256_cvtepu8_epi16(_mm_or_si128(lo, hi));
}

/* The mins of a Q4_K/Q5_K block against the Q8_K sums per 32: lane k of
 * the 4 is m[2k] * sum(32k..) + m[2k + 1] * sum(32k + 32..). */
static QT_AVX2_INL __m128i
k4_mins(__m256i sc16, const int16_t *bsums)
{
	__m256i	b = _mm256_loadu_si256((const __m256i *)bsums);
	__m128i	s32;

	s32 = _mm_hadd_epi16(_mm256_castsi256_si128(b),
	    _mm256_extracti128_si256(b, 1));
	return _mm_madd_epi16(_mm256_extracti128_si256(sc16, 1), s32);
}

/* Dequantize a Q4_K row. */
QT_AVX2 void
qt_q4_K_to_f32_avx2(const void *src, float *dst, int64_t n)
{
	const struct qt_block_q4_K	*x = src;
	int64_t				 i, nb = n / QK_K;
	int16_t				 sm[16];
	__m256i				 bits;
	float				 d, min;
	int				 j;

	assert(n % QK_K == 0);
	for (i = 0; i < nb; i++) {
		d = f16_scalar(x[i].d);
		min = f16_scalar(x[i].dmin);
		_mm256_storeu_si256((__m256i *)sm, k4_scales16(x[i].scales));
		for (j = 0; j < 4; j++, dst += 64) {
			bits = _mm256_loadu_si256((const __m256i *)
			    (x[i].qs + 32 * j));
			store_32(dst, _mm256_and_si256(bits,
			    _mm256_set1_epi8(15)), d * sm[2 * j],
			    min * sm[8 + 2 * j], d * sm[2 * j],
			    min * sm[8 + 2 * j], QT_STORE_SUB);
			store_32(dst + 32, _mm256_and_si256(_mm256_srli_epi16(
			    bits, 4), _mm256_set1_epi8(15)),
			    d * sm[2 * j + 1], min * sm[9 + 2 * j],
			    d * sm[2 * j + 1], min * sm[9 + 2 * j],
			    QT_STORE_SUB);
		}
	}
}

/* The scaled quants of 64-chunk j of a Q4_K block (sub-blocks 2j and
 * 2j + 1) times the Q8_K activations, in llama.cpp's 8 lanes. */
static QT_AVX2_INL __m256i
q4_K_sum64(const struct qt_block_q4_K *x, const struct qt_block_q8_K *y,
    __m256i scales, int j)
{
	const __m256i	m4 = _mm256_set1_epi8(15);
	const int8_t	*q8 = y->qs + 64 * j;
	__m256i		bits, pl, ph;

	bits = _mm256_loadu_si256((const __m256i *)(x->qs + 32 * j));
	pl = _mm256_maddubs_epi16(_mm256_and_si256(bits, m4),
	    _mm256_loadu_si256((const __m256i *)q8));
	ph = _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(bits, 4),
	    m4), _mm256_loadu_si256((const __m256i *)(q8 + 32)));
	pl = _mm256_madd_epi16(_mm256_shuffle_epi8(scales, pick16(2 * j)), pl);
	ph = _mm256_madd_epi16(_mm256_shuffle_epi8(scales, pick16(2 * j + 1)),
	    ph);
	return _mm256_add_epi32(pl, ph);
}

/* Q4_K x Q8_K: the mins in a 4-lane accumulator of their own. */
QT_AVX2 void
qt_q4_K_dot_avx2(int n, float *s, const void *vx, const void *vy)
{
	const struct qt_block_q4_K	*x = vx;
	const struct qt_block_q8_K	*y = vy;
	int				 i, j, nb = n / QK_K;
	__m256				 acc = _mm256_setzero_ps();
	__m128				 accm = _mm_setzero_ps();
	__m256i				 sc16, scales, sumi;
	float				 dmin;

	assert(n % QK_K == 0);
	for (i = 0; i < nb; i++) {
		dmin = -y[i].d * f16_scalar(x[i].dmin);
		sc16 = k4_scales16(x[i].scales);
		accm = _mm_fmadd_ps(_mm_set1_ps(dmin), _mm_cvtepi32_ps(
		    k4_mins(sc16, y[i].bsums)), accm);

		scales = halves(sc16, 0);
		sumi = _mm256_setzero_si256();
		#pragma GCC unroll 8
		for (j = 0; j < 4; j++)
			sumi = _mm256_add_epi32(sumi, q4_K_sum64(&x[i], &y[i],
			    scales, j));
		acc = _mm256_fmadd_ps(_mm256_set1_ps(y[i].d *
		    f16_scalar(x[i].d)), _mm256_cvtepi32_ps(sumi), acc);
	}
	accm = _mm_add_ps(accm, _mm_movehl_ps(accm, accm));
	accm = _mm_add_ss(accm, _mm_movehdup_ps(accm));
	*s = hsum_f32x8(acc) + _mm_cvtss_f32(accm);
}

/* Q4_K x Q8_K in llama.cpp's repacked order (quant_k456.c's
 * q4_K_dot_rp): integer sums per step, folded with scalar FMAs. */
/*
 * q4_K_dot_rp's whole-block order (decode): the block's integer sum and
 * its mins' sum come out of one reduction (integers: any order gives
 * the same), then the two FMAs as there.
 */
static QT_AVX2_INL float
q4_K_dot_block(int n, const void *vx, const void *vy)
{
	const struct qt_block_q4_K	*x = vx;
	const struct qt_block_q8_K	*y = vy;
	int				 i, j, nb = n / QK_K;
	__m256i				 sc16, scales, sumi;
	__m128i				 h;
	float				 acc = 0, accm = 0, d, dmin;

	for (i = 0; i < nb; i++) {
		d = f16_scalar(x[i].d) * y[i].d;
		dmin = f16_scalar(x[i].dmin) * y[i].d;
		sc16 = k4_scales16(x[i].scales);
		scales = halves(sc16, 0);
		sumi = _mm256_setzero_si256();
		#pragma GCC unroll 8
		for (j = 0; j < 4; j++)
			sumi = _mm256_add_epi32(sumi, q4_K_sum64(&x[i], &y[i],
			    scales, j));
		h = _mm_add_epi32(_mm256_castsi256_si128(sumi),
		    _mm256_extracti128_si256(sumi, 1));
		h = _mm_hadd_epi32(h, k4_mins(sc16, y[i].bsums));
		h = _mm_hadd_epi32(h, h);
		acc = fmaf((float)_mm_cvtsi128_si32(h), d, acc);
		accm = fmaf((float)_mm_extract_epi32(h, 1), dmin, accm);
	}
	return acc - accm;
}

/*
 * The same with AVX512-VNNI (qt_q4_K_dot_rp1_vnni, which quant.c picks
 * where qt_vnni() allows): vpdpwssd multiplies a sub-block's pair sums by
 * its scale and adds them in one instruction where AVX2 needs madd and
 * add; the integers, so the floats, are the same.  Decode of Q4_K runs
 * here.
 */
#define QT_VNNI \
	__attribute__((target("avx2,fma,f16c,avx512vl,avx512vnni")))

static QT_VNNI float
q4_K_dot_block_vnni(int n, const void *vx, const void *vy)
{
	const struct qt_block_q4_K	*x = vx;
	const struct qt_block_q8_K	*y = vy;
	const __m256i			 m4 = _mm256_set1_epi8(15);
	int				 i, j, nb = n / QK_K;
	__m256i				 sc16, scales, sumi, bits, pl, ph;
	__m128i				 h;
	const int8_t			*q8;
	float				 acc = 0, accm = 0, d, dmin;

	for (i = 0; i < nb; i++) {
		d = f16_scalar(x[i].d) * y[i].d;
		dmin = f16_scalar(x[i].dmin) * y[i].d;
		sc16 = k4_scales16(x[i].scales);
		scales = halves(sc16, 0);
		sumi = _mm256_setzero_si256();
		#pragma GCC unroll 8
		for (j = 0; j < 4; j++) {
			q8 = y[i].qs + 64 * j;
			bits = _mm256_loadu_si256((const __m256i *)(x[i].qs +
			    32 * j));
			pl = _mm256_maddubs_epi16(_mm256_and_si256(bits, m4),
			    _mm256_loadu_si256((const __m256i *)q8));
			ph = _mm256_maddubs_epi16(_mm256_and_si256(
			    _mm256_srli_epi16(bits, 4), m4),
			    _mm256_loadu_si256((const __m256i *)(q8 + 32)));
			/* Each 64 in a chain of its own: one chain through
			 * all of them would wait on vpdpwssd's latency. */
			pl = _mm256_dpwssd_epi32(_mm256_setzero_si256(),
			    _mm256_shuffle_epi8(scales, pick16(2 * j)), pl);
			pl = _mm256_dpwssd_epi32(pl, _mm256_shuffle_epi8(
			    scales, pick16(2 * j + 1)), ph);
			sumi = _mm256_add_epi32(sumi, pl);
		}
		h = _mm_add_epi32(_mm256_castsi256_si128(sumi),
		    _mm256_extracti128_si256(sumi, 1));
		h = _mm_hadd_epi32(h, k4_mins(sc16, y[i].bsums));
		h = _mm_hadd_epi32(h, h);
		acc = fmaf((float)_mm_cvtsi128_si32(h), d, acc);
		accm = fmaf((float)_mm_extract_epi32(h, 1), dmin, accm);
	}
	return acc - accm;
}

static QT_AVX2_INL float
q4_K_dot_rp(int n, const void *vx, const void *vy, int step)
{
	const struct qt_block_q4_K	*x = vx;
	const struct qt_block_q8_K	*y = vy;
	int				 i, j, nb = n / QK_K;
	int32_t				 mins[4], imin;
	__m256i				 sc16, scales, sumi;
	float				 acc = 0, accm = 0, d, dmin;

	assert(n % QK_K == 0);
	if (step == QK_K)
		return q4_K_dot_block(n, vx, vy);
	for (i = 0; i < nb; i++) {
		d = f16_scalar(x[i].d) * y[i].d;
		dmin = f16_scalar(x[i].dmin) * y[i].d;
		sc16 = k4_scales16(x[i].scales);
		_mm_storeu_si128((__m128i *)mins, k4_mins(sc16, y[i].bsums));
		scales = halves(sc16, 0);
		sumi = _mm256_setzero_si256();
		imin = 0;
		#pragma GCC unroll 8
		for (j = 0; j < 4; j++) {
			sumi = _mm256_add_epi32(sumi, q4_K_sum64(&x[i], &y[i],
			    scales, j));
			imin += mins[j];
			if (step == QK_K && j < 3)
				continue;
			acc = fmaf((float)hsum_i32x8(sumi), d, acc);
			accm = fmaf((float)imin, dmin, accm);
			sumi = _mm256_setzero_si256();
			imin = 0;
		}
	}
	return acc - accm;
}

/* Q4_K x Q8_K as llama.cpp's repacked gemv (decode, batch tails). */
QT_AVX2 void
qt_q4_K_dot_rp1_avx2(int n, float *s, const void *vx, const void *vy)
{
	*s = q4_K_dot_rp(n, vx, vy, QK_K);
}

/* The same with AVX512-VNNI (quant.c picks it where qt_vnni() allows). */
QT_VNNI void
qt_q4_K_dot_rp1_vnni(int n, float *s, const void *vx, const void *vy)
{
	*s = q4_K_dot_block_vnni(n, vx, vy);
}

/* Q4_K x Q8_K as llama.cpp's repacked gemm (batch rows in fours). */
QT_AVX2 void
qt_q4_K_dot_rp4_avx2(int n, float *s, const void *vx, const void *vy)
{
	*s = q4_K_dot_rp(n, vx, vy, 64);
}

/* ---------------------------------------------------------------------- */

/* The 32 quants (0..31) of the 32-value half h (0 or 1) of 64-chunk j of
 * a Q5_K block; qh holds the fifth bits, bit 2j + h. */
static QT_AVX2_INL __m256i
q5_K_quants(__m256i bits, __m256i qh, int j, int h)
{
	const __m256i	m4 = _mm256_set1_epi8(15);
	__m256i		lo, hi;
	int		b = 2 * j + h;

	lo = _mm256_and_si256(h ? _mm256_srli_epi16(bits, 4) : bits, m4);
	hi = _mm256_and_si256(qh, _mm256_set1_epi8((char)(1 << b)));
	hi = _mm256_slli_epi16(_mm256_srli_epi16(hi, b), 4);
	return _mm256_add_epi8(lo, hi);
}

/* Dequantize a Q5_K row. */
QT_AVX2 void
qt_q5_K_to_f32_avx2(const void *src, float *dst, int64_t n)
{
	const struct qt_block_q5_K	*x = src;
	int64_t				 i, nb = n / QK_K;
	int16_t				 sm[16];
	__m256i				 bits, qh;
	float				 d, min, dl, ml;
	int				 j, h;

	assert(n % QK_K == 0);
	for (i = 0; i < nb; i++) {
		d = f16_scalar(x[i].d);
		min = f16_scalar(x[i].dmin);
		_mm256_storeu_si256((__m256i *)sm, k4_scales16(x[i].scales));
		qh = _mm256_loadu_si256((const __m256i *)x[i].qh);
		#pragma GCC unroll 8
		for (j = 0; j < 4; j++) {
			bits = _mm256_loadu_si256((const __m256i *)
			    (x[i].qs + 32 * j));
			for (h = 0; h < 2; h++, dst += 32) {
				dl = d * sm[2 * j + h];
				ml = min * sm[8 + 2 * j + h];
				store_32(dst, q5_K_quants(bits, qh, j, h), dl,
				    ml, dl, ml, QT_STORE_SUB);
			}
		}
	}
}

/* Q5_K x Q8_K: the mins summed in int32, then one scalar FMA per block. */
QT_AVX2 void
qt_q5_K_dot_avx2(int n, float *s, const void *vx, const void *vy)
{
	const struct qt_block_q5_K	*x = vx;
	const struct qt_block_q8_K	*y = vy;
	int				 i, j, nb = n / QK_K;
	__m256				 acc = _mm256_setzero_ps();
	__m256i				 sc16, scales, bits, qh, sumi, pl, ph;
	__m128i				 mins;
	const int8_t			*q8;
	float				 summs = 0, dmin;

	assert(n % QK_K == 0);
	for (i = 0; i < nb; i++) {
		dmin = -y[i].d * f16_scalar(x[i].dmin);
		sc16 = k4_scales16(x[i].scales);
		mins = k4_mins(sc16, y[i].bsums);
		mins = _mm_add_epi32(mins, _mm_unpackhi_epi64(mins, mins));
		mins = _mm_add_epi32(mins, _mm_shuffle_epi32(mins, 0xb1));
		summs = fmaf(dmin, (float)_mm_cvtsi128_si32(mins), summs);

		scales = halves(sc16, 0);
		qh = _mm256_loadu_si256((const __m256i *)x[i].qh);
		sumi = _mm256_setzero_si256();
		q8 = y[i].qs;
		#pragma GCC unroll 8
		for (j = 0; j < 4; j++, q8 += 64) {
			bits = _mm256_loadu_si256((const __m256i *)
			    (x[i].qs + 32 * j));
			pl = _mm256_maddubs_epi16(q5_K_quants(bits, qh, j, 0),
			    _mm256_loadu_si256((const __m256i *)q8));
			ph = _mm256_maddubs_epi16(q5_K_quants(bits, qh, j, 1),
			    _mm256_loadu_si256((const __m256i *)(q8 + 32)));
			pl = _mm256_madd_epi16(_mm256_shuffle_epi8(scales,
			    pick16(2 * j)), pl);
			ph = _mm256_madd_epi16(_mm256_shuffle_epi8(scales,
			    pick16(2 * j + 1)), ph);
			sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(pl,
			    ph));
		}
		acc = _mm256_fmadd_ps(_mm256_set1_ps(y[i].d *
		    f16_scalar(x[i].d)), _mm256_cvtepi32_ps(sumi), acc);
	}
	*s = hsum_f32x8(acc) + summs;
}

/* ---------------------------------------------------------------------- */

/* The unsigned 6-bit quants of quarter k (32 values) of a 128-chunk of a
 * Q6_K block, from its 64 ql bytes (as two vectors) and 32 qh bytes. */
static QT_AVX2_INL __m256i
q6_K_quants(__m256i ql0, __m256i ql1, __m256i qh, int k)
{
	const __m256i	m15 = _mm256_set1_epi8(15);
	__m256i		lo, hi;

	lo = k & 1 ? ql1 : ql0;
	lo = _mm256_and_si256(k >> 1 ? _mm256_srli_epi16(lo, 4) : lo, m15);
	hi = _mm256_and_si256(qh, _mm256_set1_epi8((char)(3 << (2 * k))));
	hi = 2 * k > 4 ? _mm256_srli_epi16(hi, 2 * k - 4) :
	    _mm256_slli_epi16(hi, 4 - 2 * k);
	return _mm256_or_si256(lo, hi);
}

/* A shuffle control of 8 copies of byte 2i, then 8 of byte 2i + 1. */
static QT_AVX2_INL __m128i
q6_K_pick(int i)
{
	return _mm_unpacklo_epi64(_mm_set1_epi8((char)(2 * i)),
	    _mm_set1_epi8((char)(2 * i + 1)));
}

/* Dequantize a Q6_K row. */
QT_AVX2 void
qt_q6_K_to_f32_avx2(const void *src, float *dst, int64_t n)
{
	const struct qt_block_q6_K	*x = src;
	int64_t				 i, nb = n / QK_K;
	const int8_t			*sc;
	__m256i				 ql0, ql1, qh, q;
	float				 d;
	int				 j, k;

	assert(n % QK_K == 0);
	for (i = 0; i < nb; i++) {
		d = f16_scalar(x[i].d);
		sc = x[i].scales;
		#pragma GCC unroll 8
		for (j = 0; j < 2; j++) {
			ql0 = _mm256_loadu_si256((const __m256i *)
			    (x[i].ql + 64 * j));
			ql1 = _mm256_loadu_si256((const __m256i *)
			    (x[i].ql + 64 * j + 32));
			qh = _mm256_loadu_si256((const __m256i *)
			    (x[i].qh + 32 * j));
			#pragma GCC unroll 8
			for (k = 0; k < 4; k++, sc += 2, dst += 32) {
				q = _mm256_sub_epi8(q6_K_quants(ql0, ql1, qh,
				    k), _mm256_set1_epi8(32));
				store_32(dst, q, d * sc[0], 0.0f, d * sc[1],
				    0.0f, QT_STORE_MUL);
			}
		}
	}
}

/* Q6_K x Q8_K: unsigned quants, and 32 * scale * bsums subtracted. */
QT_AVX2 void
qt_q6_K_dot_avx2(int n, float *s, const void *vx, const void *vy)
{
	const struct qt_block_q6_K	*x = vx;
	const struct qt_block_q8_K	*y = vy;
	int				 i, j, k, nb = n / QK_K;
	__m256				 acc = _mm256_setzero_ps();
	__m256i				 ql0, ql1, qh, sumi, p, offs;
	__m128i				 sc8;
	const int8_t			*q8;

	assert(n % QK_K == 0);
	for (i = 0; i < nb; i++) {
		sc8 = _mm_loadu_si128((const __m128i *)x[i].scales);
		offs = _mm256_slli_epi32(_mm256_madd_epi16(_mm256_loadu_si256(
		    (const __m256i *)y[i].bsums), _mm256_cvtepi8_epi16(sc8)),
		    5);
		sumi = _mm256_setzero_si256();
		q8 = y[i].qs;
		#pragma GCC unroll 8
		for (j = 0; j < 2; j++) {
			ql0 = _mm256_loadu_si256((const __m256i *)
			    (x[i].ql + 64 * j));
			ql1 = _mm256_loadu_si256((const __m256i *)
			    (x[i].ql + 64 * j + 32));
			qh = _mm256_loadu_si256((const __m256i *)
			    (x[i].qh + 32 * j));
			#pragma GCC unroll 8
			for (k = 0; k < 4; k++, q8 += 32) {
				p = _mm256_maddubs_epi16(q6_K_quants(ql0, ql1,
				    qh, k), _mm256_loadu_si256(
				    (const __m256i *)q8));
				/* Scales 8j + 2k and 8j + 2k + 1 per half. */
				p = _mm256_madd_epi16(_mm256_cvtepi8_epi16(
				    _mm_shuffle_epi8(sc8,
				    q6_K_pick(4 * j + k))), p);
				sumi = _mm256_add_epi32(sumi, p);
			}
		}
		sumi = _mm256_sub_epi32(sumi, offs);
		acc = _mm256_fmadd_ps(_mm256_set1_ps(y[i].d *
		    f16_scalar(x[i].d)), _mm256_cvtepi32_ps(sumi), acc);
	}
	*s = hsum_f32x8(acc);
}

/*
 * The same with AVX512-VNNI (quant.c picks it where qt_vnni() allows):
 * vpdpwssd multiplies a 32's pair sums by its scales and adds them in one
 * instruction where AVX2 needs madd and add.  Two chains, the 32s taken
 * in turn, so that each waits on vpdpwssd's latency half as often.  The
 * integers, so the floats, are the AVX2 dot's.  One core, rows in L2:
 * 28.6 -> 34.0 GB/s on Zen 4.  (The loop is the AVX2 dot's written out
 * again: with the steps in shared inline helpers GCC made both slower.)
 */
QT_VNNI void
qt_q6_K_dot_vnni(int n, float *s, const void *vx, const void *vy)
{
	const struct qt_block_q6_K	*x = vx;
	const struct qt_block_q8_K	*y = vy;
	int				 i, j, k, nb = n / QK_K;
	__m256				 acc = _mm256_setzero_ps();
	__m256i				 ql0, ql1, qh, sum[2], p, offs;
	__m128i				 sc8;
	const int8_t			*q8;

	for (i = 0; i < nb; i++) {
		sc8 = _mm_loadu_si128((const __m128i *)x[i].scales);
		offs = _mm256_slli_epi32(_mm256_madd_epi16(_mm256_loadu_si256(
		    (const __m256i *)y[i].bsums), _mm256_cvtepi8_epi16(sc8)),
		    5);
		sum[0] = _mm256_setzero_si256();
		sum[1] = _mm256_sub_epi32(sum[0], offs);
		q8 = y[i].qs;
		#pragma GCC unroll 8
		for (j = 0; j < 2; j++) {
			ql0 = _mm256_loadu_si256((const __m256i *)
			    (x[i].ql + 64 * j));
			ql1 = _mm256_loadu_si256((const __m256i *)
			    (x[i].ql + 64 * j + 32));
			qh = _mm256_loadu_si256((const __m256i *)
			    (x[i].qh + 32 * j));
			#pragma GCC unroll 8
			for (k = 0; k < 4; k++, q8 += 32) {
				p = _mm256_maddubs_epi16(q6_K_quants(ql0, ql1,
				    qh, k), _mm256_loadu_si256(
				    (const __m256i *)q8));
				sum[k & 1] = _mm256_dpwssd_epi32(sum[k & 1],
				    _mm256_cvtepi8_epi16(_mm_shuffle_epi8(sc8,
				    q6_K_pick(4 * j + k))), p);
			}
		}
		acc = _mm256_fmadd_ps(_mm256_set1_ps(y[i].d *
		    f16_scalar(x[i].d)), _mm256_cvtepi32_ps(
		    _mm256_add_epi32(sum[0], sum[1])), acc);
	}
	*s = hsum_f32x8(acc);
}

/* ---------------------------------------------------------------------- */

/* Dequantize a Q8_K row. */
QT_AVX2 void
qt_q8_K_to_f32_avx2(const void *src, float *dst, int64_t n)
{
	const struct qt_block_q8_K	*x = src;
	int64_t				 i, nb = n / QK_K;
	__m256				 d;
	__m256i				 q;
	int				 j, k;

	assert(n % QK_K == 0);
	for (i = 0; i < nb; i++) {
		d = _mm256_set1_ps(x[i].d);
		for (j = 0; j < QK_K; j += 32, dst += 32) {
			q = _mm256_loadu_si256((const __m256i *)(x[i].qs + j));
			#pragma GCC unroll 8
			for (k = 0; k < 32; k += 8)
				_mm256_storeu_ps(dst + k, _mm256_mul_ps(d,
				    i8x8_f32(q, k)));
		}
	}
}

/* The first of 256 values whose magnitude is amax (> 0, not NaN). */
static QT_AVX2_INL float
q8_K_signed_max(const float *x, float amax)
{
	const __m256	sign = _mm256_set1_ps(-0.0f);
	__m256		m = _mm256_set1_ps(amax);
	int		k, bits;

	for (k = 0; k < QK_K; k += 8) {
		bits = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_andnot_ps(sign,
		    _mm256_loadu_ps(x + k)), m, _CMP_EQ_OQ));
		if (bits != 0)
			return x[k + __builtin_ctz((unsigned)bits)];
	}
	return 0.0f;	/* not reached */
}

/* ggml's nearest_int(iscale * x), MIN(127, .), as bytes in int32 lanes. */
static QT_AVX2_INL __m256i
q8_K_quant8(const float *x, __m256 iscale)
{
	__m256	t;
	__m256i	v;

	t = _mm256_add_ps(_mm256_mul_ps(iscale, _mm256_loadu_ps(x)),
	    _mm256_set1_ps(12582912.f));
	v = _mm256_and_si256(_mm256_castps_si256(t),
	    _mm256_set1_epi32(0x007fffff));
	v = _mm256_sub_epi32(v, _mm256_set1_epi32(0x00400000));
	v = _mm256_min_epi32(v, _mm256_set1_epi32(127));
	return _mm256_and_si256(v, _mm256_set1_epi32(0xff));
}

/* Quantize activations to Q8_K with exactly the bits of the _ref. */
QT_AVX2 void
qt_q8_K_from_f32_avx2(const float *x, void *dst, int64_t n)
{
	struct qt_block_q8_K	*y = dst;
	const __m256		 sign = _mm256_set1_ps(-0.0f);
	int64_t			 i, nb = n / QK_K;
	__m256			 m, is;
	__m128			 m4;
	__m256i			 a, b, q;
	uint64_t		 sad[4];
	float			 amax, iscale;
	int			 j;

	assert(n % QK_K == 0);
	for (i = 0; i < nb; i++, x += QK_K) {
		/* max(a, m) keeps m when a is NaN: NaNs are skipped, as the
		 * _ref's "fabsf(x) > amax" skips them. */
		m = _mm256_setzero_ps();
		for (j = 0; j < QK_K; j += 8)
			m = _mm256_max_ps(_mm256_andnot_ps(sign,
			    _mm256_loadu_ps(x + j)), m);
		m4 = _mm_max_ps(_mm256_extractf128_ps(m, 1),
		    _mm256_castps256_ps128(m));
		m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
		m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
		amax = _mm_cvtss_f32(m4);
		if (amax == 0) {
			memset(&y[i], 0, sizeof y[i]);
			continue;
		}
		iscale = -127.f / q8_K_signed_max(x, amax);
		is = _mm256_set1_ps(iscale);
		for (j = 0; j < QK_K; j += 32) {
			a = _mm256_packus_epi32(q8_K_quant8(x + j, is),
			    q8_K_quant8(x + j + 8, is));
			b = _mm256_packus_epi32(q8_K_quant8(x + j + 16, is),
			    q8_K_quant8(x + j + 24, is));
			q = _mm256_permutevar8x32_epi32(_mm256_packus_epi16(a,
			    b), _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
			_mm256_storeu_si256((__m256i *)(y[i].qs + j), q);
			/* Sums of 8 bytes of q + 128, per 64 bits. */
			_mm256_storeu_si256((__m256i *)sad, _mm256_sad_epu8(
			    _mm256_xor_si256(q, _mm256_set1_epi8((char)0x80)),
			    _mm256_setzero_si256()));
			y[i].bsums[j / 16] = (int16_t)(sad[0] + sad[1] - 2048);
			y[i].bsums[j / 16 + 1] =
			    (int16_t)(sad[2] + sad[3] - 2048);
		}
		y[i].d = 1 / iscale;
	}
}

#endif /* QT_HAVE_AVX2 */
