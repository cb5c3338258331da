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

#include "vmath_avx2.h"

#define VM_AVX2	__attribute__((target("avx2,fma")))

static VM_AVX2 void
swiglu_avx2(int n, float *y, const float *x, const float *g)
{
	__m256	v, s;
	int	i;

	for (i = 0; i + 8 <= n; i += 8) {
		v = _mm256_loadu_ps(x + i);
		s = _mm256_div_ps(v, _mm256_add_ps(_mm256_set1_ps(1.0f),
		    vm_vexp(_mm256_sub_ps(_mm256_setzero_ps(), v))));
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
