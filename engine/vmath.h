/*
 * Elementwise activation functions computed as llama.cpp's AVX2 build
 * computes them (its vectorised exp approximation on full groups of 8,
 * libm's expf on the tail), so both engines round the same way.
 */
#ifndef YT_ENGINE_VMATH_H
#define YT_ENGINE_VMATH_H

/* y[i] = silu(x[i]) * g[i] for i < n (y may be x or g). */
void	vm_swiglu(int n, float *y, const float *x, const float *g);

#endif
