/*
 * AVX2 tiles for Q8_0 and Q4_0 weights against Q8_0 activations: 4 weight
 * rows by 2 activation rows in 8 accumulators.  Each block is added with
 * the same sign trick, lane sums and single FMA chain as the dot kernels
 * (and llama.cpp's), then reduced with the same horizontal sum, so the
 * results are bit-identical to the dot path; Q8_0's AVX512-VNNI variant
 * reaches the same integers another way.
 */
#include "config.h"

#include "gemm.h"

#include <stdlib.h>
#include <string.h>

#include "quant.h"
#include "quant_impl.h"
#include "repack.h"

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#include <immintrin.h>

#define GEMM_AVX2	__attribute__((target("avx2,fma,f16c")))
#define GEMM_INLINE	__attribute__((always_inline)) inline

static GEMM_AVX2 GEMM_INLINE float
hsum8(__m256 v)
{
	__m128	s;

	s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	s = _mm_add_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}

/* The 32 weights of a Q4_0 block as signed bytes in [-8, 7]. */
static GEMM_AVX2 GEMM_INLINE __m256i
unpack_q4_0(const uint8_t *qs)
{
	__m128i	b = _mm_loadu_si128((const __m128i *)qs);
	__m256i	v = _mm256_insertf128_si256(_mm256_castsi128_si256(b),
		    _mm_srli_epi16(b, 4), 1);

	return _mm256_sub_epi8(_mm256_and_si256(v, _mm256_set1_epi8(0x0f)),
	    _mm256_set1_epi8(8));
}

/* Sum of x*y over 32 signed bytes as 8 float lanes (4 products each). */
static GEMM_AVX2 GEMM_INLINE __m256
lanes(__m256i ax, __m256i x, __m256i y, __m256i ones)
{
	__m256i	p = _mm256_maddubs_epi16(ax, _mm256_sign_epi8(y, x));

	return _mm256_cvtepi32_ps(_mm256_madd_epi16(p, ones));
}

/*
 * One tile of RM weight rows by RN activation rows; RM <= 4, RN <= 2 are
 * compile-time constants at every call, so the loops unroll and the
 * accumulators stay in registers.
 */
static GEMM_AVX2 GEMM_INLINE void
tile(int q4, int nb, const uint8_t *w, size_t wrow, const uint8_t *a,
    size_t arow, float *y, size_t ys, const int RM, const int RN)
{
	const __m256i	ones = _mm256_set1_epi16(1);
	__m256		acc[4][2];
	__m256i		ay[2], wx, ax;
	float		da[2], dw;
	int		b, r, t;

	for (r = 0; r < RM; r++)
		for (t = 0; t < RN; t++)
			acc[r][t] = _mm256_setzero_ps();
	for (b = 0; b < nb; b++) {
		for (t = 0; t < RN; t++) {
			const struct qt_block_q8_0	*ab = (const void *)
						    (a + t * arow);

			ay[t] = _mm256_loadu_si256((const __m256i *)ab[b].qs);
			da[t] = _cvtsh_ss(ab[b].d);
		}
		for (r = 0; r < RM; r++) {
			if (q4) {
				const struct qt_block_q4_0	*wb = (const void *)
							    (w + r * wrow);

				wx = unpack_q4_0(wb[b].qs);
				dw = _cvtsh_ss(wb[b].d);
			} else {
				const struct qt_block_q8_0	*wb = (const void *)
							    (w + r * wrow);

				wx = _mm256_loadu_si256((const __m256i *)
				    wb[b].qs);
				dw = _cvtsh_ss(wb[b].d);
			}
			ax = _mm256_sign_epi8(wx, wx);
			for (t = 0; t < RN; t++)
				acc[r][t] = _mm256_fmadd_ps(_mm256_set1_ps(dw *
				    da[t]), lanes(ax, wx, ay[t], ones),
				    acc[r][t]);
		}
	}
	for (r = 0; r < RM; r++)
		for (t = 0; t < RN; t++)
			y[t * ys + r] = hsum8(acc[r][t]);
}

static GEMM_AVX2 void
gemm_q0(int q4, int k, const void *w, size_t wrow, int nr, const void *a,
    size_t arow, int nt, float *y, size_t ys)
{
	const uint8_t	*wp = w, *ap = a;
	int		 nb = k / QK8_0, r, t;

	for (r = 0; r + 4 <= nr; r += 4) {
		for (t = 0; t + 2 <= nt; t += 2)
			tile(q4, nb, wp + r * wrow, wrow, ap + t * arow, arow,
			    y + t * ys + r, ys, 4, 2);
		if (t < nt)
			tile(q4, nb, wp + r * wrow, wrow, ap + t * arow, arow,
			    y + t * ys + r, ys, 4, 1);
	}
	for (; r < nr; r++) {
		for (t = 0; t + 2 <= nt; t += 2)
			tile(q4, nb, wp + r * wrow, wrow, ap + t * arow, arow,
			    y + t * ys + r, ys, 1, 2);
		if (t < nt)
			tile(q4, nb, wp + r * wrow, wrow, ap + t * arow, arow,
			    y + t * ys + r, ys, 1, 1);
	}
}

static GEMM_AVX2 void
gemm_q8_0(int k, const void *w, size_t wrow, int nr, const void *a,
    size_t arow, int nt, float *y, size_t ys)
{
	gemm_q0(0, k, w, wrow, nr, a, arow, nt, y, ys);
}

static GEMM_AVX2 void
gemm_q4_0(int k, const void *w, size_t wrow, int nr, const void *a,
    size_t arow, int nt, float *y, size_t ys)
{
	gemm_q0(1, k, w, wrow, nr, a, arow, nt, y, ys);
}

/*
 * Q4_0 x8: per block, four 32-byte chunks hold 4 weights of each of the 8
 * rows; their nibbles are unsigned (q + 8), so maddubs multiplies them
 * with the activations directly and 8 * sum(a) is taken off at the end.
 * Eight maddubs results fit int16 (8 * 2 * 15 * 127 < 32768).  The block
 * sum of each row then meets its scale in one FMA per block, the order of
 * llama.cpp's repacked Q4_0 kernels.
 */
static GEMM_AVX2 GEMM_INLINE void
rp_q4_0_tile(int nb, const struct rp_q4_0x8 *wb, const uint8_t *a,
    size_t arow, const float *af, const int32_t *as8, float *y, size_t ys,
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
			}
		}
		dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)wb->d));
		_Pragma("GCC unroll 4")
		for (t = 0; t < TN; t++) {
			si = _mm256_sub_epi32(_mm256_madd_epi16(s16[t], ones),
			    _mm256_set1_epi32(as8[t * nb + b]));
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
    const float *af, const int32_t *as8, int nt, float *y, size_t ys)
{
	const struct rp_q4_0x8	*wb = w;
	const uint8_t		*ap = a;
	int			 nb = k / QK4_0, g, t;

	for (g = 0; g < nr / 8; g++, wb += nb) {
		for (t = 0; t + 4 <= nt; t += 4)
			rp_q4_0_tile(nb, wb, ap + t * arow, arow, af + t * nb,
			    as8 + t * nb, y + t * ys + 8 * g, ys, 4);
		for (; t + 2 <= nt; t += 2)
			rp_q4_0_tile(nb, wb, ap + t * arow, arow, af + t * nb,
			    as8 + t * nb, y + t * ys + 8 * g, ys, 2);
		if (t < nt)
			rp_q4_0_tile(nb, wb, ap + t * arow, arow, af + t * nb,
			    as8 + t * nb, y + t * ys + 8 * g, ys, 1);
	}
}

#define GEMM_VNNI	__attribute__((target("avx2,fma,f16c,avx512vl,avx512vnni")))

/* The same tile with AVX512-VNNI: vpdpbusd multiplies and adds into int32
 * in one step (no int16 stage, no madd); the integer sums, and so every
 * float after them, are the same as the AVX2 tile's. */
static GEMM_VNNI GEMM_INLINE void
rp_q4_0_tile_vnni(int nb, const struct rp_q4_0x8 *wb, const uint8_t *a,
    size_t arow, const float *af, const int32_t *as8, float *y, size_t ys,
    const int TN)
{
	const __m256i	m4 = _mm256_set1_epi8(0x0f);
	__m256		acc[4], dw;
	__m256i		s32[4], v, lo, hi, si;
	int		b, c, t;

	_Pragma("GCC unroll 4")
	for (t = 0; t < TN; t++)
		acc[t] = _mm256_setzero_ps();
	for (b = 0; b < nb; b++, wb++) {
		_Pragma("GCC unroll 4")
		for (t = 0; t < TN; t++)
			s32[t] = _mm256_set1_epi32(-as8[t * nb + b]);
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
				s32[t] = _mm256_dpbusd_epi32(s32[t], lo,
				    _mm256_set1_epi32(x0));
				s32[t] = _mm256_dpbusd_epi32(s32[t], hi,
				    _mm256_set1_epi32(x1));
			}
		}
		dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)wb->d));
		_Pragma("GCC unroll 4")
		for (t = 0; t < TN; t++) {
			si = s32[t];
			acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(si),
			    _mm256_mul_ps(dw, _mm256_set1_ps(af[t * nb + b])),
			    acc[t]);
		}
	}
	_Pragma("GCC unroll 4")
	for (t = 0; t < TN; t++)
		_mm256_storeu_ps(y + t * ys, acc[t]);
}

static GEMM_VNNI void
rp_q4_0_vnni(int k, const void *w, int nr, const void *a, size_t arow,
    const float *af, const int32_t *as8, int nt, float *y, size_t ys)
{
	const struct rp_q4_0x8	*wb = w;
	const uint8_t		*ap = a;
	int			 nb = k / QK4_0, g, t;

	for (g = 0; g < nr / 8; g++, wb += nb) {
		for (t = 0; t + 4 <= nt; t += 4)
			rp_q4_0_tile_vnni(nb, wb, ap + t * arow, arow,
			    af + t * nb, as8 + t * nb, y + t * ys + 8 * g, ys,
			    4);
		for (; t + 2 <= nt; t += 2)
			rp_q4_0_tile_vnni(nb, wb, ap + t * arow, arow,
			    af + t * nb, as8 + t * nb, y + t * ys + 8 * g, ys,
			    2);
		if (t < nt)
			rp_q4_0_tile_vnni(nb, wb, ap + t * arow, arow,
			    af + t * nb, as8 + t * nb, y + t * ys + 8 * g, ys,
			    1);
	}
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
			y[t * ys + r] = hsum8(acc[r][t]);
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

static int
cpu_has_vnni(void)
{
	static int	has = -1;

	if (has < 0) {
		const char	*off = getenv("YANGTUO_NO_VNNI");

		has = __builtin_cpu_supports("avx512vl") &&
		    __builtin_cpu_supports("avx512vnni") &&
		    (off == NULL || *off == '\0' || *off == '0');
	}
	return has;
}
#endif

/* Scales as floats and 8 x quant sums of each Q8_0 block of a row. */
void
gemm_act_sums(const void *row, int k, float *af, int32_t *as8)
{
	const struct qt_block_q8_0	*ab = row;
	int				 b, j, s;

	for (b = 0; b < k / QK8_0; b++) {
		af[b] = qt_f16_to_f32(ab[b].d);
		for (j = s = 0; j < QK8_0; j++)
			s += ab[b].qs[j];
		as8[b] = 8 * s;
	}
}

/* One variant of a repacked kernel, or NULL. */
gemm_rp_fn
gemm_get_rp_variant(int kind, int vnni)
{
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
	if (strcmp(qt_simd_name(), "avx2") != 0 || kind != RP_Q4_0X8)
		return NULL;
	if (!vnni)
		return rp_q4_0;
	if (__builtin_cpu_supports("avx512vl") &&
	    __builtin_cpu_supports("avx512vnni"))
		return rp_q4_0_vnni;
#endif
	(void)kind;
	(void)vnni;
	return NULL;
}

/* The kernel for a repacked layout, or NULL. */
gemm_rp_fn
gemm_get_rp(int kind)
{
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
	if (strcmp(qt_simd_name(), "avx2") == 0 && kind == RP_Q4_0X8)
		return cpu_has_vnni() ? rp_q4_0_vnni : rp_q4_0;
#endif
	(void)kind;
	return NULL;
}

/* One variant (0: AVX2, 1: AVX512-VNNI) of a type's tiled kernel in an
 * order, or NULL if this CPU or the type lacks it. */
gemm_fn
gemm_get_variant(uint32_t type, int order, int vnni)
{
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
	if (strcmp(qt_simd_name(), "avx2") != 0)
		return NULL;
	if (vnni)
		return type == QT_Q8_0 && order == GEMM_DOT &&
		    __builtin_cpu_supports("avx512vl") &&
		    __builtin_cpu_supports("avx512vnni") ? gemm_q8_0_vnni :
		    NULL;
	switch (type) {
	case QT_Q8_0:
		return order == GEMM_DOT ? gemm_q8_0 : NULL;
	case QT_Q4_0:
		return order == GEMM_DOT ? gemm_q4_0 : NULL;
	}
	return gemm_k_get(type, order);
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
	if (cpu_has_vnni())
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
