/*
 * What every front end is given (struct fe: main.c fills it from the
 * config file and the command line) and the pieces they share (fe.c,
 * fe_sess.c); the entry points of the front ends outside ui/: one reply
 * (-p), the line chat (--plain) and batch (--data-file), in src/.  Every
 * front end talks to the engine through client.h only.
 */
#ifndef YT_FE_FE_H
#define YT_FE_FE_H

#include <stdio.h>
#include <time.h>

#include "cfg.h"
#include "proto.h"

struct fe {
	struct cfg		*cfg;
	struct proto_load	 load;
	struct proto_params	 params;
	const char		*system_name;	/* as chosen; NULL: none */
	const char		*system_text;
	const char		*prompt;	/* -p TEXT ("-": stdin) */
	const char		*history;	/* JSON conversation to start from */
	const char		*session;	/* saved session to start from */
	int			 resume;	/* --resume: the journal's conversation */
	const char		*data_file;
	const char		*pred_file;
	int			 with_prompt;	/* batch: use the template */
	int			 verbose;
	int			 demo;		/* the bundled demo model */
	/* A Modelfile's opening messages (MESSAGE), and what it set. */
	const struct mf_msg	*preload;
	size_t			 n_preload;
	int			 mf_seed;
	int			 mf_max;
	/* The first message, sent at once (llama-cli's -i -p TEXT). */
	const char		*first;
	const char		*api_key_env;	/* a server's key is in it */
	const char		*remote_model;	/* the server's model to use */
	int			 insecure;	/* TLS unverified */
	/* Where startup notices go (the full-screen chat's transcript);
	 * NULL: stderr. */
	void			(*note)(void *, const char *);
	void			*note_arg;
	char			*model_path;	/* one /model switched to */
	char			*remote_own;	/* a server model switched to */
};

struct mf_msg;
struct modelfile;

/* The front ends of src/ (fe_line.c, fe_batch.c); exit statuses. */
int	fe_oneshot(struct fe *);
int	fe_plain(struct fe *);
int	fe_batch(struct fe *);

/* Shared by the front ends: start the engine and load the model, printing
 * any error; 0 or -1. */
struct client;
struct conv;
int	fe_connect(struct fe *, struct client *);
/* SIGBUS (the model file truncated while mapped): terminal back, a clear
 * message, exit 74.  chat: the message points to --resume. */
void	fe_guard_start(int chat);
/* The string that gives the terminal back from the full screen. */
void	fe_guard_term(const char *reset);
int	fe_start_conv(struct fe *, struct client *, struct conv *);
/* Save or load a conversation by name, with the engine's KV snapshot
 * (fe_sess.c); -1 with *cause (caller frees) on failure.  A load may
 * also give a *notice (caller frees) about the snapshot. */
/* The models /model offers: the one in use, the config's, the .gguf
 * files beside the one in use and in $XDG_DATA_HOME/yangtuo/models;
 * paths, *n of them (caller frees with fe_model_list_free).  Over a
 * server (-m URL): its model ids, the one in use first; NULL with *cause
 * (may be NULL; caller frees) when it cannot list them. */
char	**fe_model_list(const struct fe *, size_t *n, char **cause);
void	  fe_model_list_free(char **, size_t n);
/* The model arg names: a number of fe_model_list, a file name there
 * (.gguf may be left out), or a path; caller frees, NULL if none. */
char	 *fe_model_find(const struct fe *, const char *arg);
/* Start a new engine on the model at path (over a server: a model id
 * of fe_model_list); on failure the old model is loaded again and
 * *cause says why (caller frees).  0 or -1. */
int	  fe_switch_model(struct fe *, struct client *, const char *path,
	    char **cause);
/* A saved session: its name and when it was written. */
struct fe_sess {
	char	*name;
	time_t	 mtime;
};
struct fe_sess	*fe_session_list(size_t *n);
void		 fe_session_list_free(struct fe_sess *, size_t n);
int	fe_session_save(struct client *, struct conv *, const char *name,
	    char **cause);
/* Bind cv's new KV snapshot to its text (kv_sha256). */
void	fe_kv_bind(struct conv *);
int	fe_session_load(struct client *, struct conv *, const char *name,
	    char **notice, char **cause);
/* Change one sampling parameter by name ("temperature", "top_k", ...);
 * 0, or -1 with *cause (caller frees). */
int	fe_set_param(struct proto_params *, const char *name,
	    const char *value, char **cause);
/* Add one stop string ("" clears them); 0, or -1 with *cause. */
int	fe_add_stop(struct proto_params *, const char *value, char **cause);
/* Decode \n \t \r \\ in place; -1 for another escape. */
int	fe_unescape(char *);
/* Lay a Modelfile (or ollama model) over fe's settings (fe_modelfile.c);
 * 0, or -1 with *cause "file:line: ..." (caller frees).  fe then points
 * into mf; notes on what is ignored go to notes. */
int	fe_apply_modelfile(struct fe *, const struct modelfile *, FILE *notes,
	    char **cause);
/* "temperature 0.20, top-k 40, ..." for /stats and the status line;
 * caller frees. */
char	*fe_params_text(const struct proto_params *);

#endif
