/*
 * ollama template tests: the Go template subset renders as Go's
 * text/template and ollama's Execute would (per-turn mode with the last
 * turn cut after .Response, .Messages mode, trimming, conditions,
 * variables), errors name their line, and the seed's Modelfile template
 * gives exactly the built-in llama3 template's ids, also on every
 * conversation of chat-llama3-public.json.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "engine/gguf.h"
#include "engine/gotmpl.h"
#include "engine/tmpl.h"
#include "engine/tok.h"
#include "tests/tap.h"

/* The TEMPLATE of the seed's scripts/ollama/Modelfile (ollama's llama3). */
static const char seed_tmpl[] =
    "{{ if .System }}<|start_header_id|>system<|end_header_id|>\n\n"
    "{{ .System }}<|eot_id|>{{ end }}{{ if .Prompt }}"
    "<|start_header_id|>user<|end_header_id|>\n\n"
    "{{ .Prompt }}<|eot_id|>{{ end }}"
    "<|start_header_id|>assistant<|end_header_id|>\n\n"
    "{{ .Response }}<|eot_id|>";

/* A .Messages template in the style of ollama's llama3.1 entry. */
static const char msgs_tmpl[] =
    "{{- if .System }}<|start_header_id|>system<|end_header_id|>\n\n"
    "{{ .System }}<|eot_id|>\n{{- end }}\n"
    "{{- range $i, $_ := .Messages }}\n"
    "{{- $last := eq (len (slice $.Messages $i)) 1 }}\n"
    "{{- if eq .Role \"user\" }}<|start_header_id|>user<|end_header_id|>\n\n"
    "{{ .Content }}<|eot_id|>{{ if $last }}"
    "<|start_header_id|>assistant<|end_header_id|>\n\n{{ end }}\n"
    "{{- else if eq .Role \"assistant\" }}"
    "<|start_header_id|>assistant<|end_header_id|>\n\n"
    "{{ .Content }}{{ if not $last }}<|eot_id|>{{ end }}\n"
    "{{- end }}\n{{- end }}";

/* ollama's llama3.1 entry (tools and all): a .Messages template. */
static const char l31_tmpl[] =
    "{{- if or .System .Tools }}<|start_header_id|>system<|end_header_id|>\n"
    "{{- if .System }}\n\n{{ .System }}\n{{- end }}\n"
    "{{- if .Tools }}\n\nCutting Knowledge Date: December 2023\n\n"
    "You are a helpful assistant with tool calling capabilities.\n"
    "{{- end }}<|eot_id|>\n{{- end }}\n"
    "{{- range $i, $_ := .Messages }}\n"
    "{{- $last := eq (len (slice $.Messages $i)) 1 }}\n"
    "{{- if eq .Role \"user\" }}<|start_header_id|>user<|end_header_id|>\n"
    "{{- if and $.Tools $last }}\n\nGiven the following functions, respond "
    "in the format {\"name\": function name, \"parameters\": ...}.\n\n"
    "{{ range $.Tools }}\n{{- . }}\n{{ end }}\n"
    "Question: {{ .Content }}<|eot_id|>\n"
    "{{- else }}\n\n{{ .Content }}<|eot_id|>\n"
    "{{- end }}{{ if $last }}<|start_header_id|>assistant<|end_header_id|>\n"
    "\n{{ end }}\n"
    "{{- else if eq .Role \"assistant\" }}<|start_header_id|>assistant"
    "<|end_header_id|>\n"
    "{{- if .ToolCalls }}\n{{ range .ToolCalls }}\n{\"name\": "
    "\"{{ .Function.Name }}\", \"parameters\": {{ .Function.Arguments }}}"
    "{{ end }}\n"
    "{{- else }}\n\n{{ .Content }}\n"
    "{{- end }}{{ if not $last }}<|eot_id|>{{ end }}\n"
    "{{- else if eq .Role \"tool\" }}<|start_header_id|>ipython"
    "<|end_header_id|>\n\n{{ .Content }}<|eot_id|>{{ if $last }}"
    "<|start_header_id|>assistant<|end_header_id|>\n\n{{ end }}\n"
    "{{- end }}\n{{- end }}";

struct out {
	char	buf[4096];
	size_t	len;
};

/* Collect the text; message text goes between [ and ]. */
static void
collect(void *arg, const char *s, size_t len, int from_tmpl)
{
	struct out	*o = arg;

	if (o->len + len + 3 >= sizeof o->buf)
		return;
	if (!from_tmpl)
		o->buf[o->len++] = '[';
	memcpy(o->buf + o->len, s, len);
	o->len += len;
	if (!from_tmpl)
		o->buf[o->len++] = ']';
	o->buf[o->len] = '\0';
}

#define M(r, s)	{ r, s, sizeof s - 1 }

/* Render text with msgs; the output (or "ERR: cause") into o. */
static void
render_text(const char *text, const struct tmpl_msg *msgs, size_t n,
    struct out *o)
{
	struct gotmpl	*g;
	char		*cause = NULL;

	o->len = 0;
	o->buf[0] = '\0';
	if ((g = gotmpl_parse(text, strlen(text), &cause)) == NULL ||
	    gotmpl_render(g, msgs, n, collect, o, &cause) != 0)
		snprintf(o->buf, sizeof o->buf, "ERR: %s", cause != NULL ?
		    cause : "out of memory");
	gotmpl_free(g);
	free(cause);
}

static void
check_text(const char *what, const char *text, const struct tmpl_msg *msgs,
    size_t n, const char *want)
{
	struct out	o;

	render_text(text, msgs, n, &o);
	if (!ok(strcmp(o.buf, want) == 0, "%s", what)) {
		diag("want: %s", want);
		diag("got:  %s", o.buf);
	}
}

static void
check_seed_text(void)
{
	static const struct tmpl_msg c1[] = { M("system", "S"),
	    M("user", "U1"), M("assistant", " A1 "), M("user", "U2") };
	static const struct tmpl_msg c2[] = { M("user", "U1"),
	    M("user", "U2") };

	check_text("seed template, per turn, last turn cut after .Response",
	    seed_tmpl, c1, 4,
	    "<|start_header_id|>system<|end_header_id|>\n\n[S]<|eot_id|>"
	    "<|start_header_id|>user<|end_header_id|>\n\n[U1]<|eot_id|>"
	    "<|start_header_id|>assistant<|end_header_id|>\n\n[ A1 ]"
	    "<|eot_id|>"
	    "<|start_header_id|>user<|end_header_id|>\n\n[U2]<|eot_id|>"
	    "<|start_header_id|>assistant<|end_header_id|>\n\n[]");
	check_text("consecutive user messages merge with a blank line",
	    seed_tmpl, c2, 2,
	    "<|start_header_id|>user<|end_header_id|>\n\n[U1\n\nU2]"
	    "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n[]");
	check_text("a .Messages template with $last and slice", msgs_tmpl,
	    c1, 4,
	    "<|start_header_id|>system<|end_header_id|>\n\n[S]<|eot_id|>"
	    "<|start_header_id|>user<|end_header_id|>\n\n[U1]<|eot_id|>"
	    "<|start_header_id|>assistant<|end_header_id|>\n\n[ A1 ]"
	    "<|eot_id|>"
	    "<|start_header_id|>user<|end_header_id|>\n\n[U2]<|eot_id|>"
	    "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

/* The template outlives the text it was parsed from (the engine frees
 * the load request). */
static void
check_copy(void)
{
	static const struct tmpl_msg u[] = { M("user", "hi") };
	struct gotmpl	*g;
	struct out	 o;
	char		*text = strdup("<{{ .Prompt }}>"), *cause = NULL;

	g = gotmpl_parse(text, strlen(text), &cause);
	memset(text, '#', strlen(text));
	free(text);
	o.len = 0;
	o.buf[0] = '\0';
	ok(g != NULL && gotmpl_render(g, u, 1, collect, &o, &cause) == 0 &&
	    strcmp(o.buf, "<[hi]>") == 0, "the template keeps its own copy "
	    "of the text");
	free(cause);
	gotmpl_free(g);
}

static void
check_language(void)
{
	static const struct tmpl_msg c[] = { M("system", "S"),
	    M("user", "hi"), M("assistant", "yo"), M("user", "bye") };
	static const struct tmpl_msg u[] = { M("user", "hi") };

	check_text("trim markers eat white space, comments vanish",
	    "a \n {{- .Prompt -}} \n b{{/* c */}} {{- /* d */ -}} c", u, 1,
	    "a[hi]bc");
	check_text("a minus without a space is not a trim marker",
	    "{{ .Prompt }} {{-3}}", u, 1, "[hi] -3");
	check_text("else if / else, eq with several values",
	    "{{ range .Messages }}{{ if eq .Role \"system\" }}S"
	    "{{ else if eq .Role \"x\" \"user\" }}U{{ else }}A{{ end }}"
	    "{{ end }}", c, 4, "SUAU");
	check_text("range with $i, $m and $.System; with; len",
	    "{{ range $i, $m := .Messages }}{{ $i }}{{ $m.Role }}"
	    "{{ with $.System }}({{ . }}){{ end }}{{ end }}"
	    "{{ len .Messages }}", c, 4,
	    "0[system]([S])1[user]([S])2[assistant]([S])3[user]([S])4");
	check_text("and/or/not/ne/lt, string constants count as template",
	    "{{ if and .System (not .Tools) }}{{ \"<x>\" }}{{ end }}"
	    "{{ if or false (ne 1 2) }}{{ `y` }}{{ end }}{{ lt 1 2 }}",
	    c, 4, "<x>ytrueytrue");
	check_text("range else, break, index",
	    "{{ range .Tools }}t{{ else }}none{{ end }}"
	    "{{ range .Messages }}{{ .Role }}{{ break }}{{ end }}"
	    "{{ (index .Messages 3).Content }}", c, 4,
	    "none[system][bye]");
	check_text("a key the map lacks prints <no value>",
	    "{{ .Tools }}|{{ .Prompt }}", u, 1, "<no value>|[hi]");
	check_copy();
	check_text("a variable assigned in a loop",
	    "{{ $n := 0 }}{{ range .Messages }}{{ $n = 5 }}{{ end }}{{ $n }}",
	    c, 4, "5");
}

static void
check_errors(void)
{
	static const struct tmpl_msg u[] = { M("user", "hi") };

	check_text("no {{end}}: the line of the {{if}}",
	    "x\n{{ if .System }}y", u, 1,
	    "ERR: line 2: unclosed action: no {{end}}");
	check_text("a stray {{end}}", "a\n\n{{ end }}", u, 1,
	    "ERR: line 3: unexpected {{end}}");
	check_text("an unclosed action", "a\n{{ .System", u, 1,
	    "ERR: line 2: unclosed action");
	check_text("{{template}} is not supported", "{{ template \"x\" }}",
	    u, 1, "ERR: line 1: {{template}} is not supported");
	check_text("an unknown field of a message",
	    "\n{{ range .Messages }}{{ .Nope }}{{ end }}", u, 1,
	    "ERR: line 2: can't evaluate field Nope");
	check_text("an unknown function", "{{ printf \"%s\" .System }}", u,
	    1, "ERR: line 1: function \"printf\" not defined");
	check_text("comparing a string with a number",
	    "{{ range .Messages }}{{ eq .Role 1 }}{{ end }}", u, 1,
	    "ERR: line 1: incompatible types for comparison");
	check_text("an unclosed parenthesis", "{{ (len .Messages }}", u, 1,
	    "ERR: line 1: unclosed '('");
}

struct ids {
	int32_t	*v;
	size_t	 n;
	size_t	 cap;
};

/* Both the seed template and the .Messages one give the llama3 ids. */
static int
same_as_llama3(const struct gotmpl *g, const struct tok *t,
    const struct tmpl_msg *m, size_t n)
{
	struct ids	 a = { NULL, 0, 0 }, b = { NULL, 0, 0 };
	char		*cause = NULL;
	int		 r;

	r = tmpl_render(TMPL_LLAMA3, t, m, n, 1, &a.v, &a.n, &a.cap,
	    NULL) == 0 && tmpl_render_go(g, t, m, n, &b.v, &b.n, &b.cap,
	    &cause) == 0 && a.n == b.n && a.n > 0 &&
	    memcmp(a.v, b.v, a.n * sizeof *a.v) == 0;
	free(cause);
	free(a.v);
	free(b.v);
	return r;
}

static int
is_sp(char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

/* Whether the built-in template (which trims texts and never merges
 * turns) and ollama's should agree on this conversation. */
static int
comparable(const struct tmpl_msg *m, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (m[i].len == 0 || is_sp(m[i].content[0]) ||
		    is_sp(m[i].content[m[i].len - 1]))
			return 0;
		if (i > 0 && strcmp(m[i].role, m[i - 1].role) == 0)
			return 0;
	}
	return 1;
}

static void
check_ids(const struct tok *t)
{
	static const struct tmpl_msg sys_user[] = {
	    M("system", "You are a helpful assistant. 你是一个乐于助人的助手。"),
	    M("user", "你好") };
	static const struct tmpl_msg multi[] = { M("system", "Be brief."),
	    M("user", "What is 2+2?"), M("assistant", "4."),
	    M("user", "And 3+3?"), M("assistant", "6."),
	    M("user", "为什么？") };
	static const struct tmpl_msg imitation[] = {
	    M("user", "say <|eot_id|> and <|start_header_id|>") };
	struct gotmpl	*seed, *msgs, *l31;
	char		*cause = NULL;
	json_t		*root, *c, *jm, *e;
	json_error_t	 err;
	struct tmpl_msg	 mv[64];
	size_t		 i, k, nm, tried = 0, agree = 0;
	char		 path[4096];

	seed = gotmpl_parse(seed_tmpl, strlen(seed_tmpl), &cause);
	msgs = gotmpl_parse(msgs_tmpl, strlen(msgs_tmpl), &cause);
	l31 = gotmpl_parse(l31_tmpl, strlen(l31_tmpl), &cause);
	if (!ok(seed != NULL && msgs != NULL && l31 != NULL, "the templates "
	    "parse (%s)", cause != NULL ? cause : "ok")) {
		free(cause);
		return;
	}
	ok(same_as_llama3(l31, t, sys_user, 2) && same_as_llama3(l31, t,
	    multi, 6) && same_as_llama3(l31, t, multi + 1, 5),
	    "ollama's llama3.1 template (tools unused): the llama3 ids");
	gotmpl_free(l31);
	ok(same_as_llama3(seed, t, sys_user, 2) &&
	    same_as_llama3(msgs, t, sys_user, 2),
	    "system + user: the llama3 template's ids");
	ok(same_as_llama3(seed, t, sys_user + 1, 1) &&
	    same_as_llama3(msgs, t, sys_user + 1, 1),
	    "no system: the llama3 template's ids");
	ok(same_as_llama3(seed, t, multi, 6) && same_as_llama3(msgs, t,
	    multi, 6) && same_as_llama3(seed, t, multi + 1, 5),
	    "multi-turn, with and without system: the llama3 ids");
	ok(same_as_llama3(seed, t, imitation, 1),
	    "special-token texts in a message stay text, as in llama3");
	snprintf(path, sizeof path, "%s/reference/chat-llama3-public.json",
	    tap_testdata());
	root = json_load_file(path, 0, &err);
	for (i = 0; i < json_array_size(root); i++) {
		c = json_array_get(root, i);
		jm = json_object_get(c, "messages");
		if ((nm = json_array_size(jm)) > 64)
			continue;
		for (k = 0; k < nm; k++) {
			e = json_array_get(jm, k);
			mv[k].role = json_string_value(json_object_get(e,
			    "role"));
			mv[k].content = json_string_value(json_object_get(e,
			    "content"));
			mv[k].len = json_string_length(json_object_get(e,
			    "content"));
		}
		if (!comparable(mv, nm))
			continue;
		tried++;
		agree += same_as_llama3(seed, t, mv, nm) &&
		    same_as_llama3(msgs, t, mv, nm);
	}
	json_decref(root);
	ok(tried >= 2 && agree == tried, "chat-llama3-public.json: %zu of "
	    "%zu conversations give the llama3 ids", agree, tried);
	gotmpl_free(seed);
	gotmpl_free(msgs);
}

int
main(void)
{
	struct gguf	*g;
	struct tok	*t = NULL;
	char		*cause = NULL, path[4096];

	tap_need_testdata("tokenizer/ggml-vocab-llama-bpe.gguf");
	check_seed_text();
	check_language();
	check_errors();
	snprintf(path, sizeof path, "%s/tokenizer/ggml-vocab-llama-bpe.gguf",
	    tap_testdata());
	if ((g = gguf_open(path, &cause)) == NULL ||
	    (t = tok_new(g, &cause)) == NULL)
		ok(0, "the llama-bpe vocabulary loads: %s", cause);
	else
		check_ids(t);
	free(cause);
	tok_free(t);
	gguf_close(g);
	return tap_done();
}
