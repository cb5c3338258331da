/*
 * GGUF v3 writer: key/value pairs and tensors are added in order, then
 * written in one go, atomically to a file (temporary file, fsync, rename,
 * fsync of the directory) or to memory.  Tensor data is borrowed, or made
 * by a callback at write time so a large model is held a tensor at a time.
 */
#ifndef YT_ENGINE_GGUF_WRITE_H
#define YT_ENGINE_GGUF_WRITE_H

#include <stddef.h>
#include <stdint.h>

struct gguf_kv;
struct gguf_w;

/* Fill buf with the nbytes of tensor name; 0 on success, -1 fails the
 * write.  buf is only valid during the call. */
typedef int (*gguf_w_fill_fn)(void *ctx, void *buf, size_t nbytes,
    const char *name);

struct gguf_w	*gguf_w_new(void);
void		 gguf_w_free(struct gguf_w *);

/* Settings: the version is written as given (tests write bad ones). */
void		 gguf_w_set_version(struct gguf_w *, uint32_t);
int		 gguf_w_set_alignment(struct gguf_w *, uint32_t);

/*
 * Key/value pairs, written in the order added; values are copied.  Keys
 * are not checked for duplicates or emptiness, so tests can build such
 * files.  Each returns 0, or -1 once the writer has failed (out of memory
 * or a bad tensor earlier); the first failure is reported by the write.
 */
int	gguf_w_u32(struct gguf_w *, const char *key, uint32_t);
int	gguf_w_i32(struct gguf_w *, const char *key, int32_t);
int	gguf_w_u64(struct gguf_w *, const char *key, uint64_t);
int	gguf_w_f32(struct gguf_w *, const char *key, float);
int	gguf_w_bool(struct gguf_w *, const char *key, int);
int	gguf_w_str(struct gguf_w *, const char *key, const char *);
int	gguf_w_arr_str(struct gguf_w *, const char *key,
	    const char *const *, size_t n);
int	gguf_w_arr_f32(struct gguf_w *, const char *key, const float *,
	    size_t n);
int	gguf_w_arr_i32(struct gguf_w *, const char *key, const int32_t *,
	    size_t n);
int	gguf_w_kv_raw(struct gguf_w *, const char *key, uint32_t type,
	    const void *payload, size_t len);
int	gguf_w_kv_copy(struct gguf_w *, const struct gguf_kv *);

/*
 * Tensors, laid out in the order added.  Name, shape and type are
 * checked (name 1..63 bytes, 1..4 positive dims, known type, whole
 * blocks).  gguf_w_tensor borrows data: it must stay valid until the
 * last write.  gguf_w_tensor_cb calls fill at each write instead.
 */
int	gguf_w_tensor(struct gguf_w *, const char *name, uint32_t type,
	    int n_dims, const int64_t *ne, const void *data);
int	gguf_w_tensor_cb(struct gguf_w *, const char *name, uint32_t type,
	    int n_dims, const int64_t *ne, gguf_w_fill_fn fill, void *ctx);

int	gguf_w_write(struct gguf_w *, const char *path, char **cause);
int	gguf_w_write_mem(struct gguf_w *, void **buf, size_t *len,
	    char **cause);

#endif
