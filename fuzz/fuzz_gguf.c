/*
 * libFuzzer target: the GGUF reader over arbitrary bytes, then every
 * getter over what it accepted (RELIABILITY-NOTES G1-G17).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/gguf.h"
#include "engine/tok.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gguf		*g;
	struct gguf_str		 s;
	uint64_t		 i, j;
	uint32_t		 u;
	int64_t			 l;
	float			 f;
	int			 b;
	char			*cause = NULL;
	struct tok		*t;
	int32_t			*ids = NULL;
	size_t			 n_ids = 0, cap = 0, len;

	if ((g = gguf_open_mem(data, size, &cause)) == NULL) {
		free(cause);
		return 0;
	}
	for (i = 0; i < g->n_kv; i++) {
		const struct gguf_kv	*kv = &g->kv[i];
		char			 key[80];
		size_t			 n = kv->key.len < 79 ? kv->key.len : 79;

		memcpy(key, kv->key.p, n);
		key[n] = '\0';
		gguf_get_u32(g, key, &u);
		gguf_get_i64(g, key, &l);
		gguf_get_f32(g, key, &f);
		gguf_get_bool(g, key, &b);
		gguf_get_str(g, key, &s);
		if (kv->type == GGUF_VT_ARRAY)
			for (j = 0; j < kv->n && j < 64; j++) {
				int64_t		 iv;
				uint64_t	 uv;

				if (kv->atype == GGUF_VT_FLOAT32)
					(void)gguf_arr_f32(kv, j);
				else if (kv->atype < GGUF_VT_FLOAT32 ||
				    kv->atype == GGUF_VT_UINT64 ||
				    kv->atype == GGUF_VT_INT64)
					(void)gguf_kv_int(kv, j, &iv, &uv);
			}
	}
	for (i = 0; i < g->n_tensors; i++)
		(void)gguf_find_tensor(g, g->tensors[i].name);
	/* The vocabulary checks (G15-G17) and a little tokenizing. */
	if ((t = tok_new(g, &cause)) != NULL) {
		if (tok_encode(t, "Hello, 世界 <|eot_id|> \xff", 25, 1, 1, &ids,
		    &n_ids, &cap) == 0 && n_ids > 0)
			free(tok_decode(t, ids, n_ids, 1, &len));
		free(ids);
		tok_free(t);
	}
	free(cause);
	gguf_close(g);
	return 0;
}
