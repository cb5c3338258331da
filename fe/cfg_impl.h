/*
 * Internals shared by the YAML readers of the config (cfg.c) and of the
 * colour themes (cfg_theme.c): the hardened libyaml event loop of
 * cfg_parse.c, with its size, nesting and alias limits and its
 * "file:line:col: key 'k': problem" errors.  Only src/cfg*.c include this.
 */
#ifndef YT_FE_CFG_IMPL_H
#define YT_FE_CFG_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include <yaml.h>

#include "cfg.h"

#define CFG_TAG_INT	"tag:yaml.org,2002:int"
#define CFG_TAG_FLOAT	"tag:yaml.org,2002:float"
#define CFG_TAG_BOOL	"tag:yaml.org,2002:bool"
#define CFG_TAG_NULL	"tag:yaml.org,2002:null"

/*
 * Aliases may name only scalars: a config has no use for shared
 * collections, and refusing them makes billion-laughs expansion and
 * cycles impossible.  An alias to a collection still open is reported as
 * cyclic, one to a finished collection as unsupported.
 */
struct cfg_anchor {
	char	*name;
	int	 scalar;	/* 0: a collection */
	int	 open;		/* collection not yet ended */
	char	*value;		/* scalar text */
	size_t	 len;
	int	 plain;
	char	*tag;
};

struct cfg_parse {
	const char		*name;		/* file name for messages */
	const char		*what;		/* "config", "theme" */
	const char		*buf;
	size_t			 len;
	yaml_parser_t		 parser;
	yaml_event_t		 ev;
	int			 have_ev;

	/* The current node, aliases already resolved to their scalar. */
	yaml_event_type_t	 type;
	const char		*val;
	size_t			 vlen;
	int			 plain;		/* untagged plain scalar */
	const char		*tag;
	yaml_mark_t		 mark;

	int			 depth;
	int			 open[CFG_MAX_DEPTH + 1]; /* anchor, -1 */
	struct cfg_anchor	*anchors;
	size_t			 n_anchors;
	size_t			 cap_anchors;
	int			 n_aliases;
	int			 max_aliases;	/* 0: aliases refused */
	size_t			 max_size;	/* bytes of input */

	const char		*key;		/* key being read, or NULL */
	char			*ukey;		/* an unknown one's copy */

	cfg_warn_fn		 warn;
	void			*warn_arg;
	int			 n_warn;
	char			*cause;
};

/* A function called for each key of the top-level mapping, with the key
 * as the current event; it must consume the key's value. */
typedef int (*cfg_key_fn)(struct cfg_parse *, void *arg);

void	 cfg_parse_init(struct cfg_parse *, const char *name,
	    const char *what, const char *buf, size_t len, cfg_warn_fn,
	    void *arg);
int	 cfg_parse_start(struct cfg_parse *);
int	 cfg_parse_map(struct cfg_parse *, cfg_key_fn, void *arg);
void	 cfg_parse_fini(struct cfg_parse *);

char	*cfg_quote(const char *, size_t);
int	 cfg_error(struct cfg_parse *, const yaml_mark_t *, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
void	 cfg_warn(struct cfg_parse *, const yaml_mark_t *, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
int	 cfg_next(struct cfg_parse *);
int	 cfg_skip(struct cfg_parse *);
int	 cfg_skip_unknown(struct cfg_parse *, const char *shown);
int	 cfg_tag_is(const struct cfg_parse *, const char *tag);
int	 cfg_is_null(const struct cfg_parse *);
const char *cfg_kind(const struct cfg_parse *);
int	 cfg_get_str(struct cfg_parse *, int allow_empty, char **);
int	 cfg_each(struct cfg_parse *, int (*)(struct cfg_parse *, void *),
	    void *);
int	 cfg_get_bool(struct cfg_parse *, int *);
int	 cfg_numeric(struct cfg_parse *, const char *what);
int	 cfg_parse_u64(const char *, int *neg, uint64_t *);
int	 cfg_not_integer(struct cfg_parse *);
int	 cfg_get_int(struct cfg_parse *, long long min, long long max,
	    const char *range, long long *);
int	 cfg_get_float(struct cfg_parse *, double *);

char	*cfg_read(const char *path, size_t *len, char **cause);

#endif
