/*
 * Tests of the GGUF reader and writer: a round trip of every value type
 * and several tensor types, every real file in the shared test data
 * (opened, checked and rewritten byte for byte), and malformed files for
 * each variant of RELIABILITY-NOTES rows G1-G12, which must be refused.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/gguf.h"
#include "engine/gguf_write.h"
#include "engine/quant.h"
#include "tests/tap.h"

#define U64_MAX	UINT64_MAX

/* A growable byte buffer for hand-built files. */
struct tb {
	uint8_t	*p;
	size_t	 len;
	size_t	 cap;
};

static char	*tmpdir;

static void
tb_put(struct tb *b, const void *p, size_t n)
{
	while (b->len + n > b->cap) {
		b->cap = b->cap ? b->cap * 2 : 256;
		if ((b->p = realloc(b->p, b->cap)) == NULL) {
			perror("realloc");
			exit(1);
		}
	}
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void
tb_le(struct tb *b, uint64_t v, size_t n)
{
	uint8_t	le[8];
	size_t	i;

	for (i = 0; i < n; i++)
		le[i] = (uint8_t)(v >> (8 * i));
	tb_put(b, le, n);
}

static void
tb_u32(struct tb *b, uint32_t v)
{
	tb_le(b, v, 4);
}

static void
tb_u64(struct tb *b, uint64_t v)
{
	tb_le(b, v, 8);
}

static void
tb_str(struct tb *b, const char *s)
{
	tb_u64(b, strlen(s));
	tb_put(b, s, strlen(s));
}

static void
tb_zeros(struct tb *b, size_t n)
{
	while (n-- > 0)
		tb_put(b, "", 1);
}

static void
put_le(uint8_t *p, uint64_t v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Does cause match words: alternatives split by '|', each a list of
 * phrases split by '&' that must all occur? */
static int
has_word(const char *cause, const char *words)
{
	char	w[64];
	size_t	n;
	int	all = 1;

	for (;;) {
		n = strcspn(words, "|&");
		snprintf(w, sizeof w, "%.*s", (int)n, words);
		if (strstr(cause, w) == NULL)
			all = 0;
		words += n;
		if (*words != '&') {
			if (all)
				return 1;
			if (*words == '\0')
				return 0;
			all = 1;
		}
		words++;
	}
}

static void
check_refused(struct gguf *g, char *cause, const char *words,
    const char *what)
{
	ok(g == NULL && cause != NULL && *cause != '\0' &&
	    has_word(cause, words), "%s: refused", what);
	diag("  cause: %s", cause != NULL ? cause : "(none)");
	gguf_close(g);
	free(cause);
}

/* Parse buf from memory; it must be refused with a cause naming one of
 * words. */
static void
refused(const void *buf, size_t len, const char *words, const char *what)
{
	char		*cause = NULL;
	struct gguf	*g = gguf_open_mem(buf, len, &cause);

	check_refused(g, cause, words, what);
}

static char *
tmp_path(const char *name)
{
	char	*p;

	if (asprintf(&p, "%s/%s", tmpdir, name) == -1)
		exit(1);
	return p;
}

static void
save(const char *path, const void *buf, size_t len)
{
	FILE	*f = fopen(path, "wb");

	if (f == NULL || (len > 0 && fwrite(buf, 1, len, f) != len) ||
	    fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

/* The same, through a file and gguf_open(). */
static void
refused_file(const void *buf, size_t len, const char *words,
    const char *what)
{
	char		*path = tmp_path("bad.gguf"), *cause = NULL;
	struct gguf	*g;

	save(path, buf, len);
	g = gguf_open(path, &cause);
	check_refused(g, cause, words, what);
	unlink(path);
	free(path);
}

static void *
load(const char *path, size_t *len)
{
	FILE	*f = fopen(path, "rb");
	uint8_t	*p;
	long	 n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0 || (p = malloc((size_t)n + 1)) == NULL ||
	    fread(p, 1, (size_t)n, f) != (size_t)n) {
		fclose(f);
		return NULL;
	}
	fclose(f);
	*len = (size_t)n;
	return p;
}

static char *
td(const char *rel)
{
	char	*p;

	if (asprintf(&p, "%s/%s", tap_testdata(), rel) == -1)
		exit(1);
	return p;
}

/* A pattern for tensor k's bytes. */
static void
pattern(uint8_t *p, size_t n, unsigned k)
{
	size_t	i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 31 + k * 7 + 1);
}

static int
fill_pattern(void *ctx, void *buf, size_t nbytes, const char *name)
{
	pattern(buf, nbytes, *(unsigned *)ctx);
	return 0;
}

static int
fill_fails(void *ctx, void *buf, size_t nbytes, const char *name)
{
	return -1;
}

/* ---- 1. Round trip ---- */

struct rt_tensor {
	const char	*name;
	uint32_t	 type;
	int		 n_dims;
	int64_t		 ne[4];
	size_t		 nbytes;
	uint8_t		*data;
};

static struct rt_tensor rt[] = {
	{ "f32.odd", QT_F32, 2, { 7, 3, 1, 1 }, 7 * 3 * 4, NULL },
	{ "f16.mat", QT_F16, 2, { 16, 2, 1, 1 }, 16 * 2 * 2, NULL },
	{ "q8_0.mat", QT_Q8_0, 2, { 64, 3, 1, 1 }, 2 * 34 * 3, NULL },
	{ "q4_0.cube", QT_Q4_0, 3, { 32, 2, 2, 1 }, 18 * 4, NULL },
	{ "f32.4d", QT_F32, 4, { 2, 3, 4, 5 }, 120 * 4, NULL },
	{ "blk.0.attn_q.weight", QT_Q8_0, 1, { 32, 1, 1, 1 }, 34, NULL }
};
#define N_RT	(sizeof rt / sizeof rt[0])

static const char *const rt_strs[] = { "alpha", "", "<|begin_of_text|>",
    "\xe7\xbe\x8a\xe9\xa9\xbc" };
static const float rt_f32s[] = { 1.5f, -2.25f, 0.0f, 1e-5f };
static const int32_t rt_i32s[] = { -7, 0, 2147483647, -2147483647 - 1 };

static void
build_kvs(struct gguf_w *w)
{
	struct tb	 b = { NULL, 0, 0 };
	double		 d = -3.25;
	uint64_t	 bits;

	tb_le(&b, 200, 1);
	gguf_w_kv_raw(w, "t.u8", GGUF_VT_UINT8, b.p, 1);
	b.len = 0;
	tb_le(&b, (uint8_t)-5, 1);
	gguf_w_kv_raw(w, "t.i8", GGUF_VT_INT8, b.p, 1);
	b.len = 0;
	tb_le(&b, 65000, 2);
	gguf_w_kv_raw(w, "t.u16", GGUF_VT_UINT16, b.p, 2);
	b.len = 0;
	tb_le(&b, (uint16_t)-300, 2);
	gguf_w_kv_raw(w, "t.i16", GGUF_VT_INT16, b.p, 2);
	gguf_w_u32(w, "t.u32", 4000000000u);
	gguf_w_i32(w, "t.i32", -123456);
	gguf_w_f32(w, "t.f32", 0.125f);
	gguf_w_bool(w, "t.bool", 1);
	gguf_w_bool(w, "t.false", 0);
	gguf_w_str(w, "t.str", "hello, gguf");
	gguf_w_str(w, "t.empty", "");
	gguf_w_u64(w, "t.u64", U64_MAX);
	gguf_w_u64(w, "t.u64small", 42);
	b.len = 0;
	tb_u64(&b, (uint64_t)-9000000000LL);
	gguf_w_kv_raw(w, "t.i64", GGUF_VT_INT64, b.p, 8);
	memcpy(&bits, &d, sizeof bits);
	b.len = 0;
	tb_u64(&b, bits);
	gguf_w_kv_raw(w, "t.f64", GGUF_VT_FLOAT64, b.p, 8);
	gguf_w_arr_str(w, "t.arr.str", rt_strs, 4);
	gguf_w_arr_f32(w, "t.arr.f32", rt_f32s, 4);
	gguf_w_arr_i32(w, "t.arr.i32", rt_i32s, 4);
	gguf_w_arr_str(w, "t.arr.empty", NULL, 0);
	b.len = 0;
	tb_u32(&b, GGUF_VT_INT16);
	tb_u64(&b, 3);
	tb_le(&b, (uint16_t)-2, 2);
	tb_le(&b, 7, 2);
	tb_le(&b, 32767, 2);
	gguf_w_kv_raw(w, "t.arr.i16", GGUF_VT_ARRAY, b.p, b.len);
	b.len = 0;
	tb_u32(&b, GGUF_VT_BOOL);
	tb_u64(&b, 2);
	tb_le(&b, 1, 1);
	tb_le(&b, 0, 1);
	gguf_w_kv_raw(w, "t.arr.bool", GGUF_VT_ARRAY, b.p, b.len);
	free(b.p);
}

static void
check_kvs(const struct gguf *g)
{
	const struct gguf_kv	*kv;
	uint32_t		 u;
	int64_t			 i;
	float			 f;
	int			 bo;
	struct gguf_str		 s;
	size_t			 k;

	ok(gguf_get_u32(g, "t.u8", &u) == 0 && u == 200, "UINT8 as u32");
	ok(gguf_get_i64(g, "t.i8", &i) == 0 && i == -5, "INT8 as i64");
	ok(gguf_get_u32(g, "t.i8", &u) == -1, "negative INT8 is no u32");
	ok(gguf_get_u32(g, "t.u16", &u) == 0 && u == 65000, "UINT16");
	ok(gguf_get_i64(g, "t.i16", &i) == 0 && i == -300, "INT16");
	ok(gguf_get_u32(g, "t.u32", &u) == 0 && u == 4000000000u, "UINT32");
	ok(gguf_get_i64(g, "t.i32", &i) == 0 && i == -123456, "INT32");
	ok(gguf_get_f32(g, "t.f32", &f) == 0 && f == 0.125f, "FLOAT32");
	ok(gguf_get_bool(g, "t.bool", &bo) == 0 && bo == 1, "BOOL true");
	ok(gguf_get_bool(g, "t.false", &bo) == 0 && bo == 0, "BOOL false");
	ok(gguf_get_str(g, "t.str", &s) == 0 && s.len == 11 &&
	    memcmp(s.p, "hello, gguf", 11) == 0, "STRING");
	ok(gguf_get_str(g, "t.empty", &s) == 0 && s.len == 0, "empty STRING");
	ok(gguf_get_i64(g, "t.u64", &i) == -1, "UINT64 max is no i64");
	ok(gguf_get_u32(g, "t.u64", &u) == -1, "UINT64 max is no u32");
	ok(gguf_get_u32(g, "t.u64small", &u) == 0 && u == 42,
	    "small UINT64 as u32");
	ok(gguf_get_i64(g, "t.i64", &i) == 0 && i == -9000000000LL, "INT64");
	ok(gguf_get_f32(g, "t.f64", &f) == 0 && f == -3.25f, "FLOAT64");
	ok(gguf_get_u32(g, "t.str", &u) == -1 &&
	    gguf_get_str(g, "t.u32", &s) == -1 &&
	    gguf_get_bool(g, "t.u8", &bo) == -1 &&
	    gguf_get_f32(g, "t.i32", &f) == -1 &&
	    gguf_get_u32(g, "t.arr.i32", &u) == -1, "wrong types give -1");
	u = 77;
	ok(gguf_get_u32(g, "t.absent", &u) == 1 && u == 77 &&
	    gguf_find(g, "t.u3") == NULL && gguf_find(g, "t.u32x") == NULL,
	    "absent keys give 1");

	kv = gguf_find(g, "t.arr.str");
	ok(kv != NULL && kv->type == GGUF_VT_ARRAY &&
	    kv->atype == GGUF_VT_STRING && kv->n == 4 && kv->strs != NULL,
	    "string array");
	for (k = 0; kv != NULL && kv->strs != NULL && k < 4; k++) {
		ok(kv->strs[k].len == strlen(rt_strs[k]) &&
		    memcmp(kv->strs[k].p, rt_strs[k], kv->strs[k].len) == 0,
		    "string array element %zu", k);
	}
	kv = gguf_find(g, "t.arr.f32");
	ok(kv != NULL && kv->atype == GGUF_VT_FLOAT32 && kv->n == 4 &&
	    kv->strs == NULL && gguf_arr_f32(kv, 0) == 1.5f &&
	    gguf_arr_f32(kv, 1) == -2.25f && gguf_arr_f32(kv, 3) == 1e-5f &&
	    gguf_arr_f32(kv, 4) == 0.0f, "FLOAT32 array");
	kv = gguf_find(g, "t.arr.i32");
	ok(kv != NULL && kv->atype == GGUF_VT_INT32 && kv->n == 4 &&
	    gguf_arr_int(kv, 0) == -7 && gguf_arr_int(kv, 2) == 2147483647 &&
	    gguf_arr_int(kv, 3) == -2147483647LL - 1 &&
	    gguf_arr_f32(kv, 0) == -7.0f, "INT32 array");
	kv = gguf_find(g, "t.arr.empty");
	ok(kv != NULL && kv->atype == GGUF_VT_STRING && kv->n == 0,
	    "empty string array");
	kv = gguf_find(g, "t.arr.i16");
	ok(kv != NULL && kv->n == 3 && gguf_arr_int(kv, 0) == -2 &&
	    gguf_arr_int(kv, 1) == 7 && gguf_arr_int(kv, 2) == 32767,
	    "INT16 array");
	kv = gguf_find(g, "t.arr.bool");
	ok(kv != NULL && kv->n == 2 && gguf_arr_int(kv, 0) == 1 &&
	    gguf_arr_int(kv, 1) == 0, "BOOL array");
	ok(strcmp(gguf_vtype_name(GGUF_VT_UINT32), "UINT32") == 0 &&
	    strcmp(gguf_vtype_name(GGUF_VT_FLOAT64), "FLOAT64") == 0 &&
	    strcmp(gguf_vtype_name(13), "unknown") == 0, "type names");
}

static void
check_tensors(const struct gguf *g, uint64_t align)
{
	const struct gguf_tensor	*t;
	size_t				 k;
	int				 d, same;

	ok(g->n_tensors == N_RT, "%zu tensors", N_RT);
	ok(g->alignment == align && g->data_offset % align == 0,
	    "alignment %llu, data offset %llu", (unsigned long long)align,
	    (unsigned long long)g->data_offset);
	for (k = 0; k < N_RT; k++) {
		t = gguf_find_tensor(g, rt[k].name);
		if (!ok(t != NULL && t == &g->tensors[k], "tensor %s found",
		    rt[k].name))
			continue;
		same = t->n_dims == (uint32_t)rt[k].n_dims &&
		    t->type == rt[k].type;
		for (d = 0; d < 4; d++)
			same = same && t->ne[d] == rt[k].ne[d];
		ok(same, "%s: shape and type", rt[k].name);
		ok(t->nbytes == rt[k].nbytes && t->offset % align == 0 &&
		    (const uint8_t *)t->data == g->map + g->data_offset +
		    t->offset, "%s: %llu bytes at aligned offset %llu",
		    rt[k].name, (unsigned long long)t->nbytes,
		    (unsigned long long)t->offset);
		ok(memcmp(t->data, rt[k].data, rt[k].nbytes) == 0,
		    "%s: data bytes", rt[k].name);
	}
	ok(gguf_find_tensor(g, "f32") == NULL &&
	    gguf_find_tensor(g, "missing") == NULL, "absent tensor is NULL");
}

/* Whether gguf_close(NULL) returns normally (in a child, so that a crash
 * is a failed test point rather than a crashed test). */
static int
close_null_survives(void)
{
	pid_t	pid;
	int	st;

	if ((pid = fork()) == 0) {
		gguf_close(NULL);
		_exit(0);
	}
	return pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	    WEXITSTATUS(st) == 0;
}

static void
test_round_trip(void)
{
	struct gguf_w	*w;
	struct gguf	*g;
	char		*path = tmp_path("rt.gguf"), *cause = NULL;
	void		*buf = NULL;
	size_t		 len = 0, k;
	unsigned	 ids[N_RT];
	struct stat	 st;
	uint32_t	 u;

	for (k = 0; k < N_RT; k++) {
		rt[k].data = malloc(rt[k].nbytes);
		pattern(rt[k].data, rt[k].nbytes, (unsigned)k);
		ids[k] = (unsigned)k;
	}

	/* Through a file, default alignment, borrowed data. */
	w = gguf_w_new();
	build_kvs(w);
	for (k = 0; k < N_RT; k++)
		gguf_w_tensor(w, rt[k].name, rt[k].type, rt[k].n_dims,
		    rt[k].ne, rt[k].data);
	ok(gguf_w_write(w, path, &cause) == 0, "write %s", path);
	if (cause != NULL)
		diag("%s", cause);
	free(cause);
	cause = NULL;
	gguf_w_free(w);
	g = gguf_open(path, &cause);
	if (!ok(g != NULL, "open the written file")) {
		diag("%s", cause);
		free(cause);
	} else {
		ok(g->version == 3 && g->n_kv == 21, "version 3, 21 pairs");
		check_kvs(g);
		check_tensors(g, 32);
		ok(stat(path, &st) == 0 && (uint64_t)st.st_size ==
		    g->data_offset + ((g->data_size + 31) & ~31ULL),
		    "file ends at the padded end of the last tensor");
		ok(g->fd >= 0, "the file stays open");
	}
	gguf_close(g);

	/* Through memory, alignment 256, data from callbacks. */
	w = gguf_w_new();
	ok(gguf_w_set_alignment(w, 256) == 0, "alignment 256 accepted");
	build_kvs(w);
	for (k = 0; k < N_RT; k++)
		gguf_w_tensor_cb(w, rt[k].name, rt[k].type, rt[k].n_dims,
		    rt[k].ne, fill_pattern, &ids[k]);
	ok(gguf_w_write_mem(w, &buf, &len, &cause) == 0, "write to memory");
	gguf_w_free(w);
	g = gguf_open_mem(buf, len, &cause);
	if (ok(g != NULL, "open the image")) {
		ok(gguf_get_u32(g, "general.alignment", &u) == 0 && u == 256 &&
		    g->n_kv == 22 && g->fd == -1, "general.alignment written");
		check_kvs(g);
		check_tensors(g, 256);
	} else {
		diag("%s", cause);
		free(cause);
	}
	gguf_close(g);
	free(buf);
	ok(close_null_survives(), "gguf_close(NULL) is a no-op");
	for (k = 0; k < N_RT; k++)
		free(rt[k].data);
	unlink(path);
	free(path);
}

/* ---- the writer's own checks and atomic write ---- */

static int
dir_has_tmp(void)
{
	DIR		*d = opendir(tmpdir);
	struct dirent	*e;
	int		 found = 0;

	while (d != NULL && (e = readdir(d)) != NULL) {
		if (strstr(e->d_name, ".tmp") != NULL)
			found = 1;
	}
	if (d != NULL)
		closedir(d);
	return found;
}

static void
writer_refuses(const char *name, uint32_t type, int n_dims,
    const int64_t *ne, const char *words, const char *what)
{
	struct gguf_w	*w = gguf_w_new();
	static uint8_t	 data[64];
	char		*cause = NULL;
	void		*buf = NULL;
	size_t		 len;
	int		 rc;

	rc = gguf_w_tensor(w, name, type, n_dims, ne, data);
	ok(rc == -1 && gguf_w_u32(w, "after", 1) == -1 &&
	    gguf_w_write_mem(w, &buf, &len, &cause) == -1 && cause != NULL &&
	    has_word(cause, words), "writer refuses %s", what);
	diag("  cause: %s", cause != NULL ? cause : "(none)");
	free(cause);
	free(buf);
	gguf_w_free(w);
}

static void
test_writer(void)
{
	static const int64_t	 ne1[4] = { 32, 1, 1, 1 }, ne33[1] = { 33 };
	static const int64_t	 ne0[2] = { 32, 0 };
	static uint8_t		 data[128];
	char			 name[80];
	char			*path = tmp_path("atomic.gguf"), *cause = NULL;
	char			*nodir = tmp_path("no/such/dir/x.gguf");
	struct gguf_w		*w;
	struct gguf		*g;
	unsigned		 id = 0;
	void			*buf = NULL;
	size_t			 len;

	memset(name, 'n', 64);
	name[64] = '\0';
	writer_refuses(name, QT_F32, 1, ne1, "name", "a 64-byte name");
	writer_refuses("", QT_F32, 1, ne1, "name", "an empty name");
	writer_refuses("t", QT_F32, 0, ne1, "dimensions", "0 dimensions");
	writer_refuses("t", QT_F32, 5, ne1, "dimensions", "5 dimensions");
	writer_refuses("t", QT_F32, 2, ne0, "shape", "a zero dimension");
	writer_refuses("t", QT_Q4_0, 1, ne33, "rows", "Q4_0 rows of 33");
	writer_refuses("t", 40, 1, ne1, "type", "type 40");
	w = gguf_w_new();
	ok(gguf_w_set_alignment(w, 13) == -1 &&
	    gguf_w_write_mem(w, &buf, &len, &cause) == -1 &&
	    cause != NULL && has_word(cause, "power of two"),
	    "writer refuses alignment 13");
	free(cause);
	cause = NULL;
	gguf_w_free(w);
	gguf_w_free(NULL);

	/* An old file survives a failed write and is replaced by a good
	 * one; no temporary file is left either way. */
	save(path, "old", 3);
	w = gguf_w_new();
	gguf_w_str(w, "general.name", "x");
	gguf_w_tensor_cb(w, "t", QT_F32, 1, ne1, fill_fails, NULL);
	ok(gguf_w_write(w, path, &cause) == -1 && cause != NULL &&
	    strstr(cause, "fill") != NULL, "a failing fill fails the write");
	diag("  cause: %s", cause != NULL ? cause : "(none)");
	free(cause);
	cause = NULL;
	gguf_w_free(w);
	g = gguf_open(path, &cause);
	ok(g == NULL && !dir_has_tmp(), "old file untouched, no temp file");
	free(cause);
	cause = NULL;
	w = gguf_w_new();
	gguf_w_str(w, "general.name", "x");
	gguf_w_tensor_cb(w, "t", QT_F32, 1, ne1, fill_pattern, &id);
	gguf_w_tensor(w, "u", QT_F32, 1, ne1, data);
	ok(gguf_w_write(w, path, &cause) == 0 && !dir_has_tmp(),
	    "replaced atomically");
	ok(gguf_w_write(w, nodir, &cause) == -1 && cause != NULL,
	    "a missing directory is an error");
	diag("  cause: %s", cause != NULL ? cause : "(none)");
	free(cause);
	cause = NULL;
	gguf_w_free(w);
	g = gguf_open(path, &cause);
	ok(g != NULL && g->n_tensors == 2 && g->n_kv == 1,
	    "the new file opens");
	gguf_close(g);
	free(cause);
	unlink(path);
	free(path);
	free(nodir);
}

/* ---- 2. Real files ---- */

/* Rewrite g with the writer and compare with the original bytes. */
static int
rewrite_same(const struct gguf *g)
{
	struct gguf_w	*w = gguf_w_new();
	void		*buf = NULL;
	size_t		 len = 0;
	uint64_t	 i;
	char		*cause = NULL;
	int		 same;

	gguf_w_set_version(w, g->version);
	gguf_w_set_alignment(w, (uint32_t)g->alignment);
	for (i = 0; i < g->n_kv; i++)
		gguf_w_kv_copy(w, &g->kv[i]);
	for (i = 0; i < g->n_tensors; i++)
		gguf_w_tensor(w, g->tensors[i].name, g->tensors[i].type,
		    (int)g->tensors[i].n_dims, g->tensors[i].ne,
		    g->tensors[i].data);
	if (gguf_w_write_mem(w, &buf, &len, &cause) == -1) {
		diag("%s", cause);
		free(cause);
		gguf_w_free(w);
		return 0;
	}
	same = len == g->size && memcmp(buf, g->map, len) == 0;
	if (!same)
		diag("  rewrite: %zu bytes, file %zu", len, g->size);
	free(buf);
	gguf_w_free(w);
	return same;
}

static struct gguf *
open_td(const char *rel)
{
	char		*path = td(rel), *cause = NULL;
	struct gguf	*g;

	if (access(path, R_OK) != 0) {
		skip("test data not found");
		free(path);
		return NULL;
	}
	g = gguf_open(path, &cause);
	if (!ok(g != NULL, "open %s", rel))
		diag("  %s", cause);
	free(cause);
	free(path);
	return g;
}

static int
count_type(const struct gguf *g, uint32_t type)
{
	uint64_t	i;
	int		n = 0;

	for (i = 0; i < g->n_tensors; i++)
		n += g->tensors[i].type == type;
	return n;
}

static void
test_stories(void)
{
	struct gguf			*g;
	const struct gguf_tensor	*t;
	const struct gguf_kv		*kv;
	uint32_t			 u;
	struct gguf_str			 s;

	if ((g = open_td("models/stories260K.gguf")) == NULL)
		return;
	t = gguf_find_tensor(g, "token_embd.weight");
	ok(t != NULL && t->type == QT_F32 && t->ne[0] == 64 &&
	    t->ne[1] == 512 && t->n_dims == 2, "token_embd.weight (64, 512)");
	ok(gguf_get_u32(g, "llama.block_count", &u) == 0 && u == 5,
	    "llama.block_count 5");
	ok(g->version == 3 && g->n_tensors == 48 && g->n_kv == 19 &&
	    g->alignment == 32 && g->data_offset == 14176,
	    "48 tensors, 19 pairs, data at 14176");
	ok(gguf_get_str(g, "general.architecture", &s) == 0 && s.len == 5 &&
	    memcmp(s.p, "llama", 5) == 0, "architecture llama");
	kv = gguf_find(g, "tokenizer.ggml.tokens");
	ok(kv != NULL && kv->n == 512 && kv->strs != NULL, "512 tokens");
	ok(gguf_get_u32(g, "tokenizer.ggml.seperator_token_id", &u) == 0 &&
	    u == 0xffffffffu, "misspelt seperator_token_id");
	ok(g->data_offset + g->data_size == g->size, "data ends at EOF");
	ok(rewrite_same(g), "writer reproduces stories260K byte for byte");
	gguf_close(g);
}

static void
test_models(void)
{
	static const char *const derived[] = { "F16", "Q4_0", "Q8_0" };
	static const char *const ktest[] = { "BF16", "F16", "F32", "Q2_K",
	    "Q3_K", "Q4_0", "Q4_1", "Q4_K", "Q5_0", "Q5_1", "Q5_K", "Q6_K",
	    "Q8_0", "mix-Q2_K", "mix-Q3_K_M", "mix-Q4_K_M", "mix-Q5_K_M" };
	struct gguf	*g;
	char		 rel[128];
	size_t		 i;
	uint32_t	 u;
	const struct gguf_kv *kv;

	if ((g = open_td("models/llama-2-tiny-random.gguf")) != NULL) {
		kv = gguf_find(g, "tokenizer.ggml.tokens");
		ok(g->n_tensors == 12 && g->n_kv == 18 &&
		    g->data_offset == 724416 && kv != NULL && kv->n == 32000 &&
		    count_type(g, QT_F16) == 9 && count_type(g, QT_F32) == 3,
		    "tiny-random: 12 tensors, 32000 tokens");
		ok(rewrite_same(g), "rewrite tiny-random byte for byte");
		gguf_close(g);
	}
	for (i = 0; i < 3; i++) {
		snprintf(rel, sizeof rel, "models/derived/stories260K-%s.gguf",
		    derived[i]);
		if ((g = open_td(rel)) == NULL)
			continue;
		if (i == 0)
			ok(count_type(g, QT_F16) == 37 &&
			    count_type(g, QT_F32) == 11, "37 F16 + 11 F32");
		if (i == 1)
			ok(count_type(g, QT_Q4_0) == 31 &&
			    count_type(g, QT_Q8_0) == 1 &&
			    count_type(g, QT_F16) == 5,
			    "31 Q4_0 + 1 Q8_0 + 5 F16");
		if (i == 2)
			ok(count_type(g, QT_Q8_0) == 32 &&
			    count_type(g, QT_F16) == 5, "32 Q8_0 + 5 F16");
		ok(rewrite_same(g), "rewrite %s byte for byte", rel);
		gguf_close(g);
	}
	for (i = 0; i < sizeof ktest / sizeof ktest[0]; i++) {
		snprintf(rel, sizeof rel, "models/ktest/ktest-%s.gguf",
		    ktest[i]);
		if ((g = open_td(rel)) == NULL)
			continue;
		ok(gguf_get_u32(g, "llama.block_count", &u) == 0 && u == 2 &&
		    gguf_get_u32(g, "llama.embedding_length", &u) == 0 &&
		    u == 256 && gguf_find_tensor(g, "blk.1.ffn_down.weight") &&
		    rewrite_same(g), "ktest-%s: hparams, rewrite", ktest[i]);
		gguf_close(g);
	}
}

static void
test_vocabs(void)
{
	struct gguf		*g;
	const struct gguf_kv	*kv;
	struct gguf_str		 s;
	int			 b;

	if ((g = open_td("tokenizer/ggml-vocab-llama-bpe.gguf")) != NULL) {
		ok(g->n_tensors == 0 && g->n_kv == 20 &&
		    g->data_offset > g->size, "bpe: no tensors, data past EOF");
		kv = gguf_find(g, "tokenizer.ggml.tokens");
		ok(kv != NULL && kv->atype == GGUF_VT_STRING &&
		    kv->n == 128256, "bpe: 128256 tokens");
		ok(kv != NULL && kv->n > 128000 &&
		    kv->strs[128000].len == 17 && memcmp(kv->strs[128000].p,
		    "<|begin_of_text|>", 17) == 0, "token 128000");
		kv = gguf_find(g, "tokenizer.ggml.merges");
		ok(kv != NULL && kv->n == 280147, "bpe: 280147 merges");
		ok(gguf_get_str(g, "tokenizer.ggml.pre", &s) == 0 &&
		    s.len == 9 && memcmp(s.p, "llama-bpe", 9) == 0,
		    "bpe: pre llama-bpe");
		ok(rewrite_same(g), "rewrite the bpe vocab byte for byte");
		gguf_close(g);
	}
	if ((g = open_td("tokenizer/ggml-vocab-llama-spm.gguf")) != NULL) {
		kv = gguf_find(g, "tokenizer.ggml.scores");
		ok(g->n_kv == 22 && kv != NULL && kv->n == 32000 &&
		    gguf_arr_f32(kv, 260) == -1.0f &&
		    gguf_arr_f32(kv, 29871) == -1e9f, "spm: scores");
		ok(gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &b) == 0 &&
		    b == 1, "spm: add_bos_token");
		ok(rewrite_same(g), "rewrite the spm vocab byte for byte");
		gguf_close(g);
	}
}

/* ---- 3. Malformed files ---- */

/* A valid image to patch: one KV, two tensors. */
static uint8_t *
valid_image(size_t *len)
{
	static const int64_t	ne[2] = { 8, 2 };
	static float		data[16];
	struct gguf_w		*w = gguf_w_new();
	void			*buf;
	char			*cause;

	gguf_w_str(w, "general.architecture", "llama");
	gguf_w_tensor(w, "a", QT_F32, 2, ne, data);
	gguf_w_tensor(w, "b", QT_F32, 2, ne, data);
	if (gguf_w_write_mem(w, &buf, len, &cause) == -1) {
		printf("Bail out! %s\n", cause);
		exit(1);
	}
	gguf_w_free(w);
	return buf;
}

static void
test_g1(void)
{
	static const uint32_t	 vers[] = { 0, 1, 4, 0x03000000 };
	size_t			 len, i;
	uint8_t			*img = valid_image(&len);
	struct gguf		*g;

	refused(img, 0, "magic", "G1 empty image");
	refused_file(img, 0, "GGUF", "G1 empty file");
	refused(img, 3, "magic", "G1 3 bytes");
	refused(img, 20, "header", "G1 header cut at 20 bytes");
	memcpy(img, "FUGG", 4);
	refused(img, len, "magic", "G1 magic FUGG");
	memcpy(img, "GGUF", 4);
	for (i = 0; i < 4; i++) {
		put_le(img + 4, vers[i], 4);
		refused_file(img, len, "version",
		    i == 3 ? "G1 byte-swapped version 0x03000000" :
		    i == 0 ? "G1 version 0" : i == 1 ? "G1 version 1" :
		    "G1 version 4");
	}
	put_le(img + 4, 2, 4);
	g = gguf_open_mem(img, len, NULL);
	ok(g != NULL && g->version == 2, "version 2 accepted");
	gguf_close(g);
	free(img);
}

static void
test_g2(void)
{
	static const uint64_t	 n[] = { U64_MAX, 1ULL << 63 };
	static const char *const names[] = { "2^64-1", "2^63" };
	uint8_t			 h[24];
	size_t			 i;
	char			 what[64], words[64];

	for (i = 0; i < 2; i++) {
		memcpy(h, "GGUF", 4);
		put_le(h + 4, 3, 4);
		put_le(h + 8, n[i], 8);
		put_le(h + 16, 0, 8);
		snprintf(what, sizeof what, "G2 n_tensors %s in 24 bytes",
		    names[i]);
		snprintf(words, sizeof words, "%" PRIu64 " tensors", n[i]);
		refused(h, 24, words, what);
		put_le(h + 8, 0, 8);
		put_le(h + 16, n[i], 8);
		snprintf(what, sizeof what, "G2 n_kv %s in 24 bytes",
		    names[i]);
		snprintf(words, sizeof words, "%" PRIu64 " key/value", n[i]);
		refused_file(h, 24, words, what);
	}
}

/* An image with one good pair and then one raw pair. */
static uint8_t *
kv_image(const char *key, uint32_t type, const struct tb *payload,
    size_t *len)
{
	struct gguf_w	*w = gguf_w_new();
	void		*buf;
	char		*cause;

	gguf_w_str(w, "general.architecture", "llama");
	gguf_w_kv_raw(w, key, type, payload->p, payload->len);
	gguf_w_u32(w, "general.after", 1);
	if (gguf_w_write_mem(w, &buf, len, &cause) == -1) {
		printf("Bail out! %s\n", cause);
		exit(1);
	}
	gguf_w_free(w);
	return buf;
}

static void
refused_kv(const char *key, uint32_t type, struct tb *payload,
    const char *words, const char *what)
{
	size_t	 len;
	uint8_t	*img = kv_image(key, type, payload, &len);

	refused(img, len, words, what);
	free(img);
	payload->len = 0;
}

static void
test_g3(void)
{
	static const uint64_t	 lens[] = { 1ULL << 63, 1ULL << 30,
	    (uint64_t)SIZE_MAX };
	static const char *const names[] = { "2^63", "1 GiB", "SIZE_MAX" };
	struct tb		 b = { NULL, 0, 0 };
	size_t			 i;
	char			 what[64];
	struct gguf_w		*w;
	void			*img;
	size_t			 len;
	char			*cause;

	for (i = 0; i < 3; i++) {
		tb_u64(&b, lens[i]);
		tb_put(&b, "abc", 3);
		snprintf(what, sizeof what, "G3 string length %s", names[i]);
		refused_kv("general.name", GGUF_VT_STRING, &b, "string", what);
	}
	tb_u64(&b, 1000);
	tb_put(&b, "abc", 3);
	refused_kv("general.name", GGUF_VT_STRING, &b, "end of file",
	    "G3 string longer than the bytes left");
	tb_u64(&b, (1u << 20) + 1);
	refused_kv("general.name", GGUF_VT_STRING, &b, "limit",
	    "G3 string of 1 MiB + 1");

	/* A key length of 2^63 in place of the second pair's. */
	w = gguf_w_new();
	gguf_w_str(w, "general.architecture", "llama");
	gguf_w_u32(w, "k", 1);
	gguf_w_write_mem(w, &img, &len, &cause);
	gguf_w_free(w);
	put_le((uint8_t *)img + len - 17, 1ULL << 63, 8);
	refused(img, len, "string", "G3 key length 2^63");
	put_le((uint8_t *)img + len - 17, U64_MAX, 8);
	refused(img, len, "string", "G3 key length 2^64-1");
	free(img);
	free(b.p);
}

/* G3: more than 64 MiB of metadata, in a sparse file (nothing read). */
static void
test_g3_meta(void)
{
	struct tb	 b = { NULL, 0, 0 };
	char		*path = tmp_path("meta.gguf"), *cause = NULL;
	struct gguf	*g;
	int		 fd;

	tb_put(&b, "GGUF", 4);
	tb_u32(&b, 3);
	tb_u64(&b, 0);
	tb_u64(&b, 1);
	tb_str(&b, "big");
	tb_u32(&b, GGUF_VT_ARRAY);
	tb_u32(&b, GGUF_VT_UINT8);
	tb_u64(&b, 65u << 20);
	save(path, b.p, b.len);
	if ((fd = open(path, O_WRONLY)) == -1 || ftruncate(fd, 70 << 20))
		exit(1);
	close(fd);
	g = gguf_open(path, &cause);
	check_refused(g, cause, "64 MiB", "G3 65 MiB array (metadata cap)");
	unlink(path);
	free(path);
	free(b.p);
}

static void
test_g4(void)
{
	struct tb	b = { NULL, 0, 0 };

	tb_u32(&b, GGUF_VT_UINT32);
	tb_u64(&b, 1ULL << 62);
	tb_u32(&b, 0);
	refused_kv("a", GGUF_VT_ARRAY, &b, "array", "G4 array of 2^62 UINT32");
	tb_u32(&b, GGUF_VT_UINT32);
	tb_u64(&b, 1000);
	tb_u32(&b, 0);
	refused_kv("a", GGUF_VT_ARRAY, &b, "end of file",
	    "G4 array of 1000 UINT32 in a few bytes");
	tb_u32(&b, GGUF_VT_ARRAY);
	tb_u64(&b, 1);
	tb_u32(&b, GGUF_VT_UINT8);
	tb_u64(&b, 1);
	tb_u32(&b, 0);
	refused_kv("a", GGUF_VT_ARRAY, &b, "arrays of arrays",
	    "G4 array of ARRAY");
	tb_u32(&b, GGUF_VT_STRING);
	tb_u64(&b, 1000);
	tb_str(&b, "x");
	refused_kv("a", GGUF_VT_ARRAY, &b, "strings",
	    "G4 STRING array with n*8 > bytes left");
	tb_u32(&b, GGUF_VT_STRING);
	tb_u64(&b, 1ULL << 62);
	refused_kv("a", GGUF_VT_ARRAY, &b, "strings",
	    "G4 STRING array of 2^62");
	tb_u32(&b, GGUF_VT_STRING);
	tb_u64(&b, 3);
	tb_str(&b, "x");
	tb_u64(&b, 1ULL << 40);
	tb_zeros(&b, 40);
	refused_kv("a", GGUF_VT_ARRAY, &b, "string",
	    "G4 STRING array element of 2^40 bytes");
	tb_u32(&b, 13);
	tb_u64(&b, 1);
	tb_u32(&b, 0);
	refused_kv("a", GGUF_VT_ARRAY, &b, "type", "G4 array of type 13");
	free(b.p);
}

static void
test_g5(void)
{
	struct tb	 b = { NULL, 0, 0 };
	struct gguf_w	*w;
	void		*img;
	size_t		 len;
	char		*cause;
	static float	 data[8];
	static const int64_t ne[1] = { 8 };

	tb_u32(&b, 0);
	refused_kv("bad.type13", 13, &b, "bad.type13", "G5 value type 13");
	tb_u32(&b, 0);
	refused_kv("bad.typeff", 0xffffffffu, &b, "bad.typeff",
	    "G5 value type 0xFFFFFFFF");
	tb_u32(&b, 0);
	refused_kv("", GGUF_VT_UINT32, &b, "empty key", "G5 empty key");

	w = gguf_w_new();
	gguf_w_str(w, "general.architecture", "llama");
	gguf_w_u32(w, "llama.block_count", 1);
	gguf_w_u32(w, "llama.block_count", 2);
	gguf_w_write_mem(w, &img, &len, &cause);
	gguf_w_free(w);
	refused(img, len, "duplicate key&llama.block_count",
	    "G5 duplicate key");
	free(img);

	w = gguf_w_new();
	gguf_w_tensor(w, "blk.0.attn_q.weight", QT_F32, 1, ne, data);
	gguf_w_tensor(w, "blk.0.attn_k.weight", QT_F32, 1, ne, data);
	gguf_w_tensor(w, "blk.0.attn_q.weight", QT_F32, 1, ne, data);
	gguf_w_write_mem(w, &img, &len, &cause);
	gguf_w_free(w);
	refused(img, len, "duplicate tensor&blk.0.attn_q.weight",
	    "G5 duplicate tensor name");
	free(img);
	free(b.p);
}

static void
test_g6(void)
{
	static const uint32_t	 al[] = { 0, 13, 1u << 31, 1u << 30 };
	struct tb		 b = { NULL, 0, 0 };
	char			 what[64];
	size_t			 i;

	for (i = 0; i < 4; i++) {
		tb_u32(&b, al[i]);
		snprintf(what, sizeof what, "G6 general.alignment %" PRIu32,
		    al[i]);
		refused_kv("general.alignment", GGUF_VT_UINT32, &b,
		    "power of two", what);
	}
	tb_u32(&b, 32);
	refused_kv("general.alignment", GGUF_VT_INT32, &b, "UINT32",
	    "G6 general.alignment stored as INT32");
	tb_u64(&b, 32);
	refused_kv("general.alignment", GGUF_VT_UINT64, &b, "UINT32",
	    "G6 general.alignment stored as UINT64");
	free(b.p);
}

/* A hand-built tensor info. */
struct ti {
	const char	*name;
	uint64_t	 name_len;	/* used when name is NULL */
	uint32_t	 n_dims;
	uint64_t	 ne[4];
	uint32_t	 type;
	uint64_t	 offset;
};

/* Header, no pairs, the given tensor infos, padding to 32 and data_len
 * zero bytes of data. */
static uint8_t *
ti_image(const struct ti *t, size_t n, size_t data_len, size_t *len)
{
	struct tb	b = { NULL, 0, 0 };
	size_t		i, d;

	tb_put(&b, "GGUF", 4);
	tb_u32(&b, 3);
	tb_u64(&b, n);
	tb_u64(&b, 0);
	for (i = 0; i < n; i++) {
		if (t[i].name != NULL)
			tb_str(&b, t[i].name);
		else {
			tb_u64(&b, t[i].name_len);
			tb_zeros(&b, 70);
		}
		tb_u32(&b, t[i].n_dims);
		for (d = 0; d < t[i].n_dims && d < 4; d++)
			tb_u64(&b, t[i].ne[d]);
		tb_u32(&b, t[i].type);
		tb_u64(&b, t[i].offset);
	}
	tb_zeros(&b, (32 - b.len % 32) % 32);
	tb_zeros(&b, data_len);
	*len = b.len;
	return b.p;
}

static void
refused_ti(const struct ti *t, size_t n, size_t data_len, const char *words,
    const char *what)
{
	size_t	 len;
	uint8_t	*img = ti_image(t, n, data_len, &len);

	refused(img, len, words, what);
	free(img);
}

static void
accepted_ti(const struct ti *t, size_t n, size_t data_len, const char *what)
{
	size_t		 len;
	uint8_t		*img = ti_image(t, n, data_len, &len);
	char		*cause = NULL;
	struct gguf	*g = gguf_open_mem(img, len, &cause);

	if (!ok(g != NULL, "%s: accepted", what))
		diag("  %s", cause);
	gguf_close(g);
	free(cause);
	free(img);
}

static void
test_g7(void)
{
	struct ti	t = { NULL, 0, 1, { 32, 1, 1, 1 }, QT_F32, 0 };
	char		name[101];

	memset(name, 'x', 100);
	name[64] = '\0';
	t.name = name;
	refused_ti(&t, 1, 128, "name", "G7 tensor name of 64 bytes");
	name[64] = 'x';
	name[100] = '\0';
	refused_ti(&t, 1, 128, "name", "G7 tensor name of 100 bytes");
	t.name = NULL;
	t.name_len = U64_MAX;
	refused_ti(&t, 1, 128, "name", "G7 tensor name length 2^64-1");
	t.name_len = 0;
	refused_ti(&t, 1, 128, "name", "G7 empty tensor name");
	name[63] = '\0';
	t.name = name;
	accepted_ti(&t, 1, 128, "G7 tensor name of 63 bytes");
	t.name = "t";
	t.n_dims = 5;
	refused_ti(&t, 1, 128, "dimensions", "G7 n_dims 5");
	t.n_dims = 0xffffffffu;
	refused_ti(&t, 1, 128, "dimensions", "G7 n_dims 0xFFFFFFFF");
	t.n_dims = 0;
	refused_ti(&t, 1, 128, "dimensions", "G7 n_dims 0");
}

static void
test_g8(void)
{
	struct ti	t = { "t", 0, 1, { U64_MAX, 1, 1, 1 }, QT_F32, 0 };

	refused_ti(&t, 1, 128, "dimension 0", "G8 ne = -1");
	t.n_dims = 4;
	t.ne[1] = 2;
	refused_ti(&t, 1, 128, "dimension 0", "G8 ne [2^64-1, 2, 1, 1]");
	t.ne[0] = 8;
	t.ne[2] = 0;
	refused_ti(&t, 1, 128, "dimension 2", "G8 ne [8, 2, 0, 1]");
	t.n_dims = 2;
	t.type = QT_Q8_0;
	t.ne[0] = 1152;
	t.ne[1] = (1ULL << 42) + 1;
	refused_ti(&t, 1, 128, "beyond end of file",
	    "G8 Q8_0 [1152, 2^42+1]");
	t.type = QT_I64;
	t.n_dims = 3;
	t.ne[0] = t.ne[1] = t.ne[2] = 1ULL << 32;
	refused_ti(&t, 1, 128, "overflow", "G8 I64 [2^32, 2^32, 2^32]");
	t.type = QT_F32;
	t.n_dims = 2;
	t.ne[0] = 1ULL << 62;
	t.ne[1] = 4;
	refused_ti(&t, 1, 128, "overflow", "G8 F32 [2^62, 4]");
	t.type = QT_Q4_0;
	t.n_dims = 1;
	t.ne[0] = 33;
	refused_ti(&t, 1, 128, "multiple", "G8 Q4_0 ne0 = 33");
}

static void
test_g9(void)
{
	struct ti	t[2] = {
		{ "a", 0, 1, { SIZE_MAX / 4, 1, 1, 1 }, QT_F32, 0 },
		{ "b", 0, 1, { 0x7fffffffffffffc0ULL, 1, 1, 1 }, QT_I8,
		    0x7fffffffffffffc0ULL }
	};

	refused_ti(t, 1, 128, "overflow", "G9 F32 ne0 = SIZE_MAX/4");
	t[0].ne[0] = 0x7fffffffffffffc0ULL;
	t[0].type = QT_I8;
	/* I8 may be unknown to the type table; either way it is refused. */
	refused_ti(t, 2, 128, "beyond end of file|type",
	    "G9 two I8 tensors of 0x7FFF...C0 elements");
	t[0].ne[0] = t[1].ne[0] = 0x1ffffffffffffff0ULL;
	t[0].type = t[1].type = QT_F32;
	refused_ti(t, 2, 128, "beyond end of file",
	    "G9 two F32 tensors of 0x7FFF...C0 bytes");
}

static void
test_g10(void)
{
	static const uint32_t	 types[] = { 40, 0xffffffffu, 31, 4, 5 };
	static const char *const names[] = { "40", "-1", "31 (removed)",
	    "4 (removed Q4_2)", "5 (removed Q4_3)" };
	struct ti		 t = { "t", 0, 1, { 256, 1, 1, 1 }, 0, 0 };
	char			 what[64];
	size_t			 i;

	for (i = 0; i < 5; i++) {
		t.type = types[i];
		snprintf(what, sizeof what, "G10 tensor type %s", names[i]);
		refused_ti(&t, 1, 4096, "type", what);
	}
}

static void
test_g11(void)
{
	struct ti	t[2] = {
		{ "a", 0, 1, { 16, 1, 1, 1 }, QT_F32, U64_MAX },
		{ "b", 0, 1, { 16, 1, 1, 1 }, QT_F32, 0 }
	};

	refused_ti(t, 1, 256, "offset", "G11 offset 2^64-1");
	t[0].offset = U64_MAX - 31;
	refused_ti(t, 1, 256, "beyond end of file",
	    "G11 aligned offset 2^64-32");
	t[0].offset = 16;
	refused_ti(t, 1, 256, "alignment", "G11 offset 16 (unaligned)");
	t[0].offset = 0;
	refused_ti(t, 2, 256, "overlaps", "G11 two tensors at offset 0");
	t[0].ne[0] = 64;
	t[1].offset = 128;
	t[0].offset = 96;
	refused_ti(t, 2, 1024, "overlaps", "G11 tensors overlapping partly");
	t[0].offset = 192;
	t[1].offset = 0;
	accepted_ti(t, 2, 512, "G11 out of order, not overlapping");
}

static void
test_g12(void)
{
	char		*path = td("models/stories260K.gguf");
	uint8_t		*img;
	size_t		 len, n;
	int		 all = 1;
	char		*cause;
	const char	*cut = "end of file", *half = "beyond end of file";
	struct gguf	*g;

	if ((img = load(path, &len)) == NULL) {
		img = valid_image(&len);
		cut = "claims";	/* too small to hold its counts */
		half = "end of file";
	}
	free(path);
	refused_file(img, len - 1, "beyond end of file",
	    "G12 model truncated by 1 byte");
	refused_file(img, len / 2, half,
	    "G12 model truncated by half");
	refused_file(img, 24, "claims", "G12 model truncated to the header");
	refused_file(img, len > 8000 ? 8000 : 100, cut,
	    "G12 model cut in its metadata");
	free(img);

	/* Every prefix of a small image is refused with a cause. */
	img = valid_image(&len);
	for (n = 0; n < len; n++) {
		cause = NULL;
		g = gguf_open_mem(img, n, &cause);
		if (g != NULL || cause == NULL || *cause == '\0') {
			all = 0;
			diag("prefix %zu: %s", n, g ? "accepted" : "no cause");
		}
		gguf_close(g);
		free(cause);
	}
	ok(all, "G12 all %zu prefixes of a small image refused", len);
	free(img);
}

/* Random byte changes in the metadata of a valid image: each result is
 * refused with a cause, or accepted with every pointer inside it. */
static void
test_mutations(void)
{
	uint8_t		*img, *copy;
	size_t		 len, i, k, end;
	uint64_t	 j, seed = 0x9e3779b97f4a7c15ULL;
	struct gguf	*g;
	char		*cause;
	int		 good = 1, n_ok = 0;

	img = valid_image(&len);
	copy = malloc(len);
	end = len - 128;	/* the metadata, not the tensor data */
	for (i = 0; i < 3000; i++) {
		memcpy(copy, img, len);
		for (k = 0; k < 1 + i % 4; k++) {
			seed = seed * 6364136223846793005ULL + 1;
			copy[(seed >> 33) % end] = (uint8_t)(seed >> 20);
		}
		cause = NULL;
		g = gguf_open_mem(copy, len, &cause);
		if (g == NULL && (cause == NULL || *cause == '\0'))
			good = 0;
		for (j = 0; g != NULL && j < g->n_tensors; j++) {
			if ((const uint8_t *)g->tensors[j].data < copy ||
			    (const uint8_t *)g->tensors[j].data +
			    g->tensors[j].nbytes > copy + len)
				good = 0;
		}
		n_ok += g != NULL;
		gguf_close(g);
		free(cause);
	}
	ok(good, "3000 mutated images: refused with a cause or in bounds "
	    "(%d accepted)", n_ok);
	free(copy);
	free(img);
}

static void
test_open_errors(void)
{
	char	*cause = NULL;
	struct gguf *g;
	char	*missing = tmp_path("missing.gguf");

	g = gguf_open(missing, &cause);
	check_refused(g, cause, "open", "a missing file");
	cause = NULL;
	g = gguf_open(tmpdir, &cause);
	check_refused(g, cause, "regular", "a directory");
	free(missing);
}

int
main(void)
{
	char	tmpl[] = "/tmp/t_gguf.XXXXXX";

	if ((tmpdir = mkdtemp(tmpl)) == NULL) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	test_round_trip();
	test_writer();
	test_stories();
	test_models();
	test_vocabs();
	test_g1();
	test_g2();
	test_g3();
	test_g3_meta();
	test_g4();
	test_g5();
	test_g6();
	test_g7();
	test_g8();
	test_g9();
	test_g10();
	test_g11();
	test_g12();
	test_mutations();
	test_open_errors();
	rmdir(tmpdir);
	return tap_done();
}
