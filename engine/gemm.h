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

/* The tiled kernel for a weight type on this CPU, or NULL (use dots). */
gemm_fn	gemm_get(uint32_t type);

#endif
