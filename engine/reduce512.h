/*
 * The horizontal sum of llama.cpp's AVX-512 builds (_mm512_reduce_add_ps
 * as GCC expands it: halves, quarters, pairs, then the two), for the
 * kernels that mirror them.  Include after <immintrin.h>.
 */
#ifndef YT_ENGINE_REDUCE512_H
#define YT_ENGINE_REDUCE512_H

static __attribute__((target("avx512f"), unused)) inline float
reduce512(__m512 v)
{
	__m256	h = _mm256_add_ps(_mm256_castpd_ps(_mm512_extractf64x4_pd(
		    _mm512_castps_pd(v), 1)), _mm512_castps512_ps256(v));
	__m128	q = _mm_add_ps(_mm256_extractf128_ps(h, 1),
		    _mm256_castps256_ps128(h));

	q = _mm_add_ps(q, _mm_shuffle_ps(q, q, _MM_SHUFFLE(1, 0, 3, 2)));
	return _mm_cvtss_f32(q) + _mm_cvtss_f32(_mm_shuffle_ps(q, q, 1));
}

#endif
