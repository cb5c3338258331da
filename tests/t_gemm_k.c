/*
 * The K-quant prompt tiles of gemm_k.c, every variant (AVX2 and
 * AVX512-VNNI) against the dot kernels of its order: every output must be
 * the very same float as the dot of that weight row with that activation
 * row, for row counts past the 8- and 16-row groups and token tails.
 * Q4_K rows repacked at load go through their own kernel, the same way.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "engine/gemm.h"
#include "engine/gemm_k.h"
#include "engine/model.h"
#include "engine/quant.h"
#include "engine/repack.h"
#include "tests/krand.h"
#include "tests/tap.h"


/* Every one of nr x nt outputs (stride ys) is the dot of its weight row
 * and activation row, bit for bit, and the stride's gap was left alone
 * (poison() filled it). */
static int
same_as_dots(qt_dot_fn dot, int k, const uint8_t *w, size_t wrow, int nr,
    const uint8_t *a, size_t arow, int nt, const float *y, size_t ys)
{
	float	d;
	int	r, t, same = 1;

	for (r = 0; r < nr; r++)
		for (t = 0; t < nt; t++) {
			dot(k, &d, w + r * wrow, a + t * arow);
			if (memcmp(&d, &y[t * ys + r], sizeof d) != 0)
				same = 0;
		}
	for (t = 0; t < nt; t++)
		for (r = nr; r < (int)ys; r++)
			if (y[t * ys + r] != -12345.0f)
				same = 0;
	return same;
}

/* So that an output never written cannot match by luck. */
static void
poison(float *y, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		y[i] = -12345.0f;
}

/*
 * Variant vnni of the tile of a type in an order against that order's
 * dot, nr rows by nt tokens of k values; returns -1 (and reports a skip)
 * if there is no such tile, else whether all outputs were identical.
 */
static int
check(uint32_t type, int order, int vnni, int k, int nr, int nt, int raw)
{
	static const char	*names[] = { "dot", "dot_rp1", "dot_rp4" };
	const struct qt_traits	*wt = qt_get(type);
	gemm_fn			 g = gemm_k_get_variant(type, order, vnni);
	qt_dot_fn		 dot = order == GEMM_RP1 ? wt->dot_rp1 :
				    order == GEMM_RP4 ? wt->dot_rp4 : wt->dot;
	size_t			 wrow, arow, ys = (size_t)nr + 3;
	uint8_t			*w, *a;
	float			*y;
	unsigned		 seed = (unsigned)(k * 31 + nr * 7 + nt + raw);
	int			 same;

	if (g == NULL || dot == NULL) {
		skip("no such tile on this CPU");
		return -1;
	}
	qt_row_size(type, k, &wrow);
	qt_row_size(wt->dot_type, k, &arow);
	w = malloc(wrow * nr);
	a = malloc(arow * nt);
	y = malloc(ys * nt * sizeof *y);
	k_operands(type, k, nr, nt, raw, &seed, w, wrow, a, arow);
	poison(y, ys * nt);
	g(k, w, wrow, nr, a, arow, nt, y, ys);
	same = same_as_dots(dot, k, w, wrow, nr, a, arow, nt, y, ys);
	ok(same, "%s%s (%s) k=%d, %d rows x %d tokens: every output equals "
	    "the %s", raw ? "raw " : "", wt->name, vnni ? "VNNI" : "AVX2", k,
	    nr, nt, names[order]);
	free(w);
	free(a);
	free(y);
	return same;
}

/*
 * Q4_K rows repacked at load (repack.c, RP_Q4_KX16) through their kernel
 * (gemm_k_get_rp), in both repacked orders, against the dots on the
 * file's rows; then every row read back from the copy.  Returns -1 (and
 * reports a skip) where the kernel does not run.
 */
static int
check_rp(int order, int k, int nr, int nt, int raw)
{
	static const char	*names[] = { "dot", "dot_rp1", "dot_rp4" };
	const struct qt_traits	*wt = qt_get(QT_Q4_K);
	gemm_rpk_fn		 g = gemm_k_get_rp(RP_Q4_KX16);
	qt_dot_fn		 dot = order == GEMM_RP1 ? wt->dot_rp1 :
				    wt->dot_rp4;
	struct mtensor		 m;
	size_t			 wrow, arow, ys = (size_t)nr + 5;
	uint8_t			*w, *a;
	float			*x, *y, *f;
	unsigned		 seed = (unsigned)(k * 13 + nr * 5 + nt + raw);
	int			 r, same = 0, back = 1;
	long			 bytes;

	if (g == NULL) {
		skip("no repacked Q4_K kernel on this CPU");
		return -1;
	}
	qt_row_size(QT_Q4_K, k, &wrow);
	qt_row_size(QT_Q8_K, k, &arow);
	w = malloc(wrow * nr);
	a = malloc(arow * nt);
	x = malloc(k * sizeof *x);
	f = malloc(k * sizeof *f);
	y = malloc(ys * nt * sizeof *y);
	k_operands(QT_Q4_K, k, nr, nt, raw, &seed, w, wrow, a, arow);
	memset(&m, 0, sizeof m);
	m.data = w;
	m.type = QT_Q4_K;
	m.ne0 = k;
	m.ne1 = nr;
	m.row_size = wrow;
	m.name = "blk.0.ffn_up.weight";
	bytes = repack_tensor(&m, 0);
	poison(y, ys * nt);
	if (bytes == (long)(wrow * nr) && m.rp_kind == RP_Q4_KX16) {
		g(k, m.rp, nr, a, arow, nt, y, ys, order);
		same = same_as_dots(dot, k, w, wrow, nr, a, arow, nt, y, ys);
	}
	ok(same, "%srepacked Q4_K k=%d, %d rows x %d tokens (%ld bytes, "
	    "the file's): every output equals the %s", raw ? "raw " : "", k,
	    nr, nt, bytes, names[order]);
	for (r = 0; r < nr && m.rp != NULL; r++) {
		wt->to_f32(w + r * wrow, x, k);
		if (repack_row_f32(&m, r, f) != 0 ||
		    memcmp(x, f, k * sizeof *x) != 0)
			back = 0;
	}
	ok(back && m.rp != NULL, "  every row read back from the copy is "
	    "the file's row");
	repack_free(&m);
	free(w);
	free(a);
	free(x);
	free(f);
	free(y);
	return same;
}

/* The embedding table and rows not in sixteens stay as they are. */
static void
check_rp_not(void)
{
	struct mtensor	m;
	size_t		wrow;
	uint8_t		*w;
	long		a, b;

	qt_row_size(QT_Q4_K, 256, &wrow);
	w = calloc(32, wrow);
	memset(&m, 0, sizeof m);
	m.data = w;
	m.type = QT_Q4_K;
	m.ne0 = 256;
	m.ne1 = 32;
	m.row_size = wrow;
	m.name = "token_embd.weight";
	a = repack_tensor(&m, 0);
	m.name = "blk.0.attn_q.weight";
	m.ne1 = 24;
	b = repack_tensor(&m, 0);
	ok(a == 0 && b == 0 && m.rp == NULL, "Q4_K: the token embedding and "
	    "24 rows are not repacked (%ld, %ld)", a, b);
	free(w);
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
	 * the tiles of 4 and 8 and the passes of 64 (of 256 for Q6_K with
	 * VNNI). */
	static const int	shapes[][3] = { { 256, 16, 4 },
				    { 512, 16, 64 }, { 256, 17, 5 },
				    { 768, 23, 13 }, { 256, 31, 1 },
				    { 256, 32, 3 }, { 512, 33, 70 },
				    { 1024, 7, 9 }, { 256, 48, 8 },
				    { 2048, 16, 67 }, { 256, 1, 2 },
				    { 256, 17, 262 } };
	static const uint32_t	types[] = { QT_Q2_K, QT_Q3_K, QT_Q4_K,
				    QT_Q6_K };
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
	for (o = GEMM_RP1; o <= GEMM_RP4; o++) {
		if (check_rp(o, 256, 16, 1, 0) < 0)
			break;
		check_rp(o, 2048, 32, 1, 0);
		check_rp(o, 512, 48, 3, 0);
		check_rp(o, 768, 16, 13, 0);
		check_rp(o, 256, 32, 70, 0);
		check_rp(o, 512, 16, 1, RAW_W | RAW_A);
		check_rp(o, 768, 32, 9, RAW_W | RAW_A);
	}
	check_rp_not();
	check_pick();
	return tap_done();
}
