/*
 * The sampler, in llama.cpp's default order: repeat penalty, top-k, top-p,
 * min-p, temperature, then a draw from the softmax with xoshiro256**.
 * Top-k is a bounded heap and top-p a weighted quickselect, so a 128k
 * vocabulary is never fully sorted.  A sampler belongs to one thread.
 */
#include "config.h"

#include "sample.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SAMPLE_HIST_MAX		(1 << 22)	/* tokens kept for last_n -1 */

struct sample_cand {
	int32_t	id;
	float	logit;
};

struct sampler {
	struct sample_params	 params;
	int32_t			 n_vocab;
	uint64_t		 rng[4];	/* xoshiro256** state */

	struct sample_cand	*cand;		/* (n_vocab) working set */
	struct sample_cand	*tmp;		/* (n_vocab) selection output */
	uint8_t			*seen;		/* (n_vocab) penalty dedup */
	double			*prob;		/* (n_vocab) softmax */

	int32_t			*hist;		/* accepted, oldest first */
	size_t			 n_hist;
	size_t			 cap_hist;
};

/* splitmix64: expands one seed into the xoshiro state. */
static uint64_t
sample_splitmix(uint64_t *x)
{
	uint64_t	z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void
sample_seed(struct sampler *s, uint64_t seed)
{
	uint64_t	x = seed;
	int		i;

	for (i = 0; i < 4; i++)
		s->rng[i] = sample_splitmix(&x);
}

static inline uint64_t
sample_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* xoshiro256** (Blackman and Vigna), one 64-bit output. */
static uint64_t
sample_next(struct sampler *s)
{
	uint64_t	*r = s->rng;
	uint64_t	 out = sample_rotl(r[1] * 5, 7) * 9;
	uint64_t	 t = r[1] << 17;

	r[2] ^= r[0];
	r[3] ^= r[1];
	r[1] ^= r[2];
	r[0] ^= r[3];
	r[2] ^= t;
	r[3] = sample_rotl(r[3], 45);
	return out;
}

/* A uniform double in [0, 1) from the top 53 bits. */
static double
sample_uniform(struct sampler *s)
{
	return (double)(sample_next(s) >> 11) * (1.0 / 9007199254740992.0);
}

/* Fill *p with the seed's defaults (see sample.h). */
void
sample_params_default(struct sample_params *p)
{
	p->temperature = 0.2f;
	p->top_k = 40;
	p->top_p = 0.9f;
	p->min_p = 0.0f;
	p->repeat_penalty = 1.1f;
	p->repeat_last_n = 64;
	p->seed = 0;
}

/* A new sampler for n_vocab logits, or NULL (n_vocab < 1 or no memory);
 * the caller owns it (free with sampler_free) and uses it from one thread.
 * The seed is used as given: 0 is a seed like any other. */
struct sampler *
sampler_new(const struct sample_params *p, int32_t n_vocab)
{
	struct sampler	*s;
	size_t		 n;

	if (p == NULL || n_vocab < 1)
		return NULL;
	n = (size_t)n_vocab;
	if ((s = calloc(1, sizeof *s)) == NULL)
		return NULL;
	s->n_vocab = n_vocab;
	s->params = *p;
	s->cand = malloc(n * sizeof *s->cand);
	s->tmp = malloc(n * sizeof *s->tmp);
	s->seen = calloc(n, 1);
	s->prob = malloc(n * sizeof *s->prob);
	if (s->cand == NULL || s->tmp == NULL || s->seen == NULL ||
	    s->prob == NULL) {
		sampler_free(s);
		return NULL;
	}
	sample_seed(s, p->seed);
	return s;
}

/* Free a sampler and everything it owns; NULL is a no-op. */
void
sampler_free(struct sampler *s)
{
	if (s == NULL)
		return;
	free(s->cand);
	free(s->tmp);
	free(s->seen);
	free(s->prob);
	free(s->hist);
	free(s);
}

/* Replace the parameters from the next sample on; a new seed reseeds. */
void
sampler_set_params(struct sampler *s, const struct sample_params *p)
{
	if (p->seed != s->params.seed)
		sample_seed(s, p->seed);
	s->params = *p;
}

/* The parameters in force (borrowed; valid until the next set_params). */
const struct sample_params *
sampler_params(const struct sampler *s)
{
	return &s->params;
}

/* Forget the token history; the RNG stream goes on. */
void
sampler_reset(struct sampler *s)
{
	s->n_hist = 0;
}

/* Record a token for the repeat penalty; ids outside the vocabulary are
 * ignored.  When memory runs short the oldest half is dropped. */
void
sampler_accept(struct sampler *s, int32_t id)
{
	size_t	 cap;
	int32_t	*h;

	if (id < 0 || id >= s->n_vocab)
		return;
	if (s->n_hist == s->cap_hist) {
		cap = s->cap_hist == 0 ? 256 : s->cap_hist * 2;
		h = NULL;
		if (cap <= SAMPLE_HIST_MAX)
			h = realloc(s->hist, cap * sizeof *h);
		if (h != NULL) {
			s->hist = h;
			s->cap_hist = cap;
		} else if (s->n_hist > 1) {
			memmove(s->hist, s->hist + s->n_hist / 2,
			    (s->n_hist - s->n_hist / 2) * sizeof *s->hist);
			s->n_hist -= s->n_hist / 2;
		} else
			return;
	}
	s->hist[s->n_hist++] = id;
}

/*
 * llama.cpp's repeat penalty: every distinct token among the last n
 * accepted ones is penalised once, dividing a positive logit and
 * multiplying a zero or negative one, so it always becomes less likely.
 */
static void
sample_penalize(struct sampler *s, float *logits)
{
	const struct sample_params	*p = &s->params;
	float				 pen = p->repeat_penalty;
	size_t				 n, i, first;
	int32_t				 t;

	if (p->repeat_last_n == 0 || pen == 1.0f || !(pen > 0.0f) ||
	    !isfinite(pen) || s->n_hist == 0)
		return;
	n = s->n_hist;
	if (p->repeat_last_n > 0 && (size_t)p->repeat_last_n < n)
		n = (size_t)p->repeat_last_n;
	else if (p->repeat_last_n < -1)
		return;
	first = s->n_hist - n;
	for (i = first; i < s->n_hist; i++) {
		t = s->hist[i];
		if (s->seen[t])
			continue;
		s->seen[t] = 1;
		if (logits[t] <= 0.0f)
			logits[t] *= pen;
		else
			logits[t] /= pen;
	}
	for (i = first; i < s->n_hist; i++)
		s->seen[s->hist[i]] = 0;
}

/* The total order of candidates: higher logit first, then lower id. */
static inline int
sample_better(const struct sample_cand *a, const struct sample_cand *b)
{
	return a->logit > b->logit || (a->logit == b->logit && a->id < b->id);
}

/* Restore the min-heap (worst candidate at the root) below index i. */
static void
sample_sift(struct sample_cand *h, size_t n, size_t i)
{
	struct sample_cand	x = h[i];
	size_t			c;

	for (;;) {
		c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && sample_better(&h[c], &h[c + 1]))
			c++;
		if (!sample_better(&x, &h[c]))
			break;
		h[i] = h[c];
		i = c;
	}
	h[i] = x;
}

/*
 * The best m of src[0..n) into dst[0..m), best first: a bounded min-heap,
 * so most of a large vocabulary costs one comparison against the root.
 */
static void
sample_select(const struct sample_cand *src, size_t n,
    struct sample_cand *dst, size_t m)
{
	struct sample_cand	x;
	size_t			i;

	memcpy(dst, src, m * sizeof *dst);
	for (i = m / 2; i-- > 0; )
		sample_sift(dst, m, i);
	for (i = m; i < n; i++) {
		if (sample_better(&src[i], &dst[0])) {
			dst[0] = src[i];
			sample_sift(dst, m, 0);
		}
	}
	/* Heap sort: popping the worst to the back leaves dst best first. */
	for (i = m; i > 1; i--) {
		x = dst[0];
		dst[0] = dst[i - 1];
		dst[i - 1] = x;
		sample_sift(dst, i - 1, 0);
	}
}

static void
sample_swap(struct sampler *s)
{
	struct sample_cand	*x = s->cand;

	s->cand = s->tmp;
	s->tmp = x;
}

/* Index of the best candidate in cand[0..n). */
static size_t
sample_best(const struct sampler *s, size_t n)
{
	size_t	i, b = 0;

	for (i = 1; i < n; i++)
		if (sample_better(&s->cand[i], &s->cand[b]))
			b = i;
	return b;
}

/*
 * Softmax of cand[0..n) at temperature t into s->prob, given the largest
 * logit mx (finite).  Dividing the distance to mx, not the logit, keeps a
 * tiny t from overflowing to inf - inf.
 */
static void
sample_softmax(struct sampler *s, size_t n, float mx, float t)
{
	double	sum = 0.0;
	size_t	i;

	for (i = 0; i < n; i++) {
		s->prob[i] = expf((s->cand[i].logit - mx) / t);
		sum += s->prob[i];
	}
	for (i = 0; i < n; i++)
		s->prob[i] /= sum;
}

/* The length of the best-first prefix of a[0..m) whose probability
 * (exp(l - mx) / sum) reaches p, or m + 1 if it never does. */
static size_t
sample_prefix(const struct sample_cand *a, size_t m, float p, float mx,
    double sum)
{
	double	cum = 0.0;
	size_t	i;

	for (i = 0; i < m; i++) {
		cum += exp((double)a[i].logit - mx) / sum;
		if (cum >= p)
			return i + 1;
	}
	return m + 1;
}

static inline void
sample_xchg(struct sample_cand *c, double *w, size_t i, size_t j)
{
	struct sample_cand	x = c[i];
	double			y = w[i];

	c[i] = c[j];
	c[j] = x;
	w[i] = w[j];
	w[j] = y;
}

/*
 * Partition c[lo..hi) (weights w alongside) around the element at pv:
 * better ones first.  Returns the pivot's final index; *mass gets the
 * weight of the better part.
 */
static size_t
sample_partition(struct sample_cand *c, double *w, size_t lo, size_t hi,
    size_t pv, double *mass)
{
	struct sample_cand	piv;
	size_t			i, k = lo;
	double			m = 0.0;

	sample_xchg(c, w, pv, hi - 1);
	piv = c[hi - 1];
	for (i = lo; i < hi - 1; i++) {
		if (sample_better(&c[i], &piv)) {
			m += w[i];
			sample_xchg(c, w, i, k++);
		}
	}
	sample_xchg(c, w, k, hi - 1);
	*mass = m;
	return k;
}

/*
 * Top-p over unsorted candidates without sorting them: a quickselect on
 * weights.  Whatever lies before lo is in the set; each round keeps the
 * side of the pivot where the missing mass is reached.  Expected O(n).
 * The set equals the sorted prefix; its order is arbitrary.
 */
static size_t
sample_top_p_select(struct sampler *s, size_t n, float mx, double target)
{
	struct sample_cand	*c = s->cand;
	double			*w = s->prob;
	size_t			 lo = 0, hi = n, k, pv;
	double			 m;
	uint64_t		 r = 0x2545f4914f6cdd1dULL;

	while (hi - lo > 1) {
		/* A cheap deterministic random pivot against adversarial
		 * orders; the order of candidates is not secret anyway. */
		r ^= r << 13;
		r ^= r >> 7;
		r ^= r << 17;
		pv = lo + (size_t)(r % (hi - lo));
		k = sample_partition(c, w, lo, hi, pv, &m);
		if (m >= target)
			hi = k;
		else if (m + w[k] >= target)
			return k + 1;
		else {
			target -= m + w[k];
			lo = k + 1;
		}
	}
	return hi > lo ? lo + 1 : (lo > 0 ? lo : 1);
}

/*
 * Top-p at temperature 1: the smallest set of best candidates whose
 * probability reaches p (at least one token).  Candidates already sorted
 * by top-k are walked; otherwise a weighted quickselect finds the set.
 */
static size_t
sample_top_p(struct sampler *s, size_t n, int sorted, float mx)
{
	float	p = s->params.top_p;
	double	sum = 0.0;
	size_t	i, k;

	if (sorted) {
		for (i = 0; i < n; i++)
			sum += expf(s->cand[i].logit - mx);
		k = sample_prefix(s->cand, n, p, mx, sum);
		return k > n ? n : k;
	}
	for (i = 0; i < n; i++) {
		s->prob[i] = expf(s->cand[i].logit - mx);
		sum += s->prob[i];
	}
	if (!(p > 0.0f))
		return sample_top_p_select(s, n, mx, 0.0);
	return sample_top_p_select(s, n, mx, (double)p * sum);
}

/* Min-p: keep candidates whose probability is at least min_p times the
 * best one's, i.e. logit >= max + log(min_p); order is kept. */
static size_t
sample_min_p(struct sampler *s, size_t n, float mx)
{
	float	mp = s->params.min_p > 1.0f ? 1.0f : s->params.min_p;
	float	lim = mx + logf(mp);
	size_t	i, k = 0;

	for (i = 0; i < n; i++)
		if (s->cand[i].logit >= lim)
			s->cand[k++] = s->cand[i];
	return k;
}

/* Lowest id among the largest logits (NaN never wins). */
static int32_t
sample_argmax(const float *logits, int32_t n)
{
	int32_t	i, best = -1;

	for (i = 0; i < n; i++) {
		if (isnan(logits[i]))
			continue;
		if (best < 0 || logits[i] > logits[best])
			best = i;
	}
	return best < 0 ? 0 : best;
}

/* Draw from the softmax of cand[0..n) at the temperature in force. */
static int32_t
sample_draw(struct sampler *s, size_t n, float mx)
{
	double	u, run;
	size_t	i;

	sample_softmax(s, n, mx, s->params.temperature);
	u = sample_uniform(s);
	run = 0.0;
	for (i = 0; i < n; i++) {
		run += s->prob[i];
		if (u < run)
			return s->cand[i].id;
	}
	/* Rounding left u above the total: the last token with mass. */
	for (i = n; i-- > 0; )
		if (s->prob[i] > 0.0)
			return s->cand[i].id;
	return s->cand[0].id;
}

/*
 * Choose the next token: penalties modify logits in place, then the
 * filters narrow a candidate list and the RNG draws from it.  Returns an
 * id in [0, n_vocab); NaN logits count as -inf, and a temperature that
 * is not a positive finite number means greedy.
 */
int32_t
sampler_sample(struct sampler *s, float *logits)
{
	const struct sample_params	*p = &s->params;
	size_t				 n = (size_t)s->n_vocab, i, b;
	int				 sorted = 0;	/* cand best first */
	float				 mx;

	sample_penalize(s, logits);
	if (!(p->temperature > 0.0f) || !isfinite(p->temperature))
		return sample_argmax(logits, s->n_vocab);

	for (i = 0; i < n; i++) {
		s->cand[i].id = (int32_t)i;
		s->cand[i].logit = isnan(logits[i]) ? -INFINITY : logits[i];
	}
	if (p->top_k > 0 && (size_t)p->top_k < n) {
		sample_select(s->cand, n, s->tmp, (size_t)p->top_k);
		sample_swap(s);
		n = (size_t)p->top_k;
		sorted = 1;
	}
	/* Every later stage keeps the best candidate, so mx holds.  A
	 * non-finite best makes the softmax meaningless: take it. */
	b = sorted ? 0 : sample_best(s, n);
	mx = s->cand[b].logit;
	if (!isfinite(mx))
		return s->cand[b].id;
	if (p->top_p < 1.0f)
		n = sample_top_p(s, n, sorted, mx);
	if (p->min_p > 0.0f)
		n = sample_min_p(s, n, mx);
	return sample_draw(s, n, mx);
}
