/*
 * The helpers both sides share (common/util.c): causes, whole writes,
 * decimal numbers, and files replaced whole or not at all.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "tests/tap.h"

/* The bytes of path as a string, or NULL; caller frees. */
static char *
slurp(const char *path)
{
	char	*buf = calloc(1, 256);
	int	 fd = open(path, O_RDONLY);
	ssize_t	 n;

	if (fd < 0 || buf == NULL) {
		free(buf);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	n = read(fd, buf, 255);
	close(fd);
	if (n < 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* Files in dir besides "." and "..". */
static int
count_files(const char *dir)
{
	DIR		*d = opendir(dir);
	struct dirent	*de;
	int		 n = 0;

	while (d != NULL && (de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	if (d != NULL)
		closedir(d);
	return n;
}

static void
test_numbers(void)
{
	long	v = -7;

	ok(util_parse_long("42", 0, 100, &v) == 0 && v == 42, "a decimal");
	ok(util_parse_long("-3", -5, 5, &v) == 0 && v == -3, "a negative one");
	v = 9;
	ok(util_parse_long("101", 0, 100, &v) != 0 && v == 9,
	    "out of range: refused, *out untouched");
	ok(util_parse_long("", 0, 100, &v) != 0 &&
	    util_parse_long("12x", 0, 100, &v) != 0 &&
	    util_parse_long("99999999999999999999", 0, 100, &v) != 0,
	    "empty, trailing text and overflow are refused");
}

static void
test_cause(void)
{
	char	*cause = NULL;

	ok(util_cause(&cause, "%s %d", "bad", 3) == -1 && cause != NULL &&
	    strcmp(cause, "bad 3") == 0, "util_cause formats and gives -1");
	free(cause);
	ok(util_cause(NULL, "ignored") == -1, "a NULL cause is allowed");
}

static void
test_atomic(const char *dir)
{
	struct util_atomic	 a;
	char			 path[512], *s;
	int			 fd[2];

	snprintf(path, sizeof path, "%s/f.txt", dir);
	ok(util_atomic_open(&a, path, 0600) == 0 && a.fd >= 0,
	    "util_atomic_open makes a temporary file");
	ok(util_write_all(a.fd, "first", 5) == 0 &&
	    util_atomic_commit(&a) == 0, "written and committed");
	s = slurp(path);
	ok(s != NULL && strcmp(s, "first") == 0, "the file holds it");
	free(s);
	ok(util_atomic_open(&a, path, 0600) == 0 &&
	    util_write_all(a.fd, "second, longer", 14) == 0, "a second write");
	s = slurp(path);
	ok(s != NULL && strcmp(s, "first") == 0,
	    "until the commit the old file is whole");
	free(s);
	util_atomic_abort(&a);
	s = slurp(path);
	ok(s != NULL && strcmp(s, "first") == 0 && count_files(dir) == 1,
	    "an abort leaves the old file and no temporary file");
	free(s);
	ok(util_atomic_open(&a, path, 0600) == 0 &&
	    util_write_all(a.fd, "third", 5) == 0 &&
	    util_atomic_commit(&a) == 0, "replaced by a third");
	s = slurp(path);
	ok(s != NULL && strcmp(s, "third") == 0 && count_files(dir) == 1,
	    "the file is replaced whole, nothing left beside it");
	free(s);
	snprintf(path, sizeof path, "%s/no/such/dir/f", dir);
	ok(util_atomic_open(&a, path, 0600) == -1 && errno == ENOENT,
	    "no folder: -1 with errno");
	if (pipe(fd) == 0) {
		ok(util_write_all(fd[1], "abc", 3) == 0 && read(fd[0],
		    path, sizeof path) == 3, "util_write_all to a pipe");
		close(fd[0]);
		ok(util_write_all(fd[1], "x", 1) == -1 && errno == EPIPE,
		    "to a closed pipe: -1, EPIPE");
		close(fd[1]);
	}
}

int
main(void)
{
	char	dir[] = "/tmp/yt-util-XXXXXX";

	signal(SIGPIPE, SIG_IGN);
	if (mkdtemp(dir) == NULL)
		skip_all("no temporary folder");
	test_numbers();
	test_cause();
	test_atomic(dir);
	tap_rmtree(dir);
	return tap_done();
}
