/*
 * LoRA adapters: reading a GGUF adapter as llama.cpp's
 * convert_lora_to_gguf.py writes it, checking it against the model as
 * llama.cpp's llama-adapter.cpp does (same architecture, every pair
 * complete, lora_a (n_in, r) and lora_b (r, n_out) in ggml order), and
 * hanging each pair on its matrix; or adding s B A into the weights.
 */
#include "config.h"

#include "lora.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gguf.h"
#include "lora_peft.h"
#include "quant.h"
#include "repack.h"
#include "requant.h"
#include "safetensors.h"
#include "common/util.h"

/* Every matrix of the model an adapter may change, in file order. */
static size_t
model_matrices(struct model *m, struct mtensor **out, size_t cap)
{
	size_t		n = 0;
	uint32_t	il;

	for (il = 0; il < m->hp.n_layer; il++) {
		struct mtensor	*ts[MODEL_LAYER_MATRICES];
		size_t		 i;

		model_layer_matrices(m, il, ts);
		for (i = 0; i < MODEL_LAYER_MATRICES; i++)
			if (n < cap)
				out[n++] = ts[i];
	}
	/* A tied output is the embedding table, which is not a matmul. */
	if (!m->tied_output && n < cap)
		out[n++] = &m->output;
	return n;
}

/* The model's matrix named name, or NULL. */
struct mtensor *
lora_find_matrix(struct model *m, const char *name)
{
	struct mtensor	*ts[MODEL_MAX_LAYERS * 7 + 1];
	size_t		 n, i;

	n = model_matrices(m, ts, sizeof ts / sizeof ts[0]);
	for (i = 0; i < n; i++)
		if (ts[i]->name != NULL && strcmp(ts[i]->name, name) == 0)
			return ts[i];
	return NULL;
}

/* A tensor of the adapter as a matrix, checked for our kernels. */
static int
bind_pair_tensor(const struct gguf_tensor *t, struct mtensor *mt,
    char **cause)
{
	const struct qt_traits	*tr = qt_get(t->type);

	if (t->ne[2] != 1 || t->ne[3] != 1)
		return util_cause(cause, "tensor '%s' is not a matrix",
		    t->name);
	if (tr == NULL || !tr->compute)
		return util_cause(cause, "tensor '%s' has type %s, which "
		    "yangtuo cannot compute", t->name,
		    qt_name(t->type) != NULL ? qt_name(t->type) : "?");
	memset(mt, 0, sizeof *mt);
	return model_mtensor_point(t, mt, cause);
}

/*
 * Check one pair against its matrix w and fill lw.  The shapes are
 * llama.cpp's: lora_a [n_in, r], lora_b [r, n_out]; an adapter from its
 * old finetune example (lora_a transposed) is refused the same way.
 */
int
lora_check_pair(struct lora_w *lw, struct mtensor *w, const char *base,
    float alpha, float scale, char **cause)
{
	int64_t	r = lw->a.ne1;

	if (lw->a.ne0 != w->ne0 || lw->b.ne1 != w->ne1)
		return util_cause(cause, "tensors '%s.lora_a' [%lld, %lld] "
		    "and '%s.lora_b' [%lld, %lld] do not fit the model's "
		    "'%s' [%lld, %lld] (expected [%lld, r] and [r, %lld])",
		    base, (long long)lw->a.ne0, (long long)lw->a.ne1, base,
		    (long long)lw->b.ne0, (long long)lw->b.ne1, base,
		    (long long)w->ne0, (long long)w->ne1, (long long)w->ne0,
		    (long long)w->ne1);
	if (lw->b.ne0 != r)
		return util_cause(cause, "tensors '%s.lora_a' [%lld, %lld] "
		    "and '%s.lora_b' [%lld, %lld] disagree on the rank "
		    "(lora_a may be transposed)", base, (long long)lw->a.ne0,
		    (long long)r, base, (long long)lw->b.ne0,
		    (long long)lw->b.ne1);
	if (r < 1 || r > 65536)
		return util_cause(cause, "tensor '%s.lora_a': rank %lld is "
		    "out of range", base, (long long)r);
	lw->base = w;
	/*
	 * The products take the dots, never sgemm (blas.c): B (A x) scaled
	 * amplifies the order of A's sums, and on a Zen 3, whose OpenBLAS
	 * adds in another order than on a Zen 4, sgemm moved the ktest
	 * adapter from KL 8e-8 to 1.4e-4 against llama.cpp.  A rank-r
	 * product is r rows, small beside its matrix.
	 */
	lw->a.dots = lw->b.dots = 1;
	/* llama.cpp: scale * alpha / rank, rank taken from lora_b. */
	lw->scale = alpha != 0.0f ? scale * alpha / (float)r : scale;
	return 0;
}

/* The part of name before ".lora_a"/".lora_b", and which it is (0 a, 1
 * b); -1 if it is neither. */
static int
split_name(const char *name, char *base, size_t cap)
{
	size_t	n = strlen(name);
	int	which;

	if (n < 8 || n - 7 >= cap)
		return -1;
	if (strcmp(name + n - 7, ".lora_a") == 0)
		which = 0;
	else if (strcmp(name + n - 7, ".lora_b") == 0)
		which = 1;
	else
		return -1;
	memcpy(base, name, n - 7);
	base[n - 7] = '\0';
	return which;
}

/* A string key of the adapter equals want; else a sentence. */
static int
check_key(const struct gguf *g, const char *key, const char *want,
    char **cause)
{
	struct gguf_str	s;

	if (gguf_get_str(g, key, &s) != 0)
		return util_cause(cause, "key '%s' is missing (not a "
		    "llama.cpp LoRA adapter)", key);
	if (s.len != strlen(want) || memcmp(s.p, want, s.len) != 0)
		return util_cause(cause, "key '%s' is '%.*s', expected '%s'",
		    key, (int)(s.len > 64 ? 64 : s.len), s.p, want);
	return 0;
}

/* The adapter's metadata: an adapter, a LoRA, for the model's
 * architecture; its alpha. */
static int
gguf_header(const struct gguf *g, float *alpha, char **cause)
{
	struct gguf_str	s;

	if (check_key(g, "general.type", "adapter", cause) != 0 ||
	    check_key(g, "adapter.type", "lora", cause) != 0)
		return -1;
	if (gguf_get_str(g, "general.architecture", &s) != 0)
		return util_cause(cause, "key 'general.architecture' is "
		    "missing");
	if (s.len != 5 || memcmp(s.p, "llama", 5) != 0)
		return util_cause(cause, "the adapter is for architecture "
		    "'%.*s', the model is llama", (int)(s.len > 64 ? 64 :
		    s.len), s.p);
	*alpha = 0.0f;
	if (gguf_get_f32(g, "adapter.lora.alpha", alpha) < 0 ||
	    !isfinite(*alpha))
		return util_cause(cause, "key 'adapter.lora.alpha' is not a "
		    "number");
	return 0;
}

/* Find the partner of every lora_a and check each pair. */
static int
gguf_pairs(struct model *m, struct lora *a, char **cause)
{
	const struct gguf	*g = a->g;
	char			 base[GGUF_MAX_NAME], other[GGUF_MAX_NAME + 8];
	const struct gguf_tensor *t, *tb;
	struct mtensor		*w;
	struct lora_w		*lw;
	uint64_t		 i;
	int			 which;

	if (g->n_tensors == 0)
		return util_cause(cause, "it holds no tensors");
	if ((a->w = calloc(g->n_tensors, sizeof *a->w)) == NULL)
		return util_cause(cause, "out of memory");
	for (i = 0; i < g->n_tensors; i++) {
		t = &g->tensors[i];
		if ((which = split_name(t->name, base, sizeof base)) < 0)
			return util_cause(cause, "tensor '%s' is neither "
			    "a lora_a nor a lora_b", t->name);
		snprintf(other, sizeof other, "%s.lora_%c", base,
		    which == 0 ? 'b' : 'a');
		if ((tb = gguf_find_tensor(g, other)) == NULL)
			return util_cause(cause, "tensor '%s' has no '%s'",
			    t->name, other);
		if (which == 1)
			continue;
		if (strcmp(base, "token_embd.weight") == 0)
			return util_cause(cause, "adapters of the token "
			    "embeddings ('%s') are not supported", t->name);
		if ((w = lora_find_matrix(m, base)) == NULL)
			return util_cause(cause, "tensor '%s': the model "
			    "has no matrix '%s'", t->name, base);
		lw = &a->w[a->n_pairs];
		if (bind_pair_tensor(t, &lw->a, cause) != 0 ||
		    bind_pair_tensor(tb, &lw->b, cause) != 0 ||
		    lora_check_pair(lw, w, base, a->alpha, a->scale,
		    cause) != 0)
			return -1;
		a->n_pairs++;
	}
	return 0;
}

/* Hang every pair on its matrix, after what is there; fill rank. */
static void
hang_pairs(struct lora *a)
{
	const struct lora_w	**pp;
	size_t			  i;

	for (i = 0; i < a->n_pairs; i++) {
		for (pp = &a->w[i].base->lora; *pp != NULL;
		    pp = (const struct lora_w **)&(*pp)->next)
			continue;
		*pp = &a->w[i];
		if ((uint32_t)a->w[i].a.ne1 > a->rank)
			a->rank = (uint32_t)a->w[i].a.ne1;
	}
}

/* Put a matrix's weights in place of w's (its adapters stay). */
static void
swap_weights(struct mtensor *w, const struct mtensor *by)
{
	repack_free(w);
	w->data = by->data;
	w->type = by->type;
	w->row_size = by->row_size;
}

/*
 * PEFT's modules_to_save: the embeddings and output weights the folder
 * holds whole replace the model's, as loading the adapter in PEFT does
 * (a tied output follows the embeddings).  Scale 0 leaves them, so the
 * adapter is off entirely.
 */
static void
replace_full(struct model *m, const struct lora *a)
{
	if (a->scale == 0.0f)
		return;
	if (a->embd.data != NULL) {
		swap_weights(&m->tok_embd, &a->embd);
		if (m->tied_output)
			swap_weights(&m->output, &a->embd);
	}
	if (a->out.data != NULL)
		swap_weights(&m->output, &a->out);
}

static void
lora_free(struct lora *a)
{
	if (a == NULL)
		return;
	free(a->path);
	free(a->w);
	gguf_close(a->g);
	free(a->buf);
	safetensors_close(a->st);
	free(a);
}

/* Read and check the adapter at path, GGUF or PEFT folder. */
static int
lora_read(struct model *m, struct lora *a, char **cause)
{
	struct stat	sb;
	char		*c = NULL;

	if (stat(a->path, &sb) == -1)
		return util_cause(cause, "%s%s", strerror(errno),
		    strchr(a->path, ':') != NULL ? " (a scale after the ':' "
		    "must be a number)" : "");
	if (S_ISDIR(sb.st_mode))
		return lora_peft_read(m, a, cause);
	if ((a->g = gguf_open(a->path, &c)) == NULL) {
		util_cause(cause, "%s", c != NULL ? c : "cannot read");
		free(c);
		return -1;
	}
	if (gguf_header(a->g, &a->alpha, cause) != 0 ||
	    gguf_pairs(m, a, cause) != 0)
		return -1;
	return 0;
}

/* Read, check and attach an adapter (lora.h). */
int
lora_attach(struct model *m, const char *path, float scale, char **cause)
{
	struct lora	*a;
	char		*c = NULL;

	if (m->n_lora >= MODEL_MAX_LORA)
		return util_cause(cause, "%s: at most %d adapters", path,
		    MODEL_MAX_LORA);
	if (m->lora_merged)
		return util_cause(cause, "%s: adapters were merged already",
		    path);
	if (!isfinite(scale))
		return util_cause(cause, "%s: bad scale", path);
	if ((a = calloc(1, sizeof *a)) == NULL ||
	    (a->path = strdup(path)) == NULL) {
		lora_free(a);
		return util_cause(cause, "out of memory");
	}
	a->scale = scale;
	if (lora_read(m, a, &c) != 0) {
		util_cause(cause, "adapter %s: %s", path, c != NULL ? c :
		    "out of memory");
		free(c);
		lora_free(a);
		return -1;
	}
	hang_pairs(a);
	replace_full(m, a);
	m->lora[m->n_lora++] = a;
	return 0;
}

/* A whole matrix as floats (n_rows x ne0), from its repacked copy if it
 * has one; NULL on OOM. */
static float *
matrix_f32(const struct mtensor *t, int64_t row0, int64_t n)
{
	const struct qt_traits	*tr = qt_get(t->type);
	float			*f;
	int64_t			 i;

	if ((f = malloc((size_t)(n * t->ne0) * sizeof *f)) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if (t->rp == NULL || repack_row_f32(t, row0 + i,
		    f + i * t->ne0) != 0)
			tr->to_f32_ref((const uint8_t *)t->data +
			    (size_t)(row0 + i) * t->row_size,
			    f + i * t->ne0, t->ne0);
	return f;
}

/* Add s B A (rows row0.. of it) to rows, for every adapter on the
 * matrix; -1 on OOM. */
int
lora_add_delta(const struct lora_w *l, int64_t row0, int64_t n,
    float *rows)
{
	int64_t	 r, j, k, i, K;
	float	*fa, *fb, c;

	for (; l != NULL; l = l->next) {
		r = l->a.ne1;
		K = l->a.ne0;
		fa = matrix_f32(&l->a, 0, r);
		fb = matrix_f32(&l->b, row0, n);
		if (fa == NULL || fb == NULL) {
			free(fa);
			free(fb);
			return -1;
		}
		for (j = 0; j < n; j++)
			for (k = 0; k < r; k++) {
				c = l->scale * fb[j * r + k];
				for (i = 0; i < K; i++)
					rows[j * K + i] += c * fa[k * K + i];
			}
		free(fa);
		free(fb);
	}
	return 0;
}

/* Merge the adapters on one matrix into an owned copy of its weights in
 * the same type (F32 if we cannot write that type). */
static int
merge_matrix(struct mtensor *w)
{
	const int64_t	 chunk = 64;
	uint32_t	 type = w->type;
	size_t		 rs, total;
	uint8_t		*buf;
	float		*f;
	int64_t		 r0, n;
	int		 had_rp = w->rp != NULL;

	if (qt_get(type)->from_f32_ref == NULL)
		type = QT_F32;
	if (qt_row_size(type, w->ne0, &rs) != 0 ||
	    __builtin_mul_overflow(rs, (size_t)w->ne1, &total) ||
	    (buf = malloc(total)) == NULL)
		return -1;
	for (r0 = 0; r0 < w->ne1; r0 += n) {
		n = w->ne1 - r0 < chunk ? w->ne1 - r0 : chunk;
		if ((f = matrix_f32(w, r0, n)) == NULL ||
		    lora_add_delta(w->lora, r0, n, f) != 0) {
			free(f);
			free(buf);
			return -1;
		}
		qt_quantize_weights(type, f, buf + (size_t)r0 * rs,
		    n * w->ne0);
		free(f);
	}
	repack_free(w);
	free(w->own);
	w->own = buf;
	w->data = buf;
	w->type = type;
	w->row_size = rs;
	w->lora = NULL;
	/* Repacked again where it was; the kernels then read only the
	 * packed copy, so ours goes (memory stays at one copy). */
	if (had_rp && repack_tensor(w, 0) < 0)
		return -1;
	if (w->rp != NULL) {
		free(w->own);
		w->own = NULL;
		w->data = NULL;
	}
	return 0;
}

/* Merge every attached adapter into the weights (lora.h). */
int
lora_merge(struct model *m, char **cause)
{
	struct mtensor	*ts[MODEL_MAX_LAYERS * 7 + 1];
	size_t		 n, i;

	n = model_matrices(m, ts, sizeof ts / sizeof ts[0]);
	for (i = 0; i < n; i++)
		if (ts[i]->lora != NULL && merge_matrix(ts[i]) != 0)
			return util_cause(cause, "out of memory merging the "
			    "adapters into '%s'", ts[i]->name);
	m->lora_merged = m->n_lora > 0;
	return 0;
}

/* The requant hooks over a model with adapters attached. */
/* The whole replacement of tensor name (the last adapter's), or NULL. */
static const struct mtensor *
replacement(const struct model *m, const char *name)
{
	const struct mtensor	*r = NULL;
	size_t			 i;

	for (i = 0; i < m->n_lora; i++) {
		const struct lora	*a = m->lora[i];

		if (a->scale == 0.0f)
			continue;
		if (a->embd.data != NULL && strcmp(name,
		    "token_embd.weight") == 0)
			r = &a->embd;
		if (a->out.data != NULL && strcmp(name, "output.weight") == 0)
			r = &a->out;
	}
	return r;
}

static int
requant_adapted(void *arg, const char *name)
{
	const struct mtensor	*w = lora_find_matrix(arg, name);

	return (w != NULL && w->lora != NULL) ||
	    replacement(arg, name) != NULL;
}

/* A replacement's rows instead of the file's, then the pairs' delta. */
static int
requant_delta(void *arg, const char *name, int64_t row0, int64_t n,
    float *rows)
{
	const struct mtensor	*w = lora_find_matrix(arg, name);
	const struct mtensor	*r = replacement(arg, name);
	int64_t			 i;

	if (r != NULL)
		for (i = 0; i < n; i++)
			qt_get(r->type)->to_f32_ref((const uint8_t *)r->data +
			    (size_t)(row0 + i) * r->row_size,
			    rows + i * r->ne0, r->ne0);
	return w != NULL ? lora_add_delta(w->lora, row0, n, rows) : 0;
}

/* Make requant_file() add m's adapters (lora.h). */
void
lora_requant_hooks(struct requant_opts *o, struct model *m)
{
	o->adapted = requant_adapted;
	o->delta = requant_delta;
	o->delta_arg = m;
}

/* Tensors of an adapter: two a pair, and its whole replacements. */
size_t
lora_n_tensors(const struct lora *a)
{
	return 2 * a->n_pairs + (a->embd.data != NULL) +
	    (a->out.data != NULL);
}

/* Free the adapters and merged copies of a model. */
void
lora_free_all(struct model *m)
{
	struct mtensor	*ts[MODEL_MAX_LAYERS * 7 + 1];
	size_t		 n, i;

	if (m->layers != NULL) {
		n = model_matrices(m, ts, sizeof ts / sizeof ts[0]);
		for (i = 0; i < n; i++) {
			free(ts[i]->own);
			ts[i]->own = NULL;
			ts[i]->lora = NULL;
		}
	}
	for (i = 0; i < m->n_lora; i++)
		lora_free(m->lora[i]);
	m->n_lora = 0;
}
