/*
 * Binding a GGUF file to the Llama graph: read and cross-check the
 * hyperparameters (RELIABILITY-NOTES G14), find every tensor by name and
 * check its shape and type, copy the small norm vectors to f32.
 */
#include "config.h"

#include "model.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gguf.h"
#include "hf.h"
#include "lora.h"
#include "quant.h"
#include "repack.h"
#include "tok.h"
#include "common/util.h"

/* Read an integer hyperparameter "ARCH.suffix" into *v. */
static int
hp_u32(struct gguf *g, const char *arch, const char *suffix, uint32_t *v,
    int required, char **cause)
{
	char	key[128];
	int	r;

	snprintf(key, sizeof key, "%s.%s", arch, suffix);
	r = gguf_get_u32(g, key, v);
	if (r < 0)
		return util_cause(cause, "key '%s': wrong type or out of range",
		    key);
	if (r > 0 && required)
		return util_cause(cause, "key '%s' is missing", key);
	return 0;
}

static int
hp_f32(struct gguf *g, const char *arch, const char *suffix, float *v,
    char **cause)
{
	char	key[128];

	snprintf(key, sizeof key, "%s.%s", arch, suffix);
	if (gguf_get_f32(g, key, v) < 0)
		return util_cause(cause, "key '%s': wrong type", key);
	return 0;
}

static int
read_hparams(struct model *m, const char *arch, char **cause)
{
	struct model_hp	*hp = &m->hp;
	struct gguf	*g = m->gguf;

	hp->rope_base = 10000.0f;
	hp->norm_eps = 1e-5f;
	if (hp_u32(g, arch, "block_count", &hp->n_layer, 1, cause) ||
	    hp_u32(g, arch, "embedding_length", &hp->n_embd, 1, cause) ||
	    hp_u32(g, arch, "feed_forward_length", &hp->n_ff, 1, cause) ||
	    hp_u32(g, arch, "attention.head_count", &hp->n_head, 1, cause) ||
	    hp_u32(g, arch, "context_length", &hp->n_ctx_train, 1, cause))
		return -1;
	hp->n_head_kv = hp->n_head;
	if (hp_u32(g, arch, "attention.head_count_kv", &hp->n_head_kv, 0,
	    cause) ||
	    hp_f32(g, arch, "rope.freq_base", &hp->rope_base, cause) ||
	    hp_f32(g, arch, "attention.layer_norm_rms_epsilon", &hp->norm_eps,
	    cause))
		return -1;

	if (hp->n_layer == 0 || hp->n_layer > MODEL_MAX_LAYERS)
		return util_cause(cause, "key '%s.block_count': %u layers "
		    "(1 to %d supported)", arch, hp->n_layer,
		    MODEL_MAX_LAYERS);
	if (hp->n_embd == 0 || hp->n_embd > (1u << 16))
		return util_cause(cause, "key '%s.embedding_length': %u is out "
		    "of range", arch, hp->n_embd);
	if (hp->n_ff == 0 || hp->n_ff > (1u << 20))
		return util_cause(cause, "key '%s.feed_forward_length': %u is "
		    "out of range", arch, hp->n_ff);
	if (hp->n_head == 0 || hp->n_head > hp->n_embd)
		return util_cause(cause, "key '%s.attention.head_count': %u is "
		    "out of range", arch, hp->n_head);
	if (hp->n_embd % hp->n_head != 0)
		return util_cause(cause, "key '%s.attention.head_count': %u "
		    "does not divide embedding_length %u", arch, hp->n_head,
		    hp->n_embd);
	if (hp->n_head_kv == 0 || hp->n_head % hp->n_head_kv != 0)
		return util_cause(cause, "key '%s.attention.head_count_kv': %u "
		    "does not divide head_count %u", arch, hp->n_head_kv,
		    hp->n_head);
	if (hp->n_ctx_train == 0 || hp->n_ctx_train > (1u << 24))
		return util_cause(cause, "key '%s.context_length': %u is out "
		    "of range", arch, hp->n_ctx_train);
	if (!(hp->norm_eps > 0.0f && hp->norm_eps < 1.0f))
		return util_cause(cause, "key '%s.attention.layer_norm_rms_"
		    "epsilon': %g is out of range", arch, hp->norm_eps);
	if (!(hp->rope_base > 0.0f))
		return util_cause(cause, "key '%s.rope.freq_base': %g is out "
		    "of range", arch, hp->rope_base);

	hp->head_dim = hp->n_embd / hp->n_head;
	if (hp_u32(g, arch, "attention.key_length", &hp->head_dim, 0, cause))
		return -1;
	if (hp->head_dim == 0 || hp->head_dim % 2 != 0 ||
	    hp->head_dim > 1024)
		return util_cause(cause, "key '%s.attention.key_length': %u is "
		    "out of range", arch, hp->head_dim);
	hp->rope_dim = hp->head_dim;
	if (hp_u32(g, arch, "rope.dimension_count", &hp->rope_dim, 0, cause))
		return -1;
	if (hp->rope_dim == 0 || hp->rope_dim > hp->head_dim ||
	    hp->rope_dim % 2 != 0)
		return util_cause(cause, "key '%s.rope.dimension_count': %u is "
		    "out of range", arch, hp->rope_dim);
	return 0;
}

/*
 * general.alignment may be 1 (valid), which leaves tensors at any
 * address; a float read from a misaligned address is undefined (UBSan
 * aborts) and the kernels expect aligned rows.  Such tensors are copied
 * once to aligned memory; the mapping of a normal file (alignment 32 or
 * more) is used as it is.
 */
#define MODEL_ALIGN	32	/* GGUF's default, what the kernels load */

static int
align_tensors(struct model *m, char **cause)
{
	struct gguf_tensor	*t;
	size_t			 total = 0, n, off = 0;
	uint64_t		 i;
	void			*v;

	for (i = 0; i < m->gguf->n_tensors; i++) {
		t = &m->gguf->tensors[i];
		if ((uintptr_t)t->data % MODEL_ALIGN == 0)
			continue;
		if (t->nbytes > SIZE_MAX - MODEL_ALIGN ||
		    __builtin_add_overflow(total, ((size_t)t->nbytes +
		    MODEL_ALIGN - 1) & ~(size_t)(MODEL_ALIGN - 1), &total))
			return util_cause(cause, "tensor data too large");
	}
	if (total == 0)
		return 0;
	if (posix_memalign(&v, MODEL_ALIGN, total) != 0)
		return util_cause(cause, "out of memory (%zu bytes to align "
		    "the tensors of a file with alignment %llu)", total,
		    (unsigned long long)m->gguf->alignment);
	m->aligned = v;
	for (i = 0; i < m->gguf->n_tensors; i++) {
		t = &m->gguf->tensors[i];
		if ((uintptr_t)t->data % MODEL_ALIGN == 0)
			continue;
		n = (size_t)t->nbytes;
		memcpy((uint8_t *)v + off, t->data, n);
		t->data = (uint8_t *)v + off;
		off += (n + MODEL_ALIGN - 1) & ~(size_t)(MODEL_ALIGN - 1);
	}
	return 0;
}

/* Bind a 2-D weight named name with ne0 x ne1 (ne1 == 0: any). */
static int
bind_matrix(struct model *m, const char *name, int64_t ne0, int64_t ne1,
    struct mtensor *mt, int optional, char **cause)
{
	const struct gguf_tensor	*t;
	const struct qt_traits		*tr;

	if ((t = gguf_find_tensor(m->gguf, name)) == NULL) {
		if (optional)
			return 1;
		return util_cause(cause, "tensor '%s' is missing", name);
	}
	if (t->ne[0] != ne0 || (ne1 != 0 && t->ne[1] != ne1) ||
	    t->ne[2] != 1 || t->ne[3] != 1)
		return util_cause(cause, "tensor '%s' has shape [%lld, %lld, "
		    "%lld, %lld], expected [%lld, %lld]", name,
		    (long long)t->ne[0], (long long)t->ne[1],
		    (long long)t->ne[2], (long long)t->ne[3], (long long)ne0,
		    (long long)ne1);
	tr = qt_get(t->type);
	if (tr == NULL || !tr->compute)
		return util_cause(cause, "tensor '%s' has type %s, which "
		    "yangtuo cannot compute yet", name, qt_name(t->type));
	return model_mtensor_point(t, mt, cause);
}

int
model_mtensor_point(const struct gguf_tensor *t, struct mtensor *mt,
    char **cause)
{
	mt->data = t->data;
	mt->type = t->type;
	mt->ne0 = t->ne[0];
	mt->ne1 = t->ne[1];
	mt->name = t->name;
	if (qt_row_size(t->type, t->ne[0], &mt->row_size) != 0)
		return util_cause(cause, "tensor '%s': bad row size",
		    t->name);
	return 0;
}

/* Copy a 1-D vector of n values to a new f32 array. */
static float *
bind_vector(struct model *m, const char *name, int64_t n, char **cause)
{
	struct mtensor	 mt;
	float		*v;

	if (bind_matrix(m, name, n, 1, &mt, 0, cause) != 0)
		return NULL;
	if ((v = malloc(n * sizeof *v)) == NULL) {
		util_cause(cause, "out of memory");
		return NULL;
	}
	qt_get(mt.type)->to_f32_ref(mt.data, v, n);
	return v;
}

static int
bind_layer(struct model *m, uint32_t il, char **cause)
{
	struct model_hp	*hp = &m->hp;
	struct layer	*l = &m->layers[il];
	int64_t		 q = (int64_t)hp->n_head * hp->head_dim;
	int64_t		 kv = (int64_t)hp->n_head_kv * hp->head_dim;
	char		 name[GGUF_MAX_NAME];

#define LNAME(s) (snprintf(name, sizeof name, "blk.%u." s, il), name)
	if ((l->attn_norm = bind_vector(m, LNAME("attn_norm.weight"),
	    hp->n_embd, cause)) == NULL ||
	    (l->ffn_norm = bind_vector(m, LNAME("ffn_norm.weight"),
	    hp->n_embd, cause)) == NULL)
		return -1;
	if (bind_matrix(m, LNAME("attn_q.weight"), hp->n_embd, q, &l->wq, 0,
	    cause) ||
	    bind_matrix(m, LNAME("attn_k.weight"), hp->n_embd, kv, &l->wk, 0,
	    cause) ||
	    bind_matrix(m, LNAME("attn_v.weight"), hp->n_embd, kv, &l->wv, 0,
	    cause) ||
	    bind_matrix(m, LNAME("attn_output.weight"), q, hp->n_embd, &l->wo,
	    0, cause) ||
	    bind_matrix(m, LNAME("ffn_gate.weight"), hp->n_embd, hp->n_ff,
	    &l->w_gate, 0, cause) ||
	    bind_matrix(m, LNAME("ffn_up.weight"), hp->n_embd, hp->n_ff,
	    &l->w_up, 0, cause) ||
	    bind_matrix(m, LNAME("ffn_down.weight"), hp->n_ff, hp->n_embd,
	    &l->w_down, 0, cause))
		return -1;
#undef LNAME
	return 0;
}

static int
bind_all(struct model *m, char **cause)
{
	struct model_hp	*hp = &m->hp;
	uint32_t	 il;
	int		 r;

	if (bind_matrix(m, "token_embd.weight", hp->n_embd, 0, &m->tok_embd,
	    0, cause))
		return -1;
	if (m->tok_embd.ne1 <= 0 || m->tok_embd.ne1 > (1 << 22))
		return util_cause(cause, "tensor 'token_embd.weight': %lld "
		    "tokens is out of range", (long long)m->tok_embd.ne1);
	hp->n_vocab = (uint32_t)m->tok_embd.ne1;
	r = bind_matrix(m, "output.weight", hp->n_embd, hp->n_vocab,
	    &m->output, 1, cause);
	if (r < 0)
		return -1;
	if (r > 0) {
		m->output = m->tok_embd;
		m->tied_output = 1;
	}
	if ((m->output_norm = bind_vector(m, "output_norm.weight", hp->n_embd,
	    cause)) == NULL)
		return -1;
	if (gguf_find_tensor(m->gguf, "rope_freqs.weight") != NULL &&
	    (m->rope_freqs = bind_vector(m, "rope_freqs.weight",
	    hp->rope_dim / 2, cause)) == NULL)
		return -1;
	if ((m->layers = calloc(hp->n_layer, sizeof *m->layers)) == NULL)
		return util_cause(cause, "out of memory");
	for (il = 0; il < hp->n_layer; il++)
		if (bind_layer(m, il, cause) != 0)
			return -1;
	return 0;
}

/* The matrices of layer il, in file order, into ts. */
void
model_layer_matrices(struct model *m, uint32_t il,
    struct mtensor *ts[MODEL_LAYER_MATRICES])
{
	struct layer	*l = &m->layers[il];

	ts[0] = &l->wq;
	ts[1] = &l->wk;
	ts[2] = &l->wv;
	ts[3] = &l->wo;
	ts[4] = &l->w_gate;
	ts[5] = &l->w_up;
	ts[6] = &l->w_down;
}

/* The matrices repack_all hands out to its threads, one at a time. */
struct repack_work {
	struct mtensor	**ts;
	size_t		  n;
	atomic_size_t	  next;
	atomic_size_t	  bad;		/* n, or a matrix that failed */
	int		  release;
};

static void *
repack_worker(void *arg)
{
	struct repack_work	*rw = arg;
	size_t			 i, none;

	while ((i = atomic_fetch_add(&rw->next, 1)) < rw->n)
		if (repack_tensor(rw->ts[i], rw->release) < 0) {
			none = rw->n;
			atomic_compare_exchange_strong(&rw->bad, &none, i);
		}
	return NULL;
}

/*
 * Repack the matrices a faster kernel wants (YANGTUO_NO_REPACK=1 turns
 * it off, for comparisons).  The embedding table stays as it is: rows
 * are looked up one by one; a tied output gets its own packed copy.
 * Matrices go to a thread per core (at most 8), as each copy is its
 * own: an 8B file's half a minute of page faults and shuffles becomes
 * a few seconds.
 */
static int
repack_all(struct model *m, char **cause)
{
	const char		*off = getenv("YANGTUO_NO_REPACK");
	struct repack_work	 rw;
	pthread_t		 th[7];
	long			 ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int			 i, nth = 0;
	uint32_t		 il;

	if (off != NULL && *off != '\0' && *off != '0')
		return 0;
	rw.n = (size_t)m->hp.n_layer * MODEL_LAYER_MATRICES + 1;
	if ((rw.ts = calloc(rw.n, sizeof *rw.ts)) == NULL)
		return util_cause(cause, "out of memory");
	for (il = 0; il < m->hp.n_layer; il++)
		model_layer_matrices(m, il, rw.ts + (size_t)il *
		    MODEL_LAYER_MATRICES);
	rw.ts[rw.n - 1] = &m->output;
	atomic_init(&rw.next, 0);
	atomic_init(&rw.bad, rw.n);
	rw.release = m->aligned == NULL;
	for (i = 0; i < (int)(sizeof th / sizeof th[0]) && i + 1 < ncpu; i++)
		if (pthread_create(&th[nth], NULL, repack_worker, &rw) == 0)
			nth++;
	repack_worker(&rw);
	for (i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	il = (uint32_t)atomic_load(&rw.bad);
	if (il == rw.n - 1)
		util_cause(cause, "out of memory repacking the output");
	else if (il < rw.n)
		util_cause(cause, "out of memory repacking '%s'",
		    rw.ts[il]->name);
	free(rw.ts);
	return il < rw.n ? -1 : 0;
}

static int
load_vocab(struct model *m, char **cause)
{
	char	*why = NULL;

	if (gguf_find(m->gguf, "tokenizer.ggml.model") == NULL)
		return 0;
	if ((m->tok = tok_new(m->gguf, &why)) == NULL) {
		util_cause(cause, "%s", why != NULL ? why : "bad vocabulary");
		free(why);
		return -1;
	}
	if (tok_n_vocab(m->tok) > (int32_t)m->hp.n_vocab)
		return util_cause(cause, "key 'tokenizer.ggml.tokens': %d "
		    "tokens but token_embd.weight has %u rows",
		    tok_n_vocab(m->tok), m->hp.n_vocab);
	return 0;
}

/* Open a GGUF file and bind it as a Llama model; NULL and *cause (caller
 * frees) when the file is not one we can run. */
struct model *
model_load(const char *path, char **cause)
{
	return model_load_flags(path, 0, cause);
}

/* model_load() with MODEL_ flags. */
struct model *
model_load_flags(const char *path, int flags, char **cause)
{
	struct model	*m;
	struct gguf_str	 s;
	char		 arch[64];
	const char	*base;

	qt_init();
	if ((m = calloc(1, sizeof *m)) == NULL) {
		util_cause(cause, "out of memory");
		return NULL;
	}
	if ((m->gguf = hf_gguf_open(path, cause)) == NULL)
		goto fail;
	if ((m->path = strdup(path)) == NULL) {
		util_cause(cause, "out of memory");
		goto fail;
	}
	if (gguf_get_str(m->gguf, "general.architecture", &s) != 0) {
		util_cause(cause, "key 'general.architecture' is missing");
		goto fail;
	}
	if (s.len >= sizeof arch || memchr(s.p, '\0', s.len) != NULL) {
		util_cause(cause, "key 'general.architecture' is malformed");
		goto fail;
	}
	memcpy(arch, s.p, s.len);
	arch[s.len] = '\0';
	if (strcmp(arch, "llama") != 0) {
		util_cause(cause, "architecture '%s' is not supported (only "
		    "llama)", arch);
		goto fail;
	}
	if (align_tensors(m, cause) != 0 ||
	    read_hparams(m, arch, cause) != 0 || bind_all(m, cause) != 0 ||
	    load_vocab(m, cause) != 0 ||
	    (!(flags & MODEL_NO_REPACK) && repack_all(m, cause) != 0))
		goto fail;
	if (gguf_get_str(m->gguf, "general.name", &s) == 0 && s.len > 0 &&
	    s.len < 256)
		m->name = strndup(s.p, s.len);
	else {
		base = strrchr(path, '/');
		m->name = strdup(base != NULL ? base + 1 : path);
	}
	if (m->name == NULL) {
		util_cause(cause, "out of memory");
		goto fail;
	}
	return m;
fail:
	model_free(m);
	return NULL;
}

/* Free the model and unmap its file; NULL is a no-op. */
void
model_free(struct model *m)
{
	uint32_t	i;

	if (m == NULL)
		return;
	lora_free_all(m);
	if (m->layers != NULL) {
		for (i = 0; i < m->hp.n_layer; i++) {
			struct layer	*l = &m->layers[i];

			free(l->attn_norm);
			free(l->ffn_norm);
			repack_free(&l->wq);
			repack_free(&l->wk);
			repack_free(&l->wv);
			repack_free(&l->wo);
			repack_free(&l->w_gate);
			repack_free(&l->w_up);
			repack_free(&l->w_down);
		}
		free(m->layers);
	}
	repack_free(&m->output);
	free(m->output_norm);
	free(m->rope_freqs);
	tok_free(m->tok);
	gguf_close(m->gguf);
	free(m->aligned);
	free(m->path);
	free(m->name);
	free(m);
}

/* Bytes of tensor data in the file. */
uint64_t
model_weight_bytes(const struct model *m)
{
	return m->gguf->data_size;
}

/* Bytes an F16 KV cache of n_ctx positions needs. */
uint64_t
model_kv_bytes(const struct model *m, uint32_t n_ctx)
{
	return 2ull * 2 * m->hp.n_layer * n_ctx * m->hp.n_head_kv *
	    m->hp.head_dim;
}
