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

#endif
