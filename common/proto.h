/*
 * The only contract between the front ends and the engine: framed
 * messages {u32 type, u32 len, payload} over pipe(2).  Payloads are
 * little-endian fields written and read with the bounds-checked helpers
 * below; no pointer ever crosses.  The first request is PROTO_REQ_LOAD,
 * which carries PROTO_VERSION.
 */
#ifndef YT_COMMON_PROTO_H
#define YT_COMMON_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PROTO_VERSION		3	/* 2: load carries template_text;
					 * 3: and the prompt cache */
#define PROTO_MAX_PAYLOAD	(64u << 20)
#define PROTO_MAX_STOP		8	/* stop strings per request */
#define PROTO_STOP_MAX		64	/* bytes of one, its NUL included */
#define PROTO_MAX_LORA		8	/* adapters in a load request */

enum proto_type {
	/* requests: front end -> engine */
	PROTO_REQ_LOAD = 1,	/* version, path, n_ctx, threads, template,
				 * batch, nice[, adapters, merge] */
	PROTO_REQ_PARAMS,	/* sampling parameters, from the next token */
	PROTO_REQ_CHAT,		/* the whole conversation; reply to it */
	PROTO_REQ_CANCEL,	/* stop the reply or prefill under way */
	PROTO_REQ_SAVE_STATE,	/* folder: write a KV snapshot there */
	PROTO_REQ_LOAD_STATE,	/* path: restore a KV snapshot */
	PROTO_REQ_QUIT,
	/* events: engine -> front end */
	PROTO_EV_READY = 100,	/* model info */
	PROTO_EV_PROGRESS,	/* prefill: done, total */
	PROTO_EV_TOKEN,		/* reply text: whole UTF-8 characters */
	PROTO_EV_CONTEXT,	/* used, total, dropped messages */
	PROTO_EV_DONE,		/* stop reason and statistics */
	PROTO_EV_ERROR,		/* code and untranslated detail */
	PROTO_EV_STATE		/* SAVE/LOAD_STATE done: code, tokens, path or detail */
};

/* Why a reply ended. */
enum proto_stop {
	PROTO_STOP_EOG = 0,	/* the model ended its turn */
	PROTO_STOP_LENGTH,	/* max_tokens reached */
	PROTO_STOP_CONTEXT,	/* the context is full */
	PROTO_STOP_CANCEL,	/* cancelled; the reply is cut */
	PROTO_STOP_ERROR,
	PROTO_STOP_STRING	/* the reply reached a stop string */
};

/* Engine error codes; the front end words them. */
enum proto_err {
	PROTO_EOK = 0,
	PROTO_EBADMODEL,	/* detail: the loader's sentence */
	PROTO_ENOMEM,
	PROTO_ETOOLONG,		/* detail: "N tokens > context M" */
	PROTO_ENOMODEL,		/* a request that needs a loaded model */
	PROTO_EPROTO,		/* malformed request */
	PROTO_EVERSION,		/* protocol versions differ */
	PROTO_EIO,		/* detail: path and errno text */
	PROTO_ESTATE,		/* a KV snapshot does not fit this model */
	PROTO_EINTERNAL,
	PROTO_ETEMPLATE		/* detail: "line N: ..." of a Go template */
};

enum proto_role {
	PROTO_ROLE_SYSTEM = 0,
	PROTO_ROLE_USER,
	PROTO_ROLE_ASSISTANT
};

/* A growing payload being written. */
struct proto_buf {
	uint8_t	*p;
	size_t	 len;
	size_t	 cap;
	int	 oom;	/* an append failed: sending it fails */
};

/* A payload being read: every get fails once it runs past the end. */
struct proto_rd {
	const uint8_t	*p;
	size_t		 len;
	size_t		 off;
	int		 err;
};

/* One received message; payload is owned by the message. */
struct proto_msg {
	uint32_t	 type;
	uint32_t	 len;
	uint8_t		*payload;
};

/* A LoRA adapter: asked for in a load request, then described in the
 * ready event (alpha, rank and n_tensors from the engine). */
struct proto_lora {
	char		*path;
	float		 scale;
	float		 alpha;
	uint32_t	 rank;
	uint32_t	 n_tensors;
};

/* PROTO_REQ_LOAD.  The adapters and merge flag trail the older fields
 * and may be absent (none, then). */
struct proto_load {
	uint32_t	 version;
	char		*path;
	uint32_t	 n_ctx;		/* 0: the model's */
	uint32_t	 threads;	/* 0: online cores */
	char		*template_name;	/* "auto", "llama3", ... */
	uint32_t	 n_batch;	/* 0: the engine's choice */
	uint32_t	 nice;		/* lower the engine's priority by this */
	uint32_t	 n_lora;
	struct proto_lora lora[PROTO_MAX_LORA];	/* path and scale */
	uint32_t	 lora_merge;	/* 1: add them into the weights */
	char		*template_text;	/* template_name "go": ollama's
					 * TEMPLATE; else NULL or "" */
	char		*prompt_cache;	/* its folder; NULL or "": off */
	uint64_t	 prompt_cache_max;	/* bytes it may take */
};

/* PROTO_REQ_PARAMS */
struct proto_params {
	float		temperature;
	int32_t		top_k;
	float		top_p;
	float		min_p;
	float		repeat_penalty;
	int32_t		repeat_last_n;
	uint64_t	seed;
	int32_t		max_tokens;	/* -1: until the context is full */
	uint32_t	reserve;	/* reply reserve in tokens; 0: auto */
	/* The reply ends before the first of these (valid UTF-8, not
	 * empty); a plain array so parameters copy by value. */
	uint32_t	n_stop;
	char		stop[PROTO_MAX_STOP][PROTO_STOP_MAX];
};

/* PROTO_EV_READY */
struct proto_ready {
	char		*name;
	char		*path;
	uint32_t	 n_ctx;
	uint32_t	 n_ctx_train;
	uint32_t	 n_vocab;
	char		*template_name;
	uint32_t	 n_layer;
	uint32_t	 n_embd;
	uint64_t	 weight_bytes;
	uint32_t	 threads;
	char		*simd;
	uint32_t	 n_lora;	/* optional trailing fields */
	struct proto_lora lora[PROTO_MAX_LORA];
	uint32_t	 lora_merged;
};

/* PROTO_EV_CONTEXT: dropped[] are indices into the conversation sent. */
struct proto_context {
	uint32_t	 used;
	uint32_t	 total;
	uint32_t	 n_dropped;
	uint32_t	*dropped;
};

/* PROTO_EV_DONE */
struct proto_done {
	uint32_t	stop;		/* enum proto_stop */
	uint32_t	prompt;		/* tokens in the rendered prompt */
	uint32_t	cached;		/* of which already in the KV cache */
	uint32_t	evaluated;	/* of which evaluated now */
	uint32_t	generated;
	double		prefill_sec;
	double		decode_sec;
	uint32_t	from_disk;	/* of the cached: read from the
					 * prompt cache for this reply */
};

void	proto_buf_init(struct proto_buf *);
void	proto_buf_free(struct proto_buf *);
void	proto_put_u32(struct proto_buf *, uint32_t);
void	proto_put_u64(struct proto_buf *, uint64_t);
void	proto_put_f32(struct proto_buf *, float);
void	proto_put_f64(struct proto_buf *, double);
void	proto_put_bytes(struct proto_buf *, const void *, size_t);
void	proto_put_str(struct proto_buf *, const char *);

void		 proto_rd_init(struct proto_rd *, const void *, size_t);
uint32_t	 proto_get_u32(struct proto_rd *);
uint64_t	 proto_get_u64(struct proto_rd *);
float		 proto_get_f32(struct proto_rd *);
double		 proto_get_f64(struct proto_rd *);
/* A length-prefixed string, returned NUL-terminated and allocated
 * (caller frees); NULL on error.  *len (may be NULL) gets its length. */
char		*proto_get_str(struct proto_rd *, size_t *len);
/* Borrow len bytes (no copy); NULL on error. */
const void	*proto_get_bytes(struct proto_rd *, size_t len);

/* Encoders and decoders of the structured payloads; a get returns 0, or
 * -1 for a malformed payload (and frees what it allocated). */
void	proto_load_put(struct proto_buf *, const struct proto_load *);
int	proto_load_get(struct proto_rd *, struct proto_load *);
void	proto_load_free(struct proto_load *);
void	proto_params_put(struct proto_buf *, const struct proto_params *);
int	proto_params_get(struct proto_rd *, struct proto_params *);
void	proto_ready_put(struct proto_buf *, const struct proto_ready *);
int	proto_ready_get(struct proto_rd *, struct proto_ready *);
void	proto_ready_free(struct proto_ready *);
void	proto_context_put(struct proto_buf *, const struct proto_context *);
int	proto_context_get(struct proto_rd *, struct proto_context *);
void	proto_done_put(struct proto_buf *, const struct proto_done *);
int	proto_done_get(struct proto_rd *, struct proto_done *);

/* Write one whole message (retrying partial writes and EINTR); 0 or -1. */
int	proto_send(int fd, uint32_t type, const void *payload, size_t len);
int	proto_send_buf(int fd, uint32_t type, const struct proto_buf *);
/* Read one whole message (retrying partial reads); 0, or -1 on error or
 * EOF (errno 0 for a clean EOF), or a bad length. */
int	proto_recv(int fd, struct proto_msg *);
void	proto_msg_free(struct proto_msg *);

/*
 * Incremental reading for a poll() loop: feed what read() returned and
 * take whole messages out.  proto_reader_next returns 1 with a message,
 * 0 when more bytes are needed, -1 on a bad frame.
 */
struct proto_reader {
	uint8_t	*buf;
	size_t	 len;
	size_t	 cap;
};

void	proto_reader_init(struct proto_reader *);
void	proto_reader_free(struct proto_reader *);
int	proto_reader_feed(struct proto_reader *, const void *, size_t);
int	proto_reader_next(struct proto_reader *, struct proto_msg *);
/* read() once from fd into the reader: bytes read, 0 at EOF, -1 error. */
ssize_t	proto_reader_fill(struct proto_reader *, int fd);

#endif
