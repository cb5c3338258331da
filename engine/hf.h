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

struct gguf;

/* Whether path names a folder (an HF model) rather than a file. */
int		 hf_is_folder(const char *path);

/* Open the HF folder dir as a GGUF view; NULL with *cause (a sentence
 * naming the file at fault, caller frees) if it is not a Llama folder we
 * can run.  gguf_close() frees everything. */
struct gguf	*hf_open(const char *dir, char **cause);

/* gguf_open() for a file, hf_open() for a folder. */
struct gguf	*hf_gguf_open(const char *path, char **cause);

#endif
