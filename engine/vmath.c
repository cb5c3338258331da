/*
 * SwiGLU with ggml's vector exp: exp(x) = 2^n * p(b), n = round(x/ln2)
 * found with the 1.5*2^23 shift trick, b = x - n*ln2 in two parts, p a
 * degree-5 polynomial, and a scaled path when |n| > 126.  The constants
 * are those of the published routine llama.cpp adapts (the Arm
 * optimized-routines expf); the code is ours.
 */
#include "config.h"

#include "vmath.h"

#include <math.h>
#include <string.h>

#include "quant.h"

static float
silu_scalar(float x)
{
	return x / (1.0f + expf(-x));
}

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#include <immintrin.h>

#define VM_AVX2	__attribute__((target("avx2,fma")))

static VM_AVX2 inline __m256
vexp(__m256 x)
{
	const __m256	shift = _mm256_set1_ps(0x1.8p23f);
	__m256		z, n, b, k, u, j, s1, s2, absn;
	__m256i		e, c, d, g;

	z = _mm256_fmadd_ps(x, _mm256_set1_ps(0x1.715476p+0f), shift);
	n = _mm256_sub_ps(z, shift);
	b = _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.7f7d1cp-20f),
	    _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.62e4p-1f), x));
	e = _mm256_slli_epi32(_mm256_castps_si256(z), 23);
	k = _mm256_castsi256_ps(_mm256_add_epi32(e,
	    _mm256_castps_si256(_mm256_set1_ps(1.0f))));
	absn = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), n);
	c = _mm256_castps_si256(_mm256_cmp_ps(absn, _mm256_set1_ps(126.0f),
	    _CMP_GT_OQ));
	u = _mm256_mul_ps(b, b);
	j = _mm256_fmadd_ps(_mm256_fmadd_ps(_mm256_fmadd_ps(
	    _mm256_set1_ps(0x1.0e4020p-7f), b, _mm256_set1_ps(0x1.573e2ep-5f)),
	    u, _mm256_fmadd_ps(_mm256_set1_ps(0x1.555e66p-3f), b,
	    _mm256_set1_ps(0x1.fffdb6p-2f))), u,
	    _mm256_mul_ps(_mm256_set1_ps(0x1.ffffecp-1f), b));
	if (!_mm256_movemask_ps(_mm256_castsi256_ps(c)))
		return _mm256_fmadd_ps(j, k, k);
	/* |n| > 126: split the scale in two so it neither overflows nor
	 * flushes early; beyond 192 the result is 0 or infinity. */
	g = _mm256_and_si256(_mm256_castps_si256(_mm256_cmp_ps(n,
	    _mm256_setzero_ps(), _CMP_LE_OQ)), _mm256_set1_epi32(0x82000000));
	s1 = _mm256_castsi256_ps(_mm256_add_epi32(g,
	    _mm256_set1_epi32(0x7f000000)));
	s2 = _mm256_castsi256_ps(_mm256_sub_epi32(e, g));
	d = _mm256_castps_si256(_mm256_cmp_ps(absn, _mm256_set1_ps(192.0f),
	    _CMP_GT_OQ));
	return _mm256_or_ps(
	    _mm256_and_ps(_mm256_castsi256_ps(d), _mm256_mul_ps(s1, s1)),
	    _mm256_andnot_ps(_mm256_castsi256_ps(d), _mm256_or_ps(
	    _mm256_and_ps(_mm256_castsi256_ps(c),
	    _mm256_mul_ps(_mm256_fmadd_ps(s2, j, s2), s1)),
	    _mm256_andnot_ps(_mm256_castsi256_ps(c),
	    _mm256_fmadd_ps(k, j, k)))));
}

static VM_AVX2 void
swiglu_avx2(int n, float *y, const float *x, const float *g)
{
	__m256	v, s;
	int	i;

	for (i = 0; i + 8 <= n; i += 8) {
		v = _mm256_loadu_ps(x + i);
		s = _mm256_div_ps(v, _mm256_add_ps(_mm256_set1_ps(1.0f),
		    vexp(_mm256_sub_ps(_mm256_setzero_ps(), v))));
		_mm256_storeu_ps(y + i, _mm256_mul_ps(s,
		    _mm256_loadu_ps(g + i)));
	}
	for (; i < n; i++)
		y[i] = silu_scalar(x[i]) * g[i];
}
#endif

/* y = silu(x) * g, rounded as llama.cpp's AVX2 build rounds it. */
void
vm_swiglu(int n, float *y, const float *x, const float *g)
{
	int	i;

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
	if (strcmp(qt_simd_name(), "avx2") == 0) {
		swiglu_avx2(n, y, x, g);
		return;
	}
#endif
	for (i = 0; i < n; i++)
		y[i] = silu_scalar(x[i]) * g[i];
}
