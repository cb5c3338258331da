/*
 * `yangtuo bench`: prompt and generation speed like llama-bench, with the
 * peak RSS and, on request, the machine's read bandwidth that bounds
 * decoding.
 */
#include "config.h"

#include "cmd.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine/forward.h"
#include "engine/model.h"
#include "engine/pool.h"
#include "engine/quant.h"
#include "xmalloc.h"

#include "tool.h"
#include "util.h"
#include "text.h"

static int
cmp_dbl(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static long
peak_rss_bytes(void)
{
	struct rusage	ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss * 1024L;
}

struct bw_job {
	const uint64_t	*buf;
	size_t		 n;		/* words */
	uint64_t	 sink[64];
};

static void
bw_run(void *arg, int ith, int nth)
{
	struct bw_job	*j = arg;
	long		 lo, hi, i;
	uint64_t	 a = 0, b = 0, c = 0, d = 0;

	pool_split((long)j->n / 4, ith, nth, &lo, &hi);
	for (i = lo * 4; i < hi * 4; i += 4) {
		a += j->buf[i];
		b ^= j->buf[i + 1];
		c += j->buf[i + 2];
		d ^= j->buf[i + 3];
	}
	j->sink[ith % 64] = a + b + c + d;
}

/* The machine's read bandwidth with nth threads: the best of 5 passes
 * over 1 GiB, in bytes per second. */
static double
read_bandwidth(int nth)
{
	struct bw_job	 j;
	struct pool	*p;
	size_t		 bytes = 1u << 30, i;
	uint64_t	*buf;
	double		 best = 0, t0, t;
	int		 r;

	if ((buf = malloc(bytes)) == NULL || (p = pool_new(nth)) == NULL) {
		free(buf);
		return 0;
	}
	for (i = 0; i < bytes / 8; i++)
		buf[i] = i * 2654435761u;
	j.buf = buf;
	j.n = bytes / 8;
	for (r = 0; r < 5; r++) {
		t0 = util_now();
		pool_run(p, bw_run, &j);
		t = util_now() - t0;
		if (bytes / t > best)
			best = bytes / t;
	}
	pool_free(p);
	free(buf);
	return best;
}

/* The same in a child process, so that its gigabyte does not count in
 * our peak RSS; 0 if that fails. */
static double
read_bandwidth_apart(int nth)
{
	double	b = 0;
	ssize_t	n;
	pid_t	pid;
	int	fd[2], st;

	if (pipe(fd) != 0)
		return 0;
	if ((pid = fork()) == 0) {
		close(fd[0]);
		b = read_bandwidth(nth);
		n = write(fd[1], &b, sizeof b);
		_exit(n == (ssize_t)sizeof b ? 0 : 1);
	}
	close(fd[1]);
	if (pid > 0) {
		do
			n = read(fd[0], &b, sizeof b);
		while (n < 0 && errno == EINTR);
		if (n != (ssize_t)sizeof b)
			b = 0;
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
	}
	close(fd[0]);
	return b;
}

/* Bytes one decoded token reads: every matrix a layer multiplies, the
 * output head, and the K/V rows of a context of ctx tokens. */
static double
token_bytes(const struct model *m, double ctx)
{
	double		b = 0;
	uint32_t	il;

	for (il = 0; il < m->hp.n_layer; il++) {
		const struct layer	*l = &m->layers[il];

		b += (double)l->wq.row_size * l->wq.ne1 +
		    (double)l->wk.row_size * l->wk.ne1 +
		    (double)l->wv.row_size * l->wv.ne1 +
		    (double)l->wo.row_size * l->wo.ne1 +
		    (double)l->w_gate.row_size * l->w_gate.ne1 +
		    (double)l->w_up.row_size * l->w_up.ne1 +
		    (double)l->w_down.row_size * l->w_down.ne1;
	}
	b += (double)m->output.row_size * m->output.ne1;
	b += 2.0 * 2 * m->hp.n_layer * (double)m->hp.n_head_kv *
	    m->hp.head_dim * ctx;
	return b;
}

/* A bench run: the options, then what was measured. */
struct bench {
	const char	*model;
	long		 threads, pp, tg, reps;
	int		 json, bw;
	double		 ppm, tgm;	/* medians, tokens/s */
	double		 bw0, bw1, bwps;	/* read bandwidth, bytes/s */
	double		 tb;		/* bytes a token reads */
	double		 load;		/* seconds to a model ready to run */
	long		 rss;
	int		 nth;
	const char	*lora[8];	/* --lora PATH[:SCALE] */
	int		 n_lora;
	int		 lora_merge;
};

/* The options: -1 to go on, else the exit status. */
static int
bench_opts(struct bench *b, int argc, char **argv)
{
	static const struct option	 bopts[] = {
		{ "model", required_argument, NULL, 'm' },
		{ "threads", required_argument, NULL, 't' },
		{ "n-prompt", required_argument, NULL, 'p' },
		{ "n-gen", required_argument, NULL, 'n' },
		{ "repetitions", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "bandwidth", no_argument, NULL, 'b' },
		{ "lora", required_argument, NULL, 'l' },
		{ "lora-merge", no_argument, NULL, 'M' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	long	v;
	int	c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "hm:t:p:n:r:", bopts,
	    NULL)) != -1) {
		switch (c) {
		case 'm':
			b->model = optarg;
			break;
		case 't':
		case 'p':
		case 'n':
		case 'r':
			if (util_parse_long(optarg, c == 't' || c == 'r' ?
			    1 : 0, 1 << 16, &v) != 0)
				return tool_usage("bench", "bad number");
			if (c == 't')
				b->threads = v;
			else if (c == 'p')
				b->pp = v;
			else if (c == 'n')
				b->tg = v;
			else
				b->reps = v;
			break;
		case 'j':
			b->json = 1;
			break;
		case 'b':
			b->bw = 1;
			break;
		case 'l':
			if (b->n_lora >= (int)(sizeof b->lora /
			    sizeof b->lora[0]))
				return tool_usage("bench", "too many --lora");
			b->lora[b->n_lora++] = optarg;
			break;
		case 'M':
			b->lora_merge = 1;
			break;
		case 'h':
			return tool_help("bench");
		default:
			return tool_usage("bench", "unknown option");
		}
	}
	if (b->model == NULL && optind < argc)
		b->model = argv[optind++];
	if (b->model == NULL)
		return tool_usage("bench", "no model given (-m MODEL.gguf)");
	return -1;
}

/* The warm-up round and the repetitions; the medians go to b. */
static void
bench_rounds(struct bench *b, const struct model *m, struct fwd *f)
{
	int32_t	*ids, next = 0;
	float	*logits;
	double	*pps, *tgs, t0;
	long	 r, i;

	ids = xreallocarray(NULL, (size_t)b->pp + 1, sizeof *ids);
	for (i = 0; i <= b->pp; i++)
		ids[i] = (int32_t)((i * 7919 + 13) % m->hp.n_vocab);
	logits = xreallocarray(NULL, m->hp.n_vocab, sizeof *logits);
	pps = xcalloc((size_t)b->reps + 1, sizeof *pps);
	tgs = xcalloc((size_t)b->reps + 1, sizeof *tgs);
	for (r = 0; r <= b->reps; r++) {
		if (b->pp > 0) {
			t0 = util_now();
			fwd_eval(f, ids, (size_t)b->pp, 0, logits, 0);
			pps[r] = b->pp / (util_now() - t0);
		}
		if (b->tg > 0) {
			t0 = util_now();
			next = ids[0];
			for (i = 0; i < b->tg; i++) {
				fwd_eval(f, &next, 1, (uint32_t)i, logits, 0);
				next = tool_argmax(logits, m->hp.n_vocab);
			}
			tgs[r] = b->tg / (util_now() - t0);
		}
		if (!b->json)
			fprintf(stderr, "%s round %ld: pp %.2f t/s, tg %.2f "
			    "t/s\n", r == 0 ? "warm-up" : "", r, pps[r],
			    tgs[r]);
	}
	/* Round 0 is the warm-up. */
	qsort(pps + 1, (size_t)b->reps, sizeof *pps, cmp_dbl);
	qsort(tgs + 1, (size_t)b->reps, sizeof *tgs, cmp_dbl);
	b->ppm = pps[1 + b->reps / 2];
	b->tgm = tgs[1 + b->reps / 2];
	free(pps);
	free(tgs);
	free(ids);
	free(logits);
}

/* The results, as JSON or for a person. */
static void
bench_report(const struct bench *b)
{
	if (b->json)
		printf("{\"engine\": \"yangtuo %s\", \"model\": \"%s\", "
		    "\"threads\": %d, \"pp\": %ld, \"tg\": %ld, \"pp_tps\": "
		    "%.3f, \"tg_tps\": %.3f, \"peak_rss_bytes\": %ld, "
		    "\"kernels\": \"%s\", \"token_bytes\": %.0f, "
		    "\"read_bandwidth\": %.0f, \"read_bandwidth_before\": %.0f, "
		    "\"read_bandwidth_after\": %.0f, \"tg_bound_tps\": %.3f, "
		    "\"load_s\": %.3f}\n",
		    PACKAGE_VERSION, b->model, b->nth, b->pp, b->tg, b->ppm,
		    b->tgm, b->rss, qt_path_name(), b->tb, b->bwps, b->bw0,
		    b->bw1, b->tb > 0 ? b->bwps / b->tb : 0.0, b->load);
	else {
		printf("%s: %d threads, %s kernels\nload: %.2f s\npp%ld: "
		    "%.2f t/s\ntg%ld: %.2f t/s\npeak RSS: %.1f MiB\n",
		    b->model, b->nth, qt_path_name(), b->load, b->pp, b->ppm,
		    b->tg, b->tgm, b->rss / 1048576.0);
		if (b->bw)
			printf("read bandwidth: %.2f GB/s (%.2f before the "
			    "runs, %.2f after); a token reads %.1f MB, so "
			    "decode is bound by %.2f t/s: tg is %.0f%% of it\n",
			    b->bwps / 1e9, b->bw0 / 1e9, b->bw1 / 1e9,
			    b->tb / 1e6, b->bwps / b->tb,
			    100.0 * b->tgm / (b->bwps / b->tb));
	}
}

/* yangtuo bench: prompt (pp) and generation (tg) tokens/s, llama-bench
 * style: one warm-up round, then medians over the repetitions. */
int
cmd_bench(int argc, char **argv)
{
	struct bench	 b;
	struct model	*m;
	struct fwd	*f;
	char		*cause = NULL;
	double		 t0;
	int		 r;

	memset(&b, 0, sizeof b);
	b.pp = 512;
	b.tg = 128;
	b.reps = 3;
	if ((r = bench_opts(&b, argc, argv)) != -1)
		return r;
	/* Load as a chat does: map, check, repack, the KV cache. */
	t0 = util_now();
	if ((m = tool_open_model(b.model)) == NULL)
		return 1;
	if (tool_apply_lora(m, b.lora, b.n_lora, b.lora_merge) != 0) {
		model_free(m);
		return 1;
	}
	f = fwd_new(m, (uint32_t)(b.pp + b.tg + 8), (int)b.threads,
	    (uint32_t)(b.pp > 0 ? b.pp : 1), &cause);
	if (f == NULL) {
		text_say(stderr, "yangtuo: %s\n", cause);
		free(cause);
		model_free(m);
		return 1;
	}
	b.load = util_now() - t0;
	if (b.bw && b.tg > 0) {
		/* The host's bandwidth drifts (37 to 60 GB/s within minutes
		 * here): read it before the runs too, once the new engine's
		 * helpers have gone to sleep, and take the mean. */
		struct timespec	ts = { 0, 50000000 };

		nanosleep(&ts, NULL);
		b.bw0 = read_bandwidth_apart(fwd_n_threads(f));
	}
	bench_rounds(&b, m, f);
	b.rss = peak_rss_bytes();
	b.nth = fwd_n_threads(f);
	if (b.bw) {
		/* After the runs and the peak RSS, with the engine's threads
		 * gone (an idle helper still spinning took a third of it). */
		b.tb = token_bytes(m, b.tg / 2.0);
		fwd_free(f);
		f = NULL;
		b.bw1 = read_bandwidth(b.nth);
		b.bwps = b.bw0 > 0 ? (b.bw0 + b.bw1) / 2 : b.bw1;
	}
	bench_report(&b);
	fwd_free(f);
	model_free(m);
	return 0;
}
