/*
 * Attention in tiles, exact to llama.cpp's CPU flash attention.
 *
 * ggml computes each query row on its own: the query rounded to F16, for
 * every key an F16 dot product (four 8-lane FMA chains, a fixed sum tree,
 * the tail in double), the online softmax with expf, and the values added
 * into an F16 accumulator that is rounded after every key.  Our per-key
 * kernel (forward.c) does the same row by row; so does this one, but for
 * a tile of up to ATTN_BQ tokens times the g heads of a KV group at once:
 * a block of ATTN_BK keys and values is converted to floats once for all
 * rows of the tile (the per-key kernel converts each K and V row, and the
 * query, again for every product), the accumulator of a row stays in
 * registers across the block with its F16 rounding done by a convert
 * there and back, and a prompt's later tokens share the K/V rows their
 * tile reads.  Each output is the same float as the per-key kernel's, so
 * rounding still matches llama.cpp's (t_attn checks it bit for bit).
 */
#include "config.h"

#include "attn.h"

#include <math.h>
#include <string.h>

#include "quant.h"
#include "vmath.h"

/* No product may be fused behind our back: ggml's rounding is the
 * target. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#include <immintrin.h>

#include "reduce512.h"

#define AT_AVX2	__attribute__((target("avx2,fma,f16c")))
/* Loops over a row's chains are unrolled so the chains live in registers. */
#define AT_UNROLL	_Pragma("GCC unroll 8")

struct ws {
	float	*qf;	/* (R, hd) queries, F16 values */
	float	*acc;	/* (R, hd) accumulators, F16 values */
	float	*M, *S;	/* (R) running maximum and sum */
	float	*kf;	/* (BK, hd) the block's keys */
	float	*vf;	/* (BK, hd) and values */
	float	*ms;	/* (BK) a row's rescale at each key, 1 if none */
	float	*vs;	/* (BK) and the weight of each value */
	float	*ms2;	/* (BK) the same for a second row (values512_2) */
	float	*vs2;
	int	 z512;	/* K.Q in the AVX-512 build's order (qt_vnni) */
};

static size_t
rows(int g)
{
	return (size_t)ATTN_BQ * (size_t)g;
}

size_t
attn_ws_floats(int hd, int g)
{
	return 2 * rows(g) * (size_t)hd + 2 * rows(g) +
	    2 * (size_t)ATTN_BK * (size_t)hd + 4 * ATTN_BK;
}

static void
ws_split(struct ws *w, float *p, int hd, int g)
{
	w->qf = p;
	w->acc = w->qf + rows(g) * hd;
	w->M = w->acc + rows(g) * hd;
	w->S = w->M + rows(g);
	w->kf = w->S + rows(g);
	w->vf = w->kf + (size_t)ATTN_BK * hd;
	w->ms = w->vf + (size_t)ATTN_BK * hd;
	w->vs = w->ms + ATTN_BK;
	w->ms2 = w->vs + ATTN_BK;
	w->vs2 = w->ms2 + ATTN_BK;
}

int
attn_tile_ok(void)
{
	return strcmp(qt_simd_name(), "avx2") == 0;
}

/* ggml_vec_dot_f16 of a key and a query already in floats (the
 * conversions are exact): qt_f16_dot_avx2's chains, tree and tail. */
static AT_AVX2 float
dot_row(int hd, const float *k, const float *q)
{
	__m256	a0, a1, a2, a3, v;
	__m128	t;
	double	sum;
	int	i;

	a0 = a1 = a2 = a3 = _mm256_setzero_ps();
	for (i = 0; i + 32 <= hd; i += 32) {
		a0 = _mm256_fmadd_ps(_mm256_loadu_ps(k + i),
		    _mm256_loadu_ps(q + i), a0);
		a1 = _mm256_fmadd_ps(_mm256_loadu_ps(k + i + 8),
		    _mm256_loadu_ps(q + i + 8), a1);
		a2 = _mm256_fmadd_ps(_mm256_loadu_ps(k + i + 16),
		    _mm256_loadu_ps(q + i + 16), a2);
		a3 = _mm256_fmadd_ps(_mm256_loadu_ps(k + i + 24),
		    _mm256_loadu_ps(q + i + 24), a3);
	}
	v = _mm256_add_ps(_mm256_add_ps(a0, a2), _mm256_add_ps(a1, a3));
	t = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
	t = _mm_hadd_ps(t, t);
	sum = _mm_cvtss_f32(_mm_hadd_ps(t, t));
	for (; i < hd; i++)
		sum += (double)(k[i] * q[i]);
	return (float)sum;
}

/* The same in llama.cpp's AVX-512 builds (qt_f16_vdot_avx512's order):
 * 4 accumulators of 16 lanes over steps of 64, added 0+2, 1+3, 0+1,
 * reduced as _mm512_reduce_add_ps, the tail in double. */
static __attribute__((target("avx512f"), noinline)) float
dot_row512(int hd, const float *k, const float *q)
{
	__m512	a[4];
	double	sum;
	int	i, j;

	for (j = 0; j < 4; j++)
		a[j] = _mm512_setzero_ps();
	for (i = 0; i + 64 <= hd; i += 64)
		for (j = 0; j < 4; j++)
			a[j] = _mm512_fmadd_ps(_mm512_loadu_ps(k + i + 16 * j),
			    _mm512_loadu_ps(q + i + 16 * j), a[j]);
	sum = (double)reduce512(_mm512_add_ps(_mm512_add_ps(a[0], a[2]),
	    _mm512_add_ps(a[1], a[3])));
	for (; i < hd; i++)
		sum += (double)(k[i] * q[i]);
	return (float)sum;
}

/*
 * The scores of one query against keys 0..n-1 of the block, times scale,
 * into vs: the floats of dot_row512 (z512) or dot_row for each, but 16
 * (8) keys at a time, the query's loads shared and the horizontal sums
 * of the keys done together: the same adds on the same lanes, taken
 * across registers by shuffles (that the additions are commutative is
 * all it needs).  Keys left over, or heads whose size is not a multiple
 * of 64 (32), go one at a time.  With values512, one Zen 4 core, hd 128,
 * 4 heads a group, a 512-token prompt: 38.6 -> 19.0 ns a (row, key) on
 * the AVX-512 path, 27.5 -> 23.2 on the AVX2 one; 8B Q4_K_M pp512 spends
 * 0.85 s less in attention (2.2 -> 1.35 s, 2 threads).
 */
static __attribute__((target("avx512f"), always_inline)) inline int
scores512_hd(const int hd, const float *kf, const float *q, int n,
    float scale, float *vs)
{
	const __m512i	perm = _mm512_setr_epi32(0, 2, 1, 3, 8, 10, 9, 11, 4,
			    6, 5, 7, 12, 14, 13, 15);
	__m512		v[16], a[4], h[8], x[4], y[2];
	int		i, j, k, j0;

	if (hd % 64 != 0)
		return 0;
	for (j0 = 0; j0 + 16 <= n; j0 += 16) {
		_Pragma("GCC unroll 16")
		for (k = 0; k < 16; k++) {
			const float	*kk = kf + (size_t)(j0 + k) * hd;

			AT_UNROLL
			for (j = 0; j < 4; j++)
				a[j] = _mm512_setzero_ps();
			_Pragma("GCC unroll 4")
			for (i = 0; i < hd; i += 64)
				AT_UNROLL
				for (j = 0; j < 4; j++)
					a[j] = _mm512_fmadd_ps(_mm512_loadu_ps(
					    kk + i + 16 * j), _mm512_loadu_ps(
					    q + i + 16 * j), a[j]);
			v[k] = _mm512_add_ps(_mm512_add_ps(a[0], a[2]),
			    _mm512_add_ps(a[1], a[3]));
		}
		/* reduce512 on 16 registers: halves (keys p, p + 8 in one
		 * register), quarters (keys p, p + 8, p + 4, p + 12), then
		 * the pairs and the two within each 128-bit lane. */
		AT_UNROLL
		for (k = 0; k < 8; k++)
			h[k] = _mm512_add_ps(_mm512_shuffle_f32x4(v[k],
			    v[k + 8], 0xee), _mm512_shuffle_f32x4(v[k],
			    v[k + 8], 0x44));
		AT_UNROLL
		for (k = 0; k < 4; k++)
			x[k] = _mm512_add_ps(_mm512_shuffle_f32x4(h[k],
			    h[k + 4], 0xdd), _mm512_shuffle_f32x4(h[k],
			    h[k + 4], 0x88));
		AT_UNROLL
		for (k = 0; k < 2; k++)
			y[k] = _mm512_add_ps(_mm512_shuffle_ps(x[k], x[k + 2],
			    _MM_SHUFFLE(1, 0, 1, 0)), _mm512_shuffle_ps(x[k],
			    x[k + 2], _MM_SHUFFLE(3, 2, 3, 2)));
		_mm512_storeu_ps(vs + j0, _mm512_mul_ps(_mm512_permutexvar_ps(
		    perm, _mm512_add_ps(_mm512_shuffle_ps(y[0], y[1],
		    _MM_SHUFFLE(2, 0, 2, 0)), _mm512_shuffle_ps(y[0], y[1],
		    _MM_SHUFFLE(3, 1, 3, 1)))), _mm512_set1_ps(scale)));
	}
	return j0;
}

static __attribute__((target("avx512f"), noinline)) int
scores512(int hd, const float *kf, const float *q, int n, float scale,
    float *vs)
{
	if (hd == 128)
		return scores512_hd(128, kf, q, n, scale, vs);
	if (hd == 64)
		return scores512_hd(64, kf, q, n, scale, vs);
	return scores512_hd(hd, kf, q, n, scale, vs);
}

static AT_AVX2 int
scores256(int hd, const float *kf, const float *q, int n, float scale,
    float *vs)
{
	__m256	v[8], a[4], t[4], u[2];
	int	i, j, k, j0;

	if (hd % 32 != 0)
		return 0;
	for (j0 = 0; j0 + 8 <= n; j0 += 8) {
		AT_UNROLL
		for (k = 0; k < 8; k++) {
			const float	*kk = kf + (size_t)(j0 + k) * hd;

			AT_UNROLL
			for (j = 0; j < 4; j++)
				a[j] = _mm256_setzero_ps();
			for (i = 0; i < hd; i += 32)
				AT_UNROLL
				for (j = 0; j < 4; j++)
					a[j] = _mm256_fmadd_ps(_mm256_loadu_ps(
					    kk + i + 8 * j), _mm256_loadu_ps(
					    q + i + 8 * j), a[j]);
			v[k] = _mm256_add_ps(_mm256_add_ps(a[0], a[2]),
			    _mm256_add_ps(a[1], a[3]));
		}
		/* dot_row's tree on 8 registers: the halves of keys p and
		 * p + 4 in one, then the two hadds. */
		AT_UNROLL
		for (k = 0; k < 4; k++)
			t[k] = _mm256_add_ps(_mm256_permute2f128_ps(v[k],
			    v[k + 4], 0x20), _mm256_permute2f128_ps(v[k],
			    v[k + 4], 0x31));
		u[0] = _mm256_hadd_ps(t[0], t[1]);
		u[1] = _mm256_hadd_ps(t[2], t[3]);
		_mm256_storeu_ps(vs + j0, _mm256_mul_ps(_mm256_hadd_ps(u[0],
		    u[1]), _mm256_set1_ps(scale)));
	}
	return j0;
}

static AT_AVX2 inline __m256
round16(__m256 v)
{
	return _mm256_cvtph_ps(_mm256_cvtps_ph(v, 0));
}

static AT_AVX2 inline float
round16_ss(float v)
{
	return _cvtsh_ss(_cvtss_sh(v, 0));
}

/*
 * Add keys 0..n-1 of the block into a row's accumulator, dims d0..d0+8W:
 * at each key first the rescale (ggml_vec_scale_f16: multiply, round),
 * then the value (ggml_vec_mad_f16: one FMA, round).  The rounding
 * makes each key's step a chain of three latencies, so W (up to 8)
 * independent chains go along together.
 */
static AT_AVX2 inline __attribute__((always_inline)) void
values(const struct ws *w, int hd, float *acc, int d0, int n, const int W)
{
	__m256	a[8];
	int	c, j;

	AT_UNROLL
	for (c = 0; c < W; c++)
		a[c] = _mm256_loadu_ps(acc + d0 + 8 * c);
	for (j = 0; j < n; j++) {
		const float	*v = w->vf + (size_t)j * hd + d0;
		__m256		 vs = _mm256_set1_ps(w->vs[j]);

		if (w->ms[j] != 1.0f) {
			__m256	ms = _mm256_set1_ps(w->ms[j]);

			AT_UNROLL
			for (c = 0; c < W; c++)
				a[c] = round16(_mm256_mul_ps(a[c], ms));
		}
		AT_UNROLL
		for (c = 0; c < W; c++)
			a[c] = round16(_mm256_fmadd_ps(_mm256_loadu_ps(v +
			    8 * c), vs, a[c]));
	}
	AT_UNROLL
	for (c = 0; c < W; c++)
		_mm256_storeu_ps(acc + d0 + 8 * c, a[c]);
}

/* The W accumulators times a rescale m, each rounded to F16, as ggml
 * scales its F16 accumulator when the running maximum moves. */
static __attribute__((target("avx512f,f16c,fma"))) inline
__attribute__((always_inline)) void
rescale512(__m512 *a, float m, const int W)
{
	__m512	ms = _mm512_set1_ps(m);
	int	c;

	AT_UNROLL
	for (c = 0; c < W; c++)
		a[c] = _mm512_cvtph_ps(_mm512_cvtps_ph(_mm512_mul_ps(a[c], ms),
		    0));
}

/* values() on zmm: 16 lanes a chain, so that the W chains of one pass
 * cover twice the dims (the same operations on each element). */
static __attribute__((target("avx512f,f16c,fma"))) inline
__attribute__((always_inline)) void
values512(const struct ws *w, int hd, float *acc, int d0, int n, const int W)
{
	__m512	a[8];
	int	c, j;

	AT_UNROLL
	for (c = 0; c < W; c++)
		a[c] = _mm512_loadu_ps(acc + d0 + 16 * c);
	for (j = 0; j < n; j++) {
		const float	*v = w->vf + (size_t)j * hd + d0;
		__m512		 vs = _mm512_set1_ps(w->vs[j]);

		if (w->ms[j] != 1.0f)
			rescale512(a, w->ms[j], W);
		AT_UNROLL
		for (c = 0; c < W; c++)
			a[c] = _mm512_cvtph_ps(_mm512_cvtps_ph(_mm512_fmadd_ps(
			    _mm512_loadu_ps(v + 16 * c), vs, a[c]), 0));
	}
	AT_UNROLL
	for (c = 0; c < W; c++)
		_mm512_storeu_ps(acc + d0 + 16 * c, a[c]);
}

/*
 * values512 for two rows of the same token at once (ms/vs and ms2/vs2),
 * 4 chains each: with head size 64 one row has only 4 chains of
 * dependent FMA and F16 round trips, too few to cover their latency;
 * two rows interleaved fill the pipes and share each value load.  Each
 * row's operations are values512's.
 */
static __attribute__((target("avx512f,f16c,fma"), noinline)) void
values512_2(const struct ws *w, int hd, float *acc0, float *acc1, int n)
{
	__m512	a[4], b[4];
	int	c, j;

	for (c = 0; c < 4; c++) {
		a[c] = _mm512_loadu_ps(acc0 + 16 * c);
		b[c] = _mm512_loadu_ps(acc1 + 16 * c);
	}
	for (j = 0; j < n; j++) {
		const float	*v = w->vf + (size_t)j * hd;
		__m512		 vs = _mm512_set1_ps(w->vs[j]);
		__m512		 vs2 = _mm512_set1_ps(w->vs2[j]);
		__m512		 x;

		if (w->ms[j] != 1.0f)
			rescale512(a, w->ms[j], 4);
		if (w->ms2[j] != 1.0f)
			rescale512(b, w->ms2[j], 4);
		AT_UNROLL
		for (c = 0; c < 4; c++) {
			x = _mm512_loadu_ps(v + 16 * c);
			a[c] = _mm512_cvtph_ps(_mm512_cvtps_ph(_mm512_fmadd_ps(
			    x, vs, a[c]), 0));
			b[c] = _mm512_cvtph_ps(_mm512_cvtps_ph(_mm512_fmadd_ps(
			    x, vs2, b[c]), 0));
		}
	}
	for (c = 0; c < 4; c++) {
		_mm512_storeu_ps(acc0 + 16 * c, a[c]);
		_mm512_storeu_ps(acc1 + 16 * c, b[c]);
	}
}

/* The values of the block into a row's accumulator, on zmm; returns
 * the dims done. */
static __attribute__((target("avx512f,f16c,fma"), noinline)) int
values_z(const struct ws *w, int hd, float *acc, int n)
{
	int	d;

	for (d = 0; d + 128 <= hd; d += 128)
		values512(w, hd, acc, d, n, 8);
	for (; d + 64 <= hd; d += 64)
		values512(w, hd, acc, d, n, 4);
	for (; d + 16 <= hd; d += 16)
		values512(w, hd, acc, d, n, 1);
	return d;
}

/* The weights of row r against keys 0..n-1 of the block: into vs, each
 * key's weight in the online softmax, into ms the rescale it brings (1
 * if none); the row's running maximum and sum move on. */
static AT_AVX2 void
row_weights(const struct ws *w, int hd, size_t r, int n, float scale,
    float *ms_out, float *vs_out)
{
	float	 M = w->M[r], S = w->S[r];
	float	 s, ms, vs;
	uint8_t	 up[ATTN_BK];
	int	 j;

	/* The scores first (independent of each other), into vs. */
	j = w->z512 ? scores512(hd, w->kf, w->qf + r * hd, n, scale, vs_out) :
	    scores256(hd, w->kf, w->qf + r * hd, n, scale, vs_out);
	for (; j < n; j++)
		vs_out[j] = (w->z512 ? dot_row512(hd, w->kf + (size_t)j * hd,
		    w->qf + r * hd) : dot_row(hd, w->kf + (size_t)j * hd,
		    w->qf + r * hd)) * scale;
	/* The softmax, key by key in order as ggml (its scalar steps):
	 * first the running maximum and each key's exp argument (into
	 * ms_out), whether the key raised the maximum; then the exps, all
	 * at once as libm's expf computes each (vm_expf); then the sum. */
	for (j = 0; j < n; j++) {
		s = vs_out[j];
		up[j] = s > M;
		if (up[j]) {
			ms_out[j] = M - s;
			M = s;
		} else
			ms_out[j] = s - M;
	}
	vm_expf(ms_out, n);
	for (j = 0; j < n; j++) {
		ms = up[j] ? ms_out[j] : 1.0f;
		vs = up[j] ? 1.0f : ms_out[j];
		S = S * ms + vs;
		ms_out[j] = ms;
		vs_out[j] = vs;
	}
	w->M[r] = M;
	w->S[r] = S;
}

/* Row r against keys 0..n-1 of the block. */
static AT_AVX2 void
row_block(const struct ws *w, int hd, size_t r, int n, float scale)
{
	float	*acc = w->acc + r * hd;
	int	 j, d;

	row_weights(w, hd, r, n, scale, w->ms, w->vs);
	d = w->z512 ? values_z(w, hd, acc, n) : 0;
	for (; d + 64 <= hd; d += 64)
		values(w, hd, acc, d, n, 8);
	for (; d + 32 <= hd; d += 32)
		values(w, hd, acc, d, n, 4);
	for (; d + 8 <= hd; d += 8)
		values(w, hd, acc, d, n, 1);
	for (; d < hd; d++)
		for (j = 0; j < n; j++) {
			if (w->ms[j] != 1.0f)
				acc[d] = round16_ss(acc[d] * w->ms[j]);
			acc[d] = round16_ss(fmaf(w->vf[(size_t)j * hd + d],
			    w->vs[j], acc[d]));
		}
}

/* Rows r and r + 1, of one token, against keys 0..n-1 of the block (head
 * size 64 on zmm: see values512_2). */
static AT_AVX2 void
row_block2(const struct ws *w, int hd, size_t r, int n, float scale)
{
	row_weights(w, hd, r, n, scale, w->ms, w->vs);
	row_weights(w, hd, r + 1, n, scale, w->ms2, w->vs2);
	values512_2(w, hd, w->acc + r * hd, w->acc + (r + 1) * hd, n);
}

static AT_AVX2 void
tile_avx2(int hd, int g, int nt, uint32_t pos0, const float *q, size_t qs,
    const uint16_t *kc, const uint16_t *vc, size_t kvs, float scale,
    float *out, size_t os, float *wsp)
{
	const struct qt_traits	*f16 = qt_get(QT_F16);
	struct ws		 w;
	uint16_t		 h16[1024];
	size_t			 r, R = (size_t)nt * g;
	uint32_t		 kb, last = pos0 + (uint32_t)nt - 1;
	int64_t			 lim;
	int			 j, d0, n, nk, pair;

	ws_split(&w, wsp, hd, g);
	w.z512 = qt_vnni();
	pair = w.z512 && hd == 64;
	for (r = 0; r < R; r++) {
		/* The query as ggml's K products see it: rounded to F16. */
		for (d0 = 0; d0 < hd; d0 += n) {
			n = hd - d0 < 1024 ? hd - d0 : 1024;
			f16->from_f32(q + (r / g) * qs + (r % g) * hd + d0, h16,
			    n);
			f16->to_f32(h16, w.qf + r * hd + d0, n);
		}
		memset(w.acc + r * hd, 0, (size_t)hd * sizeof(float));
		w.M[r] = -INFINITY;
		w.S[r] = 0.0f;
	}
	for (kb = 0; kb <= last; kb += ATTN_BK) {
		nk = last + 1 - kb < ATTN_BK ? (int)(last + 1 - kb) : ATTN_BK;
		for (j = 0; j < nk; j++) {
			f16->to_f32(kc + (kb + j) * kvs, w.kf + (size_t)j * hd,
			    hd);
			f16->to_f32(vc + (kb + j) * kvs, w.vf + (size_t)j * hd,
			    hd);
		}
		for (r = 0; r < R; r++) {
			/* Token r / g sees the keys up to its position. */
			lim = (int64_t)pos0 + (int64_t)(r / g) - kb + 1;
			if (lim <= 0)
				continue;
			if (lim > nk)
				lim = nk;
			if (pair && (r + 1) / g == r / g) {
				row_block2(&w, hd, r, (int)lim, scale);
				r++;
			} else
				row_block(&w, hd, r, (int)lim, scale);
		}
	}
	for (r = 0; r < R; r++) {
		float	inv = 1.0f / w.S[r];
		float	*o = out + (r / g) * os + (r % g) * hd;

		for (j = 0; j < hd; j++)
			o[j] = w.acc[r * hd + j] * inv;
	}
}
#else
size_t
attn_ws_floats(int hd, int g)
{
	(void)hd;
	(void)g;
	return 1;
}

int
attn_tile_ok(void)
{
	return 0;
}
#endif

void
attn_tile(int hd, int g, int nt, uint32_t pos0, const float *q, size_t qs,
    const uint16_t *kc, const uint16_t *vc, size_t kvs, float scale,
    float *out, size_t os, float *ws)
{
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
	tile_avx2(hd, g, nt, pos0, q, qs, kc, vc, kvs, scale, out, os, ws);
#else
	(void)hd, (void)g, (void)nt, (void)pos0, (void)q, (void)qs, (void)kc;
	(void)vc, (void)kvs, (void)scale, (void)out, (void)os, (void)ws;
#endif
}
