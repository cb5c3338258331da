/*
 * The SHA-256 of a model file, for session files.  Hashing 5 GB takes
 * seconds, so it runs once per file version in a low-priority background
 * thread and is cached in $XDG_CACHE_HOME/yangtuo/sha256/.
 */
#ifndef YT_FE_MODELSUM_H
#define YT_FE_MODELSUM_H

/* The digest (64 hex digits; caller frees) if it is known, else NULL. */
char	*modelsum_cached(const char *path);
/* Compute and cache it in the background unless it is known. */
void	 modelsum_start(const char *path);
/* Compute it now without caching (small files); caller frees, or NULL. */
char	*modelsum_file(const char *path);
/* Compute and cache it now; the digest (caller frees) or NULL. */
char	*modelsum_now(const char *path);

struct conv;

/* The digest binding the KV snapshot at path to c (hex; caller frees), or
 * NULL if it cannot be read. */
char	*modelsum_kv(const char *path, const struct conv *c);
/* Whether c's snapshot (c->kv_path) lies in the snapshot folder and
 * matches c->kv_sha256: 0, or -1 with *why (caller frees). */
int	 modelsum_kv_check(const struct conv *c, char **why);

#endif
