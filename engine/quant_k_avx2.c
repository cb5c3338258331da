/*
 * AVX2 + FMA + F16C twins of quant_k.c's kernels (Q2_K, Q3_K and the Q8_K
 * activations), with a target attribute per function like quant_avx2.c;
 * quant_k456_avx2.c and quant_legacy_avx2.c have the other types.  The
 * dots are llama.cpp's AVX2 vec_dot algorithms (maddubs and madd with
 * shuffled scales, mins and offsets through the Q8_K block sums) with the
 * same integer lanes and the same float operations in the same order, so
 * they give the _ref floats bit for bit; dequantizers and activation
 * quantizers give the _ref bits.
 */
#include "config.h"

#include "quant_impl.h"

#ifdef QT_HAVE_AVX2

#include <assert.h>
#include <math.h>
#include <immintrin.h>
#include <string.h>

/* Products are rounded before they are added unless a kernel asks for
 * an FMA by name: GCC would otherwise fuse _mm256_mul_ps into a
 * following _mm256_add_ps, and the _ref bits would be lost. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include "quant_k_avx2_impl.h"

/* A shuffle control that copies int16 element lo to all 8 positions of
 * the low 128-bit half, and element hi to those of the high half. */
static QT_AVX2_INL __m256i
pick16x2(int lo, int hi)
{
	return _mm256_setr_m128i(_mm_set1_epi16((short)((2 * lo + 1) << 8 |
	    2 * lo)), _mm_set1_epi16((short)((2 * hi + 1) << 8 | 2 * hi)));
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
		QT_PREFETCH(x + i, 2);	/* 84 bytes a block */
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

/* The sum of int32 lanes lo..lo+n-1 of v (exact). */
static QT_AVX2_INL int32_t
hsum_i32(__m256i v, int lo, int n)
{
	int32_t	a[8], t = 0;
	int	k;

	_mm256_storeu_si256((__m256i *)(void *)a, v);
	for (k = lo; k < lo + n; k++)
		t += a[k];
	return t;
}

/*
 * Q2_K x Q8_K in llama.cpp's repacked orders (quant_k_rp.c has the scalar
 * twins): the integers of the dot above, whole per super-block (halves 0:
 * its gemv) or per 128 elements (halves 1: its gemm), each folded into a
 * float with one FMA, the mins last.  The mins' lanes 0..3 hold the
 * first half's sub-blocks.
 */
static QT_AVX2_INL float
q2_K_dot_rp_avx2(int n, const void *vx, const void *vy, const int halves)
{
	const struct qt_block_q2_K	*x = vx;
	const struct qt_block_q8_K	*y = vy;
	int				 i, nb = n / QK_K;
	__m256i				 sc16, s0, s1, p;
	float				 d, dmin, acc = 0, accm = 0;

	assert(n % QK_K == 0);
	for (i = 0; i < nb; i++) {
		QT_PREFETCH(x + i, 2);	/* 84 bytes a block */
		d = f16_scalar(x[i].d) * y[i].d;
		dmin = f16_scalar(x[i].dmin) * y[i].d;
		p = _mm256_madd_epi16(q2_K_nibbles(x[i].scales, 1),
		    _mm256_loadu_si256((const __m256i *)y[i].bsums));
		sc16 = q2_K_nibbles(x[i].scales, 0);
		s0 = q2_K_sum128(&x[i], &y[i], sc16, 0);
		s1 = q2_K_sum128(&x[i], &y[i], sc16, 1);
		if (halves) {
			acc = fmaf((float)hsum_i32(s0, 0, 8), d, acc);
			accm = fmaf((float)hsum_i32(p, 0, 4), dmin, accm);
			acc = fmaf((float)hsum_i32(s1, 0, 8), d, acc);
			accm = fmaf((float)hsum_i32(p, 4, 4), dmin, accm);
		} else {
			acc = fmaf((float)hsum_i32(_mm256_add_epi32(s0, s1),
			    0, 8), d, acc);
			accm = fmaf((float)hsum_i32(p, 0, 8), dmin, accm);
		}
	}
	return acc - accm;
}

/* Q2_K as llama.cpp's repacked gemv (decode, batch tails), with AVX2. */
QT_AVX2 void
qt_q2_K_dot_rp1_avx2(int n, float *s, const void *vx, const void *vy)
{
	*s = q2_K_dot_rp_avx2(n, vx, vy, 0);
}

/* Q2_K as llama.cpp's repacked gemm (batch rows in fours), with AVX2. */
QT_AVX2 void
qt_q2_K_dot_rp4_avx2(int n, float *s, const void *vx, const void *vy)
{
	*s = q2_K_dot_rp_avx2(n, vx, vy, 1);
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
		QT_PREFETCH(x + i, 2);	/* 110 bytes a block */
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
