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
#include <sys/file.h>
#include <sys/stat.h>
#include <dirent.h>
#include <time.h>
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
	int	 lock_fd;	/* flock held while this instance runs */
	int	 broken;	/* the last write failed */
	char	*dir;
	char	*path;		/* DIR/current-PID[.N] */
	char	*lock;		/* the same with ".lock" */
	char	*model;
	char	*why;		/* the last write's error */
};

static const char *stop_names[] = { "eog", "length", "context", "cancel",
    "error", "stop" };
#define N_STOP_NAMES (sizeof stop_names / sizeof *stop_names)

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
		json_object_set_new(o, "stop", json_string(m->stats.stop <
		    N_STOP_NAMES ? stop_names[m->stats.stop] : "error"));
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

/*
 * One journal per running yangtuo: DIR/current-PID (".N" added if a
 * crash of an earlier process with the same PID left that name), with
 * DIR/current-PID.lock flocked for as long as the process runs.  A
 * journal whose lock is not held (or missing, or the "current" of older
 * versions) was left by a crash.  A clean exit makes its own journal
 * "last"; nobody else's is ever moved while its owner runs.
 */

/* Keep one older conversation: last -> last.1, then src -> last; under
 * the folder's lock so that two exits at once keep both. */
static void
keep_as_last(const char *dir, const char *src)
{
	char	*last, *older, *lk;
	int	 fd;

	xasprintf(&last, "%s/last", dir);
	xasprintf(&older, "%s/last.1", dir);
	xasprintf(&lk, "%s/.lock", dir);
	fd = open(lk, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0)
		flock(fd, LOCK_EX);
	if (access(src, F_OK) == 0) {
		rename(last, older);
		rename(src, last);
	}
	if (fd >= 0)
		close(fd);
	free(lk);
	free(last);
	free(older);
}

/* Whether a folder entry is a journal of a running or crashed yangtuo. */
static int
is_current(const char *name)
{
	size_t	n = strlen(name);

	if (strcmp(name, "current") == 0)
		return 1;
	if (strncmp(name, "current-", 8) != 0 || strstr(name, ".tmp") != NULL)
		return 0;
	return n < 5 || strcmp(name + n - 5, ".lock") != 0;
}

/*
 * Whether the journal DIR/name was left by a crash: its lock file is
 * missing or can be locked.  With held != NULL the lock is kept there
 * (fd, or -1 without a lock file) for the caller to take the journal.
 */
static int
orphan(const char *dir, const char *name, int *held)
{
	char	*lk;
	int	 fd;

	if (held != NULL)
		*held = -1;
	if (strcmp(name, "current") == 0)
		return 1;
	xasprintf(&lk, "%s/%s.lock", dir, name);
	fd = open(lk, O_RDWR | O_CLOEXEC);
	free(lk);
	if (fd < 0)
		return errno == ENOENT;
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		close(fd);
		return 0;
	}
	if (held != NULL)
		*held = fd;
	else
		close(fd);
	return 1;
}

struct leftover {
	char	*name;
	time_t	 mtime;
};

static int
newest_first(const void *a, const void *b)
{
	const struct leftover	*x = a, *y = b;

	if (x->mtime != y->mtime)
		return x->mtime > y->mtime ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* The journals crashes left in dir, newest first; caller frees. */
static struct leftover *
leftovers(const char *dir, size_t *n)
{
	struct leftover	*v = NULL;
	struct dirent	*de;
	struct stat	 st;
	size_t		 cap = 0;
	char		*p;
	DIR		*d;

	*n = 0;
	if ((d = opendir(dir)) == NULL)
		return NULL;
	while ((de = readdir(d)) != NULL) {
		if (!is_current(de->d_name) || !orphan(dir, de->d_name, NULL))
			continue;
		xasprintf(&p, "%s/%s", dir, de->d_name);
		if (stat(p, &st) == 0 && S_ISREG(st.st_mode)) {
			if (*n == cap) {
				cap = cap == 0 ? 8 : cap * 2;
				v = xreallocarray(v, cap, sizeof *v);
			}
			v[*n].name = xstrdup(de->d_name);
			v[(*n)++].mtime = st.st_mtime;
		}
		free(p);
	}
	closedir(d);
	if (*n > 1)
		qsort(v, *n, sizeof *v, newest_first);
	return v;
}

static void
leftovers_free(struct leftover *v, size_t n)
{
	while (n-- > 0)
		free(v[n].name);
	free(v);
}

/* Take a journal name of our own and lock it; 0 or -1. */
static int
claim(struct journal *j)
{
	char	*p;
	int	 i;

	for (i = 0; i < 100; i++) {
		if (i == 0)
			xasprintf(&p, "%s/current-%ld", j->dir,
			    (long)getpid());
		else
			xasprintf(&p, "%s/current-%ld.%d", j->dir,
			    (long)getpid(), i);
		if (access(p, F_OK) == 0) {	/* an earlier crash's */
			free(p);
			continue;
		}
		xasprintf(&j->lock, "%s.lock", p);
		j->lock_fd = open(j->lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (j->lock_fd >= 0 && flock(j->lock_fd, LOCK_EX | LOCK_NB) ==
		    0) {
			j->path = p;
			return 0;
		}
		if (j->lock_fd >= 0)
			close(j->lock_fd);
		j->lock_fd = -1;
		free(j->lock);
		j->lock = NULL;
		free(p);
		if (errno != EWOULDBLOCK)
			return -1;
	}
	return -1;
}

/* Open a fresh journal holding c, beside (never over) the journals of
 * other running yangtuo and those crashes left. */
struct journal *
journal_start(const struct conv *c, const char *model, char **cause)
{
	struct journal	*j;

	j = xcalloc(1, sizeof *j);
	j->fd = -1;
	j->lock_fd = -1;
	if ((j->dir = xdg_dir(XDG_STATE, "journal", 1)) == NULL) {
		xasprintf(cause, "%s", _("no state folder for the autosave "
		    "journal ($HOME unset?)"));
		free(j);
		return NULL;
	}
	j->model = model != NULL ? xstrdup(model) : NULL;
	if (claim(j) != 0) {
		xasprintf(cause, "%s: %s", j->dir, strerror(errno));
		journal_close(j, 0);
		return NULL;
	}
	if (write_fresh(j, c) != 0) {
		xasprintf(cause, "%s: %s", j->path, strerror(errno));
		journal_close(j, 0);
		return NULL;
	}
	return j;
}

/* The journal's file (tests). */
const char *
journal_path(const struct journal *j)
{
	return j != NULL ? j->path : NULL;
}

/* Note a failed write: the journal is broken until a reset works. */
static int
failed(struct journal *j)
{
	free(j->why);
	j->why = xstrdup(strerror(errno != 0 ? errno : EIO));
	j->broken = 1;
	if (j->fd >= 0)
		close(j->fd);
	j->fd = -1;
	return -1;
}

/* Append a finished message and make it durable. */
int
journal_add(struct journal *j, const struct conv_msg *m)
{
	if (j == NULL || j->fd < 0)
		return -1;
	errno = 0;
	if (put(j->fd, msg_json(m)) != 0 || fsync(j->fd) != 0)
		return failed(j);
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
	if (j == NULL)
		return -1;
	errno = 0;
	if (write_fresh(j, c) != 0)
		return failed(j);
	j->broken = 0;
	return 0;
}

/*
 * Bring the journal up to c: messages from *done on are appended (a
 * broken journal is written again whole instead, so autosave recovers
 * once the disk has room).  When autosave stops or works again,
 * *notice (caller frees) says so and the return is -1 (stopped) or 1
 * (works again); else 0.  The caller shows the notice.
 */
int
journal_sync(struct journal *j, const struct conv *c, size_t *done,
    char **notice)
{
	int	was;

	*notice = NULL;
	if (j == NULL)
		return 0;
	was = j->broken;
	if (j->broken || *done > c->n)
		journal_reset(j, c);
	else
		while (*done < c->n && journal_add(j, &c->msgs[*done]) == 0)
			(*done)++;
	if (!j->broken)
		*done = c->n;
	if (j->broken && !was)
		xasprintf(notice, _("autosave stopped (%s: %s): it is tried "
		    "again after the next reply; /save keeps the "
		    "conversation"), j->path, j->why);
	else if (!j->broken && was)
		xasprintf(notice, _("autosave works again"));
	return *notice == NULL ? 0 : j->broken ? -1 : 1;
}

/* Close the journal; a clean close keeps it as the last conversation. */
void
journal_close(struct journal *j, int clean)
{
	if (j == NULL)
		return;
	if (j->fd >= 0)
		close(j->fd);
	if (clean && j->path != NULL)
		keep_as_last(j->dir, j->path);
	if (j->lock != NULL && (clean || access(j->path, F_OK) != 0))
		unlink(j->lock);
	if (j->lock_fd >= 0)
		close(j->lock_fd);
	free(j->dir);
	free(j->path);
	free(j->lock);
	free(j->model);
	free(j->why);
	free(j);
}

/* How many journals crashes left (not those of running yangtuo). */
int
journal_left_over(void)
{
	struct leftover	*v;
	char		*dir;
	size_t		 n;

	if ((dir = xdg_dir(XDG_STATE, "journal", 0)) == NULL)
		return 0;
	v = leftovers(dir, &n);
	leftovers_free(v, n);
	free(dir);
	return (int)n;
}

/* A number of a record, range-checked before any conversion (a damaged
 * or hostile journal may hold anything): out of [lo, hi] or not a
 * number gives 0. */
static double
jnum(json_t *o, const char *key, double lo, double hi)
{
	json_t	*v = json_object_get(o, key);
	double	 d;

	if (json_is_integer(v))
		d = (double)json_integer_value(v);
	else if (json_is_real(v))
		d = json_real_value(v);
	else
		return 0;
	return d >= lo && d <= hi ? d : 0;
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
	m->time = (time_t)jnum(o, "time", 0, 1e11);
	m->cut = json_is_true(json_object_get(o, "cut"));
	if (stop == NULL)
		return;
	m->has_stats = 1;
	for (i = 0; i < N_STOP_NAMES; i++)
		if (strcmp(stop, stop_names[i]) == 0)
			m->stats.stop = (uint32_t)i;
	m->stats.prompt = (uint32_t)jnum(st, "prompt", 0, UINT32_MAX);
	m->stats.cached = (uint32_t)jnum(st, "cached", 0, UINT32_MAX);
	m->stats.evaluated = (uint32_t)jnum(st, "evaluated", 0, UINT32_MAX);
	m->stats.generated = (uint32_t)jnum(st, "generated", 0, UINT32_MAX);
	m->stats.prefill_sec = jnum(st, "prefill_sec", 0, 1e12);
	m->stats.decode_sec = jnum(st, "decode_sec", 0, 1e12);
	m->params.temperature = (float)jnum(pa, "temperature", -1, 1e9);
	m->params.top_k = (int32_t)jnum(pa, "top_k", -1, INT32_MAX);
	m->params.top_p = (float)jnum(pa, "top_p", -1, 1e9);
	m->params.min_p = (float)jnum(pa, "min_p", -1, 1e9);
	m->params.repeat_penalty = (float)jnum(pa, "repeat_penalty", -1, 1e9);
	m->params.repeat_last_n = (int32_t)jnum(pa, "repeat_last_n", -1,
	    INT32_MAX);
	/* Written as a JSON integer (a signed 64-bit one). */
	m->params.seed = (uint64_t)json_integer_value(json_object_get(pa,
	    "seed"));
	m->params.max_tokens = (int32_t)jnum(pa, "max_tokens", -1, INT32_MAX);
}

/* Rebuild a conversation from an open journal, called name. */
static int
restore_stream(struct conv *c, FILE *f, const char *name, char **cause)
{
	char		 magic[5], *buf = NULL;
	uint32_t	 len, crc;
	json_t		*o;
	const char	*t;

	if (fread(magic, 1, 5, f) != 5 || memcmp(magic, JOURNAL_MAGIC, 5)) {
		xasprintf(cause, _("%s: not a yangtuo journal"), name);
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
			const char	*sn, *st;

			sn = json_string_value(json_object_get(o, "name"));
			st = json_string_value(json_object_get(o, "text"));
			conv_set_system(c, st != NULL ? sn : NULL, st);
		} else if (t != NULL && strcmp(t, "msg") == 0)
			restore_msg(c, o);
		json_decref(o);
	}
	free(buf);
	return 0;
}

/* Rebuild a conversation from one journal file. */
int
journal_restore_file(struct conv *c, const char *path, char **cause)
{
	FILE	*f;
	int	 r;

	if ((f = fopen(path, "rb")) == NULL) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return -1;
	}
	r = restore_stream(c, f, path, cause);
	fclose(f);
	return r;
}

/* Rebuild a conversation from a journal held in memory (fuzzing). */
int
journal_restore_mem(struct conv *c, const void *buf, size_t len,
    char **cause)
{
	FILE	*f;
	int	 r;

	if (len == 0 || (f = fmemopen((void *)buf, len, "rb")) == NULL) {
		xasprintf(cause, _("%s: not a yangtuo journal"), "(memory)");
		return -1;
	}
	r = restore_stream(c, f, "(memory)", cause);
	fclose(f);
	return r;
}

/*
 * Rebuild the newest conversation a crash left, which then becomes the
 * "last" one (the next --resume brings the one before it); *others gets
 * how many more crashes left.  Without any, the last clean one.
 */
int
journal_restore(struct conv *c, int *others, char **cause)
{
	struct leftover	*v;
	char		*dir, *path;
	size_t		 n, i;
	int		 r = 1, held = -1;

	*others = 0;
	if ((dir = xdg_dir(XDG_STATE, "journal", 0)) == NULL)
		return 1;
	v = leftovers(dir, &n);
	path = NULL;
	for (i = 0; i < n && path == NULL; i++)
		if (orphan(dir, v[i].name, &held))	/* still, and ours */
			xasprintf(&path, "%s/%s", dir, v[i].name);
	if (path != NULL) {
		*others = (int)(n - i);
		if ((r = journal_restore_file(c, path, cause)) == 0) {
			keep_as_last(dir, path);
			if (held >= 0) {
				char	*lk;

				xasprintf(&lk, "%s.lock", path);
				unlink(lk);
				free(lk);
			}
		}
		if (held >= 0)
			close(held);
	} else {
		xasprintf(&path, "%s/last", dir);
		if (access(path, R_OK) == 0)
			r = journal_restore_file(c, path, cause);
	}
	leftovers_free(v, n);
	free(path);
	free(dir);
	return r;
}
