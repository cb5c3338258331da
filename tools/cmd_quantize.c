/*
 * `yangtuo quantize`: requantize a model as llama-quantize does, or write
 * a synthetic model with random weights (for tests and benchmarks).
 */
#include "config.h"

#include "cmd.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/lora.h"
#include "engine/model.h"
#include "engine/quant.h"
#include "engine/requant.h"
#include "engine/synth.h"

#include "tool.h"
#include "util.h"
#include "text.h"

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
		return tool_usage("quantize", "shape must be 1b, 8b, small or "
		    "tiny");
	if ((type = qt_type_by_name(tname)) < 0)
		return tool_usage("quantize", "unknown weight type");
	t0 = util_now();
	if (synth_write(out, shape, (uint32_t)type, (uint64_t)seed,
	    &cause) != 0) {
		text_say(stderr, "yangtuo: %s\n", cause);
		free(cause);
		return 1;
	}
	fprintf(stderr, "wrote %s (%s, %s) in %.1f s\n", out, shape->name,
	    qt_name((uint32_t)type), util_now() - t0);
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

/* Bind IN as a model (not repacked: only names, shapes and the adapters
 * are used) and attach the adapters; NULL after saying why. */
static struct model *
quantize_lora_model(const char *in, const char *const *lora, int n_lora)
{
	struct model	*m;
	char		*cause = NULL;

	if ((m = model_load_flags(in, MODEL_NO_REPACK, &cause)) == NULL) {
		fprintf(stderr, "yangtuo quantize: %s: %s\n", in, cause !=
		    NULL ? cause : "cannot load");
		free(cause);
		return NULL;
	}
	if (tool_apply_lora(m, lora, n_lora, 0) != 0) {
		model_free(m);
		return NULL;
	}
	return m;
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
	t0 = util_now();
	if (requant_file(in, out, ro, &st, &cause) != 0) {
		text_say(stderr, "yangtuo quantize: %s\n", cause != NULL ?
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
	    st.bytes_out / 1048576.0, util_now() - t0);
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
		{ "lora", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct requant_opts		 ro;
	struct model			*m = NULL;
	const char			*rshape = NULL, *lora[8];
	long				 seed = 1, v;
	int				 c, n_lora = 0, rc;

	memset(&ro, 0, sizeof ro);
	optind = 1;
	while ((c = getopt_long(argc, argv, "ht:v", qopts, NULL)) != -1) {
		switch (c) {
		case 'r':
			rshape = optarg;
			break;
		case 's':
			if (util_parse_long(optarg, 0, INT32_MAX, &seed) != 0)
				return tool_usage("quantize", "bad --seed");
			break;
		case 'p':
			ro.pure = 1;
			break;
		case 'x':
			ro.mix = 1;
			break;
		case 't':
			if (util_parse_long(optarg, 1, 256, &v) != 0)
				return tool_usage("quantize", "bad --threads");
			ro.threads = (int)v;
			break;
		case 'v':
			ro.progress = quantize_progress;
			break;
		case 'l':
			if (n_lora >= (int)(sizeof lora / sizeof lora[0]))
				return tool_usage("quantize", "too many --lora");
			lora[n_lora++] = optarg;
			break;
		case 'h':
			return tool_help("quantize");
		default:
			return tool_usage("quantize", "unknown option");
		}
	}
	if (ro.pure && ro.mix)
		return tool_usage("quantize", "--pure and --mix exclude each "
		    "other");
	if (rshape != NULL) {
		if (argc - optind != 2)
			return tool_usage("quantize", "give TYPE and OUT.gguf");
		return quantize_random(rshape, seed, argv[optind],
		    argv[optind + 1]);
	}
	if (argc - optind != 3)
		return tool_usage("quantize", "give IN.gguf OUT.gguf TYPE");
	if (n_lora > 0) {
		if ((m = quantize_lora_model(argv[optind], lora, n_lora)) ==
		    NULL)
			return 1;
		lora_requant_hooks(&ro, m);
	}
	rc = quantize_file(argv[optind], argv[optind + 1], argv[optind + 2],
	    &ro);
	model_free(m);
	return rc;
}
