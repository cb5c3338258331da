/*
 * What the developer commands share (tools/cmd_*.c): the options of run,
 * eval and info, usage and --help texts, numbers, opening a model.  Main
 * thread; messages go to stderr.
 */
#ifndef YT_TOOLS_TOOL_H
#define YT_TOOLS_TOOL_H

#include <stddef.h>
#include <stdint.h>

struct model;

struct eng_opts {
	const char	*model;
	int		 threads;
	uint32_t	 n_ctx;
	uint32_t	 n_batch;
	long		 n_predict;
	const char	*prompt_tokens;
	const char	*prompt;
	const char	*tokens_file;
	const char	*probs_out;
	int		 verbose;
	const char	*lora[8];	/* --lora PATH[:SCALE] */
	int		 n_lora;
	int		 lora_merge;
};

/* Report a usage error of command cmd; returns the exit status 2. */
int		 tool_usage(const char *cmd, const char *msg);
/* Print the --help text of command cmd to stdout; returns 0. */
int		 tool_help(const char *cmd);
/* Parse the options of run, eval and info into o: -1 to go on, else the
 * exit status (0 after --help, 2 after a usage error). */
int		 tool_parse_opts(int argc, char **argv, struct eng_opts *o);
/* The model a tool uses when given none (the config's), or NULL. */
extern const char	*tool_default_model;
/* Load a model, printing why not; the caller frees it (model_free). */
struct model	*tool_open_model(const char *path);
/* Attach the --lora adapters of o to m (merged with --lora-merge),
 * printing why not; 0 or -1. */
int		 tool_apply_lora(struct model *m, const char *const *lora,
		    int n_lora, int merge);
/* tool_open_model() of o->model with o's adapters. */
struct model	*tool_open_model_opts(const struct eng_opts *o);
/* The index of the largest of n values. */
int32_t		 tool_argmax(const float *v, uint32_t n);
/* A whole text file (at most 256 MiB), NUL-ended; NULL with errno set.
 * Caller frees. */
char		*tool_read_text(const char *path, size_t *len);

#endif
