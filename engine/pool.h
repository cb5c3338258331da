/*
 * The compute pool: n_threads - 1 helper threads plus the caller, which
 * run one function together and meet again at the end.  Helpers spin for
 * a short while between jobs (decode issues hundreds of jobs a token) and
 * then sleep, so an idle engine costs no CPU.
 */
#ifndef YT_ENGINE_POOL_H
#define YT_ENGINE_POOL_H

struct pool;

/* A job: called once on every thread with its index ith in [0, nth). */
typedef void (*pool_fn)(void *arg, int ith, int nth);

struct pool	*pool_new(int n_threads);
void		 pool_free(struct pool *);
int		 pool_size(const struct pool *);
void		 pool_run(struct pool *, pool_fn, void *arg);
/* A barrier for use inside a job: every thread of the pool must call it. */
void		 pool_barrier(struct pool *);
/* The number of online cores (at least 1). */
int		 pool_default_threads(void);

/* Split n items over nth threads: thread ith gets [*lo, *hi). */
static inline void
pool_split(long n, int ith, int nth, long *lo, long *hi)
{
	long	per = n / nth, rem = n % nth;

	*lo = ith * per + (ith < rem ? ith : rem);
	*hi = *lo + per + (ith < rem ? 1 : 0);
}

#endif
