/*
 * GGUF metadata values by type: the size of each value type, typed
 * lookups of scalars (integers exactly, BOOL, floats, strings) and the
 * elements of arrays, for the model loader and `yangtuo info`.
 */
#include "config.h"

#include "gguf.h"

#include <string.h>

#include "gguf_impl.h"

/* Bytes of one value of each fixed-size type (0: STRING, ARRAY). */
const uint8_t gguf_vt_size[GGUF_VT_COUNT] = {
	[GGUF_VT_UINT8] = 1, [GGUF_VT_INT8] = 1,
	[GGUF_VT_UINT16] = 2, [GGUF_VT_INT16] = 2,
	[GGUF_VT_UINT32] = 4, [GGUF_VT_INT32] = 4,
	[GGUF_VT_FLOAT32] = 4, [GGUF_VT_BOOL] = 1,
	[GGUF_VT_UINT64] = 8, [GGUF_VT_INT64] = 8,
	[GGUF_VT_FLOAT64] = 8
};

static const char *const vt_names[GGUF_VT_COUNT] = {
	"UINT8", "INT8", "UINT16", "INT16", "UINT32", "INT32", "FLOAT32",
	"BOOL", "STRING", "ARRAY", "UINT64", "INT64", "FLOAT64"
};

static int
is_signed(uint32_t t)
{
	return t == GGUF_VT_INT8 || t == GGUF_VT_INT16 ||
	    t == GGUF_VT_INT32 || t == GGUF_VT_INT64;
}

static int
is_integer(uint32_t t)
{
	return is_signed(t) || t == GGUF_VT_UINT8 || t == GGUF_VT_UINT16 ||
	    t == GGUF_VT_UINT32 || t == GGUF_VT_UINT64;
}

static int
is_float(uint32_t t)
{
	return t == GGUF_VT_FLOAT32 || t == GGUF_VT_FLOAT64;
}

/* Load an integer of type t: 1 and the value in *s when it is negative,
 * else 0 and the value in *u. */
static int
load_int(const uint8_t *p, uint32_t t, int64_t *s, uint64_t *u)
{
	unsigned	bits = gguf_vt_size[t] * 8;
	uint64_t	v = gguf_load_le(p, gguf_vt_size[t]);

	*u = v;
	if (!is_signed(t) || ((v >> (bits - 1)) & 1) == 0)
		return 0;
	if (bits < 64)
		v |= ~0ULL << bits;
	*s = -(int64_t)(~v) - 1;	/* ~v <= INT64_MAX */
	return 1;
}

static float
load_float(const uint8_t *p, uint32_t t)
{
	uint64_t	bits = gguf_load_le(p, gguf_vt_size[t]);
	uint32_t	b32 = (uint32_t)bits;
	float		f;
	double		d;

	if (t == GGUF_VT_FLOAT32) {
		memcpy(&f, &b32, sizeof f);
		return f;
	}
	memcpy(&d, &bits, sizeof d);
	return (float)d;
}

/* The scalar named key if ok() accepts its type; else NULL with *rc 1
 * (absent) or -1 (another type). */
static const struct gguf_kv *
find_typed(const struct gguf *g, const char *key, int (*ok)(uint32_t),
    int *rc)
{
	const struct gguf_kv	*kv = gguf_find(g, key);

	*rc = kv == NULL ? 1 : -1;
	if (kv == NULL || kv->type == GGUF_VT_ARRAY || !ok(kv->type))
		return NULL;
	return kv;
}

/* Store key's integer value in *v if it fits 32 unsigned bits; 0 done,
 * 1 absent, -1 not an integer or out of range. */
int
gguf_get_u32(const struct gguf *g, const char *key, uint32_t *v)
{
	const struct gguf_kv	*kv;
	int			 rc;
	uint64_t		 u;
	int64_t			 s;

	if ((kv = find_typed(g, key, is_integer, &rc)) == NULL)
		return rc;
	if (load_int(kv->data, kv->type, &s, &u) || u > UINT32_MAX)
		return -1;
	*v = (uint32_t)u;
	return 0;
}

/* Store key's integer value in *v if it fits int64_t; 0 done, 1 absent,
 * -1 not an integer or out of range. */
int
gguf_get_i64(const struct gguf *g, const char *key, int64_t *v)
{
	const struct gguf_kv	*kv;
	int			 rc;
	uint64_t		 u;
	int64_t			 s;

	if ((kv = find_typed(g, key, is_integer, &rc)) == NULL)
		return rc;
	if (load_int(kv->data, kv->type, &s, &u))
		*v = s;
	else if (u <= INT64_MAX)
		*v = (int64_t)u;
	else
		return -1;
	return 0;
}

/* Store key's FLOAT32 (or FLOAT64, narrowed) value in *v; 0 done,
 * 1 absent, -1 another type. */
int
gguf_get_f32(const struct gguf *g, const char *key, float *v)
{
	const struct gguf_kv	*kv;
	int			 rc;

	if ((kv = find_typed(g, key, is_float, &rc)) == NULL)
		return rc;
	*v = load_float(kv->data, kv->type);
	return 0;
}

static int
is_bool(uint32_t t)
{
	return t == GGUF_VT_BOOL;
}

static int
is_string(uint32_t t)
{
	return t == GGUF_VT_STRING;
}

/* Store key's BOOL value (0 or 1) in *v; 0 done, 1 absent, -1 another
 * type. */
int
gguf_get_bool(const struct gguf *g, const char *key, int *v)
{
	const struct gguf_kv	*kv;
	int			 rc;

	if ((kv = find_typed(g, key, is_bool, &rc)) == NULL)
		return rc;
	*v = kv->data[0] != 0;
	return 0;
}

/* Point *v at key's STRING value inside the mapping (not terminated);
 * 0 done, 1 absent, -1 another type. */
int
gguf_get_str(const struct gguf *g, const char *key, struct gguf_str *v)
{
	const struct gguf_kv	*kv;
	int			 rc;

	if ((kv = find_typed(g, key, is_string, &rc)) == NULL)
		return rc;
	v->p = (const char *)kv->data;
	v->len = kv->n;
	return 0;
}

/* Integer or BOOL value i of kv (i = 0 for a scalar): 1 with the value in
 * *s when it is negative, 0 with it in *u otherwise (BOOL as 0 or 1); -1
 * when kv holds no integer or i is out of range. */
int
gguf_kv_int(const struct gguf_kv *kv, uint64_t i, int64_t *s, uint64_t *u)
{
	const uint8_t	*p;
	uint32_t	 t;

	if (kv->type == GGUF_VT_ARRAY) {
		if (i >= kv->n)
			return -1;
		t = kv->atype;
		p = kv->data + i * gguf_vt_size[t];
	} else {
		if (i != 0)
			return -1;
		t = kv->type;
		p = kv->data;
	}
	if (t == GGUF_VT_BOOL) {
		*u = p[0] != 0;
		return 0;
	}
	if (!is_integer(t))
		return -1;
	return load_int(p, t, s, u);
}

/* Element i of an integer or BOOL array as int64_t (UINT64 values above
 * INT64_MAX wrap); 0 when i is out of range or the array is not one. */
int64_t
gguf_arr_int(const struct gguf_kv *kv, uint64_t i)
{
	const uint8_t	*p;
	uint64_t	 u;
	int64_t		 s;

	if (kv->type != GGUF_VT_ARRAY || i >= kv->n)
		return 0;
	p = kv->data + i * gguf_vt_size[kv->atype];
	if (kv->atype == GGUF_VT_BOOL)
		return p[0] != 0;
	if (!is_integer(kv->atype))
		return 0;
	return load_int(p, kv->atype, &s, &u) ? s : (int64_t)u;
}

/* Element i of a FLOAT32, FLOAT64 or integer array as float; 0 when i is
 * out of range or the array holds something else. */
float
gguf_arr_f32(const struct gguf_kv *kv, uint64_t i)
{
	const uint8_t	*p;

	if (kv->type != GGUF_VT_ARRAY || i >= kv->n)
		return 0.0f;
	p = kv->data + i * gguf_vt_size[kv->atype];
	if (is_float(kv->atype))
		return load_float(p, kv->atype);
	if (is_integer(kv->atype))
		return (float)gguf_arr_int(kv, i);
	return 0.0f;
}

/* A static name such as "UINT32" for a value type, "unknown" if none. */
const char *
gguf_vtype_name(uint32_t t)
{
	return t < GGUF_VT_COUNT ? vt_names[t] : "unknown";
}
