/*
 * Attention in tiles: the query rows of several tokens times the heads of
 * one KV group against blocks of the F16 K/V cache, computing exactly what
 * llama.cpp's CPU flash attention computes for each row.
 */
#ifndef YT_ENGINE_ATTN_H
#define YT_ENGINE_ATTN_H

#include <stddef.h>
#include <stdint.h>

#define ATTN_BK	64	/* keys per block */
#define ATTN_BQ	8	/* tokens per tile */

/* 1 if this CPU has the tiled kernel (else use the per-key one). */
int	attn_tile_ok(void);

/* Floats of workspace a thread needs for heads of hd with g per group. */
size_t	attn_ws_floats(int hd, int g);

/*
 * nt <= ATTN_BQ tokens at positions pos0.., each with g query heads of hd
 * floats (token t's head h at q + t * qs + h * hd), attend to the keys at
 * positions 0..pos0 + t (key j at kc + j * kvs, value at vc + j * kvs, in
 * halves); the outputs go to the same layout at out (stride os).
 *
 * Per row, the operations and their order are those of ggml's
 * flash-attention row (query rounded to F16, ggml_vec_dot_f16's sums,
 * online softmax with expf, F16 accumulator rounded after every key), so
 * the floats equal the per-key kernel's whatever nt and the tiling.
 */
void	attn_tile(int hd, int g, int nt, uint32_t pos0, const float *q,
	    size_t qs, const uint16_t *kc, const uint16_t *vc, size_t kvs,
	    float scale, float *out, size_t os, float *ws);

#endif
