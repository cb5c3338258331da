/*
 * The debug log: one line per call with a monotonic timestamp, serialised
 * by a mutex so the UI and engine threads can both write.
 */
#include "config.h"

#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

static FILE		*log_file;
static pthread_mutex_t	 log_lock = PTHREAD_MUTEX_INITIALIZER;

/* Start logging to path ("-" = stderr); returns 0 or -1 (errno set). */
int
log_open(const char *path)
{
	FILE	*f;

	if (path[0] == '-' && path[1] == '\0')
		f = stderr;
	else if ((f = fopen(path, "a")) == NULL)
		return -1;
	pthread_mutex_lock(&log_lock);
	log_file = f;
	pthread_mutex_unlock(&log_lock);
	return 0;
}

/* Stop logging and close the file. */
void
log_close(void)
{
	pthread_mutex_lock(&log_lock);
	if (log_file != NULL && log_file != stderr)
		fclose(log_file);
	log_file = NULL;
	pthread_mutex_unlock(&log_lock);
}

/* Whether log_debug() writes anything. */
int
log_enabled(void)
{
	return log_file != NULL;
}

/* Write one timestamped line to the log, if it is open. */
void
log_debug(const char *fmt, ...)
{
	struct timespec	ts;
	va_list		ap;

	if (log_file == NULL)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	pthread_mutex_lock(&log_lock);
	if (log_file != NULL) {
		fprintf(log_file, "%ld.%06ld ", (long)ts.tv_sec,
		    ts.tv_nsec / 1000);
		va_start(ap, fmt);
		vfprintf(log_file, fmt, ap);
		va_end(ap);
		fputc('\n', log_file);
		fflush(log_file);
	}
	pthread_mutex_unlock(&log_lock);
}
