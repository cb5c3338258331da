/*
 * ollama's ways in: the Modelfile syntax (keywords in any case, comments,
 * quoted values, """ blocks) and its file:line errors, FROM resolution,
 * the store laid out as ollama lays it (digests and sizes checked,
 * malformed manifests named), a Modelfile over an ollama model, the
 * settings applied to the front end, and llama-cli's escapes, Llama-3
 * prompts and stream template.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/gotmpl.h"
#include "engine/sha256.h"
#include "engine/tmpl.h"
#include "fe.h"
#include "llamacli.h"
#include "modelfile.h"
#include "modelsum.h"
#include "tests/tap.h"

/* The seed's scripts/ollama/Modelfile, FROM made relative, keywords in
 * mixed case and a comment added. */
static const char seed[] =
    "# Llama-3-Chinese-Instruct\n"
    "FROM ./m.gguf\n"
    "TEMPLATE \"\"\"{{ if .System }}<|start_header_id|>system"
    "<|end_header_id|>\n\n{{ .System }}<|eot_id|>{{ end }}{{ if .Prompt }}"
    "<|start_header_id|>user<|end_header_id|>\n\n{{ .Prompt }}<|eot_id|>"
    "{{ end }}<|start_header_id|>assistant<|end_header_id|>\n\n"
    "{{ .Response }}<|eot_id|>\"\"\"\n"
    "system \"\"\"You are a helpful assistant. 你是一个乐于助人的助手。\"\"\"\n"
    "PARAMETER num_keep 24\n"
    "Parameter stop <|start_header_id|>\n"
    "PARAMETER stop <|end_header_id|>\n"
    "PARAMETER stop \"<|eot_id|>\"\n"
    "PARAMETER stop assistant\n"
    "\n"
    "MESSAGE user \"say \\\"hi\\\"\"\n"
    "MESSAGE assistant hi   \n"
    "LICENSE \"\"\"line one\nline two\"\"\"\n";

static char	dir[256];

static void
write_file(const char *name, const void *p, size_t n)
{
	char	 path[512];
	FILE	*f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	if ((f = fopen(path, "wb")) == NULL || fwrite(p, 1, n, f) != n)
		diag("cannot write %s", path);
	if (f != NULL)
		fclose(f);
}

static int
parse(struct modelfile *mf, const char *text, char **cause)
{
	modelfile_free(mf);
	return modelfile_parse(mf, "Modelfile", dir, text, strlen(text),
	    cause);
}

static void
check_seed(void)
{
	struct modelfile	 mf;
	char			*cause = NULL, path[512];
	int			 r;

	modelfile_init(&mf);
	write_file("m.gguf", "GGUF\3\0\0\0", 8);
	r = parse(&mf, seed, &cause);
	snprintf(path, sizeof path, "%s/./m.gguf", dir);
	ok(r == 0 && strcmp(mf.model, path) == 0 && mf.from_line == 2,
	    "the seed's Modelfile parses; FROM is relative to its folder "
	    "(%s)", cause != NULL ? cause : mf.model);
	if (r != 0)
		return;
	ok(strncmp(mf.template_text, "{{ if .System }}<|start_header_id|>",
	    34) == 0 && strstr(mf.template_text, "{{ .Response }}<|eot_id|>")
	    != NULL && mf.template_text[strlen(mf.template_text) - 1] == '>' &&
	    mf.template_line == 3,
	    "TEMPLATE: the \"\"\" block, its blank lines kept");
	ok(strcmp(mf.system, "You are a helpful assistant. "
	    "你是一个乐于助人的助手。") == 0, "system in lower case is SYSTEM");
	ok(mf.n_params == 5 && strcmp(modelfile_param(&mf, "num_keep"), "24")
	    == 0 && strcmp(mf.params[3].value, "<|eot_id|>") == 0 &&
	    strcmp(mf.params[1].name, "stop") == 0 && mf.params[4].line == 15,
	    "PARAMETER: num_keep and four stops, quoted or bare");
	ok(mf.n_msgs == 2 && strcmp(mf.msgs[0].text, "say \"hi\"") == 0 &&
	    strcmp(mf.msgs[1].role, "assistant") == 0 &&
	    strcmp(mf.msgs[1].text, "hi") == 0,
	    "MESSAGE: role and text, \\\" decoded, trailing blanks dropped");
	ok(mf.license != NULL && strcmp(mf.license, "line one\nline two") ==
	    0, "LICENSE over two lines");
	modelfile_free(&mf);
}

static void
check_errors(void)
{
	static const struct {
		const char	*text;
		const char	*want;
	} c[] = {
		{ "FROM ./m.gguf\nFOO bar\n",
		  "Modelfile:2: unknown command 'FOO'" },
		{ "FROM ./m.gguf\n\nTEMPLATE \"\"\"{{ .Prompt }}\n",
		  "Modelfile:3: a \"\"\" block is not closed" },
		{ "FROM ./m.gguf\nPARAMETER temprature 1\n",
		  "Modelfile:2: unknown parameter 'temprature'" },
		{ "FROM ./m.gguf\nPARAMETER\n",
		  "Modelfile:2: PARAMETER needs a name and a value" },
		{ "FROM ./m.gguf\nMESSAGE tool hi\n",
		  "Modelfile:2: MESSAGE role 'tool' is not system, user or "
		  "assistant" },
		{ "# nothing\nSYSTEM hi\n", "Modelfile:3: no FROM line" },
		{ "FROM ./m.gguf\nSYSTEM \"open\n",
		  "Modelfile:2: a quoted value is not closed" },
		{ "FROM ./m.gguf\nSYSTEM \"a\" b\n",
		  "Modelfile:2: unexpected text after the closing quote" },
		{ "FROM\n", "Modelfile:1: FROM needs a value" },
		{ "\n\nFROM ./missing.gguf\n", NULL },
	};
	struct modelfile	 mf;
	char			*cause = NULL, want[512];
	size_t			 i, good = 0;

	modelfile_init(&mf);
	for (i = 0; i < sizeof c / sizeof c[0]; i++) {
		if (c[i].want != NULL)
			snprintf(want, sizeof want, "%s", c[i].want);
		else
			snprintf(want, sizeof want, "Modelfile:3: FROM "
			    "%s/./missing.gguf: %s", dir, strerror(ENOENT));
		free(cause);
		cause = NULL;
		if (parse(&mf, c[i].text, &cause) == -1 && cause != NULL &&
		    strcmp(cause, want) == 0)
			good++;
		else
			diag("want '%s', got '%s'", want, cause != NULL ?
			    cause : "success");
	}
	ok(good == i, "%zu of %zu malformed Modelfiles: file:line and the "
	    "reason", good, i);
	free(cause);
	cause = NULL;
	ok(parse(&mf, "FROM llama3:8b\n", &cause) == 0 &&
	    strcmp(mf.model, "ollama:llama3:8b") == 0 &&
	    parse(&mf, "FROM hfl/llama-3-chinese-8b-instruct-v3\n", &cause) ==
	    0 && strcmp(mf.model, "ollama:hfl/llama-3-chinese-8b-instruct-v3")
	    == 0, "a FROM that names no file is an ollama model");
	ok(modelfile_parse(&mf, "Modelfile", dir, "FROM x\0y", 8, &cause) ==
	    -1, "a file with a NUL byte is not a Modelfile");
	free(cause);
	modelfile_free(&mf);
}

static void
check_sniff(void)
{
	char	a[512], b[512], c[512];

	write_file("mf1", "# comment\n\n  from x\n", 20);
	write_file("mf2", "hello world\n", 12);
	snprintf(a, sizeof a, "%s/mf1", dir);
	snprintf(b, sizeof b, "%s/mf2", dir);
	snprintf(c, sizeof c, "%s/m.gguf", dir);
	ok(modelfile_sniff(a) && !modelfile_sniff(b) && !modelfile_sniff(c) &&
	    !modelfile_sniff(dir), "a Modelfile is told from GGUF, text and "
	    "folders");
}

/* Write a blob under the store; its digest into hex. */
static void
blob(const char *root, const void *p, size_t n, char hex[65])
{
	struct sha256	s;
	uint8_t		d[32];
	char		name[512];

	sha256_init(&s);
	sha256_update(&s, p, n);
	sha256_final(&s, d);
	sha256_hex(d, hex);
	snprintf(name, sizeof name, "%s/blobs/sha256-%s", root + strlen(dir) +
	    1, hex);
	write_file(name, p, n);
}

static const char tmpl_text[] = "{{ .System }}|{{ .Prompt }}";
static const char params_text[] =
    "{\"stop\":[\"<|eot_id|>\",\"User:\"],\"temperature\":0.5,"
    "\"num_keep\":24}";
static const char msgs_text[] =
    "[{\"role\":\"user\",\"content\":\"hi\"},"
    "{\"role\":\"assistant\",\"content\":\"yo\"}]";

/* A store with one model at manifests/mpath: a zero-filled model blob
 * (the manifest says model_size bytes) and the small layers above. */
static void
make_store(const char *root, const char *mpath, size_t model_size)
{
	char	 m[65], t[65], s[65], p[65], g[65], l[65], text[2048], sub[512];
	char	*zeros = calloc(1, 4096);

	snprintf(sub, sizeof sub, "mkdir -p '%s/blobs' \"$(dirname "
	    "'%s/manifests/%s')\"", root, root, mpath);
	if (system(sub) != 0)
		diag("mkdir failed");
	blob(root, zeros, 4096, m);
	blob(root, tmpl_text, strlen(tmpl_text), t);
	blob(root, "Be brief.", 9, s);
	blob(root, params_text, strlen(params_text), p);
	blob(root, msgs_text, strlen(msgs_text), g);
	blob(root, "MIT", 3, l);
	snprintf(text, sizeof text,
	    "{\"schemaVersion\":2,\"layers\":[\n"
	    "{\"mediaType\":\"application/vnd.ollama.image.model\","
	    "\"digest\":\"sha256:%s\",\"size\":%zu},\n"
	    "{\"mediaType\":\"application/vnd.ollama.image.template\","
	    "\"digest\":\"sha256:%s\",\"size\":%zu},\n"
	    "{\"mediaType\":\"application/vnd.ollama.image.system\","
	    "\"digest\":\"sha256:%s\",\"size\":9},\n"
	    "{\"mediaType\":\"application/vnd.ollama.image.params\","
	    "\"digest\":\"sha256:%s\",\"size\":%zu},\n"
	    "{\"mediaType\":\"application/vnd.ollama.image.messages\","
	    "\"digest\":\"sha256:%s\",\"size\":%zu},\n"
	    "{\"mediaType\":\"application/vnd.ollama.image.license\","
	    "\"digest\":\"sha256:%s\",\"size\":3}]}\n",
	    m, model_size,
	    t, strlen(tmpl_text), s, p, strlen(params_text), g,
	    strlen(msgs_text), l);
	snprintf(sub, sizeof sub, "%s/manifests/%s", root + strlen(dir) + 1,
	    mpath);
	write_file(sub, text, strlen(text));
	free(zeros);
}

/* A model blob of the right size but other bytes passes until its digest
 * is known (cached by modelsum.c), then fails. */
static void
check_cached_digest(const char *root)
{
	struct modelfile	 mf;
	char			 hex[65], path[700], man[400], *cause = NULL, *x;
	int			 r1, r2;

	memset(hex, 'a', 64);
	hex[64] = '\0';
	x = malloc(4096);
	memset(x, 'x', 4096);
	snprintf(path, sizeof path, "store/blobs/sha256-%s", hex);
	write_file(path, x, 4096);
	free(x);
	snprintf(man, sizeof man, "{\"layers\":[{\"mediaType\":"
	    "\"application/vnd.ollama.image.model\",\"digest\":\"sha256:%s\","
	    "\"size\":4096}]}", hex);
	if (system("mkdir -p \"$OLLAMA_TEST_ROOT/manifests/"
	    "registry.ollama.ai/library/liar\"") != 0)
		diag("mkdir failed");
	write_file("store/manifests/registry.ollama.ai/library/liar/latest",
	    man, strlen(man));
	modelfile_init(&mf);
	r1 = ollama_load(&mf, root, "liar", &cause);
	modelfile_free(&mf);
	free(cause);
	cause = NULL;
	snprintf(path, sizeof path, "%s/blobs/sha256-%s", root, hex);
	free(modelsum_now(path));
	r2 = ollama_load(&mf, root, "liar", &cause);
	ok(r1 == 0 && r2 == -1 && cause != NULL && strstr(cause,
	    "(model): blob") != NULL && strstr(cause, "does not match its "
	    "digest") != NULL, "a model blob is checked by size, and by "
	    "digest once one is cached (%s)", cause != NULL ? cause : "?");
	free(cause);
	modelfile_free(&mf);
}

static void
check_store(void)
{
	struct modelfile	 mf;
	char			 root[512], *cause = NULL, path[600], bad[1400];
	int			 r;

	snprintf(root, sizeof root, "%s/store", dir);
	make_store(root, "registry.ollama.ai/library/tiny/latest", 4096);
	modelfile_init(&mf);
	r = ollama_load(&mf, root, "tiny", &cause);
	ok(r == 0 && strstr(mf.model, "/blobs/sha256-") != NULL &&
	    strcmp(mf.template_text, tmpl_text) == 0 &&
	    strcmp(mf.system, "Be brief.") == 0 &&
	    strcmp(mf.license, "MIT") == 0,
	    "ollama:tiny: model, template, system and licence layers (%s)",
	    cause != NULL ? cause : "ok");
	ok(r == 0 && mf.n_params == 4 && strcmp(mf.params[0].value,
	    "<|eot_id|>") == 0 && strcmp(mf.params[1].value, "User:") == 0 &&
	    strcmp(modelfile_param(&mf, "temperature"), "0.5") == 0 &&
	    strcmp(modelfile_param(&mf, "num_keep"), "24") == 0 &&
	    mf.n_msgs == 2 && strcmp(mf.msgs[1].text, "yo") == 0,
	    "the params layer (a stop list) and the messages layer");
	modelfile_free(&mf);
	free(cause);
	cause = NULL;
	make_store(root, "example.com/ns/other/v2", 4096);
	ok(ollama_load(&mf, root, "example.com/ns/other:v2", &cause) == 0 &&
	    ollama_load(&mf, root, "tiny:latest", &cause) == 0 &&
	    ollama_load(&mf, root, "library/tiny", &cause) == 0,
	    "HOST/NAMESPACE/MODEL:TAG, MODEL:TAG and NAMESPACE/MODEL");
	modelfile_free(&mf);
	/* Errors. */
	r = ollama_load(&mf, root, "absent", &cause);
	ok(r == -1 && strstr(cause, "no ollama model 'absent'") != NULL,
	    "a missing model: %s", cause);
	free(cause);
	r = ollama_load(&mf, root, "../tiny", &cause);
	ok(r == -1 && strstr(cause, "not an ollama model name") != NULL,
	    "a name that climbs out of the store is refused");
	free(cause);
	modelfile_free(&mf);
	make_store(root, "registry.ollama.ai/library/big/latest", 5000);
	r = ollama_load(&mf, root, "big", &cause);
	ok(r == -1 && strstr(cause, "has 4096 bytes, the manifest says 5000")
	    != NULL, "a model blob of the wrong size: %s", cause);
	free(cause);
	modelfile_free(&mf);
	/* Tamper with the template blob. */
	make_store(root, "registry.ollama.ai/library/bent/latest", 4096);
	{
		struct sha256	s;
		uint8_t		d[32];
		char		hex[65];
		FILE		*f;

		sha256_init(&s);
		sha256_update(&s, tmpl_text, strlen(tmpl_text));
		sha256_final(&s, d);
		sha256_hex(d, hex);
		snprintf(path, sizeof path, "%s/blobs/sha256-%s", root, hex);
		if ((f = fopen(path, "r+")) != NULL) {
			fputc('X', f);
			fclose(f);
		}
	}
	r = ollama_load(&mf, root, "bent", &cause);
	ok(r == -1 && strstr(cause, "(template): blob") != NULL &&
	    strstr(cause, "does not match its digest") != NULL,
	    "a template blob that does not match its digest: %s", cause);
	free(cause);
	modelfile_free(&mf);
	check_cached_digest(root);
	snprintf(path, sizeof path, "%s/manifests/registry.ollama.ai/library/"
	    "broken", root);
	snprintf(bad, sizeof bad, "mkdir -p '%s' && printf '{\"layers\":"
	    "[\\n{\"mediaType\": 1,\\n' > '%s/latest'", path, path);
	if (system(bad) != 0)
		diag("cannot write the broken manifest");
	r = ollama_load(&mf, root, "broken", &cause);
	snprintf(bad, sizeof bad, "%s/latest:3: ", path);
	ok(r == -1 && strncmp(cause, bad, strlen(bad)) == 0,
	    "a malformed manifest: file:line (%s)", cause);
	free(cause);
	modelfile_free(&mf);
}

/* A Modelfile FROM an ollama model: the store under it, its own lines
 * over it; then fe_apply_modelfile. */
static void
check_overlay(void)
{
	static const char text[] =
	    "FROM tiny\nSYSTEM \"\"\"\"\"\"\nPARAMETER temperature 0.1\n"
	    "PARAMETER stop \"###\"\nPARAMETER num_ctx 2048\n"
	    "PARAMETER num_predict 99\nPARAMETER mirostat 2\n";
	struct modelfile	 mf;
	struct fe		 fe;
	char			 root[1024], path[512], *cause = NULL;
	FILE			*notes = tmpfile();
	int			 r;

	snprintf(root, sizeof root, "%s/store", dir);
	/* Whole blobs again, after check_store() bent one. */
	make_store(root, "registry.ollama.ai/library/tiny/latest", 4096);
	setenv("OLLAMA_MODELS", root, 1);
	write_file("Modelfile.over", text, strlen(text));
	snprintf(path, sizeof path, "%s/Modelfile.over", dir);
	modelfile_init(&mf);
	r = modelfile_resolve(path, 0, &mf, &cause);
	ok(r == 1 && strstr(mf.model, "/store/blobs/sha256-") != NULL &&
	    strcmp(mf.template_text, tmpl_text) == 0 &&
	    strcmp(mf.system, "") == 0 && mf.n_msgs == 2,
	    "FROM tiny: the store's model and template, the Modelfile's "
	    "SYSTEM (%s)", cause != NULL ? cause : "ok");
	memset(&fe, 0, sizeof fe);
	fe.params.temperature = 0.8f;
	r = r == 1 ? fe_apply_modelfile(&fe, &mf, notes, &cause) : -1;
	ok(r == 0 && fe.params.temperature == 0.1f && fe.params.n_stop == 3 &&
	    strcmp(fe.params.stop[2], "###") == 0 && fe.load.n_ctx == 2048 &&
	    fe.params.max_tokens == 99 && fe.mf_max && fe.system_text ==
	    NULL && fe.n_preload == 2 && strcmp(fe.load.template_name, "go")
	    == 0 && fe.load.template_text == mf.template_text,
	    "applied: temperature (the Modelfile's last), stops from both, "
	    "num_ctx, num_predict, no system, messages, template");
	ok(notes != NULL && ftell(notes) > 0, "mirostat is noted as ignored");
	modelfile_free(&mf);
	write_file("Modelfile.bad", "FROM ./m.gguf\n\nPARAMETER top_k many\n",
	    36);
	snprintf(path, sizeof path, "%s/Modelfile.bad", dir);
	r = modelfile_resolve(path, 1, &mf, &cause);
	r = r == 1 ? fe_apply_modelfile(&fe, &mf, notes, &cause) : -1;
	snprintf(root, sizeof root, "%s:3: PARAMETER top_k many: ", path);
	ok(r == -1 && cause != NULL && strncmp(cause, root, strlen(root)) ==
	    0, "a bad parameter value: %s", cause);
	free(cause);
	modelfile_free(&mf);
	if (notes != NULL)
		fclose(notes);
}

static void
out_text(void *arg, const char *s, size_t len, int from_tmpl)
{
	char	*o = arg;
	size_t	 n = strlen(o);

	(void)from_tmpl;
	if (n + len < 512) {
		memcpy(o + n, s, len);
		o[n + len] = '\0';
	}
}

static void
check_llamacli(void)
{
	/* chat.sh's strings after escapes. */
	static const char pre[] = "<|start_header_id|>user<|end_header_id|>"
	    "\n\n";
	static const char suf[] = "<|eot_id|><|start_header_id|>assistant"
	    "<|end_header_id|>\n\n";
	static const char prompt[] = "<|start_header_id|>system"
	    "<|end_header_id|>\n\nYou are a helpful assistant.<|eot_id|>"
	    "<|start_header_id|>user<|end_header_id|>\n\n你好<|eot_id|>"
	    "<|start_header_id|>assistant<|end_header_id|>\n\n";
	static const struct tmpl_msg msgs[] = {
	    { "user", "P", 1 }, { "assistant", "R1", 2 },
	    { "user", "U2", 2 } };
	struct mf_msg	*m;
	struct gotmpl	*g;
	size_t		 n;
	char		 s[64] = "a\\nb\\t\\\\ \\x41\\q\\", out[512] = "", *t,
			*cause = NULL;

	llamacli_unescape(s);
	ok(strcmp(s, "a\nb\t\\ A\\q\\") == 0, "llama.cpp's escapes; unknown "
	    "ones stay");
	ok(llamacli_llama3(prompt, pre, suf, &m, &n) == 1 && n == 2 &&
	    strcmp(m[0].role, "system") == 0 && strcmp(m[0].text,
	    "You are a helpful assistant.") == 0 && strcmp(m[1].text,
	    "你好") == 0, "chat.sh's prompt read back as system + user");
	llamacli_msgs_free(m, n);
	ok(llamacli_llama3(prompt, " [INST] ", suf, &m, &n) == 0 &&
	    llamacli_llama3("plain text", pre, suf, &m, &n) == 0 &&
	    llamacli_llama3(prompt + 19, pre, suf, &m, &n) == 0,
	    "other prefixes and other prompts are not Llama-3");
	t = llamacli_template("Q: {{x}}", "\nQ: ", "\nA:");
	g = gotmpl_parse(t, strlen(t), &cause);
	if (g != NULL && gotmpl_render(g, msgs, 3, out_text, out, &cause) ==
	    0)
		ok(strcmp(out, "Q: {{x}}R1\nQ: U2\nA:") == 0,
		    "llama-cli's stream: prompt, reply, prefix input suffix "
		    "('%s')", out);
	else
		ok(0, "the stream template works: %s", cause);
	free(cause);
	gotmpl_free(g);
	free(t);
}

int
main(void)
{
	char	env[300];

	snprintf(dir, sizeof dir, "/tmp/yt-mf-XXXXXX");
	if (mkdtemp(dir) == NULL) {
		ok(0, "mkdtemp");
		return tap_done();
	}
	/* modelsum.c caches digests there. */
	snprintf(env, sizeof env, "%s/cache", dir);
	setenv("XDG_CACHE_HOME", env, 1);
	snprintf(env, sizeof env, "%s/store", dir);
	setenv("OLLAMA_TEST_ROOT", env, 1);
	check_seed();
	check_errors();
	check_sniff();
	check_store();
	check_overlay();
	check_llamacli();
	tap_rmtree(dir);
	return tap_done();
}
