/*
 * The front ends' side of the engine: starts the worker thread on a pair
 * of pipes and turns proto.h events into struct client_ev.  Used by every
 * front end (one-shot, line, batch, TUI), so they all exercise the same
 * path.
 */
#ifndef YT_FE_CLIENT_H
#define YT_FE_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"
#include "net/remote.h"

struct conv;
struct engine;

struct client {
	int			 req_w;	/* we write requests */
	int			 ev_r;	/* we read events */
	int			 req_r;	/* the engine's ends */
	int			 ev_w;
	struct engine		*eng;
	struct remote		*rem;	/* a server's model instead */
	struct remote_opts	 ropts;	/* set before client_load */
	struct proto_reader	 rd;
	struct proto_ready	 model;	/* after a successful load */
	int			 loaded;
	int			 busy;	/* a chat request is unanswered */
};

struct client_ev {
	uint32_t		 type;	/* PROTO_EV_* */
	char			*text;	/* TOKEN: the text; ERROR: detail */
	size_t			 len;
	uint32_t		 code;	/* ERROR */
	uint32_t		 done;	/* PROGRESS */
	uint32_t		 total;
	struct proto_context	 ctx;	/* CONTEXT */
	struct proto_done	 stats;	/* DONE */
};

int	client_start(struct client *);
void	client_stop(struct client *);
int	client_load(struct client *, const struct proto_load *);
int	client_params(struct client *, const struct proto_params *);
int	client_chat(struct client *, const struct conv *);
int	client_cancel(struct client *);
/* Ask for a KV snapshot in dir / the restore of one; the answer is an
 * EV_STATE event (code, done = tokens, text = path or detail). */
int	client_save_state(struct client *, const char *dir);
int	client_load_state(struct client *, const char *path);
/* Wait up to timeout_ms (-1: forever) for the next event: 1 with *ev
 * (client_ev_free it), 0 on timeout, -1 if the engine is gone. */
int	client_next(struct client *, struct client_ev *, int timeout_ms);
void	client_ev_free(struct client_ev *);
/* Load and wait for READY; on failure *cause says why (caller frees). */
int	client_load_wait(struct client *, const struct proto_load *,
	    char **cause);
/* The sentence a front end shows for an engine error code and detail;
 * caller frees. */
char	*client_error_text(uint32_t code, const char *detail);

#endif
