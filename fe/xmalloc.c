/*
 * x*alloc: allocators that die cleanly on out-of-memory, in tmux's manner.
 * fatal() restores the terminal (through the registered cleanup) before
 * saying what went wrong and exiting with status 1.
 */
#include "config.h"

#include "xmalloc.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void	(*cleanup)(void);

/* Register the function fatal() runs before it prints; NULL clears it. */
void
xmalloc_set_cleanup(void (*fn)(void))
{
	cleanup = fn;
}

/* Print "yangtuo: MESSAGE" to stderr after the cleanup, exit 1. */
void
fatal(const char *fmt, ...)
{
	va_list	ap;
	void	(*fn)(void) = cleanup;

	cleanup = NULL;
	if (fn != NULL)
		fn();
	fprintf(stderr, "yangtuo: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1);
}

/* malloc that never returns NULL (size 0 gives a unique pointer). */
void *
xmalloc(size_t size)
{
	void	*p = malloc(size == 0 ? 1 : size);

	if (p == NULL)
		fatal("out of memory allocating %zu bytes", size);
	return p;
}

/* calloc that never returns NULL. */
void *
xcalloc(size_t n, size_t size)
{
	void	*p;

	if (n == 0 || size == 0)
		n = size = 1;
	if ((p = calloc(n, size)) == NULL)
		fatal("out of memory allocating %zu x %zu bytes", n, size);
	return p;
}

/* realloc of n * size bytes with the multiplication checked. */
void *
xreallocarray(void *old, size_t n, size_t size)
{
	size_t	 total;
	void	*p;

	if (__builtin_mul_overflow(n, size, &total))
		fatal("allocation size overflow (%zu x %zu)", n, size);
	if ((p = realloc(old, total == 0 ? 1 : total)) == NULL)
		fatal("out of memory allocating %zu bytes", total);
	return p;
}

/* strdup that never returns NULL; caller frees. */
char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

/* Copy at most n bytes of s and a NUL; caller frees. */
char *
xstrndup(const char *s, size_t n)
{
	char	*p;
	size_t	 len = strnlen(s, n);

	p = xmalloc(len + 1);
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

/* vasprintf that never fails; caller frees *out. */
int
xvasprintf(char **out, const char *fmt, va_list ap)
{
	int	n = vasprintf(out, fmt, ap);

	if (n < 0)
		fatal("out of memory formatting a message");
	return n;
}

/* asprintf that never fails; caller frees *out. */
int
xasprintf(char **out, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = xvasprintf(out, fmt, ap);
	va_end(ap);
	return n;
}
