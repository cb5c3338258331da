/*
 * Safetensors reader over read-only mmaps: one .safetensors file, or a
 * Hugging Face folder's model.safetensors / sharded model-*.safetensors
 * named by model.safetensors.index.json.  The JSON header is checked
 * strictly (length bounds, dtype, shape, data offsets inside the file,
 * contiguous and non-overlapping, sizes with checked arithmetic); tensor
 * data is never copied.  Nothing here prints or exits.
 */
#ifndef YT_ENGINE_SAFETENSORS_H
#define YT_ENGINE_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#define SAFETENSORS_MAX_DIMS	8
#define SAFETENSORS_MAX_HEADER	(100u << 20)	/* as the format's own limit */
#define SAFETENSORS_MAX_NAME	512		/* bytes, without the NUL */

/* One tensor.  shape[] is outermost first, as in the file (a PyTorch
 * (rows, cols) matrix is shape {rows, cols}); type is a qt_type
 * (QT_F32, QT_F16 or QT_BF16, quant.h).  data points into a mapping
 * and may be unaligned when the writer did not pad the header. */
struct safetensors_tensor {
	const char	*name;		/* NUL-terminated */
	uint32_t	 type;
	uint32_t	 n_dims;
	int64_t		 shape[SAFETENSORS_MAX_DIMS];
	uint64_t	 n_elems;
	uint64_t	 nbytes;
	const void	*data;
	uint32_t	 shard;		/* index of the file it lives in */
};

struct safetensors;

/*
 * Open path: a .safetensors file, or a folder holding either
 * model.safetensors.index.json (every shard it names must exist and
 * hold the tensors it lists) or model.safetensors.  NULL with *cause set
 * (a sentence naming the file, caller frees) if anything fails a check.
 * The result is never changed after opening, so threads may share it.
 */
struct safetensors	*safetensors_open(const char *path, char **cause);
void			 safetensors_close(struct safetensors *);

/* Tensors, sorted by name; the pointers live as long as the set. */
size_t			 safetensors_count(const struct safetensors *);
const struct safetensors_tensor *safetensors_get(const struct safetensors *,
			    size_t i);
const struct safetensors_tensor *safetensors_find(const struct safetensors *,
			    const char *name);

/* Bytes of tensor data the set maps (all shards). */
uint64_t		 safetensors_data_bytes(const struct safetensors *);

/* Convert n elements of t starting at element first to f32; 0, or -1
 * if the range lies outside the tensor. */
int			 safetensors_read_f32(const struct safetensors_tensor *,
			    uint64_t first, float *dst, uint64_t n);

#endif
