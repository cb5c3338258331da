/*
 * Hugging Face Llama folders seen as GGUF: config.json, the safetensors
 * weights (mapped; only q_proj/k_proj rows are copied, to undo the
 * rotary permutation), tokenizer.json, tokenizer_config.json and
 * generation_config.json become the llama.* and tokenizer.ggml.* keys
 * and the tensors a converted GGUF file has, so the model loader,
 * tokenizer, templates, info and quantize take either.
 */
#ifndef YT_ENGINE_HF_H
#define YT_ENGINE_HF_H

#include <stddef.h>
#include <stdint.h>

struct gguf;

/* Whether path names a folder (an HF model) rather than a file. */
int		 hf_is_folder(const char *path);

/* Open the HF folder dir as a GGUF view; NULL with *cause (a sentence
 * naming the file at fault, caller frees) if it is not a Llama folder we
 * can run.  gguf_close() frees everything. */
struct gguf	*hf_open(const char *dir, char **cause);

/* gguf_open() for a file, hf_open() for a folder. */
struct gguf	*hf_gguf_open(const char *path, char **cause);

/* The GGUF name ("attn_q") of a Llama layer's HF module
 * ("self_attn.q_proj"), or NULL; *permuted (may be NULL) is 1 for
 * q_proj, 2 for k_proj (rows to reorder with n_head, n_head_kv heads),
 * else 0.  PEFT adapters (lora_peft.c) name the same modules. */
const char	*hf_layer_gguf(const char *module, int *permuted);
/* Copy the rows of a q_proj/k_proj-shaped matrix, n_head heads of d
 * rows of rb bytes, from HF's order (the rotary halves apart) in src to
 * GGUF's (interleaved) in dst, as llama.cpp's converter permutes them. */
void		 hf_unpermute_rows(uint8_t *dst, const uint8_t *src,
		    uint64_t n_head, uint64_t d, size_t rb);

#endif
