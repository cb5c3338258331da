/*
 * yangtuo (羊驼): entry point.  Reads the config file, then the command
 * line (which overrides it), and runs a subcommand (run, eval, info,
 * tokenize) or a chat front end.  The only place besides fatal() that
 * calls exit().
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cfg.h"
#include "datadir.h"
#include "tools/cmd.h"
#include "tools/tool.h"
#include "engine/engine.h"
#include "engine/gotmpl.h"
#include "fe.h"
#include "log.h"
#include "proto.h"
#include "serve.h"
#include "ui/ui.h"
#include "xmalloc.h"
#include "util.h"
#include "i18n.h"
#include "llamacli.h"
#include "modelfile.h"
#include "text.h"
#include "xdg.h"

#define DEMO_MODEL	"stories260K.gguf"
#define SHORTOPTS	"hVm:p:n:c:t:vf:ir:e"
#define PROMPT_FILE_MAX	(16u << 20)	/* bytes of -f FILE */

struct subcmd {
	const char	*name;
	int		(*fn)(int, char **);
};

static const struct subcmd subcmds[] = {
	{ "run", cmd_run },
	{ "eval", cmd_eval },
	{ "info", cmd_info },
	{ "tokenize", cmd_tokenize },
	{ "quantize", cmd_quantize },
	{ "bench", cmd_bench },
	{ "perplexity", cmd_perplexity },
	{ "serve", serve_main },
	{ NULL, NULL }
};

enum {
	OPT_PLAIN = 256,
	OPT_TEMP,
	OPT_TOP_K,
	OPT_TOP_P,
	OPT_MIN_P,
	OPT_REPEAT_PENALTY,
	OPT_REPEAT_LAST_N,
	OPT_STOP,
	OPT_SEED,
	OPT_SYSTEM,
	OPT_TEMPLATE,
	OPT_CONFIG,
	OPT_DATA_FILE,
	OPT_PRED_FILE,
	OPT_SEED_DATA_FILE,
	OPT_WITH_PROMPT,
	OPT_IGNORED,
	OPT_LOG_FILE,
	OPT_BATCH_SIZE,
	OPT_HISTORY,
	OPT_SESSION,
	OPT_RESUME,
	OPT_MODELFILE,
	OPT_CONVERSATION,
	OPT_IN_PREFIX,
	OPT_IN_SUFFIX,
	OPT_NO_ESCAPE,
	OPT_NGL,
	OPT_API_KEY_ENV,
	OPT_REMOTE_MODEL,
	OPT_INSECURE,
	OPT_LORA,
	OPT_LORA_MERGE,
	OPT_NO_PROMPT_CACHE
};

static const struct option longopts[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ "model", required_argument, NULL, 'm' },
	{ "plain", no_argument, NULL, OPT_PLAIN },
	{ "prompt", required_argument, NULL, 'p' },
	{ "temperature", required_argument, NULL, OPT_TEMP },
	{ "temp", required_argument, NULL, OPT_TEMP },
	{ "top-k", required_argument, NULL, OPT_TOP_K },
	{ "top-p", required_argument, NULL, OPT_TOP_P },
	{ "min-p", required_argument, NULL, OPT_MIN_P },
	{ "repeat-penalty", required_argument, NULL, OPT_REPEAT_PENALTY },
	{ "repeat-last-n", required_argument, NULL, OPT_REPEAT_LAST_N },
	{ "stop", required_argument, NULL, OPT_STOP },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "max-tokens", required_argument, NULL, 'n' },
	{ "n-predict", required_argument, NULL, 'n' },
	{ "ctx-size", required_argument, NULL, 'c' },
	{ "threads", required_argument, NULL, 't' },
	{ "batch-size", required_argument, NULL, OPT_BATCH_SIZE },
	{ "system", required_argument, NULL, OPT_SYSTEM },
	{ "template", required_argument, NULL, OPT_TEMPLATE },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "data-file", required_argument, NULL, OPT_DATA_FILE },
	{ "predictions-file", required_argument, NULL, OPT_PRED_FILE },
	{ "with-prompt", no_argument, NULL, OPT_WITH_PROMPT },
	{ "history", required_argument, NULL, OPT_HISTORY },
	{ "session", required_argument, NULL, OPT_SESSION },
	{ "resume", no_argument, NULL, OPT_RESUME },
	{ "api-key-env", required_argument, NULL, OPT_API_KEY_ENV },
	{ "remote-model", required_argument, NULL, OPT_REMOTE_MODEL },
	{ "insecure", no_argument, NULL, OPT_INSECURE },
	{ "lora", required_argument, NULL, OPT_LORA },
	{ "lora-merge", no_argument, NULL, OPT_LORA_MERGE },
	{ "no-prompt-cache", no_argument, NULL, OPT_NO_PROMPT_CACHE },
	{ "verbose", no_argument, NULL, 'v' },
	{ "log-file", required_argument, NULL, OPT_LOG_FILE },
	/* The seed script's flags (scripts/inference/inference_hf.py). */
	{ "base_model", required_argument, NULL, 'm' },
	{ "with_prompt", no_argument, NULL, OPT_WITH_PROMPT },
	{ "interactive", no_argument, NULL, OPT_PLAIN },
	{ "data_file", required_argument, NULL, OPT_SEED_DATA_FILE },
	{ "predictions_file", required_argument, NULL, OPT_PRED_FILE },
	{ "only_cpu", no_argument, NULL, OPT_IGNORED },
	{ "use_cpu", no_argument, NULL, OPT_IGNORED },
	{ "modelfile", required_argument, NULL, OPT_MODELFILE },
	/* llama.cpp's llama-cli, as the seed's scripts/llama_cpp/chat.sh
	 * uses it (-cnv and -ngl are rewritten by llama_argv()). */
	{ "file", required_argument, NULL, 'f' },
	{ "conversation", no_argument, NULL, OPT_CONVERSATION },
	{ "reverse-prompt", required_argument, NULL, 'r' },
	{ "in-prefix", required_argument, NULL, OPT_IN_PREFIX },
	{ "in-suffix", required_argument, NULL, OPT_IN_SUFFIX },
	{ "escape", no_argument, NULL, 'e' },
	{ "no-escape", no_argument, NULL, OPT_NO_ESCAPE },
	{ "color", no_argument, NULL, OPT_IGNORED },
	{ "n-gpu-layers", required_argument, NULL, OPT_NGL },
	{ "gpu-layers", required_argument, NULL, OPT_NGL },
	{ "repeat_penalty", required_argument, NULL, OPT_REPEAT_PENALTY },
	{ "repeat_last_n", required_argument, NULL, OPT_REPEAT_LAST_N },
	{ "top_k", required_argument, NULL, OPT_TOP_K },
	{ "top_p", required_argument, NULL, OPT_TOP_P },
	{ "min_p", required_argument, NULL, OPT_MIN_P },
	{ "ctx_size", required_argument, NULL, 'c' },
	{ "n_predict", required_argument, NULL, 'n' },
	{ NULL, 0, NULL, 0 }
};

static void
usage(FILE *f)
{
	fprintf(f, _(
"Usage: yangtuo [OPTION]...\n"
"       yangtuo COMMAND [OPTION]...\n"
"Chat with a local Llama-3 model (GGUF) on yangtuo's own CPU engine.\n"
"\n"
"Modes:\n"
"  (none)                   chat in the terminal\n"
"      --plain              line-mode chat with readline (also when stdin or\n"
"                           stdout is not a terminal)\n"
"  -p, --prompt=TEXT        print one reply to TEXT and exit (- reads stdin)\n"
"      --data-file=FILE     answer every line of FILE (batch mode) ...\n"
"      --predictions-file=FILE  ... into this JSON file (resumable)\n"
"\n"
"Model and context:\n"
"  -m, --model=FILE|DIR|URL the GGUF model, a Hugging Face Llama folder, or\n"
"                           an OpenAI-compatible server: http://HOST:PORT/v1\n"
"                           (default: config, else the demo)\n"
"      --api-key-env=NAME   the server's key is in environment variable NAME\n"
"      --remote-model=ID    the server's model to use (default: its first)\n"
"      --insecure           do not verify the server's TLS certificate\n"
"  -c, --ctx-size=N         context size in tokens (0 = the model's)\n"
"  -t, --threads=N          compute threads (default or 0: online cores)\n"
"      --batch-size=N       prompt tokens evaluated per pass\n"
"      --template=NAME      auto, llama3, llama2, chatml, mistral or none\n"
"      --system=NAME|TEXT   a system prompt from the config, or a text of\n"
"                           your own (with a blank: one word is a name)\n"
"      --with-prompt        batch: use the chat template and system prompt\n"
"      --lora=PATH[:SCALE]  apply a LoRA adapter: a GGUF adapter or a PEFT\n"
"                           folder, SCALE default 1 (repeatable)\n"
"      --lora-merge         merge the adapters into the weights at load\n"
"      --no-prompt-cache    do not keep system prompts and long messages'\n"
"                           K/V on disk (~/.cache/yangtuo/prompts)\n"
"      --history=FILE       start from a conversation: a JSON array of\n"
"                           {\"role\", \"content\"} messages\n"
"      --session=NAME       start from a saved conversation\n"
"      --resume             continue the last conversation (also after a\n"
"                           crash: every finished message is journaled)\n"
"\n"
"Sampling:\n"
"      --temperature=T, --temp=T   0 is greedy (default 0.2)\n"
"      --top-k=N            (default 40; 0 = off)\n"
"      --top-p=P            (default 0.9; 1 = off)\n"
"      --min-p=P            (default 0 = off)\n"
"      --repeat-penalty=R   (default 1.1; 1 = off)\n"
"      --repeat-last-n=N    tokens the penalty looks back (default 64)\n"
"      --stop=TEXT          end a reply before TEXT (repeatable, up to 8;\n"
"                           --stop='' drops the configured ones)\n"
"      --seed=N             random seed (default: a new one each run)\n"
"  -n, --max-tokens=N       tokens per reply (default: until the context is\n"
"                           full; 400 in batch mode, 256 with the demo)\n"
"\n"
"Other:\n"
"      --config=FILE        read FILE instead of the default config\n"
"  -v, --verbose            statistics on stderr\n"
"      --log-file=FILE      write a debug log\n"
"  -h, --help               display this help and exit\n"
"  -V, --version            output version information and exit\n"
"\n"
"The seed script's flags work too: --base_model, --with_prompt,\n"
"--interactive, --data_file, --predictions_file, --only_cpu.\n"
"\n"
"Commands:\n"
"  run -m MODEL --prompt-tokens IDS|--prompt TEXT [-n N]\n"
"                           print the greedy continuation's token ids\n"
"  eval -m MODEL --tokens-file T.json --probs-out P.f32\n"
"                           write every next-token distribution (float32)\n"
"  info MODEL               metadata, tensor types and memory needed\n"
"  tokenize -m MODEL TEXT|--cases FILE.inp|--chat FILE.json\n"
"                           token ids of a text, test cases or a chat\n"
"  bench -m MODEL [-t N] [-p 512] [-n 128] [-r 3] [--json]\n"
"                           prompt and generation speed, like llama-bench\n"
"  perplexity -m MODEL -f TEXT [-c 512]\n"
"                           perplexity of a text, like llama-perplexity\n"
"  quantize [--pure|--mix] [-t N] [-v] IN.gguf|DIR OUT.gguf TYPE\n"
"                           requantize like llama-quantize: TYPE Q4_K_M,\n"
"                           Q5_K_M, Q3_K_M... or one type for every matrix:\n"
"                           Q8_0, Q4_0, Q4_K, Q6_K, F16...\n"
"  quantize --random 1b|8b|small|tiny TYPE OUT.gguf\n"
"                           write a synthetic model with random weights\n"
"  serve [-m MODEL] [--host ADDR] [--port N] [--api-key-env NAME]\n"
"                           serve the model over an OpenAI-compatible API\n"
"\n"
"A Hugging Face folder (config.json, *.safetensors, tokenizer.json) works\n"
"wherever a model does, without conversion; for example:\n"
"  yangtuo -m llama-3-chinese-8b-instruct-v3\n"
"  yangtuo quantize llama-3-chinese-8b-instruct-v3 q4_k_m.gguf Q4_K_M\n"
"\n"
"Files: $XDG_CONFIG_HOME/yangtuo/config.yaml (see yangtuo.yaml(5)),\n"
"$XDG_DATA_HOME/yangtuo/sessions, $XDG_DATA_HOME/yangtuo/models (/model),\n"
"$XDG_STATE_HOME/yangtuo/history.\n"
"\n"
"In the chat /help lists the commands: /model, /system TEXT, /file,\n"
"/copy, /rename, /delete, /save! and more.\n"
"\n"
"Report bugs to: %s\n"
"yangtuo home page: <%s>\n"), PACKAGE_BUGREPORT, PACKAGE_URL);
}

/* The ways in besides GGUF: ollama's and llama.cpp's, after the options. */
static void
usage_ways_in(FILE *f)
{
	fprintf(f, "\n%s", _(
"Other ways in:\n"
"      --modelfile=FILE     an ollama Modelfile (FROM, TEMPLATE, SYSTEM,\n"
"                           PARAMETER, MESSAGE, ADAPTER, LICENSE); -m FILE\n"
"                           reads one too.  -m ollama:NAME[:TAG] reads\n"
"                           ollama's store ($OLLAMA_MODELS)\n"
"llama.cpp's flags (the seed's chat.sh runs as written):\n"
"  -f, --file=FILE          the prompt (-p) from FILE\n"
"  -i                       llama-cli's interactive mode: the prompt, then\n"
"                           each typed line between --in-prefix=TEXT and\n"
"                           --in-suffix=TEXT\n"
"      --conversation, -cnv chat with the model's template; -p is the system\n"
"                           prompt\n"
"  -r, --reverse-prompt=TEXT  end a reply at TEXT (a stop string)\n"
"  -e, --escape             decode \\n, \\t... in -p (with -i and -cnv unless\n"
"                           --no-escape)\n"
"      --color              accepted: the chat has colours\n"
"      -ngl, --n-gpu-layers=N  accepted: yangtuo runs on the CPU\n"
"      --repeat_penalty, --repeat_last_n, --top_k, --top_p, --min_p,\n"
"      --ctx_size, --n_predict  the spellings with underscores\n"));
}

/* GNU --version: name and version, copyright, licence, no warranty. */
static void
version(void)
{
	printf("yangtuo (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION);
	printf("Copyright (C) 2026 the yangtuo authors.\n");
	printf(_("License MIT <https://opensource.org/licenses/MIT>; the "
	    "binary, linked with GNU Readline,\nis distributed under the GPL "
	    "version 3 or later <https://gnu.org/licenses/gpl.html>.\n"));
	printf(_("This is free software: you are free to change and "
	    "redistribute it.\nThere is NO WARRANTY, to the extent permitted "
	    "by law.\n"));
	printf(_("Engine kernels: %s.\n"), engine_simd_name());
}

static int
usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "yangtuo: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	fprintf(stderr, _("Try 'yangtuo --help' for more information.\n"));
	return 2;
}

static void
on_cfg_warning(void *arg, const char *msg)
{
	fprintf(stderr, _("yangtuo: warning: %s\n"), msg);
}

#define YT_DEMO_MAX_TOKENS	256	/* the demo's reply, unless told */

/* The demo model in the first data folder that has it (datadir.c), else
 * the installed path, for the error message. */
static char *
demo_model(void)
{
	char	*p;

	if ((p = datadir_find(DEMO_MODEL, "data/" DEMO_MODEL)) != NULL)
		return p;
	xasprintf(&p, "%s/%s", PKGDATADIR, DEMO_MODEL);
	return p;
}

/* A fresh seed when the config asks for "random" (0). */
static uint64_t
fresh_seed(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 20 ^
	    (uint64_t)getpid() << 40) & 0x7fffffff;
}

/* Load the config file; exits with 78 (EX_CONFIG) on an error. */
static int
load_config(struct cfg *cfg, const char *path)
{
	char	*cause = NULL, *def = NULL;
	int	 explicit = path != NULL;

	if (path == NULL && (def = cfg_default_path()) == NULL)
		return 0;
	if (cfg_load_file(cfg, explicit ? path : def, on_cfg_warning, NULL,
	    &cause) != 0) {
		if (!explicit && errno == ENOENT) {
			free(cause);
			free(def);
			return 0;
		}
		text_say(stderr, "yangtuo: %s\n", cause);
		free(cause);
		free(def);
		return -1;
	}
	free(def);
	return 0;
}

static int
set_opt(struct fe *fe, const char *name, const char *value)
{
	char	*cause = NULL;

	if (fe_set_param(&fe->params, name, value, &cause) != 0) {
		text_say(stderr, "yangtuo: %s\n", cause);
		fprintf(stderr, _("Try 'yangtuo --help' for more "
		    "information.\n"));
		free(cause);
		return -1;
	}
	return 0;
}

/* What the command line chose besides struct fe. */
struct chat_opts {
	const char	*model;
	const char	*system;
	const char	*tmpl;
	int		 plain;
	int		 seed_data;	/* --data_file, the seed script's */
	int		 max_set;
	int		 seed_set;
	const char	*modelfile;	/* a Modelfile or ollama:NAME */
	struct modelfile mf;
	/* llama-cli's flags */
	const char	*prompt;	/* -p TEXT, or -f FILE's text */
	const char	*prompt_file;
	int		 interactive;	/* -i */
	int		 conversation;	/* -cnv */
	int		 escape;	/* -e 1, --no-escape -1 */
	int		 ngl_noted;
	const char	*in_prefix;
	const char	*in_suffix;
	const char	*rprompt[PROTO_MAX_STOP];	/* -r */
	size_t		 n_rprompt;
	char		*owned[4];	/* texts made from the above */
	char		*tmpl_text;	/* -i: llama-cli's stream */
	struct mf_msg	*l3;		/* a Llama-3 prompt's messages */
	size_t		 n_l3;
	const char	*lora[CFG_MAX_LORA];	/* --lora, else the config's */
	int		 n_lora;
	int		 no_prompt_cache;
};

/* The sampling options, by the name fe_set_param() knows. */
static const struct {
	int		 opt;
	const char	*name;
} param_opts[] = {
	{ OPT_TEMP, "temperature" },
	{ OPT_TOP_K, "top_k" },
	{ OPT_TOP_P, "top_p" },
	{ OPT_MIN_P, "min_p" },
	{ OPT_REPEAT_PENALTY, "repeat_penalty" },
	{ OPT_REPEAT_LAST_N, "repeat_last_n" },
	{ OPT_STOP, "stop" },
	{ OPT_SEED, "seed" },
	{ 'n', "max_tokens" },
	{ 0, NULL }
};

/* The counts, with their ranges and the words of their error. */
static const struct {
	int		 opt;
	long		 lo, hi;
	const char	*bad;
} count_opts[] = {
	{ 'c', 0, 1 << 24, N_("bad --ctx-size '%s'") },
	{ 't', 0, 1024, N_("bad --threads '%s'") },
	{ OPT_BATCH_SIZE, 1, 8192, N_("bad --batch-size '%s'") },
	{ 0, 0, 0, NULL }
};

/* The defaults from the config file. */
static void
opts_from_cfg(struct fe *fe, struct chat_opts *o, struct cfg *cfg)
{
	fe->cfg = cfg;
	fe->params.temperature = cfg->temperature;
	fe->params.top_k = cfg->top_k;
	fe->params.top_p = cfg->top_p;
	fe->params.min_p = cfg->min_p;
	fe->params.repeat_penalty = cfg->repeat_penalty;
	fe->params.repeat_last_n = cfg->repeat_last_n;
	fe->params.seed = cfg->seed;
	fe->params.max_tokens = cfg->max_tokens;
	fe->params.n_stop = cfg->n_stop;
	memcpy(fe->params.stop, cfg->stop, sizeof fe->params.stop);
	fe->load.n_ctx = cfg->n_ctx;
	fe->load.threads = (uint32_t)cfg->threads;
	o->model = cfg->model;
	/* A configured server replaces the local model. */
	if (cfg->backend_url != NULL) {
		o->model = cfg->backend_url;
		fe->remote_model = cfg->backend_model;
		fe->api_key_env = cfg->backend_key_env;
	}
	o->system = cfg->system;
	o->tmpl = cfg->template_name;
	fe->load.lora_merge = (uint32_t)cfg->lora_merge;
}

/* A sampling option or a count: 1 if c was one (*status set to 2 on a
 * bad value, else left), 0 if not. */
static int
opt_value(struct fe *fe, struct chat_opts *o, int c, int *status)
{
	long	v;
	size_t	i;

	for (i = 0; param_opts[i].name != NULL; i++)
		if (param_opts[i].opt == c) {
			if (set_opt(fe, param_opts[i].name, optarg) != 0)
				*status = 2;
			o->seed_set |= c == OPT_SEED;
			o->max_set |= c == 'n';
			return 1;
		}
	for (i = 0; count_opts[i].bad != NULL; i++)
		if (count_opts[i].opt == c) {
			if (util_parse_long(optarg, count_opts[i].lo,
			    count_opts[i].hi, &v) != 0)
				*status = usage_error(_(count_opts[i].bad),
				    optarg);
			else if (c == 'c')
				fe->load.n_ctx = (uint32_t)v;
			else if (c == 't')
				fe->load.threads = (uint32_t)v;
			else
				fe->load.n_batch = (uint32_t)v;
			return 1;
		}
	return 0;
}

/* One of llama-cli's flags: 1 if c was one (*status 2 on a bad use),
 * 0 if not. */
static int
llama_opt(struct chat_opts *o, int c, int *status)
{
	switch (c) {
	case 'f':
		o->prompt_file = optarg;
		return 1;
	case 'i':
		o->interactive = 1;
		return 1;
	case OPT_CONVERSATION:
		o->conversation = 1;
		return 1;
	case 'e':
		o->escape = 1;
		return 1;
	case OPT_NO_ESCAPE:
		o->escape = -1;
		return 1;
	case OPT_IN_PREFIX:
		o->in_prefix = optarg;
		return 1;
	case OPT_IN_SUFFIX:
		o->in_suffix = optarg;
		return 1;
	case 'r':
		if (o->n_rprompt == PROTO_MAX_STOP)
			*status = usage_error(_("at most %s reverse prompts"),
			    "8");
		else
			o->rprompt[o->n_rprompt++] = optarg;
		return 1;
	case OPT_NGL:
		if (!o->ngl_noted)
			fprintf(stderr, _("yangtuo: -ngl: yangtuo runs on the "
			    "CPU; there are no layers to offload\n"));
		o->ngl_noted = 1;
		return 1;
	default:
		return 0;
	}
}

/* The command line over the config's defaults: -1 to go on, else the
 * exit status. */
static int
parse_opts(struct fe *fe, struct chat_opts *o, int argc, char **argv)
{
	int	c, status = -1;

	optind = 1;
	opterr = 1;
	while (status < 0 && (c = getopt_long(argc, argv, SHORTOPTS,
	    longopts, NULL)) != -1) {
		if (opt_value(fe, o, c, &status))
			continue;
		switch (c) {
		case 'm':
			if (o->modelfile == NULL ||
			    strcmp(optarg, o->modelfile) != 0)
				o->model = optarg;
			break;
		case 'p':
			o->prompt = optarg;
			break;
		default:
			if (llama_opt(o, c, &status) == 0)
				goto bad;
			break;
		case OPT_PLAIN:
			o->plain = 1;
			break;
		case OPT_SYSTEM:
			o->system = optarg;
			break;
		case OPT_TEMPLATE:
			o->tmpl = optarg;
			break;
		case OPT_SEED_DATA_FILE:
			o->seed_data = 1;
			/* FALLTHROUGH */
		case OPT_DATA_FILE:
			fe->data_file = optarg;
			break;
		case OPT_PRED_FILE:
			fe->pred_file = optarg;
			break;
		case OPT_WITH_PROMPT:
			fe->with_prompt = 2;
			break;
		case OPT_HISTORY:
			fe->history = optarg;
			break;
		case OPT_SESSION:
			fe->session = optarg;
			break;
		case OPT_RESUME:
			fe->resume = 1;
			break;
		case OPT_API_KEY_ENV:
			fe->api_key_env = optarg;
			break;
		case OPT_REMOTE_MODEL:
			fe->remote_model = optarg;
			break;
		case OPT_INSECURE:
			fe->insecure = 1;
			break;
		case OPT_LORA:
			if (o->n_lora >= CFG_MAX_LORA)
				status = usage_error("%s", _("too many --lora "
				    "(at most 8)"));
			else
				o->lora[o->n_lora++] = optarg;
			break;
		case OPT_LORA_MERGE:
			fe->load.lora_merge = 1;
			break;
		case OPT_NO_PROMPT_CACHE:
			o->no_prompt_cache = 1;
			break;
		case 'v':
			fe->verbose = 1;
			break;
		case OPT_LOG_FILE:
			if (log_open(optarg) != 0) {
				fprintf(stderr, "yangtuo: %s: %s\n", optarg,
				    strerror(errno));
				status = 1;
			}
			break;
		case OPT_CONFIG:
		case OPT_IGNORED:
		case OPT_MODELFILE:
		case 'h':
		case 'V':
			break;
		}
		continue;
bad:
		fprintf(stderr, _("Try 'yangtuo --help' for more "
		    "information.\n"));
		status = 2;
	}
	return status;
}

/* What the options may not say together, and what is left over: -1 if
 * all is well, else the exit status. */
static int
check_opts(struct fe *fe, struct chat_opts *o, int argc, char **argv)
{
	const char	*t = o->tmpl;

	if (optind < argc) {
		if (argv[optind][0] != '-' && optind == 1)
			return usage_error(_("unknown command '%s'"),
			    argv[optind]);
		return usage_error(_("unexpected argument '%s'"), argv[optind]);
	}
	if (t != NULL && strcmp(t, "go") == 0 && fe->load.template_text !=
	    NULL)
		t = NULL;	/* a Modelfile's TEMPLATE */
	if (t != NULL && strcmp(t, "auto") != 0 && strcmp(t, "llama3") != 0 &&
	    strcmp(t, "llama2") != 0 && strcmp(t, "chatml") != 0 &&
	    strcmp(t, "mistral") != 0 && strcmp(t, "none") != 0)
		return usage_error(_("unknown --template '%s' (auto, llama3, "
		    "llama2, chatml, mistral, none)"), t);
	if ((fe->data_file == NULL) != (fe->pred_file == NULL))
		return usage_error("%s", _("batch mode needs both --data-file "
		    "and --predictions-file"));
	if (fe->data_file != NULL && (o->prompt != NULL ||
	    o->prompt_file != NULL))
		return usage_error("%s", _("-p and --data-file exclude each "
		    "other"));
	return -1;
}

/* The adapters to load: --lora, else the config's list.  -1 to go on,
 * else the exit status. */
static int
set_lora(struct fe *fe, const struct chat_opts *o, const struct cfg *cfg)
{
	const char	*arg;
	char		*path, *cause = NULL;
	float		 scale;
	size_t		 i, n = o->n_lora > 0 ? (size_t)o->n_lora : cfg->n_lora;

	for (i = 0; i < n && i < PROTO_MAX_LORA; i++) {
		arg = o->n_lora > 0 ? o->lora[i] : cfg->lora[i];
		if (util_lora_arg(arg, &path, &scale, &cause) != 0) {
			fprintf(stderr, "yangtuo: %s\n", cause);
			free(cause);
			return 2;
		}
		fe->load.lora[i].path = path;
		fe->load.lora[i].scale = scale;
		fe->load.n_lora = (uint32_t)i + 1;
	}
	return -1;
}

/* The front end the options chose, on the model they name (else the
 * demo, *demo then allocated for the caller to free). */
static int
run_front_end(struct fe *fe, struct chat_opts *o, struct cfg *cfg,
    char **demo)
{
	const struct cfg_prompt	*sp;
	int			 r;

	/* The system prompt: a configured name, else a text of one's own,
	 * which has a blank: one word is a name, so a typo of one is an
	 * error, not a prompt. */
	if (o->system != NULL && (sp = cfg_prompt(cfg, o->system)) != NULL) {
		fe->system_name = sp->name;
		fe->system_text = sp->text;
	} else if (o->system != NULL && *o->system != '\0' &&
	    strpbrk(o->system, " \t\n") == NULL) {
		if ((sp = cfg_prompt_near(cfg, o->system)) != NULL)
			fprintf(stderr, _("yangtuo: no system prompt named "
			    "'%s' (did you mean '%s'?); a text of your own has "
			    "a blank, as in --system 'Be brief.'\n"), o->system,
			    sp->name);
		else
			fprintf(stderr, _("yangtuo: no system prompt named "
			    "'%s'; a text of your own has a blank, as in "
			    "--system 'Be brief.'\n"), o->system);
		return 2;
	} else if (o->system != NULL && *o->system != '\0') {
		fe->system_name = "custom";
		fe->system_text = o->system;
	}
	if (o->model == NULL) {
		o->model = *demo = demo_model();
		fe->demo = 1;
		/* A story model would go on to the end of the context. */
		if (!o->max_set && !(cfg->set & CFG_SET_MAX_TOKENS))
			fe->params.max_tokens = YT_DEMO_MAX_TOKENS;
	}
	if (o->tmpl == NULL || strcmp(o->tmpl, "go") != 0)
		fe->load.template_text = NULL;
	fe->load.version = PROTO_VERSION;
	fe->load.path = (char *)o->model;
	if ((r = set_lora(fe, o, cfg)) >= 0)
		return r;
	fe->load.template_name = (char *)(o->tmpl != NULL ? o->tmpl : "auto");
	/* Prompt prefixes' K/V kept on disk across chats (a server has no
	 * use for the folder). */
	if (cfg->prompt_cache && !o->no_prompt_cache &&
	    strstr(o->model, "://") == NULL)
		fe->load.prompt_cache = xdg_dir(XDG_CACHE, "prompts", 1);
	fe->load.prompt_cache_max = cfg->prompt_cache_bytes;
	if (!o->seed_set && fe->params.seed == 0)
		fe->params.seed = fresh_seed();
	if (fe->data_file != NULL) {
		/* The seed script answers raw text unless --with_prompt. */
		if (fe->with_prompt == 0)
			fe->with_prompt = !o->seed_data;
		if (!fe->with_prompt)
			fe->load.template_name = (char *)"none";
		if (!o->max_set && !(cfg->set & CFG_SET_MAX_TOKENS))
			fe->params.max_tokens = 400;
		r = fe_batch(fe);
	} else if (fe->prompt != NULL)
		r = fe_oneshot(fe);
	else if (o->plain || !isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
		r = fe_plain(fe);
	else if ((r = ui_main(fe)) == UI_NO_SCREEN)
		r = fe_plain(fe);
	return r;
}

/* A Modelfile's TEMPLATE parses (the engine would say so only after
 * loading the model), else its error at the Modelfile's line: 0 or -1. */
static int
check_template(const struct modelfile *mf)
{
	struct gotmpl	*g;
	char		*cause = NULL;
	int		 line = 0, n = 0;

	if (mf->template_text == NULL)
		return 0;
	g = gotmpl_parse(mf->template_text, strlen(mf->template_text),
	    &cause);
	if (g != NULL) {
		gotmpl_free(g);
		return 0;
	}
	if (cause != NULL && sscanf(cause, "line %d: %n", &line, &n) == 1 &&
	    n > 0 && mf->template_line > 0)
		fprintf(stderr, _("yangtuo: %s:%d: TEMPLATE: %s\n"), mf->path,
		    mf->template_line + line - 1, cause + n);
	else
		fprintf(stderr, _("yangtuo: %s: TEMPLATE: %s\n"), mf->path,
		    cause != NULL ? cause : strerror(ENOMEM));
	free(cause);
	return -1;
}

/* A -m or --modelfile that names a Modelfile or ollama:NAME (also the
 * config's model:) sets the defaults the other options override: -1 to
 * go on, else the exit status. */
static int
use_modelfile(struct fe *fe, struct chat_opts *o, struct cfg *cfg, int argc,
    char **argv)
{
	const char	*arg = cfg->model;
	char		*cause = NULL;
	size_t		 i;
	int		 c, r, explicit = 0;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, SHORTOPTS, longopts, NULL)) != -1)
		if (c == OPT_MODELFILE || (c == 'm' && !explicit)) {
			arg = optarg;
			explicit = c == OPT_MODELFILE;
		}
	if (arg == NULL)
		return -1;
	if ((r = modelfile_resolve(arg, explicit, &o->mf, &cause)) == 0)
		return -1;
	if (r < 0 || fe_apply_modelfile(fe, &o->mf, stderr, &cause) != 0) {
		fprintf(stderr, "yangtuo: %s\n", cause);
		free(cause);
		return 1;
	}
	if (check_template(&o->mf) != 0)
		return 1;
	o->modelfile = arg;
	o->model = o->mf.model;
	o->system = NULL;	/* the Modelfile's, unless --system */
	if (o->mf.template_text != NULL)
		o->tmpl = "go";
	o->seed_set |= fe->mf_seed;
	o->max_set |= fe->mf_max;
	/* ADAPTER: the model's adapters, in place of the config's (--lora
	 * still overrides them). */
	if (o->mf.n_adapters > CFG_MAX_LORA) {
		fprintf(stderr, _("yangtuo: %s: more than %d adapters\n"),
		    o->mf.path, CFG_MAX_LORA);
		return 1;
	}
	if (o->mf.n_adapters > 0) {
		while (cfg->n_lora > 0)
			free(cfg->lora[--cfg->n_lora]);
		for (i = 0; i < o->mf.n_adapters; i++)
			cfg->lora[cfg->n_lora++] = xstrdup(o->mf.adapters[i]);
	}
	return -1;
}

/* A copy of s kept until the options are freed, escapes decoded. */
static const char *
keep_text(struct chat_opts *o, const char *s, int escape)
{
	size_t	i;
	char	*t;

	if (s == NULL)
		return NULL;
	t = xstrdup(s);
	if (escape)
		llamacli_unescape(t);
	for (i = 0; i < sizeof o->owned / sizeof o->owned[0]; i++)
		if (o->owned[i] == NULL) {
			o->owned[i] = t;
			return t;
		}
	fatal("keep_text: full");
	return NULL;
}

/* -f FILE: the prompt, one final newline dropped as llama.cpp does. */
static int
read_prompt_file(struct chat_opts *o)
{
	char	*buf;
	size_t	 len;

	if (modelfile_read(o->prompt_file, PROMPT_FILE_MAX, &buf, &len) != 0) {
		fprintf(stderr, "yangtuo: %s: %s\n", o->prompt_file,
		    strerror(errno));
		return -1;
	}
	if (len > 0 && buf[len - 1] == '\n')
		buf[len - 1] = '\0';
	o->prompt = keep_text(o, buf, 0);
	free(buf);
	return 0;
}

/* -i: llama-cli's stream.  A Llama-3 prompt with the Llama-3 prefix and
 * suffix becomes messages under the llama3 template; anything else a Go
 * template that renders prompt, prefix, input and suffix as llama.cpp
 * would. */
static void
interactive(struct fe *fe, struct chat_opts *o)
{
	size_t	i;

	o->system = NULL;
	fe->system_name = fe->system_text = NULL;
	if (llamacli_llama3(o->prompt != NULL ? o->prompt : "", o->in_prefix,
	    o->in_suffix, &o->l3, &o->n_l3)) {
		o->tmpl = "llama3";
		for (i = 0; i < o->n_l3; i++)
			if (strcmp(o->l3[i].role, "system") == 0) {
				fe->system_name = "custom";
				fe->system_text = o->l3[i].text;
			}
		fe->preload = o->l3;
		fe->n_preload = o->n_l3 - 1;
		fe->first = o->l3[o->n_l3 - 1].text;
		return;
	}
	o->tmpl_text = llamacli_template(o->prompt, o->in_prefix,
	    o->in_suffix);
	o->tmpl = "go";
	fe->load.template_text = o->tmpl_text;
	fe->first = o->prompt;
}

/* llama-cli's -p, -f, -i, -cnv, -r, --in-prefix, --in-suffix and -e:
 * -1 to go on, else the exit status. */
static int
llama_mode(struct fe *fe, struct chat_opts *o)
{
	char	*cause = NULL, *stop;
	size_t	 i;
	int	 esc;

	if (o->prompt_file != NULL && read_prompt_file(o) != 0)
		return 1;
	/* llama.cpp decodes escapes unless --no-escape; yangtuo's own -p
	 * stays literal unless -e. */
	esc = o->escape > 0 || (o->escape == 0 && (o->interactive ||
	    o->conversation));
	o->prompt = keep_text(o, o->prompt, esc);
	o->in_prefix = keep_text(o, o->in_prefix, esc);
	o->in_suffix = keep_text(o, o->in_suffix, esc);
	for (i = 0; i < o->n_rprompt; i++) {
		stop = xstrdup(o->rprompt[i]);
		if (esc)
			llamacli_unescape(stop);
		if (fe_add_stop(&fe->params, stop, &cause) != 0) {
			free(stop);
			usage_error("-r: %s", cause);
			free(cause);
			return 2;
		}
		free(stop);
	}
	if (o->conversation) {
		/* llama-cli -cnv: -p is the system prompt. */
		o->plain = 1;
		if (o->prompt != NULL)
			o->system = o->prompt;
	} else if (o->interactive) {
		o->plain = 1;
		interactive(fe, o);
	} else
		fe->prompt = o->prompt;
	return -1;
}

static void
chat_opts_free(struct chat_opts *o)
{
	size_t	i;

	for (i = 0; i < sizeof o->owned / sizeof o->owned[0]; i++)
		free(o->owned[i]);
	free(o->tmpl_text);
	llamacli_msgs_free(o->l3, o->n_l3);
	modelfile_free(&o->mf);
}

/* Everything after the config is read: options, then the front end. */
static int
chat_main(struct cfg *cfg, const char *config, int argc, char **argv)
{
	struct fe		 fe;
	struct chat_opts	 o;
	char			*demo = NULL;
	int			 r;

	memset(&fe, 0, sizeof fe);
	memset(&o, 0, sizeof o);
	modelfile_init(&o.mf);
	if (load_config(cfg, config) != 0)
		return 78;
	opts_from_cfg(&fe, &o, cfg);
	if ((r = use_modelfile(&fe, &o, cfg, argc, argv)) < 0 &&
	    (r = parse_opts(&fe, &o, argc, argv)) < 0 &&
	    (r = check_opts(&fe, &o, argc, argv)) < 0 &&
	    (r = llama_mode(&fe, &o)) < 0)
		r = run_front_end(&fe, &o, cfg, &demo);
	free(demo);
	chat_opts_free(&o);
	while (fe.load.n_lora > 0)
		free(fe.load.lora[--fe.load.n_lora].path);
	free(fe.load.prompt_cache);
	return r;
}

/* The FILE of the last --config FILE or --config=FILE before any "--";
 * borrowed from argv, NULL if none. */
static const char *
config_arg(int argc, char **argv)
{
	const char	*config = NULL;
	int		 i;

	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			config = argv[++i];
		else if (strncmp(argv[i], "--config=", 9) == 0)
			config = argv[i] + 9;
	return config;
}

static char	**main_argv;	/* llama_argv()'s, for main's lifetime */

/* argv with llama.cpp's multi-letter flags -cnv and -ngl spelled as long
 * options, which getopt reads (up to "--"); the array is allocated. */
static char **
llama_argv(int argc, char **argv)
{
	char	**v = xcalloc((size_t)argc + 1, sizeof *v);
	int	  i, dashes = 0;

	for (i = 0; i < argc; i++) {
		v[i] = argv[i];
		dashes |= strcmp(argv[i], "--") == 0;
		if (dashes)
			continue;
		if (strcmp(argv[i], "-cnv") == 0)
			v[i] = (char *)"--conversation";
		else if (strcmp(argv[i], "-ngl") == 0)
			v[i] = (char *)"--n-gpu-layers";
	}
	return v;
}

#if ENABLE_NLS
/* Where the translations are: $YANGTUO_LOCALEDIR (the tests), the
 * locale/ folder beside a binary run from its build folder (made by
 * make), else the installed ones. */
static void
bind_catalog(void)
{
	const char	*env = getenv("YANGTUO_LOCALEDIR");
	char		*exe, *dir = NULL;

	if (env != NULL && *env == '/') {
		bindtextdomain(PACKAGE, env);
	} else {
		if ((exe = datadir_exe()) != NULL) {
			xasprintf(&dir, "%s/locale", exe);
			free(exe);
			if (access(dir, X_OK) != 0) {
				free(dir);
				dir = NULL;
			}
		}
		bindtextdomain(PACKAGE, dir != NULL ? dir : LOCALEDIR);
		free(dir);
	}
	textdomain(PACKAGE);
}
#endif

/* A subcommand, with the config's model for one given no model (a
 * config that cannot be read is the chat's to report, not the tools'). */
static int
run_tool(const struct subcmd *sc, int argc, char **argv)
{
	struct cfg	 cfg;
	char		*def, *cause = NULL;
	int		 r;

	cfg_init(&cfg);
	if ((def = cfg_default_path()) != NULL && cfg_load_file(&cfg, def,
	    NULL, NULL, &cause) == 0 && cfg.model != NULL)
		tool_default_model = cfg.model;
	free(cause);
	free(def);
	r = sc->fn(argc, argv);
	tool_default_model = NULL;
	cfg_free(&cfg);
	return r;
}

int
main(int argc, char **argv)
{
	const struct subcmd	*sc;
	struct cfg		 cfg;
	const char		*config;
	int			 c, r;

	setlocale(LC_ALL, "");
#if ENABLE_NLS
	bind_catalog();
#endif
	engine_init();
	if (argc > 1 && argv[1][0] != '-')
		for (sc = subcmds; sc->name != NULL; sc++)
			if (strcmp(argv[1], sc->name) == 0) {
				fe_guard_start(0);
				return run_tool(sc, argc - 1, argv + 1);
			}
	fe_guard_start(1);

	/* The config file first: it may be named on the command line, also
	 * as the last argument (--config=FILE). */
	/* Kept in a static: the early exits below (--help, --version, usage
	 * errors) leave it reachable, not leaked. */
	argv = main_argv = llama_argv(argc, argv);
	config = config_arg(argc, argv);
	opterr = 0;	/* the second pass reports errors */
	while ((c = getopt_long(argc, argv, SHORTOPTS, longopts,
	    NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			usage_ways_in(stdout);
			return 0;
		case 'V':
			version();
			return 0;
		default:
			break;
		}
	}
	cfg_init(&cfg);
	r = chat_main(&cfg, config, argc, argv);
	cfg_free(&cfg);
	log_close();
	free(main_argv);
	main_argv = NULL;
	return r;
}
