/*
 * What the developer commands share: the options of run, eval and info,
 * the --help texts, number parsing, opening a model, reading a text.
 */
#include "config.h"

#include "tool.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/lora.h"
#include "engine/model.h"
#include "xmalloc.h"
#include "util.h"
#include "text.h"

enum {
	OPT_PROMPT_TOKENS = 256,
	OPT_PROMPT,
	OPT_TOKENS_FILE,
	OPT_PROBS_OUT,
	OPT_BATCH,
	OPT_LORA,
	OPT_LORA_MERGE
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
	{ "lora", required_argument, NULL, OPT_LORA },
	{ "lora-merge", no_argument, NULL, OPT_LORA_MERGE },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

/* The --help text of each command. */
static const struct tool_usage_text {
	const char	*name;
	const char	*text;
} tool_usages[] = {
	{ "run",
"Usage: yangtuo run -m MODEL --prompt-tokens IDS|--prompt TEXT [OPTION]...\n"
"Print the greedy continuation's token ids (timing on stderr).\n"
"\n"
"  -m, --model=FILE         the GGUF model\n"
"      --prompt-tokens=IDS  the prompt as ids: 1,2,3\n"
"      --prompt=TEXT        the prompt as text (tokenized with BOS)\n"
"  -n, --n-predict=N        tokens to generate (default 48)\n"
"  -c, --ctx-size=N         context size (default: what is needed)\n"
"  -t, --threads=N          compute threads\n"
"      --batch-size=N       prompt tokens evaluated per pass\n"
"      --lora=PATH[:SCALE]  apply a LoRA adapter (GGUF file or PEFT\n"
"                           folder; repeatable)\n"
"      --lora-merge         merge the adapters into the weights at load\n"
"  -h, --help               display this help and exit\n" },
	{ "eval",
"Usage: yangtuo eval -m MODEL --tokens-file T.json --probs-out P.f32\n"
"Write the next-token distribution after every prefix of a token\n"
"sequence (a JSON array of ids) as float32, n_tokens x n_vocab.\n"
"\n"
"  -m, --model=FILE         the GGUF model\n"
"      --tokens-file=FILE   the token ids\n"
"      --probs-out=FILE     where the distributions go\n"
"  -t, --threads=N          compute threads\n"
"      --batch-size=N       prompt tokens evaluated per pass\n"
"      --lora=PATH[:SCALE]  apply a LoRA adapter (GGUF file or PEFT\n"
"                           folder; repeatable)\n"
"      --lora-merge         merge the adapters into the weights at load\n"
"  -h, --help               display this help and exit\n" },
	{ "info",
"Usage: yangtuo info [-c N] [--lora PATH[:SCALE]]... MODEL\n"
"Print a GGUF file's metadata and tensor types (a Hugging Face folder's\n"
"as they would be in GGUF), then the model's shape and the memory it\n"
"needs at context N (default: its training context), and the LoRA\n"
"adapters given.\n"
"\n"
"  -c, --ctx-size=N         the context for the memory estimate\n"
"      --lora=PATH[:SCALE]  check and list a LoRA adapter (repeatable)\n"
"  -h, --help               display this help and exit\n" },
	{ "quantize",
"Usage: yangtuo quantize [--pure|--mix] [-t N] [-v] [--lora PATH[:SCALE]]...\n"
"                        IN.gguf|DIR OUT.gguf TYPE\n"
"       yangtuo quantize --random 1b|8b|small|tiny [--seed N] TYPE OUT.gguf\n"
"Requantize a model like llama-quantize (TYPE Q4_K_M, Q5_K_M, Q3_K_M...\n"
"or one type for every matrix: Q8_0, Q4_0, Q4_K, Q6_K, F16...), or\n"
"write a synthetic model with random weights.  IN may be a Hugging Face\n"
"Llama folder (config.json, *.safetensors, tokenizer.json): the GGUF file\n"
"gets its tokenizer, chat template and rope scaling, as llama.cpp's\n"
"converter writes them, e.g.\n"
"  yangtuo quantize llama-3-chinese-8b-instruct-v3 q4_k_m.gguf Q4_K_M\n"
"\n"
"      --pure               one type for every matrix\n"
"      --mix                llama.cpp's mix of types for a single TYPE\n"
"  -t, --threads=N          compute threads\n"
"  -v, --verbose            one line per tensor\n"
"      --lora=PATH[:SCALE]  merge a LoRA adapter (GGUF file or PEFT folder)\n"
"                           into the weights written (repeatable)\n"
"      --random=SHAPE       a synthetic model of this shape\n"
"      --seed=N             its random seed (default 1)\n"
"  -h, --help               display this help and exit\n" },
	{ "bench",
"Usage: yangtuo bench -m MODEL [-t N] [-p 512] [-n 128] [-r 3] [--json]\n"
"                     [--lora PATH[:SCALE]]... [--lora-merge]\n"
"Prompt (pp) and generation (tg) speed like llama-bench: a warm-up round,\n"
"then the median of the repetitions.\n"
"\n"
"  -m, --model=FILE         the GGUF model\n"
"  -t, --threads=N          compute threads\n"
"  -p, --n-prompt=N         prompt tokens (default 512)\n"
"  -n, --n-gen=N            generated tokens (default 128)\n"
"  -r, --repetitions=N      rounds after the warm-up (default 3)\n"
"      --json               one JSON object on stdout\n"
"      --bandwidth          also measure the read bandwidth\n"
"      --lora=PATH[:SCALE]  with a LoRA adapter (repeatable)\n"
"      --lora-merge         merged into the weights at load\n"
"  -h, --help               display this help and exit\n" },
	{ "perplexity",
"Usage: yangtuo perplexity -m MODEL -f TEXT [-c 512] [-t N] [--chunks N]\n"
"Perplexity of a text by llama-perplexity's method: chunks of the context\n"
"size, the second half of each scored.\n"
"\n"
"  -m, --model=FILE         the GGUF model\n"
"  -f, --file=FILE          the text\n"
"  -c, --ctx-size=N         tokens per chunk (default 512)\n"
"  -t, --threads=N          compute threads\n"
"      --chunks=N           score only the first N chunks\n"
"  -h, --help               display this help and exit\n" },
	{ NULL, NULL }
};

/* Print the --help text of cmd. */
int
tool_help(const char *cmd)
{
	const struct tool_usage_text	*u;

	for (u = tool_usages; u->name != NULL; u++)
		if (strcmp(u->name, cmd) == 0) {
			fputs(u->text, stdout);
			printf("\nReport bugs to: %s\n", PACKAGE_BUGREPORT);
			return 0;
		}
	return 0;
}

/* Report a usage error of cmd; 2. */
int
tool_usage(const char *cmd, const char *msg)
{
	fprintf(stderr, "yangtuo %s: %s\n", cmd, msg);
	fprintf(stderr, "Try 'yangtuo %s --help' for more information.\n",
	    cmd);
	return 2;
}

/* The options of run, eval and info; -1 to go on, else an exit status. */
const char	*tool_default_model;

int
tool_parse_opts(int argc, char **argv, struct eng_opts *o)
{
	long	v;
	int	c;

	memset(o, 0, sizeof *o);
	o->n_predict = 48;
	optind = 1;
	while ((c = getopt_long(argc, argv, "hm:t:c:n:v", eng_longopts,
	    NULL)) != -1) {
		switch (c) {
		case 'm':
			o->model = optarg;
			break;
		case 't':
			if (util_parse_long(optarg, 1, 256, &v) != 0)
				return tool_usage(argv[0], "bad --threads");
			o->threads = (int)v;
			break;
		case 'c':
			if (util_parse_long(optarg, 0, 1 << 20, &v) != 0)
				return tool_usage(argv[0], "bad --ctx-size");
			o->n_ctx = (uint32_t)v;
			break;
		case OPT_BATCH:
			if (util_parse_long(optarg, 1, 8192, &v) != 0)
				return tool_usage(argv[0], "bad --batch-size");
			o->n_batch = (uint32_t)v;
			break;
		case 'n':
			if (util_parse_long(optarg, 0, 1 << 20, &v) != 0)
				return tool_usage(argv[0], "bad --n-predict");
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
		case OPT_LORA:
			if (o->n_lora >= (int)(sizeof o->lora /
			    sizeof o->lora[0]))
				return tool_usage(argv[0], "too many --lora");
			o->lora[o->n_lora++] = optarg;
			break;
		case OPT_LORA_MERGE:
			o->lora_merge = 1;
			break;
		case 'h':
			return tool_help(argv[0]);
		default:
			return tool_usage(argv[0], "unknown option");
		}
	}
	if (o->model == NULL && optind < argc)
		o->model = argv[optind++];
	if (optind < argc)
		return tool_usage(argv[0], "unexpected argument");
	if (o->model == NULL)
		o->model = tool_default_model;
	if (o->model == NULL)
		return tool_usage(argv[0], "no model given (-m MODEL.gguf)");
	return -1;
}

/* Load a model, printing why not; caller frees. */
struct model *
tool_open_model(const char *path)
{
	struct model	*m;
	char		*cause = NULL;

	if ((m = model_load(path, &cause)) == NULL) {
		text_say(stderr, "yangtuo: %s: %s\n", path,
		    cause != NULL ? cause : "cannot load");
		free(cause);
	}
	return m;
}

/* Attach adapters to m, merged if asked; 0, or -1 after saying why. */
int
tool_apply_lora(struct model *m, const char *const *lora, int n_lora,
    int merge)
{
	char	*path = NULL, *cause = NULL;
	float	 scale;
	int	 i;

	for (i = 0; i < n_lora; i++) {
		if (util_lora_arg(lora[i], &path, &scale, &cause) != 0 ||
		    lora_attach(m, path, scale, &cause) != 0)
			goto fail;
		free(path);
		path = NULL;
	}
	if (merge && n_lora > 0 && lora_merge(m, &cause) != 0)
		goto fail;
	return 0;
fail:
	fprintf(stderr, "yangtuo: %s\n", cause != NULL ? cause :
	    "out of memory");
	free(cause);
	free(path);
	return -1;
}

/* Load o->model with o's adapters; caller frees. */
struct model *
tool_open_model_opts(const struct eng_opts *o)
{
	struct model	*m;

	if ((m = tool_open_model(o->model)) == NULL)
		return NULL;
	if (tool_apply_lora(m, o->lora, o->n_lora, o->lora_merge) != 0) {
		model_free(m);
		return NULL;
	}
	return m;
}

/* The index of the largest value. */
int32_t
tool_argmax(const float *v, uint32_t n)
{
	uint32_t	i, best = 0;

	for (i = 1; i < n; i++)
		if (v[i] > v[best])
			best = i;
	return (int32_t)best;
}

/* Read a whole text file (at most 256 MiB); caller frees. */
char *
tool_read_text(const char *path, size_t *len)
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
	if (ferror(f)) {
		free(buf);
		fclose(f);
		errno = EIO;
		return NULL;
	}
	fclose(f);
	buf[*len] = '\0';
	return buf;
}
