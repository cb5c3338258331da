/*
 * The sampler: repeat penalty over the last N tokens, top-k, top-p,
 * min-p, temperature, then a draw from a seeded RNG, in llama.cpp's
 * default order.  Temperature 0 is greedy.  Parameters may change between
 * any two tokens.
 */
#ifndef YT_ENGINE_SAMPLE_H
#define YT_ENGINE_SAMPLE_H

#include <stdint.h>

struct sampler;

struct sample_params {
	float		temperature;	/* <= 0: greedy */
	int32_t		top_k;		/* <= 0: off */
	float		top_p;		/* >= 1: off */
	float		min_p;		/* <= 0: off */
	float		repeat_penalty;	/* 1: off */
	int32_t		repeat_last_n;	/* 0: off, -1: whole context */
	uint64_t	seed;
};

/* The seed's defaults: temperature 0.2, top-k 40, top-p 0.9, min-p off,
 * repeat penalty 1.1 (over the last 64 tokens, llama.cpp's window). */
void		 sample_params_default(struct sample_params *);

struct sampler	*sampler_new(const struct sample_params *, int32_t n_vocab);
void		 sampler_free(struct sampler *);
/* New parameters apply from the next sampler_sample(); a changed seed
 * reseeds the RNG. */
void		 sampler_set_params(struct sampler *,
		    const struct sample_params *);
const struct sample_params *sampler_params(const struct sampler *);
/* Forget the token history (for a new reply or conversation). */
void		 sampler_reset(struct sampler *);
/* Record a token (prompt or generated) for the repeat penalty. */
void		 sampler_accept(struct sampler *, int32_t id);
/* Choose the next token from n_vocab logits (modified in place). */
int32_t		 sampler_sample(struct sampler *, float *logits);

#endif
