/*
 * GGUF v3 writer.  Key/value pairs are serialized as they are added;
 * tensor infos and the data layout are computed at write time, so one
 * writer can be written several times.  Files are replaced atomically:
 * a temporary file beside the target is written, fsynced and renamed.
 */
#include "config.h"

#include "gguf_write.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gguf.h"
#include "quant.h"
#include "common/util.h"
#include "gguf_impl.h"

struct wbuf {
	uint8_t		*p;
	size_t		 len;
	size_t		 cap;
};

struct w_tensor {
	char		 name[GGUF_MAX_NAME];
	uint32_t	 type;
	uint32_t	 n_dims;
	int64_t		 ne[GGUF_MAX_DIMS];
	uint64_t	 nbytes;
	uint64_t	 offset;	/* set by layout() */
	const void	*data;		/* borrowed, or NULL with fill */
	gguf_w_fill_fn	 fill;
	void		*ctx;
};

struct gguf_w {
	uint32_t	 version;
	uint32_t	 alignment;
	int		 has_align_key;	/* caller wrote general.alignment */
	struct wbuf	 kv;		/* serialized pairs */
	uint64_t	 n_kv;
	struct w_tensor	*t;
	size_t		 n_t;
	size_t		 cap_t;
	char		*err;		/* first failure; sticky */
	int		 failed;
};

static int	w_fail(struct gguf_w *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static int
w_fail(struct gguf_w *w, const char *fmt, ...)
{
	va_list	ap;

	if (w->failed)
		return -1;
	w->failed = 1;
	va_start(ap, fmt);
	if (vasprintf(&w->err, fmt, ap) == -1)
		w->err = NULL;
	va_end(ap);
	return -1;
}

static int
buf_put(struct wbuf *b, const void *p, size_t n)
{
	size_t	 ncap, need;
	uint8_t	*np;

	if (__builtin_add_overflow(b->len, n, &need))
		return -1;
	if (need > b->cap) {
		ncap = b->cap == 0 ? 256 : b->cap;
		while (ncap < need) {
			if (__builtin_mul_overflow(ncap, 2, &ncap))
				return -1;
		}
		if ((np = realloc(b->p, ncap)) == NULL)
			return -1;
		b->p = np;
		b->cap = ncap;
	}
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len = need;
	return 0;
}

static int
buf_le(struct wbuf *b, uint64_t v, size_t n)
{
	uint8_t	le[8];
	size_t	i;

	for (i = 0; i < n; i++)
		le[i] = (uint8_t)(v >> (8 * i));
	return buf_put(b, le, n);
}

static int
buf_str(struct wbuf *b, const void *p, size_t len)
{
	if (buf_le(b, len, 8) == -1 || buf_put(b, p, len) == -1)
		return -1;
	return 0;
}

static int
buf_zeros(struct wbuf *b, size_t n)
{
	static const uint8_t	zero[64];
	size_t			k;

	for (; n > 0; n -= k) {
		k = n < sizeof zero ? n : sizeof zero;
		if (buf_put(b, zero, k) == -1)
			return -1;
	}
	return 0;
}

/* Create an empty writer (version 3, alignment 32) for one thread to
 * use; NULL if out of memory.  Free with gguf_w_free(). */
struct gguf_w *
gguf_w_new(void)
{
	struct gguf_w	*w;

	if ((w = calloc(1, sizeof *w)) == NULL)
		return NULL;
	w->version = 3;
	w->alignment = GGUF_DEFAULT_ALIGN;
	return w;
}

/* Free the writer and its copies; borrowed tensor data is not touched.
 * NULL is a no-op. */
void
gguf_w_free(struct gguf_w *w)
{
	if (w == NULL)
		return;
	free(w->kv.p);
	free(w->t);
	free(w->err);
	free(w);
}

/* Write v as the file's version field, valid or not (for tests). */
void
gguf_w_set_version(struct gguf_w *w, uint32_t v)
{
	w->version = v;
}

/* Use alignment a (a power of two <= 1 MiB); a general.alignment pair is
 * written unless a is 32 or the caller added one.  0, or -1 if bad. */
int
gguf_w_set_alignment(struct gguf_w *w, uint32_t a)
{
	if (a == 0 || (a & (a - 1)) != 0 || a > GGUF_MAX_ALIGN)
		return w_fail(w, "alignment %u is not a power of two <= 1 MiB",
		    (unsigned)a);
	w->alignment = a;
	return 0;
}

static int
kv_begin(struct gguf_w *w, const char *key, size_t len, uint32_t type)
{
	if (w->failed)
		return -1;
	if (len == 17 && memcmp(key, "general.alignment", 17) == 0)
		w->has_align_key = 1;
	if (buf_str(&w->kv, key, len) == -1 || buf_le(&w->kv, type, 4) == -1)
		return w_fail(w, "out of memory");
	w->n_kv++;
	return 0;
}

static int
kv_done(struct gguf_w *w, int rc)
{
	return rc == 0 ? 0 : w_fail(w, "out of memory");
}

/* Add a key/value pair of type type whose value bytes are payload,
 * copied verbatim (for building malformed files); 0 or -1. */
int
gguf_w_kv_raw(struct gguf_w *w, const char *key, uint32_t type,
    const void *payload, size_t len)
{
	if (kv_begin(w, key, strlen(key), type) == -1)
		return -1;
	return kv_done(w, buf_put(&w->kv, payload, len));
}

/* Add a UINT32 pair; 0 or -1. */
int
gguf_w_u32(struct gguf_w *w, const char *key, uint32_t v)
{
	if (kv_begin(w, key, strlen(key), GGUF_VT_UINT32) == -1)
		return -1;
	return kv_done(w, buf_le(&w->kv, v, 4));
}

/* Add an INT32 pair; 0 or -1. */
int
gguf_w_i32(struct gguf_w *w, const char *key, int32_t v)
{
	if (kv_begin(w, key, strlen(key), GGUF_VT_INT32) == -1)
		return -1;
	return kv_done(w, buf_le(&w->kv, (uint32_t)v, 4));
}

/* Add a UINT64 pair; 0 or -1. */
int
gguf_w_u64(struct gguf_w *w, const char *key, uint64_t v)
{
	if (kv_begin(w, key, strlen(key), GGUF_VT_UINT64) == -1)
		return -1;
	return kv_done(w, buf_le(&w->kv, v, 8));
}

static uint32_t
f32_bits(float f)
{
	uint32_t	u;

	memcpy(&u, &f, sizeof u);
	return u;
}

/* Add a FLOAT32 pair; 0 or -1. */
int
gguf_w_f32(struct gguf_w *w, const char *key, float v)
{
	if (kv_begin(w, key, strlen(key), GGUF_VT_FLOAT32) == -1)
		return -1;
	return kv_done(w, buf_le(&w->kv, f32_bits(v), 4));
}

/* Add a BOOL pair (any nonzero v is stored as 1); 0 or -1. */
int
gguf_w_bool(struct gguf_w *w, const char *key, int v)
{
	if (kv_begin(w, key, strlen(key), GGUF_VT_BOOL) == -1)
		return -1;
	return kv_done(w, buf_le(&w->kv, v != 0, 1));
}

/* Add a STRING pair holding the NUL-terminated s; 0 or -1. */
int
gguf_w_str(struct gguf_w *w, const char *key, const char *s)
{
	if (kv_begin(w, key, strlen(key), GGUF_VT_STRING) == -1)
		return -1;
	return kv_done(w, buf_str(&w->kv, s, strlen(s)));
}

static int
arr_begin(struct gguf_w *w, const char *key, uint32_t atype, size_t n)
{
	if (kv_begin(w, key, strlen(key), GGUF_VT_ARRAY) == -1)
		return -1;
	if (buf_le(&w->kv, atype, 4) == -1 || buf_le(&w->kv, n, 8) == -1)
		return w_fail(w, "out of memory");
	return 0;
}

/* Add an array of the n NUL-terminated strings v; 0 or -1. */
int
gguf_w_arr_str(struct gguf_w *w, const char *key, const char *const *v,
    size_t n)
{
	size_t	i;

	if (arr_begin(w, key, GGUF_VT_STRING, n) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		if (buf_str(&w->kv, v[i], strlen(v[i])) == -1)
			return w_fail(w, "out of memory");
	}
	return 0;
}

/* Add a FLOAT32 array of the n values v; 0 or -1. */
int
gguf_w_arr_f32(struct gguf_w *w, const char *key, const float *v, size_t n)
{
	size_t	i;

	if (arr_begin(w, key, GGUF_VT_FLOAT32, n) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		if (buf_le(&w->kv, f32_bits(v[i]), 4) == -1)
			return w_fail(w, "out of memory");
	}
	return 0;
}

/* Add an INT32 array of the n values v; 0 or -1. */
int
gguf_w_arr_i32(struct gguf_w *w, const char *key, const int32_t *v,
    size_t n)
{
	size_t	i;

	if (arr_begin(w, key, GGUF_VT_INT32, n) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		if (buf_le(&w->kv, (uint32_t)v[i], 4) == -1)
			return w_fail(w, "out of memory");
	}
	return 0;
}

static int
copy_value(struct wbuf *b, const struct gguf_kv *kv)
{
	uint64_t	i;

	if (kv->type == GGUF_VT_STRING)
		return buf_str(b, kv->data, kv->n);
	if (kv->type != GGUF_VT_ARRAY)
		return buf_put(b, kv->data, gguf_vt_size[kv->type]);
	if (buf_le(b, kv->atype, 4) == -1 || buf_le(b, kv->n, 8) == -1)
		return -1;
	if (kv->atype != GGUF_VT_STRING)
		return buf_put(b, kv->data, kv->n * gguf_vt_size[kv->atype]);
	for (i = 0; i < kv->n; i++) {
		if (buf_str(b, kv->strs[i].p, kv->strs[i].len) == -1)
			return -1;
	}
	return 0;
}

/* Add a copy of a pair read by gguf_open*() (its file must still be
 * open); 0 or -1. */
int
gguf_w_kv_copy(struct gguf_w *w, const struct gguf_kv *kv)
{
	if (kv_begin(w, kv->key.p, kv->key.len, kv->type) == -1)
		return -1;
	return kv_done(w, copy_value(&w->kv, kv));
}

/* Check a tensor's name, shape and type and work out its size. */
static int
tensor_check(struct gguf_w *w, struct w_tensor *t, const char *name,
    int n_dims, const int64_t *ne)
{
	const struct qt_traits	*qt;
	size_t			 len = strlen(name);
	int64_t			 nel = 1;
	int			 d;

	if (len == 0 || len >= GGUF_MAX_NAME)
		return w_fail(w, "tensor name of %zu bytes (must be 1 to %d)",
		    len, GGUF_MAX_NAME - 1);
	memcpy(t->name, name, len + 1);
	if (n_dims < 1 || n_dims > GGUF_MAX_DIMS)
		return w_fail(w, "tensor '%s': %d dimensions", name, n_dims);
	t->n_dims = (uint32_t)n_dims;
	for (d = 0; d < GGUF_MAX_DIMS; d++) {
		t->ne[d] = d < n_dims ? ne[d] : 1;
		if (t->ne[d] <= 0 ||
		    __builtin_mul_overflow(nel, t->ne[d], &nel))
			return w_fail(w, "tensor '%s': bad shape", name);
	}
	qt = qt_get(t->type);
	if (qt == NULL || qt->blck == 0 || t->ne[0] % qt->blck != 0)
		return w_fail(w, "tensor '%s': type %u cannot hold rows of "
		    "%lld", name, (unsigned)t->type, (long long)t->ne[0]);
	if (__builtin_mul_overflow((uint64_t)nel / qt->blck,
	    (uint64_t)qt->bsize, &t->nbytes) || t->nbytes > INT64_MAX ||
	    t->nbytes > SIZE_MAX)
		return w_fail(w, "tensor '%s': too large", name);
	return 0;
}

static int
tensor_add(struct gguf_w *w, const char *name, uint32_t type, int n_dims,
    const int64_t *ne, const void *data, gguf_w_fill_fn fill, void *ctx)
{
	struct w_tensor	*t;
	size_t		 ncap;

	if (w->failed)
		return -1;
	if (w->n_t == w->cap_t) {
		ncap = w->cap_t == 0 ? 16 : w->cap_t * 2;
		t = ncap > SIZE_MAX / sizeof *t ? NULL :
		    realloc(w->t, ncap * sizeof *t);
		if (t == NULL)
			return w_fail(w, "out of memory");
		w->t = t;
		w->cap_t = ncap;
	}
	t = &w->t[w->n_t];
	memset(t, 0, sizeof *t);
	t->type = type;
	if (tensor_check(w, t, name, n_dims, ne) == -1)
		return -1;
	if (data == NULL && fill == NULL)
		return w_fail(w, "tensor '%s': no data", name);
	t->data = data;
	t->fill = fill;
	t->ctx = ctx;
	w->n_t++;
	return 0;
}

/* Add a tensor whose bytes are borrowed from data until the last write;
 * ne[] holds n_dims sizes, innermost first.  0 or -1. */
int
gguf_w_tensor(struct gguf_w *w, const char *name, uint32_t type,
    int n_dims, const int64_t *ne, const void *data)
{
	return tensor_add(w, name, type, n_dims, ne, data, NULL, NULL);
}

/* Add a tensor whose bytes fill(ctx, ...) produces at each write; 0 or
 * -1. */
int
gguf_w_tensor_cb(struct gguf_w *w, const char *name, uint32_t type,
    int n_dims, const int64_t *ne, gguf_w_fill_fn fill, void *ctx)
{
	return tensor_add(w, name, type, n_dims, ne, NULL, fill, ctx);
}

static uint64_t
pad_len(uint64_t n, uint64_t a)
{
	return (a - n % a) % a;
}

/*
 * Serialize everything before the data section into hdr (padded to the
 * alignment when there are tensors) and set each tensor's offset; the
 * data section's size goes to *data_len.
 */
static int
layout(struct gguf_w *w, struct wbuf *hdr, uint64_t *data_len)
{
	struct w_tensor	*t;
	uint64_t	 off = 0, n;
	size_t		 i;
	int		 add_align;
	uint32_t	 d;

	add_align = w->alignment != GGUF_DEFAULT_ALIGN && !w->has_align_key;
	n = w->n_kv + (add_align ? 1 : 0);
	if (buf_put(hdr, "GGUF", 4) == -1 || buf_le(hdr, w->version, 4) == -1 ||
	    buf_le(hdr, w->n_t, 8) == -1 || buf_le(hdr, n, 8) == -1)
		return -1;
	if (add_align && (buf_str(hdr, "general.alignment", 17) == -1 ||
	    buf_le(hdr, GGUF_VT_UINT32, 4) == -1 ||
	    buf_le(hdr, w->alignment, 4) == -1))
		return -1;
	if (buf_put(hdr, w->kv.p, w->kv.len) == -1)
		return -1;
	for (i = 0; i < w->n_t; i++) {
		t = &w->t[i];
		t->offset = off;
		if (buf_str(hdr, t->name, strlen(t->name)) == -1 ||
		    buf_le(hdr, t->n_dims, 4) == -1)
			return -1;
		for (d = 0; d < t->n_dims; d++) {
			if (buf_le(hdr, (uint64_t)t->ne[d], 8) == -1)
				return -1;
		}
		if (buf_le(hdr, t->type, 4) == -1 || buf_le(hdr, off, 8) == -1)
			return -1;
		if (__builtin_add_overflow(off, t->nbytes, &off) ||
		    __builtin_add_overflow(off, pad_len(off, w->alignment),
		    &off))
			return -1;
	}
	if (w->n_t > 0 &&
	    buf_zeros(hdr, pad_len(hdr->len, w->alignment)) == -1)
		return -1;
	*data_len = off;
	return 0;
}

static int
write_zeros(int fd, uint64_t n)
{
	static const uint8_t	zero[4096];
	size_t			k;

	for (; n > 0; n -= k) {
		k = n < sizeof zero ? (size_t)n : sizeof zero;
		if (util_write_all(fd, zero, k) == -1)
			return -1;
	}
	return 0;
}

/* Write the data section to fd, one tensor at a time. */
static int
write_data(struct gguf_w *w, int fd, char **cause)
{
	struct w_tensor	*t;
	void		*scratch = NULL;
	size_t		 i, max = 0;
	int		 rc = -1;

	for (i = 0; i < w->n_t; i++) {
		if (w->t[i].fill != NULL && w->t[i].nbytes > max)
			max = (size_t)w->t[i].nbytes;
	}
	if (max > 0 && (scratch = malloc(max)) == NULL)
		return util_cause(cause, "out of memory (%zu bytes)", max);
	for (i = 0; i < w->n_t; i++) {
		t = &w->t[i];
		if (t->fill != NULL &&
		    t->fill(t->ctx, scratch, (size_t)t->nbytes, t->name) != 0) {
			util_cause(cause, "tensor '%s': fill callback failed",
			    t->name);
			goto out;
		}
		if (util_write_all(fd, t->fill != NULL ? scratch : t->data,
		    (size_t)t->nbytes) == -1 ||
		    write_zeros(fd, pad_len(t->nbytes, w->alignment)) == -1) {
			util_cause(cause, "write: %s", strerror(errno));
			goto out;
		}
	}
	rc = 0;
out:
	free(scratch);
	return rc;
}

/* Write the file to path atomically (a temporary file beside it, fsync,
 * rename, fsync of the directory): 0, or -1 with *cause set (caller
 * frees) and any old file at path untouched. */
int
gguf_w_write(struct gguf_w *w, const char *path, char **cause)
{
	struct wbuf		 hdr = { NULL, 0, 0 };
	struct util_atomic	 a;
	uint64_t		 data_len;
	int			 rc = -1;

	if (w->failed)
		return util_cause(cause, "%s",
		    w->err != NULL ? w->err : "out of memory");
	if (layout(w, &hdr, &data_len) == -1) {
		util_cause(cause, "out of memory or file too large");
		goto out;
	}
	if (util_atomic_open(&a, path, 0666) == -1) {
		util_cause(cause, "cannot create a temporary file: %s",
		    strerror(errno));
		goto out;
	}
	if (util_write_all(a.fd, hdr.p, hdr.len) == -1) {
		util_cause(cause, "write: %s", strerror(errno));
		util_atomic_abort(&a);
		goto out;
	}
	if (write_data(w, a.fd, cause) == -1) {
		util_atomic_abort(&a);
		goto out;
	}
	if ((rc = util_atomic_commit(&a)) == -1)
		util_cause(cause, "fsync, close or rename: %s",
		    strerror(errno));
	else if (rc == -2) {
		util_cause(cause, "fsync of the directory: %s",
		    strerror(errno));
		rc = -1;
	}
out:
	free(hdr.p);
	return rc;
}

/* Write the file to a new buffer: 0 with *buf (caller frees) and *len
 * set, or -1 with *cause set (caller frees). */
int
gguf_w_write_mem(struct gguf_w *w, void **buf, size_t *len, char **cause)
{
	struct wbuf	 hdr = { NULL, 0, 0 };
	struct w_tensor	*t;
	uint64_t	 data_len, total;
	uint8_t		*out = NULL;
	size_t		 i, pos;

	if (w->failed)
		return util_cause(cause, "%s",
		    w->err != NULL ? w->err : "out of memory");
	if (layout(w, &hdr, &data_len) == -1 ||
	    __builtin_add_overflow((uint64_t)hdr.len, data_len, &total) ||
	    total > SIZE_MAX || (out = malloc(total ? total : 1)) == NULL) {
		free(hdr.p);
		return util_cause(cause, "out of memory or file too large");
	}
	memcpy(out, hdr.p, hdr.len);
	pos = hdr.len;
	free(hdr.p);
	for (i = 0; i < w->n_t; i++) {
		t = &w->t[i];
		if (t->fill == NULL)
			memcpy(out + pos, t->data, (size_t)t->nbytes);
		else if (t->fill(t->ctx, out + pos, (size_t)t->nbytes,
		    t->name) != 0) {
			free(out);
			return util_cause(cause, "tensor '%s': fill callback "
			    "failed", t->name);
		}
		pos += (size_t)t->nbytes;
		memset(out + pos, 0, pad_len(t->nbytes, w->alignment));
		pos += pad_len(t->nbytes, w->alignment);
	}
	*buf = out;
	*len = pos;
	return 0;
}
