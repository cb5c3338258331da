/*
 * The data folders, most wanted first: $YANGTUO_DATADIR (an absolute
 * path: an installed data folder, or a source tree as the tests use), the
 * installed $(pkgdatadir), then the binary's own folder, which is the
 * source tree when yangtuo was built and run there (the README's first
 * command).  Installed data is laid out as NAME and themes/; a source
 * tree as data/NAME and themes/.
 */
#include "config.h"

#include "datadir.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xmalloc.h"

/* The folder of the running binary, or NULL (not Linux, or unlinked);
 * caller frees. */
char *
datadir_exe(void)
{
	char	buf[PATH_MAX], *slash;
	ssize_t	n;

	n = readlink("/proc/self/exe", buf, sizeof buf - 1);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	if ((slash = strrchr(buf, '/')) == NULL || slash == buf)
		return NULL;
	*slash = '\0';
	return xstrdup(buf);
}

/* The data folders in lookup order; caller frees (datadir_free). */
char **
datadir_list(void)
{
	char		**v = xcalloc(4, sizeof *v), *d;
	const char	 *env = getenv("YANGTUO_DATADIR");
	size_t		  n = 0;

	if (env != NULL && env[0] == '/')
		v[n++] = xstrdup(env);
	v[n++] = xstrdup(PKGDATADIR);
	if ((d = datadir_exe()) != NULL)
		v[n++] = d;
	v[n] = NULL;
	return v;
}

/* Free what datadir_list() gave; NULL is a no-op. */
void
datadir_free(char **v)
{
	size_t	i;

	if (v == NULL)
		return;
	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/* The first DIR/name or DIR/alt that exists; caller frees. */
char *
datadir_find(const char *name, const char *alt)
{
	char	**v = datadir_list(), *p;
	size_t	  i;

	for (i = 0; v[i] != NULL; i++) {
		xasprintf(&p, "%s/%s", v[i], name);
		if (access(p, R_OK) == 0)
			goto found;
		free(p);
		if (alt == NULL)
			continue;
		xasprintf(&p, "%s/%s", v[i], alt);
		if (access(p, R_OK) == 0)
			goto found;
		free(p);
	}
	datadir_free(v);
	return NULL;
found:
	datadir_free(v);
	return p;
}
