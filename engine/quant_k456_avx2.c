/*
 * AVX2 + FMA + F16C twins of quant_k456.c's kernels: Q4_K (with its
 * repacked orders and an AVX512-VNNI decode dot), Q5_K and Q6_K (with a
 * VNNI dot) against Q8_K.  As in quant_k_avx2.c, the dots are llama.cpp's
 * AVX2 vec_dot with the same integer lanes and float operations in the
 * same order, so they give the _ref floats bit for bit.
 */
#include "config.h"

#include "quant_impl.h"

#ifdef QT_HAVE_AVX2

#include <assert.h>
#include <immintrin.h>
#include <math.h>

/* As in quant_k_avx2.c: products are rounded before they are added,
 * unless a kernel asks for an FMA by name, or the _ref bits are lost. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include "quant_k_avx2_impl.h"

/* A shuffle control that copies int16 element k to all 16 positions of
 * each 128-bit half. */
static QT_AVX2_INL __m256i
pick16(int k)
{
	return _mm256_set1_epi16((short)((2 * k + 1) << 8 | 2 * k));
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
		QT_PREFETCH(x + i, 3);	/* 144 bytes a block */
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
	/* Bit b of each byte to bit 4: a 16-bit shift by at most 4 keeps
	 * it in its byte, and the mask drops what crossed. */
	hi = b >= 4 ? _mm256_srli_epi16(qh, b - 4) :
	    _mm256_slli_epi16(qh, 4 - b);
	return _mm256_add_epi8(lo, _mm256_and_si256(hi,
	    _mm256_set1_epi8(0x10)));
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
		QT_PREFETCH(x + i, 3);	/* 176 bytes a block */
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

/* A vpshufb control of 8 copies of int16 2k in the low 128-bit lane and
 * of int16 2k + 1 in the high one: q6_K_pick's scales, already widened. */
static QT_AVX2_INL __m256i
q6_K_pick16(int k)
{
	return _mm256_setr_m128i(_mm_set1_epi16((short)(0x0100 * (4 * k +
	    1) + 4 * k)), _mm_set1_epi16((short)(0x0100 * (4 * k + 3) + 4 *
	    k + 2)));
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
	__m256i				 ql0, ql1, qh, sumi, p, offs, sc16;
	__m256i				 sch;
	__m128i				 sc8;
	const int8_t			*q8;

	assert(n % QK_K == 0);
	for (i = 0; i < nb; i++) {
		QT_PREFETCH(x + i, 4);	/* 210 bytes a block */
		sc8 = _mm_loadu_si128((const __m128i *)x[i].scales);
		sc16 = _mm256_cvtepi8_epi16(sc8);
		offs = _mm256_slli_epi32(_mm256_madd_epi16(_mm256_loadu_si256(
		    (const __m256i *)y[i].bsums), sc16), 5);
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
			/* Scales 8j..8j+7 as int16 in both 128-bit lanes. */
			sch = j == 0 ? _mm256_permute2x128_si256(sc16, sc16,
			    0x00) : _mm256_permute2x128_si256(sc16, sc16, 0x11);
			#pragma GCC unroll 8
			for (k = 0; k < 4; k++, q8 += 32) {
				p = _mm256_maddubs_epi16(q6_K_quants(ql0, ql1,
				    qh, k), _mm256_loadu_si256(
				    (const __m256i *)q8));
				/* Scales 8j + 2k and 8j + 2k + 1 per half. */
				p = _mm256_madd_epi16(_mm256_shuffle_epi8(sch,
				    q6_K_pick16(k)), p);
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

#endif /* QT_HAVE_AVX2 */
