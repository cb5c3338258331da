/*
 * AVX2 tiles for Q8_0, Q4_0 and Q5_0 weights against Q8_0 activations
 * (Q4_1 and Q5_1 against Q8_1): 4 weight rows by 2 activation rows in 8
 * accumulators, for weights left as the file has them.  Each block is
 * added with the same sign trick, lane sums and single FMA chain as the
 * dot kernels (and llama.cpp's), then reduced with the same horizontal
 * sum, so the results are bit-identical to the dot path; Q8_0's
 * AVX512-VNNI variant reaches the same integers another way.  Below
 * them, the kernels over repacked weights (repack.h), which add in their
 * own order: one integer per block, row and token.
 */
#include "config.h"

#include "gemm.h"
#include "gemm_k.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "quant.h"
#include "quant_impl.h"
#include "repack.h"

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#include <immintrin.h>

/* As in the dot kernels: a product is rounded before it is added unless
 * an FMA is asked for by name. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include "quant_k_avx2_impl.h"
#include "gemm_k_impl.h"

#define GEMM_AVX2	__attribute__((target("avx2,fma,f16c")))
#define GEMM_INLINE	__attribute__((always_inline)) inline

/* The weight layouts tile() takes: the _1 types add m * s per block and
 * meet Q8_1 activations, the others Q8_0. */
enum { GQ_Q8_0, GQ_Q4_0, GQ_Q5_0, GQ_Q4_1, GQ_Q5_1 };

/* The 32 weights of a block of a kind: signed bytes (Q8_0, Q4_0 in
 * [-8, 7], Q5_0 in [-16, 15]) or unsigned (Q4_1, Q5_1), element order. */
static GEMM_AVX2 GEMM_INLINE __m256i
unpack(int kind, const uint8_t *blk)
{
	switch (kind) {
	case GQ_Q4_0:
		return _mm256_sub_epi8(nibbles_32(((const struct qt_block_q4_0 *)
		    (const void *)blk)->qs), _mm256_set1_epi8(8));
	case GQ_Q5_0: {
		const struct qt_block_q5_0	*b = (const void *)blk;

		/* q | 0xf0 is q - 16 where the fifth bit is clear. */
		return _mm256_or_si256(nibbles_32(b->qs), _mm256_andnot_si256(
		    bits_32(b->qh), _mm256_set1_epi8((char)0xf0)));
	}
	case GQ_Q4_1:
		return nibbles_32(((const struct qt_block_q4_1 *)
		    (const void *)blk)->qs);
	case GQ_Q5_1: {
		const struct qt_block_q5_1	*b = (const void *)blk;

		return _mm256_or_si256(nibbles_32(b->qs), _mm256_and_si256(
		    bits_32(b->qh), _mm256_set1_epi8(0x10)));
	}
	default:
		return _mm256_loadu_si256((const __m256i *)(const void *)
		    ((const struct qt_block_q8_0 *)(const void *)blk)->qs);
	}
}

/* Sum of x*y over 32 bytes as 8 float lanes (4 products each), x
 * unsigned (ax) or, by the sign trick, signed (ax = |x|). */
static GEMM_AVX2 GEMM_INLINE __m256
lanes(int sign, __m256i ax, __m256i x, __m256i y, __m256i ones)
{
	__m256i	p = _mm256_maddubs_epi16(ax, sign ? _mm256_sign_epi8(y, x) :
		    y);

	return _mm256_cvtepi32_ps(_mm256_madd_epi16(p, ones));
}

/* Four f16 at p, p + stride, ... as floats (fewer for RM < 4). */
static GEMM_AVX2 GEMM_INLINE __m128
f16x4(const uint8_t *p, size_t stride, const int RM)
{
	uint64_t	h4 = 0;
	uint16_t	h;
	int		r;

	_Pragma("GCC unroll 4")
	for (r = 0; r < RM; r++) {
		memcpy(&h, p + r * stride, 2);
		h4 |= (uint64_t)h << (16 * r);
	}
	return _mm_cvtph_ps(_mm_cvtsi64_si128((long long)h4));
}

/*
 * One tile of RM weight rows by RN activation rows; RM <= 4, RN <= 2 are
 * compile-time constants at every call, so the loops unroll and the
 * accumulators stay in registers.  The _1 kinds also keep, per row, the
 * dot's scalar chain of m_w * s_a FMAs, as one lane each of summs.
 */
static GEMM_AVX2 GEMM_INLINE void
tile(int kind, int nb, const uint8_t *w, size_t wrow, const uint8_t *a,
    size_t arow, float *y, size_t ys, const int RM, const int RN)
{
	const int	one = kind == GQ_Q4_1 || kind == GQ_Q5_1;
	const __m256i	ones = _mm256_set1_epi16(1);
	const size_t	bsz = kind == GQ_Q4_0 ? sizeof(struct qt_block_q4_0) :
			    kind == GQ_Q5_0 ? sizeof(struct qt_block_q5_0) :
			    kind == GQ_Q4_1 ? sizeof(struct qt_block_q4_1) :
			    kind == GQ_Q5_1 ? sizeof(struct qt_block_q5_1) :
			    sizeof(struct qt_block_q8_0);
	const size_t	asz = one ? sizeof(struct qt_block_q8_1) :
			    sizeof(struct qt_block_q8_0);
	const size_t	aqs = one ? offsetof(struct qt_block_q8_1, qs) :
			    offsetof(struct qt_block_q8_0, qs);
	__m256		acc[4][2], dv[2];
	__m256i		ay[2], wx, ax;
	__m128		dw, mw, p, summs[2];
	float		out[4];
	uint16_t	h;
	int		b, r, t;

	_Pragma("GCC unroll 4")
	for (r = 0; r < RM; r++)
		_Pragma("GCC unroll 2")
		for (t = 0; t < RN; t++)
			acc[r][t] = _mm256_setzero_ps();
	_Pragma("GCC unroll 2")
	for (t = 0; t < RN; t++)
		summs[t] = _mm_setzero_ps();
	for (b = 0; b < nb; b++) {
		/*
		 * The rows' scales as four floats, their products with a
		 * token's scale made at once (the floats of dw * da), each
		 * handed to its row by a shuffle, off the FMA ports.
		 */
		dw = f16x4(w + b * bsz, wrow, RM);
		mw = one ? f16x4(w + b * bsz + 2, wrow, RM) : dw;
		_Pragma("GCC unroll 2")
		for (t = 0; t < RN; t++) {
			const uint8_t	*ab = a + t * arow + b * asz;

			ay[t] = _mm256_loadu_si256((const __m256i *)
			    (const void *)(ab + aqs));
			memcpy(&h, ab, 2);
			p = _mm_mul_ps(dw, _mm_set1_ps(_cvtsh_ss(h)));
			dv[t] = _mm256_insertf128_ps(_mm256_castps128_ps256(p),
			    p, 1);
			if (one) {
				memcpy(&h, ab + 2, 2);
				summs[t] = _mm_fmadd_ps(mw, _mm_set1_ps(
				    _cvtsh_ss(h)), summs[t]);
			}
		}
		_Pragma("GCC unroll 4")
		for (r = 0; r < RM; r++) {
			wx = unpack(kind, w + r * wrow + b * bsz);
			ax = one ? wx : _mm256_sign_epi8(wx, wx);
			_Pragma("GCC unroll 2")
			for (t = 0; t < RN; t++)
				acc[r][t] = _mm256_fmadd_ps(_mm256_shuffle_ps(
				    dv[t], dv[t], 0x55 * r), lanes(!one, ax,
				    wx, ay[t], ones), acc[r][t]);
		}
	}
	_Pragma("GCC unroll 2")
	for (t = 0; t < RN; t++) {
		_mm_storeu_ps(out, summs[t]);
		_Pragma("GCC unroll 4")
		for (r = 0; r < RM; r++)
			y[t * ys + r] = one ? hsum_f32x8(acc[r][t]) + out[r] :
			    hsum_f32x8(acc[r][t]);
	}
}

static GEMM_AVX2 GEMM_INLINE void
gemm_q0(int kind, int k, const void *w, size_t wrow, int nr, const void *a,
    size_t arow, int nt, float *y, size_t ys)
{
	const uint8_t	*wp = w, *ap = a;
	int		 nb = k / QK8_0, r, t;

	uintptr_t	 pf;
	size_t		 i;

	for (r = 0; r + 4 <= nr; r += 4) {
		/* The next four rows are on their way from memory while
		 * these meet every token (a hint, which cannot fault past
		 * the last row; an address, not a pointer, for that). */
		pf = (uintptr_t)wp + (size_t)(r + 4) * wrow;
		for (i = 0; i < 4 * wrow; i += 64)
			_mm_prefetch((const char *)(pf + i), _MM_HINT_T0);
		for (t = 0; t + 2 <= nt; t += 2)
			tile(kind, nb, wp + r * wrow, wrow, ap + t * arow,
			    arow, y + t * ys + r, ys, 4, 2);
		if (t < nt)
			tile(kind, nb, wp + r * wrow, wrow, ap + t * arow,
			    arow, y + t * ys + r, ys, 4, 1);
	}
	for (; r < nr; r++) {
		for (t = 0; t + 2 <= nt; t += 2)
			tile(kind, nb, wp + r * wrow, wrow, ap + t * arow,
			    arow, y + t * ys + r, ys, 1, 2);
		if (t < nt)
			tile(kind, nb, wp + r * wrow, wrow, ap + t * arow,
			    arow, y + t * ys + r, ys, 1, 1);
	}
}

static GEMM_AVX2 void
gemm_q8_0(int k, const void *w, size_t wrow, int nr, const void *a,
    size_t arow, int nt, float *y, size_t ys)
{
	gemm_q0(GQ_Q8_0, k, w, wrow, nr, a, arow, nt, y, ys);
}

static GEMM_AVX2 void
gemm_q4_0(int k, const void *w, size_t wrow, int nr, const void *a,
    size_t arow, int nt, float *y, size_t ys)
{
	gemm_q0(GQ_Q4_0, k, w, wrow, nr, a, arow, nt, y, ys);
}

/*
 * Q5_0 rows four at a time as Q8_0 ones (the same scale, q - 16 as
 * bytes), through a Q8_0 kernel: its integers and FMAs are those of the
 * Q5_0 dot, so are its floats, and the fifth bits are unpacked once for
 * all the tokens, not once a tile.  Few tokens, or no memory: directly.
 */
static GEMM_AVX2 GEMM_INLINE void
gemm_q5_0_as_q8_0(gemm_fn q8, int k, const void *w, size_t wrow, int nr,
    const void *a, size_t arow, int nt, float *y, size_t ys)
{
	const struct qt_block_q5_0	*x;
	struct qt_block_q8_0		*o, *buf = NULL;
	int				 nb = k / QK8_0, r, i, b, n;

	if (nt >= 4)
		buf = malloc(4 * (size_t)nb * sizeof *buf);
	if (buf == NULL) {
		gemm_q0(GQ_Q5_0, k, w, wrow, nr, a, arow, nt, y, ys);
		return;
	}
	for (r = 0; r < nr; r += n) {
		n = nr - r < 4 ? nr - r : 4;
		for (i = 0; i < n; i++) {
			x = (const void *)((const uint8_t *)w + (size_t)(r +
			    i) * wrow);
			o = buf + (size_t)i * nb;
			for (b = 0; b < nb; b++) {
				o[b].d = x[b].d;
				_mm256_storeu_si256((__m256i *)(void *)o[b].qs,
				    unpack(GQ_Q5_0, (const uint8_t *)&x[b]));
			}
		}
		q8(k, buf, (size_t)nb * sizeof *buf, n, a, arow, nt, y + r,
		    ys);
	}
	free(buf);
}

static GEMM_AVX2 void
gemm_q5_0(int k, const void *w, size_t wrow, int nr, const void *a,
    size_t arow, int nt, float *y, size_t ys)
{
	gemm_q5_0_as_q8_0(gemm_q8_0, k, w, wrow, nr, a, arow, nt, y, ys);
}

static GEMM_AVX2 void
gemm_q4_1(int k, const void *w, size_t wrow, int nr, const void *a,
    size_t arow, int nt, float *y, size_t ys)
{
	gemm_q0(GQ_Q4_1, k, w, wrow, nr, a, arow, nt, y, ys);
}

static GEMM_AVX2 void
gemm_q5_1(int k, const void *w, size_t wrow, int nr, const void *a,
    size_t arow, int nt, float *y, size_t ys)
{
	gemm_q0(GQ_Q5_1, k, w, wrow, nr, a, arow, nt, y, ys);
}

/*
 * Q4_0 x8: per block, four 32-byte chunks hold 4 weights of each of the 8
 * rows; their nibbles are unsigned (q + 8), so maddubs multiplies them
 * with the activations directly and ac = -8 * sum(a) is added at the end.
 * Eight maddubs results fit int16 (8 * 2 * 15 * 127 < 32768).  The block
 * sum of each row then meets its scale in one FMA per block, the order of
 * llama.cpp's repacked Q4_0 kernels.
 */
static GEMM_AVX2 GEMM_INLINE void
rp_q4_0_tile(int nb, const struct rp_q4_0x8 *wb, const uint8_t *a,
    size_t arow, const float *af, const int32_t *ac, float *y, size_t ys,
    const int TN)
{
	const __m256i	m4 = _mm256_set1_epi8(0x0f);
	const __m256i	ones = _mm256_set1_epi16(1);
	__m256		acc[4], dw;
	__m256i		s16[4], v, lo, hi, si;
	int		b, c, t;

	_Pragma("GCC unroll 4")
	for (t = 0; t < TN; t++)
		acc[t] = _mm256_setzero_ps();
	for (b = 0; b < nb; b++, wb++) {
		if (TN == 1)	/* decode: from memory (quant_impl.h) */
			QT_PREFETCH(wb, 3);	/* 144 bytes a block */
		_Pragma("GCC unroll 4")
		for (t = 0; t < TN; t++)
			s16[t] = _mm256_setzero_si256();
		_Pragma("GCC unroll 4")
		for (c = 0; c < 4; c++) {
			v = _mm256_loadu_si256((const __m256i *)(wb->qs +
			    32 * c));
			lo = _mm256_and_si256(v, m4);
			hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
			_Pragma("GCC unroll 4")
			for (t = 0; t < TN; t++) {
				const struct qt_block_q8_0	*ab = (const void *)
							    (a + t * arow);
				int32_t				 x0, x1;

				memcpy(&x0, ab[b].qs + 4 * c, 4);
				memcpy(&x1, ab[b].qs + 16 + 4 * c, 4);
				s16[t] = _mm256_add_epi16(s16[t],
				    _mm256_maddubs_epi16(lo,
				    _mm256_set1_epi32(x0)));
				s16[t] = _mm256_add_epi16(s16[t],
				    _mm256_maddubs_epi16(hi,
				    _mm256_set1_epi32(x1)));
				QT_KEEP(s16[t]);
			}
		}
		dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)wb->d));
		_Pragma("GCC unroll 4")
		for (t = 0; t < TN; t++) {
			si = _mm256_add_epi32(_mm256_madd_epi16(s16[t], ones),
			    _mm256_set1_epi32(ac[t * nb + b]));
			acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(si),
			    _mm256_mul_ps(dw, _mm256_set1_ps(af[t * nb + b])),
			    acc[t]);
		}
	}
	_Pragma("GCC unroll 4")
	for (t = 0; t < TN; t++)
		_mm256_storeu_ps(y + t * ys, acc[t]);
}

static GEMM_AVX2 void
rp_q4_0(int k, const void *w, int nr, const void *a, size_t arow,
    const float *af, const int32_t *ac, int nt, float *y, size_t ys)
{
	const struct rp_q4_0x8	*wb = w;
	const uint8_t		*ap = a;
	int			 nb = k / QK4_0, g, t;

	for (g = 0; g < nr / 8; g++, wb += nb) {
		for (t = 0; t + 4 <= nt; t += 4)
			rp_q4_0_tile(nb, wb, ap + t * arow, arow, af + t * nb,
			    ac + t * nb, y + t * ys + 8 * g, ys, 4);
		for (; t + 2 <= nt; t += 2)
			rp_q4_0_tile(nb, wb, ap + t * arow, arow, af + t * nb,
			    ac + t * nb, y + t * ys + 8 * g, ys, 2);
		if (t < nt)
			rp_q4_0_tile(nb, wb, ap + t * arow, arow, af + t * nb,
			    ac + t * nb, y + t * ys + 8 * g, ys, 1);
	}
}

#define GEMM_VNNI	__attribute__((target("avx2,fma,f16c,avx512f,avx512bw," \
			    "avx512vl,avx512vnni")))

/*
 * The repacked tiles with AVX512-VNNI, TN <= 8 tokens by 8 rows (ymm) or
 * 16 rows (zmm, two 8-row groups side by side).  A block's weights are
 * unpacked once into registers and serve every token of the tile; each
 * activation dword meets them in a vpdpbusd with an embedded broadcast
 * from memory.  Per row and token the block's integer sum starts at the
 * layout's correction ac (-8 or -128 times the activations' sum, the
 * offset of the unsigned weights), then acc = fma(float(isum), dw * da,
 * acc), block after block: the same floats whatever the tile or nt, and
 * the same as the AVX2 tile's.
 *
 * A token-block costs 8 vpdpbusd, a cvt, a mul and an FMA; Zen 4 runs one
 * 512-bit vpdpbusd a cycle, so the zmm tiles, at ~180 GMAC/s a core, are
 * within a tenth of what VNNI can do (a loop of the vpdpbusd alone makes
 * ~195).  Best of 20 on a Zen 4 core, GMAC/s, k = 2048 and 8192, 16 to 64
 * rows by 64 tokens:
 *	Q4_0	old 8 x 4 ymm tile 128-130, ymm 8 x 8 143-150, zmm 16 x 8
 *		180-183 (AVX2 8 x 4: 86)
 *	Q8_0	old unpacked 4 x 2 tile 52-54, ymm 8 x 8 143-150, zmm 16 x 8
 *		179-183
 * Eight tokens are as fast as sixteen (8 accumulators or 16, no spill).
 */
static GEMM_VNNI GEMM_INLINE void
rp_q4_0_tile_vnni(int nb, const struct rp_q4_0x8 *wb, const uint8_t *a,
    size_t arow, const float *af, const int32_t *ac, float *y, size_t ys,
    const int TN)
{
	const __m256i	m4 = _mm256_set1_epi8(0x0f);
	const int8_t	*q;
	__m256		acc[8], dw;
	__m256i		lo[4], hi[4], s, v;
	int		b, c, t;

	_Pragma("GCC unroll 8")
	for (t = 0; t < TN; t++)
		acc[t] = _mm256_setzero_ps();
	for (b = 0; b < nb; b++, wb++) {
		_Pragma("GCC unroll 4")
		for (c = 0; c < 4; c++) {
			v = _mm256_loadu_si256((const __m256i *)(wb->qs +
			    32 * c));
			lo[c] = _mm256_and_si256(v, m4);
			hi[c] = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
		}
		dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)wb->d));
		_Pragma("GCC unroll 8")
		for (t = 0; t < TN; t++) {
			q = ((const struct qt_block_q8_0 *)(a + t * arow) +
			    b)->qs;
			s = _mm256_set1_epi32(ac[t * nb + b]);
			_Pragma("GCC unroll 4")
			for (c = 0; c < 4; c++) {
				s = dpbusd_b(s, lo[c], q + 4 * c);
				s = dpbusd_b(s, hi[c], q + 16 + 4 * c);
			}
			acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s),
			    _mm256_mul_ps(dw, _mm256_set1_ps(af[t * nb + b])),
			    acc[t]);
		}
	}
	_Pragma("GCC unroll 8")
	for (t = 0; t < TN; t++)
		_mm256_storeu_ps(y + t * ys, acc[t]);
}

/* Two 256-bit halves, from the same offset of two groups, as one zmm. */
static GEMM_VNNI GEMM_INLINE __m512i
load2(const void *p0, const void *p1)
{
	return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256(
	    p0)), _mm256_loadu_si256(p1), 1);
}

/* The 16 f16 scales of two groups as floats. */
static GEMM_VNNI GEMM_INLINE __m512
scales2(const uint16_t *d0, const uint16_t *d1)
{
	return _mm512_cvtph_ps(_mm256_inserti128_si256(_mm256_castsi128_si256(
	    _mm_loadu_si128((const __m128i *)d0)),
	    _mm_loadu_si128((const __m128i *)d1), 1));
}

static GEMM_VNNI GEMM_INLINE void
rp_q4_0_tile_zmm(int nb, const struct rp_q4_0x8 *wb, const uint8_t *a,
    size_t arow, const float *af, const int32_t *ac, float *y, size_t ys,
    const int TN)
{
	const __m512i		 m4 = _mm512_set1_epi8(0x0f);
	const struct rp_q4_0x8	*wb1 = wb + nb;
	const int8_t		*q;
	__m512			 acc[8], dw;
	__m512i			 lo[4], hi[4], s, v;
	int			 b, c, t;

	_Pragma("GCC unroll 8")
	for (t = 0; t < TN; t++)
		acc[t] = _mm512_setzero_ps();
	for (b = 0; b < nb; b++, wb++, wb1++) {
		_Pragma("GCC unroll 4")
		for (c = 0; c < 4; c++) {
			v = load2(wb->qs + 32 * c, wb1->qs + 32 * c);
			lo[c] = _mm512_and_si512(v, m4);
			hi[c] = _mm512_and_si512(_mm512_srli_epi16(v, 4), m4);
		}
		dw = scales2(wb->d, wb1->d);
		_Pragma("GCC unroll 8")
		for (t = 0; t < TN; t++) {
			q = ((const struct qt_block_q8_0 *)(a + t * arow) +
			    b)->qs;
			s = _mm512_set1_epi32(ac[t * nb + b]);
			_Pragma("GCC unroll 4")
			for (c = 0; c < 4; c++) {
				s = dpbusd_b16(s, lo[c], q + 4 * c);
				s = dpbusd_b16(s, hi[c], q + 16 + 4 * c);
			}
			acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s),
			    _mm512_mul_ps(dw, _mm512_set1_ps(af[t * nb + b])),
			    acc[t]);
		}
	}
	_Pragma("GCC unroll 8")
	for (t = 0; t < TN; t++)
		_mm512_storeu_ps(y + t * ys, acc[t]);
}

/*
 * Q8_0 x8: eight chunks of 4 bytes of 8 rows, weights stored as w ^ 0x80
 * (w + 128, unsigned), so the block needs no unpacking at all.  vpdpbusd
 * of chunk c gives lane c of llama.cpp's Q8_0 dot (the sum of 4 products)
 * for 8 rows at once, offset by 128 times the 4 activations (ac holds -128
 * times each chunk's sum, 8 per block).  Every lane keeps its own FMA chain
 * across the blocks and the 8 lanes are added at the end as hsum_float_8
 * adds them, so each output is the float of qt_q8_0_dot_avx2, which is
 * llama.cpp's: one integer per block instead (an earlier version) moved
 * some tokens' distributions by KL 5e-4.  Eight chains per token leave
 * registers for TN <= 2.
 */
static GEMM_VNNI GEMM_INLINE void
rp_q8_0_tile_vnni(int nb, const struct rp_q8_0x8 *wb, const uint8_t *a,
    size_t arow, const float *af, const int32_t *ac, float *y, size_t ys,
    const int TN)
{
	const int8_t	*q;
	__m256		acc[2][8], dw, d;
	__m256i		wv[8], s;
	int		b, c, t;

	_Pragma("GCC unroll 2")
	for (t = 0; t < TN; t++)
		_Pragma("GCC unroll 8")
		for (c = 0; c < 8; c++)
			acc[t][c] = _mm256_setzero_ps();
	for (b = 0; b < nb; b++, wb++) {
		_Pragma("GCC unroll 8")
		for (c = 0; c < 8; c++)
			wv[c] = _mm256_loadu_si256((const __m256i *)(wb->qs +
			    32 * c));
		dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)wb->d));
		_Pragma("GCC unroll 2")
		for (t = 0; t < TN; t++) {
			q = ((const struct qt_block_q8_0 *)(a + t * arow) +
			    b)->qs;
			d = _mm256_mul_ps(dw, _mm256_set1_ps(af[t * nb + b]));
			_Pragma("GCC unroll 8")
			for (c = 0; c < 8; c++) {
				s = dpbusd_b(_mm256_set1_epi32(
				    ac[(t * nb + b) * 8 + c]), wv[c],
				    q + 4 * c);
				acc[t][c] = _mm256_fmadd_ps(
				    _mm256_cvtepi32_ps(s), d, acc[t][c]);
			}
		}
	}
	_Pragma("GCC unroll 2")
	for (t = 0; t < TN; t++)
		_mm256_storeu_ps(y + t * ys, _mm256_add_ps(
		    _mm256_add_ps(_mm256_add_ps(acc[t][0], acc[t][4]),
		    _mm256_add_ps(acc[t][2], acc[t][6])),
		    _mm256_add_ps(_mm256_add_ps(acc[t][1], acc[t][5]),
		    _mm256_add_ps(acc[t][3], acc[t][7]))));
}

static GEMM_VNNI GEMM_INLINE void
rp_q8_0_tile_zmm(int nb, const struct rp_q8_0x8 *wb, const uint8_t *a,
    size_t arow, const float *af, const int32_t *ac, float *y, size_t ys,
    const int TN)
{
	const struct rp_q8_0x8	*wb1 = wb + nb;
	const int8_t		*q;
	__m512			 acc[2][8], dw, d;
	__m512i			 wv[8], s;
	int			 b, c, t;

	_Pragma("GCC unroll 2")
	for (t = 0; t < TN; t++)
		_Pragma("GCC unroll 8")
		for (c = 0; c < 8; c++)
			acc[t][c] = _mm512_setzero_ps();
	for (b = 0; b < nb; b++, wb++, wb1++) {
		_Pragma("GCC unroll 8")
		for (c = 0; c < 8; c++)
			wv[c] = load2(wb->qs + 32 * c, wb1->qs + 32 * c);
		dw = scales2(wb->d, wb1->d);
		_Pragma("GCC unroll 2")
		for (t = 0; t < TN; t++) {
			q = ((const struct qt_block_q8_0 *)(a + t * arow) +
			    b)->qs;
			d = _mm512_mul_ps(dw, _mm512_set1_ps(af[t * nb + b]));
			_Pragma("GCC unroll 8")
			for (c = 0; c < 8; c++) {
				s = dpbusd_b16(_mm512_set1_epi32(
				    ac[(t * nb + b) * 8 + c]), wv[c],
				    q + 4 * c);
				acc[t][c] = _mm512_fmadd_ps(
				    _mm512_cvtepi32_ps(s), d, acc[t][c]);
			}
		}
	}
	_Pragma("GCC unroll 2")
	for (t = 0; t < TN; t++)
		_mm512_storeu_ps(y + t * ys, _mm512_add_ps(
		    _mm512_add_ps(_mm512_add_ps(acc[t][0], acc[t][4]),
		    _mm512_add_ps(acc[t][2], acc[t][6])),
		    _mm512_add_ps(_mm512_add_ps(acc[t][1], acc[t][5]),
		    _mm512_add_ps(acc[t][3], acc[t][7]))));
}

/* One tile of a layout: 8 rows (ymm) or 16 (zmm) by TN tokens. */
static GEMM_VNNI GEMM_INLINE void
rp_tile(const int kind, const int zmm, int nb, const void *w,
    const uint8_t *a, size_t arow, const float *af, const int32_t *ac,
    float *y, size_t ys, const int TN)
{
	if (kind == RP_Q4_0X8 && zmm)
		rp_q4_0_tile_zmm(nb, w, a, arow, af, ac, y, ys, TN);
	else if (kind == RP_Q4_0X8)
		rp_q4_0_tile_vnni(nb, w, a, arow, af, ac, y, ys, TN);
	else if (zmm)
		rp_q8_0_tile_zmm(nb, w, a, arow, af, ac, y, ys, TN);
	else
		rp_q8_0_tile_vnni(nb, w, a, arow, af, ac, y, ys, TN);
}

/*
 * Walk nr rows (a multiple of 8) by nt tokens: groups of 8 rows, or
 * pairs of them on zmm when ZMM allows and the call has 8 tokens or more
 * (one token streams its weights faster on ymm: 31 against 20 GB/s for
 * a 16384 x 4096 Q4_0 matrix out of memory; Q8_0 decode on ymm: 26-35
 * GB/s against 24-27 for its dot, and 46-70 against 20-29 from L3, for
 * 8192 x 2048); tokens by 8, then 4, 2, 1.
 */
static GEMM_VNNI GEMM_INLINE void
rp_walk(const int kind, const int ZMM, int k, const void *w, int nr,
    const void *a, size_t arow, const float *af, const int32_t *ac, int nt,
    float *y, size_t ys)
{
	const uint8_t	*wb = w, *at;
	size_t		 gsize = kind == RP_Q4_0X8 ?
			    sizeof(struct rp_q4_0x8) :
			    sizeof(struct rp_q8_0x8);
	int		 nb = k / QK8_0, g, t, tn, z;
	int		 cpb = kind == RP_Q4_0X8 ? 1 : 8;	/* ac per block */
	const float	*ft;
	const int32_t	*ct;
	float		*yt;

	for (g = 0; g < nr / 8; g += 1 + z, wb += (size_t)(1 + z) * nb *
	    gsize) {
		z = ZMM && nt >= 8 && g + 2 <= nr / 8;
		for (t = 0; t < nt; t += tn) {
			tn = nt - t >= 8 ? 8 : nt - t >= 4 ? 4 :
			    nt - t >= 2 ? 2 : 1;
			if (kind == RP_Q8_0X8 && tn > 2)
				tn = 2;
			at = (const uint8_t *)a + t * arow;
			ft = af + t * nb;
			ct = ac + (size_t)t * nb * cpb;
			yt = y + t * ys + 8 * g;
			if (z && tn == 8)
				rp_tile(kind, 1, nb, wb, at, arow, ft, ct, yt,
				    ys, 8);
			else if (z && tn == 4)
				rp_tile(kind, 1, nb, wb, at, arow, ft, ct, yt,
				    ys, 4);
			else if (z && tn == 2)
				rp_tile(kind, 1, nb, wb, at, arow, ft, ct, yt,
				    ys, 2);
			else if (z)
				rp_tile(kind, 1, nb, wb, at, arow, ft, ct, yt,
				    ys, 1);
			else if (tn == 8)
				rp_tile(kind, 0, nb, wb, at, arow, ft, ct, yt,
				    ys, 8);
			else if (tn == 4)
				rp_tile(kind, 0, nb, wb, at, arow, ft, ct, yt,
				    ys, 4);
			else if (tn == 2)
				rp_tile(kind, 0, nb, wb, at, arow, ft, ct, yt,
				    ys, 2);
			else
				rp_tile(kind, 0, nb, wb, at, arow, ft, ct, yt,
				    ys, 1);
		}
	}
}

/*
 * The variant gemm_get_rp takes with VNNI (see gemm_get_rp_variant), by
 * measurement (one Zen 4 core, Q4_0 x8, k=4096, best of N, GOP/s for the
 * AVX2, VNNI ymm and zmm variants): prompts (64 tokens, rows in cache)
 * 172, 298, 363; decode from cache 154, 165, 165 (zmm walks a lone token
 * on ymm); decode streamed from memory 70-105 for all three, as the
 * host's bandwidth moved between runs.  All three give the same floats,
 * so the choice is speed alone: zmm, whatever the batch.
 */
#define RP_BEST	2

static GEMM_VNNI void
rp_q4_0_vnni(int k, const void *w, int nr, const void *a, size_t arow,
    const float *af, const int32_t *ac, int nt, float *y, size_t ys)
{
	rp_walk(RP_Q4_0X8, 0, k, w, nr, a, arow, af, ac, nt, y, ys);
}

static GEMM_VNNI void
rp_q4_0_zmm(int k, const void *w, int nr, const void *a, size_t arow,
    const float *af, const int32_t *ac, int nt, float *y, size_t ys)
{
	rp_walk(RP_Q4_0X8, 1, k, w, nr, a, arow, af, ac, nt, y, ys);
}

static GEMM_VNNI void
rp_q8_0_vnni(int k, const void *w, int nr, const void *a, size_t arow,
    const float *af, const int32_t *ac, int nt, float *y, size_t ys)
{
	rp_walk(RP_Q8_0X8, 0, k, w, nr, a, arow, af, ac, nt, y, ys);
}

static GEMM_VNNI void
rp_q8_0_zmm(int k, const void *w, int nr, const void *a, size_t arow,
    const float *af, const int32_t *ac, int nt, float *y, size_t ys)
{
	rp_walk(RP_Q8_0X8, 1, k, w, nr, a, arow, af, ac, nt, y, ys);
}

/*
 * The Q8_0 tile with AVX512-VNNI: vpdpbusd takes the weights as unsigned
 * bytes w + 128 into an accumulator that starts at -128 times the sums
 * of the activations by fours, which leaves in each int32 lane the
 * integer of tile()'s lane (whose sign trick cannot saturate: Q8_0
 * activations lie in [-127, 127]); the FMAs and sums are tile()'s.
 */
static GEMM_VNNI GEMM_INLINE void
tile_q8_0_vnni(int nb, const uint8_t *w, size_t wrow, const uint8_t *a,
    size_t arow, float *y, size_t ys, const int RM, const int RN)
{
	/* RM <= 4, RN <= 2, as tile()'s. */
	const __m256i			 bias = _mm256_set1_epi8((char)0x80);
	const __m256i			 zero = _mm256_setzero_si256();
	const struct qt_block_q8_0	*ab, *wb;
	__m256				 acc[4][2];
	__m256i				 ay[2], nc[2], wu;
	float				 da[2], dw;
	int				 b, r, t;

	_Pragma("GCC unroll 8")
	for (r = 0; r < RM; r++)
		_Pragma("GCC unroll 8")
		for (t = 0; t < RN; t++)
			acc[r][t] = _mm256_setzero_ps();
	for (b = 0; b < nb; b++) {
		_Pragma("GCC unroll 8")
		for (t = 0; t < RN; t++) {
			ab = (const struct qt_block_q8_0 *)(a + t * arow) + b;
			ay[t] = _mm256_loadu_si256((const __m256i *)ab->qs);
			da[t] = _cvtsh_ss(ab->d);
			nc[t] = _mm256_sub_epi32(zero, _mm256_dpbusd_epi32(zero,
			    bias, ay[t]));
		}
		_Pragma("GCC unroll 8")
		for (r = 0; r < RM; r++) {
			wb = (const struct qt_block_q8_0 *)(w + r * wrow) + b;
			wu = _mm256_xor_si256(_mm256_loadu_si256(
			    (const __m256i *)wb->qs), bias);
			dw = _cvtsh_ss(wb->d);
			_Pragma("GCC unroll 8")
			for (t = 0; t < RN; t++)
				acc[r][t] = _mm256_fmadd_ps(_mm256_set1_ps(dw *
				    da[t]), _mm256_cvtepi32_ps(
				    _mm256_dpbusd_epi32(nc[t], wu, ay[t])),
				    acc[r][t]);
		}
	}
	_Pragma("GCC unroll 8")
	for (r = 0; r < RM; r++)
		_Pragma("GCC unroll 8")
		for (t = 0; t < RN; t++)
			y[t * ys + r] = hsum_f32x8(acc[r][t]);
}

/* gemm_q0's shapes: 4 x 2 tiles, as fast as 2 x 4 and faster than 1 x 8
 * or 2 x 2 here (107, 102, 88, 94 GOP/s a core on Zen 4). */
static GEMM_VNNI void
gemm_q8_0_vnni(int k, const void *w, size_t wrow, int nr, const void *a,
    size_t arow, int nt, float *y, size_t ys)
{
	const uint8_t	*wp = w, *ap = a;
	int		 nb = k / QK8_0, r, t;

	for (t = 0; t + 2 <= nt; t += 2) {
		for (r = 0; r + 4 <= nr; r += 4)
			tile_q8_0_vnni(nb, wp + r * wrow, wrow, ap + t * arow,
			    arow, y + t * ys + r, ys, 4, 2);
		for (; r < nr; r++)
			tile_q8_0_vnni(nb, wp + r * wrow, wrow, ap + t * arow,
			    arow, y + t * ys + r, ys, 1, 2);
	}
	if (t == nt)
		return;
	for (r = 0; r + 4 <= nr; r += 4)
		tile_q8_0_vnni(nb, wp + r * wrow, wrow, ap + t * arow, arow,
		    y + t * ys + r, ys, 4, 1);
	for (; r < nr; r++)
		tile_q8_0_vnni(nb, wp + r * wrow, wrow, ap + t * arow, arow,
		    y + t * ys + r, ys, 1, 1);
}

static GEMM_VNNI void
gemm_q5_0_vnni(int k, const void *w, size_t wrow, int nr, const void *a,
    size_t arow, int nt, float *y, size_t ys)
{
	gemm_q5_0_as_q8_0(gemm_q8_0_vnni, k, w, wrow, nr, a, arow, nt, y, ys);
}

#endif

/* Scales as floats and the corrections of the repacked layouts (-8 and
 * -128 times the quant sum) of each Q8_0 block of a row. */
void
gemm_act_sums(const void *row, int k, float *af, int32_t *ac8,
    int32_t *ac128)
{
	const struct qt_block_q8_0	*ab = row;
	int				 b, c, j, s, sc;

	for (b = 0; b < k / QK8_0; b++) {
		af[b] = qt_f16_to_f32(ab[b].d);
		for (c = s = 0; c < 8; c++) {
			for (j = sc = 0; j < 4; j++)
				sc += ab[b].qs[4 * c + j];
			ac128[8 * b + c] = -128 * sc;
			s += sc;
		}
		ac8[b] = -8 * s;
	}
}

/* One variant of a repacked kernel (0: AVX2, 1: AVX512-VNNI on ymm, 2:
 * on zmm), or NULL. */
gemm_rp_fn
gemm_get_rp_variant(int kind, int variant)
{
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
	int	vnni = __builtin_cpu_supports("avx512vl") &&
		    __builtin_cpu_supports("avx512bw") &&
		    __builtin_cpu_supports("avx512vnni");

	if (strcmp(qt_simd_name(), "avx2") != 0)
		return NULL;
	switch (kind) {
	case RP_Q4_0X8:
		if (variant == 0)
			return rp_q4_0;
		if (vnni)
			return variant == 1 ? rp_q4_0_vnni : rp_q4_0_zmm;
		break;
	case RP_Q8_0X8:
		if (vnni && variant != 0)
			return variant == 1 ? rp_q8_0_vnni : rp_q8_0_zmm;
		break;
	}
#endif
	(void)kind;
	(void)variant;
	return NULL;
}

/* The kernel for a repacked layout, or NULL.  Q8_0 x8 has no AVX2 kernel:
 * without VNNI its weights are not repacked. */
gemm_rp_fn
gemm_get_rp(int kind)
{
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
	if (strcmp(qt_simd_name(), "avx2") != 0)
		return NULL;
	if (qt_vnni())
		return gemm_get_rp_variant(kind, RP_BEST);
	return kind == RP_Q4_0X8 ? rp_q4_0 : NULL;
#else
	(void)kind;
	return NULL;
#endif
}

/* One variant (0: AVX2, 1: AVX512-VNNI) of a type's tiled kernel in an
 * order, or NULL if this CPU or the type lacks it. */
gemm_fn
gemm_get_variant(uint32_t type, int order, int vnni)
{
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
	if (strcmp(qt_simd_name(), "avx2") != 0)
		return NULL;
	if (vnni) {
		if (type == QT_Q8_0 || type == QT_Q5_0)
			return order == GEMM_DOT &&
			    __builtin_cpu_supports("avx512vl") &&
			    __builtin_cpu_supports("avx512vnni") ?
			    (type == QT_Q8_0 ? gemm_q8_0_vnni :
			    gemm_q5_0_vnni) : NULL;
		return gemm_k_get_variant(type, order, 1);
	}
	switch (type) {
	case QT_Q8_0:
		return order == GEMM_DOT ? gemm_q8_0 : NULL;
	case QT_Q4_0:
		return order == GEMM_DOT ? gemm_q4_0 : NULL;
	case QT_Q5_0:
		return order == GEMM_DOT ? gemm_q5_0 : NULL;
	case QT_Q4_1:
		return order == GEMM_DOT ? gemm_q4_1 : NULL;
	case QT_Q5_1:
		return order == GEMM_DOT ? gemm_q5_1 : NULL;
	}
	return gemm_k_get_variant(type, order, 0);
#else
	(void)type;
	(void)order;
	(void)vnni;
	return NULL;
#endif
}

/* The tiled kernel of a weight type in one of its orders, or NULL when
 * the dots serve. */
gemm_fn
gemm_get_order(uint32_t type, int order)
{
	gemm_fn	g = NULL;

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
	if (qt_vnni())
		g = gemm_get_variant(type, order, 1);
#endif
	return g != NULL ? g : gemm_get_variant(type, order, 0);
}

/* The tiled kernel for a weight type, or NULL when the dots serve. */
gemm_fn
gemm_get(uint32_t type)
{
	return gemm_get_order(type, GEMM_DOT);
}
