/*
 * The tiled prompt kernels against the dot kernels: for every weight type
 * that has one, every output must be the very same float as the dot of
 * that weight row with that activation row (prefill and decode then
 * compute identical numbers), for tile shapes with every remainder.  The
 * kernels over repacked Q4_0 and Q8_0 weights against the arithmetic
 * they state, exactly, whatever the number of tokens in a call.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <math.h>

#include "engine/gemm.h"
#include "engine/model.h"
#include "engine/quant.h"
#include "engine/quant_impl.h"
#include "engine/repack.h"
#include "engine/vmath.h"
#include "tests/krand.h"
#include "tests/tap.h"

/*
 * A variant (0: AVX2, 1: VNNI) of the tiled kernel of a type in an order
 * against that order's dot: weights of varied scale per row, activations
 * of varied scale per token, or random bytes (raw).
 */
static void
check_order(uint32_t type, int order, int vnni, int k, int nr, int nt,
    int raw)
{
	static const char	*names[] = { "dot", "dot_rp1", "dot_rp4" };
	const struct qt_traits	*wt = qt_get(type);
	gemm_fn			 g = gemm_get_variant(type, order, vnni);
	qt_dot_fn		 dot = order == GEMM_RP1 ? wt->dot_rp1 :
				    order == GEMM_RP4 ? wt->dot_rp4 : wt->dot;
	size_t			 wrow, arow;
	uint8_t			*w, *a;
	float			*y, d;
	unsigned		 seed = (unsigned)(k * 31 + nr * 7 + nt);
	int			 r, t, same = 1;

	qt_row_size(type, k, &wrow);
	qt_row_size(wt->dot_type, k, &arow);
	w = malloc(wrow * nr);
	a = malloc(arow * nt);
	y = malloc((size_t)(nr + 3) * nt * sizeof *y);
	if (g == NULL || dot == NULL) {
		skip("no tiled kernel for this type and order");
		goto out;
	}
	k_operands(type, k, nr, nt, raw, &seed, w, wrow, a, arow);
	/* A row stride larger than the rows, as in the matmul. */
	g(k, w, wrow, nr, a, arow, nt, y, nr + 3);
	for (r = 0; r < nr; r++)
		for (t = 0; t < nt; t++) {
			dot(k, &d, w + r * wrow, a + t * arow);
			if (memcmp(&d, &y[t * (nr + 3) + r], sizeof d) != 0)
				same = 0;
		}
	ok(same, "%s%s%s k=%d, %d rows x %d tokens: every output equals the "
	    "%s", raw ? "raw " : "", wt->name, vnni ? " (VNNI)" : "", k, nr,
	    nt, names[order]);
out:
	free(w);
	free(a);
	free(y);
}

/* The integer dot of block b of a Q4_0 or Q8_0 weight row with block b
 * of a Q8_0 activation row, and the two scales. */
static int32_t
block_dot(uint32_t type, const uint8_t *wr, const uint8_t *ar, int b,
    float *dw, float *da)
{
	const struct qt_block_q8_0	*ab = (const void *)ar;
	uint16_t			 h;
	int32_t				 isum = 0;
	int				 j;

	memcpy(&h, &ab[b].d, 2);
	*da = qt_f16_to_f32(h);
	if (type == QT_Q4_0) {
		const struct qt_block_q4_0	*wb = (const void *)wr;

		memcpy(&h, &wb[b].d, 2);
		for (j = 0; j < 16; j++) {
			isum += ((wb[b].qs[j] & 15) - 8) * ab[b].qs[j];
			isum += ((wb[b].qs[j] >> 4) - 8) * ab[b].qs[16 + j];
		}
	} else {
		const struct qt_block_q8_0	*wb = (const void *)wr;

		memcpy(&h, &wb[b].d, 2);
		for (j = 0; j < 32; j++)
			isum += wb[b].qs[j] * ab[b].qs[j];
	}
	*dw = qt_f16_to_f32(h);
	return isum;
}

/* repack_row_f32 of every row against the type's to_f32 of the row. */
static int
rows_back(uint32_t type, const struct mtensor *w)
{
	float	*got = malloc((size_t)w->ne0 * sizeof *got);
	float	*want = malloc((size_t)w->ne0 * sizeof *want);
	int64_t	 r;
	int	 good = got != NULL && want != NULL;

	for (r = 0; good && r < w->ne1; r++) {
		qt_get(type)->to_f32((const uint8_t *)w->data + r * w->row_size,
		    want, w->ne0);
		good = repack_row_f32(w, r, got) == 0 &&
		    memcmp(got, want, (size_t)w->ne0 * sizeof *got) == 0;
	}
	if (good)
		good = repack_row_f32(w, w->ne1, got) == -1;
	free(got);
	free(want);
	return good;
}

/* Did the repacked copy keep every scale and quant of the rows? */
static int
roundtrip(uint32_t type, const struct mtensor *w)
{
	const uint8_t	*row, *qs, *p;
	size_t		 gsize, bsize;
	uint16_t	 d;
	int		 nb = (int)(w->ne0 / 32), nc, g, b, r, c, i;
	uint8_t		 x;

	/* Both layouts: 8 scales, then chunks of 4 quant bytes by row. */
	gsize = type == QT_Q4_0 ? sizeof(struct rp_q4_0x8) :
	    sizeof(struct rp_q8_0x8);
	bsize = type == QT_Q4_0 ? sizeof(struct qt_block_q4_0) :
	    sizeof(struct qt_block_q8_0);
	nc = type == QT_Q4_0 ? 4 : 8;
	x = type == QT_Q4_0 ? 0 : 0x80;
	for (g = 0; g < w->ne1 / 8; g++)
		for (b = 0; b < nb; b++) {
			p = (const uint8_t *)w->rp + ((size_t)g * nb + b) *
			    gsize;
			for (r = 0; r < 8; r++) {
				row = (const uint8_t *)w->data +
				    (size_t)(8 * g + r) * w->row_size;
				memcpy(&d, row + b * bsize, 2);
				if (memcmp(p + 2 * r, &d, 2) != 0)
					return 0;
				qs = row + b * bsize + 2;
				for (c = 0; c < nc; c++)
					for (i = 0; i < 4; i++)
						if ((p[16 + 32 * c + 4 * r + i] ^
						    x) != qs[4 * c + i])
							return 0;
			}
		}
	/* And each row read back from the copy (tied embeddings) gives
	 * the file row's floats. */
	return rows_back(type, w);
}

/* The operands of one check_rp case. */
struct rp_case {
	uint32_t	 type;
	int		 k, nr, nt, nb;
	size_t		 wrow, arow;
	uint8_t		*wd;		/* nr weight rows */
	uint8_t		*a;		/* nt Q8_0 activation rows */
	float		*af;		/* gemm_act_sums' */
	int32_t		*ac, *ac8, *ac128;
	float		*y, *y2;	/* nt rows of nr + 5 outputs */
};

/* Random weights of varied scale per row and activations of varied
 * scale per token, or random bytes (raw; Q8_0 weights of -128 too). */
static void
rp_fill(struct rp_case *c, int raw, unsigned *seed)
{
	float	*x = malloc(c->k * sizeof *x);
	int	 r, t, b, j;

	for (r = 0; r < c->nr; r++) {
		for (j = 0; j < c->k; j++)
			x[j] = frand(seed) * (1 + r % 5) + (r % 4 == 1 ?
			    0.5f : 0);
		qt_quantize_weights(c->type, x, c->wd + r * c->wrow, c->k);
	}
	for (t = 0; t < c->nt; t++) {
		for (j = 0; j < c->k; j++)
			x[j] = frand(seed) * (3 + t % 5) - (t % 3 == 2 ?
			    1.5f : 0);
		qt_get(QT_Q8_0)->from_f32(x, c->a + t * c->arow, c->k);
	}
	free(x);
	if (raw && c->type == QT_Q8_0)
		raw_k(QT_Q8_0, c->wd, (size_t)c->nr * c->nb, seed);
	if (raw)
		raw_k(QT_Q8_0, c->a, (size_t)c->nt * c->nb, seed);
	/* Activations are quantized to -127..127 (llama.cpp's dot flips the
	 * sign of -128 wrongly, and so the dot we compare with). */
	for (t = 0; raw && t < c->nt; t++)
		for (b = 0; b < c->nb; b++)
			for (j = 0; j < 32; j++) {
				struct qt_block_q8_0	*ab;

				ab = (void *)(c->a + t * c->arow);

				if (ab[b].qs[j] == -128)
					ab[b].qs[j] = -127;
			}
}

/* The activations' block sums by gemm_act_sums; 1 if they are -8 times
 * each block's sum and -128 times each group of 4's. */
static int
rp_sums(struct rp_case *c)
{
	int	t, b, j, s, sums = 1, nb = c->nb;

	for (t = 0; t < c->nt; t++) {
		const struct qt_block_q8_0	*ab = (const void *)(c->a +
						    t * c->arow);

		gemm_act_sums(c->a + t * c->arow, c->k, c->af + t * nb,
		    c->ac8 + t * nb, c->ac128 + t * nb * 8);
		for (b = 0; b < nb; b++) {
			for (j = s = 0; j < 32; j++) {
				s += ab[b].qs[j];
				if (j % 4 == 3 && c->ac128[(t * nb + b) * 8 +
				    j / 4] != -128 * (ab[b].qs[j - 3] +
				    ab[b].qs[j - 2] + ab[b].qs[j - 1] +
				    ab[b].qs[j]))
					sums = 0;
			}
			if (c->ac8[t * nb + b] != -8 * s)
				sums = 0;
		}
	}
	return sums;
}

/* 1 if every output in y is the stated FMA chain's float (Q8_0: the
 * type's dot) bit for bit; the worst error against a double sum, over
 * the sum of the terms' magnitudes, in *worst. */
static int
rp_exact(const struct rp_case *c, double *worst)
{
	double	want, mag, err;
	float	dw, da;
	int32_t	isum;
	int	r, t, b, same = 1, ys = c->nr + 5;

	for (r = 0; r < c->nr; r++)
		for (t = 0; t < c->nt; t++) {
			float	acc = 0;

			want = mag = 0;
			for (b = 0; b < c->nb; b++) {
				isum = block_dot(c->type, c->wd + r * c->wrow,
				    c->a + t * c->arow, b, &dw, &da);
				acc = fmaf((float)isum, dw * da, acc);
				want += (double)isum * dw * da;
				mag += fabs((double)isum * dw * da);
			}
			/* Q8_0 x8 is llama.cpp's (and our) Q8_0 dot. */
			if (c->type == QT_Q8_0)
				qt_get(QT_Q8_0)->dot(c->k, &acc, c->wd +
				    r * c->wrow, c->a + t * c->arow);
			if (memcmp(&acc, &c->y[t * ys + r], sizeof acc) != 0)
				same = 0;
			err = fabs(c->y[t * ys + r] - want) / (mag > 0 ?
			    mag : 1);
			if (!(err <= *worst))
				*worst = err;
		}
	return same;
}

/* 1 if y2 equals y in rows r0 and up. */
static int
rp_same(const struct rp_case *c, int r0)
{
	int	r, t, ys = c->nr + 5;

	for (r = r0; r < c->nr; r++)
		for (t = 0; t < c->nt; t++)
			if (memcmp(&c->y[t * ys + r], &c->y2[t * ys + r],
			    sizeof *c->y) != 0)
				return 0;
	return 1;
}

/* 1 if calls of 1, 3 and 8 tokens, and a call from the second 8-row
 * group on, give the floats of the whole call in y. */
static int
rp_stable(const struct rp_case *c, gemm_rp_fn g, const void *rp)
{
	static const int	 steps[] = { 1, 3, 8 };
	int			 j, t, n, stable = 1, nb = c->nb;
	int			 cpb = c->type == QT_Q4_0 ? 1 : 8;

	for (j = 0; j < (int)(sizeof steps / sizeof steps[0]); j++) {
		for (t = 0; t < c->nt; t += n) {
			n = c->nt - t < steps[j] ? c->nt - t : steps[j];
			g(c->k, rp, c->nr, c->a + t * c->arow, c->arow,
			    c->af + t * nb, c->ac + t * nb * cpb, n,
			    c->y2 + t * (c->nr + 5), c->nr + 5);
		}
		if (!rp_same(c, 0))
			stable = 0;
	}
	if (c->nr > 8) {
		g(c->k, (const uint8_t *)rp + (size_t)nb * (c->type ==
		    QT_Q4_0 ? sizeof(struct rp_q4_0x8) :
		    sizeof(struct rp_q8_0x8)), c->nr - 8, c->a, c->arow,
		    c->af, c->ac, c->nt, c->y2 + 8, c->nr + 5);
		if (!rp_same(c, 8))
			stable = 0;
	}
	return stable;
}

/*
 * A repacked kernel variant (0: AVX2, 1: VNNI ymm, 2: VNNI zmm) against
 * the arithmetic gemm.h states: for Q4_0, per row and token, the exact
 * integer dot of each block, then acc = fmaf(isum, d_w * d_a, acc), block
 * by block; for Q8_0 the float of the type's dot; checked bit for bit,
 * and against a double sum within 1e-5 of the sum of the terms'
 * magnitudes.  The same tokens in calls of 1, 3 and 8 tokens, and rows
 * from the second group on, must give the same floats.  raw: random
 * bytes for the quants (Q8_0 weights of -128 too).
 */
static void
check_rp(uint32_t type, int variant, int k, int nr, int nt, int raw)
{
	static const char	*vnames[] = { "AVX2", "VNNI ymm", "VNNI zmm" };
	int			 kind = type == QT_Q4_0 ? RP_Q4_0X8 : RP_Q8_0X8;
	struct mtensor		 w;
	struct rp_case		 c;
	gemm_rp_fn		 g = gemm_get_rp_variant(kind, variant);
	double			 worst = 0;
	unsigned		 seed = (unsigned)(k + nr * 13 + nt * 101 +
				    raw * 7);
	int			 nb = k / 32, same, sums, stable, rt;

	memset(&c, 0, sizeof c);
	c.type = type;
	c.k = k;
	c.nr = nr;
	c.nt = nt;
	c.nb = nb;
	qt_row_size(type, k, &c.wrow);
	qt_row_size(QT_Q8_0, k, &c.arow);
	c.wd = malloc(c.wrow * nr);
	c.a = malloc(c.arow * nt);
	c.y = malloc((size_t)(nr + 5) * nt * sizeof *c.y);
	c.y2 = malloc((size_t)(nr + 5) * nt * sizeof *c.y2);
	c.af = malloc((size_t)nb * nt * sizeof *c.af);
	c.ac8 = malloc((size_t)nb * nt * sizeof *c.ac8);
	c.ac128 = malloc((size_t)nb * nt * 8 * sizeof *c.ac128);
	c.ac = type == QT_Q4_0 ? c.ac8 : c.ac128;
	memset(&w, 0, sizeof w);
	if (g == NULL) {
		skip("this CPU lacks the kernel variant");
		goto out;
	}
	rp_fill(&c, raw, &seed);
	sums = rp_sums(&c);
	w.data = c.wd;
	w.type = type;
	w.ne0 = k;
	w.ne1 = nr;
	w.row_size = c.wrow;
	if (repack_tensor(&w, 0) <= 0 || w.rp_kind != kind) {
		ok(0, "repack %s %d x %d", qt_name(type), k, nr);
		goto out;
	}
	rt = roundtrip(type, &w);
	/* A row stride larger than the rows, as in the matmul. */
	g(k, w.rp, nr, c.a, c.arow, c.af, c.ac, nt, c.y, nr + 5);
	same = rp_exact(&c, &worst);
	stable = rp_stable(&c, g, w.rp);
	ok(rt && sums && same && stable && worst < 1e-5, "repacked %s%s (%s) "
	    "k=%d, %d rows x %d tokens: layout %s, sums %s, stated FMA chain "
	    "%s, same in calls of 1/3/8 tokens %s, error %.2g", raw ? "raw " :
	    "", qt_name(type), vnames[variant], k, nr, nt, rt ? "ok" : "BAD",
	    sums ? "ok" : "BAD", same ? "ok" : "BAD", stable ? "ok" : "BAD",
	    worst);
out:
	repack_free(&w);
	free(c.wd);
	free(c.a);
	free(c.y);
	free(c.y2);
	free(c.af);
	free(c.ac8);
	free(c.ac128);
}

/* Every variant of a layout gives the same floats as every other. */
static void
check_rp_same(uint32_t type, int k, int nr, int nt)
{
	int		 kind = type == QT_Q4_0 ? RP_Q4_0X8 : RP_Q8_0X8;
	struct mtensor	 w;
	size_t		 wrow, arow;
	uint8_t		*wd, *a;
	float		*x, *y[3], *af;
	int32_t		*ac8, *ac128;
	unsigned	 seed = (unsigned)(k * 3 + nr + nt);
	int		 v, j, nb = k / 32, n = 0, same = 1;

	qt_row_size(type, k, &wrow);
	qt_row_size(QT_Q8_0, k, &arow);
	wd = malloc(wrow * nr);
	a = malloc(arow * nt);
	x = malloc(k * sizeof *x);
	af = malloc((size_t)nb * nt * sizeof *af);
	ac8 = malloc((size_t)nb * nt * sizeof *ac8);
	ac128 = malloc((size_t)nb * nt * 8 * sizeof *ac128);
	for (v = 0; v < 3; v++)
		y[v] = calloc((size_t)nr * nt, sizeof *y[v]);
	for (j = 0; j < nr; j++) {
		for (v = 0; v < k; v++)
			x[v] = frand(&seed);
		qt_quantize_weights(type, x, wd + j * wrow, k);
	}
	for (j = 0; j < nt; j++) {
		for (v = 0; v < k; v++)
			x[v] = frand(&seed) * 2;
		qt_get(QT_Q8_0)->from_f32(x, a + j * arow, k);
		gemm_act_sums(a + j * arow, k, af + j * nb, ac8 + j * nb,
		    ac128 + j * nb * 8);
	}
	memset(&w, 0, sizeof w);
	w.data = wd;
	w.type = type;
	w.ne0 = k;
	w.ne1 = nr;
	w.row_size = wrow;
	if (repack_tensor(&w, 0) > 0) {
		for (v = 0; v < 3; v++) {
			gemm_rp_fn	g = gemm_get_rp_variant(kind, v);

			if (g == NULL)
				continue;
			g(k, w.rp, nr, a, arow, af, type == QT_Q4_0 ? ac8 :
			    ac128, nt, y[v], nr);
			if (n++ > 0 && memcmp(y[v], y[v - 1], (size_t)nr * nt *
			    sizeof *y[v]) != 0)
				same = 0;
		}
	}
	if (n < 2)
		skip("fewer than two variants of the kernel here");
	else
		ok(same, "repacked %s k=%d, %d x %d: %d variants agree",
		    qt_name(type), k, nr, nt, n);
	repack_free(&w);
	free(wd);
	free(a);
	free(x);
	free(af);
	free(ac8);
	free(ac128);
	for (v = 0; v < 3; v++)
		free(y[v]);
}

/* Shapes the repacked kernels take: no repack unless rows come in 8s. */
static void
check_rp_decline(void)
{
	struct mtensor	w;
	uint8_t		buf[34 * 12];

	memset(&w, 0, sizeof w);
	memset(buf, 0, sizeof buf);
	w.data = buf;
	w.type = QT_Q8_0;
	w.ne0 = 32;
	w.ne1 = 12;
	w.row_size = 34;
	ok(repack_tensor(&w, 0) == 0 && w.rp == NULL && w.rp_kind == RP_NONE,
	    "12 rows of Q8_0 stay as they are");
	w.type = QT_Q4_K;
	w.ne0 = 256;
	w.ne1 = 8;
	ok(repack_tensor(&w, 0) == 0 && w.rp == NULL, "Q4_K is not repacked");
}

/* A copy of 2 MiB or more is mapped on a huge-page boundary (and
 * offered to transparent huge pages), to the page and no further; a
 * small one comes from malloc; both keep every byte and free cleanly. */
static void
check_rp_big(void)
{
	/* 488 rows of 4096 Q8_0 (2 MiB and 26 KiB), or where only Q4_0
	 * is repacked (AVX2 without VNNI) 920 rows of Q4_0 (2 MiB and 22
	 * KiB): not a page multiple either way. */
	struct mtensor	 w;
	uint32_t	 type;
	size_t		 wrow, bsize;
	uint8_t		*wd;
	unsigned	 seed = 7;
	long		 page = sysconf(_SC_PAGESIZE);
	int		 nr, k = 4096, small, big;
	size_t		 i, bytes;

	if (gemm_get_rp(RP_Q8_0X8) != NULL) {
		type = QT_Q8_0;
		nr = 488;
		bsize = sizeof(struct qt_block_q8_0);
	} else if (gemm_get_rp(RP_Q4_0X8) != NULL) {
		type = QT_Q4_0;
		nr = 920;
		bsize = sizeof(struct qt_block_q4_0);
	} else {
		skip("repacked copies: no repacked layout on this CPU");
		return;
	}
	qt_row_size(type, k, &wrow);
	bytes = wrow * (size_t)nr;
	wd = malloc(bytes);
	for (i = 0; i < bytes; i++)
		wd[i] = (uint8_t)(rand_r(&seed) >> 7);
	for (i = 0; i < bytes; i += bsize)	/* finite scales */
		wd[i + 1] &= 0x3b;
	memset(&w, 0, sizeof w);
	w.data = wd;
	w.type = type;
	w.ne0 = k;
	w.ne1 = nr;
	w.row_size = wrow;
	big = repack_tensor(&w, 0) == (long)bytes &&
	    (uintptr_t)w.rp % (2u << 20) == 0 && w.rp_map ==
	    (bytes + (size_t)page - 1) / (size_t)page * (size_t)page &&
	    roundtrip(type, &w);
	repack_free(&w);
	big = big && w.rp == NULL && w.rp_map == 0;
	w.ne1 = 40;
	small = repack_tensor(&w, 0) == (long)(wrow * 40) && w.rp_map == 0 &&
	    (uintptr_t)w.rp % 64 == 0 && roundtrip(type, &w);
	repack_free(&w);
	ok(big && small, "repacked %s copies: 2 MiB + %zu KiB on a 2 MiB "
	    "boundary, mapped to the page (%s); 40 rows from malloc (%s)",
	    qt_get(type)->name, (bytes - (2u << 20)) >> 10, big ? "ok" :
	    "BAD", small ? "ok" : "BAD");
	free(wd);
}

/* SwiGLU with the vector exp: close to libm everywhere (ggml's routine
 * promises 1.5 ulp), exact limits, the tail computed with expf. */
static void
check_swiglu(void)
{
	static float	x[1003], g[1003], y[1003];
	double		worst = 0, want, e;
	int		i, limits = 1;

	for (i = 0; i < 1000; i++) {
		x[i] = (float)(i - 500) * 0.19f;	/* -95 .. 95 */
		g[i] = 1.0f + (float)(i % 7) * 0.25f;
	}
	x[1000] = -200.0f;
	x[1001] = 200.0f;
	x[1002] = 0.0f;
	g[1000] = g[1001] = g[1002] = 1.0f;
	vm_swiglu(1003, y, x, g);
	for (i = 0; i < 1000; i++) {
		want = x[i] / (1.0 + exp(-(double)x[i])) * g[i];
		/* Past x = -88, exp(-x) overflows float (in expf too) and
		 * silu gives -0; compare where both are finite. */
		if (x[i] < -85.0f)
			continue;
		e = fabs(y[i] - want) / fabs(want);
		if (e > worst)
			worst = e;
	}
	if (!(y[1000] == 0.0f || y[1000] == -0.0f) || y[1001] != 200.0f ||
	    y[1002] != 0.0f)
		limits = 0;
	ok(worst < 4e-7 && limits, "swiglu: worst relative error %.2g, limits "
	    "exact", worst);
}

int
main(void)
{
	static const uint32_t	types[] = { QT_Q8_0, QT_Q4_0, QT_Q5_0,
				    QT_Q4_1, QT_Q5_1 };
	static const int	shapes[][3] = { { 32, 1, 1 }, { 64, 4, 2 },
				    { 2048, 16, 64 }, { 256, 7, 5 },
				    { 4096, 3, 3 }, { 96, 17, 9 } };
	static const uint32_t	ktypes[] = { QT_Q4_K, QT_Q5_K, QT_Q6_K };
	/* Every remainder of the 2 x 4 tiles and of the 8-row token
	 * tails, a matmul tile (16 x 64) and a long row. */
	static const int	kshapes[][3] = { { 256, 1, 1 }, { 256, 2, 4 },
				    { 512, 16, 64 }, { 768, 7, 5 },
				    { 256, 17, 11 }, { 1024, 3, 3 },
				    { 512, 9, 13 }, { 256, 8, 1 },
				    { 256, 1, 8 }, { 4096, 5, 6 },
				    { 256, 16, 2 }, { 512, 15, 7 } };
	static const uint32_t	rtypes[] = { QT_Q4_0, QT_Q8_0 };
	static const int	rshapes[][3] = { { 32, 8, 1 }, { 64, 16, 3 },
				    { 2048, 16, 64 }, { 96, 24, 13 },
				    { 4096, 40, 67 }, { 256, 8, 9 },
				    { 160, 32, 8 }, { 512, 48, 17 } };
	size_t			i, j;
	int			o;

	qt_init();
	check_swiglu();
	if (gemm_get(QT_Q8_0) == NULL)
		skip_all("no tiled kernels on this CPU");
	for (i = 0; i < sizeof types / sizeof types[0]; i++)
		for (j = 0; j < sizeof shapes / sizeof shapes[0]; j++)
			check_order(types[i], GEMM_DOT, 0, shapes[j][0],
			    shapes[j][1], shapes[j][2], 0);
	/* The VNNI tiles need the activations the quantizer makes
	 * (in [-127, 127]); any weight bytes will do. */
	for (j = 0; j < sizeof shapes / sizeof shapes[0]; j++) {
		check_order(QT_Q8_0, GEMM_DOT, 1, shapes[j][0], shapes[j][1],
		    shapes[j][2], 0);
		check_order(QT_Q5_0, GEMM_DOT, 1, shapes[j][0], shapes[j][1],
		    shapes[j][2], 0);
	}
	for (i = 0; i < sizeof types / sizeof types[0]; i++)
		check_order(types[i], GEMM_DOT, 0, 1024, 13, 7, RAW_W);
	check_order(QT_Q8_0, GEMM_DOT, 1, 1024, 13, 7, RAW_W);
	check_order(QT_Q5_0, GEMM_DOT, 1, 1024, 13, 7, RAW_W);
	for (i = 0; i < sizeof ktypes / sizeof ktypes[0]; i++)
		for (o = GEMM_DOT; o <= GEMM_RP4; o++) {
			if (o != GEMM_DOT && qt_get(ktypes[i])->dot_rp1 ==
			    NULL)
				continue;
			for (j = 0; j < sizeof kshapes / sizeof kshapes[0];
			    j++)
				check_order(ktypes[i], o, 0, kshapes[j][0],
				    kshapes[j][1], kshapes[j][2], 0);
			check_order(ktypes[i], o, 0, 512, 17, 13,
			    RAW_W | RAW_A);
			check_order(ktypes[i], o, 0, 256, 9, 3,
			    RAW_W | RAW_A);
		}
	/* Groups of 8 and of 16 rows, token tails of every tile. */
	for (i = 0; i < sizeof rtypes / sizeof rtypes[0]; i++) {
		for (o = 0; o < 3; o++)
			for (j = 0; j < sizeof rshapes / sizeof rshapes[0];
			    j++)
				check_rp(rtypes[i], o, rshapes[j][0],
				    rshapes[j][1], rshapes[j][2], 0);
		for (o = 0; o < 3; o++)
			check_rp(rtypes[i], o, 512, 24, 19, 1);
		check_rp_same(rtypes[i], 1024, 40, 29);
		check_rp_same(rtypes[i], 2048, 64, 64);
	}
	check_rp_decline();
	check_rp_big();
	qt_force_ref(1);
	ok(gemm_get(QT_Q8_0) == NULL, "no tiled kernel when the scalar "
	    "kernels are forced");
	qt_force_ref(0);
	return tap_done();
}
