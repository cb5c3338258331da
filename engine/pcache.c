/*
 * The prompt cache (pcache.h): entries are kvsnap files named by
 * kvsnap_name_key() under a key that adds this build (its version and
 * the digest of the running program) and its kernel path to the model's
 * digest, so numbers from another build are never mixed with this one's.
 */
#include "config.h"

#include "pcache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kvsnap.h"
#include "quant.h"
#include "sha256.h"
#include "common/util.h"

#define PCACHE_MAX_ENTRIES	100000	/* files looked at when trimming */

struct pc_entry {
	struct timespec	 mtime;
	uint64_t	 size;
	char		 name[40];
};

/* The model's digest, this yangtuo's version and program, its kernel
 * path and the batch size asked for. */
void
pcache_key(const struct model *m, uint32_t n_batch, uint8_t key[32])
{
	struct sha256	s;
	uint8_t		mk[32], exe[32];
	const char	*v = PACKAGE_VERSION, *k = qt_path_name();

	kvsnap_model_key(m, mk);
	sha256_init(&s);
	sha256_update(&s, "yangtuo prompt cache", 20);
	sha256_update(&s, mk, sizeof mk);
	sha256_update(&s, v, strlen(v) + 1);
	/* A rebuild of the same version may compute otherwise. */
	if (sha256_file("/proc/self/exe", exe) == 0)
		sha256_update(&s, exe, sizeof exe);
	sha256_update(&s, k, strlen(k) + 1);
	sha256_update(&s, &n_batch, sizeof n_batch);
	sha256_final(&s, key);
}

static char *
entry_path(const char *dir, const uint8_t key[32], const int32_t *toks,
    size_t n)
{
	char	 name[40], *path;

	kvsnap_name_key(key, toks, n, name);
	if (asprintf(&path, "%s/%s", dir, name) < 0)
		return NULL;
	return path;
}

/* Load an entry (see pcache.h). */
int
pcache_load(const char *dir, const uint8_t key[32], const struct model *m,
    struct fwd *f, const int32_t *toks, size_t n, char **cause)
{
	struct stat	 st;
	char		*path;
	int32_t		*got = NULL;
	size_t		 n_got = 0;
	int		 r;

	if ((path = entry_path(dir, key, toks, n)) == NULL)
		return util_cause(cause, "out of memory");
	if (stat(path, &st) != 0 && errno == ENOENT) {
		free(path);
		return 0;
	}
	r = kvsnap_load(m, f, path, &got, &n_got, cause);
	if (r == 0 && (n_got != n || memcmp(got, toks, n * sizeof *toks) !=
	    0))
		r = util_cause(cause, "%s: holds other tokens", path);
	/* Used now: the last to go when the folder is trimmed. */
	if (r == 0)
		utimensat(AT_FDCWD, path, NULL, 0);
	free(got);
	free(path);
	return r == 0 ? 1 : -1;
}

/* Save an entry and trim the folder (see pcache.h). */
int
pcache_save(const char *dir, const uint8_t key[32], const struct model *m,
    struct fwd *f, const int32_t *toks, size_t n, uint64_t max,
    char **cause)
{
	uint64_t	 size;
	char		*path;
	int		 r;

	/* One that does not fit would only push the others out. */
	if (kvsnap_bytes(m, f, n, &size) != 0 || size > max)
		return util_cause(cause, "%zu tokens take more than the "
		    "%llu bytes allowed", n, (unsigned long long)max);
	if ((path = entry_path(dir, key, toks, n)) == NULL)
		return util_cause(cause, "out of memory");
	r = kvsnap_save(m, f, toks, n, path, cause);
	free(path);
	pcache_trim(dir, max);
	return r;
}

/* Whether name is an entry's, 32 hex digits and ".kv", or (tmp) one of
 * its temporary files, that name and ".tmp...". */
static int
is_entry(const char *name, int tmp)
{
	size_t	i;

	for (i = 0; i < 32; i++)
		if (!((name[i] >= '0' && name[i] <= '9') ||
		    (name[i] >= 'a' && name[i] <= 'f')))
			return 0;
	if (strncmp(name + 32, ".kv", 3) != 0)
		return 0;
	return tmp ? strncmp(name + 35, ".tmp", 4) == 0 : name[35] == '\0';
}

static int
entry_cmp(const void *a, const void *b)
{
	const struct pc_entry	*x = a, *y = b;

	if (x->mtime.tv_sec != y->mtime.tv_sec)
		return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
	if (x->mtime.tv_nsec != y->mtime.tv_nsec)
		return x->mtime.tv_nsec < y->mtime.tv_nsec ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* The entries of dir (and the leftovers of killed saves removed). */
static struct pc_entry *
list_entries(const char *dir, size_t *n_out, uint64_t *total)
{
	struct pc_entry	*v = NULL, *nv;
	struct dirent	*d;
	struct stat	 st;
	size_t		 n = 0, cap = 0;
	DIR		*dp;
	char		*path;
	int		 fd;

	*n_out = 0;
	*total = 0;
	if ((dp = opendir(dir)) == NULL)
		return NULL;
	fd = dirfd(dp);
	while ((d = readdir(dp)) != NULL && n < PCACHE_MAX_ENTRIES) {
		if (is_entry(d->d_name, 1)) {
			if (asprintf(&path, "%s/%.35s", dir, d->d_name) >= 0) {
				util_atomic_clean(path);
				free(path);
			}
			continue;
		}
		if (!is_entry(d->d_name, 0) ||
		    fstatat(fd, d->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (n == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			if ((nv = reallocarray(v, cap, sizeof *v)) == NULL)
				break;
			v = nv;
		}
		v[n].mtime = st.st_mtim;
		v[n].size = (uint64_t)st.st_size;
		memcpy(v[n].name, d->d_name, 36);
		*total += v[n].size;
		n++;
	}
	closedir(dp);
	*n_out = n;
	return v;
}

/* Trim the folder to max bytes, least recently used first. */
void
pcache_trim(const char *dir, uint64_t max)
{
	struct pc_entry	*v;
	uint64_t	 total;
	size_t		 n, i;
	char		*path;

	if ((v = list_entries(dir, &n, &total)) == NULL)
		return;
	qsort(v, n, sizeof *v, entry_cmp);
	for (i = 0; i < n && total > max; i++) {
		if (asprintf(&path, "%s/%s", dir, v[i].name) < 0)
			break;
		if (unlink(path) == 0 || errno == ENOENT)
			total -= v[i].size;
		free(path);
	}
	free(v);
}
