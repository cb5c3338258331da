/*
 * Framing and payload encoding of proto.h.  Shared by the front ends and
 * the engine, so it never exits: allocation failures are remembered in
 * the buffer and make the send fail.
 */
#include "config.h"

#include "proto.h"
#include "utf8.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* An empty payload buffer. */
void
proto_buf_init(struct proto_buf *b)
{
	memset(b, 0, sizeof *b);
}

/* Free the buffer's memory. */
void
proto_buf_free(struct proto_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof *b);
}

/* Append n bytes to the payload (on OOM the buffer is marked bad). */
void
proto_put_bytes(struct proto_buf *b, const void *v, size_t n)
{
	size_t	 cap;
	uint8_t	*p;

	if (b->oom)
		return;
	if (n > PROTO_MAX_PAYLOAD || b->len + n > PROTO_MAX_PAYLOAD) {
		b->oom = 1;
		return;
	}
	if (b->len + n > b->cap) {
		cap = b->cap == 0 ? 64 : b->cap;
		while (cap < b->len + n)
			cap *= 2;
		if ((p = realloc(b->p, cap)) == NULL) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	if (n > 0)
		memcpy(b->p + b->len, v, n);
	b->len += n;
}

/* Append a little-endian u32. */
void
proto_put_u32(struct proto_buf *b, uint32_t v)
{
	uint8_t	x[4] = { v, v >> 8, v >> 16, v >> 24 };

	proto_put_bytes(b, x, 4);
}

/* Append a little-endian u64. */
void
proto_put_u64(struct proto_buf *b, uint64_t v)
{
	proto_put_u32(b, (uint32_t)v);
	proto_put_u32(b, (uint32_t)(v >> 32));
}

/* Append a float as its IEEE bits. */
void
proto_put_f32(struct proto_buf *b, float v)
{
	uint32_t	u;

	memcpy(&u, &v, 4);
	proto_put_u32(b, u);
}

/* Append a double as its IEEE bits. */
void
proto_put_f64(struct proto_buf *b, double v)
{
	uint64_t	u;

	memcpy(&u, &v, 8);
	proto_put_u64(b, u);
}

/* Append a u32 length and the bytes of s (NULL is the empty string). */
void
proto_put_str(struct proto_buf *b, const char *s)
{
	size_t	n = s != NULL ? strlen(s) : 0;

	proto_put_u32(b, (uint32_t)n);
	proto_put_bytes(b, s, n);
}

/* Start reading len bytes at p. */
void
proto_rd_init(struct proto_rd *r, const void *p, size_t len)
{
	r->p = p;
	r->len = len;
	r->off = 0;
	r->err = 0;
}

/* Borrow the next n bytes; NULL (and r->err) past the end. */
const void *
proto_get_bytes(struct proto_rd *r, size_t n)
{
	const uint8_t	*p;

	if (r->err || n > r->len - r->off) {
		r->err = 1;
		return NULL;
	}
	p = r->p + r->off;
	r->off += n;
	return p;
}

/* The next u32, or 0 with r->err set. */
uint32_t
proto_get_u32(struct proto_rd *r)
{
	const uint8_t	*x = proto_get_bytes(r, 4);

	if (x == NULL)
		return 0;
	return (uint32_t)x[0] | (uint32_t)x[1] << 8 | (uint32_t)x[2] << 16 |
	    (uint32_t)x[3] << 24;
}

/* The next u64, or 0 with r->err set. */
uint64_t
proto_get_u64(struct proto_rd *r)
{
	uint64_t	lo = proto_get_u32(r);

	return lo | (uint64_t)proto_get_u32(r) << 32;
}

/* The next float. */
float
proto_get_f32(struct proto_rd *r)
{
	uint32_t	u = proto_get_u32(r);
	float		v;

	memcpy(&v, &u, 4);
	return v;
}

/* The next double. */
double
proto_get_f64(struct proto_rd *r)
{
	uint64_t	u = proto_get_u64(r);
	double		v;

	memcpy(&v, &u, 8);
	return v;
}

/* The next string, copied and NUL-terminated; caller frees. */
char *
proto_get_str(struct proto_rd *r, size_t *len)
{
	uint32_t	 n = proto_get_u32(r);
	const void	*p;
	char		*s;

	if ((p = proto_get_bytes(r, n)) == NULL)
		return NULL;
	if ((s = malloc((size_t)n + 1)) == NULL) {
		r->err = 1;
		return NULL;
	}
	memcpy(s, p, n);
	s[n] = '\0';
	if (len != NULL)
		*len = n;
	return s;
}

/* Adapters: a count, then path and scale (and with info, what the
 * engine found in them). */
static void
lora_put(struct proto_buf *b, uint32_t n, const struct proto_lora *a,
    int info)
{
	uint32_t	i;

	if (n > PROTO_MAX_LORA)
		n = PROTO_MAX_LORA;
	proto_put_u32(b, n);
	for (i = 0; i < n; i++) {
		proto_put_str(b, a[i].path);
		proto_put_f32(b, a[i].scale);
		if (info) {
			proto_put_f32(b, a[i].alpha);
			proto_put_u32(b, a[i].rank);
			proto_put_u32(b, a[i].n_tensors);
		}
	}
}

/* Decode adapters into a (paths allocated); their count, r->err set on
 * a bad one. */
static uint32_t
lora_get(struct proto_rd *r, struct proto_lora *a, int info)
{
	uint32_t	n = proto_get_u32(r), i;

	if (n > PROTO_MAX_LORA) {
		r->err = 1;
		return 0;
	}
	for (i = 0; i < n && !r->err; i++) {
		a[i].path = proto_get_str(r, NULL);
		a[i].scale = proto_get_f32(r);
		if (info) {
			a[i].alpha = proto_get_f32(r);
			a[i].rank = proto_get_u32(r);
			a[i].n_tensors = proto_get_u32(r);
		}
	}
	return i;
}

/* Encode a load request. */
void
proto_load_put(struct proto_buf *b, const struct proto_load *l)
{
	proto_put_u32(b, l->version);
	proto_put_str(b, l->path);
	proto_put_u32(b, l->n_ctx);
	proto_put_u32(b, l->threads);
	proto_put_str(b, l->template_name);
	proto_put_u32(b, l->n_batch);
	proto_put_u32(b, l->nice);
	lora_put(b, l->n_lora, l->lora, 0);
	proto_put_u32(b, l->lora_merge);
	proto_put_str(b, l->template_text != NULL ? l->template_text : "");
	proto_put_str(b, l->prompt_cache != NULL ? l->prompt_cache : "");
	proto_put_u64(b, l->prompt_cache_max);
}

/* Decode a load request; the strings are allocated (proto_load_free). */
int
proto_load_get(struct proto_rd *r, struct proto_load *l)
{
	memset(l, 0, sizeof *l);
	l->version = proto_get_u32(r);
	l->path = proto_get_str(r, NULL);
	l->n_ctx = proto_get_u32(r);
	l->threads = proto_get_u32(r);
	l->template_name = proto_get_str(r, NULL);
	l->n_batch = proto_get_u32(r);
	l->nice = proto_get_u32(r);
	/* An older front end's request ends here. */
	if (!r->err && r->off < r->len) {
		l->n_lora = lora_get(r, l->lora, 0);
		l->lora_merge = proto_get_u32(r);
	}
	/* A front end with a Go template (PROTO_VERSION 2) sends it last. */
	if (!r->err && r->off < r->len)
		l->template_text = proto_get_str(r, NULL);
	/* And the prompt cache (3). */
	if (!r->err && r->off < r->len) {
		l->prompt_cache = proto_get_str(r, NULL);
		l->prompt_cache_max = proto_get_u64(r);
	}
	if (r->err) {
		proto_load_free(l);
		return -1;
	}
	return 0;
}

/* Free a decoded load request's strings. */
void
proto_load_free(struct proto_load *l)
{
	uint32_t	i;

	free(l->path);
	free(l->template_name);
	free(l->template_text);
	free(l->prompt_cache);
	l->path = l->template_name = l->template_text = NULL;
	l->prompt_cache = NULL;
	for (i = 0; i < l->n_lora && i < PROTO_MAX_LORA; i++) {
		free(l->lora[i].path);
		l->lora[i].path = NULL;
	}
	l->n_lora = 0;
}

/* Encode sampling parameters. */
void
proto_params_put(struct proto_buf *b, const struct proto_params *p)
{
	uint32_t	i;

	proto_put_f32(b, p->temperature);
	proto_put_u32(b, (uint32_t)p->top_k);
	proto_put_f32(b, p->top_p);
	proto_put_f32(b, p->min_p);
	proto_put_f32(b, p->repeat_penalty);
	proto_put_u32(b, (uint32_t)p->repeat_last_n);
	proto_put_u64(b, p->seed);
	proto_put_u32(b, (uint32_t)p->max_tokens);
	proto_put_u32(b, p->reserve);
	proto_put_u32(b, p->n_stop);
	for (i = 0; i < p->n_stop && i < PROTO_MAX_STOP; i++)
		proto_put_str(b, p->stop[i]);
}

/* Decode sampling parameters. */
int
proto_params_get(struct proto_rd *r, struct proto_params *p)
{
	uint32_t	 i;
	size_t		 len;
	char		*s;

	p->temperature = proto_get_f32(r);
	p->top_k = (int32_t)proto_get_u32(r);
	p->top_p = proto_get_f32(r);
	p->min_p = proto_get_f32(r);
	p->repeat_penalty = proto_get_f32(r);
	p->repeat_last_n = (int32_t)proto_get_u32(r);
	p->seed = proto_get_u64(r);
	p->max_tokens = (int32_t)proto_get_u32(r);
	p->reserve = proto_get_u32(r);
	p->n_stop = proto_get_u32(r);
	if (r->err || p->n_stop > PROTO_MAX_STOP)
		return -1;
	memset(p->stop, 0, sizeof p->stop);
	for (i = 0; i < p->n_stop; i++) {
		s = proto_get_str(r, &len);
		if (s == NULL)
			return -1;
		/* Not empty, no NUL inside, fits with its NUL, whole
		 * characters (the engine holds back a prefix of one). */
		if (len == 0 || len >= PROTO_STOP_MAX || strlen(s) != len ||
		    !utf8_valid(s, len)) {
			free(s);
			return -1;
		}
		memcpy(p->stop[i], s, len + 1);
		free(s);
	}
	return 0;
}

/* Encode the model information of a ready event. */
void
proto_ready_put(struct proto_buf *b, const struct proto_ready *m)
{
	proto_put_str(b, m->name);
	proto_put_str(b, m->path);
	proto_put_u32(b, m->n_ctx);
	proto_put_u32(b, m->n_ctx_train);
	proto_put_u32(b, m->n_vocab);
	proto_put_str(b, m->template_name);
	proto_put_u32(b, m->n_layer);
	proto_put_u32(b, m->n_embd);
	proto_put_u64(b, m->weight_bytes);
	proto_put_u32(b, m->threads);
	proto_put_str(b, m->simd);
	lora_put(b, m->n_lora, m->lora, 1);
	proto_put_u32(b, m->lora_merged);
}

/* Decode a ready event; strings allocated (proto_ready_free). */
int
proto_ready_get(struct proto_rd *r, struct proto_ready *m)
{
	memset(m, 0, sizeof *m);
	m->name = proto_get_str(r, NULL);
	m->path = proto_get_str(r, NULL);
	m->n_ctx = proto_get_u32(r);
	m->n_ctx_train = proto_get_u32(r);
	m->n_vocab = proto_get_u32(r);
	m->template_name = proto_get_str(r, NULL);
	m->n_layer = proto_get_u32(r);
	m->n_embd = proto_get_u32(r);
	m->weight_bytes = proto_get_u64(r);
	m->threads = proto_get_u32(r);
	m->simd = proto_get_str(r, NULL);
	if (!r->err && r->off < r->len) {
		m->n_lora = lora_get(r, m->lora, 1);
		m->lora_merged = proto_get_u32(r);
	}
	if (r->err) {
		proto_ready_free(m);
		return -1;
	}
	return 0;
}

/* Free a decoded ready event's strings. */
void
proto_ready_free(struct proto_ready *m)
{
	uint32_t	i;

	free(m->name);
	free(m->path);
	free(m->template_name);
	free(m->simd);
	for (i = 0; i < m->n_lora && i < PROTO_MAX_LORA; i++)
		free(m->lora[i].path);
	memset(m, 0, sizeof *m);
}

/* Encode a context event. */
void
proto_context_put(struct proto_buf *b, const struct proto_context *c)
{
	uint32_t	i;

	proto_put_u32(b, c->used);
	proto_put_u32(b, c->total);
	proto_put_u32(b, c->n_dropped);
	for (i = 0; i < c->n_dropped; i++)
		proto_put_u32(b, c->dropped[i]);
}

/* Decode a context event; dropped[] is allocated (caller frees). */
int
proto_context_get(struct proto_rd *r, struct proto_context *c)
{
	uint32_t	i;

	memset(c, 0, sizeof *c);
	c->used = proto_get_u32(r);
	c->total = proto_get_u32(r);
	c->n_dropped = proto_get_u32(r);
	if (r->err || c->n_dropped > (r->len - r->off) / 4)
		return -1;
	if ((c->dropped = calloc(c->n_dropped + 1, sizeof *c->dropped)) ==
	    NULL)
		return -1;
	for (i = 0; i < c->n_dropped; i++)
		c->dropped[i] = proto_get_u32(r);
	if (r->err) {
		free(c->dropped);
		c->dropped = NULL;
		return -1;
	}
	return 0;
}

/* Encode a done event. */
void
proto_done_put(struct proto_buf *b, const struct proto_done *d)
{
	proto_put_u32(b, d->stop);
	proto_put_u32(b, d->prompt);
	proto_put_u32(b, d->cached);
	proto_put_u32(b, d->evaluated);
	proto_put_u32(b, d->generated);
	proto_put_f64(b, d->prefill_sec);
	proto_put_f64(b, d->decode_sec);
	proto_put_u32(b, d->from_disk);
}

/* Decode a done event. */
int
proto_done_get(struct proto_rd *r, struct proto_done *d)
{
	d->stop = proto_get_u32(r);
	d->prompt = proto_get_u32(r);
	d->cached = proto_get_u32(r);
	d->evaluated = proto_get_u32(r);
	d->generated = proto_get_u32(r);
	d->prefill_sec = proto_get_f64(r);
	d->decode_sec = proto_get_f64(r);
	/* An older engine's event ends here. */
	d->from_disk = !r->err && r->off < r->len ? proto_get_u32(r) : 0;
	return r->err ? -1 : 0;
}

/* Send one message: the 8-byte header, then the payload. */
int
proto_send(int fd, uint32_t type, const void *payload, size_t len)
{
	uint8_t	hdr[8];

	if (len > PROTO_MAX_PAYLOAD) {
		errno = EMSGSIZE;
		return -1;
	}
	hdr[0] = type; hdr[1] = type >> 8; hdr[2] = type >> 16;
	hdr[3] = type >> 24;
	hdr[4] = len; hdr[5] = len >> 8; hdr[6] = len >> 16;
	hdr[7] = len >> 24;
	if (len == 0)
		return util_write_all(fd, hdr, 8);
	/* One write for small messages, so a reader sees them whole. */
	if (len <= 4096) {
		uint8_t	buf[8 + 4096];

		memcpy(buf, hdr, 8);
		memcpy(buf + 8, payload, len);
		return util_write_all(fd, buf, 8 + len);
	}
	if (util_write_all(fd, hdr, 8) != 0)
		return -1;
	return util_write_all(fd, payload, len);
}

/* Send a built payload; fails if building it ran out of memory. */
int
proto_send_buf(int fd, uint32_t type, const struct proto_buf *b)
{
	if (b->oom) {
		errno = ENOMEM;
		return -1;
	}
	return proto_send(fd, type, b->p, b->len);
}

static int
read_all(int fd, void *v, size_t n, int first)
{
	uint8_t	*p = v;
	ssize_t	 r;

	while (n > 0) {
		if ((r = read(fd, p, n)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0) {
			errno = first ? 0 : EPROTO;
			return -1;
		}
		first = 0;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static uint32_t
le32(const uint8_t *x)
{
	return (uint32_t)x[0] | (uint32_t)x[1] << 8 | (uint32_t)x[2] << 16 |
	    (uint32_t)x[3] << 24;
}

/* Read one message (blocking); the caller frees it with proto_msg_free. */
int
proto_recv(int fd, struct proto_msg *m)
{
	uint8_t	hdr[8];

	memset(m, 0, sizeof *m);
	if (read_all(fd, hdr, 8, 1) != 0)
		return -1;
	m->type = le32(hdr);
	m->len = le32(hdr + 4);
	if (m->len > PROTO_MAX_PAYLOAD) {
		errno = EMSGSIZE;
		return -1;
	}
	if ((m->payload = malloc(m->len + 1)) == NULL)
		return -1;
	if (read_all(fd, m->payload, m->len, 0) != 0) {
		proto_msg_free(m);
		return -1;
	}
	m->payload[m->len] = '\0';
	return 0;
}

/* Free a received message's payload. */
void
proto_msg_free(struct proto_msg *m)
{
	free(m->payload);
	m->payload = NULL;
	m->len = 0;
}

/* An empty incremental reader. */
void
proto_reader_init(struct proto_reader *r)
{
	memset(r, 0, sizeof *r);
}

/* Free the reader's buffer. */
void
proto_reader_free(struct proto_reader *r)
{
	free(r->buf);
	memset(r, 0, sizeof *r);
}

/* Append received bytes; 0, or -1 on OOM. */
int
proto_reader_feed(struct proto_reader *r, const void *p, size_t n)
{
	size_t	 cap;
	uint8_t	*b;

	if (r->len + n > r->cap) {
		cap = r->cap == 0 ? 4096 : r->cap;
		while (cap < r->len + n)
			cap *= 2;
		if ((b = realloc(r->buf, cap)) == NULL)
			return -1;
		r->buf = b;
		r->cap = cap;
	}
	memcpy(r->buf + r->len, p, n);
	r->len += n;
	return 0;
}

/* Take one whole message out: 1 with *m (caller frees), 0 if incomplete,
 * -1 on a frame too large to be ours or OOM. */
int
proto_reader_next(struct proto_reader *r, struct proto_msg *m)
{
	uint32_t	len;

	memset(m, 0, sizeof *m);
	if (r->len < 8)
		return 0;
	len = le32(r->buf + 4);
	if (len > PROTO_MAX_PAYLOAD)
		return -1;
	if (r->len - 8 < len)
		return 0;
	if ((m->payload = malloc((size_t)len + 1)) == NULL)
		return -1;
	m->type = le32(r->buf);
	m->len = len;
	memcpy(m->payload, r->buf + 8, len);
	m->payload[len] = '\0';
	memmove(r->buf, r->buf + 8 + len, r->len - 8 - len);
	r->len -= 8 + (size_t)len;
	return 1;
}

/* One read() from fd into the reader: bytes read, 0 at EOF, -1 on error
 * (EAGAIN included). */
ssize_t
proto_reader_fill(struct proto_reader *r, int fd)
{
	uint8_t	buf[16384];
	ssize_t	n;

	do
		n = read(fd, buf, sizeof buf);
	while (n < 0 && errno == EINTR);
	if (n > 0 && proto_reader_feed(r, buf, (size_t)n) != 0)
		return -1;
	return n;
}
