/*
 * Helpers shared by the engine and the front ends (util.h): causes,
 * whole writes, atomic replacement of a file, the clock, numbers.  Any
 * thread; nothing here prints or exits.
 */
#include "config.h"

#include "util.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Format *cause; -1. */
int
util_cause(char **cause, const char *fmt, ...)
{
	va_list	ap;

	if (cause == NULL)
		return -1;
	va_start(ap, fmt);
	if (vasprintf(cause, fmt, ap) < 0)
		*cause = NULL;
	va_end(ap);
	return -1;
}

/* All of it, in pieces of at most 1 GiB (Linux writes no more at once). */
int
util_write_all(int fd, const void *v, size_t n)
{
	const unsigned char	*p = v;
	ssize_t			 w;

	while (n > 0) {
		w = write(fd, p, n > (1u << 30) ? (1u << 30) : n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w == 0)
			errno = EIO;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Monotonic seconds. */
double
util_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A decimal in [lo, hi]. */
int
util_parse_long(const char *s, long lo, long hi, long *out)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/* Whether name is "base.tmpPID.N" (a temporary file of util_atomic_open
 * for base); its PID in *pid. */
static int
tmp_of(const char *name, const char *base, long *pid)
{
	size_t	 n = strlen(base);
	char	*end;

	if (strncmp(name, base, n) != 0 || strncmp(name + n, ".tmp", 4) != 0)
		return 0;
	name += n + 4;
	if (*name < '1' || *name > '9')
		return 0;
	errno = 0;
	*pid = strtol(name, &end, 10);
	if (errno != 0 || *pid <= 0 || *end != '.' || end[1] < '0' ||
	    end[1] > '9')
		return 0;
	for (end++; *end >= '0' && *end <= '9'; end++)
		;
	return *end == '\0';
}

/*
 * Remove the temporary files a killed save of path left beside it: those
 * of a process that no longer exists, or older than a day (a PID used
 * again by another program).  Our own process's are never touched.
 */
void
util_atomic_clean(const char *path)
{
	const char	*slash = strrchr(path, '/');
	char		*dir, *f;
	DIR		*d;
	struct dirent	*de;
	struct stat	 st;
	long		 pid;
	time_t		 now = time(NULL);

	if (slash == NULL)
		dir = strdup(".");
	else
		dir = strndup(path, slash == path ? 1 : (size_t)(slash - path));
	if (dir == NULL || (d = opendir(dir)) == NULL) {
		free(dir);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (!tmp_of(de->d_name, slash != NULL ? slash + 1 : path,
		    &pid) || pid == (long)getpid())
			continue;
		if (asprintf(&f, "%s/%s", dir, de->d_name) < 0)
			break;
		if (lstat(f, &st) == 0 && S_ISREG(st.st_mode) &&
		    ((kill((pid_t)pid, 0) == -1 && errno == ESRCH) ||
		    st.st_mtime + 86400 < now))
			unlink(f);
		free(f);
	}
	closedir(d);
	free(dir);
}

/* A new PATH.tmpPID.N beside path (N counts, for two writers in one
 * process). */
int
util_atomic_open(struct util_atomic *a, const char *path, mode_t mode)
{
	static unsigned	seq;
	int		i;

	a->fd = -1;
	a->tmp = NULL;
	util_atomic_clean(path);
	if ((a->path = strdup(path)) == NULL)
		return -1;
	for (i = 0; i < 100; i++) {
		if (asprintf(&a->tmp, "%s.tmp%ld.%u", path, (long)getpid(),
		    __atomic_fetch_add(&seq, 1, __ATOMIC_RELAXED)) < 0) {
			a->tmp = NULL;
			break;
		}
		a->fd = open(a->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		    mode);
		if (a->fd >= 0)
			return 0;
		free(a->tmp);
		a->tmp = NULL;
		if (errno != EEXIST)
			break;
	}
	free(a->path);
	a->path = NULL;
	if (errno == 0)
		errno = ENOMEM;
	return -1;
}

/* fsync the folder of path; file systems that cannot are no failure. */
static int
sync_dir(const char *path)
{
	const char	*slash = strrchr(path, '/');
	char		*dir;
	int		 fd, r = 0;

	if (slash == NULL)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, (size_t)(slash - path));
	if (dir == NULL)
		return -1;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (fd < 0)
		return -1;
	if (fsync(fd) != 0 && errno != EINVAL && errno != EROFS)
		r = -1;
	close(fd);
	return r;
}

/* Replace the file. */
int
util_atomic_commit(struct util_atomic *a)
{
	int	r = 0, fd = a->fd;

	a->fd = -1;
	if (fsync(fd) != 0) {
		a->fd = fd;
		util_atomic_abort(a);
		return -1;
	}
	if (close(fd) != 0 || rename(a->tmp, a->path) != 0) {
		util_atomic_abort(a);
		return -1;
	}
	if (sync_dir(a->path) != 0)
		r = -2;
	free(a->tmp);
	free(a->path);
	a->tmp = a->path = NULL;
	return r;
}

/* Give up. */
void
util_atomic_abort(struct util_atomic *a)
{
	int	saved = errno;

	if (a->fd >= 0)
		close(a->fd);
	if (a->tmp != NULL)
		unlink(a->tmp);
	free(a->tmp);
	free(a->path);
	a->fd = -1;
	a->tmp = a->path = NULL;
	errno = saved;
}

/* Split "PATH[:SCALE]": the text after the last colon is the scale if it
 * reads as a number, so a path holding colons still works. */
int
util_lora_arg(const char *arg, char **path, float *scale, char **cause)
{
	const char	*colon = strrchr(arg, ':');
	char		*end;
	float		 v;

	*scale = 1.0f;
	if (colon != NULL && colon != arg && colon[1] != '\0' &&
	    strchr("+-.0123456789", colon[1]) != NULL) {
		errno = 0;
		v = strtof(colon + 1, &end);
		if (*end != '\0' || errno != 0 || !isfinite(v))
			return util_cause(cause, "adapter '%s': bad scale "
			    "'%s'", arg, colon + 1);
		*scale = v;
		*path = strndup(arg, (size_t)(colon - arg));
	} else
		*path = strdup(arg);
	if (*path == NULL)
		return util_cause(cause, "out of memory");
	return 0;
}
