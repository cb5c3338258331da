/*
 * Debug log: written to a file only when -v/--log-file asks for it, never
 * to the terminal.  Safe to call from any thread.
 */
#ifndef YT_COMMON_LOG_H
#define YT_COMMON_LOG_H

int	log_open(const char *path);
void	log_close(void);
int	log_enabled(void);
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));

#endif
