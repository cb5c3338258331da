/*
 * XDG base directories for yangtuo's files.  A relative or empty
 * $XDG_*_HOME is ignored, as the specification says.
 */
#include "config.h"

#include "xdg.h"

#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xmalloc.h"

static const struct {
	const char	*env;
	const char	*fallback;
} xdg_table[] = {
	{ "XDG_CONFIG_HOME", ".config" },
	{ "XDG_DATA_HOME", ".local/share" },
	{ "XDG_STATE_HOME", ".local/state" },
	{ "XDG_CACHE_HOME", ".cache" },
};

/* mkdir -p path with mode 0700. */
int
xdg_mkdirs(const char *path)
{
	char	*p = xstrdup(path), *s;
	int	 r = 0;

	for (s = p + 1; ; s++) {
		if (*s == '/' || *s == '\0') {
			char	c = *s;

			*s = '\0';
			if (mkdir(p, 0700) != 0 && errno != EEXIST) {
				r = -1;
				break;
			}
			*s = c;
			if (c == '\0')
				break;
		}
	}
	free(p);
	return r;
}

/* The home folder: an absolute $HOME, else the password entry's;
 * borrowed, NULL if neither.  The one lookup for the config, ~ in it and
 * every folder below. */
const char *
xdg_home(void)
{
	const char	*h = getenv("HOME");
	struct passwd	*pw;

	if (h != NULL && h[0] == '/')
		return h;
	pw = getpwuid(getuid());
	if (pw != NULL && pw->pw_dir != NULL && pw->pw_dir[0] == '/')
		return pw->pw_dir;
	return NULL;
}

/* The yangtuo folder of a kind, optionally a subfolder; caller frees. */
char *
xdg_dir(enum xdg_kind kind, const char *sub, int create)
{
	const char	*base = getenv(xdg_table[kind].env), *home;
	char		*dir;

	if (base != NULL && base[0] == '/')
		xasprintf(&dir, "%s/yangtuo%s%s", base, sub != NULL ? "/" : "",
		    sub != NULL ? sub : "");
	else if ((home = xdg_home()) != NULL)
		xasprintf(&dir, "%s/%s/yangtuo%s%s", home,
		    xdg_table[kind].fallback, sub != NULL ? "/" : "",
		    sub != NULL ? sub : "");
	else
		return NULL;
	if (create && xdg_mkdirs(dir) != 0) {
		free(dir);
		return NULL;
	}
	return dir;
}

/* A file in the state folder (created); caller frees. */
char *
xdg_state_file(const char *name)
{
	char	*dir, *path;

	if ((dir = xdg_dir(XDG_STATE, NULL, 1)) == NULL)
		return NULL;
	xasprintf(&path, "%s/%s", dir, name);
	free(dir);
	return path;
}
