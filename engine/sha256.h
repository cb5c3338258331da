/*
 * SHA-256 (FIPS 180-4), for model identities, KV snapshot names and file
 * digests.
 */
#ifndef YT_ENGINE_SHA256_H
#define YT_ENGINE_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct sha256 {
	uint32_t	h[8];
	uint64_t	len;		/* bytes so far */
	uint8_t		buf[64];
	size_t		nbuf;
};

void	sha256_init(struct sha256 *);
void	sha256_update(struct sha256 *, const void *, size_t);
void	sha256_final(struct sha256 *, uint8_t out[32]);
/* Lower-case hex of a digest into out (65 bytes with the NUL). */
void	sha256_hex(const uint8_t d[32], char out[65]);
/* The digest of a whole file; 0, or -1 (errno set). */
int	sha256_file(const char *path, uint8_t out[32]);

#endif
