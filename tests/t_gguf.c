/*
 * Tests of the GGUF reader and writer: a round trip of every value type
 * and several tensor types, and every real file in the shared test data
 * (opened, checked and rewritten byte for byte).  Malformed files, rows
 * G1-G12 of RELIABILITY-NOTES, are t_gguf_bad.c's.
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
#include "tests/gguf_tb.h"
#include "tests/tap.h"

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
	rmdir(tmpdir);
	return tap_done();
}
