/*
 * What hf.c and hf_tok.c share: loading a folder's JSON files and
 * reading numbers from them.
 */
#ifndef YT_ENGINE_HF_IMPL_H
#define YT_ENGINE_HF_IMPL_H

#include <stdint.h>

#include <jansson.h>

struct gguf_w;

/* Parse dir/name; NULL with *cause, or with *cause NULL when the file is
 * absent and optional.  Big integers decode as reals (hf_num reads
 * both). */
json_t	*hf_json_load(const char *dir, const char *name, int optional,
	    char **cause);
/* A JSON number that is a whole number in [0, max]: 0, else -1. */
int	 hf_uint(json_t *, uint64_t max, uint64_t *);

/* Add the tokenizer.* keys from tokenizer.json, tokenizer_config.json and
 * generation_config.json of dir; vocab_size is config.json's.  0, or -1
 * and *cause. */
int	 hf_tok_keys(struct gguf_w *, const char *dir, uint32_t vocab_size,
	    char **cause);

#endif
