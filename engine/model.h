/*
 * A Llama-family model bound from a GGUF file: hyperparameters from the
 * llama.* keys (validated against each other and against the tensor
 * shapes), tensors found by name, norm vectors copied to f32.  Weights
 * stay in the read-only mapping.
 */
#ifndef YT_ENGINE_MODEL_H
#define YT_ENGINE_MODEL_H

#include <stddef.h>
#include <stdint.h>

struct gguf;
struct lora;
struct lora_w;
struct tok;

#define MODEL_MAX_LAYERS	512
#define MODEL_MAX_CTX		(1u << 20)
#define MODEL_MAX_LORA		8	/* adapters on one model */

/* model_load_flags() */
#define MODEL_NO_REPACK		0x1	/* weights stay as the file has them */

/* A 2-D weight matrix: ne0 inputs (row length) by ne1 rows. */
struct mtensor {
	const void	*data;
	uint32_t	 type;
	int64_t		 ne0;
	int64_t		 ne1;
	size_t		 row_size;	/* bytes per row */
	const char	*name;
	void		*rp;		/* repacked copy (repack.h) or NULL */
	int		 rp_kind;
	size_t		 rp_map;	/* bytes mapped for rp, or 0 if
					 * it came from malloc */
	const struct lora_w *lora;	/* adapters applied on the fly, or
					 * NULL (lora.h) */
	void		*own;		/* merged weights replacing the
					 * mapping's, or NULL */
	int		 dots;		/* prompts too by the dot products
					 * (llama.cpp's floats), not sgemm */
};

struct model_hp {
	uint32_t	n_vocab;
	uint32_t	n_embd;
	uint32_t	n_layer;
	uint32_t	n_head;
	uint32_t	n_head_kv;
	uint32_t	head_dim;
	uint32_t	n_ff;
	uint32_t	n_ctx_train;
	uint32_t	rope_dim;
	float		rope_base;
	float		norm_eps;
};

struct layer {
	float		*attn_norm;	/* (n_embd) */
	float		*ffn_norm;	/* (n_embd) */
	struct mtensor	 wq;		/* (n_embd, n_head * head_dim) */
	struct mtensor	 wk;		/* (n_embd, n_head_kv * head_dim) */
	struct mtensor	 wv;		/* (n_embd, n_head_kv * head_dim) */
	struct mtensor	 wo;		/* (n_head * head_dim, n_embd) */
	struct mtensor	 w_gate;	/* (n_embd, n_ff) */
	struct mtensor	 w_up;		/* (n_embd, n_ff) */
	struct mtensor	 w_down;	/* (n_ff, n_embd) */
};

struct model {
	struct gguf	*gguf;
	struct tok	*tok;		/* NULL if the file has no vocab */
	char		*path;
	char		*name;		/* general.name or the file name */
	struct model_hp	 hp;
	struct mtensor	 tok_embd;	/* (n_embd, n_vocab) */
	struct mtensor	 output;	/* (n_embd, n_vocab); may be tied */
	int		 tied_output;
	float		*output_norm;	/* (n_embd) */
	float		*rope_freqs;	/* (rope_dim / 2) or NULL */
	struct layer	*layers;
	struct lora	*lora[MODEL_MAX_LORA];	/* lora.h */
	size_t		 n_lora;
	int		 lora_merged;	/* added into the weights */
	void		*aligned;	/* copies of misaligned tensors */
};

struct model	*model_load(const char *path, char **cause);
struct model	*model_load_flags(const char *path, int flags, char **cause);
void		 model_free(struct model *);
/* The MODEL_LAYER_MATRICES matrices of layer il: q, k, v, output,
 * gate, up, down. */
#define MODEL_LAYER_MATRICES	7
void		 model_layer_matrices(struct model *, uint32_t il,
		    struct mtensor *ts[MODEL_LAYER_MATRICES]);
/* Point mt at the data, type, shape and row size of GGUF tensor t (a
 * struct gguf_tensor, gguf.h); -1 with *cause for a bad row size. */
struct gguf_tensor;
int		 model_mtensor_point(const struct gguf_tensor *t,
		    struct mtensor *mt, char **cause);
/* Bytes of weights the model maps, and a KV cache of n_ctx needs. */
uint64_t	 model_weight_bytes(const struct model *);
uint64_t	 model_kv_bytes(const struct model *, uint32_t n_ctx);

#endif
