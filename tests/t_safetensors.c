/*
 * Safetensors reader: files written here, good and lying — header
 * lengths, dtypes, shapes, offsets out of the file, overlapping, holes
 * and size mismatches — and sharded folders with their index.
 */
#include "config.h"

#include <sys/stat.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/quant.h"
#include "engine/safetensors.h"
#include "tap.h"

static char	 dir[] = "/tmp/yt-st-XXXXXX";

static char *
path_of(const char *name)
{
	static char	buf[4][512];
	static int	k;

	k = (k + 1) % 4;
	snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
	return buf[k];
}

/* Write a file: the 8-byte length hlen (as given, so tests can lie),
 * then the header text and n data bytes. */
static void
write_raw(const char *name, uint64_t hlen, const char *hdr, const void *data,
    size_t n)
{
	FILE		*f;
	unsigned char	 le[8];
	int		 i;

	for (i = 0; i < 8; i++)
		le[i] = (unsigned char)(hlen >> (8 * i));
	if ((f = fopen(path_of(name), "wb")) == NULL) {
		perror(name);
		exit(1);
	}
	fwrite(le, 1, 8, f);
	fwrite(hdr, 1, strlen(hdr), f);
	if (n > 0)
		fwrite(data, 1, n, f);
	fclose(f);
}

static void
write_st(const char *name, const char *hdr, const void *data, size_t n)
{
	write_raw(name, strlen(hdr), hdr, data, n);
}

static void
write_text(const char *name, const char *text)
{
	FILE	*f;

	if ((f = fopen(path_of(name), "w")) == NULL) {
		perror(name);
		exit(1);
	}
	fputs(text, f);
	fclose(f);
}

/* Open name and expect failure with a cause containing want. */
static void
bad(const char *name, const char *want, const char *what)
{
	struct safetensors	*st;
	char			*cause = NULL;

	st = safetensors_open(path_of(name), &cause);
	ok(st == NULL && cause != NULL && strstr(cause, want) != NULL,
	    "%s: %s", what, cause != NULL ? cause : "(opened)");
	safetensors_close(st);
	free(cause);
}

static void
test_good(void)
{
	struct safetensors		*st;
	const struct safetensors_tensor	*t;
	unsigned char			 data[16 + 8 + 4];
	float				 f[4] = { 1.5f, -2.0f, 0.25f, 8.0f }, o[4];
	uint16_t			 h[4];
	char				*cause = NULL;
	int				 i;

	memcpy(data, f, 16);
	for (i = 0; i < 4; i++)
		h[i] = qt_f32_to_bf16(f[i]);
	memcpy(data + 16, h, 8);
	h[0] = qt_f32_to_f16(3.0f);
	h[1] = qt_f32_to_f16(-0.5f);
	memcpy(data + 24, h, 4);
	write_st("good.safetensors",
	    "{\"__metadata__\":{\"format\":\"pt\"},"
	    "\"b.weight\":{\"dtype\":\"BF16\",\"shape\":[2,2],"
	    "\"data_offsets\":[16,24]},"
	    "\"a.weight\":{\"dtype\":\"F32\",\"shape\":[4],"
	    "\"data_offsets\":[0,16]},"
	    "\"c\":{\"dtype\":\"F16\",\"shape\":[1,2],"
	    "\"data_offsets\":[24,28]}}", data, sizeof data);
	st = safetensors_open(path_of("good.safetensors"), &cause);
	if (!ok(st != NULL, "a good file opens")) {
		diag("%s", cause);
		free(cause);
		return;
	}
	ok(safetensors_count(st) == 3, "three tensors, metadata skipped");
	ok(strcmp(safetensors_get(st, 0)->name, "a.weight") == 0 &&
	    strcmp(safetensors_get(st, 2)->name, "c") == 0,
	    "tensors sorted by name");
	t = safetensors_find(st, "b.weight");
	ok(t != NULL && t->type == QT_BF16 && t->n_dims == 2 &&
	    t->shape[0] == 2 && t->shape[1] == 2 && t->nbytes == 8,
	    "BF16 tensor's type and shape");
	ok(t != NULL && safetensors_read_f32(t, 0, o, 4) == 0 &&
	    memcmp(o, f, sizeof o) == 0, "BF16 values read back");
	ok(t != NULL && safetensors_read_f32(t, 2, o, 3) == -1,
	    "reading past the end refused");
	t = safetensors_find(st, "a.weight");
	ok(t != NULL && t->type == QT_F32 && safetensors_read_f32(t, 1, o,
	    2) == 0 && o[0] == -2.0f && o[1] == 0.25f, "F32 values");
	t = safetensors_find(st, "c");
	ok(t != NULL && t->type == QT_F16 && safetensors_read_f32(t, 0, o,
	    2) == 0 && o[0] == 3.0f && o[1] == -0.5f, "F16 values");
	ok(safetensors_find(st, "nope") == NULL, "missing name not found");
	ok(safetensors_data_bytes(st) == 28, "data bytes");
	safetensors_close(st);
}

static void
test_lies(void)
{
	char	d[64];
	char	hdr[256];

	memset(d, 0, sizeof d);
	write_raw("hlen-big.safetensors", 1000, "{}", d, 8);
	bad("hlen-big.safetensors", "header length 1000",
	    "header length past the end");
	write_raw("hlen-zero.safetensors", 0, "{}", d, 8);
	bad("hlen-zero.safetensors", "header length 0", "zero header length");
	write_raw("hlen-huge.safetensors", UINT64_MAX, "{}", d, 8);
	bad("hlen-huge.safetensors", "header length", "2^64-1 header length");
	write_text("short.safetensors", "abc");
	bad("short.safetensors", "not a safetensors file", "a 3-byte file");
	write_st("json.safetensors", "{\"a\":", d, 0);
	bad("json.safetensors", "not valid JSON", "broken JSON");
	write_st("arr.safetensors", "[1,2]", d, 0);
	bad("arr.safetensors", "not a JSON object", "header is an array");
	write_st("dup.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],"
	    "\"data_offsets\":[0,4]},\"a\":{\"dtype\":\"F32\",\"shape\":[1],"
	    "\"data_offsets\":[4,8]}}", d, 8);
	bad("dup.safetensors", "not valid JSON", "duplicate tensor name");
	write_st("beyond.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":"
	    "[4],\"data_offsets\":[0,16]}}", d, 8);
	bad("beyond.safetensors", "lie beyond the 8 bytes",
	    "offsets past the data");
	write_st("back.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[0],"
	    "\"data_offsets\":[8,4]}}", d, 8);
	bad("back.safetensors", "run backwards", "offsets backwards");
	write_st("overlap.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":"
	    "[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":"
	    "[2],\"data_offsets\":[4,12]}}", d, 12);
	bad("overlap.safetensors", "overlaps", "overlapping tensors");
	write_st("hole.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":"
	    "[1],\"data_offsets\":[4,8]}}", d, 8);
	bad("hole.safetensors", "belong to no tensor", "a hole");
	write_st("tail.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":"
	    "[1],\"data_offsets\":[0,4]}}", d, 8);
	bad("tail.safetensors", "end at byte 4 of a 8-byte",
	    "bytes after the last tensor");
	write_st("size.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":"
	    "[3],\"data_offsets\":[0,8]}}", d, 8);
	bad("size.safetensors", "need 12", "size disagrees with the shape");
	write_st("i32.safetensors", "{\"a\":{\"dtype\":\"I32\",\"shape\":"
	    "[2],\"data_offsets\":[0,8]}}", d, 8);
	bad("i32.safetensors", "dtype I32 is not supported", "I32 dtype");
	write_st("q4.safetensors", "{\"a\":{\"dtype\":\"Q4\",\"shape\":"
	    "[2],\"data_offsets\":[0,8]}}", d, 8);
	bad("q4.safetensors", "unknown dtype 'Q4'", "unknown dtype");
	write_st("neg.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":"
	    "[-2],\"data_offsets\":[0,8]}}", d, 8);
	bad("neg.safetensors", "not a non-negative integer",
	    "negative dimension");
	write_st("real.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":"
	    "[2.0],\"data_offsets\":[0,8]}}", d, 8);
	bad("real.safetensors", "not a non-negative integer",
	    "fractional dimension");
	snprintf(hdr, sizeof hdr, "{\"a\":{\"dtype\":\"F32\",\"shape\":"
	    "[4611686018427387904,8],\"data_offsets\":[0,8]}}");
	write_st("ovf.safetensors", hdr, d, 8);
	bad("ovf.safetensors", "overflows", "element count overflow");
	write_st("dims.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":"
	    "[1,1,1,1,1,1,1,1,2],\"data_offsets\":[0,8]}}", d, 8);
	bad("dims.safetensors", "9 dimensions", "too many dimensions");
	write_st("extra.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":"
	    "[2],\"data_offsets\":[0,8],\"x\":1}}", d, 8);
	bad("extra.safetensors", "not an object of", "an unknown field");
	write_st("meta.safetensors", "{\"__metadata__\":{\"a\":1}}", d, 0);
	bad("meta.safetensors", "not a string", "metadata value not a string");
	write_st("offs.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":"
	    "[2],\"data_offsets\":[0]}}", d, 8);
	bad("offs.safetensors", "not a pair", "one data offset");
}

static const char shard_hdr1[] = "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],"
    "\"data_offsets\":[0,4]}}";
static const char shard_hdr2[] = "{\"y\":{\"dtype\":\"F32\",\"shape\":[1],"
    "\"data_offsets\":[0,4]}}";

static void
test_shards(void)
{
	struct safetensors	*st;
	float			 a = 1.0f, b = 2.0f, o;
	char			*cause = NULL;

	mkdir(path_of("m"), 0700);
	write_st("m/model-00001-of-00002.safetensors", shard_hdr1, &a, 4);
	write_st("m/model-00002-of-00002.safetensors", shard_hdr2, &b, 4);
	write_text("m/model.safetensors.index.json", "{\"metadata\":{},"
	    "\"weight_map\":{\"x\":\"model-00001-of-00002.safetensors\","
	    "\"y\":\"model-00002-of-00002.safetensors\"}}");
	st = safetensors_open(path_of("m"), &cause);
	ok(st != NULL && safetensors_count(st) == 2, "sharded folder opens%s%s",
	    cause != NULL ? ": " : "", cause != NULL ? cause : "");
	ok(st != NULL && safetensors_read_f32(safetensors_find(st, "y"), 0,
	    &o, 1) == 0 && o == 2.0f, "tensor from the second shard");
	safetensors_close(st);
	free(cause);

	write_text("m/model.safetensors.index.json", "{\"weight_map\":"
	    "{\"x\":\"model-00001-of-00002.safetensors\","
	    "\"y\":\"model-00001-of-00002.safetensors\"}}");
	bad("m", "tensor 'y' is not in model-00001", "index names a wrong shard");
	write_text("m/model.safetensors.index.json", "{\"weight_map\":"
	    "{\"x\":\"model-00001-of-00003.safetensors\"}}");
	bad("m", "shard model-00001-of-00003.safetensors is missing",
	    "missing shard");
	write_text("m/model.safetensors.index.json", "{\"weight_map\":"
	    "{\"x\":\"../good.safetensors\"}}");
	bad("m", "names no plain shard file", "shard outside the folder");
	write_st("m/model-00002-of-00002.safetensors", shard_hdr1, &b, 4);
	write_text("m/model.safetensors.index.json", "{\"weight_map\":"
	    "{\"x\":\"model-00001-of-00002.safetensors\","
	    "\"y\":\"model-00002-of-00002.safetensors\"}}");
	bad("m", "tensor 'x' is in both", "a tensor in two shards");
	write_text("m/model.safetensors.index.json", "{\"weight_map\":[]}");
	bad("m", "no weight_map", "index without a weight map");

	mkdir(path_of("e"), 0700);
	bad("e", "neither model.safetensors nor", "empty folder");
	write_st("e/model.safetensors", shard_hdr1, &a, 4);
	st = safetensors_open(path_of("e"), NULL);
	ok(st != NULL && safetensors_find(st, "x") != NULL,
	    "folder with one model.safetensors");
	safetensors_close(st);
}

int
main(void)
{
	char	cmd[600];

	qt_init();
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_good();
	test_lies();
	test_shards();
	bad("does-not-exist", "cannot open", "missing path");
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		diag("could not remove %s", dir);
	return tap_done();
}
