/*
 * The K-quant prompt tiles of gemm_k.c, every variant (AVX2 and
 * AVX512-VNNI) against the dot kernels of its order: every output must be
 * the very same float as the dot of that weight row with that activation
 * row, for row counts past the 8- and 16-row groups and token tails.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "engine/gemm.h"
#include "engine/gemm_k.h"
#include "engine/quant.h"
#include "tests/krand.h"
#include "tests/tap.h"

#define RAW_W	1	/* random weight bytes */
#define RAW_A	2	/* random activation bytes */

/*
 * Variant vnni of the tile of a type in an order against that order's
 * dot, nr rows by nt tokens of k values; returns -1 (and reports a skip)
 * if there is no such tile, else whether all outputs were identical.
 */
static int
check(uint32_t type, int order, int vnni, int k, int nr, int nt, int raw)
{
	static const char	*names[] = { "dot", "dot_rp1", "dot_rp4" };
	const struct qt_traits	*wt = qt_get(type), *at;
	gemm_fn			 g = gemm_k_get_variant(type, order, vnni);
	qt_dot_fn		 dot = order == GEMM_RP1 ? wt->dot_rp1 :
				    order == GEMM_RP4 ? wt->dot_rp4 : wt->dot;
	size_t			 wrow, arow, ys = (size_t)nr + 3;
	uint8_t			*w, *a;
	float			*x, *y, d;
	unsigned		 seed = (unsigned)(k * 31 + nr * 7 + nt + raw);
	int			 r, t, i, same = 1;

	if (g == NULL || dot == NULL) {
		skip("no such tile on this CPU");
		return -1;
	}
	at = qt_get(wt->dot_type);
	qt_row_size(type, k, &wrow);
	qt_row_size(wt->dot_type, k, &arow);
	w = malloc(wrow * nr);
	a = malloc(arow * nt);
	x = malloc(k * sizeof *x);
	y = malloc(ys * nt * sizeof *y);
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
	/* Poison, so that an output never written cannot match by luck. */
	for (i = 0; i < (int)ys * nt; i++)
		y[i] = -12345.0f;
	g(k, w, wrow, nr, a, arow, nt, y, ys);
	for (r = 0; r < nr; r++)
		for (t = 0; t < nt; t++) {
			dot(k, &d, w + r * wrow, a + t * arow);
			if (memcmp(&d, &y[t * ys + r], sizeof d) != 0)
				same = 0;
		}
	/* The stride's gap must be left alone. */
	for (t = 0; t < nt; t++)
		for (r = nr; r < (int)ys; r++)
			if (y[t * ys + r] != -12345.0f)
				same = 0;
	ok(same, "%s%s (%s) k=%d, %d rows x %d tokens: every output equals "
	    "the %s", raw ? "raw " : "", wt->name, vnni ? "VNNI" : "AVX2", k,
	    nr, nt, names[order]);
	free(w);
	free(a);
	free(x);
	free(y);
	return same;
}

/* gemm_k_get hands out the VNNI tiles where they exist, unless
 * YANGTUO_NO_VNNI says otherwise. */
static void
check_pick(void)
{
	const char	*off = getenv("YANGTUO_NO_VNNI");
	int		 want = off == NULL || *off == '\0' || *off == '0';
	int		 o, good = 1;
	gemm_fn		 v;

	for (o = GEMM_DOT; o <= GEMM_RP4; o++) {
		v = gemm_k_get_variant(QT_Q4_K, o, 1);
		if (gemm_k_get(QT_Q4_K, o) != (want && v != NULL ? v :
		    gemm_k_get_variant(QT_Q4_K, o, 0)))
			good = 0;
	}
	v = gemm_k_get_variant(QT_Q6_K, GEMM_DOT, 1);
	if (gemm_k_get(QT_Q6_K, GEMM_DOT) != (want && v != NULL ? v :
	    gemm_k_get_variant(QT_Q6_K, GEMM_DOT, 0)))
		good = 0;
	ok(good, "gemm_k_get picks the %s tiles", want ? "VNNI (where "
	    "this CPU has them)" : "AVX2");
}

int
main(void)
{
	/* Row counts around the 8- and 16-row groups, token counts around
	 * the tiles of 4 and 8 and the passes of 64. */
	static const int	shapes[][3] = { { 256, 16, 4 },
				    { 512, 16, 64 }, { 256, 17, 5 },
				    { 768, 23, 13 }, { 256, 31, 1 },
				    { 256, 32, 3 }, { 512, 33, 70 },
				    { 1024, 7, 9 }, { 256, 48, 8 },
				    { 2048, 16, 67 }, { 256, 1, 2 } };
	static const uint32_t	types[] = { QT_Q4_K, QT_Q6_K };
	size_t			i, j;
	int			o, v;

	qt_init();
	if (gemm_k_get(QT_Q4_K, GEMM_DOT) == NULL)
		skip_all("no K-quant tiles on this CPU");
	for (v = 0; v < 2; v++)
		for (i = 0; i < sizeof types / sizeof types[0]; i++)
			for (o = GEMM_DOT; o <= GEMM_RP4; o++) {
				if (gemm_k_get_variant(types[i], o, v) ==
				    NULL) {
					if (v == 0 || o == GEMM_DOT ||
					    types[i] == QT_Q4_K)
						skip("no such tile");
					continue;
				}
				for (j = 0; j < sizeof shapes /
				    sizeof shapes[0]; j++)
					check(types[i], o, v, shapes[j][0],
					    shapes[j][1], shapes[j][2], 0);
				check(types[i], o, v, 512, 17, 13,
				    RAW_W | RAW_A);
				check(types[i], o, v, 256, 32, 9,
				    RAW_W | RAW_A);
				check(types[i], o, v, 768, 33, 29,
				    RAW_W | RAW_A);
			}
	check_pick();
	return tap_done();
}
