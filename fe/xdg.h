/*
 * The user's folders (XDG Base Directory 0.8): config, data, state and
 * cache under yangtuo/, created 0700 on demand.
 */
#ifndef YT_FE_XDG_H
#define YT_FE_XDG_H

enum xdg_kind {
	XDG_CONFIG,	/* $XDG_CONFIG_HOME or ~/.config */
	XDG_DATA,	/* $XDG_DATA_HOME or ~/.local/share */
	XDG_STATE,	/* $XDG_STATE_HOME or ~/.local/state */
	XDG_CACHE	/* $XDG_CACHE_HOME or ~/.cache */
};

/* The home folder: an absolute $HOME, else the password entry's;
 * borrowed, NULL if neither. */
const char *xdg_home(void);
/* KIND/yangtuo[/sub], created (with parents) if create is set; NULL if
 * there is no home or it cannot be made.  Caller frees. */
char	*xdg_dir(enum xdg_kind, const char *sub, int create);
/* $XDG_STATE_HOME/yangtuo/name with the folder created; caller frees. */
char	*xdg_state_file(const char *name);
/* mkdir -p with mode 0700; 0 or -1 (errno). */
int	 xdg_mkdirs(const char *path);

#endif
