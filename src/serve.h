/*
 * yangtuo serve: an OpenAI-compatible HTTP server over the engine
 * (serve.c: libmicrohttpd, the request queue and the engine's client;
 * serve_json.c: the JSON of requests and answers, no I/O).
 */
#ifndef YT_SRC_SERVE_H
#define YT_SRC_SERVE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "conv.h"
#include "proto.h"

enum serve_kind {
	SERVE_CHAT = 0,		/* /v1/chat/completions */
	SERVE_COMPLETION	/* /v1/completions: one raw prompt */
};

/* One generation request, as parsed. */
struct serve_req {
	int			 kind;
	int			 stream;
	int			 include_usage;	/* stream_options */
	struct proto_params	 params;
	struct conv		 conv;
};

/* Parse a request body over the defaults in *def; 0, or -1 with *cause
 * (caller frees: the sentence for the 400 answer). */
int	 serve_parse(int kind, const char *body, size_t len,
	    const struct proto_params *def, struct serve_req *,
	    char **cause);
void	 serve_req_free(struct serve_req *);

/* "stop", "length", ...: the finish_reason of a proto_done stop. */
const char *serve_finish(uint32_t stop);

/* The objects of the answers (caller json_decref's).  text may hold
 * any bytes; invalid UTF-8 is replaced. */
json_t	*serve_chunk(int kind, const char *id, const char *model,
	    long long created, int role_only, const char *text, size_t len,
	    const char *finish);
json_t	*serve_usage(const struct proto_done *);
json_t	*serve_whole(int kind, const char *id, const char *model,
	    long long created, const char *text, size_t len,
	    const struct proto_done *);
json_t	*serve_error(const char *message, const char *type);
json_t	*serve_models(const char *model, long long created,
	    uint32_t n_ctx);

/* yangtuo serve ARGS: the exit status. */
int	 serve_main(int argc, char **argv);

#endif
