/*
 * The Llama forward pass over a model: a per-context state holding the
 * F16 KV cache and scratch buffers, evaluating a batch of tokens at
 * consecutive positions and producing next-token logits.
 */
#ifndef YT_ENGINE_FORWARD_H
#define YT_ENGINE_FORWARD_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct model;
struct fwd;

enum {
	FWD_OK = 0,
	FWD_ERR = -1,
	FWD_CANCELLED = 1
};

#define FWD_ALL_LOGITS	0x1	/* logits for every token, not just the last */

/* Progress callback: called after each chunk with tokens done so far. */
typedef void (*fwd_progress_fn)(void *arg, size_t done, size_t total);

struct fwd	*fwd_new(const struct model *, uint32_t n_ctx, int n_threads,
		    uint32_t n_batch, char **cause);
void		 fwd_free(struct fwd *);
uint32_t	 fwd_n_ctx(const struct fwd *);
int		 fwd_n_threads(const struct fwd *);
void		 fwd_set_cancel(struct fwd *, atomic_int *flag);
void		 fwd_set_progress(struct fwd *, fwd_progress_fn, void *arg);
int		 fwd_eval(struct fwd *, const int32_t *toks, size_t n,
		    uint32_t pos, float *logits, int flags);
/* The F16 cache rows of layer il (n_ctx rows of fwd_kv_dim halves), for
 * saving and restoring snapshots. */
uint16_t	*fwd_k_rows(struct fwd *, uint32_t il);
uint16_t	*fwd_v_rows(struct fwd *, uint32_t il);
size_t		 fwd_kv_dim(const struct fwd *);
/* Tokens of the last fwd_eval() whose K/V are complete in the cache. */
size_t		 fwd_done(const struct fwd *);

#endif
