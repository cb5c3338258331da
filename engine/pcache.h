/*
 * The prompt cache: KV snapshots (kvsnap.h) of prompt prefixes that come
 * again, a system prompt or a long pasted document, kept in a folder
 * across chats and processes.  An entry's name is a digest of the model,
 * this yangtuo build and kernels, and the prefix's tokens; its
 * content is checked whole before use.  The folder is kept under a size
 * by removing the entries least recently used.
 */
#ifndef YT_ENGINE_PCACHE_H
#define YT_ENGINE_PCACHE_H

#include <stddef.h>
#include <stdint.h>

struct fwd;
struct model;

#define PCACHE_DOC_TOKENS	512	/* a user message this long is kept */

/* The key of this model under this build, these kernels and this
 * batch size (the rows a prompt gives may depend on how it is cut). */
void	pcache_key(const struct model *, uint32_t n_batch, uint8_t key[32]);
/*
 * Load the entry for toks[0..n) into the cache rows [0..n).  Returns 1
 * if it was there and whole, 0 if there is none, -1 if a file was there
 * but not usable (*cause says why; rows [0..n) may have been written).
 */
int	pcache_load(const char *dir, const uint8_t key[32],
	    const struct model *, struct fwd *, const int32_t *toks,
	    size_t n, char **cause);
/* Save rows [0..n) as the entry for toks[0..n), replacing any file of
 * that name atomically, then keep the folder within max bytes (an entry
 * larger than that is not saved). */
int	pcache_save(const char *dir, const uint8_t key[32],
	    const struct model *, struct fwd *, const int32_t *toks,
	    size_t n, uint64_t max, char **cause);
/* Remove the least recently used entries until the folder's entries
 * take at most max bytes. */
void	pcache_trim(const char *dir, uint64_t max);

#endif
