/*
 * Session files.  Written by hand as YAML with double-quoted scalars (so
 * any text round-trips, escapes included) and read back with the config's
 * hardened libyaml event loop over a size-capped buffer: nesting capped,
 * aliases refused, numbers range-checked.
 */
#include "config.h"

#include "session.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <yaml.h>

#include "cfg_impl.h"
#include "conv.h"
#include "modelsum.h"
#include "proto.h"
#include "text.h"
#include "xdg.h"
#include "xmalloc.h"
#include "util.h"
#include "i18n.h"

struct sbuf {
	char	*p;
	size_t	 len;
	size_t	 cap;
};

static void
sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		while (b->len + n + 1 > b->cap)
			b->cap = b->cap == 0 ? 4096 : b->cap * 2;
		b->p = xreallocarray(b->p, b->cap, 1);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;
	int	 n;

	va_start(ap, fmt);
	n = xvasprintf(&s, fmt, ap);
	va_end(ap);
	sb_add(b, s, (size_t)n);
	free(s);
}

/*
 * A YAML double-quoted scalar holding s (valid UTF-8).  Besides quotes,
 * backslashes and C0 controls, the characters libyaml refuses to read
 * raw (C1 controls, U+FEFF, U+FFFE, U+FFFF) and the Unicode line breaks
 * (which it would fold) are escaped, so every text reads back the same.
 */
static void
sb_quoted(struct sbuf *b, const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	char			 esc[16];
	uint32_t		 c;
	size_t			 n;

	sb_add(b, "\"", 1);
	while (*p != '\0') {
		if (*p == '"' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*p;
			sb_add(b, esc, 2);
			p++;
			continue;
		}
		if (*p == '\n' || *p == '\t') {
			sb_add(b, *p == '\n' ? "\\n" : "\\t", 2);
			p++;
			continue;
		}
		if (*p < 0x20 || *p == 0x7F) {
			snprintf(esc, sizeof esc, "\\x%02X", *p);
			sb_add(b, esc, 4);
			p++;
			continue;
		}
		if (*p < 0x80) {
			sb_add(b, (const char *)p, 1);
			p++;
			continue;
		}
		/* A multibyte character: its length and code point. */
		n = *p >= 0xF0 ? 4 : *p >= 0xE0 ? 3 : 2;
		c = *p & (n == 4 ? 0x07 : n == 3 ? 0x0F : 0x1F);
		for (size_t i = 1; i < n && p[i] != '\0'; i++)
			c = c << 6 | (p[i] & 0x3F);
		if ((c >= 0x80 && c <= 0x9F) || c == 0xFEFF || c == 0xFFFE ||
		    c == 0xFFFF || c == 0x2028 || c == 0x2029 || c == 0x85) {
			snprintf(esc, sizeof esc, "\\u%04X", (unsigned)c);
			sb_add(b, esc, 6);
		} else
			sb_add(b, (const char *)p, n);
		while (n-- > 0 && *p != '\0')
			p++;
	}
	sb_add(b, "\"", 1);
}

static const char *stop_names[] = { "eog", "length", "context", "cancel",
    "error", "stop" };
#define N_STOP_NAMES (sizeof stop_names / sizeof *stop_names)

static void
put_message(struct sbuf *b, const struct conv_msg *m)
{
	char		 when[32];
	struct tm	 tm;

	gmtime_r(&m->time, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
	sb_printf(b, "  - role: %s\n    time: %lld  # %s\n    text: ",
	    conv_role_name(m->role), (long long)m->time, when);
	sb_quoted(b, m->text);
	sb_add(b, "\n", 1);
	if (m->cut)
		sb_printf(b, "    cut: true\n");
	if (m->dropped)
		sb_printf(b, "    dropped: true\n");
	if (!m->has_stats)
		return;
	sb_printf(b, "    stop: %s\n", m->stats.stop < N_STOP_NAMES ?
	    stop_names[m->stats.stop] : "error");
	sb_printf(b, "    stats: {prompt: %u, cached: %u, evaluated: %u, "
	    "generated: %u, prefill_sec: %.6f, decode_sec: %.6f}\n",
	    m->stats.prompt, m->stats.cached, m->stats.evaluated,
	    m->stats.generated, m->stats.prefill_sec, m->stats.decode_sec);
	sb_printf(b, "    params: {temperature: %.6g, top_k: %d, top_p: %.6g, "
	    "min_p: %.6g, repeat_penalty: %.6g, repeat_last_n: %d, "
	    "seed: %llu, max_tokens: %d}\n", m->params.temperature,
	    m->params.top_k, m->params.top_p, m->params.min_p,
	    m->params.repeat_penalty, m->params.repeat_last_n,
	    (unsigned long long)m->params.seed, m->params.max_tokens);
}

/* Whether name can name a session file. */
int
session_name_ok(const char *name)
{
	const unsigned char	*p = (const unsigned char *)name;
	size_t			 n = strlen(name);

	if (n == 0 || n > 100 || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0 || name[0] == '.')
		return 0;
	for (; *p != '\0'; p++)
		if (*p == '/' || *p < 0x20 || *p == 0x7F)
			return 0;
	return 1;
}

/* $XDG_DATA_HOME/yangtuo/sessions/NAME.yaml; caller frees. */
char *
session_path(const char *name)
{
	char	*dir, *path;

	if ((dir = xdg_dir(XDG_DATA, "sessions", 1)) == NULL)
		return NULL;
	xasprintf(&path, "%s/%s.yaml", dir, name);
	free(dir);
	return path;
}

/* Write buf to path: temp file in the same folder, fsync, rename, fsync
 * the folder.  The old file stays whole if anything fails. */
int
file_write_atomic(const char *path, const void *buf, size_t len,
    char **cause)
{
	struct util_atomic	a;

	if (util_atomic_open(&a, path, 0600) != 0)
		goto fail;
	if (util_write_all(a.fd, buf, len) != 0) {
		util_atomic_abort(&a);
		goto fail;
	}
	if (util_atomic_commit(&a) == -1)
		goto fail;
	return 0;
fail:
	xasprintf(cause, "%s: %s", path, strerror(errno));
	return -1;
}

/* Save a conversation to a file path. */
int
session_save_file(const struct conv *c, const char *path,
    const char *model_path, char **cause)
{
	struct sbuf	 b = { NULL, 0, 0 };
	const char	*base;
	char		*sum;
	size_t		 i;
	int		 r;

	base = model_path != NULL ? strrchr(model_path, '/') : NULL;
	sb_printf(&b, "# yangtuo conversation\nyangtuo_session: %d\n",
	    SESSION_VERSION);
	sb_printf(&b, "saved: %lld\nmodel: ", (long long)time(NULL));
	sb_quoted(&b, base != NULL ? base + 1 : model_path != NULL ?
	    model_path : "");
	sb_add(&b, "\n", 1);
	if (model_path != NULL && (sum = modelsum_cached(model_path)) !=
	    NULL) {
		sb_printf(&b, "model_sha256: \"%s\"\n", sum);
		free(sum);
	}
	if (c->system_text != NULL) {
		sb_add(&b, "system:\n  name: ", 16);
		sb_quoted(&b, c->system_name != NULL ? c->system_name : "");
		sb_add(&b, "\n  text: ", 9);
		sb_quoted(&b, c->system_text);
		sb_add(&b, "\n", 1);
	}
	if (c->kv_path != NULL) {
		sb_add(&b, "kv: ", 4);
		sb_quoted(&b, c->kv_path);
		sb_add(&b, "\n", 1);
		if (c->kv_sha256 != NULL) {
			sb_add(&b, "kv_sha256: ", 11);
			sb_quoted(&b, c->kv_sha256);
			sb_add(&b, "\n", 1);
		}
	}
	sb_add(&b, "messages:\n", 10);
	if (c->n == 0)
		sb_add(&b, "  []\n", 5);
	for (i = 0; i < c->n; i++)
		put_message(&b, &c->msgs[i]);
	r = file_write_atomic(path, b.p, b.len, cause);
	free(b.p);
	return r;
}

/* The file of the session called name; NULL with *cause set (caller
 * frees) for a name that is not usable or no folder.  Caller frees. */
static char *
named_path(const char *name, char **cause)
{
	char	*path;

	if (!session_name_ok(name)) {
		xasprintf(cause, _("'%s' is not a usable name"), name);
		return NULL;
	}
	if ((path = session_path(name)) == NULL)
		xasprintf(cause, _("no folder for sessions ($HOME unset?)"));
	return path;
}

/* Save a conversation under a name. */
int
session_save(const struct conv *c, const char *name, const char *model_path,
    char **cause)
{
	char	*path;
	int	 r;

	if ((path = named_path(name, cause)) == NULL)
		return -1;
	/* Never replace a file we cannot read: it may be someone's only
	 * copy of a conversation that a newer yangtuo wrote. */
	if (access(path, F_OK) == 0) {
		struct conv	 old;
		char		*why = NULL;

		conv_init(&old);
		r = session_load_file(&old, path, &why);
		conv_free(&old);
		if (r != 0) {
			xasprintf(cause, _("%s exists but is not a session this "
			    "yangtuo can read (%s); it was left as it is: save "
			    "under another name"), path, why);
			free(why);
			free(path);
			return -1;
		}
	}
	r = session_save_file(c, path, model_path, cause);
	free(path);
	return r;
}

/* ---------------------------------------------------------------------- */

/*
 * Reading: the hardened event loop of cfg_parse.c (never libyaml's
 * document loader, which has no nesting limit and is quadratic in flow
 * nesting), with nesting capped, aliases refused (a session we wrote has
 * none, and refusing them keeps memory bounded by the file size) and
 * every number range-checked before it is converted.
 */
struct sload {
	struct cfg_parse	 p;
	struct conv		*c;
	int			 version;	/* -1 until read */
};

/* The current scalar as text (not a collection); 0 or -1. */
static int
s_text(struct cfg_parse *p, const char **v)
{
	if (p->type != YAML_SCALAR_EVENT)
		return cfg_error(p, &p->mark, _("expected a text, not %s"),
		    cfg_kind(p));
	*v = p->val;
	return 0;
}

/* The current scalar as an integer in [min, max]; 0 or -1. */
static int
s_int(struct cfg_parse *p, long long min, long long max, long long *v)
{
	char	range[64];

	snprintf(range, sizeof range, "%lld..%lld", min, max);
	return cfg_get_int(p, min, max, range, v);
}

/* The current scalar as a finite number in [lo, hi]; 0 or -1. */
static int
s_float(struct cfg_parse *p, double lo, double hi, double *v)
{
	if (cfg_get_float(p, v) != 0)
		return -1;
	if (!(*v >= lo && *v <= hi))
		return cfg_error(p, &p->mark, _("%s is out of range (%g to "
		    "%g)"), p->val, lo, hi);
	return 0;
}

/* Enter a mapping's keys: the current node must be a mapping; 0 or -1. */
static int
s_map(struct cfg_parse *p)
{
	if (p->type != YAML_MAPPING_START_EVENT)
		return cfg_error(p, &p->mark, _("expected a mapping, not %s"),
		    cfg_kind(p));
	return 0;
}

/* Step to the next key of the open mapping: 1 with p->key set, 0 at its
 * end, -1 on error.  key holds the key's text (the event's storage is
 * reused by the next step). */
static int
s_key(struct cfg_parse *p, char *key, size_t size)
{
	if (cfg_next(p) != 0)
		return -1;
	if (p->type == YAML_MAPPING_END_EVENT)
		return 0;
	if (p->type != YAML_SCALAR_EVENT)
		return cfg_error(p, &p->mark, _("expected a key, not %s"),
		    cfg_kind(p));
	snprintf(key, size, "%s", p->val);
	p->key = key;
	if (cfg_next(p) != 0)
		return -1;
	return 1;
}

static int
s_stats(struct cfg_parse *p, struct conv_msg *m)
{
	static const char	*sk[] = { "prompt", "cached", "evaluated",
	    "generated" };
	uint32_t		*sv[] = { &m->stats.prompt, &m->stats.cached,
	    &m->stats.evaluated, &m->stats.generated };
	char			 key[32];
	long long		 l;
	double			 d;
	size_t			 i;
	const char		*saved;
	int			 r;

	if (s_map(p) != 0)
		return -1;
	saved = p->key;
	while ((r = s_key(p, key, sizeof key)) == 1) {
		for (i = 0; i < 4; i++)
			if (strcmp(key, sk[i]) == 0)
				break;
		if (i < 4) {
			if (s_int(p, 0, UINT32_MAX, &l) != 0)
				return -1;
			*sv[i] = (uint32_t)l;
		} else if (strcmp(key, "prefill_sec") == 0 ||
		    strcmp(key, "decode_sec") == 0) {
			if (s_float(p, 0, 1e12, &d) != 0)
				return -1;
			if (key[0] == 'p')
				m->stats.prefill_sec = d;
			else
				m->stats.decode_sec = d;
		} else if (cfg_skip(p) != 0)
			return -1;
	}
	p->key = saved;
	return r;
}

static int
s_params(struct cfg_parse *p, struct conv_msg *m)
{
	static const char	*fk[] = { "temperature", "top_p", "min_p",
	    "repeat_penalty" };
	float			*fv[] = { &m->params.temperature,
	    &m->params.top_p, &m->params.min_p, &m->params.repeat_penalty };
	static const char	*ik[] = { "top_k", "repeat_last_n",
	    "max_tokens" };
	int32_t			*iv[] = { &m->params.top_k,
	    &m->params.repeat_last_n, &m->params.max_tokens };
	char			 key[32];
	long long		 l;
	uint64_t		 u;
	double			 d;
	size_t			 i, j;
	const char		*saved;
	int			 r, neg;

	if (s_map(p) != 0)
		return -1;
	saved = p->key;
	while ((r = s_key(p, key, sizeof key)) == 1) {
		for (i = 0; i < 4 && strcmp(key, fk[i]) != 0; i++)
			;
		for (j = 0; j < 3 && strcmp(key, ik[j]) != 0; j++)
			;
		if (i < 4) {
			if (s_float(p, -1, 1e9, &d) != 0)
				return -1;
			*fv[i] = (float)d;
		} else if (j < 3) {
			if (s_int(p, -1, INT32_MAX, &l) != 0)
				return -1;
			*iv[j] = (int32_t)l;
		} else if (strcmp(key, "seed") == 0) {
			if (cfg_numeric(p, _("an integer")) != 0)
				return -1;
			if ((r = cfg_parse_u64(p->val, &neg, &u)) < 0)
				return cfg_not_integer(p);
			if (r > 0 || neg)
				return cfg_error(p, &p->mark, _("%s out of "
				    "range: %s"), p->val, "0..2^64-1");
			m->params.seed = u;
		} else if (cfg_skip(p) != 0)
			return -1;
	}
	p->key = saved;
	return r;
}

/* true or false into *out; 0 or -1. */
static int
s_flag(struct cfg_parse *p, int *out)
{
	if (p->type == YAML_SCALAR_EVENT && strcmp(p->val, "true") == 0)
		*out = 1;
	else if (p->type == YAML_SCALAR_EVENT && strcmp(p->val, "false") == 0)
		*out = 0;
	else
		return cfg_error(p, &p->mark, _("must be true or false"));
	return 0;
}

/* One message (a mapping) appended to c; 0 or -1. */
static int
s_message(struct sload *s)
{
	struct cfg_parse	*p = &s->p;
	struct conv_msg		 m, *added;
	yaml_mark_t		 at = p->mark, role_at = p->mark;
	const char		*t = NULL;
	char			 key[32], *text = NULL, *role = NULL, *q;
	long long		 l;
	size_t			 i;
	int			 r, ri;

	if (p->type != YAML_MAPPING_START_EVENT)
		return cfg_error(p, &p->mark, _("a message must be a "
		    "mapping"));
	memset(&m, 0, sizeof m);
	while ((r = s_key(p, key, sizeof key)) == 1) {
		if (strcmp(key, "role") == 0 || strcmp(key, "text") == 0) {
			if (s_text(p, &t) != 0)
				break;
			if (key[0] == 'r') {
				free(role);
				role = xstrdup(t);
				role_at = p->mark;
			} else {
				free(text);
				text = xstrndup(t, p->vlen);
			}
		} else if (strcmp(key, "time") == 0) {
			if (s_int(p, 0, 100000000000LL, &l) != 0)
				break;
			m.time = (time_t)l;
		} else if (strcmp(key, "cut") == 0) {
			if (s_flag(p, &m.cut) != 0)
				break;
		} else if (strcmp(key, "dropped") == 0) {
			if (s_flag(p, &m.dropped) != 0)
				break;
		} else if (strcmp(key, "stop") == 0) {
			m.has_stats = 1;
			if (s_text(p, &t) != 0)
				break;
			for (i = 0; i < N_STOP_NAMES; i++)
				if (strcmp(t, stop_names[i]) == 0)
					m.stats.stop = (uint32_t)i;
		} else if (strcmp(key, "stats") == 0) {
			m.has_stats = 1;
			if (s_stats(p, &m) != 0)
				break;
		} else if (strcmp(key, "params") == 0) {
			m.has_stats = 1;
			if (s_params(p, &m) != 0)
				break;
		} else if (cfg_skip(p) != 0)
			break;
	}
	p->key = NULL;
	if (r == 0 && (role == NULL || text == NULL))
		r = cfg_error(p, &at, _("a message needs a role and a text"));
	else if (r == 0 && ((ri = conv_role_by_name(role)) < 0 ||
	    ri == CONV_SYSTEM)) {
		q = cfg_quote(role, strlen(role));
		r = cfg_error(p, &role_at, _("unknown role '%s'"), q);
		free(q);
	} else if (r == 0) {
		added = conv_add(s->c, ri, text, strlen(text));
		added->time = m.time;
		added->cut = m.cut;
		added->dropped = m.dropped;
		added->has_stats = m.has_stats;
		added->stats = m.stats;
		added->params = m.params;
	}
	free(role);
	free(text);
	return r == 0 ? 0 : -1;
}

static int
s_messages(struct sload *s)
{
	struct cfg_parse	*p = &s->p;

	if (p->type != YAML_SEQUENCE_START_EVENT)
		return cfg_error(p, &p->mark, _("'messages' must be a list"));
	for (;;) {
		if (cfg_next(p) != 0)
			return -1;
		if (p->type == YAML_SEQUENCE_END_EVENT)
			return 0;
		if (s_message(s) != 0)
			return -1;
	}
}

static int
s_system(struct sload *s)
{
	struct cfg_parse	*p = &s->p;
	const char		*t = NULL;
	char			 key[32], *name = NULL, *text = NULL;
	int			 r;

	if (s_map(p) != 0)
		return -1;
	while ((r = s_key(p, key, sizeof key)) == 1) {
		if (strcmp(key, "name") == 0 || strcmp(key, "text") == 0) {
			if (s_text(p, &t) != 0) {
				r = -1;
				break;
			}
			if (key[0] == 'n') {
				free(name);
				name = xstrdup(t);
			} else {
				free(text);
				text = xstrdup(t);
			}
		} else if (cfg_skip(p) != 0) {
			r = -1;
			break;
		}
	}
	if (r == 0 && text == NULL)
		r = cfg_error(p, &p->mark, _("the system prompt has no text"));
	if (r == 0)
		conv_set_system(s->c, name != NULL && *name != '\0' ? name :
		    NULL, text);
	free(name);
	free(text);
	return r;
}

/* A top-level key (the current event) and its value. */
static int
s_top_key(struct cfg_parse *p, void *arg)
{
	struct sload	*s = arg;
	char		 key[32];
	const char	*t = NULL;
	long long	 v;
	int		 r;

	snprintf(key, sizeof key, "%s", p->val);
	p->key = key;
	if (cfg_next(p) != 0)
		return -1;
	if (strcmp(key, "yangtuo_session") == 0) {
		if (s_int(p, 0, 1000000000, &v) != 0)
			return -1;
		if (v != SESSION_VERSION)
			return cfg_error(p, &p->mark, _("session format %lld "
			    "is not supported (this yangtuo reads %d)"), v,
			    SESSION_VERSION);
		s->version = (int)v;
		r = 0;
	} else if (s->version < 0)
		return cfg_error(p, &p->mark, _("not a yangtuo session"));
	else if (strcmp(key, "system") == 0)
		r = s_system(s);
	else if (strcmp(key, "messages") == 0)
		r = s_messages(s);
	else if (strcmp(key, "kv") == 0 || strcmp(key, "kv_sha256") == 0) {
		if ((r = s_text(p, &t)) == 0) {
			char	**dst = key[2] == '\0' ? &s->c->kv_path :
			    &s->c->kv_sha256;

			free(*dst);
			*dst = xstrdup(t);
		}
	} else if (strcmp(key, "model") == 0) {
		/* The model it was saved under, for a note when another
		 * model loads it. */
		if ((r = s_text(p, &t)) == 0) {
			free(s->c->model);
			s->c->model = *t != '\0' ? xstrdup(t) : NULL;
		}
	} else
		r = cfg_skip(p);
	p->key = NULL;
	return r;
}

/*
 * Parse len bytes of buf (named path in messages) into c.  partial: buf
 * is only the start of the file, and what was read before it ends (or
 * before an error) is kept.
 */
static int
session_parse(struct conv *c, const char *path, const char *buf, size_t len,
    int partial, char **cause)
{
	struct sload	 s;
	int		 r;

	memset(&s, 0, sizeof s);
	s.c = c;
	s.version = -1;
	cfg_parse_init(&s.p, path, N_("session"), buf, len, NULL, NULL);
	s.p.max_size = SESSION_MAX_SIZE;
	s.p.max_aliases = 0;
	r = cfg_parse_map(&s.p, s_top_key, &s);
	if (r == 0 && s.version < 0) {
		xasprintf(&s.p.cause, _("%s: not a yangtuo session"), path);
		r = -1;
	}
	if (r != 0 && partial && s.version >= 0)
		r = 0;
	if (r != 0) {
		*cause = s.p.cause;
		s.p.cause = NULL;
	}
	free(s.p.cause);
	cfg_parse_fini(&s.p);
	return r;
}

static char *
read_capped(const char *path, size_t max, size_t *len, int *partial,
    char **cause)
{
	struct stat	 st;
	char		*buf;
	size_t		 got = 0, want;
	ssize_t		 n;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		xasprintf(cause, _("%s: not a regular file"), path);
		close(fd);
		return NULL;
	}
	if (st.st_size > (off_t)SESSION_MAX_SIZE) {
		xasprintf(cause, _("%s: %lld bytes is too large for a session "
		    "(at most %u MiB)"), path, (long long)st.st_size,
		    SESSION_MAX_SIZE >> 20);
		close(fd);
		return NULL;
	}
	want = (size_t)st.st_size;
	*partial = want > max;
	if (want > max)
		want = max;
	buf = xmalloc(want + 1);
	while (got < want) {
		if ((n = read(fd, buf + got, want - got)) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	*len = got;
	return buf;
}

/* Read up to max bytes of path and parse them into c (*more: the file
 * goes on); on error c is left empty. */
static int
load_upto(struct conv *c, const char *path, size_t max, int *more,
    char **cause)
{
	char	*buf;
	size_t	 len, k;
	int	 r;

	if ((buf = read_capped(path, max, &len, more, cause)) == NULL)
		return -1;
	if (*more) {
		/* Do not end inside a UTF-8 character. */
		for (k = 0; k < 3 && len > 0 &&
		    ((unsigned char)buf[len - 1] & 0xC0) == 0x80; k++)
			len--;
		if (len > 0 && (unsigned char)buf[len - 1] >= 0xC0)
			len--;
	}
	r = session_parse(c, path, buf, len, *more, cause);
	if (r != 0) {
		conv_clear(c);
		conv_set_system(c, NULL, NULL);
	}
	free(buf);
	return r;
}

/* Load a session file into c (which should be empty); on error c is
 * left empty and the file untouched. */
int
session_load_file(struct conv *c, const char *path, char **cause)
{
	int	more;

	return load_upto(c, path, SESSION_MAX_SIZE, &more, cause);
}

/* Parse a session held in memory (fuzzing, tests); like
 * session_load_file. */
int
session_load_buf(struct conv *c, const char *name, const char *buf,
    size_t len, char **cause)
{
	int	r;

	if ((r = session_parse(c, name, buf, len, 0, cause)) != 0) {
		conv_clear(c);
		conv_set_system(c, NULL, NULL);
	}
	return r;
}

/*
 * What a picker shows of a session, cheaply: only the first
 * SESSION_PEEK_SIZE bytes are read and parsed (linear time, depth and
 * aliases capped), so a large or hostile file cannot stall a listing.
 * *more is set when the file goes on past what was read.
 */
int
session_peek_file(struct conv *c, const char *path, int *more, char **cause)
{
	return load_upto(c, path, SESSION_PEEK_SIZE, more, cause);
}

/* Load the session saved under name. */
int
session_load(struct conv *c, const char *name, char **cause)
{
	char	*path;
	int	 r;

	if ((path = named_path(name, cause)) == NULL)
		return -1;
	r = session_load_file(c, path, cause);
	free(path);
	return r;
}

/* The conversation as Markdown. */
int
session_export_md(const struct conv *c, const char *path, const char *model,
    char **cause)
{
	struct sbuf	 b = { NULL, 0, 0 };
	char		 when[64], *t1, *t2;
	struct tm	 tm;
	size_t		 i, n;
	int		 r;

	/* Every text is sanitized: the file is meant to be read by people,
	 * in terminals too. */
	sb_printf(&b, "# %s\n\n", _("Conversation"));
	if (model != NULL) {
		t1 = text_line(model);
		sb_printf(&b, "- %s: `%s`\n", _("Model"), t1);
		free(t1);
	}
	if (c->system_text != NULL) {
		t1 = text_line(c->system_name);
		t2 = text_sanitize(c->system_text, strlen(c->system_text),
		    NULL);
		sb_printf(&b, "- %s (%s): %s\n", _("System prompt"), t1, t2);
		free(t1);
		free(t2);
	}
	sb_add(&b, "\n", 1);
	for (i = 0; i < c->n; i++) {
		const struct conv_msg	*m = &c->msgs[i];
		struct conv_msg		 none = { 0 };
		size_t			 skip;

		localtime_r(&m->time, &tm);
		strftime(when, sizeof when, "%Y-%m-%d %H:%M", &tm);
		sb_printf(&b, "## %s \xc2\xb7 %s%s\n\n", m->role ==
		    CONV_USER ? _("User") : _("Assistant"), when, m->cut ?
		    _(" (cut)") : "");
		skip = m->role == CONV_ASSISTANT ? conv_lead_blanks(&none,
		    m->text, m->len) : 0;
		t1 = text_sanitize(m->text + skip, m->len - skip, &n);
		sb_add(&b, t1, n);
		free(t1);
		sb_add(&b, "\n\n", 2);
		if (m->has_stats)
			sb_printf(&b, "> %u %s, %.1f t/s; %s %.2f, top-k %d, "
			    "top-p %.2f, seed %llu\n\n", m->stats.generated,
			    _("tokens"), m->stats.decode_sec > 0 ?
			    m->stats.generated / m->stats.decode_sec : 0.0,
			    _("temperature"), m->params.temperature,
			    m->params.top_k, m->params.top_p,
			    (unsigned long long)m->params.seed);
	}
	r = file_write_atomic(path, b.p, b.len, cause);
	free(b.p);
	return r;
}
