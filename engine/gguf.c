/*
 * GGUF v2/v3 reader.  The file is mapped read-only and walked with an
 * explicit cursor and a count of the bytes left; every count, length,
 * shape, offset and size is checked with overflow-safe arithmetic before
 * it is used, and the first failed check becomes the cause sentence.
 */
#include "config.h"

#include "gguf.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gguf_impl.h"
#include "quant.h"

#define GGUF_HEADER	24	/* magic, version, n_tensors, n_kv */
#define KV_MIN		14	/* key length 8, key 1, type 4, value 1 */
#define TI_MIN		33	/* name length 8 + 1, n_dims 4, ne 8, type 4,
				   offset 8 */

/* The public struct plus what only this file uses. */
struct gguf_priv {
	struct gguf	 pub;
	void		*mapping;	/* ours to munmap, or NULL */
	size_t		*kv_hash;	/* open addressing: index + 1, 0 free */
	size_t		 kv_mask;
	size_t		*t_hash;
	size_t		 t_mask;
	void		(*fini)(void *);	/* an importer's cleanup */
	void		*fini_ctx;
};

/* The cursor: pos may only advance after need() said the bytes exist. */
struct rd {
	const uint8_t	*base;
	size_t		 pos;
	size_t		 end;		/* readable limit: size or meta cap */
	size_t		 size;
	int		 failed;
	char		*err;
	char		 what[128];	/* item being read, for messages */
};

/* Name of a key or tensor for hash lookups. */
typedef struct gguf_str (*key_fn)(const struct gguf *, size_t);

static void	fail(struct rd *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static void
fail(struct rd *r, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;
	int	 n;

	if (r->failed)
		return;
	r->failed = 1;
	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n == -1)
		return;
	if (r->what[0] == '\0') {
		r->err = msg;
		return;
	}
	if (asprintf(&r->err, "%s: %s", r->what, msg) == -1)
		r->err = NULL;
	free(msg);
}

/* Store a printable copy of p for a message: bytes outside printable
 * ASCII become \xNN (names come from the file, and may hold escapes). */
static void
quote(char *buf, size_t n, const char *p, size_t len)
{
	size_t	i, o = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		if (o + 8 >= n) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		if (c < 0x20 || c >= 0x7f || c == '\\' || c == '\'')
			o += (size_t)snprintf(buf + o, n - o, "\\x%02x", c);
		else
			buf[o++] = (char)c;
	}
	buf[o] = '\0';
}

static void
set_what(struct rd *r, const char *kind, const char *p, size_t len)
{
	char	q[80];

	quote(q, sizeof q, p, len);
	snprintf(r->what, sizeof r->what, "%s '%s'", kind, q);
}

static int
need(struct rd *r, uint64_t n)
{
	if (n <= r->end - r->pos)
		return 0;
	if (r->end < r->size)
		fail(r, "metadata is larger than the %u MiB limit",
		    GGUF_MAX_META >> 20);
	else
		fail(r, "unexpected end of file (%" PRIu64 " bytes needed, "
		    "%zu left)", n, r->end - r->pos);
	return -1;
}

static int
rd_u32(struct rd *r, uint32_t *v)
{
	if (need(r, 4) == -1)
		return -1;
	*v = (uint32_t)gguf_load_le(r->base + r->pos, 4);
	r->pos += 4;
	return 0;
}

static int
rd_u64(struct rd *r, uint64_t *v)
{
	if (need(r, 8) == -1)
		return -1;
	*v = gguf_load_le(r->base + r->pos, 8);
	r->pos += 8;
	return 0;
}

static int
rd_str(struct rd *r, struct gguf_str *s)
{
	uint64_t	len;

	if (rd_u64(r, &len) == -1)
		return -1;
	if (len > GGUF_MAX_STRING) {
		fail(r, "string of %" PRIu64 " bytes is over the %u MiB limit",
		    len, GGUF_MAX_STRING >> 20);
		return -1;
	}
	if (need(r, len) == -1)
		return -1;
	s->p = (const char *)r->base + r->pos;
	s->len = len;
	r->pos += len;
	return 0;
}

/* Grow arr (of *cap elements of size sz, at most limit) to hold element
 * n, zeroing the new part; NULL if out of memory, arr left as it was.
 * Arrays grow as items parse, so a lying count allocates nothing. */
static void *
grow(void *arr, size_t *cap, size_t n, size_t sz, uint64_t limit)
{
	void	*p;
	size_t	 ncap, bytes;

	if (n < *cap)
		return arr;
	ncap = *cap == 0 ? 16 : *cap * 2;
	if (ncap > limit)
		ncap = limit;
	if (__builtin_mul_overflow(ncap, sz, &bytes) ||
	    (p = realloc(arr, bytes)) == NULL)
		return NULL;
	memset((char *)p + *cap * sz, 0, (ncap - *cap) * sz);
	*cap = ncap;
	return p;
}

/* A string array: walk and check every element, then index them. */
static int
parse_str_arr(struct rd *r, struct gguf_kv *kv)
{
	size_t		start = r->pos, pos;
	uint64_t	i;
	struct gguf_str	s;

	if (kv->n > (r->end - r->pos) / 8) {
		fail(r, "array of %" PRIu64 " strings cannot fit in the %zu "
		    "bytes left", kv->n, r->end - r->pos);
		return -1;
	}
	for (i = 0; i < kv->n; i++) {
		if (rd_str(r, &s) == -1)
			return -1;
	}
	/* n * 8 <= bytes walked, so this is bounded by the file. */
	kv->strs = malloc(kv->n == 0 ? 1 : kv->n * sizeof *kv->strs);
	if (kv->strs == NULL) {
		fail(r, "out of memory");
		return -1;
	}
	pos = start;
	for (i = 0; i < kv->n; i++) {
		kv->strs[i].len = gguf_load_le(r->base + pos, 8);
		kv->strs[i].p = (const char *)r->base + pos + 8;
		pos += 8 + kv->strs[i].len;
	}
	return 0;
}

static int
parse_arr(struct rd *r, struct gguf_kv *kv)
{
	uint64_t	bytes;

	if (rd_u32(r, &kv->atype) == -1 || rd_u64(r, &kv->n) == -1)
		return -1;
	if (kv->atype == GGUF_VT_ARRAY) {
		fail(r, "arrays of arrays are not supported");
		return -1;
	}
	if (kv->atype >= GGUF_VT_COUNT) {
		fail(r, "unknown array element type %" PRIu32, kv->atype);
		return -1;
	}
	kv->data = r->base + r->pos;
	if (kv->atype == GGUF_VT_STRING)
		return parse_str_arr(r, kv);
	if (__builtin_mul_overflow(kv->n, (uint64_t)gguf_vt_size[kv->atype],
	    &bytes)) {
		fail(r, "array of %" PRIu64 " %s elements is too large",
		    kv->n, gguf_vtype_name(kv->atype));
		return -1;
	}
	if (need(r, bytes) == -1)
		return -1;
	r->pos += bytes;
	return 0;
}

static int
parse_kv(struct rd *r, struct gguf_kv *kv, uint64_t i)
{
	struct gguf_str	s;

	snprintf(r->what, sizeof r->what, "key/value pair %" PRIu64, i);
	if (rd_str(r, &kv->key) == -1)
		return -1;
	if (kv->key.len == 0) {
		fail(r, "empty key");
		return -1;
	}
	set_what(r, "key", kv->key.p, kv->key.len);
	if (rd_u32(r, &kv->type) == -1)
		return -1;
	if (kv->type >= GGUF_VT_COUNT) {
		fail(r, "unknown value type %" PRIu32, kv->type);
		return -1;
	}
	if (kv->type == GGUF_VT_ARRAY)
		return parse_arr(r, kv);
	kv->atype = kv->type;
	if (kv->type == GGUF_VT_STRING) {
		if (rd_str(r, &s) == -1)
			return -1;
		kv->data = (const uint8_t *)s.p;
		kv->n = s.len;
		return 0;
	}
	if (need(r, gguf_vt_size[kv->type]) == -1)
		return -1;
	kv->data = r->base + r->pos;
	kv->n = 1;
	r->pos += gguf_vt_size[kv->type];
	return 0;
}

static uint64_t
hash_bytes(const char *p, size_t len)
{
	uint64_t	h = 0xcbf29ce484222325ULL;	/* FNV-1a */

	while (len-- > 0)
		h = (h ^ (unsigned char)*p++) * 0x100000001b3ULL;
	return h;
}

static struct gguf_str
kv_key(const struct gguf *g, size_t i)
{
	return g->kv[i].key;
}

static struct gguf_str
t_key(const struct gguf *g, size_t i)
{
	struct gguf_str	s;

	s.p = g->tensors[i].name;
	s.len = strlen(s.p);
	return s;
}

/* Find p in the table: the index + 1 of its item, else 0.  *slot is
 * where it is or would go. */
static size_t
hash_find(const struct gguf *g, const size_t *tab, size_t mask, key_fn key,
    const char *p, size_t len, size_t *slot)
{
	size_t		h = (size_t)hash_bytes(p, len) & mask;
	struct gguf_str	s;

	for (;; h = (h + 1) & mask) {
		*slot = h;
		if (tab[h] == 0)
			return 0;
		s = key(g, tab[h] - 1);
		if (s.len == len && memcmp(s.p, p, len) == 0)
			return tab[h];
	}
}

/* Index items 0..n-1; -1 out of memory, 1 with *dup set on a repeat. */
static int
hash_build(const struct gguf *g, size_t n, key_fn key, size_t **tabp,
    size_t *maskp, size_t *dup)
{
	size_t		cap = 8, i, slot;
	struct gguf_str	s;

	while (cap < 2 * n)
		cap *= 2;
	if ((*tabp = calloc(cap, sizeof **tabp)) == NULL)
		return -1;
	*maskp = cap - 1;
	for (i = 0; i < n; i++) {
		s = key(g, i);
		if (hash_find(g, *tabp, *maskp, key, s.p, s.len, &slot) != 0) {
			*dup = i;
			return 1;
		}
		(*tabp)[slot] = i + 1;
	}
	return 0;
}

static int
parse_header(struct rd *r, struct gguf *g)
{
	uint64_t	left, a, b;

	if (r->size < 4 || memcmp(r->base, "GGUF", 4) != 0) {
		fail(r, "not a GGUF file (bad magic)");
		return -1;
	}
	r->pos = 4;
	if (rd_u32(r, &g->version) == -1)
		return -1;
	if (g->version != 2 && g->version != 3) {
		if (g->version != 0 && (g->version & 0xffff) == 0)
			fail(r, "byte-swapped GGUF version 0x%08" PRIx32
			    " (big-endian files are not supported)",
			    g->version);
		else
			fail(r, "unsupported GGUF version %" PRIu32
			    " (only 2 and 3 are supported)", g->version);
		return -1;
	}
	if (r->size < GGUF_HEADER) {
		fail(r, "truncated GGUF header (%zu bytes)", r->size);
		return -1;
	}
	rd_u64(r, &g->n_tensors);
	rd_u64(r, &g->n_kv);
	/* Refuse counts the rest of the file could not hold, so that no
	 * allocation below is larger than the file itself warrants. */
	left = r->size - r->pos;
	if (__builtin_mul_overflow(g->n_kv, KV_MIN, &a) ||
	    __builtin_mul_overflow(g->n_tensors, TI_MIN, &b) ||
	    __builtin_add_overflow(a, b, &a) || a > left ||
	    g->n_kv > GGUF_MAX_META / KV_MIN) {
		fail(r, "header claims %" PRIu64 " tensors and %" PRIu64
		    " key/value pairs, more than the %" PRIu64 " bytes that "
		    "follow can hold", g->n_tensors, g->n_kv, left);
		return -1;
	}
	return 0;
}

static int
parse_kvs(struct rd *r, struct gguf_priv *p)
{
	struct gguf	*g = &p->pub;
	struct gguf_kv	*kv;
	size_t		 cap = 0, dup;
	uint64_t	 i;
	char		 q[80];
	int		 rc;

	r->end = r->size - r->pos > GGUF_MAX_META ? r->pos + GGUF_MAX_META :
	    r->size;
	for (i = 0; i < g->n_kv; i++) {
		kv = grow(g->kv, &cap, i, sizeof *g->kv, g->n_kv);
		if (kv == NULL) {
			g->n_kv = i;	/* what gguf_close() frees */
			fail(r, "out of memory");
			return -1;
		}
		g->kv = kv;
		if (parse_kv(r, &g->kv[i], i) == -1) {
			g->n_kv = i + 1;
			return -1;
		}
	}
	r->end = r->size;
	r->what[0] = '\0';
	rc = hash_build(g, g->n_kv, kv_key, &p->kv_hash, &p->kv_mask, &dup);
	if (rc == -1)
		fail(r, "out of memory");
	else if (rc == 1) {
		quote(q, sizeof q, g->kv[dup].key.p, g->kv[dup].key.len);
		fail(r, "key '%s': duplicate key", q);
	}
	return rc == 0 ? 0 : -1;
}

static int
parse_alignment(struct rd *r, struct gguf *g)
{
	const struct gguf_kv	*kv;
	uint32_t		 a;

	g->alignment = GGUF_DEFAULT_ALIGN;
	if ((kv = gguf_find(g, "general.alignment")) == NULL)
		return 0;
	if (kv->type != GGUF_VT_UINT32) {
		fail(r, "key 'general.alignment': must be UINT32, not %s",
		    gguf_vtype_name(kv->type));
		return -1;
	}
	a = (uint32_t)gguf_load_le(kv->data, 4);
	if (a == 0 || (a & (a - 1)) != 0 || a > GGUF_MAX_ALIGN) {
		fail(r, "key 'general.alignment': %" PRIu32 " is not a "
		    "power of two <= 1 MiB", a);
		return -1;
	}
	g->alignment = a;
	return 0;
}

/* Shape and type of one tensor; n_dims is checked before ne[] is
 * written. */
static int
parse_shape(struct rd *r, struct gguf_tensor *t)
{
	uint32_t	d;
	uint64_t	v;

	if (rd_u32(r, &t->n_dims) == -1)
		return -1;
	if (t->n_dims == 0 || t->n_dims > GGUF_MAX_DIMS) {
		fail(r, "%" PRIu32 " dimensions (must be 1 to %d)", t->n_dims,
		    GGUF_MAX_DIMS);
		return -1;
	}
	for (d = 0; d < GGUF_MAX_DIMS; d++) {
		t->ne[d] = 1;
		if (d >= t->n_dims)
			continue;
		if (rd_u64(r, &v) == -1)
			return -1;
		if (v == 0 || v > INT64_MAX) {
			fail(r, "dimension %" PRIu32 " is %" PRId64 " (must be "
			    "positive)", d, (int64_t)v);
			return -1;
		}
		t->ne[d] = (int64_t)v;
	}
	if (rd_u32(r, &t->type) == -1 || rd_u64(r, &t->offset) == -1)
		return -1;
	return 0;
}

/* Element count, type and byte size, all with checked arithmetic. */
static int
check_size(struct rd *r, struct gguf_tensor *t)
{
	const struct qt_traits	*qt;
	int64_t			 nel = 1;
	uint64_t		 nb;
	uint32_t		 d;

	for (d = 0; d < GGUF_MAX_DIMS; d++) {
		if (__builtin_mul_overflow(nel, t->ne[d], &nel)) {
			fail(r, "element count overflows (shape %" PRId64 " x %"
			    PRId64 " x %" PRId64 " x %" PRId64 ")", t->ne[0],
			    t->ne[1], t->ne[2], t->ne[3]);
			return -1;
		}
	}
	qt = qt_get(t->type);
	if (qt == NULL || qt->blck == 0 || qt->bsize == 0) {
		fail(r, "unknown tensor type %" PRIu32, t->type);
		return -1;
	}
	if (t->ne[0] % qt->blck != 0) {
		fail(r, "row of %" PRId64 " elements is not a multiple of the "
		    "%s block size %" PRIu32, t->ne[0], qt->name, qt->blck);
		return -1;
	}
	if (__builtin_mul_overflow((uint64_t)nel / qt->blck,
	    (uint64_t)qt->bsize, &nb) || nb > INT64_MAX || nb > SIZE_MAX) {
		fail(r, "byte size of %" PRId64 " %s elements overflows", nel,
		    qt->name);
		return -1;
	}
	t->nbytes = nb;
	return 0;
}

static int
parse_tensor(struct rd *r, struct gguf_tensor *t, uint64_t i)
{
	uint64_t	len;
	const char	*p;

	snprintf(r->what, sizeof r->what, "tensor %" PRIu64, i);
	if (rd_u64(r, &len) == -1)
		return -1;
	if (len == 0 || len >= GGUF_MAX_NAME) {
		fail(r, "name of %" PRIu64 " bytes (must be 1 to %d)", len,
		    GGUF_MAX_NAME - 1);
		return -1;
	}
	if (need(r, len) == -1)
		return -1;
	p = (const char *)r->base + r->pos;
	r->pos += len;
	if (memchr(p, '\0', len) != NULL) {
		fail(r, "name contains a NUL byte");
		return -1;
	}
	memcpy(t->name, p, len);
	t->name[len] = '\0';
	set_what(r, "tensor", p, len);
	if (parse_shape(r, t) == -1 || check_size(r, t) == -1)
		return -1;
	return 0;
}

struct span {
	uint64_t	start;
	uint64_t	end;
	size_t		idx;
};

static int
span_cmp(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Offsets aligned, inside the file, and no two tensors overlapping. */
static int
check_layout(struct rd *r, struct gguf *g)
{
	struct gguf_tensor	*t;
	struct span		*sp;
	uint64_t		 i, abs;
	char			 q1[80], q2[80];

	if (g->n_tensors == 0)
		return 0;
	if ((sp = calloc(g->n_tensors, sizeof *sp)) == NULL) {
		fail(r, "out of memory");
		return -1;
	}
	for (i = 0; i < g->n_tensors; i++) {
		t = &g->tensors[i];
		set_what(r, "tensor", t->name, strlen(t->name));
		if (t->offset % g->alignment != 0) {
			fail(r, "offset %" PRIu64 " is not a multiple of the "
			    "alignment %" PRIu64, t->offset, g->alignment);
			goto bad;
		}
		if (__builtin_add_overflow(t->offset, t->nbytes, &sp[i].end) ||
		    __builtin_add_overflow(g->data_offset, sp[i].end, &abs) ||
		    abs > r->size) {
			fail(r, "data beyond end of file (offset %" PRIu64
			    ", %" PRIu64 " bytes; file is %zu bytes)",
			    t->offset, t->nbytes, r->size);
			goto bad;
		}
		sp[i].start = t->offset;
		sp[i].idx = i;
		t->data = r->base + g->data_offset + t->offset;
		if (sp[i].end > g->data_size)
			g->data_size = sp[i].end;
	}
	qsort(sp, g->n_tensors, sizeof *sp, span_cmp);
	r->what[0] = '\0';
	for (i = 1; i < g->n_tensors; i++) {
		if (sp[i].start < sp[i - 1].end) {
			t = &g->tensors[sp[i].idx];
			quote(q1, sizeof q1, t->name, strlen(t->name));
			t = &g->tensors[sp[i - 1].idx];
			quote(q2, sizeof q2, t->name, strlen(t->name));
			fail(r, "tensor '%s': data overlaps tensor '%s'", q1,
			    q2);
			goto bad;
		}
	}
	free(sp);
	return 0;
bad:
	free(sp);
	return -1;
}

static int
parse_tensors(struct rd *r, struct gguf_priv *p)
{
	struct gguf		*g = &p->pub;
	struct gguf_tensor	*t;
	size_t			 cap = 0, dup;
	uint64_t		 i, a1;
	int			 rc;
	char			 q[80];

	for (i = 0; i < g->n_tensors; i++) {
		t = grow(g->tensors, &cap, i, sizeof *g->tensors,
		    g->n_tensors);
		if (t == NULL) {
			fail(r, "out of memory");
			return -1;
		}
		g->tensors = t;
		if (parse_tensor(r, &g->tensors[i], i) == -1)
			return -1;
	}
	r->what[0] = '\0';
	rc = hash_build(g, g->n_tensors, t_key, &p->t_hash, &p->t_mask, &dup);
	if (rc != 0) {
		quote(q, sizeof q, g->tensors[dup].name,
		    strlen(g->tensors[dup].name));
		if (rc == -1)
			fail(r, "out of memory");
		else
			fail(r, "tensor '%s': duplicate tensor name", q);
		return -1;
	}
	/* The data section starts at the next multiple of the alignment;
	 * with no tensors it may lie past the end of the file. */
	a1 = g->alignment - 1;
	if (__builtin_add_overflow((uint64_t)r->pos, a1, &g->data_offset)) {
		fail(r, "data offset overflows");
		return -1;
	}
	g->data_offset &= ~a1;
	return check_layout(r, g);
}

static struct gguf *
parse(const uint8_t *map, size_t size, char **cause)
{
	struct gguf_priv	*p;
	struct rd		 r;

	memset(&r, 0, sizeof r);
	r.base = map;
	r.size = r.end = size;
	if ((p = calloc(1, sizeof *p)) == NULL) {
		if (cause != NULL)
			*cause = strdup("out of memory");
		return NULL;
	}
	p->pub.map = map;
	p->pub.size = size;
	p->pub.fd = -1;
	if (parse_header(&r, &p->pub) == 0 && parse_kvs(&r, p) == 0 &&
	    parse_alignment(&r, &p->pub) == 0 && parse_tensors(&r, p) == 0)
		return &p->pub;
	gguf_close(&p->pub);
	if (cause != NULL)
		*cause = r.err != NULL ? r.err : strdup("out of memory");
	else
		free(r.err);
	return NULL;
}

static struct gguf	*open_fail(char **, int, const char *, ...)
			    __attribute__((format(printf, 3, 4)));

static struct gguf *
open_fail(char **cause, int fd, const char *fmt, ...)
{
	va_list	ap;
	int	saved = errno;

	if (fd != -1)
		close(fd);
	if (cause == NULL)
		return NULL;
	errno = saved;
	va_start(ap, fmt);
	if (vasprintf(cause, fmt, ap) == -1)
		*cause = NULL;
	va_end(ap);
	return NULL;
}

/* Map and check the file at path; NULL with *cause set (a sentence
 * without the path, caller frees) if it cannot be used.  The result
 * keeps the descriptor and the mapping until gguf_close() and is never
 * changed, so any number of threads may read it. */
struct gguf *
gguf_open(const char *path, char **cause)
{
	struct gguf	*g;
	struct stat	 st;
	void		*map;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return open_fail(cause, -1, "cannot open: %s",
		    strerror(errno));
	if (fstat(fd, &st) == -1)
		return open_fail(cause, fd, "cannot stat: %s",
		    strerror(errno));
	if (!S_ISREG(st.st_mode))
		return open_fail(cause, fd, "not a regular file");
	if (st.st_size < GGUF_HEADER)
		return open_fail(cause, fd, "not a GGUF file (only %jd bytes)",
		    (intmax_t)st.st_size);
	if ((uintmax_t)st.st_size > SIZE_MAX)
		return open_fail(cause, fd, "file too large to map");
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED)
		return open_fail(cause, fd, "cannot map: %s", strerror(errno));
	if ((g = parse(map, (size_t)st.st_size, cause)) == NULL) {
		munmap(map, (size_t)st.st_size);
		close(fd);
		return NULL;
	}
	((struct gguf_priv *)g)->mapping = map;
	g->fd = fd;
	return g;
}

/* Check a GGUF image held by the caller, who keeps buf alive and
 * unchanged until gguf_close(); NULL with *cause set (caller frees). */
struct gguf *
gguf_open_mem(const void *buf, size_t len, char **cause)
{
	if (buf == NULL)
		len = 0;
	return parse(buf, len, cause);
}

/* Free everything gguf_open*() made and unmap; NULL is a no-op. */
void
gguf_close(struct gguf *g)
{
	struct gguf_priv	*p = (struct gguf_priv *)g;
	uint64_t		 i;

	if (g == NULL)
		return;
	if (g->kv != NULL) {
		for (i = 0; i < g->n_kv; i++)
			free(g->kv[i].strs);
	}
	free(g->kv);
	free(g->tensors);
	free(p->kv_hash);
	free(p->t_hash);
	if (p->mapping != NULL)
		munmap(p->mapping, g->size);
	if (g->fd != -1)
		close(g->fd);
	if (p->fini != NULL)
		p->fini(p->fini_ctx);
	free(p);
}

/* Give g, opened from a metadata-only image, the n tensors t[] of an
 * importer (g takes the malloc'd array; the data stays the importer's)
 * and the cleanup fini(ctx) that gguf_close() runs last.  0, or -1 with
 * *cause (caller frees) on a duplicate name or no memory; fini is
 * registered either way, so the caller only closes g. */
int
gguf_attach(struct gguf *g, struct gguf_tensor *t, uint64_t n,
    void (*fini)(void *), void *ctx, char **cause)
{
	struct gguf_priv	*p = (struct gguf_priv *)g;
	size_t			 dup;
	uint64_t		 i;
	int			 rc;

	p->fini = fini;
	p->fini_ctx = ctx;
	free(g->tensors);
	free(p->t_hash);
	p->t_hash = NULL;
	g->tensors = t;
	g->n_tensors = n;
	g->data_size = 0;
	for (i = 0; i < n; i++)
		g->data_size += t[i].nbytes;
	rc = hash_build(g, n, t_key, &p->t_hash, &p->t_mask, &dup);
	if (rc == 0)
		return 0;
	if (cause != NULL) {
		if (rc == -1 || asprintf(cause, "tensor '%s': duplicate "
		    "tensor name", t[dup].name) == -1)
			*cause = strdup("out of memory");
	}
	return -1;
}

/* The pair named key, or NULL; the result lives as long as g. */
const struct gguf_kv *
gguf_find(const struct gguf *g, const char *key)
{
	const struct gguf_priv	*p = (const struct gguf_priv *)g;
	size_t			 i, slot;

	if (p->kv_hash == NULL)
		return NULL;
	i = hash_find(g, p->kv_hash, p->kv_mask, kv_key, key, strlen(key),
	    &slot);
	return i == 0 ? NULL : &g->kv[i - 1];
}

/* The tensor named name, or NULL; the result lives as long as g. */
const struct gguf_tensor *
gguf_find_tensor(const struct gguf *g, const char *name)
{
	const struct gguf_priv	*p = (const struct gguf_priv *)g;
	size_t			 i, slot;

	if (p->t_hash == NULL)
		return NULL;
	i = hash_find(g, p->t_hash, p->t_mask, t_key, name, strlen(name),
	    &slot);
	return i == 0 ? NULL : &g->tensors[i - 1];
}
