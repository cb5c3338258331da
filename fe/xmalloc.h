/*
 * Allocation that cannot fail: on out-of-memory these call fatal(), which
 * runs the cleanup the front end registered (terminal restore) and exits.
 * For small, bounded allocations only; large engine buffers use malloc.
 */
#ifndef YT_FE_XMALLOC_H
#define YT_FE_XMALLOC_H

#include <stdarg.h>
#include <stddef.h>

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
int	 xasprintf(char **, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
int	 xvasprintf(char **, const char *, va_list);

/* fatal() runs this first (the UI registers endwin + tty restore). */
void	 xmalloc_set_cleanup(void (*)(void));
void	 fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif
