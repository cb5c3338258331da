/*
 * Q2_K in the orders of llama.cpp's repacked q2_K_8x8 kernels, which its
 * AVX-512 builds use for weights of 8k rows (its AVX2 build keeps
 * vec_dot): per super-block (gemv: decode and the T % 4 tail of a batch)
 * or per half super-block (gemm: the rows in fours) an exact integer sum
 * of scale x quant x q8 and one of min x bsum, each folded into a float
 * with one FMA by d_w d_a and dmin_w d_a, the mins subtracted at the end.
 */
#include "config.h"

#include <assert.h>
#include <math.h>

#include "quant.h"
#include "quant_impl.h"

/* The 2-bit quant of element e of a Q2_K block. */
static inline int
q2(const uint8_t *qs, int e)
{
	return (qs[e / 128 * 32 + e % 32] >> (2 * (e % 128 / 32))) & 3;
}

/* The integer sums of elements e0..e0+step-1 of a block pair. */
static void
q2_K_isums(const struct qt_block_q2_K *x, const struct qt_block_q8_K *y,
    int e0, int step, int32_t *isum, int32_t *imin)
{
	int	e, k;

	*isum = *imin = 0;
	for (e = e0; e < e0 + step; e++)
		*isum += (x->scales[e / 16] & 15) * q2(x->qs, e) * y->qs[e];
	for (k = e0 / 16; k < (e0 + step) / 16; k++)
		*imin += (x->scales[k] >> 4) * y->bsums[k];
}

static float
q2_K_dot_rp(int n, const void *vx, const void *vy, int step,
    void (*sums)(const struct qt_block_q2_K *, const struct qt_block_q8_K *,
    int, int, int32_t *, int32_t *))
{
	const struct qt_block_q2_K	*x = vx;
	const struct qt_block_q8_K	*y = vy;
	int				 i, e0, nb = n / QK_K;
	int32_t				 isum, imin;
	float				 acc = 0, accm = 0, d, dmin;

	assert(n % QK_K == 0);
	for (i = 0; i < nb; i++) {
		d = qt_f16_to_f32(x[i].d) * y[i].d;
		dmin = qt_f16_to_f32(x[i].dmin) * y[i].d;
		for (e0 = 0; e0 < QK_K; e0 += step) {
			sums(&x[i], &y[i], e0, step, &isum, &imin);
			acc = fmaf((float)isum, d, acc);
			accm = fmaf((float)imin, dmin, accm);
		}
	}
	return acc - accm;
}

/* Q2_K x Q8_K as llama.cpp's repacked gemv (decode, batch tails). */
void
qt_q2_K_dot_rp1_ref(int n, float *s, const void *vx, const void *vy)
{
	*s = q2_K_dot_rp(n, vx, vy, QK_K, q2_K_isums);
}

/* Q2_K x Q8_K as llama.cpp's repacked gemm (batch rows in fours). */
void
qt_q2_K_dot_rp4_ref(int n, float *s, const void *vx, const void *vy)
{
	*s = q2_K_dot_rp(n, vx, vy, QK_K / 2, q2_K_isums);
}

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#include <immintrin.h>

#define RP_AVX2	__attribute__((target("avx2,fma")))

/*
 * The same integers with AVX2: a 128-element half holds 32 bytes of
 * quants, each byte four 2-bit values (shifts 0, 2, 4, 6) for elements
 * l, l + 32, l + 64, l + 96 of the half; vpmaddubsw multiplies them by
 * the q8 bytes in pairs, vpmaddwd by the sub-block scales (one per 16
 * elements) and adds pairs again, the lanes are added at the end.  The
 * sums are exact in int16 (3 x 128 x 2) and int32, so any order of adding
 * gives the scalar's integer.
 */
static RP_AVX2 void
q2_K_isums_avx2(const struct qt_block_q2_K *x, const struct qt_block_q8_K *y,
    int e0, int step, int32_t *isum, int32_t *imin)
{
	const __m256i	m3 = _mm256_set1_epi8(3);
	__m256i		acc = _mm256_setzero_si256(), q, p, sc;
	__m128i		s;
	int		h, j, k, sub;

	for (h = e0 / 128; h < (e0 + step) / 128; h++) {
		q = _mm256_loadu_si256((const __m256i *)(const void *)
		    (x->qs + 32 * h));
		for (j = 0; j < 4; j++) {
			/* Elements 128h + 32j + l, l = 0..31: sub-blocks
			 * 8h + 2j (l < 16) and 8h + 2j + 1. */
			sub = 8 * h + 2 * j;
			p = _mm256_maddubs_epi16(_mm256_and_si256(
			    _mm256_srli_epi16(q, 2 * j), m3),
			    _mm256_loadu_si256((const __m256i *)(const void *)
			    (y->qs + 128 * h + 32 * j)));
			sc = _mm256_setr_m128i(
			    _mm_set1_epi16((short)(x->scales[sub] & 15)),
			    _mm_set1_epi16((short)(x->scales[sub + 1] & 15)));
			acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p, sc));
		}
	}
	s = _mm_add_epi32(_mm256_castsi256_si128(acc),
	    _mm256_extracti128_si256(acc, 1));
	s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
	s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
	*isum = _mm_cvtsi128_si32(s);
	*imin = 0;
	for (k = e0 / 16; k < (e0 + step) / 16; k++)
		*imin += (x->scales[k] >> 4) * y->bsums[k];
}

/* qt_q2_K_dot_rp1_ref with AVX2 integer sums (the same floats). */
RP_AVX2 void
qt_q2_K_dot_rp1_avx2(int n, float *s, const void *vx, const void *vy)
{
	*s = q2_K_dot_rp(n, vx, vy, QK_K, q2_K_isums_avx2);
}

/* qt_q2_K_dot_rp4_ref with AVX2 integer sums (the same floats). */
RP_AVX2 void
qt_q2_K_dot_rp4_avx2(int n, float *s, const void *vx, const void *vy)
{
	*s = q2_K_dot_rp(n, vx, vy, QK_K / 2, q2_K_isums_avx2);
}
#endif
