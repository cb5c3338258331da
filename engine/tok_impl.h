/*
 * Internals shared by the tokenizer files: the vocabulary tables, the
 * string and merge hash tables, and the entry points of the BPE and SPM
 * encoders.  Only tok.c, tok_bpe.c and tok_spm.c include this.
 */
#ifndef YT_ENGINE_TOK_IMPL_H
#define YT_ENGINE_TOK_IMPL_H

#include <stddef.h>
#include <stdint.h>

struct gguf;

/* Token types as numbered in tokenizer.ggml.token_type. */
enum tok_type {
	TOK_T_UNDEFINED = 0,
	TOK_T_NORMAL = 1,
	TOK_T_UNKNOWN = 2,
	TOK_T_CONTROL = 3,
	TOK_T_USER = 4,
	TOK_T_UNUSED = 5,
	TOK_T_BYTE = 6
};

/* Pre-tokenizers of byte-level BPE (tokenizer.ggml.pre). */
enum tok_pre {
	TOK_PRE_DEFAULT = 0,	/* absent or "default": llama.cpp's chain */
	TOK_PRE_GPT2,		/* "gpt-2" */
	TOK_PRE_LLAMA3		/* "llama-bpe", "llama3", ... */
};

/* Open-addressing table from byte strings to ids; the strings live in the
 * owner's arena, the table keeps hashes and ids only. */
struct tok_strmap {
	uint32_t	*hash;
	int32_t		*id;		/* -1 marks an empty slot */
	uint32_t	 mask;
};

/* Open-addressing table from a pair of token ids to a merge. */
struct tok_merge {
	uint64_t	 key;		/* left << 32 | right; ~0 empty */
	int32_t		 rank;
	int32_t		 result;	/* id of left+right, -1 if none */
};

struct tok_mergemap {
	struct tok_merge	*slot;
	uint32_t		 mask;
};

struct tok {
	int		 kind;		/* enum tok_kind */
	int		 pre;		/* enum tok_pre, BPE only */
	int32_t		 n_vocab;

	char		*text;		/* all token texts, back to back */
	uint32_t	*off;		/* n_vocab + 1 offsets into text */
	uint8_t		*type;		/* enum tok_type per token */
	float		*score;		/* merge scores; NULL for BPE files
					 * without them */
	uint8_t		*eog;		/* 1 if the token ends a reply */

	int32_t		 bos, eos, eot, eom, unk;
	int		 add_bos;
	int		 add_space_prefix;
	int		 ignore_merges;

	struct tok_strmap by_text;	/* stored text -> id */

	/* Byte-level BPE: the texts with the byte mapping undone (a text
	 * that cannot be unmapped holds llama.cpp's [UNK_BYTE_...] and is
	 * left out of by_raw). */
	char		*raw;
	uint32_t	*raw_off;	/* n_vocab + 1 offsets into raw */
	struct tok_strmap by_raw;	/* raw bytes -> id */
	struct tok_mergemap merges;

	int32_t		 byte_tok[256];	/* token standing for one byte */

	int32_t		*special;	/* control, user and unknown ids, */
	size_t		 n_special;	/* longest text first */
};

/* A growing id array as tok_encode() receives it. */
struct tok_out {
	int32_t		**ids;
	size_t		 *n;
	size_t		 *cap;
};

int		tok_err(char **, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
uint32_t	tok_hash_bytes(const char *, size_t);
int		tok_strmap_init(struct tok_strmap *, size_t n);
void		tok_strmap_fini(struct tok_strmap *);
void		tok_strmap_put(struct tok_strmap *, const char *arena,
		    const uint32_t *off, int32_t id);
int32_t		tok_strmap_get(const struct tok_strmap *, const char *arena,
		    const uint32_t *off, const char *s, size_t len);
int32_t		tok_lookup(const struct tok *, const char *s, size_t len);
int		tok_push(const struct tok_out *, int32_t id);

int		tok_bpe_pre(struct tok *, const struct gguf *, char **cause);
int		tok_bpe_load(struct tok *, const struct gguf *, char **cause);
void		tok_bpe_free(struct tok *);
int		tok_bpe_encode(const struct tok *, const char *, size_t,
		    const struct tok_out *);

int		tok_spm_load(struct tok *, char **cause);
int		tok_spm_encode(const struct tok *, const char *, size_t,
		    int prefix, const struct tok_out *);

#endif
