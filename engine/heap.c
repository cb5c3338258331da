/*
 * The binary heap of heap.h: sift up after a push, down after a pop,
 * moving a hole rather than swapping.  Single thread, no allocation.
 */
#include "config.h"

#include "heap.h"

#include <assert.h>
#include <string.h>

static void *
at(const struct heap *h, size_t i)
{
	return (char *)h->v + i * h->size;
}

/* Push: the new element climbs while it comes out before its parent. */
void
heap_push(struct heap *h, const void *elem)
{
	size_t	i = h->n++, up;

	assert(h->size <= HEAP_MAX_ELEM);
	while (i > 0) {
		up = (i - 1) / 2;
		if (!h->first(elem, at(h, up)))
			break;
		memcpy(at(h, i), at(h, up), h->size);
		i = up;
	}
	memcpy(at(h, i), elem, h->size);
}

/* Pop: the last element sinks from the root to its place. */
void
heap_pop(struct heap *h, void *out)
{
	unsigned char	last[HEAP_MAX_ELEM];
	size_t		i = 0, c, n;

	memcpy(out, at(h, 0), h->size);
	n = --h->n;
	if (n == 0)
		return;
	memcpy(last, at(h, n), h->size);
	for (;;) {
		c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && h->first(at(h, c + 1), at(h, c)))
			c++;
		if (!h->first(at(h, c), last))
			break;
		memcpy(at(h, i), at(h, c), h->size);
		i = c;
	}
	memcpy(at(h, i), last, h->size);
}
