/*
 * Engine checks that work on a model directly: `run` (greedy ids for a
 * prompt of ids or text), `eval` (every next-token distribution of a
 * token sequence, for comparison with llama.cpp) and `info` (what a file
 * holds and the memory it needs).
 */
#include "config.h"

#include "cmd.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "engine/forward.h"
#include "engine/gguf.h"
#include "engine/model.h"
#include "engine/pool.h"
#include "engine/quant.h"
#include "engine/requant.h"
#include "engine/synth.h"
#include "engine/tok.h"
#include "xmalloc.h"

struct eng_opts {
	const char	*model;
	int		 threads;
	uint32_t	 n_ctx;
	uint32_t	 n_batch;
	long		 n_predict;
	const char	*prompt_tokens;
	const char	*prompt;
	const char	*tokens_file;
	const char	*probs_out;
	int		 verbose;
};

enum {
	OPT_PROMPT_TOKENS = 256,
	OPT_PROMPT,
	OPT_TOKENS_FILE,
	OPT_PROBS_OUT,
	OPT_BATCH
};

static const struct option eng_longopts[] = {
	{ "model", required_argument, NULL, 'm' },
	{ "threads", required_argument, NULL, 't' },
	{ "ctx-size", required_argument, NULL, 'c' },
	{ "batch-size", required_argument, NULL, OPT_BATCH },
	{ "n-predict", required_argument, NULL, 'n' },
	{ "max-tokens", required_argument, NULL, 'n' },
	{ "prompt-tokens", required_argument, NULL, OPT_PROMPT_TOKENS },
	{ "prompt", required_argument, NULL, OPT_PROMPT },
	{ "tokens-file", required_argument, NULL, OPT_TOKENS_FILE },
	{ "probs-out", required_argument, NULL, OPT_PROBS_OUT },
	{ "verbose", no_argument, NULL, 'v' },
	{ NULL, 0, NULL, 0 }
};

static double
now_sec(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
parse_long(const char *s, long lo, long hi, long *out)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int
usage_err(const char *cmd, const char *msg)
{
	fprintf(stderr, "yangtuo %s: %s\n", cmd, msg);
	fprintf(stderr, "Try 'yangtuo --help' for more information.\n");
	return 2;
}

static int
parse_eng_opts(int argc, char **argv, struct eng_opts *o)
{
	long	v;
	int	c;

	memset(o, 0, sizeof *o);
	o->n_predict = 48;
	optind = 1;
	while ((c = getopt_long(argc, argv, "m:t:c:n:v", eng_longopts,
	    NULL)) != -1) {
		switch (c) {
		case 'm':
			o->model = optarg;
			break;
		case 't':
			if (parse_long(optarg, 1, 256, &v) != 0)
				return usage_err(argv[0], "bad --threads");
			o->threads = (int)v;
			break;
		case 'c':
			if (parse_long(optarg, 0, 1 << 20, &v) != 0)
				return usage_err(argv[0], "bad --ctx-size");
			o->n_ctx = (uint32_t)v;
			break;
		case OPT_BATCH:
			if (parse_long(optarg, 1, 8192, &v) != 0)
				return usage_err(argv[0], "bad --batch-size");
			o->n_batch = (uint32_t)v;
			break;
		case 'n':
			if (parse_long(optarg, 0, 1 << 20, &v) != 0)
				return usage_err(argv[0], "bad --n-predict");
			o->n_predict = v;
			break;
		case OPT_PROMPT_TOKENS:
			o->prompt_tokens = optarg;
			break;
		case OPT_PROMPT:
			o->prompt = optarg;
			break;
		case OPT_TOKENS_FILE:
			o->tokens_file = optarg;
			break;
		case OPT_PROBS_OUT:
			o->probs_out = optarg;
			break;
		case 'v':
			o->verbose = 1;
			break;
		default:
			return usage_err(argv[0], "unknown option");
		}
	}
	if (o->model == NULL && optind < argc)
		o->model = argv[optind++];
	if (optind < argc)
		return usage_err(argv[0], "unexpected argument");
	if (o->model == NULL)
		return usage_err(argv[0], "no model given (-m MODEL.gguf)");
	return 0;
}

/* Parse "1,2,3" into ids; returns the count or -1. */
static long
parse_id_list(const char *s, int32_t **ids)
{
	long	 n = 0, cap = 16, v;
	char	*copy = xstrdup(s), *tok, *save = NULL;

	*ids = xreallocarray(NULL, cap, sizeof **ids);
	for (tok = strtok_r(copy, ", ", &save); tok != NULL;
	    tok = strtok_r(NULL, ", ", &save)) {
		if (parse_long(tok, 0, INT32_MAX, &v) != 0) {
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

static struct model *
open_model(const char *path)
{
	struct model	*m;
	char		*cause = NULL;

	if ((m = model_load(path, &cause)) == NULL) {
		fprintf(stderr, "yangtuo: %s: %s\n", path,
		    cause != NULL ? cause : "cannot load");
		free(cause);
	}
	return m;
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
		fprintf(stderr, "yangtuo: %s\n", cause);
		free(cause);
	}
	return f;
}

static int32_t
argmax(const float *v, uint32_t n)
{
	uint32_t	i, best = 0;

	for (i = 1; i < n; i++)
		if (v[i] > v[best])
			best = i;
	return (int32_t)best;
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

	if ((r = parse_eng_opts(argc, argv, &o)) != 0)
		return r;
	if ((o.prompt_tokens == NULL) == (o.prompt == NULL))
		return usage_err("run", "give --prompt-tokens or --prompt");
	if ((m = open_model(o.model)) == NULL)
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
	t0 = now_sec();
	if (fwd_eval(f, ids, n, 0, logits, 0) != FWD_OK) {
		fprintf(stderr, "yangtuo: evaluation failed\n");
		goto out;
	}
	t1 = now_sec();
	for (i = 0; i < o.n_predict; i++) {
		next = argmax(logits, m->hp.n_vocab);
		printf("%s%d", i == 0 ? "" : " ", next);
		if (i + 1 < o.n_predict && fwd_eval(f, &next, 1,
		    (uint32_t)(n + i), logits, 0) != FWD_OK) {
			fprintf(stderr, "yangtuo: evaluation failed\n");
			goto out;
		}
	}
	printf("\n");
	t2 = now_sec();
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

	if ((r = parse_eng_opts(argc, argv, &o)) != 0)
		return r;
	if (o.tokens_file == NULL || o.probs_out == NULL)
		return usage_err("eval", "give --tokens-file and --probs-out");
	if ((m = open_model(o.model)) == NULL)
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

/* Print value i of kv (0 for a scalar): integers exactly, signed or
 * not, BOOL as true/false, floats with enough digits to read back. */
static void
print_value(const struct gguf_kv *kv, uint64_t i)
{
	uint32_t	 t = kv->type == GGUF_VT_ARRAY ? kv->atype : kv->type;
	int64_t		 s;
	uint64_t	 u;
	int		 neg;

	if (t == GGUF_VT_FLOAT32) {
		float	f;

		memcpy(&f, kv->data + i * sizeof f, sizeof f);
		printf("%.9g", (double)f);
		return;
	}
	if (t == GGUF_VT_FLOAT64) {
		double	d;

		memcpy(&d, kv->data + i * sizeof d, sizeof d);
		printf("%.17g", d);
		return;
	}
	if ((neg = gguf_kv_int(kv, i, &s, &u)) < 0)
		printf("?");
	else if (t == GGUF_VT_BOOL)
		printf("%s", u ? "true" : "false");
	else if (neg)
		printf("%lld", (long long)s);
	else
		printf("%llu", (unsigned long long)u);
}

static void
print_kv(const struct gguf_kv *kv)
{
	uint64_t	i;
	int		w;

	w = kv->key.len > 60 ? 60 : (int)kv->key.len;
	printf("  %-44.*s ", w, kv->key.p);
	if (kv->type == GGUF_VT_ARRAY) {
		printf("[%s x %llu]", gguf_vtype_name(kv->atype),
		    (unsigned long long)kv->n);
		if (kv->atype != GGUF_VT_STRING && kv->atype != GGUF_VT_ARRAY &&
		    kv->n <= 8)
			for (i = 0; i < kv->n; i++) {
				printf(" ");
				print_value(kv, i);
			}
	} else if (kv->type == GGUF_VT_STRING) {
		printf("\"%.*s%s\"", kv->n > 60 ? 60 : (int)kv->n,
		    (const char *)kv->data, kv->n > 60 ? "..." : "");
	} else
		print_value(kv, 0);
	printf("\n");
}

/* Print the metadata and tensor types of an open GGUF file. */
static void
print_gguf(const char *path, const struct gguf *g)
{
	uint64_t	 counts[QT_COUNT] = { 0 }, bytes[QT_COUNT] = { 0 };
	uint64_t	 i;
	unsigned	 t;

	printf("file: %s\nGGUF version %u, %llu metadata keys, %llu tensors\n"
	    "\nmetadata:\n", path, g->version, (unsigned long long)g->n_kv,
	    (unsigned long long)g->n_tensors);
	for (i = 0; i < g->n_kv; i++)
		print_kv(&g->kv[i]);
	for (i = 0; i < g->n_tensors; i++)
		if (g->tensors[i].type < QT_COUNT) {
			counts[g->tensors[i].type]++;
			bytes[g->tensors[i].type] += g->tensors[i].nbytes;
		}
	printf("\ntensor types:\n");
	for (t = 0; t < QT_COUNT; t++)
		if (counts[t] != 0)
			printf("  %-6s %5llu tensors %10.2f MiB\n", qt_name(t),
			    (unsigned long long)counts[t], bytes[t] / 1048576.0);
}

/* yangtuo info: metadata, tensor types and the memory a model needs.  A
 * GGUF file that is no model yangtuo runs still shows its metadata, then
 * the reason (exit 1). */
int
cmd_info(int argc, char **argv)
{
	struct eng_opts	 o;
	struct model	*m;
	struct gguf	*g;
	uint64_t	 kv;
	uint32_t	 n_ctx;
	char		*cause = NULL;
	int		 r;

	if ((r = parse_eng_opts(argc, argv, &o)) != 0)
		return r;
	if ((g = gguf_open(o.model, &cause)) == NULL) {
		fprintf(stderr, "yangtuo: %s: %s\n", o.model,
		    cause != NULL ? cause : "cannot read");
		free(cause);
		return 1;
	}
	print_gguf(o.model, g);
	gguf_close(g);
	fflush(stdout);
	if ((m = open_model(o.model)) == NULL)
		return 1;
	n_ctx = o.n_ctx != 0 ? o.n_ctx : m->hp.n_ctx_train;
	printf("\nmodel: %s: %u layers, n_embd %u, %u heads (%u KV, head dim "
	    "%u), n_ff %u, vocab %u, rope base %g, eps %g%s%s\n", m->name,
	    m->hp.n_layer, m->hp.n_embd, m->hp.n_head, m->hp.n_head_kv,
	    m->hp.head_dim, m->hp.n_ff, m->hp.n_vocab, m->hp.rope_base,
	    m->hp.norm_eps, m->tied_output ? ", tied output" : "",
	    m->rope_freqs != NULL ? ", rope_freqs" : "");
	kv = model_kv_bytes(m, n_ctx);
	printf("memory: weights %.2f MiB (mapped) + KV cache %.2f MiB at "
	    "context %u = %.2f MiB\n", model_weight_bytes(m) / 1048576.0,
	    kv / 1048576.0, n_ctx, (model_weight_bytes(m) + kv) / 1048576.0);
	model_free(m);
	return 0;
}

/* yangtuo quantize --random SHAPE TYPE OUT.gguf: a synthetic model. */
static int
quantize_random(const char *rshape, long seed, const char *tname,
    const char *out)
{
	const struct synth_shape	*shape;
	char				*cause = NULL;
	int				 type;
	double				 t0;

	if ((shape = synth_shape(rshape)) == NULL)
		return usage_err("quantize", "shape must be 1b, 8b, small or "
		    "tiny");
	if ((type = qt_type_by_name(tname)) < 0)
		return usage_err("quantize", "unknown weight type");
	t0 = now_sec();
	if (synth_write(out, shape, (uint32_t)type, (uint64_t)seed,
	    &cause) != 0) {
		fprintf(stderr, "yangtuo: %s\n", cause);
		free(cause);
		return 1;
	}
	fprintf(stderr, "wrote %s (%s, %s) in %.1f s\n", out, shape->name,
	    qt_name((uint32_t)type), now_sec() - t0);
	return 0;
}

static void
quantize_progress(void *arg, size_t i, size_t n, const char *name,
    uint32_t from, uint32_t to)
{
	(void)arg;
	fprintf(stderr, "[%4zu/%4zu] %-32s %6s -> %s\n", i + 1, n, name,
	    qt_name(from) != NULL ? qt_name(from) : "?",
	    qt_name(to) != NULL ? qt_name(to) : "?");
}

static int
quantize_unknown(const char *tname)
{
	const struct requant_ftype	*f;
	size_t				 i;

	fprintf(stderr, "yangtuo quantize: unknown type '%s'; one of:", tname);
	for (i = 0; (f = requant_ftype_at(i)) != NULL; i++)
		fprintf(stderr, " %s", f->name);
	fprintf(stderr, "\nTry 'yangtuo --help' for more information.\n");
	return 2;
}

/* yangtuo quantize IN.gguf OUT.gguf TYPE: requantize as llama-quantize. */
static int
quantize_file(const char *in, const char *out, const char *tname,
    struct requant_opts *ro)
{
	struct requant_stats	 st;
	char			*cause = NULL;
	double			 t0;

	if ((ro->ftype = requant_ftype(tname)) == NULL)
		return quantize_unknown(tname);
	t0 = now_sec();
	if (requant_file(in, out, ro, &st, &cause) != 0) {
		fprintf(stderr, "yangtuo quantize: %s\n", cause != NULL ?
		    cause : "out of memory");
		free(cause);
		return 1;
	}
	if (st.n_requantized > 0)
		fprintf(stderr, "note: %zu tensors were requantized from "
		    "quantized types (less accurate than from F16/F32)\n",
		    st.n_requantized);
	if (st.n_fallback > 0)
		fprintf(stderr, "note: %zu tensors have rows too short for "
		    "their type and took a fallback type\n", st.n_fallback);
	fprintf(stderr, "wrote %s (%s%s, %zu tensors, %zu converted): "
	    "%.2f MiB -> %.2f MiB in %.1f s\n", out, ro->ftype->name,
	    ro->pure ? " pure" : ro->mix && !ro->ftype->mix ? " mix" : "",
	    st.n_tensors, st.n_converted, st.bytes_in / 1048576.0,
	    st.bytes_out / 1048576.0, now_sec() - t0);
	return 0;
}

/* yangtuo quantize: requantize a model, or write a synthetic one. */
int
cmd_quantize(int argc, char **argv)
{
	static const struct option	 qopts[] = {
		{ "random", required_argument, NULL, 'r' },
		{ "seed", required_argument, NULL, 's' },
		{ "pure", no_argument, NULL, 'p' },
		{ "mix", no_argument, NULL, 'x' },
		{ "threads", required_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 }
	};
	struct requant_opts		 ro;
	const char			*rshape = NULL;
	long				 seed = 1, v;
	int				 c;

	memset(&ro, 0, sizeof ro);
	optind = 1;
	while ((c = getopt_long(argc, argv, "t:v", qopts, NULL)) != -1) {
		switch (c) {
		case 'r':
			rshape = optarg;
			break;
		case 's':
			if (parse_long(optarg, 0, INT32_MAX, &seed) != 0)
				return usage_err("quantize", "bad --seed");
			break;
		case 'p':
			ro.pure = 1;
			break;
		case 'x':
			ro.mix = 1;
			break;
		case 't':
			if (parse_long(optarg, 1, 256, &v) != 0)
				return usage_err("quantize", "bad --threads");
			ro.threads = (int)v;
			break;
		case 'v':
			ro.progress = quantize_progress;
			break;
		default:
			return usage_err("quantize", "unknown option");
		}
	}
	if (ro.pure && ro.mix)
		return usage_err("quantize", "--pure and --mix exclude each "
		    "other");
	if (rshape != NULL) {
		if (argc - optind != 2)
			return usage_err("quantize", "give TYPE and OUT.gguf");
		return quantize_random(rshape, seed, argv[optind],
		    argv[optind + 1]);
	}
	if (argc - optind != 3)
		return usage_err("quantize", "give IN.gguf OUT.gguf TYPE");
	return quantize_file(argv[optind], argv[optind + 1],
	    argv[optind + 2], &ro);
}

static int
cmp_dbl(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static long
peak_rss_bytes(void)
{
	struct rusage	ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss * 1024L;
}

struct bw_job {
	const uint64_t	*buf;
	size_t		 n;		/* words */
	uint64_t	 sink[64];
};

static void
bw_run(void *arg, int ith, int nth)
{
	struct bw_job	*j = arg;
	long		 lo, hi, i;
	uint64_t	 a = 0, b = 0, c = 0, d = 0;

	pool_split((long)j->n / 4, ith, nth, &lo, &hi);
	for (i = lo * 4; i < hi * 4; i += 4) {
		a += j->buf[i];
		b ^= j->buf[i + 1];
		c += j->buf[i + 2];
		d ^= j->buf[i + 3];
	}
	j->sink[ith % 64] = a + b + c + d;
}

/* The machine's read bandwidth with nth threads: the best of 5 passes
 * over 1 GiB, in bytes per second. */
static double
read_bandwidth(int nth)
{
	struct bw_job	 j;
	struct pool	*p;
	size_t		 bytes = 1u << 30, i;
	uint64_t	*buf;
	double		 best = 0, t0, t;
	int		 r;

	if ((buf = malloc(bytes)) == NULL || (p = pool_new(nth)) == NULL) {
		free(buf);
		return 0;
	}
	for (i = 0; i < bytes / 8; i++)
		buf[i] = i * 2654435761u;
	j.buf = buf;
	j.n = bytes / 8;
	for (r = 0; r < 5; r++) {
		t0 = now_sec();
		pool_run(p, bw_run, &j);
		t = now_sec() - t0;
		if (bytes / t > best)
			best = bytes / t;
	}
	pool_free(p);
	free(buf);
	return best;
}

/* The same in a child process, so that its gigabyte does not count in
 * our peak RSS; 0 if that fails. */
static double
read_bandwidth_apart(int nth)
{
	double	b = 0;
	ssize_t	n;
	pid_t	pid;
	int	fd[2], st;

	if (pipe(fd) != 0)
		return 0;
	if ((pid = fork()) == 0) {
		close(fd[0]);
		b = read_bandwidth(nth);
		n = write(fd[1], &b, sizeof b);
		_exit(n == (ssize_t)sizeof b ? 0 : 1);
	}
	close(fd[1]);
	if (pid > 0) {
		do
			n = read(fd[0], &b, sizeof b);
		while (n < 0 && errno == EINTR);
		if (n != (ssize_t)sizeof b)
			b = 0;
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
	}
	close(fd[0]);
	return b;
}

/* Bytes one decoded token reads: every matrix a layer multiplies, the
 * output head, and the K/V rows of a context of ctx tokens. */
static double
token_bytes(const struct model *m, double ctx)
{
	double		b = 0;
	uint32_t	il;

	for (il = 0; il < m->hp.n_layer; il++) {
		const struct layer	*l = &m->layers[il];

		b += (double)l->wq.row_size * l->wq.ne1 +
		    (double)l->wk.row_size * l->wk.ne1 +
		    (double)l->wv.row_size * l->wv.ne1 +
		    (double)l->wo.row_size * l->wo.ne1 +
		    (double)l->w_gate.row_size * l->w_gate.ne1 +
		    (double)l->w_up.row_size * l->w_up.ne1 +
		    (double)l->w_down.row_size * l->w_down.ne1;
	}
	b += (double)m->output.row_size * m->output.ne1;
	b += 2.0 * 2 * m->hp.n_layer * (double)m->hp.n_head_kv *
	    m->hp.head_dim * ctx;
	return b;
}

/* yangtuo bench: prompt (pp) and generation (tg) tokens/s, llama-bench
 * style: one warm-up round, then medians over the repetitions. */
int
cmd_bench(int argc, char **argv)
{
	static const struct option	 bopts[] = {
		{ "model", required_argument, NULL, 'm' },
		{ "threads", required_argument, NULL, 't' },
		{ "n-prompt", required_argument, NULL, 'p' },
		{ "n-gen", required_argument, NULL, 'n' },
		{ "repetitions", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "bandwidth", no_argument, NULL, 'b' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*model = NULL;
	struct model	*m;
	struct fwd	*f;
	char		*cause = NULL;
	long		 threads = 0, pp = 512, tg = 128, reps = 3, v;
	int		 c, json = 0, bw = 0, nth;
	double		 bwps = 0, bw0 = 0, bw1 = 0, tb = 0;
	long		 rss;
	int32_t		*ids, next = 0;
	float		*logits;
	double		*pps, *tgs, t0, ppm, tgm;
	long		 r, i;

	optind = 1;
	while ((c = getopt_long(argc, argv, "m:t:p:n:r:", bopts, NULL)) != -1) {
		switch (c) {
		case 'm':
			model = optarg;
			break;
		case 't':
		case 'p':
		case 'n':
		case 'r':
			if (parse_long(optarg, c == 't' || c == 'r' ? 1 : 0,
			    1 << 16, &v) != 0)
				return usage_err("bench", "bad number");
			if (c == 't')
				threads = v;
			else if (c == 'p')
				pp = v;
			else if (c == 'n')
				tg = v;
			else
				reps = v;
			break;
		case 'j':
			json = 1;
			break;
		case 'b':
			bw = 1;
			break;
		default:
			return usage_err("bench", "unknown option");
		}
	}
	if (model == NULL && optind < argc)
		model = argv[optind++];
	if (model == NULL)
		return usage_err("bench", "no model given (-m MODEL.gguf)");
	if ((m = open_model(model)) == NULL)
		return 1;
	f = fwd_new(m, (uint32_t)(pp + tg + 8), (int)threads,
	    (uint32_t)(pp > 0 ? pp : 1), &cause);
	if (f == NULL) {
		fprintf(stderr, "yangtuo: %s\n", cause);
		free(cause);
		model_free(m);
		return 1;
	}
	ids = xreallocarray(NULL, (size_t)pp + 1, sizeof *ids);
	for (i = 0; i <= pp; i++)
		ids[i] = (int32_t)((i * 7919 + 13) % m->hp.n_vocab);
	logits = xreallocarray(NULL, m->hp.n_vocab, sizeof *logits);
	if (bw && tg > 0) {
		/* The host's bandwidth drifts (37 to 60 GB/s within minutes
		 * here): read it before the runs too, once the new engine's
		 * helpers have gone to sleep, and take the mean. */
		struct timespec	ts = { 0, 50000000 };

		nanosleep(&ts, NULL);
		bw0 = read_bandwidth_apart(fwd_n_threads(f));
	}
	pps = xcalloc((size_t)reps + 1, sizeof *pps);
	tgs = xcalloc((size_t)reps + 1, sizeof *tgs);
	for (r = 0; r <= reps; r++) {
		if (pp > 0) {
			t0 = now_sec();
			fwd_eval(f, ids, (size_t)pp, 0, logits, 0);
			pps[r] = pp / (now_sec() - t0);
		}
		if (tg > 0) {
			t0 = now_sec();
			next = ids[0];
			for (i = 0; i < tg; i++) {
				fwd_eval(f, &next, 1, (uint32_t)i, logits, 0);
				next = argmax(logits, m->hp.n_vocab);
			}
			tgs[r] = tg / (now_sec() - t0);
		}
		if (!json)
			fprintf(stderr, "%s round %ld: pp %.2f t/s, tg %.2f "
			    "t/s\n", r == 0 ? "warm-up" : "", r, pps[r],
			    tgs[r]);
	}
	/* Round 0 is the warm-up. */
	qsort(pps + 1, (size_t)reps, sizeof *pps, cmp_dbl);
	qsort(tgs + 1, (size_t)reps, sizeof *tgs, cmp_dbl);
	ppm = pps[1 + reps / 2];
	tgm = tgs[1 + reps / 2];
	rss = peak_rss_bytes();
	nth = fwd_n_threads(f);
	if (bw) {
		/* After the runs and the peak RSS, with the engine's threads
		 * gone (an idle helper still spinning took a third of it). */
		tb = token_bytes(m, tg / 2.0);
		fwd_free(f);
		f = NULL;
		bw1 = read_bandwidth(nth);
		bwps = bw0 > 0 ? (bw0 + bw1) / 2 : bw1;
	}
	if (json)
		printf("{\"engine\": \"yangtuo %s\", \"model\": \"%s\", "
		    "\"threads\": %d, \"pp\": %ld, \"tg\": %ld, \"pp_tps\": "
		    "%.3f, \"tg_tps\": %.3f, \"peak_rss_bytes\": %ld, "
		    "\"kernels\": \"%s\", \"token_bytes\": %.0f, "
		    "\"read_bandwidth\": %.0f, \"read_bandwidth_before\": %.0f, "
		    "\"read_bandwidth_after\": %.0f, \"tg_bound_tps\": %.3f}\n",
		    PACKAGE_VERSION, model, nth, pp, tg, ppm, tgm,
		    rss, qt_simd_name(), tb, bwps, bw0, bw1,
		    tb > 0 ? bwps / tb : 0.0);
	else {
		printf("%s: %d threads, %s kernels\npp%ld: %.2f t/s\ntg%ld: "
		    "%.2f t/s\npeak RSS: %.1f MiB\n", model,
		    nth, qt_simd_name(), pp, ppm, tg, tgm,
		    rss / 1048576.0);
		if (bw)
			printf("read bandwidth: %.2f GB/s (%.2f before the "
			    "runs, %.2f after); a token reads %.1f MB, so "
			    "decode is bound by %.2f t/s: tg is %.0f%% of it\n",
			    bwps / 1e9, bw0 / 1e9, bw1 / 1e9, tb / 1e6,
			    bwps / tb, 100.0 * tgm / (bwps / tb));
	}
	free(pps);
	free(tgs);
	free(ids);
	free(logits);
	fwd_free(f);
	model_free(m);
	return 0;
}

/* Read a whole text file (at most 256 MiB); caller frees. */
static char *
read_text(const char *path, size_t *len)
{
	FILE	*f;
	char	*buf = NULL;
	size_t	 cap = 0, n;

	*len = 0;
	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	for (;;) {
		if (*len + 65536 + 1 > cap) {
			cap = cap == 0 ? 1 << 20 : cap * 2;
			if (cap > (256u << 20)) {
				free(buf);
				fclose(f);
				errno = EFBIG;
				return NULL;
			}
			buf = xreallocarray(buf, cap, 1);
		}
		n = fread(buf + *len, 1, 65536, f);
		*len += n;
		if (n < 65536)
			break;
	}
	fclose(f);
	buf[*len] = '\0';
	return buf;
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
	static const struct option	 popts[] = {
		{ "model", required_argument, NULL, 'm' },
		{ "file", required_argument, NULL, 'f' },
		{ "ctx-size", required_argument, NULL, 'c' },
		{ "threads", required_argument, NULL, 't' },
		{ "chunks", required_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*model = NULL, *file = NULL;
	struct model	*m = NULL;
	struct fwd	*f = NULL;
	char		*text = NULL, *cause = NULL;
	int32_t		*ids = NULL, *chunk = NULL;
	float		*logits = NULL;
	size_t		 len, n = 0, cap = 0;
	long		 n_ctx = 512, threads = 0, chunks = -1, v, c, i, first;
	double		 nll = 0, count = 0, t0;
	int		 opt, status = 1;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "m:f:c:t:", popts, NULL)) !=
	    -1) {
		switch (opt) {
		case 'm':
			model = optarg;
			break;
		case 'f':
			file = optarg;
			break;
		case 'c':
		case 't':
		case 'k':
			if (parse_long(optarg, opt == 'k' ? 1 : opt == 't' ? 1 :
			    16, 1 << 20, &v) != 0)
				return usage_err("perplexity", "bad number");
			if (opt == 'c')
				n_ctx = v;
			else if (opt == 't')
				threads = v;
			else
				chunks = v;
			break;
		default:
			return usage_err("perplexity", "unknown option");
		}
	}
	if (model == NULL || file == NULL)
		return usage_err("perplexity", "give -m MODEL and -f TEXT");
	if ((text = read_text(file, &len)) == NULL) {
		fprintf(stderr, "yangtuo: %s: %s\n", file, strerror(errno));
		return 1;
	}
	if ((m = open_model(model)) == NULL)
		goto out;
	if (m->tok == NULL || tok_encode(m->tok, text, len,
	    tok_bos(m->tok) >= 0, 0, &ids, &n, &cap) != 0) {
		fprintf(stderr, "yangtuo: cannot tokenize %s\n", file);
		goto out;
	}
	if ((long)n < n_ctx) {
		fprintf(stderr, "yangtuo: %s has %zu tokens, fewer than one "
		    "chunk of %ld\n", file, n, n_ctx);
		goto out;
	}
	if (chunks < 0 || chunks > (long)n / n_ctx)
		chunks = (long)n / n_ctx;
	if ((f = fwd_new(m, (uint32_t)n_ctx, (int)threads, 0, &cause)) ==
	    NULL) {
		fprintf(stderr, "yangtuo: %s\n", cause);
		goto out;
	}
	logits = malloc((size_t)n_ctx * m->hp.n_vocab * sizeof *logits);
	chunk = xreallocarray(NULL, (size_t)n_ctx, sizeof *chunk);
	if (logits == NULL) {
		fprintf(stderr, "yangtuo: out of memory\n");
		goto out;
	}
	first = n_ctx / 2;
	t0 = now_sec();
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
			const float	*row = logits + (size_t)i *
					    m->hp.n_vocab;
			double		 max = row[0], sum = 0;
			uint32_t	 j;

			for (j = 1; j < m->hp.n_vocab; j++)
				if (row[j] > max)
					max = row[j];
			for (j = 0; j < m->hp.n_vocab; j++)
				sum += exp((double)row[j] - max);
			nll += -((double)row[ids[c * n_ctx + i + 1]] - max -
			    log(sum));
			count++;
		}
		fprintf(stderr, "[%ld] %.4f\n", c + 1, exp(nll / count));
	}
	printf("perplexity: %.4f over %ld chunks of %ld tokens (%.0f scored), "
	    "%.1f s\n", exp(nll / count), chunks, n_ctx, count,
	    now_sec() - t0);
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
