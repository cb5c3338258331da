/*
 * Elementwise activation functions computed as llama.cpp's AVX2 build
 * computes them (its vectorised exp approximation on full groups of 8,
 * libm's expf on the tail), so both engines round the same way.
 */
#ifndef YT_ENGINE_VMATH_H
#define YT_ENGINE_VMATH_H

/* y[i] = silu(x[i]) * g[i] for i < n (y may be x or g). */
void	vm_swiglu(int n, float *y, const float *x, const float *g);

/*
 * x[i] = expf(x[i]) for i < n, the very floats glibc's expf returns (its
 * FMA build, the one on every CPU with AVX2): llama.cpp's attention calls
 * libm's expf key by key, and so must ours round.  Lanes of 4 where the
 * CPU has AVX2 and vm_expf_exact() found them equal to the expf in use;
 * expf itself for the rest and everywhere else.
 */
void	vm_expf(float *x, int n);
/* 1 if vm_expf's lanes give libm's floats here (checked once). */
int	vm_expf_exact(void);

#endif
