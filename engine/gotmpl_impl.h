/*
 * The parsed form of a Go template, shared by the parser (gotmpl.c) and
 * the executor (gotmpl_exec.c) only.
 */
#ifndef YT_ENGINE_GOTMPL_IMPL_H
#define YT_ENGINE_GOTMPL_IMPL_H

#include <stddef.h>

#define GT_MAX_DEPTH	64	/* nesting of blocks and parentheses */
#define GT_MAX_VARS	256

enum { A_DOT, A_FIELD, A_VAR, A_STR, A_NUM, A_BOOL, A_NIL, A_FUNC, A_PIPE };
enum { N_TEXT, N_ACTION, N_IF, N_RANGE, N_WITH, N_BREAK, N_CONTINUE };
enum { V_MISSING, V_NIL, V_BOOL, V_INT, V_STR, V_LIST, V_MSG, V_ROOT };

struct pipe;

struct arg {
	int		 kind;
	int		 cut;		/* dropped from the last turn */
	char		*name;		/* A_VAR (without '$'), A_FUNC */
	char		**fields;	/* A_DOT, A_FIELD, A_VAR: .A.B */
	size_t		 n_fields;
	char		*s;		/* A_STR */
	size_t		 len;
	long long	 num;		/* A_NUM, A_BOOL */
	struct pipe	*pipe;		/* A_PIPE */
};

struct cmd {
	struct arg	**args;
	size_t		 n;
	int		 cut;
};

struct pipe {
	char		**decl;		/* variables declared or assigned */
	size_t		 n_decl;
	int		 assign;	/* '=' rather than ':=' */
	struct cmd	**cmds;
	size_t		 n;
	int		 line;
};

struct list;

struct node {
	int		 kind;
	int		 cut;
	int		 line;
	char		*s;		/* N_TEXT */
	size_t		 len;
	struct pipe	*pipe;
	struct list	*list;
	struct list	*elist;
};

struct list {
	struct node	**v;
	size_t		 n;
};

/* A header that keeps what follows it aligned for any node. */
union chunk {
	union chunk	*next;
	long double	 align_ld;
	void		*align_p;
};

struct gotmpl {
	struct list	*root;
	union chunk	*mem;
	int		 messages;	/* reads .Messages */
};

#endif
