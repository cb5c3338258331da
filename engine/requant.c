/*
 * Requantization as llama.cpp's src/llama-quant.cpp does it (our own code
 * after its rules): tensors sorted as its loader sorts them, each given a
 * type by llama_tensor_get_type's rules, then converted to f32 and
 * quantized a tensor at a time inside the writer's fill callback.
 */
#include "config.h"

#include "requant.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "gguf.h"
#include "gguf_write.h"
#include "hf.h"
#include "pool.h"
#include "quant.h"
#include "common/util.h"

/* llama.cpp's enum llama_ftype, as general.file_type stores it. */
enum {
	RQ_FT_ALL_F32 = 0,
	RQ_FT_F16 = 1,
	RQ_FT_Q4_0 = 2,
	RQ_FT_Q4_1 = 3,
	RQ_FT_Q8_0 = 7,
	RQ_FT_Q5_0 = 8,
	RQ_FT_Q5_1 = 9,
	RQ_FT_Q2_K = 10,
	RQ_FT_Q3_K_S = 11,
	RQ_FT_Q3_K_M = 12,
	RQ_FT_Q3_K_L = 13,
	RQ_FT_Q4_K_S = 14,
	RQ_FT_Q4_K_M = 15,
	RQ_FT_Q5_K_S = 16,
	RQ_FT_Q5_K_M = 17,
	RQ_FT_Q6_K = 18,
	RQ_FT_BF16 = 32
};

#define RQ_QNT_VERSION	2		/* GGML_QNT_VERSION */
#define RQ_CHUNK	(32 * 512)	/* floats converted at a time */

/*
 * llama-quantize's names.  A plain type is one type for every matrix
 * (its --pure); Q3_K, Q4_K and Q5_K are its aliases of the _M mixtures,
 * so they carry those file types.
 */
static const struct requant_ftype rq_ftypes[] = {
	{ "F32", RQ_FT_ALL_F32, QT_F32, 0 },
	{ "F16", RQ_FT_F16, QT_F16, 0 },
	{ "BF16", RQ_FT_BF16, QT_BF16, 0 },
	{ "Q8_0", RQ_FT_Q8_0, QT_Q8_0, 0 },
	{ "Q4_0", RQ_FT_Q4_0, QT_Q4_0, 0 },
	{ "Q4_1", RQ_FT_Q4_1, QT_Q4_1, 0 },
	{ "Q5_0", RQ_FT_Q5_0, QT_Q5_0, 0 },
	{ "Q5_1", RQ_FT_Q5_1, QT_Q5_1, 0 },
	{ "Q2_K", RQ_FT_Q2_K, QT_Q2_K, 0 },
	{ "Q3_K", RQ_FT_Q3_K_M, QT_Q3_K, 0 },
	{ "Q4_K", RQ_FT_Q4_K_M, QT_Q4_K, 0 },
	{ "Q5_K", RQ_FT_Q5_K_M, QT_Q5_K, 0 },
	{ "Q6_K", RQ_FT_Q6_K, QT_Q6_K, 0 },
	{ "Q3_K_S", RQ_FT_Q3_K_S, QT_Q3_K, 1 },
	{ "Q3_K_M", RQ_FT_Q3_K_M, QT_Q3_K, 1 },
	{ "Q3_K_L", RQ_FT_Q3_K_L, QT_Q3_K, 1 },
	{ "Q4_K_S", RQ_FT_Q4_K_S, QT_Q4_K, 1 },
	{ "Q4_K_M", RQ_FT_Q4_K_M, QT_Q4_K, 1 },
	{ "Q5_K_S", RQ_FT_Q5_K_S, QT_Q5_K, 1 },
	{ "Q5_K_M", RQ_FT_Q5_K_M, QT_Q5_K, 1 },
};
#define RQ_NFTYPES	(sizeof rq_ftypes / sizeof rq_ftypes[0])

/* llama-quant.cpp's tensor categories. */
enum rq_cat {
	RQ_TOKEN_EMBD,
	RQ_ATTN_Q,
	RQ_ATTN_K,
	RQ_ATTN_V,		/* and attn_qkv, attn_kv_b */
	RQ_ATTN_OUT,
	RQ_FFN_UP,
	RQ_FFN_GATE,
	RQ_FFN_DOWN,
	RQ_OUTPUT,
	RQ_OTHER
};

/* What the rules know of the model, and their running counters. */
struct rq_state {
	uint32_t	 ftype;
	uint32_t	 def;		/* the file type's tensor type */
	int		 rules;		/* 0: --pure */
	int		 n_layer;
	int		 n_expert;
	uint32_t	 n_gqa;
	int		 falcon;
	int		 big;		/* llama.cpp's LLM_TYPE_70B */
	int		 tied;		/* no output.weight */
	int		 n_attn_v;
	int		 i_attn_v;
	int		 i_ffn_down;
	int		 i_ffn_gate;
	int		 i_ffn_up;
	size_t		 n_fallback;
	char		**cause;
};

/* The target named name (any case), or NULL. */
const struct requant_ftype *
requant_ftype(const char *name)
{
	size_t	i;

	for (i = 0; i < RQ_NFTYPES; i++)
		if (strcasecmp(rq_ftypes[i].name, name) == 0)
			return &rq_ftypes[i];
	return NULL;
}

/* The i-th known target, or NULL past the last (for listing them). */
const struct requant_ftype *
requant_ftype_at(size_t i)
{
	return i < RQ_NFTYPES ? &rq_ftypes[i] : NULL;
}

static int
is_quantized(uint32_t type)
{
	return type != QT_F32 && type != QT_F16 && type != QT_BF16;
}

/* ggml_n_dims: trailing sizes of 1 do not count. */
static int
rq_n_dims(const struct gguf_tensor *t)
{
	int	d;

	for (d = GGUF_MAX_DIMS - 1; d > 0; d--)
		if (t->ne[d] > 1)
			return d + 1;
	return 1;
}

/* An integer hyperparameter, scalar or per-layer array (its first). */
static int64_t
rq_hparam(const struct gguf *g, const char *arch, const char *key,
    int64_t def)
{
	const struct gguf_kv	*kv;
	char			 k[128];
	int64_t			 v;

	snprintf(k, sizeof k, "%s.%s", arch, key);
	if (gguf_get_i64(g, k, &v) == 0)
		return v;
	kv = gguf_find(g, k);
	if (kv != NULL && kv->type == GGUF_VT_ARRAY && kv->n > 0 &&
	    (kv->atype <= GGUF_VT_INT32 || kv->atype == GGUF_VT_UINT64 ||
	    kv->atype == GGUF_VT_INT64))
		return gguf_arr_int(kv, 0);
	return def;
}

/* Read what the rules need; -1 if the file is not a model. */
static int
rq_state_init(struct rq_state *s, const struct gguf *g,
    const struct requant_opts *o, char **cause)
{
	/* llama.cpp's model types that count as LLM_TYPE_70B. */
	static const struct {
		const char	*arch;
		int		 n_layer;
	} big[] = {
		{ "llama", 80 }, { "deci", 80 }, { "olmo", 80 },
		{ "qwen2", 80 }, { "jais2", 68 }
	};
	struct gguf_str	 a;
	char		 arch[64];
	int64_t		 n_head, n_head_kv;
	size_t		 i;

	memset(s, 0, sizeof *s);
	s->cause = cause;
	s->ftype = o->ftype->ftype;
	s->def = o->ftype->type;
	s->rules = !o->pure && (o->ftype->mix || o->mix);
	if (gguf_get_str(g, "general.architecture", &a) != 0 ||
	    a.len == 0 || a.len >= sizeof arch)
		return util_cause(cause,
		    "not a model: no general.architecture");
	memcpy(arch, a.p, a.len);
	arch[a.len] = '\0';
	if (g->n_tensors == 0)
		return util_cause(cause, "not a model: no tensors");
	s->n_layer = (int)rq_hparam(g, arch, "block_count", 0);
	if (s->n_layer <= 0 || s->n_layer > 512)
		return util_cause(cause, "not a model: no %s.block_count",
		    arch);
	s->n_expert = (int)rq_hparam(g, arch, "expert_count", 0);
	n_head = rq_hparam(g, arch, "attention.head_count", 0);
	n_head_kv = rq_hparam(g, arch, "attention.head_count_kv", n_head);
	s->n_gqa = n_head_kv > 0 ? (uint32_t)(n_head / n_head_kv) : 0;
	s->falcon = strcmp(arch, "falcon") == 0;
	for (i = 0; i < sizeof big / sizeof big[0]; i++)
		if (strcmp(arch, big[i].arch) == 0 &&
		    s->n_layer == big[i].n_layer && s->n_expert != 8)
			s->big = strcmp(arch, "llama") != 0 ||
			    n_head != n_head_kv;
	return 0;
}

static enum rq_cat
rq_category(const char *name)
{
	if (strcmp(name, "output.weight") == 0)
		return RQ_OUTPUT;
	if (strcmp(name, "token_embd.weight") == 0 ||
	    strcmp(name, "per_layer_token_embd.weight") == 0)
		return RQ_TOKEN_EMBD;
	if (strstr(name, "attn_qkv.weight") != NULL ||
	    strstr(name, "attn_kv_b.weight") != NULL ||
	    strstr(name, "attn_v.weight") != NULL)
		return RQ_ATTN_V;
	if (strstr(name, "attn_k.weight") != NULL)
		return RQ_ATTN_K;
	if (strstr(name, "attn_q.weight") != NULL)
		return RQ_ATTN_Q;
	if (strstr(name, "attn_output.weight") != NULL)
		return RQ_ATTN_OUT;
	if (strstr(name, "ffn_up") != NULL)
		return RQ_FFN_UP;
	if (strstr(name, "ffn_gate") != NULL)
		return RQ_FFN_GATE;
	if (strstr(name, "ffn_down") != NULL)
		return RQ_FFN_DOWN;
	return RQ_OTHER;
}

/* llama.cpp's tensor_allows_quantization: matrices named *weight, but not
 * norms, routers and the small tables of other architectures. */
static int
rq_allows(const struct gguf_tensor *t)
{
	static const char *const never[] = {
		"_norm.weight", "ffn_gate_inp.weight",
		"ffn_gate_tid2eid.weight", "altup", "laurel",
		"per_layer_model_proj", "ssm_conv1d", "shortconv.conv.weight",
		"indexer.k_proj.weight", "indexer.q_proj.weight",
		"time_mix_first.weight", "time_mix_w0.weight",
		"time_mix_w1.weight", "time_mix_w2.weight",
		"time_mix_v0.weight", "time_mix_v1.weight",
		"time_mix_v2.weight", "time_mix_a0.weight",
		"time_mix_a1.weight", "time_mix_a2.weight",
		"time_mix_g1.weight", "time_mix_g2.weight",
		"time_mix_decay_w1.weight", "time_mix_decay_w2.weight",
		"time_mix_lerp_fused.weight", "attn_rel_b.weight",
		".position_embd", "sam.pos_embd", "sam.neck.", "sam.net_",
		".rel_pos", ".patch_embd", ".patch_merger", "a.rvq.codebook",
		"mm.a.code_embd"
	};
	const char	*name = t->name;
	size_t		 len = strlen(name), i;

	if (rq_n_dims(t) < 2)
		return 0;
	/* Its rfind("weight") == size() - 6 also holds for 5-byte names. */
	if (len != 5 && (len < 6 || strcmp(name + len - 6, "weight") != 0))
		return 0;
	if (strcmp(name, "position_embd.weight") == 0 ||
	    strcmp(name, "token_types.weight") == 0)
		return 0;
	for (i = 0; i < sizeof never / sizeof never[0]; i++)
		if (strstr(name, never[i]) != NULL)
			return 0;
	return 1;
}

static int
more_bits(int i, int n)
{
	return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
}

/* The layer of a per-layer tensor: llama.cpp counts them, except in
 * mixture-of-experts models, where it reads the name. */
static int
rq_layer(struct rq_state *s, int counter, const char *name, int *il)
{
	*il = counter;
	if (s->n_expert <= 1)
		return 0;
	if (sscanf(name, "blk.%d.", il) != 1)
		return util_cause(s->cause, "tensor '%s': no layer number",
		    name);
	if (*il < 0 || *il >= s->n_layer)
		return util_cause(s->cause, "tensor '%s': layer %d of %d", name,
		    *il, s->n_layer);
	return 0;
}

static uint32_t
rule_attn_v(struct rq_state *s, uint32_t t)
{
	switch (s->ftype) {
	case RQ_FT_Q2_K:
		t = s->n_gqa >= 4 ? QT_Q4_K : QT_Q3_K;
		break;
	case RQ_FT_Q3_K_M:
		t = s->i_attn_v < 2 ? QT_Q5_K : QT_Q4_K;
		break;
	case RQ_FT_Q3_K_L:
		t = QT_Q5_K;
		break;
	case RQ_FT_Q4_K_M:
	case RQ_FT_Q5_K_M:
		if (more_bits(s->i_attn_v, s->n_attn_v))
			t = QT_Q6_K;
		break;
	case RQ_FT_Q4_K_S:
		if (s->i_attn_v < 4)
			t = QT_Q5_K;
		break;
	}
	/* 8 query heads share each attn_v of a 70B model: more bits are
	 * cheap there. */
	if (s->big && (t == QT_Q3_K || t == QT_Q4_K))
		t = QT_Q5_K;
	if (s->n_expert == 8)
		t = QT_Q8_0;
	s->i_attn_v++;
	return t;
}

static uint32_t
rule_ffn_down(struct rq_state *s, uint32_t t, int il)
{
	int	nl = s->n_layer;

	switch (s->ftype) {
	case RQ_FT_Q2_K:
		t = QT_Q3_K;
		break;
	case RQ_FT_Q3_K_M:
		t = il < nl / 16 ? QT_Q5_K : !s->falcon || more_bits(il, nl) ?
		    QT_Q4_K : QT_Q3_K;
		break;
	case RQ_FT_Q3_K_L:
		t = s->falcon ? QT_Q4_K : QT_Q5_K;
		break;
	case RQ_FT_Q4_K_M:
		if (s->falcon)
			t = il < nl / 16 ? QT_Q6_K : more_bits(il, nl) ?
			    QT_Q5_K : QT_Q4_K;
		else if (more_bits(il, nl))
			t = QT_Q6_K;
		break;
	case RQ_FT_Q5_K_M:
		if (more_bits(il, nl))
			t = QT_Q6_K;
		break;
	case RQ_FT_Q4_K_S:
		if (!s->falcon && il < nl / 8)
			t = QT_Q5_K;
		break;
	}
	s->i_ffn_down++;
	return t;
}

static uint32_t
rule_attn_out(struct rq_state *s, uint32_t t)
{
	if (s->falcon)
		return s->ftype == RQ_FT_Q3_K_L ? QT_Q4_K : t;
	if (s->n_expert == 8) {
		switch (s->ftype) {
		case RQ_FT_Q2_K:
		case RQ_FT_Q3_K_S:
		case RQ_FT_Q3_K_M:
		case RQ_FT_Q4_K_S:
		case RQ_FT_Q4_K_M:
			return QT_Q5_K;
		}
		return t;
	}
	switch (s->ftype) {
	case RQ_FT_Q2_K:
		return QT_Q3_K;
	case RQ_FT_Q3_K_M:
		return QT_Q4_K;
	case RQ_FT_Q3_K_L:
		return QT_Q5_K;
	}
	return t;
}

/* llama_tensor_get_type_impl for the file types we write (no IQ ones). */
static int
rq_rule(struct rq_state *s, const struct gguf_tensor *x, uint32_t *t)
{
	enum rq_cat	cat = rq_category(x->name);
	int		il;

	if (cat == RQ_OUTPUT || (s->tied && cat == RQ_TOKEN_EMBD)) {
		if (s->falcon || x->ne[0] % qt_get(*t)->blck != 0)
			*t = QT_Q8_0;
		else if (*t != QT_Q8_0)
			*t = QT_Q6_K;
		return 0;
	}
	switch (cat) {
	case RQ_ATTN_V:
		*t = rule_attn_v(s, *t);
		break;
	case RQ_ATTN_K:
		if (s->n_expert == 8)
			*t = QT_Q8_0;
		break;
	case RQ_FFN_DOWN:
		if (rq_layer(s, s->i_ffn_down, x->name, &il) == -1)
			return -1;
		*t = rule_ffn_down(s, *t, il);
		break;
	case RQ_ATTN_OUT:
		*t = rule_attn_out(s, *t);
		break;
	case RQ_FFN_GATE:
		if (rq_layer(s, s->i_ffn_gate++, x->name, &il) == -1)
			return -1;
		break;
	case RQ_FFN_UP:
		if (rq_layer(s, s->i_ffn_up++, x->name, &il) == -1)
			return -1;
		break;
	default:
		break;
	}
	return 0;
}

/* tensor_type_fallback: a type whose blocks fit the row length. */
static uint32_t
rq_fallback(struct rq_state *s, const struct gguf_tensor *x, uint32_t t)
{
	uint32_t	nt = t;

	if (x->ne[0] % qt_get(t)->blck == 0)
		return t;
	s->n_fallback++;
	switch (t) {
	case QT_Q2_K:
	case QT_Q3_K:
		nt = QT_Q4_0;
		break;
	case QT_Q4_K:
		nt = QT_Q5_0;
		break;
	case QT_Q5_K:
		nt = QT_Q5_1;
		break;
	case QT_Q6_K:
		nt = QT_Q8_0;
		break;
	}
	if (x->ne[0] % qt_get(nt)->blck != 0)
		nt = QT_F16;
	return nt;
}

/* llama_tensor_get_type: the type tensor x is written in. */
static int
rq_type(struct rq_state *s, const struct gguf_tensor *x, uint32_t *t)
{
	*t = s->def;
	if (!rq_allows(x)) {
		*t = x->type;
		return 0;
	}
	if (!is_quantized(s->def))
		return 0;
	if (s->rules && rq_rule(s, x, t) == -1)
		return -1;
	*t = rq_fallback(s, x, *t);
	return 0;
}

/* The loader's weight_name_comparer: by layer (others first), then by
 * name. */
static int
rq_cmp(const void *a, const void *b)
{
	const struct gguf_tensor *const	*x = a, *const *y = b;
	int				 lx = -1, ly = -1;

	sscanf((*x)->name, "blk.%d.", &lx);
	sscanf((*y)->name, "blk.%d.", &ly);
	if (lx != ly)
		return lx < ly ? -1 : 1;
	return strcmp((*x)->name, (*y)->name);
}

/*
 * Work out the output: order[i] is the index in g->tensors of the i-th
 * tensor written and types[i] its type (both hold g->n_tensors); the
 * number of fallbacks goes to *n_fallback.  0, or -1 with *cause (caller
 * frees) if g is not a model.  Reads g only.
 */
int
requant_types(const struct gguf *g, const struct requant_opts *o,
    size_t *order, uint32_t *types, size_t *n_fallback, char **cause)
{
	const struct gguf_tensor	**v;
	struct rq_state			  s;
	size_t				  i;
	int				  rc = 0;

	if (rq_state_init(&s, g, o, cause) == -1)
		return -1;
	if ((v = calloc(g->n_tensors, sizeof *v)) == NULL)
		return util_cause(cause, "out of memory");
	s.tied = 1;
	for (i = 0; i < g->n_tensors; i++) {
		v[i] = &g->tensors[i];
		if (rq_category(v[i]->name) == RQ_ATTN_V)
			s.n_attn_v++;
		if (rq_category(v[i]->name) == RQ_OUTPUT)
			s.tied = 0;
	}
	qsort(v, g->n_tensors, sizeof *v, rq_cmp);
	for (i = 0; i < g->n_tensors && rc == 0; i++) {
		order[i] = (size_t)(v[i] - g->tensors);
		rc = rq_type(&s, v[i], &types[i]);
	}
	*n_fallback = s.n_fallback;
	free(v);
	return rc;
}

/* ---------------------------------------------------------------------- */

struct rq_run;

/* One output tensor, the context of its fill callback. */
struct rq_out {
	struct rq_run			*run;
	const struct gguf_tensor	*src;
	uint32_t			 type;
	size_t				 index;
	int				 adapted;	/* add a delta */
};

struct rq_run {
	const struct requant_opts	*o;
	struct pool			*pool;
	float				**scratch;	/* one per thread */
	size_t				 scratch_n;	/* floats each */
	int64_t				*bad;		/* per thread, or -1 */
	int				*oom;		/* per thread: delta */
	size_t				 n;
	char				*err;
	/* The tensor the pool converts now. */
	const struct rq_out		*job;
	void				*dst;
	size_t				 src_rs;
	size_t				 dst_rs;
};

/* Pool job: rows of r->job from its type to f32 to the new type. */
static void
rq_rows(void *arg, int ith, int nth)
{
	struct rq_run			*r = arg;
	const struct gguf_tensor	*x = r->job->src;
	const struct qt_traits		*from = qt_get(x->type);
	qt_to_f32_fn			 to_f32;
	float				*f = r->scratch[ith];
	int64_t				 ne0 = x->ne[0], step, k, i;
	long				 lo, hi, row;

	/* F16 and BF16 convert exactly either way; dequantize as ggml's
	 * scalar to_float does. */
	to_f32 = is_quantized(x->type) ? from->to_f32_ref : from->to_f32;
	step = (int64_t)r->scratch_n / ne0;
	pool_split((long)(x->ne[1] * x->ne[2] * x->ne[3]), ith, nth, &lo, &hi);
	for (row = lo; row < hi; row += (long)k) {
		k = hi - row < step ? hi - row : step;
		to_f32((const uint8_t *)x->data + row * r->src_rs, f, k * ne0);
		if (r->job->adapted && r->o->delta(r->o->delta_arg, x->name,
		    row, k, f) != 0) {
			r->oom[ith] = 1;
			return;
		}
		for (i = 0; i < k * ne0; i++) {
			if (!isfinite(f[i])) {
				r->bad[ith] = row + i / ne0;
				return;
			}
		}
		qt_quantize_weights(r->job->type, f, (uint8_t *)r->dst +
		    row * r->dst_rs, k * ne0);
	}
}

/* Forget the source pages of a tensor once written, as llama.cpp unmaps
 * each weight (a private read-only mapping: they are only dropped), so
 * a model larger than memory does not fill it. */
static void
rq_release(const struct gguf_tensor *x)
{
	long		page = sysconf(_SC_PAGESIZE);
	uintptr_t	a, b;

	if (page <= 0)
		return;
	a = ((uintptr_t)x->data + (uintptr_t)page - 1) &
	    ~((uintptr_t)page - 1);
	b = ((uintptr_t)x->data + x->nbytes) & ~((uintptr_t)page - 1);
	if (b > a)
		madvise((void *)a, b - a, MADV_DONTNEED);
}

/* The writer's fill callback: copy, or convert on the pool. */
static int
rq_fill(void *arg, void *buf, size_t nbytes, const char *name)
{
	struct rq_out	*t = arg;
	struct rq_run	*r = t->run;
	int		 i, nth = pool_size(r->pool);

	if (r->o->progress != NULL)
		r->o->progress(r->o->arg, t->index, r->n, name, t->src->type,
		    t->type);
	if (t->type == t->src->type && !t->adapted) {
		memcpy(buf, t->src->data, nbytes);
		rq_release(t->src);
		return 0;
	}
	r->job = t;
	r->dst = buf;
	qt_row_size(t->src->type, t->src->ne[0], &r->src_rs);
	qt_row_size(t->type, t->src->ne[0], &r->dst_rs);
	for (i = 0; i < nth; i++) {
		r->bad[i] = -1;
		r->oom[i] = 0;
	}
	pool_run(r->pool, rq_rows, r);
	for (i = 0; i < nth; i++) {
		if (r->oom[i]) {
			util_cause(&r->err, "tensor '%s': out of memory adding "
			    "the adapters", name);
			return -1;
		}
		if (r->bad[i] >= 0) {
			util_cause(&r->err, "tensor '%s': row %lld holds a NaN "
			    "or an infinity", name, (long long)r->bad[i]);
			return -1;
		}
	}
	rq_release(t->src);
	return 0;
}

static int
key_is(const struct gguf_kv *kv, const char *key)
{
	return kv->key.len == strlen(key) &&
	    memcmp(kv->key.p, key, kv->key.len) == 0;
}

/* gguf_set_kv, then the two keys llama.cpp sets (moved to the end) and
 * without the split keys; general.alignment only where it stays true. */
static int
rq_copy_kv(struct gguf_w *w, const struct gguf *g, uint32_t ftype)
{
	static const char *const drop[] = {
		"general.quantization_version", "general.file_type",
		"split.no", "split.count", "split.tensors.count"
	};
	const struct gguf_kv	*kv;
	size_t			 i, j;
	int			 rc = 0;

	for (i = 0; i < g->n_kv; i++) {
		kv = &g->kv[i];
		for (j = 0; j < sizeof drop / sizeof drop[0]; j++)
			if (key_is(kv, drop[j]))
				break;
		if (j < sizeof drop / sizeof drop[0])
			continue;
		if (key_is(kv, "general.alignment") &&
		    g->alignment != GGUF_DEFAULT_ALIGN)
			continue;
		rc |= gguf_w_kv_copy(w, kv);
	}
	rc |= gguf_w_u32(w, "general.quantization_version", RQ_QNT_VERSION);
	rc |= gguf_w_u32(w, "general.file_type", ftype);
	return rc ? -1 : 0;
}

/* Add every tensor in its output order; check each can be converted. */
static int
rq_add_tensors(struct gguf_w *w, struct rq_run *r, struct rq_out *outs,
    const struct gguf *g, const size_t *order, const uint32_t *types,
    struct requant_stats *st, char **cause)
{
	const struct gguf_tensor	*x;
	const struct qt_traits		*from, *to;
	size_t				 i, rs;

	for (i = 0; i < g->n_tensors; i++) {
		x = &g->tensors[order[i]];
		outs[i] = (struct rq_out){ r, x, types[i], i, 0 };
		from = qt_get(x->type);
		to = qt_get(types[i]);
		if (r->o->adapted != NULL && x->ne[2] * x->ne[3] == 1)
			outs[i].adapted = r->o->adapted(r->o->delta_arg,
			    x->name);
		if (types[i] != x->type || outs[i].adapted) {
			if (from == NULL || from->to_f32_ref == NULL ||
			    to == NULL || !to->compute)
				return util_cause(cause, "tensor '%s': cannot "
				    "convert %s to %s", x->name,
				    qt_name(x->type) ? qt_name(x->type) : "?",
				    qt_name(types[i]) ? qt_name(types[i]) :
				    "?");
			st->n_converted++;
			st->n_requantized += is_quantized(x->type);
			if ((size_t)x->ne[0] > r->scratch_n)
				r->scratch_n = (size_t)x->ne[0];
		}
		if (gguf_w_tensor_cb(w, x->name, types[i], rq_n_dims(x),
		    x->ne, rq_fill, &outs[i]) == -1)
			return util_cause(cause, "tensor '%s': bad shape",
			    x->name);
		st->bytes_in += x->nbytes;
		if (qt_row_size(types[i], x->ne[0], &rs) == 0)
			st->bytes_out += (uint64_t)rs * (uint64_t)(x->ne[1] *
			    x->ne[2] * x->ne[3]);
	}
	return 0;
}

/* Start the pool and give each thread its scratch row buffer. */
static int
rq_run_init(struct rq_run *r, const struct requant_opts *o, size_t n,
    char **cause)
{
	int	i, nth;

	r->o = o;
	r->n = n;
	if ((r->pool = pool_new(o->threads)) == NULL)
		return util_cause(cause, "cannot start threads");
	nth = pool_size(r->pool);
	r->scratch = calloc((size_t)nth, sizeof *r->scratch);
	r->bad = calloc((size_t)nth, sizeof *r->bad);
	r->oom = calloc((size_t)nth, sizeof *r->oom);
	if (r->scratch == NULL || r->bad == NULL || r->oom == NULL)
		return util_cause(cause, "out of memory");
	for (i = 0; i < nth; i++) {
		r->scratch[i] = malloc(r->scratch_n * sizeof **r->scratch);
		if (r->scratch[i] == NULL)
			return util_cause(cause, "out of memory");
	}
	return 0;
}

static void
rq_run_fini(struct rq_run *r)
{
	int	i;

	if (r->pool != NULL) {
		for (i = 0; r->scratch != NULL && i < pool_size(r->pool); i++)
			free(r->scratch[i]);
		pool_free(r->pool);
	}
	free(r->scratch);
	free(r->bad);
	free(r->oom);
	free(r->err);
}

/* Name a missing output folder before the model is even read (the writer
 * would only say it cannot create its temporary file). */
static int
rq_check_dir(const char *out, char **cause)
{
	const char	*slash = strrchr(out, '/');
	struct stat	 sb;
	char		*dir;
	int		 rc = 0;

	if (slash == NULL)
		return 0;
	if ((dir = strndup(out, slash == out ? 1 : (size_t)(slash - out))) ==
	    NULL)
		return util_cause(cause, "out of memory");
	if (stat(dir, &sb) == -1)
		rc = util_cause(cause, "%s: folder %s: %s", out, dir,
		    strerror(errno));
	else if (!S_ISDIR(sb.st_mode))
		rc = util_cause(cause, "%s: %s is not a folder", out, dir);
	free(dir);
	return rc;
}

/*
 * Requantize the model at in into a new file at out (replaced atomically;
 * nothing is left there on failure) as opts says, a tensor at a time on
 * opts->threads threads.  0 with *st filled, or -1 with *cause (caller
 * frees).  Call from one thread.
 */
int
requant_file(const char *in, const char *out, const struct requant_opts *o,
    struct requant_stats *st, char **cause)
{
	struct gguf	*g;
	struct gguf_w	*w = NULL;
	struct rq_run	 r;
	struct rq_out	*outs = NULL;
	size_t		*order = NULL;
	uint32_t	*types = NULL;
	char		*c = NULL;
	int		 rc = -1;

	memset(st, 0, sizeof *st);
	memset(&r, 0, sizeof r);
	r.o = o;
	r.scratch_n = RQ_CHUNK;
	if (rq_check_dir(out, cause) == -1)
		return -1;
	if ((g = hf_gguf_open(in, &c)) == NULL) {
		util_cause(cause, "%s: %s", in, c);
		free(c);
		return -1;
	}
	st->n_tensors = g->n_tensors;
	order = calloc(g->n_tensors + 1, sizeof *order);
	types = calloc(g->n_tensors + 1, sizeof *types);
	outs = calloc(g->n_tensors + 1, sizeof *outs);
	w = gguf_w_new();
	if (order == NULL || types == NULL || outs == NULL || w == NULL) {
		util_cause(cause, "out of memory");
		goto out;
	}
	if (requant_types(g, o, order, types, &st->n_fallback, &c) == -1 ||
	    rq_add_tensors(w, &r, outs, g, order, types, st, &c) == -1) {
		util_cause(cause, "%s: %s", in, c);
		goto out;
	}
	if (rq_copy_kv(w, g, o->ftype->ftype) == -1) {
		util_cause(cause, "out of memory");
		goto out;
	}
	if (rq_run_init(&r, o, g->n_tensors, cause) == -1)
		goto out;
	if ((rc = gguf_w_write(w, out, &c)) == -1)
		util_cause(cause, "%s: %s", out, r.err != NULL ? r.err : c);
out:
	free(c);
	rq_run_fini(&r);
	gguf_w_free(w);
	free(outs);
	free(types);
	free(order);
	gguf_close(g);
	return rc;
}
