/*
 * Random test data for the kernel tests (t_gemm, t_gemm_k): a small LCG
 * and blocks of raw bytes with finite scales.
 */
#ifndef YT_TESTS_KRAND_H
#define YT_TESTS_KRAND_H

#include <stdint.h>
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
		/* d and dmin lead Q4_K and Q5_K blocks, d leads Q8_0's and
		 * ends Q6_K's. */
		off = type == QT_Q6_K ? bsize - 2 : 0;
		for (i = 0; i < (type == QT_Q6_K || type == QT_Q8_0 ? 1u :
		    2u); i++) {
			h = qt_f32_to_f16(frand(seed) * 0.01f);
			memcpy(p + off + 2 * i, &h, sizeof h);
		}
	}
}

#endif
