/*
 * Writing Hugging Face Llama folders for the tests: from a GGUF model
 * (its tensors renamed, q/k rows permuted back to HF's rotary halves as
 * llama.cpp's converter undoes them, converted to F32, F16 or BF16) or
 * from seeded random weights, with config.json, sharded or single
 * safetensors, and a tokenizer (a given tokenizer.json, or a small
 * byte-level BPE one of the model's vocabulary size).
 */
#include "config.h"

#include "tests/hf_make.h"

#include <sys/stat.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "engine/gguf.h"
#include "engine/quant.h"

struct ht {
	char	 name[96];
	int	 n_dims;
	int64_t	 rows, cols;	/* cols is 1 for vectors: (rows) */
	float	*f;
};

struct hm {
	struct ht	*t;
	size_t		 n;
	uint32_t	 n_embd, n_layer, n_head, n_head_kv, n_ff, n_ctx;
	uint32_t	 n_vocab;
	float		 eps, theta;
	int		 tied;
	json_t		*spm;		/* tokenizer.json from an SPM vocab */
};

static struct ht *
hm_add(struct hm *m, const char *name, int n_dims, int64_t rows, int64_t cols)
{
	struct ht	*t;

	m->t = realloc(m->t, (m->n + 1) * sizeof *m->t);
	t = &m->t[m->n++];
	snprintf(t->name, sizeof t->name, "%s", name);
	t->n_dims = n_dims;
	t->rows = rows;
	t->cols = cols;
	t->f = calloc((size_t)(rows * cols), sizeof *t->f);
	return t;
}

/* HF name of a GGUF tensor name; NULL for rope_freqs (made from config). */
static int
hf_name(const char *g, char *out, size_t n)
{
	static const char *const map[][2] = {
		{ "attn_norm", "input_layernorm" },
		{ "ffn_norm", "post_attention_layernorm" },
		{ "attn_q", "self_attn.q_proj" },
		{ "attn_k", "self_attn.k_proj" },
		{ "attn_v", "self_attn.v_proj" },
		{ "attn_output", "self_attn.o_proj" },
		{ "ffn_gate", "mlp.gate_proj" },
		{ "ffn_up", "mlp.up_proj" },
		{ "ffn_down", "mlp.down_proj" },
	};
	unsigned	il;
	char		part[64];
	size_t		k;

	if (strcmp(g, "token_embd.weight") == 0)
		return snprintf(out, n, "model.embed_tokens.weight"), 0;
	if (strcmp(g, "output_norm.weight") == 0)
		return snprintf(out, n, "model.norm.weight"), 0;
	if (strcmp(g, "output.weight") == 0)
		return snprintf(out, n, "lm_head.weight"), 0;
	if (sscanf(g, "blk.%u.%63[a-z_].weight", &il, part) != 2)
		return -1;
	for (k = 0; k < sizeof map / sizeof map[0]; k++)
		if (strcmp(part, map[k][0]) == 0)
			return snprintf(out, n, "model.layers.%u.%s.weight", il,
			    map[k][1]), 0;
	return -1;
}

/* GGUF rows h*d + 2i + j go to HF rows h*d + j*d/2 + i. */
static void
permute(struct ht *t, uint32_t n_head)
{
	int64_t	 d = t->rows / n_head, h, i, j;
	float	*o = malloc((size_t)(t->rows * t->cols) * sizeof *o);

	for (h = 0; h < n_head; h++)
		for (i = 0; i < d / 2; i++)
			for (j = 0; j < 2; j++)
				memcpy(o + (h * d + j * d / 2 + i) * t->cols,
				    t->f + (h * d + 2 * i + j) * t->cols,
				    (size_t)t->cols * sizeof *o);
	free(t->f);
	t->f = o;
}

struct piece {
	uint32_t	 id;
	float		 score;
};

static int
piece_cmp(const void *a, const void *b)
{
	const struct piece	*x = a, *y = b;

	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* A GGUF SentencePiece vocabulary as HF writes it (LlamaTokenizerFast):
 * BPE with byte fallback, the merges made from the scores (every split
 * of a piece into two pieces, best piece first), specials added. */
static json_t *
spm_tokenizer(struct gguf *g)
{
	const struct gguf_kv	*tk = gguf_find(g, "tokenizer.ggml.tokens");
	const struct gguf_kv	*sc = gguf_find(g, "tokenizer.ggml.scores");
	const struct gguf_kv	*ty = gguf_find(g, "tokenizer.ggml.token_type");
	json_t			*vocab = json_object(), *added = json_array();
	json_t			*merges = json_array();
	struct piece		*pc;
	char			 t[512], l[512], *r;
	uint64_t		 i, n = tk->n;
	size_t			 k, len;

	pc = calloc(n, sizeof *pc);
	for (i = 0; i < n; i++) {
		snprintf(t, sizeof t, "%.*s", (int)tk->strs[i].len,
		    tk->strs[i].p);
		json_object_set_new(vocab, t, json_integer((json_int_t)i));
		if (gguf_arr_int(ty, i) == 2 || gguf_arr_int(ty, i) == 3)
			json_array_append_new(added, json_pack("{s:I,s:s,s:b}",
			    "id", (json_int_t)i, "content", t, "special", 1));
		pc[i].id = (uint32_t)i;
		pc[i].score = gguf_arr_f32(sc, i);
	}
	qsort(pc, n, sizeof *pc, piece_cmp);
	for (i = 0; i < n; i++) {
		if (gguf_arr_int(ty, pc[i].id) != 1)
			continue;
		len = tk->strs[pc[i].id].len;
		snprintf(t, sizeof t, "%.*s", (int)len, tk->strs[pc[i].id].p);
		for (k = 1; k < len; k++) {
			if ((t[k] & 0xc0) == 0x80)
				continue;
			snprintf(l, sizeof l, "%.*s", (int)k, t);
			r = t + k;
			if (json_object_get(vocab, l) != NULL &&
			    json_object_get(vocab, r) != NULL) {
				snprintf(l + k, sizeof l - k, " %s", r);
				json_array_append_new(merges, json_string(l));
			}
		}
	}
	free(pc);
	return json_pack("{s:s,s:o,s:{s:s,s:[{s:s,s:s},{s:s,s:{s:s},s:s}]},"
	    "s:n,s:{s:s,s:b,s:b,s:s,s:o,s:o}}", "version", "1.0",
	    "added_tokens", added, "normalizer", "type", "Sequence",
	    "normalizers", "type", "Prepend", "prepend", "\xe2\x96\x81",
	    "type", "Replace", "pattern", "String", " ", "content",
	    "\xe2\x96\x81", "pre_tokenizer", "model", "type", "BPE",
	    "byte_fallback", 1, "fuse_unk", 1, "unk_token", "<unk>", "vocab",
	    vocab, "merges", merges);
}

static uint32_t
kv_u32(struct gguf *g, const char *k, uint32_t def)
{
	uint32_t	v = def;

	gguf_get_u32(g, k, &v);
	return v;
}

static int
from_gguf(struct hm *m, const char *path)
{
	struct gguf	*g;
	struct ht	*t;
	char		 name[96];
	uint64_t	 i;

	if ((g = gguf_open(path, NULL)) == NULL)
		return -1;
	m->n_embd = kv_u32(g, "llama.embedding_length", 0);
	m->n_layer = kv_u32(g, "llama.block_count", 0);
	m->n_head = kv_u32(g, "llama.attention.head_count", 0);
	m->n_head_kv = kv_u32(g, "llama.attention.head_count_kv", m->n_head);
	m->n_ff = kv_u32(g, "llama.feed_forward_length", 0);
	m->n_ctx = kv_u32(g, "llama.context_length", 2048);
	m->eps = 1e-5f;
	m->theta = 10000.0f;
	gguf_get_f32(g, "llama.attention.layer_norm_rms_epsilon", &m->eps);
	gguf_get_f32(g, "llama.rope.freq_base", &m->theta);
	m->tied = gguf_find_tensor(g, "output.weight") == NULL;
	if (gguf_get_str(g, "tokenizer.ggml.model", &(struct gguf_str){ 0 }) ==
	    0 && gguf_find(g, "tokenizer.ggml.scores") != NULL)
		m->spm = spm_tokenizer(g);
	for (i = 0; i < g->n_tensors; i++) {
		const struct gguf_tensor *s = &g->tensors[i];

		if (hf_name(s->name, name, sizeof name) != 0)
			continue;
		t = hm_add(m, name, (int)s->n_dims, s->n_dims == 1 ? s->ne[0] :
		    s->ne[1], s->n_dims == 1 ? 1 : s->ne[0]);
		qt_get(s->type)->to_f32_ref(s->data, t->f, t->rows * t->cols);
		if (strcmp(s->name, "token_embd.weight") == 0)
			m->n_vocab = (uint32_t)s->ne[1];
		if (strstr(name, "q_proj") != NULL)
			permute(t, m->n_head);
		else if (strstr(name, "k_proj") != NULL)
			permute(t, m->n_head_kv);
	}
	gguf_close(g);
	return 0;
}

static float
rnd(uint64_t *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return (float)((*s >> 40) / 16777216.0 - 0.5);
}

static void
from_random(struct hm *m, uint32_t n_vocab)
{
	static const char *const mats[] = { "self_attn.q_proj",
	    "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
	    "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj" };
	uint64_t	 s = 42;
	uint32_t	 il, hd;
	struct ht	*t;
	char		 name[96];
	size_t		 k;
	int64_t		 i, rows, cols;

	m->n_embd = 16;
	m->n_layer = 1;
	m->n_head = 2;
	m->n_head_kv = 1;
	m->n_ff = 32;
	m->n_ctx = 256;
	m->n_vocab = n_vocab;
	m->eps = 1e-5f;
	m->theta = 500000.0f;
	hd = m->n_embd / m->n_head;
	t = hm_add(m, "model.embed_tokens.weight", 2, n_vocab, m->n_embd);
	for (i = 0; i < t->rows * t->cols; i++)
		t->f[i] = rnd(&s);
	t = hm_add(m, "model.norm.weight", 1, m->n_embd, 1);
	for (i = 0; i < t->rows; i++)
		t->f[i] = 1.0f;
	m->tied = 1;
	for (il = 0; il < m->n_layer; il++) {
		for (k = 0; k < 2; k++) {
			snprintf(name, sizeof name, "model.layers.%u.%s.weight",
			    il, k ? "post_attention_layernorm" :
			    "input_layernorm");
			t = hm_add(m, name, 1, m->n_embd, 1);
			for (i = 0; i < t->rows; i++)
				t->f[i] = 1.0f;
		}
		for (k = 0; k < 7; k++) {
			rows = k == 0 || k == 3 ? m->n_embd : k < 3 ?
			    (int64_t)m->n_head_kv * hd : k < 6 ? m->n_ff :
			    m->n_embd;
			cols = k == 3 ? m->n_head * hd : k == 6 ? m->n_ff :
			    m->n_embd;
			snprintf(name, sizeof name, "model.layers.%u.%s.weight",
			    il, mats[k]);
			t = hm_add(m, name, 2, rows, cols);
			for (i = 0; i < rows * cols; i++)
				t->f[i] = rnd(&s) * 0.2f;
		}
	}
}

static int
esize(const char *dtype)
{
	return strcmp(dtype, "F32") == 0 ? 4 : 2;
}

static void
put_elem(unsigned char *p, const char *dtype, float v)
{
	uint16_t	h;

	if (strcmp(dtype, "F32") == 0) {
		memcpy(p, &v, 4);
		return;
	}
	h = strcmp(dtype, "F16") == 0 ? qt_f32_to_f16(v) : qt_f32_to_bf16(v);
	memcpy(p, &h, 2);
}

/* Write tensors [a, b) of m to path; 0 or -1. */
static int
write_st(const struct hm *m, size_t a, size_t b, const char *dtype,
    const char *path)
{
	json_t		*h = json_object(), *e;
	char		*txt;
	size_t		 i, len, pad;
	uint64_t	 off = 0, nb;
	unsigned char	 le[8], buf[4];
	FILE		*f;
	int64_t		 k;
	int		 j;

	json_object_set_new(h, "__metadata__", json_pack("{s:s}", "format",
	    "pt"));
	for (i = a; i < b; i++) {
		nb = (uint64_t)(m->t[i].rows * m->t[i].cols) * esize(dtype);
		e = m->t[i].n_dims == 1 ? json_pack("[I]",
		    (json_int_t)m->t[i].rows) : json_pack("[I,I]",
		    (json_int_t)m->t[i].rows, (json_int_t)m->t[i].cols);
		json_object_set_new(h, m->t[i].name, json_pack("{s:s,s:o,s:[I,I]}",
		    "dtype", dtype, "shape", e, "data_offsets", (json_int_t)off,
		    (json_int_t)(off + nb)));
		off += nb;
	}
	txt = json_dumps(h, JSON_COMPACT);
	json_decref(h);
	len = strlen(txt);
	pad = (8 - len % 8) % 8;
	if ((f = fopen(path, "wb")) == NULL) {
		free(txt);
		return -1;
	}
	for (j = 0; j < 8; j++)
		le[j] = (unsigned char)((uint64_t)(len + pad) >> (8 * j));
	fwrite(le, 1, 8, f);
	fwrite(txt, 1, len, f);
	fwrite("        ", 1, pad, f);
	free(txt);
	for (i = a; i < b; i++) {
		for (k = 0; k < m->t[i].rows * m->t[i].cols; k++) {
			put_elem(buf, dtype, m->t[i].f[k]);
			fwrite(buf, 1, (size_t)esize(dtype), f);
		}
	}
	return fclose(f) == 0 ? 0 : -1;
}

static int
write_json(const char *dir, const char *name, json_t *j)
{
	char	path[1024];
	int	rc;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	rc = json_dump_file(j, path, JSON_INDENT(1));
	json_decref(j);
	return rc;
}

static int
copy_file(const char *from, const char *dir, const char *name)
{
	char	 path[1024], buf[65536];
	FILE	*in, *out;
	size_t	 n;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	if ((in = fopen(from, "rb")) == NULL)
		return -1;
	if ((out = fopen(path, "wb")) == NULL) {
		fclose(in);
		return -1;
	}
	while ((n = fread(buf, 1, sizeof buf, in)) > 0)
		fwrite(buf, 1, n, out);
	fclose(in);
	return fclose(out) == 0 ? 0 : -1;
}

/* GPT-2's byte to character mapping, as UTF-8. */
static void
byte_char(unsigned b, char *out)
{
	unsigned	c, n = 0, x;

	if ((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174)
		c = b;
	else {
		for (x = 0; x < b; x++)
			if (!((x >= 33 && x <= 126) || (x >= 161 && x <= 172) ||
			    x >= 174))
				n++;
		c = 256 + n;
	}
	if (c < 0x80) {
		out[0] = (char)c;
		out[1] = '\0';
	} else {
		out[0] = (char)(0xc0 | (c >> 6));
		out[1] = (char)(0x80 | (c & 0x3f));
		out[2] = '\0';
	}
}

/* A byte-level BPE of n_vocab ids: the 256 bytes, two specials, "Ġt"
 * and "he", the rest left to padding. */
static json_t *
small_tokenizer(uint32_t n_vocab, const char *regex)
{
	json_t		*vocab = json_object(), *added, *pre;
	char		 c[4];
	unsigned	 b;

	for (b = 0; b < 256; b++) {
		byte_char(b, c);
		json_object_set_new(vocab, c, json_integer(b));
	}
	json_object_set_new(vocab, "\xc4\xa0t", json_integer(258));
	json_object_set_new(vocab, "he", json_integer(259));
	added = json_pack("[{s:i,s:s,s:b},{s:i,s:s,s:b}]", "id", 256,
	    "content", "<|begin_of_text|>", "special", 1, "id", 257,
	    "content", "<|end_of_text|>", "special", 1);
	pre = json_pack("{s:s,s:[{s:s,s:{s:s},s:s,s:b},{s:s,s:b,s:b,s:b}]}",
	    "type", "Sequence", "pretokenizers", "type", "Split", "pattern",
	    "Regex", regex, "behavior", "Isolated", "invert", 0,
	    "type", "ByteLevel", "add_prefix_space", 0, "trim_offsets", 1,
	    "use_regex", 0);
	(void)n_vocab;
	return json_pack("{s:s,s:o,s:o,s:{s:s,s:b,s:b,s:o,s:[s,s]}}",
	    "version", "1.0", "added_tokens", added, "pre_tokenizer", pre,
	    "model", "type", "BPE", "byte_fallback", 0, "ignore_merges", 1,
	    "vocab", vocab, "merges", "\xc4\xa0 t", "h e");
}

static json_t *
config(const struct hm *m, const struct hf_make_opts *o)
{
	json_t	*c;

	c = json_pack("{s:[s],s:s,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:f,s:f,s:b,"
	    "s:s}", "architectures", o->arch != NULL ? o->arch :
	    "LlamaForCausalLM", "model_type", "llama", "hidden_size",
	    m->n_embd, "num_hidden_layers", m->n_layer, "num_attention_heads",
	    m->n_head, "num_key_value_heads", m->n_head_kv,
	    "intermediate_size", m->n_ff, "max_position_embeddings",
	    m->n_ctx, "vocab_size", m->n_vocab, "rms_norm_eps",
	    (double)m->eps, "rope_theta", (double)m->theta,
	    "tie_word_embeddings", m->tied, "torch_dtype", "bfloat16");
	if (o->llama3_rope)
		json_object_set_new(c, "rope_scaling", json_pack("{s:f,s:f,s:f,"
		    "s:i,s:s}", "factor", 8.0, "low_freq_factor", 1.0,
		    "high_freq_factor", 4.0,
		    "original_max_position_embeddings", 8192, "rope_type",
		    "llama3"));
	return c;
}

static int
write_weights(const struct hm *m, const char *dir, const struct hf_make_opts *o)
{
	json_t	*wm;
	char	 path[1024], file[128];
	size_t	 s, a, b, i, shards = o->shards > 1 ? (size_t)o->shards : 1;

	if (shards == 1) {
		snprintf(path, sizeof path, "%s/model.safetensors", dir);
		return write_st(m, 0, m->n, o->dtype, path);
	}
	wm = json_object();
	for (s = 0; s < shards; s++) {
		a = m->n * s / shards;
		b = m->n * (s + 1) / shards;
		snprintf(file, sizeof file, "model-%05zu-of-%05zu.safetensors",
		    s + 1, shards);
		snprintf(path, sizeof path, "%s/%s", dir, file);
		if (write_st(m, a, b, o->dtype, path) != 0)
			return -1;
		for (i = a; i < b; i++)
			json_object_set_new(wm, m->t[i].name,
			    json_string(file));
	}
	return write_json(dir, "model.safetensors.index.json",
	    json_pack("{s:{},s:o}", "metadata", "weight_map", wm));
}

/* See hf_make.h. */
int
hf_make(const char *src, const char *dir, const struct hf_make_opts *o)
{
	static const char regex[] =
	    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|"
	    "\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|"
	    "\\s+(?!\\S)|\\s+";
	struct hm	 m;
	size_t		 i;
	int		 rc = 0;

	memset(&m, 0, sizeof m);
	qt_init();
	if (strncmp(src, "random:", 7) == 0)
		from_random(&m, (uint32_t)strtoul(src + 7, NULL, 10));
	else if (from_gguf(&m, src) != 0)
		return -1;
	mkdir(dir, 0755);
	rc |= write_json(dir, "config.json", config(&m, o));
	rc |= write_weights(&m, dir, o);
	if (o->tokenizer != NULL)
		rc |= copy_file(o->tokenizer, dir, "tokenizer.json");
	else if (m.spm != NULL)
		rc |= write_json(dir, "tokenizer.json", m.spm);
	else
		rc |= write_json(dir, "tokenizer.json",
		    small_tokenizer(m.n_vocab, regex));
	if (o->tokenizer_config != NULL)
		rc |= copy_file(o->tokenizer_config, dir,
		    "tokenizer_config.json");
	else if (m.spm != NULL)
		rc |= write_json(dir, "tokenizer_config.json", json_pack(
		    "{s:s,s:s,s:s}", "bos_token", "<s>", "eos_token", "</s>",
		    "unk_token", "<unk>"));
	else
		rc |= write_json(dir, "tokenizer_config.json", json_pack(
		    "{s:s,s:s,s:s}", "bos_token", "<|begin_of_text|>",
		    "eos_token", "<|end_of_text|>", "chat_template",
		    "{{ '<|start_header_id|>' + message['role'] + "
		    "'<|end_header_id|>\\n\\n' }}"));
	if (o->gen_config != NULL)
		rc |= write_json(dir, "generation_config.json",
		    json_loads(o->gen_config, 0, NULL));
	else if (o->tokenizer == NULL && m.spm == NULL)
		rc |= write_json(dir, "generation_config.json", json_pack(
		    "{s:i,s:[i]}", "bos_token_id", 256, "eos_token_id", 257));
	for (i = 0; i < m.n; i++)
		free(m.t[i].f);
	free(m.t);
	return rc == 0 ? 0 : -1;
}
