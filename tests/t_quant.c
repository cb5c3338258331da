/*
 * Tests for engine/quant.c: the type table and row sizes, fp16/bf16
 * conversions (exhaustive over halves), and every AVX2 kernel against its
 * _ref twin, plus llama.cpp test-quantize-fns' error limits.
 */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/quant.h"
#include "tests/tap.h"

/* test-quantize-fns.cpp's limits. */
#define MAX_QUANTIZATION_REFERENCE_ERROR	0.0001f
#define MAX_QUANTIZATION_TOTAL_ERROR		0.002f
#define MAX_DOT_PRODUCT_ERROR			0.02f
/* SIMD against _ref dots: summation order only. */
#define DOT_REL_TOL				1e-5

static uint64_t	rng_state = 0x9e3779b97f4a7c15ULL;
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

static uint32_t
f32_bits(float f)
{
	uint32_t	u;

	memcpy(&u, &f, sizeof u);
	return u;
}

/* Random float bit patterns: NaNs, infinities, subnormals and all. */
static void
fill_bits(float *f, size_t n)
{
	uint32_t	u;
	size_t		i;

	for (i = 0; i < n; i++) {
		u = (uint32_t)rng_next();
		memcpy(&f[i], &u, sizeof u);
	}
}

/* Random data whose scale changes every 32 values, to spread the block
 * scales over the fp16 range, with an outlier now and then. */
static void
fill_random(float *x, int64_t n)
{
	int64_t	i;
	float	scale = 1.0f;

	for (i = 0; i < n; i++) {
		if (i % 32 == 0)
			scale = ldexpf(1.0f, (int)(rng_next() % 17) - 8);
		x[i] = rng_float() * scale;
		if (rng_next() % 97 == 0)
			x[i] *= 10.0f;
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

/* ---------------------------------------------------------------------- */

static void
test_table(void)
{
	static const struct {
		uint32_t	type, blck, bsize;
	} want[] = {
		{ 0, 1, 4 }, { 1, 1, 2 }, { 2, 32, 18 }, { 3, 32, 20 },
		{ 6, 32, 22 }, { 7, 32, 24 }, { 8, 32, 34 }, { 9, 32, 36 },
		{ 10, 256, 84 }, { 11, 256, 110 }, { 12, 256, 144 },
		{ 13, 256, 176 }, { 14, 256, 210 }, { 15, 256, 292 },
		{ 16, 256, 66 }, { 17, 256, 74 }, { 18, 256, 98 },
		{ 19, 256, 50 }, { 20, 32, 18 }, { 21, 256, 110 },
		{ 22, 256, 82 }, { 23, 256, 136 }, { 24, 1, 1 }, { 25, 1, 2 },
		{ 26, 1, 4 }, { 27, 1, 8 }, { 28, 1, 8 }, { 29, 256, 56 },
		{ 30, 1, 2 }, { 34, 256, 54 }, { 35, 256, 66 },
		{ 39, 32, 17 },
	};
	static const uint32_t	 holes[] = { 4, 5, 31, 32, 33, 36, 37, 38,
				     40, 1000, UINT32_MAX };
	const struct qt_traits	*t;
	size_t			 i;
	int			 good, ncompute;

	good = 1;
	for (i = 0; i < sizeof want / sizeof want[0]; i++) {
		t = qt_get(want[i].type);
		if (t == NULL || t->blck != want[i].blck ||
		    t->bsize != want[i].bsize) {
			diag("type %u wrong", want[i].type);
			good = 0;
		}
	}
	ok(good, "block sizes of all %zu ggml types",
	    sizeof want / sizeof want[0]);

	good = 1;
	for (i = 0; i < sizeof holes / sizeof holes[0]; i++)
		good &= qt_get(holes[i]) == NULL && qt_name(holes[i]) == NULL;
	ok(good, "unknown type ids give NULL");

	ncompute = 0;
	for (i = 0; i < QT_COUNT; i++)
		if ((t = qt_get((uint32_t)i)) != NULL && t->compute)
			ncompute++;
	/* t_quant_k checks the other eight (Q4_1 ... Q6_K). */
	ok(ncompute == 13 && qt_get(QT_F32)->compute &&
	    qt_get(QT_F16)->compute && qt_get(QT_BF16)->compute &&
	    qt_get(QT_Q8_0)->compute && qt_get(QT_Q4_0)->compute,
	    "13 types are computed, F32, F16, BF16, Q8_0, Q4_0 among them");
	ok(qt_get(QT_F32)->dot_type == QT_F32 &&
	    qt_get(QT_F16)->dot_type == QT_F16 &&
	    qt_get(QT_BF16)->dot_type == QT_BF16 &&
	    qt_get(QT_Q8_0)->dot_type == QT_Q8_0 &&
	    qt_get(QT_Q4_0)->dot_type == QT_Q8_0,
	    "dot types pair as llama.cpp's CPU backend");

	good = 1;
	for (i = 0; i < QT_COUNT; i++) {
		if ((t = qt_get((uint32_t)i)) == NULL || !t->compute)
			continue;
		good &= t->to_f32 != NULL && t->from_f32 != NULL &&
		    t->dot != NULL && t->to_f32_ref != NULL &&
		    t->from_f32_ref != NULL && t->dot_ref != NULL;
	}
	ok(good, "computed types have every kernel");

	ok(strcmp(qt_name(QT_Q4_0), "Q4_0") == 0 &&
	    strcmp(qt_name(QT_BF16), "BF16") == 0 &&
	    strcmp(qt_name(QT_IQ2_XXS), "IQ2_XXS") == 0, "qt_name");
	ok(qt_type_by_name("F32") == QT_F32 &&
	    qt_type_by_name("f16") == QT_F16 &&
	    qt_type_by_name("Bf16") == QT_BF16 &&
	    qt_type_by_name("q8_0") == QT_Q8_0 &&
	    qt_type_by_name("Q4_0") == QT_Q4_0 &&
	    qt_type_by_name("q4_k") == QT_Q4_K &&
	    qt_type_by_name("Q4_") == -1 &&
	    qt_type_by_name("Q4_00") == -1 &&
	    qt_type_by_name("") == -1 &&
	    qt_type_by_name("q4-0") == -1, "qt_type_by_name");
}

static void
test_row_size(void)
{
	size_t	sz;

	ok(qt_row_size(QT_Q4_0, 4096, &sz) == 0 && sz == 128 * 18,
	    "row size Q4_0 x 4096");
	ok(qt_row_size(QT_Q8_0, 64, &sz) == 0 && sz == 68 &&
	    qt_row_size(QT_F16, 7, &sz) == 0 && sz == 14 &&
	    qt_row_size(QT_Q6_K, 512, &sz) == 0 && sz == 420 &&
	    qt_row_size(QT_F32, 0, &sz) == 0 && sz == 0,
	    "row sizes Q8_0, F16, Q6_K, empty");
	ok(qt_row_size(QT_Q4_0, 33, &sz) == -1 &&
	    qt_row_size(QT_Q4_K, 32, &sz) == -1,
	    "row size refuses partial blocks");
	ok(qt_row_size(QT_F32, -32, &sz) == -1 &&
	    qt_row_size(4, 32, &sz) == -1 &&
	    qt_row_size(QT_COUNT, 32, &sz) == -1,
	    "row size refuses negative n and unknown types");
	ok(qt_row_size(QT_F64, INT64_MAX, &sz) == -1 &&
	    qt_row_size(QT_F32, (int64_t)1 << 62, &sz) == -1,
	    "row size refuses overflow");
}

/* ---------------------------------------------------------------------- */

/* The float halfway between each pair of adjacent finite halves, and the
 * floats either side of it: the midpoint goes to the even half. */
static int
test_f16_ties(void)
{
	const struct qt_traits	*t = qt_get(QT_F16);
	float			 v[3];
	uint16_t		 h, lo, hi, want[3], got[3];
	int			 good = 1, k;

	for (h = 0; h < 0x7bff; h++) {
		v[0] = (float)(((double)qt_f16_to_f32(h) +
		    qt_f16_to_f32(h + 1)) / 2);
		v[1] = nextafterf(v[0], 0.0f);
		v[2] = nextafterf(v[0], INFINITY);
		lo = h;
		hi = h + 1;
		want[0] = h & 1 ? hi : lo;
		want[1] = lo;
		want[2] = hi;
		for (k = 0; k < 3; k++) {
			good &= qt_f32_to_f16(v[k]) == want[k];
			good &= qt_f32_to_f16(-v[k]) == (want[k] | 0x8000);
		}
		if (have_simd) {
			t->from_f32(v, got, 3);
			good &= memcmp(got, want, sizeof got) == 0;
		}
	}
	return good;
}

static void
test_f16(void)
{
	const struct qt_traits	*t = qt_get(QT_F16);
	static const struct {
		uint32_t	f;
		uint16_t	h;
	} cases[] = {
		{ 0x3f800000, 0x3c00 },	/* 1 */
		{ 0x3f801000, 0x3c00 },	/* 1 + 2^-11: tie, even down */
		{ 0x3f803000, 0x3c02 },	/* 1 + 3 * 2^-11: tie, even up */
		{ 0x3f801001, 0x3c01 },	/* just above the tie */
		{ 0x477fe000, 0x7bff },	/* 65504 */
		{ 0x477fefff, 0x7bff },	/* just below 65520 */
		{ 0x477ff000, 0x7c00 },	/* 65520: tie to even = inf */
		{ 0x33800000, 0x0001 },	/* 2^-24 */
		{ 0x33000000, 0x0000 },	/* 2^-25: tie, even down */
		{ 0x33000001, 0x0001 },
		{ 0x33c00000, 0x0002 },	/* 3 * 2^-25: tie, even up */
		{ 0x387fe000, 0x0400 },	/* rounds up to the least normal */
		{ 0x38800000, 0x0400 },	/* 2^-14 */
		{ 0x80000000, 0x8000 },	/* -0 */
		{ 0xc0490fdb, 0xc248 },	/* -pi */
		{ 0x7f800000, 0x7c00 },	/* inf */
		{ 0xff800000, 0xfc00 },
		{ 0x7f7fffff, 0x7c00 },	/* FLT_MAX */
		{ 0x7fc00000, 0x7e00 },	/* qNaN */
		{ 0x7f802000, 0x7e01 },	/* sNaN: quieted, payload kept */
		{ 0xff800001, 0xfe00 },
		{ 0x00000001, 0x0000 },	/* float subnormal */
	};
	uint16_t	*h, *h2;
	float		*f, *f2, *fu;
	size_t		 i;
	int		 good;

	good = 1;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		if (qt_f32_to_f16(bits_f32(cases[i].f)) != cases[i].h) {
			diag("f32 %08x -> %04x, want %04x", cases[i].f,
			    qt_f32_to_f16(bits_f32(cases[i].f)), cases[i].h);
			good = 0;
		}
	}
	ok(good, "fp16 rounding of hand-picked values (ties to even)");

	h = xalloc(65536 * sizeof *h);
	h2 = xalloc(65536 * sizeof *h2);
	f = xalloc(65536 * sizeof *f);
	f2 = xalloc(65536 * sizeof *f2);
	fu = xalloc(65536 * sizeof *fu);
	for (i = 0; i < 65536; i++)
		h[i] = (uint16_t)i;

	good = 1;
	for (i = 0; i < 65536; i++) {
		f[i] = qt_f16_to_f32(h[i]);
		if (isnan(f[i]))
			good &= qt_f32_to_f16(f[i]) == (h[i] | 0x200) &&
			    (f32_bits(f[i]) & 0x400000) != 0;
		else
			good &= qt_f32_to_f16(f[i]) == h[i];
	}
	ok(good, "all 65536 halves round-trip (NaNs come back quiet)");
	ok(test_f16_ties(), "fp16: every midpoint rounds to even, "
	    "its neighbours to nearest");
	ok(qt_f16_to_f32(0x0001) == ldexpf(1.0f, -24) &&
	    qt_f16_to_f32(0x3555) == 0x1.554p-2f &&
	    qt_f16_to_f32(0x7bff) == 65504.0f &&
	    f32_bits(qt_f16_to_f32(0x8000)) == 0x80000000 &&
	    f32_bits(qt_f16_to_f32(0x7c01)) == 0x7fc02000,
	    "fp16 to f32 values");

	if (!have_simd) {
		skip("no AVX2");
		skip("no AVX2");
		goto out;
	}
	t->to_f32(h, f2, 65536);
	ok(memcmp(f, f2, 65536 * sizeof *f) == 0,
	    "F16 to_f32 avx2 = ref on all 65536 halves");
	/* Random bit patterns: NaN payloads, subnormals, overflow. */
	good = 1;
	for (i = 0; i < 16; i++) {
		fill_bits(fu, 65536);
		t->from_f32(fu, h, 65536);
		t->from_f32_ref(fu, h2, 65536);
		good &= memcmp(h, h2, 65536 * sizeof *h) == 0;
	}
	ok(good, "F16 from_f32 avx2 (F16C) = ref on 2^20 bit patterns");
out:
	free(h);
	free(h2);
	free(f);
	free(f2);
	free(fu);
}

static void
test_bf16(void)
{
	const struct qt_traits	*t = qt_get(QT_BF16);
	static const struct {
		uint32_t	f;
		uint16_t	h;
	} cases[] = {
		{ 0x3f800000, 0x3f80 },
		{ 0x3f808000, 0x3f80 },	/* tie, even down */
		{ 0x3f818000, 0x3f82 },	/* tie, even up */
		{ 0x3f808001, 0x3f81 },
		{ 0x7f7fffff, 0x7f80 },	/* FLT_MAX rounds to inf */
		{ 0x00000001, 0x0000 },	/* subnormals are not flushed */
		{ 0x00018000, 0x0002 },
		{ 0x7f800001, 0x7fc0 },	/* sNaN quieted */
		{ 0xff812345, 0xffc1 },
		{ 0xff800000, 0xff80 },
	};
	uint16_t	*h, *h2;
	float		*f, *f2, *fu;
	uint32_t	 bits;
	size_t		 i, k;
	int		 good;

	good = 1;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
		good &= qt_f32_to_bf16(bits_f32(cases[i].f)) == cases[i].h;
	ok(good, "bf16 rounding of hand-picked values");

	h = xalloc(65536 * sizeof *h);
	h2 = xalloc(65536 * sizeof *h2);
	f = xalloc(65536 * sizeof *f);
	f2 = xalloc(65536 * sizeof *f2);
	fu = xalloc(65536 * sizeof *fu);
	good = 1;
	for (i = 0; i < 65536; i++) {
		h[i] = (uint16_t)i;
		f[i] = qt_bf16_to_f32(h[i]);
		good &= f32_bits(f[i]) == (uint32_t)i << 16;
		good &= qt_f32_to_bf16(f[i]) ==
		    (isnan(f[i]) ? (h[i] | 0x40) : h[i]);
	}
	ok(good, "all 65536 bf16 round-trip");

	if (!have_simd) {
		skip("no AVX2");
		skip("no AVX2");
		goto out;
	}
	t->to_f32(h, f2, 65536);
	ok(memcmp(f, f2, 65536 * sizeof *f) == 0,
	    "BF16 to_f32 avx2 = ref on all 65536 values");
	good = 1;
	for (i = 0; i < 16; i++) {
		fill_bits(fu, 65536);
		if (i == 0) {	/* every tie */
			for (k = 0; k < 65536; k++) {
				bits = (uint32_t)k << 16 | 0x8000;
				memcpy(&fu[k], &bits, sizeof bits);
			}
		}
		t->from_f32(fu, h, 65536);
		t->from_f32_ref(fu, h2, 65536);
		good &= memcmp(h, h2, 65536 * sizeof *h) == 0;
	}
	ok(good, "BF16 from_f32 avx2 = ref on 2^20 bit patterns");
out:
	free(h);
	free(h2);
	free(f);
	free(f2);
	free(fu);
}

/* ---------------------------------------------------------------------- */

/* The row of n values in q (of type) as floats, by the _ref kernel. */
static float *
dequant(uint32_t type, const void *q, int64_t n)
{
	float	*f = xalloc((size_t)n * sizeof *f);

	qt_get(type)->to_f32_ref(q, f, n);
	return f;
}

/*
 * One weight type at one length: SIMD against _ref for quantizing the
 * weights and the activations, dequantizing, and the dot; both dots
 * against a float64 dot of the dequantized rows.
 */
static void
test_kernels(uint32_t type, int n)
{
	const struct qt_traits	*t = qt_get(type);
	const struct qt_traits	*dt = qt_get(t->dot_type);
	size_t			 wsz, asz;
	float			*x, *y, *fx, *fy, *o1, *o2, sd, sr;
	uint8_t			*qx, *qx2, *qy, *qy2;
	double			 ref, mag;
	int			 i;

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
	fx = dequant(type, qx, n);
	fy = dequant(t->dot_type, qy, n);
	ref = mag = 0;
	for (i = 0; i < n; i++) {
		ref += (double)fx[i] * fy[i];
		mag += fabs((double)fx[i] * fy[i]);
	}
	t->dot_ref(n, &sr, qx, qy);
	ok(fabs(sr - ref) <= DOT_REL_TOL * mag + 1e-30,
	    "%s n=%d: dot ref = float64 dot (%g vs %g)", t->name, n, sr, ref);

	if (!have_simd) {
		skip("no AVX2");
		goto out;
	}
	t->from_f32(x, qx2, n);
	dt->from_f32(y, qy2, n);
	t->to_f32(qx, o1, n);
	t->to_f32_ref(qx, o2, n);
	ok(memcmp(qx, qx2, wsz) == 0 && memcmp(qy, qy2, asz) == 0 &&
	    memcmp(o1, o2, (size_t)n * sizeof *o1) == 0,
	    "%s n=%d: from_f32 and to_f32 avx2 = ref, bit for bit",
	    t->name, n);
	t->dot(n, &sd, qx, qy);
	ok(fabs(sd - sr) <= DOT_REL_TOL * mag + 1e-30 &&
	    fabs(sd - ref) <= DOT_REL_TOL * mag + 1e-30,
	    "%s n=%d: dot avx2 = ref (%.9g vs %.9g)", t->name, n, sd, sr);
out:
	free(x);
	free(y);
	free(fx);
	free(fy);
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
	float			*x, *y, *o1, *o2, e, s;
	uint8_t			*qx, *qy;
	double			 ref = 0;
	int			 i;

	qt_row_size(type, n, &wsz);
	qt_row_size(t->dot_type, n, &asz);
	x = xalloc(n * sizeof *x);
	y = xalloc(n * sizeof *y);
	o1 = xalloc(n * sizeof *o1);
	o2 = xalloc(n * sizeof *o2);
	qx = xalloc(wsz);
	qy = xalloc(asz);
	fill_ggml(x, n, 0.0f);
	fill_ggml(y, n, 1.0f);

	t->from_f32(x, qx, n);
	t->to_f32(qx, o1, n);
	e = ggml_rmse(x, o1, n);
	ok(e < MAX_QUANTIZATION_TOTAL_ERROR,
	    "%s: total quantization error %g", t->name, e);

	qt_quantize_weights(type, x, qx, n);
	t->to_f32(qx, o2, n);
	e = ggml_rmse(o1, o2, n);
	ok(e < MAX_QUANTIZATION_REFERENCE_ERROR,
	    "%s: error against ggml's reference quantizer %g", t->name, e);

	t->from_f32(x, qx, n);
	dt->from_f32(y, qy, n);
	t->dot(n, &s, qx, qy);
	for (i = 0; i < n; i++)
		ref += x[i] * y[i];
	e = (float)fabs(s - ref) / n;
	ok(e < MAX_DOT_PRODUCT_ERROR, "%s: dot product error %g", t->name, e);
	free(x);
	free(y);
	free(o1);
	free(o2);
	free(qx);
	free(qy);
}

/* test-quantize-fns' test_vec_dot_f32. */
static void
test_f32_dot_lengths(void)
{
	static const int	 ns[] = { 1, 2, 3, 5, 7, 8, 15, 16, 17, 31, 33,
				     63, 67, 127, 129, 193, 255, 1023 };
	const struct qt_traits	*t = qt_get(QT_F32);
	float			 a[1023], b[1023], s;
	double			 ref;
	size_t			 k;
	int			 i, good = 1;

	for (k = 0; k < sizeof ns / sizeof ns[0]; k++) {
		fill_ggml(a, ns[k], 0.0f);
		fill_ggml(b, ns[k], 1.0f);
		ref = 0;
		for (i = 0; i < ns[k]; i++)
			ref += a[i] * b[i];
		t->dot(ns[k], &s, a, b);
		good &= fabs(s - ref) / ns[k] <
		    MAX_QUANTIZATION_REFERENCE_ERROR;
	}
	ok(good, "F32 dot at 18 lengths within ggml's limit");
}

/* ---------------------------------------------------------------------- */

/* Just enough GGUF reading to find tensors; the files are trusted test
 * data, but every read is still bounds-checked. */
struct tfile {
	uint8_t		*buf;
	size_t		 size, pos;
	int		 bad;
	uint64_t	 ntens;
	struct {
		char		 name[64];
		uint32_t	 type;
		int64_t		 nel;
		uint64_t	 off;
	}		*t;
};

static uint64_t
tf_read(struct tfile *f, size_t n)
{
	uint64_t	v = 0;

	if (f->bad || n > 8 || f->size - f->pos < n) {
		f->bad = 1;
		return 0;
	}
	memcpy(&v, f->buf + f->pos, n);	/* little-endian host */
	f->pos += n;
	return v;
}

static void
tf_skip(struct tfile *f, uint64_t n)
{
	if (f->bad || f->size - f->pos < n)
		f->bad = 1;
	else
		f->pos += n;
}

static void
tf_skip_value(struct tfile *f, uint32_t vt)
{
	static const uint8_t	sizes[13] = { 1, 1, 2, 2, 4, 4, 4, 1, 0, 0,
				    8, 8, 8 };
	uint64_t		n, i;
	uint32_t		at;

	if (vt == 8)
		tf_skip(f, tf_read(f, 8));
	else if (vt == 9) {
		at = (uint32_t)tf_read(f, 4);
		n = tf_read(f, 8);
		for (i = 0; i < n && !f->bad; i++)
			tf_skip_value(f, at);
	} else if (vt < 13)
		tf_skip(f, sizes[vt]);
	else
		f->bad = 1;
}

static int
tf_open(struct tfile *f, const char *name)
{
	char		 path[4096];
	FILE		*fp;
	uint64_t	 nkv, i, len, nd, k, data, align;
	size_t		 key;
	uint32_t	 vt;
	long		 sz;

	memset(f, 0, sizeof *f);
	snprintf(path, sizeof path, "%s/models/%s", tap_testdata(), name);
	if ((fp = fopen(path, "rb")) == NULL)
		return -1;
	if (fseek(fp, 0, SEEK_END) != 0 || (sz = ftell(fp)) < 0 ||
	    fseek(fp, 0, SEEK_SET) != 0) {
		fclose(fp);
		return -1;
	}
	f->size = (size_t)sz;
	f->buf = xalloc(f->size);
	if (fread(f->buf, 1, f->size, fp) != f->size)
		f->bad = 1;
	fclose(fp);
	if (tf_read(f, 4) != 0x46554747 || tf_read(f, 4) != 3)
		f->bad = 1;
	f->ntens = tf_read(f, 8);
	nkv = tf_read(f, 8);
	align = 32;
	for (i = 0; i < nkv && !f->bad; i++) {
		len = tf_read(f, 8);
		key = f->pos;
		tf_skip(f, len);
		vt = (uint32_t)tf_read(f, 4);
		if (!f->bad && vt == 4 && len == 17 &&
		    memcmp(f->buf + key, "general.alignment", 17) == 0)
			align = tf_read(f, 4);
		else
			tf_skip_value(f, vt);
	}
	if (align == 0 || align > 65536)
		f->bad = 1;
	if (f->bad || f->ntens > 4096)
		return -1;
	f->t = xalloc(f->ntens * sizeof *f->t);
	for (i = 0; i < f->ntens && !f->bad; i++) {
		len = tf_read(f, 8);
		if (len >= sizeof f->t[i].name || f->size - f->pos < len) {
			f->bad = 1;
			break;
		}
		memcpy(f->t[i].name, f->buf + f->pos, len);
		f->pos += len;
		nd = tf_read(f, 4);
		f->t[i].nel = 1;
		for (k = 0; k < nd && k < 4; k++)
			f->t[i].nel *= (int64_t)tf_read(f, 8);
		f->t[i].type = (uint32_t)tf_read(f, 4);
		f->t[i].off = tf_read(f, 8);
	}
	data = (f->pos + align - 1) / align * align;
	for (i = 0; i < f->ntens && !f->bad; i++) {
		if (qt_row_size(f->t[i].type, f->t[i].nel, &len) != 0 ||
		    data + f->t[i].off > f->size ||
		    f->size - data - f->t[i].off < len)
			f->bad = 1;
		f->t[i].off += data;
	}
	return f->bad ? -1 : 0;
}

static void
tf_close(struct tfile *f)
{
	free(f->buf);
	free(f->t);
}

/*
 * Requantize the tensors of src (F32 or F16) to the types llama.cpp's
 * quantizer wrote into dst, and compare bytes; dequantize them by SIMD
 * and by _ref too.
 */
static void
test_file_pair(const char *src, const char *dst, uint32_t type)
{
	struct tfile		 s, d;
	const struct qt_traits	*ts, *td;
	uint64_t		 i, j;
	size_t			 sz;
	float			*f, *g;
	void			*q;
	int			 n = 0, same = 1, deq = 1;

	memset(&d, 0, sizeof d);
	if (tf_open(&s, src) != 0 || tf_open(&d, dst) != 0) {
		diag("cannot read models/%s or models/%s", src, dst);
		skip("test data missing");
		skip("test data missing");
		tf_close(&s);
		tf_close(&d);
		return;
	}
	for (i = 0; i < d.ntens; i++) {
		if (d.t[i].type != type)
			continue;
		for (j = 0; j < s.ntens; j++)
			if (strcmp(s.t[j].name, d.t[i].name) == 0)
				break;
		if (j == s.ntens || s.t[j].nel != d.t[i].nel) {
			same = 0;
			continue;
		}
		ts = qt_get(s.t[j].type);
		td = qt_get(type);
		f = xalloc((size_t)s.t[j].nel * sizeof *f);
		g = xalloc((size_t)s.t[j].nel * sizeof *g);
		qt_row_size(type, d.t[i].nel, &sz);
		q = xalloc(sz);
		ts->to_f32_ref(s.buf + s.t[j].off, f, s.t[j].nel);
		qt_quantize_weights(type, f, q, d.t[i].nel);
		same &= memcmp(q, d.buf + d.t[i].off, sz) == 0;
		if (type != QT_Q8_0) {	/* Q8_0's from_f32 is for acts */
			td->from_f32(f, q, d.t[i].nel);
			same &= memcmp(q, d.buf + d.t[i].off, sz) == 0;
		}
		td->to_f32(d.buf + d.t[i].off, f, d.t[i].nel);
		td->to_f32_ref(d.buf + d.t[i].off, g, d.t[i].nel);
		deq &= memcmp(f, g, (size_t)d.t[i].nel * sizeof *f) == 0;
		free(f);
		free(g);
		free(q);
		n++;
	}
	ok(n > 0 && same, "%s: %d %s tensors requantized from %s are "
	    "llama.cpp's bytes (ref and avx2)", dst, n, qt_name(type), src);
	ok(n > 0 && deq, "%s: %s to_f32 avx2 = ref on them", dst,
	    qt_name(type));
	tf_close(&s);
	tf_close(&d);
}

/* ---------------------------------------------------------------------- */

/* Hand-made Q8_0/Q4_0 blocks with known answers, and blocks of NaN, inf,
 * zeros and subnormals on which the SIMD quantizers must copy _ref. */
static void
test_quant_edges(void)
{
	const struct qt_traits	*q8 = qt_get(QT_Q8_0), *q4 = qt_get(QT_Q4_0);
	struct {
		uint16_t	d;
		int8_t		qs[32];
	}			 b8[8], c8[8];
	struct {
		uint16_t	d;
		uint8_t		qs[16];
	}			 b4[8], c4[8];
	float			 x[8 * 32];
	int			 i, k;

	/* x * 127 / 127: the .5 cases show the rounding. */
	memset(x, 0, sizeof x);
	x[0] = 127.0f;
	x[1] = 2.5f;
	x[2] = 3.5f;
	x[3] = -2.5f;
	x[4] = -0.5f;
	q8->from_f32_ref(x, b8, 32);
	ok(b8[0].d == 0x3c00 && b8[0].qs[0] == 127 && b8[0].qs[1] == 2 &&
	    b8[0].qs[2] == 4 && b8[0].qs[3] == -2 && b8[0].qs[4] == 0,
	    "Q8_0 activations round half to even, as llama.cpp's AVX2");
	qt_quantize_weights(QT_Q8_0, x, b8, 32);
	ok(b8[0].d == 0x3c00 && b8[0].qs[1] == 3 && b8[0].qs[2] == 4 &&
	    b8[0].qs[3] == -3 && b8[0].qs[4] == -1,
	    "Q8_0 weights round half away from zero, as ggml's _ref");

	/* Q4_0: the first value of largest magnitude maps to -8. */
	memset(x, 0, sizeof x);
	x[3] = -4.0f;
	x[9] = 4.0f;
	x[20] = 1.0f;
	q4->from_f32_ref(x, b4, 32);
	ok(b4[0].d == 0x3800 && (b4[0].qs[3] & 15) == 0 &&
	    (b4[0].qs[9] & 15) == 15 && (b4[0].qs[4] >> 4) == 10 &&
	    (b4[0].qs[0] & 15) == 8, "Q4_0 scale from the signed max");
	memset(x, 0, 32 * sizeof *x);
	q4->from_f32_ref(x, b4, 32);
	ok(b4[0].d == 0x8000 && b4[0].qs[0] == 0x88,
	    "Q4_0 of zeros: d = -0, quants 8 (as ggml)");

	/* Nasty blocks: NaN, infinities, zeros, subnormals, ties. */
	for (i = 0; i < 8 * 32; i++)
		x[i] = rng_float();
	x[0] = NAN;
	x[33] = INFINITY;
	x[40] = -INFINITY;
	x[64 + 5] = NAN;
	x[64 + 6] = 1e30f;
	for (k = 0; k < 32; k++) {
		x[96 + k] = 0.0f;
		x[128 + k] = bits_f32((uint32_t)k * 3) * (k & 1 ? 1 : -1);
		x[160 + k] = bits_f32(0x00800000u + (uint32_t)k * 999);
		x[192 + k] = (float)((k % 5) - 2) * 0.75f;
		x[224 + k] = bits_f32(0x7f800000u | (uint32_t)k) *
		    (k & 1 ? 1 : -1);
	}
	q8->from_f32_ref(x, b8, 256);
	q4->from_f32_ref(x, b4, 256);
	if (!have_simd) {
		skip("no AVX2");
		return;
	}
	q8->from_f32(x, c8, 256);
	q4->from_f32(x, c4, 256);
	ok(memcmp(b8, c8, sizeof b8) == 0 && memcmp(b4, c4, sizeof b4) == 0,
	    "Q8_0/Q4_0 from_f32 avx2 = ref on NaN, inf, 0, subnormal blocks");
}

static void
test_select(void)
{
	const struct qt_traits	*t = qt_get(QT_Q4_0);

	qt_init();
	qt_init();
	if (!have_simd) {
		ok(strcmp(qt_simd_name(), "scalar") == 0 &&
		    t->dot == t->dot_ref, "scalar kernels without AVX2");
		return;
	}
	qt_force_ref(1);
	ok(strcmp(qt_simd_name(), "scalar") == 0 && t->dot == t->dot_ref &&
	    t->to_f32 == t->to_f32_ref && t->from_f32 == t->from_f32_ref,
	    "qt_force_ref(1) selects the _ref kernels");
	qt_force_ref(0);
	ok(strcmp(qt_simd_name(), "avx2") == 0 && t->dot != t->dot_ref,
	    "qt_force_ref(0) restores avx2");
	ok(qt_quantize_weights(QT_IQ2_XXS, NULL, NULL, 256) == -1 &&
	    qt_quantize_weights(QT_Q8_0, NULL, NULL, 31) == -1,
	    "qt_quantize_weights refuses uncomputed types and bad n");
}

int
main(void)
{
	static const uint32_t	types[] = { QT_F32, QT_F16, QT_BF16, QT_Q8_0,
				    QT_Q4_0 };
	static const int	qlens[] = { 32, 64, 96, 4096 + 32 };
	static const int	flens[] = { 1, 7, 33 };
	size_t			i, k;

	qt_init();
	have_simd = strcmp(qt_simd_name(), "scalar") != 0;
	diag("kernels: %s", qt_simd_name());

	test_table();
	test_row_size();
	test_f16();
	test_bf16();
	for (i = 0; i < sizeof types / sizeof types[0]; i++) {
		for (k = 0; k < sizeof qlens / sizeof qlens[0]; k++)
			test_kernels(types[i], qlens[k]);
		if (qt_get(types[i])->blck == 1)
			for (k = 0; k < sizeof flens / sizeof flens[0]; k++)
				test_kernels(types[i], flens[k]);
		test_ggml_errors(types[i]);
	}
	test_f32_dot_lengths();
	test_file_pair("stories260K.gguf", "derived/stories260K-Q8_0.gguf",
	    QT_Q8_0);
	test_file_pair("stories260K.gguf", "derived/stories260K-Q4_0.gguf",
	    QT_Q4_0);
	test_file_pair("stories260K.gguf", "derived/stories260K-Q4_0.gguf",
	    QT_Q8_0);
	test_file_pair("stories260K.gguf", "derived/stories260K-F16.gguf",
	    QT_F16);
	test_file_pair("ktest/ktest-F16.gguf", "ktest/ktest-Q8_0.gguf",
	    QT_Q8_0);
	test_file_pair("ktest/ktest-F16.gguf", "ktest/ktest-Q4_0.gguf",
	    QT_Q4_0);
	test_file_pair("ktest/ktest-F16.gguf", "ktest/ktest-BF16.gguf",
	    QT_BF16);
	test_quant_edges();
	test_select();
	return tap_done();
}
