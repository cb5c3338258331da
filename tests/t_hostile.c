/*
 * The hostile-input classes as a generated corpus (issue 17): valid GGUF
 * models, configs, sessions and journals are mutated by a seeded
 * generator -- bit flips, extreme 1-, 4- and 8-byte values, truncation,
 * inserted, repeated and deleted runs, nesting and alias bombs spliced
 * into the YAML -- and every variant is given to its loader in this
 * process.  Each must return (no crash, no sanitizer report: this runs
 * under the ASan+UBSan build too), and a refusal must say why.  The fuzz
 * targets (fuzz/) search further; this is the part every make check runs.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/utf8.h"
#include "engine/gguf.h"
#include "engine/gguf_write.h"
#include "engine/model.h"
#include "engine/quant.h"
#include "engine/tok.h"
#include "fe/cfg.h"
#include "fe/conv.h"
#include "fe/journal.h"
#include "fe/session.h"
#include "tests/tap.h"

#define VARIANTS	300	/* per input class and seed set */

static uint64_t	rng;

static uint64_t
next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* A mutated copy of b[0..n) into *out (caller frees); its length. */
static size_t
mutate(const uint8_t *b, size_t n, uint8_t **out, int yaml)
{
	static const char	*splice[] = { "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
	    "&a [*a]", "*a", "&x \"", "{a: {a: {a: {a: {a: {a: {a: {a: {a: "
	    "{a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: "
	    "{a: {a: {a: {a: {a: {a: {a: {a: {a: {a: ", "!!binary ", "? ",
	    "\"\\x00\"", "\"\\U0010FFFF\\uD800\"", "\xef\xbb\xbf", "\xc0\x80",
	    "1e999", "-9223372036854775809", "nan", "%YAML 1.1\n---\n",
	    "\n...\n---\n", ": : :" };
	size_t		 cap = n + 256, len = n, at, k, i;
	uint8_t		*p = malloc(cap);
	uint64_t	 v;
	int		 steps = 1 + (int)(next() % 3);

	memcpy(p, b, n);
	while (steps-- > 0 && len > 0) {
		at = next() % len;
		switch (next() % (yaml ? 8 : 7)) {
		case 0:
			p[at] ^= (uint8_t)(1u << (next() % 8));
			break;
		case 1:
			p[at] = (uint8_t[]){ 0, 0xFF, 0x7F, 0x80, 0xC0,
			    '\n', '"', '\\' }[next() % 8];
			break;
		case 2:		/* an extreme 4- or 8-byte value */
			k = next() % 2 ? 4 : 8;
			v = (uint64_t[]){ 0, UINT64_MAX, 1ULL << 63,
			    0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 1ULL << 32,
			    13 }[next() % 8];
			for (i = 0; i < k && at + i < len; i++)
				p[at + i] = (uint8_t)(v >> (8 * i));
			break;
		case 3:
			len = at;	/* truncated */
			break;
		case 4:		/* a run deleted */
			k = next() % 64;
			if (at + k > len)
				k = len - at;
			memmove(p + at, p + at + k, len - at - k);
			len -= k;
			break;
		case 5:		/* random bytes inserted */
			k = next() % 16;
			if (len + k > cap)
				break;
			memmove(p + at + k, p + at, len - at);
			for (i = 0; i < k; i++)
				p[at + i] = (uint8_t)next();
			len += k;
			break;
		case 6:		/* a run repeated */
			k = next() % 32;
			if (at + k > len || len + k > cap)
				break;
			memmove(p + at + k, p + at, len - at);
			len += k;
			break;
		default: {	/* YAML trouble spliced in */
			const char	*s = splice[next() %
			    (sizeof splice / sizeof splice[0])];

			k = strlen(s);
			if (len + k > cap)
				break;
			memmove(p + at + k, p + at, len - at);
			memcpy(p + at, s, k);
			len += k;
		}
		}
	}
	*out = p;
	return len;
}

/* A tiny but complete model (vocabulary included) in memory. */
static uint8_t *
tiny_model(size_t *len)
{
	static float	 w[128 * 64];
	struct gguf_w	*g = gguf_w_new();
	const char	*toks[48];
	char		 names[48][8], name[64];
	float		 scores[48];
	int32_t		 types[48];
	int64_t		 ne2[2] = { 64, 48 }, ne1[2] = { 64, 1 };
	int64_t		 neq[2] = { 64, 64 }, nef[2] = { 64, 128 };
	int64_t		 ned[2] = { 128, 64 };
	void		*buf = NULL;
	char		*cause = NULL;
	int		 i;

	for (i = 0; i < 128 * 64; i++)
		w[i] = (float)((i * 7919) % 101) / 1000.0f;
	for (i = 0; i < 48; i++) {
		snprintf(names[i], sizeof names[i], i < 3 ? "<s%d>" :
		    "%c", i < 3 ? i : 'a' + (i % 26));
		if (i >= 29)
			snprintf(names[i], sizeof names[i], "b%d", i);
		toks[i] = names[i];
		scores[i] = -(float)i;
		types[i] = i < 3 ? 3 : 1;
	}
	gguf_w_str(g, "general.architecture", "llama");
	gguf_w_str(g, "general.name", "tiny");
	gguf_w_u32(g, "llama.block_count", 1);
	gguf_w_u32(g, "llama.embedding_length", 64);
	gguf_w_u32(g, "llama.feed_forward_length", 128);
	gguf_w_u32(g, "llama.attention.head_count", 4);
	gguf_w_u32(g, "llama.attention.head_count_kv", 2);
	gguf_w_u32(g, "llama.context_length", 64);
	gguf_w_f32(g, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
	gguf_w_str(g, "tokenizer.ggml.model", "llama");
	gguf_w_arr_str(g, "tokenizer.ggml.tokens", toks, 48);
	gguf_w_arr_f32(g, "tokenizer.ggml.scores", scores, 48);
	gguf_w_arr_i32(g, "tokenizer.ggml.token_type", types, 48);
	gguf_w_u32(g, "tokenizer.ggml.bos_token_id", 1);
	gguf_w_u32(g, "tokenizer.ggml.eos_token_id", 2);
	gguf_w_tensor(g, "token_embd.weight", QT_F32, 2, ne2, w);
	gguf_w_tensor(g, "output_norm.weight", QT_F32, 1, ne1, w);
#define T(n, ne) (snprintf(name, sizeof name, "blk.0." n), \
	gguf_w_tensor(g, name, QT_F32, 2, ne, w))
	T("attn_norm.weight", ne1);
	T("ffn_norm.weight", ne1);
	T("attn_q.weight", neq);
	T("attn_k.weight", ((int64_t[2]){ 64, 32 }));
	T("attn_v.weight", ((int64_t[2]){ 64, 32 }));
	T("attn_output.weight", neq);
	T("ffn_gate.weight", nef);
	T("ffn_up.weight", nef);
	T("ffn_down.weight", ned);
#undef T
	if (gguf_w_write_mem(g, &buf, len, &cause) != 0) {
		diag("%s", cause);
		free(cause);
	}
	gguf_w_free(g);
	return buf;
}

static void
test_gguf(const char *dir)
{
	uint8_t		*seed, *v;
	size_t		 n, len, accepted = 0, refused = 0, models = 0, i;
	struct gguf	*g;
	struct model	*m;
	struct tok	*t;
	char		 path[300], *cause = NULL;
	int		 silent = 0;

	if ((seed = tiny_model(&n)) == NULL) {
		ok(0, "a tiny model for the GGUF classes");
		return;
	}
	snprintf(path, sizeof path, "%s/m.gguf", dir);
	tap_spit(path, seed, n);
	m = model_load(path, &cause);
	ok(m != NULL, "the GGUF seed is a model yangtuo loads (%s)",
	    m != NULL ? "ok" : cause);
	model_free(m);
	free(cause);
	cause = NULL;
	for (i = 0; i < 3 * VARIANTS; i++) {
		len = mutate(seed, n, &v, 0);
		if ((g = gguf_open_mem(v, len, &cause)) == NULL) {
			refused++;
			silent += cause == NULL;
		} else {
			accepted++;
			if ((t = tok_new(g, &cause)) != NULL)
				tok_free(t);
			gguf_close(g);
			if (i % 8 == 0) {	/* the whole model too */
				tap_spit(path, v, len);
				if ((m = model_load(path, &cause)) != NULL)
					models++;
				else
					silent += cause == NULL;
				model_free(m);
			}
		}
		free(cause);
		cause = NULL;
		free(v);
	}
	ok(silent == 0, "%d GGUF variants: %zu refused, %zu read (%zu "
	    "loaded as models), every refusal with a reason", 3 * VARIANTS,
	    refused, accepted, models);
	unlink(path);
	free(seed);
}

static void
test_yaml(const char *what, const uint8_t *seed, size_t n, int session)
{
	uint8_t		*v;
	size_t		 len, i, refused = 0;
	struct conv	 c;
	struct cfg	 cf;
	char		*cause = NULL;
	int		 silent = 0, r;

	if (session) {
		conv_init(&c);
		ok(session_load_buf(&c, "seed.yaml", (const char *)seed, n,
		    &cause) == 0 && c.n == 2, "the session seed loads (%s)",
		    cause != NULL ? cause : "ok");
		conv_free(&c);
		free(cause);
		cause = NULL;
	}
	for (i = 0; i < VARIANTS; i++) {
		len = mutate(seed, n, &v, 1);
		if (session) {
			conv_init(&c);
			r = session_load_buf(&c, "v.yaml", (char *)v, len,
			    &cause);
			silent += r != 0 && (cause == NULL || c.n != 0);
			conv_free(&c);
		} else {
			cfg_init(&cf);
			r = cfg_load_string(&cf, "v.yaml", (char *)v, len, NULL,
			    NULL, &cause);
			silent += r != 0 && cause == NULL;
			cfg_free(&cf);
		}
		refused += r != 0;
		free(cause);
		cause = NULL;
		free(v);
	}
	ok(silent == 0, "%d %s variants: %zu refused, every refusal with a "
	    "reason", VARIANTS, what, refused);
}

static void
test_journal(const uint8_t *seed, size_t n)
{
	uint8_t		*v;
	size_t		 len, i, j, restored = 0;
	struct conv	 c;
	char		*cause = NULL;
	int		 bad = 0;

	conv_init(&c);
	ok(journal_restore_mem(&c, seed, n, &cause) == 0 && c.n == 3,
	    "the journal seed restores its 3 messages");
	conv_free(&c);
	for (i = 0; i < VARIANTS; i++) {
		len = mutate(seed, n, &v, 0);
		conv_init(&c);
		if (journal_restore_mem(&c, v, len, &cause) == 0)
			restored += c.n;
		for (j = 0; j < c.n; j++)
			bad += !utf8_valid(c.msgs[j].text, c.msgs[j].len) ||
			    (c.msgs[j].role != CONV_USER &&
			    c.msgs[j].role != CONV_ASSISTANT);
		conv_free(&c);
		free(cause);
		cause = NULL;
		free(v);
	}
	ok(bad == 0, "%d journal variants read: %zu messages restored from "
	    "their sound records, each a user or assistant message in valid "
	    "UTF-8", VARIANTS, restored);
}

int
main(void)
{
	char		 dir[] = "/tmp/yt-hostile-XXXXXX", p[600];
	const char	*src = getenv("YT_SRCDIR");
	uint8_t		*b;
	size_t		 n;
	int		 s;

	qt_init();
	if (src == NULL)
		src = SRCDIR;
	if (mkdtemp(dir) == NULL)
		skip_all("no temporary folder");
	for (s = 1; s <= 3; s++) {
		rng = 0x9E3779B97F4A7C15ULL * (uint64_t)s;
		diag("seed %d", s);
		if (s == 1)
			test_gguf(dir);
		snprintf(p, sizeof p, "%s/fuzz/seeds/session/basic.yaml", src);
		if ((b = (uint8_t *)tap_slurp(p, &n)) != NULL)
			test_yaml("session", b, n, 1);
		free(b);
		snprintf(p, sizeof p, "%s/fuzz/seeds/config/basic.yaml", src);
		if ((b = (uint8_t *)tap_slurp(p, &n)) != NULL)
			test_yaml("config", b, n, 0);
		free(b);
		snprintf(p, sizeof p, "%s/fuzz/seeds/journal/basic.ytj", src);
		if ((b = (uint8_t *)tap_slurp(p, &n)) != NULL)
			test_journal(b, n);
		free(b);
	}
	rmdir(dir);
	return tap_done();
}
