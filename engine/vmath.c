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
#include <stdatomic.h>
#include <stdint.h>
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

/*
 * glibc's expf (since 2.28; Szabolcs Nagy's, from Arm's optimized
 * routines), lane for lane: in double, k = round(x * 32 / ln 2) by the
 * 1.5 * 2^52 shift, r = x * 32 / ln 2 - k with one rounding (an FMA),
 * 2^(k/32) from a table of 2^(i/32) with k / 32 added to the exponent,
 * and 2^(r/32) ~ C0 r^3 + C1 r^2 + C2 r + 1 as (C0 r + C1) r^2 + (C2 r
 * + 1); the product rounded once to float.  The constants are the
 * published ones of that routine; the FMAs are where its FMA build has
 * them (as compiled in Debian 12's libm).  Arguments at or beyond |x| =
 * 88 (and inf, nan) take libm's expf itself, for its special cases.
 */
#define VM_INVLN2N	(0x1.71547652b82fep+0 * 32)	/* 32 / ln 2 */
#define VM_SHIFT	0x1.8p+52
#define VM_C0		(0x1.c6af84b912394p-5 / 32 / 32 / 32)
#define VM_C1		(0x1.ebfce50fac4f3p-3 / 32 / 32)
#define VM_C2		(0x1.62e42ff0c52d6p-1 / 32)
#define VM_TOP88	0x42b	/* bits 20-30 of 88.0f */

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
static const uint64_t	vm_exp2_tab[32] = {
	0x3ff0000000000000, 0x3fefd9b0d3158574, 0x3fefb5586cf9890f,
	0x3fef9301d0125b51, 0x3fef72b83c7d517b, 0x3fef54873168b9aa,
	0x3fef387a6e756238, 0x3fef1e9df51fdee1, 0x3fef06fe0a31b715,
	0x3feef1a7373aa9cb, 0x3feedea64c123422, 0x3feece086061892d,
	0x3feebfdad5362a27, 0x3feeb42b569d4f82, 0x3feeab07dd485429,
	0x3feea47eb03a5585, 0x3feea09e667f3bcd, 0x3fee9f75e8ec5f74,
	0x3feea11473eb0187, 0x3feea589994cce13, 0x3feeace5422aa0db,
	0x3feeb737b0cdc5e5, 0x3feec49182a3f090, 0x3feed503b23e255d,
	0x3feee89f995ad3ad, 0x3feeff76f2fb5e47, 0x3fef199bdd85529c,
	0x3fef3720dcef9069, 0x3fef5818dcfba487, 0x3fef7c97337b9b5f,
	0x3fefa4afa2a490da, 0x3fefd0765b6e4540,
};
/* Four lanes, every |x| below 88. */
static VM_AVX2 __m128
expf4(__m128 x)
{
	const __m256d	invln2n = _mm256_set1_pd(VM_INVLN2N);
	const __m256d	shift = _mm256_set1_pd(VM_SHIFT);
	__m256d		xd, z, kd, r, r2, s, p, y;
	__m256i		ki, t;

	xd = _mm256_cvtps_pd(x);
	z = _mm256_fmadd_pd(invln2n, xd, shift);
	ki = _mm256_castpd_si256(z);
	kd = _mm256_sub_pd(z, shift);
	r = _mm256_fmsub_pd(invln2n, xd, kd);
	t = _mm256_i64gather_epi64((const long long *)vm_exp2_tab,
	    _mm256_and_si256(ki, _mm256_set1_epi64x(31)), 8);
	s = _mm256_castsi256_pd(_mm256_add_epi64(t, _mm256_slli_epi64(ki,
	    52 - 5)));
	p = _mm256_fmadd_pd(r, _mm256_set1_pd(VM_C0), _mm256_set1_pd(VM_C1));
	r2 = _mm256_mul_pd(r, r);
	y = _mm256_fmadd_pd(r, _mm256_set1_pd(VM_C2), _mm256_set1_pd(1.0));
	y = _mm256_fmadd_pd(p, r2, y);
	return _mm256_cvtpd_ps(_mm256_mul_pd(y, s));
}

static VM_AVX2 void
expf_avx2(float *x, int n)
{
	const __m128i	topmask = _mm_set1_epi32(0x7ff);
	int		i, k, big;

	for (i = 0; i + 4 <= n; i += 4) {
		__m128	v = _mm_loadu_ps(x + i);
		__m128i	top = _mm_and_si128(_mm_srli_epi32(
			    _mm_castps_si128(v), 20), topmask);

		big = _mm_movemask_ps(_mm_castsi128_ps(_mm_cmpgt_epi32(top,
		    _mm_set1_epi32(VM_TOP88 - 1))));
		if (big == 0) {
			_mm_storeu_ps(x + i, expf4(v));
			continue;
		}
		for (k = 0; k < 4; k++)
			x[i + k] = expf(x[i + k]);
	}
	for (; i < n; i++)
		x[i] = expf(x[i]);
}

/* 1 if expf_avx2 gives libm's floats on a sample: about every 2^20th
 * bit pattern below 88 in size, both signs, and 2048 floats evenly
 * spaced from -88 to 88 (t_attn sweeps 17 million). */
static int
expf_check(void)
{
	float		 x[4096], y[4096];
	uint32_t	 u, k;
	int		 i, n = 0;

	for (k = 0; k < 2048; k++) {
		u = (k & 1023) * (0x42b00000u / 1024) + (k * 2654435761u &
		    0x3ff);
		u |= (k & 1024) ? 0x80000000u : 0;
		memcpy(&x[n++], &u, 4);
	}
	for (i = 0; n < 4096; i++)
		x[n++] = -87.9f + (float)i * (88.0f / 1024);
	memcpy(y, x, sizeof y);
	expf_avx2(y, n);
	for (i = 0; i < n; i++)
		if (memcmp(&y[i], &(float){ expf(x[i]) }, 4) != 0)
			return 0;
	return 1;
}
#endif

int
vm_expf_exact(void)
{
	static atomic_int	state;	/* 0 unknown, 1 exact, -1 not */
	int			v;

	if ((v = atomic_load(&state)) == 0) {
		v = -1;
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
		if (__builtin_cpu_supports("avx2") &&
		    __builtin_cpu_supports("fma") && expf_check())
			v = 1;
#endif
		atomic_store(&state, v);
	}
	return v == 1;
}

void
vm_expf(float *x, int n)
{
	int	i;

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
	if (vm_expf_exact()) {
		expf_avx2(x, n);
		return;
	}
#endif
	for (i = 0; i < n; i++)
		x[i] = expf(x[i]);
}
