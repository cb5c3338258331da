/*
 * Matrix products y = W x for a batch of activation rows: the input is
 * quantized once to the weight's dot type (and reused by every matmul
 * that reads the same input, e.g. Q/K/V), then rows of W are split over
 * the compute pool and dotted with every input row.
 */
#ifndef YT_ENGINE_MATMUL_H
#define YT_ENGINE_MATMUL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct pool;
struct mtensor;

/* An activation batch (T rows of K floats) and its quantized copy. */
struct mm_in {
	const float	*x;
	int64_t		 T;
	int64_t		 batch;		/* tokens of the evaluation: T, or
					 * more when T is a slice of them */
	int64_t		 K;
	uint32_t	 qtype;		/* type the copy holds */
	int		 valid;		/* copy matches x */
	void		*q;
	size_t		 qcap;
	size_t		 qrow;		/* bytes per quantized row */
	float		*af;		/* Q8_0 block scales, as floats */
	int32_t		*ac8;		/* -8 x each Q8_0 block's quant sum */
	int32_t		*ac128;		/* -128 x each 4 quants' sum, 8 a block */
	size_t		 scap;		/* blocks af, ac8, ac128 hold */
	int		 sums;		/* af, ac8, ac128 match q */
};

void	mm_in_set(struct mm_in *, const float *x, int64_t T, int64_t K);
void	mm_in_fini(struct mm_in *);
/* y (T x rows) = w . in; stops early (y then undefined) once *cancel
 * (may be NULL) is set.  0, or -1 on OOM. */
int	mm_mul(struct pool *, const struct mtensor *w, struct mm_in *in,
	    float *y, atomic_int *cancel);
/* Whether mm_mul adds w's products in llama.cpp's repacked orders (the
 * type's dot_rp1 and dot_rp4); repack.c copies Q4_K only for those. */
int	mm_rp_orders(const struct mtensor *w);

#endif
