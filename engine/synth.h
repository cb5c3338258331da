/*
 * Synthetic Llama models for speed work and tests: real shapes
 * (Llama-3.2-1B, Llama-3-8B, and small ones), random weights, any weight
 * type we compute, a byte-fallback vocabulary so any text tokenizes.
 * Written one tensor at a time, never holding the model in memory.
 */
#ifndef YT_ENGINE_SYNTH_H
#define YT_ENGINE_SYNTH_H

#include <stdint.h>

struct synth_shape {
	const char	*name;
	uint32_t	 n_embd;
	uint32_t	 n_layer;
	uint32_t	 n_head;
	uint32_t	 n_head_kv;
	uint32_t	 n_ff;
	uint32_t	 n_vocab;
	uint32_t	 n_ctx;
	float		 rope_base;
	int		 tied;		/* output = token_embd */
};

/* The named shapes: "1b", "8b", "small", "tiny"; NULL if unknown. */
const struct synth_shape *synth_shape(const char *name);
/* Write a random model of shape in weight type (norms stay F32); 0, or
 * -1 with *cause (caller frees). */
int	synth_write(const char *path, const struct synth_shape *,
	    uint32_t type, uint64_t seed, char **cause);

#endif
