/*
 * Journal files: "YTJ1\n", then records {u32 length, u32 CRC-32, JSON}.
 * Each append is one write() and an fsync(); a torn or damaged tail is
 * recognised by its length or CRC and everything before it is restored.
 * Resets are written to a temporary file and renamed over the journal.
 */
#include "config.h"

#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "conv.h"
#include "xdg.h"
#include "xmalloc.h"
#include "util.h"
#include "i18n.h"

#define JOURNAL_MAGIC	"YTJ1\n"
#define JOURNAL_MAX_REC	(64u << 20)

struct journal {
	int	 fd;
	char	*dir;
	char	*path;
	char	*model;
};

static const char *stop_names[] = { "eog", "length", "context", "cancel",
    "error" };

static uint32_t
crc32(const void *v, size_t n)
{
	static uint32_t	table[256];
	const uint8_t	*p = v;
	uint32_t	 c = 0xffffffffu;
	int		 i, k;

	if (table[1] == 0)
		for (i = 0; i < 256; i++) {
			uint32_t	x = (uint32_t)i;

			for (k = 0; k < 8; k++)
				x = x & 1 ? 0xedb88320u ^ (x >> 1) : x >> 1;
			table[i] = x;
		}
	while (n-- > 0)
		c = table[(c ^ *p++) & 0xff] ^ (c >> 8);
	return c ^ 0xffffffffu;
}

static json_t *
msg_json(const struct conv_msg *m)
{
	json_t	*o = json_object();

	json_object_set_new(o, "t", json_string("msg"));
	json_object_set_new(o, "role", json_string(conv_role_name(m->role)));
	json_object_set_new(o, "time", json_integer((json_int_t)m->time));
	json_object_set_new(o, "text", json_stringn(m->text, m->len));
	if (m->cut)
		json_object_set_new(o, "cut", json_true());
	if (m->has_stats) {
		json_object_set_new(o, "stop", json_string(m->stats.stop < 5 ?
		    stop_names[m->stats.stop] : "error"));
		json_object_set_new(o, "stats", json_pack("{s:i,s:i,s:i,s:i,"
		    "s:f,s:f}", "prompt", (json_int_t)m->stats.prompt,
		    "cached", (json_int_t)m->stats.cached, "evaluated",
		    (json_int_t)m->stats.evaluated, "generated",
		    (json_int_t)m->stats.generated, "prefill_sec",
		    m->stats.prefill_sec, "decode_sec", m->stats.decode_sec));
		json_object_set_new(o, "params", json_pack("{s:f,s:i,s:f,s:f,"
		    "s:f,s:i,s:I,s:i}", "temperature",
		    (double)m->params.temperature, "top_k", m->params.top_k,
		    "top_p", (double)m->params.top_p, "min_p",
		    (double)m->params.min_p, "repeat_penalty",
		    (double)m->params.repeat_penalty, "repeat_last_n",
		    m->params.repeat_last_n, "seed",
		    (json_int_t)m->params.seed, "max_tokens",
		    m->params.max_tokens));
	}
	return o;
}

/* One record as bytes: header and JSON; caller frees. */
static char *
record(json_t *o, size_t *len)
{
	char		*js = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
	char		*rec;
	size_t		 n;
	uint32_t	 crc;

	json_decref(o);
	if (js == NULL)
		return NULL;
	n = strlen(js);
	crc = crc32(js, n);
	rec = xmalloc(n + 8);
	memcpy(rec, &(uint32_t){ (uint32_t)n }, 4);
	memcpy(rec + 4, &crc, 4);
	memcpy(rec + 8, js, n);
	free(js);
	*len = n + 8;
	return rec;
}

static int
put(int fd, json_t *o)
{
	char	*rec;
	size_t	 len;
	int	 r;

	if ((rec = record(o, &len)) == NULL)
		return -1;
	r = util_write_all(fd, rec, len);
	free(rec);
	return r;
}

/* Write the whole conversation to a new journal file at path. */
static int
write_fresh(struct journal *j, const struct conv *c)
{
	struct util_atomic	a;
	int			ok = 0;
	size_t			i;

	if (util_atomic_open(&a, j->path, 0600) != 0)
		return -1;
	if (util_write_all(a.fd, JOURNAL_MAGIC, 5) == 0 &&
	    put(a.fd, json_pack("{s:s,s:s?}", "t", "model", "path",
	    j->model)) == 0 &&
	    (c->system_text == NULL || put(a.fd, json_pack("{s:s,s:s?,s:s}",
	    "t", "system", "name", c->system_name, "text",
	    c->system_text)) == 0)) {
		ok = 1;
		for (i = 0; i < c->n && ok; i++)
			ok = put(a.fd, msg_json(&c->msgs[i])) == 0;
	}
	if (!ok) {
		util_atomic_abort(&a);
		return -1;
	}
	if (util_atomic_commit(&a) == -1)
		return -1;
	if (j->fd >= 0)
		close(j->fd);
	j->fd = open(j->path, O_WRONLY | O_APPEND | O_CLOEXEC);
	return j->fd >= 0 ? 0 : -1;
}

/* Keep one older conversation: last -> last.1, then current -> last. */
static void
rotate(const char *dir)
{
	char	*cur, *last, *older;

	xasprintf(&cur, "%s/current", dir);
	xasprintf(&last, "%s/last", dir);
	xasprintf(&older, "%s/last.1", dir);
	if (access(cur, F_OK) == 0) {
		rename(last, older);
		rename(cur, last);
	}
	free(cur);
	free(last);
	free(older);
}

/* Open a fresh journal holding c; a crash's leftover becomes "last". */
struct journal *
journal_start(const struct conv *c, const char *model, char **cause)
{
	struct journal	*j;

	j = xcalloc(1, sizeof *j);
	j->fd = -1;
	if ((j->dir = xdg_dir(XDG_STATE, "journal", 1)) == NULL) {
		xasprintf(cause, "%s", _("no state folder for the autosave "
		    "journal ($HOME unset?)"));
		free(j);
		return NULL;
	}
	rotate(j->dir);
	xasprintf(&j->path, "%s/current", j->dir);
	j->model = model != NULL ? xstrdup(model) : NULL;
	if (write_fresh(j, c) != 0) {
		xasprintf(cause, "%s: %s", j->path, strerror(errno));
		journal_close(j, 0);
		return NULL;
	}
	return j;
}

/* Append a finished message and make it durable. */
int
journal_add(struct journal *j, const struct conv_msg *m)
{
	if (j == NULL || j->fd < 0)
		return -1;
	if (put(j->fd, msg_json(m)) != 0 || fsync(j->fd) != 0) {
		close(j->fd);
		j->fd = -1;
		return -1;
	}
	return 0;
}

/* Record the system prompt switched to (none: no name, no text), so
 * --resume brings back the one in use. */
int
journal_system(struct journal *j, const struct conv *c)
{
	if (j == NULL || j->fd < 0)
		return -1;
	if (put(j->fd, json_pack("{s:s,s:s?,s:s?}", "t", "system", "name",
	    c->system_text != NULL ? c->system_name : NULL, "text",
	    c->system_text)) != 0 || fsync(j->fd) != 0) {
		close(j->fd);
		j->fd = -1;
		return -1;
	}
	return 0;
}

/* Start the journal again with the conversation as it is now. */
int
journal_reset(struct journal *j, const struct conv *c)
{
	return j == NULL ? -1 : write_fresh(j, c);
}

/* Close the journal; a clean close keeps it as the last conversation. */
void
journal_close(struct journal *j, int clean)
{
	if (j == NULL)
		return;
	if (j->fd >= 0)
		close(j->fd);
	if (clean && j->dir != NULL)
		rotate(j->dir);
	free(j->dir);
	free(j->path);
	free(j->model);
	free(j);
}

/* Whether a crash left a journal. */
int
journal_left_over(void)
{
	char	*dir, *path;
	int	 r;

	if ((dir = xdg_dir(XDG_STATE, "journal", 0)) == NULL)
		return 0;
	xasprintf(&path, "%s/current", dir);
	r = access(path, R_OK) == 0;
	free(path);
	free(dir);
	return r;
}

static void
restore_msg(struct conv *c, json_t *o)
{
	const char	*role = json_string_value(json_object_get(o, "role"));
	const char	*text = json_string_value(json_object_get(o, "text"));
	const char	*stop = json_string_value(json_object_get(o, "stop"));
	json_t		*st = json_object_get(o, "stats");
	json_t		*pa = json_object_get(o, "params");
	struct conv_msg	*m;
	int		 r;
	size_t		 i;

	if (role == NULL || text == NULL || (r = conv_role_by_name(role)) < 0 ||
	    r == CONV_SYSTEM)
		return;
	m = conv_add(c, r, text, json_string_length(json_object_get(o,
	    "text")));
	m->time = (time_t)json_integer_value(json_object_get(o, "time"));
	m->cut = json_is_true(json_object_get(o, "cut"));
	if (stop == NULL)
		return;
	m->has_stats = 1;
	for (i = 0; i < 5; i++)
		if (strcmp(stop, stop_names[i]) == 0)
			m->stats.stop = (uint32_t)i;
	m->stats.prompt = (uint32_t)json_integer_value(json_object_get(st,
	    "prompt"));
	m->stats.cached = (uint32_t)json_integer_value(json_object_get(st,
	    "cached"));
	m->stats.evaluated = (uint32_t)json_integer_value(json_object_get(st,
	    "evaluated"));
	m->stats.generated = (uint32_t)json_integer_value(json_object_get(st,
	    "generated"));
	m->stats.prefill_sec = json_number_value(json_object_get(st,
	    "prefill_sec"));
	m->stats.decode_sec = json_number_value(json_object_get(st,
	    "decode_sec"));
	m->params.temperature = (float)json_number_value(json_object_get(pa,
	    "temperature"));
	m->params.top_k = (int32_t)json_integer_value(json_object_get(pa,
	    "top_k"));
	m->params.top_p = (float)json_number_value(json_object_get(pa,
	    "top_p"));
	m->params.min_p = (float)json_number_value(json_object_get(pa,
	    "min_p"));
	m->params.repeat_penalty = (float)json_number_value(json_object_get(
	    pa, "repeat_penalty"));
	m->params.repeat_last_n = (int32_t)json_integer_value(
	    json_object_get(pa, "repeat_last_n"));
	m->params.seed = (uint64_t)json_integer_value(json_object_get(pa,
	    "seed"));
	m->params.max_tokens = (int32_t)json_integer_value(json_object_get(
	    pa, "max_tokens"));
}

/* Rebuild a conversation from one journal file. */
int
journal_restore_file(struct conv *c, const char *path, char **cause)
{
	FILE		*f;
	char		 magic[5], *buf = NULL;
	uint32_t	 len, crc;
	json_t		*o;
	const char	*t;

	if ((f = fopen(path, "rb")) == NULL) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fread(magic, 1, 5, f) != 5 || memcmp(magic, JOURNAL_MAGIC, 5)) {
		xasprintf(cause, _("%s: not a yangtuo journal"), path);
		fclose(f);
		return -1;
	}
	conv_clear(c);
	while (fread(&len, 4, 1, f) == 1 && fread(&crc, 4, 1, f) == 1) {
		if (len > JOURNAL_MAX_REC)
			break;
		buf = xreallocarray(buf, (size_t)len + 1, 1);
		if (fread(buf, 1, len, f) != len || crc32(buf, len) != crc)
			break;	/* a torn tail: keep what came before */
		if ((o = json_loadb(buf, len, 0, NULL)) == NULL)
			break;
		t = json_string_value(json_object_get(o, "t"));
		if (t != NULL && strcmp(t, "system") == 0) {
			const char	*name, *text;

			name = json_string_value(json_object_get(o, "name"));
			text = json_string_value(json_object_get(o, "text"));
			conv_set_system(c, text != NULL ? name : NULL,
			    text);
		} else if (t != NULL && strcmp(t, "msg") == 0)
			restore_msg(c, o);
		json_decref(o);
	}
	free(buf);
	fclose(f);
	return 0;
}

/* Rebuild the newest journal's conversation. */
int
journal_restore(struct conv *c, char **cause)
{
	char	*dir, *path;
	int	 r = 1;

	if ((dir = xdg_dir(XDG_STATE, "journal", 0)) == NULL)
		return 1;
	xasprintf(&path, "%s/current", dir);
	if (access(path, R_OK) != 0) {
		free(path);
		xasprintf(&path, "%s/last", dir);
	}
	if (access(path, R_OK) == 0)
		r = journal_restore_file(c, path, cause);
	free(path);
	free(dir);
	return r;
}
