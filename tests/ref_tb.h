/*
 * Reading the reference values of tests/data and ../shared/testdata: a
 * JSON array of token ids, a file of float32 distributions.
 */
#ifndef YT_TESTS_REF_TB_H
#define YT_TESTS_REF_TB_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

/* The ids of a JSON array (caller frees *ids); their count or -1. */
static inline long
load_ids(const char *path, int32_t **ids)
{
	json_error_t	 err;
	json_t		*a, *e;
	size_t		 i;

	if ((a = json_load_file(path, 0, &err)) == NULL)
		return -1;
	*ids = calloc(json_array_size(a) + 1, sizeof **ids);
	json_array_foreach(a, i, e)
		(*ids)[i] = (int32_t)json_integer_value(e);
	i = json_array_size(a);
	json_decref(a);
	return (long)i;
}

/* n floats of a file (caller frees), or NULL. */
static inline float *
load_f32(const char *path, size_t n)
{
	FILE	*f = fopen(path, "rb");
	float	*v;

	if (f == NULL)
		return NULL;
	v = malloc(n * sizeof *v);
	if (fread(v, sizeof *v, n, f) != n) {
		free(v);
		v = NULL;
	}
	fclose(f);
	return v;
}

#endif
