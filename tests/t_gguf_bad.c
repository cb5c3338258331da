/*
 * The GGUF reader against malformed files (G1-G12 of the reader's
 * checklist): truncations, bad counts, lengths, types, shapes, offsets
 * and layouts, and random mutations of a valid image; each must be
 * refused with a cause that names the problem, never crash.
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
	char	tmpl[] = "/tmp/t_gguf_bad.XXXXXX";

	if ((tmpdir = mkdtemp(tmpl)) == NULL) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
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
