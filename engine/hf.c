/*
 * A Hugging Face Llama folder as a GGUF view: config.json becomes the
 * llama.* keys, the safetensors tensors get GGUF names and shapes (the
 * data stays mapped), and llama3 rope scaling becomes the rope_freqs
 * tensor, as llama.cpp's converter makes them.  HF keeps each head's
 * rotary pairs as two halves (x[i], x[i + d/2]) where GGUF interleaves
 * them (x[2i], x[2i + 1]); the converter permutes the rows of q_proj and
 * k_proj, and so do we, into a copy of those two matrices only.
 */
#include "config.h"

#include "hf.h"

#include <sys/stat.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gguf.h"
#include "gguf_write.h"
#include "hf_impl.h"
#include "quant.h"
#include "safetensors.h"
#include "common/util.h"

#define HF_LAYER_T	9	/* tensors per layer */

struct hf_cfg {
	uint64_t	n_embd, n_layer, n_head, n_head_kv, n_ff, n_ctx;
	uint64_t	n_vocab, head_dim;
	double		eps, theta;
	int		tied;
	int		llama3;
	double		factor, lo, hi, orig_ctx;
};

/* What the view owns besides its metadata image. */
struct hf_ctx {
	struct safetensors	 *st;
	void			 *meta;
	void			**copies;
	size_t			  n_copies;
	struct gguf_tensor	 *t;	/* being built */
	size_t			  n_t;
};

/* See hf.h. */
int
hf_is_folder(const char *path)
{
	struct stat	sb;

	return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* See hf_impl.h. */
json_t *
hf_json_load(const char *dir, const char *name, int optional, char **cause)
{
	json_error_t	 je;
	json_t		*j;
	char		*p;

	*cause = NULL;
	if (asprintf(&p, "%s/%s", dir, name) == -1) {
		util_cause(cause, "out of memory");
		return NULL;
	}
	j = json_load_file(p, JSON_REJECT_DUPLICATES |
	    JSON_DECODE_INT_AS_REAL, &je);
	if (j == NULL) {
		if (access(p, F_OK) == -1 && errno == ENOENT) {
			if (!optional)
				util_cause(cause, "%s is missing", name);
		} else
			util_cause(cause, "%s: not valid JSON: %s (line %d)",
			    name, je.text, je.line);
	} else if (!json_is_object(j)) {
		util_cause(cause, "%s: not a JSON object", name);
		json_decref(j);
		j = NULL;
	}
	free(p);
	return j;
}

/* See hf_impl.h. */
int
hf_uint(json_t *j, uint64_t max, uint64_t *out)
{
	double	d;

	if (json_is_integer(j)) {
		if (json_integer_value(j) < 0 ||
		    (uint64_t)json_integer_value(j) > max)
			return -1;
		*out = (uint64_t)json_integer_value(j);
		return 0;
	}
	if (!json_is_real(j))
		return -1;
	d = json_real_value(j);
	if (!(d >= 0 && d <= (double)max) || d != floor(d))
		return -1;
	*out = (uint64_t)d;
	return 0;
}

static int
cfg_uint(json_t *c, const char *key, uint64_t max, uint64_t *v, int need,
    char **cause)
{
	json_t	*j = json_object_get(c, key);

	if (j == NULL || json_is_null(j)) {
		if (need)
			return util_cause(cause, "config.json: %s is missing",
			    key);
		return 0;
	}
	if (hf_uint(j, max, v) != 0 || *v == 0)
		return util_cause(cause, "config.json: %s is not a whole number "
		    "from 1 to %llu", key, (unsigned long long)max);
	return 0;
}

static int
cfg_real(json_t *c, const char *key, double *v, char **cause)
{
	json_t	*j = json_object_get(c, key);

	if (j == NULL || json_is_null(j))
		return 0;
	if (!json_is_number(j) || !(json_number_value(j) > 0) ||
	    !isfinite(json_number_value(j)))
		return util_cause(cause, "config.json: %s is not a positive "
		    "number", key);
	*v = json_number_value(j);
	return 0;
}

static int
cfg_arch(json_t *c, char **cause)
{
	json_t		*a = json_object_get(c, "architectures"), *x;
	const char	*s = NULL;
	size_t		 i;

	json_array_foreach(a, i, x) {
		s = json_string_value(x);
		if (s != NULL && strcmp(s, "LlamaForCausalLM") == 0)
			return 0;
	}
	if (s == NULL) {
		s = json_string_value(json_object_get(c, "model_type"));
		if (s != NULL && strcmp(s, "llama") == 0)
			return 0;
	}
	return util_cause(cause, "config.json: architecture '%.64s' is not "
	    "supported (only LlamaForCausalLM)", s != NULL ? s : "(none)");
}

/* What the Llama graph here does not have: biases, another activation. */
static int
cfg_plain(json_t *c, char **cause)
{
	static const char *const bias[] = { "attention_bias", "mlp_bias" };
	const char	*act;
	size_t		 i;

	for (i = 0; i < 2; i++) {
		if (json_is_true(json_object_get(c, bias[i])))
			return util_cause(cause, "config.json: %s is true, but "
			    "yangtuo runs Llama models without biases",
			    bias[i]);
	}
	act = json_string_value(json_object_get(c, "hidden_act"));
	if (act != NULL && strcmp(act, "silu") != 0)
		return util_cause(cause, "config.json: hidden_act '%.32s' is "
		    "not supported (only silu)", act);
	return 0;
}

static int
cfg_rope(struct hf_cfg *h, json_t *c, char **cause)
{
	json_t		*rs = json_object_get(c, "rope_scaling");
	const char	*type;

	if (rs == NULL || json_is_null(rs))
		return 0;
	type = json_string_value(json_object_get(rs, "rope_type"));
	if (type == NULL)
		type = json_string_value(json_object_get(rs, "type"));
	if (type != NULL && strcmp(type, "default") == 0)
		return 0;
	if (type == NULL || strcmp(type, "llama3") != 0)
		return util_cause(cause, "config.json: rope_scaling of type "
		    "'%.32s' is not supported (only llama3)",
		    type != NULL ? type : "?");
	h->llama3 = 1;
	h->factor = 8.0;
	h->lo = 1.0;
	h->hi = 4.0;
	h->orig_ctx = 8192;
	if (cfg_real(rs, "factor", &h->factor, cause) ||
	    cfg_real(rs, "low_freq_factor", &h->lo, cause) ||
	    cfg_real(rs, "high_freq_factor", &h->hi, cause) ||
	    cfg_real(rs, "original_max_position_embeddings", &h->orig_ctx,
	    cause))
		return -1;
	if (!(h->hi > h->lo))
		return util_cause(cause, "config.json: rope_scaling "
		    "high_freq_factor must exceed low_freq_factor");
	return 0;
}

static int
cfg_read(struct hf_cfg *h, const char *dir, char **cause)
{
	json_t	*c;
	int	 rc = -1;

	memset(h, 0, sizeof *h);
	if ((c = hf_json_load(dir, "config.json", 1, cause)) == NULL) {
		if (*cause == NULL)
			util_cause(cause, "config.json is missing, so this is "
			    "no Hugging Face model folder (give such a folder "
			    "or a GGUF file)");
		return -1;
	}
	h->eps = 1e-6;
	h->theta = 10000.0;
	if (cfg_arch(c, cause) || cfg_plain(c, cause) ||
	    cfg_uint(c, "hidden_size", 1u << 16, &h->n_embd, 1, cause) ||
	    cfg_uint(c, "num_hidden_layers", 512, &h->n_layer, 1, cause) ||
	    cfg_uint(c, "num_attention_heads", 1024, &h->n_head, 1, cause) ||
	    cfg_uint(c, "intermediate_size", 1u << 20, &h->n_ff, 1, cause) ||
	    cfg_uint(c, "vocab_size", 1u << 22, &h->n_vocab, 1, cause) ||
	    cfg_uint(c, "max_position_embeddings", 1u << 24, &h->n_ctx, 1,
	    cause))
		goto out;
	h->n_head_kv = h->n_head;
	h->head_dim = h->n_embd / h->n_head;
	if (cfg_uint(c, "num_key_value_heads", 1024, &h->n_head_kv, 0,
	    cause) ||
	    cfg_uint(c, "head_dim", 1024, &h->head_dim, 0, cause) ||
	    cfg_real(c, "rms_norm_eps", &h->eps, cause) ||
	    cfg_real(c, "rope_theta", &h->theta, cause) ||
	    cfg_rope(h, c, cause))
		goto out;
	h->tied = json_is_true(json_object_get(c, "tie_word_embeddings"));
	if (h->head_dim == 0 || h->head_dim % 2 != 0)
		util_cause(cause, "config.json: a head dimension of %llu is "
		    "not even and positive", (unsigned long long)h->head_dim);
	else if (h->n_head % h->n_head_kv != 0)
		util_cause(cause, "config.json: num_key_value_heads %llu does "
		    "not divide num_attention_heads %llu",
		    (unsigned long long)h->n_head_kv,
		    (unsigned long long)h->n_head);
	else
		rc = 0;
out:
	json_decref(c);
	return rc;
}

/* The llama.* keys llama.cpp's converter writes for this config. */
static void
cfg_keys(struct gguf_w *w, const struct hf_cfg *h, const char *name)
{
	gguf_w_str(w, "general.architecture", "llama");
	gguf_w_str(w, "general.name", name);
	gguf_w_u32(w, "llama.block_count", (uint32_t)h->n_layer);
	gguf_w_u32(w, "llama.context_length", (uint32_t)h->n_ctx);
	gguf_w_u32(w, "llama.embedding_length", (uint32_t)h->n_embd);
	gguf_w_u32(w, "llama.feed_forward_length", (uint32_t)h->n_ff);
	gguf_w_u32(w, "llama.attention.head_count", (uint32_t)h->n_head);
	gguf_w_u32(w, "llama.attention.head_count_kv",
	    (uint32_t)h->n_head_kv);
	gguf_w_f32(w, "llama.rope.freq_base", (float)h->theta);
	gguf_w_f32(w, "llama.attention.layer_norm_rms_epsilon",
	    (float)h->eps);
	if (h->head_dim != h->n_embd / h->n_head) {
		gguf_w_u32(w, "llama.attention.key_length",
		    (uint32_t)h->head_dim);
		gguf_w_u32(w, "llama.attention.value_length",
		    (uint32_t)h->head_dim);
	}
	gguf_w_u32(w, "llama.vocab_size", (uint32_t)h->n_vocab);
	gguf_w_u32(w, "llama.rope.dimension_count", (uint32_t)h->head_dim);
}

static void
ctx_free(void *arg)
{
	struct hf_ctx	*c = arg;
	size_t		 i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n_copies; i++)
		free(c->copies[i]);
	free(c->copies);
	free(c->t);
	free(c->meta);
	safetensors_close(c->st);
	free(c);
}

static void *
ctx_copy(struct hf_ctx *c, size_t n)
{
	void	**v, *p;

	if ((v = realloc(c->copies, (c->n_copies + 1) * sizeof *v)) == NULL)
		return NULL;
	c->copies = v;
	if ((p = malloc(n ? n : 1)) == NULL)
		return NULL;
	c->copies[c->n_copies++] = p;
	return p;
}

/* Undo the converter's permutation: GGUF row h*d + 2i + j is HF row
 * h*d + j*d/2 + i, within each of the n_head heads of d rows. */
static int
unpermute(struct hf_ctx *c, struct gguf_tensor *t, uint64_t n_head,
    uint64_t d, const char *hf_name, char **cause)
{
	const uint8_t	*src = t->data;
	uint8_t		*dst;
	size_t		 rb;

	if (t->ne[1] < 0 || (uint64_t)t->ne[1] != n_head * d)
		return util_cause(cause, "tensor '%s' has %lld rows, expected "
		    "%llu heads of %llu", hf_name, (long long)t->ne[1],
		    (unsigned long long)n_head, (unsigned long long)d);
	rb = (size_t)(t->nbytes / (uint64_t)t->ne[1]);
	if ((dst = ctx_copy(c, t->nbytes)) == NULL)
		return util_cause(cause, "out of memory");
	hf_unpermute_rows(dst, src, n_head, d, rb);
	t->data = dst;
	return 0;
}

/* The rows of an HF q_proj/k_proj-shaped matrix (n_head heads of d rows
 * of rb bytes) from src into dst in GGUF's order (hf.h). */
void
hf_unpermute_rows(uint8_t *dst, const uint8_t *src, uint64_t n_head,
    uint64_t d, size_t rb)
{
	uint64_t	h, i, j;

	for (h = 0; h < n_head; h++)
		for (i = 0; i < d / 2; i++)
			for (j = 0; j < 2; j++)
				memcpy(dst + (h * d + 2 * i + j) * rb,
				    src + (h * d + j * d / 2 + i) * rb, rb);
}

/* Add the tensor hf_name as gguf_name; a missing optional one gives 1. */
static int
add_tensor(struct hf_ctx *c, const char *hf_name, const char *gguf_name,
    int optional, char **cause)
{
	const struct safetensors_tensor	*s;
	struct gguf_tensor		*t;
	uint32_t			 k;
	void				*p;

	if ((s = safetensors_find(c->st, hf_name)) == NULL) {
		if (optional)
			return 1;
		return util_cause(cause, "tensor '%s' is missing from the "
		    "folder", hf_name);
	}
	if (s->n_dims < 1 || s->n_dims > GGUF_MAX_DIMS)
		return util_cause(cause, "tensor '%s' has %u dimensions",
		    hf_name, s->n_dims);
	t = &c->t[c->n_t++];
	memset(t, 0, sizeof *t);
	snprintf(t->name, sizeof t->name, "%s", gguf_name);
	t->n_dims = s->n_dims;
	for (k = 0; k < GGUF_MAX_DIMS; k++)
		t->ne[k] = k < s->n_dims ? s->shape[s->n_dims - 1 - k] : 1;
	t->type = s->type;
	t->nbytes = s->nbytes;
	t->data = s->data;
	/* Vectors (the norms) become F32, as the converter writes them:
	 * llama.cpp adds them to f32 activations and takes no other type. */
	if (s->n_dims == 1 && s->type != QT_F32) {
		if (s->n_elems > SIZE_MAX / 4 ||
		    (p = ctx_copy(c, s->n_elems * 4)) == NULL)
			return util_cause(cause, "out of memory");
		safetensors_read_f32(s, 0, p, s->n_elems);
		t->type = QT_F32;
		t->nbytes = s->n_elems * 4;
		t->data = p;
		return 0;
	}
	/* A header not padded to the element size leaves data unaligned:
	 * the kernels read whole elements, so copy. */
	if ((uintptr_t)s->data % (s->type == QT_F32 ? 4 : 2) != 0) {
		if ((p = ctx_copy(c, s->nbytes)) == NULL)
			return util_cause(cause, "out of memory");
		memcpy(p, s->data, s->nbytes);
		t->data = p;
	}
	return 0;
}

/* A Llama layer's HF modules and their GGUF names; q_proj (2) and
 * k_proj (3) have their rows permuted. */
static const char *const hf_layer_map[HF_LAYER_T][2] = {
	{ "input_layernorm", "attn_norm" },
	{ "post_attention_layernorm", "ffn_norm" },
	{ "self_attn.q_proj", "attn_q" },
	{ "self_attn.k_proj", "attn_k" },
	{ "self_attn.v_proj", "attn_v" },
	{ "self_attn.o_proj", "attn_output" },
	{ "mlp.gate_proj", "ffn_gate" },
	{ "mlp.up_proj", "ffn_up" },
	{ "mlp.down_proj", "ffn_down" },
};

/* The GGUF name of a layer's HF module (hf.h). */
const char *
hf_layer_gguf(const char *module, int *permuted)
{
	size_t	k;

	for (k = 0; k < HF_LAYER_T; k++)
		if (strcmp(module, hf_layer_map[k][0]) == 0) {
			if (permuted != NULL)
				*permuted = k == 2 ? 1 : k == 3 ? 2 : 0;
			return hf_layer_map[k][1];
		}
	return NULL;
}

static int
add_layer(struct hf_ctx *c, const struct hf_cfg *h, uint64_t il,
    char **cause)
{
	const char *const	(*map)[2] = hf_layer_map;
	char			 hn[128], gn[GGUF_MAX_NAME];
	size_t	k;

	for (k = 0; k < HF_LAYER_T; k++) {
		snprintf(hn, sizeof hn, "model.layers.%llu.%s.weight",
		    (unsigned long long)il, map[k][0]);
		snprintf(gn, sizeof gn, "blk.%llu.%s.weight",
		    (unsigned long long)il, map[k][1]);
		if (add_tensor(c, hn, gn, 0, cause) != 0)
			return -1;
		if (k == 2 && unpermute(c, &c->t[c->n_t - 1], h->n_head,
		    h->head_dim, hn, cause) != 0)
			return -1;
		if (k == 3 && unpermute(c, &c->t[c->n_t - 1], h->n_head_kv,
		    h->head_dim, hn, cause) != 0)
			return -1;
	}
	return 0;
}

/* Llama 3.1's frequency factors, computed as the converter does. */
static int
add_rope_freqs(struct hf_ctx *c, const struct hf_cfg *h, char **cause)
{
	struct gguf_tensor	*t;
	float			*f, freq, wl, smooth;
	float			 lo_wl = (float)(h->orig_ctx / h->lo);
	float			 hi_wl = (float)(h->orig_ctx / h->hi);
	uint64_t		 i, n = h->head_dim / 2;

	if ((f = ctx_copy(c, n * sizeof *f)) == NULL)
		return util_cause(cause, "out of memory");
	for (i = 0; i < n; i++) {
		freq = 1.0f / powf((float)h->theta, (float)(2 * i) /
		    (float)h->head_dim);
		wl = 2.0f * (float)M_PI / freq;
		if (wl < hi_wl)
			f[i] = 1.0f;
		else if (wl > lo_wl)
			f[i] = (float)h->factor;
		else {
			smooth = ((float)h->orig_ctx / wl - (float)h->lo) /
			    (float)(h->hi - h->lo);
			f[i] = 1.0f / ((1.0f - smooth) / (float)h->factor +
			    smooth);
		}
	}
	t = &c->t[c->n_t++];
	memset(t, 0, sizeof *t);
	snprintf(t->name, sizeof t->name, "rope_freqs.weight");
	t->n_dims = 1;
	t->ne[0] = (int64_t)n;
	t->ne[1] = t->ne[2] = t->ne[3] = 1;
	t->type = QT_F32;
	t->nbytes = n * sizeof *f;
	t->data = f;
	return 0;
}

static int
add_all(struct hf_ctx *c, const struct hf_cfg *h, char **cause)
{
	uint64_t	il;
	int		r;

	c->t = calloc(h->n_layer * HF_LAYER_T + 4, sizeof *c->t);
	if (c->t == NULL)
		return util_cause(cause, "out of memory");
	if (add_tensor(c, "model.embed_tokens.weight", "token_embd.weight",
	    0, cause) != 0)
		return -1;
	if ((uint64_t)c->t[0].ne[1] != h->n_vocab)
		return util_cause(cause, "model.embed_tokens.weight has %lld "
		    "rows but config.json says vocab_size is %llu",
		    (long long)c->t[0].ne[1], (unsigned long long)h->n_vocab);
	if (add_tensor(c, "model.norm.weight", "output_norm.weight", 0,
	    cause) != 0)
		return -1;
	r = add_tensor(c, "lm_head.weight", "output.weight", h->tied, cause);
	if (r < 0)
		return -1;
	if (h->llama3 && add_rope_freqs(c, h, cause) != 0)
		return -1;
	for (il = 0; il < h->n_layer; il++)
		if (add_layer(c, h, il, cause) != 0)
			return -1;
	return 0;
}

static const char *
base_name(const char *dir, char *buf, size_t n)
{
	size_t		 len = strlen(dir);
	const char	*b;

	while (len > 1 && dir[len - 1] == '/')
		len--;
	snprintf(buf, n, "%.*s", (int)len, dir);
	b = strrchr(buf, '/');
	return b != NULL && b[1] != '\0' ? b + 1 : buf;
}

/* Write the metadata image and open it as the view's gguf. */
static struct gguf *
meta_open(struct hf_ctx *c, const struct hf_cfg *h, const char *dir,
    char **cause)
{
	struct gguf_w	*w;
	struct gguf	*g = NULL;
	size_t		 len;
	char		 nb[256];

	if ((w = gguf_w_new()) == NULL) {
		util_cause(cause, "out of memory");
		return NULL;
	}
	cfg_keys(w, h, base_name(dir, nb, sizeof nb));
	if (hf_tok_keys(w, dir, (uint32_t)h->n_vocab, cause) == 0 &&
	    gguf_w_write_mem(w, &c->meta, &len, cause) == 0)
		g = gguf_open_mem(c->meta, len, cause);
	gguf_w_free(w);
	return g;
}

static struct gguf *
hf_open1(const char *dir, char **cause)
{
	struct hf_ctx	*c;
	struct hf_cfg	 h;
	struct gguf	*g;

	if (cfg_read(&h, dir, cause) != 0)
		return NULL;
	if ((c = calloc(1, sizeof *c)) == NULL) {
		util_cause(cause, "out of memory");
		return NULL;
	}
	if ((c->st = safetensors_open(dir, cause)) == NULL ||
	    (g = meta_open(c, &h, dir, cause)) == NULL) {
		ctx_free(c);
		return NULL;
	}
	if (add_all(c, &h, cause) != 0) {
		gguf_close(g);
		ctx_free(c);
		return NULL;
	}
	if (gguf_attach(g, c->t, c->n_t, ctx_free, c, cause) != 0) {
		c->t = NULL;
		gguf_close(g);
		return NULL;
	}
	c->t = NULL;		/* the gguf owns the array now */
	return g;
}

/* See hf.h. */
struct gguf *
hf_open(const char *dir, char **cause)
{
	struct gguf	*g;
	char		*why = NULL;

	g = hf_open1(dir, &why);
	if (g == NULL && why == NULL)
		why = strdup("out of memory");
	if (cause != NULL)
		*cause = why;
	else
		free(why);
	return g;
}

/* See hf.h. */
struct gguf *
hf_gguf_open(const char *path, char **cause)
{
	if (hf_is_folder(path))
		return hf_open(path, cause);
	return gguf_open(path, cause);
}
