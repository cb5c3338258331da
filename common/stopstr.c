/*
 * Stop strings over streamed text.  The buffer searched is the held
 * tail plus the new text: the earliest stop string in it ends the
 * stream; otherwise the longest tail that is a proper prefix of a stop
 * string is held and the rest sent.
 */
#include "config.h"

#include "stopstr.h"

#include <string.h>

void
stopstr_init(struct stopstr *s, const struct proto_params *p)
{
	uint32_t	i;

	memset(s, 0, sizeof *s);
	for (i = 0; i < p->n_stop && i < PROTO_MAX_STOP; i++) {
		/* Checked where they came from; an empty one never ends. */
		s->len[s->n] = strnlen(p->stop[i], PROTO_STOP_MAX - 1);
		if (s->len[s->n] == 0)
			continue;
		memcpy(s->stop[s->n], p->stop[i], s->len[s->n]);
		s->n++;
	}
}

/* The earliest offset in b[0..n) where a stop string starts, or n. */
static size_t
first_stop(const struct stopstr *s, const char *b, size_t n)
{
	size_t		best = n, at;
	uint32_t	i;

	for (i = 0; i < s->n; i++) {
		for (at = 0; at + s->len[i] <= n && at < best; at++)
			if (memcmp(b + at, s->stop[i], s->len[i]) == 0) {
				best = at;
				break;
			}
	}
	return best;
}

/* The length of the longest tail of b[0..n) that a stop string begins
 * with (shorter than that stop string). */
static size_t
held_tail(const struct stopstr *s, const char *b, size_t n)
{
	size_t		best = 0, k;
	uint32_t	i;

	for (i = 0; i < s->n; i++)
		for (k = s->len[i] - 1; k > best; k--)
			if (k <= n && memcmp(b + n - k, s->stop[i], k) == 0) {
				best = k;
				break;
			}
	return best;
}

size_t
stopstr_feed(struct stopstr *s, const char *in, size_t n, char *out)
{
	size_t	len, at, keep;

	if (s->hit)
		return 0;
	if (s->n == 0) {
		memcpy(out, in, n);
		return n;
	}
	/* out doubles as the buffer: held tail first, then the new text. */
	memcpy(out, s->held, s->n_held);
	memcpy(out + s->n_held, in, n);
	len = s->n_held + n;
	s->n_held = 0;
	at = first_stop(s, out, len);
	if (at < len) {
		s->hit = 1;
		return at;
	}
	keep = held_tail(s, out, len);
	memcpy(s->held, out + len - keep, keep);
	s->n_held = keep;
	return len - keep;
}

size_t
stopstr_flush(struct stopstr *s, char *out)
{
	size_t	n = s->hit ? 0 : s->n_held;

	memcpy(out, s->held, n);
	s->n_held = 0;
	return n;
}
