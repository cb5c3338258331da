/*
 * Prompt tiles for Q2_K and Q3_K against Q8_K activations, eight weight
 * rows in the int32 lanes of a ymm register (AVX2) or sixteen in a zmm
 * register (AVX512-VNNI, as gemm_k_vnni.c has Q4_K).  A block of the rows
 * is unpacked once per pass of up to 64 tokens, so that four products of
 * a row take one vpdpbusd, or maddubs and madd on AVX2:
 *
 *	Q2_K	q * scale, 0..45 (unsigned bytes), in both;
 *	Q3_K	q + 4, 0..7, its scale and the activations' 4 * sum taken
 *		off in int16 (AVX2); q * scale + 124, 0..252 (q -4..3, the
 *		scale -32..31), the 124 times the activations' sums of four,
 *		which depend on the token alone, starting the accumulators
 *		negative (VNNI).
 *
 * The orders are those of llama.cpp's builds: its AVX2 ones take the
 * vec_dot of both (quant_k_avx2.c): eight int32 lanes per block, lane L
 * the sum of the products 4L..4L+3 of every 32, each lane its own FMA
 * chain, then the dot's horizontal sum; its AVX-512 ones repack Q2_K
 * (quant_k_rp.c): whole integers per half block (rp4) or block (rp1),
 * one FMA each.  The integers are exact, so every output is the dot's
 * float bit for bit.  Rows past the last group and calls of few tokens go
 * to the dots.
 */
#include "config.h"

#include <string.h>

#include "gemm.h"
#include "quant.h"
#include "quant_impl.h"

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#include <immintrin.h>

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include "gemm_k_impl.h"

static inline const struct qt_block_q2_K *
q2k(const void *p, size_t rs, int r, int i)
{
	return (const struct qt_block_q2_K *)((const uint8_t *)p +
	    (size_t)r * rs) + i;
}

static inline const struct qt_block_q3_K *
q3k(const void *p, size_t rs, int r, int i)
{
	return (const struct qt_block_q3_K *)((const uint8_t *)p +
	    (size_t)r * rs) + i;
}

/* AVX2.  Products of two pairs of Q2_K's bytes fit int16 (2 * 45 *
 * 128); Q3_K's scaled bytes would not (252), hence q + 4 there. */

/* The 4 bytes of a Q8_K row's quants 4g..4g+3 in every int32 lane. */
static GK_INL __m256i
a4y(const struct qt_block_q8_K *y, int g)
{
	int32_t	x4;

	memcpy(&x4, y->qs + 4 * g, 4);
	return _mm256_set1_epi32(x4);
}

/* dup16() on 8 lanes. */
static GK_INL __m256i
dup16y(__m256i v, int hi)
{
	__m256i	x = hi ? _mm256_srli_epi32(v, 16) :
		    _mm256_and_si256(v, _mm256_set1_epi32(0xffff));

	return _mm256_or_si256(x, _mm256_slli_epi32(x, 16));
}

/* out[k] lane r = 32-bit lane k of the 32 bytes at p[r] + off, 8 rows. */
static GK_INL void
tr8_rows(const uint8_t *const *p, size_t off, __m256i *out)
{
	__m256i	v[8];
	int	r;

	GK_UNROLL
	for (r = 0; r < 8; r++)
		v[r] = _mm256_loadu_si256((const __m256i *)(p[r] + off));
	tr8x8_epi32(v, out);
}

/* Block i of 8 Q2_K rows, as q2_K_x16 on 8 lanes. */
struct q2_K_x8 {
	__m256i	q[64];
	__m256i	mn[8];
	__m256	d, dmin;
};

static GK_INL void
q2_K_x8_pack(struct q2_K_x8 *p, const void *w, size_t wrow, int i)
{
	const __m256i			 m3 = _mm256_set1_epi8(3);
	const __m128i			 m15 = _mm_set1_epi8(15);
	const struct qt_block_q2_K	*x;
	const uint8_t			*row[8], *mrow[8];
	int16_t				 sm[8][16], mm[8][16];
	uint16_t			 dh[8], mh[8];
	__m256i				 v[8], sc[16];
	__m128i				 b;
	int				 j, k, m, r;

	GK_UNROLL
	for (r = 0; r < 8; r++) {
		x = q2k(w, wrow, r, i);
		b = _mm_loadu_si128((const __m128i *)x->scales);
		_mm256_storeu_si256((__m256i *)sm[r], _mm256_cvtepu8_epi16(
		    _mm_and_si128(b, m15)));
		_mm256_storeu_si256((__m256i *)mm[r], _mm256_cvtepu8_epi16(
		    _mm_and_si128(_mm_srli_epi16(b, 4), m15)));
		dh[r] = x->d;
		mh[r] = x->dmin;
		row[r] = (const uint8_t *)sm[r];
		mrow[r] = (const uint8_t *)mm[r];
	}
	p->d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)dh));
	p->dmin = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)mh));
	tr8_rows(mrow, 0, p->mn);
	tr8_rows(row, 0, v);
	GK_UNROLL
	for (k = 0; k < 8; k++) {
		sc[2 * k] = dup16y(v[k], 0);
		sc[2 * k + 1] = dup16y(v[k], 1);
	}
	GK_UNROLL
	for (r = 0; r < 8; r++)
		row[r] = q2k(w, wrow, r, i)->qs;
	for (j = 0; j < 2; j++) {
		tr8_rows(row, 32 * j, v);
		GK_UNROLL
		for (k = 0; k < 4; k++)
			GK_UNROLL
			for (m = 0; m < 8; m++)
				p->q[32 * j + 8 * k + m] = _mm256_mullo_epi16(
				    _mm256_and_si256(_mm256_srli_epi32(v[m],
				    2 * k), m3), sc[8 * j + 2 * k + m / 4]);
	}
}

/*
 * Add block i of TN tokens to the eight lane chains f[t][L] of the 8 rows
 * as qt_q2_K_dot_avx2 does: lane L's mins (sub-blocks 2L, 2L + 1 times
 * their bsums) times -dmin first, then its quants times d.
 */
static GK_INL void
q2_K_x8_block(const struct q2_K_x8 *p, const uint8_t *a, size_t arow,
    int i, __m256 (*f)[8], const int TN)
{
	const __m256i			 ones = _mm256_set1_epi16(1);
	const struct qt_block_q8_K	*yb[2];
	__m256				 dd[2], dm[2];
	__m256i				 s[2], h, w0, w1;
	int32_t				 b2;
	int				 L, c, t;

	GK_UNROLL
	for (t = 0; t < TN; t++) {
		yb[t] = q8k(a, arow, t, i);
		dd[t] = _mm256_mul_ps(p->d, _mm256_set1_ps(yb[t]->d));
		dm[t] = _mm256_mul_ps(p->dmin, _mm256_set1_ps(-yb[t]->d));
	}
	for (L = 0; L < 8; L++) {
		GK_UNROLL
		for (t = 0; t < TN; t++)
			s[t] = _mm256_setzero_si256();
		GK_UNROLL
		for (c = 0; c < 8; c += 2) {
			w0 = _mm256_load_si256(&p->q[8 * c + L]);
			w1 = _mm256_load_si256(&p->q[8 * c + 8 + L]);
			GK_UNROLL
			for (t = 0; t < TN; t++) {
				h = _mm256_add_epi16(_mm256_maddubs_epi16(w0,
				    a4y(yb[t], 8 * c + L)),
				    _mm256_maddubs_epi16(w1,
				    a4y(yb[t], 8 * c + 8 + L)));
				s[t] = _mm256_add_epi32(s[t],
				    _mm256_madd_epi16(h, ones));
			}
		}
		GK_UNROLL
		for (t = 0; t < TN; t++) {
			memcpy(&b2, yb[t]->bsums + 2 * L, 4);
			f[t][L] = _mm256_fmadd_ps(dm[t], _mm256_cvtepi32_ps(
			    _mm256_madd_epi16(p->mn[L], _mm256_set1_epi32(b2))),
			    f[t][L]);
			f[t][L] = _mm256_fmadd_ps(dd[t], _mm256_cvtepi32_ps(
			    s[t]), f[t][L]);
		}
	}
}

/* The 16 scales (-32..31) of a Q3_K block's 12 bytes as int16. */
static GK_INL __m256i
q3_K_sc16y(const uint8_t *s)
{
	uint32_t	a[3];

	memcpy(a, s, sizeof a);
	return _mm256_cvtepi8_epi16(_mm_sub_epi8(_mm_setr_epi32(
	    (int)((a[0] & 0x0f0f0f0f) | (a[2] & 0x03030303) << 4),
	    (int)((a[1] & 0x0f0f0f0f) | ((a[2] >> 2) & 0x03030303) << 4),
	    (int)(((a[0] >> 4) & 0x0f0f0f0f) | ((a[2] >> 4) & 0x03030303) <<
	    4),
	    (int)(((a[1] >> 4) & 0x0f0f0f0f) | ((a[2] >> 6) & 0x03030303) <<
	    4)), _mm_set1_epi8(32)));
}

/* Block i of 8 Q3_K rows: group g holds each row's quants 4g..4g+3 plus
 * 4, row r in lane r; sc[s] each row's scale of sub-block s in both int16
 * halves of its lane. */
struct q3_K_x8 {
	__m256i	q[64];
	__m256i	sc[16];
	__m256	d;
};

static GK_INL void
q3_K_x8_pack(struct q3_K_x8 *p, const void *w, size_t wrow, int i)
{
	const __m256i			 m3 = _mm256_set1_epi8(3);
	const __m256i			 m1 = _mm256_set1_epi8(1);
	const struct qt_block_q3_K	*x;
	const uint8_t			*row[8];
	int16_t				 sm[8][16];
	uint16_t			 dh[8];
	__m256i				 v[8], hm[8];
	int				 j, k, m, r;

	GK_UNROLL
	for (r = 0; r < 8; r++) {
		x = q3k(w, wrow, r, i);
		_mm256_storeu_si256((__m256i *)sm[r], q3_K_sc16y(x->scales));
		dh[r] = x->d;
		row[r] = (const uint8_t *)sm[r];
	}
	p->d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)dh));
	tr8_rows(row, 0, v);
	GK_UNROLL
	for (k = 0; k < 8; k++) {
		p->sc[2 * k] = dup16y(v[k], 0);
		p->sc[2 * k + 1] = dup16y(v[k], 1);
	}
	GK_UNROLL
	for (r = 0; r < 8; r++)
		row[r] = q3k(w, wrow, r, i)->hmask;
	tr8_rows(row, 0, hm);
	GK_UNROLL
	for (r = 0; r < 8; r++)
		row[r] = q3k(w, wrow, r, i)->qs;
	for (j = 0; j < 2; j++) {
		tr8_rows(row, 32 * j, v);
		GK_UNROLL
		for (k = 0; k < 4; k++)
			GK_UNROLL
			for (m = 0; m < 8; m++)
				p->q[32 * j + 8 * k + m] = _mm256_or_si256(
				    _mm256_and_si256(_mm256_srli_epi32(v[m],
				    2 * k), m3), _mm256_slli_epi32(
				    _mm256_and_si256(_mm256_srli_epi32(hm[m],
				    4 * j + k), m1), 2));
	}
}

/*
 * Add block i of TN tokens to the eight lane chains of the 8 rows as
 * qt_q3_K_dot_avx2 does.  In int16, (q + 4) * a - 4 * a per pair is the
 * dot's maddubs(lo) - maddubs(hi) exactly; madd then brings the scale.
 */
static GK_INL void
q3_K_x8_block(const struct q3_K_x8 *p, const uint8_t *a, size_t arow,
    int i, __m256 (*f)[8], const int TN)
{
	const struct qt_block_q8_K	*yb[2];
	__m256				 dd[2];
	__m256i				 s[2], w, x, h;
	int32_t				 n4[2][64];
	int				 L, c, g, t;

	GK_UNROLL
	for (t = 0; t < TN; t++) {
		yb[t] = q8k(a, arow, t, i);
		dd[t] = _mm256_mul_ps(p->d, _mm256_set1_ps(yb[t]->d));
		/* 4 * (a0 + a1) and 4 * (a2 + a3) of each group, as the
		 * two int16 of an int32: maddubs by 4 of each 32. */
		GK_UNROLL
		for (c = 0; c < 8; c++)
			_mm256_storeu_si256((__m256i *)&n4[t][8 * c],
			    _mm256_maddubs_epi16(_mm256_set1_epi8(4),
			    _mm256_loadu_si256((const __m256i *)
			    (yb[t]->qs + 32 * c))));
	}
	for (L = 0; L < 8; L++) {
		GK_UNROLL
		for (t = 0; t < TN; t++)
			s[t] = _mm256_setzero_si256();
		GK_UNROLL
		for (c = 0; c < 8; c++) {
			g = 8 * c + L;
			w = _mm256_load_si256(&p->q[g]);
			GK_UNROLL
			for (t = 0; t < TN; t++) {
				x = a4y(yb[t], g);
				h = _mm256_sub_epi16(_mm256_maddubs_epi16(w, x),
				    _mm256_set1_epi32(n4[t][g]));
				s[t] = _mm256_add_epi32(s[t], _mm256_madd_epi16(
				    h, p->sc[g / 4]));
			}
		}
		GK_UNROLL
		for (t = 0; t < TN; t++)
			f[t][L] = _mm256_fmadd_ps(dd[t], _mm256_cvtepi32_ps(
			    s[t]), f[t][L]);
	}
}

/* The dot's horizontal sum (hsum_f32x8) of the lane chains, lane by
 * lane: ((a0 + a4) + (a2 + a6)) + ((a1 + a5) + (a3 + a7)). */
static GK_INL __m256
hsum_chains8(const __m256 *f)
{
	return _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(f[0], f[4]),
	    _mm256_add_ps(f[2], f[6])), _mm256_add_ps(_mm256_add_ps(f[1],
	    f[5]), _mm256_add_ps(f[3], f[7])));
}

/* 8 rows of Q2_K (q3 0) or Q3_K (q3 1) at w by nt tokens, dot order. */
static GK_INL void
k23_x8_gemm(const int q3, int nb, const void *w, size_t wrow,
    const uint8_t *a, size_t arow, int nt, float *y, size_t ys)
{
	struct q2_K_x8	p2;
	struct q3_K_x8	p3;
	__m256		f[GK_X8_TOKS][8];
	int		i, n, t, t0, L;

	for (t0 = 0; t0 < nt; t0 += n) {
		n = nt - t0 < GK_X8_TOKS ? nt - t0 : GK_X8_TOKS;
		for (t = 0; t < n; t++)
			for (L = 0; L < 8; L++)
				f[t][L] = _mm256_setzero_ps();
		for (i = 0; i < nb; i++) {
			if (q3)
				q3_K_x8_pack(&p3, w, wrow, i);
			else
				q2_K_x8_pack(&p2, w, wrow, i);
			for (t = 0; t < n; t += 2) {
				const uint8_t	*at = a + (size_t)(t0 + t) *
						    arow;

				if (t + 2 <= n && q3)
					q3_K_x8_block(&p3, at, arow, i, f + t,
					    2);
				else if (t + 2 <= n)
					q2_K_x8_block(&p2, at, arow, i, f + t,
					    2);
				else if (q3)
					q3_K_x8_block(&p3, at, arow, i, f + t,
					    1);
				else
					q2_K_x8_block(&p2, at, arow, i, f + t,
					    1);
			}
		}
		for (t = 0; t < n; t++)
			_mm256_storeu_ps(y + (size_t)(t0 + t) * ys,
			    hsum_chains8(f[t]));
	}
}

/* ---------------------------------------------------------------------- */

/* AVX512-VNNI */

/* The 4 bytes of a Q8_K row's quants 4g..4g+3 in every int32 lane. */
static GK_VINL __m512i
a4(const struct qt_block_q8_K *y, int g)
{
	int32_t	x4;

	memcpy(&x4, y->qs + 4 * g, 4);
	return _mm512_set1_epi32(x4);
}

/* ---------------------------------------------------------------------- */

/* Block i of 16 Q2_K rows: group g holds each row's quants 4g..4g+3
 * times their scale, row r in lane r. */
struct q2_K_x16 {
	__m512i	q[64];
	__m512i	mn[8];		/* [pair]: mins 2p, 2p + 1 as int16 */
	__m512	d, dmin;
};

/* The lanes of a (rows 0-7) and b (rows 8-15) as one zmm register. */
static GK_VINL __m512i
join(__m256i a, __m256i b)
{
	return _mm512_inserti64x4(_mm512_castsi256_si512(a), b, 1);
}

static GK_VINL __m512
joinps(__m256 a, __m256 b)
{
	return _mm512_castsi512_ps(join(_mm256_castps_si256(a),
	    _mm256_castps_si256(b)));
}

/* Block i of 16 rows at w, from the 8-row packs of each half. */
static GK_VINL void
q2_K_x16_pack(struct q2_K_x16 *p, const void *w, size_t wrow, int i)
{
	struct q2_K_x8	h[2];
	int		g;

	q2_K_x8_pack(&h[0], w, wrow, i);
	q2_K_x8_pack(&h[1], (const uint8_t *)w + 8 * wrow, wrow, i);
	for (g = 0; g < 64; g++)
		p->q[g] = join(h[0].q[g], h[1].q[g]);
	for (g = 0; g < 8; g++)
		p->mn[g] = join(h[0].mn[g], h[1].mn[g]);
	p->d = joinps(h[0].d, h[1].d);
	p->dmin = joinps(h[0].dmin, h[1].dmin);
}

/*
 * Add block i of TN tokens to their accumulators against the 16 rows as
 * q2_K_dot_rp does: per half (rp4) or per block, (float)isum * d into
 * acc and (float)imin * dmin into accm, one FMA each.
 */
static GK_VINL void
q2_K_x16_block(const struct q2_K_x16 *p, const uint8_t *a, size_t arow,
    int i, __m512 *acc, __m512 *accm, const int rp4, const int TN)
{
	const struct qt_block_q8_K	*yb[4];
	__m512				 dd[4], dm[4];
	__m512i				 s[4], ms[4], tot[4], mtot[4], w;
	int32_t				 b2;
	int				 h, g, q, t;

	GK_UNROLL
	for (t = 0; t < TN; t++) {
		yb[t] = q8k(a, arow, t, i);
		dd[t] = _mm512_mul_ps(p->d, _mm512_set1_ps(yb[t]->d));
		dm[t] = _mm512_mul_ps(p->dmin, _mm512_set1_ps(yb[t]->d));
		tot[t] = mtot[t] = _mm512_setzero_si512();
	}
	for (h = 0; h < 2; h++) {
		GK_UNROLL
		for (t = 0; t < TN; t++)
			s[t] = ms[t] = _mm512_setzero_si512();
		GK_UNROLL
		for (g = 32 * h; g < 32 * h + 32; g++) {
			w = _mm512_load_si512(&p->q[g]);
			GK_UNROLL
			for (t = 0; t < TN; t++)
				s[t] = keep512(_mm512_dpbusd_epi32(s[t], w,
				    a4(yb[t], g)));
		}
		GK_UNROLL
		for (q = 4 * h; q < 4 * h + 4; q++)
			GK_UNROLL
			for (t = 0; t < TN; t++) {
				memcpy(&b2, yb[t]->bsums + 2 * q, 4);
				ms[t] = _mm512_dpwssd_epi32(ms[t], p->mn[q],
				    _mm512_set1_epi32(b2));
			}
		GK_UNROLL
		for (t = 0; t < TN; t++) {
			if (rp4) {
				acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(
				    s[t]), dd[t], acc[t]);
				accm[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(
				    ms[t]), dm[t], accm[t]);
			} else {
				tot[t] = _mm512_add_epi32(tot[t], s[t]);
				mtot[t] = _mm512_add_epi32(mtot[t], ms[t]);
			}
		}
	}
	if (!rp4)
		GK_UNROLL
		for (t = 0; t < TN; t++) {
			acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(tot[t]),
			    dd[t], acc[t]);
			accm[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(mtot[t]),
			    dm[t], accm[t]);
		}
}

/* 16 Q2_K rows at w by nt tokens at a, in the rp4 or rp1 order. */
static GK_VINL void
q2_K_x16_gemm(int nb, const void *w, size_t wrow, const uint8_t *a,
    size_t arow, int nt, float *y, size_t ys, const int rp4)
{
	struct q2_K_x16	p;
	__m512		acc[GK_X8_TOKS], accm[GK_X8_TOKS];
	int		i, n, t, t0;

	for (t0 = 0; t0 < nt; t0 += n) {
		n = nt - t0 < GK_X8_TOKS ? nt - t0 : GK_X8_TOKS;
		for (t = 0; t < n; t++)
			acc[t] = accm[t] = _mm512_setzero_ps();
		for (i = 0; i < nb; i++) {
			q2_K_x16_pack(&p, w, wrow, i);
			for (t = 0; t + 4 <= n; t += 4)
				q2_K_x16_block(&p, a + (size_t)(t0 + t) * arow,
				    arow, i, acc + t, accm + t, rp4, 4);
			for (; t < n; t++)
				q2_K_x16_block(&p, a + (size_t)(t0 + t) * arow,
				    arow, i, acc + t, accm + t, rp4, 1);
		}
		for (t = 0; t < n; t++)
			_mm512_storeu_ps(y + (size_t)(t0 + t) * ys,
			    _mm512_sub_ps(acc[t], accm[t]));
	}
}

/* ---------------------------------------------------------------------- */

/* Block i of 16 Q3_K rows: group g holds each row's quants 4g..4g+3
 * times their scale, plus 124, row r in lane r. */
struct q3_K_x16 {
	__m512i	q[64];
	__m512	d;
};

/* q (bytes 0..7, that is quant + 4) times the scale s (int16 in both
 * halves of each lane) minus 4s plus 124, byte by byte in int16. */
static GK_VINL __m512i
q3_scaled(__m512i q, __m512i s)
{
	const __m512i	lo8 = _mm512_set1_epi16(0xff);
	__m512i		off = _mm512_sub_epi16(_mm512_set1_epi16(124),
			    _mm512_slli_epi16(s, 2));
	__m512i		e, o;

	e = _mm512_add_epi16(_mm512_mullo_epi16(_mm512_and_si512(q, lo8), s),
	    off);
	o = _mm512_add_epi16(_mm512_mullo_epi16(_mm512_srli_epi16(q, 8), s),
	    off);
	return _mm512_or_si512(_mm512_and_si512(e, lo8),
	    _mm512_slli_epi16(o, 8));
}

/* Block i of 16 rows at w, from the 8-row packs of each half. */
static GK_VINL void
q3_K_x16_pack(struct q3_K_x16 *p, const void *w, size_t wrow, int i)
{
	struct q3_K_x8	h[2];
	int		g;

	q3_K_x8_pack(&h[0], w, wrow, i);
	q3_K_x8_pack(&h[1], (const uint8_t *)w + 8 * wrow, wrow, i);
	for (g = 0; g < 64; g++)
		p->q[g] = q3_scaled(join(h[0].q[g], h[1].q[g]),
		    join(h[0].sc[g / 4], h[1].sc[g / 4]));
	p->d = joinps(h[0].d, h[1].d);
}

/*
 * Add block i of TN tokens against the 16 rows to their eight lane
 * chains f[t][L] as the dot does: lane L of a block is the sum over the
 * eight 32s of products 4L..4L+3, then f += (float)sum * d.
 */
static GK_VINL void
q3_K_x16_block(const struct q3_K_x16 *p, const uint8_t *a, size_t arow,
    int i, __m512 (*f)[8], const int TN)
{
	const __m256i			 k124 = _mm256_set1_epi8(124);
	const struct qt_block_q8_K	*yb[4];
	__m512				 dd[4];
	__m512i				 s[4];
	__m256i				 c;
	int32_t				 corr[4][8];
	int				 L, g, t;

	GK_UNROLL
	for (t = 0; t < TN; t++) {
		yb[t] = q8k(a, arow, t, i);
		dd[t] = _mm512_mul_ps(p->d, _mm512_set1_ps(yb[t]->d));
		/* The 124s' share of each lane, to take away. */
		c = _mm256_setzero_si256();
		GK_UNROLL
		for (g = 0; g < 8; g++)
			c = _mm256_dpbusd_epi32(c, k124, _mm256_loadu_si256(
			    (const __m256i *)(yb[t]->qs + 32 * g)));
		_mm256_storeu_si256((__m256i *)corr[t], c);
	}
	for (L = 0; L < 8; L++) {
		GK_UNROLL
		for (t = 0; t < TN; t++)
			s[t] = _mm512_set1_epi32(-corr[t][L]);
		GK_UNROLL
		for (g = L; g < 64; g += 8)
			GK_UNROLL
			for (t = 0; t < TN; t++)
				s[t] = keep512(_mm512_dpbusd_epi32(s[t],
				    _mm512_load_si512(&p->q[g]), a4(yb[t], g)));
		GK_UNROLL
		for (t = 0; t < TN; t++)
			f[t][L] = _mm512_fmadd_ps(dd[t], _mm512_cvtepi32_ps(
			    s[t]), f[t][L]);
	}
}

/* 16 Q3_K rows at w by nt tokens at a, in the dot's order. */
static GK_VINL void
q3_K_x16_gemm(int nb, const void *w, size_t wrow, const uint8_t *a,
    size_t arow, int nt, float *y, size_t ys)
{
	struct q3_K_x16	p;
	__m512		f[GK_X8_TOKS][8], u0, u1, u2, u3;
	int		i, n, t, t0, L;

	for (t0 = 0; t0 < nt; t0 += n) {
		n = nt - t0 < GK_X8_TOKS ? nt - t0 : GK_X8_TOKS;
		for (t = 0; t < n; t++)
			for (L = 0; L < 8; L++)
				f[t][L] = _mm512_setzero_ps();
		for (i = 0; i < nb; i++) {
			q3_K_x16_pack(&p, w, wrow, i);
			for (t = 0; t + 2 <= n; t += 2)
				q3_K_x16_block(&p, a + (size_t)(t0 + t) * arow,
				    arow, i, f + t, 2);
			for (; t < n; t++)
				q3_K_x16_block(&p, a + (size_t)(t0 + t) * arow,
				    arow, i, f + t, 1);
		}
		/* The dot's horizontal sum (hsum_f32x8), lane by lane:
		 * ((a0 + a4) + (a2 + a6)) + ((a1 + a5) + (a3 + a7)). */
		for (t = 0; t < n; t++) {
			u0 = _mm512_add_ps(f[t][0], f[t][4]);
			u1 = _mm512_add_ps(f[t][1], f[t][5]);
			u2 = _mm512_add_ps(f[t][2], f[t][6]);
			u3 = _mm512_add_ps(f[t][3], f[t][7]);
			_mm512_storeu_ps(y + (size_t)(t0 + t) * ys,
			    _mm512_add_ps(_mm512_add_ps(u0, u2),
			    _mm512_add_ps(u1, u3)));
		}
	}
}

/* ---------------------------------------------------------------------- */

/* Rows and tokens the 16-row kernels leave, by the dot of the order. */
static void
by_dots(qt_dot_fn dot, int k, const uint8_t *w, size_t wrow, int nr,
    const uint8_t *a, size_t arow, int nt, float *y, size_t ys)
{
	int	r, t;

	for (t = 0; t < nt; t++)
		for (r = 0; r < nr; r++)
			dot(k, &y[(size_t)t * ys + r], w + r * wrow,
			    a + t * arow);
}

static GK_VINL void
gk_gemm_q2_K_vnni(const int rp4, int k, const void *w, size_t wrow,
    int nr, const void *a, size_t arow, int nt, float *y, size_t ys)
{
	const struct qt_traits	*wt = qt_get(QT_Q2_K);
	const uint8_t		*wp = w;
	int			 r = 0;

	if (nt >= GK_X8_MIN)
		for (; r + 16 <= nr; r += 16)
			q2_K_x16_gemm(k / QK_K, wp + r * wrow, wrow, a, arow,
			    nt, y + r, ys, rp4);
	if (r < nr)
		by_dots(rp4 ? wt->dot_rp4 : wt->dot_rp1, k, wp + r * wrow,
		    wrow, nr - r, a, arow, nt, y + r, ys);
}

/* 8-row AVX2 kernels for all rows they can take, the rest by dots. */
static GK_INL void
k23_gemm(const int q3, int k, const void *w, size_t wrow, int nr,
    const void *a, size_t arow, int nt, float *y, size_t ys)
{
	const uint8_t	*wp = w;
	int		 r = 0;

	if (nt >= 2)
		for (; r + 8 <= nr; r += 8)
			k23_x8_gemm(q3, k / QK_K, wp + r * wrow, wrow, a, arow,
			    nt, y + r, ys);
	if (r < nr)
		by_dots(qt_get(q3 ? QT_Q3_K : QT_Q2_K)->dot, k, wp + r * wrow,
		    wrow, nr - r, a, arow, nt, y + r, ys);
}

/* gemm_fn (gemm.h) for Q2_K in its dot's order, AVX2. */
GK_AVX2 void
gk_gemm_q2_K(int k, const void *w, size_t wrow, int nr, const void *a,
    size_t arow, int nt, float *y, size_t ys)
{
	k23_gemm(0, k, w, wrow, nr, a, arow, nt, y, ys);
}

/* gemm_fn (gemm.h) for Q3_K in its dot's order, AVX2. */
GK_AVX2 void
gk_gemm_q3_K(int k, const void *w, size_t wrow, int nr, const void *a,
    size_t arow, int nt, float *y, size_t ys)
{
	k23_gemm(1, k, w, wrow, nr, a, arow, nt, y, ys);
}

/* gemm_fn (gemm.h) for Q2_K in the GEMM_RP1 order, AVX512-VNNI. */
GK_VNNI void
gk_gemm_q2_K_rp1_vnni(int k, const void *w, size_t wrow, int nr,
    const void *a, size_t arow, int nt, float *y, size_t ys)
{
	gk_gemm_q2_K_vnni(0, k, w, wrow, nr, a, arow, nt, y, ys);
}

/* gemm_fn (gemm.h) for Q2_K in the GEMM_RP4 order, AVX512-VNNI. */
GK_VNNI void
gk_gemm_q2_K_rp4_vnni(int k, const void *w, size_t wrow, int nr,
    const void *a, size_t arow, int nt, float *y, size_t ys)
{
	gk_gemm_q2_K_vnni(1, k, w, wrow, nr, a, arow, nt, y, ys);
}

/* gemm_fn (gemm.h) for Q3_K in the dot's order, AVX512-VNNI. */
GK_VNNI void
gk_gemm_q3_K_vnni(int k, const void *w, size_t wrow, int nr,
    const void *a, size_t arow, int nt, float *y, size_t ys)
{
	const uint8_t	*wp = w;
	int		 r = 0;

	if (nt >= GK_X8_MIN)
		for (; r + 16 <= nr; r += 16)
			q3_K_x16_gemm(k / QK_K, wp + r * wrow, wrow, a, arow,
			    nt, y + r, ys);
	if (r < nr)
		by_dots(qt_get(QT_Q3_K)->dot, k, wp + r * wrow, wrow, nr - r,
		    a, arow, nt, y + r, ys);
}

#endif /* x86 */
