/*
 * KV snapshots: the engine's cached tokens and their K/V rows written to
 * a file, so a saved conversation resumes without re-reading its prompt.
 * A snapshot names the model it belongs to and is checked whole (size,
 * version, model, token count, checksum) before anything is used.
 */
#ifndef YT_ENGINE_KVSNAP_H
#define YT_ENGINE_KVSNAP_H

#include <stddef.h>
#include <stdint.h>

struct fwd;
struct model;

#define KVSNAP_VERSION	1

/* A digest identifying the model file (its header, size and samples of
 * its data); stored in snapshots.  hex receives 65 bytes. */
void	kvsnap_model_key(const struct model *, uint8_t key[32]);
/* The snapshot file name for these tokens of this model: 32 hex digits
 * and ".kv" (40 bytes with the NUL). */
void	kvsnap_name(const struct model *, const int32_t *toks, size_t n,
	    char name[40]);
/* The same name under any 32-byte key. */
void	kvsnap_name_key(const uint8_t key[32], const int32_t *toks,
	    size_t n, char name[40]);
/* The bytes of a snapshot of n tokens in *out; -1 if that overflows. */
int	kvsnap_bytes(const struct model *, struct fwd *, size_t n,
	    uint64_t *out);
/* Write toks[0..n) and their cache rows to path atomically. */
int	kvsnap_save(const struct model *, struct fwd *, const int32_t *toks,
	    size_t n, const char *path, char **cause);
/* Read a snapshot into the cache; *toks (caller frees) and *n receive
 * the tokens.  Nothing is changed unless the whole file checks out. */
int	kvsnap_load(const struct model *, struct fwd *, const char *path,
	    int32_t **toks, size_t *n, char **cause);

#endif
