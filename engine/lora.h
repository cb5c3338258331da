/*
 * LoRA adapters on a loaded model: GGUF adapters as llama.cpp writes them
 * (general.type adapter, adapter.type lora, tensors NAME.lora_a and
 * NAME.lora_b) and PEFT folders (adapter_config.json and
 * adapter_model.safetensors), checked against the model, then either
 * applied on the fly (y = W x + s B (A x), forward.c) or merged into the
 * weights (W' = W + s B A) at load.
 */
#ifndef YT_ENGINE_LORA_H
#define YT_ENGINE_LORA_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

/* One adapted matrix of one adapter: y += scale * B (A x). */
struct lora_w {
	struct mtensor		 a;	/* (n_in, rank) */
	struct mtensor		 b;	/* (rank, n_out) */
	float			 scale;	/* the user's scale * alpha / rank */
	struct mtensor		*base;	/* the model's matrix */
	const struct lora_w	*next;	/* the next adapter's, same matrix */
};

/* One adapter. */
struct lora {
	char		*path;
	float		 scale;		/* the user's */
	float		 alpha;		/* 0: none (scale used as it is) */
	uint32_t	 rank;		/* the largest of its pairs */
	size_t		 n_pairs;
	struct lora_w	*w;		/* n_pairs */
	struct gguf	*g;		/* a GGUF adapter's mapping, or NULL */
	void		*buf;		/* a PEFT adapter's tensors, or NULL */
	struct mtensor	 embd;		/* whole replacements (PEFT's
					 * modules_to_save), data NULL if none */
	struct mtensor	 out;
	struct safetensors *st;		/* its file (the tensors' names) */
};

/* Read the adapter at path (a GGUF file or a PEFT folder), check it
 * against m and attach it to m's matrices, applied on the fly from then
 * on; m frees it.  0, or -1 and *cause (caller frees). */
int	lora_attach(struct model *m, const char *path, float scale,
	    char **cause);
/* Add every attached adapter into the weights (dequantized, added and
 * quantized back to the matrix's type; owned copies replace the
 * mapping) and detach them; the adapters stay listed.  0, or -1 and
 * *cause (OOM). */
int	lora_merge(struct model *m, char **cause);
/* Rows row0..row0+n-1 of base's delta, s B A, added to rows (n x ne0
 * floats) for every adapter in the chain l; -1 on OOM. */
int	lora_add_delta(const struct lora_w *l, int64_t row0, int64_t n,
	    float *rows);
/* Check a pair (lw->a, lw->b bound) against its matrix w, named base;
 * set lw->base and lw->scale.  0, or -1 and *cause. */
int	lora_check_pair(struct lora_w *lw, struct mtensor *w,
	    const char *base, float alpha, float scale, char **cause);
/* Make requant_file() add the adapters attached to m (bound from the
 * same file) into the matrices it writes; m must outlive the write. */
struct requant_opts;
void	lora_requant_hooks(struct requant_opts *o, struct model *m);
/* Tensors an adapter holds (pairs count two). */
size_t	lora_n_tensors(const struct lora *a);
/* The adapters of a model (model_free calls it). */
void	lora_free_all(struct model *m);
/* The GGUF adapter tensors' base matrix: the model's matrix named name
 * (blk.N.attn_q.weight...), or NULL. */
struct mtensor *lora_find_matrix(struct model *m, const char *name);

#endif
