/*
 * The user's folders (fe/xdg.c): the XDG variables, the fallbacks under
 * the home folder, one home for every folder and the config (HOME unset
 * falls back to the password entry everywhere), folders made 0700.
 */
#include "config.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fe/cfg.h"
#include "fe/xdg.h"
#include "tests/tap.h"

static int
same(char *got, const char *want, const char *what)
{
	int	r = got != NULL && want != NULL ? strcmp(got, want) == 0 :
		    got == want;

	if (!r)
		diag("got %s, want %s", got != NULL ? got : "NULL",
		    want != NULL ? want : "NULL");
	free(got);
	return ok(r, "%s", what);
}

static void
unset_all(void)
{
	unsetenv("XDG_CONFIG_HOME");
	unsetenv("XDG_DATA_HOME");
	unsetenv("XDG_STATE_HOME");
	unsetenv("XDG_CACHE_HOME");
}

int
main(void)
{
	struct passwd	*pw = getpwuid(getuid());
	struct stat	 st;
	char		 dir[] = "/tmp/yt-xdg-XXXXXX", *p, *want;

	if (mkdtemp(dir) == NULL)
		skip_all("no temporary folder");
	unset_all();
	setenv("HOME", "/home/t", 1);
	same(xdg_dir(XDG_CONFIG, NULL, 0), "/home/t/.config/yangtuo",
	    "config: ~/.config without the variable");
	same(xdg_dir(XDG_DATA, "sessions", 0),
	    "/home/t/.local/share/yangtuo/sessions", "data: ~/.local/share");
	same(xdg_dir(XDG_STATE, NULL, 0), "/home/t/.local/state/yangtuo",
	    "state: ~/.local/state");
	same(xdg_dir(XDG_CACHE, "kv", 0), "/home/t/.cache/yangtuo/kv",
	    "cache: ~/.cache");
	setenv("XDG_DATA_HOME", "/x/data", 1);
	same(xdg_dir(XDG_DATA, "sessions", 0), "/x/data/yangtuo/sessions",
	    "an absolute $XDG_DATA_HOME is used");
	setenv("XDG_DATA_HOME", "rel", 1);
	same(xdg_dir(XDG_DATA, NULL, 0), "/home/t/.local/share/yangtuo",
	    "a relative one is ignored");
	setenv("XDG_DATA_HOME", "", 1);
	same(xdg_dir(XDG_DATA, NULL, 0), "/home/t/.local/share/yangtuo",
	    "an empty one is ignored");
	unset_all();
	same(cfg_default_path(), "/home/t/.config/yangtuo/config.yaml",
	    "the config file is in the config folder");

	/* No HOME: the config, sessions, history and journal all follow the
	 * password entry (cfg.c used to find the config while xdg.c gave
	 * up, leaving sessions and history silently off). */
	unsetenv("HOME");
	if (pw == NULL || pw->pw_dir == NULL || pw->pw_dir[0] != '/')
		skip("no home folder in the password entry");
	else {
		if (asprintf(&want, "%s/.local/share/yangtuo", pw->pw_dir) < 0)
			want = NULL;
		same(xdg_dir(XDG_DATA, NULL, 0), want,
		    "HOME unset: the data folder is under the password "
		    "entry's home");
		free(want);
		p = cfg_default_path();
		ok(p != NULL && strncmp(p, pw->pw_dir, strlen(pw->pw_dir))
		    == 0, "HOME unset: so is the config file");
		free(p);
	}
	setenv("HOME", "relative/home", 1);
	p = xdg_dir(XDG_STATE, NULL, 0);
	ok(p == NULL || p[0] == '/', "a relative HOME is never used");
	free(p);

	setenv("HOME", dir, 1);
	p = xdg_state_file("history");
	if (asprintf(&want, "%s/.local/state/yangtuo/history", dir) < 0)
		want = NULL;
	ok(p != NULL && want != NULL && strcmp(p, want) == 0,
	    "xdg_state_file names the file in the state folder");
	free(p);
	free(want);
	if (asprintf(&want, "%s/.local/state/yangtuo", dir) < 0)
		want = NULL;
	ok(want != NULL && stat(want, &st) == 0 && S_ISDIR(st.st_mode) &&
	    (st.st_mode & 0777) == 0700, "and makes the folder, mode 0700");
	free(want);
	if (asprintf(&want, "%s/a/b/c", dir) < 0)
		want = NULL;
	ok(want != NULL && xdg_mkdirs(want) == 0 && stat(want, &st) == 0 &&
	    S_ISDIR(st.st_mode), "xdg_mkdirs makes the parents too");
	ok(want != NULL && xdg_mkdirs(want) == 0, "and may run again");
	free(want);
	tap_rmtree(dir);
	return tap_done();
}
