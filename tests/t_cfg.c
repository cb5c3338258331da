/*
 * Tests of the config loader: the example file and a full round trip,
 * every key's type and range errors with exact file:line:col, warnings,
 * and the hostile inputs of RELIABILITY-NOTES Y1-Y5 (aliases, nesting,
 * size, special files, bad bytes), each an error and never a hang.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/tap.h"
#include "cfg.h"

/* Every CFG_SET_* bit but backend's (a file with it names no model). */
#define ALL_SET	(0x7fffu | CFG_SET_LORA | CFG_SET_LORA_MERGE | \
		    CFG_SET_PROMPT_CACHE | CFG_SET_PROMPT_CACHE_SIZE)

struct warns {
	int	n;
	char	first[512];
	char	last[512];
};

static void
on_warn(void *arg, const char *msg)
{
	struct warns	*w = arg;

	if (w->n++ == 0)
		snprintf(w->first, sizeof w->first, "%s", msg);
	snprintf(w->last, sizeof w->last, "%s", msg);
}

/* Load len bytes as "t.yaml" over a fresh config; the cause or NULL. */
static char *
load(struct cfg *c, const char *y, size_t len, struct warns *w)
{
	char	*cause = NULL;
	int	 rc;

	cfg_init(c);
	if (w != NULL)
		memset(w, 0, sizeof *w);
	rc = cfg_load_string(c, "t.yaml", y, len, w != NULL ? on_warn : NULL,
	    w, &cause);
	if (rc == 0 && cause != NULL)
		return strdup("rc 0 with a cause");
	if (rc != 0 && cause == NULL)
		return strdup("rc -1 without a cause");
	return cause;
}

/* The error for y is exactly want. */
static void
expect_error(const char *y, size_t len, const char *want)
{
	struct cfg	 c;
	char		*got = load(&c, y, len, NULL);

	if (!ok(got != NULL && strcmp(got, want) == 0, "%s", want))
		diag("got: %s", got != NULL ? got : "(no error)");
	free(got);
	cfg_free(&c);
}

#define ERR(y, want)	expect_error(y, sizeof(y) - 1, want)
#define LOAD(c, y, w)	load(c, y, sizeof(y) - 1, w)
#define LOADSTR(c, name, y, cause) \
	cfg_load_string(c, name, y, sizeof(y) - 1, NULL, NULL, cause)

static int
feq(float a, float b)
{
	return a == b;
}

static void
test_defaults(void)
{
	struct cfg			 c;
	const struct cfg_prompt		*d;

	cfg_init(&c);
	ok(c.set == 0 && c.model == NULL && c.threads == 0 && c.n_ctx == 0,
	    "defaults: nothing set, no model, threads 0, context 0");
	ok(feq(c.temperature, 0.2f) && c.top_k == 40 && feq(c.top_p, 0.9f) &&
	    feq(c.min_p, 0.0f) && feq(c.repeat_penalty, 1.1f) &&
	    c.repeat_last_n == 64 && c.seed == 0 && c.max_tokens == -1,
	    "defaults: sampling as the seed");
	ok(strcmp(c.template_name, "auto") == 0 &&
	    strcmp(c.system, "default") == 0 &&
	    strcmp(c.theme, "default") == 0, "defaults: auto, default, "
	    "default");
	d = cfg_prompt(&c, "default");
	ok(c.n_prompts == 1 && d != NULL &&
	    strcmp(d->text, CFG_DEFAULT_SYSTEM) == 0,
	    "defaults: the built-in prompt");
	ok(cfg_prompt(&c, "nope") == NULL, "cfg_prompt: unknown is NULL");
	cfg_free(&c);
	ok(c.model == NULL && c.prompts == NULL && c.n_prompts == 0 &&
	    c.theme == NULL, "cfg_free leaves an empty config");
	cfg_free(&c);
	cfg_free(NULL);
	ok(c.prompts == NULL && c.n_prompts == 0,
	    "cfg_free again and on NULL: nothing to free, nothing changed");
}

static void
test_example(void)
{
	struct cfg			 c;
	struct warns			 w;
	const struct cfg_prompt		*t, *x;
	char				*cause = NULL;
	int				 rc;

	setenv("HOME", "/home/t", 1);
	cfg_init(&c);
	memset(&w, 0, sizeof w);
	rc = cfg_load_file(&c, SRCDIR "/docs/config.example.yaml", on_warn,
	    &w, &cause);
	if (!ok(rc == 0, "docs/config.example.yaml loads"))
		diag("%s", cause);
	free(cause);
	ok(w.n == 0, "the example gives no warnings (%d)", w.n);
	ok(c.set == ALL_SET, "the example sets every key (0x%x)", c.set);
	ok(c.model != NULL && strcmp(c.model, "/home/t/models/"
	    "llama-3-chinese-8b-instruct-v3-q4_k_m.gguf") == 0,
	    "example: model with ~ expanded");
	ok(c.threads == 0 && c.n_ctx == 8192 && feq(c.temperature, 0.2f) &&
	    c.top_k == 40 && feq(c.top_p, 0.9f) && feq(c.min_p, 0.05f) &&
	    feq(c.repeat_penalty, 1.1f) && c.repeat_last_n == 64 &&
	    c.seed == 0 && c.max_tokens == -1, "example: numbers");
	ok(strcmp(c.template_name, "auto") == 0 &&
	    strcmp(c.system, "翻译") == 0 && strcmp(c.theme, "default") == 0,
	    "example: template, system, theme");
	t = cfg_prompt(&c, "翻译");
	x = cfg_prompt(&c, "写作助手");
	ok(c.n_prompts == 3 && t != NULL && x != NULL &&
	    strncmp(t->text, "你是一名专业的中英翻译", 33) == 0 &&
	    strncmp(x->text, "你是一位耐心的中文写作助手",
	    39) == 0,
	    "example: the two Chinese prompts");
	ok(strcmp(c.prompts[0].name, "default") == 0 &&
	    strcmp(c.prompts[1].name, "翻译") == 0 &&
	    strcmp(c.prompts[2].name, "写作助手") == 0,
	    "example: prompts listed in file order after the built-in");
	ok(cfg_prompt(&c, "default") != NULL &&
	    strcmp(cfg_prompt(&c, "default")->text, CFG_DEFAULT_SYSTEM) == 0,
	    "example: default prompt");
	cfg_free(&c);
}

static void
test_round_trip(void)
{
	static const char y[] =
	    "model: /m/x.gguf\n"
	    "threads: 4\n"
	    "ctx_size: 4096\n"
	    "temperature: 0.7\n"
	    "top_k: 0\n"
	    "top_p: 1\n"
	    "min_p: 1e-1\n"
	    "repeat_penalty: 1.0\n"
	    "repeat_last_n: -1\n"
	    "seed: 18446744073709551615\n"
	    "max_tokens: 512\n"
	    "stop: [\"<|eot_id|>\", \"\\nUser:\"]\n"
	    "template: chatml\n"
	    "system: terse\n"
	    "theme: dark\n"
	    "lora:\n"
	    "  - /x/a.gguf:0.5\n"
	    "  - /p/peft\n"
	    "lora_merge: true\n"
	    "prompt_cache: false\n"
	    "prompt_cache_size: 64KiB\n"
	    "prompts:\n"
	    "  terse: Answer briefly.\n"
	    "  default: \"你好\"\n"
	    "  empty: ''\n";
	struct cfg	 c;
	struct warns	 w;
	char		*cause = load(&c, y, sizeof y - 1, &w);

	ok(cause == NULL && w.n == 0, "every key in one file");
	free(cause);
	ok(c.set == ALL_SET, "all 19 set bits (0x%x)", c.set);
	ok(c.prompt_cache == 0 && c.prompt_cache_bytes == 64 << 10,
	    "prompt_cache: false, prompt_cache_size: 64KiB");
	ok(c.n_stop == 2 && strcmp(c.stop[0], "<|eot_id|>") == 0 &&
	    strcmp(c.stop[1], "\nUser:") == 0, "stop strings read back");
	ok(c.n_lora == 2 && strcmp(c.lora[0], "/x/a.gguf:0.5") == 0 &&
	    strcmp(c.lora[1], "/p/peft") == 0 && c.lora_merge == 1,
	    "lora: a list, lora_merge: true");
	ok(strcmp(c.model, "/m/x.gguf") == 0 && c.threads == 4 &&
	    c.n_ctx == 4096 && feq(c.temperature, 0.7f) && c.top_k == 0 &&
	    feq(c.top_p, 1.0f) && feq(c.min_p, 0.1f) &&
	    feq(c.repeat_penalty, 1.0f) && c.repeat_last_n == -1 &&
	    c.seed == UINT64_MAX && c.max_tokens == 512, "values read back");
	ok(strcmp(c.template_name, "chatml") == 0 &&
	    strcmp(c.system, "terse") == 0 && strcmp(c.theme, "dark") == 0,
	    "strings read back");
	ok(c.n_prompts == 3 &&
	    strcmp(cfg_prompt(&c, "terse")->text, "Answer briefly.") == 0 &&
	    strcmp(cfg_prompt(&c, "default")->text, "你好") == 0 &&
	    strcmp(cfg_prompt(&c, "empty")->text, "") == 0,
	    "prompts: added, default redefined, empty text allowed");
	cfg_free(&c);

	cause = LOAD(&c, "threads: !!int \"4\"\ntheme: !!str 5\n"
	    "temperature: +.5\ntop_k: +3\n", &w);
	ok(cause == NULL && c.threads == 4 && strcmp(c.theme, "5") == 0 &&
	    feq(c.temperature, 0.5f) && c.top_k == 3,
	    "tags !!int and !!str, signs, .5");
	free(cause);
	cfg_free(&c);

	cause = LOAD(&c, "\xEF\xBB\xBFthreads: 3\r\nmodel: ~/m\r\n", &w);
	ok(cause == NULL && c.threads == 3 &&
	    strcmp(c.model, "/home/t/m") == 0,
	    "UTF-8 BOM and CRLF accepted; ~/ is HOME");
	free(cause);
	cfg_free(&c);
	cause = LOAD(&c, "model: ~bob/m\n", &w);
	ok(cause == NULL && strcmp(c.model, "~bob/m") == 0,
	    "~user is not expanded");
	free(cause);
	cfg_free(&c);

	cause = LOAD(&c, "", &w);
	ok(cause == NULL && c.set == 0, "an empty file is fine");
	free(cause);
	cfg_free(&c);
	cause = LOAD(&c, "# just a comment\n---\n", &w);
	ok(cause == NULL && c.set == 0, "comments and an empty document");
	free(cause);
	cfg_free(&c);
	cause = LOAD(&c, "prompts:\n", &w);
	ok(cause == NULL && c.n_prompts == 1, "an empty prompts key");
	free(cause);
	cfg_free(&c);
}

static void
test_overlay(void)
{
	struct cfg	 c;
	char		*cause = NULL;
	int		 rc1, rc2, rc3;

	cfg_init(&c);
	rc1 = LOADSTR(&c, "a", "threads: 3\nsystem: s\nprompts:\n"
	    "  - name: s\n    text: one\n", &cause);
	rc2 = LOADSTR(&c, "b", "top_k: 7\nprompts: {s: two, u: x}\n",
	    &cause);
	ok(rc1 == 0 && rc2 == 0 && c.threads == 3 && c.top_k == 7 &&
	    strcmp(c.system, "s") == 0 && c.n_prompts == 3 &&
	    strcmp(cfg_prompt(&c, "s")->text, "two") == 0 &&
	    c.set == (CFG_SET_THREADS | CFG_SET_SYSTEM | CFG_SET_TOP_K),
	    "a second file overlays the first; prompts merge by name");
	rc3 = LOADSTR(&c, "c", "threads: 5\ntheme: t\nprompts: {v: y}"
	    "\nsystem: v\ntop_k: x\n", &cause);
	ok(rc3 == -1 && cause != NULL, "a bad third file fails");
	ok(c.threads == 3 && strcmp(c.theme, "default") == 0 &&
	    strcmp(c.system, "s") == 0 && c.n_prompts == 3 && c.top_k == 7 &&
	    cfg_prompt(&c, "v") == NULL &&
	    c.set == (CFG_SET_THREADS | CFG_SET_SYSTEM | CFG_SET_TOP_K),
	    "and leaves the struct as it was");
	free(cause);
	cfg_free(&c);
}

static void
test_key_errors(void)
{
	ERR("model: [a]\n",
	    "t.yaml:1:8: key 'model': expected a string, not a sequence");
	ERR("model:\n",
	    "t.yaml:1:7: key 'model': expected a string, not an empty value");
	ERR("threads: x\n",
	    "t.yaml:1:10: key 'threads': expected an integer, not 'x'");
	ERR("threads: -1\n", "t.yaml:1:10: key 'threads': -1 out of range: "
	    "must be 0 (all cores) to 1024");
	ERR("threads: 1025\n", "t.yaml:1:10: key 'threads': 1025 out of "
	    "range: must be 0 (all cores) to 1024");
	ERR("threads: 1.5\n",
	    "t.yaml:1:10: key 'threads': expected an integer, not '1.5'");
	ERR("threads: \"4\"\n",
	    "t.yaml:1:10: key 'threads': expected an integer, not a string");
	ERR("context: -5\n", "t.yaml:1:10: key 'context': -5 out of range: "
	    "must be 0 (the model's) to 16777216");
	ERR("ctx_size: 16777217\n", "t.yaml:1:11: key 'ctx_size': 16777217 "
	    "out of range: must be 0 (the model's) to 16777216");
	ERR("context: 99999999999999999999\n", "t.yaml:1:10: key 'context': "
	    "99999999999999999999 out of range: must be 0 (the model's) to "
	    "16777216");
	ERR("temperature: hot\n",
	    "t.yaml:1:14: key 'temperature': expected a number, not 'hot'");
	ERR("temperature: -0.1\n", "t.yaml:1:14: key 'temperature': -0.1 "
	    "out of range: must be 0 (greedy) or more");
	ERR("temperature: .inf\n",
	    "t.yaml:1:14: key 'temperature': expected a number, not '.inf'");
	ERR("temperature: 1e999\n", "t.yaml:1:14: key 'temperature': 1e999 "
	    "is out of range");
	ERR("top_k: -1\n", "t.yaml:1:8: key 'top_k': -1 out of range: must "
	    "be 0 (off) or more");
	ERR("top_k: [1]\n",
	    "t.yaml:1:8: key 'top_k': expected an integer, not a sequence");
	ERR("top_p: 0\n", "t.yaml:1:8: key 'top_p': 0 out of range: must be "
	    "above 0 and at most 1 (off)");
	ERR("top_p: 1.5\n", "t.yaml:1:8: key 'top_p': 1.5 out of range: must "
	    "be above 0 and at most 1 (off)");
	ERR("min_p: 1.1\n",
	    "t.yaml:1:8: key 'min_p': 1.1 out of range: must be 0 (off) to 1");
	ERR("min_p: {a: 1}\n",
	    "t.yaml:1:8: key 'min_p': expected a number, not a mapping");
	ERR("repeat_penalty: 0\n", "t.yaml:1:17: key 'repeat_penalty': 0 out "
	    "of range: must be above 0 (1 is off)");
	ERR("repeat_penalty: x1\n",
	    "t.yaml:1:17: key 'repeat_penalty': expected a number, not 'x1'");
	ERR("repeat_last_n: -2\n", "t.yaml:1:16: key 'repeat_last_n': -2 out "
	    "of range: must be -1 (the whole context), 0 (off) or more");
	ERR("seed: -1\n", "t.yaml:1:7: key 'seed': -1 out of range: must be 0 "
	    "(random) to 18446744073709551615");
	ERR("seed: 18446744073709551616\n", "t.yaml:1:7: key 'seed': "
	    "18446744073709551616 out of range: must be 0 (random) to "
	    "18446744073709551615");
	ERR("seed: 0x10\n",
	    "t.yaml:1:7: key 'seed': expected an integer, not '0x10'");
	ERR("stop: ''\n", "t.yaml:1:7: key 'stop': must not be empty");
	ERR("stop: [a, [b]]\n",
	    "t.yaml:1:11: key 'stop': expected a string, not a sequence");
	ERR("stop: [a, b, c, d, e, f, g, h, i]\n", "t.yaml:1:32: key "
	    "'stop': at most 8 strings of 1 to 63 bytes");
	ERR("max_tokens: 0\n", "t.yaml:1:13: key 'max_tokens': 0 out of "
	    "range: must be -1 (until the context is full) or at least 1");
	ERR("max_tokens: -2\n", "t.yaml:1:13: key 'max_tokens': -2 out of "
	    "range: must be -1 (until the context is full) or at least 1");
	ERR("template: jinja\n", "t.yaml:1:11: key 'template': unknown "
	    "template 'jinja' (expected auto, llama3, llama2, chatml, "
	    "mistral or none)");
	ERR("system: nosuch\n",
	    "t.yaml:1:9: key 'system': no prompt named 'nosuch'");
	ERR("theme: []\n",
	    "t.yaml:1:8: key 'theme': expected a string, not a sequence");
	ERR("theme: ''\n", "t.yaml:1:8: key 'theme': must not be empty");
	ERR("prompts: 5\n", "t.yaml:1:10: key 'prompts': expected a mapping "
	    "of names to texts or a sequence of {name, text}, not a single "
	    "value");
	ERR("prompts: [5]\n", "t.yaml:1:11: key 'prompts': expected a "
	    "mapping with name and text, not a single value");
	ERR("prompts:\n  - name: a\n",
	    "t.yaml:2:5: key 'prompts': prompt 'a' has no text");
	ERR("prompts:\n  - text: a\n",
	    "t.yaml:2:5: key 'prompts': prompt without a name");
	ERR("prompts:\n  a: x\n  b: y\n  a: z\n", "t.yaml:4:3: key 'prompts': "
	    "prompt 'a' defined twice (first at line 2)");
	ERR("prompts:\n  z: x\n  a: y\n  z: z\n  a: w\n", "t.yaml:4:3: key "
	    "'prompts': prompt 'z' defined twice (first at line 2)");
	/* "  - {name: a, text: x, " is 23 characters */
	ERR("prompts:\n  - {name: a, text: x, name: b}\n",
	    "t.yaml:2:24: key 'prompts': 'name' given twice in one prompt");
	ERR("prompts:\n  x: [a]\n",
	    "t.yaml:2:6: key 'prompts': expected a string, not a sequence");
}

static void
test_structure_errors(void)
{
	ERR("- a\n- b\n",
	    "t.yaml:1:1: expected a mapping of keys to values, not a sequence");
	ERR("hello\n", "t.yaml:1:1: expected a mapping of keys to values, not "
	    "a single value");
	ERR("[a]: 1\n", "t.yaml:1:1: expected a key, not a sequence");
	ERR("a: 1\n---\nb: 2\n", "t.yaml:2:1: only one document is allowed");
	ERR("threads: 1\nthreads: 2\n",
	    "t.yaml:2:1: key 'threads': given twice (first at line 1)");
	ERR("context: 1\nctx_size: 2\n", "t.yaml:2:1: key 'ctx_size': given "
	    "twice (first as 'context' at line 1)");
	ERR("prompts: {}\nprompts: {}\n",
	    "t.yaml:2:1: key 'prompts': given twice (first at line 1)");
	ERR("key: 'unterminated\n", "t.yaml:2:1: key 'key': found unexpected "
	    "end of stream (while scanning a quoted scalar at line 1, "
	    "column 6)");
	/* the error comes after a's value: no key to name */
	ERR("a: b: c\n",
	    "t.yaml:1:5: mapping values are not allowed in this context");
	ERR("theme: a\x1b" "b\n",
	    "t.yaml:1:9: control characters are not allowed (0x1B)");
	ERR("theme: \"a\\0b\"\n",
	    "t.yaml:1:8: key 'theme': NUL character in a value");
	ERR("threads: 1\r\nmodel: [x]\r\n",
	    "t.yaml:2:8: key 'model': expected a string, not a sequence");
}

static void
test_warnings(void)
{
	struct cfg	 c;
	struct warns	 w;
	char		*cause, big[2048];
	size_t		 n = 0;
	int		 i;

	cause = LOAD(&c, "foo: 1\nthreads: 2\n", &w);
	ok(cause == NULL && c.threads == 2 && w.n == 1 &&
	    strcmp(w.first, "t.yaml:1:1: unknown key 'foo' (ignored)") == 0,
	    "unknown key: a warning with file:line:col, parsing goes on");
	free(cause);
	cfg_free(&c);
	cause = LOAD(&c, "foo: {a: [1, 2, {b: c}]}\nbar: x\nthreads: 3\n",
	    &w);
	ok(cause == NULL && c.threads == 3 && w.n == 2 &&
	    strcmp(w.last, "t.yaml:2:1: unknown key 'bar' (ignored)") == 0,
	    "an unknown key's nested value is skipped");
	free(cause);
	cfg_free(&c);
	cause = LOAD(&c, "\"\\e[2Jx\": 1\n", &w);
	ok(cause == NULL &&
	    strcmp(w.first, "t.yaml:1:1: unknown key '\xe2\x90\x9b[2Jx' "
	    "(ignored)") == 0,
	    "control characters in a key are not echoed");
	free(cause);
	cfg_free(&c);
	cause = LOAD(&c, "prompts:\n  - {name: a, text: b, lang: zh}\n",
	    &w);
	ok(cause == NULL && w.n == 1 && strcmp(w.first, "t.yaml:2:24: "
	    "unknown key 'lang' in a prompt (ignored)") == 0,
	    "unknown key in a prompt: a warning");
	free(cause);
	cfg_free(&c);
	for (i = 0; i < 30; i++)
		n += (size_t)snprintf(big + n, sizeof big - n, "k%d: 1\n", i);
	cause = load(&c, big, n, &w);
	ok(cause == NULL && w.n == 21 &&
	    strcmp(w.last, "t.yaml: more warnings not shown") == 0,
	    "30 unknown keys: 20 warnings and a summary (%d)", w.n);
	free(cause);
	cfg_free(&c);
	cfg_init(&c);
	ok(LOADSTR(&c, NULL, "x: 1\n", NULL) == 0,
	    "no callback, no name, no cause pointer");
	ok(LOADSTR(&c, NULL, "x: [\n", NULL) == -1,
	    "an error with no cause pointer");
	cfg_free(&c);
}

static double
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Y1, Y2: aliases. */
static void
test_aliases(void)
{
	struct cfg	 c;
	struct warns	 w;
	char		 y[1024], *cause, *want;
	size_t		 n = 0;
	double		 t0;
	int		 i, j;

	/* 9x9 billion laughs */
	n = (size_t)snprintf(y, sizeof y, "a: &a [\"lol\",\"lol\",\"lol\","
	    "\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
	for (i = 1; i < 9; i++) {
		n += (size_t)snprintf(y + n, sizeof y - n, "%c: &%c [",
		    'a' + i, 'a' + i);
		for (j = 0; j < 9; j++)
			n += (size_t)snprintf(y + n, sizeof y - n, "*%c%s",
			    'a' + i - 1, j < 8 ? "," : "]\n");
	}
	t0 = now_ms();
	cause = load(&c, y, n, NULL);
	ok(cause != NULL && strcmp(cause, "t.yaml:2:8: key 'b': alias '*a' "
	    "names a sequence or mapping; only scalars may be aliased") == 0,
	    "Y1 9x9 billion laughs: refused at the first alias");
	ok(now_ms() - t0 < 100, "  in %.2f ms", now_ms() - t0);
	free(cause);
	cfg_free(&c);

	/* a doubling chain padded to 549 bytes */
	n = (size_t)snprintf(y, sizeof y, "a0: &a0 [x, x]\n");
	for (i = 1; i < 16; i++)
		n += (size_t)snprintf(y + n, sizeof y - n, "a%d: &a%d [*a%d, "
		    "*a%d]\n", i, i, i - 1, i - 1);
	while (n < 548)
		y[n++] = '#';
	y[n++] = '\n';
	ok(n == 549, "the chain is 549 bytes");
	cause = load(&c, y, n, NULL);
	ok(cause != NULL && strcmp(cause, "t.yaml:2:10: key 'a1': alias "
	    "'*a0' names a sequence or mapping; only scalars may be "
	    "aliased") == 0, "Y1 549-byte doubling chain refused");
	free(cause);
	cfg_free(&c);

	ERR("a: &x [*x]\n", "t.yaml:1:8: key 'a': cyclic alias '*x' (it "
	    "refers to a node that contains it)");
	ERR("a: &x {b: *x}\n", "t.yaml:1:11: key 'a': cyclic alias '*x' (it "
	    "refers to a node that contains it)");
	ERR("prompts: &p {a: *p}\n", "t.yaml:1:17: key 'prompts': cyclic "
	    "alias '*p' (it refers to a node that contains it)");
	ERR("a: *nope\n", "t.yaml:1:4: key 'a': undefined alias '*nope'");

	/* seventeen aliases: "l: [" then "*v, " each; the 17th at 5+4*16 */
	n = (size_t)snprintf(y, sizeof y, "x: &v 1\nl: [");
	for (i = 0; i < 17; i++)
		n += (size_t)snprintf(y + n, sizeof y - n, "*v, ");
	n += (size_t)snprintf(y + n, sizeof y - n, "]\n");
	want = "t.yaml:2:69: key 'l': more than 16 aliases";
	cause = load(&c, y, n, NULL);
	ok(cause != NULL && strcmp(cause, want) == 0, "%s", want);
	free(cause);
	cfg_free(&c);

	cause = LOAD(&c, "n: &n 4\nthreads: *n\nt: &t 翻译\nsystem: *t\n"
	    "prompts: {*t : hi}\n", &w);
	ok(cause == NULL && c.threads == 4 && strcmp(c.system, "翻译") == 0 &&
	    strcmp(cfg_prompt(&c, "翻译")->text, "hi") == 0,
	    "aliases to scalars are expanded (as values and keys)");
	free(cause);
	cfg_free(&c);
}

/* Y3: nesting. */
static void
test_depth(void)
{
	struct cfg	 c;
	char		*y, *cause, *want;
	size_t		 n, i, k;
	double		 t0;

	y = malloc(26 * 1000 * 1000);
	memset(y, '[', 100000);
	t0 = now_ms();
	cause = load(&c, y, 100000, NULL);
	want = "t.yaml:1:1: expected a mapping of keys to values, not a "
	    "sequence";
	ok(cause != NULL && strcmp(cause, want) == 0,
	    "Y3 '[' x 100000: %s (%.1f ms)", want, now_ms() - t0);
	free(cause);
	cfg_free(&c);

	/* "a: " then the 32nd '[' is depth 33, at column 4 + 31 */
	memcpy(y, "a: ", 3);
	cause = load(&c, y, 100000, NULL);
	want = "t.yaml:1:35: key 'a': nested deeper than 32 levels";
	ok(cause != NULL && strcmp(cause, want) == 0, "Y3 %s", want);
	free(cause);
	cfg_free(&c);

	/* "{a: " x 5000: the 33rd '{' at column 1 + 4 * 32 */
	for (i = 0; i < 5000; i++)
		memcpy(y + 4 * i, "{a: ", 4);
	cause = load(&c, y, 20000, NULL);
	want = "t.yaml:1:129: key 'a': nested deeper than 32 levels";
	ok(cause != NULL && strcmp(cause, want) == 0,
	    "Y3 flow mapping 5000 deep: %s", want);
	free(cause);
	cfg_free(&c);

	/* block mappings, two spaces a level: depth d starts at line d,
	 * column 2d - 1 */
	for (n = 0, k = 0; k < 1000; k++) {
		memset(y + n, ' ', 2 * k);
		n += 2 * k;
		memcpy(y + n, "a:\n", 3);
		n += 3;
	}
	cause = load(&c, y, n, NULL);
	want = "t.yaml:33:65: key 'a': nested deeper than 32 levels";
	ok(cause != NULL && strcmp(cause, want) == 0,
	    "Y3 block mapping 1000 deep (%zu bytes): %s", n, want);
	free(cause);
	cfg_free(&c);
	for (; k < 5000; k++) {
		memset(y + n, ' ', 2 * k);
		n += 2 * k;
		memcpy(y + n, "a:\n", 3);
		n += 3;
	}
	cause = load(&c, y, n, NULL);
	want = "t.yaml: too large (25010000 bytes; the limit is 1048576)";
	ok(cause != NULL && strcmp(cause, want) == 0,
	    "Y3 block mapping 5000 deep is %zu bytes: %s", n, want);
	free(cause);
	cfg_free(&c);
	free(y);
}

/* A megabyte of prompts, loaded twice over itself: linear, not n^2. */
static void
test_many(void)
{
	struct cfg	 c;
	char		*y = malloc(CFG_MAX_SIZE + 64), *cause = NULL;
	size_t		 n, i;
	double		 t0;
	int		 rc1, rc2;

	n = (size_t)sprintf(y, "prompts:\n");
	for (i = 0; n < CFG_MAX_SIZE - 32; i++)
		n += (size_t)sprintf(y + n, "  p%zu: t\n", i);
	cfg_init(&c);
	t0 = now_ms();
	rc1 = cfg_load_string(&c, "m", y, n, NULL, NULL, &cause);
	rc2 = cfg_load_string(&c, "m", y, n, NULL, NULL, &cause);
	ok(rc1 == 0 && rc2 == 0 && c.n_prompts == i + 1 &&
	    strcmp(c.prompts[1].name, "p0") == 0,
	    "%zu prompts in 1 MiB, loaded twice", i);
	ok(now_ms() - t0 < 2000, "  in %.0f ms", now_ms() - t0);
	free(cause);
	cfg_free(&c);
	free(y);
}

static void
on_alarm(int sig)
{
	(void)sig;
	printf("not ok - timed out (a FIFO open or read hung)\n");
	_exit(1);
}

static void
expect_file_error(const char *path, const char *want, const char *what)
{
	struct cfg	 c;
	char		*cause = NULL;
	int		 rc;

	cfg_init(&c);
	alarm(5);
	rc = cfg_load_file(&c, path, NULL, NULL, &cause);
	alarm(0);
	if (!ok(rc == -1 && cause != NULL && strcmp(cause, want) == 0,
	    "%s: %s", what, want))
		diag("got: %s", cause != NULL ? cause : "(no error)");
	ok(c.set == 0 && c.n_prompts == 1, "%s: struct untouched", what);
	free(cause);
	cfg_free(&c);
}

/* Y4: what the path names. */
static void
test_files(void)
{
	char	 tmpl[] = "/tmp/t_cfg.XXXXXX", *dir, p[256], want[512];
	char	*cause = NULL;
	struct cfg c;
	FILE	*f;
	int	 fd, rc;

	signal(SIGALRM, on_alarm);
	if ((dir = mkdtemp(tmpl)) == NULL) {
		skip("mkdtemp failed");
		return;
	}
	snprintf(p, sizeof p, "%s/big.yaml", dir);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ok(fd != -1 && ftruncate(fd, 100 * 1000 * 1000) == 0,
	    "a sparse 100 MB file");
	if (fd != -1)
		close(fd);
	snprintf(want, sizeof want, "%s: too large (more than 1048576 bytes)",
	    p);
	expect_file_error(p, want, "Y4 100 MB");
	unlink(p);

	expect_file_error("/dev/zero", "/dev/zero: not a regular file",
	    "Y4 /dev/zero");

	snprintf(p, sizeof p, "%s/fifo", dir);
	if (mkfifo(p, 0600) == 0) {
		snprintf(want, sizeof want, "%s: not a regular file", p);
		expect_file_error(p, want, "Y4 FIFO (no writer, no hang)");
		unlink(p);
	} else
		skip("mkfifo failed");

	snprintf(want, sizeof want, "%s: is a directory", dir);
	expect_file_error(dir, want, "Y4 directory");

	snprintf(p, sizeof p, "%s/none.yaml", dir);
	cfg_init(&c);
	errno = 0;
	rc = cfg_load_file(&c, p, NULL, NULL, &cause);
	snprintf(want, sizeof want, "%s: No such file or directory", p);
	ok(rc == -1 && errno == ENOENT && cause != NULL &&
	    strcmp(cause, want) == 0, "a missing file: ENOENT and a message");
	free(cause);
	cfg_free(&c);

	snprintf(p, sizeof p, "%s/bad.yaml", dir);
	if ((f = fopen(p, "w")) != NULL) {
		fputs("# comment\nthreads: x\n", f);
		fclose(f);
	}
	snprintf(want, sizeof want, "%s:2:10: key 'threads': expected an "
	    "integer, not 'x'", p);
	expect_file_error(p, want, "an error in a file names the file");
	unlink(p);
	rmdir(dir);
}

/* lora: one adapter or a list, ~ expanded; lora_merge a boolean. */
static void
test_lora(void)
{
	struct cfg	 c;
	char		*cause;

	setenv("HOME", "/home/t", 1);
	cause = LOAD(&c, "lora: ~/l/peft:2\n", NULL);
	ok(cause == NULL && c.n_lora == 1 &&
	    strcmp(c.lora[0], "/home/t/l/peft:2") == 0 && c.lora_merge == 0,
	    "lora: one adapter, ~ expanded");
	free(cause);
	cfg_free(&c);
	cause = LOAD(&c, "lora: [a, b, c, d, e, f, g, h, i]\n", NULL);
	ok(cause != NULL && strstr(cause, "at most 8 adapters") != NULL,
	    "nine adapters refused: %s", cause != NULL ? cause : "-");
	free(cause);
	cfg_free(&c);
	cause = LOAD(&c, "lora_merge: maybe\n", NULL);
	ok(cause != NULL && strstr(cause, "expected true or false") != NULL,
	    "lora_merge: maybe refused: %s", cause != NULL ? cause : "-");
	free(cause);
	cfg_free(&c);
}

/* prompt_cache_size: a size with a unit, or MiB; nothing else. */
static void
test_prompt_cache(void)
{
	static const struct {
		const char	*v;
		uint64_t	 want;	/* 0: refused */
	} t[] = {
		{ "1G", 1ULL << 30 }, { "512M", 512ULL << 20 },
		{ "3", 3ULL << 20 }, { "2tb", 2ULL << 40 }, { "0", 0 },
		{ "1.5G", 0 }, { "-1G", 0 }, { "1GG", 0 }, { "G", 0 },
		{ "99999999999999999999", 0 }, { "16777216T", 0 },
		{ "1 G", 0 }
	};
	struct cfg	 c;
	char		 y[64], *cause;
	size_t		 i;

	for (i = 0; i < sizeof t / sizeof *t; i++) {
		snprintf(y, sizeof y, "prompt_cache_size: %s\n", t[i].v);
		cause = load(&c, y, strlen(y), NULL);
		if (t[i].want != 0 || strcmp(t[i].v, "0") == 0)
			ok(cause == NULL && c.prompt_cache_bytes == t[i].want,
			    "prompt_cache_size: %s is %llu bytes", t[i].v,
			    (unsigned long long)c.prompt_cache_bytes);
		else
			ok(cause != NULL && strstr(cause, "expected a size") !=
			    NULL, "prompt_cache_size: %s refused: %s", t[i].v,
			    cause != NULL ? cause : "-");
		free(cause);
		cfg_free(&c);
	}
	cause = LOAD(&c, "", NULL);
	ok(cause == NULL && c.prompt_cache == 1 && c.prompt_cache_bytes ==
	    1ULL << 30, "the prompt cache is on, 1 GiB, by default");
	free(cause);
	cfg_free(&c);
}

/* Y5: bytes. */
static void
test_bytes(void)
{
	ERR("threads: 1\nmo\0del: x\n", "t.yaml:2:3: NUL byte in the file");
	ERR("system: caf\xC3(\n", "t.yaml:1:12: invalid UTF-8 (byte 0xC3): "
	    "the config must be UTF-8");
	ERR("theme: 中\xff\n", "t.yaml:1:9: invalid UTF-8 (byte 0xFF): the "
	    "config must be UTF-8");
	ERR("theme: \xC0\x80\n", "t.yaml:1:8: invalid UTF-8 (byte 0xC0): the "
	    "config must be UTF-8");
	ERR("theme: \xED\xA0\x80\n", "t.yaml:1:8: invalid UTF-8 (byte 0xED): "
	    "the config must be UTF-8");
	ERR("theme: \xF4\x90\x80\x80\n", "t.yaml:1:8: invalid UTF-8 (byte "
	    "0xF4): the config must be UTF-8");
	ERR("theme: \xE4\xB8", "t.yaml:1:8: invalid UTF-8 (byte 0xE4): the "
	    "config must be UTF-8");
	ERR("\xFF\xFEt\0h\0r\0", "t.yaml:1:1: UTF-16 byte-order mark: the "
	    "config must be UTF-8");
	ERR("\xFE\xFF\0t\0h", "t.yaml:1:1: UTF-16 byte-order mark: the "
	    "config must be UTF-8");
	ERR("t\0h\0r\0", "t.yaml:1:2: NUL byte in the file");
	ERR("\xEF\xBB\xBFthreads: x\n", "t.yaml:1:10: key 'threads': "
	    "expected an integer, not 'x'");
}

static void
test_default_path(void)
{
	char	*p;

	setenv("HOME", "/home/t", 1);
	setenv("XDG_CONFIG_HOME", "/x/y", 1);
	p = cfg_default_path();
	ok(p != NULL && strcmp(p, "/x/y/yangtuo/config.yaml") == 0,
	    "default path under $XDG_CONFIG_HOME");
	free(p);
	setenv("XDG_CONFIG_HOME", "rel/dir", 1);
	p = cfg_default_path();
	ok(p != NULL && strcmp(p, "/home/t/.config/yangtuo/config.yaml") == 0,
	    "a relative $XDG_CONFIG_HOME is ignored");
	free(p);
	setenv("XDG_CONFIG_HOME", "", 1);
	p = cfg_default_path();
	ok(p != NULL && strcmp(p, "/home/t/.config/yangtuo/config.yaml") == 0,
	    "an empty $XDG_CONFIG_HOME means ~/.config");
	free(p);
	unsetenv("XDG_CONFIG_HOME");
}

static void
test_locale(void)
{
	struct cfg	 c;
	char		*cause;

	if (setlocale(LC_ALL, "de_DE.UTF-8") == NULL &&
	    setlocale(LC_ALL, "fr_FR.UTF-8") == NULL) {
		skip("no locale with a decimal comma");
		return;
	}
	cause = LOAD(&c, "temperature: 0.75\n", NULL);
	ok(cause == NULL && feq(c.temperature, 0.75f),
	    "0.75 reads as 0.75 under a decimal-comma locale");
	free(cause);
	cfg_free(&c);
	setlocale(LC_ALL, "C");
}

int
main(void)
{
	test_defaults();
	test_example();
	test_round_trip();
	test_overlay();
	test_key_errors();
	test_structure_errors();
	test_warnings();
	test_aliases();
	test_depth();
	test_many();
	test_files();
	test_bytes();
	test_lora();
	test_prompt_cache();
	test_default_path();
	test_locale();
	return tap_done();
}
