/*
 * Thread pool with a generation counter: pool_run() publishes a job by
 * bumping the generation; helpers spin on it (with pause), then fall back
 * to a condition variable.  Completion is a counter the caller spins on.
 * The barrier inside jobs is a sense-reversing spin barrier.
 */
#include "config.h"

#include "pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax()	_mm_pause()
#else
#define cpu_relax()	do { } while (0)
#endif

#define POOL_SPIN	200000	/* pause rounds before a helper sleeps */
/*
 * Pause rounds (about 0.1 ms) after which a waiting thread also yields at
 * every round.  Waits are microseconds when every thread has a core; when
 * the machine is oversubscribed (a compile, another engine), a spinning
 * thread would otherwise burn the time slice that the thread it waits for
 * needs: decode fell from 30 to 4 tokens/s on a 1B model with two other
 * busy processes on the two cores.
 */
#define POOL_YIELD	5000

/* One round of waiting: a pause, and a yield once the wait is long. */
static inline void
wait_round(long *spins)
{
	cpu_relax();
	if (++*spins > POOL_YIELD)
		sched_yield();
}

struct pool {
	int		 n;
	pthread_t	*threads;
	pool_fn		 fn;
	void		*arg;
	atomic_uint	 gen;		/* bumped for every job */
	atomic_int	 pending;	/* helpers still running the job */
	atomic_int	 quit;
	atomic_int	 sleepers;
	pthread_mutex_t	 lock;
	pthread_cond_t	 wake;
	atomic_int	 bar_count;	/* barrier */
	atomic_uint	 bar_gen;
};

struct pool_arg {
	struct pool	*p;
	int		 ith;
};

static void *
pool_main(void *v)
{
	struct pool_arg	*a = v;
	struct pool	*p = a->p;
	int		 ith = a->ith;
	unsigned	 seen = 0, g;
	long		 spins;
	int		 i;

	free(a);
	for (;;) {
		/* A yield counts as 32 rounds, so an idle helper still
		 * goes to sleep within a few milliseconds. */
		for (i = 0, spins = 0; i < POOL_SPIN; i++) {
			if ((g = atomic_load_explicit(&p->gen,
			    memory_order_acquire)) != seen ||
			    atomic_load(&p->quit))
				break;
			wait_round(&spins);
			if (spins > POOL_YIELD)
				i += 31;
		}
		if (i >= POOL_SPIN) {
			pthread_mutex_lock(&p->lock);
			atomic_fetch_add(&p->sleepers, 1);
			while ((g = atomic_load(&p->gen)) == seen &&
			    !atomic_load(&p->quit))
				pthread_cond_wait(&p->wake, &p->lock);
			atomic_fetch_sub(&p->sleepers, 1);
			pthread_mutex_unlock(&p->lock);
		}
		if (atomic_load(&p->quit))
			break;
		seen = g;
		p->fn(p->arg, ith, p->n);
		atomic_fetch_sub_explicit(&p->pending, 1,
		    memory_order_release);
	}
	return NULL;
}

/* A pool of n_threads (caller included; <= 0 means all online cores);
 * NULL if a thread cannot be created.  pool_free() ends it. */
struct pool *
pool_new(int n_threads)
{
	struct pool	*p;
	struct pool_arg	*a;
	int		 i;

	if (n_threads <= 0)
		n_threads = pool_default_threads();
	if (n_threads > 256)
		n_threads = 256;
	if ((p = calloc(1, sizeof *p)) == NULL)
		return NULL;
	p->n = n_threads;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->wake, NULL);
	if ((p->threads = calloc(n_threads, sizeof *p->threads)) == NULL) {
		free(p);
		return NULL;
	}
	for (i = 1; i < n_threads; i++) {
		if ((a = malloc(sizeof *a)) == NULL)
			break;
		a->p = p;
		a->ith = i;
		if (pthread_create(&p->threads[i], NULL, pool_main, a) != 0) {
			free(a);
			break;
		}
	}
	if (i < n_threads) {
		p->n = i;
		pool_free(p);
		return NULL;
	}
	return p;
}

/* Stop and join the helpers, free the pool; NULL is a no-op. */
void
pool_free(struct pool *p)
{
	int	i;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	atomic_store(&p->quit, 1);
	pthread_cond_broadcast(&p->wake);
	pthread_mutex_unlock(&p->lock);
	for (i = 1; i < p->n; i++)
		pthread_join(p->threads[i], NULL);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->wake);
	free(p->threads);
	free(p);
}

/* Threads in the pool, the caller included. */
int
pool_size(const struct pool *p)
{
	return p->n;
}

/* Run fn(arg, ith, nth) on every thread; returns when all have finished.
 * Only one thread may call pool_run at a time. */
void
pool_run(struct pool *p, pool_fn fn, void *arg)
{
	long	spins = 0;

	if (p->n == 1) {
		fn(arg, 0, 1);
		return;
	}
	p->fn = fn;
	p->arg = arg;
	atomic_store(&p->pending, p->n - 1);
	atomic_fetch_add_explicit(&p->gen, 1, memory_order_release);
	if (atomic_load(&p->sleepers) > 0) {
		pthread_mutex_lock(&p->lock);
		pthread_cond_broadcast(&p->wake);
		pthread_mutex_unlock(&p->lock);
	}
	fn(arg, 0, p->n);
	while (atomic_load_explicit(&p->pending, memory_order_acquire) > 0)
		wait_round(&spins);
}

/* Wait until every thread of the running job has reached this point. */
void
pool_barrier(struct pool *p)
{
	unsigned	g;
	long		spins = 0;

	if (p->n == 1)
		return;
	g = atomic_load_explicit(&p->bar_gen, memory_order_acquire);
	if (atomic_fetch_add(&p->bar_count, 1) == p->n - 1) {
		atomic_store(&p->bar_count, 0);
		atomic_fetch_add_explicit(&p->bar_gen, 1,
		    memory_order_release);
		return;
	}
	while (atomic_load_explicit(&p->bar_gen, memory_order_acquire) == g)
		wait_round(&spins);
}

/* The number of online cores (at least 1). */
int
pool_default_threads(void)
{
	long	n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : (n > 256 ? 256 : (int)n);
}
