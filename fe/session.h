/*
 * Saved conversations: YAML files in $XDG_DATA_HOME/yangtuo/sessions,
 * written atomically (temp file, fsync, rename, fsync of the folder) and
 * read as untrusted input (size cap, schema checked, text sanitized on
 * display by the front end).
 */
#ifndef YT_FE_SESSION_H
#define YT_FE_SESSION_H

#include <stddef.h>

struct conv;

#define SESSION_VERSION		1
#define SESSION_MAX_SIZE	(64u << 20)
#define SESSION_PEEK_SIZE	(64u << 10)	/* bytes a listing reads */

/* Whether name is usable as a session name (no '/', not "." or "..",
 * printable, at most 100 bytes). */
int	session_name_ok(const char *name);
/* The file of a session name; caller frees; NULL without a home. */
char	*session_path(const char *name);
int	session_save(const struct conv *, const char *name,
	    const char *model_path, char **cause);
int	session_load(struct conv *, const char *name, char **cause);
int	session_save_file(const struct conv *, const char *path,
	    const char *model_path, char **cause);
int	session_load_file(struct conv *, const char *path, char **cause);
/* A session held in memory, called name in messages. */
int	session_load_buf(struct conv *, const char *name, const char *buf,
	    size_t len, char **cause);
/* The start of a session file (its first SESSION_PEEK_SIZE bytes) for a
 * listing; *more says the file goes on. */
int	session_peek_file(struct conv *, const char *path, int *more,
	    char **cause);
/* Write the conversation as Markdown (roles as headings, times, reply
 * statistics) to path atomically. */
int	session_export_md(const struct conv *, const char *path,
	    const char *model, char **cause);
/* Write buf to path atomically; 0, or -1 with *cause (caller frees). */
int	file_write_atomic(const char *path, const void *buf, size_t len,
	    char **cause);

#endif
