/*
 * AVX512-VNNI prompt tiles for the K-quants against Q8_K activations:
 * Q4_K's repacked orders and Q6_K with 16 weight rows in the lanes of a
 * zmm register, and Q4_K rows repacked at load (repack.h) in a kernel
 * that serves decode as well.  The outputs are the dots' floats bit for
 * bit; gemm_k.c's getters hand these out where the CPU has VNNI.
 */
#include "config.h"

#include <string.h>

#include "gemm.h"
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
 * AVX512-VNNI: 16 weight rows in the 16 int32 lanes of a zmm register, as
 * the AVX2 8-row kernel has them, but vpdpbusd adds 4 products of a row
 * straight into its lane, so a sub-block's integer sum per row takes 8
 * instructions and no int16 stage.  Its scale comes after, in one
 * vpmulld per sub-block.  The Q4_K repacked orders only see whole integer
 * sums, so the outputs stay the dots' floats bit for bit.
 *
 * One core of a shared Zen 4 EPYC, 16-row calls as matmul makes them, 64
 * tokens, best of 20, GMAC/s (AVX2 tiles -> these):
 *	Q4_K rp4	k=2048: 103 -> 160	k=8192: 101 -> 160
 *	Q4_K rp1	k=2048: 107 -> 168	k=8192: 104 -> 167
 *	Q6_K dot	k=2048:  73 ->  84	k=8192:  76 ->  86
 * (16 or 64 rows alike.)  Q4_K's loop is near the bound of vpdpbusd,
 * the FMAs and vpmulld, which share the multiply pipes; Q6_K's needs
 * int16 products (below), half vpdpbusd's rate.
 */
/* Block i of 16 Q4_K rows, interleaved: row r in int32 lane r. */
struct q4_K_x16 {
	__m512i	q[4][2][8];	/* [64-chunk][nibble][4-byte group] */
	__m512i	sc[8];		/* [sub-block]: the scale */
	__m512i	mn[4];		/* [64-chunk]: its two mins as int16 */
	__m512	d, dmin;
};

/* Interleave block i of the 16 rows at w. */
static GK_VINL void
q4_K_x16_pack(struct q4_K_x16 *p, const void *w, size_t wrow, int i)
{
	const __m512i			 m4 = _mm512_set1_epi8(15);
	const struct qt_block_q4_K	*x;
	const uint8_t			*row[16];
	int16_t				 sm[16][16];
	uint16_t			 dh[16], mh[16];
	__m512i				 v[8];
	int				 j, k, r;

	GK_UNROLL
	for (r = 0; r < 16; r++) {
		x = q4k(w, wrow, r, i);
		_mm256_storeu_si256((__m256i *)sm[r], k4_scales16(x->scales));
		dh[r] = x->d;
		mh[r] = x->dmin;
		row[r] = (const uint8_t *)sm[r];
	}
	p->d = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)dh));
	p->dmin = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)mh));
	/* v[k] lane r: int16 scales (k < 4) or mins (k >= 4) 2k, 2k + 1
	 * of row r; the scales are 6-bit, so unsigned. */
	tr16x8_epi32(row, 0, v);
	GK_UNROLL
	for (k = 0; k < 4; k++) {
		p->sc[2 * k] = _mm512_and_si512(v[k], _mm512_set1_epi32(
		    0xffff));
		p->sc[2 * k + 1] = _mm512_srli_epi32(v[k], 16);
		p->mn[k] = v[k + 4];
	}
	GK_UNROLL
	for (r = 0; r < 16; r++)
		row[r] = q4k(w, wrow, r, i)->qs;
	GK_UNROLL
	for (j = 0; j < 4; j++) {
		tr16x8_epi32(row, 32 * j, v);
		GK_UNROLL
		for (k = 0; k < 8; k++) {
			p->q[j][0][k] = _mm512_and_si512(v[k], m4);
			p->q[j][1][k] = _mm512_and_si512(_mm512_srli_epi16(
			    v[k], 4), m4);
		}
	}
}

/*
 * A 64-chunk's scaled integer sums s and mins' sums m of one token,
 * into its accumulators as q4_K_dot_rp does: two FMAs now (rp4), or
 * kept for the block's (rp1, x16_block).
 */
static GK_VINL void
x16_chunk(__m512i s, __m512i m, __m512 dd, __m512 dm, __m512 *acc,
    __m512 *accm, __m512i *sum, __m512i *msum, const int rp4)
{
	if (rp4) {
		*acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), dd, *acc);
		*accm = _mm512_fmadd_ps(_mm512_cvtepi32_ps(m), dm, *accm);
	} else {
		*sum = _mm512_add_epi32(*sum, s);
		*msum = _mm512_add_epi32(*msum, m);
	}
}

/* The end of a block (rp1): the FMAs of its whole sums. */
static GK_VINL void
x16_block(__m512i sum, __m512i msum, __m512 dd, __m512 dm, __m512 *acc,
    __m512 *accm, const int rp4)
{
	if (rp4)
		return;
	*acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum), dd, *acc);
	*accm = _mm512_fmadd_ps(_mm512_cvtepi32_ps(msum), dm, *accm);
}

/*
 * Add block i of TN tokens to their accumulators against the 16 rows,
 * as q4_K_dot_rp does (see q4_K_x8_block).  A dot sum per sub-block is
 * at most 32 * 15 * 128 in size, so the scaled ones fit easily.
 */
static GK_VINL void
q4_K_x16_block(const struct q4_K_x16 *p, const uint8_t *a, size_t arow,
    int i, __m512 *acc, __m512 *accm, const int rp4, const int TN)
{
	const struct qt_block_q8_K	*yb[4];
	__m512				 dd[4], dm[4];
	__m512i				 d0[4], d1[4], w;
	__m512i				 sum[4], msum[4];
	int32_t				 x4, s32[4][4];
	int				 j, g, t;

	GK_UNROLL
	for (t = 0; t < TN; t++) {
		yb[t] = q8k(a, arow, t, i);
		dd[t] = _mm512_mul_ps(p->d, _mm512_set1_ps(yb[t]->d));
		dm[t] = _mm512_mul_ps(p->dmin, _mm512_set1_ps(yb[t]->d));
		_mm_storeu_si128((__m128i *)s32[t], bsums32(yb[t]->bsums));
		sum[t] = msum[t] = _mm512_setzero_si512();
	}
	/* Rolled: unrolled, GCC hoists the chunks' loads and spills the
	 * sums. */
	for (j = 0; j < 4; j++) {
		GK_UNROLL
		for (t = 0; t < TN; t++)
			d0[t] = d1[t] = _mm512_setzero_si512();
		GK_UNROLL
		for (g = 0; g < 8; g++) {
			w = _mm512_load_si512(&p->q[j][0][g]);
			GK_UNROLL
			for (t = 0; t < TN; t++) {
				memcpy(&x4, yb[t]->qs + 64 * j + 4 * g, 4);
				d0[t] = keep512(_mm512_dpbusd_epi32(d0[t], w,
				    _mm512_set1_epi32(x4)));
			}
			w = _mm512_load_si512(&p->q[j][1][g]);
			GK_UNROLL
			for (t = 0; t < TN; t++) {
				memcpy(&x4, yb[t]->qs + 64 * j + 32 + 4 * g, 4);
				d1[t] = keep512(_mm512_dpbusd_epi32(d1[t], w,
				    _mm512_set1_epi32(x4)));
			}
		}
		GK_UNROLL
		for (t = 0; t < TN; t++)
			x16_chunk(_mm512_add_epi32(_mm512_mullo_epi32(d0[t],
			    p->sc[2 * j]), _mm512_mullo_epi32(d1[t],
			    p->sc[2 * j + 1])), _mm512_madd_epi16(p->mn[j],
			    _mm512_set1_epi32(s32[t][j])), dd[t], dm[t],
			    &acc[t], &accm[t], &sum[t], &msum[t], rp4);
	}
	GK_UNROLL
	for (t = 0; t < TN; t++)
		x16_block(sum[t], msum[t], dd[t], dm[t], &acc[t], &accm[t],
		    rp4);
}

/* 16 rows at w by nt tokens at a, in the rp4 or rp1 order. */
static GK_VINL void
q4_K_x16_gemm(int nb, const void *w, size_t wrow, const uint8_t *a,
    size_t arow, int nt, float *y, size_t ys, const int rp4)
{
	struct q4_K_x16	p;
	__m512		acc[GK_X8_TOKS], accm[GK_X8_TOKS];
	int		i, n, t, t0;

	for (t0 = 0; t0 < nt; t0 += n) {
		n = nt - t0 < GK_X8_TOKS ? nt - t0 : GK_X8_TOKS;
		for (t = 0; t < n; t++)
			acc[t] = accm[t] = _mm512_setzero_ps();
		for (i = 0; i < nb; i++) {
			q4_K_x16_pack(&p, w, wrow, i);
			/* Four tokens share each load of the rows. */
			for (t = 0; t + 4 <= n; t += 4)
				q4_K_x16_block(&p, a + (size_t)(t0 + t) * arow,
				    arow, i, acc + t, accm + t, rp4, 4);
			for (; t < n; t++)
				q4_K_x16_block(&p, a + (size_t)(t0 + t) * arow,
				    arow, i, acc + t, accm + t, rp4, 1);
		}
		for (t = 0; t < n; t++)
			_mm512_storeu_ps(y + (size_t)(t0 + t) * ys,
			    _mm512_sub_ps(acc[t], accm[t]));
	}
}

/* The repacked orders with VNNI: 16 rows at a time, the rest as AVX2
 * does them. */
static GK_VINL void
gk_gemm_rp_vnni(const int rp4, int k, const void *w, size_t wrow, int nr,
    const void *a, size_t arow, int nt, float *y, size_t ys)
{
	const uint8_t	*wp = w;
	int		 r = 0;

	if (nt >= GK_X8_MIN)
		for (; r + 16 <= nr; r += 16)
			q4_K_x16_gemm(k / QK_K, wp + r * wrow, wrow, a, arow,
			    nt, y + r, ys, rp4);
	if (r < nr && rp4)
		gk_gemm_q4_K_rp4(k, wp + r * wrow, wrow, nr - r, a, arow, nt,
		    y + r, ys);
	else if (r < nr)
		gk_gemm_q4_K_rp1(k, wp + r * wrow, wrow, nr - r, a, arow, nt,
		    y + r, ys);
}

/* gemm_fn (gemm.h) for Q4_K in the GEMM_RP1 order, AVX512-VNNI; any
 * thread, each with its own y rows. */
GK_VNNI void
gk_gemm_q4_K_rp1_vnni(int k, const void *w, size_t wrow, int nr,
    const void *a, size_t arow, int nt, float *y, size_t ys)
{
	gk_gemm_rp_vnni(0, k, w, wrow, nr, a, arow, nt, y, ys);
}

/* gemm_fn (gemm.h) for Q4_K in the GEMM_RP4 order, AVX512-VNNI; any
 * thread, each with its own y rows. */
GK_VNNI void
gk_gemm_q4_K_rp4_vnni(int k, const void *w, size_t wrow, int nr,
    const void *a, size_t arow, int nt, float *y, size_t ys)
{
	gk_gemm_rp_vnni(1, k, w, wrow, nr, a, arow, nt, y, ys);
}

/*
 * Q4_K repacked at load (repack.h's rp_q4_K_x16): the rows lie in the
 * lanes as in q4_K_x16 above, but the copy keeps the file's nibbles and
 * scale bytes, so it is the file's size and decode reads each byte once.
 * A block is unpacked in registers: the 12 scale bytes of 16 rows in
 * three loads (k4_scales16's bit moves, on 16 lanes at once), each
 * 64-byte group of nibbles with an AND and a shift.  Against the dot
 * kernel, which a row at a time spends about 80 instructions on a block,
 * 16 rows take about 300 here; decode becomes a matter of bandwidth.
 * The integer sums are the dots', so are the floats.
 */
/* A vpshufb control taking byte b of each 32-bit lane to its low byte,
 * the rest zero (pair 0), or bytes b and b + 1 to its two int16 (pair
 * 1); vpshufb indexes a 128-bit lane, hence 4m for 32-bit lane m. */
static GK_VINL __m512i
rpk_ctl(int b, int pair)
{
	__m512i	c = pair ? _mm512_set1_epi32((int)(0x80008000u |
		    (uint32_t)b | (uint32_t)(b + 1) << 16)) :
		    _mm512_set1_epi32((int)(0x80808000u | (uint32_t)b));

	return _mm512_add_epi8(c, _mm512_broadcast_i32x4(pair ?
	    _mm_setr_epi32(0, 0x00040004, 0x00080008, 0x000c000c) :
	    _mm_setr_epi32(0, 4, 8, 12)));
}

/* Block p of the 16 rows against TN tokens (rows of arow bytes at a,
 * block i), into their accumulators as q4_K_x16_block does. */
static GK_VINL void
rpk_q4_K_block(const struct rp_q4_K_x16 *p, const uint8_t *a, size_t arow,
    int i, __m512 *acc, __m512 *accm, const int rp4, const int TN)
{
	const __m512i			 m4 = _mm512_set1_epi8(15);
	const __m512i			 m6 = _mm512_set1_epi8(0x3f);
	const __m512i			 m30 = _mm512_set1_epi8(0x30);
	const struct qt_block_q8_K	*yb[4];
	__m512				 d, dmin, dd[4], dm[4];
	__m512i				 sa, sb, sc, scl[2], mnl[2], sl, sh, mn;
	__m512i				 w, lo, hi, d0[4], d1[4];
	__m512i				 sum[4], msum[4];
	int32_t				 s32[4][4];
	int				 j, g, t, b;

	d = _mm512_cvtph_ps(_mm256_load_si256((const __m256i *)p->d));
	dmin = _mm512_cvtph_ps(_mm256_load_si256((const __m256i *)p->dmin));
	sa = _mm512_load_si512(p->sc[0]);
	sb = _mm512_load_si512(p->sc[1]);
	sc = _mm512_load_si512(p->sc[2]);
	/* Per lane, the bytes of scales 0-3 and 4-7, mins 0-3 and 4-7. */
	scl[0] = _mm512_and_si512(sa, m6);
	mnl[0] = _mm512_and_si512(sb, m6);
	scl[1] = _mm512_or_si512(_mm512_and_si512(sc, m4), _mm512_and_si512(
	    _mm512_srli_epi32(sa, 2), m30));
	mnl[1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(sc, 4),
	    m4), _mm512_and_si512(_mm512_srli_epi32(sb, 2), m30));
	GK_UNROLL
	for (t = 0; t < TN; t++) {
		yb[t] = q8k(a, arow, t, i);
		dd[t] = _mm512_mul_ps(d, _mm512_set1_ps(yb[t]->d));
		dm[t] = _mm512_mul_ps(dmin, _mm512_set1_ps(yb[t]->d));
		_mm_storeu_si128((__m128i *)s32[t], bsums32(yb[t]->bsums));
		sum[t] = msum[t] = _mm512_setzero_si512();
	}
	for (j = 0; j < 4; j++) {
		/* Sub-blocks 2j and 2j + 1: bytes b and b + 1 of a half. */
		b = 2 * (j & 1);
		sl = _mm512_shuffle_epi8(scl[j >> 1], rpk_ctl(b, 0));
		sh = _mm512_shuffle_epi8(scl[j >> 1], rpk_ctl(b + 1, 0));
		mn = _mm512_shuffle_epi8(mnl[j >> 1], rpk_ctl(b, 1));
		GK_UNROLL
		for (t = 0; t < TN; t++)
			d0[t] = d1[t] = _mm512_setzero_si512();
		GK_UNROLL
		for (g = 0; g < 8; g++) {
			w = _mm512_load_si512(p->qs[j][g]);
			lo = _mm512_and_si512(w, m4);
			hi = _mm512_and_si512(_mm512_srli_epi16(w, 4), m4);
			GK_UNROLL
			for (t = 0; t < TN; t++) {
				d0[t] = dpbusd_b16(d0[t], lo, yb[t]->qs +
				    64 * j + 4 * g);
				d1[t] = dpbusd_b16(d1[t], hi, yb[t]->qs +
				    64 * j + 32 + 4 * g);
			}
		}
		GK_UNROLL
		for (t = 0; t < TN; t++)
			x16_chunk(_mm512_add_epi32(_mm512_mullo_epi32(d0[t],
			    sl), _mm512_mullo_epi32(d1[t], sh)),
			    _mm512_madd_epi16(mn, _mm512_set1_epi32(
			    s32[t][j])), dd[t], dm[t], &acc[t], &accm[t],
			    &sum[t], &msum[t], rp4);
	}
	GK_UNROLL
	for (t = 0; t < TN; t++)
		x16_block(sum[t], msum[t], dd[t], dm[t], &acc[t], &accm[t],
		    rp4);
}

/* 16 repacked rows (nb blocks at w) by nt tokens, in one order. */
static GK_VINL void
rpk_q4_K_gemm(int nb, const struct rp_q4_K_x16 *w, const uint8_t *a,
    size_t arow, int nt, float *y, size_t ys, const int rp4)
{
	__m512		acc[GK_X8_TOKS], accm[GK_X8_TOKS];
	int		i, j, n, t, t0;

	if (nt == 1) {
		/* Decode: the two accumulators stay in registers. */
		acc[0] = accm[0] = _mm512_setzero_ps();
		for (i = 0; i < nb; i++)
			rpk_q4_K_block(w + i, a, arow, i, acc, accm, rp4, 1);
		_mm512_storeu_ps(y, _mm512_sub_ps(acc[0], accm[0]));
		return;
	}
	for (t0 = 0; t0 < nt; t0 += n) {
		n = nt - t0 < GK_X8_TOKS ? nt - t0 : GK_X8_TOKS;
		for (t = 0; t < n; t++)
			acc[t] = accm[t] = _mm512_setzero_ps();
		for (i = 0; i < nb; i++) {
			/* Four tokens share each unpacked group of rows. */
			for (t = 0; t + 4 <= n; t += 4) {
				/* The next step's 4 tokens (q8k_ahead). */
				for (j = 4; j < 8; j++)
					q8k_ahead(a, arow, t0, n, t + j, nb,
					    i);
				rpk_q4_K_block(w + i, a + (size_t)(t0 + t) *
				    arow, arow, i, acc + t, accm + t, rp4, 4);
			}
			for (; t < n; t++) {
				q8k_ahead(a, arow, t0, n, t + 2, nb, i);
				rpk_q4_K_block(w + i, a + (size_t)(t0 + t) *
				    arow, arow, i, acc + t, accm + t, rp4, 1);
			}
		}
		for (t = 0; t < n; t++)
			_mm512_storeu_ps(y + (size_t)(t0 + t) * ys,
			    _mm512_sub_ps(acc[t], accm[t]));
	}
}

/* gemm_rpk_fn (gemm.h) over RP_Q4_KX16 rows, AVX512-VNNI; any thread,
 * each with its own y rows. */
GK_VNNI void
gk_rpk_q4_K_vnni(int k, const void *w, int nr, const void *a, size_t arow,
    int nt, float *y, size_t ys, int order)
{
	const struct rp_q4_K_x16	*p = w;
	int				 nb = k / QK_K, r;

	for (r = 0; r + 16 <= nr; r += 16, p += nb) {
		if (order == GEMM_RP4)
			rpk_q4_K_gemm(nb, p, a, arow, nt, y + r, ys, 1);
		else
			rpk_q4_K_gemm(nb, p, a, arow, nt, y + r, ys, 0);
	}
}

/*
 * Q6_K with VNNI, in its dot's order (qt_q6_K_dot_avx2): that dot keeps
 * 8 lanes per (row, token), lane g adding bytes 4g..4g+3 of each 32 of
 * the block, each 32 with its own scales, so the integer of lane g
 * matters and a row's whole sum would not do.  Here the 16 rows lie in
 * the int32 lanes and a register per group g holds lane g of the dot for
 * all of them: the quants are stored already times their scale (at most
 * 63 * 128 in size, an int16) and vpdpwssd adds two products of a row
 * per lane, against int16 copies of the token's quants.  The dot's
 * -32 * scale * bsums term starts each lane (its lanes are not the
 * products' lanes, so it cannot go into the quants); then the same FMA
 * per lane and block, and the same horizontal sum, done across
 * registers.
 */
struct q6_K_x16 {
	__m512i	w[8][8][2];	/* [32-quarter][group][pair]: int16 pairs */
	__m512i	off[8];		/* [group]: -32 * scales 2g, 2g + 1 */
	__m512	d;
};

#define GK_Q6_TOKS	256	/* tokens a pass keeps 8 accumulators for */
/* Fewest tokens to interleave the rows for: packing a block costs about
 * what 10 tokens do (Zen 4: 43 GMAC/s at 4 tokens, 77 at 24, against the
 * AVX2 tiles' 63 and 74). */
#define GK_Q6_MIN	20

/* The quants of quarter k of a 128-chunk, as q6_K_quants: every step
 * keeps to its byte, so it works on interleaved bytes alike. */
static GK_VINL __m512i
q6_K_quants512(__m512i ql0, __m512i ql1, __m512i qh, int k)
{
	const __m512i	m15 = _mm512_set1_epi8(15);
	__m512i		lo, hi;

	lo = k & 1 ? ql1 : ql0;
	lo = _mm512_and_si512(k >> 1 ? _mm512_srli_epi16(lo, 4) : lo, m15);
	hi = _mm512_and_si512(qh, _mm512_set1_epi8((char)(3 << (2 * k))));
	hi = 2 * k > 4 ? _mm512_srli_epi16(hi, 2 * k - 4) :
	    _mm512_slli_epi16(hi, 4 - 2 * k);
	return _mm512_or_si512(lo, hi);
}

/* A vpshufb control taking bytes b and b + 1 of each 32-bit lane to
 * the two int16 of the lane (b = 0, 2), or int16 b / 2 - 2 to both (b =
 * 4, 6).  vpshufb indexes the 16 bytes of a 128-bit lane, hence the 4m
 * added for 32-bit lane m (0x80, zero, stays above 0x7f). */
static GK_VINL __m512i
q6_K_ctl(int b)
{
	__m512i	c = b < 4 ? _mm512_set1_epi32((int)(0x80008000u |
		    (uint32_t)b | (uint32_t)(b + 1) << 16)) :
		    _mm512_set1_epi32((b - 4) | (b - 3) << 8 | (b - 4) << 16 |
		    (b - 3) << 24);

	return _mm512_add_epi8(c, _mm512_broadcast_i32x4(_mm_setr_epi32(0,
	    0x04040404, 0x08080808, 0x0c0c0c0c)));
}

/* Interleave block i of the 16 Q6_K rows at w, the scales applied. */
static GK_VINL void
q6_K_x16_pack(struct q6_K_x16 *p, const void *w, size_t wrow, int i)
{
	const struct qt_block_q6_K	*x;
	const uint8_t			*row[16];
	int16_t				 sc[16][16];
	uint16_t			 dh[16];
	__m512i				 v[8], ql0[8], ql1[8], qh[8], q, s;
	int				 g, j, k, r;

	GK_UNROLL
	for (r = 0; r < 16; r++) {
		x = q6k(w, wrow, r, i);
		_mm256_storeu_si256((__m256i *)sc[r], _mm256_cvtepi8_epi16(
		    _mm_loadu_si128((const __m128i *)x->scales)));
		dh[r] = x->d;
		row[r] = (const uint8_t *)sc[r];
	}
	p->d = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)dh));
	/* v[g] lane r: scales 2g, 2g + 1 of row r as int16. */
	tr16x8_epi32(row, 0, v);
	GK_UNROLL
	for (g = 0; g < 8; g++)
		p->off[g] = _mm512_mullo_epi16(v[g], _mm512_set1_epi16(-32));
	GK_UNROLL
	for (j = 0; j < 2; j++) {
		GK_UNROLL
		for (r = 0; r < 16; r++)
			row[r] = q6k(w, wrow, r, i)->ql + 64 * j;
		tr16x8_epi32(row, 0, ql0);
		tr16x8_epi32(row, 32, ql1);
		GK_UNROLL
		for (r = 0; r < 16; r++)
			row[r] = q6k(w, wrow, r, i)->qh + 32 * j;
		tr16x8_epi32(row, 0, qh);
		for (k = 0; k < 4; k++)
			GK_UNROLL
			for (g = 0; g < 8; g++) {
				q = q6_K_quants512(ql0[g], ql1[g], qh[g], k);
				/* Quarter 4j + k's scale 8j + 2k + (g >= 4),
				 * in both int16 of each lane. */
				s = _mm512_shuffle_epi8(v[4 * j + k],
				    q6_K_ctl(g < 4 ? 4 : 6));
				p->w[4 * j + k][g][0] = _mm512_mullo_epi16(
				    _mm512_shuffle_epi8(q, q6_K_ctl(0)), s);
				p->w[4 * j + k][g][1] = _mm512_mullo_epi16(
				    _mm512_shuffle_epi8(q, q6_K_ctl(2)), s);
			}
	}
}

/*
 * Add block i of TN tokens against the 16 rows to their accumulators
 * acc[t * 8 + g] (lane g of the dot, the rows in the lanes); x16 holds
 * the tokens' quants of the block as int16.
 */
static GK_VINL void
q6_K_x16_block(const struct q6_K_x16 *p, const uint8_t *a, size_t arow,
    int i, const int16_t (*x16)[QK_K], __m512 *acc, const int TN)
{
	const struct qt_block_q8_K	*yb[4];
	__m512				 dd[4];
	__m512i				 s[2][4], wv;
	int32_t				 x2;
	int				 g, q, h, t;

	GK_UNROLL
	for (t = 0; t < TN; t++) {
		yb[t] = q8k(a, arow, t, i);
		dd[t] = _mm512_mul_ps(p->d, _mm512_set1_ps(yb[t]->d));
	}
	for (g = 0; g < 8; g++) {
		/* Two chains per token (pairs h = 0, 1), so that 8 run at
		 * once. */
		GK_UNROLL
		for (t = 0; t < TN; t++) {
			memcpy(&x2, yb[t]->bsums + 2 * g, 4);
			s[0][t] = _mm512_dpwssd_epi32(_mm512_setzero_si512(),
			    p->off[g], _mm512_set1_epi32(x2));
			s[1][t] = _mm512_setzero_si512();
		}
		GK_UNROLL
		for (q = 0; q < 8; q++)
			GK_UNROLL
			for (h = 0; h < 2; h++) {
				wv = _mm512_load_si512(&p->w[q][g][h]);
				GK_UNROLL
				for (t = 0; t < TN; t++) {
					memcpy(&x2, x16[t] + 32 * q + 4 * g +
					    2 * h, 4);
					s[h][t] = keep512(_mm512_dpwssd_epi32(
					    s[h][t], wv,
					    _mm512_set1_epi32(x2)));
				}
			}
		GK_UNROLL
		for (t = 0; t < TN; t++)
			acc[t * 8 + g] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(
			    _mm512_add_epi32(s[0][t], s[1][t])), dd[t],
			    acc[t * 8 + g]);
	}
}

/* Token t's quants of block i as int16, for vpdpwssd. */
static GK_VINL void
q6_K_x16_tok(int16_t *x16, const uint8_t *a, size_t arow, int t, int i)
{
	const int8_t	*q = q8k(a, arow, t, i)->qs;
	int		 b;

	GK_UNROLL
	for (b = 0; b < QK_K; b += 32)
		_mm512_storeu_si512(x16 + b, _mm512_cvtepi8_epi16(
		    _mm256_loadu_si256((const __m256i *)(q + b))));
}

/* 16 Q6_K rows at w by nt tokens at a. */
static GK_VINL void
q6_K_x16_gemm(int nb, const void *w, size_t wrow, const uint8_t *a,
    size_t arow, int nt, float *y, size_t ys)
{
	struct q6_K_x16	p;
	__m512		acc[GK_Q6_TOKS * 8], *v;
	int16_t		x16[4][QK_K];
	int		i, n, t, t0, u;

	for (t0 = 0; t0 < nt; t0 += n) {
		n = nt - t0 < GK_Q6_TOKS ? nt - t0 : GK_Q6_TOKS;
		for (t = 0; t < n * 8; t++)
			acc[t] = _mm512_setzero_ps();
		for (i = 0; i < nb; i++) {
			q6_K_x16_pack(&p, w, wrow, i);
			/* Four tokens share each load of the rows. */
			for (t = 0; t + 4 <= n; t += 4) {
				for (u = 0; u < 4; u++)
					q6_K_x16_tok(x16[u], a, arow,
					    t0 + t + u, i);
				q6_K_x16_block(&p, a + (size_t)(t0 + t) *
				    arow, arow, i, (const int16_t (*)[QK_K])
				    x16, acc + t * 8, 4);
			}
			for (; t < n; t++) {
				q6_K_x16_tok(x16[0], a, arow, t0 + t, i);
				q6_K_x16_block(&p, a + (size_t)(t0 + t) *
				    arow, arow, i, (const int16_t (*)[QK_K])
				    x16, acc + t * 8, 1);
			}
		}
		/* hsum_f32x8 of each row's 8 lanes, across the registers. */
		for (t = 0; t < n; t++) {
			v = acc + t * 8;
			_mm512_storeu_ps(y + (size_t)(t0 + t) * ys,
			    _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(v[0],
			    v[4]), _mm512_add_ps(v[2], v[6])), _mm512_add_ps(
			    _mm512_add_ps(v[1], v[5]), _mm512_add_ps(v[3],
			    v[7]))));
		}
	}
}

/* gemm_fn (gemm.h) for Q6_K in its dot's order, AVX512-VNNI; any
 * thread, each with its own y rows. */
GK_VNNI void
gk_gemm_q6_K_vnni(int k, const void *w, size_t wrow, int nr, const void *a,
    size_t arow, int nt, float *y, size_t ys)
{
	const uint8_t	*wp = w;
	int		 r = 0;

	if (nt >= GK_Q6_MIN)
		for (; r + 16 <= nr; r += 16)
			q6_K_x16_gemm(k / QK_K, wp + r * wrow, wrow, a, arow,
			    nt, y + r, ys);
	if (r < nr)
		gk_gemm_q6_K(k, wp + r * wrow, wrow, nr - r, a, arow, nt,
		    y + r, ys);
}
#endif /* x86 */
