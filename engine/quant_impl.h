/*
 * Internals shared by quant.c, quant_k*.c, quant_legacy.c and their AVX2
 * twins: the block layouts of the computed quant types, a few scalar
 * helpers and the prototypes of the kernels, of which qt_init() installs
 * the AVX2 ones when the CPU has AVX2, FMA and F16C.  Nothing outside
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

/* The blocks of quant_k*.c and quant_legacy.c; every fp16 is a uint16_t,
 * layouts are ggml's (ggml-common.h).  The 32-value types number elements
 * as Q4_0 does: element j in the low nibble of qs[j], element j + 16 in
 * the high one, and for Q5_* the fifth bit of element j is bit j of qh. */
#define QT_QK	32		/* elements per block of the 32-value types */

/* Q4_1: value = d * q + m, q in [0, 15]. */
struct qt_block_q4_1 {
	uint16_t	d;
	uint16_t	m;
	uint8_t		qs[QT_QK / 2];
};

/* Q5_0: value = d * (q - 16), q in [0, 31]. */
struct qt_block_q5_0 {
	uint16_t	d;
	uint8_t		qh[4];
	uint8_t		qs[QT_QK / 2];
};

/* Q5_1: value = d * q + m, q in [0, 31]. */
struct qt_block_q5_1 {
	uint16_t	d;
	uint16_t	m;
	uint8_t		qh[4];
	uint8_t		qs[QT_QK / 2];
};

/* Q8_1 (activations of Q4_1, Q5_1): Q8_0 plus s = d * sum(qs). */
struct qt_block_q8_1 {
	uint16_t	d;
	uint16_t	s;
	int8_t		qs[QT_QK];
};

/*
 * The K-quants: super-blocks of 256.  Q2_K and Q3_K have 16 sub-blocks
 * of 16 with 4-bit (Q2_K, plus 4-bit mins) or 6-bit scales; Q4_K and Q5_K
 * have 8 sub-blocks of 32 with 6-bit scales and mins packed in 12 bytes;
 * Q6_K has 16 sub-blocks of 16 with int8 scales.  Values are
 * d * scale * q - dmin * min.
 */
struct qt_block_q2_K {
	uint8_t		scales[QK_K / 16];	/* scale | min << 4 */
	uint8_t		qs[QK_K / 4];
	uint16_t	d;
	uint16_t	dmin;
};

struct qt_block_q3_K {
	uint8_t		hmask[QK_K / 8];
	uint8_t		qs[QK_K / 4];
	uint8_t		scales[12];
	uint16_t	d;
};

struct qt_block_q4_K {
	uint16_t	d;
	uint16_t	dmin;
	uint8_t		scales[12];
	uint8_t		qs[QK_K / 2];
};

struct qt_block_q5_K {
	uint16_t	d;
	uint16_t	dmin;
	uint8_t		scales[12];
	uint8_t		qh[QK_K / 8];
	uint8_t		qs[QK_K / 2];
};

struct qt_block_q6_K {
	uint8_t		ql[QK_K / 2];
	uint8_t		qh[QK_K / 4];
	int8_t		scales[QK_K / 16];
	uint16_t	d;
};

/* Q8_K (activations of the K-quants): a float scale and the sums of
 * every 16 quants, which the dots use for mins and offsets. */
struct qt_block_q8_K {
	float		d;
	int8_t		qs[QK_K];
	int16_t		bsums[QK_K / 16];
};

/* The sizes ggml's files have: a compile error if a layout above differs. */
extern char qt_check_q4_1[sizeof(struct qt_block_q4_1) == 20 ? 1 : -1];
extern char qt_check_q5_0[sizeof(struct qt_block_q5_0) == 22 ? 1 : -1];
extern char qt_check_q5_1[sizeof(struct qt_block_q5_1) == 24 ? 1 : -1];
extern char qt_check_q8_1[sizeof(struct qt_block_q8_1) == 36 ? 1 : -1];
extern char qt_check_q2_K[sizeof(struct qt_block_q2_K) == 84 ? 1 : -1];
extern char qt_check_q3_K[sizeof(struct qt_block_q3_K) == 110 ? 1 : -1];
extern char qt_check_q4_K[sizeof(struct qt_block_q4_K) == 144 ? 1 : -1];
extern char qt_check_q5_K[sizeof(struct qt_block_q5_K) == 176 ? 1 : -1];
extern char qt_check_q6_K[sizeof(struct qt_block_q6_K) == 210 ? 1 : -1];
extern char qt_check_q8_K[sizeof(struct qt_block_q8_K) == 292 ? 1 : -1];

/* x86's float to int32 conversion of an integral or truncated value:
 * NaN and anything out of range give INT32_MIN. */
static inline int32_t
qt_cvt_i32(float v)
{
	if (!(v >= -2147483648.0f && v < 2147483648.0f))
		return INT32_MIN;
	return (int32_t)v;
}

/* The signed saturation of the AVX2 pack chain from int32 to int8. */
static inline int8_t
qt_sat_i8(int32_t v)
{
	return v < -128 ? -128 : v > 127 ? 127 : (int8_t)v;
}

float	qt_q8_amax(const float *);

/* The scalar kernels of quant_legacy.c and quant_k*.c, which quant.c's
 * table lists. */
void	qt_q4_1_to_f32_ref(const void *, float *, int64_t);
void	qt_q4_1_from_f32_ref(const float *, void *, int64_t);
void	qt_q4_1_dot_ref(int, float *, const void *, const void *);

void	qt_q5_0_to_f32_ref(const void *, float *, int64_t);
void	qt_q5_0_from_f32_ref(const float *, void *, int64_t);
void	qt_q5_0_dot_ref(int, float *, const void *, const void *);

void	qt_q5_1_to_f32_ref(const void *, float *, int64_t);
void	qt_q5_1_from_f32_ref(const float *, void *, int64_t);
void	qt_q5_1_dot_ref(int, float *, const void *, const void *);

void	qt_q2_K_to_f32_ref(const void *, float *, int64_t);
void	qt_q2_K_from_f32_ref(const float *, void *, int64_t);
void	qt_q2_K_dot_ref(int, float *, const void *, const void *);

void	qt_q3_K_to_f32_ref(const void *, float *, int64_t);
void	qt_q3_K_from_f32_ref(const float *, void *, int64_t);
void	qt_q3_K_dot_ref(int, float *, const void *, const void *);

void	qt_q4_K_to_f32_ref(const void *, float *, int64_t);
void	qt_q4_K_from_f32_ref(const float *, void *, int64_t);
void	qt_q4_K_dot_ref(int, float *, const void *, const void *);

void	qt_q5_K_to_f32_ref(const void *, float *, int64_t);
void	qt_q5_K_from_f32_ref(const float *, void *, int64_t);
void	qt_q5_K_dot_ref(int, float *, const void *, const void *);

void	qt_q6_K_to_f32_ref(const void *, float *, int64_t);
void	qt_q6_K_from_f32_ref(const float *, void *, int64_t);
void	qt_q6_K_dot_ref(int, float *, const void *, const void *);

void	qt_q2_K_dot_rp1_ref(int, float *, const void *, const void *);
void	qt_q2_K_dot_rp4_ref(int, float *, const void *, const void *);
void	qt_q2_K_dot_rp1_avx2(int, float *, const void *, const void *);
void	qt_q2_K_dot_rp4_avx2(int, float *, const void *, const void *);
void	qt_q4_K_dot_rp1_ref(int, float *, const void *, const void *);
void	qt_q4_K_dot_rp4_ref(int, float *, const void *, const void *);

void	qt_q8_1_to_f32_ref(const void *, float *, int64_t);
void	qt_q8_1_from_f32_ref(const float *, void *, int64_t);
void	qt_q8_K_to_f32_ref(const void *, float *, int64_t);
void	qt_q8_K_from_f32_ref(const float *, void *, int64_t);

/* The AVX2 kernels are compiled per function with a target attribute, so
 * they exist on any x86 GCC or clang build, whatever -m flags were used. */
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define QT_HAVE_AVX2 1

/*
 * Pins an integer vector to a register at this point, so that the
 * additions before it stay a chain in the order written: without it GCC
 * reassociates a tile's chains of int16/int32 additions into trees whose
 * partial sums spill (the AVX2 Q4_0 tile ran at half its rate on Zen 3).
 * Emits nothing.
 */
#define QT_KEEP(v)	__asm__("" : "+x"(v))

/*
 * Decode reads every weight row once, from memory.  On a Zen 3 VM one
 * core streamed rows at 10-11 GB/s on the hardware prefetchers alone,
 * and at 14-16 GB/s when the kernel also asks for the bytes QT_AHEAD
 * further on (AVX2 Q6_K dot, one core, 64 MiB of rows: 14 -> 19.5
 * GMAC/s; 1B Q6_K decode on 2 threads 15.3 -> 18.1 t/s).  QT_PREFETCH
 * asks for n lines from p + QT_AHEAD; past the end of the rows it is
 * a hint that costs nothing.
 */
#define QT_AHEAD	2048
#define QT_PREFETCH(p, n)	QT_FETCH((const char *)(p) + QT_AHEAD, (n))

/* Asks for the n lines from p on (into every cache level). */
#define QT_FETCH(p, n) do {						\
	const char	*pf_ = (const char *)(p);			\
	int		 l_;						\
									\
	for (l_ = 0; l_ < (n); l_++)					\
		__builtin_prefetch(pf_ + 64 * l_, 0, 3);		\
} while (0)

void	qt_f32_dot_avx2(int, float *, const void *, const void *);

void	qt_f16_to_f32_avx2(const void *, float *, int64_t);
void	qt_f16_from_f32_avx2(const float *, void *, int64_t);
void	qt_f16_dot_avx2(int, float *, const void *, const void *);

void	qt_bf16_to_f32_avx2(const void *, float *, int64_t);
void	qt_bf16_from_f32_avx2(const float *, void *, int64_t);
void	qt_bf16_dot_avx2(int, float *, const void *, const void *);
void	qt_f16_vdot_avx2(int, float *, const void *, const void *);
void	qt_f16_vdot_avx512(int, float *, const void *, const void *);
void	qt_f16_dot_avx512(int, float *, const void *, const void *);
void	qt_bf16_dot_avx512(int, float *, const void *, const void *);
void	qt_bf16_vdot_avx2(int, float *, const void *, const void *);
void	qt_bf16_vdot_avx512(int, float *, const void *, const void *);
void	qt_bf16_vdot_avx512bf16(int, float *, const void *, const void *);
void	qt_bf16_dot_avx512bf16(int, float *, const void *, const void *);

void	qt_q8_0_to_f32_avx2(const void *, float *, int64_t);
void	qt_q8_0_from_f32_avx2(const float *, void *, int64_t);
void	qt_q8_0_dot_avx2(int, float *, const void *, const void *);

void	qt_q4_0_to_f32_avx2(const void *, float *, int64_t);
void	qt_q4_0_from_f32_avx2(const float *, void *, int64_t);
void	qt_q4_0_dot_avx2(int, float *, const void *, const void *);

void	qt_f16_mad_avx2(int, uint16_t *, const uint16_t *, float);
void	qt_f16_scale_avx2(int, uint16_t *, float);

/* quant_k_avx2.c: dequantizers and dots; quantizers of the activations. */
void	qt_q4_1_to_f32_avx2(const void *, float *, int64_t);
void	qt_q4_1_dot_avx2(int, float *, const void *, const void *);

void	qt_q5_0_to_f32_avx2(const void *, float *, int64_t);
void	qt_q5_0_dot_avx2(int, float *, const void *, const void *);

void	qt_q5_1_to_f32_avx2(const void *, float *, int64_t);
void	qt_q5_1_dot_avx2(int, float *, const void *, const void *);

void	qt_q2_K_to_f32_avx2(const void *, float *, int64_t);
void	qt_q2_K_dot_avx2(int, float *, const void *, const void *);

void	qt_q3_K_to_f32_avx2(const void *, float *, int64_t);
void	qt_q3_K_dot_avx2(int, float *, const void *, const void *);

void	qt_q4_K_to_f32_avx2(const void *, float *, int64_t);
void	qt_q4_K_dot_avx2(int, float *, const void *, const void *);

void	qt_q5_K_to_f32_avx2(const void *, float *, int64_t);
void	qt_q5_K_dot_avx2(int, float *, const void *, const void *);

void	qt_q6_K_to_f32_avx2(const void *, float *, int64_t);
void	qt_q6_K_dot_avx2(int, float *, const void *, const void *);
void	qt_q6_K_dot_vnni(int, float *, const void *, const void *);

void	qt_q4_K_dot_rp1_avx2(int, float *, const void *, const void *);
void	qt_q4_K_dot_rp1_vnni(int, float *, const void *, const void *);
void	qt_q4_K_dot_rp4_avx2(int, float *, const void *, const void *);

void	qt_q8_1_to_f32_avx2(const void *, float *, int64_t);
void	qt_q8_1_from_f32_avx2(const float *, void *, int64_t);
void	qt_q8_K_to_f32_avx2(const void *, float *, int64_t);
void	qt_q8_K_from_f32_avx2(const float *, void *, int64_t);
#endif

#endif
