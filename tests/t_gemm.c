/*
 * The tiled prompt kernels against the dot kernels: for every weight type
 * that has one, every output must be the very same float as the dot of
 * that weight row with that activation row (prefill and decode then
 * compute identical numbers), for tile shapes with every remainder.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <math.h>

#include "engine/gemm.h"
#include "engine/model.h"
#include "engine/quant.h"
#include "engine/repack.h"
#include "engine/vmath.h"
#include "tests/tap.h"

static float
frand(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return ((*s >> 8) / 16777216.0f - 0.5f) * 2.0f;
}

/*
 * Overwrite the quants of nb blocks of a K-quant, Q8_K or Q8_0 type with
 * random bytes, every bit pattern a file could hold, keeping the scales
 * d (and dmin) finite: the integer paths then meet their extremes.
 */
static void
raw_k(uint32_t type, uint8_t *p, size_t nb, unsigned *seed)
{
	size_t		bsize = qt_get(type)->bsize, b, i, off;
	uint16_t	h;
	float		f;

	for (b = 0; b < nb; b++, p += bsize) {
		for (i = 0; i < bsize; i++) {
			*seed = *seed * 1103515245u + 12345u;
			p[i] = (uint8_t)(*seed >> 16);
		}
		if (type == QT_Q8_K) {
			f = frand(seed) * 0.05f;
			memcpy(p, &f, sizeof f);
			continue;
		}
		/* d and dmin lead Q4_K and Q5_K blocks, d leads Q8_0's and
		 * ends Q6_K's. */
		off = type == QT_Q6_K ? bsize - 2 : 0;
		for (i = 0; i < (type == QT_Q6_K || type == QT_Q8_0 ? 1u :
		    2u); i++) {
			h = qt_f32_to_f16(frand(seed) * 0.01f);
			memcpy(p + off + 2 * i, &h, sizeof h);
		}
	}
}

/* What check_order() makes random bytes of. */
#define RAW_W	1
#define RAW_A	2

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
	const struct qt_traits	*wt = qt_get(type), *at;
	gemm_fn			 g = gemm_get_variant(type, order, vnni);
	qt_dot_fn		 dot = order == GEMM_RP1 ? wt->dot_rp1 :
				    order == GEMM_RP4 ? wt->dot_rp4 : wt->dot;
	size_t			 wrow, arow;
	uint8_t			*w, *a;
	float			*x, *y, d;
	unsigned		 seed = (unsigned)(k * 31 + nr * 7 + nt);
	int			 r, t, i, same = 1;

	at = qt_get(wt->dot_type);
	qt_row_size(type, k, &wrow);
	qt_row_size(wt->dot_type, k, &arow);
	w = malloc(wrow * nr);
	a = malloc(arow * nt);
	x = malloc(k * sizeof *x);
	y = malloc((size_t)(nr + 3) * nt * sizeof *y);
	if (g == NULL || dot == NULL) {
		skip("no tiled kernel for this type and order");
		goto out;
	}
	for (r = 0; r < nr; r++) {
		for (i = 0; i < k; i++)
			x[i] = frand(&seed) * (1 + r % 3) + (r % 4 == 1 ?
			    0.5f : 0);
		qt_quantize_weights(type, x, w + r * wrow, k);
	}
	for (t = 0; t < nt; t++) {
		for (i = 0; i < k; i++)
			x[i] = frand(&seed) * (3 + t % 5) - (t % 3 == 2 ?
			    1.5f : 0);
		at->from_f32(x, a + t * arow, k);
	}
	if (raw & RAW_W)
		raw_k(type, w, wrow * nr / wt->bsize, &seed);
	if (raw & RAW_A)
		raw_k(wt->dot_type, a, arow * nt / at->bsize, &seed);
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
	free(x);
	free(y);
}

/*
 * The repacked Q4_0 kernels against a scalar statement of the arithmetic
 * they promise (llama.cpp's repacked Q4_0 order): per row and block the
 * exact integer dot, then acc = fma(isum, d_w * d_a, acc), block by block.
 */
static void
check_rp(int k, int nr, int nt, int vnni)
{
	struct mtensor	 w;
	gemm_rp_fn	 g = gemm_get_rp_variant(RP_Q4_0X8, vnni);
	size_t		 wrow, arow;
	uint8_t		*wd, *a;
	float		*x, *y, *af;
	int32_t		*as8;
	unsigned	 seed = (unsigned)(k + nr * 13 + nt * 101);
	int		 r, t, b, j, nb = k / 32, same = 1;

	qt_row_size(QT_Q4_0, k, &wrow);
	qt_row_size(QT_Q8_0, k, &arow);
	wd = malloc(wrow * nr);
	a = malloc(arow * nt);
	x = malloc(k * sizeof *x);
	y = malloc((size_t)nr * nt * sizeof *y);
	af = malloc((size_t)nb * nt * sizeof *af);
	as8 = malloc((size_t)nb * nt * sizeof *as8);
	for (r = 0; r < nr; r++) {
		for (j = 0; j < k; j++)
			x[j] = frand(&seed) * (1 + r % 5);
		qt_quantize_weights(QT_Q4_0, x, wd + r * wrow, k);
	}
	for (t = 0; t < nt; t++) {
		for (j = 0; j < k; j++)
			x[j] = frand(&seed) * 4;
		qt_get(QT_Q8_0)->from_f32(x, a + t * arow, k);
		gemm_act_sums(a + t * arow, k, af + t * nb, as8 + t * nb);
	}
	memset(&w, 0, sizeof w);
	w.data = wd;
	w.type = QT_Q4_0;
	w.ne0 = k;
	w.ne1 = nr;
	w.row_size = wrow;
	if (g == NULL) {
		skip("this CPU lacks the kernel variant");
		goto out;
	}
	if (repack_tensor(&w, 0) <= 0) {
		ok(0, "repack %d x %d", k, nr);
		goto out;
	}
	g(k, w.rp, nr, a, arow, af, as8, nt, y, nr);
	for (r = 0; r < nr; r++)
		for (t = 0; t < nt; t++) {
			const uint8_t	*wr = wd + r * wrow;
			const uint8_t	*at = a + t * arow;
			float		 acc = 0;

			for (b = 0; b < nb; b++) {
				uint16_t	dwh, dah;
				int32_t		isum = 0;

				memcpy(&dwh, wr + b * 18, 2);
				memcpy(&dah, at + b * 34, 2);
				for (j = 0; j < 16; j++) {
					int	lo = (wr[b * 18 + 2 + j] & 15) - 8;
					int	hi = (wr[b * 18 + 2 + j] >> 4) - 8;

					isum += lo * (int8_t)at[b * 34 + 2 + j];
					isum += hi *
					    (int8_t)at[b * 34 + 2 + 16 + j];
				}
				acc = fmaf((float)isum, qt_f16_to_f32(dwh) *
				    qt_f16_to_f32(dah), acc);
			}
			if (memcmp(&acc, &y[t * nr + r], sizeof acc) != 0)
				same = 0;
		}
	ok(same, "repacked Q4_0 (%s) k=%d, %d rows x %d tokens: every output "
	    "is the stated integer sum and FMA chain", vnni ? "VNNI" : "AVX2",
	    k, nr, nt);
	repack_free(&w);
out:
	free(wd);
	free(a);
	free(x);
	free(y);
	free(af);
	free(as8);
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
	static const uint32_t	types[] = { QT_Q8_0, QT_Q4_0 };
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
	/* Q8_0's VNNI tile needs the activations its quantizer makes
	 * (in [-127, 127]); any weight bytes will do. */
	for (j = 0; j < sizeof shapes / sizeof shapes[0]; j++)
		check_order(QT_Q8_0, GEMM_DOT, 1, shapes[j][0], shapes[j][1],
		    shapes[j][2], 0);
	check_order(QT_Q8_0, GEMM_DOT, 0, 1024, 13, 7, RAW_W);
	check_order(QT_Q8_0, GEMM_DOT, 1, 1024, 13, 7, RAW_W);
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
	for (i = 0; i < 2; i++) {
		check_rp(64, 8, 1, (int)i);
		check_rp(2048, 16, 7, (int)i);
		check_rp(4096, 24, 64, (int)i);
		check_rp(96, 8, 3, (int)i);
	}
	qt_force_ref(1);
	ok(gemm_get(QT_Q8_0) == NULL, "no tiled kernel when the scalar "
	    "kernels are forced");
	qt_force_ref(0);
	return tap_done();
}
