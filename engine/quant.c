/*
 * The weight-type table and the scalar (_ref) kernels: fp16/bf16
 * conversions, row (de)quantization and dot products for F32, F16, BF16,
 * Q8_0 and Q4_0 (quant_legacy.c and quant_k*.c have the other types),
 * written to give llama.cpp's numbers.  qt_init() picks the AVX2 twins from quant_avx2.c
 * and quant_k_avx2.c when the CPU has them.
 */
#include "config.h"

#include "quant.h"

#include <assert.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#include <cpuid.h>
#endif

#include "quant_impl.h"

/* The layouts must be ggml's byte for byte. */
extern char qt_check_q4_0[sizeof(struct qt_block_q4_0) == 18 ? 1 : -1];
extern char qt_check_q8_0[sizeof(struct qt_block_q8_0) == 34 ? 1 : -1];

static pthread_once_t	 qt_once = PTHREAD_ONCE_INIT;
static int		 qt_cpu_avx2;	/* AVX2, FMA and F16C present */
static int		 qt_cpu_vnni;	/* and AVX512 VL/BW/VNNI, allowed */
static int		 qt_novnni;	/* qt_force_novnni(1) in effect */
static int		 qt_forced;	/* qt_force_ref(1) in effect */
static const char	*qt_simd = "scalar";

/* ---------------------------------------------------------------------- */

/* Convert an IEEE half to float, quieting NaNs as F16C's vcvtph2ps does. */
float
qt_f16_to_f32(uint16_t h)
{
	uint32_t	sign = (uint32_t)(h & 0x8000) << 16;
	uint32_t	exp = (h >> 10) & 0x1f, mant = h & 0x3ff, u;
	float		f;

	if (exp == 0x1f)
		u = sign | 0x7f800000 | (mant != 0 ? 0x400000 | mant << 13 : 0);
	else if (exp != 0)
		u = sign | (exp + 112) << 23 | mant << 13;
	else if (mant == 0)
		u = sign;
	else {
		/* A subnormal half is a normal float: normalise it. */
		exp = 113;
		while ((mant & 0x400) == 0) {
			mant <<= 1;
			exp--;
		}
		u = sign | exp << 23 | (mant & 0x3ff) << 13;
	}
	memcpy(&f, &u, sizeof f);
	return f;
}

/* Convert a float to an IEEE half, rounding to nearest even; the bits are
 * those of F16C's _mm_cvtps_ph(x, 0), NaN payloads and subnormals too. */
uint16_t
qt_f32_to_f16(float f)
{
	uint32_t	u, a, sign, h, m, rem, half;
	int		shift;

	memcpy(&u, &f, sizeof u);
	sign = (u >> 16) & 0x8000;
	a = u & 0x7fffffff;
	if (a > 0x7f800000)
		return sign | 0x7e00 | ((a >> 13) & 0x3ff);
	if (a >= 0x47800000)		/* 65536 and up, infinity */
		return sign | 0x7c00;
	if (a >= 0x38800000) {		/* a normal half, or 65520 -> inf */
		h = (a >> 13) - (112 << 10);
		rem = a & 0x1fff;
		if (rem > 0x1000 || (rem == 0x1000 && (h & 1)))
			h++;
		return sign | h;
	}
	if (a < 0x33000000)		/* at most half a subnormal step */
		return sign;
	shift = 126 - (int)(a >> 23);	/* 14..24 */
	m = (a & 0x7fffff) | 0x800000;
	h = m >> shift;
	rem = m & ((1u << shift) - 1);
	half = 1u << (shift - 1);
	if (rem > half || (rem == half && (h & 1)))
		h++;
	return sign | h;
}

/* Convert a bfloat16 to float (exact). */
float
qt_bf16_to_f32(uint16_t h)
{
	uint32_t	u = (uint32_t)h << 16;
	float		f;

	memcpy(&f, &u, sizeof f);
	return f;
}

/* Convert a float to bfloat16 as ggml does: round to nearest even, NaNs
 * quieted, subnormals kept. */
uint16_t
qt_f32_to_bf16(float f)
{
	uint32_t	u;

	memcpy(&u, &f, sizeof u);
	if ((u & 0x7fffffff) > 0x7f800000)
		return (u >> 16) | 64;
	return (u + 0x7fff + ((u >> 16) & 1)) >> 16;
}

/* ---------------------------------------------------------------------- */

/* Round v to float here, so that the compiler cannot fuse the multiply
 * that made it with a following add into an FMA: ggml rounds twice. */
static inline float
fence_f32(float v)
{
#if defined(__GNUC__) && defined(__SSE_MATH__)
	__asm__("" : "+x"(v));
#elif defined(__GNUC__) && defined(__aarch64__)
	__asm__("" : "+w"(v));
#else
	volatile float	t = v;

	v = t;
#endif
	return v;
}

/* maxps semantics: the second operand unless a > b (so NaN in b wins). */
static inline float
vmax(float a, float b)
{
	return a > b ? a : b;
}

/* Return the block max |x| of 32 values as llama.cpp's AVX2
 * quantize_row_q8_0 (and _q8_1) finds it, in the same lane order, so that
 * NaNs propagate exactly as they do there. */
float
qt_q8_amax(const float *x)
{
	float	m[8];
	int	l, r;

	for (l = 0; l < 8; l++) {
		m[l] = fabsf(x[l]);
		for (r = 1; r < 4; r++)
			m[l] = vmax(m[l], fabsf(x[8 * r + l]));
	}
	for (l = 0; l < 4; l++)
		m[l] = vmax(m[4 + l], m[l]);
	return vmax(vmax(m[0], m[2]), vmax(m[1], m[3]));
}

/* ---------------------------------------------------------------------- */

static void
f32_to_f32_ref(const void *src, float *dst, int64_t n)
{
	memcpy(dst, src, (size_t)n * sizeof *dst);
}

static void
f32_from_f32_ref(const float *src, void *dst, int64_t n)
{
	memcpy(dst, src, (size_t)n * sizeof *src);
}

static void
f32_dot_ref(int n, float *s, const void *vx, const void *vy)
{
	const float	*x = vx, *y = vy;
	double		 sum = 0;
	int		 i;

	for (i = 0; i < n; i++)
		sum += (double)(x[i] * y[i]);
	*s = (float)sum;
}

static void
f16_to_f32_ref(const void *src, float *dst, int64_t n)
{
	const uint16_t	*x = src;
	int64_t		 i;

	for (i = 0; i < n; i++)
		dst[i] = qt_f16_to_f32(x[i]);
}

static void
f16_from_f32_ref(const float *src, void *dst, int64_t n)
{
	uint16_t	*y = dst;
	int64_t		 i;

	for (i = 0; i < n; i++)
		y[i] = qt_f32_to_f16(src[i]);
}

static void
f16_dot_ref(int n, float *s, const void *vx, const void *vy)
{
	const uint16_t	*x = vx, *y = vy;
	double		 sum = 0;
	int		 i;

	for (i = 0; i < n; i++)
		sum += (double)(qt_f16_to_f32(x[i]) * qt_f16_to_f32(y[i]));
	*s = (float)sum;
}

static void
bf16_to_f32_ref(const void *src, float *dst, int64_t n)
{
	const uint16_t	*x = src;
	int64_t		 i;

	for (i = 0; i < n; i++)
		dst[i] = qt_bf16_to_f32(x[i]);
}

static void
bf16_from_f32_ref(const float *src, void *dst, int64_t n)
{
	uint16_t	*y = dst;
	int64_t		 i;

	for (i = 0; i < n; i++)
		y[i] = qt_f32_to_bf16(src[i]);
}

static void
bf16_dot_ref(int n, float *s, const void *vx, const void *vy)
{
	const uint16_t	*x = vx, *y = vy;
	double		 sum = 0;
	int		 i;

	for (i = 0; i < n; i++)
		sum += (double)(qt_bf16_to_f32(x[i]) * qt_bf16_to_f32(y[i]));
	*s = (float)sum;
}

/* ---------------------------------------------------------------------- */

static void
q8_0_to_f32_ref(const void *src, float *dst, int64_t n)
{
	const struct qt_block_q8_0	*x = src;
	int64_t				 i, nb = n / QK8_0;
	float				 d;
	int				 j;

	assert(n % QK8_0 == 0);
	for (i = 0; i < nb; i++, dst += QK8_0) {
		d = qt_f16_to_f32(x[i].d);
		for (j = 0; j < QK8_0; j++)
			dst[j] = x[i].qs[j] * d;
	}
}

/*
 * The activation quantizer: llama.cpp's AVX2 quantize_row_q8_0, not its
 * _ref.  d = max|x| / 127 and x * (127 / max|x|) rounded to nearest even,
 * with the x86 conversion and pack saturation for NaN and infinity.
 */
static void
q8_0_from_f32_ref(const float *src, void *dst, int64_t n)
{
	struct qt_block_q8_0	*y = dst;
	int64_t			 i, nb = n / QK8_0;
	float			 amax, id;
	int			 j;

	assert(n % QK8_0 == 0);
	for (i = 0; i < nb; i++, src += QK8_0) {
		amax = qt_q8_amax(src);
		y[i].d = qt_f32_to_f16(amax / 127.f);
		id = amax != 0.0f ? 127.f / amax : 0.0f;
		for (j = 0; j < QK8_0; j++)
			y[i].qs[j] = qt_sat_i8(qt_cvt_i32(rintf(src[j] * id)));
	}
}

/* ggml's quantize_row_q8_0_ref, which made the Q8_0 model files. */
static void
q8_0_weights_ref(const float *src, void *dst, int64_t n)
{
	struct qt_block_q8_0	*y = dst;
	int64_t			 i, nb = n / QK8_0;
	float			 amax, d, id;
	int			 j;

	assert(n % QK8_0 == 0);
	for (i = 0; i < nb; i++, src += QK8_0) {
		amax = 0.0f;
		for (j = 0; j < QK8_0; j++)
			amax = vmax(amax, fabsf(src[j]));
		d = amax / 127;
		id = d != 0.0f ? 1.0f / d : 0.0f;
		y[i].d = qt_f32_to_f16(d);
		for (j = 0; j < QK8_0; j++)
			y[i].qs[j] = (int8_t)qt_cvt_i32(roundf(src[j] * id));
	}
}

static void
q8_0_dot_ref(int n, float *s, const void *vx, const void *vy)
{
	const struct qt_block_q8_0	*x = vx, *y = vy;
	int				 i, j, nb = n / QK8_0;
	int32_t				 sumi;
	float				 sum = 0;

	assert(n % QK8_0 == 0);
	for (i = 0; i < nb; i++) {
		sumi = 0;
		for (j = 0; j < QK8_0; j++)
			sumi += x[i].qs[j] * y[i].qs[j];
		sum += sumi * (qt_f16_to_f32(x[i].d) * qt_f16_to_f32(y[i].d));
	}
	*s = sum;
}

/* ---------------------------------------------------------------------- */

static void
q4_0_to_f32_ref(const void *src, float *dst, int64_t n)
{
	const struct qt_block_q4_0	*x = src;
	int64_t				 i, nb = n / QK4_0;
	float				 d;
	int				 j;

	assert(n % QK4_0 == 0);
	for (i = 0; i < nb; i++, dst += QK4_0) {
		d = qt_f16_to_f32(x[i].d);
		for (j = 0; j < QK4_0 / 2; j++) {
			dst[j] = ((x[i].qs[j] & 15) - 8) * d;
			dst[j + QK4_0 / 2] = ((x[i].qs[j] >> 4) - 8) * d;
		}
	}
}

/* One Q4_0 quant as ggml computes MIN(15, (int8_t)(v * id + 8.5f)). */
static inline uint8_t
q4_0_quant(float v, float id)
{
	int8_t	q = (int8_t)qt_cvt_i32(fence_f32(v * id) + 8.5f);

	return (uint8_t)(q < 15 ? q : 15);
}

/* ggml's quantize_row_q4_0_ref: the signed value of largest magnitude
 * (the first one, on ties) maps to -8. */
static void
q4_0_from_f32_ref(const float *src, void *dst, int64_t n)
{
	struct qt_block_q4_0	*y = dst;
	int64_t			 i, nb = n / QK4_0;
	float			 amax, max, d, id;
	int			 j;
	uint8_t			 lo, hi;

	assert(n % QK4_0 == 0);
	for (i = 0; i < nb; i++, src += QK4_0) {
		amax = max = 0.0f;
		for (j = 0; j < QK4_0; j++) {
			if (amax < fabsf(src[j])) {
				amax = fabsf(src[j]);
				max = src[j];
			}
		}
		d = max / -8;
		id = d != 0.0f ? 1.0f / d : 0.0f;
		y[i].d = qt_f32_to_f16(d);
		for (j = 0; j < QK4_0 / 2; j++) {
			lo = q4_0_quant(src[j], id);
			hi = q4_0_quant(src[j + QK4_0 / 2], id);
			y[i].qs[j] = (uint8_t)(lo | (hi << 4));
		}
	}
}

static void
q4_0_dot_ref(int n, float *s, const void *vx, const void *vy)
{
	const struct qt_block_q4_0	*x = vx;
	const struct qt_block_q8_0	*y = vy;
	int				 i, j, nb = n / QK4_0;
	int32_t				 sumi;
	float				 sum = 0;

	assert(n % QK4_0 == 0);
	for (i = 0; i < nb; i++) {
		sumi = 0;
		for (j = 0; j < QK4_0 / 2; j++) {
			sumi += ((x[i].qs[j] & 15) - 8) * y[i].qs[j];
			sumi += ((x[i].qs[j] >> 4) - 8) *
			    y[i].qs[j + QK4_0 / 2];
		}
		sum += sumi * (qt_f16_to_f32(x[i].d) * qt_f16_to_f32(y[i].d));
	}
	*s = sum;
}

/* ---------------------------------------------------------------------- */

/* Every ggml type, numbered as GGUF stores them; holes are removed types.
 * dot_type is the activation type of llama.cpp's CPU vec_dot for the type
 * (the type itself where there is none). */
static const struct {
	const char	*name;
	uint32_t	 blck, bsize;
	enum qt_type	 dot_type;
} qt_info[QT_COUNT] = {
	[QT_F32] =	{ "F32",	1,	4,	QT_F32 },
	[QT_F16] =	{ "F16",	1,	2,	QT_F16 },
	[QT_Q4_0] =	{ "Q4_0",	32,	18,	QT_Q8_0 },
	[QT_Q4_1] =	{ "Q4_1",	32,	20,	QT_Q8_1 },
	[QT_Q5_0] =	{ "Q5_0",	32,	22,	QT_Q8_0 },
	[QT_Q5_1] =	{ "Q5_1",	32,	24,	QT_Q8_1 },
	[QT_Q8_0] =	{ "Q8_0",	32,	34,	QT_Q8_0 },
	[QT_Q8_1] =	{ "Q8_1",	32,	36,	QT_Q8_1 },
	[QT_Q2_K] =	{ "Q2_K",	256,	84,	QT_Q8_K },
	[QT_Q3_K] =	{ "Q3_K",	256,	110,	QT_Q8_K },
	[QT_Q4_K] =	{ "Q4_K",	256,	144,	QT_Q8_K },
	[QT_Q5_K] =	{ "Q5_K",	256,	176,	QT_Q8_K },
	[QT_Q6_K] =	{ "Q6_K",	256,	210,	QT_Q8_K },
	[QT_Q8_K] =	{ "Q8_K",	256,	292,	QT_Q8_K },
	[QT_IQ2_XXS] =	{ "IQ2_XXS",	256,	66,	QT_Q8_K },
	[QT_IQ2_XS] =	{ "IQ2_XS",	256,	74,	QT_Q8_K },
	[QT_IQ3_XXS] =	{ "IQ3_XXS",	256,	98,	QT_Q8_K },
	[QT_IQ1_S] =	{ "IQ1_S",	256,	50,	QT_Q8_K },
	[QT_IQ4_NL] =	{ "IQ4_NL",	32,	18,	QT_Q8_0 },
	[QT_IQ3_S] =	{ "IQ3_S",	256,	110,	QT_Q8_K },
	[QT_IQ2_S] =	{ "IQ2_S",	256,	82,	QT_Q8_K },
	[QT_IQ4_XS] =	{ "IQ4_XS",	256,	136,	QT_Q8_K },
	[QT_I8] =	{ "I8",		1,	1,	QT_I8 },
	[QT_I16] =	{ "I16",	1,	2,	QT_I16 },
	[QT_I32] =	{ "I32",	1,	4,	QT_I32 },
	[QT_I64] =	{ "I64",	1,	8,	QT_I64 },
	[QT_F64] =	{ "F64",	1,	8,	QT_F64 },
	[QT_IQ1_M] =	{ "IQ1_M",	256,	56,	QT_Q8_K },
	[QT_BF16] =	{ "BF16",	1,	2,	QT_BF16 },
	[QT_TQ1_0] =	{ "TQ1_0",	256,	54,	QT_Q8_K },
	[QT_TQ2_0] =	{ "TQ2_0",	256,	66,	QT_Q8_K },
	[QT_MXFP4] =	{ "MXFP4",	32,	17,	QT_Q8_0 },
};

/* A type's kernels: one row in qt_ref[] makes a type computable, one in
 * qt_avx2[] (NULL = keep the _ref kernel) gives it SIMD. */
struct qt_kernels {
	enum qt_type	 type;
	qt_to_f32_fn	 to_f32;
	qt_from_f32_fn	 from_f32;
	qt_dot_fn	 dot;
};

static const struct qt_kernels qt_ref[] = {
	{ QT_F32, f32_to_f32_ref, f32_from_f32_ref, f32_dot_ref },
	{ QT_F16, f16_to_f32_ref, f16_from_f32_ref, f16_dot_ref },
	{ QT_BF16, bf16_to_f32_ref, bf16_from_f32_ref, bf16_dot_ref },
	{ QT_Q8_0, q8_0_to_f32_ref, q8_0_from_f32_ref, q8_0_dot_ref },
	{ QT_Q4_0, q4_0_to_f32_ref, q4_0_from_f32_ref, q4_0_dot_ref },
	{ QT_Q4_1, qt_q4_1_to_f32_ref, qt_q4_1_from_f32_ref, qt_q4_1_dot_ref },
	{ QT_Q5_0, qt_q5_0_to_f32_ref, qt_q5_0_from_f32_ref, qt_q5_0_dot_ref },
	{ QT_Q5_1, qt_q5_1_to_f32_ref, qt_q5_1_from_f32_ref, qt_q5_1_dot_ref },
	{ QT_Q2_K, qt_q2_K_to_f32_ref, qt_q2_K_from_f32_ref, qt_q2_K_dot_ref },
	{ QT_Q3_K, qt_q3_K_to_f32_ref, qt_q3_K_from_f32_ref, qt_q3_K_dot_ref },
	{ QT_Q4_K, qt_q4_K_to_f32_ref, qt_q4_K_from_f32_ref, qt_q4_K_dot_ref },
	{ QT_Q5_K, qt_q5_K_to_f32_ref, qt_q5_K_from_f32_ref, qt_q5_K_dot_ref },
	{ QT_Q6_K, qt_q6_K_to_f32_ref, qt_q6_K_from_f32_ref, qt_q6_K_dot_ref },
};

/* Types that are only ever activations (no dot of their own): they get
 * kernels but are not computable as weights. */
static const struct qt_kernels qt_act[] = {
	{ QT_Q8_1, qt_q8_1_to_f32_ref, qt_q8_1_from_f32_ref, NULL },
	{ QT_Q8_K, qt_q8_K_to_f32_ref, qt_q8_K_from_f32_ref, NULL },
};

/*
 * The repacked orders (see struct qt_traits) of llama.cpp's builds: Q4_K
 * (q4_K_8x8) in both, Q2_K (q2_K_8x8, quant_k_rp.c) in its AVX-512 builds
 * only, which our VNNI paths mirror.  Its Q4_0 repack is engine/repack.c's
 * business.
 */
static const struct {
	enum qt_type	 type;
	int		 avx512;	/* only in its AVX-512 builds */
	qt_dot_fn	 rp1, rp4;
#ifdef QT_HAVE_AVX2
	qt_dot_fn	 rp1_avx2, rp4_avx2;
#endif
} qt_repack[] = {
	{ QT_Q4_K, 0, qt_q4_K_dot_rp1_ref, qt_q4_K_dot_rp4_ref,
#ifdef QT_HAVE_AVX2
	    qt_q4_K_dot_rp1_avx2, qt_q4_K_dot_rp4_avx2
#endif
	},
	{ QT_Q2_K, 1, qt_q2_K_dot_rp1_ref, qt_q2_K_dot_rp4_ref,
#ifdef QT_HAVE_AVX2
	    qt_q2_K_dot_rp1_avx2, qt_q2_K_dot_rp4_avx2
#endif
	},
};

#ifdef QT_HAVE_AVX2
static const struct qt_kernels qt_avx2[] = {
	{ QT_F32, NULL, NULL, qt_f32_dot_avx2 },
	{ QT_F16, qt_f16_to_f32_avx2, qt_f16_from_f32_avx2, qt_f16_dot_avx2 },
	{ QT_BF16, qt_bf16_to_f32_avx2, qt_bf16_from_f32_avx2,
	    qt_bf16_dot_avx2 },
	{ QT_Q8_0, qt_q8_0_to_f32_avx2, qt_q8_0_from_f32_avx2,
	    qt_q8_0_dot_avx2 },
	{ QT_Q4_0, qt_q4_0_to_f32_avx2, qt_q4_0_from_f32_avx2,
	    qt_q4_0_dot_avx2 },
	{ QT_Q4_1, qt_q4_1_to_f32_avx2, NULL, qt_q4_1_dot_avx2 },
	{ QT_Q5_0, qt_q5_0_to_f32_avx2, NULL, qt_q5_0_dot_avx2 },
	{ QT_Q5_1, qt_q5_1_to_f32_avx2, NULL, qt_q5_1_dot_avx2 },
	{ QT_Q2_K, qt_q2_K_to_f32_avx2, NULL, qt_q2_K_dot_avx2 },
	{ QT_Q3_K, qt_q3_K_to_f32_avx2, NULL, qt_q3_K_dot_avx2 },
	{ QT_Q4_K, qt_q4_K_to_f32_avx2, NULL, qt_q4_K_dot_avx2 },
	{ QT_Q5_K, qt_q5_K_to_f32_avx2, NULL, qt_q5_K_dot_avx2 },
	{ QT_Q6_K, qt_q6_K_to_f32_avx2, NULL, qt_q6_K_dot_avx2 },
	{ QT_Q8_1, qt_q8_1_to_f32_avx2, qt_q8_1_from_f32_avx2, NULL },
	{ QT_Q8_K, qt_q8_K_to_f32_avx2, qt_q8_K_from_f32_avx2, NULL },
};

/* F16C from cpuid leaf 1 (older clang's __builtin_cpu_supports lacks
 * "f16c"); the OS's AVX state is covered by the "avx2" check. */
static int
cpu_has_f16c(void)
{
	unsigned int	a, b, c, d;

	if (!__get_cpuid(1, &a, &b, &c, &d))
		return 0;
	return (c & bit_F16C) != 0;
}
#endif

/* y = f16(f32(y) + f32(x) * v) with one rounding; the scalar twin. */
static void
f16_mad_ref(int n, uint16_t *y, const uint16_t *x, float v)
{
	int	i;

	for (i = 0; i < n; i++)
		y[i] = qt_f32_to_f16(fmaf(qt_f16_to_f32(x[i]), v,
		    qt_f16_to_f32(y[i])));
}

static void
f16_scale_ref(int n, uint16_t *y, float v)
{
	int	i;

	for (i = 0; i < n; i++)
		y[i] = qt_f32_to_f16(qt_f16_to_f32(y[i]) * v);
}

static void	(*qt_mad)(int, uint16_t *, const uint16_t *, float) =
		    f16_mad_ref;
static void	(*qt_scale)(int, uint16_t *, float) = f16_scale_ref;
static qt_dot_fn	qt_vdot = f16_dot_ref;

/* y = f16(f32(y) + f32(x) * v), element-wise, one rounding each. */
void
qt_f16_mad(int n, uint16_t *y, const uint16_t *x, float v)
{
	qt_mad(n, y, x, v);
}

/* *s = the F16 dot of x and y as llama.cpp's flash attention adds it
 * (ggml_vec_dot_f16: the F16 type's dot is its matmul order, tinyBLAS). */
void
qt_f16_vdot(int n, float *s, const uint16_t *x, const uint16_t *y)
{
	qt_vdot(n, s, x, y);
}

/* y = f16(f32(y) * v), element-wise. */
void
qt_f16_scale(int n, uint16_t *y, float v)
{
	qt_scale(n, y, v);
}

/* Built once by qt_setup() from the tables above. */
static struct qt_traits qt_types[QT_COUNT];

/* Give the types llama.cpp repacks on this CPU their repacked orders, the
 * _ref twins under qt_force_ref (which, like YANGTUO_NO_VNNI, leaves out
 * the AVX-512 builds' Q2_K). */
static void
qt_select_repack(void)
{
	struct qt_traits	*t;
	size_t			 i;

	for (i = 0; i < sizeof qt_repack / sizeof qt_repack[0]; i++) {
		t = &qt_types[qt_repack[i].type];
		t->dot_rp1 = t->dot_rp4 = NULL;
		t->dot_rp1_ref = t->dot_rp4_ref = NULL;
		if (!qt_cpu_avx2 || (qt_repack[i].avx512 &&
		    (!qt_cpu_vnni || qt_novnni || qt_forced)))
			continue;
		t->dot_rp1 = t->dot_rp1_ref = qt_repack[i].rp1;
		t->dot_rp4 = t->dot_rp4_ref = qt_repack[i].rp4;
#ifdef QT_HAVE_AVX2
		if (!qt_forced) {
			t->dot_rp1 = qt_repack[i].rp1_avx2;
			t->dot_rp4 = qt_repack[i].rp4_avx2;
			/* Decode's Q4_K order: the same integers with
			 * vpdpwssd (quant_k_avx2.c). */
			if (qt_cpu_vnni && !qt_novnni &&
			    qt_repack[i].type == QT_Q4_K)
				t->dot_rp1 = qt_q4_K_dot_rp1_vnni;
		}
#endif
	}
}

/* Point every computed type's kernels at the best allowed variant. */
static void
qt_select(void)
{
	struct qt_traits	*t;
	size_t			 i;

	for (i = 0; i < QT_COUNT; i++) {
		t = &qt_types[i];
		t->to_f32 = t->to_f32_ref;
		t->from_f32 = t->from_f32_ref;
		t->dot = t->dot_ref;
		t->dot1 = NULL;
	}
	qt_simd = "scalar";
	qt_mad = f16_mad_ref;
	qt_scale = f16_scale_ref;
	qt_vdot = f16_dot_ref;
	qt_select_repack();
#ifdef QT_HAVE_AVX2
	if (!qt_cpu_avx2 || qt_forced)
		return;
	qt_mad = qt_f16_mad_avx2;
	qt_scale = qt_f16_scale_avx2;
	qt_vdot = qt_f16_vdot_avx2;
	qt_types[QT_F16].dot1 = qt_f16_vdot_avx2;
	qt_types[QT_BF16].dot1 = qt_bf16_vdot_avx2;
	for (i = 0; i < sizeof qt_avx2 / sizeof qt_avx2[0]; i++) {
		t = &qt_types[qt_avx2[i].type];
		if (qt_avx2[i].to_f32 != NULL)
			t->to_f32 = qt_avx2[i].to_f32;
		if (qt_avx2[i].from_f32 != NULL)
			t->from_f32 = qt_avx2[i].from_f32;
		if (qt_avx2[i].dot != NULL)
			t->dot = qt_avx2[i].dot;
	}
	/* Q6_K's dot: the same integers with vpdpwssd (quant_k_avx2.c). */
	if (qt_cpu_vnni && !qt_novnni)
		qt_types[QT_Q6_K].dot = qt_q6_K_dot_vnni;
	/* F16 and BF16 round as llama.cpp's AVX-512 builds round them. */
	if (qt_cpu_vnni && !qt_novnni) {
		int	bf = __builtin_cpu_supports("avx512bf16");

		qt_types[QT_BF16].dot = bf ? qt_bf16_dot_avx512bf16 :
		    qt_bf16_dot_avx512;
		qt_types[QT_BF16].dot1 = bf ? qt_bf16_vdot_avx512bf16 :
		    qt_bf16_vdot_avx512;
		qt_types[QT_F16].dot = qt_f16_dot_avx512;
		qt_types[QT_F16].dot1 = qt_vdot = qt_f16_vdot_avx512;
	}
	qt_simd = "avx2";
#endif
}

/* Build qt_types[] from the tables and detect the CPU (once). */
static void
qt_setup(void)
{
	struct qt_traits	*t;
	size_t			 i;

	for (i = 0; i < QT_COUNT; i++) {
		t = &qt_types[i];
		t->name = qt_info[i].name;
		t->blck = qt_info[i].blck;
		t->bsize = qt_info[i].bsize;
		t->dot_type = qt_info[i].dot_type;
	}
	for (i = 0; i < sizeof qt_ref / sizeof qt_ref[0]; i++) {
		t = &qt_types[qt_ref[i].type];
		t->compute = 1;
		t->to_f32_ref = qt_ref[i].to_f32;
		t->from_f32_ref = qt_ref[i].from_f32;
		t->dot_ref = qt_ref[i].dot;
	}
	for (i = 0; i < sizeof qt_act / sizeof qt_act[0]; i++) {
		t = &qt_types[qt_act[i].type];
		t->to_f32_ref = qt_act[i].to_f32;
		t->from_f32_ref = qt_act[i].from_f32;
	}
#ifdef QT_HAVE_AVX2
	__builtin_cpu_init();
	qt_cpu_avx2 = __builtin_cpu_supports("avx2") &&
	    __builtin_cpu_supports("fma") && cpu_has_f16c();
	{
		const char	*off = getenv("YANGTUO_NO_VNNI");

		qt_cpu_vnni = qt_cpu_avx2 &&
		    __builtin_cpu_supports("avx512vl") &&
		    __builtin_cpu_supports("avx512bw") &&
		    __builtin_cpu_supports("avx512vnni") &&
		    (off == NULL || *off == '\0' || *off == '0');
	}

#endif
	qt_select();
}

/* Detect the CPU and choose the kernels; idempotent and thread-safe (qt_get
 * calls it too, so calling it is optional). */
void
qt_init(void)
{
	pthread_once(&qt_once, qt_setup);
}

/* Return the traits of a ggml type id, or NULL for an unknown id; the
 * table is static and read-only for callers. */
const struct qt_traits *
qt_get(uint32_t type)
{
	qt_init();
	if (type >= QT_COUNT || qt_types[type].name == NULL)
		return NULL;
	return &qt_types[type];
}

/* Return the upper-case name of a type ("Q4_0"), or NULL if unknown. */
const char *
qt_name(uint32_t type)
{
	const struct qt_traits	*t = qt_get(type);

	return t != NULL ? t->name : NULL;
}

/* Return the type named name, ignoring ASCII case, or -1. */
int
qt_type_by_name(const char *name)
{
	const char	*a, *b;
	uint32_t	 i;

	for (i = 0; i < QT_COUNT; i++) {
		if ((a = qt_info[i].name) == NULL)
			continue;
		for (b = name; *a != '\0'; a++, b++) {
			if (*a != *b && !(*a >= 'A' && *a <= 'Z' &&
			    *b == *a - 'A' + 'a'))
				break;
		}
		if (*a == '\0' && *b == '\0')
			return (int)i;
	}
	return -1;
}

/* Store in *out the bytes of a row of n elements of type; returns 0, or -1
 * if the type is unknown, n is negative or not a whole number of blocks,
 * or the size does not fit a size_t. */
int
qt_row_size(uint32_t type, int64_t n, size_t *out)
{
	const struct qt_traits	*t = qt_get(type);
	uint64_t		 nb;

	if (t == NULL || n < 0 || n % t->blck != 0)
		return -1;
	nb = (uint64_t)n / t->blck;
	if (nb > SIZE_MAX / t->bsize)
		return -1;
	*out = (size_t)nb * t->bsize;
	return 0;
}

/* Return "avx2" or "scalar": the kernels qt_get hands out now. */
const char *
qt_simd_name(void)
{
	qt_init();
	return qt_simd;
}

const char *
qt_path_name(void)
{
	return qt_vnni() ? "avx512-vnni" : qt_simd_name();
}

/* 1 if the AVX512-VNNI kernels (gemm.c, gemm_k.c, quant_k_avx2.c) may
 * run: the AVX2 kernels are in use, the CPU has AVX512 VL, BW and VNNI,
 * and YANGTUO_NO_VNNI is unset, empty or "0". */
int
qt_vnni(void)
{
	qt_init();
	return qt_cpu_vnni && !qt_forced && !qt_novnni;
}

/* Force the _ref kernels (on = 1) or restore the best (on = 0); for tests,
 * only while no other thread uses the table. */
void
qt_force_ref(int on)
{
	qt_init();
	qt_forced = on;
	qt_select();
}

/* Keep to the AVX2 kernels (on = 1) as YANGTUO_NO_VNNI does, or allow
 * VNNI again (on = 0); for tests, only while no other thread uses the
 * table. */
void
qt_force_novnni(int on)
{
	qt_init();
	qt_novnni = on;
	qt_select();
}

/* Quantize a weight row as ggml's quantize_row_*_ref; 0 or -1. */
int
qt_quantize_weights(uint32_t type, const float *src, void *dst, int64_t n)
{
	const struct qt_traits	*t = qt_get(type);

	if (t == NULL || !t->compute || n < 0 || n % t->blck != 0)
		return -1;
	if (type == QT_Q8_0)
		q8_0_weights_ref(src, dst, n);
	else
		t->from_f32_ref(src, dst, n);
	return 0;
}
