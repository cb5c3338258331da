/*
 * `yangtuo tokenize`: the tokenizer from the command line.  Test vectors
 * (--cases FILE.inp, printed in llama.cpp's .out format), a chat rendered
 * through the template (--chat FILE.json) or one text shown as ids and
 * pieces for a person to read.
 */
#include "config.h"

#include "cmd.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "engine/gguf.h"
#include "engine/hf.h"
#include "engine/tmpl.h"
#include "engine/tok.h"
#include "tool.h"
#include "utf8.h"
#include "xmalloc.h"

#define CASE_SEP	"\n__ggml_vocab_test__\n"

enum {
	OPT_CASES = 256,
	OPT_CHAT,
	OPT_TEMPLATE,
	OPT_NO_BOS,
	OPT_HELP
};

static const struct option tk_longopts[] = {
	{ "model", required_argument, NULL, 'm' },
	{ "cases", required_argument, NULL, OPT_CASES },
	{ "chat", required_argument, NULL, OPT_CHAT },
	{ "template", required_argument, NULL, OPT_TEMPLATE },
	{ "no-bos", no_argument, NULL, OPT_NO_BOS },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 }
};

struct tk_opts {
	const char	*model;
	const char	*cases;
	const char	*chat;
	const char	*tmpl;
	const char	*text;
	int		 no_bos;
};

static void
tk_help(FILE *f)
{
	fputs("usage: yangtuo tokenize -m MODEL [--no-bos] TEXT\n"
	    "       yangtuo tokenize -m MODEL --cases FILE.inp\n"
	    "       yangtuo tokenize -m MODEL [--no-bos] [--template NAME] "
	    "--chat FILE.json\n"
	    "\n"
	    "  TEXT            one line per token: the id and its piece\n"
	    "  --cases FILE    the ids of each case of a llama.cpp .inp file,\n"
	    "                  in its .out format (no BOS, special tokens "
	    "off)\n"
	    "  --chat FILE     a JSON array of {\"role\", \"content\"} "
	    "messages,\n"
	    "                  rendered with the generation prompt: the ids "
	    "on\n"
	    "                  one line, in the same format\n"
	    "  --template NAME auto (default), llama3, llama2, chatml, mistral"
	    " or none\n"
	    "  --no-bos        leave out the BOS token\n", f);
}

static int
tk_usage(const char *msg)
{
	fprintf(stderr, "yangtuo tokenize: %s\n", msg);
	fprintf(stderr, "Try 'yangtuo tokenize --help' for more "
	    "information.\n");
	return 2;
}

static int
tk_parse(int argc, char **argv, struct tk_opts *o)
{
	int	c;

	memset(o, 0, sizeof *o);
	o->tmpl = "auto";
	optind = 1;
	while ((c = getopt_long(argc, argv, "m:", tk_longopts, NULL)) != -1) {
		switch (c) {
		case 'm':
			o->model = optarg;
			break;
		case OPT_CASES:
			o->cases = optarg;
			break;
		case OPT_CHAT:
			o->chat = optarg;
			break;
		case OPT_TEMPLATE:
			o->tmpl = optarg;
			break;
		case OPT_NO_BOS:
			o->no_bos = 1;
			break;
		case OPT_HELP:
			tk_help(stdout);
			return 0;
		default:
			return tk_usage("bad option");
		}
	}
	if (o->model == NULL)
		o->model = tool_default_model;
	if (o->model == NULL)
		return tk_usage("-m MODEL is required");
	if ((o->cases != NULL) + (o->chat != NULL) + (optind < argc) != 1)
		return tk_usage("give exactly one of TEXT, --cases or --chat");
	if (optind < argc) {
		if (optind + 1 != argc)
			return tk_usage("give the TEXT as one argument");
		o->text = argv[optind];
	}
	if (tmpl_by_name(o->tmpl) == -1)
		return tk_usage("unknown --template");
	return -1;
}

static void
print_ids(const int32_t *ids, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		printf(" %d", (int)ids[i]);
	putchar('\n');
}

static void
tk_encode(const struct tok *t, const char *s, size_t len, int bos,
    int32_t **ids, size_t *n, size_t *cap)
{
	*n = 0;
	if (tok_encode(t, s, len, bos, 0, ids, n, cap) != 0)
		fatal("out of memory");
}

/* The next case separator in [p, end), or NULL (the text may hold NUL
 * bytes, so no strstr). */
static char *
find_sep(char *p, char *end)
{
	size_t	m = strlen(CASE_SEP);

	while ((size_t)(end - p) >= m) {
		if ((p = memchr(p, '\n', (size_t)(end - p) - m + 1)) == NULL)
			return NULL;
		if (memcmp(p, CASE_SEP, m) == 0)
			return p;
		p++;
	}
	return NULL;
}

static int
tk_cases(const struct tok *t, const char *path)
{
	char	*buf, *p, *end, *sep;
	size_t	 len, n, cap = 0;
	int32_t	*ids = NULL;

	if ((buf = tool_read_text(path, &len)) == NULL) {
		fprintf(stderr, "yangtuo: %s: %s\n", path, strerror(errno));
		return 1;
	}
	p = buf;
	end = buf + len;
	/* Text after the last separator is not a case (.inp files end
	 * with one). */
	while ((sep = find_sep(p, end)) != NULL) {
		tk_encode(t, p, (size_t)(sep - p), 0, &ids, &n, &cap);
		print_ids(ids, n);
		p = sep + strlen(CASE_SEP);
	}
	free(ids);
	free(buf);
	return 0;
}

static int
tk_chat(const struct tok *t, const struct gguf *g, const struct tk_opts *o)
{
	json_t		*root, *m, *role, *content;
	json_error_t	 err;
	struct tmpl_msg	*msgs;
	int32_t		*ids = NULL;
	size_t		 n = 0, cap = 0, i, nm;
	int		 kind;

	if ((root = json_load_file(o->chat, JSON_ALLOW_NUL, &err)) ==
	    NULL) {
		fprintf(stderr, "yangtuo: %s:%d:%d: %s\n", o->chat, err.line,
		    err.column, err.text);
		return 1;
	}
	if (!json_is_array(root)) {
		fprintf(stderr, "yangtuo: %s: not a JSON array of messages\n",
		    o->chat);
		json_decref(root);
		return 1;
	}
	nm = json_array_size(root);
	msgs = xcalloc(nm + 1, sizeof *msgs);
	for (i = 0; i < nm; i++) {
		m = json_array_get(root, i);
		role = json_object_get(m, "role");
		content = json_object_get(m, "content");
		if (!json_is_string(role) || !json_is_string(content)) {
			fprintf(stderr, "yangtuo: %s: message %zu needs string "
			    "\"role\" and \"content\"\n", o->chat, i);
			free(msgs);
			json_decref(root);
			return 1;
		}
		msgs[i].role = json_string_value(role);
		msgs[i].content = json_string_value(content);
		msgs[i].len = json_string_length(content);
	}
	kind = tmpl_by_name(o->tmpl);
	if (kind < 0)
		kind = tmpl_detect(g, t);
	if (tmpl_render(kind, t, msgs, nm, 1, &ids, &n, &cap, NULL) != 0)
		fatal("out of memory");
	if (o->no_bos && n > 0 && tok_add_bos(t) && ids[0] == tok_bos(t))
		print_ids(ids + 1, n - 1);
	else
		print_ids(ids, n);
	free(ids);
	free(msgs);
	json_decref(root);
	return 0;
}

/* Print a piece readably: whole characters as they are, control bytes
 * and bytes of split characters as escapes. */
static void
print_piece(const char *piece, size_t n)
{
	const unsigned char	*s = (const unsigned char *)piece;
	size_t			 i = 0, k;
	uint32_t		 c;

	putchar('\'');
	while (i < n) {
		if (s[i] == '\n')
			fputs("\\n", stdout);
		else if (s[i] == '\t')
			fputs("\\t", stdout);
		else if (s[i] == '\r')
			fputs("\\r", stdout);
		else if (s[i] == '\\' || s[i] == '\'')
			printf("\\%c", s[i]);
		else if (s[i] < 0x20 || s[i] == 0x7f ||
		    (k = utf8_char(piece + i, n - i, &c)) == 0)
			printf("\\x%02x", s[i]);
		else {
			fwrite(s + i, 1, k, stdout);
			i += k;
			continue;
		}
		i++;
	}
	putchar('\'');
}

static int
tk_text(const struct tok *t, const struct tk_opts *o)
{
	int32_t	*ids = NULL;
	size_t	 n = 0, cap = 0, i, len;
	char	 small[256], *buf;

	tk_encode(t, o->text, strlen(o->text), !o->no_bos && tok_add_bos(t),
	    &ids, &n, &cap);
	for (i = 0; i < n; i++) {
		len = tok_piece(t, ids[i], 1, small, sizeof small);
		buf = small;
		if (len > sizeof small) {
			buf = xmalloc(len);
			tok_piece(t, ids[i], 1, buf, len);
		}
		printf("%6d -> ", (int)ids[i]);
		print_piece(buf, len);
		putchar('\n');
		if (buf != small)
			free(buf);
	}
	free(ids);
	return 0;
}

/* `yangtuo tokenize`: argv starts at "tokenize"; returns the exit status
 * (0 done, 1 the model or an input could not be used, 2 bad usage). */
int
cmd_tokenize(int argc, char **argv)
{
	struct tk_opts	 o;
	struct gguf	*g;
	struct tok	*t;
	char		*cause = NULL;
	int		 rc;

	if ((rc = tk_parse(argc, argv, &o)) >= 0)
		return rc;
	if ((g = hf_gguf_open(o.model, &cause)) == NULL) {
		fprintf(stderr, "yangtuo: %s: %s\n", o.model,
		    cause != NULL ? cause : "cannot open");
		free(cause);
		return 1;
	}
	if ((t = tok_new(g, &cause)) == NULL) {
		fprintf(stderr, "yangtuo: %s: %s\n", o.model,
		    cause != NULL ? cause : "bad vocabulary");
		free(cause);
		gguf_close(g);
		return 1;
	}
	if (o.cases != NULL)
		rc = tk_cases(t, o.cases);
	else if (o.chat != NULL)
		rc = tk_chat(t, g, &o);
	else
		rc = tk_text(t, &o);
	tok_free(t);
	gguf_close(g);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "yangtuo: write error\n");
		rc = 1;
	}
	return rc;
}
