/*
 * What the K-quant prompt tiles share: gemm_k.c (AVX2 pair tiles, the
 * 8-row kernel and the getters), gemm_k23.c (Q2_K, Q3_K) and
 * gemm_k_vnni.c (16 rows in the lanes of a zmm register); gemm.c takes
 * its VNNI broadcasts from here.
 * Private to those; each sets fp-contract off before it includes this,
 * as the helpers here must be compiled so.
 */
#ifndef YT_ENGINE_GEMM_K_IMPL_H
#define YT_ENGINE_GEMM_K_IMPL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "quant_impl.h"


#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#include <immintrin.h>

#define GK_AVX2	__attribute__((target("avx2,fma,f16c")))
#define GK_INL \
	__attribute__((target("avx2,fma,f16c"), always_inline)) inline
/* Loops over the rows, tokens and pairs of a tile are unrolled, so that
 * the pairs' accumulators live in registers. */
#define GK_UNROLL	_Pragma("GCC unroll 8")

/* Block i of row r of the rows of rs bytes at p, by type. */
static inline const struct qt_block_q4_K *
q4k(const void *p, size_t rs, int r, int i)
{
	return (const struct qt_block_q4_K *)((const uint8_t *)p +
	    (size_t)r * rs) + i;
}

static inline const struct qt_block_q5_K *
q5k(const void *p, size_t rs, int r, int i)
{
	return (const struct qt_block_q5_K *)((const uint8_t *)p +
	    (size_t)r * rs) + i;
}

static inline const struct qt_block_q6_K *
q6k(const void *p, size_t rs, int r, int i)
{
	return (const struct qt_block_q6_K *)((const uint8_t *)p +
	    (size_t)r * rs) + i;
}

static inline const struct qt_block_q8_K *
q8k(const void *p, size_t rs, int r, int i)
{
	return (const struct qt_block_q8_K *)((const uint8_t *)p +
	    (size_t)r * rs) + i;
}

/*
 * Ask for block i of token t of the tile of n tokens at t0 (rows of arow
 * bytes at a), or, for t >= n, for block i + 1 of token t - n: the
 * repacked Q4_K kernels go block by block through every token of a tile,
 * so a token's block comes once per 16 rows, a row of activations after
 * the last token's.  Where a tile of them outgrows L2 (64 tokens of 8B's
 * ffn_down, k = 14336: 1 MiB) each came from L3, too scattered for the
 * hardware prefetchers.  Zen 3, AVX2 kernel two tokens ahead, one core,
 * 16-row calls over 64-token tiles of 512 tokens, medians of 3, GMAC/s
 * before -> after: k = 14336 (64 rows) 52 -> 68, k = 8192 70 -> 86,
 * k = 4096 81 -> 86, k = 2048 84 -> 88.
 */
static GK_INL void
q8k_ahead(const uint8_t *a, size_t arow, int t0, int n, int t, int nb,
    int i)
{
	const char	*p;

	if (t >= n) {
		t -= n;
		if (++i >= nb || t >= n)
			return;
	}
	p = (const char *)q8k(a, arow, t0 + t, i);
	/* 292 bytes, at any offset in a line: 5 lines and the last byte's. */
	QT_FETCH(p, 5);
	__builtin_prefetch(p + sizeof(struct qt_block_q8_K) - 1, 0, 3);
}

/* The 8 scales then the 8 mins of a Q4_K/Q5_K block as 16 int16
 * (quant_k_avx2.c's k4_scales16). */
static GK_INL __m256i
k4_scales16(const uint8_t *q)
{
	uint32_t	a[3];

	memcpy(a, q, sizeof a);
	return _mm256_cvtepu8_epi16(_mm_setr_epi32((int)(a[0] & 0x3f3f3f3f),
	    (int)((a[2] & 0x0f0f0f0f) | ((a[0] >> 6) & 0x03030303) << 4),
	    (int)(a[1] & 0x3f3f3f3f),
	    (int)(((a[2] >> 4) & 0x0f0f0f0f) | ((a[1] >> 6) & 0x03030303) <<
	    4)));
}

/* The Q8_K sums per 32 of a block, as 8 int16 (k4_mins' first step). */
static GK_INL __m128i
bsums32(const int16_t *bsums)
{
	__m256i	b = _mm256_loadu_si256((const __m256i *)bsums);

	return _mm_hadd_epi16(_mm256_castsi256_si128(b),
	    _mm256_extracti128_si256(b, 1));
}

/* The AVX512-VNNI kernels' targets and helpers (gemm_k_vnni.c,
 * gemm_k23.c). */
#define GK_VNNI	__attribute__((target("avx2,fma,f16c,avx512f,avx512bw," \
	"avx512vl,avx512vnni")))
#define GK_VINL	__attribute__((target("avx2,fma,f16c,avx512f,avx512bw," \
	"avx512vl,avx512vnni"), always_inline)) inline

/* v, pinned to a register (see gemm_k.c's keep). */
static GK_VINL __m512i
keep512(__m512i v)
{
	__asm__("" : "+v"(v));
	return v;
}

/*
 * s + the dot of the unsigned bytes of w with the 4 signed bytes at p,
 * by fours: vpdpbusd with the dword broadcast from memory inside the
 * instruction ({1to8}, {1to16}).  GCC will not fold _mm256_set1_epi32
 * into it and issues a vpbroadcastd per dword, which costs a fifth of
 * the speed of gemm.c's Q4_0/Q8_0 tiles (and 2-3 % of the repacked Q4_K
 * ones here: Zen 4, one core, 170 -> 173 GMAC/s rp1, 159 -> 163 rp4;
 * the Q6_K tile's vpdpwssd gained nothing so).  The accumulator stays
 * in a register, as keep512's.
 */
static GK_VINL __m256i
dpbusd_b(__m256i s, __m256i w, const int8_t *p)
{
	__asm__("vpdpbusd %2%{1to8%}, %1, %0" : "+v" (s) : "v" (w),
	    "m" (*(const int32_t *)(const void *)p));
	return s;
}

static GK_VINL __m512i
dpbusd_b16(__m512i s, __m512i w, const int8_t *p)
{
	__asm__("vpdpbusd %2%{1to16%}, %1, %0" : "+v" (s) : "v" (w),
	    "m" (*(const int32_t *)(const void *)p));
	return s;
}

/* out[k] lane r = lane k of v[r]: an 8 x 8 transpose of 32-bit lanes. */
static GK_INL void
tr8x8_epi32(const __m256i *v, __m256i *out)
{
	__m256i	t[8], u[8];
	int	k;

	GK_UNROLL
	for (k = 0; k < 4; k++) {
		t[2 * k] = _mm256_unpacklo_epi32(v[2 * k], v[2 * k + 1]);
		t[2 * k + 1] = _mm256_unpackhi_epi32(v[2 * k], v[2 * k + 1]);
	}
	GK_UNROLL
	for (k = 0; k < 2; k++) {
		u[4 * k] = _mm256_unpacklo_epi64(t[4 * k], t[4 * k + 2]);
		u[4 * k + 1] = _mm256_unpackhi_epi64(t[4 * k], t[4 * k + 2]);
		u[4 * k + 2] = _mm256_unpacklo_epi64(t[4 * k + 1],
		    t[4 * k + 3]);
		u[4 * k + 3] = _mm256_unpackhi_epi64(t[4 * k + 1],
		    t[4 * k + 3]);
	}
	GK_UNROLL
	for (k = 0; k < 4; k++) {
		out[k] = _mm256_permute2x128_si256(u[k], u[k + 4], 0x20);
		out[k + 4] = _mm256_permute2x128_si256(u[k], u[k + 4], 0x31);
	}
}

/* out[k] lane r = 32-bit lane k of the 32 bytes at p[r] + off, for 16
 * rows: two 8 x 8 transposes side by side. */
static GK_VINL void
tr16x8_epi32(const uint8_t *const *p, size_t off, __m512i *out)
{
	__m256i	v[8], lo[8], hi[8];
	int	k, r;

	GK_UNROLL
	for (r = 0; r < 8; r++)
		v[r] = _mm256_loadu_si256((const __m256i *)(p[r] + off));
	tr8x8_epi32(v, lo);
	GK_UNROLL
	for (r = 0; r < 8; r++)
		v[r] = _mm256_loadu_si256((const __m256i *)(p[r + 8] + off));
	tr8x8_epi32(v, hi);
	GK_UNROLL
	for (k = 0; k < 8; k++)
		out[k] = _mm512_inserti64x4(_mm512_castsi256_si512(lo[k]),
		    hi[k], 1);
}

#define GK_X8_TOKS	64	/* tokens whose accumulators a pass keeps */
#define GK_X8_MIN	4	/* fewest tokens to interleave rows for */

/* The AVX2 tiles (gemm.h's gemm_fn) of Q4_K in the repacked orders and
 * of Q6_K, which the VNNI kernels use for the rows and tokens they leave;
 * any thread, for disjoint y. */
void	gk_gemm_q4_K_rp1(int k, const void *w, size_t wrow, int nr,
	    const void *a, size_t arow, int nt, float *y, size_t ys);
void	gk_gemm_q4_K_rp4(int k, const void *w, size_t wrow, int nr,
	    const void *a, size_t arow, int nt, float *y, size_t ys);
void	gk_gemm_q6_K(int k, const void *w, size_t wrow, int nr,
	    const void *a, size_t arow, int nt, float *y, size_t ys);

/* The AVX512-VNNI tiles of gemm_k_vnni.c (gemm_fn), and its kernel over
 * Q4_K rows repacked at load (gemm_rpk_fn); only where the CPU has
 * avx512f, avx512bw, avx512vl and avx512vnni.  Any thread. */
void	gk_gemm_q4_K_rp1_vnni(int k, const void *w, size_t wrow, int nr,
	    const void *a, size_t arow, int nt, float *y, size_t ys);
void	gk_gemm_q4_K_rp4_vnni(int k, const void *w, size_t wrow, int nr,
	    const void *a, size_t arow, int nt, float *y, size_t ys);
void	gk_gemm_q6_K_vnni(int k, const void *w, size_t wrow, int nr,
	    const void *a, size_t arow, int nt, float *y, size_t ys);
/* gemm_k23.c's: with AVX2, Q2_K and Q3_K in their dots' order; with
 * VNNI, Q2_K in its repacked orders, Q3_K in its dot's. */
void	gk_gemm_q2_K(int k, const void *w, size_t wrow, int nr,
	    const void *a, size_t arow, int nt, float *y, size_t ys);
void	gk_gemm_q3_K(int k, const void *w, size_t wrow, int nr,
	    const void *a, size_t arow, int nt, float *y, size_t ys);
void	gk_gemm_q2_K_rp1_vnni(int k, const void *w, size_t wrow, int nr,
	    const void *a, size_t arow, int nt, float *y, size_t ys);
void	gk_gemm_q2_K_rp4_vnni(int k, const void *w, size_t wrow, int nr,
	    const void *a, size_t arow, int nt, float *y, size_t ys);
void	gk_gemm_q3_K_vnni(int k, const void *w, size_t wrow, int nr,
	    const void *a, size_t arow, int nt, float *y, size_t ys);
void	gk_rpk_q4_K_vnni(int k, const void *w, int nr, const void *a,
	    size_t arow, int nt, float *y, size_t ys, int order);
#endif /* x86 */

#endif
