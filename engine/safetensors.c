/*
 * Safetensors reader.  A file is an 8-byte little-endian header length,
 * a JSON object {name: {dtype, shape, data_offsets}, __metadata__} and
 * the data bytes; offsets are relative to the data section.  Each file
 * is mapped read-only, its header parsed with jansson and every number
 * checked before use; the tensors of all shards are then sorted by name
 * for lookups.
 */
#include "config.h"

#include "safetensors.h"

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

#include <jansson.h>

#include "quant.h"

#define ST_INDEX	"model.safetensors.index.json"
#define ST_SINGLE	"model.safetensors"
#define ST_MAX_SHARDS	4096

struct st_map {
	char		*name;		/* file name, for messages */
	void		*map;
	size_t		 size;
	int		 fd;
};

struct safetensors {
	struct st_map			*maps;
	size_t				 n_maps;
	struct safetensors_tensor	*t;
	size_t				 n_t;
	size_t				 cap_t;
	uint64_t			 data_bytes;
	char				*err;
};

/* Byte offsets of one tensor, while a file's layout is checked. */
struct st_span {
	uint64_t	 b;
	uint64_t	 e;
	size_t		 i;
};

static int	st_fail(struct safetensors *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

/* Record the first failure as a sentence; always returns -1. */
static int
st_fail(struct safetensors *st, const char *fmt, ...)
{
	va_list	ap;

	if (st->err != NULL)
		return -1;
	va_start(ap, fmt);
	if (vasprintf(&st->err, fmt, ap) == -1)
		st->err = NULL;
	va_end(ap);
	return -1;
}

static const struct {
	const char	*name;
	int		 type;		/* qt_type, or -1: known, unsupported */
	uint32_t	 size;
} st_dtypes[] = {
	{ "F32", QT_F32, 4 },
	{ "F16", QT_F16, 2 },
	{ "BF16", QT_BF16, 2 },
	{ "F64", -1, 8 }, { "I64", -1, 8 }, { "U64", -1, 8 },
	{ "I32", -1, 4 }, { "U32", -1, 4 }, { "I16", -1, 2 },
	{ "U16", -1, 2 }, { "I8", -1, 1 }, { "U8", -1, 1 },
	{ "BOOL", -1, 1 }, { "F8_E4M3", -1, 1 }, { "F8_E5M2", -1, 1 },
};

static int
st_dtype(struct safetensors *st, const char *file, const char *tname,
    json_t *v, uint32_t *type, uint32_t *esize)
{
	const char	*s;
	size_t		 i;

	if (!json_is_string(v))
		return st_fail(st, "%s: tensor '%s': dtype is not a string",
		    file, tname);
	s = json_string_value(v);
	for (i = 0; i < sizeof st_dtypes / sizeof st_dtypes[0]; i++) {
		if (strcmp(s, st_dtypes[i].name) != 0)
			continue;
		if (st_dtypes[i].type < 0)
			return st_fail(st, "%s: tensor '%s': dtype %s is not "
			    "supported (BF16, F16 or F32 only)", file, tname,
			    s);
		*type = (uint32_t)st_dtypes[i].type;
		*esize = st_dtypes[i].size;
		return 0;
	}
	return st_fail(st, "%s: tensor '%s': unknown dtype '%.32s'", file,
	    tname, s);
}

static int
st_shape(struct safetensors *st, const char *file,
    struct safetensors_tensor *t, json_t *v)
{
	json_t		*d;
	json_int_t	 x;
	size_t		 i;

	if (!json_is_array(v))
		return st_fail(st, "%s: tensor '%s': shape is not an array",
		    file, t->name);
	if (json_array_size(v) > SAFETENSORS_MAX_DIMS)
		return st_fail(st, "%s: tensor '%s': %zu dimensions (at most "
		    "%d)", file, t->name, json_array_size(v),
		    SAFETENSORS_MAX_DIMS);
	t->n_dims = (uint32_t)json_array_size(v);
	t->n_elems = 1;
	json_array_foreach(v, i, d) {
		if (!json_is_integer(d) || (x = json_integer_value(d)) < 0)
			return st_fail(st, "%s: tensor '%s': dimension %zu is "
			    "not a non-negative integer", file, t->name, i);
		t->shape[i] = x;
		if (__builtin_mul_overflow(t->n_elems, (uint64_t)x,
		    &t->n_elems))
			return st_fail(st, "%s: tensor '%s': element count "
			    "overflows", file, t->name);
	}
	return 0;
}

static int
st_offsets(struct safetensors *st, const char *file, const char *tname,
    json_t *v, uint64_t dsize, struct st_span *sp)
{
	json_t		*b, *e;

	if (!json_is_array(v) || json_array_size(v) != 2)
		return st_fail(st, "%s: tensor '%s': data_offsets is not a "
		    "pair", file, tname);
	b = json_array_get(v, 0);
	e = json_array_get(v, 1);
	if (!json_is_integer(b) || !json_is_integer(e) ||
	    json_integer_value(b) < 0 || json_integer_value(e) < 0)
		return st_fail(st, "%s: tensor '%s': data_offsets are not "
		    "non-negative integers", file, tname);
	sp->b = (uint64_t)json_integer_value(b);
	sp->e = (uint64_t)json_integer_value(e);
	if (sp->b > sp->e)
		return st_fail(st, "%s: tensor '%s': data_offsets [%" PRIu64
		    ", %" PRIu64 "] run backwards", file, tname, sp->b, sp->e);
	if (sp->e > dsize)
		return st_fail(st, "%s: tensor '%s': data_offsets [%" PRIu64
		    ", %" PRIu64 "] lie beyond the %" PRIu64 " bytes of data",
		    file, tname, sp->b, sp->e, dsize);
	return 0;
}

static struct safetensors_tensor *
st_add(struct safetensors *st)
{
	struct safetensors_tensor	*n;
	size_t				 cap;

	if (st->n_t == st->cap_t) {
		cap = st->cap_t == 0 ? 64 : st->cap_t * 2;
		if (cap > SIZE_MAX / sizeof *n ||
		    (n = realloc(st->t, cap * sizeof *n)) == NULL)
			return NULL;
		st->t = n;
		st->cap_t = cap;
	}
	n = &st->t[st->n_t];
	memset(n, 0, sizeof *n);
	return n;
}

/* Parse one header entry into a new tensor and its span. */
static int
st_entry(struct safetensors *st, uint32_t shard, const char *key, json_t *v,
    const uint8_t *data, uint64_t dsize, struct st_span *sp)
{
	const char			*file = st->maps[shard].name;
	struct safetensors_tensor	*t;
	uint32_t			 esize = 0;
	size_t				 len = strlen(key);

	if (len == 0 || len > SAFETENSORS_MAX_NAME)
		return st_fail(st, "%s: a tensor name is %zu bytes long (1 to "
		    "%d)", file, len, SAFETENSORS_MAX_NAME);
	if (!json_is_object(v) || json_object_size(v) != 3 ||
	    json_object_get(v, "dtype") == NULL ||
	    json_object_get(v, "shape") == NULL ||
	    json_object_get(v, "data_offsets") == NULL)
		return st_fail(st, "%s: tensor '%.64s': not an object of "
		    "dtype, shape and data_offsets", file, key);
	if ((t = st_add(st)) == NULL)
		return st_fail(st, "out of memory");
	if ((t->name = strdup(key)) == NULL)
		return st_fail(st, "out of memory");
	st->n_t++;
	t->shard = shard;
	if (st_dtype(st, file, key, json_object_get(v, "dtype"), &t->type,
	    &esize) == -1 ||
	    st_shape(st, file, t, json_object_get(v, "shape")) == -1 ||
	    st_offsets(st, file, key, json_object_get(v, "data_offsets"),
	    dsize, sp) == -1)
		return -1;
	if (__builtin_mul_overflow(t->n_elems, (uint64_t)esize, &t->nbytes))
		return st_fail(st, "%s: tensor '%s': byte size overflows",
		    file, key);
	if (t->nbytes != sp->e - sp->b)
		return st_fail(st, "%s: tensor '%s': data_offsets span %"
		    PRIu64 " bytes but dtype and shape need %" PRIu64, file,
		    key, sp->e - sp->b, t->nbytes);
	t->data = data + sp->b;
	return 0;
}

static int
span_cmp(const void *a, const void *b)
{
	const struct st_span	*x = a, *y = b;

	if (x->b != y->b)
		return x->b < y->b ? -1 : 1;
	return x->e < y->e ? -1 : x->e > y->e;
}

/* The data section must be covered exactly once: no overlaps, no holes,
 * nothing after the last tensor. */
static int
st_layout(struct safetensors *st, uint32_t shard, struct st_span *sp,
    size_t n, uint64_t dsize)
{
	const char	*file = st->maps[shard].name;
	uint64_t	 at = 0;
	size_t		 i;

	qsort(sp, n, sizeof *sp, span_cmp);
	for (i = 0; i < n; i++) {
		if (sp[i].b < at)
			return st_fail(st, "%s: tensor '%s' overlaps tensor "
			    "'%s'", file, st->t[sp[i].i].name,
			    st->t[sp[i - 1].i].name);
		if (sp[i].b > at)
			return st_fail(st, "%s: %" PRIu64 " bytes before "
			    "tensor '%s' belong to no tensor", file,
			    sp[i].b - at, st->t[sp[i].i].name);
		at = sp[i].e;
	}
	if (at != dsize)
		return st_fail(st, "%s: the tensors end at byte %" PRIu64
		    " of a %" PRIu64 "-byte data section", file, at, dsize);
	return 0;
}

static int
st_metadata(struct safetensors *st, const char *file, json_t *v)
{
	const char	*k;
	json_t		*x;

	if (!json_is_object(v))
		return st_fail(st, "%s: __metadata__ is not an object", file);
	json_object_foreach(v, k, x) {
		if (!json_is_string(x))
			return st_fail(st, "%s: __metadata__ value '%.64s' is "
			    "not a string", file, k);
	}
	return 0;
}

static int
st_header(struct safetensors *st, uint32_t shard, json_t *h,
    const uint8_t *data, uint64_t dsize)
{
	struct st_span	*sp;
	const char	*k;
	json_t		*v;
	size_t		 n = 0, first = st->n_t;
	int		 rc = 0;

	if ((sp = calloc(json_object_size(h) + 1, sizeof *sp)) == NULL)
		return st_fail(st, "out of memory");
	json_object_foreach(h, k, v) {
		if (strcmp(k, "__metadata__") == 0) {
			if ((rc = st_metadata(st, st->maps[shard].name,
			    v)) == -1)
				break;
			continue;
		}
		sp[n].i = first + n;
		if ((rc = st_entry(st, shard, k, v, data, dsize,
		    &sp[n])) == -1)
			break;
		n++;
	}
	if (rc == 0)
		rc = st_layout(st, shard, sp, n, dsize);
	free(sp);
	return rc;
}

/* Map path as shard number st->n_maps, named name in messages. */
static int
st_map_file(struct safetensors *st, const char *path, const char *name)
{
	struct st_map	*m;
	struct stat	 sb;
	int		 fd;

	m = realloc(st->maps, (st->n_maps + 1) * sizeof *m);
	if (m == NULL)
		return st_fail(st, "out of memory");
	st->maps = m;
	m = &st->maps[st->n_maps];
	memset(m, 0, sizeof *m);
	m->fd = -1;
	if ((m->name = strdup(name)) == NULL)
		return st_fail(st, "out of memory");
	st->n_maps++;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return st_fail(st, "%s: cannot open: %s", name,
		    strerror(errno));
	m->fd = fd;
	if (fstat(fd, &sb) == -1)
		return st_fail(st, "%s: cannot stat: %s", name,
		    strerror(errno));
	if (!S_ISREG(sb.st_mode))
		return st_fail(st, "%s: not a regular file", name);
	if (sb.st_size < 8)
		return st_fail(st, "%s: not a safetensors file (only %jd "
		    "bytes)", name, (intmax_t)sb.st_size);
	if ((uintmax_t)sb.st_size > SIZE_MAX)
		return st_fail(st, "%s: file too large to map", name);
	m->map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd,
	    0);
	if (m->map == MAP_FAILED) {
		m->map = NULL;
		return st_fail(st, "%s: cannot map: %s", name,
		    strerror(errno));
	}
	m->size = (size_t)sb.st_size;
	return 0;
}

static uint64_t
st_le64(const uint8_t *p)
{
	uint64_t	v = 0;
	int		i;

	for (i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/* Map and parse one file as the next shard. */
static int
st_load_file(struct safetensors *st, const char *path, const char *name)
{
	struct st_map	*m;
	json_error_t	 je;
	json_t		*h;
	uint64_t	 hlen;
	int		 rc;

	if (st_map_file(st, path, name) == -1)
		return -1;
	m = &st->maps[st->n_maps - 1];
	hlen = st_le64(m->map);
	if (hlen < 2 || hlen > SAFETENSORS_MAX_HEADER || hlen > m->size - 8)
		return st_fail(st, "%s: header length %" PRIu64 " does not "
		    "fit a %zu-byte file (2 to %u bytes)", name, hlen, m->size,
		    SAFETENSORS_MAX_HEADER);
	h = json_loadb((const char *)m->map + 8, (size_t)hlen,
	    JSON_REJECT_DUPLICATES, &je);
	if (h == NULL)
		return st_fail(st, "%s: header is not valid JSON: %s (at byte "
		    "%d)", name, je.text, je.position);
	if (!json_is_object(h))
		rc = st_fail(st, "%s: header is not a JSON object", name);
	else
		rc = st_header(st, (uint32_t)(st->n_maps - 1), h,
		    (const uint8_t *)m->map + 8 + hlen, m->size - 8 - hlen);
	json_decref(h);
	return rc;
}

static int
name_cmp(const void *a, const void *b)
{
	const struct safetensors_tensor	*x = a, *y = b;

	return strcmp(x->name, y->name);
}

static int
st_sort(struct safetensors *st)
{
	size_t	i;

	qsort(st->t, st->n_t, sizeof *st->t, name_cmp);
	st->data_bytes = 0;
	for (i = 0; i < st->n_t; i++) {
		if (i > 0 && strcmp(st->t[i].name, st->t[i - 1].name) == 0)
			return st_fail(st, "tensor '%s' is in both %s and %s",
			    st->t[i].name, st->maps[st->t[i - 1].shard].name,
			    st->maps[st->t[i].shard].name);
		st->data_bytes += st->t[i].nbytes;
	}
	return 0;
}

static char *
st_join(const char *dir, const char *name)
{
	char	*p;

	if (asprintf(&p, "%s/%s", dir, name) == -1)
		return NULL;
	return p;
}

/* A shard name from the index must be a plain file name in the folder. */
static int
st_shard_name_ok(const char *s)
{
	size_t	len = strlen(s);

	return len > 0 && len < 256 && s[0] != '.' &&
	    strchr(s, '/') == NULL && strchr(s, '\\') == NULL;
}

static int
st_shard_index(const struct safetensors *st, const char *name)
{
	size_t	i;

	for (i = 0; i < st->n_maps; i++) {
		if (strcmp(st->maps[i].name, name) == 0)
			return (int)i;
	}
	return -1;
}

/* Open every shard the weight map names, in order of first mention. */
static int
st_load_shards(struct safetensors *st, const char *dir, json_t *wm)
{
	struct stat	 sb;
	const char	*k, *f;
	json_t		*v;
	char		*path;
	int		 rc;

	json_object_foreach(wm, k, v) {
		if (!json_is_string(v) || !st_shard_name_ok(f =
		    json_string_value(v)))
			return st_fail(st, "%s: tensor '%.64s' names no plain "
			    "shard file", ST_INDEX, k);
		if (st_shard_index(st, f) != -1)
			continue;
		if (st->n_maps >= ST_MAX_SHARDS)
			return st_fail(st, "%s: more than %d shards", ST_INDEX,
			    ST_MAX_SHARDS);
		if ((path = st_join(dir, f)) == NULL)
			return st_fail(st, "out of memory");
		if (stat(path, &sb) == -1 && errno == ENOENT) {
			free(path);
			return st_fail(st, "shard %s is missing (%s names it "
			    "for tensor '%.64s')", f, ST_INDEX, k);
		}
		rc = st_load_file(st, path, f);
		free(path);
		if (rc == -1)
			return -1;
	}
	return 0;
}

/* Every tensor of the weight map must be in the shard it names. */
static int
st_check_map(struct safetensors *st, json_t *wm)
{
	const struct safetensors_tensor	*t;
	const char			*k;
	json_t				*v;

	json_object_foreach(wm, k, v) {
		t = safetensors_find(st, k);
		if (t == NULL || strcmp(st->maps[t->shard].name,
		    json_string_value(v)) != 0)
			return st_fail(st, "%s: tensor '%.64s' is not in %s",
			    ST_INDEX, k, json_string_value(v));
	}
	return 0;
}

static int
st_load_index(struct safetensors *st, const char *dir, const char *path)
{
	json_error_t	 je;
	json_t		*idx, *wm;
	int		 rc = -1;

	idx = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (idx == NULL)
		return st_fail(st, "%s: not valid JSON: %s (line %d)",
		    ST_INDEX, je.text, je.line);
	wm = json_object_get(idx, "weight_map");
	if (!json_is_object(wm) || json_object_size(wm) == 0)
		st_fail(st, "%s: no weight_map object", ST_INDEX);
	else if (st_load_shards(st, dir, wm) == 0 && st_sort(st) == 0)
		rc = st_check_map(st, wm);
	json_decref(idx);
	return rc;
}

static int
st_load(struct safetensors *st, const char *path)
{
	struct stat	 sb;
	const char	*base;
	char		*p;
	int		 rc;

	if (stat(path, &sb) == -1)
		return st_fail(st, "%s: cannot open: %s", path,
		    strerror(errno));
	if (!S_ISDIR(sb.st_mode)) {
		base = strrchr(path, '/');
		base = base != NULL ? base + 1 : path;
		if (st_load_file(st, path, base) == -1)
			return -1;
		return st_sort(st);
	}
	if ((p = st_join(path, ST_INDEX)) == NULL)
		return st_fail(st, "out of memory");
	if (stat(p, &sb) == 0) {
		rc = st_load_index(st, path, p);
		free(p);
		return rc;
	}
	free(p);
	if ((p = st_join(path, ST_SINGLE)) == NULL)
		return st_fail(st, "out of memory");
	if (stat(p, &sb) == -1) {
		free(p);
		return st_fail(st, "the folder has neither %s nor %s",
		    ST_SINGLE, ST_INDEX);
	}
	rc = st_load_file(st, p, ST_SINGLE);
	free(p);
	return rc == 0 ? st_sort(st) : -1;
}

/* Open a file or a model folder (see safetensors.h); caller closes. */
struct safetensors *
safetensors_open(const char *path, char **cause)
{
	struct safetensors	*st;

	if ((st = calloc(1, sizeof *st)) == NULL) {
		if (cause != NULL)
			*cause = strdup("out of memory");
		return NULL;
	}
	if (st_load(st, path) == 0)
		return st;
	if (cause != NULL) {
		*cause = st->err != NULL ? st->err : strdup("out of memory");
		st->err = NULL;
	}
	safetensors_close(st);
	return NULL;
}

/* Unmap and free everything; NULL is a no-op. */
void
safetensors_close(struct safetensors *st)
{
	size_t	i;

	if (st == NULL)
		return;
	for (i = 0; i < st->n_maps; i++) {
		if (st->maps[i].map != NULL)
			munmap(st->maps[i].map, st->maps[i].size);
		if (st->maps[i].fd != -1)
			close(st->maps[i].fd);
		free(st->maps[i].name);
	}
	for (i = 0; i < st->n_t; i++)
		free((char *)st->t[i].name);
	free(st->maps);
	free(st->t);
	free(st->err);
	free(st);
}

/* Number of tensors in the set. */
size_t
safetensors_count(const struct safetensors *st)
{
	return st->n_t;
}

/* Tensor i in name order, or NULL past the end. */
const struct safetensors_tensor *
safetensors_get(const struct safetensors *st, size_t i)
{
	return i < st->n_t ? &st->t[i] : NULL;
}

/* The tensor called name, or NULL (binary search over the sorted set). */
const struct safetensors_tensor *
safetensors_find(const struct safetensors *st, const char *name)
{
	size_t	lo = 0, hi = st->n_t, mid;
	int	c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(name, st->t[mid].name);
		if (c == 0)
			return &st->t[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* Sum of the tensors' byte sizes. */
uint64_t
safetensors_data_bytes(const struct safetensors *st)
{
	return st->data_bytes;
}

/* Elements [first, first + n) of t as f32 (unaligned data is fine). */
int
safetensors_read_f32(const struct safetensors_tensor *t, uint64_t first,
    float *dst, uint64_t n)
{
	const uint8_t	*p = t->data;
	uint64_t	 i, end;
	uint16_t	 h;

	if (__builtin_add_overflow(first, n, &end) || end > t->n_elems)
		return -1;
	for (i = 0; i < n; i++) {
		switch (t->type) {
		case QT_F32:
			memcpy(&dst[i], p + (first + i) * 4, 4);
			break;
		case QT_F16:
			memcpy(&h, p + (first + i) * 2, 2);
			dst[i] = qt_f16_to_f32(h);
			break;
		default:
			memcpy(&h, p + (first + i) * 2, 2);
			dst[i] = qt_bf16_to_f32(h);
			break;
		}
	}
	return 0;
}
