/*
 * The server-sent events parser (sse.h): a line at a time, with the
 * WHATWG rules the servers rely on: one space after "data:" is dropped,
 * several data lines join with "\n", an event without data is none.
 */
#include "config.h"

#include "sse.h"

#include <stdlib.h>
#include <string.h>

void
sse_init(struct sse *s, size_t max)
{
	memset(s, 0, sizeof *s);
	s->max = max;
}

void
sse_free(struct sse *s)
{
	free(s->line);
	free(s->data);
	memset(s, 0, sizeof *s);
}

/* Append to a bounded buffer: 0, or -1 past max or out of memory. */
static int
put(char **buf, size_t *len, size_t *cap, size_t max, const char *p,
    size_t n)
{
	char	*b;
	size_t	 want;

	if (n > max || *len > max - n)
		return -1;
	if (*len + n + 1 > *cap) {
		want = *cap > 0 ? *cap : 256;
		while (want < *len + n + 1)
			want *= 2;
		if ((b = realloc(*buf, want)) == NULL)
			return -1;
		*buf = b;
		*cap = want;
	}
	memcpy(*buf + *len, p, n);
	*len += n;
	(*buf)[*len] = '\0';
	return 0;
}

/* One whole line (without its ending). */
static int
line(struct sse *s, sse_fn fn, void *arg)
{
	const char	*v;
	size_t		 n = s->len;
	int		 r = 0;

	if (n == 0) {
		if (s->has_data)
			r = fn(arg, s->data != NULL ? s->data : "", s->dlen);
		s->dlen = 0;
		if (s->data != NULL)
			s->data[0] = '\0';
		s->has_data = 0;
		return r;
	}
	if (n >= 5 && memcmp(s->line, "data", 4) == 0 && s->line[4] == ':') {
		v = s->line + 5;
		n -= 5;
		if (n > 0 && *v == ' ') {
			v++;
			n--;
		}
	} else if (n == 4 && memcmp(s->line, "data", 4) == 0) {
		v = "";
		n = 0;
	} else
		return 0;	/* a comment or another field */
	if (s->has_data && put(&s->data, &s->dlen, &s->dcap, s->max, "\n",
	    1) != 0)
		return -1;
	if (put(&s->data, &s->dlen, &s->dcap, s->max, v, n) != 0)
		return -1;
	s->has_data = 1;
	return 0;
}

int
sse_feed(struct sse *s, const char *p, size_t n, sse_fn fn, void *arg)
{
	size_t	i, start = 0;
	int	r;

	for (i = 0; i < n; i++) {
		if (p[i] != '\r' && p[i] != '\n')
			continue;
		if (p[i] == '\n' && s->cr && i == start && s->len == 0) {
			/* the LF of a CRLF */
			s->cr = 0;
			start = i + 1;
			continue;
		}
		if (put(&s->line, &s->len, &s->cap, s->max, p + start,
		    i - start) != 0)
			return -1;
		s->cr = p[i] == '\r';
		r = line(s, fn, arg);
		s->len = 0;
		start = i + 1;
		if (r != 0)
			return r;
	}
	if (start < n) {
		s->cr = 0;
		if (put(&s->line, &s->len, &s->cap, s->max, p + start,
		    n - start) != 0)
			return -1;
	}
	return 0;
}
