/*
 * The configuration file, read with libyaml's event parser (never its
 * document loader) so that size, nesting and aliases are bounded here.
 * A load parses into a copy and replaces the caller's struct only when the
 * whole file is good.  Errors read "file:line:col: key 'k': problem".
 */
#include "config.h"

#include "cfg.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <math.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yaml.h>

#include "xmalloc.h"

#define CFG_MAX_WARNINGS	20	/* per load; then one summary */
#define CFG_MAX_THREADS		1024
#define CFG_MAX_CTX		(1 << 24)
#define CFG_QUOTE_MAX		40	/* characters of user text echoed */

#define CFG_TAG_INT	"tag:yaml.org,2002:int"
#define CFG_TAG_FLOAT	"tag:yaml.org,2002:float"
#define CFG_TAG_NULL	"tag:yaml.org,2002:null"

/*
 * Aliases may name only scalars: a config has no use for shared
 * collections, and refusing them makes billion-laughs expansion and
 * cycles impossible.  An alias to a collection still open is reported as
 * cyclic, one to a finished collection as unsupported.
 */
struct cfg_anchor {
	char	*name;
	int	 scalar;	/* 0: a collection */
	int	 open;		/* collection not yet ended */
	char	*value;		/* scalar text */
	size_t	 len;
	int	 plain;
	char	*tag;
};

/* A prompt read from this file, with where it was, before merging. */
struct cfg_fprompt {
	char		*name;
	char		*text;
	yaml_mark_t	 mark;
	size_t		 order;
};

struct cfg_parse {
	const char		*name;		/* file name for messages */
	const char		*buf;
	size_t			 len;
	yaml_parser_t		 parser;
	yaml_event_t		 ev;
	int			 have_ev;

	/* The current node, aliases already resolved to their scalar. */
	yaml_event_type_t	 type;
	const char		*val;
	size_t			 vlen;
	int			 plain;		/* untagged plain scalar */
	const char		*tag;
	yaml_mark_t		 mark;

	int			 depth;
	int			 open[CFG_MAX_DEPTH + 1]; /* anchor, -1 */
	struct cfg_anchor	*anchors;
	size_t			 n_anchors;
	size_t			 cap_anchors;
	int			 n_aliases;

	const char		*key;		/* top-level key being read */
	char			*ukey;		/* an unknown one's copy */
	unsigned		 seen;		/* keys given (CFG_SET_*) */
	yaml_mark_t		 seen_at[32];
	const char		*seen_as[32];
	yaml_mark_t		 system_at;

	struct cfg_fprompt	*fp;
	size_t			 n_fp;
	size_t			 cap_fp;

	cfg_warn_fn		 warn;
	void			*warn_arg;
	int			 n_warn;
	char			*cause;
};

#define CFG_SEEN_PROMPTS	(1u << 31)

static const char *cfg_templates[] = {
	"auto", "llama3", "llama2", "chatml", "mistral", "none"
};

/*
 * User text for a message: control characters and DEL become '?' so a
 * key cannot drive the terminal, and long text is cut (caller frees).
 */
static char *
cfg_quote(const char *s, size_t len)
{
	char		*out = xmalloc(len + 4), *o = out;
	size_t		 i, chars = 0;
	unsigned char	 ch;

	for (i = 0; i < len; i++) {
		ch = (unsigned char)s[i];
		if ((ch & 0xc0) != 0x80 && chars++ == CFG_QUOTE_MAX) {
			memcpy(o, "...", 3);
			o += 3;
			break;
		}
		if (ch < 0x20 || ch == 0x7f)
			ch = '?';
		else if (ch == 0xc2 && i + 1 < len &&
		    (unsigned char)s[i + 1] >= 0x80 &&
		    (unsigned char)s[i + 1] < 0xa0) {
			ch = '?';	/* a C1 control */
			i++;
		}
		*o++ = (char)ch;
	}
	*o = '\0';
	return out;
}

/* Line and column (1-based, columns in characters) of a byte offset. */
static void
cfg_offset_pos(const char *buf, size_t len, size_t off, size_t *line,
    size_t *col)
{
	size_t	i;

	*line = 1;
	*col = 1;
	for (i = 0; i < off && i < len; i++) {
		if (buf[i] == '\n' ||
		    (buf[i] == '\r' && (i + 1 >= len || buf[i + 1] != '\n'))) {
			(*line)++;
			*col = 1;
		} else if (((unsigned char)buf[i] & 0xc0) != 0x80 &&
		    buf[i] != '\r')
			(*col)++;
	}
}

/* Record the first error, at a line and column; returns -1. */
static int
cfg_verror_at(struct cfg_parse *p, size_t line, size_t col, const char *fmt,
    va_list ap)
{
	char	*msg, *k;

	if (p->cause != NULL)
		return -1;
	xvasprintf(&msg, fmt, ap);
	if (p->key != NULL) {
		k = cfg_quote(p->key, strlen(p->key));
		xasprintf(&p->cause, "%s:%zu:%zu: key '%s': %s", p->name,
		    line, col, k, msg);
		free(k);
	} else
		xasprintf(&p->cause, "%s:%zu:%zu: %s", p->name, line, col,
		    msg);
	free(msg);
	return -1;
}

static int
cfg_error_at(struct cfg_parse *p, size_t line, size_t col,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int
cfg_error_at(struct cfg_parse *p, size_t line, size_t col,
    const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	cfg_verror_at(p, line, col, fmt, ap);
	va_end(ap);
	return -1;
}

static int
cfg_error(struct cfg_parse *p, const yaml_mark_t *m, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Record the first error at a libyaml mark; returns -1. */
static int
cfg_error(struct cfg_parse *p, const yaml_mark_t *m, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	cfg_verror_at(p, m->line + 1, m->column + 1, fmt, ap);
	va_end(ap);
	return -1;
}

static void
cfg_warn(struct cfg_parse *p, const yaml_mark_t *m, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A warning through the callback; after CFG_MAX_WARNINGS, one summary. */
static void
cfg_warn(struct cfg_parse *p, const yaml_mark_t *m, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg, *line;

	if (p->warn == NULL || p->n_warn > CFG_MAX_WARNINGS)
		return;
	if (p->n_warn++ == CFG_MAX_WARNINGS) {
		xasprintf(&line, "%s: more warnings not shown", p->name);
		p->warn(p->warn_arg, line);
		free(line);
		return;
	}
	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	xasprintf(&line, "%s:%zu:%zu: %s", p->name, (size_t)m->line + 1,
	    (size_t)m->column + 1, msg);
	p->warn(p->warn_arg, line);
	free(line);
	free(msg);
}

/*
 * Reject what must never reach libyaml: a UTF-16/32 byte-order mark
 * (libyaml would decode UTF-16; the config is UTF-8 only), NUL bytes and
 * invalid UTF-8 (overlong forms, surrogates, beyond U+10FFFF).
 */
static int
cfg_check_bytes(struct cfg_parse *p)
{
	const unsigned char	*b = (const unsigned char *)p->buf;
	size_t			 n = p->len, i = 0, need, k, line, col;
	unsigned char		 lo, hi;

	if (n >= 2 && ((b[0] == 0xfe && b[1] == 0xff) ||
	    (b[0] == 0xff && b[1] == 0xfe)))
		return cfg_error_at(p, 1, 1, "UTF-16 byte-order mark: the "
		    "config must be UTF-8");
	while (i < n) {
		if (b[i] == 0) {
			cfg_offset_pos(p->buf, n, i, &line, &col);
			return cfg_error_at(p, line, col, "NUL byte in the "
			    "file");
		}
		if (b[i] < 0x80) {
			i++;
			continue;
		}
		lo = 0x80;
		hi = 0xbf;
		if (b[i] >= 0xc2 && b[i] <= 0xdf)
			need = 1;
		else if (b[i] >= 0xe0 && b[i] <= 0xef) {
			need = 2;
			if (b[i] == 0xe0)
				lo = 0xa0;
			else if (b[i] == 0xed)
				hi = 0x9f;
		} else if (b[i] >= 0xf0 && b[i] <= 0xf4) {
			need = 3;
			if (b[i] == 0xf0)
				lo = 0x90;
			else if (b[i] == 0xf4)
				hi = 0x8f;
		} else
			goto bad;
		for (k = 1; k <= need; k++) {
			if (i + k >= n || b[i + k] < lo || b[i + k] > hi)
				goto bad;
			lo = 0x80;
			hi = 0xbf;
		}
		i += need + 1;
	}
	return 0;
bad:
	cfg_offset_pos(p->buf, n, i, &line, &col);
	return cfg_error_at(p, line, col, "invalid UTF-8 (byte 0x%02X): the "
	    "config must be UTF-8", b[i]);
}

/* libyaml's own complaint, with its mark, as our error. */
static int
cfg_yaml_error(struct cfg_parse *p)
{
	yaml_parser_t	*y = &p->parser;
	const char	*what = y->problem;
	size_t		 line, col;

	if (what == NULL)
		what = "syntax error";

	switch (y->error) {
	case YAML_MEMORY_ERROR:
		fatal("out of memory parsing %s", p->name);
	case YAML_READER_ERROR:
		cfg_offset_pos(p->buf, p->len, y->problem_offset, &line, &col);
		if (y->problem_value != -1)
			return cfg_error_at(p, line, col, "%s (0x%02X)", what,
			    (unsigned)y->problem_value);
		return cfg_error_at(p, line, col, "%s", what);
	default:
		break;
	}
	if (y->context != NULL)
		return cfg_error(p, &y->problem_mark, "%s (%s at line %zu, "
		    "column %zu)", what, y->context,
		    (size_t)y->context_mark.line + 1,
		    (size_t)y->context_mark.column + 1);
	return cfg_error(p, &y->problem_mark, "%s", what);
}

static void
cfg_anchor_add(struct cfg_parse *p, const char *name, int scalar)
{
	struct cfg_anchor	*a;

	if (p->n_anchors == p->cap_anchors) {
		p->cap_anchors = p->cap_anchors == 0 ? 16 : p->cap_anchors * 2;
		p->anchors = xreallocarray(p->anchors, p->cap_anchors,
		    sizeof *p->anchors);
	}
	a = &p->anchors[p->n_anchors++];
	memset(a, 0, sizeof *a);
	a->name = xstrdup(name);
	a->scalar = scalar;
	a->open = !scalar;
	if (scalar) {
		a->value = xmalloc(p->vlen + 1);
		memcpy(a->value, p->val, p->vlen);
		a->value[p->vlen] = '\0';
		a->len = p->vlen;
		a->plain = p->plain;
		if (p->tag != NULL)
			a->tag = xstrdup(p->tag);
	}
}

/* An alias becomes the scalar it names; anything else is an error. */
static int
cfg_alias(struct cfg_parse *p)
{
	const char		*name = (const char *)p->ev.data.alias.anchor;
	struct cfg_anchor	*a = NULL;
	size_t			 i;
	char			*q;
	int			 rc;

	if (++p->n_aliases > CFG_MAX_ALIASES)
		return cfg_error(p, &p->mark, "more than %d aliases",
		    CFG_MAX_ALIASES);
	for (i = p->n_anchors; i-- > 0; ) {
		if (strcmp(p->anchors[i].name, name) == 0) {
			a = &p->anchors[i];
			break;
		}
	}
	q = cfg_quote(name, strlen(name));
	if (a == NULL)
		rc = cfg_error(p, &p->mark, "undefined alias '*%s'", q);
	else if (!a->scalar && a->open)
		rc = cfg_error(p, &p->mark, "cyclic alias '*%s' (it refers "
		    "to a node that contains it)", q);
	else if (!a->scalar)
		rc = cfg_error(p, &p->mark, "alias '*%s' names a sequence or "
		    "mapping; only scalars may be aliased", q);
	else {
		p->type = YAML_SCALAR_EVENT;
		p->val = a->value;
		p->vlen = a->len;
		p->plain = a->plain;
		p->tag = a->tag;
		rc = 0;
	}
	free(q);
	return rc;
}

/*
 * The next event, iteratively: depth is counted here (libyaml has no
 * limit of its own before 0.2.6), anchors recorded, aliases resolved.
 */
static int
cfg_next(struct cfg_parse *p)
{
	yaml_event_t	*e = &p->ev;
	const char	*anchor = NULL;

	if (p->have_ev) {
		yaml_event_delete(e);
		p->have_ev = 0;
	}
	if (!yaml_parser_parse(&p->parser, e))
		return cfg_yaml_error(p);
	p->have_ev = 1;
	p->type = e->type;
	p->mark = e->start_mark;
	p->val = NULL;
	p->vlen = 0;
	p->plain = 0;
	p->tag = NULL;

	switch (e->type) {
	case YAML_SCALAR_EVENT:
		p->val = (const char *)e->data.scalar.value;
		p->vlen = e->data.scalar.length;
		p->plain = e->data.scalar.plain_implicit;
		p->tag = (const char *)e->data.scalar.tag;
		/* "\0" in a double-quoted string decodes to NUL. */
		if (memchr(p->val, '\0', p->vlen) != NULL)
			return cfg_error(p, &p->mark, "NUL character in a "
			    "value");
		if (e->data.scalar.anchor != NULL)
			cfg_anchor_add(p, (const char *)e->data.scalar.anchor,
			    1);
		break;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		if (e->type == YAML_SEQUENCE_START_EVENT)
			anchor = (const char *)e->data.sequence_start.anchor;
		else
			anchor = (const char *)e->data.mapping_start.anchor;
		if (p->depth == CFG_MAX_DEPTH)
			return cfg_error(p, &p->mark, "nested deeper than %d "
			    "levels", CFG_MAX_DEPTH);
		p->depth++;
		p->open[p->depth] = -1;
		if (anchor != NULL) {
			p->open[p->depth] = (int)p->n_anchors;
			cfg_anchor_add(p, anchor, 0);
		}
		break;
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		if (p->depth > 0) {
			if (p->open[p->depth] >= 0)
				p->anchors[p->open[p->depth]].open = 0;
			p->depth--;
		}
		break;
	case YAML_ALIAS_EVENT:
		return cfg_alias(p);
	default:
		break;
	}
	return 0;
}

/* Skip the current node (scalar or whole collection) without recursion. */
static int
cfg_skip(struct cfg_parse *p)
{
	int	level = 0;

	for (;;) {
		if (p->type == YAML_SEQUENCE_START_EVENT ||
		    p->type == YAML_MAPPING_START_EVENT)
			level++;
		else if (p->type == YAML_SEQUENCE_END_EVENT ||
		    p->type == YAML_MAPPING_END_EVENT)
			level--;
		if (level <= 0)
			return 0;
		if (cfg_next(p) != 0)
			return -1;
	}
}

static int
cfg_tag_is(const struct cfg_parse *p, const char *tag)
{
	return p->tag != NULL && strcmp(p->tag, tag) == 0;
}

/* A plain empty, ~ or null scalar (YAML's null), or an explicit !!null. */
static int
cfg_is_null(const struct cfg_parse *p)
{
	if (p->type != YAML_SCALAR_EVENT)
		return 0;
	if (cfg_tag_is(p, CFG_TAG_NULL))
		return 1;
	if (!p->plain)
		return 0;
	return p->vlen == 0 || strcmp(p->val, "~") == 0 ||
	    strcmp(p->val, "null") == 0 || strcmp(p->val, "Null") == 0 ||
	    strcmp(p->val, "NULL") == 0;
}

static const char *
cfg_kind(const struct cfg_parse *p)
{
	if (p->type == YAML_SEQUENCE_START_EVENT)
		return "a sequence";
	if (p->type == YAML_MAPPING_START_EVENT)
		return "a mapping";
	if (cfg_is_null(p))
		return "an empty value";
	if (p->plain)
		return "a single value";
	return "a string";
}

/* A string value (caller frees *out); empty only when allow_empty. */
static int
cfg_get_str(struct cfg_parse *p, int allow_empty, char **out)
{
	if (p->type != YAML_SCALAR_EVENT || (!allow_empty && cfg_is_null(p)))
		return cfg_error(p, &p->mark, "expected a string, not %s",
		    cfg_kind(p));
	if (cfg_is_null(p))
		*out = xstrdup("");
	else if (p->vlen == 0 && !allow_empty)
		return cfg_error(p, &p->mark, "must not be empty");
	else
		*out = xstrndup(p->val, p->vlen);
	return 0;
}

/* The scalar may be read as a number: plain, or tagged !!int/!!float. */
static int
cfg_numeric(struct cfg_parse *p, const char *what)
{
	if (p->type != YAML_SCALAR_EVENT || cfg_is_null(p) ||
	    (!p->plain && !cfg_tag_is(p, CFG_TAG_INT) &&
	    !cfg_tag_is(p, CFG_TAG_FLOAT)))
		return cfg_error(p, &p->mark, "expected %s, not %s", what,
		    cfg_kind(p));
	return 0;
}

/* Decimal digits with an optional sign: 0, -1 if not a number, 1 if
 * the magnitude does not fit 64 bits. */
static int
cfg_parse_u64(const char *s, int *neg, uint64_t *v)
{
	unsigned	d;

	*neg = 0;
	*v = 0;
	if (*s == '+' || *s == '-')
		*neg = *s++ == '-';
	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		d = (unsigned)(*s - '0');
		if (*v > (UINT64_MAX - d) / 10) {
			while (*s >= '0' && *s <= '9')
				s++;
			return *s == '\0' ? 1 : -1;
		}
		*v = *v * 10 + d;
	}
	return 0;
}

static int
cfg_not_integer(struct cfg_parse *p)
{
	char	*q = cfg_quote(p->val, p->vlen);

	cfg_error(p, &p->mark, "expected an integer, not '%s'", q);
	free(q);
	return -1;
}

/* A decimal integer in [min, max] (min >= -1); range says the rule. */
static int
cfg_get_int(struct cfg_parse *p, long long min, long long max,
    const char *range, long long *out)
{
	uint64_t	v;
	int		neg, rc;

	if (cfg_numeric(p, "an integer") != 0)
		return -1;
	if ((rc = cfg_parse_u64(p->val, &neg, &v)) < 0)
		return cfg_not_integer(p);
	if (rc > 0 || (neg && v > 1) || (!neg && v > (uint64_t)max))
		goto range;
	*out = neg ? -(long long)v : (long long)v;
	if (*out < min)
		goto range;
	return 0;
range:
	return cfg_error(p, &p->mark, "%s out of range: %s", p->val, range);
}

/* A finite decimal number (C locale, whatever LC_NUMERIC says). */
static int
cfg_get_float(struct cfg_parse *p, double *out)
{
	const char	*s = p->val;
	int		 digits = 0;
	locale_t	 c, old = (locale_t)0;
	char		*end, *q;

	if (cfg_numeric(p, "a number") != 0)
		return -1;
	/* [+-] digits [. digits] [e [+-] digits], with some digit */
	if (*s == '+' || *s == '-')
		s++;
	for (; *s >= '0' && *s <= '9'; s++)
		digits++;
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9'; s++)
			digits++;
	if (digits > 0 && (*s == 'e' || *s == 'E')) {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (*s < '0' || *s > '9')
			digits = 0;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	if (digits == 0 || *s != '\0') {
		q = cfg_quote(p->val, p->vlen);
		cfg_error(p, &p->mark, "expected a number, not '%s'", q);
		free(q);
		return -1;
	}
	c = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
	if (c != (locale_t)0)
		old = uselocale(c);
	*out = strtod(p->val, &end);
	if (c != (locale_t)0) {
		uselocale(old);
		freelocale(c);
	}
	if (!isfinite(*out))
		return cfg_error(p, &p->mark, "%s is out of range", p->val);
	return 0;
}

/* ~ or ~/... with $HOME (or the password entry); NULL if neither. */
static const char *
cfg_home(void)
{
	const char	*h = getenv("HOME");
	struct passwd	*pw;

	if (h != NULL && *h != '\0')
		return h;
	pw = getpwuid(getuid());
	if (pw != NULL && pw->pw_dir != NULL && *pw->pw_dir != '\0')
		return pw->pw_dir;
	return NULL;
}

static int
cfg_key_model(struct cfg_parse *p, struct cfg *c)
{
	const char	*home;
	char		*s;

	if (cfg_get_str(p, 0, &s) != 0)
		return -1;
	if (s[0] == '~' && (s[1] == '\0' || s[1] == '/')) {
		if ((home = cfg_home()) == NULL) {
			free(s);
			return cfg_error(p, &p->mark, "cannot expand ~: HOME "
			    "is not set");
		}
		free(c->model);
		xasprintf(&c->model, "%s%s", home, s + 1);
		free(s);
	} else {
		free(c->model);
		c->model = s;
	}
	return 0;
}

static int
cfg_key_seed(struct cfg_parse *p, struct cfg *c)
{
	uint64_t	v;
	int		neg, rc;

	if (cfg_numeric(p, "an integer") != 0)
		return -1;
	if ((rc = cfg_parse_u64(p->val, &neg, &v)) < 0)
		return cfg_not_integer(p);
	if (rc > 0 || (neg && v != 0))
		return cfg_error(p, &p->mark, "%s out of range: must be 0 "
		    "(random) to %ju", p->val, (uintmax_t)UINT64_MAX);
	c->seed = v;
	return 0;
}

static int
cfg_key_template(struct cfg_parse *p, struct cfg *c)
{
	size_t	 i;
	char	*s, *q;

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
	cfg_error(p, &p->mark, "unknown template '%s' (expected auto, "
	    "llama3, llama2, chatml, mistral or none)", q);
	free(q);
	free(s);
	return -1;
}

static int
cfg_key_system(struct cfg_parse *p, struct cfg *c)
{
	char	*s;

	if (cfg_get_str(p, 0, &s) != 0)
		return -1;
	free(c->system);
	c->system = s;
	p->system_at = p->mark;
	return 0;
}

static int
cfg_key_theme(struct cfg_parse *p, struct cfg *c)
{
	char	*s;

	if (cfg_get_str(p, 0, &s) != 0)
		return -1;
	free(c->theme);
	c->theme = s;
	return 0;
}

static void
cfg_fp_add(struct cfg_parse *p, char *name, char *text,
    const yaml_mark_t *m)
{
	struct cfg_fprompt	*f;

	if (p->n_fp == p->cap_fp) {
		p->cap_fp = p->cap_fp == 0 ? 16 : p->cap_fp * 2;
		p->fp = xreallocarray(p->fp, p->cap_fp, sizeof *p->fp);
	}
	f = &p->fp[p->n_fp];
	f->name = name;
	f->text = text;
	f->mark = *m;
	f->order = p->n_fp++;
}

/* prompts as a mapping: name: text. */
static int
cfg_prompts_map(struct cfg_parse *p)
{
	char		*name, *text;
	yaml_mark_t	 m;

	for (;;) {
		if (cfg_next(p) != 0)
			return -1;
		if (p->type == YAML_MAPPING_END_EVENT)
			return 0;
		m = p->mark;
		if (p->type != YAML_SCALAR_EVENT || cfg_is_null(p))
			return cfg_error(p, &m, "expected a prompt name, not "
			    "%s", cfg_kind(p));
		name = xstrndup(p->val, p->vlen);
		if (cfg_next(p) != 0 || cfg_get_str(p, 1, &text) != 0) {
			free(name);
			return -1;
		}
		cfg_fp_add(p, name, text, &m);
	}
}

/* One {name: ..., text: ...} item of the sequence form. */
static int
cfg_prompts_item(struct cfg_parse *p)
{
	yaml_mark_t	 item = p->mark, m;
	char		*name = NULL, *text = NULL, **slot, *q;

	if (p->type != YAML_MAPPING_START_EVENT)
		return cfg_error(p, &p->mark, "expected a mapping with name "
		    "and text, not %s", cfg_kind(p));
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
			cfg_warn(p, &m, "unknown key '%s' in a prompt "
			    "(ignored)", q);
			free(q);
			if (cfg_next(p) != 0 || cfg_skip(p) != 0)
				goto fail;
			continue;
		}
		if (*slot != NULL) {
			cfg_error(p, &m, "'%s' given twice in one prompt",
			    slot == &name ? "name" : "text");
			goto fail;
		}
		if (cfg_next(p) != 0 || cfg_get_str(p, slot == &text, slot))
			goto fail;
	}
	if (name == NULL) {
		cfg_error(p, &item, "prompt without a name");
		goto fail;
	}
	if (text == NULL) {
		q = cfg_quote(name, strlen(name));
		cfg_error(p, &item, "prompt '%s' has no text", q);
		free(q);
		goto fail;
	}
	cfg_fp_add(p, name, text, &item);
	return 0;
badkey:
	cfg_error(p, &m, "expected name or text, not %s", cfg_kind(p));
fail:
	free(name);
	free(text);
	return -1;
}

static int
cfg_key_prompts(struct cfg_parse *p, struct cfg *c)
{
	if (cfg_is_null(p))
		return 0;
	if (p->type == YAML_MAPPING_START_EVENT)
		return cfg_prompts_map(p);
	if (p->type != YAML_SEQUENCE_START_EVENT)
		return cfg_error(p, &p->mark, "expected a mapping of names to "
		    "texts or a sequence of {name, text}, not %s",
		    cfg_kind(p));
	for (;;) {
		if (cfg_next(p) != 0)
			return -1;
		if (p->type == YAML_SEQUENCE_END_EVENT)
			return 0;
		if (cfg_prompts_item(p) != 0)
			return -1;
	}
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
	int		(*fn)(struct cfg_parse *, struct cfg *);
} cfg_keys[] = {
	{ "model", CFG_SET_MODEL, CFG_T_FN, 0, 0, 0, NULL, cfg_key_model },
	{ "threads", CFG_SET_THREADS, CFG_T_INT, 0, CFG_MAX_THREADS, 0,
	    "must be 0 (all cores) to 1024", NULL },
	{ "context", CFG_SET_CTX, CFG_T_INT, 0, CFG_MAX_CTX, 0,
	    "must be 0 (the model's) to 16777216", NULL },
	{ "ctx_size", CFG_SET_CTX, CFG_T_INT, 0, CFG_MAX_CTX, 0,
	    "must be 0 (the model's) to 16777216", NULL },
	{ "temperature", CFG_SET_TEMPERATURE, CFG_T_FLOAT, 0, 1e6, 0,
	    "must be 0 (greedy) or more", NULL },
	{ "top_k", CFG_SET_TOP_K, CFG_T_INT, 0, INT32_MAX, 0,
	    "must be 0 (off) or more", NULL },
	{ "top_p", CFG_SET_TOP_P, CFG_T_FLOAT, 0, 1, 1,
	    "must be above 0 and at most 1 (off)", NULL },
	{ "min_p", CFG_SET_MIN_P, CFG_T_FLOAT, 0, 1, 0,
	    "must be 0 (off) to 1", NULL },
	{ "repeat_penalty", CFG_SET_REPEAT_PENALTY, CFG_T_FLOAT, 0, 1e6, 1,
	    "must be above 0 (1 is off)", NULL },
	{ "repeat_last_n", CFG_SET_REPEAT_LAST_N, CFG_T_INT, -1, INT32_MAX, 0,
	    "must be -1 (the whole context), 0 (off) or more", NULL },
	{ "seed", CFG_SET_SEED, CFG_T_FN, 0, 0, 0, NULL, cfg_key_seed },
	{ "max_tokens", CFG_SET_MAX_TOKENS, CFG_T_INT, -1, INT32_MAX, 0,
	    "must be -1 (until the context is full) or at least 1", NULL },
	{ "template", CFG_SET_TEMPLATE, CFG_T_FN, 0, 0, 0, NULL,
	    cfg_key_template },
	{ "system", CFG_SET_SYSTEM, CFG_T_FN, 0, 0, 0, NULL, cfg_key_system },
	{ "theme", CFG_SET_THEME, CFG_T_FN, 0, 0, 0, NULL, cfg_key_theme },
	{ "prompts", CFG_SEEN_PROMPTS, CFG_T_FN, 0, 0, 0, NULL,
	    cfg_key_prompts },
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
cfg_value(struct cfg_parse *p, struct cfg *c, const struct cfg_key *k)
{
	long long	i = 0;
	double		v;

	switch (k->type) {
	case CFG_T_FN:
		return k->fn(p, c);
	case CFG_T_INT:
		if (cfg_get_int(p, (long long)k->min, (long long)k->max,
		    k->rule, &i) != 0)
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
	return cfg_error(p, &p->mark, "%s out of range: %s", p->val, k->rule);
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
cfg_top_key(struct cfg_parse *p, struct cfg *c)
{
	const struct cfg_key	*k = NULL;
	yaml_mark_t		 m = p->mark;
	size_t			 i;
	char			*q;
	int			 slot;

	if (p->type != YAML_SCALAR_EVENT)
		return cfg_error(p, &m, "expected a key, not %s", cfg_kind(p));
	for (i = 0; i < sizeof cfg_keys / sizeof *cfg_keys; i++) {
		if (strlen(cfg_keys[i].name) == p->vlen &&
		    strcmp(cfg_keys[i].name, p->val) == 0) {
			k = &cfg_keys[i];
			break;
		}
	}
	if (k == NULL) {
		q = cfg_quote(p->val, p->vlen);
		cfg_warn(p, &m, "unknown key '%s' (ignored)", q);
		free(q);
		/* Errors in the skipped value still name the key. */
		free(p->ukey);
		p->ukey = xstrndup(p->val, p->vlen);
		p->key = p->ukey;
		if (cfg_next(p) != 0 || cfg_skip(p) != 0)
			return -1;
		p->key = NULL;
		return 0;
	}
	p->key = k->name;
	slot = cfg_bit_index(k->bit);
	if ((p->seen & k->bit) && strcmp(p->seen_as[slot], k->name) != 0)
		return cfg_error(p, &m, "given twice (first as '%s' at line "
		    "%zu)", p->seen_as[slot],
		    (size_t)p->seen_at[slot].line + 1);
	if (p->seen & k->bit)
		return cfg_error(p, &m, "given twice (first at line %zu)",
		    (size_t)p->seen_at[slot].line + 1);
	p->seen |= k->bit;
	p->seen_at[slot] = m;
	p->seen_as[slot] = k->name;
	if (cfg_next(p) != 0 || cfg_value(p, c, k) != 0)
		return -1;
	c->set |= k->bit & ~CFG_SEEN_PROMPTS;
	p->key = NULL;
	return 0;
}

/* The stream: at most one document, whose root is a mapping (or empty). */
static int
cfg_parse_stream(struct cfg_parse *p, struct cfg *c)
{
	if (cfg_next(p) != 0 || cfg_next(p) != 0)	/* stream, document */
		return -1;
	if (p->type == YAML_STREAM_END_EVENT)
		return 0;
	if (cfg_next(p) != 0)
		return -1;
	if (p->type == YAML_MAPPING_START_EVENT) {
		for (;;) {
			if (cfg_next(p) != 0)
				return -1;
			if (p->type == YAML_MAPPING_END_EVENT)
				break;
			if (cfg_top_key(p, c) != 0)
				return -1;
		}
	} else if (!cfg_is_null(p))
		return cfg_error(p, &p->mark, "expected a mapping of keys to "
		    "values, not %s", p->type == YAML_SCALAR_EVENT ?
		    "a single value" : cfg_kind(p));
	if (cfg_next(p) != 0 || cfg_next(p) != 0)	/* document end, ... */
		return -1;
	if (p->type != YAML_STREAM_END_EVENT)
		return cfg_error(p, &p->mark, "only one document is allowed");
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
cfg_merge_prompts(struct cfg_parse *p, struct cfg *c)
{
	struct cfg_fprompt	*f;
	struct cfg_prompt	**idx, **hit;
	size_t			 i, j, n_old = c->n_prompts;
	char			*q;

	if (p->n_fp == 0)
		return 0;
	p->key = "prompts";
	qsort(p->fp, p->n_fp, sizeof *p->fp, cfg_fp_cmp);
	for (i = 1, j = 0; i < p->n_fp; i++) {
		if (strcmp(p->fp[i].name, p->fp[i - 1].name) == 0 &&
		    (j == 0 || p->fp[i].order < p->fp[j].order))
			j = i;	/* the repeat that comes first in the file */
	}
	if (j != 0) {
		q = cfg_quote(p->fp[j].name, strlen(p->fp[j].name));
		cfg_error(p, &p->fp[j].mark, "prompt '%s' defined twice "
		    "(first at line %zu)", q,
		    (size_t)p->fp[j - 1].mark.line + 1);
		free(q);
		return -1;
	}
	/* New prompts are listed in the order the file gives them. */
	qsort(p->fp, p->n_fp, sizeof *p->fp, cfg_order_cmp);
	/* Grow first: the sorted index points into the final array. */
	c->prompts = xreallocarray(c->prompts, n_old + p->n_fp,
	    sizeof *c->prompts);
	idx = xreallocarray(NULL, n_old + 1, sizeof *idx);
	for (i = 0; i < n_old; i++)
		idx[i] = &c->prompts[i];
	if (n_old > 1)
		qsort(idx, n_old, sizeof *idx, cfg_ptr_cmp);
	for (i = 0; i < p->n_fp; i++) {
		f = &p->fp[i];
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
	dst->prompts = NULL;
	if (src->n_prompts > 0)
		dst->prompts = xreallocarray(NULL, src->n_prompts,
		    sizeof *dst->prompts);
	for (i = 0; i < src->n_prompts; i++) {
		dst->prompts[i].name = xstrdup(src->prompts[i].name);
		dst->prompts[i].text = xstrdup(src->prompts[i].text);
	}
}

static void
cfg_parse_fini(struct cfg_parse *p)
{
	size_t	i;

	if (p->have_ev)
		yaml_event_delete(&p->ev);
	yaml_parser_delete(&p->parser);
	for (i = 0; i < p->n_anchors; i++) {
		free(p->anchors[i].name);
		free(p->anchors[i].value);
		free(p->anchors[i].tag);
	}
	free(p->anchors);
	for (i = 0; i < p->n_fp; i++) {
		free(p->fp[i].name);
		free(p->fp[i].text);
	}
	free(p->fp);
	free(p->ukey);
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
	for (i = 0; i < c->n_prompts; i++) {
		free(c->prompts[i].name);
		free(c->prompts[i].text);
	}
	free(c->prompts);
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
	struct cfg_parse	 p;
	struct cfg		 tmp;
	char			*q;
	int			 rc = -1;

	memset(&p, 0, sizeof p);
	p.name = name != NULL ? name : "(string)";
	p.buf = buf;
	p.len = len;
	p.warn = warn;
	p.warn_arg = arg;
	if (!yaml_parser_initialize(&p.parser))
		fatal("out of memory initialising libyaml");
	cfg_copy(&tmp, c);
	if (len > CFG_MAX_SIZE) {
		xasprintf(&p.cause, "%s: too large (%zu bytes; the limit is "
		    "%u)", p.name, len, CFG_MAX_SIZE);
		goto out;
	}
	if (cfg_check_bytes(&p) != 0)
		goto out;
#ifdef HAVE_YAML_SET_MAX_NEST_LEVEL
	/* libyaml >= 0.2.6 has its own (process-wide) limit; keep it above
	 * ours so that our message, which names the key, normally wins. */
	yaml_set_max_nest_level(2 * CFG_MAX_DEPTH);
#endif
	/* No yaml_parser_set_encoding(): with it libyaml's scanner counts a
	 * UTF-8 BOM as a column and misreads indentation.  UTF-16 BOMs are
	 * refused above, so its detection can only find UTF-8. */
	yaml_parser_set_input_string(&p.parser, (const unsigned char *)buf,
	    len);
	if (cfg_parse_stream(&p, &tmp) != 0 ||
	    cfg_merge_prompts(&p, &tmp) != 0)
		goto out;
	if ((p.seen & CFG_SET_SYSTEM) && cfg_prompt(&tmp, tmp.system) == NULL) {
		p.key = "system";
		q = cfg_quote(tmp.system, strlen(tmp.system));
		cfg_error(&p, &p.system_at, "no prompt named '%s'", q);
		free(q);
		goto out;
	}
	rc = 0;
out:
	cfg_parse_fini(&p);
	if (rc == 0) {
		cfg_free(c);
		*c = tmp;
	} else {
		cfg_free(&tmp);
		if (cause != NULL)
			*cause = p.cause;
		else
			free(p.cause);
	}
	return rc;
}

/* Read the whole file, refusing anything but a regular file of at most
 * CFG_MAX_SIZE bytes; returns the bytes (caller frees) or NULL. */
static char *
cfg_read(const char *path, size_t *len, char **cause)
{
	struct stat	 st;
	char		*buf = NULL;
	size_t		 cap, n = 0;
	ssize_t		 r;
	int		 fd, e;

	/* O_NONBLOCK: opening a FIFO must not wait for a writer. */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd == -1) {
		e = errno;
		xasprintf(cause, "%s: %s", path, strerror(e));
		errno = e;
		return NULL;
	}
	if (fstat(fd, &st) == -1) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (S_ISDIR(st.st_mode)) {
		xasprintf(cause, "%s: is a directory", path);
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		xasprintf(cause, "%s: not a regular file", path);
		goto fail;
	}
	if (st.st_size > (off_t)CFG_MAX_SIZE)
		goto big;
	cap = (size_t)st.st_size + 1;
	buf = xmalloc(cap);
	for (;;) {
		if (n == cap) {
			if (cap > CFG_MAX_SIZE)
				goto big;	/* it grew while we read */
			cap = cap * 2 > CFG_MAX_SIZE + 1 ?
			    CFG_MAX_SIZE + 1 : cap * 2;
			buf = xreallocarray(buf, cap, 1);
		}
		r = read(fd, buf + n, cap - n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			xasprintf(cause, "%s: %s", path, strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	*len = n;
	return buf;
big:
	xasprintf(cause, "%s: too large (more than %u bytes)", path,
	    CFG_MAX_SIZE);
fail:
	free(buf);
	close(fd);
	errno = EINVAL;
	return NULL;
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
 * ~/.config/yangtuo/config.yaml; NULL if there is no home.  Caller frees.
 */
char *
cfg_default_path(void)
{
	const char	*x = getenv("XDG_CONFIG_HOME");
	char		*path;

	if (x != NULL && x[0] == '/')
		xasprintf(&path, "%s/yangtuo/config.yaml", x);
	else if ((x = cfg_home()) != NULL)
		xasprintf(&path, "%s/.config/yangtuo/config.yaml", x);
	else
		return NULL;
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
