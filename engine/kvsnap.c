/*
 * KV snapshot files:
 *
 *	"YTKV" u32 version, 32-byte model key,
 *	u32 n_layer, u32 kv_dim, u32 n_tokens, u32 0,
 *	i32 tokens[n], then per layer K rows and V rows (n x kv_dim F16),
 *	u64 checksum of everything before it.
 *
 * Written to a temporary file in the same folder, fsynced and renamed; read
 * with its size, version, model key, token ids and checksum checked.
 */
#include "config.h"

#include "kvsnap.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "forward.h"
#include "gguf.h"
#include "model.h"
#include "lora.h"
#include "sha256.h"
#include "common/util.h"

#define KV_HEADER	56

struct kvsum {
	uint64_t	h;
};

/* A fast 64-bit checksum over bytes (corruption, not attacks: the file
 * is also bounded and validated field by field). */
static void
kvsum_add(struct kvsum *s, const void *v, size_t n)
{
	const uint8_t	*p = v;
	uint64_t	 w, h = s->h;

	for (; n >= 8; p += 8, n -= 8) {
		memcpy(&w, p, 8);
		h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
		h ^= h >> 29;
	}
	for (; n > 0; p++, n--)
		h = (h ^ *p) * 0x100000001b3ULL;
	s->h = h;
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

/* A matrix's shape and first and last bytes. */
static void
tensor_key(struct sha256 *s, const struct mtensor *t)
{
	size_t	n = (size_t)t->ne1 * t->row_size;
	size_t	k = n < 64 ? n : 64;

	sha256_update(s, &t->ne0, sizeof t->ne0);
	sha256_update(s, &t->ne1, sizeof t->ne1);
	sha256_update(s, t->data, k);
	sha256_update(s, (const uint8_t *)t->data + n - k, k);
}

/* An adapter's part of the identity: its scale, and each pair's shapes,
 * scale and first and last bytes, so a cache made without it (or with
 * another scale) never loads with it. */
static void
lora_key(struct sha256 *s, const struct lora *a)
{
	size_t	i, j;

	sha256_update(s, &a->scale, sizeof a->scale);
	for (i = 0; i < a->n_pairs; i++) {
		sha256_update(s, &a->w[i].scale, sizeof a->w[i].scale);
		tensor_key(s, &a->w[i].a);
		tensor_key(s, &a->w[i].b);
	}
	for (j = 0; j < 2; j++)
		if ((j == 0 ? a->embd : a->out).data != NULL)
			tensor_key(s, j == 0 ? &a->embd : &a->out);
}

/* The model's identity: its size, header bytes and each tensor's first
 * and last bytes, and its adapters. */
void
kvsnap_model_key(const struct model *m, uint8_t key[32])
{
	const struct gguf	*g = m->gguf;
	struct sha256		 s;
	uint64_t		 i, size = g->size, n;

	sha256_init(&s);
	sha256_update(&s, &size, sizeof size);
	n = g->data_offset < g->size ? g->data_offset : g->size;
	sha256_update(&s, g->map, (size_t)n);
	for (i = 0; i < g->n_tensors; i++) {
		const struct gguf_tensor	*t = &g->tensors[i];
		size_t				 k = t->nbytes < 64 ?
						    (size_t)t->nbytes : 64;

		sha256_update(&s, t->data, k);
		sha256_update(&s, (const uint8_t *)t->data + t->nbytes - k, k);
	}
	for (i = 0; i < m->n_lora; i++)
		lora_key(&s, m->lora[i]);
	sha256_update(&s, &m->lora_merged, sizeof m->lora_merged);
	sha256_final(&s, key);
}

/* The file name for a snapshot of these tokens of this model. */
void
kvsnap_name(const struct model *m, const int32_t *toks, size_t n,
    char name[40])
{
	uint8_t		key[32];

	kvsnap_model_key(m, key);
	kvsnap_name_key(key, toks, n, name);
}

/* The file name for a snapshot of these tokens under a key (the model's,
 * or one that also names more, as the prompt cache's does). */
void
kvsnap_name_key(const uint8_t key[32], const int32_t *toks, size_t n,
    char name[40])
{
	struct sha256	s;
	uint8_t		d[32];
	char		hex[65];

	sha256_init(&s);
	sha256_update(&s, key, 32);
	sha256_update(&s, toks, n * sizeof *toks);
	sha256_final(&s, d);
	sha256_hex(d, hex);
	memcpy(name, hex, 32);
	memcpy(name + 32, ".kv", 4);
}

/* The size of a snapshot of n tokens: 0, or -1 if it overflows. */
int
kvsnap_bytes(const struct model *m, struct fwd *f, size_t n, uint64_t *out)
{
	uint64_t	part;

	if (__builtin_mul_overflow((uint64_t)n, (uint64_t)fwd_kv_dim(f) * 2,
	    &part) ||
	    __builtin_mul_overflow(part, 2ULL * m->hp.n_layer, &part) ||
	    __builtin_add_overflow(part, KV_HEADER + 8 + 4ULL * n, out))
		return -1;
	return 0;
}

/* Write and add to the checksum. */
static int
write_sum(int fd, const void *v, size_t n, struct kvsum *sum)
{
	kvsum_add(sum, v, n);
	return util_write_all(fd, v, n);
}

/* Save the first n cached tokens and their rows. */
int
kvsnap_save(const struct model *m, struct fwd *f, const int32_t *toks,
    size_t n, const char *path, char **cause)
{
	uint8_t			 hdr[KV_HEADER];
	struct kvsum		 sum = { 0x84222325cbf29ce4ULL };
	struct util_atomic	 a;
	size_t			 kv = fwd_kv_dim(f), row = kv * 2;
	uint32_t		 il, i;

	if (n > fwd_n_ctx(f))
		return util_cause(cause, "%zu tokens > context %u", n,
		    fwd_n_ctx(f));
	memcpy(hdr, "YTKV", 4);
	put32(hdr + 4, KVSNAP_VERSION);
	kvsnap_model_key(m, hdr + 8);
	put32(hdr + 40, m->hp.n_layer);
	put32(hdr + 44, (uint32_t)kv);
	put32(hdr + 48, (uint32_t)n);
	put32(hdr + 52, 0);
	if (util_atomic_open(&a, path, 0600) != 0)
		goto fail;
	if (write_sum(a.fd, hdr, sizeof hdr, &sum) != 0)
		goto fail_fd;
	for (i = 0; i < n; i++) {
		uint8_t	t[4];

		put32(t, (uint32_t)toks[i]);
		if (write_sum(a.fd, t, 4, &sum) != 0)
			goto fail_fd;
	}
	for (il = 0; il < m->hp.n_layer; il++)
		if (write_sum(a.fd, fwd_k_rows(f, il), n * row, &sum) != 0 ||
		    write_sum(a.fd, fwd_v_rows(f, il), n * row, &sum) != 0)
			goto fail_fd;
	if (util_write_all(a.fd, &sum.h, sizeof sum.h) != 0)
		goto fail_fd;
	if (util_atomic_commit(&a) == -1)
		goto fail;
	return 0;
fail_fd:
	util_atomic_abort(&a);
fail:
	util_cause(cause, "%s: %s", path, strerror(errno));
	return -1;
}

static int
read_all(int fd, void *v, size_t n, struct kvsum *sum)
{
	uint8_t	*p = v;
	size_t	 left = n;
	ssize_t	 r;

	while (left > 0) {
		if ((r = read(fd, p, left)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0) {
			errno = EPROTO;
			return -1;
		}
		p += r;
		left -= (size_t)r;
	}
	if (sum != NULL)
		kvsum_add(sum, v, n);
	return 0;
}

/* Load a snapshot into the cache (see kvsnap.h). */
int
kvsnap_load(const struct model *m, struct fwd *f, const char *path,
    int32_t **toks, size_t *n_out, char **cause)
{
	uint8_t		 hdr[KV_HEADER], key[32];
	struct kvsum	 sum = { 0x84222325cbf29ce4ULL };
	struct stat	 st;
	uint64_t	 want, stored;
	size_t		 kv = fwd_kv_dim(f), row = kv * 2, i;
	uint32_t	 n, il, version;
	int32_t		*t = NULL;
	int		 fd;

	*toks = NULL;
	*n_out = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0)
		return util_cause(cause, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return util_cause(cause, "%s: not a regular file", path);
	}
	if (read_all(fd, hdr, sizeof hdr, &sum) != 0 ||
	    memcmp(hdr, "YTKV", 4) != 0) {
		close(fd);
		return util_cause(cause, "%s: not a yangtuo KV snapshot", path);
	}
	if ((version = get32(hdr + 4)) != KVSNAP_VERSION) {
		close(fd);
		return util_cause(cause, "%s: snapshot version %u (this "
		    "yangtuo reads %u)", path, version, KVSNAP_VERSION);
	}
	kvsnap_model_key(m, key);
	if (memcmp(hdr + 8, key, 32) != 0 || get32(hdr + 40) !=
	    m->hp.n_layer || get32(hdr + 44) != kv) {
		close(fd);
		return util_cause(cause, "%s: made for another model", path);
	}
	n = get32(hdr + 48);
	if (n == 0 || n > fwd_n_ctx(f)) {
		close(fd);
		return util_cause(cause, "%s: %u tokens do not fit the context "
		    "of %u", path, n, fwd_n_ctx(f));
	}
	/* The exact size, computed without overflow. */
	if (kvsnap_bytes(m, f, n, &want) != 0 ||
	    (uint64_t)st.st_size != want) {
		close(fd);
		return util_cause(cause, "%s: truncated or wrong size (%lld "
		    "bytes)", path, (long long)st.st_size);
	}
	if ((t = malloc((size_t)n * sizeof *t)) == NULL) {
		close(fd);
		return util_cause(cause, "out of memory");
	}
	for (i = 0; i < n; i++) {
		uint8_t	b[4];

		if (read_all(fd, b, 4, &sum) != 0)
			goto bad;
		t[i] = (int32_t)get32(b);
		if (t[i] < 0 || (uint32_t)t[i] >= m->hp.n_vocab)
			goto bad;
	}
	for (il = 0; il < m->hp.n_layer; il++)
		if (read_all(fd, fwd_k_rows(f, il), (size_t)n * row, &sum) !=
		    0 || read_all(fd, fwd_v_rows(f, il), (size_t)n * row,
		    &sum) != 0)
			goto bad;
	if (read_all(fd, &stored, sizeof stored, NULL) != 0 ||
	    stored != sum.h)
		goto bad;
	close(fd);
	*toks = t;
	*n_out = n;
	return 0;
bad:
	close(fd);
	free(t);
	return util_cause(cause, "%s: damaged (checksum or token ids)", path);
}
