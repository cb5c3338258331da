/*
 * Stop strings over streamed text: text goes in as it is generated and
 * comes out as soon as no stop string can begin in it.  A stop string
 * ends the stream; it and what follows it are never sent.  A tail that
 * could still become one is held back until decided, so a reply can
 * never show half of a stop string.  Whole UTF-8 characters in give
 * whole characters out (stop strings are valid UTF-8).
 */
#ifndef YT_COMMON_STOPSTR_H
#define YT_COMMON_STOPSTR_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

struct stopstr {
	uint32_t	n;
	char		stop[PROTO_MAX_STOP][PROTO_STOP_MAX];
	size_t		len[PROTO_MAX_STOP];
	char		held[PROTO_STOP_MAX];	/* a proper prefix of one */
	size_t		n_held;
	int		hit;			/* a stop string was seen */
};

/* Take the stop strings of p (copied). */
void	stopstr_init(struct stopstr *, const struct proto_params *p);
/*
 * Feed n bytes; what may be shown now goes to out, which must hold
 * n + PROTO_STOP_MAX bytes; returns its length.  Once a stop string is
 * seen, s->hit is set and everything after it is dropped.
 */
size_t	stopstr_feed(struct stopstr *, const char *in, size_t n, char *out);
/* The end of the stream: the held tail (it was no stop string after all)
 * to out (PROTO_STOP_MAX bytes); returns its length. */
size_t	stopstr_flush(struct stopstr *, char *out);

#endif
