/*
 * Session files.  Written by hand as YAML with double-quoted scalars (so
 * any text round-trips, escapes included) and read back with libyaml's
 * document loader over a size-capped buffer, walking a fixed schema: no
 * recursion into anything the schema does not name, so aliases and deep
 * nesting cannot blow up.
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

#include "conv.h"
#include "modelsum.h"
#include "proto.h"
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
    "error" };

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
	sb_printf(b, "    stop: %s\n", m->stats.stop < 5 ?
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

struct sload {
	yaml_document_t	*doc;
	const char	*path;
	char		**cause;
};

static int
bad(struct sload *s, yaml_node_t *n, const char *fmt, ...)
{
	va_list	 ap;
	char	*what;

	va_start(ap, fmt);
	xvasprintf(&what, fmt, ap);
	va_end(ap);
	if (n != NULL)
		xasprintf(s->cause, "%s:%zu:%zu: %s", s->path,
		    n->start_mark.line + 1, n->start_mark.column + 1, what);
	else
		xasprintf(s->cause, "%s: %s", s->path, what);
	free(what);
	return -1;
}

/* The value node of key in a mapping node, or NULL. */
static yaml_node_t *
map_get(struct sload *s, yaml_node_t *map, const char *key)
{
	yaml_node_pair_t	*p;
	yaml_node_t		*k;

	if (map == NULL || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (p = map->data.mapping.pairs.start;
	    p < map->data.mapping.pairs.top; p++) {
		k = yaml_document_get_node(s->doc, p->key);
		if (k != NULL && k->type == YAML_SCALAR_NODE &&
		    k->data.scalar.length == strlen(key) &&
		    memcmp(k->data.scalar.value, key, strlen(key)) == 0)
			return yaml_document_get_node(s->doc, p->value);
	}
	return NULL;
}

static int
scalar(struct sload *s, yaml_node_t *n, const char *what, const char **v)
{
	if (n == NULL || n->type != YAML_SCALAR_NODE)
		return bad(s, n, _("'%s' must be a text"), what);
	if (strlen((const char *)n->data.scalar.value) !=
	    n->data.scalar.length)
		return bad(s, n, _("'%s' holds a NUL byte"), what);
	*v = (const char *)n->data.scalar.value;
	return 0;
}

static int
number(struct sload *s, yaml_node_t *n, const char *what, double lo,
    double hi, double *v)
{
	const char	*t;
	char		*end;

	if (n == NULL) {
		*v = 0;
		return 0;
	}
	if (scalar(s, n, what, &t) != 0)
		return -1;
	errno = 0;
	*v = strtod(t, &end);
	if (errno != 0 || end == t || *end != '\0' || !(*v >= lo && *v <= hi))
		return bad(s, n, _("'%s' must be a number from %g to %g"),
		    what, lo, hi);
	return 0;
}

static int
load_stats(struct sload *s, yaml_node_t *m, struct conv_msg *msg)
{
	yaml_node_t	*st = map_get(s, m, "stats");
	yaml_node_t	*pa = map_get(s, m, "params");
	yaml_node_t	*stop = map_get(s, m, "stop");
	const char	*t;
	double		 v[8];
	size_t		 i;
	static const char *sk[] = { "prompt", "cached", "evaluated",
	    "generated", "prefill_sec", "decode_sec" };
	static const char *pk[] = { "temperature", "top_k", "top_p", "min_p",
	    "repeat_penalty", "repeat_last_n", "seed", "max_tokens" };

	if (st == NULL && pa == NULL && stop == NULL)
		return 0;
	msg->has_stats = 1;
	if (stop != NULL) {
		if (scalar(s, stop, "stop", &t) != 0)
			return -1;
		for (i = 0; i < 5; i++)
			if (strcmp(t, stop_names[i]) == 0)
				msg->stats.stop = (uint32_t)i;
	}
	if (st != NULL) {
		for (i = 0; i < 6; i++)
			if (number(s, map_get(s, st, sk[i]), sk[i], 0, 1e12,
			    &v[i]) != 0)
				return -1;
		msg->stats.prompt = (uint32_t)v[0];
		msg->stats.cached = (uint32_t)v[1];
		msg->stats.evaluated = (uint32_t)v[2];
		msg->stats.generated = (uint32_t)v[3];
		msg->stats.prefill_sec = v[4];
		msg->stats.decode_sec = v[5];
	}
	if (pa != NULL) {
		for (i = 0; i < 8; i++)
			if (number(s, map_get(s, pa, pk[i]), pk[i], -1,
			    1.9e19, &v[i]) != 0)
				return -1;
		msg->params.temperature = (float)v[0];
		msg->params.top_k = (int32_t)v[1];
		msg->params.top_p = (float)v[2];
		msg->params.min_p = (float)v[3];
		msg->params.repeat_penalty = (float)v[4];
		msg->params.repeat_last_n = (int32_t)v[5];
		msg->params.seed = (uint64_t)v[6];
		msg->params.max_tokens = (int32_t)v[7];
	}
	return 0;
}

static int
load_flag(struct sload *s, yaml_node_t *m, const char *key, int *out)
{
	yaml_node_t	*n = map_get(s, m, key);
	const char	*t;

	if (n == NULL)
		return 0;
	if (scalar(s, n, key, &t) != 0)
		return -1;
	if (strcmp(t, "true") == 0)
		*out = 1;
	else if (strcmp(t, "false") == 0)
		*out = 0;
	else
		return bad(s, n, _("'%s' must be true or false"), key);
	return 0;
}

static int
load_message(struct sload *s, struct conv *c, yaml_node_t *m)
{
	const char	*role, *text;
	struct conv_msg	*msg;
	double		 t;
	int		 r;

	if (m == NULL || m->type != YAML_MAPPING_NODE)
		return bad(s, m, _("a message must be a mapping"));
	if (scalar(s, map_get(s, m, "role"), "role", &role) != 0 ||
	    scalar(s, map_get(s, m, "text"), "text", &text) != 0 ||
	    number(s, map_get(s, m, "time"), "time", 0, 1e11, &t) != 0)
		return -1;
	if ((r = conv_role_by_name(role)) < 0 || r == CONV_SYSTEM)
		return bad(s, map_get(s, m, "role"), _("unknown role '%.20s'"),
		    role);
	msg = conv_add(c, r, text, strlen(text));
	msg->time = (time_t)t;
	if (load_flag(s, m, "cut", &msg->cut) != 0 ||
	    load_flag(s, m, "dropped", &msg->dropped) != 0)
		return -1;
	return load_stats(s, m, msg);
}

static int
load_doc(struct sload *s, struct conv *c)
{
	yaml_node_t		*root, *ver, *sys, *msgs;
	yaml_node_item_t	*it;
	const char		*name = NULL, *text = NULL;
	double			 v;

	root = yaml_document_get_root_node(s->doc);
	if (root == NULL || root->type != YAML_MAPPING_NODE)
		return bad(s, root, _("not a yangtuo session"));
	if ((ver = map_get(s, root, "yangtuo_session")) == NULL)
		return bad(s, root, _("not a yangtuo session"));
	if (number(s, ver, "yangtuo_session", 0, 1e9, &v) != 0)
		return -1;
	if (v != SESSION_VERSION)
		return bad(s, ver, _("session format %g is not supported "
		    "(this yangtuo reads %d)"), v, SESSION_VERSION);
	if ((sys = map_get(s, root, "system")) != NULL) {
		if (scalar(s, map_get(s, sys, "name"), "name", &name) != 0 ||
		    scalar(s, map_get(s, sys, "text"), "text", &text) != 0)
			return -1;
		conv_set_system(c, *name != '\0' ? name : NULL, text);
	}
	if (map_get(s, root, "model") != NULL) {
		const char	*model;

		if (scalar(s, map_get(s, root, "model"), "model", &model) != 0)
			return -1;
		free(c->model);
		c->model = *model != '\0' ? xstrdup(model) : NULL;
	}
	if (map_get(s, root, "kv") != NULL) {
		const char	*kv;

		if (scalar(s, map_get(s, root, "kv"), "kv", &kv) != 0)
			return -1;
		free(c->kv_path);
		c->kv_path = xstrdup(kv);
	}
	msgs = map_get(s, root, "messages");
	if (msgs == NULL || msgs->type != YAML_SEQUENCE_NODE)
		return bad(s, msgs != NULL ? msgs : root,
		    _("'messages' must be a list"));
	for (it = msgs->data.sequence.items.start;
	    it < msgs->data.sequence.items.top; it++)
		if (load_message(s, c, yaml_document_get_node(s->doc, *it)) !=
		    0)
			return -1;
	return 0;
}

static char *
read_capped(const char *path, size_t *len, char **cause)
{
	struct stat	 st;
	char		*buf;
	size_t		 got = 0;
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
	buf = xmalloc((size_t)st.st_size + 1);
	while (got < (size_t)st.st_size) {
		if ((n = read(fd, buf + got, (size_t)st.st_size - got)) < 0) {
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

/* Load a session file into c (which should be empty); on error c is
 * left empty and the file untouched. */
int
session_load_file(struct conv *c, const char *path, char **cause)
{
	yaml_parser_t	 parser;
	yaml_document_t	 doc;
	struct sload	 s;
	char		*buf;
	size_t		 len;
	int		 r;

	if ((buf = read_capped(path, &len, cause)) == NULL)
		return -1;
	if (memchr(buf, '\0', len) != NULL) {
		xasprintf(cause, _("%s: the file holds NUL bytes"), path);
		free(buf);
		return -1;
	}
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&parser, &doc)) {
		xasprintf(cause, "%s:%zu:%zu: %s", path,
		    parser.problem_mark.line + 1,
		    parser.problem_mark.column + 1, parser.problem != NULL ?
		    parser.problem : _("YAML error"));
		yaml_parser_delete(&parser);
		free(buf);
		return -1;
	}
	s.doc = &doc;
	s.path = path;
	s.cause = cause;
	r = load_doc(&s, c);
	if (r != 0) {
		conv_clear(c);
		conv_set_system(c, NULL, NULL);
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	free(buf);
	return r;
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
	char		 when[64];
	struct tm	 tm;
	size_t		 i;
	int		 r;

	sb_printf(&b, "# %s\n\n", _("Conversation"));
	if (model != NULL)
		sb_printf(&b, "- %s: `%s`\n", _("Model"), model);
	if (c->system_text != NULL)
		sb_printf(&b, "- %s (%s): %s\n", _("System prompt"),
		    c->system_name != NULL ? c->system_name : "-",
		    c->system_text);
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
		sb_add(&b, m->text + skip, m->len - skip);
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
