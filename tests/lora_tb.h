/*
 * Test adapters for a model: random lora_a/lora_b pairs on every matrix,
 * written as a GGUF adapter the way llama.cpp's converter lays it out,
 * or as a PEFT folder holding the same numbers in Hugging Face's layout
 * (torch shapes, HF row order of q_proj/k_proj), or broken on purpose.
 */
#ifndef YT_TESTS_LORA_TB_H
#define YT_TESTS_LORA_TB_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/gguf_write.h"
#include "engine/model.h"
#include "engine/quant.h"

enum lora_bad {
	LB_NONE = 0,
	LB_SHAPE,	/* lora_b of blk.0.attn_q has a rank too many */
	LB_ARCH,	/* general.architecture gpt2 */
	LB_PAIR,	/* blk.1.ffn_up.weight.lora_b left out */
	LB_KIND,	/* adapter.type ia3 */
	LB_NAME,	/* a pair for a matrix the model lacks */
	LB_TRANS	/* lora_a of blk.0.attn_k written transposed */
};

struct lora_gen {
	uint32_t	type;		/* of lora_a and lora_b */
	int		rank;
	float		alpha;
	unsigned	seed;
	int		output;		/* adapt output.weight too */
	enum lora_bad	bad;
	float		range;		/* values in [-range, range) */
	int		swap[2];	/* PEFT: also embed_tokens and lm_head
					 * whole, these two rows swapped */
};

/* The adapted matrices: GGUF names with PEFT module names. */
struct lora_tb_mat {
	char		name[64];
	char		peft[96];
	int64_t		n_in;
	int64_t		n_out;
	int		heads;		/* HF row permutation: heads, or 0 */
};

static inline size_t
lora_tb_mats(const struct model *m, int output, struct lora_tb_mat *out)
{
	static const char *const g[] = { "attn_q", "attn_k", "attn_v",
	    "attn_output", "ffn_gate", "ffn_up", "ffn_down" };
	static const char *const p[] = { "self_attn.q_proj",
	    "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
	    "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj" };
	size_t		n = 0;
	uint32_t	il, i;

	for (il = 0; il < m->hp.n_layer; il++) {
		const struct layer	*l = &m->layers[il];
		const struct mtensor	*ts[] = { &l->wq, &l->wk, &l->wv,
					    &l->wo, &l->w_gate, &l->w_up,
					    &l->w_down };

		for (i = 0; i < 7; i++, n++) {
			snprintf(out[n].name, sizeof out[n].name,
			    "blk.%u.%s.weight", il, g[i]);
			snprintf(out[n].peft, sizeof out[n].peft,
			    "base_model.model.model.layers.%u.%s", il, p[i]);
			out[n].n_in = ts[i]->ne0;
			out[n].n_out = ts[i]->ne1;
			out[n].heads = i == 0 ? (int)m->hp.n_head : i == 1 ?
			    (int)m->hp.n_head_kv : 0;
		}
	}
	if (output) {
		snprintf(out[n].name, sizeof out[n].name, "output.weight");
		snprintf(out[n].peft, sizeof out[n].peft,
		    "base_model.model.lm_head");
		out[n].n_in = m->output.ne0;
		out[n].n_out = m->output.ne1;
		out[n].heads = 0;
		n++;
	}
	return n;
}

/* Random values of pair k, rounded through the adapter's type. */
static inline void
lora_tb_values(const struct lora_gen *g, size_t k, float *v, int64_t n,
    float range)
{
	unsigned	s = g->seed * 7919u + (unsigned)k * 104729u;
	void		*q;
	size_t		 rs;
	int64_t		 i;

	for (i = 0; i < n; i++) {
		s = s * 1103515245u + 12345u;
		v[i] = ((s >> 8) / 16777216.0f - 0.5f) * 2.0f * range;
	}
	if (g->type != QT_F32 && qt_row_size(g->type, n, &rs) == 0 &&
	    (q = malloc(rs)) != NULL) {
		qt_quantize_weights(g->type, v, q, n);
		qt_get(g->type)->to_f32_ref(q, v, n);
		free(q);
	}
}

/* Write the GGUF adapter for m at path as g says; 0 or -1. */
static inline int
lora_tb_write_gguf(const struct model *m, const struct lora_gen *g,
    const char *path)
{
	struct lora_tb_mat	*mats;
	struct gguf_w		*w = gguf_w_new();
	float			**bufs;
	void			**qs;
	size_t			 n, k, nb = 0, rs;
	char			 name[96], *cause = NULL;
	int			 rc;

	mats = calloc(m->hp.n_layer * 7 + 2, sizeof *mats);
	n = lora_tb_mats(m, g->output, mats);
	if (g->bad == LB_NAME) {
		mats[n] = mats[0];
		snprintf(mats[n].name, sizeof mats[n].name,
		    "blk.%u.attn_q.weight", m->hp.n_layer);
		n++;
	}
	bufs = calloc(2 * n, sizeof *bufs);
	qs = calloc(2 * n, sizeof *qs);
	gguf_w_str(w, "general.architecture", g->bad == LB_ARCH ? "gpt2" :
	    "llama");
	gguf_w_str(w, "general.type", "adapter");
	gguf_w_str(w, "adapter.type", g->bad == LB_KIND ? "ia3" : "lora");
	gguf_w_f32(w, "adapter.lora.alpha", g->alpha);
	for (k = 0; k < n; k++) {
		int64_t	ra = g->rank, rb = g->rank;
		int64_t	nea[2] = { mats[k].n_in, ra };
		int64_t	neb[2], i;

		if (g->bad == LB_SHAPE && k == 0)
			rb++;
		neb[0] = rb;
		neb[1] = mats[k].n_out;
		if (g->bad == LB_TRANS && k == 1) {
			nea[0] = ra;
			nea[1] = mats[k].n_in;
		}
		for (i = 0; i < 2; i++) {
			const int64_t	*ne = i == 0 ? nea : neb;
			int64_t		 cnt = ne[0] * ne[1];

			bufs[nb] = malloc((size_t)cnt * sizeof(float));
			lora_tb_values(g, 2 * k + (size_t)i, bufs[nb], cnt,
			    g->range);
			qt_row_size(g->type, cnt, &rs);
			qs[nb] = malloc(rs);
			if (g->type == QT_F32)
				memcpy(qs[nb], bufs[nb], rs);
			else
				qt_quantize_weights(g->type, bufs[nb], qs[nb],
				    cnt);
			if (!(g->bad == LB_PAIR && k == 12 && i == 1)) {
				snprintf(name, sizeof name, "%s.lora_%c",
				    mats[k].name, i == 0 ? 'a' : 'b');
				gguf_w_tensor(w, name, g->type, 2, ne,
				    qs[nb]);
			}
			nb++;
		}
	}
	rc = gguf_w_write(w, path, &cause);
	if (rc != 0)
		fprintf(stderr, "lora_tb: %s: %s\n", path, cause);
	free(cause);
	gguf_w_free(w);
	for (k = 0; k < nb; k++) {
		free(bufs[k]);
		free(qs[k]);
	}
	free(bufs);
	free(qs);
	free(mats);
	return rc;
}

/* HF row order of GGUF row r of a q/k matrix with `heads` heads (the
 * inverse of llama.cpp's permute): within a head, GGUF interleaves the
 * rotary halves that HF keeps apart. */
static inline int64_t
lora_tb_hf_row(int64_t r, int64_t n_out, int heads)
{
	int64_t	hd = n_out / heads, h = r / hd, i = r % hd;

	return h * hd + (i % 2) * (hd / 2) + i / 2;
}

static inline void
lora_tb_put_u64(FILE *f, uint64_t v)
{
	unsigned char	b[8];
	int		i;

	for (i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	fwrite(b, 1, 8, f);
}

/* A (n_embd, n_vocab) matrix as F32 rows, rows sw[0] and sw[1]
 * swapped. */
static inline void
lora_tb_put_swapped(FILE *f, const struct mtensor *t, const int sw[2])
{
	float	*row = malloc((size_t)t->ne0 * sizeof *row);
	int64_t	 r, src;

	for (r = 0; r < t->ne1; r++) {
		src = r == sw[0] ? sw[1] : r == sw[1] ? sw[0] : r;
		qt_get(t->type)->to_f32_ref((const uint8_t *)t->data +
		    (size_t)src * t->row_size, row, t->ne0);
		fwrite(row, sizeof *row, (size_t)t->ne0, f);
	}
	free(row);
}

/* Write the same adapter as a PEFT folder dir (F32 tensors); 0 or -1. */
static inline int
lora_tb_write_peft(const struct model *m, const struct lora_gen *g,
    const char *dir, const char *extra_config)
{
	struct lora_tb_mat	*mats;
	char			 path[1200], *hdr = NULL;
	size_t			 n, k, hlen = 0, hcap = 0;
	uint64_t		 off = 0;
	float			*a, *b, *bp;
	FILE			*f;
	int			 i;

	mkdir(dir, 0755);
	mats = calloc(m->hp.n_layer * 7 + 2, sizeof *mats);
	n = lora_tb_mats(m, g->output, mats);
	snprintf(path, sizeof path, "%s/adapter_config.json", dir);
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	fprintf(f, "{\n  \"peft_type\": \"LORA\",\n  \"r\": %d,\n"
	    "  \"lora_alpha\": %g,\n  \"target_modules\": [\"q_proj\", "
	    "\"k_proj\", \"v_proj\", \"o_proj\", \"gate_proj\", \"up_proj\", "
	    "\"down_proj\"%s],\n  \"fan_in_fan_out\": false,\n"
	    "  \"bias\": \"none\"%s\n}\n",
	    g->rank, g->alpha, g->output ? ", \"lm_head\"" : "",
	    extra_config != NULL ? extra_config : "");
	fclose(f);
	/* The header: offsets of A then B of each module, in order. */
	for (k = 0; k < n; k++) {
		for (i = 0; i < 2; i++) {
			int64_t	rows = i == 0 ? g->rank : mats[k].n_out;
			int64_t	cols = i == 0 ? mats[k].n_in : g->rank;
			uint64_t sz = (uint64_t)(rows * cols) * 4;

			if (hlen + 512 > hcap)
				hdr = realloc(hdr, hcap = hcap * 2 + 4096);
			hlen += (size_t)snprintf(hdr + hlen, hcap - hlen,
			    "%s\"%s.lora_%c.weight\":{\"dtype\":\"F32\","
			    "\"shape\":[%lld,%lld],\"data_offsets\":[%llu,"
			    "%llu]}", hlen == 0 ? "{\"__metadata__\":"
			    "{\"format\":\"pt\"}," : ",", mats[k].peft,
			    i == 0 ? 'A' : 'B', (long long)rows,
			    (long long)cols, (unsigned long long)off,
			    (unsigned long long)(off + sz));
			off += sz;
		}
	}
	if (g->swap[0] != g->swap[1]) {
		uint64_t sz = (uint64_t)m->hp.n_vocab * m->hp.n_embd * 4;

		hlen += (size_t)snprintf(hdr + hlen, hcap - hlen,
		    ",\"base_model.model.model.embed_tokens.weight\":"
		    "{\"dtype\":\"F32\",\"shape\":[%u,%u],\"data_offsets\":"
		    "[%llu,%llu]},\"base_model.model.lm_head.weight\":"
		    "{\"dtype\":\"F32\",\"shape\":[%u,%u],\"data_offsets\":"
		    "[%llu,%llu]}", m->hp.n_vocab, m->hp.n_embd,
		    (unsigned long long)off, (unsigned long long)(off + sz),
		    m->hp.n_vocab, m->hp.n_embd,
		    (unsigned long long)(off + sz),
		    (unsigned long long)(off + 2 * sz));
	}
	hdr[hlen++] = '}';
	while (hlen % 8 != 0)
		hdr[hlen++] = ' ';
	snprintf(path, sizeof path, "%s/adapter_model.safetensors", dir);
	if ((f = fopen(path, "wb")) == NULL)
		return -1;
	lora_tb_put_u64(f, hlen);
	fwrite(hdr, 1, hlen, f);
	for (k = 0; k < n; k++) {
		int64_t	na = g->rank * mats[k].n_in;
		int64_t	nb = g->rank * mats[k].n_out, r;

		a = malloc((size_t)na * sizeof *a);
		b = malloc((size_t)nb * sizeof *b);
		bp = malloc((size_t)nb * sizeof *bp);
		lora_tb_values(g, 2 * k, a, na, g->range);
		lora_tb_values(g, 2 * k + 1, b, nb, g->range);
		/* torch lora_A [r, n_in] and lora_B [n_out, r] hold the
		 * bytes of ggml's [n_in, r] and [r, n_out]; only the rows
		 * of B for q/k move back to HF's order. */
		for (r = 0; r < mats[k].n_out; r++)
			memcpy(bp + (mats[k].heads ? lora_tb_hf_row(r,
			    mats[k].n_out, mats[k].heads) : r) * g->rank,
			    b + r * g->rank, (size_t)g->rank * sizeof *b);
		fwrite(a, sizeof *a, (size_t)na, f);
		fwrite(bp, sizeof *bp, (size_t)nb, f);
		free(a);
		free(b);
		free(bp);
	}
	if (g->swap[0] != g->swap[1]) {
		lora_tb_put_swapped(f, &m->tok_embd, g->swap);
		lora_tb_put_swapped(f, &m->output, g->swap);
	}
	free(hdr);
	free(mats);
	return fclose(f) == 0 ? 0 : -1;
}

#endif
