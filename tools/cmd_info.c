/*
 * `yangtuo info`: what a GGUF file holds (metadata, tensor types) and,
 * for a model yangtuo runs, its shape and the memory it needs.
 */
#include "config.h"

#include "cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/gguf.h"
#include "engine/hf.h"
#include "engine/lora.h"
#include "engine/model.h"
#include "engine/quant.h"

#include "tool.h"
#include "modelfile.h"
#include "text.h"

/* Print value i of kv (0 for a scalar): integers exactly, signed or
 * not, BOOL as true/false, floats with enough digits to read back. */
static void
print_value(const struct gguf_kv *kv, uint64_t i)
{
	uint32_t	 t = kv->type == GGUF_VT_ARRAY ? kv->atype : kv->type;
	int64_t		 s;
	uint64_t	 u;
	int		 neg;

	if (t == GGUF_VT_FLOAT32) {
		float	f;

		memcpy(&f, kv->data + i * sizeof f, sizeof f);
		printf("%.9g", (double)f);
		return;
	}
	if (t == GGUF_VT_FLOAT64) {
		double	d;

		memcpy(&d, kv->data + i * sizeof d, sizeof d);
		printf("%.17g", d);
		return;
	}
	if ((neg = gguf_kv_int(kv, i, &s, &u)) < 0)
		printf("?");
	else if (t == GGUF_VT_BOOL)
		printf("%s", u ? "true" : "false");
	else if (neg)
		printf("%lld", (long long)s);
	else
		printf("%llu", (unsigned long long)u);
}

static void
print_kv(const struct gguf_kv *kv)
{
	uint64_t	i;
	char		*safe;

	/* Keys and strings are the file's: sanitized, cut at 60 bytes. */
	safe = text_sanitize(kv->key.p, kv->key.len > 60 ? 60 : kv->key.len,
	    NULL);
	printf("  %-44s ", safe);
	free(safe);
	if (kv->type == GGUF_VT_ARRAY) {
		printf("[%s x %llu]", gguf_vtype_name(kv->atype),
		    (unsigned long long)kv->n);
		if (kv->atype != GGUF_VT_STRING && kv->atype != GGUF_VT_ARRAY &&
		    kv->n <= 8)
			for (i = 0; i < kv->n; i++) {
				printf(" ");
				print_value(kv, i);
			}
	} else if (kv->type == GGUF_VT_STRING) {
		safe = text_line_n((const char *)kv->data, kv->n > 60 ? 60 : (size_t)kv->n);
		printf("\"%s%s\"", safe, kv->n > 60 ? "..." : "");
		free(safe);
	} else
		print_value(kv, 0);
	printf("\n");
}

/* Print the metadata and tensor types of an open GGUF file. */
static void
print_gguf(const char *path, const struct gguf *g)
{
	uint64_t	 counts[QT_COUNT] = { 0 }, bytes[QT_COUNT] = { 0 };
	uint64_t	 i;
	unsigned	 t;

	if (hf_is_folder(path))
		printf("folder: %s\nHugging Face folder read as GGUF, %llu "
		    "metadata keys, %llu tensors\n\nmetadata:\n", path,
		    (unsigned long long)g->n_kv,
		    (unsigned long long)g->n_tensors);
	else
		printf("file: %s\nGGUF version %u, %llu metadata keys, %llu "
		    "tensors\n\nmetadata:\n", path, g->version,
		    (unsigned long long)g->n_kv,
		    (unsigned long long)g->n_tensors);
	for (i = 0; i < g->n_kv; i++)
		print_kv(&g->kv[i]);
	for (i = 0; i < g->n_tensors; i++)
		if (g->tensors[i].type < QT_COUNT) {
			counts[g->tensors[i].type]++;
			bytes[g->tensors[i].type] += g->tensors[i].nbytes;
		}
	printf("\ntensor types:\n");
	for (t = 0; t < QT_COUNT; t++)
		if (counts[t] != 0)
			printf("  %-6s %5llu tensors %10.2f MiB\n", qt_name(t),
			    (unsigned long long)counts[t], bytes[t] / 1048576.0);
}

/* What a Modelfile or an ollama model adds to the model, its licence
 * last; the texts come from files, so they are made safe to show. */
static void
print_modelfile(const struct modelfile *mf)
{
	size_t	i;

	text_say(stdout, "Modelfile: %s\nFROM %s\nmodel: %s\n", mf->path,
	    mf->from, mf->model);
	for (i = 0; i < mf->n_adapters; i++)
		text_say(stdout, "ADAPTER %s\n", mf->adapters[i]);
	if (mf->system != NULL)
		text_say(stdout, "SYSTEM %s\n", mf->system);
	if (mf->template_text != NULL)
		text_say(stdout, "TEMPLATE (ollama's Go template, %zu "
		    "bytes)\n", strlen(mf->template_text));
	for (i = 0; i < mf->n_params; i++)
		text_say(stdout, "PARAMETER %s %s\n", mf->params[i].name,
		    mf->params[i].value);
	for (i = 0; i < mf->n_msgs; i++)
		text_say(stdout, "MESSAGE %s %s\n", mf->msgs[i].role,
		    mf->msgs[i].text);
	if (mf->license != NULL)
		text_say(stdout, "LICENSE\n%s\n", mf->license);
	text_say(stdout, "\n");
}

/* yangtuo info: metadata, tensor types and the memory a model needs.  A
 * GGUF file that is no model yangtuo runs still shows its metadata, then
 * the reason (exit 1). */
static int	info_model(const struct eng_opts *);

int
cmd_info(int argc, char **argv)
{
	struct eng_opts		 o;
	struct modelfile	 mf;
	char			*cause = NULL;
	int			 r;

	if ((r = tool_parse_opts(argc, argv, &o)) != -1)
		return r;
	modelfile_init(&mf);
	if ((r = modelfile_resolve(o.model, 0, &mf, &cause)) < 0) {
		fprintf(stderr, "yangtuo: %s\n", cause);
		free(cause);
		return 1;
	}
	if (r == 1) {
		print_modelfile(&mf);
		o.model = mf.model;
	}
	r = info_model(&o);
	modelfile_free(&mf);
	return r;
}

/* info on the model file itself. */
static int
info_model(const struct eng_opts *po)
{
	struct eng_opts	 o = *po;
	struct model	*m;
	struct gguf	*g;
	uint64_t	 kv;
	uint32_t	 n_ctx;
	char		*cause = NULL, *name;
	size_t		 i;

	if ((g = hf_gguf_open(o.model, &cause)) == NULL) {
		text_say(stderr, "yangtuo: %s: %s\n", o.model,
		    cause != NULL ? cause : "cannot read");
		free(cause);
		return 1;
	}
	print_gguf(o.model, g);
	gguf_close(g);
	fflush(stdout);
	if ((m = tool_open_model_opts(&o)) == NULL)
		return 1;
	n_ctx = o.n_ctx != 0 ? o.n_ctx : m->hp.n_ctx_train;
	name = text_line(m->name);
	printf("\nmodel: %s: %u layers, n_embd %u, %u heads (%u KV, head dim "
	    "%u), n_ff %u, vocab %u, rope base %g, eps %g%s%s\n", name,
	    m->hp.n_layer, m->hp.n_embd, m->hp.n_head, m->hp.n_head_kv,
	    m->hp.head_dim, m->hp.n_ff, m->hp.n_vocab, m->hp.rope_base,
	    m->hp.norm_eps, m->tied_output ? ", tied output" : "",
	    m->rope_freqs != NULL ? ", rope_freqs" : "");
	kv = model_kv_bytes(m, n_ctx);
	printf("memory: weights %.2f MiB (mapped) + KV cache %.2f MiB at "
	    "context %u = %.2f MiB\n", model_weight_bytes(m) / 1048576.0,
	    kv / 1048576.0, n_ctx, (model_weight_bytes(m) + kv) / 1048576.0);
	for (i = 0; i < m->n_lora; i++) {
		char	*lp = text_line(m->lora[i]->path);

		printf("lora: %s: scale %g, alpha %g, rank %u, %zu matrices "
		    "(%zu tensors)%s%s%s\n", lp,
		    m->lora[i]->scale, m->lora[i]->alpha, m->lora[i]->rank,
		    m->lora[i]->n_pairs, lora_n_tensors(m->lora[i]),
		    m->lora[i]->embd.data != NULL ? ", whole token_embd" : "",
		    m->lora[i]->out.data != NULL ? ", whole output" : "",
		    m->lora_merged ? ", merged" : "");
		free(lp);
	}
	free(name);
	model_free(m);
	return 0;
}
