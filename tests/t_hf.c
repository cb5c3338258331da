/*
 * Hugging Face folders: a GGUF model written out as an HF folder (q/k
 * rows permuted as HF keeps them) must read back as the very tensors of
 * the GGUF file; llama3 rope scaling gives llama.cpp's frequency
 * factors; bad folders give sentences naming what is wrong.  Also the
 * helper modes tests/hf.sh uses: --make (write a folder) and --kl
 * (compare two n_tokens x n_vocab distribution files).
 */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "engine/gguf.h"
#include "engine/hf.h"
#include "engine/model.h"
#include "engine/quant.h"
#include "engine/tmpl.h"
#include "engine/tok.h"
#include "tests/hf_make.h"
#include "tap.h"

static char	 tmp[] = "/tmp/yt-hf-XXXXXX";
static char	 ktest[512];

static char *
dir_of(const char *name)
{
	static char	buf[4][512];
	static int	k;

	k = (k + 1) % 4;
	snprintf(buf[k], sizeof buf[k], "%s/%s", tmp, name);
	return buf[k];
}

/* Every tensor of the GGUF file, byte for byte, in the folder's view. */
static void
test_same_tensors(void)
{
	struct hf_make_opts	 o = { "F16", 0, 0, NULL, NULL, NULL, NULL };
	struct gguf		*g, *h;
	const struct gguf_tensor *a, *b;
	char			*cause = NULL;
	uint64_t		 i, same = 0;

	if (!ok(hf_make(ktest, dir_of("f16"), &o) == 0, "ktest-F16 written "
	    "as an HF folder"))
		return;
	g = gguf_open(ktest, NULL);
	h = hf_open(dir_of("f16"), &cause);
	if (!ok(h != NULL, "the folder opens%s%s", cause ? ": " : "",
	    cause ? cause : "")) {
		free(cause);
		gguf_close(g);
		return;
	}
	for (i = 0; i < g->n_tensors; i++) {
		a = &g->tensors[i];
		b = gguf_find_tensor(h, a->name);
		if (b != NULL && b->type == a->type && b->nbytes == a->nbytes &&
		    memcmp(a->ne, b->ne, sizeof a->ne) == 0 &&
		    memcmp(a->data, b->data, a->nbytes) == 0)
			same++;

		else
			diag("tensor %s differs", a->name);
	}
	ok(same == g->n_tensors && h->n_tensors == g->n_tensors,
	    "all %llu tensors equal the GGUF file's (q/k rows un-permuted)",
	    (unsigned long long)g->n_tensors);
	ok(gguf_find_tensor(h, "blk.0.attn_q.weight")->data !=
	    gguf_find_tensor(h, "blk.0.attn_v.weight")->data &&
	    gguf_find(h, "tokenizer.ggml.scores") != NULL &&
	    gguf_find(h, "tokenizer.ggml.merges") == NULL,
	    "the SentencePiece vocabulary's tokenizer.json becomes scores");
	gguf_close(h);
	gguf_close(g);
}

static void
test_shards_bf16(void)
{
	struct hf_make_opts	 o = { "BF16", 3, 0, NULL, NULL, NULL, NULL };
	struct model		*m;
	char			*cause = NULL;

	hf_make(ktest, dir_of("bf16"), &o);
	m = model_load(dir_of("bf16"), &cause);
	ok(m != NULL && m->tok != NULL && m->layers[1].wq.type == QT_BF16 &&
	    strcmp(m->name, "bf16") == 0,
	    "BF16 in three shards loads as a model%s%s", cause ? ": " : "",
	    cause ? cause : "");
	model_free(m);
	free(cause);
}

static void
test_rope(void)
{
	struct hf_make_opts	 o = { "F32", 0, 1, NULL, NULL, NULL, NULL };
	const struct gguf_tensor *t;
	struct gguf		*h;
	float			 f[4];

	hf_make("random:300", dir_of("rope"), &o);
	h = hf_open(dir_of("rope"), NULL);
	t = h != NULL ? gguf_find_tensor(h, "rope_freqs.weight") : NULL;
	if (!ok(t != NULL && t->ne[0] == 4, "llama3 rope_scaling gives "
	    "rope_freqs (head_dim / 2 factors)")) {
		gguf_close(h);
		return;
	}
	memcpy(f, t->data, sizeof f);
	/* theta 500000, head_dim 8, factor 8, low 1, high 4, 8192: the
	 * wavelengths 6.3 and 167 keep 1, 4443 is smoothed, 118k gets 8. */
	ok(f[0] == 1.0f && f[1] == 1.0f && fabsf(f[2] - 2.6951f) < 1e-3f &&
	    f[3] == 8.0f, "factors %g %g %g %g", f[0], f[1], f[2], f[3]);
	gguf_close(h);
}

/* Write text over dir/name. */
static void
put(const char *dir, const char *name, const char *text)
{
	char	 p[1024];
	FILE	*f;

	snprintf(p, sizeof p, "%s/%s", dir, name);
	if ((f = fopen(p, "w")) != NULL) {
		fputs(text, f);
		fclose(f);
	}
}

static void
bad(const char *dir, const char *want, const char *what)
{
	struct model	*m;
	char		*cause = NULL;

	m = model_load(dir, &cause);
	ok(m == NULL && cause != NULL && strstr(cause, want) != NULL,
	    "%s: %s", what, cause != NULL ? cause : "(loaded)");
	model_free(m);
	free(cause);
}

/* A fresh small folder named name. */
static char *
fresh(const char *name, int shards, const char *arch)
{
	struct hf_make_opts	 o = { "F32", shards, 0, arch, NULL, NULL,
				    NULL };

	hf_make("random:300", dir_of(name), &o);
	return dir_of(name);
}

static void
test_bad(void)
{
	char	*d, p[1024];
	FILE	*f;

	d = fresh("arch", 0, "GPT2LMHeadModel");
	bad(d, "architecture 'GPT2LMHeadModel' is not supported", "wrong "
	    "architecture");
	d = fresh("shard", 2, NULL);
	snprintf(p, sizeof p, "%s/model-00002-of-00002.safetensors", d);
	unlink(p);
	bad(d, "shard model-00002-of-00002.safetensors is missing",
	    "missing shard");
	d = fresh("small", 0, NULL);
	put(d, "config.json", "{\"architectures\":[\"LlamaForCausalLM\"],"
	    "\"hidden_size\":16,\"num_hidden_layers\":1,"
	    "\"num_attention_heads\":2,\"num_key_value_heads\":1,"
	    "\"intermediate_size\":32,\"max_position_embeddings\":256,"
	    "\"vocab_size\":258,\"tie_word_embeddings\":true}");
	bad(d, "has id 258, but config.json says vocab_size is 258",
	    "tokenizer larger than vocab_size");
	put(d, "config.json", "{\"architectures\":[\"LlamaForCausalLM\"],"
	    "\"hidden_size\":16,\"num_hidden_layers\":1,"
	    "\"num_attention_heads\":2,\"num_key_value_heads\":1,"
	    "\"intermediate_size\":32,\"max_position_embeddings\":256,"
	    "\"vocab_size\":400,\"tie_word_embeddings\":true}");
	bad(d, "has 300 rows but config.json says vocab_size is 400",
	    "embedding rows differ from vocab_size");
	put(d, "config.json", "{\"architectures\":[\"LlamaForCausalLM\"],"
	    "\"hidden_size\":16,\"num_hidden_layers\":1,"
	    "\"num_attention_heads\":2,\"intermediate_size\":32,"
	    "\"max_position_embeddings\":256,\"vocab_size\":300,"
	    "\"rope_scaling\":{\"type\":\"yarn\",\"factor\":4}}");
	bad(d, "rope_scaling of type 'yarn' is not supported",
	    "unsupported rope scaling");
	put(d, "config.json", "{\"architectures\":[\"LlamaForCausalLM\"],"
	    "\"hidden_size\":16,\"num_hidden_layers\":1,"
	    "\"num_attention_heads\":2,\"intermediate_size\":32,"
	    "\"max_position_embeddings\":256,\"vocab_size\":300}");
	bad(d, "tensor 'lm_head.weight' is missing", "untied without lm_head");
	put(d, "config.json", "{\"architectures\":[\"LlamaForCausalLM\"],"
	    "\"hidden_size\":16,\"num_hidden_layers\":1,"
	    "\"num_attention_heads\":32,\"intermediate_size\":32,"
	    "\"max_position_embeddings\":256,\"vocab_size\":300}");
	bad(d, "head dimension of 0", "more heads than dimensions");
	put(d, "config.json", "{\"architectures\":[\"LlamaForCausalLM\"],"
	    "\"attention_bias\":true}");
	bad(d, "attention_bias is true", "attention biases");
	put(d, "config.json", "{\"architectures\":[\"LlamaForCausalLM\"],"
	    "\"hidden_act\":\"gelu\"}");
	bad(d, "hidden_act 'gelu' is not supported", "another activation");
	put(d, "config.json", "{\"architectures\":[\"LlamaForCausalLM\"],"
	    "\"hidden_size\":16.5}");
	bad(d, "hidden_size is not a whole number", "fractional hidden_size");
	put(d, "config.json", "{");
	bad(d, "config.json: not valid JSON", "broken config.json");
	snprintf(p, sizeof p, "%s/config.json", d);
	unlink(p);
	bad(d, "config.json is missing", "no config.json");

	d = fresh("lie", 0, NULL);
	snprintf(p, sizeof p, "%s/model.safetensors", d);
	if ((f = fopen(p, "r+b")) != NULL) {
		/* "data_offsets":[0,... of the first tensor becomes [9... */
		char	buf[4096];
		size_t	n = fread(buf, 1, sizeof buf - 1, f);
		char	*q;

		buf[n] = '\0';
		q = n > 8 ? strstr(buf + 8, "\"data_offsets\":[0,") : NULL;
		if (q != NULL) {
			fseek(f, (long)(q - buf) + 16, SEEK_SET);
			fputc('9', f);
		}
		fclose(f);
	}
	bad(d, "model.safetensors: ", "a safetensors header that lies");
	d = fresh("tok", 0, NULL);
	put(d, "tokenizer.json", "{\"model\":{\"type\":\"Unigram\"}}");
	bad(d, "model type 'Unigram' is not supported", "Unigram tokenizer");
	snprintf(p, sizeof p, "%s/tokenizer.json", d);
	unlink(p);
	bad(d, "tokenizer.json is missing", "no tokenizer.json");
}

static char *
data_path(const char *rel)
{
	static char	buf[2][512];
	static int	k;

	k = (k + 1) % 2;
	snprintf(buf[k], sizeof buf[k], "%s/%s", getenv("YT_TESTDATA") ?
	    getenv("YT_TESTDATA") : TESTDATA_DIR, rel);
	return buf[k];
}

/* Every conversation of chat-llama3-public.json through the folder's
 * tokenizer and the template recognised from its Jinja text. */
static size_t
render_public(const struct tok *t, int kind, size_t *n)
{
	json_t		*root, *c, *msgs, *ids, *m;
	struct tmpl_msg	 mv[64];
	int32_t		*got = NULL;
	size_t		 i, k, nm, ng, cap = 0, pass = 0;

	root = json_load_file(data_path("reference/chat-llama3-public.json"),
	    0, NULL);
	*n = json_array_size(root);
	json_array_foreach(root, i, c) {
		msgs = json_object_get(c, "messages");
		ids = json_object_get(c, "ids");
		nm = json_array_size(msgs);
		if (nm > 64)
			continue;
		json_array_foreach(msgs, k, m) {
			mv[k].role = json_string_value(json_object_get(m,
			    "role"));
			mv[k].content = json_string_value(json_object_get(m,
			    "content"));
			mv[k].len = json_string_length(json_object_get(m,
			    "content"));
		}
		ng = 0;
		if (tmpl_render(kind, t, mv, nm, 1, &got, &ng, &cap, NULL) != 0
		    || ng != json_array_size(ids))
			continue;
		for (k = 0; k < ng; k++)
			if (got[k] != json_integer_value(json_array_get(ids, k)))
				break;
		pass += k == ng;
	}
	free(got);
	json_decref(root);
	return pass;
}

static void
test_chat(void)
{
	static const char *const other[][2] = {
		{ "{% for m in messages %}<|im_start|>{{ m.role }}\\n{% endfor %}",
		    "chatml" },
		{ "{{ '[INST] <<SYS>>\\n' + system + '\\n<</SYS>>' }}",
		    "llama2" },
		{ "{{ bos_token }}{% for m in messages %}[INST] {{ m.content }} "
		    "[/INST]{% endfor %}", "mistral" },
	};
	struct hf_make_opts	 o = { "BF16", 0, 0, NULL, NULL, NULL,
				    "{\"eos_token_id\":[128001,128009]}" };
	struct gguf		*g;
	struct tok		*t;
	char			 buf[512], *d = dir_of("l3");
	size_t			 i, n = 0, pass;

	o.tokenizer = data_path("hf/llama3/tokenizer.json");
	o.tokenizer_config = data_path("tokenizer/llama3-tokenizer_config.json");
	hf_make("random:128256", d, &o);
	g = hf_open(d, NULL);
	t = g != NULL ? tok_new(g, NULL) : NULL;
	if (!ok(t != NULL && tmpl_detect(g, t) == TMPL_LLAMA3 &&
	    tmpl_known(g), "the Llama-3 folder's Jinja template is llama3")) {
		gguf_close(g);
		return;
	}
	pass = render_public(t, TMPL_LLAMA3, &n);
	ok(n > 0 && pass == n, "chat-llama3-public.json: %zu/%zu "
	    "conversations give their ids through the folder", pass, n);
	tok_free(t);
	gguf_close(g);
	for (i = 0; i < 3; i++) {
		snprintf(buf, sizeof buf, "{\"chat_template\":\"%s\"}",
		    other[i][0]);
		put(d, "tokenizer_config.json", buf);
		g = hf_open(d, NULL);
		t = g != NULL ? tok_new(g, NULL) : NULL;
		ok(t != NULL && strcmp(tmpl_name(tmpl_detect(g, t)),
		    other[i][1]) == 0, "a %s Jinja template is recognised",
		    other[i][1]);
		tok_free(t);
		gguf_close(g);
	}
}

/* --kl REF OURS N_VOCAB: mean and max KL(ref || ours), top-1 agreement. */
static int
kl_main(char **argv)
{
	FILE	*a = fopen(argv[0], "rb"), *b = fopen(argv[1], "rb");
	long	 nv = atol(argv[2]), i, rows = 0, agree = 0, ia, ib;
	float	*p = malloc(nv * sizeof *p), *q = malloc(nv * sizeof *q);
	double	 sum = 0, mx = 0, kl;

	if (a == NULL || b == NULL || nv <= 0 || p == NULL || q == NULL)
		return 2;
	while (fread(p, sizeof *p, nv, a) == (size_t)nv &&
	    fread(q, sizeof *q, nv, b) == (size_t)nv) {
		kl = 0;
		ia = ib = 0;
		for (i = 0; i < nv; i++) {
			if (p[i] > 0)
				kl += p[i] * log(p[i] / fmax(q[i], 1e-30));
			if (p[i] > p[ia])
				ia = i;
			if (q[i] > q[ib])
				ib = i;
		}
		sum += kl;
		mx = fmax(mx, kl);
		agree += ia == ib;
		rows++;
	}
	free(p);
	free(q);
	fclose(a);
	fclose(b);
	if (rows == 0)
		return 2;
	printf("%.3g %.3g %ld/%ld\n", sum / rows, mx, agree, rows);
	return 0;
}

static int
make_main(int argc, char **argv)
{
	struct hf_make_opts	 o;
	int			 i;

	memset(&o, 0, sizeof o);
	o.dtype = argv[2];
	for (i = 3; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--shards") == 0)
			o.shards = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--tokenizer") == 0)
			o.tokenizer = argv[i + 1];
		else if (strcmp(argv[i], "--tokenizer-config") == 0)
			o.tokenizer_config = argv[i + 1];
		else if (strcmp(argv[i], "--gen") == 0)
			o.gen_config = argv[i + 1];
		else if (strcmp(argv[i], "--llama3-rope") == 0)
			o.llama3_rope = atoi(argv[i + 1]);
	}
	return hf_make(argv[0], argv[1], &o) == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	char	cmd[600];

	if (argc >= 5 && strcmp(argv[1], "--kl") == 0)
		return kl_main(argv + 2);
	if (argc >= 5 && strcmp(argv[1], "--make") == 0)
		return make_main(argc - 2, argv + 2);
	qt_init();
	snprintf(ktest, sizeof ktest, "%s/models/ktest/ktest-F16.gguf",
	    getenv("YT_TESTDATA") != NULL ? getenv("YT_TESTDATA") :
	    TESTDATA_DIR);
	if (access(ktest, R_OK) != 0)
		skip_all("no test data");
	if (mkdtemp(tmp) == NULL)
		return 1;
	test_same_tensors();
	test_shards_bf16();
	test_rope();
	test_chat();
	test_bad();
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
	if (system(cmd) != 0)
		diag("could not remove %s", tmp);
	return tap_done();
}
