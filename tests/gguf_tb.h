/*
 * Hand-built GGUF images for t_gguf and t_gguf_bad: a growable byte
 * buffer, little-endian fields, and checks that a file is refused with a
 * cause naming the right words.
 */
#ifndef YT_TESTS_GGUF_TB_H
#define YT_TESTS_GGUF_TB_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/gguf.h"
#include "tests/tap.h"

#define U64_MAX	UINT64_MAX

/* A growable byte buffer for hand-built files. */
struct tb {
	uint8_t	*p;
	size_t	 len;
	size_t	 cap;
};

static char	*tmpdir;	/* the test's temporary folder */

static inline void
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

static inline void
tb_le(struct tb *b, uint64_t v, size_t n)
{
	uint8_t	le[8];
	size_t	i;

	for (i = 0; i < n; i++)
		le[i] = (uint8_t)(v >> (8 * i));
	tb_put(b, le, n);
}

static inline void
tb_u32(struct tb *b, uint32_t v)
{
	tb_le(b, v, 4);
}

static inline void
tb_u64(struct tb *b, uint64_t v)
{
	tb_le(b, v, 8);
}

static inline void
tb_str(struct tb *b, const char *s)
{
	tb_u64(b, strlen(s));
	tb_put(b, s, strlen(s));
}

static inline void
tb_zeros(struct tb *b, size_t n)
{
	while (n-- > 0)
		tb_put(b, "", 1);
}

static inline void
put_le(uint8_t *p, uint64_t v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Does cause match words: alternatives split by '|', each a list of
 * phrases split by '&' that must all occur? */
static inline int
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

static inline void
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
static inline void
refused(const void *buf, size_t len, const char *words, const char *what)
{
	char		*cause = NULL;
	struct gguf	*g = gguf_open_mem(buf, len, &cause);

	check_refused(g, cause, words, what);
}

static inline char *
tmp_path(const char *name)
{
	char	*p;

	if (asprintf(&p, "%s/%s", tmpdir, name) == -1)
		exit(1);
	return p;
}

static inline void
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
static inline void
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


static inline void *
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

static inline char *
td(const char *rel)
{
	char	*p;

	if (asprintf(&p, "%s/%s", tap_testdata(), rel) == -1)
		exit(1);
	return p;
}

#endif
