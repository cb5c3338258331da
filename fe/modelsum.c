/*
 * Model digests, cached by file identity (device, inode, size and
 * modification time): a changed file gets a new entry, a stale entry is
 * never used.
 */
#include "config.h"

#include "modelsum.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "engine/sha256.h"
#include "conv.h"
#include "i18n.h"
#include "session.h"
#include "xdg.h"
#include "xmalloc.h"

/* The cache file for a model's identity; caller frees. */
static char *
cache_path(const char *path, int create)
{
	struct stat	st;
	char		*dir, *p;

	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return NULL;
	if ((dir = xdg_dir(XDG_CACHE, "sha256", create)) == NULL)
		return NULL;
	xasprintf(&p, "%s/%llx-%llx-%llx-%lld.%09ld", dir,
	    (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
	    (unsigned long long)st.st_size, (long long)st.st_mtim.tv_sec,
	    st.st_mtim.tv_nsec);
	free(dir);
	return p;
}

/* The cached digest, or NULL. */
char *
modelsum_cached(const char *path)
{
	char	*cp = cache_path(path, 0), hex[65];
	FILE	*f;
	size_t	 n = 0;

	if (cp == NULL)
		return NULL;
	if ((f = fopen(cp, "r")) != NULL) {
		n = fread(hex, 1, 64, f);
		fclose(f);
	}
	free(cp);
	hex[n < 64 ? n : 64] = '\0';
	if (n != 64 || strspn(hex, "0123456789abcdef") != 64)
		return NULL;
	return xstrdup(hex);
}

/* Hash the file without caching (small files); caller frees, NULL with
 * errno set. */
char *
modelsum_file(const char *path)
{
	uint8_t	 d[32];
	char	 hex[65];

	if (sha256_file(path, d) != 0)
		return NULL;
	sha256_hex(d, hex);
	return xstrdup(hex);
}

/* Hash the file and cache the digest; caller frees. */
char *
modelsum_now(const char *path)
{
	uint8_t	 d[32];
	char	 hex[65], *cp, *cause = NULL;

	if (sha256_file(path, d) != 0)
		return NULL;
	sha256_hex(d, hex);
	if ((cp = cache_path(path, 1)) != NULL) {
		if (file_write_atomic(cp, hex, 64, &cause) != 0)
			free(cause);
		free(cp);
	}
	return xstrdup(hex);
}

static void *
modelsum_main(void *arg)
{
	char	*path = arg;

#ifdef SYS_gettid
	/* Lowest priority: the engine's threads come first. */
	setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19);
#endif
	free(modelsum_now(path));
	free(path);
	return NULL;
}

/* Start hashing in the background unless the digest is cached. */
void
modelsum_start(const char *path)
{
	pthread_t	 t;
	char		*known;

	if ((known = modelsum_cached(path)) != NULL) {
		free(known);
		return;
	}
	if (pthread_create(&t, NULL, modelsum_main, xstrdup(path)) == 0)
		pthread_detach(t);
}

/*
 * KV snapshots bound to their conversation.  A session names its
 * snapshot (kv:) and carries kv_sha256, the SHA-256 of the snapshot
 * file's SHA-256 and the conversation's text; a snapshot is used only if
 * it lies in our own snapshot folder and the digest matches, so a session
 * someone sends cannot carry context its text does not show.
 */
static void
kv_put(struct sha256 *s, const char *tag, const char *text)
{
	uint64_t	n = text != NULL ? strlen(text) : 0;

	sha256_update(s, tag, strlen(tag) + 1);
	sha256_update(s, &n, sizeof n);
	if (n > 0)
		sha256_update(s, text, (size_t)n);
}

/* The binding digest of the snapshot at path and c (hex; caller frees),
 * or NULL if the file cannot be read. */
char *
modelsum_kv(const char *path, const struct conv *c)
{
	struct sha256	 s;
	uint8_t		 d[32];
	char		 hex[65];
	size_t		 i;

	if (sha256_file(path, d) != 0)
		return NULL;
	sha256_init(&s);
	sha256_update(&s, "yangtuo kv 1", 12);
	sha256_update(&s, d, sizeof d);
	kv_put(&s, "system-name", c->system_name);
	kv_put(&s, "system", c->system_text);
	for (i = 0; i < c->n; i++)
		kv_put(&s, conv_role_name(c->msgs[i].role), c->msgs[i].text);
	sha256_final(&s, d);
	sha256_hex(d, hex);
	return xstrdup(hex);
}

/* Whether c's snapshot may be used: 0, or -1 with *why (caller frees). */
int
modelsum_kv_check(const struct conv *c, char **why)
{
	char	*dir, *rdir = NULL, *rkv = NULL, *sum = NULL;
	size_t	 n;
	int	 r = -1;

	if ((dir = xdg_dir(XDG_CACHE, "kv", 0)) == NULL ||
	    (rdir = realpath(dir, NULL)) == NULL ||
	    (rkv = realpath(c->kv_path, NULL)) == NULL) {
		xasprintf(why, _("%s: no such snapshot"), c->kv_path);
		goto out;
	}
	n = strlen(rdir);
	if (c->kv_path[0] != '/' || strstr(c->kv_path, "/../") != NULL ||
	    strncmp(rkv, rdir, n) != 0 || rkv[n] != '/' ||
	    strchr(rkv + n + 1, '/') != NULL) {
		xasprintf(why, _("%s is not in the snapshot folder %s"),
		    c->kv_path, rdir);
		goto out;
	}
	if (c->kv_sha256 == NULL) {
		xasprintf(why, _("the session has no digest binding it to the "
		    "snapshot"));
		goto out;
	}
	if ((sum = modelsum_kv(rkv, c)) == NULL ||
	    strcmp(sum, c->kv_sha256) != 0) {
		xasprintf(why, _("it does not match the conversation (the text "
		    "or the snapshot was changed)"));
		goto out;
	}
	r = 0;
out:
	free(sum);
	free(rkv);
	free(rdir);
	free(dir);
	return r;
}
