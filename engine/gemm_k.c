/*
 * AVX2 tiles for the K-quants (Q4_K, Q5_K, Q6_K) against Q8_K activations,
 * for prompts.  Pair tiles take a few weight rows by a few tokens, each
 * weight sub-block unpacked once for all the tokens, and every (row,
 * token) keeps the integer lanes, float accumulators and horizontal sum
 * of its dot kernel (quant_k_avx2.c).  Q4_K's repacked orders, which add
 * whole integer sums, also have kernels with rows in the lanes: 8 of the
 * file's rows interleaved per call, or 16 of the copy repacked at load.
 * The AVX512-VNNI tiles are in gemm_k_vnni.c; the getters here
 * choose.  Either way the outputs are the dots' floats bit for bit.
 */
#include "config.h"

#include "gemm.h"
#include "gemm_k.h"

#include <stdlib.h>
#include <string.h>

#include "quant.h"
#include "quant_impl.h"
#include "repack.h"

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#include <immintrin.h>

/* As in quant_k_avx2.c: a product is rounded before it is added unless
 * an FMA is asked for by name. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include "gemm_k_impl.h"


/*
 * A tile is RM weight rows by RN tokens, the RM * RN <= 8 (row, token)
 * pairs numbered p = t * RM + r; where a float accumulator holds one
 * value per pair, pair p is its lane p.
 */


/* v, pinned to a register here (QT_KEEP, quant_impl.h). */
static GK_INL __m256i
keep(__m256i v)
{
	QT_KEEP(v);
	return v;
}

/* ggml's hsum_float_8, as the dots reduce their accumulator. */
static GK_INL float
hsum_f32x8(__m256 v)
{
	__m128	s;

	s = _mm_add_ps(_mm256_extractf128_ps(v, 1), _mm256_castps256_ps128(v));
	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	s = _mm_add_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}

/* Lane p = the sum of the 8 int32 lanes of s[p]: integer sums, so any
 * order gives the dots' hsum. */
static GK_INL __m256i
hsum_i32x8x8(const __m256i *s)
{
	__m256i	h[4], q[2];
	int	k;

	/* Unpacks and adds: vphaddd is slow on some CPUs (Zen 4: one per
	 * 2 cycles). */
	GK_UNROLL
	for (k = 0; k < 4; k++)
		h[k] = _mm256_add_epi32(_mm256_unpacklo_epi32(s[2 * k],
		    s[2 * k + 1]), _mm256_unpackhi_epi32(s[2 * k],
		    s[2 * k + 1]));
	GK_UNROLL
	for (k = 0; k < 2; k++)
		q[k] = _mm256_add_epi32(_mm256_unpacklo_epi64(h[2 * k],
		    h[2 * k + 1]), _mm256_unpackhi_epi64(h[2 * k],
		    h[2 * k + 1]));
	return _mm256_add_epi32(_mm256_permute2x128_si256(q[0], q[1], 0x20),
	    _mm256_permute2x128_si256(q[0], q[1], 0x31));
}

/* Lane p = w[p % RM] * t[p / RM] (0 past the tile): one rounding each,
 * as the dots' scalar products. */
static GK_INL __m256
pair_mul(const float *w, const float *t, const int RM, const int RN)
{
	float	lw[8], lt[8];
	int	p;

	GK_UNROLL
	for (p = 0; p < 8; p++) {
		lw[p] = p < RM * RN ? w[p % RM] : 0;
		lt[p] = p < RM * RN ? t[p / RM] : 0;
	}
	return _mm256_mul_ps(_mm256_loadu_ps(lw), _mm256_loadu_ps(lt));
}

/* Lane p of v in all 8 lanes. */
static GK_INL __m256
lane_bcast(__m256 v, int p)
{
	return _mm256_permutevar8x32_ps(v, _mm256_set1_epi32(p));
}

/* Lane k in the low half and lane k + 4 in the high half of v. */
static GK_INL __m256
lane_bcast2(__m256 v, int k)
{
	return _mm256_permutevar8x32_ps(v, _mm256_setr_epi32(k, k, k, k,
	    k + 4, k + 4, k + 4, k + 4));
}

/* Reduce a float accumulator of 4 lanes as the Q4_K dot does. */
static GK_INL float
hsum_f32x4(__m128 v)
{
	v = _mm_add_ps(v, _mm_movehl_ps(v, v));
	v = _mm_add_ss(v, _mm_movehdup_ps(v));
	return _mm_cvtss_f32(v);
}

/* Store lane p of v as the output of pair p. */
static GK_INL void
pair_store(__m256 v, float *y, size_t ys, const int RM, const int RN)
{
	float	l[8];
	int	p;

	_mm256_storeu_ps(l, v);
	GK_UNROLL
	for (p = 0; p < RM * RN; p++)
		y[(size_t)(p / RM) * ys + p % RM] = l[p];
}

/* ---------------------------------------------------------------------- */


/*
 * The dots' k4_mins of pairs k (low half) and k + 4 (high half) in v[k]:
 * lane j of 4 is m[2j] * s[2j] + m[2j + 1] * s[2j + 1], where mn[r] are
 * row r's 8 mins and s32[t] token t's Q8_K sums per 32.
 */
static GK_INL void
k4_mins4(const __m128i *mn, const __m128i *s32, __m256i *v, const int RM,
    const int RN)
{
	__m128i	z = _mm_setzero_si128();
	int	k;

	GK_UNROLL
	for (k = 0; k < 4; k++)
		v[k] = _mm256_madd_epi16(_mm256_setr_m128i(
		    k < RM * RN ? mn[k % RM] : z,
		    k + 4 < RM * RN ? mn[(k + 4) % RM] : z),
		    _mm256_setr_m128i(k < RM * RN ? s32[k / RM] : z,
		    k + 4 < RM * RN ? s32[(k + 4) / RM] : z));
}

/*
 * The mins of every pair as the dots' k4_mins gives them (lane j of 4:
 * m[2j] * s[2j] + m[2j + 1] * s[2j + 1]), transposed: M[j] has pair p's
 * lane j in its lane p.  mn[r] are row r's 8 mins, s32[t] token t's sums
 * per 32.
 */
static GK_INL void
k4_pair_mins(const __m128i *mn, const __m128i *s32, __m256i *M, const int RM,
    const int RN)
{
	__m256i	v[4], u0, u1, u2, u3;

	k4_mins4(mn, s32, v, RM, RN);
	u0 = _mm256_unpacklo_epi32(v[0], v[1]);
	u1 = _mm256_unpackhi_epi32(v[0], v[1]);
	u2 = _mm256_unpacklo_epi32(v[2], v[3]);
	u3 = _mm256_unpackhi_epi32(v[2], v[3]);
	M[0] = _mm256_unpacklo_epi64(u0, u2);
	M[1] = _mm256_unpackhi_epi64(u0, u2);
	M[2] = _mm256_unpacklo_epi64(u1, u3);
	M[3] = _mm256_unpackhi_epi64(u1, u3);
}


/*
 * The scaled quants of 64-chunk j of a Q4_K block times token t's Q8_K
 * quants, in the dot's 8 lanes (quant_k_avx2.c's q4_K_sum64): lo and hi
 * are the chunk's two nibble vectors, sl and sh their scales.
 */
static GK_INL __m256i
q4_K_pair64(__m256i lo, __m256i hi, __m256i sl, __m256i sh, const int8_t *q8)
{
	__m256i	pl, ph;

	pl = _mm256_maddubs_epi16(lo, _mm256_loadu_si256((const __m256i *)q8));
	ph = _mm256_maddubs_epi16(hi, _mm256_loadu_si256((const __m256i *)
	    (q8 + 32)));
	return _mm256_add_epi32(_mm256_madd_epi16(sl, pl),
	    _mm256_madd_epi16(sh, ph));
}

/*
 * Add 64-chunk j of block i of every pair into s[p] (Q4_K); sm[r] holds
 * row r's 16 scales and mins of the block.
 */
static GK_INL void
q4_K_chunk(const void *w, size_t wrow, const uint8_t *a, size_t arow,
    int i, int j, const int16_t (*sm)[16], __m256i *s, const int RM,
    const int RN)
{
	const __m256i	m4 = _mm256_set1_epi8(15);
	__m256i		bits, lo, hi, sl, sh;
	int		r, t;

	GK_UNROLL
	for (r = 0; r < RM; r++) {
		bits = _mm256_loadu_si256((const __m256i *)(q4k(w, wrow, r,
		    i)->qs + 32 * j));
		lo = _mm256_and_si256(bits, m4);
		hi = _mm256_and_si256(_mm256_srli_epi16(bits, 4), m4);
		sl = _mm256_set1_epi16(sm[r][2 * j]);
		sh = _mm256_set1_epi16(sm[r][2 * j + 1]);
		GK_UNROLL
		for (t = 0; t < RN; t++)
			s[t * RM + r] = keep(_mm256_add_epi32(s[t * RM + r],
			    q4_K_pair64(lo, hi, sl, sh, q8k(a, arow, t,
			    i)->qs + 64 * j)));
	}
}

/*
 * Per block, what every K-quant tile needs of its rows and tokens: the
 * 16 scales and mins of each row (sm), the fp16 d and dmin of the rows
 * (dw, dm), the Q8_K d of the tokens (dy) and their sums per 32 (s32).
 */
static GK_INL void
k4_block(const void *w, size_t wrow, const uint8_t *a, size_t arow, int i,
    int q5, int16_t (*sm)[16], float *dw, float *dm, float *dy,
    __m128i *s32, const int RM, const int RN)
{
	const struct qt_block_q4_K	*x4;
	const struct qt_block_q5_K	*x5;
	const struct qt_block_q8_K	*yb;
	int				 r, t;

	GK_UNROLL
	for (r = 0; r < RM; r++) {
		if (q5) {
			x5 = q5k(w, wrow, r, i);
			_mm256_storeu_si256((__m256i *)sm[r],
			    k4_scales16(x5->scales));
			dw[r] = _cvtsh_ss(x5->d);
			dm[r] = _cvtsh_ss(x5->dmin);
		} else {
			x4 = q4k(w, wrow, r, i);
			_mm256_storeu_si256((__m256i *)sm[r],
			    k4_scales16(x4->scales));
			dw[r] = _cvtsh_ss(x4->d);
			dm[r] = _cvtsh_ss(x4->dmin);
		}
	}
	GK_UNROLL
	for (t = 0; t < RN; t++) {
		yb = q8k(a, arow, t, i);
		dy[t] = yb->d;
		s32[t] = bsums32(yb->bsums);
	}
}

/*
 * Q4_K in llama.cpp's repacked orders (qt_traits dot_rp4 when rp4, else
 * dot_rp1; quant_k_avx2.c's q4_K_dot_rp): per 64 (rp4) or per block
 * (rp1), the integer sums of the pair meet d and dmin in scalar FMAs,
 * which run here in the pair's lane.
 */
static GK_INL void
q4_K_rp_tile(int nb, const void *w, size_t wrow, const uint8_t *a,
    size_t arow, float *y, size_t ys, const int rp4, const int RM,
    const int RN)
{
	int16_t		sm[8][16];
	float		dw[8], dm[8], dy[8];
	__m128i		s32[8], mn[8];
	__m256		acc = _mm256_setzero_ps(), accm = acc, dv, mv;
	__m256i		s[8], M[4];
	int		i, j, p, r;

	for (i = 0; i < nb; i++) {
		k4_block(w, wrow, a, arow, i, 0, sm, dw, dm, dy, s32, RM, RN);
		GK_UNROLL
		for (r = 0; r < RM; r++)
			mn[r] = _mm_loadu_si128((const __m128i *)(sm[r] + 8));
		k4_pair_mins(mn, s32, M, RM, RN);
		dv = pair_mul(dw, dy, RM, RN);
		mv = pair_mul(dm, dy, RM, RN);
		GK_UNROLL
		for (p = 0; p < 8; p++)
			s[p] = _mm256_setzero_si256();
		GK_UNROLL
		for (j = 0; j < 4; j++) {
			q4_K_chunk(w, wrow, a, arow, i, j, (const int16_t
			    (*)[16])sm, s, RM, RN);
			if (!rp4)
				continue;
			acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(
			    hsum_i32x8x8(s)), dv, acc);
			accm = _mm256_fmadd_ps(_mm256_cvtepi32_ps(M[j]), mv,
			    accm);
			GK_UNROLL
			for (p = 0; p < 8; p++)
				s[p] = _mm256_setzero_si256();
		}
		if (rp4)
			continue;
		acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(hsum_i32x8x8(s)),
		    dv, acc);
		accm = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(
		    _mm256_add_epi32(_mm256_add_epi32(M[0], M[1]), M[2]),
		    M[3])), mv, accm);
	}
	pair_store(_mm256_sub_ps(acc, accm), y, ys, RM, RN);
}

/*
 * Q4_K in its dot's order (qt_q4_K_dot_avx2): per pair an 8-lane
 * accumulator of the scaled quants and a 4-lane one of the mins, the
 * latter two pairs to a register (pair k low, k + 4 high).
 */
static GK_INL void
q4_K_tile(int nb, const void *w, size_t wrow, const uint8_t *a,
    size_t arow, float *y, size_t ys, const int RM, const int RN)
{
	int16_t		sm[8][16];
	float		dw[8], dm[8], dy[8], ny[8], out[8];
	__m128i		s32[8], mn[8];
	__m256		acc[8], accm[4], dv, mv;
	__m256i		s[8], v[4];
	int		i, j, k, p, r;

	GK_UNROLL
	for (p = 0; p < 8; p++)
		acc[p] = _mm256_setzero_ps();
	GK_UNROLL
	for (k = 0; k < 4; k++)
		accm[k] = _mm256_setzero_ps();
	for (i = 0; i < nb; i++) {
		k4_block(w, wrow, a, arow, i, 0, sm, dw, dm, dy, s32, RM, RN);
		GK_UNROLL
		for (r = 0; r < RM; r++)
			mn[r] = _mm_loadu_si128((const __m128i *)(sm[r] + 8));
		GK_UNROLL
		for (p = 0; p < RN; p++)
			ny[p] = -dy[p];
		k4_mins4(mn, s32, v, RM, RN);
		mv = pair_mul(dm, ny, RM, RN);
		GK_UNROLL
		for (k = 0; k < 4; k++)
			accm[k] = _mm256_fmadd_ps(lane_bcast2(mv, k),
			    _mm256_cvtepi32_ps(v[k]), accm[k]);
		GK_UNROLL
		for (p = 0; p < 8; p++)
			s[p] = _mm256_setzero_si256();
		GK_UNROLL
		for (j = 0; j < 4; j++)
			q4_K_chunk(w, wrow, a, arow, i, j, (const int16_t
			    (*)[16])sm, s, RM, RN);
		dv = pair_mul(dw, dy, RM, RN);
		GK_UNROLL
		for (p = 0; p < RM * RN; p++)
			acc[p] = _mm256_fmadd_ps(lane_bcast(dv, p),
			    _mm256_cvtepi32_ps(s[p]), acc[p]);
	}
	GK_UNROLL
	for (p = 0; p < RM * RN; p++)
		out[p] = hsum_f32x8(acc[p]) + hsum_f32x4(p < 4 ?
		    _mm256_castps256_ps128(accm[p]) :
		    _mm256_extractf128_ps(accm[p - 4], 1));
	GK_UNROLL
	for (p = 0; p < RM * RN; p++)
		y[(size_t)(p / RM) * ys + p % RM] = out[p];
}

/* ---------------------------------------------------------------------- */

/* The 32 quants (0..31) of half h of 64-chunk j of a Q5_K block
 * (quant_k_avx2.c's q5_K_quants). */
static GK_INL __m256i
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

/* Add 64-chunk j of block i of every pair into s[p] (Q5_K). */
static GK_INL void
q5_K_chunk(const void *w, size_t wrow, const uint8_t *a, size_t arow,
    int i, int j, const int16_t (*sm)[16], __m256i *s, const int RM,
    const int RN)
{
	const struct qt_block_q5_K	*x;
	__m256i				 bits, qh, lo, hi, sl, sh;
	int				 r, t;

	GK_UNROLL
	for (r = 0; r < RM; r++) {
		x = q5k(w, wrow, r, i);
		bits = _mm256_loadu_si256((const __m256i *)(x->qs + 32 * j));
		qh = _mm256_loadu_si256((const __m256i *)x->qh);
		lo = q5_K_quants(bits, qh, j, 0);
		hi = q5_K_quants(bits, qh, j, 1);
		sl = _mm256_set1_epi16(sm[r][2 * j]);
		sh = _mm256_set1_epi16(sm[r][2 * j + 1]);
		GK_UNROLL
		for (t = 0; t < RN; t++)
			s[t * RM + r] = keep(_mm256_add_epi32(s[t * RM + r],
			    q4_K_pair64(lo, hi, sl, sh, q8k(a, arow, t,
			    i)->qs + 64 * j)));
	}
}

/*
 * Q5_K in its dot's order (qt_q5_K_dot_avx2): per pair an 8-lane
 * accumulator; the mins, one scalar FMA per block and pair, in lane p
 * of summs.
 */
static GK_INL void
q5_K_tile(int nb, const void *w, size_t wrow, const uint8_t *a,
    size_t arow, float *y, size_t ys, const int RM, const int RN)
{
	int16_t		sm[8][16];
	float		dw[8], dm[8], dy[8], ny[8], out[8];
	__m128i		s32[8], mn[8];
	__m256		acc[8], summs = _mm256_setzero_ps(), dv;
	__m256i		s[8], M[4];
	int		i, j, p, r;

	GK_UNROLL
	for (p = 0; p < 8; p++)
		acc[p] = _mm256_setzero_ps();
	for (i = 0; i < nb; i++) {
		k4_block(w, wrow, a, arow, i, 1, sm, dw, dm, dy, s32, RM, RN);
		GK_UNROLL
		for (r = 0; r < RM; r++)
			mn[r] = _mm_loadu_si128((const __m128i *)(sm[r] + 8));
		GK_UNROLL
		for (p = 0; p < RN; p++)
			ny[p] = -dy[p];
		k4_pair_mins(mn, s32, M, RM, RN);
		summs = _mm256_fmadd_ps(pair_mul(dm, ny, RM, RN),
		    _mm256_cvtepi32_ps(_mm256_add_epi32(_mm256_add_epi32(M[0],
		    M[1]), _mm256_add_epi32(M[2], M[3]))), summs);
		GK_UNROLL
		for (p = 0; p < 8; p++)
			s[p] = _mm256_setzero_si256();
		GK_UNROLL
		for (j = 0; j < 4; j++)
			q5_K_chunk(w, wrow, a, arow, i, j, (const int16_t
			    (*)[16])sm, s, RM, RN);
		dv = pair_mul(dw, dy, RM, RN);
		GK_UNROLL
		for (p = 0; p < RM * RN; p++)
			acc[p] = _mm256_fmadd_ps(lane_bcast(dv, p),
			    _mm256_cvtepi32_ps(s[p]), acc[p]);
	}
	_mm256_storeu_ps(out, summs);
	GK_UNROLL
	for (p = 0; p < RM * RN; p++)
		y[(size_t)(p / RM) * ys + p % RM] = hsum_f32x8(acc[p]) +
		    out[p];
}

/* ---------------------------------------------------------------------- */

/* The unsigned 6-bit quants of quarter k of a 128-chunk of a Q6_K block
 * (quant_k_avx2.c's q6_K_quants). */
static GK_INL __m256i
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
static GK_INL __m128i
q6_K_pick(int i)
{
	return _mm_unpacklo_epi64(_mm_set1_epi8((char)(2 * i)),
	    _mm_set1_epi8((char)(2 * i + 1)));
}

/* Add 32-quarter k of 128-chunk j of block i of every pair into s[p]
 * (Q6_K). */
static GK_INL void
q6_K_quarter(const void *w, size_t wrow, const uint8_t *a, size_t arow,
    int i, int j, int k, __m256i *s, const int RM, const int RN)
{
	const struct qt_block_q6_K	*x;
	__m256i				 q, sc, ql0, ql1, qh;
	const int8_t			*q8;
	int				 r, t;

	GK_UNROLL
	for (r = 0; r < RM; r++) {
		x = q6k(w, wrow, r, i);
		ql0 = _mm256_loadu_si256((const __m256i *)(x->ql + 64 * j));
		ql1 = _mm256_loadu_si256((const __m256i *)(x->ql + 64 * j +
		    32));
		qh = _mm256_loadu_si256((const __m256i *)(x->qh + 32 * j));
		q = q6_K_quants(ql0, ql1, qh, k);
		sc = _mm256_cvtepi8_epi16(_mm_shuffle_epi8(_mm_loadu_si128(
		    (const __m128i *)x->scales), q6_K_pick(4 * j + k)));
		GK_UNROLL
		for (t = 0; t < RN; t++) {
			q8 = q8k(a, arow, t, i)->qs +
			    32 * (4 * j + k);
			s[t * RM + r] = keep(_mm256_add_epi32(s[t * RM + r],
			    _mm256_madd_epi16(sc, _mm256_maddubs_epi16(q,
			    _mm256_loadu_si256((const __m256i *)q8)))));
		}
	}
}

/*
 * Q6_K in its dot's order (qt_q6_K_dot_avx2): per pair an 8-lane integer
 * sum of the block less 32 * scale * bsums (here its starting value: the
 * same integers), then one FMA.
 */
static GK_INL void
q6_K_tile(int nb, const void *w, size_t wrow, const uint8_t *a,
    size_t arow, float *y, size_t ys, const int RM, const int RN)
{
	float		dw[8], dy[8];
	__m256		acc[8], dv;
	__m256i		s[8], sc32[8];
	int		i, j, k, p, r, t;

	GK_UNROLL
	for (p = 0; p < 8; p++)
		acc[p] = _mm256_setzero_ps();
	for (i = 0; i < nb; i++) {
		/* -32 * scale fits int16: |scale| <= 128. */
		GK_UNROLL
		for (r = 0; r < RM; r++)
			sc32[r] = _mm256_sub_epi16(_mm256_setzero_si256(),
			    _mm256_slli_epi16(_mm256_cvtepi8_epi16(
			    _mm_loadu_si128((const __m128i *)q6k(w, wrow, r,
			    i)->scales)), 5));
		GK_UNROLL
		for (p = 0; p < 8; p++)
			s[p] = p < RM * RN ? _mm256_madd_epi16(
			    _mm256_loadu_si256((const __m256i *)q8k(a, arow,
			    p / RM, i)->bsums),
			    sc32[p % RM]) : _mm256_setzero_si256();
		GK_UNROLL
		for (j = 0; j < 2; j++)
			GK_UNROLL
			for (k = 0; k < 4; k++)
				q6_K_quarter(w, wrow, a, arow, i, j, k, s, RM,
				    RN);
		GK_UNROLL
		for (r = 0; r < RM; r++)
			dw[r] = _cvtsh_ss(q6k(w, wrow, r, i)->d);
		GK_UNROLL
		for (t = 0; t < RN; t++)
			dy[t] = q8k(a, arow, t, i)->d;
		dv = pair_mul(dw, dy, RM, RN);
		GK_UNROLL
		for (p = 0; p < RM * RN; p++)
			acc[p] = _mm256_fmadd_ps(lane_bcast(dv, p),
			    _mm256_cvtepi32_ps(s[p]), acc[p]);
	}
	GK_UNROLL
	for (p = 0; p < RM * RN; p++)
		y[(size_t)(p / RM) * ys + p % RM] = hsum_f32x8(acc[p]);
}

/* ---------------------------------------------------------------------- */

/* A 64-chunk's scaled integer sum s and mins m of 8 rows against one
 * token: its FMAs (rp4), or kept for the block's (rp1, x8_block). */
static GK_INL void
x8_chunk(__m256i s, __m256i m, __m256 dd, __m256 dm, __m256 *acc,
    __m256 *accm, __m256i *sum, __m256i *msum, const int rp4)
{
	if (rp4) {
		*acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), dd, *acc);
		*accm = _mm256_fmadd_ps(_mm256_cvtepi32_ps(m), dm, *accm);
	} else {
		*sum = _mm256_add_epi32(*sum, s);
		*msum = _mm256_add_epi32(*msum, m);
	}
}

/* The end of a block (rp1): the FMAs of its whole sums. */
static GK_INL void
x8_block(__m256i sum, __m256i msum, __m256 dd, __m256 dm, __m256 *acc,
    __m256 *accm, const int rp4)
{
	if (rp4)
		return;
	*acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum), dd, *acc);
	*accm = _mm256_fmadd_ps(_mm256_cvtepi32_ps(msum), dm, *accm);
}

/*
 * Q4_K in the repacked orders with 8 rows in the lanes, as llama.cpp's
 * repacked kernels have them: block i of 8 rows is interleaved once (4
 * bytes of each row per vector, the nibbles apart) and then serves every
 * token.  A broadcast of 4 activation bytes meets 8 rows per maddubs, so
 * int32 lane r collects row r's integer sum and no horizontal sums are
 * needed; the integers are the pair tiles', the FMAs the same.
 */
struct q4_K_x8 {
	__m256i	q[4][2][8];	/* [64-chunk][nibble][4-byte group] */
	int32_t	sc[8][8];	/* [sub-block][row]: scale in each int16 */
	int32_t	mn[4][8];	/* [64-chunk][row]: its two mins */
	__m256	d, dmin;	/* of the 8 rows */
};


/* Interleave block i of the 8 rows at w. */
static GK_INL void
q4_K_x8_pack(struct q4_K_x8 *p, const void *w, size_t wrow, int i)
{
	const __m256i			 m4 = _mm256_set1_epi8(15);
	const struct qt_block_q4_K	*x[8];
	int16_t				 sm[8][16];
	uint16_t			 dh[8], mh[8];
	__m256i				 v[8], t[8], u[8], g;
	int				 j, k, r;

	GK_UNROLL
	for (r = 0; r < 8; r++) {
		x[r] = q4k(w, wrow, r, i);
		_mm256_storeu_si256((__m256i *)sm[r], k4_scales16(
		    x[r]->scales));
		dh[r] = x[r]->d;
		mh[r] = x[r]->dmin;
	}
	p->d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)dh));
	p->dmin = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)mh));
	for (k = 0; k < 8; k++)
		for (r = 0; r < 8; r++)
			p->sc[k][r] = (int32_t)((uint32_t)(uint16_t)sm[r][k] *
			    0x10001u);
	for (j = 0; j < 4; j++)
		for (r = 0; r < 8; r++)
			p->mn[j][r] = (int32_t)((uint32_t)(uint16_t)
			    sm[r][8 + 2 * j] | (uint32_t)(uint16_t)
			    sm[r][9 + 2 * j] << 16);
	GK_UNROLL
	for (j = 0; j < 4; j++) {
		/* An 8 x 8 transpose of 4-byte groups: v[r] holds row r's
		 * groups 0..7, the results group k's rows 0..7. */
		GK_UNROLL
		for (r = 0; r < 8; r++)
			v[r] = _mm256_loadu_si256((const __m256i *)(x[r]->qs +
			    32 * j));
		GK_UNROLL
		for (k = 0; k < 4; k++) {
			t[2 * k] = _mm256_unpacklo_epi32(v[2 * k],
			    v[2 * k + 1]);
			t[2 * k + 1] = _mm256_unpackhi_epi32(v[2 * k],
			    v[2 * k + 1]);
		}
		GK_UNROLL
		for (k = 0; k < 2; k++) {
			u[4 * k] = _mm256_unpacklo_epi64(t[4 * k],
			    t[4 * k + 2]);
			u[4 * k + 1] = _mm256_unpackhi_epi64(t[4 * k],
			    t[4 * k + 2]);
			u[4 * k + 2] = _mm256_unpacklo_epi64(t[4 * k + 1],
			    t[4 * k + 3]);
			u[4 * k + 3] = _mm256_unpackhi_epi64(t[4 * k + 1],
			    t[4 * k + 3]);
		}
		GK_UNROLL
		for (k = 0; k < 4; k++) {
			g = _mm256_permute2x128_si256(u[k], u[k + 4], 0x20);
			p->q[j][0][k] = _mm256_and_si256(g, m4);
			p->q[j][1][k] = _mm256_and_si256(_mm256_srli_epi16(g,
			    4), m4);
			g = _mm256_permute2x128_si256(u[k], u[k + 4], 0x31);
			p->q[j][0][k + 4] = _mm256_and_si256(g, m4);
			p->q[j][1][k + 4] = _mm256_and_si256(
			    _mm256_srli_epi16(g, 4), m4);
		}
	}
}

/*
 * Add block i of TN tokens (rows of arow bytes at a) against the 8
 * interleaved rows into their accumulators, as q4_K_dot_rp does: per
 * 64-chunk (rp4) or per block (rp1) one FMA of the integer sum with
 * d * y.d and one of the mins with dmin * y.d.  Each int16 lane adds 8
 * maddubs results, at most 8 * 2 * 15 * 128 = 30720 in size.
 */
static GK_INL void
q4_K_x8_block(const struct q4_K_x8 *p, const uint8_t *a, size_t arow,
    int i, __m256 *acc, __m256 *accm, const int rp4, const int TN)
{
	const struct qt_block_q8_K	*yb[2];
	__m256				 dd[2], dm[2];
	__m256i				 lo[2], hi[2], s[2], m[2];
	__m256i				 sum[2], msum[2], wv;
	int32_t				 x4, s32[2][4];
	int				 j, g, t;

	GK_UNROLL
	for (t = 0; t < TN; t++) {
		yb[t] = q8k(a, arow, t, i);
		dd[t] = _mm256_mul_ps(p->d, _mm256_set1_ps(yb[t]->d));
		dm[t] = _mm256_mul_ps(p->dmin, _mm256_set1_ps(yb[t]->d));
		_mm_storeu_si128((__m128i *)s32[t], bsums32(yb[t]->bsums));
		sum[t] = msum[t] = _mm256_setzero_si256();
	}
	GK_UNROLL
	for (j = 0; j < 4; j++) {
		GK_UNROLL
		for (t = 0; t < TN; t++)
			lo[t] = hi[t] = _mm256_setzero_si256();
		GK_UNROLL
		for (g = 0; g < 8; g++) {
			wv = _mm256_load_si256(&p->q[j][0][g]);
			GK_UNROLL
			for (t = 0; t < TN; t++) {
				memcpy(&x4, yb[t]->qs + 64 * j + 4 * g, 4);
				lo[t] = keep(_mm256_add_epi16(lo[t],
				    _mm256_maddubs_epi16(wv,
				    _mm256_set1_epi32(x4))));
			}
			wv = _mm256_load_si256(&p->q[j][1][g]);
			GK_UNROLL
			for (t = 0; t < TN; t++) {
				memcpy(&x4, yb[t]->qs + 64 * j + 32 + 4 * g, 4);
				hi[t] = keep(_mm256_add_epi16(hi[t],
				    _mm256_maddubs_epi16(wv,
				    _mm256_set1_epi32(x4))));
			}
		}
		GK_UNROLL
		for (t = 0; t < TN; t++) {
			s[t] = _mm256_add_epi32(_mm256_madd_epi16(lo[t],
			    _mm256_loadu_si256((const __m256i *)
			    p->sc[2 * j])), _mm256_madd_epi16(hi[t],
			    _mm256_loadu_si256((const __m256i *)
			    p->sc[2 * j + 1])));
			m[t] = _mm256_madd_epi16(_mm256_loadu_si256(
			    (const __m256i *)p->mn[j]),
			    _mm256_set1_epi32(s32[t][j]));
			x8_chunk(s[t], m[t], dd[t], dm[t], &acc[t], &accm[t],
			    &sum[t], &msum[t], rp4);
		}
	}
	GK_UNROLL
	for (t = 0; t < TN; t++)
		x8_block(sum[t], msum[t], dd[t], dm[t], &acc[t], &accm[t],
		    rp4);
}

/* ---------------------------------------------------------------------- */

/*
 * Q4_K rows repacked at load (repack.h's rp_q4_K_x16) on AVX2: each half
 * of a 64-byte group holds 8 rows' 4-byte groups in the lanes, as
 * q4_K_x8_pack leaves them but still as nibbles, so a block is unpacked
 * with an AND and a shift a group (the 12 scale bytes of 8 rows in three
 * loads, as the VNNI kernel does on 16) instead of interleaved for each
 * call: in registers for decode, which reads the file's bytes once, and
 * once for all of a prompt's tokens.  Each half's integers and FMAs are
 * q4_K_x8_block's, so the floats are the dots'.
 */

/* A vpshufb control putting bytes b0 and b1 of each 32-bit lane in its
 * two int16, zero-extended (vpshufb indexes a 128-bit lane: 4m added for
 * 32-bit lane m). */
static GK_INL __m256i
rpk8_ctl(int b0, int b1)
{
	__m256i	c = _mm256_set1_epi32((int)(0x80008000u | (uint32_t)b0 |
		    (uint32_t)b1 << 16));

	return _mm256_add_epi8(c, _mm256_setr_epi32(0, 0x00040004,
	    0x00080008, 0x000c000c, 0, 0x00040004, 0x00080008, 0x000c000c));
}

/* Per lane (row 8h + lane of block p), the bytes of scales 0-3 and 4-7
 * (scl) and of mins 0-3 and 4-7 (mnl). */
static GK_INL void
rpk8_scales(const struct rp_q4_K_x16 *p, int h, __m256i *scl, __m256i *mnl)
{
	const __m256i	m4 = _mm256_set1_epi8(15);
	const __m256i	m6 = _mm256_set1_epi8(0x3f);
	const __m256i	m30 = _mm256_set1_epi8(0x30);
	__m256i		sa, sb, sc;

	sa = _mm256_loadu_si256((const __m256i *)(p->sc[0] + 8 * h));
	sb = _mm256_loadu_si256((const __m256i *)(p->sc[1] + 8 * h));
	sc = _mm256_loadu_si256((const __m256i *)(p->sc[2] + 8 * h));
	scl[0] = _mm256_and_si256(sa, m6);
	mnl[0] = _mm256_and_si256(sb, m6);
	scl[1] = _mm256_or_si256(_mm256_and_si256(sc, m4), _mm256_and_si256(
	    _mm256_srli_epi32(sa, 2), m30));
	mnl[1] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi32(sc, 4),
	    m4), _mm256_and_si256(_mm256_srli_epi32(sb, 2), m30));
}

/* 8 rows of the file by nt tokens at a, in the rp4 or rp1 order: the
 * rows at w (wrow bytes apart), each block interleaved once for every
 * token. */
static GK_INL void
q4_K_x8_gemm(int nb, const void *w, size_t wrow, const uint8_t *a,
    size_t arow, int nt, float *y, size_t ys, const int rp4)
{
	struct q4_K_x8	p;
	__m256		acc[GK_X8_TOKS], accm[GK_X8_TOKS];
	int		i, n, t, t0;

	for (t0 = 0; t0 < nt; t0 += n) {
		n = nt - t0 < GK_X8_TOKS ? nt - t0 : GK_X8_TOKS;
		for (t = 0; t < n; t++)
			acc[t] = accm[t] = _mm256_setzero_ps();
		for (i = 0; i < nb; i++) {
			q4_K_x8_pack(&p, w, wrow, i);
			/* Two tokens share each load of the rows. */
			for (t = 0; t + 2 <= n; t += 2)
				q4_K_x8_block(&p, a + (size_t)(t0 + t) * arow,
				    arow, i, acc + t, accm + t, rp4, 2);
			if (t < n)
				q4_K_x8_block(&p, a + (size_t)(t0 + t) * arow,
				    arow, i, acc + t, accm + t, rp4, 1);
		}
		for (t = 0; t < n; t++)
			_mm256_storeu_ps(y + (size_t)(t0 + t) * ys,
			    _mm256_sub_ps(acc[t], accm[t]));
	}
}

/*
 * What a block of 16 repacked rows gives every token, worked out once
 * for a prompt's tokens: v[j][g][h][0] are the low nibbles of
 * p->qs[j][g]'s half h, v[j][g][h][1] the high ones; sc[j][h] the scales
 * of 64-chunk j's two sub-blocks and its mins, as the int16 that meet the
 * lanes' sums; d and dmin per half.
 */
struct rpk16_u {
	__m256i	v[4][8][2][2];
	__m256i	sc[4][2][3];
	__m256	d[2], dmin[2];
};

/* Half h's d, dmin and scales of chunk j of block p (sc: the low
 * sub-block's scales, the high one's, the mins). */
static GK_INL void
rpk16_scales(const struct rp_q4_K_x16 *p, int h, __m256 *d, __m256 *dmin,
    __m256i (*sc)[3])
{
	__m256i	scl[2], mnl[2];
	int	j, b;

	*d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p->d +
	    8 * h)));
	*dmin = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p->dmin +
	    8 * h)));
	rpk8_scales(p, h, scl, mnl);
	GK_UNROLL
	for (j = 0; j < 4; j++) {
		b = 2 * (j & 1);
		sc[j][0] = _mm256_shuffle_epi8(scl[j >> 1], rpk8_ctl(b, b));
		sc[j][1] = _mm256_shuffle_epi8(scl[j >> 1], rpk8_ctl(b + 1,
		    b + 1));
		sc[j][2] = _mm256_shuffle_epi8(mnl[j >> 1], rpk8_ctl(b,
		    b + 1));
	}
}

static GK_INL void
rpk16_unpack(const struct rp_q4_K_x16 *p, struct rpk16_u *u)
{
	const __m256i	m4 = _mm256_set1_epi8(15);
	__m256i		w, sc[4][3];
	int		j, g, h;

	GK_UNROLL
	for (j = 0; j < 4; j++)
		GK_UNROLL
		for (g = 0; g < 8; g++)
			GK_UNROLL
			for (h = 0; h < 2; h++) {
				w = _mm256_load_si256((const __m256i *)
				    (p->qs[j][g] + 32 * h));
				u->v[j][g][h][0] = _mm256_and_si256(w, m4);
				u->v[j][g][h][1] = _mm256_and_si256(
				    _mm256_srli_epi16(w, 4), m4);
			}
	GK_UNROLL
	for (h = 0; h < 2; h++) {
		rpk16_scales(p, h, &u->d[h], &u->dmin[h], sc);
		GK_UNROLL
		for (j = 0; j < 4; j++) {
			u->sc[j][h][0] = sc[j][0];
			u->sc[j][h][1] = sc[j][1];
			u->sc[j][h][2] = sc[j][2];
		}
	}
}

/*
 * Block p's 16 rows against token yb, both halves at once; acc[h] and
 * accm[h] are half h's.  A broadcast of 4 activation bytes meets both
 * halves' vectors: on Zen 3 a broadcast costs about what a maddubs does,
 * and one for every 8 rows with two tokens a pass (the kernel before
 * this one) ran at 80-85 GMAC/s a core against 86-92 for this.  The
 * block's quants and scales come unpacked in u for a prompt, or (u NULL,
 * decode) are unpacked here, where a line of quants is used whole while
 * it is in L1.  Two tokens a pass spilled (60 GMAC/s), and so did 32
 * rows a pass (65).
 */
static GK_INL void
rpk16_q4_K_block(const struct rp_q4_K_x16 *p, const struct rpk16_u *u,
    const struct qt_block_q8_K *yb, __m256 *acc, __m256 *accm,
    const int rp4)
{
	const __m256i	m4 = _mm256_set1_epi8(15);
	__m256		d[2], dmin[2], dd[2], dm[2];
	__m256		dy = _mm256_set1_ps(yb->d);
	__m256i		sc[2][4][3], w, wl, wh, x0, x1, lo[2], hi[2], s, m;
	__m256i		sum[2], msum[2];
	int32_t		x4, s32[4];
	int		j, g, h;

	GK_UNROLL
	for (h = 0; h < 2; h++) {
		if (u == NULL)
			rpk16_scales(p, h, &d[h], &dmin[h], sc[h]);
		dd[h] = _mm256_mul_ps(u != NULL ? u->d[h] : d[h], dy);
		dm[h] = _mm256_mul_ps(u != NULL ? u->dmin[h] : dmin[h], dy);
		sum[h] = msum[h] = _mm256_setzero_si256();
	}
	_mm_storeu_si128((__m128i *)s32, bsums32(yb->bsums));
	GK_UNROLL
	for (j = 0; j < 4; j++) {
		GK_UNROLL
		for (h = 0; h < 2; h++)
			lo[h] = hi[h] = _mm256_setzero_si256();
		GK_UNROLL
		for (g = 0; g < 8; g++) {
			memcpy(&x4, yb->qs + 64 * j + 4 * g, 4);
			x0 = _mm256_set1_epi32(x4);
			memcpy(&x4, yb->qs + 64 * j + 32 + 4 * g, 4);
			x1 = _mm256_set1_epi32(x4);
			GK_UNROLL
			for (h = 0; h < 2; h++) {
				if (u != NULL) {
					wl = u->v[j][g][h][0];
					wh = u->v[j][g][h][1];
				} else {
					w = _mm256_load_si256((const __m256i *)
					    (p->qs[j][g] + 32 * h));
					wl = _mm256_and_si256(w, m4);
					wh = _mm256_and_si256(
					    _mm256_srli_epi16(w, 4), m4);
				}
				lo[h] = keep(_mm256_add_epi16(lo[h],
				    _mm256_maddubs_epi16(wl, x0)));
				hi[h] = keep(_mm256_add_epi16(hi[h],
				    _mm256_maddubs_epi16(wh, x1)));
			}
		}
		GK_UNROLL
		for (h = 0; h < 2; h++) {
			const __m256i	*c = u != NULL ? u->sc[j][h] :
					    sc[h][j];

			s = _mm256_add_epi32(_mm256_madd_epi16(lo[h], c[0]),
			    _mm256_madd_epi16(hi[h], c[1]));
			m = _mm256_madd_epi16(c[2], _mm256_set1_epi32(s32[j]));
			x8_chunk(s, m, dd[h], dm[h], &acc[h], &accm[h],
			    &sum[h], &msum[h], rp4);
		}
	}
	GK_UNROLL
	for (h = 0; h < 2; h++)
		x8_block(sum[h], msum[h], dd[h], dm[h], &acc[h], &accm[h],
		    rp4);
}

/* The 16 rows at w against nt tokens at a, into y (ys floats a token),
 * in the rp4 or rp1 order. */
static GK_INL void
rpk16_q4_K_gemm(int nb, const struct rp_q4_K_x16 *w, const uint8_t *a,
    size_t arow, int nt, float *y, size_t ys, const int rp4)
{
	struct rpk16_u	u;
	__m256		acc[2 * GK_X8_TOKS], accm[2 * GK_X8_TOKS];
	int		i, n, t, t0;

	if (nt == 1) {	/* decode: the accumulators in registers */
		__m256	a1[2], m1[2];

		for (t = 0; t < 2; t++)
			a1[t] = m1[t] = _mm256_setzero_ps();
		for (i = 0; i < nb; i++) {
			/* From memory (quant_impl.h); a block is 2304
			 * bytes, more than QT_AHEAD, so ask from the next
			 * one on. */
			QT_PREFETCH(w + i + 1, 36);
			rpk16_q4_K_block(w + i, NULL, q8k(a, 0, 0, i), a1,
			    m1, rp4);
		}
		for (t = 0; t < 2; t++)
			_mm256_storeu_ps(y + 8 * t, _mm256_sub_ps(a1[t],
			    m1[t]));
		return;
	}
	for (t0 = 0; t0 < nt; t0 += n) {
		n = nt - t0 < GK_X8_TOKS ? nt - t0 : GK_X8_TOKS;
		for (t = 0; t < 2 * n; t++)
			acc[t] = accm[t] = _mm256_setzero_ps();
		for (i = 0; i < nb; i++) {
			/* The block unpacked once for all the tokens. */
			rpk16_unpack(w + i, &u);
			for (t = 0; t < n; t++) {
				q8k_ahead(a, arow, t0, n, t + 2, nb, i);
				rpk16_q4_K_block(w + i, &u, q8k(a, arow, t0 +
				    t, i), acc + 2 * t, accm + 2 * t, rp4);
			}
		}
		for (t = 0; t < 2 * n; t++)
			_mm256_storeu_ps(y + (size_t)(t0 + t / 2) * ys +
			    8 * (t % 2), _mm256_sub_ps(acc[t], accm[t]));
	}
}

/* gemm_rpk_fn (gemm.h) over RP_Q4_KX16 rows, AVX2; any thread, each with
 * its own y rows. */
static GK_AVX2 void
gk_rpk_q4_K(int k, const void *w, int nr, const void *a, size_t arow,
    int nt, float *y, size_t ys, int order)
{
	const struct rp_q4_K_x16	*p = w;
	int				 nb = k / QK_K, r;

	for (r = 0; r + 16 <= nr; r += 16, p += nb)
		if (order == GEMM_RP4)
			rpk16_q4_K_gemm(nb, p, a, arow, nt, y + r, ys, 1);
		else
			rpk16_q4_K_gemm(nb, p, a, arow, nt, y + r, ys, 0);
}

/* ---------------------------------------------------------------------- */

enum { GK_Q4_K, GK_Q4_K_RP1, GK_Q4_K_RP4, GK_Q5_K, GK_Q6_K };

/* One RM x RN tile of a kernel (kind). */
static GK_INL void
gk_tile(int kind, int nb, const void *w, size_t wrow, const uint8_t *a,
    size_t arow, float *y, size_t ys, const int RM, const int RN)
{
	switch (kind) {
	case GK_Q4_K:
		q4_K_tile(nb, w, wrow, a, arow, y, ys, RM, RN);
		break;
	case GK_Q4_K_RP1:
		q4_K_rp_tile(nb, w, wrow, a, arow, y, ys, 0, RM, RN);
		break;
	case GK_Q4_K_RP4:
		q4_K_rp_tile(nb, w, wrow, a, arow, y, ys, 1, RM, RN);
		break;
	case GK_Q5_K:
		q5_K_tile(nb, w, wrow, a, arow, y, ys, RM, RN);
		break;
	case GK_Q6_K:
		q6_K_tile(nb, w, wrow, a, arow, y, ys, RM, RN);
		break;
	}
}

/*
 * 1 x 8 tiles: one row's unpacked sub-block serves 8 tokens (measured on
 * Zen 4 against 2 x 4 and 4 x 2, which unpack more per product: Q6_K
 * 143, 114 and 91 GOP/s a core).  The tokens left over go by fours in
 * 2 x 4 tiles, then one at a time against 8 rows, so that most lanes of a
 * tile's accumulators work.
 */
static GK_INL void
gk_gemm(int kind, int k, const void *w, size_t wrow, int nr, const void *a,
    size_t arow, int nt, float *y, size_t ys)
{
	const uint8_t	*wp = w, *ap = a;
	int		 nb = k / QK_K, r, t;

	for (t = 0; t + 8 <= nt; t += 8)
		for (r = 0; r < nr; r++)
			gk_tile(kind, nb, wp + r * wrow, wrow, ap + t * arow,
			    arow, y + t * ys + r, ys, 1, 8);
	for (; t + 4 <= nt; t += 4) {
		for (r = 0; r + 2 <= nr; r += 2)
			gk_tile(kind, nb, wp + r * wrow, wrow, ap + t * arow,
			    arow, y + t * ys + r, ys, 2, 4);
		for (; r < nr; r++)
			gk_tile(kind, nb, wp + r * wrow, wrow, ap + t * arow,
			    arow, y + t * ys + r, ys, 1, 4);
	}
	for (; t < nt; t++) {
		for (r = 0; r + 8 <= nr; r += 8)
			gk_tile(kind, nb, wp + r * wrow, wrow, ap + t * arow,
			    arow, y + t * ys + r, ys, 8, 1);
		for (; r < nr; r++)
			gk_tile(kind, nb, wp + r * wrow, wrow, ap + t * arow,
			    arow, y + t * ys + r, ys, 1, 1);
	}
}

static GK_AVX2 void
gemm_q4_K(int k, const void *w, size_t wrow, int nr, const void *a,
    size_t arow, int nt, float *y, size_t ys)
{
	gk_gemm(GK_Q4_K, k, w, wrow, nr, a, arow, nt, y, ys);
}


/* The repacked orders: 8 rows at a time interleaved when there are
 * tokens enough to pay for it, the other rows in pair tiles. */
static GK_INL void
gk_gemm_rp(const int rp4, int k, const void *w, size_t wrow, int nr,
    const void *a, size_t arow, int nt, float *y, size_t ys)
{
	const uint8_t	*wp = w;
	int		 r = 0;

	if (nt >= GK_X8_MIN)
		for (; r + 8 <= nr; r += 8)
			q4_K_x8_gemm(k / QK_K, wp + r * wrow, wrow, a, arow,
			    nt, y + r, ys, rp4);
	if (r < nr)
		gk_gemm(rp4 ? GK_Q4_K_RP4 : GK_Q4_K_RP1, k, wp + r * wrow,
		    wrow, nr - r, a, arow, nt, y + r, ys);
}

/* gemm_fn (gemm.h) for Q4_K in the GEMM_RP1 order, AVX2; any thread,
 * each with its own y rows. */
GK_AVX2 void
gk_gemm_q4_K_rp1(int k, const void *w, size_t wrow, int nr, const void *a,
    size_t arow, int nt, float *y, size_t ys)
{
	gk_gemm_rp(0, k, w, wrow, nr, a, arow, nt, y, ys);
}

/* gemm_fn (gemm.h) for Q4_K in the GEMM_RP4 order, AVX2; any thread,
 * each with its own y rows. */
GK_AVX2 void
gk_gemm_q4_K_rp4(int k, const void *w, size_t wrow, int nr, const void *a,
    size_t arow, int nt, float *y, size_t ys)
{
	gk_gemm_rp(1, k, w, wrow, nr, a, arow, nt, y, ys);
}

static GK_AVX2 void
gemm_q5_K(int k, const void *w, size_t wrow, int nr, const void *a,
    size_t arow, int nt, float *y, size_t ys)
{
	gk_gemm(GK_Q5_K, k, w, wrow, nr, a, arow, nt, y, ys);
}

/* gemm_fn (gemm.h) for Q6_K in its dot's order, AVX2; any thread, each
 * with its own y rows. */
GK_AVX2 void
gk_gemm_q6_K(int k, const void *w, size_t wrow, int nr, const void *a,
    size_t arow, int nt, float *y, size_t ys)
{
	gk_gemm(GK_Q6_K, k, w, wrow, nr, a, arow, nt, y, ys);
}

#endif /* x86 */

/* One variant (0: AVX2, 1: AVX512-VNNI) of the K-quant tile of a type in
 * an order, or NULL if this CPU or the type lacks it; the caller has
 * checked that the AVX2 kernels are in use.  For tests and gemm_k_get. */
gemm_fn
gemm_k_get_variant(uint32_t type, int order, int vnni)
{
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
	if (vnni) {
		if (!__builtin_cpu_supports("avx512vl") ||
		    !__builtin_cpu_supports("avx512bw") ||
		    !__builtin_cpu_supports("avx512vnni"))
			return NULL;
		switch (type) {
		case QT_Q2_K:
			return order == GEMM_RP4 ? gk_gemm_q2_K_rp4_vnni :
			    order == GEMM_RP1 ? gk_gemm_q2_K_rp1_vnni : NULL;
		case QT_Q3_K:
			return order == GEMM_DOT ? gk_gemm_q3_K_vnni : NULL;
		case QT_Q4_K:
			return order == GEMM_RP4 ? gk_gemm_q4_K_rp4_vnni :
			    order == GEMM_RP1 ? gk_gemm_q4_K_rp1_vnni : NULL;
		case QT_Q6_K:
			return order == GEMM_DOT ? gk_gemm_q6_K_vnni : NULL;
		}
		return NULL;
	}
	switch (type) {
	case QT_Q2_K:
		return order == GEMM_DOT ? gk_gemm_q2_K : NULL;
	case QT_Q3_K:
		return order == GEMM_DOT ? gk_gemm_q3_K : NULL;
	case QT_Q4_K:
		return order == GEMM_RP4 ? gk_gemm_q4_K_rp4 :
		    order == GEMM_RP1 ? gk_gemm_q4_K_rp1 : gemm_q4_K;
	case QT_Q5_K:
		return order == GEMM_DOT ? gemm_q5_K : NULL;
	case QT_Q6_K:
		return order == GEMM_DOT ? gk_gemm_q6_K : NULL;
	}
#endif
	(void)type;
	(void)order;
	(void)vnni;
	return NULL;
}

/* The kernel over a repacked K-quant layout (repack.h), or NULL. */
gemm_rpk_fn
gemm_k_get_rp(int kind)
{
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
	if (kind == RP_Q4_KX16 && qt_vnni() &&
	    __builtin_cpu_supports("avx512f") &&
	    __builtin_cpu_supports("avx512bw"))
		return gk_rpk_q4_K_vnni;
	if (kind == RP_Q4_KX16 && strcmp(qt_simd_name(), "avx2") == 0)
		return gk_rpk_q4_K;
#endif
	(void)kind;
	return NULL;
}

/* The K-quant tile of a type in an order (GEMM_DOT, GEMM_RP1, GEMM_RP4),
 * or NULL; the caller has checked that the AVX2 kernels are in use.  The
 * VNNI variant where there is one and it may run. */
gemm_fn
gemm_k_get(uint32_t type, int order)
{
	gemm_fn	g = NULL;

	if (qt_vnni())
		g = gemm_k_get_variant(type, order, 1);
	return g != NULL ? g : gemm_k_get_variant(type, order, 0);
}
