/*
 * The tiled prompt kernels against the dot kernels: for every weight type
 * that has one, every output must be the very same float as the dot of
 * that weight row with that activation row (prefill and decode then
 * compute identical numbers), for tile shapes with every remainder.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "engine/gemm.h"
#include "engine/quant.h"
#include "tests/tap.h"

static float
frand(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return ((*s >> 8) / 16777216.0f - 0.5f) * 2.0f;
}

static void
check(uint32_t type, int k, int nr, int nt)
{
	const struct qt_traits	*wt = qt_get(type), *at;
	gemm_fn			 g = gemm_get(type);
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
	y = malloc((size_t)nr * nt * sizeof *y);
	for (r = 0; r < nr; r++) {
		for (i = 0; i < k; i++)
			x[i] = frand(&seed) * (1 + r % 3);
		qt_quantize_weights(type, x, w + r * wrow, k);
	}
	for (t = 0; t < nt; t++) {
		for (i = 0; i < k; i++)
			x[i] = frand(&seed) * 3;
		at->from_f32(x, a + t * arow, k);
	}
	g(k, w, wrow, nr, a, arow, nt, y, nr);
	for (r = 0; r < nr; r++)
		for (t = 0; t < nt; t++) {
			wt->dot(k, &d, w + r * wrow, a + t * arow);
			if (memcmp(&d, &y[t * nr + r], sizeof d) != 0)
				same = 0;
		}
	ok(same, "%s k=%d, %d rows x %d tokens: every output equals the dot",
	    wt->name, k, nr, nt);
	free(w);
	free(a);
	free(x);
	free(y);
}

int
main(void)
{
	static const uint32_t	types[] = { QT_Q8_0, QT_Q4_0 };
	static const int	shapes[][3] = { { 32, 1, 1 }, { 64, 4, 2 },
				    { 2048, 16, 64 }, { 256, 7, 5 },
				    { 4096, 3, 3 }, { 96, 17, 9 } };
	size_t			i, j;

	qt_init();
	if (gemm_get(QT_Q8_0) == NULL)
		skip_all("no tiled kernels on this CPU");
	for (i = 0; i < sizeof types / sizeof types[0]; i++)
		for (j = 0; j < sizeof shapes / sizeof shapes[0]; j++)
			check(types[i], shapes[j][0], shapes[j][1],
			    shapes[j][2]);
	qt_force_ref(1);
	ok(gemm_get(QT_Q8_0) == NULL, "no tiled kernel when the scalar "
	    "kernels are forced");
	qt_force_ref(0);
	return tap_done();
}
