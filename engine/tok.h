/*
 * Tokenizers read from GGUF metadata: byte-level BPE (tokenizer.ggml.model
 * "gpt2", with the llama-bpe or default pre-tokenizer) and SentencePiece
 * BPE with byte fallback ("llama").  Special tokens are recognised only
 * when the caller asks (templates do; user text never does).  Also the
 * streaming UTF-8 decoder that hands out whole characters only.
 */
#ifndef YT_ENGINE_TOK_H
#define YT_ENGINE_TOK_H

#include <stddef.h>
#include <stdint.h>

struct gguf;
struct tok;

enum tok_kind {
	TOK_KIND_SPM = 1,
	TOK_KIND_BPE = 2
};

/* Build a tokenizer from the file's tokenizer.ggml.* keys.  Copies what it
 * needs: the gguf may be closed afterwards.  NULL and *cause (caller frees)
 * on bad or missing metadata; the message names the key. */
struct tok	*tok_new(const struct gguf *, char **cause);
void		 tok_free(struct tok *);

int		 tok_kind(const struct tok *);
int32_t		 tok_n_vocab(const struct tok *);
int32_t		 tok_bos(const struct tok *);	/* -1 if none */
int32_t		 tok_eos(const struct tok *);	/* -1 if none */
int		 tok_add_bos(const struct tok *);
int		 tok_is_eog(const struct tok *, int32_t id);
int		 tok_is_control(const struct tok *, int32_t id);
/* Id of a special (control) token given its text, or -1. */
int32_t		 tok_special(const struct tok *, const char *text);
/* The control token whose text begins s[0..len) (the longest), or -1;
 * *mlen gets the length of its text. */
int32_t		 tok_special_at(const struct tok *, const char *s, size_t len,
		    size_t *mlen);

/* Encode len bytes of text, appending ids to *ids (grown with realloc,
 * *n updated).  add_bos prepends BOS (when the vocab has one); parse_special
 * recognises control-token texts in the input.  Returns 0, or -1 on OOM
 * (or a run of text over 700 MB). */
int		 tok_encode(const struct tok *, const char *text, size_t len,
		    int add_bos, int parse_special, int32_t **ids, size_t *n,
		    size_t *cap);

/* The bytes a token stands for (byte-level BPE mapping undone, SPM '▁'
 * as space, <0xNN> as the byte); control tokens give their text only if
 * special is set, else nothing.  Writes at most cap bytes, returns the
 * full length. */
size_t		 tok_piece(const struct tok *, int32_t id, int special,
		    char *buf, size_t cap);
/* The token's text as stored in the vocabulary (for display). */
const char	*tok_text(const struct tok *, int32_t id, size_t *len);
/* Text of ids[0..n) as llama.cpp detokenizes without cleanup: the pieces
 * in order, SPM's dummy-prefix space dropped from the first.  Returns a
 * NUL-terminated string (caller frees; *len its length), NULL on OOM. */
char		*tok_decode(const struct tok *, const int32_t *ids, size_t n,
		    int special, size_t *len);

/* Streaming decoder: whole UTF-8 characters only. */
struct tok_stream {
	unsigned char	pend[4];
	int		npend;
};

void	tok_stream_init(struct tok_stream *);
/* Room tok_stream_feed() needs for len input bytes: every byte of an
 * invalid sequence may become a 3-byte U+FFFD, held bytes included. */
static inline size_t
tok_stream_out_max(size_t len)
{
	return 3 * len + 12;
}

/* Feed bytes; writes complete characters (each invalid maximal subpart
 * becomes U+FFFD) to out, which must hold tok_stream_out_max(len) bytes;
 * returns bytes written. */
size_t	tok_stream_feed(struct tok_stream *, const char *in, size_t len,
	    char *out);
/* End of stream: what never completed becomes U+FFFD.  out holds 8. */
size_t	tok_stream_flush(struct tok_stream *, char *out);

#endif
