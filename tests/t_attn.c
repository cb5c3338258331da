/*
 * The tiled attention (engine/attn.c) against ggml's flash-attention row
 * written out key by key with the F16 primitives, as forward.c's portable
 * kernel does: every output must be the same float, for head sizes with
 * and without tails, group sizes, tiles of 1..ATTN_BQ tokens at positions
 * that start, straddle and end key blocks, and a prompt cut differently.
 */
#include "config.h"

#include <gnu/libc-version.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/attn.h"
#include "engine/quant.h"
#include "engine/vmath.h"
#include "tests/tap.h"

static uint64_t	rng = 0x9e3779b97f4a7c15ull;

static float
frand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (float)((rng >> 40) / (double)(1 << 24)) * 2.0f - 1.0f;
}

/* One query row (hd floats) against keys 0..n-1, ggml's way. */
static void
ref_row(int hd, const float *q, const uint16_t *kc, const uint16_t *vc,
    size_t kvs, int n, float scale, float *out)
{
	const struct qt_traits	*f16 = qt_get(QT_F16);
	uint16_t		*q16 = calloc((size_t)hd, 2);
	uint16_t		*acc = calloc((size_t)hd, 2);
	float			 M = -INFINITY, S = 0.0f, s, ms, vs;
	int			 j, d;

	f16->from_f32(q, q16, hd);
	for (j = 0; j < n; j++) {
		qt_f16_vdot(hd, &s, kc + (size_t)j * kvs, q16);
		s = s * scale;
		ms = 1.0f;
		vs = 1.0f;
		if (s > M) {
			ms = expf(M - s);
			M = s;
			qt_f16_scale(hd, acc, ms);
		} else
			vs = expf(s - M);
		qt_f16_mad(hd, acc, vc + (size_t)j * kvs, vs);
		S = S * ms + vs;
	}
	for (d = 0; d < hd; d++)
		out[d] = qt_f16_to_f32(acc[d]) * (1.0f / S);
	free(q16);
	free(acc);
}

/*
 * T tokens at pos0.. with g heads of hd against a cache of one KV group
 * (stride kvs halves), in calls of `cut` tokens; compare with ref_row.
 */
static int
check(int hd, int g, int T, uint32_t pos0, int cut, float qscale)
{
	size_t		 kvs = (size_t)hd + 3, qs = (size_t)g * hd;
	size_t		 nkeys = pos0 + (size_t)T;
	uint16_t	*kc = malloc(nkeys * kvs * 2);
	uint16_t	*vc = malloc(nkeys * kvs * 2);
	float		*q = malloc((size_t)T * qs * sizeof *q);
	float		*out = malloc((size_t)T * qs * sizeof *out);
	float		*want = malloc((size_t)hd * sizeof *want);
	float		*ws = malloc(attn_ws_floats(hd, g) * sizeof *ws);
	float		 scale = 1.0f / sqrtf((float)hd);
	size_t		 i;
	int		 t, h, d, bad = 0, t0, nt;

	for (i = 0; i < nkeys * kvs; i++) {
		kc[i] = qt_f32_to_f16(frand());
		vc[i] = qt_f32_to_f16(frand());
	}
	for (i = 0; i < (size_t)T * qs; i++)
		q[i] = frand() * qscale;
	for (t0 = 0; t0 < T; t0 += nt) {
		nt = T - t0 < cut ? T - t0 : cut;
		attn_tile(hd, g, nt, pos0 + (uint32_t)t0, q + t0 * qs, qs,
		    kc, vc, kvs, scale, out + t0 * qs, qs, ws);
	}
	for (t = 0; t < T; t++)
		for (h = 0; h < g; h++) {
			ref_row(hd, q + t * qs + h * hd, kc, vc, kvs,
			    (int)pos0 + t + 1, scale, want);
			for (d = 0; d < hd; d++)
				if (memcmp(&want[d], &out[t * qs + h * hd + d],
				    sizeof(float)) != 0 && bad++ == 0)
					diag("token %d head %d dim %d: %.9g, "
					    "want %.9g", t, h, d,
					    out[t * qs + h * hd + d], want[d]);
		}
	free(kc);
	free(vc);
	free(q);
	free(out);
	free(want);
	free(ws);
	return ok(bad == 0, "hd %d, %d heads a group, %d tokens at %u in "
	    "calls of %d (scores x%g): every output is the per-key float",
	    hd, g, T, pos0, cut, qscale);
}

/* 1 if libm is glibc 2.28 or later on a CPU with AVX2 and FMA. */
static int
glibc_fma(void)
{
	int	major = 0, minor = 0;

	if (sscanf(gnu_get_libc_version(), "%d.%d", &major, &minor) != 2)
		return 0;
	return (major > 2 || (major == 2 && minor >= 28)) &&
	    __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

/* vm_expf, the softmax's exps four at a time, is libm's expf float for
 * float: every 131st bit pattern from -104 to 88 (and the ends, -inf,
 * nan), in calls of odd lengths so the scalar tail runs too. */
static void
check_expf(void)
{
	enum { CH = 4093 };
	static float	x[CH], y[CH];
	uint32_t	u, lo[2] = { 0x80000000u, 0x00000000u };
	uint32_t	hi[2] = { 0xc2d00000u, 0x42b00000u };
	long		bad = 0, n = 0;
	int		i, k, m;

	if (!vm_expf_exact()) {
		/* Only where it cannot be glibc's FMA build (since 2.28). */
		if (glibc_fma())
			ok(0, "vm_expf: glibc %s with FMA, but its lanes are "
			    "not libm's expf", gnu_get_libc_version());
		else
			skip("libm's expf is not glibc's FMA one here");
		return;
	}
	for (k = 0; k < 2; k++)
		for (u = lo[k]; u < hi[k]; ) {
			for (m = 0; m < CH && u < hi[k]; m++, u += 131)
				memcpy(&x[m], &u, 4);
			if (u >= hi[k] && m + 3 <= CH) {
				x[m++] = -INFINITY;
				x[m++] = NAN;
				memcpy(&x[m++], &hi[k], 4);
			}
			memcpy(y, x, sizeof y);
			vm_expf(y, m);
			for (i = 0; i < m; i++) {
				float	e = expf(x[i]);

				if (memcmp(&e, &y[i], 4) != 0 && !(isnan(e) &&
				    isnan(y[i])))
					bad++;
			}
			n += m;
		}
	ok(bad == 0, "vm_expf: %ld of %ld floats from -104 to 88 differ "
	    "from libm's expf", bad, n);
}

int
main(void)
{
	static const int	hds[] = { 64, 128, 32, 48, 40, 8, 12, 256, 96, 80 };
	static const int	gs[] = { 1, 4, 8 };
	static const uint32_t	pos[] = { 0, 5, 63, 64, 130 };
	size_t			a, b, c;

	qt_init();
	if (!attn_tile_ok())
		skip_all("no tiled attention on this CPU");
	check_expf();
	for (a = 0; a < sizeof hds / sizeof *hds; a++)
		for (b = 0; b < sizeof gs / sizeof *gs; b++)
			for (c = 0; c < sizeof pos / sizeof *pos; c++)
				check(hds[a], gs[b], 1 + (int)(c * 3 % 8),
				    pos[c], ATTN_BQ, 1.0f);
	/* A prompt read at once, in pieces, token by token. */
	check(64, 4, 77, 0, ATTN_BQ, 1.0f);
	check(64, 4, 77, 0, 3, 1.0f);
	check(64, 4, 77, 0, 1, 1.0f);
	check(128, 4, 40, 100, 5, 1.0f);
	/* Peaked scores: the running maximum moves, exps underflow. */
	check(64, 4, 20, 60, ATTN_BQ, 40.0f);
	check(64, 2, 9, 0, ATTN_BQ, 200.0f);
	/* Odd groups: head 64 on zmm takes a token's rows in pairs, and
	 * the last row of each token alone. */
	check(64, 3, 13, 0, ATTN_BQ, 1.0f);
	check(64, 5, 11, 70, ATTN_BQ, 40.0f);
	return tap_done();
}
