/*
 * Random test data for the kernel tests (t_gemm, t_gemm_k): a small LCG
 * and blocks of raw bytes with finite scales.
 */
#ifndef YT_TESTS_KRAND_H
#define YT_TESTS_KRAND_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/quant.h"

static inline float
frand(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return ((*s >> 8) / 16777216.0f - 0.5f) * 2.0f;
}

/*
 * Overwrite the quants of nb blocks of a K-quant, Q8_K or Q8_0 type with
 * random bytes, every bit pattern a file could hold, keeping the scales
 * d (and dmin) finite: the integer paths then meet their extremes.
 */
static inline void
raw_k(uint32_t type, uint8_t *p, size_t nb, unsigned *seed)
{
	size_t		bsize = qt_get(type)->bsize, b, i, off;
	uint16_t	h;
	float		f;

	for (b = 0; b < nb; b++, p += bsize) {
		for (i = 0; i < bsize; i++) {
			*seed = *seed * 1103515245u + 12345u;
			p[i] = (uint8_t)(*seed >> 16);
		}
		if (type == QT_Q8_K) {
			f = frand(seed) * 0.05f;
			memcpy(p, &f, sizeof f);
			continue;
		}
		/* d and dmin lead Q4_K and Q5_K blocks and end Q2_K's, d
		 * leads Q8_0's and ends Q3_K's and Q6_K's. */
		off = type == QT_Q6_K || type == QT_Q3_K ? bsize - 2 :
		    type == QT_Q2_K ? bsize - 4 : 0;
		for (i = 0; i < (type == QT_Q6_K || type == QT_Q3_K ||
		    type == QT_Q8_0 ? 1u : 2u); i++) {
			h = qt_f32_to_f16(frand(seed) * 0.01f);
			memcpy(p + off + 2 * i, &h, sizeof h);
		}
	}
}

#define RAW_W	1	/* random weight bytes */
#define RAW_A	2	/* random activation bytes */

/*
 * The operands of a kernel test: nr weight rows of a type (wrow bytes
 * each, into w) and nt rows of its dot type (arow bytes, into a), k
 * values each, quantized from seeded random floats as a file and the
 * engine would; raw (RAW_W, RAW_A) then overwrites their quants with
 * random bytes (raw_k).
 */
static inline void
k_operands(uint32_t type, int k, int nr, int nt, int raw, unsigned *seed,
    uint8_t *w, size_t wrow, uint8_t *a, size_t arow)
{
	const struct qt_traits	*wt = qt_get(type);
	const struct qt_traits	*at = qt_get(wt->dot_type);
	float			*x = malloc((size_t)k * sizeof *x);
	int			 r, t, i;

	if (x == NULL)
		abort();
	for (r = 0; r < nr; r++) {
		for (i = 0; i < k; i++)
			x[i] = frand(seed) * (1 + r % 3) + (r % 4 == 1 ?
			    0.5f : 0);
		qt_quantize_weights(type, x, w + r * wrow, k);
	}
	for (t = 0; t < nt; t++) {
		for (i = 0; i < k; i++)
			x[i] = frand(seed) * (3 + t % 5) - (t % 3 == 2 ?
			    1.5f : 0);
		at->from_f32(x, a + t * arow, k);
	}
	if (raw & RAW_W)
		raw_k(type, w, wrow * nr / wt->bsize, seed);
	if (raw & RAW_A)
		raw_k(wt->dot_type, a, arow * nt / at->bsize, seed);
	free(x);
}

#endif
