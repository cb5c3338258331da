/*
 * Tests for engine/quant_k.c and quant_k_avx2.c: the table entries of
 * Q4_1, Q5_0, Q5_1, Q2_K..Q6_K and their activation types, every AVX2
 * kernel against its _ref twin (bit for bit, dots included: both add the
 * same terms in llama.cpp's order), the dots against float64, ggml's
 * test-quantize-fns limits, and the requantization of ktest-F16.gguf into
 * the bytes llama.cpp's quantizer wrote.
 */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/gguf.h"
#include "engine/quant.h"
#include "tests/tap.h"

/* test-quantize-fns.cpp's limits. */
#define MAX_QUANTIZATION_TOTAL_ERROR		0.002f
#define MAX_QUANTIZATION_TOTAL_ERROR_2BITS	0.0075f
#define MAX_QUANTIZATION_TOTAL_ERROR_3BITS	0.0040f
#define MAX_DOT_PRODUCT_ERROR			0.02f
#define MAX_DOT_PRODUCT_ERROR_LOWBIT		0.04f
/* A float dot against the float64 one of the same quants. */
#define DOT_REL_TOL				1e-5

static const uint32_t	types[] = { QT_Q4_1, QT_Q5_0, QT_Q5_1, QT_Q2_K,
			    QT_Q3_K, QT_Q4_K, QT_Q5_K, QT_Q6_K };
#define NTYPES	(sizeof types / sizeof types[0])

static uint64_t	rng_state = 0x2545f4914f6cdd1dULL;
static int	have_simd;

static uint64_t
rng_next(void)
{
	uint64_t	z;

	z = (rng_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [-1, 1). */
static float
rng_float(void)
{
	return (float)((double)(rng_next() >> 40) / (1 << 23) - 1.0);
}

static float
bits_f32(uint32_t u)
{
	float	f;

	memcpy(&f, &u, sizeof f);
	return f;
}

/* Random data whose scale changes every 16 values (so sub-block scales
 * spread), with outliers, zeros and repeated values now and then. */
static void
fill_random(float *x, int64_t n)
{
	int64_t	i;
	float	scale = 1.0f;

	for (i = 0; i < n; i++) {
		if (i % 16 == 0)
			scale = ldexpf(1.0f, (int)(rng_next() % 17) - 8);
		x[i] = rng_float() * scale;
		switch (rng_next() % 61) {
		case 0:
			x[i] *= 10.0f;
			break;
		case 1:
			x[i] = 0.0f;
			break;
		case 2:
			if (i > 0)
				x[i] = -x[i - 1];
			break;
		}
	}
}

/* test-quantize-fns.cpp's generate_data(). */
static void
fill_ggml(float *x, int64_t n, float offset)
{
	int64_t	i;

	for (i = 0; i < n; i++)
		x[i] = 0.1f + 2.0f * cosf((float)i + offset);
}

/* test-quantize-fns.cpp's array_rmse(): sqrt(sum of squares) / n. */
static float
ggml_rmse(const float *a, const float *b, int64_t n)
{
	double	sum = 0, d;
	int64_t	i;

	for (i = 0; i < n; i++) {
		d = a[i] - b[i];
		sum += d * d;
	}
	return (float)(sqrt(sum) / n);
}

static void *
xalloc(size_t n)
{
	void	*p = calloc(1, n + 64);

	if (p == NULL) {
		printf("Bail out! out of memory\n");
		exit(1);
	}
	return p;
}

static int
same_f32(float a, float b)
{
	return memcmp(&a, &b, sizeof a) == 0;
}

/* ---------------------------------------------------------------------- */

static void
test_table(void)
{
	const struct qt_traits	*t;
	size_t			 i;
	int			 good;

	good = 1;
	for (i = 0; i < NTYPES; i++) {
		t = qt_get(types[i]);
		good &= t->compute && t->to_f32 != NULL &&
		    t->from_f32 != NULL && t->dot != NULL &&
		    t->to_f32_ref != NULL && t->from_f32_ref != NULL &&
		    t->dot_ref != NULL;
	}
	ok(good, "Q4_1 Q5_0 Q5_1 Q2_K Q3_K Q4_K Q5_K Q6_K are computed, "
	    "with every kernel");
	good = 1;
	for (i = 0; i < NTYPES; i++) {
		t = qt_get(types[i]);
		if (types[i] == QT_Q4_1 || types[i] == QT_Q5_1)
			good &= t->dot_type == QT_Q8_1;
		else if (types[i] == QT_Q5_0)
			good &= t->dot_type == QT_Q8_0;
		else
			good &= t->dot_type == QT_Q8_K;
	}
	ok(good, "dot types: Q8_1 for Q4_1/Q5_1, Q8_0 for Q5_0, Q8_K for "
	    "the K-quants");
	good = 1;
	for (i = 0; i < 2; i++) {
		t = qt_get(i == 0 ? QT_Q8_1 : QT_Q8_K);
		good &= !t->compute && t->dot == NULL && t->to_f32 != NULL &&
		    t->from_f32 != NULL && t->to_f32_ref != NULL &&
		    t->from_f32_ref != NULL;
	}
	good &= qt_quantize_weights(QT_Q8_K, NULL, NULL, 256) == -1 &&
	    qt_quantize_weights(QT_Q8_1, NULL, NULL, 32) == -1 &&
	    qt_quantize_weights(QT_Q4_K, NULL, NULL, 128) == -1;
	ok(good, "Q8_1 and Q8_K convert but are not weights");

	/* llama.cpp's builds repack Q4_K, its AVX-512 builds Q2_K too
	 * (mirrored where the VNNI kernels run); the rest keep vec_dot. */
	good = 1;
	for (i = 0; i < NTYPES; i++) {
		t = qt_get(types[i]);
		if ((types[i] == QT_Q4_K && have_simd) ||
		    (types[i] == QT_Q2_K && qt_vnni()))
			good &= t->dot_rp1 != NULL && t->dot_rp4 != NULL &&
			    t->dot_rp1_ref != NULL && t->dot_rp4_ref != NULL;
		else
			good &= t->dot_rp1 == NULL && t->dot_rp4 == NULL;
	}
	ok(good, "repacked orders for Q4_K (on AVX2 CPUs), Q2_K (with VNNI) "
	    "and no other");
}

/* ---------------------------------------------------------------------- */

/* The fp16 at byte offset off of block b of a row of bsize-byte blocks. */
static float
block_f16(const void *row, size_t bsize, int b, size_t off)
{
	uint16_t	h;

	memcpy(&h, (const uint8_t *)row + (size_t)b * bsize + off, sizeof h);
	return qt_f16_to_f32(h);
}

/*
 * The float64 dot of two rows by the _ref dequantizers, and the sum of
 * the terms' magnitudes (the scale of a float sum's rounding).  Against
 * Q8_1 the min term is m * s, s = fp16(d * sum of quants) as stored, so
 * the sum is taken as llama.cpp defines it: sum (x - m) y + m s.
 */
static double
dot64(const struct qt_traits *t, const void *qx, const void *qy, int n,
    double *mag)
{
	const struct qt_traits	*dt = qt_get(t->dot_type);
	float			*fx = xalloc((size_t)n * sizeof *fx);
	float			*fy = xalloc((size_t)n * sizeof *fy);
	double			 sum = 0, m = 0, v;
	int			 i, b;

	t->to_f32_ref(qx, fx, n);
	dt->to_f32_ref(qy, fy, n);
	*mag = 0;
	for (i = 0; i < n; i++) {
		b = i / 32;
		if (t->dot_type == QT_Q8_1) {
			/* m is stored after d in Q4_1 and Q5_1. */
			m = block_f16(qx, t->bsize, b, 2);
			if (i % 32 == 0) {
				v = m * block_f16(qy, dt->bsize, b, 2);
				sum += v;
				*mag += fabs(v);
			}
		}
		v = ((double)fx[i] - m) * fy[i];
		sum += v;
		*mag += fabs(v);
	}
	free(fx);
	free(fy);
	return sum;
}

/* A dot kernel pair (SIMD, _ref) on one row pair: bit-equal, and near the
 * float64 dot. */
static void
check_dot(const char *what, qt_dot_fn dot, qt_dot_fn ref, int n,
    const void *qx, const void *qy, double want, double mag)
{
	float	sr, sd;

	ref(n, &sr, qx, qy);
	ok(fabs(sr - want) <= DOT_REL_TOL * mag + 1e-30,
	    "%s n=%d: dot ref = float64 dot (%.9g vs %.9g)", what, n, sr,
	    want);
	if (!have_simd) {
		skip("no AVX2");
		return;
	}
	dot(n, &sd, qx, qy);
	ok(same_f32(sd, sr), "%s n=%d: dot avx2 = ref, bit for bit (%.9g)",
	    what, n, sd);
}

/* One type at one length: quantizers, dequantizers and dots. */
static void
test_kernels(uint32_t type, int n)
{
	const struct qt_traits	*t = qt_get(type);
	const struct qt_traits	*dt = qt_get(t->dot_type);
	size_t			 wsz, asz;
	float			*x, *y, *o1, *o2;
	uint8_t			*qx, *qx2, *qy, *qy2;
	double			 want, mag;
	char			 what[64];

	qt_row_size(type, n, &wsz);
	qt_row_size(t->dot_type, n, &asz);
	x = xalloc((size_t)n * sizeof *x);
	y = xalloc((size_t)n * sizeof *y);
	o1 = xalloc((size_t)n * sizeof *o1);
	o2 = xalloc((size_t)n * sizeof *o2);
	qx = xalloc(wsz);
	qx2 = xalloc(wsz);
	qy = xalloc(asz);
	qy2 = xalloc(asz);
	fill_random(x, n);
	fill_random(y, n);

	t->from_f32_ref(x, qx, n);
	dt->from_f32_ref(y, qy, n);
	if (have_simd) {
		t->from_f32(x, qx2, n);
		dt->from_f32(y, qy2, n);
		t->to_f32(qx, o1, n);
		t->to_f32_ref(qx, o2, n);
		ok(memcmp(qx, qx2, wsz) == 0 && memcmp(qy, qy2, asz) == 0 &&
		    memcmp(o1, o2, (size_t)n * sizeof *o1) == 0,
		    "%s n=%d: from_f32 (weights, %s) and to_f32 avx2 = ref, "
		    "bit for bit", t->name, n, dt->name);
	} else
		skip("no AVX2");
	want = dot64(t, qx, qy, n, &mag);
	check_dot(t->name, t->dot, t->dot_ref, n, qx, qy, want, mag);
	if (t->dot_rp1 != NULL) {
		snprintf(what, sizeof what, "%s repacked gemv", t->name);
		check_dot(what, t->dot_rp1, t->dot_rp1_ref, n, qx, qy, want,
		    mag);
		snprintf(what, sizeof what, "%s repacked gemm", t->name);
		check_dot(what, t->dot_rp4, t->dot_rp4_ref, n, qx, qy, want,
		    mag);
	}
	free(x);
	free(y);
	free(o1);
	free(o2);
	free(qx);
	free(qx2);
	free(qy);
	free(qy2);
}

/* test-quantize-fns' checks on its cosine data, for the chosen kernels. */
static void
test_ggml_errors(uint32_t type)
{
	const struct qt_traits	*t = qt_get(type);
	const struct qt_traits	*dt = qt_get(t->dot_type);
	const int		 n = 32 * 128;
	size_t			 wsz, asz;
	float			*x, *y, *o, e, s, lim;
	uint8_t			*qx, *qy;
	double			 ref = 0;
	int			 i;

	qt_row_size(type, n, &wsz);
	qt_row_size(t->dot_type, n, &asz);
	x = xalloc(n * sizeof *x);
	y = xalloc(n * sizeof *y);
	o = xalloc(n * sizeof *o);
	qx = xalloc(wsz);
	qy = xalloc(asz);
	fill_ggml(x, n, 0.0f);
	fill_ggml(y, n, 1.0f);

	t->from_f32(x, qx, n);
	t->to_f32(qx, o, n);
	e = ggml_rmse(x, o, n);
	lim = type == QT_Q2_K ? MAX_QUANTIZATION_TOTAL_ERROR_2BITS :
	    type == QT_Q3_K ? MAX_QUANTIZATION_TOTAL_ERROR_3BITS :
	    MAX_QUANTIZATION_TOTAL_ERROR;
	ok(e < lim, "%s: total quantization error %g (limit %g)", t->name,
	    e, lim);

	dt->from_f32(y, qy, n);
	t->dot(n, &s, qx, qy);
	for (i = 0; i < n; i++)
		ref += x[i] * y[i];
	e = (float)fabs(s - ref) / n;
	lim = type == QT_Q2_K ? MAX_DOT_PRODUCT_ERROR_LOWBIT :
	    MAX_DOT_PRODUCT_ERROR;
	ok(e < lim, "%s: dot product error %g (limit %g)", t->name, e, lim);
	free(x);
	free(y);
	free(o);
	free(qx);
	free(qy);
}

/* ---------------------------------------------------------------------- */

/* The activation quantizers on hand-made blocks. */
static void
test_act_edges(void)
{
	const struct qt_traits	*q8k = qt_get(QT_Q8_K), *q81 = qt_get(QT_Q8_1);
	struct {
		float	d;
		int8_t	qs[256];
		int16_t	bsums[16];
	}			 a[4], b[4];
	struct {
		uint16_t	d, s;
		int8_t		qs[32];
	}			 c[32], e[32];
	float			 x[4 * 256];
	int			 i, k;

	/* The signed max sets the scale: iscale = -127 / -2 = 63.5, so 1
	 * maps to 63.5, which rounds to even. */
	memset(x, 0, sizeof x);
	x[0] = -2.0f;
	x[5] = 1.0f;
	x[20] = 0.5f;
	q8k->from_f32_ref(x, a, 256);
	ok(a[0].d == 2.0f / 127 && a[0].qs[0] == -127 && a[0].qs[5] == 64 &&
	    a[0].qs[20] == 32 && a[0].bsums[0] == -63 &&
	    a[0].bsums[1] == 32 && a[0].bsums[2] == 0,
	    "Q8_K: d = 1 / (-127 / signed max), ties to even, bsums");
	x[7] = 2.0f;
	q8k->from_f32_ref(x, a, 256);
	ok(a[0].qs[0] == -127 && a[0].qs[7] == 127,
	    "Q8_K: the first of +-max sets the sign");
	memset(x, 0, sizeof x);
	x[9] = -0.0f;
	q8k->from_f32_ref(x, a, 256);
	memset(b, 0, sizeof b);
	ok(memcmp(a, b, sizeof a[0]) == 0,
	    "Q8_K: a zero block is all zeros, bsums too");

	/* Blocks of NaN, infinities, zeros, subnormals and ties. */
	for (i = 0; i < 4 * 256; i++)
		x[i] = rng_float();
	x[3] = NAN;
	x[300] = INFINITY;
	x[301] = -INFINITY;
	for (k = 0; k < 256; k++) {
		x[512 + k] = bits_f32((uint32_t)k * 7) * (k & 1 ? 1 : -1);
		x[768 + k] = (float)((k % 9) - 4) * 0.25f;
	}
	x[600] = NAN;
	q8k->from_f32_ref(x, a, 4 * 256);
	q81->from_f32_ref(x, c, 4 * 256);
	if (!have_simd) {
		skip("no AVX2");
		return;
	}
	q8k->from_f32(x, b, 4 * 256);
	q81->from_f32(x, e, 4 * 256);
	ok(memcmp(a, b, sizeof a) == 0 && memcmp(c, e, sizeof c) == 0,
	    "Q8_K/Q8_1 from_f32 avx2 = ref on NaN, inf, 0, subnormal blocks");
}

/* Known blocks of the 32-value weight types. */
static void
test_weight_edges(void)
{
	struct {
		uint16_t	d, m;
		uint8_t		qs[16];
	}		b41;
	struct {
		uint16_t	d;
		uint8_t		qh[4], qs[16];
	}		b50;
	float		x[32], y[32];
	int		j;

	for (j = 0; j < 32; j++)
		x[j] = (float)j - 1.0f;
	qt_get(QT_Q4_1)->from_f32_ref(x, &b41, 32);
	qt_get(QT_Q4_1)->to_f32_ref(&b41, y, 32);
	ok(qt_f16_to_f32(b41.m) == -1.0f &&
	    qt_f16_to_f32(b41.d) == qt_f16_to_f32(qt_f32_to_f16(31.0f / 15)) &&
	    (b41.qs[0] & 15) == 0 && (b41.qs[15] >> 4) == 15 &&
	    y[0] == -1.0f, "Q4_1: min -> 0, max -> 15, m = min");

	memset(x, 0, sizeof x);
	x[2] = 3.0f;
	x[17] = -3.0f;
	x[4] = 1.5f;
	qt_get(QT_Q5_0)->from_f32_ref(x, &b50, 32);
	qt_get(QT_Q5_0)->to_f32_ref(&b50, y, 32);
	ok(qt_f16_to_f32(b50.d) == -3.0f / 16 && y[2] == 3.0f &&
	    y[17] == -3.0f * 15 / 16 && y[4] == 1.5f && y[0] == 0.0f,
	    "Q5_0: the first signed max maps to -16 (%g %g %g)", y[2],
	    y[17], y[4]);
}

/* to_f32 on blocks of random bytes (any scale, NaN included). */
static void
test_random_blocks(void)
{
	static const uint32_t	all[] = { QT_Q4_1, QT_Q5_0, QT_Q5_1,
				    QT_Q2_K, QT_Q3_K, QT_Q4_K, QT_Q5_K,
				    QT_Q6_K, QT_Q8_1, QT_Q8_K };
	const struct qt_traits	*t;
	const int		 n = 16 * 256;
	uint8_t			*q;
	float			*o1, *o2;
	size_t			 i, k, sz;
	int			 good = 1;

	if (!have_simd) {
		skip("no AVX2");
		return;
	}
	o1 = xalloc(n * sizeof *o1);
	o2 = xalloc(n * sizeof *o2);
	for (i = 0; i < sizeof all / sizeof all[0]; i++) {
		t = qt_get(all[i]);
		qt_row_size(all[i], n, &sz);
		q = xalloc(sz);
		for (k = 0; k < sz; k++)
			q[k] = (uint8_t)rng_next();
		t->to_f32(q, o1, n);
		t->to_f32_ref(q, o2, n);
		if (memcmp(o1, o2, n * sizeof *o1) != 0) {
			diag("%s differs", t->name);
			good = 0;
		}
		free(q);
	}
	ok(good, "to_f32 avx2 = ref on random blocks of every type");
	free(o1);
	free(o2);
}

/* ---------------------------------------------------------------------- */

/*
 * Requantize every tensor of dst whose type is one of ours from src's
 * F16 tensor of the same name, and compare with llama.cpp's bytes; the
 * dequantizers must agree on them too.
 */
static void
test_file(const char *src, const char *dst)
{
	struct gguf		*gs = NULL, *gd = NULL;
	const struct gguf_tensor *td, *ts;
	const struct qt_traits	*t, *tf;
	char			*ps, *pd, *cause = NULL;
	char			 seen[128] = "";
	uint64_t		 i;
	size_t			 k, sz;
	float			*f, *g;
	void			*q;
	uint32_t		 r;
	int			 n = 0, same = 1, deq = 1, ours;

	if (asprintf(&ps, "%s/models/%s", tap_testdata(), src) < 0 ||
	    asprintf(&pd, "%s/models/%s", tap_testdata(), dst) < 0)
		abort();
	if ((gs = gguf_open(ps, &cause)) == NULL ||
	    (gd = gguf_open(pd, &cause)) == NULL) {
		diag("%s", cause);
		skip("test data missing");
		skip("test data missing");
		goto out;
	}
	for (i = 0; i < gd->n_tensors; i++) {
		td = &gd->tensors[i];
		for (k = 0, ours = 0; k < NTYPES; k++)
			ours |= td->type == types[k];
		if (!ours)
			continue;
		ts = gguf_find_tensor(gs, td->name);
		t = qt_get(td->type);
		tf = ts != NULL ? qt_get(ts->type) : NULL;
		if (tf == NULL || !tf->compute || ts->nbytes == 0 ||
		    memcmp(ts->ne, td->ne, sizeof ts->ne) != 0) {
			diag("%s: no source tensor", td->name);
			same = 0;
			continue;
		}
		for (k = 1, r = 0; r < ts->n_dims; r++)
			k *= (size_t)ts->ne[r];
		qt_row_size(td->type, (int64_t)k, &sz);
		f = xalloc(k * sizeof *f);
		g = xalloc(k * sizeof *g);
		q = xalloc(sz);
		tf->to_f32_ref(ts->data, f, (int64_t)k);
		if (qt_quantize_weights(td->type, f, q, (int64_t)k) != 0 ||
		    sz != td->nbytes || memcmp(q, td->data, sz) != 0) {
			diag("%s (%s) differs", td->name, t->name);
			same = 0;
		}
		t->to_f32(td->data, f, (int64_t)k);
		t->to_f32_ref(td->data, g, (int64_t)k);
		deq &= memcmp(f, g, k * sizeof *f) == 0;
		if (strstr(seen, t->name) == NULL &&
		    strlen(seen) + strlen(t->name) + 2 < sizeof seen) {
			strcat(seen, " ");
			strcat(seen, t->name);
		}
		free(f);
		free(g);
		free(q);
		n++;
	}
	ok(n > 0 && same, "%s: %d tensors (%s ) requantized from %s are "
	    "llama.cpp's bytes", dst, n, seen, src);
	ok(n > 0 && deq, "%s: to_f32 avx2 = ref on them", dst);
out:
	gguf_close(gs);
	gguf_close(gd);
	free(cause);
	free(ps);
	free(pd);
}

int
main(void)
{
	static const int	lens32[] = { 32, 64, 96, 4096 + 32 };
	static const int	lensK[] = { 256, 512, 768, 4096 + 256 };
	static const char	*files[] = { "Q4_1", "Q5_0", "Q5_1", "Q2_K",
				    "Q3_K", "Q4_K", "Q5_K", "Q6_K",
				    "mix-Q2_K", "mix-Q3_K_M", "mix-Q4_K_M",
				    "mix-Q5_K_M" };
	char			 name[64];
	size_t			 i, k;
	int			 r;

	qt_init();
	have_simd = strcmp(qt_simd_name(), "scalar") != 0;
	diag("kernels: %s", qt_simd_name());

	test_table();
	for (i = 0; i < NTYPES; i++) {
		for (k = 0; k < 4; k++)
			test_kernels(types[i], qt_get(types[i])->blck == 32 ?
			    lens32[k] : lensK[k]);
		/* More rows at one length: rounding cases are rare. */
		for (r = 0; r < 16; r++)
			test_kernels(types[i], qt_get(types[i])->blck == 32 ?
			    1024 : 2048);
		test_ggml_errors(types[i]);
	}
	test_act_edges();
	test_weight_edges();
	test_random_blocks();
	for (i = 0; i < sizeof files / sizeof files[0]; i++) {
		snprintf(name, sizeof name, "ktest/ktest-%s.gguf", files[i]);
		test_file("ktest/ktest-F16.gguf", name);
	}
	return tap_done();
}
