/*
 * PEFT LoRA folders: adapter_config.json gives r, lora_alpha and the
 * options that change the arithmetic; adapter_model.safetensors the
 * pairs, named after the Hugging Face modules.  Each pair is copied into
 * one buffer in ggml's order (torch's lora_A [r, n_in] and lora_B
 * [n_out, r] already hold those bytes), with the rows of lora_B of
 * q_proj and k_proj moved to GGUF's rotary order as llama.cpp's
 * converter moves the weights' rows.
 */
#include "config.h"

#include "lora_peft.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "gguf.h"
#include "hf.h"
#include "lora.h"
#include "quant.h"
#include "safetensors.h"
#include "common/util.h"

#define PEFT_CONFIG	"adapter_config.json"
#define PEFT_WEIGHTS	"adapter_model.safetensors"
#define PEFT_ALIGN	64
#define PEFT_FULL	2	/* peft_name: a whole replacement weight */

struct peft_cfg {
	float	alpha;
	int	rslora;		/* scale alpha / sqrt(r), not alpha / r */
};

/* A config option that must be off (false, null, empty) for us. */
static int
cfg_off(json_t *root, const char *key, const char *why, char **cause)
{
	json_t	*v = json_object_get(root, key);

	if (v == NULL || json_is_null(v) || json_is_false(v) ||
	    (json_is_object(v) && json_object_size(v) == 0) ||
	    (json_is_array(v) && json_array_size(v) == 0))
		return 0;
	return util_cause(cause, "%s: '%s' is set: %s", PEFT_CONFIG, key,
	    why);
}

/* modules_to_save: only the embeddings and the output, which the
 * folder then holds whole (they replace the model's). */
static int
peft_saved(json_t *root, char **cause)
{
	json_t		*v = json_object_get(root, "modules_to_save"), *e;
	const char	*n;
	size_t		 i;

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return util_cause(cause, "%s: 'modules_to_save' is not a list",
		    PEFT_CONFIG);
	json_array_foreach(v, i, e) {
		n = json_is_string(e) ? json_string_value(e) : "?";
		if (strcmp(n, "embed_tokens") != 0 &&
		    strcmp(n, "lm_head") != 0)
			return util_cause(cause, "%s: 'modules_to_save' names "
			    "'%s': only embed_tokens and lm_head can be "
			    "replaced", PEFT_CONFIG, n);
	}
	return 0;
}

/* Read adapter_config.json. */
static int
peft_config(const char *dir, struct peft_cfg *c, char **cause)
{
	char		*path;
	json_t		*root, *v;
	json_error_t	 err;
	int		 rc = -1;

	if (asprintf(&path, "%s/%s", dir, PEFT_CONFIG) < 0)
		return util_cause(cause, "out of memory");
	root = json_load_file(path, 0, &err);
	free(path);
	if (root == NULL || !json_is_object(root)) {
		util_cause(cause, "%s: %s (line %d)", PEFT_CONFIG, root ==
		    NULL ? err.text : "not a JSON object", err.line);
		json_decref(root);
		return -1;
	}
	v = json_object_get(root, "peft_type");
	if (v != NULL && (!json_is_string(v) ||
	    strcmp(json_string_value(v), "LORA") != 0)) {
		util_cause(cause, "%s: peft_type is '%s', only LORA adapters "
		    "are supported", PEFT_CONFIG, json_is_string(v) ?
		    json_string_value(v) : "?");
		goto out;
	}
	v = json_object_get(root, "lora_alpha");
	if (!json_is_number(v) || !isfinite(json_number_value(v))) {
		util_cause(cause, "%s: 'lora_alpha' is missing or not a "
		    "number", PEFT_CONFIG);
		goto out;
	}
	c->alpha = (float)json_number_value(v);
	c->rslora = json_is_true(json_object_get(root, "use_rslora"));
	if (cfg_off(root, "use_dora", "DoRA adapters are not supported",
	    cause) ||
	    cfg_off(root, "fan_in_fan_out", "Llama's projections are not "
	    "stored transposed", cause) ||
	    cfg_off(root, "rank_pattern", "per-module ranks are not "
	    "supported", cause) ||
	    cfg_off(root, "alpha_pattern", "per-module alphas are not "
	    "supported", cause) ||
	    peft_saved(root, cause) != 0)
		goto out;
	rc = 0;
out:
	json_decref(root);
	return rc;
}

/* "base_model.model.X.lora_A.weight" -> the GGUF matrix name of X and
 * which half (0 A, 1 B); PEFT_FULL for the whole embeddings or output
 * of modules_to_save; -1 if the name is none of those. */
static int
peft_name(const char *name, char *gguf, size_t cap, int *heads_of)
{
	const char	*p = name, *mod, *g;
	char		*end, buf[64];
	unsigned long	 il;
	size_t		 n;
	int		 which;

	if (strncmp(p, "base_model.model.", 17) != 0)
		return -1;
	p += 17;
	if (strcmp(p, "model.embed_tokens.weight") == 0 ||
	    strcmp(p, "lm_head.weight") == 0) {
		snprintf(gguf, cap, "%s", p[0] == 'm' ? "token_embd.weight" :
		    "output.weight");
		*heads_of = 0;
		return PEFT_FULL;
	}
	n = strlen(p);
	if (n > 14 && strcmp(p + n - 14, ".lora_A.weight") == 0)
		which = 0;
	else if (n > 14 && strcmp(p + n - 14, ".lora_B.weight") == 0)
		which = 1;
	else
		return -1;
	n -= 14;
	*heads_of = 0;
	if (n == 7 && strncmp(p, "lm_head", 7) == 0) {
		snprintf(gguf, cap, "output.weight");
		return which;
	}
	if (strncmp(p, "model.layers.", 13) != 0)
		return -1;
	il = strtoul(p + 13, &end, 10);
	if (end == p + 13 || *end != '.' || il >= MODEL_MAX_LAYERS)
		return -1;
	mod = end + 1;
	if ((size_t)(mod - p) >= n || n - (size_t)(mod - p) >= sizeof buf)
		return -1;
	memcpy(buf, mod, n - (size_t)(mod - p));
	buf[n - (size_t)(mod - p)] = '\0';
	if ((g = hf_layer_gguf(buf, heads_of)) == NULL ||
	    strstr(g, "norm") != NULL)
		return -1;
	snprintf(gguf, cap, "blk.%lu.%s.weight", il, g);
	return which;
	return -1;
}

/* Where a tensor of n bytes goes in the buffer; advances *off. */
static size_t
peft_slot(size_t *off, uint64_t n)
{
	size_t	at = *off;

	*off += ((size_t)n + PEFT_ALIGN - 1) / PEFT_ALIGN * PEFT_ALIGN;
	return at;
}

/* Copy t (torch [rows, cols]) into buf as a ggml matrix [cols, rows];
 * rows of a q/k lora_B go to GGUF's order (heads > 0). */
static void
peft_copy(const struct safetensors_tensor *t, uint8_t *buf,
    struct mtensor *mt, int heads)
{
	int64_t	rows = t->shape[0], cols = t->shape[1];
	size_t	rs = (size_t)(t->nbytes / (uint64_t)rows);

	memset(mt, 0, sizeof *mt);
	mt->type = t->type;
	mt->ne0 = cols;
	mt->ne1 = rows;
	mt->row_size = rs;
	mt->name = t->name;
	mt->data = buf;
	if (heads <= 0 || rows % (2 * heads) != 0) {
		memcpy(buf, t->data, (size_t)t->nbytes);
		return;
	}
	hf_unpermute_rows(buf, t->data, (uint64_t)heads,
	    (uint64_t)(rows / heads), rs);
}

/* One pair: its partner, its matrix, its shapes. */
static int
peft_pair(struct model *m, struct lora *a, const struct safetensors *st,
    const struct safetensors_tensor *ta, const char *gguf, int heads_of,
    const struct peft_cfg *c, uint8_t *buf, size_t *off, char **cause)
{
	const struct safetensors_tensor	*tb;
	struct lora_w			*lw = &a->w[a->n_pairs];
	struct mtensor			*w;
	char				 bname[SAFETENSORS_MAX_NAME + 2];
	size_t				 n = strlen(ta->name);
	float				 alpha;
	int				 heads;

	snprintf(bname, sizeof bname, "%.*sB.weight", (int)(n - 8),
	    ta->name);
	if ((tb = safetensors_find(st, bname)) == NULL)
		return util_cause(cause, "tensor '%s' has no '%s'", ta->name,
		    bname);
	if (ta->n_dims != 2 || tb->n_dims != 2)
		return util_cause(cause, "tensor '%s' or its lora_B is not "
		    "a matrix", ta->name);
	if ((w = lora_find_matrix(m, gguf)) == NULL)
		return util_cause(cause, "tensor '%s': the model has no "
		    "matrix '%s'", ta->name, gguf);
	heads = heads_of == 1 ? (int)m->hp.n_head : heads_of == 2 ?
	    (int)m->hp.n_head_kv : 0;
	peft_copy(ta, buf + peft_slot(off, ta->nbytes), &lw->a, 0);
	peft_copy(tb, buf + peft_slot(off, tb->nbytes), &lw->b, heads);
	/* rsLoRA scales by alpha / sqrt(r): the alpha that gives it. */
	alpha = c->rslora ? c->alpha * sqrtf((float)lw->a.ne1) : c->alpha;
	if (lora_check_pair(lw, w, gguf, alpha, a->scale, cause) != 0)
		return -1;
	a->n_pairs++;
	return 0;
}

/* A whole embeddings or output matrix (modules_to_save), which must
 * have the model's shape: copied, to replace the model's at attach. */
static int
peft_full(struct model *m, struct lora *a, const struct safetensors_tensor *t,
    const char *gguf, uint8_t *buf, size_t *off, char **cause)
{
	int		 embd = strcmp(gguf, "token_embd.weight") == 0;
	struct mtensor	*w = embd ? &a->embd : &a->out;
	int64_t		 n_embd = m->hp.n_embd, n_vocab = m->hp.n_vocab;

	if (t->n_dims != 2 || t->shape[0] != n_vocab ||
	    t->shape[1] != n_embd)
		return util_cause(cause, "tensor '%s' has shape [%lld, %lld], "
		    "the model's '%s' [%lld, %lld] (a different vocabulary?)",
		    t->name, (long long)t->shape[0], (long long)(t->n_dims >
		    1 ? t->shape[1] : 0), gguf, (long long)n_vocab,
		    (long long)n_embd);
	peft_copy(t, buf + peft_slot(off, t->nbytes), w, 0);
	w->name = embd ? "token_embd.weight" : "output.weight";
	return 0;
}

/* A lora_B's lora_A is there. */
static int
peft_partner(const struct safetensors *st,
    const struct safetensors_tensor *tb, char **cause)
{
	char	aname[SAFETENSORS_MAX_NAME + 2];
	size_t	n = strlen(tb->name);

	snprintf(aname, sizeof aname, "%.*sA.weight", (int)(n - 8),
	    tb->name);
	if (safetensors_find(st, aname) == NULL)
		return util_cause(cause, "tensor '%s' has no '%s'", tb->name,
		    aname);
	return 0;
}

/* Every tensor a lora_A or lora_B of a Llama matrix; room for them. */
static int
peft_scan(const struct safetensors *st, size_t *bytes, char **cause)
{
	const struct safetensors_tensor	*t;
	char				 gguf[GGUF_MAX_NAME];
	size_t				 i, off = 0;
	int				 heads;

	if (safetensors_count(st) == 0)
		return util_cause(cause, "%s holds no tensors", PEFT_WEIGHTS);
	for (i = 0; i < safetensors_count(st); i++) {
		t = safetensors_get(st, i);
		if (peft_name(t->name, gguf, sizeof gguf, &heads) < 0)
			return util_cause(cause, "tensor '%s' is no LoRA "
			    "pair of a Llama projection%s", t->name,
			    strstr(t->name, "embed_tokens") != NULL ?
			    " (LoRA on the token embeddings is not "
			    "supported)" : "");
		peft_slot(&off, t->nbytes);
	}
	*bytes = off;
	return 0;
}

/* Read a PEFT folder (lora_peft.h). */
int
lora_peft_read(struct model *m, struct lora *a, char **cause)
{
	const struct safetensors_tensor	*t;
	struct safetensors		*st;
	struct peft_cfg			 c = { 0.0f, 0 };
	char				*path, *why = NULL, gguf[GGUF_MAX_NAME];
	size_t				 i, bytes = 0, off = 0;
	int				 rc = -1, heads;

	if (peft_config(a->path, &c, cause) != 0)
		return -1;
	a->alpha = c.alpha;
	if (asprintf(&path, "%s/%s", a->path, PEFT_WEIGHTS) < 0)
		return util_cause(cause, "out of memory");
	st = safetensors_open(path, &why);
	free(path);
	if (st == NULL) {
		util_cause(cause, "%s", why != NULL ? why : "cannot read "
		    PEFT_WEIGHTS);
		free(why);
		return -1;
	}
	if (peft_scan(st, &bytes, cause) != 0)
		goto out;
	a->w = calloc(safetensors_count(st), sizeof *a->w);
	if (a->w == NULL || (a->buf = aligned_alloc(PEFT_ALIGN, bytes)) ==
	    NULL) {
		util_cause(cause, "out of memory");
		goto out;
	}
	for (i = 0; i < safetensors_count(st); i++) {
		t = safetensors_get(st, i);
		switch (peft_name(t->name, gguf, sizeof gguf, &heads)) {
		case 0:
			if (peft_pair(m, a, st, t, gguf, heads, &c, a->buf,
			    &off, cause) != 0)
				goto out;
			break;
		case PEFT_FULL:
			if (peft_full(m, a, t, gguf, a->buf, &off, cause) != 0)
				goto out;
			break;
		default:
			if (peft_partner(st, t, cause) != 0)
				goto out;
			break;
		}
	}
	rc = 0;
out:
	/* The pairs were copied, but their names point into st. */
	if (rc == 0)
		a->st = st;
	else
		safetensors_close(st);
	return rc;
}
