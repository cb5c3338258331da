/*
 * Test helper: write a Hugging Face Llama folder from a GGUF model or
 * from random weights ("random:N_VOCAB").
 */
#ifndef YT_TESTS_HF_MAKE_H
#define YT_TESTS_HF_MAKE_H

struct hf_make_opts {
	const char	*dtype;			/* "F32", "F16" or "BF16" */
	int		 shards;		/* 0 or 1: model.safetensors */
	int		 llama3_rope;		/* rope_scaling llama3 */
	const char	*arch;			/* NULL: LlamaForCausalLM */
	const char	*tokenizer;		/* tokenizer.json to copy */
	const char	*tokenizer_config;	/* tokenizer_config.json */
	const char	*gen_config;		/* generation_config.json text */
};

/* Write dir (created if needed) from src; 0 or -1. */
int	hf_make(const char *src, const char *dir, const struct hf_make_opts *);

#endif
