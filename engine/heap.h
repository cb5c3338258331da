/*
 * A binary heap over an array the caller allocates, for the tokenizers'
 * merge queues (BPE by rank, SPM by score): elements of any size up to
 * HEAP_MAX_ELEM bytes, ordered by a "comes out first" function.
 */
#ifndef YT_ENGINE_HEAP_H
#define YT_ENGINE_HEAP_H

#include <stddef.h>

#define HEAP_MAX_ELEM	64

struct heap {
	void	*v;		/* room for every element pushed */
	size_t	 n;		/* elements in it */
	size_t	 size;		/* bytes of one element */
	/* Whether a comes out before b. */
	int	(*first)(const void *a, const void *b);
};

/* Add a copy of elem (the array must have room). */
void	heap_push(struct heap *, const void *elem);
/* Take the first element into out (the heap must not be empty). */
void	heap_pop(struct heap *, void *out);

#endif
