/*
 * The remote worker: a thread that speaks common/proto.h on its pipes
 * exactly like the engine's worker, but answers chats through an
 * OpenAI-compatible server (/v1/chat/completions, streamed) with
 * libcurl.  The front ends do not know which one they talk to.
 */
#ifndef YT_NET_REMOTE_H
#define YT_NET_REMOTE_H

#include <stddef.h>

struct remote;

struct remote_opts {
	const char	*key_env;	/* variable holding the key; NULL: none */
	const char	*model;		/* the server's model; NULL: its first */
	int		 insecure;	/* do not verify TLS certificates */
};

/* Whether a model path names a server (http:// or https://). */
int		 remote_is_url(const char *);
/* Start the worker on fd_req / fd_ev (not owned); NULL on failure. */
struct remote	*remote_start(int fd_req, int fd_ev,
		    const struct remote_opts *);
/* Make the request under way stop (the connection is closed); safe from
 * any thread. */
void		 remote_cancel(struct remote *);
/* Wait for the worker (after PROTO_REQ_QUIT or EOF) and free it. */
void		 remote_join(struct remote *);
/* The server's model ids (GET BASE/models) in *ids (caller frees each
 * and the array); their count, or -1 with *cause (caller frees). */
int		 remote_list_models(const char *base,
		    const struct remote_opts *, char ***ids, char **cause);

#endif
