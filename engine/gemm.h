/*
 * Tiled matrix products for prompt evaluation: several weight rows times
 * several activation rows at once, each weight block unpacked once per
 * tile instead of once per token.  Every output is the same float as the
 * type's dot kernel gives (same lane sums, same order), so prefill and
 * decode compute identical numbers.
 */
#ifndef YT_ENGINE_GEMM_H
#define YT_ENGINE_GEMM_H

#include <stddef.h>
#include <stdint.h>

/*
 * y[t * ys + r] = dot(row r of w, row t of a) for r < nr, t < nt:
 * w holds nr rows of wrow bytes, a holds nt rows of arow bytes (the
 * weight's dot type), k values each.
 */
typedef void (*gemm_fn)(int k, const void *w, size_t wrow, int nr,
    const void *a, size_t arow, int nt, float *y, size_t ys);

/* The orders of a type's dots (struct qt_traits): dot, dot_rp1, dot_rp4. */
enum gemm_order {
	GEMM_DOT,
	GEMM_RP1,
	GEMM_RP4
};

/* The tiled kernel for a weight type on this CPU, or NULL (use dots). */
gemm_fn	gemm_get(uint32_t type);
/* The same for one of the type's orders: every output is the float that
 * order's dot gives; NULL if there is no such kernel. */
gemm_fn	gemm_get_order(uint32_t type, int order);
/* A given variant (0: AVX2, 1: AVX512-VNNI) of it, or NULL if this CPU
 * or the type lacks it; for tests. */
gemm_fn	gemm_get_variant(uint32_t type, int order, int vnni);
/* gemm_k.c's kernels for gemm_get_order: the VNNI variant where there is
 * one and it may run (YANGTUO_NO_VNNI), else AVX2 (gemm_k.h has both). */
gemm_fn	gemm_k_get(uint32_t type, int order);

/*
 * Kernels over repacked weights (repack.h): y[t * ys + r] for the nr rows
 * (a multiple of 8) of w, against nt Q8_0 activation rows of arow bytes;
 * af[t * nb + b] is block b's scale as a float and ac the layout's
 * corrections (see gemm_act_sums): for Q4_0 x8, ac[t * nb + b] = -8 times
 * the sum of the block's quants, and each output adds the blocks in order
 * as acc = fmaf((float)isum_b, d_w * d_a, acc) (llama.cpp's repacked Q4_0
 * order); for Q8_0 x8, ac[(t * nb + b) * 8 + c] = -128 times the sum of
 * the block's quants 4c..4c+3, and each output is the float of the Q8_0
 * dot (eight lane chains, llama.cpp's vec_dot order).  Whatever the
 * variant, tile or nt: decode (nt = 1) and prompts give the same floats.
 */
typedef void (*gemm_rp_fn)(int k, const void *w, int nr, const void *a,
    size_t arow, const float *af, const int32_t *ac, int nt, float *y,
    size_t ys);

/* The kernel for a repacked layout on this CPU, or NULL. */
gemm_rp_fn	gemm_get_rp(int kind);
/* A given variant (0: AVX2, 1: AVX512-VNNI on 256 bits, 2: on 512 bits),
 * or NULL if this CPU or the layout lacks it; for tests. */
gemm_rp_fn	gemm_get_rp_variant(int kind, int variant);
/* The per-block float scales and the corrections of one Q8_0 row: ac8
 * one per block (-8 times its quant sum), ac128 eight per block (-128
 * times the sum of each 4 quants). */
void		gemm_act_sums(const void *row, int k, float *af,
		    int32_t *ac8, int32_t *ac128);

/*
 * The kernel over Q4_K rows repacked sixteen at a time (RP_Q4_KX16):
 * y[t * ys + r] for the nr rows (a multiple of 16) of w against nt Q8_K
 * rows of arow bytes, each the float of the dot in the repacked order
 * asked for (GEMM_RP4 or GEMM_RP1: qt_traits dot_rp4, dot_rp1) bit for
 * bit, so decode and prompts agree with the file's rows.
 */
typedef void (*gemm_rpk_fn)(int k, const void *w, int nr, const void *a,
    size_t arow, int nt, float *y, size_t ys, int order);

/* gemm_k.c's kernel for a repacked K-quant layout: AVX512-VNNI where it
 * may run (YANGTUO_NO_VNNI), else AVX2; NULL without AVX2. */
gemm_rpk_fn	gemm_k_get_rp(int kind);

#endif
