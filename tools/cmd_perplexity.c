/*
 * `yangtuo perplexity`: the perplexity of a text by llama-perplexity's
 * method, to compare quantizations with llama.cpp's numbers.
 */
#include "config.h"

#include "cmd.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/forward.h"
#include "engine/model.h"
#include "engine/tok.h"
#include "xmalloc.h"

#include "tool.h"
#include "util.h"
#include "text.h"

struct ppl_opts {
	const char	*model, *file;
	long		 n_ctx, threads, chunks;
};

/* The options: -1 to go on, else the exit status. */
static int
ppl_opts(struct ppl_opts *o, int argc, char **argv)
{
	static const struct option	 popts[] = {
		{ "model", required_argument, NULL, 'm' },
		{ "file", required_argument, NULL, 'f' },
		{ "ctx-size", required_argument, NULL, 'c' },
		{ "threads", required_argument, NULL, 't' },
		{ "chunks", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	long	v;
	int	opt;

	o->model = o->file = NULL;
	o->n_ctx = 512;
	o->threads = 0;
	o->chunks = -1;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "hm:f:c:t:", popts, NULL)) !=
	    -1) {
		switch (opt) {
		case 'm':
			o->model = optarg;
			break;
		case 'f':
			o->file = optarg;
			break;
		case 'c':
		case 't':
		case 'k':
			if (util_parse_long(optarg, opt == 'c' ? 16 : 1,
			    1 << 20, &v) != 0)
				return tool_usage("perplexity", "bad number");
			if (opt == 'c')
				o->n_ctx = v;
			else if (opt == 't')
				o->threads = v;
			else
				o->chunks = v;
			break;
		case 'h':
			return tool_help("perplexity");
		default:
			return tool_usage("perplexity", "unknown option");
		}
	}
	if (o->model == NULL || o->file == NULL)
		return tool_usage("perplexity", "give -m MODEL and -f TEXT");
	return -1;
}

/* -log p(next) under the logits of one row, in double. */
static double
row_nll(const float *row, uint32_t n_vocab, int32_t next)
{
	double		max = row[0], sum = 0;
	uint32_t	j;

	for (j = 1; j < n_vocab; j++)
		if (row[j] > max)
			max = row[j];
	for (j = 0; j < n_vocab; j++)
		sum += exp((double)row[j] - max);
	return -((double)row[next] - max - log(sum));
}

/*
 * yangtuo perplexity: llama-perplexity's method.  The text is tokenized
 * with BOS; each chunk of n_ctx tokens starts with BOS (in place of its
 * first token) and is evaluated from an empty cache; the second half of
 * each chunk is scored.
 */
int
cmd_perplexity(int argc, char **argv)
{
	struct ppl_opts	 o;
	struct model	*m = NULL;
	struct fwd	*f = NULL;
	char		*text = NULL, *cause = NULL;
	int32_t		*ids = NULL, *chunk = NULL;
	float		*logits = NULL;
	size_t		 len, n = 0, cap = 0;
	long		 n_ctx, chunks, c, i, first;
	double		 nll = 0, count = 0, t0;
	int		 r, status = 1;

	if ((r = ppl_opts(&o, argc, argv)) != -1)
		return r;
	n_ctx = o.n_ctx;
	chunks = o.chunks;
	if ((text = tool_read_text(o.file, &len)) == NULL) {
		fprintf(stderr, "yangtuo: %s: %s\n", o.file, strerror(errno));
		return 1;
	}
	if ((m = tool_open_model(o.model)) == NULL)
		goto out;
	if (m->tok == NULL || tok_encode(m->tok, text, len,
	    tok_bos(m->tok) >= 0, 0, &ids, &n, &cap) != 0) {
		fprintf(stderr, "yangtuo: cannot tokenize %s\n", o.file);
		goto out;
	}
	if ((long)n < n_ctx) {
		fprintf(stderr, "yangtuo: %s has %zu tokens, fewer than one "
		    "chunk of %ld\n", o.file, n, n_ctx);
		goto out;
	}
	if (chunks < 0 || chunks > (long)n / n_ctx)
		chunks = (long)n / n_ctx;
	if ((f = fwd_new(m, (uint32_t)n_ctx, (int)o.threads, 0, &cause)) ==
	    NULL) {
		text_say(stderr, "yangtuo: %s\n", cause);
		goto out;
	}
	logits = malloc((size_t)n_ctx * m->hp.n_vocab * sizeof *logits);
	chunk = xreallocarray(NULL, (size_t)n_ctx, sizeof *chunk);
	if (logits == NULL) {
		fprintf(stderr, "yangtuo: out of memory\n");
		goto out;
	}
	first = n_ctx / 2;
	t0 = util_now();
	for (c = 0; c < chunks; c++) {
		memcpy(chunk, ids + c * n_ctx, (size_t)n_ctx * sizeof *chunk);
		if (tok_bos(m->tok) >= 0)
			chunk[0] = tok_bos(m->tok);
		if (fwd_eval(f, chunk, (size_t)n_ctx, 0, logits,
		    FWD_ALL_LOGITS) != FWD_OK) {
			fprintf(stderr, "yangtuo: evaluation failed\n");
			goto out;
		}
		for (i = first; i < n_ctx - 1; i++) {
			nll += row_nll(logits + (size_t)i * m->hp.n_vocab,
			    m->hp.n_vocab, ids[c * n_ctx + i + 1]);
			count++;
		}
		fprintf(stderr, "[%ld] %.4f\n", c + 1, exp(nll / count));
	}
	printf("perplexity: %.4f over %ld chunks of %ld tokens (%.0f scored), "
	    "%.1f s\n", exp(nll / count), chunks, n_ctx, count,
	    util_now() - t0);
	status = 0;
out:
	free(cause);
	free(logits);
	free(chunk);
	free(ids);
	free(text);
	fwd_free(f);
	model_free(m);
	return status;
}
