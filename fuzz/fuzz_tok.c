/*
 * libFuzzer target: the tokenizers, BPE (Llama 3) and SPM (Llama 2) with
 * the test data's vocabularies, on arbitrary text: encode with and
 * without special tokens, decode, and the streaming decoder.  The
 * vocabularies are found through $YT_TESTDATA (else the configured test
 * data folder).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/gguf.h"
#include "engine/tok.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct gguf	*g[2];
static struct tok	*t[2];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char	*names[2] = { "ggml-vocab-llama-bpe.gguf",
	    "ggml-vocab-llama-spm.gguf" };
	const char		*td = getenv("YT_TESTDATA");
	char			 path[4096], *cause = NULL;
	int			 i;

	(void)argc;
	(void)argv;
	if (td == NULL)
		td = TESTDATA_DIR;
	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof path, "%s/tokenizer/%s", td, names[i]);
		if ((g[i] = gguf_open(path, &cause)) == NULL ||
		    (t[i] = tok_new(g[i], &cause)) == NULL) {
			fprintf(stderr, "fuzz_tok: %s\n", cause);
			exit(1);
		}
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tok_stream	 ts;
	int32_t			*ids = NULL;
	size_t			 n = 0, cap = 0, len, i, k;
	char			*text, piece[256], *out;
	int			 v;

	for (v = 0; v < 2; v++) {
		n = 0;
		if (tok_encode(t[v], (const char *)data, size, 1, v == 0, &ids,
		    &n, &cap) != 0)
			continue;
		text = tok_decode(t[v], ids, n, 1, &len);
		free(text);
		tok_stream_init(&ts);
		out = malloc(tok_stream_out_max(sizeof piece));
		for (i = 0; i < n; i++) {
			k = tok_piece(t[v], ids[i], 0, piece, sizeof piece);
			if (k > sizeof piece)
				k = sizeof piece;
			tok_stream_feed(&ts, piece, k, out);
		}
		tok_stream_flush(&ts, out);
		free(out);
	}
	free(ids);
	return 0;
}
