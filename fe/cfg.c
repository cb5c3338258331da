/*
 * The configuration file's keys, read through the hardened event loop of
 * cfg_parse.c.  A load parses into a copy and replaces the caller's
 * struct only when the whole file is good.  Errors read
 * "file:line:col: key 'k': problem".
 */
#include "config.h"

#include "cfg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cfg_impl.h"
#include "xdg.h"
#include "xmalloc.h"
#include "i18n.h"

#define CFG_MAX_THREADS		1024
#define CFG_MAX_CTX		(1 << 24)

/* A prompt read from this file, with where it was, before merging. */
struct cfg_fprompt {
	char		*name;
	char		*text;
	yaml_mark_t	 mark;
	size_t		 order;
};

/* One load of a config: the parser and what only the config keys need. */
struct cfg_load {
	struct cfg_parse	 p;
	struct cfg		*c;		/* the copy being filled */
	unsigned		 seen;		/* keys given (CFG_SET_*) */
	yaml_mark_t		 seen_at[32];
	const char		*seen_as[32];
	yaml_mark_t		 system_at;

	struct cfg_fprompt	*fp;
	size_t			 n_fp;
	size_t			 cap_fp;
};

#define CFG_SEEN_PROMPTS	(1u << 31)

static const char *cfg_templates[] = {
	"auto", "llama3", "llama2", "chatml", "mistral", "none"
};

/* The current node as a path with a leading ~ expanded (caller frees
 * *out); 0 or -1. */
static int
cfg_get_path(struct cfg_parse *p, char **out)
{
	const char	*home;
	char		*s;

	if (cfg_get_str(p, 0, &s) != 0)
		return -1;
	if (s[0] == '~' && (s[1] == '\0' || s[1] == '/')) {
		if ((home = xdg_home()) == NULL) {
			free(s);
			return cfg_error(p, &p->mark, _("cannot expand ~: HOME "
			    "is not set"));
		}
		xasprintf(out, "%s%s", home, s + 1);
		free(s);
	} else
		*out = s;
	return 0;
}

static int
cfg_key_model(struct cfg_load *l, struct cfg *c)
{
	char	*s;

	if (cfg_get_path(&l->p, &s) != 0)
		return -1;
	free(c->model);
	c->model = s;
	return 0;
}

static int
cfg_key_seed(struct cfg_load *l, struct cfg *c)
{
	struct cfg_parse	*p = &l->p;
	uint64_t		 v;
	int			 neg, rc;

	if (cfg_numeric(p, _("an integer")) != 0)
		return -1;
	if ((rc = cfg_parse_u64(p->val, &neg, &v)) < 0)
		return cfg_not_integer(p);
	if (rc > 0 || (neg && v != 0))
		return cfg_error(p, &p->mark, _("%s out of range: must be 0 "
		    "(random) to %ju"), p->val, (uintmax_t)UINT64_MAX);
	c->seed = v;
	return 0;
}

static int
cfg_key_template(struct cfg_load *l, struct cfg *c)
{
	struct cfg_parse	*p = &l->p;
	size_t			 i;
	char			*s, *q;

	if (cfg_get_str(p, 0, &s) != 0)
		return -1;
	for (i = 0; i < sizeof cfg_templates / sizeof *cfg_templates; i++) {
		if (strcmp(s, cfg_templates[i]) == 0) {
			free(c->template_name);
			c->template_name = s;
			return 0;
		}
	}
	q = cfg_quote(s, strlen(s));
	cfg_error(p, &p->mark, _("unknown template '%s' (expected auto, "
	    "llama3, llama2, chatml, mistral or none)"), q);
	free(q);
	free(s);
	return -1;
}

static int
cfg_key_system(struct cfg_load *l, struct cfg *c)
{
	char	*s;

	if (cfg_get_str(&l->p, 0, &s) != 0)
		return -1;
	free(c->system);
	c->system = s;
	l->system_at = l->p.mark;
	return 0;
}

static int
cfg_key_theme(struct cfg_load *l, struct cfg *c)
{
	char	*s;

	if (cfg_get_str(&l->p, 0, &s) != 0)
		return -1;
	free(c->theme);
	c->theme = s;
	return 0;
}

static void
cfg_fp_add(struct cfg_load *l, char *name, char *text,
    const yaml_mark_t *m)
{
	struct cfg_fprompt	*f;

	if (l->n_fp == l->cap_fp) {
		l->cap_fp = l->cap_fp == 0 ? 16 : l->cap_fp * 2;
		l->fp = xreallocarray(l->fp, l->cap_fp, sizeof *l->fp);
	}
	f = &l->fp[l->n_fp];
	f->name = name;
	f->text = text;
	f->mark = *m;
	f->order = l->n_fp++;
}

/*
 * backend: {url, model, api_key_env}: chat through a server instead of
 * the local engine.  The key itself never goes in the file, only the
 * name of the environment variable that holds it.
 */
static int
cfg_key_backend(struct cfg_load *l, struct cfg *c)
{
	struct cfg_parse	*p = &l->p;
	yaml_mark_t		 m;
	char			**slot, *q;

	if (cfg_is_null(p))
		return 0;
	if (p->type != YAML_MAPPING_START_EVENT)
		return cfg_error(p, &p->mark, _("expected a mapping with url, "
		    "model and api_key_env, not %s"), cfg_kind(p));
	for (;;) {
		if (cfg_next(p) != 0)
			return -1;
		if (p->type == YAML_MAPPING_END_EVENT)
			break;
		m = p->mark;
		if (p->type != YAML_SCALAR_EVENT)
			return cfg_error(p, &m, _("expected url, model or "
			    "api_key_env, not %s"), cfg_kind(p));
		if (strcmp(p->val, "url") == 0)
			slot = &c->backend_url;
		else if (strcmp(p->val, "model") == 0)
			slot = &c->backend_model;
		else if (strcmp(p->val, "api_key_env") == 0)
			slot = &c->backend_key_env;
		else if (strcmp(p->val, "api_key") == 0)
			return cfg_error(p, &m, _("give api_key_env, the name "
			    "of an environment variable holding the key, not "
			    "the key"));
		else {
			q = cfg_quote(p->val, p->vlen);
			cfg_warn(p, &m, _("unknown key '%s' in backend "
			    "(ignored)"), q);
			free(q);
			if (cfg_next(p) != 0 || cfg_skip(p) != 0)
				return -1;
			continue;
		}
		free(*slot);
		*slot = NULL;
		if (cfg_next(p) != 0 || cfg_get_str(p, 0, slot) != 0)
			return -1;
	}
	if (c->backend_url != NULL && strncmp(c->backend_url, "http://", 7)
	    != 0 && strncmp(c->backend_url, "https://", 8) != 0)
		return cfg_error(p, &p->mark, _("backend url must begin with "
		    "http:// or https://"));
	return 0;
}

/* One stop string: valid UTF-8 (the reader checked), not empty, short. */
static int
cfg_stop_one(struct cfg_parse *p, void *arg)
{
	struct cfg	*c = arg;
	yaml_mark_t	 m = p->mark;
	char		*s;

	if (cfg_get_str(p, 0, &s) != 0)
		return -1;
	if (*s == '\0' || strlen(s) >= PROTO_STOP_MAX ||
	    c->n_stop >= PROTO_MAX_STOP) {
		free(s);
		return cfg_error(p, &m, _("at most %d strings of 1 to "
		    "%d bytes"), PROTO_MAX_STOP, PROTO_STOP_MAX - 1);
	}
	memcpy(c->stop[c->n_stop++], s, strlen(s) + 1);
	free(s);
	return 0;
}

/* stop: a string, or a sequence of them; replaces earlier ones. */
static int
cfg_key_stop(struct cfg_load *l, struct cfg *c)
{
	struct cfg_parse	*p = &l->p;

	c->n_stop = 0;
	memset(c->stop, 0, sizeof c->stop);
	return cfg_each(p, cfg_stop_one, c);
}

/* prompts as a mapping: name: text. */
static int
cfg_prompts_map(struct cfg_load *l)
{
	struct cfg_parse	*p = &l->p;
	char			*name, *text;
	yaml_mark_t		 m;

	for (;;) {
		if (cfg_next(p) != 0)
			return -1;
		if (p->type == YAML_MAPPING_END_EVENT)
			return 0;
		m = p->mark;
		if (p->type != YAML_SCALAR_EVENT || cfg_is_null(p))
			return cfg_error(p, &m, _("expected a prompt name, not "
			    "%s"), cfg_kind(p));
		name = xstrndup(p->val, p->vlen);
		if (cfg_next(p) != 0 || cfg_get_str(p, 1, &text) != 0) {
			free(name);
			return -1;
		}
		cfg_fp_add(l, name, text, &m);
	}
}

/* One {name: ..., text: ...} item of the sequence form. */
static int
cfg_prompts_item(struct cfg_load *l)
{
	struct cfg_parse	*p = &l->p;
	yaml_mark_t		 item = p->mark, m;
	char			*name = NULL, *text = NULL, **slot, *q;

	if (p->type != YAML_MAPPING_START_EVENT)
		return cfg_error(p, &p->mark, _("expected a mapping with name "
		    "and text, not %s"), cfg_kind(p));
	for (;;) {
		if (cfg_next(p) != 0)
			goto fail;
		if (p->type == YAML_MAPPING_END_EVENT)
			break;
		m = p->mark;
		if (p->type != YAML_SCALAR_EVENT)
			goto badkey;
		if (strcmp(p->val, "name") == 0)
			slot = &name;
		else if (strcmp(p->val, "text") == 0)
			slot = &text;
		else {
			q = cfg_quote(p->val, p->vlen);
			cfg_warn(p, &m, _("unknown key '%s' in a prompt "
			    "(ignored)"), q);
			free(q);
			if (cfg_next(p) != 0 || cfg_skip(p) != 0)
				goto fail;
			continue;
		}
		if (*slot != NULL) {
			cfg_error(p, &m, _("'%s' given twice in one prompt"),
			    slot == &name ? "name" : "text");
			goto fail;
		}
		if (cfg_next(p) != 0 || cfg_get_str(p, slot == &text, slot))
			goto fail;
	}
	if (name == NULL) {
		cfg_error(p, &item, _("prompt without a name"));
		goto fail;
	}
	if (text == NULL) {
		q = cfg_quote(name, strlen(name));
		cfg_error(p, &item, _("prompt '%s' has no text"), q);
		free(q);
		goto fail;
	}
	cfg_fp_add(l, name, text, &item);
	return 0;
badkey:
	cfg_error(p, &m, _("expected name or text, not %s"), cfg_kind(p));
fail:
	free(name);
	free(text);
	return -1;
}

static int
cfg_key_prompts(struct cfg_load *l, struct cfg *c)
{
	struct cfg_parse	*p = &l->p;

	if (cfg_is_null(p))
		return 0;
	if (p->type == YAML_MAPPING_START_EVENT)
		return cfg_prompts_map(l);
	if (p->type != YAML_SEQUENCE_START_EVENT)
		return cfg_error(p, &p->mark, _("expected a mapping of names "
		    "to texts or a sequence of {name, text}, not %s"),
		    cfg_kind(p));
	for (;;) {
		if (cfg_next(p) != 0)
			return -1;
		if (p->type == YAML_SEQUENCE_END_EVENT)
			return 0;
		if (cfg_prompts_item(l) != 0)
			return -1;
	}
}

/* One adapter, "PATH[:SCALE]", with ~ expanded. */
static int
cfg_lora_item(struct cfg_parse *p, void *arg)
{
	struct cfg	*c = arg;

	if (c->n_lora >= CFG_MAX_LORA)
		return cfg_error(p, &p->mark, _("at most %d adapters"),
		    CFG_MAX_LORA);
	if (cfg_get_path(p, &c->lora[c->n_lora]) != 0)
		return -1;
	c->n_lora++;
	return 0;
}

/* lora: one adapter or a sequence of them; replaces the list. */
static int
cfg_key_lora(struct cfg_load *l, struct cfg *c)
{
	struct cfg_parse	*p = &l->p;

	while (c->n_lora > 0)
		free(c->lora[--c->n_lora]);
	return cfg_each(p, cfg_lora_item, c);
}

static int
cfg_key_lora_merge(struct cfg_load *l, struct cfg *c)
{
	return cfg_get_bool(&l->p, &c->lora_merge);
}

static int
cfg_key_prompt_cache(struct cfg_load *l, struct cfg *c)
{
	return cfg_get_bool(&l->p, &c->prompt_cache);
}

/* prompt_cache_size: bytes with a suffix K, M, G or T (powers of 1024;
 * "KiB", "MB" and the like too), or a plain number of MiB. */
static int
cfg_key_prompt_cache_size(struct cfg_load *l, struct cfg *c)
{
	static const char	 units[] = "KMGT";
	struct cfg_parse	*p = &l->p;
	const char		*u;
	char			*num = NULL, *end;
	uint64_t		 v;
	int			 neg, shift = 20, rc;

	if (cfg_get_str(p, 0, &num) != 0)
		return -1;
	for (end = num; *end >= '0' && *end <= '9'; end++)
		;
	if (*end != '\0') {
		if ((u = strchr(units, end[0] & ~0x20)) == NULL || *u == '\0' ||
		    (end[1] != '\0' && strcasecmp(end + 1, "iB") != 0 &&
		    strcasecmp(end + 1, "B") != 0))
			goto bad;
		shift = 10 * (int)(u - units + 1);
		*end = '\0';
	}
	if ((rc = cfg_parse_u64(num, &neg, &v)) != 0 || neg ||
	    v > (UINT64_MAX >> shift))
		goto bad;
	c->prompt_cache_bytes = v << shift;
	free(num);
	return 0;
bad:
	free(num);
	num = cfg_quote(p->val, p->vlen);
	cfg_error(p, &p->mark, _("expected a size such as 1G, 512M or 64K (a "
	    "plain number is MiB), not '%s'"), num);
	free(num);
	return -1;
}

/*
 * The keys.  Numbers are checked against [min, max] (min itself excluded
 * when min_open) and stored by cfg_store(); the rest have a function.
 */
enum cfg_type {
	CFG_T_INT,
	CFG_T_FLOAT,
	CFG_T_FN
};

static const struct cfg_key {
	const char	*name;
	unsigned	 bit;
	enum cfg_type	 type;
	double		 min;
	double		 max;
	int		 min_open;
	const char	*rule;
	int		(*fn)(struct cfg_load *, struct cfg *);
} cfg_keys[] = {
	{ "model", CFG_SET_MODEL, CFG_T_FN, 0, 0, 0, NULL, cfg_key_model },
	{ "threads", CFG_SET_THREADS, CFG_T_INT, 0, CFG_MAX_THREADS, 0,
	    N_("must be 0 (all cores) to 1024"), NULL },
	{ "context", CFG_SET_CTX, CFG_T_INT, 0, CFG_MAX_CTX, 0,
	    N_("must be 0 (the model's) to 16777216"), NULL },
	{ "ctx_size", CFG_SET_CTX, CFG_T_INT, 0, CFG_MAX_CTX, 0,
	    N_("must be 0 (the model's) to 16777216"), NULL },
	{ "temperature", CFG_SET_TEMPERATURE, CFG_T_FLOAT, 0, 1e6, 0,
	    N_("must be 0 (greedy) or more"), NULL },
	{ "top_k", CFG_SET_TOP_K, CFG_T_INT, 0, INT32_MAX, 0,
	    N_("must be 0 (off) or more"), NULL },
	{ "top_p", CFG_SET_TOP_P, CFG_T_FLOAT, 0, 1, 1,
	    N_("must be above 0 and at most 1 (off)"), NULL },
	{ "min_p", CFG_SET_MIN_P, CFG_T_FLOAT, 0, 1, 0,
	    N_("must be 0 (off) to 1"), NULL },
	{ "repeat_penalty", CFG_SET_REPEAT_PENALTY, CFG_T_FLOAT, 0, 1e6, 1,
	    N_("must be above 0 (1 is off)"), NULL },
	{ "repeat_last_n", CFG_SET_REPEAT_LAST_N, CFG_T_INT, -1, INT32_MAX, 0,
	    N_("must be -1 (the whole context), 0 (off) or more"), NULL },
	{ "seed", CFG_SET_SEED, CFG_T_FN, 0, 0, 0, NULL, cfg_key_seed },
	{ "max_tokens", CFG_SET_MAX_TOKENS, CFG_T_INT, -1, INT32_MAX, 0,
	    N_("must be -1 (until the context is full) or at least 1"), NULL },
	{ "template", CFG_SET_TEMPLATE, CFG_T_FN, 0, 0, 0, NULL,
	    cfg_key_template },
	{ "system", CFG_SET_SYSTEM, CFG_T_FN, 0, 0, 0, NULL, cfg_key_system },
	{ "theme", CFG_SET_THEME, CFG_T_FN, 0, 0, 0, NULL, cfg_key_theme },
	{ "prompts", CFG_SEEN_PROMPTS, CFG_T_FN, 0, 0, 0, NULL,
	    cfg_key_prompts },
	{ "stop", CFG_SET_STOP, CFG_T_FN, 0, 0, 0, NULL, cfg_key_stop },
	{ "backend", CFG_SET_BACKEND, CFG_T_FN, 0, 0, 0, NULL,
	    cfg_key_backend },
	{ "lora", CFG_SET_LORA, CFG_T_FN, 0, 0, 0, NULL, cfg_key_lora },
	{ "lora_merge", CFG_SET_LORA_MERGE, CFG_T_FN, 0, 0, 0, NULL,
	    cfg_key_lora_merge },
	{ "prompt_cache", CFG_SET_PROMPT_CACHE, CFG_T_FN, 0, 0, 0, NULL,
	    cfg_key_prompt_cache },
	{ "prompt_cache_size", CFG_SET_PROMPT_CACHE_SIZE, CFG_T_FN, 0, 0, 0,
	    NULL, cfg_key_prompt_cache_size },
};

/* Store a checked number in the field the key's bit names. */
static void
cfg_store(struct cfg *c, unsigned bit, double v)
{
	switch (bit) {
	case CFG_SET_THREADS:
		c->threads = (int)v;
		break;
	case CFG_SET_CTX:
		c->n_ctx = (uint32_t)v;
		break;
	case CFG_SET_TEMPERATURE:
		c->temperature = (float)v;
		break;
	case CFG_SET_TOP_K:
		c->top_k = (int32_t)v;
		break;
	case CFG_SET_TOP_P:
		c->top_p = (float)v;
		break;
	case CFG_SET_MIN_P:
		c->min_p = (float)v;
		break;
	case CFG_SET_REPEAT_PENALTY:
		c->repeat_penalty = (float)v;
		break;
	case CFG_SET_REPEAT_LAST_N:
		c->repeat_last_n = (int32_t)v;
		break;
	case CFG_SET_MAX_TOKENS:
		c->max_tokens = (int32_t)v;
		break;
	}
}

/* The value of key k: a number checked against its range, or k->fn. */
static int
cfg_value(struct cfg_load *l, struct cfg *c, const struct cfg_key *k)
{
	struct cfg_parse	*p = &l->p;
	long long		 i = 0;
	double			 v;

	switch (k->type) {
	case CFG_T_FN:
		return k->fn(l, c);
	case CFG_T_INT:
		if (cfg_get_int(p, (long long)k->min, (long long)k->max,
		    _(k->rule), &i) != 0)
			return -1;
		/* max_tokens: 0 would be a reply of nothing */
		if (i == 0 && k->bit == CFG_SET_MAX_TOKENS)
			break;
		cfg_store(c, k->bit, (double)i);
		return 0;
	case CFG_T_FLOAT:
		if (cfg_get_float(p, &v) != 0)
			return -1;
		if (v < k->min || (k->min_open && v == k->min) || v > k->max)
			break;
		cfg_store(c, k->bit, v);
		return 0;
	}
	return cfg_error(p, &p->mark, _("%s out of range: %s"), p->val,
	    _(k->rule));
}

static int
cfg_bit_index(unsigned bit)
{
	int	i = 0;

	while (bit > 1) {
		bit >>= 1;
		i++;
	}
	return i;
}

/* One top-level key and its value; the key is the current event. */
static int
cfg_top_key(struct cfg_parse *p, void *arg)
{
	struct cfg_load		*l = arg;
	const struct cfg_key	*k = NULL;
	yaml_mark_t		 m = p->mark;
	size_t			 i;
	char			*u;
	int			 slot, rc;

	for (i = 0; i < sizeof cfg_keys / sizeof *cfg_keys; i++) {
		if (strlen(cfg_keys[i].name) == p->vlen &&
		    strcmp(cfg_keys[i].name, p->val) == 0) {
			k = &cfg_keys[i];
			break;
		}
	}
	if (k == NULL) {
		u = xstrndup(p->val, p->vlen);
		rc = cfg_skip_unknown(p, u);
		free(u);
		return rc;
	}
	p->key = k->name;
	slot = cfg_bit_index(k->bit);
	if ((l->seen & k->bit) && strcmp(l->seen_as[slot], k->name) != 0)
		return cfg_error(p, &m, _("given twice (first as '%s' at line "
		    "%zu)"), l->seen_as[slot],
		    (size_t)l->seen_at[slot].line + 1);
	if (l->seen & k->bit)
		return cfg_error(p, &m, _("given twice (first at line %zu)"),
		    (size_t)l->seen_at[slot].line + 1);
	l->seen |= k->bit;
	l->seen_at[slot] = m;
	l->seen_as[slot] = k->name;
	if (cfg_next(p) != 0 || cfg_value(l, l->c, k) != 0)
		return -1;
	l->c->set |= k->bit & ~CFG_SEEN_PROMPTS;
	p->key = NULL;
	return 0;
}

static int
cfg_fp_cmp(const void *a, const void *b)
{
	const struct cfg_fprompt	*x = a, *y = b;
	int				 r = strcmp(x->name, y->name);

	if (r != 0)
		return r;
	return x->order < y->order ? -1 : x->order > y->order;
}

static int
cfg_order_cmp(const void *a, const void *b)
{
	const struct cfg_fprompt	*x = a, *y = b;

	return x->order < y->order ? -1 : x->order > y->order;
}

static int
cfg_ptr_cmp(const void *a, const void *b)
{
	const struct cfg_prompt	*x = *(const struct cfg_prompt *const *)a;
	const struct cfg_prompt	*y = *(const struct cfg_prompt *const *)b;

	return strcmp(x->name, y->name);
}

static int
cfg_ptr_find(const void *key, const void *b)
{
	return strcmp(key, (*(const struct cfg_prompt *const *)b)->name);
}

/*
 * Add this file's prompts: a name given twice in one file is an error,
 * one the struct already has is replaced.  Both sides are sorted first,
 * so a file of 100k prompts costs n log n, not n^2.
 */
static int
cfg_merge_prompts(struct cfg_load *l, struct cfg *c)
{
	struct cfg_parse	*p = &l->p;
	struct cfg_fprompt	*f;
	struct cfg_prompt	**idx, **hit;
	size_t			 i, j, n_old = c->n_prompts;
	char			*q;

	if (l->n_fp == 0)
		return 0;
	p->key = "prompts";
	qsort(l->fp, l->n_fp, sizeof *l->fp, cfg_fp_cmp);
	for (i = 1, j = 0; i < l->n_fp; i++) {
		if (strcmp(l->fp[i].name, l->fp[i - 1].name) == 0 &&
		    (j == 0 || l->fp[i].order < l->fp[j].order))
			j = i;	/* the repeat that comes first in the file */
	}
	if (j != 0) {
		q = cfg_quote(l->fp[j].name, strlen(l->fp[j].name));
		cfg_error(p, &l->fp[j].mark, _("prompt '%s' defined twice "
		    "(first at line %zu)"), q,
		    (size_t)l->fp[j - 1].mark.line + 1);
		free(q);
		return -1;
	}
	/* New prompts are listed in the order the file gives them. */
	qsort(l->fp, l->n_fp, sizeof *l->fp, cfg_order_cmp);
	/* Grow first: the sorted index points into the final array. */
	c->prompts = xreallocarray(c->prompts, n_old + l->n_fp,
	    sizeof *c->prompts);
	idx = xreallocarray(NULL, n_old + 1, sizeof *idx);
	for (i = 0; i < n_old; i++)
		idx[i] = &c->prompts[i];
	if (n_old > 1)
		qsort(idx, n_old, sizeof *idx, cfg_ptr_cmp);
	for (i = 0; i < l->n_fp; i++) {
		f = &l->fp[i];
		hit = n_old == 0 ? NULL :
		    bsearch(f->name, idx, n_old, sizeof *idx, cfg_ptr_find);
		if (hit == NULL) {
			j = c->n_prompts++;
			c->prompts[j].name = f->name;
		} else {
			j = (size_t)(*hit - c->prompts);
			free(c->prompts[j].text);
			free(f->name);
		}
		c->prompts[j].text = f->text;
		f->name = f->text = NULL;
	}
	free(idx);
	p->key = NULL;
	return 0;
}

static void
cfg_copy(struct cfg *dst, const struct cfg *src)
{
	size_t	i;

	*dst = *src;
	dst->model = src->model != NULL ? xstrdup(src->model) : NULL;
	dst->template_name = src->template_name != NULL ?
	    xstrdup(src->template_name) : NULL;
	dst->system = src->system != NULL ? xstrdup(src->system) : NULL;
	dst->theme = src->theme != NULL ? xstrdup(src->theme) : NULL;
	dst->backend_url = src->backend_url != NULL ?
	    xstrdup(src->backend_url) : NULL;
	dst->backend_model = src->backend_model != NULL ?
	    xstrdup(src->backend_model) : NULL;
	dst->backend_key_env = src->backend_key_env != NULL ?
	    xstrdup(src->backend_key_env) : NULL;
	dst->prompts = NULL;
	if (src->n_prompts > 0)
		dst->prompts = xreallocarray(NULL, src->n_prompts,
		    sizeof *dst->prompts);
	for (i = 0; i < src->n_prompts; i++) {
		dst->prompts[i].name = xstrdup(src->prompts[i].name);
		dst->prompts[i].text = xstrdup(src->prompts[i].text);
	}
	for (i = 0; i < src->n_lora; i++)
		dst->lora[i] = xstrdup(src->lora[i]);
}

static void
cfg_load_fini(struct cfg_load *l)
{
	size_t	i;

	cfg_parse_fini(&l->p);
	for (i = 0; i < l->n_fp; i++) {
		free(l->fp[i].name);
		free(l->fp[i].text);
	}
	free(l->fp);
}

/* Fill c with the built-in defaults (the prompt "default" included). */
void
cfg_init(struct cfg *c)
{
	memset(c, 0, sizeof *c);
	c->temperature = 0.2f;
	c->top_k = 40;
	c->top_p = 0.9f;
	c->min_p = 0.0f;
	c->repeat_penalty = 1.1f;
	c->repeat_last_n = 64;
	c->seed = 0;
	c->max_tokens = -1;
	c->prompt_cache = 1;
	c->prompt_cache_bytes = CFG_PROMPT_CACHE_BYTES;
	c->template_name = xstrdup("auto");
	c->system = xstrdup("default");
	c->theme = xstrdup("default");
	c->prompts = xmalloc(sizeof *c->prompts);
	c->prompts[0].name = xstrdup("default");
	c->prompts[0].text = xstrdup(CFG_DEFAULT_SYSTEM);
	c->n_prompts = 1;
}

/* Free what c owns and zero it; NULL is a no-op. */
void
cfg_free(struct cfg *c)
{
	size_t	i;

	if (c == NULL)
		return;
	free(c->model);
	free(c->template_name);
	free(c->system);
	free(c->theme);
	free(c->backend_url);
	free(c->backend_model);
	free(c->backend_key_env);
	for (i = 0; i < c->n_prompts; i++) {
		free(c->prompts[i].name);
		free(c->prompts[i].text);
	}
	free(c->prompts);
	for (i = 0; i < c->n_lora; i++)
		free(c->lora[i]);
	memset(c, 0, sizeof *c);
}

/*
 * Parse len bytes of YAML named name (for messages) over c: keys given
 * replace fields and set their CFG_SET_* bits, prompts are added or
 * replaced by name.  Returns 0, or -1 with *cause set (caller frees) and
 * c untouched.  Warnings go to warn(arg, msg) when warn is not NULL.
 */
int
cfg_load_string(struct cfg *c, const char *name, const char *buf,
    size_t len, cfg_warn_fn warn, void *arg, char **cause)
{
	struct cfg_load	 l;
	struct cfg	 tmp;
	char		*q;
	int		 rc = -1;

	memset(&l, 0, sizeof l);
	cfg_parse_init(&l.p, name, N_("config"), buf, len, warn, arg);
	cfg_copy(&tmp, c);
	l.c = &tmp;
	if (cfg_parse_map(&l.p, cfg_top_key, &l) != 0 ||
	    cfg_merge_prompts(&l, &tmp) != 0)
		goto out;
	if ((l.seen & CFG_SET_SYSTEM) && cfg_prompt(&tmp, tmp.system) == NULL) {
		l.p.key = "system";
		q = cfg_quote(tmp.system, strlen(tmp.system));
		cfg_error(&l.p, &l.system_at, _("no prompt named '%s'"), q);
		free(q);
		goto out;
	}
	rc = 0;
out:
	cfg_load_fini(&l);
	if (rc == 0) {
		cfg_free(c);
		*c = tmp;
	} else {
		cfg_free(&tmp);
		if (cause != NULL)
			*cause = l.p.cause;
		else
			free(l.p.cause);
	}
	return rc;
}

/*
 * Load the file at path over c, as cfg_load_string.  Returns 0, or -1
 * with *cause set (caller frees); errno is ENOENT when the file does not
 * exist, so a missing default config can be ignored.
 */
int
cfg_load_file(struct cfg *c, const char *path, cfg_warn_fn warn, void *arg,
    char **cause)
{
	char	*buf, *why = NULL;
	size_t	 len = 0;
	int	 rc, e;

	if ((buf = cfg_read(path, &len, &why)) == NULL) {
		e = errno;
		if (cause != NULL)
			*cause = why;
		else
			free(why);
		errno = e;
		return -1;
	}
	rc = cfg_load_string(c, path, buf, len, warn, arg, cause);
	free(buf);
	if (rc != 0)
		errno = EINVAL;
	return rc;
}

/*
 * $XDG_CONFIG_HOME/yangtuo/config.yaml when that is an absolute path, else
 * ~/.config/yangtuo/config.yaml (xdg.c, as for every other folder); NULL
 * if there is no home.  Caller frees.
 */
char *
cfg_default_path(void)
{
	char	*dir, *path;

	if ((dir = xdg_dir(XDG_CONFIG, NULL, 0)) == NULL)
		return NULL;
	xasprintf(&path, "%s/config.yaml", dir);
	free(dir);
	return path;
}

/* The prompt called name (borrowed from c), or NULL. */
const struct cfg_prompt *
cfg_prompt(const struct cfg *c, const char *name)
{
	size_t	i;

	if (name == NULL)
		return NULL;
	for (i = 0; i < c->n_prompts; i++)
		if (strcmp(c->prompts[i].name, name) == 0)
			return &c->prompts[i];
	return NULL;
}

/* Edit distance of a and b in bytes (short names only). */
static size_t
distance(const char *a, const char *b)
{
	size_t	 la = strlen(a), lb = strlen(b), i, j, *row, prev, t, d;

	if (la > 64 || lb > 64)
		return SIZE_MAX;
	row = xcalloc(lb + 1, sizeof *row);
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			t = row[j];
			d = prev + (a[i - 1] != b[j - 1]);
			if (row[j] + 1 < d)
				d = row[j] + 1;
			if (row[j - 1] + 1 < d)
				d = row[j - 1] + 1;
			row[j] = d;
			prev = t;
		}
	}
	d = row[lb];
	free(row);
	return d;
}

/* The configured prompt whose name is nearest to name (a typo: at most
 * a third of its bytes off), or NULL. */
const struct cfg_prompt *
cfg_prompt_near(const struct cfg *c, const char *name)
{
	const struct cfg_prompt	*best = NULL;
	size_t			 i, d, bd = SIZE_MAX, max;

	max = strlen(name) / 3 > 0 ? strlen(name) / 3 : 1;
	for (i = 0; i < c->n_prompts; i++)
		if ((d = distance(name, c->prompts[i].name)) < bd) {
			bd = d;
			best = &c->prompts[i];
		}
	return bd <= max ? best : NULL;
}
