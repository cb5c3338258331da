/*
 * Internals shared by quant.c and quant_avx2.c: the block layouts of the
 * computed quant types and the prototypes of the AVX2 kernels, which
 * qt_init() installs when the CPU has AVX2, FMA and F16C.  Nothing outside
 * engine/quant*.c includes this.
 */
#ifndef YT_ENGINE_QUANT_IMPL_H
#define YT_ENGINE_QUANT_IMPL_H

#include <stdint.h>

#include "quant.h"

/* Q4_0: 18 bytes per 32 weights; element j is (qs[j] & 15) - 8 and
 * element j + 16 is (qs[j] >> 4) - 8, each times the fp16 scale d. */
struct qt_block_q4_0 {
	uint16_t	d;
	uint8_t		qs[QK4_0 / 2];
};

/* Q8_0: 34 bytes per 32 values, value j = d * qs[j]. */
struct qt_block_q8_0 {
	uint16_t	d;
	int8_t		qs[QK8_0];
};

/* The AVX2 kernels are compiled per function with a target attribute, so
 * they exist on any x86 GCC or clang build, whatever -m flags were used. */
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define QT_HAVE_AVX2 1

void	qt_f32_dot_avx2(int, float *, const void *, const void *);

void	qt_f16_to_f32_avx2(const void *, float *, int64_t);
void	qt_f16_from_f32_avx2(const float *, void *, int64_t);
void	qt_f16_dot_avx2(int, float *, const void *, const void *);

void	qt_bf16_to_f32_avx2(const void *, float *, int64_t);
void	qt_bf16_from_f32_avx2(const float *, void *, int64_t);
void	qt_bf16_dot_avx2(int, float *, const void *, const void *);

void	qt_q8_0_to_f32_avx2(const void *, float *, int64_t);
void	qt_q8_0_from_f32_avx2(const float *, void *, int64_t);
void	qt_q8_0_dot_avx2(int, float *, const void *, const void *);

void	qt_q4_0_to_f32_avx2(const void *, float *, int64_t);
void	qt_q4_0_from_f32_avx2(const float *, void *, int64_t);
void	qt_q4_0_dot_avx2(int, float *, const void *, const void *);

void	qt_f16_mad_avx2(int, uint16_t *, const uint16_t *, float);
void	qt_f16_scale_avx2(int, uint16_t *, float);
#endif

#endif
