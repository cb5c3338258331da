/*
 * A small TAP producer for the unit tests (run by automake's
 * tap-driver.sh).  ok() records one test point; skip_all() skips a whole
 * program; tap_done() prints the plan and returns the exit status.
 */
#ifndef YT_TESTS_TAP_H
#define YT_TESTS_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int tap_n, tap_failed;

static inline int
ok(int cond, const char *fmt, ...)
{
	va_list ap;

	tap_n++;
	if (!cond)
		tap_failed++;
	printf("%sok %d - ", cond ? "" : "not ", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	return cond;
}

static inline void
diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static inline void
skip(const char *why)
{
	tap_n++;
	printf("ok %d # SKIP %s\n", tap_n, why);
	fflush(stdout);
}

static inline void
skip_all(const char *why)
{
	printf("1..0 # SKIP %s\n", why);
	exit(0);
}

static inline int
tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

/* Where the shared test data lives (../shared/testdata by default). */
static inline const char *
tap_testdata(void)
{
	const char *d = getenv("YT_TESTDATA");

	return d != NULL && *d != '\0' ? d : TESTDATA_DIR;
}

/* Remove a test's temporary folder and all it holds. */
static inline void
tap_rmtree(const char *dir)
{
	char	cmd[1100];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		diag("could not remove %s", dir);
}

/* Write len bytes of b to path (test input). */
static inline void
tap_spit(const char *path, const char *b, size_t len)
{
	FILE	*f = fopen(path, "wb");

	if (f == NULL)
		return;
	fwrite(b, 1, len, f);
	fclose(f);
}

/* Skip the whole program when the shared test data lacks file sub (it
 * lives outside the repository, in ../shared/testdata). */
static inline void
tap_need_testdata(const char *sub)
{
	char	path[1024];

	snprintf(path, sizeof path, "%s/%s", tap_testdata(), sub);
	if (access(path, R_OK) != 0)
		skip_all("no ../shared/testdata (set YT_TESTDATA)");
}

#endif
