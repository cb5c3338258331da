/*
 * Small helpers both sides use (the engine and the front ends): the
 * "char **cause" convention, whole writes, files replaced atomically,
 * the monotonic clock and decimal numbers.  Plain malloc, no exit: the
 * engine may call them.
 */
#ifndef YT_COMMON_UTIL_H
#define YT_COMMON_UTIL_H

#include <stddef.h>
#include <sys/types.h>

/* Set *cause (caller frees; NULL cause: nothing) to the formatted text
 * and return -1, for "return util_cause(cause, ...)". */
int	util_cause(char **cause, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Write all n bytes to fd, retrying after EINTR; 0 or -1 (errno). */
int	util_write_all(int fd, const void *, size_t n);
/* Seconds on the monotonic clock, for durations. */
double	util_now(void);
/* Parse a whole decimal in [lo, hi] into *out; 0 or -1. */
int	util_parse_long(const char *s, long lo, long hi, long *out);
/* Split a LoRA argument "PATH[:SCALE]" (SCALE a finite number, default
 * 1) into a new path (caller frees) and a scale; -1 and *cause (caller
 * frees) on a bad scale or OOM. */
int	util_lora_arg(const char *arg, char **path, float *scale,
	    char **cause);

/* A file being written beside path, to replace it whole or not at all. */
struct util_atomic {
	int	 fd;		/* write here */
	char	*tmp;		/* the temporary file's name */
	char	*path;
};

/* Create a new temporary file beside path with mode (before umask);
 * 0, or -1 (errno) with nothing to undo. */
int	util_atomic_open(struct util_atomic *, const char *path, mode_t mode);
/* fsync and close the temporary file, rename it over path and fsync the
 * folder: 0; -1 (errno) if path was not replaced (the temporary file is
 * removed); -2 (errno) if it was but the folder could not be synced. */
int	util_atomic_commit(struct util_atomic *);
/* Close and remove the temporary file after a failed write; keeps errno. */
void	util_atomic_abort(struct util_atomic *);
/* Remove temporary files of path left by saves that were killed (their
 * process is gone); util_atomic_open does this first. */
void	util_atomic_clean(const char *path);

#endif
