/*
 * Requantization of a model file as llama.cpp's llama-quantize does it:
 * the same tensor types (its per-tensor rules for the mixtures, or one
 * type for every matrix with --pure), tensor order and metadata, so the
 * bytes match what llama-quantize writes from the same source.
 */
#ifndef YT_ENGINE_REQUANT_H
#define YT_ENGINE_REQUANT_H

#include <stddef.h>
#include <stdint.h>

struct gguf;

/* A target as llama-quantize names it. */
struct requant_ftype {
	const char	*name;		/* "Q4_K_M" */
	uint32_t	 ftype;		/* llama_ftype: general.file_type */
	uint32_t	 type;		/* enum qt_type of most matrices */
	int		 mix;		/* 1: llama.cpp's rules unless pure */
};

/* Called before each tensor is written, on the calling thread. */
typedef void (*requant_progress_fn)(void *arg, size_t i, size_t n,
    const char *name, uint32_t from, uint32_t to);

/* Adapters merged while writing: whether tensor name has a delta, and
 * adding rows row0..row0+n-1 of it to rows (n x the row length); 0 or
 * -1.  Called from the pool's threads at once. */
typedef int (*requant_adapted_fn)(void *arg, const char *name);
typedef int (*requant_delta_fn)(void *arg, const char *name, int64_t row0,
    int64_t n, float *rows);

struct requant_opts {
	const struct requant_ftype *ftype;
	int			 pure;	/* 1: every matrix in ftype->type */
	int			 mix;	/* 1: the rules even for a plain type */
	int			 threads; /* <= 0: every core */
	requant_progress_fn	 progress; /* or NULL */
	void			*arg;
	requant_adapted_fn	 adapted;	/* or NULL */
	requant_delta_fn	 delta;
	void			*delta_arg;
};

struct requant_stats {
	size_t		 n_tensors;
	size_t		 n_converted;	/* written in another type */
	size_t		 n_requantized;	/* of those, from a quantized type */
	size_t		 n_fallback;	/* rows too short for the rule's type */
	uint64_t	 bytes_in;
	uint64_t	 bytes_out;
};

const struct requant_ftype *requant_ftype(const char *name);
const struct requant_ftype *requant_ftype_at(size_t i);
int	requant_types(const struct gguf *, const struct requant_opts *,
	    size_t *order, uint32_t *types, size_t *n_fallback, char **cause);
int	requant_file(const char *in, const char *out,
	    const struct requant_opts *, struct requant_stats *, char **cause);

#endif
