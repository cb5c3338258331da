/*
 * The conversation a front end owns: the system prompt (name and text)
 * and the messages with their times, statistics and flags.  Sent whole to
 * the engine for every reply (client_chat); messages the engine dropped
 * to fit the context stay here, marked, and are not sent again.
 */
#ifndef YT_FE_CONV_H
#define YT_FE_CONV_H

#include <stddef.h>
#include <time.h>

#include "proto.h"

enum conv_role {
	CONV_SYSTEM = PROTO_ROLE_SYSTEM,
	CONV_USER = PROTO_ROLE_USER,
	CONV_ASSISTANT = PROTO_ROLE_ASSISTANT
};

struct conv_msg {
	int			 role;
	char			*text;
	size_t			 len;
	time_t			 time;
	int			 cut;		/* reply stopped by the user */
	int			 dropped;	/* no longer in the context */
	int			 has_stats;	/* replies: stats, params */
	struct proto_done	 stats;
	struct proto_params	 params;
};

struct conv {
	struct conv_msg	*msgs;
	size_t		 n;
	size_t		 cap;
	char		*system_name;
	char		*system_text;
	char		*kv_path;	/* KV snapshot of a saved session */
	char		*kv_sha256;	/* its conversation's digest (hex) */
	char		*model;		/* the model a loaded session names */
};

void		 conv_init(struct conv *);
void		 conv_free(struct conv *);
struct conv_msg	*conv_add(struct conv *, int role, const char *text,
		    size_t len);
void		 conv_append(struct conv_msg *, const char *text, size_t len);
/* How many bytes of text, about to be appended to m, are blanks before
 * the reply's first word: they stay in the conversation (its tokens are
 * the engine's cache) but are not shown or exported. */
size_t		 conv_lead_blanks(const struct conv_msg *, const char *text,
		    size_t len);
struct conv_msg	*conv_last(struct conv *);
void		 conv_pop(struct conv *);
void		 conv_clear(struct conv *);
void		 conv_set_system(struct conv *, const char *name,
		    const char *text);
size_t		 conv_apply_dropped(struct conv *,
		    const struct proto_context *);
/* Append the messages of a JSON array of {"role", "content"} (a system
 * message sets the system prompt); 0, or -1 with *cause (caller frees). */
int		 conv_load_json(struct conv *, const char *path, char **cause);
const char	*conv_role_name(int role);
int		 conv_role_by_name(const char *);

#endif
