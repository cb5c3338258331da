/*
 * What the GGUF reader, its value accessors and the writer share: the
 * size of each value type and little-endian loads.
 */
#ifndef YT_ENGINE_GGUF_IMPL_H
#define YT_ENGINE_GGUF_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "gguf.h"

/* Bytes of one value of each fixed-size type (0: STRING, ARRAY). */
extern const uint8_t gguf_vt_size[GGUF_VT_COUNT];

/* Little-endian load of n <= 8 bytes, whatever the host order. */
static inline uint64_t
gguf_load_le(const uint8_t *p, size_t n)
{
	uint64_t	v = 0;

	while (n-- > 0)
		v = (v << 8) | p[n];
	return v;
}

#endif
