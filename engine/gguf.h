/*
 * GGUF v2/v3 reader over a read-only mmap.  Every count, length, shape,
 * offset and size is checked with overflow-safe arithmetic before it is
 * used; a file that fails a check is refused with a sentence naming the
 * problem.  Nothing here prints or exits.
 */
#ifndef YT_ENGINE_GGUF_H
#define YT_ENGINE_GGUF_H

#include <stddef.h>
#include <stdint.h>

/* Metadata value types, as numbered in the GGUF specification. */
enum gguf_vtype {
	GGUF_VT_UINT8 = 0,
	GGUF_VT_INT8 = 1,
	GGUF_VT_UINT16 = 2,
	GGUF_VT_INT16 = 3,
	GGUF_VT_UINT32 = 4,
	GGUF_VT_INT32 = 5,
	GGUF_VT_FLOAT32 = 6,
	GGUF_VT_BOOL = 7,
	GGUF_VT_STRING = 8,
	GGUF_VT_ARRAY = 9,
	GGUF_VT_UINT64 = 10,
	GGUF_VT_INT64 = 11,
	GGUF_VT_FLOAT64 = 12,
	GGUF_VT_COUNT
};

#define GGUF_MAX_NAME		64		/* tensor name, incl. NUL */
#define GGUF_MAX_DIMS		4
#define GGUF_MAX_STRING		(1u << 20)	/* one metadata string */
#define GGUF_MAX_META		(64u << 20)	/* all metadata together */
#define GGUF_MAX_ALIGN		(1u << 20)
#define GGUF_DEFAULT_ALIGN	32

/* A string inside the mapping: not NUL-terminated. */
struct gguf_str {
	const char	*p;
	uint64_t	 len;
};

/* One key/value pair.  For arrays, type is GGUF_VT_ARRAY, atype the
 * element type and n the element count; data points at the first
 * element inside the mapping.  For string arrays, strs[] indexes every
 * element (built once at open, so lookups are O(1)). */
struct gguf_kv {
	struct gguf_str	 key;
	uint32_t	 type;
	uint32_t	 atype;
	uint64_t	 n;
	const uint8_t	*data;
	struct gguf_str	*strs;	/* string arrays only, else NULL */
};
/* For a scalar, atype equals type, n is 1 and data points at the value
 * (little-endian, maybe unaligned); for a STRING scalar, data points at
 * its first byte and n is its length. */

/* One tensor: shape ne[] innermost first, unused dims are 1. */
struct gguf_tensor {
	char		 name[GGUF_MAX_NAME];
	uint32_t	 n_dims;
	int64_t		 ne[GGUF_MAX_DIMS];
	uint32_t	 type;		/* enum qt_type (quant.h) */
	uint64_t	 offset;	/* relative to the data section */
	uint64_t	 nbytes;
	const void	*data;		/* inside the mapping, bounds-checked */
};

struct gguf {
	const uint8_t		*map;
	size_t			 size;
	int			 fd;
	uint32_t		 version;
	uint64_t		 n_kv;
	struct gguf_kv		*kv;
	uint64_t		 n_tensors;
	struct gguf_tensor	*tensors;
	uint64_t		 alignment;
	uint64_t		 data_offset;	/* start of the data section */
	uint64_t		 data_size;	/* bytes the tensors span */
};

struct gguf	*gguf_open(const char *path, char **cause);
struct gguf	*gguf_open_mem(const void *buf, size_t len, char **cause);
void		 gguf_close(struct gguf *);
int		 gguf_attach(struct gguf *, struct gguf_tensor *, uint64_t n,
		    void (*fini)(void *), void *ctx, char **cause);

const struct gguf_kv	*gguf_find(const struct gguf *, const char *key);
const struct gguf_tensor *gguf_find_tensor(const struct gguf *,
		    const char *name);

/*
 * Typed getters: return 0 and store the value, 1 if the key is absent
 * (value untouched), -1 if the key exists with an incompatible type.
 * Integer getters accept any integer type whose value fits.
 */
int	gguf_get_u32(const struct gguf *, const char *, uint32_t *);
int	gguf_get_i64(const struct gguf *, const char *, int64_t *);
int	gguf_get_f32(const struct gguf *, const char *, float *);
int	gguf_get_bool(const struct gguf *, const char *, int *);
int	gguf_get_str(const struct gguf *, const char *, struct gguf_str *);

/* Array element access (callers check kv->atype and kv->n first). */
int64_t		gguf_arr_int(const struct gguf_kv *, uint64_t i);
int		gguf_kv_int(const struct gguf_kv *, uint64_t i, int64_t *,
		    uint64_t *);
float		gguf_arr_f32(const struct gguf_kv *, uint64_t i);

/* Name of a metadata type, for messages. */
const char	*gguf_vtype_name(uint32_t);

#endif
