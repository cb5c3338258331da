/*
 * ollama's ways to describe a model: a Modelfile (FROM, ADAPTER, SYSTEM,
 * TEMPLATE, PARAMETER, MESSAGE, LICENSE; modelfile.c) and a model in
 * ollama's store, read without ollama (manifest and blobs; ollama.c).
 * Both give a struct modelfile; errors are "file:line: sentence".
 */
#ifndef YT_FE_MODELFILE_H
#define YT_FE_MODELFILE_H

#include <stddef.h>

#define MODELFILE_MAX_SIZE	(4u << 20)	/* bytes of a Modelfile */

struct mf_param {
	char	*name;		/* temperature, top_k, ..., stop */
	char	*value;
	int	 line;
};

struct mf_msg {
	char	*role;		/* system, user, assistant */
	char	*text;
};

struct modelfile {
	char		*path;		/* the Modelfile or the manifest */
	char		*from;		/* FROM as written */
	int		 from_line;
	char		*model;		/* the model FROM resolves to: a file,
					 * a folder or "ollama:NAME" */
	char		**adapters;	/* paths, resolved */
	size_t		 n_adapters;
	char		*system;	/* the last SYSTEM */
	char		*template_text;	/* the last TEMPLATE (Go template) */
	int		 template_line;	/* its first line in the file; 0:
					 * from a store's template layer */
	char		*license;	/* LICENSE texts, joined */
	struct mf_param	*params;
	size_t		 n_params;
	struct mf_msg	*msgs;
	size_t		 n_msgs;
};

void	modelfile_init(struct modelfile *);
void	modelfile_free(struct modelfile *);
/* Whether path is a Modelfile rather than a GGUF file or a folder: a text
 * whose first keyword is a Modelfile command. */
int	modelfile_sniff(const char *path);
/* Parse buf (name for messages, dir for relative paths); 0, or -1 with
 * *cause "name:line: ..." (caller frees). */
int	modelfile_parse(struct modelfile *, const char *name, const char *dir,
	    const char *buf, size_t len, char **cause);
/* Read and parse a Modelfile; 0 or -1 with *cause (caller frees). */
int	modelfile_load(struct modelfile *, const char *path, char **cause);
/* Read a whole file of at most max bytes (NUL-terminated; caller frees
 * *buf); 0, or -1 with errno set. */
int	modelfile_read(const char *path, size_t max, char **buf, size_t *len);
/* Add a PARAMETER (taking name and value) or a MESSAGE (copying). */
void	modelfile_add_param(struct modelfile *, char *name, char *value,
	    int line);
void	modelfile_add_msg(struct modelfile *, const char *role,
	    const char *text);
/* The value of the last PARAMETER name, or NULL. */
const char *modelfile_param(const struct modelfile *, const char *name);
/* Lay over what base has (an ollama model) what top says: top's
 * SYSTEM, TEMPLATE, adapters, parameters and messages win or add. */
void	modelfile_overlay(struct modelfile *base, struct modelfile *top);

/* What -m or --modelfile names: 1 with mf filled for a Modelfile (when
 * is_modelfile, or when the file sniffs as one) or "ollama:NAME" (an
 * ollama FROM laid under the Modelfile), 0 for anything else, -1 with
 * *cause (caller frees). */
int	modelfile_resolve(const char *arg, int is_modelfile,
	    struct modelfile *, char **cause);

/* ollama's store: the root ($OLLAMA_MODELS, else ~/.ollama/models;
 * caller frees) and a model in it, "NAME[:TAG]" with NAME as
 * [HOST/][NAMESPACE/]MODEL.  0, or -1 with *cause (caller frees). */
char	*ollama_root(void);
int	ollama_load(struct modelfile *, const char *root, const char *name,
	    char **cause);

#endif
