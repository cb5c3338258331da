/*
 * Engine checks that work on a model directly: `run` (greedy ids for a
 * prompt of ids or text) and `eval` (every next-token distribution of a
 * token sequence, for comparison with llama.cpp).
 */
#include "config.h"

#include "cmd.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "engine/forward.h"
#include "engine/model.h"
#include "engine/quant.h"
#include "engine/tok.h"
#include "xmalloc.h"

#include "tool.h"
#include "util.h"
#include "text.h"

/* Parse "1,2,3" into ids; returns the count or -1. */
static long
parse_id_list(const char *s, int32_t **ids)
{
	long	 n = 0, cap = 16, v;
	char	*copy = xstrdup(s), *tok, *save = NULL;

	*ids = xreallocarray(NULL, cap, sizeof **ids);
	for (tok = strtok_r(copy, ", ", &save); tok != NULL;
	    tok = strtok_r(NULL, ", ", &save)) {
		if (util_parse_long(tok, 0, INT32_MAX, &v) != 0) {
			free(copy);
			return -1;
		}
		if (n == cap) {
			cap *= 2;
			*ids = xreallocarray(*ids, cap, sizeof **ids);
		}
		(*ids)[n++] = (int32_t)v;
	}
	free(copy);
	return n;
}

/* Read a JSON array of token ids; returns the count or -1. */
static long
read_ids_json(const char *path, int32_t **ids)
{
	json_error_t	 err;
	json_t		*a, *e;
	size_t		 i;

	if ((a = json_load_file(path, 0, &err)) == NULL) {
		fprintf(stderr, "yangtuo: %s:%d: %s\n", path, err.line,
		    err.text);
		return -1;
	}
	if (!json_is_array(a) || json_array_size(a) == 0) {
		fprintf(stderr, "yangtuo: %s: expected a non-empty JSON array "
		    "of token ids\n", path);
		json_decref(a);
		return -1;
	}
	*ids = xreallocarray(NULL, json_array_size(a), sizeof **ids);
	json_array_foreach(a, i, e) {
		if (!json_is_integer(e) || json_integer_value(e) < 0 ||
		    json_integer_value(e) > INT32_MAX) {
			fprintf(stderr, "yangtuo: %s: element %zu is not a "
			    "token id\n", path, i);
			free(*ids);
			json_decref(a);
			return -1;
		}
		(*ids)[i] = (int32_t)json_integer_value(e);
	}
	i = json_array_size(a);
	json_decref(a);
	return (long)i;
}

static int
check_ids(const struct model *m, const int32_t *ids, long n)
{
	long	i;

	for (i = 0; i < n; i++)
		if ((uint32_t)ids[i] >= m->hp.n_vocab) {
			fprintf(stderr, "yangtuo: token id %d is out of range "
			    "(vocabulary of %u)\n", ids[i], m->hp.n_vocab);
			return -1;
		}
	return 0;
}

static struct fwd *
open_fwd(const struct model *m, const struct eng_opts *o, uint32_t need)
{
	struct fwd	*f;
	char		*cause = NULL;
	uint32_t	 n_ctx = o->n_ctx;

	if (n_ctx == 0)
		n_ctx = need < m->hp.n_ctx_train ? need : m->hp.n_ctx_train;
	if (n_ctx < need) {
		fprintf(stderr, "yangtuo: %u tokens do not fit a context of "
		    "%u\n", need, n_ctx);
		return NULL;
	}
	if ((f = fwd_new(m, n_ctx, o->threads, o->n_batch, &cause)) == NULL) {
		text_say(stderr, "yangtuo: %s\n", cause);
		free(cause);
	}
	return f;
}

/* yangtuo run: greedy continuation ids on one line; timing on stderr. */
int
cmd_run(int argc, char **argv)
{
	struct eng_opts	 o;
	struct model	*m;
	struct fwd	*f = NULL;
	int32_t		*ids = NULL, next;
	size_t		 n = 0, cap = 0;
	long		 i, np;
	float		*logits = NULL;
	double		 t0, t1, t2;
	int		 r, status = 1;

	if ((r = tool_parse_opts(argc, argv, &o)) != -1)
		return r;
	if ((o.prompt_tokens == NULL) == (o.prompt == NULL))
		return tool_usage("run", "give --prompt-tokens or --prompt");
	if ((m = tool_open_model_opts(&o)) == NULL)
		return 1;
	if (o.prompt_tokens != NULL) {
		if ((np = parse_id_list(o.prompt_tokens, &ids)) <= 0) {
			fprintf(stderr, "yangtuo run: bad --prompt-tokens\n");
			goto out;
		}
		n = (size_t)np;
	} else {
		if (m->tok == NULL) {
			fprintf(stderr, "yangtuo: %s has no vocabulary\n",
			    o.model);
			goto out;
		}
		if (tok_encode(m->tok, o.prompt, strlen(o.prompt),
		    tok_add_bos(m->tok), 0, &ids, &n, &cap) != 0 || n == 0) {
			fprintf(stderr, "yangtuo: cannot tokenize the prompt\n");
			goto out;
		}
	}
	if (check_ids(m, ids, (long)n) != 0)
		goto out;
	if ((f = open_fwd(m, &o, (uint32_t)(n + o.n_predict))) == NULL)
		goto out;
	logits = xreallocarray(NULL, m->hp.n_vocab, sizeof *logits);
	t0 = util_now();
	if (fwd_eval(f, ids, n, 0, logits, 0) != FWD_OK) {
		fprintf(stderr, "yangtuo: evaluation failed\n");
		goto out;
	}
	t1 = util_now();
	for (i = 0; i < o.n_predict; i++) {
		next = tool_argmax(logits, m->hp.n_vocab);
		printf("%s%d", i == 0 ? "" : " ", next);
		if (i + 1 < o.n_predict && fwd_eval(f, &next, 1,
		    (uint32_t)(n + i), logits, 0) != FWD_OK) {
			fprintf(stderr, "yangtuo: evaluation failed\n");
			goto out;
		}
	}
	printf("\n");
	t2 = util_now();
	fprintf(stderr, "prompt: %zu tokens in %.3f s (%.2f t/s); generated: "
	    "%ld tokens in %.3f s (%.2f t/s); %d threads, %s\n", n, t1 - t0,
	    n / (t1 - t0), o.n_predict, t2 - t1,
	    o.n_predict > 1 ? (o.n_predict - 1) / (t2 - t1) : 0.0,
	    fwd_n_threads(f), qt_simd_name());
	status = 0;
out:
	free(logits);
	free(ids);
	fwd_free(f);
	model_free(m);
	return status;
}

/* Softmax of a row in double, written back as float. */
static void
softmax_row(float *v, uint32_t n)
{
	double		sum = 0.0;
	float		max = v[0];
	uint32_t	i;

	for (i = 1; i < n; i++)
		if (v[i] > max)
			max = v[i];
	for (i = 0; i < n; i++)
		sum += exp((double)v[i] - max);
	for (i = 0; i < n; i++)
		v[i] = (float)(exp((double)v[i] - max) / sum);
}

/* yangtuo eval: next-token distributions for every prefix of a token
 * sequence, float32 n_tokens x n_vocab. */
int
cmd_eval(int argc, char **argv)
{
	struct eng_opts	 o;
	struct model	*m;
	struct fwd	*f = NULL;
	int32_t		*ids = NULL;
	float		*logits = NULL;
	long		 n, i;
	FILE		*out = NULL;
	int		 r, status = 1;

	if ((r = tool_parse_opts(argc, argv, &o)) != -1)
		return r;
	if (o.tokens_file == NULL || o.probs_out == NULL)
		return tool_usage("eval", "give --tokens-file and --probs-out");
	if ((m = tool_open_model_opts(&o)) == NULL)
		return 1;
	if ((n = read_ids_json(o.tokens_file, &ids)) < 0 ||
	    check_ids(m, ids, n) != 0)
		goto done;
	if ((f = open_fwd(m, &o, (uint32_t)n)) == NULL)
		goto done;
	logits = malloc((size_t)n * m->hp.n_vocab * sizeof *logits);
	if (logits == NULL) {
		fprintf(stderr, "yangtuo: out of memory\n");
		goto done;
	}
	if (fwd_eval(f, ids, (size_t)n, 0, logits, FWD_ALL_LOGITS) !=
	    FWD_OK) {
		fprintf(stderr, "yangtuo: evaluation failed\n");
		goto done;
	}
	for (i = 0; i < n; i++)
		softmax_row(logits + (size_t)i * m->hp.n_vocab, m->hp.n_vocab);
	if ((out = fopen(o.probs_out, "wb")) == NULL ||
	    fwrite(logits, sizeof *logits * m->hp.n_vocab, (size_t)n, out) !=
	    (size_t)n || fclose(out) != 0) {
		fprintf(stderr, "yangtuo: %s: %s\n", o.probs_out,
		    strerror(errno));
		out = NULL;
		goto done;
	}
	out = NULL;
	status = 0;
done:
	if (out != NULL)
		fclose(out);
	free(logits);
	free(ids);
	fwd_free(f);
	model_free(m);
	return status;
}
