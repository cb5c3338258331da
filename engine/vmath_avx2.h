/*
 * ggml's vector exp on AVX2 (see vmath.c), for the files that use it:
 * exp(x) = 2^n * p(b), n = round(x/ln2) by the 1.5*2^23 shift trick,
 * b = x - n*ln2 in two parts, p of degree 5, and a scaled path when
 * |n| > 126.  Include after <immintrin.h>.
 */
#ifndef YT_ENGINE_VMATH_AVX2_H
#define YT_ENGINE_VMATH_AVX2_H

static __attribute__((target("avx2,fma"), unused)) inline __m256
vm_vexp(__m256 x)
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

#endif
