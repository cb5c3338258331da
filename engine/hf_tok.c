/*
 * The tokenizer of a Hugging Face folder as GGUF tokenizer.* keys:
 * tokenizer.json's byte-level BPE vocabulary, merges and added tokens
 * (ids checked against config.json's vocab_size), the pre-tokenizer
 * recognised from its split regex, bos/eos and the Jinja chat template
 * text from tokenizer_config.json, end ids from generation_config.json.
 * What llama.cpp's converter writes, so both read the result alike.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf_write.h"
#include "hf_impl.h"
#include "common/util.h"

/* GGUF token types, as llama.cpp numbers them. */
#define TT_NORMAL	1
#define TT_UNKNOWN	2
#define TT_CONTROL	3
#define TT_USER		4
#define TT_UNUSED	5
#define TT_BYTE		6

/* The Llama-3 split (tokenizers' Split pre-tokenizer before ByteLevel). */
static const char llama3_regex[] =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|"
    "\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|"
    "\\s+";

struct hf_vocab {
	const char	**text;		/* borrowed from the JSON */
	int32_t		 *type;
	char		**owned;	/* [PADn] names and joined merges */
	size_t		  n_owned;
	const char	**merges;
	size_t		  n_merges;
	float		 *score;	/* SentencePiece-style only */
	int		  spm;		/* byte-fallback BPE (Llama 2) */
	uint32_t	  n;
	json_t		 *vocab;	/* model.vocab */
	json_t		 *added;	/* added_tokens */
};

static const char *
pre_name(json_t *pre, char **cause)
{
	json_t		*list, *p, *pat;
	const char	*type, *re = NULL;
	size_t		 i;
	int		 bytelevel = 0, regex_bl = 0;

	type = json_string_value(json_object_get(pre, "type"));
	if (type != NULL && strcmp(type, "Sequence") == 0)
		list = json_object_get(pre, "pretokenizers");
	else
		list = NULL;
	if (type != NULL && strcmp(type, "ByteLevel") == 0 &&
	    json_is_true(json_object_get(pre, "use_regex")))
		return "gpt-2";
	json_array_foreach(list, i, p) {
		type = json_string_value(json_object_get(p, "type"));
		if (type == NULL)
			break;
		if (strcmp(type, "ByteLevel") == 0) {
			bytelevel = 1;
			regex_bl = json_is_true(json_object_get(p,
			    "use_regex"));
		} else if (strcmp(type, "Split") == 0 && re == NULL) {
			pat = json_object_get(json_object_get(p, "pattern"),
			    "Regex");
			re = json_string_value(pat);
		}
	}
	if (bytelevel && re != NULL && strcmp(re, llama3_regex) == 0 &&
	    !regex_bl)
		return "llama-bpe";
	util_cause(cause, "tokenizer.json: the pre-tokenizer is not one "
	    "yangtuo knows (the Llama-3 split with ByteLevel, or GPT-2's)");
	return NULL;
}

/* Place text at id, checking the id against vocab_size. */
static int
put(struct hf_vocab *v, const char *text, json_t *jid, int32_t type,
    char **cause)
{
	uint64_t	id;

	if (hf_uint(jid, UINT32_MAX, &id) != 0)
		return util_cause(cause, "tokenizer.json: token '%.40s' has no "
		    "valid id", text);
	if (id >= v->n)
		return util_cause(cause, "tokenizer.json: token '%.40s' has id "
		    "%llu, but config.json says vocab_size is %u", text,
		    (unsigned long long)id, v->n);
	if (v->text[id] != NULL && strcmp(v->text[id], text) != 0)
		return util_cause(cause, "tokenizer.json: id %llu is both "
		    "'%.40s' and '%.40s'", (unsigned long long)id,
		    v->text[id], text);
	v->text[id] = text;
	v->type[id] = type;
	return 0;
}

static int
read_vocab(struct hf_vocab *v, json_t *tj, char **cause)
{
	json_t		*model = json_object_get(tj, "model"), *x;
	const char	*k, *type;
	char		*s;
	size_t		 i;
	uint32_t	 id;

	type = json_string_value(json_object_get(model, "type"));
	if (type == NULL || strcmp(type, "BPE") != 0)
		return util_cause(cause, "tokenizer.json: model type '%.20s' "
		    "is not supported (byte-level BPE only)",
		    type != NULL ? type : "?");
	v->spm = json_is_true(json_object_get(model, "byte_fallback"));
	v->vocab = json_object_get(model, "vocab");
	v->added = json_object_get(tj, "added_tokens");
	if (!json_is_object(v->vocab))
		return util_cause(cause, "tokenizer.json: model.vocab is not "
		    "an object");
	json_object_foreach(v->vocab, k, x) {
		if (put(v, k, x, TT_NORMAL, cause) != 0)
			return -1;
	}
	json_array_foreach(v->added, i, x) {
		k = json_string_value(json_object_get(x, "content"));
		if (k == NULL)
			return util_cause(cause, "tokenizer.json: added token "
			    "%zu has no content", i);
		if (put(v, k, json_object_get(x, "id"),
		    json_is_true(json_object_get(x, "special")) ? TT_CONTROL :
		    TT_USER, cause) != 0)
			return -1;
	}
	for (id = 0; id < v->n; id++) {
		if (v->text[id] != NULL)
			continue;
		if (asprintf(&s, "[PAD%u]", id) == -1)
			return util_cause(cause, "out of memory");
		v->owned[v->n_owned++] = s;
		v->text[id] = s;
		v->type[id] = TT_UNUSED;
	}
	return 0;
}

static int
read_merges(struct hf_vocab *v, json_t *tj, char **cause)
{
	json_t		*m, *x;
	const char	*a, *b;
	char		*s;
	size_t		 i;

	m = json_object_get(json_object_get(tj, "model"), "merges");
	if (!json_is_array(m))
		return util_cause(cause, "tokenizer.json: model.merges is not "
		    "an array");
	v->n_merges = json_array_size(m);
	if ((v->merges = calloc(v->n_merges + 1, sizeof *v->merges)) == NULL)
		return util_cause(cause, "out of memory");
	json_array_foreach(m, i, x) {
		if (json_is_string(x)) {
			v->merges[i] = json_string_value(x);
			continue;
		}
		a = json_string_value(json_array_get(x, 0));
		b = json_string_value(json_array_get(x, 1));
		if (a == NULL || b == NULL || json_array_size(x) != 2)
			return util_cause(cause, "tokenizer.json: merge %zu is "
			    "neither \"a b\" nor [a, b]", i);
		if (asprintf(&s, "%s %s", a, b) == -1)
			return util_cause(cause, "out of memory");
		v->owned[v->n_owned++] = s;
		v->merges[i] = s;
	}
	return 0;
}

/* Id of a token text named in tokenizer_config.json ("x" or
 * {"content": "x"}); -1 if absent or unknown. */
static int64_t
token_id(struct hf_vocab *v, json_t *j)
{
	const char	*s;
	uint32_t	 id;

	if (json_is_object(j))
		j = json_object_get(j, "content");
	if ((s = json_string_value(j)) == NULL)
		return -1;
	for (id = 0; id < v->n; id++) {
		if (strcmp(v->text[id], s) == 0)
			return id;
	}
	return -1;
}

static const char *
chat_template(json_t *tc)
{
	json_t		*t = json_object_get(tc, "chat_template"), *x;
	const char	*name;
	size_t		 i;

	if (json_is_string(t))
		return json_string_value(t);
	json_array_foreach(t, i, x) {
		name = json_string_value(json_object_get(x, "name"));
		if (name != NULL && strcmp(name, "default") == 0)
			return json_string_value(json_object_get(x,
			    "template"));
	}
	return NULL;
}

/* chat_template.jinja, where newer folders keep the template. */
static char *
read_jinja(const char *dir)
{
	char	*p, *buf = NULL;
	FILE	*f;
	long	 n;

	if (asprintf(&p, "%s/chat_template.jinja", dir) == -1)
		return NULL;
	f = fopen(p, "r");
	free(p);
	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 &&
	    n < (1 << 20) && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = calloc(1, (size_t)n + 1)) != NULL &&
	    fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

/* eos from tokenizer_config.json, else generation_config.json's first;
 * another id of generation_config.json's list becomes the eot id. */
static int
special_keys(struct gguf_w *w, struct hf_vocab *v, json_t *tc, json_t *gc,
    char **cause)
{
	json_t		*ge = json_object_get(gc, "eos_token_id"), *x;
	int64_t		 bos, eos, eot = -1;
	uint64_t	 u;
	size_t		 i;

	bos = token_id(v, json_object_get(tc, "bos_token"));
	eos = token_id(v, json_object_get(tc, "eos_token"));
	if (bos < 0 && hf_uint(json_object_get(gc, "bos_token_id"), v->n - 1,
	    &u) == 0)
		bos = (int64_t)u;
	if (json_is_number(ge))
		ge = json_pack("[O]", ge);
	else
		json_incref(ge);
	json_array_foreach(ge, i, x) {
		if (hf_uint(x, v->n - 1, &u) != 0) {
			json_decref(ge);
			return util_cause(cause, "generation_config.json: "
			    "eos_token_id is not a token id below %u", v->n);
		}
		if (eos < 0)
			eos = (int64_t)u;
		else if ((int64_t)u != eos && eot < 0)
			eot = (int64_t)u;
	}
	json_decref(ge);
	if (bos >= 0)
		gguf_w_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)bos);
	if (eos >= 0)
		gguf_w_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)eos);
	if (eot >= 0)
		gguf_w_u32(w, "tokenizer.ggml.eot_token_id", (uint32_t)eot);
	x = json_object_get(tc, "add_bos_token");
	if (json_is_boolean(x))
		gguf_w_bool(w, "tokenizer.ggml.add_bos_token", json_is_true(x));
	return 0;
}

/* Llama 2's tokenizer.json is SentencePiece's BPE with byte fallback:
 * as GGUF "llama" the merges become scores (a token made by the merge of
 * rank r scores -r, so the best-ranked merge is applied first, as the HF
 * tokenizer does), <0xNN> pieces are bytes and the unk token unknown. */
static int
spm_keys(struct gguf_w *w, struct hf_vocab *v, json_t *tj, char **cause)
{
	const char	*unk, *sp;
	json_t		*jid;
	uint64_t	 id;
	size_t		 i;
	char		*cat;

	if ((v->score = calloc(v->n, sizeof *v->score)) == NULL)
		return util_cause(cause, "out of memory");
	for (i = 0; i < v->n; i++)
		v->score[i] = -1e9f;
	for (i = v->n_merges; i-- > 0; ) {
		sp = strchr(v->merges[i], ' ');
		if (sp == NULL || asprintf(&cat, "%.*s%s",
		    (int)(sp - v->merges[i]), v->merges[i], sp + 1) == -1)
			continue;
		jid = json_object_get(v->vocab, cat);
		free(cat);
		if (hf_uint(jid, v->n - 1, &id) == 0)
			v->score[id] = -(float)i;
	}
	unk = json_string_value(json_object_get(json_object_get(tj, "model"),
	    "unk_token"));
	for (i = 0; i < v->n; i++) {
		if (unk != NULL && strcmp(v->text[i], unk) == 0) {
			v->type[i] = TT_UNKNOWN;
			gguf_w_u32(w, "tokenizer.ggml.unknown_token_id",
			    (uint32_t)i);
		} else if (v->type[i] == TT_NORMAL && strlen(v->text[i]) == 6 &&
		    strncmp(v->text[i], "<0x", 3) == 0 && v->text[i][5] == '>')
			v->type[i] = TT_BYTE;
	}
	gguf_w_str(w, "tokenizer.ggml.model", "llama");
	gguf_w_arr_str(w, "tokenizer.ggml.tokens", v->text, v->n);
	gguf_w_arr_f32(w, "tokenizer.ggml.scores", v->score, v->n);
	gguf_w_arr_i32(w, "tokenizer.ggml.token_type", v->type, v->n);
	return 0;
}

static void
vocab_free(struct hf_vocab *v)
{
	size_t	i;

	for (i = 0; i < v->n_owned; i++)
		free(v->owned[i]);
	free(v->owned);
	free(v->text);
	free(v->type);
	free(v->merges);
	free(v->score);
}

static int
vocab_keys(struct gguf_w *w, struct hf_vocab *v, json_t *tj, char **cause)
{
	const char	*pre;
	size_t		 n_merges;

	n_merges = json_array_size(json_object_get(json_object_get(tj,
	    "model"), "merges"));
	v->text = calloc(v->n, sizeof *v->text);
	v->type = calloc(v->n, sizeof *v->type);
	v->owned = calloc((size_t)v->n + n_merges + 1, sizeof *v->owned);
	if (v->text == NULL || v->type == NULL || v->owned == NULL)
		return util_cause(cause, "out of memory");
	if (read_vocab(v, tj, cause) != 0 || read_merges(v, tj, cause) != 0)
		return -1;
	if (v->spm)
		return spm_keys(w, v, tj, cause);
	if ((pre = pre_name(json_object_get(tj, "pre_tokenizer"), cause)) ==
	    NULL)
		return -1;
	gguf_w_str(w, "tokenizer.ggml.model", "gpt2");
	gguf_w_str(w, "tokenizer.ggml.pre", pre);
	gguf_w_arr_str(w, "tokenizer.ggml.tokens", v->text, v->n);
	gguf_w_arr_i32(w, "tokenizer.ggml.token_type", v->type, v->n);
	gguf_w_arr_str(w, "tokenizer.ggml.merges", v->merges, v->n_merges);
	return 0;
}

/* See hf_impl.h. */
int
hf_tok_keys(struct gguf_w *w, const char *dir, uint32_t vocab_size,
    char **cause)
{
	struct hf_vocab	 v;
	json_t		*tj, *tc = NULL, *gc = NULL;
	const char	*tmpl;
	char		*jinja = NULL, *why = NULL;
	int		 rc = -1;

	memset(&v, 0, sizeof v);
	v.n = vocab_size;
	if ((tj = hf_json_load(dir, "tokenizer.json", 0, cause)) == NULL)
		return -1;
	if ((tc = hf_json_load(dir, "tokenizer_config.json", 1, &why)) ==
	    NULL && why != NULL)
		goto out;
	if ((gc = hf_json_load(dir, "generation_config.json", 1, &why)) ==
	    NULL && why != NULL)
		goto out;
	if (vocab_keys(w, &v, tj, cause) != 0 ||
	    special_keys(w, &v, tc, gc, cause) != 0)
		goto out;
	if ((tmpl = chat_template(tc)) == NULL)
		tmpl = jinja = read_jinja(dir);
	if (tmpl != NULL)
		gguf_w_str(w, "tokenizer.chat_template", tmpl);
	rc = 0;
out:
	if (why != NULL) {
		util_cause(cause, "%s", why);
		free(why);
	}
	free(jinja);
	vocab_free(&v);
	json_decref(tj);
	json_decref(tc);
	json_decref(gc);
	return rc;
}
