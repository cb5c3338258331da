/*
 * Weight types: the type table (block sizes, names), conversions between
 * f32 and every supported type, and dot products of a weight row with an
 * activation row quantized to the weight's dot type, as llama.cpp pairs
 * them.  Each kernel has a scalar _ref twin; the SIMD variant is chosen
 * once at run time (cpuid) in qt_init().
 */
#ifndef YT_ENGINE_QUANT_H
#define YT_ENGINE_QUANT_H

#include <stddef.h>
#include <stdint.h>

/* ggml's type numbering, which GGUF files store. */
enum qt_type {
	QT_F32 = 0,
	QT_F16 = 1,
	QT_Q4_0 = 2,
	QT_Q4_1 = 3,
	QT_Q5_0 = 6,
	QT_Q5_1 = 7,
	QT_Q8_0 = 8,
	QT_Q8_1 = 9,
	QT_Q2_K = 10,
	QT_Q3_K = 11,
	QT_Q4_K = 12,
	QT_Q5_K = 13,
	QT_Q6_K = 14,
	QT_Q8_K = 15,
	QT_IQ2_XXS = 16,
	QT_IQ2_XS = 17,
	QT_IQ3_XXS = 18,
	QT_IQ1_S = 19,
	QT_IQ4_NL = 20,
	QT_IQ3_S = 21,
	QT_IQ2_S = 22,
	QT_IQ4_XS = 23,
	QT_I8 = 24,
	QT_I16 = 25,
	QT_I32 = 26,
	QT_I64 = 27,
	QT_F64 = 28,
	QT_IQ1_M = 29,
	QT_BF16 = 30,
	QT_TQ1_0 = 34,
	QT_TQ2_0 = 35,
	QT_MXFP4 = 39,
	QT_COUNT = 40
};

#define QK4_0	32
#define QK8_0	32
#define QK_K	256

/* Dot product of n weights x (of the weight type) with n activations y
 * (of the weight's dot type); the result is stored in *s. */
typedef void (*qt_dot_fn)(int n, float *s, const void *x, const void *y);
/* Convert n values of a row between f32 and a type. */
typedef void (*qt_to_f32_fn)(const void *src, float *dst, int64_t n);
typedef void (*qt_from_f32_fn)(const float *src, void *dst, int64_t n);

struct qt_traits {
	const char	*name;
	uint32_t	 blck;		/* elements per block */
	uint32_t	 bsize;		/* bytes per block */
	int		 compute;	/* 1: yangtuo computes with it */
	enum qt_type	 dot_type;	/* activation type of its dots */
	qt_to_f32_fn	 to_f32;	/* chosen variant; NULL if none */
	qt_from_f32_fn	 from_f32;
	qt_dot_fn	 dot;
	/* The dot of a lone token where it differs: llama.cpp gives float
	 * weights of two tokens or more to tinyBLAS (dot's order) and a
	 * single token to vec_dot (this one's).  NULL: dot. */
	qt_dot_fn	 dot1;
	qt_to_f32_fn	 to_f32_ref;	/* scalar twins */
	qt_from_f32_fn	 from_f32_ref;
	qt_dot_fn	 dot_ref;
	/*
	 * llama.cpp's CPU backend repacks some types at load time (weights
	 * of a multiple of 8 rows, on some CPUs) and then adds in another
	 * order than vec_dot: in a batch of T activation rows, rows below
	 * T - T % 4 as dot_rp4, the others (and decode) as dot_rp1.  NULL
	 * where llama.cpp keeps vec_dot for the type on this CPU.
	 */
	qt_dot_fn	 dot_rp1;
	qt_dot_fn	 dot_rp4;
	qt_dot_fn	 dot_rp1_ref;
	qt_dot_fn	 dot_rp4_ref;
};

void		 qt_init(void);
const struct qt_traits *qt_get(uint32_t type);
const char	*qt_name(uint32_t type);
int		 qt_type_by_name(const char *name);
int		 qt_row_size(uint32_t type, int64_t n, size_t *out);
const char	*qt_simd_name(void);
/* The kernel path that runs, for people: "avx512-vnni" where the
 * AVX512-VNNI kernels do, else qt_simd_name(). */
const char	*qt_path_name(void);
int		 qt_vnni(void);
void		 qt_force_ref(int on);
void		 qt_force_novnni(int on);

/* Quantize a weight row exactly as ggml's quantize_row_*_ref does when it
 * writes model files (Q8_0 there differs from the activation quantizer in
 * from_f32); returns 0, or -1 for a type we do not compute or a bad n. */
int		 qt_quantize_weights(uint32_t type, const float *src, void *dst,
		     int64_t n);

/* F16 vector helpers of the attention (ggml's vec_mad_f16/vec_scale_f16):
 * y = f16(y + x * v) with one rounding of the multiply-add, y = f16(y * v). */
void		 qt_f16_mad(int n, uint16_t *y, const uint16_t *x, float v);
void		 qt_f16_scale(int n, uint16_t *y, float v);
void		 qt_f16_vdot(int n, float *s, const uint16_t *x,
		    const uint16_t *y);

/* Scalar fp16/bf16 conversions (round to nearest even). */
float		 qt_f16_to_f32(uint16_t);
uint16_t	 qt_f32_to_f16(float);
float		 qt_bf16_to_f32(uint16_t);
uint16_t	 qt_f32_to_bf16(float);

#endif
