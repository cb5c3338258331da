/*
 * Random-weight Llama models.  Weights are normal-ish (sum of uniforms)
 * with the scale of a trained model's (std 0.02, embeddings 1.0, norms
 * 1), so activations stay finite through every layer; each tensor is
 * generated and quantized inside the writer's fill callback.
 */
#include "config.h"

#include "synth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf_write.h"
#include "quant.h"
#include "common/util.h"

static const struct synth_shape synth_shapes[] = {
	/* Llama-3.2-1B: tied embeddings, rope base 500000. */
	{ "1b", 2048, 16, 32, 8, 8192, 128256, 8192, 500000.0f, 1 },
	/* Llama-3-8B. */
	{ "8b", 4096, 32, 32, 8, 14336, 128256, 8192, 500000.0f, 0 },
	/* Small enough for tests, big enough to take measurable time. */
	{ "small", 512, 8, 8, 4, 1536, 4096, 4096, 10000.0f, 0 },
	{ "tiny", 64, 2, 4, 2, 256, 512, 1024, 10000.0f, 0 },
};

struct synth_ctx {
	uint64_t	 seed;
	uint32_t	 type;
	int64_t		 ne0;
	float		 std;
	float		*row;
};

/* The shape with this name, or NULL. */
const struct synth_shape *
synth_shape(const char *name)
{
	size_t	i;

	for (i = 0; i < sizeof synth_shapes / sizeof synth_shapes[0]; i++)
		if (strcmp(synth_shapes[i].name, name) == 0)
			return &synth_shapes[i];
	return NULL;
}

static uint64_t
splitmix(uint64_t *s)
{
	uint64_t	z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Approximately normal: the sum of four 16-bit uniforms, centred. */
static void
fill_row(float *row, int64_t n, float std, uint64_t *s)
{
	const float	scale = std * 1.7320508f / 65536.0f;
	uint64_t	r;
	int64_t		i;

	for (i = 0; i < n; i++) {
		r = splitmix(s);
		row[i] = ((float)(r & 0xffff) + (float)((r >> 16) & 0xffff) +
		    (float)((r >> 32) & 0xffff) + (float)(r >> 48) -
		    131070.0f) * scale;
	}
}

static int
fill_tensor(void *arg, void *buf, size_t nbytes, const char *name)
{
	struct synth_ctx	*c = arg;
	size_t			 row_size, r, rows;
	uint64_t		 s = c->seed;
	const char		*p;

	for (p = name; *p != '\0'; p++)
		s = s * 131 + (unsigned char)*p;
	if (qt_row_size(c->type, c->ne0, &row_size) != 0 || row_size == 0)
		return -1;
	rows = nbytes / row_size;
	for (r = 0; r < rows; r++) {
		fill_row(c->row, c->ne0, c->std, &s);
		if (strstr(name, "norm") != NULL) {
			int64_t	i;

			for (i = 0; i < c->ne0; i++)
				c->row[i] = 1.0f + c->row[i];
		}
		if (qt_quantize_weights(c->type, c->row, (uint8_t *)buf +
		    r * row_size, c->ne0) != 0)
			return -1;
	}
	return 0;
}

/* One fill context per tensor: the writer calls back at write time. */
static int
add(struct gguf_w *w, struct synth_ctx *ctxs, size_t *nc, const char *name,
    uint32_t type, int64_t ne0, int64_t ne1, float std, uint64_t seed,
    float *row)
{
	int64_t			 ne[2] = { ne0, ne1 };
	struct synth_ctx	*c = &ctxs[(*nc)++];

	c->seed = seed;
	c->type = type;
	c->ne0 = ne0;
	c->std = std;
	c->row = row;
	return gguf_w_tensor_cb(w, name, type, ne1 == 1 ? 1 : 2, ne,
	    fill_tensor, c);
}

/* A vocabulary every text tokenizes with: <unk> <s> </s>, the 256 byte
 * tokens, then filler pieces. */
static int
add_vocab(struct gguf_w *w, uint32_t n_vocab)
{
	const char	**toks;
	char		 *texts;
	float		 *scores;
	int32_t		 *types;
	uint32_t	  i;
	int		  r;

	toks = calloc(n_vocab, sizeof *toks);
	texts = calloc(n_vocab, 16);
	scores = calloc(n_vocab, sizeof *scores);
	types = calloc(n_vocab, sizeof *types);
	if (toks == NULL || texts == NULL || scores == NULL || types == NULL) {
		r = -1;
		goto out;
	}
	for (i = 0; i < n_vocab; i++) {
		char	*t = texts + (size_t)i * 16;

		if (i == 0)
			strcpy(t, "<unk>");
		else if (i == 1)
			strcpy(t, "<s>");
		else if (i == 2)
			strcpy(t, "</s>");
		else if (i < 3 + 256)
			snprintf(t, 16, "<0x%02X>", i - 3);
		else
			snprintf(t, 16, "\xe2\x96\x81w%u", i);
		toks[i] = t;
		types[i] = i == 0 ? 2 : i < 3 ? 3 : i < 259 ? 6 : 1;
		scores[i] = i < 259 ? 0.0f : -(float)i;
	}
	r = gguf_w_str(w, "tokenizer.ggml.model", "llama") ||
	    gguf_w_arr_str(w, "tokenizer.ggml.tokens", toks, n_vocab) ||
	    gguf_w_arr_f32(w, "tokenizer.ggml.scores", scores, n_vocab) ||
	    gguf_w_arr_i32(w, "tokenizer.ggml.token_type", types, n_vocab) ||
	    gguf_w_u32(w, "tokenizer.ggml.bos_token_id", 1) ||
	    gguf_w_u32(w, "tokenizer.ggml.eos_token_id", 2) ||
	    gguf_w_u32(w, "tokenizer.ggml.unknown_token_id", 0);
out:
	free(toks);
	free(texts);
	free(scores);
	free(types);
	return r ? -1 : 0;
}

/* Write a random model with shape s in weight type. */
int
synth_write(const char *path, const struct synth_shape *s, uint32_t type,
    uint64_t seed, char **cause)
{
	const struct qt_traits	*t = qt_get(type);
	struct gguf_w		*w;
	struct synth_ctx	*ctxs;
	size_t			 nc = 0;
	float			*row;
	uint32_t		 hd = s->n_embd / s->n_head, il, kv;
	char			 name[64], gname[64];
	int			 r = 0;

	if (t == NULL || !t->compute)
		return util_cause(cause, "weight type %s cannot be written",
		    qt_name(type) != NULL ? qt_name(type) : "?");
	if (s->n_embd % t->blck != 0 || s->n_ff % t->blck != 0)
		return util_cause(cause, "the %s shape does not fit %s blocks",
		    s->name, t->name);
	kv = s->n_head_kv * hd;
	w = gguf_w_new();
	ctxs = calloc(3 + 9 * (size_t)s->n_layer, sizeof *ctxs);
	row = malloc((s->n_ff > s->n_embd ? s->n_ff : s->n_embd) *
	    sizeof *row);
	if (w == NULL || ctxs == NULL || row == NULL) {
		r = util_cause(cause, "out of memory");
		goto out;
	}
	snprintf(gname, sizeof gname, "yangtuo synthetic %s %s", s->name,
	    t->name);
	gguf_w_str(w, "general.architecture", "llama");
	gguf_w_str(w, "general.name", gname);
	gguf_w_u32(w, "llama.context_length", s->n_ctx);
	gguf_w_u32(w, "llama.embedding_length", s->n_embd);
	gguf_w_u32(w, "llama.block_count", s->n_layer);
	gguf_w_u32(w, "llama.feed_forward_length", s->n_ff);
	gguf_w_u32(w, "llama.attention.head_count", s->n_head);
	gguf_w_u32(w, "llama.attention.head_count_kv", s->n_head_kv);
	gguf_w_u32(w, "llama.rope.dimension_count", hd);
	gguf_w_f32(w, "llama.rope.freq_base", s->rope_base);
	gguf_w_f32(w, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
	if (add_vocab(w, s->n_vocab) != 0) {
		r = util_cause(cause, "out of memory");
		goto out;
	}
	add(w, ctxs, &nc, "token_embd.weight", type, s->n_embd, s->n_vocab,
	    1.0f, seed, row);
	add(w, ctxs, &nc, "output_norm.weight", QT_F32, s->n_embd, 1, 0.0f,
	    seed, row);
	if (!s->tied)
		add(w, ctxs, &nc, "output.weight", type, s->n_embd,
		    s->n_vocab, 0.02f, seed, row);
	for (il = 0; il < s->n_layer; il++) {
#define T(n, ty, a, b, sd) (snprintf(name, sizeof name, "blk.%u." n, il), \
		add(w, ctxs, &nc, name, ty, a, b, sd, seed, row))
		T("attn_norm.weight", QT_F32, s->n_embd, 1, 0.0f);
		T("attn_q.weight", type, s->n_embd, s->n_embd, 0.02f);
		T("attn_k.weight", type, s->n_embd, kv, 0.02f);
		T("attn_v.weight", type, s->n_embd, kv, 0.02f);
		T("attn_output.weight", type, s->n_embd, s->n_embd, 0.02f);
		T("ffn_norm.weight", QT_F32, s->n_embd, 1, 0.0f);
		T("ffn_gate.weight", type, s->n_embd, s->n_ff, 0.02f);
		T("ffn_up.weight", type, s->n_embd, s->n_ff, 0.02f);
		T("ffn_down.weight", type, s->n_ff, s->n_embd, 0.02f);
#undef T
	}
	r = gguf_w_write(w, path, cause);
out:
	gguf_w_free(w);
	free(ctxs);
	free(row);
	return r;
}
