/*
 * The K-quant prompt tiles of gemm_k.c by variant, for tests and
 * benchmarks; the engine reaches them through gemm.h's gemm_k_get.
 */
#ifndef YT_ENGINE_GEMM_K_H
#define YT_ENGINE_GEMM_K_H

#include <stdint.h>

#include "gemm.h"

/* The AVX2 (vnni 0) or AVX512-VNNI (vnni 1) tile of a K-quant type in an
 * order (enum gemm_order), or NULL if this CPU or the type lacks it. */
gemm_fn	gemm_k_get_variant(uint32_t type, int order, int vnni);

#endif
