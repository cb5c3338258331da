/*
 * SwiGLU with ggml's vector exp: exp(x) = 2^n * p(b), n = round(x/ln2)
 * found with the 1.5*2^23 shift trick, b = x - n*ln2 in two parts, p a
 * degree-5 polynomial, and a scaled path when |n| > 126.  The constants
 * are those of the published routine llama.cpp adapts (the Arm
 * optimized-routines expf); the code is ours.  llama.cpp's AVX-512 builds
 * evaluate the same polynomial another way (the 1 inside it, the scale by
 * vscalefps) on groups of 16, which rounds some values differently: where
 * the AVX-512 kernels run (qt_vnni), so do we.
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

#define VM_AVX512	__attribute__((target("avx512f,avx512dq,fma")))

/* exp(x) as llama.cpp's AVX-512 build: p(b) with its leading 1, scaled by
 * 2^n with vscalefps; |n| > 192 gives 0 or infinity. */
static VM_AVX512 inline __m512
vexp512(__m512 x)
{
	const __m512	shift = _mm512_set1_ps(0x1.8p23f);
	__m512		z, n, b, u, j, r, big;
	__mmask16	d;

	z = _mm512_fmadd_ps(x, _mm512_set1_ps(0x1.715476p+0f), shift);
	n = _mm512_sub_ps(z, shift);
	b = _mm512_fnmadd_ps(n, _mm512_set1_ps(0x1.7f7d1cp-20f),
	    _mm512_fnmadd_ps(n, _mm512_set1_ps(0x1.62e4p-1f), x));
	d = _mm512_cmp_ps_mask(_mm512_abs_ps(n), _mm512_set1_ps(192.0f),
	    _CMP_GT_OQ);
	u = _mm512_mul_ps(b, b);
	j = _mm512_fmadd_ps(_mm512_fmadd_ps(_mm512_fmadd_ps(
	    _mm512_set1_ps(0x1.0e4020p-7f), b, _mm512_set1_ps(0x1.573e2ep-5f)),
	    u, _mm512_fmadd_ps(_mm512_set1_ps(0x1.555e66p-3f), b,
	    _mm512_set1_ps(0x1.fffdb6p-2f))), u,
	    _mm512_fmadd_ps(_mm512_set1_ps(0x1.ffffecp-1f), b,
	    _mm512_set1_ps(1.0f)));
	r = _mm512_scalef_ps(j, n);
	if (d == 0)
		return r;
	big = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(n, _mm512_setzero_ps(),
	    _CMP_LE_OQ), _mm512_set1_ps(INFINITY), _mm512_setzero_ps());
	return _mm512_mask_blend_ps(d, r, big);
}

/* Groups of 16 as ggml's AVX-512 ggml_vec_swiglu_f32, libm's on the rest. */
static VM_AVX512 void
swiglu_avx512(int n, float *y, const float *x, const float *g)
{
	__m512	v, s;
	int	i;

	for (i = 0; i + 16 <= n; i += 16) {
		v = _mm512_loadu_ps(x + i);
		s = _mm512_div_ps(v, _mm512_add_ps(_mm512_set1_ps(1.0f),
		    vexp512(_mm512_sub_ps(_mm512_setzero_ps(), v))));
		_mm512_storeu_ps(y + i, _mm512_mul_ps(s,
		    _mm512_loadu_ps(g + i)));
	}
	for (; i < n; i++)
		y[i] = silu_scalar(x[i]) * g[i];
}

#endif

/* y = silu(x) * g, rounded as llama.cpp's build for this CPU (AVX-512 or
 * AVX2) rounds it. */
void
vm_swiglu(int n, float *y, const float *x, const float *g)
{
	int	i;

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
	if (qt_vnni() && __builtin_cpu_supports("avx512dq")) {
		swiglu_avx512(n, y, x, g);
		return;
	}
	if (strcmp(qt_simd_name(), "avx2") == 0) {
		swiglu_avx2(n, y, x, g);
		return;
	}
#endif
	for (i = 0; i < n; i++)
		y[i] = silu_scalar(x[i]) * g[i];
}
