/*
 * The hardened libyaml event loop behind the config and the theme files:
 * libyaml's event parser (never its document loader), with size, nesting
 * and aliases bounded here, bad bytes refused before libyaml sees them,
 * and every error reported once as "file:line:col: key 'k': problem".
 */
#include "config.h"

#include "cfg_impl.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "text.h"
#include "xmalloc.h"
#include "utf8.h"
#include "i18n.h"

#define CFG_MAX_WARNINGS	20	/* per load; then one summary */
#define CFG_QUOTE_MAX		40	/* characters of user text echoed */

/*
 * User text for a message, through the one sanitizer (text.c): controls,
 * bidi and other unsafe characters are shown as placeholders so a key
 * cannot drive the terminal, and long text is cut (caller frees).
 */
char *
cfg_quote(const char *s, size_t len)
{
	size_t	 i, chars = 0;
	char	*safe, *out;

	for (i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80 &&
		    chars++ == CFG_QUOTE_MAX)
			break;
	safe = text_line_n(s, i);
	if (i == len)
		return safe;
	xasprintf(&out, "%s...", safe);
	free(safe);
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
		xasprintf(&p->cause, _("%s:%zu:%zu: key '%s': %s"), p->name,
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

/* Record the first error at a libyaml mark (later ones are dropped);
 * returns -1. */
int
cfg_error(struct cfg_parse *p, const yaml_mark_t *m, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	cfg_verror_at(p, m->line + 1, m->column + 1, fmt, ap);
	va_end(ap);
	return -1;
}

/* A warning "file:line:col: msg" through the callback; after
 * CFG_MAX_WARNINGS of them, one summary and then silence. */
void
cfg_warn(struct cfg_parse *p, const yaml_mark_t *m, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg, *line;

	if (p->warn == NULL || p->n_warn > CFG_MAX_WARNINGS)
		return;
	if (p->n_warn++ == CFG_MAX_WARNINGS) {
		xasprintf(&line, _("%s: more warnings not shown"), p->name);
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
	size_t			 n = p->len, i = 0, k, line, col;
	uint32_t		 c;

	if (n >= 2 && ((b[0] == 0xfe && b[1] == 0xff) ||
	    (b[0] == 0xff && b[1] == 0xfe)))
		return cfg_error_at(p, 1, 1, _("UTF-16 byte-order mark: the "
		    "%s must be UTF-8"), _(p->what));
	while (i < n) {
		if (b[i] == 0) {
			cfg_offset_pos(p->buf, n, i, &line, &col);
			return cfg_error_at(p, line, col, _("NUL byte in the "
			    "file"));
		}
		if ((k = utf8_char(p->buf + i, n - i, &c)) == 0)
			goto bad;
		i += k;
	}
	return 0;
bad:
	cfg_offset_pos(p->buf, n, i, &line, &col);
	return cfg_error_at(p, line, col, _("invalid UTF-8 (byte 0x%02X): the "
	    "%s must be UTF-8"), b[i], _(p->what));
}

/* libyaml's own complaint, with its mark, as our error. */
static int
cfg_yaml_error(struct cfg_parse *p)
{
	yaml_parser_t	*y = &p->parser;
	const char	*what = y->problem;
	size_t		 line, col;

	if (what == NULL)
		what = _("syntax error");

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
		return cfg_error(p, &y->problem_mark, _("%s (%s at line %zu, "
		    "column %zu)"), what, y->context,
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

	if (p->max_aliases == 0)
		return cfg_error(p, &p->mark, _("aliases are not allowed in a "
		    "%s"), _(p->what));
	if (++p->n_aliases > p->max_aliases)
		return cfg_error(p, &p->mark, _("more than %d aliases"),
		    p->max_aliases);
	for (i = p->n_anchors; i-- > 0; ) {
		if (strcmp(p->anchors[i].name, name) == 0) {
			a = &p->anchors[i];
			break;
		}
	}
	q = cfg_quote(name, strlen(name));
	if (a == NULL)
		rc = cfg_error(p, &p->mark, _("undefined alias '*%s'"), q);
	else if (!a->scalar && a->open)
		rc = cfg_error(p, &p->mark, _("cyclic alias '*%s' (it refers "
		    "to a node that contains it)"), q);
	else if (!a->scalar)
		rc = cfg_error(p, &p->mark, _("alias '*%s' names a sequence or "
		    "mapping; only scalars may be aliased"), q);
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
 * Step to the next event, iteratively: depth is counted here (libyaml has
 * no limit of its own before 0.2.6), anchors recorded, aliases resolved.
 * Returns 0, or -1 with the error recorded.
 */
int
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
			return cfg_error(p, &p->mark, _("NUL character in a "
			    "value"));
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
			return cfg_error(p, &p->mark, _("nested deeper than %d "
			    "levels"), CFG_MAX_DEPTH);
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

/* Skip the current node (scalar or whole collection) without recursion;
 * 0 or -1. */
int
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

/*
 * Warn "unknown key 'shown' (ignored)" at the current event (the key) and
 * skip its value; errors inside the value name the key as shown.  0 or -1.
 */
int
cfg_skip_unknown(struct cfg_parse *p, const char *shown)
{
	yaml_mark_t	 m = p->mark;
	const char	*saved = p->key;
	char		*q;

	q = cfg_quote(shown, strlen(shown));
	cfg_warn(p, &m, _("unknown key '%s' (ignored)"), q);
	free(q);
	free(p->ukey);
	p->ukey = xstrdup(shown);
	p->key = p->ukey;
	if (cfg_next(p) != 0 || cfg_skip(p) != 0)
		return -1;
	p->key = saved;
	return 0;
}

/* Whether the current scalar carries this explicit tag. */
int
cfg_tag_is(const struct cfg_parse *p, const char *tag)
{
	return p->tag != NULL && strcmp(p->tag, tag) == 0;
}

/* Whether the current node is a plain empty, ~ or null scalar (YAML's
 * null), or an explicit !!null. */
int
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

/* What the current node is, for "expected X, not Y" (a static string). */
const char *
cfg_kind(const struct cfg_parse *p)
{
	if (p->type == YAML_SEQUENCE_START_EVENT)
		return _("a sequence");
	if (p->type == YAML_MAPPING_START_EVENT)
		return _("a mapping");
	if (cfg_is_null(p))
		return _("an empty value");
	if (p->plain)
		return _("a single value");
	return _("a string");
}

/* The current node as a string (caller frees *out); empty only when
 * allow_empty.  0 or -1. */
int
cfg_get_str(struct cfg_parse *p, int allow_empty, char **out)
{
	if (p->type != YAML_SCALAR_EVENT || (!allow_empty && cfg_is_null(p)))
		return cfg_error(p, &p->mark, _("expected a string, not %s"),
		    cfg_kind(p));
	if (cfg_is_null(p))
		*out = xstrdup("");
	else if (p->vlen == 0 && !allow_empty)
		return cfg_error(p, &p->mark, _("must not be empty"));
	else
		*out = xstrndup(p->val, p->vlen);
	return 0;
}

/* true or false (YAML 1.2's forms, or tagged !!bool). */
int
cfg_get_bool(struct cfg_parse *p, int *out)
{
	static const char *const	t[] = { "true", "True", "TRUE" };
	static const char *const	f[] = { "false", "False", "FALSE" };
	size_t				i;
	char				*q;

	if (p->type != YAML_SCALAR_EVENT || cfg_is_null(p))
		return cfg_error(p, &p->mark,
		    _("expected true or false, not %s"), cfg_kind(p));
	if (p->plain || cfg_tag_is(p, CFG_TAG_BOOL)) {
		for (i = 0; i < 3; i++) {
			if (strcmp(p->val, t[i]) == 0 ||
			    strcmp(p->val, f[i]) == 0) {
				*out = strcmp(p->val, t[i]) == 0;
				return 0;
			}
		}
	}
	q = cfg_quote(p->val, p->vlen);
	cfg_error(p, &p->mark, _("expected true or false, not '%s'"), q);
	free(q);
	return -1;
}

/* 0 if the scalar may be read as a number (plain, or tagged !!int or
 * !!float), else -1 with "expected <what>" recorded. */
int
cfg_numeric(struct cfg_parse *p, const char *what)
{
	if (p->type != YAML_SCALAR_EVENT || cfg_is_null(p) ||
	    (!p->plain && !cfg_tag_is(p, CFG_TAG_INT) &&
	    !cfg_tag_is(p, CFG_TAG_FLOAT)))
		return cfg_error(p, &p->mark, _("expected %s, not %s"), what,
		    cfg_kind(p));
	return 0;
}

/* Decimal digits with an optional sign: 0, -1 if not a number, 1 if
 * the magnitude does not fit 64 bits. */
int
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

/* Record "expected an integer, not '<value>'"; returns -1. */
int
cfg_not_integer(struct cfg_parse *p)
{
	char	*q = cfg_quote(p->val, p->vlen);

	cfg_error(p, &p->mark, _("expected an integer, not '%s'"), q);
	free(q);
	return -1;
}

/* A decimal integer in [min, max] (min >= -1); range says the rule.
 * 0 or -1. */
int
cfg_get_int(struct cfg_parse *p, long long min, long long max,
    const char *range, long long *out)
{
	uint64_t	v;
	int		neg, rc;

	if (cfg_numeric(p, _("an integer")) != 0)
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
	return cfg_error(p, &p->mark, _("%s out of range: %s"), p->val, range);
}

/* A finite decimal number (C locale, whatever LC_NUMERIC says); 0 or -1.
 * Thread-safe: the locale is switched with uselocale() only. */
int
cfg_get_float(struct cfg_parse *p, double *out)
{
	const char	*s = p->val;
	int		 digits = 0;
	locale_t	 c, old = (locale_t)0;
	char		*end, *q;

	if (cfg_numeric(p, _("a number")) != 0)
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
		cfg_error(p, &p->mark, _("expected a number, not '%s'"), q);
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
		return cfg_error(p, &p->mark, _("%s is out of range"), p->val);
	return 0;
}


/*
 * Set p up to parse len bytes of buf, called name in messages (NULL:
 * "(string)"); what ("config", "theme") names the kind of file.  Warnings
 * go to warn(arg, msg) when warn is not NULL.  Free with cfg_parse_fini.
 */
void
cfg_parse_init(struct cfg_parse *p, const char *name, const char *what,
    const char *buf, size_t len, cfg_warn_fn warn, void *arg)
{
	memset(p, 0, sizeof *p);
	p->name = name != NULL ? name : "(string)";
	p->what = what;
	p->buf = buf;
	p->len = len;
	p->warn = warn;
	p->warn_arg = arg;
	p->max_aliases = CFG_MAX_ALIASES;
	p->max_size = CFG_MAX_SIZE;
	if (!yaml_parser_initialize(&p->parser))
		fatal("out of memory initialising libyaml");
}

/* Hand the buffer to libyaml once its size and bytes are known good;
 * 0 or -1 with p->cause. */
int
cfg_parse_start(struct cfg_parse *p)
{
	if (p->len > p->max_size) {
		xasprintf(&p->cause, _("%s: too large (%zu bytes; the limit is "
		    "%zu)"), p->name, p->len, p->max_size);
		return -1;
	}
	if (cfg_check_bytes(p) != 0)
		return -1;
#ifdef HAVE_YAML_SET_MAX_NEST_LEVEL
	/* libyaml >= 0.2.6 has its own (process-wide) limit; keep it above
	 * ours so that our message, which names the key, normally wins. */
	yaml_set_max_nest_level(2 * CFG_MAX_DEPTH);
#endif
	/* No yaml_parser_set_encoding(): with it libyaml's scanner counts a
	 * UTF-8 BOM as a column and misreads indentation.  UTF-16 BOMs are
	 * refused above, so its detection can only find UTF-8. */
	yaml_parser_set_input_string(&p->parser,
	    (const unsigned char *)p->buf, p->len);
	return 0;
}

/*
 * Parse the whole stream: at most one document, whose root is a mapping
 * (or empty); key(p, arg) is called for each of its keys, which must be
 * scalars.  Returns 0, or -1 with p->cause set.
 */
int
cfg_parse_map(struct cfg_parse *p, cfg_key_fn key, void *arg)
{
	if (cfg_parse_start(p) != 0)
		return -1;
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
			if (p->type != YAML_SCALAR_EVENT)
				return cfg_error(p, &p->mark,
				    _("expected a key, not %s"), cfg_kind(p));
			if (key(p, arg) != 0)
				return -1;
		}
	} else if (!cfg_is_null(p))
		return cfg_error(p, &p->mark, _("expected a mapping of keys to "
		    "values, not %s"), p->type == YAML_SCALAR_EVENT ?
		    _("a single value") : cfg_kind(p));
	if (cfg_next(p) != 0 || cfg_next(p) != 0)	/* document end, ... */
		return -1;
	if (p->type != YAML_STREAM_END_EVENT)
		return cfg_error(p, &p->mark,
		    _("only one document is allowed"));
	return 0;
}

/* Free what p holds (not p->cause, which the caller takes or frees). */
void
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
	free(p->ukey);
}

/* Read the whole file, refusing anything but a regular file of at most
 * CFG_MAX_SIZE bytes; returns the bytes (caller frees) or NULL with
 * *cause set (caller frees) and errno (ENOENT for a missing file). */
char *
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
		xasprintf(cause, _("%s: is a directory"), path);
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		xasprintf(cause, _("%s: not a regular file"), path);
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
	xasprintf(cause, _("%s: too large (more than %u bytes)"), path,
	    CFG_MAX_SIZE);
fail:
	free(buf);
	close(fd);
	errno = EINVAL;
	return NULL;
}

/* A value that is one item or a sequence of them: fn for each item, as
 * the current event; a null value has none. */
int
cfg_each(struct cfg_parse *p, int (*fn)(struct cfg_parse *, void *),
    void *arg)
{
	if (cfg_is_null(p))
		return 0;
	if (p->type != YAML_SEQUENCE_START_EVENT)
		return fn(p, arg);
	for (;;) {
		if (cfg_next(p) != 0)
			return -1;
		if (p->type == YAML_SEQUENCE_END_EVENT)
			return 0;
		if (fn(p, arg) != 0)
			return -1;
	}
}
