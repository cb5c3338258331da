/*
 * The user's configuration: $XDG_CONFIG_HOME/yangtuo/config.yaml, and the
 * colour themes beside it, parsed with libyaml (cfg*.c and session.c are
 * its only includers).  Errors name file:line:col and the key; unknown
 * keys are warnings.
 */
#ifndef YT_FE_CFG_H
#define YT_FE_CFG_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

#define CFG_MAX_SIZE	(1u << 20)	/* bytes of config file */
#define CFG_MAX_DEPTH	32
#define CFG_MAX_ALIASES	16

#define CFG_DEFAULT_SYSTEM \
	"You are a helpful assistant. 你是一个乐于助人的助手。"

struct cfg_prompt {
	char	*name;
	char	*text;
};

/* Bits of cfg.set: which fields the file (or a flag) gave. */
enum {
	CFG_SET_MODEL = 1 << 0,
	CFG_SET_THREADS = 1 << 1,
	CFG_SET_CTX = 1 << 2,
	CFG_SET_TEMPERATURE = 1 << 3,
	CFG_SET_TOP_K = 1 << 4,
	CFG_SET_TOP_P = 1 << 5,
	CFG_SET_MIN_P = 1 << 6,
	CFG_SET_REPEAT_PENALTY = 1 << 7,
	CFG_SET_REPEAT_LAST_N = 1 << 8,
	CFG_SET_SEED = 1 << 9,
	CFG_SET_MAX_TOKENS = 1 << 10,
	CFG_SET_TEMPLATE = 1 << 11,
	CFG_SET_SYSTEM = 1 << 12,
	CFG_SET_THEME = 1 << 13,
	CFG_SET_STOP = 1 << 14,
	CFG_SET_BACKEND = 1 << 15,
	CFG_SET_LORA = 1 << 16,
	CFG_SET_LORA_MERGE = 1 << 17,
	CFG_SET_PROMPT_CACHE = 1 << 18,
	CFG_SET_PROMPT_CACHE_SIZE = 1 << 19
};

#define CFG_MAX_LORA	8	/* adapters the config may list */

struct cfg {
	unsigned		 set;
	char			*model;		/* path, ~ expanded */
	int			 threads;	/* 0: online cores */
	uint32_t		 n_ctx;		/* 0: the model's */
	float			 temperature;
	int32_t			 top_k;
	float			 top_p;
	float			 min_p;
	float			 repeat_penalty;
	int32_t			 repeat_last_n;
	uint64_t		 seed;		/* 0: random at start */
	int32_t			 max_tokens;	/* per reply; -1: until context */
	char			*template_name;	/* "auto", "llama3", ... */
	char			*system;	/* name of the default prompt */
	char			*theme;
	char			*backend_url;	/* an OpenAI-compatible server */
	char			*backend_model;	/* its model; NULL: the first */
	char			*backend_key_env; /* the variable with its key */
	uint32_t		 n_stop;	/* stop strings */
	char			 stop[PROTO_MAX_STOP][PROTO_STOP_MAX];
	struct cfg_prompt	*prompts;	/* named system prompts */
	size_t			 n_prompts;
	char			*lora[CFG_MAX_LORA];	/* "PATH[:SCALE]", ~
							 * expanded */
	size_t			 n_lora;
	int			 lora_merge;
	int			 prompt_cache;	/* 0: off */
	uint64_t		 prompt_cache_bytes;	/* its size bound */
};

#define CFG_PROMPT_CACHE_BYTES	(1ULL << 30)	/* default bound: 1 GiB */

/* Warnings (unknown keys, ...) go to this callback, one sentence each. */
typedef void (*cfg_warn_fn)(void *arg, const char *msg);

void	cfg_init(struct cfg *);		/* the built-in defaults */
void	cfg_free(struct cfg *);
int	cfg_load_file(struct cfg *, const char *path, cfg_warn_fn, void *,
	    char **cause);
int	cfg_load_string(struct cfg *, const char *name, const char *buf,
	    size_t len, cfg_warn_fn, void *, char **cause);
/* The default path ($XDG_CONFIG_HOME or ~/.config); caller frees. */
char	*cfg_default_path(void);
/* The prompt with this name, or NULL. */
const struct cfg_prompt *cfg_prompt(const struct cfg *, const char *name);
/* The configured prompt name is likely a typo of, or NULL. */
const struct cfg_prompt *cfg_prompt_near(const struct cfg *,
			    const char *name);

/*
 * Colour themes (cfg_theme.c): NAME.yaml in $XDG_CONFIG_HOME/yangtuo/themes,
 * then the data folders' themes/ (datadir.c).  A slot per role, enum
 * theme_slot.
 */
/* The roles a theme colours ("slots"): the one list, which ui/theme.h
 * uses and cfg_theme.c names (cfg_theme_slot_name). */
enum theme_slot {
	TH_NORMAL,		/* text; its colours are the screen's */
	TH_USER,		/* header of the user's messages */
	TH_ASSISTANT,		/* header of the model's replies */
	TH_NOTE,		/* notes from yangtuo */
	TH_ERROR,
	TH_DIM,			/* messages no longer in the context */
	TH_STATUS,		/* the status bar */
	TH_STATUS_KEY,		/* key hints in it */
	TH_METER,		/* filled part of a meter */
	TH_MARKER,		/* "new text below" */
	TH_MATCH,		/* search matches */
	TH_MATCH_CUR,		/* the current match */
	TH_BOX,			/* picker frame */
	TH_SELECT,		/* picker selection */
	TH_PROMPT,		/* the input's "> " */
	TH_PLACEHOLDER,		/* control pictures, U+FFFD */
	TH_COUNT
};
#define CFG_THEME_SLOTS		TH_COUNT
#define CFG_THEME_NAME_MAX	64	/* bytes of a theme's name */
#define CFG_COLOUR_DEFAULT	(-1)	/* the terminal's (or normal's) */

enum {
	CFG_ATTR_BOLD = 1 << 0,
	CFG_ATTR_DIM = 1 << 1,
	CFG_ATTR_UNDERLINE = 1 << 2,
	CFG_ATTR_REVERSE = 1 << 3,
	CFG_ATTR_ITALIC = 1 << 4
};

struct cfg_theme_slot {
	short		 fg;		/* 0-255 or CFG_COLOUR_DEFAULT */
	short		 bg;
	short		 fg8;		/* 0-7 or default: on 8/16 colours */
	short		 bg8;
	unsigned	 attrs;		/* CFG_ATTR_* with colours */
	unsigned	 mono;		/* CFG_ATTR_* without colours */
};

struct cfg_theme {
	char			*name;		/* its name: key, or NULL */
	struct cfg_theme_slot	 slot[CFG_THEME_SLOTS];
};

struct cfg_theme_entry {
	char	*name;
	int	 user;		/* in the user's folder */
	int	 shadows;	/* and hides an installed one */
};

void	cfg_theme_init(struct cfg_theme *);	/* the built-in theme */
void	cfg_theme_free(struct cfg_theme *);
const char *cfg_theme_slot_name(int slot);
int	cfg_theme_load_string(struct cfg_theme *, const char *name,
	    const char *buf, size_t len, cfg_warn_fn, void *, char **cause);
int	cfg_theme_load_file(struct cfg_theme *, const char *path, cfg_warn_fn,
	    void *, char **cause);
int	cfg_theme_load(struct cfg_theme *, const char *name, cfg_warn_fn,
	    void *, char **cause);
char	*cfg_theme_path(const char *name, char **cause);
struct cfg_theme_entry *cfg_theme_list(size_t *n);
void	cfg_theme_list_free(struct cfg_theme_entry *, size_t n);

#endif
