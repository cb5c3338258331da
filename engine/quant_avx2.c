/*
 * AVX2 + FMA + F16C twins of the _ref kernels in quant.c.  Each function
 * carries its own target attribute, so this file builds without -mavx2
 * and qt_init() only installs it after cpuid says yes.  Conversions and
 * quantizers give the _ref bits exactly; dots differ by summation order.
 */
#include "config.h"

#include "quant_impl.h"

#ifdef QT_HAVE_AVX2

#include <assert.h>
#include <immintrin.h>
#include <math.h>
#include <string.h>

#define QT_AVX2	__attribute__((target("avx2,fma,f16c")))
/* Immediates must be constants even at -O0. */
#define QT_RNE	(_MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)

static QT_AVX2 float
hsum_f32x8(__m256 v)
{
	__m128	s;

	s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	s = _mm_add_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}

/* ggml's GGML_F32x8_REDUCE: (a0 + a2) + (a1 + a3), then the two halves,
 * then two horizontal adds ((s0 + s1) + (s2 + s3)). */
static QT_AVX2 float
hsum_f32x8x4(__m256 a0, __m256 a1, __m256 a2, __m256 a3)
{
	__m256	v = _mm256_add_ps(_mm256_add_ps(a0, a2), _mm256_add_ps(a1, a3));
	__m128	t;

	t = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
	t = _mm_hadd_ps(t, t);
	return _mm_cvtss_f32(_mm_hadd_ps(t, t));
}

static QT_AVX2 float
f16_scalar(uint16_t h)
{
	return _cvtsh_ss(h);
}

static QT_AVX2 __m256
load_f16x8(const uint16_t *p)
{
	return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
}

static QT_AVX2 __m256
load_bf16x8(const uint16_t *p)
{
	__m256i	w = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p));

	return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
}

/* The sum of the 8-bit products x[i] * y[i] in 8 int32 lanes as floats,
 * by the sign trick: maddubs wants its first operand unsigned. */
static QT_AVX2 __m256
dot_i8x32(__m256i x, __m256i y)
{
	__m256i	p;

	p = _mm256_maddubs_epi16(_mm256_sign_epi8(x, x),
	    _mm256_sign_epi8(y, x));
	return _mm256_cvtepi32_ps(_mm256_madd_epi16(p, _mm256_set1_epi16(1)));
}

/* A Q4_0 block's 32 quants as int8 in element order, minus 8. */
static QT_AVX2 __m256i
unpack_q4_0(const uint8_t *qs)
{
	__m128i	b = _mm_loadu_si128((const __m128i *)qs);
	__m256i	v;

	v = _mm256_inserti128_si256(_mm256_castsi128_si256(b),
	    _mm_srli_epi16(b, 4), 1);
	v = _mm256_and_si256(v, _mm256_set1_epi8(15));
	return _mm256_sub_epi8(v, _mm256_set1_epi8(8));
}

/* Pack 32 int32 in [0, 255] (4 vectors, element order) into 32 bytes. */
static QT_AVX2 __m256i
pack_u8x32(__m256i i0, __m256i i1, __m256i i2, __m256i i3)
{
	__m256i	a = _mm256_packus_epi32(i0, i1);
	__m256i	b = _mm256_packus_epi32(i2, i3);

	/* The packs work within 128-bit halves; put the dwords back. */
	return _mm256_permutevar8x32_epi32(_mm256_packus_epi16(a, b),
	    _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

/* ---------------------------------------------------------------------- */

/* F32 dot: 4 accumulators of 8 lanes, then a double tail like ggml. */
QT_AVX2 void
qt_f32_dot_avx2(int n, float *s, const void *vx, const void *vy)
{
	const float	*x = vx, *y = vy;
	__m256		 a0, a1, a2, a3;
	double		 sum;
	int		 i;

	a0 = a1 = a2 = a3 = _mm256_setzero_ps();
	for (i = 0; i + 32 <= n; i += 32) {
		a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i),
		    _mm256_loadu_ps(y + i), a0);
		a1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8),
		    _mm256_loadu_ps(y + i + 8), a1);
		a2 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 16),
		    _mm256_loadu_ps(y + i + 16), a2);
		a3 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 24),
		    _mm256_loadu_ps(y + i + 24), a3);
	}
	for (; i + 8 <= n; i += 8)
		a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i),
		    _mm256_loadu_ps(y + i), a0);
	sum = hsum_f32x8x4(a0, a1, a2, a3);
	for (; i < n; i++)
		sum += (double)(x[i] * y[i]);
	*s = (float)sum;
}

/* Convert a row of halves to floats with vcvtph2ps. */
QT_AVX2 void
qt_f16_to_f32_avx2(const void *src, float *dst, int64_t n)
{
	const uint16_t	*x = src;
	int64_t		 i;

	for (i = 0; i + 32 <= n; i += 32) {
		_mm256_storeu_ps(dst + i, load_f16x8(x + i));
		_mm256_storeu_ps(dst + i + 8, load_f16x8(x + i + 8));
		_mm256_storeu_ps(dst + i + 16, load_f16x8(x + i + 16));
		_mm256_storeu_ps(dst + i + 24, load_f16x8(x + i + 24));
	}
	for (; i + 8 <= n; i += 8)
		_mm256_storeu_ps(dst + i, load_f16x8(x + i));
	for (; i < n; i++)
		dst[i] = f16_scalar(x[i]);
}

/* Convert a row of floats to halves with vcvtps2ph, nearest even. */
QT_AVX2 void
qt_f16_from_f32_avx2(const float *src, void *dst, int64_t n)
{
	uint16_t	*y = dst;
	int64_t		 i;
	int		 k;

	for (i = 0; i + 32 <= n; i += 32) {
		for (k = 0; k < 32; k += 8)
			_mm_storeu_si128((__m128i *)(y + i + k),
			    _mm256_cvtps_ph(_mm256_loadu_ps(src + i + k),
			    _MM_FROUND_TO_NEAREST_INT));
	}
	for (; i + 8 <= n; i += 8)
		_mm_storeu_si128((__m128i *)(y + i), _mm256_cvtps_ph(
		    _mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
	for (; i < n; i++)
		y[i] = (uint16_t)_cvtss_sh(src[i], _MM_FROUND_TO_NEAREST_INT);
}

/* ggml_vec_dot_f16 on AVX2 (flash attention's K.Q): 4 accumulators of 8
 * lanes, their tree, the tail after the last 32 in double. */
QT_AVX2 void
qt_f16_vdot_avx2(int n, float *s, const void *vx, const void *vy)
{
	const uint16_t	*x = vx, *y = vy;
	__m256		 a0, a1, a2, a3;
	double		 sum;
	int		 i;

	a0 = a1 = a2 = a3 = _mm256_setzero_ps();
	for (i = 0; i + 32 <= n; i += 32) {
		a0 = _mm256_fmadd_ps(load_f16x8(x + i), load_f16x8(y + i), a0);
		a1 = _mm256_fmadd_ps(load_f16x8(x + i + 8),
		    load_f16x8(y + i + 8), a1);
		a2 = _mm256_fmadd_ps(load_f16x8(x + i + 16),
		    load_f16x8(y + i + 16), a2);
		a3 = _mm256_fmadd_ps(load_f16x8(x + i + 24),
		    load_f16x8(y + i + 24), a3);
	}
	sum = hsum_f32x8x4(a0, a1, a2, a3);
	for (; i < n; i++)
		sum += (double)(f16_scalar(x[i]) * f16_scalar(y[i]));
	*s = (float)sum;
}

/* tinyBLAS's reduction of one 8-lane chain (its hsum). */
static QT_AVX2 inline float
hsum_tiny(__m256 a)
{
	__m128	q = _mm_add_ps(_mm256_extractf128_ps(a, 1),
		    _mm256_castps256_ps128(a));

	q = _mm_add_ps(q, _mm_movehl_ps(q, q));
	q = _mm_add_ss(q, _mm_movehdup_ps(q));
	return _mm_cvtss_f32(q);
}

/*
 * F16 weights times F16 activations as llama.cpp's matmul computes them
 * on AVX2: rows a multiple of 8 go to tinyBLAS (llamafile's sgemm), for
 * any number of tokens, which keeps one 8-lane FMA chain per output and
 * adds its lanes at the end; other rows take ggml_vec_dot_f16.  (The
 * vec_dot order alone left ktest-F16 at KL 5e-7 against llama.cpp on
 * single tokens; this one, 3e-8.)
 */
QT_AVX2 void
qt_f16_dot_avx2(int n, float *s, const void *vx, const void *vy)
{
	const uint16_t	*x = vx, *y = vy;
	__m256		 a = _mm256_setzero_ps();
	int		 i;

	if (n % 8 != 0) {
		qt_f16_vdot_avx2(n, s, vx, vy);
		return;
	}
	for (i = 0; i < n; i += 8)
		a = _mm256_fmadd_ps(load_f16x8(x + i), load_f16x8(y + i), a);
	*s = hsum_tiny(a);
}

/* ---------------------------------------------------------------------- */

/* Convert a row of bfloat16 to floats (a shift). */
QT_AVX2 void
qt_bf16_to_f32_avx2(const void *src, float *dst, int64_t n)
{
	const uint16_t	*x = src;
	int64_t		 i;

	for (i = 0; i + 16 <= n; i += 16) {
		_mm256_storeu_ps(dst + i, load_bf16x8(x + i));
		_mm256_storeu_ps(dst + i + 8, load_bf16x8(x + i + 8));
	}
	for (; i < n; i++)
		dst[i] = qt_bf16_to_f32(x[i]);
}

/* ggml_compute_fp32_to_bf16 on 8 lanes, result in 8 int32 lanes. */
static QT_AVX2 __m256i
f32_to_bf16x8(__m256 v)
{
	__m256i	u = _mm256_castps_si256(v), r, nan, isnan;

	r = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
	r = _mm256_add_epi32(_mm256_add_epi32(u, _mm256_set1_epi32(0x7fff)),
	    r);
	r = _mm256_srli_epi32(r, 16);
	nan = _mm256_or_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(64));
	isnan = _mm256_cmpgt_epi32(_mm256_and_si256(u,
	    _mm256_set1_epi32(0x7fffffff)), _mm256_set1_epi32(0x7f800000));
	return _mm256_blendv_epi8(r, nan, isnan);
}

/* Convert a row of floats to bfloat16 exactly as qt_f32_to_bf16. */
QT_AVX2 void
qt_bf16_from_f32_avx2(const float *src, void *dst, int64_t n)
{
	uint16_t	*y = dst;
	__m256i		 a, b;
	int64_t		 i;

	for (i = 0; i + 16 <= n; i += 16) {
		a = f32_to_bf16x8(_mm256_loadu_ps(src + i));
		b = f32_to_bf16x8(_mm256_loadu_ps(src + i + 8));
		a = _mm256_permute4x64_epi64(_mm256_packus_epi32(a, b), 0xd8);
		_mm256_storeu_si256((__m256i *)(y + i), a);
	}
	for (; i < n; i++)
		y[i] = qt_f32_to_bf16(src[i]);
}

/*
 * ggml_vec_dot_bf16 on AVX2 (a lone token; rows not a multiple of 8): 4
 * accumulators of 8 lanes, each product rounded before it is added (no
 * FMA in its source, none here), added 1+3, 2+4, then halves, pairs, the
 * two, the tail in double.
 */
__attribute__((target("avx2,fma"), optimize("fp-contract=off"))) void
qt_bf16_vdot_avx2(int n, float *s, const void *vx, const void *vy)
{
	const uint16_t	*x = vx, *y = vy;
	__m256		 c1, c2, c3, c4;
	__m128		 g;
	double		 sum;
	int		 i;

	c1 = c2 = c3 = c4 = _mm256_setzero_ps();
	for (i = 0; i + 32 <= n; i += 32) {
		c1 = _mm256_add_ps(_mm256_mul_ps(load_bf16x8(x + i),
		    load_bf16x8(y + i)), c1);
		c2 = _mm256_add_ps(_mm256_mul_ps(load_bf16x8(x + i + 8),
		    load_bf16x8(y + i + 8)), c2);
		c3 = _mm256_add_ps(_mm256_mul_ps(load_bf16x8(x + i + 16),
		    load_bf16x8(y + i + 16)), c3);
		c4 = _mm256_add_ps(_mm256_mul_ps(load_bf16x8(x + i + 24),
		    load_bf16x8(y + i + 24)), c4);
	}
	c1 = _mm256_add_ps(_mm256_add_ps(c1, c3), _mm256_add_ps(c2, c4));
	g = _mm_add_ps(_mm256_extractf128_ps(c1, 1), _mm256_castps256_ps128(c1));
	g = _mm_add_ps(g, _mm_movehl_ps(g, g));
	g = _mm_add_ss(g, _mm_movehdup_ps(g));
	sum = (double)_mm_cvtss_f32(g);
	for (; i < n; i++)
		sum += (double)(qt_bf16_to_f32(x[i]) * qt_bf16_to_f32(y[i]));
	*s = (float)sum;
}

/*
 * BF16 x BF16 as llama.cpp computes it on AVX2: its matmul hands BF16
 * weights to tinyBLAS (llamafile's sgemm) whenever the row length is a
 * multiple of 8, for any number of tokens, and tinyBLAS keeps one 8-lane
 * FMA chain per output, added up at the end as its hsum does; other rows
 * take ggml_vec_dot_bf16.  (Our earlier vec_dot order alone left
 * ktest-BF16 at KL 1.6e-6 against llama.cpp on single tokens; this one,
 * 3e-8.)
 */
QT_AVX2 void
qt_bf16_dot_avx2(int n, float *s, const void *vx, const void *vy)
{
	const uint16_t	*x = vx, *y = vy;
	__m256		 a = _mm256_setzero_ps();
	int		 i;

	if (n % 8 != 0) {
		qt_bf16_vdot_avx2(n, s, vx, vy);
		return;
	}
	for (i = 0; i < n; i += 8)
		a = _mm256_fmadd_ps(load_bf16x8(x + i), load_bf16x8(y + i), a);
	*s = hsum_tiny(a);
}

/*
 * BF16 x BF16 as llama.cpp's AVX-512 builds: tinyBLAS again where the row
 * length allows (with AVX512-BF16 one vdpbf16ps chain over 32 pairs a
 * step, rows a multiple of 32; without it one 16-lane FMA chain, rows a
 * multiple of 16), reduced as _mm512_reduce_add_ps (halves, quarters,
 * pairs); else ggml_vec_dot_bf16's AVX-512 forms: two accumulators
 * (vdpbf16ps, or products and sums not fused), each reduced, added in
 * double, then the tail.  vdpbf16ps adds the odd product, then the even
 * one, each rounded, with denormals flushed: only the instruction itself
 * gives its floats, so the BF16 variant runs where the CPU has it.
 */
#define QT_BF16X	__attribute__((target("avx512f,avx512bf16")))
#define QT_512		__attribute__((target("avx512f")))

#include "reduce512.h"

static inline double
bf16_tail(int i, int n, const uint16_t *x, const uint16_t *y, double sum)
{
	for (; i < n; i++)
		sum += (double)(qt_bf16_to_f32(x[i]) * qt_bf16_to_f32(y[i]));
	return sum;
}

/* ggml_vec_dot_bf16 with AVX512-BF16 (a lone token; rows not a multiple
 * of 32). */
QT_BF16X void
qt_bf16_vdot_avx512bf16(int n, float *s, const void *vx, const void *vy)
{
	const uint16_t	*x = vx, *y = vy;
	__m512		 c1 = _mm512_setzero_ps(), c2 = _mm512_setzero_ps();
	double		 sum = 0;
	int		 i;

	for (i = 0; i + 64 <= n; i += 64) {
		c1 = _mm512_dpbf16_ps(c1,
		    (__m512bh)_mm512_loadu_si512((const void *)(x + i)),
		    (__m512bh)_mm512_loadu_si512((const void *)(y + i)));
		c2 = _mm512_dpbf16_ps(c2,
		    (__m512bh)_mm512_loadu_si512((const void *)(x + i + 32)),
		    (__m512bh)_mm512_loadu_si512((const void *)(y + i + 32)));
	}
	sum += (double)reduce512(c1);
	sum += (double)reduce512(c2);
	*s = (float)bf16_tail(i, n, x, y, sum);
}

/* tinyBLAS with AVX512-BF16: one vdpbf16ps chain, rows a multiple of 32. */
QT_BF16X void
qt_bf16_dot_avx512bf16(int n, float *s, const void *vx, const void *vy)
{
	const uint16_t	*x = vx, *y = vy;
	__m512		 c1 = _mm512_setzero_ps();
	int		 i;

	if (n % 32 != 0) {
		qt_bf16_vdot_avx512bf16(n, s, vx, vy);
		return;
	}
	for (i = 0; i < n; i += 32)
		c1 = _mm512_dpbf16_ps(c1, (__m512bh)_mm512_loadu_si512(
		    (const void *)(x + i)), (__m512bh)_mm512_loadu_si512(
		    (const void *)(y + i)));
	*s = reduce512(c1);
}

static QT_512 inline __m512
load_bf16x16(const uint16_t *p)
{
	return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(
	    _mm256_loadu_si256((const __m256i *)(const void *)p)), 16));
}

/* ggml_vec_dot_bf16 on AVX-512 without BF16 (a lone token; rows not a
 * multiple of 16): products and sums not fused. */
__attribute__((target("avx512f"), optimize("fp-contract=off"))) void
qt_bf16_vdot_avx512(int n, float *s, const void *vx, const void *vy)
{
	const uint16_t	*x = vx, *y = vy;
	__m512		 c1 = _mm512_setzero_ps(), c2 = _mm512_setzero_ps();
	double		 sum = 0;
	int		 i;

	for (i = 0; i + 32 <= n; i += 32) {
		c1 = _mm512_add_ps(_mm512_mul_ps(load_bf16x16(x + i),
		    load_bf16x16(y + i)), c1);
		c2 = _mm512_add_ps(_mm512_mul_ps(load_bf16x16(x + i + 16),
		    load_bf16x16(y + i + 16)), c2);
	}
	sum += (double)reduce512(c1);
	sum += (double)reduce512(c2);
	*s = (float)bf16_tail(i, n, x, y, sum);
}

/* tinyBLAS on AVX-512 without BF16: one 16-lane FMA chain. */
QT_512 void
qt_bf16_dot_avx512(int n, float *s, const void *vx, const void *vy)
{
	const uint16_t	*x = vx, *y = vy;
	__m512		 c1 = _mm512_setzero_ps();
	int		 i;

	if (n % 16 != 0) {
		qt_bf16_vdot_avx512(n, s, vx, vy);
		return;
	}
	for (i = 0; i < n; i += 16)
		c1 = _mm512_fmadd_ps(load_bf16x16(x + i), load_bf16x16(y + i),
		    c1);
	*s = reduce512(c1);
}

static QT_512 inline __m512
load_f16x16(const uint16_t *p)
{
	return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)
	    (const void *)p));
}

/* ggml_vec_dot_f16 in llama.cpp's AVX-512 builds (flash attention's
 * K.Q there): 4 accumulators of 16 lanes over steps of 64, added 0+2,
 * 1+3, then 0+1, reduced as _mm512_reduce_add_ps, the tail after the
 * last 64 in double. */
QT_512 void
qt_f16_vdot_avx512(int n, float *s, const void *vx, const void *vy)
{
	const uint16_t	*x = vx, *y = vy;
	__m512		 a[4];
	double		 sum;
	int		 i, j;

	for (j = 0; j < 4; j++)
		a[j] = _mm512_setzero_ps();
	for (i = 0; i + 64 <= n; i += 64)
		for (j = 0; j < 4; j++)
			a[j] = _mm512_fmadd_ps(load_f16x16(x + i + 16 * j),
			    load_f16x16(y + i + 16 * j), a[j]);
	a[0] = _mm512_add_ps(a[0], a[2]);
	a[1] = _mm512_add_ps(a[1], a[3]);
	sum = (double)reduce512(_mm512_add_ps(a[0], a[1]));
	for (; i < n; i++)
		sum += (double)(f16_scalar(x[i]) * f16_scalar(y[i]));
	*s = (float)sum;
}

/* F16 matmuls in llama.cpp's AVX-512 builds: tinyBLAS with one 16-lane
 * chain for rows a multiple of 16, else ggml_vec_dot_f16. */
QT_512 void
qt_f16_dot_avx512(int n, float *s, const void *vx, const void *vy)
{
	const uint16_t	*x = vx, *y = vy;
	__m512		 a = _mm512_setzero_ps();
	int		 i;

	if (n % 16 != 0) {
		qt_f16_vdot_avx512(n, s, vx, vy);
		return;
	}
	for (i = 0; i < n; i += 16)
		a = _mm512_fmadd_ps(load_f16x16(x + i), load_f16x16(y + i), a);
	*s = reduce512(a);
}

/* ---------------------------------------------------------------------- */

/* Dequantize a Q8_0 row. */
QT_AVX2 void
qt_q8_0_to_f32_avx2(const void *src, float *dst, int64_t n)
{
	const struct qt_block_q8_0	*x = src;
	int64_t				 i, nb = n / QK8_0;
	__m256				 d;
	__m128i				 q;
	int				 k;

	assert(n % QK8_0 == 0);
	for (i = 0; i < nb; i++, dst += QK8_0) {
		d = _mm256_set1_ps(f16_scalar(x[i].d));
		for (k = 0; k < QK8_0; k += 8) {
			q = _mm_loadl_epi64((const __m128i *)(x[i].qs + k));
			_mm256_storeu_ps(dst + k, _mm256_mul_ps(d,
			    _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q))));
		}
	}
}

/*
 * Quantize activations to Q8_0 as llama.cpp's AVX2 quantize_row_q8_0:
 * d = max|x| / 127, q = x * (127 / max|x|) rounded to nearest even,
 * packed with signed saturation.
 */
QT_AVX2 void
qt_q8_0_from_f32_avx2(const float *src, void *dst, int64_t n)
{
	struct qt_block_q8_0	*y = dst;
	const __m256		 sign = _mm256_set1_ps(-0.0f);
	int64_t			 i, nb = n / QK8_0;
	__m256			 v0, v1, v2, v3, m;
	__m128			 m4;
	__m256i			 i0, i1, i2, i3;
	float			 amax, id;

	assert(n % QK8_0 == 0);
	for (i = 0; i < nb; i++, src += QK8_0) {
		v0 = _mm256_loadu_ps(src);
		v1 = _mm256_loadu_ps(src + 8);
		v2 = _mm256_loadu_ps(src + 16);
		v3 = _mm256_loadu_ps(src + 24);

		/* The lane order here is the one q8_amax() copies. */
		m = _mm256_andnot_ps(sign, v0);
		m = _mm256_max_ps(m, _mm256_andnot_ps(sign, v1));
		m = _mm256_max_ps(m, _mm256_andnot_ps(sign, v2));
		m = _mm256_max_ps(m, _mm256_andnot_ps(sign, v3));
		m4 = _mm_max_ps(_mm256_extractf128_ps(m, 1),
		    _mm256_castps256_ps128(m));
		m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
		m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
		amax = _mm_cvtss_f32(m4);

		y[i].d = (uint16_t)_cvtss_sh(amax / 127.f,
		    _MM_FROUND_TO_NEAREST_INT);
		id = amax != 0.0f ? 127.f / amax : 0.0f;
		m = _mm256_set1_ps(id);
		i0 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v0, m),
		    QT_RNE));
		i1 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v1, m),
		    QT_RNE));
		i2 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v2, m),
		    QT_RNE));
		i3 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v3, m),
		    QT_RNE));
		i0 = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1),
		    _mm256_packs_epi32(i2, i3));
		i0 = _mm256_permutevar8x32_epi32(i0,
		    _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
		_mm256_storeu_si256((__m256i *)y[i].qs, i0);
	}
}

/* Q8_0 x Q8_0: two blocks per step into two accumulators. */
QT_AVX2 void
qt_q8_0_dot_avx2(int n, float *s, const void *vx, const void *vy)
{
	const struct qt_block_q8_0	*x = vx, *y = vy;
	int				 i, nb = n / QK8_0;
	__m256				 a0, d0, d1, p0, p1;

	/* One accumulator, blocks in order: ggml sums in this order, and so
	 * the result is the same float as llama.cpp's. */
	assert(n % QK8_0 == 0);
	a0 = _mm256_setzero_ps();
	for (i = 0; i + 2 <= nb; i += 2) {
		QT_PREFETCH(x + i, 2);	/* 68 bytes a step */
		d0 = _mm256_set1_ps(f16_scalar(x[i].d) * f16_scalar(y[i].d));
		d1 = _mm256_set1_ps(f16_scalar(x[i + 1].d) *
		    f16_scalar(y[i + 1].d));
		p0 = dot_i8x32(
		    _mm256_loadu_si256((const __m256i *)x[i].qs),
		    _mm256_loadu_si256((const __m256i *)y[i].qs));
		p1 = dot_i8x32(
		    _mm256_loadu_si256((const __m256i *)x[i + 1].qs),
		    _mm256_loadu_si256((const __m256i *)y[i + 1].qs));
		a0 = _mm256_fmadd_ps(d0, p0, a0);
		a0 = _mm256_fmadd_ps(d1, p1, a0);
	}
	if (i < nb) {
		d0 = _mm256_set1_ps(f16_scalar(x[i].d) * f16_scalar(y[i].d));
		p0 = dot_i8x32(
		    _mm256_loadu_si256((const __m256i *)x[i].qs),
		    _mm256_loadu_si256((const __m256i *)y[i].qs));
		a0 = _mm256_fmadd_ps(d0, p0, a0);
	}
	*s = hsum_f32x8(a0);
}

/* ---------------------------------------------------------------------- */

/* Dequantize a Q4_0 row. */
QT_AVX2 void
qt_q4_0_to_f32_avx2(const void *src, float *dst, int64_t n)
{
	const struct qt_block_q4_0	*x = src;
	int64_t				 i, nb = n / QK4_0;
	__m256				 d;
	__m256i				 q;
	__m128i				 lo, hi;

	assert(n % QK4_0 == 0);
	for (i = 0; i < nb; i++, dst += QK4_0) {
		d = _mm256_set1_ps(f16_scalar(x[i].d));
		q = unpack_q4_0(x[i].qs);
		lo = _mm256_castsi256_si128(q);
		hi = _mm256_extracti128_si256(q, 1);
		_mm256_storeu_ps(dst, _mm256_mul_ps(d,
		    _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(lo))));
		_mm256_storeu_ps(dst + 8, _mm256_mul_ps(d, _mm256_cvtepi32_ps(
		    _mm256_cvtepi8_epi32(_mm_srli_si128(lo, 8)))));
		_mm256_storeu_ps(dst + 16, _mm256_mul_ps(d,
		    _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(hi))));
		_mm256_storeu_ps(dst + 24, _mm256_mul_ps(d, _mm256_cvtepi32_ps(
		    _mm256_cvtepi8_epi32(_mm_srli_si128(hi, 8)))));
	}
}

/* MIN(15, (int8_t)(v * id + 8.5f)) on 8 lanes, as bytes in int32 lanes;
 * the asm keeps the product rounded (no FMA), as in ggml. */
static QT_AVX2 __m256i
q4_0_quant8(__m256 v, __m256 id)
{
	__m256	t = _mm256_mul_ps(v, id);
	__m256i	q;

	__asm__("" : "+x"(t));
	q = _mm256_cvttps_epi32(_mm256_add_ps(t, _mm256_set1_ps(8.5f)));
	q = _mm256_srai_epi32(_mm256_slli_epi32(q, 24), 24);
	q = _mm256_min_epi32(q, _mm256_set1_epi32(15));
	return _mm256_and_si256(q, _mm256_set1_epi32(0xff));
}

/* The first element of 32 whose magnitude is amax (> 0, not NaN). */
static QT_AVX2 float
q4_0_signed_max(const float *x, const __m256 *a, float amax)
{
	__m256		m = _mm256_set1_ps(amax);
	uint32_t	bits = 0;
	int		k, j;

	for (k = 0; k < 4; k++)
		bits |= (uint32_t)_mm256_movemask_ps(
		    _mm256_cmp_ps(a[k], m, _CMP_EQ_OQ)) << (8 * k);
	j = __builtin_ctz(bits);
	return x[j];
}

/* Quantize a row to Q4_0 with exactly the bits of quantize_row_q4_0_ref. */
QT_AVX2 void
qt_q4_0_from_f32_avx2(const float *src, void *dst, int64_t n)
{
	struct qt_block_q4_0	*y = dst;
	const __m256		 sign = _mm256_set1_ps(-0.0f);
	int64_t			 i, nb = n / QK4_0;
	__m256			 v[4], a[4], m, vid;
	__m128			 m4;
	__m256i			 b;
	__m128i			 lo, hi;
	float			 amax, max, d, id;
	int			 k;

	assert(n % QK4_0 == 0);
	for (i = 0; i < nb; i++, src += QK4_0) {
		/* max(a, m) returns m for a NaN a: NaNs are skipped, as
		 * ggml's "amax < fabsf(v)" skips them. */
		m = _mm256_setzero_ps();
		for (k = 0; k < 4; k++) {
			v[k] = _mm256_loadu_ps(src + 8 * k);
			a[k] = _mm256_andnot_ps(sign, v[k]);
			m = _mm256_max_ps(a[k], m);
		}
		m4 = _mm_max_ps(_mm256_extractf128_ps(m, 1),
		    _mm256_castps256_ps128(m));
		m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
		m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
		amax = _mm_cvtss_f32(m4);
		max = amax > 0.0f ? q4_0_signed_max(src, a, amax) : 0.0f;

		d = max / -8;
		id = d != 0.0f ? 1.0f / d : 0.0f;
		y[i].d = (uint16_t)_cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT);
		vid = _mm256_set1_ps(id);
		b = pack_u8x32(q4_0_quant8(v[0], vid), q4_0_quant8(v[1], vid),
		    q4_0_quant8(v[2], vid), q4_0_quant8(v[3], vid));
		lo = _mm256_castsi256_si128(b);
		hi = _mm_and_si128(_mm_slli_epi16(_mm256_extracti128_si256(b,
		    1), 4), _mm_set1_epi8((char)0xf0));
		_mm_storeu_si128((__m128i *)y[i].qs, _mm_or_si128(lo, hi));
	}
}

/* Q4_0 x Q8_0: two blocks per step into two accumulators. */
QT_AVX2 void
qt_q4_0_dot_avx2(int n, float *s, const void *vx, const void *vy)
{
	const struct qt_block_q4_0	*x = vx;
	const struct qt_block_q8_0	*y = vy;
	int				 i, nb = n / QK4_0;
	__m256				 a0, d0, d1, p0, p1;

	assert(n % QK4_0 == 0);
	a0 = _mm256_setzero_ps();
	for (i = 0; i + 2 <= nb; i += 2) {
		d0 = _mm256_set1_ps(f16_scalar(x[i].d) * f16_scalar(y[i].d));
		d1 = _mm256_set1_ps(f16_scalar(x[i + 1].d) *
		    f16_scalar(y[i + 1].d));
		p0 = dot_i8x32(unpack_q4_0(x[i].qs),
		    _mm256_loadu_si256((const __m256i *)y[i].qs));
		p1 = dot_i8x32(unpack_q4_0(x[i + 1].qs),
		    _mm256_loadu_si256((const __m256i *)y[i + 1].qs));
		a0 = _mm256_fmadd_ps(d0, p0, a0);
		a0 = _mm256_fmadd_ps(d1, p1, a0);
	}
	if (i < nb) {
		d0 = _mm256_set1_ps(f16_scalar(x[i].d) * f16_scalar(y[i].d));
		p0 = dot_i8x32(unpack_q4_0(x[i].qs),
		    _mm256_loadu_si256((const __m256i *)y[i].qs));
		a0 = _mm256_fmadd_ps(d0, p0, a0);
	}
	*s = hsum_f32x8(a0);
}

/* ---------------------------------------------------------------------- */

/* y = f16(f32(y) + f32(x) * v), one rounding for the multiply-add. */
QT_AVX2 void
qt_f16_mad_avx2(int n, uint16_t *y, const uint16_t *x, float v)
{
	__m256	vv = _mm256_set1_ps(v), r;
	int	i;

	for (i = 0; i + 8 <= n; i += 8) {
		r = _mm256_fmadd_ps(load_f16x8(x + i), vv, load_f16x8(y + i));
		_mm_storeu_si128((__m128i *)(y + i), _mm256_cvtps_ph(r, 0));
	}
	for (; i < n; i++)
		y[i] = _cvtss_sh(fmaf(f16_scalar(x[i]), v, f16_scalar(y[i])),
		    0);
}

/* y = f16(f32(y) * v). */
QT_AVX2 void
qt_f16_scale_avx2(int n, uint16_t *y, float v)
{
	__m256	vv = _mm256_set1_ps(v);
	int	i;

	for (i = 0; i + 8 <= n; i += 8)
		_mm_storeu_si128((__m128i *)(y + i), _mm256_cvtps_ph(
		    _mm256_mul_ps(load_f16x8(y + i), vv), 0));
	for (; i < n; i++)
		y[i] = _cvtss_sh(f16_scalar(y[i]) * v, 0);
}

#endif /* QT_HAVE_AVX2 */
